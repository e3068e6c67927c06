"""Detection files for inference: COCO results-format boxes, validated entry by entry, matched by id or name.

A detection file (``det_file=``) is a JSON list of objects ``{"image_id", "bbox": [x, y, w, h],
"score", "category_id"?, "file_name"?}`` (the COCO results format that person detectors write).
Every entry is checked before any image is read; a problem raises an
:class:`~landmarks.data.formats.errors.AnnotationError` naming the file, the entry index and the
field. Only ``category_id`` 1 (or none) with ``score >= score_thr`` is kept.

Matching (:class:`Detections`): an entry's key is its ``file_name`` when it has one, else its
``image_id``; an image's key is its file name without folders and extension, and the number it
spells when that stem is all digits. So ``image_id`` 196141, ``"196141"``,
``"000000196141.jpg"`` and ``"images/000000196141.jpg"`` all reach ``000000196141.jpg``, and
``"frame_0001.png"`` (or ``"frame_0001"`` via ``file_name``) reaches ``frame_0001.png``. A numeric
id never reaches an image whose name is not a number (no guessing by list position), except a
video frame, whose key is also its frame index. Ids that reach no image are reported once by
:func:`landmarks.inference.loop.run_inference`, with their count.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from landmarks.data.formats.errors import AnnotationError

__all__ = ["Detections", "image_key", "load_detections"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

Key = int | str


def image_key(name: str) -> Key:
    """The key of an image (or of a string id): its stem without folders/extension, as an int if all digits."""
    stem = os.path.splitext(os.path.basename(str(name).replace("\\", "/")))[0]
    return int(stem) if stem.isdigit() else stem


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _entry_key(det_file: str, j: int, entry: dict[str, Any]) -> Key:
    where = f"entry {j}"
    if "file_name" in entry:
        name = entry["file_name"]
        if not isinstance(name, str) or not str(image_key(name)).strip():
            raise AnnotationError(
                det_file, "file_name", "an image file name (e.g. 'frame_0001.png')", repr(name), where
            )
        return image_key(name)
    image_id = entry["image_id"]
    if _number(image_id):
        if not (math.isfinite(image_id) and float(image_id).is_integer()):
            raise AnnotationError(det_file, "image_id", "an integer id", repr(image_id), where)
        return int(image_id)
    if isinstance(image_id, str):
        text = image_id.strip()
        if text.isdigit():
            return int(text)
        if text and (text.lower().endswith(IMAGE_EXTENSIONS) or "/" in text or "\\" in text):
            return image_key(text)
    raise AnnotationError(
        det_file,
        "image_id",
        "an integer id, a numeric string or an image file name (e.g. 196141, '196141', 'frame_0001.png')",
        f"{image_id!r} ({type(image_id).__name__})",
        where,
    )


def _bbox(det_file: str, j: int, bbox: Any) -> list[float]:
    where = f"entry {j}"
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise AnnotationError(det_file, "bbox", "a list of 4 numbers [x, y, w, h]", repr(bbox)[:80], where)
    if not all(_number(v) for v in bbox):
        raise AnnotationError(det_file, "bbox", "4 numbers [x, y, w, h]", f"non-numeric values {bbox!r}"[:120], where)
    if not all(math.isfinite(v) for v in bbox):
        raise AnnotationError(det_file, "bbox", "4 finite numbers [x, y, w, h]", repr(bbox), where)
    if bbox[2] <= 0 or bbox[3] <= 0:
        raise AnnotationError(
            det_file, "bbox", "width and height > 0 (COCO [x, y, w, h])", f"w={bbox[2]}, h={bbox[3]}", where
        )
    return [float(v) for v in bbox]


def load_detections(det_file: str, score_thr: float) -> dict[Key, np.ndarray]:
    """Boxes of a detection file grouped by key (module docstring) -> ``(N, 5)`` xywh px + score.

    Raises:
        AnnotationError: the file is unreadable or not a list; an entry is not an object, lacks
            ``image_id``/``bbox``/``score``, or holds a bad value (named by entry index and field).
    """
    try:
        with open(det_file, encoding="utf-8") as f:
            dets = json.load(f)
    except OSError as err:
        raise AnnotationError(
            det_file, "<file>", "a readable COCO results JSON list", f"{type(err).__name__}: {err}"
        ) from err
    except json.JSONDecodeError as err:
        raise AnnotationError(
            det_file, "<json>", "valid JSON", f"a syntax error at line {err.lineno} column {err.colno}: {err.msg}"
        ) from err
    if not isinstance(dets, list):
        raise AnnotationError(det_file, "<top level>", "a JSON list of detections", type(dets).__name__)
    by_key: dict[Key, list[list[float]]] = {}
    for j, entry in enumerate(dets):
        if not isinstance(entry, dict):
            raise AnnotationError(
                det_file,
                "<entry>",
                "a JSON object with image_id, bbox, score",
                f"{type(entry).__name__} {entry!r}"[:120],
                f"entry {j}",
            )
        for field in ("image_id", "bbox", "score"):
            if field not in entry and not (field == "image_id" and "file_name" in entry):
                raise AnnotationError(det_file, field, "present (COCO results format)", "missing", f"entry {j}")
        key = _entry_key(det_file, j, entry)
        box = _bbox(det_file, j, entry["bbox"])
        score = entry["score"]
        if not _number(score) or not math.isfinite(score):
            raise AnnotationError(det_file, "score", "a finite number", repr(score), f"entry {j}")
        if entry.get("category_id", 1) == 1 and score >= score_thr:
            by_key.setdefault(key, []).append(box + [float(score)])
    return {k: np.asarray(v, np.float32).reshape(-1, 5) for k, v in by_key.items()}


class Detections:
    """A loaded detection file, looked up per image, remembering which keys were used.

    Args:
        det_file: the detection file (for messages).
        by_key: :func:`load_detections`' result.
    """

    def __init__(self, det_file: str, by_key: dict[Key, np.ndarray]) -> None:
        self.det_file = det_file
        self.by_key = by_key
        self.used: set[Key] = set()

    @classmethod
    def load(cls, det_file: str, score_thr: float) -> Detections:
        """Read and validate ``det_file`` (:func:`load_detections`)."""
        return cls(det_file, load_detections(det_file, score_thr))

    def boxes_for(self, keys: tuple[Key, ...]) -> np.ndarray | None:
        """``(N, 5)`` boxes filed under any of ``keys`` (an image's keys), or ``None`` when none are."""
        found = [self.by_key[k] for k in dict.fromkeys(keys) if k in self.by_key]
        self.used.update(k for k in keys if k in self.by_key)
        return np.concatenate(found) if found else None

    def unmatched(self) -> tuple[int, int, list[Key]]:
        """``(ids, boxes, first ids)`` of the kept detections that reached no image so far."""
        keys = [k for k in self.by_key if k not in self.used]
        return len(keys), sum(len(self.by_key[k]) for k in keys), keys[:5]
