"""COCO keypoint annotations (``person_keypoints_*.json``) and COCO person detections.

Format reference: the COCO data format, "Keypoint Detection" section
(https://cocodataset.org/#format-data): ``images`` (id, file_name, width, height) and
``annotations`` (id, image_id, bbox ``[x, y, w, h]``, keypoints ``[x1, y1, v1, ...]``,
num_keypoints, iscrowd, area). Detections use the COCO *results* format: a list of
``{image_id, category_id, bbox, score}``.

Top-down conventions followed (as in the HRNet / mmpose COCO readers):

* crowd annotations and annotations without any labelled keypoint are not instances;
  they are counted in :attr:`CocoKeypointSource.skipped_counts`, not treated as errors,
  but they are checked like every annotation (id, box, keypoint values, image file) and
  stay in the ground truth the evaluator scores against;
* fields the evaluator needs and other datasets' COCO-style files often lack (``area``,
  ``iscrowd``, ``num_keypoints``, ``categories``) are filled with one warning per file
  (:mod:`landmarks.data.formats.coco_records`);
* a ground-truth box is clipped to ``[0, W-1] x [0, H-1]``; a box that does not overlap
  the image is a bad sample; detection boxes are used as given (only ``w, h > 0`` checked).

Any COCO-style keypoint file (hands, faces) is read the same way with its own ``spec``.

(Over 300 lines: one class whose checks share the image index and the policy; the field
rules that need no state live in :mod:`landmarks.data.formats.coco_records`. A next step
would move ``_load_detections`` into its own module.)
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from landmarks.data.formats.coco_records import (
    check_iscrowd,
    check_number,
    is_number,
    kept_dict,
    load_coco_image,
    warn_filled,
)
from landmarks.data.formats.errors import LOGGER, AnnotationError, BadSamplePolicy, read_json, read_json_list
from landmarks.layouts.spec import KeypointSpec, coco17
from landmarks.types import Sample


@dataclass(frozen=True)
class _Instance:
    keypoints: np.ndarray  # (K, 2) float32 image px
    visible: np.ndarray  # (K,) float32 0/1/2
    bbox: np.ndarray  # (4,) float32 xywh image px
    area: float
    image_id: int
    id: int
    score: float
    path: str


_is_number = is_number  # the name the COCO-WholeBody reader imports


class CocoKeypointSource:
    """An indexable list of COCO person instances (ground truth or detections).

    Args:
        ann_file: the COCO keypoint JSON (ground truth; needed in detection mode too, for
            image sizes, file names and the evaluator).
        image_root: folder that holds the images named by ``images[].file_name``.
        spec: keypoint layout; ``coco17()`` when ``None``. Each annotation must hold
            ``3 * spec.num_keypoints`` keypoint values.
        det_file: a COCO results JSON of person detections; when given, the instances are
            the detections (keypoints and visibility zero, ``score`` the detector's).
        det_score_thr: detections with ``score < det_score_thr`` are left out (counted).
        on_bad_sample: ``"error"`` raises on the first bad instance; ``"skip"`` logs and
            skips it (see :class:`~landmarks.data.formats.errors.BadSamplePolicy`).

    Attributes:
        spec: the keypoint layout.
        coco_dict: the ground truth the COCO evaluator scores against, built from the records
            this reader KEPT: every annotation that passed its checks (crowd and no-keypoint
            annotations included, as COCO evaluates them), fields filled (``area``,
            ``iscrowd``, ``num_keypoints``); annotations skipped under ``on_bad_sample="skip"``
            are absent, and so are images whose file is missing. ``images`` keeps every other
            entry of the file (detections on an image without people are false positives).
            Problems found only when an image is decoded (``__getitem__``) are not reflected.
        raw_dict: the parsed file, unmodified.
        skipped_counts: why annotations/detections did not become instances (a property).

    Raises:
        AnnotationError: malformed JSON, missing top-level fields, a bad instance under
            ``on_bad_sample="error"``, or no instance at all.
    """

    #: a labelled keypoint further than this fraction of the image size outside the image is bad
    keypoint_margin: float = 0.25

    def __init__(
        self,
        ann_file: str,
        image_root: str,
        spec: KeypointSpec | None = None,
        det_file: str | None = None,
        det_score_thr: float = 0.0,
        on_bad_sample: str = "error",
    ) -> None:
        self.ann_file = str(ann_file)
        self.image_root = str(image_root)
        self.spec = spec if spec is not None else coco17()
        self.det_file = None if det_file is None else str(det_file)
        self.det_score_thr = float(det_score_thr)
        self._policy = BadSamplePolicy(on_bad_sample, owner=f"CocoKeypointSource({self.ann_file})")
        self._counts: dict[str, int] = {"iscrowd": 0, "no_keypoints": 0, "not_person": 0, "below_score_thr": 0}
        self.raw_dict: dict[str, Any] = self._read_gt()
        self._images: dict[int, dict[str, Any]] = self._index_images()
        self._image_exists: dict[int, bool] = {}
        self._instances: list[_Instance] = []
        self._kept: list[dict[str, Any]] = []  # ground-truth records that passed every check
        self._filled: dict[str, int] = {"area": 0, "iscrowd": 0, "num_keypoints": 0}
        self._load_ground_truth(make_instances=self.det_file is None)
        if self.det_file is not None:
            self._load_detections()
        if not self._instances:
            self._raise_empty()
        self.coco_dict: dict[str, Any] = self._ground_truth_dict()

    # ------------------------------------------------------------------ public API
    def __len__(self) -> int:
        return len(self._instances)

    def __getitem__(self, index: int) -> Sample:
        """Instance ``index`` with its image decoded now (``(H, W, 3)`` uint8 RGB)."""
        return self._policy.load_at(index, len(self._instances), self._load, f"CocoKeypointSource({self.ann_file})")

    @property
    def skipped_counts(self) -> dict[str, int]:
        """Counts of annotations/detections that are not instances, by reason.

        Keys: ``iscrowd``, ``no_keypoints``, ``not_person``, ``below_score_thr`` and
        ``bad_sample`` (skip policy, including images found corrupt later in ``__getitem__``).
        """
        return {**self._counts, "bad_sample": self._policy.skipped}

    @property
    def image_ids(self) -> list[int]:
        """Sorted ids of the images that hold at least one instance."""
        return sorted({inst.image_id for inst in self._instances})

    def image_info(self, image_id: int) -> dict[str, Any]:
        """The ``images`` entry (id, file_name, width, height, ...) of ``image_id``."""
        if not isinstance(image_id, int) or image_id not in self._images:
            raise KeyError(f"{self.ann_file}: no entry with id {image_id} in field 'images'")
        return self._images[image_id]

    # ------------------------------------------------------------------ loading
    def _read_gt(self) -> dict[str, Any]:
        data = read_json(self.ann_file)
        if not isinstance(data, dict):
            raise AnnotationError(self.ann_file, "<top level>", "a JSON object", type(data).__name__)
        for field in ("images", "annotations"):
            if field not in data:
                raise AnnotationError(self.ann_file, field, "a top-level list", "no such field")
            if not isinstance(data[field], list):
                raise AnnotationError(self.ann_file, field, "a list", type(data[field]).__name__)
        return data

    def _index_images(self) -> dict[int, dict[str, Any]]:
        images: dict[int, dict[str, Any]] = {}
        for i, info in enumerate(self.raw_dict["images"]):
            where = f"images[{i}]"
            if not isinstance(info, dict):
                raise AnnotationError(self.ann_file, "images[]", "a JSON object", type(info).__name__, where)
            checks = (
                ("id", "an integer", isinstance(info.get("id"), int)),
                ("file_name", "a string", isinstance(info.get("file_name"), str)),
                ("width", "a positive number", _is_number(info.get("width")) and info["width"] > 0),
                ("height", "a positive number", _is_number(info.get("height")) and info["height"] > 0),
            )
            for field, expected, ok in checks:
                if not ok:
                    raise AnnotationError(self.ann_file, f"images[].{field}", expected, repr(info.get(field)), where)
            if info["id"] in images:
                raise AnnotationError(self.ann_file, "images[].id", "unique image ids", f"id {info['id']} twice", where)
            images[info["id"]] = info
        return images

    def _annotation_records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(i, record)`` of each ``annotations[i]`` that is a JSON object; any other entry is a bad sample."""
        for i, ann in enumerate(self.raw_dict["annotations"]):
            if isinstance(ann, dict):
                yield i, ann
            else:
                self._policy.handle(
                    AnnotationError(
                        self.ann_file, "annotations[]", "a JSON object", type(ann).__name__, f"annotations[{i}]"
                    )
                )

    def _load_ground_truth(self, make_instances: bool = True) -> None:
        """Check every annotation; keep the good ones as records (and instances when asked)."""
        self._check_layout()
        seen: dict[int, int] = {}
        for i, ann in self._annotation_records():
            where = f"annotation id {ann['id']}" if "id" in ann else f"annotations[{i}]"
            try:
                record, instance = self._check_annotation(ann, i, where, seen)
            except AnnotationError as err:
                self._policy.handle(err)
                continue
            self._kept.append(record)
            if not make_instances:
                continue
            if instance is not None:
                self._instances.append(instance)
            else:
                self._counts["iscrowd" if record["iscrowd"] else "no_keypoints"] += 1

    def _check_annotation(
        self, ann: dict[str, Any], i: int, where: str, seen: dict[int, int]
    ) -> tuple[dict[str, Any], _Instance | None]:
        """One annotation's checks, in the order a reader of the file would look.

        Returns:
            the record for the ground truth (missing ``area`` / ``iscrowd`` /
            ``num_keypoints`` filled) and the instance, or ``None`` for a crowd annotation
            or one without labelled keypoints.
        """
        file, k = self.ann_file, self.spec.num_keypoints
        ann_id = ann.get("id")
        if not isinstance(ann_id, int) or isinstance(ann_id, bool):
            raise AnnotationError(
                file, "id", "an integer annotation id (the COCO evaluator needs one)", repr(ann_id), where
            )
        if ann_id in seen:
            raise AnnotationError(
                file,
                "id",
                "unique annotation ids",
                f"id {ann_id} again (first at annotations[{seen[ann_id]}])",
                f"annotations[{i}]",
            )
        seen[ann_id] = i
        record = dict(ann)
        record["iscrowd"] = check_iscrowd(ann, file, where)
        raw = ann.get("keypoints")
        if not isinstance(raw, list) or len(raw) != 3 * k:
            got = f"{len(raw)} values" if isinstance(raw, list) else repr(raw)
            raise AnnotationError(file, "keypoints", f"3*K = {3 * k} values (wrong keypoint count, K={k})", got, where)
        if not (all(type(v) in (int, float) for v in raw) and np.isfinite(kpt := np.asarray(raw, np.float64)).all()):
            bad = next(j for j, v in enumerate(raw) if not is_number(v))
            raise AnnotationError(
                file,
                "keypoints",
                "finite numbers",
                f"{raw[bad]!r} as {'xyv'[bad % 3]} of keypoint {bad // 3} ({self.spec.names[bad // 3]})",
                where,
            )
        kpt = kpt.astype(np.float32).reshape(k, 3)
        v = kpt[:, 2]
        if not ((v == 0) | (v == 1) | (v == 2)).all():
            raise AnnotationError(
                file, "keypoints", "visibility flags v in {0, 1, 2}", sorted(set(kpt[:, 2].tolist())), where
            )
        if "category_id" not in ann:
            raise AnnotationError(
                file, "category_id", "an integer category id (the COCO evaluator needs one)", "no such field", where
            )
        check_number(ann, "category_id", "an integer category id", file, where, integer=True)
        info = self._image_of(ann.get("image_id"), where, file)
        bbox = self._clipped_box(ann.get("bbox"), info, where)
        for field, value in (
            ("area", float(ann["bbox"][2] * ann["bbox"][3])),
            ("num_keypoints", int((kpt[:, 2] > 0).sum())),
        ):
            if field in ann:
                check_number(
                    ann, field, "a finite number >= 0", file, where, integer=field == "num_keypoints", minimum=0
                )
            else:
                record[field] = value
                self._filled[field] += 1
        if "iscrowd" not in ann:
            self._filled["iscrowd"] += 1
        self._check_inside(kpt, info, where)
        self._check_image_file(info, where)
        if record["iscrowd"] or not (kpt[:, 2] > 0).any():
            return record, None
        return record, _Instance(
            keypoints=kpt[:, :2].copy(),
            visible=kpt[:, 2].copy(),
            bbox=bbox,
            area=float(record["area"]),
            image_id=int(info["id"]),
            id=ann_id,
            score=1.0,
            path=os.path.join(self.image_root, info["file_name"]),
        )

    def _ground_truth_dict(self) -> dict[str, Any]:
        """:attr:`coco_dict` from the kept records; one warning for every field filled."""
        missing = {image_id for image_id, exists in self._image_exists.items() if not exists}
        gt, categories_filled = kept_dict(self.raw_dict, self._kept, missing, self.spec)
        warn_filled(
            self.ann_file, {**self._filled, "categories": int(categories_filled)}, len(self.raw_dict["annotations"])
        )
        return gt

    def _load_detections(self) -> None:
        assert self.det_file is not None
        dets = read_json_list(self.det_file, "a list of {image_id, category_id, bbox, score} (COCO results format)")
        k = self.spec.num_keypoints
        for i, det in enumerate(dets):
            where = f"detection [{i}]"
            try:
                if not isinstance(det, dict):
                    raise AnnotationError(self.det_file, "<entry>", "a JSON object", type(det).__name__, where)
                for field in ("image_id", "category_id", "bbox", "score"):
                    if field not in det:
                        raise AnnotationError(self.det_file, field, "a value", "no such field", where)
                if det["category_id"] != 1:
                    self._counts["not_person"] += 1
                    continue
                if not _is_number(det["score"]):
                    raise AnnotationError(self.det_file, "score", "a finite number", repr(det["score"]), where)
                if det["score"] < self.det_score_thr:
                    self._counts["below_score_thr"] += 1
                    continue
                info = self._image_of(det["image_id"], where, self.det_file)
                box = det["bbox"]
                if not (
                    isinstance(box, list)
                    and len(box) == 4
                    and all(_is_number(v) for v in box)
                    and box[2] > 0
                    and box[3] > 0
                ):
                    raise AnnotationError(self.det_file, "bbox", "[x, y, w, h] with w > 0 and h > 0", repr(box), where)
                self._check_image_file(info, where)
            except AnnotationError as err:
                self._policy.handle(err)
                continue
            self._instances.append(
                _Instance(
                    keypoints=np.zeros((k, 2), np.float32),
                    visible=np.zeros((k,), np.float32),
                    bbox=np.asarray(box, dtype=np.float32),
                    area=float(box[2] * box[3]),
                    image_id=int(info["id"]),
                    id=i,
                    score=float(det["score"]),
                    path=os.path.join(self.image_root, info["file_name"]),
                )
            )

    # ------------------------------------------------------------------ checks
    def _check_layout(self) -> None:
        """The file's keypoint count must be the spec's K, whatever ``on_bad_sample`` says.

        One annotation with a wrong count is a bad sample; a file in which *no* annotation
        has ``3 * K`` values was written for another layout, an error at start-up that names
        both files. For a layout read from a YAML file (``spec.source``), keypoint names in
        ``categories[].keypoints`` that differ from the file's (same K) are logged, not refused:
        a different order would swap points, but many files just name them differently.
        """
        k = self.spec.num_keypoints
        counts = Counter(
            len(a["keypoints"])
            for a in self.raw_dict["annotations"]
            if isinstance(a, dict) and not a.get("iscrowd", 0) and isinstance(a.get("keypoints"), list)
        )
        declared: list[Any] | None = next(
            (
                c["keypoints"]
                for c in self.raw_dict.get("categories") or []
                if isinstance(c, dict) and isinstance(c.get("keypoints"), list) and c["keypoints"]
            ),
            None,
        )
        layout = f"layout '{self.spec.name}'"
        if self.spec.source:
            layout += f" of {self.spec.source} (field 'keypoints')"
        if counts and 3 * k not in counts:
            n_values, n = counts.most_common(1)[0]
            got = f"{n_values} values (K = {n_values / 3:g}) in {n} of {sum(counts.values())} annotations"
            if declared is not None:
                got += f"; the file's categories[].keypoints lists {len(declared)} names"
            raise AnnotationError(
                self.ann_file,
                "annotations[].keypoints",
                f"3*K = {3 * k} values per annotation for the K = {k} keypoints of {layout}",
                got,
            )
        named_differently = declared is not None and len(declared) == k and list(declared) != list(self.spec.names)
        if self.spec.source and named_differently and declared is not None:
            diff = [f"{j}: {a!r} vs {b!r}" for j, (a, b) in enumerate(zip(declared, self.spec.names)) if a != b]
            LOGGER.warning(
                "%s: categories[].keypoints names differ from %s at %d of %d positions (%s); the spec's order is used",
                self.ann_file,
                layout,
                len(diff),
                k,
                "; ".join(diff[:3]),
            )

    def _image_of(self, image_id: Any, where: str, file: str) -> dict[str, Any]:
        if not isinstance(image_id, int) or image_id not in self._images:
            raise AnnotationError(
                file, "image_id", f"an id listed in 'images' of {self.ann_file}", repr(image_id), where
            )
        return self._images[image_id]

    def _clipped_box(self, box: Any, info: dict[str, Any], where: str) -> np.ndarray:
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            raise AnnotationError(self.ann_file, "bbox", "4 numbers [x, y, w, h]", repr(box), where)
        x, y, w, h = box
        if w <= 0 or h <= 0:
            raise AnnotationError(self.ann_file, "bbox", "w > 0 and h > 0", repr(box), where)
        width, height = info["width"], info["height"]
        x1, y1 = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
        x2, y2 = min(max(x + w, 0.0), width - 1.0), min(max(y + h, 0.0), height - 1.0)
        if x2 <= x1 or y2 <= y1:
            raise AnnotationError(
                self.ann_file,
                "bbox",
                f"a box overlapping image {info['file_name']} ({width}x{height})",
                f"{box} (fully outside the image)",
                where,
            )
        return np.asarray([x1, y1, x2 - x1, y2 - y1], dtype=np.float32)

    def _check_inside(self, kpt: np.ndarray, info: dict[str, Any], where: str) -> None:
        width, height = float(info["width"]), float(info["height"])
        mx, my = self.keypoint_margin * width, self.keypoint_margin * height
        labelled = kpt[:, 2] > 0
        out = labelled & ((kpt[:, 0] < -mx) | (kpt[:, 0] > width + mx) | (kpt[:, 1] < -my) | (kpt[:, 1] > height + my))
        if out.any():
            j = int(np.flatnonzero(out)[0])
            raise AnnotationError(
                self.ann_file,
                "keypoints",
                f"labelled keypoints within {self.keypoint_margin:.0%} of image {info['file_name']} "
                f"({info['width']}x{info['height']})",
                f"keypoint {j} ({self.spec.names[j]}) at ({kpt[j, 0]:.1f}, {kpt[j, 1]:.1f}), far outside",
                where,
            )

    def _check_image_file(self, info: dict[str, Any], where: str) -> None:
        image_id = info["id"]
        if image_id not in self._image_exists:
            self._image_exists[image_id] = os.path.isfile(os.path.join(self.image_root, info["file_name"]))
        if not self._image_exists[image_id]:
            raise AnnotationError(
                self.ann_file,
                "images[].file_name",
                f"an existing image file under {self.image_root}",
                f"{info['file_name']!r} (missing)",
                f"{where}, image id {image_id}",
            )

    def _raise_empty(self) -> None:
        file = self.det_file or self.ann_file
        counts = ", ".join(f"{name}: {n}" for name, n in self.skipped_counts.items() if n)
        if self.det_file is None:
            n = len(self.raw_dict["annotations"])
            field, why = "annotations", f"{n} annotations, none usable ({counts or 'the list is empty'})"
        else:
            field = "bbox"
            why = (
                f"no person detection (category_id 1) with score >= {self.det_score_thr}"
                f" ({counts or 'the list is empty'})"
            )
        raise AnnotationError(file, field, "at least one instance", f"0 instances: {why}")

    def _load(self, index: int) -> Sample:
        inst = self._instances[index]
        image = load_coco_image(inst.path, self._images[inst.image_id], inst.image_id, self.ann_file)
        return Sample(
            image=image,
            keypoints=inst.keypoints.copy(),
            visible=inst.visible.copy(),
            bbox=inst.bbox.copy(),
            area=inst.area,
            image_id=inst.image_id,
            id=inst.id,
            score=inst.score,
            path=inst.path,
        )
