"""COCO boxes as whole frames, for detection (``instances_*.json``, ``person_keypoints_*.json``, WholeBody).

Format reference: the COCO data format (https://cocodataset.org/#format-data): ``images`` (id,
file_name, width, height), ``annotations`` (id, image_id, category_id, bbox ``[x, y, w, h]``,
iscrowd, area), ``categories`` (id, name). Only boxes are read: any COCO-style file works,
keypoints or not. COCO-WholeBody's part boxes (``face_box``, ``lefthand_box``,
``righthand_box`` with their ``*_valid`` flags) are read as further boxes with ``part_boxes``.

What is supported:

* ``categories`` maps the file's category NAMES to the task's category names
  (``{person: person}``); annotations of other categories are not read (counted in
  :attr:`CocoBoxFrames.skipped_counts`). Default: every category under its own name.
* every image of ``images`` is a frame, including those without a box (negatives, as COCO
  evaluates them), unless ``skip_empty``;
* crowd annotations stay, flagged ``iscrowd`` (not a training target; an ignored region of the AP);
* ``area`` is the annotation's, else ``w * h`` of the box; a missing ``iscrowd`` is 0.

A bad annotation (no or malformed ``bbox``, ``w`` or ``h`` <= 0, unknown ``image_id``, a bad
``iscrowd``) and an unreadable image go through one :class:`BadSamplePolicy`
(``on_bad_sample``): an error naming the file, field and annotation, or a logged skip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from landmarks.data.detection import BoxFrame
from landmarks.data.formats.coco_records import check_iscrowd, is_number, load_coco_image
from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, read_json

__all__ = ["WHOLEBODY_PARTS", "CocoBoxFrames"]

#: COCO-WholeBody part boxes and the category each holds
WHOLEBODY_PARTS: dict[str, str] = {"face_box": "face", "lefthand_box": "hand", "righthand_box": "hand"}


class CocoBoxFrames:
    """The images of a COCO file with their boxes (module docstring).

    Args:
        ann_file: the COCO JSON.
        image_root: folder of ``images[].file_name``.
        categories: ``{file category name: task category name}``; ``None``: every category as named.
        part_boxes: ``{annotation field: task category}`` of extra boxes per annotation, e.g.
            :data:`WHOLEBODY_PARTS`; a box counts when its ``<part>_valid`` flag is true (or absent)
            and ``w, h > 0``.
        skip_empty: leave out images without any box read.
        on_bad_sample: ``"error"`` or ``"skip"``.

    Raises:
        AnnotationError: a malformed file, a bad annotation under ``"error"``, or no frame at all.
    """

    def __init__(
        self,
        ann_file: str,
        image_root: str,
        categories: Mapping[str, str] | None = None,
        part_boxes: Mapping[str, str] | None = None,
        skip_empty: bool = False,
        on_bad_sample: str = "error",
    ) -> None:
        self.ann_file, self.image_root = str(ann_file), str(image_root)
        self._policy = BadSamplePolicy(on_bad_sample, owner=f"CocoBoxFrames({self.ann_file})")
        raw = read_json(self.ann_file)
        for field in ("images", "annotations", "categories"):
            if not isinstance(raw, dict) or not isinstance(raw.get(field), list):
                raise AnnotationError(self.ann_file, field, "a top-level list", "missing or not a list")
        names = {c.get("id"): c.get("name") for c in raw["categories"] if isinstance(c, dict)}
        self.category_map = dict(categories) if categories is not None else {str(n): str(n) for n in names.values()}
        self.part_boxes = dict(part_boxes or {})
        self.labelled = tuple(sorted(set(self.category_map.values()) | set(self.part_boxes.values())))
        self._images = self._index_images(raw["images"])
        self._boxes: dict[int, list[tuple[list[float], str, int, float]]] = {i: [] for i in self._images}
        self._counts = {"other_category": 0}
        for i, ann in enumerate(raw["annotations"]):
            try:
                self._read(ann, i, names)
            except AnnotationError as err:
                self._policy.handle(err)
        self._ids = [i for i in self._images if self._boxes[i] or not skip_empty]
        if not self._ids:
            raise AnnotationError(self.ann_file, "annotations", "at least one image with a box", "none")

    def _index_images(self, images: list[Any]) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for i, info in enumerate(images):
            ok = (
                isinstance(info, dict)
                and isinstance(info.get("id"), int)
                and isinstance(info.get("file_name"), str)
                and all(is_number(info.get(k)) and info[k] > 0 for k in ("width", "height"))
            )
            if not ok:
                raise AnnotationError(
                    self.ann_file,
                    "images[]",
                    "id (int), file_name, width, height > 0",
                    repr(info)[:120],
                    f"images[{i}]",
                )
            out[info["id"]] = info
        return out

    def _read(self, ann: Any, i: int, names: Mapping[Any, Any]) -> None:
        where = f"annotation id {ann.get('id')}" if isinstance(ann, dict) else f"annotations[{i}]"
        if not isinstance(ann, dict):
            raise AnnotationError(self.ann_file, "annotations[]", "a JSON object", type(ann).__name__, where)
        if ann.get("image_id") not in self._images:
            raise AnnotationError(
                self.ann_file, "image_id", "an id listed in 'images'", repr(ann.get("image_id")), where
            )
        crowd = check_iscrowd(ann, self.ann_file, where)
        boxes = self._boxes[ann["image_id"]]
        name = names.get(ann.get("category_id"))
        if name in self.category_map:
            box = self._box(ann.get("bbox"), "bbox", where)
            area = float(ann["area"]) if is_number(ann.get("area")) else box[2] * box[3]
            boxes.append((box, self.category_map[name], crowd, area))
        else:
            self._counts["other_category"] += 1
        for field, category in self.part_boxes.items():
            valid = ann.get(field.replace("_box", "_valid"), True)
            raw = ann.get(field)
            if (
                valid
                and isinstance(raw, list)
                and len(raw) == 4
                and all(is_number(v) for v in raw)
                and min(raw[2:]) > 0
            ):
                boxes.append((self._box(raw, field, where), category, 0, float(raw[2] * raw[3])))

    def _box(self, box: Any, field: str, where: str) -> list[float]:
        if not (isinstance(box, list) and len(box) == 4 and all(is_number(v) for v in box)):
            raise AnnotationError(self.ann_file, field, "4 numbers [x, y, w, h]", repr(box), where)
        if box[2] <= 0 or box[3] <= 0:
            raise AnnotationError(self.ann_file, field, "w > 0 and h > 0", repr(box), where)
        return [float(v) for v in box]

    @property
    def skipped_counts(self) -> dict[str, int]:
        """Annotations not read: ``other_category`` (not in ``categories``), ``bad_sample`` (skip policy)."""
        return {**self._counts, "bad_sample": self._policy.skipped}

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index: int) -> BoxFrame:
        """Frame ``index`` with its image decoded now."""
        return self._policy.load_at(index, len(self._ids), self._load, f"CocoBoxFrames({self.ann_file})")

    def _load(self, index: int) -> BoxFrame:
        image_id = self._ids[index]
        info = self._images[image_id]
        path = os.path.join(self.image_root, info["file_name"])
        image = load_coco_image(path, info, image_id, self.ann_file)
        rows = self._boxes[image_id]
        return BoxFrame(
            image=image,
            boxes=np.array([r[0] for r in rows], np.float32).reshape(-1, 4),
            categories=[r[1] for r in rows],
            iscrowd=np.array([r[2] for r in rows], np.int64),
            area=np.array([r[3] for r in rows], np.float32),
            labelled=self.labelled,
            image_id=int(image_id),
            path=path,
        )
