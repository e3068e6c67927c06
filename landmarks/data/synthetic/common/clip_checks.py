"""Checked reading of the records of a clip annotation file (the schema of :mod:`.clip`).

:class:`RecordChecker` turns each record of a COCO-video ``annotations.json`` into plain values
and raises ``ValueError`` naming the file, the record (``videos[0]``, ``annotations[12]``), the
field and what was expected whenever a field is missing or holds a wrong value, so a bad file
never ends in a bare ``KeyError`` or a silently wrong number. To check a new field, add it to the
method that reads its record.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RecordChecker"]


class RecordChecker:
    """Reads the records of one annotation file; every error names ``who``, the file, record and field.

    Args:
        path: the file (for messages).
        who: the reading function (for messages).
    """

    def __init__(self, path: str, who: str) -> None:
        self.path, self.who = path, who

    def error(self, record: str, name: str, expected: str, got: Any) -> ValueError:
        """The error for field ``name`` of ``record``: what was expected and (shortened) what came."""
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        return ValueError(f"{self.who}: '{self.path}': {record}: field '{name}' {expected}, got {shown}")

    def get(self, rec: Any, record: str, name: str, kind: type | tuple[type, ...], expected: str) -> Any:
        """Field ``name`` of ``rec`` if it is an instance of ``kind`` (never a bool), else an error."""
        if not isinstance(rec, dict):
            raise ValueError(f"{self.who}: '{self.path}': {record} is not an object, got {type(rec).__name__}")
        if name not in rec:
            raise ValueError(f"{self.who}: '{self.path}': {record}: field '{name}' is missing ({expected})")
        v = rec[name]
        if isinstance(v, bool) or not isinstance(v, kind):
            raise self.error(record, name, expected, v)
        return v

    def numbers(self, rec: Any, record: str, name: str, count: int) -> np.ndarray:
        """Field ``name`` as ``(count,)`` float64 of finite numbers, else an error."""
        v = self.get(rec, record, name, list, f"must be a list of {count} numbers")
        if len(v) != count or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
            raise self.error(record, name, f"must be a list of {count} numbers", v)
        arr = np.asarray(v, dtype=np.float64)
        if not np.isfinite(arr).all():
            raise self.error(record, name, "must hold finite numbers", v)
        return arr

    def _one(self, data: Any, name: str) -> Any:
        items = self.get(data, "top level", name, list, "must be a list of one record")
        if len(items) != 1:
            raise self.error("top level", name, "must hold exactly one record", f"{len(items)} records")
        return items[0]

    def video(self, data: Any) -> tuple[float, int, int, int]:
        """``(fps, width, height, num_frames)`` of the one ``videos`` record."""
        vid = self._one(data, "videos")
        fps = float(self.get(vid, "videos[0]", "fps", (int, float), "must be a number > 0"))
        size = [self.get(vid, "videos[0]", k, int, "must be an int > 0") for k in ("width", "height", "num_frames")]
        for name, value in zip(("fps", "width", "height", "num_frames"), (fps, *size)):
            if not value > 0:
                raise self.error("videos[0]", name, "must be > 0", value)
        return fps, size[0], size[1], size[2]

    def category(self, data: Any) -> tuple[str, str, tuple[str, ...], tuple[tuple[int, int], ...]]:
        """``(name, layout, keypoint names, 0-based skeleton)`` of the one ``categories`` record."""
        cat = self._one(data, "categories")
        names = self.get(cat, "categories[0]", "keypoints", list, "must be a list of keypoint names")
        if not names or not all(isinstance(n, str) for n in names):
            raise self.error("categories[0]", "keypoints", "must be a non-empty list of strings", names)
        k, skeleton = len(names), []
        for pair in self.get(cat, "categories[0]", "skeleton", list, "must be a list of 1-based index pairs"):
            if not (isinstance(pair, list) and len(pair) == 2 and all(type(i) is int and 1 <= i <= k for i in pair)):
                raise self.error("categories[0]", "skeleton", f"must hold pairs of indices in [1, {k}]", pair)
            skeleton.append((pair[0] - 1, pair[1] - 1))
        noun = self.get(cat, "categories[0]", "name", str, "must be a string")
        return noun, str(cat.get("layout", "")), tuple(names), tuple(skeleton)

    def frames(self, data: Any, num: int) -> dict[int, int]:
        """Image id -> frame index; the ``images`` must list frames ``0 .. num - 1`` in order."""
        images = self.get(data, "top level", "images", list, "must be a list")
        frame_of: dict[int, int] = {}
        for n, img in enumerate(images):
            t = self.get(img, f"images[{n}]", "frame_index", int, f"must be an int in [0, {num})")
            if t != n:
                raise self.error(f"images[{n}]", "frame_index", f"must be {n} (images listed in frame order)", t)
            frame_of[self.get(img, f"images[{n}]", "id", int, "must be an int")] = t
        if len(images) != num or len(frame_of) != num:
            raise self.error("top level", "images", f"must list {num} frames with distinct ids", f"{len(images)}")
        return frame_of

    def annotation(self, ann: Any, record: str, k: int, frame_of: dict[int, int]) -> dict[str, Any]:
        """The fields of one annotation: ``frame``, ``track_id``, ``keypoints`` ``(K, 2)``, ``visible``
        ``(K,)``, ``bbox`` ``(4,)`` (float32), ``area``, ``euler`` ``(3,)`` float32 or None, ``handedness``."""
        image_id = self.get(ann, record, "image_id", int, "must be the id of an image")
        if image_id not in frame_of:
            raise self.error(record, "image_id", "must be the id of an image", image_id)
        t = frame_of[image_id]
        if ann.get("frame_index", t) != t:
            raise self.error(record, "frame_index", f"must be {t} (the frame of image {image_id})", ann["frame_index"])
        tid = self.get(ann, record, "track_id", int, "must be an int >= 1")
        if tid < 1:
            raise self.error(record, "track_id", "must be an int >= 1", tid)
        flat = self.numbers(ann, record, "keypoints", 3 * k).reshape(k, 3)
        if not np.isin(flat[:, 2], (0, 1, 2)).all():
            raise self.error(record, "keypoints", "visibility values must be 0, 1 or 2", flat[:, 2].tolist())
        bbox = self.numbers(ann, record, "bbox", 4)
        if bbox[2] < 0 or bbox[3] < 0:
            raise self.error(record, "bbox", "must have w, h >= 0", bbox.tolist())
        hand = ann.get("handedness")
        if hand is not None and hand not in ("left", "right"):
            raise self.error(record, "handedness", "must be 'left' or 'right'", hand)
        return {
            "frame": t,
            "track_id": tid,
            "keypoints": flat[:, :2].astype(np.float32),
            "visible": flat[:, 2].astype(np.float32),
            "bbox": bbox.astype(np.float32),
            "area": float(self.get(ann, record, "area", (int, float), "must be a number")),
            "euler": self.numbers(ann, record, "euler", 3).astype(np.float32) if "euler" in ann else None,
            "handedness": hand,
        }
