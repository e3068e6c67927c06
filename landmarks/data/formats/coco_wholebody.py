"""COCO-WholeBody parts: the hands (21 points each) and the face (68 points) as instances.

Format reference: Jin et al., "Whole-Body Human Pose Estimation in the Wild", ECCV 2020, and
the COCO-WholeBody annotation format (https://github.com/jin-s13/COCO-WholeBody): every person
annotation of a COCO keypoint file also holds, per part ``P`` in ``lefthand``, ``righthand``,
``face``, a box ``P_box`` ``[x, y, w, h]``, keypoints ``P_kpts`` ``[x1, y1, v1, ...]``
(``3 * 21`` or ``3 * 68`` values) and a flag ``P_valid``.

Each valid part becomes one top-down instance, as mmpose's ``CocoWholeBodyHandDataset`` and
``CocoWholeBodyFaceDataset`` read them: a part is kept when ``P_valid`` is true and some
keypoint value is non-zero. Visibility: a keypoint is labelled when ``v > 0`` (xtcocotools,
mmpose); some hand annotations hold a confidence in ``(0, 1)`` instead of a 0/1/2 flag (two
instances of the shared sample file), which is read as ``1`` (labelled, visibility unknown).
Hands carry their ``handedness`` (``"left"``/``"right"``, the person's side, as annotated).
``area`` is the part box's ``w * h`` (the file has no part segment area). Instance ids are
``10 * person annotation id + code`` with code 1 left hand, 2 right hand, 3 face.

Image, box and keypoint validation, the bad-sample policy and image loading are those of
:class:`~landmarks.data.formats.coco.CocoKeypointSource`, which this class extends. A sibling
part (the feet, 6 points: ``foot_kpts``) adds one entry to :data:`PARTS`.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from landmarks.data.formats.coco import CocoKeypointSource, _Instance, _is_number
from landmarks.data.formats.coco_records import check_iscrowd
from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

#: part name -> (field prefix, handedness or None, instance id code)
PARTS: dict[str, tuple[str, str | None, int]] = {
    "left_hand": ("lefthand", "left", 1),
    "right_hand": ("righthand", "right", 2),
    "face": ("face", None, 3),
}
#: ``part=`` choices: one part, or both hands
CHOICES: dict[str, tuple[str, ...]] = {
    "left_hand": ("left_hand",),
    "right_hand": ("right_hand",),
    "hands": ("left_hand", "right_hand"),
    "face": ("face",),
}


def default_spec(part: str) -> KeypointSpec:
    """``hand21()`` for hand parts, ``ibug68()`` for the face (imported when first needed)."""
    if part == "face":
        from landmarks.layouts.face import ibug68

        return ibug68()
    from landmarks.layouts.hand import hand21

    return hand21()


class CocoWholeBodyPartSource(CocoKeypointSource):
    """Indexable hand or face instances of a COCO-WholeBody keypoint file.

    Args:
        ann_file: the COCO-WholeBody JSON (``coco_wholebody_{train,val}_v1.0.json``).
        image_root: folder of the images named by ``images[].file_name``.
        part: ``"left_hand"``, ``"right_hand"``, ``"hands"`` (both, left first per person) or
            ``"face"``.
        spec: keypoint layout; default ``hand21()`` for hands, ``ibug68()`` for the face. Each
            part must hold ``3 * spec.num_keypoints`` values.
        on_bad_sample: ``"error"`` or ``"skip"`` (as :class:`CocoKeypointSource`).

    Attributes:
        coco_dict: a COCO keypoint dict of the part instances (one annotation per instance,
            ``bbox``/``area``/``keypoints`` of the part), for pycocotools evaluation.
        wholebody_dict: the parsed file, unmodified.
        skipped_counts: as :class:`CocoKeypointSource`, plus ``invalid_part`` (``P_valid``
            false or all-zero keypoints).
    """

    def __init__(
        self,
        ann_file: str,
        image_root: str,
        part: str = "hands",
        spec: KeypointSpec | None = None,
        on_bad_sample: str = "error",
    ) -> None:
        if part not in CHOICES:
            raise ValueError(
                f"CocoWholeBodyPartSource({ann_file}): part must be one of {sorted(CHOICES)}, got {part!r}"
            )
        self.part = part
        self._handedness: list[str | None] = []
        spec = spec if spec is not None else default_spec(CHOICES[part][0])
        super().__init__(ann_file, image_root, spec=spec, det_file=None, on_bad_sample=on_bad_sample)
        self.wholebody_dict = self.raw_dict

    # ------------------------------------------------------------------ loading
    def _load_ground_truth(self, make_instances: bool = True) -> None:
        self._counts["invalid_part"] = 0
        for i, ann in self._annotation_records():
            try:
                crowd = check_iscrowd(ann, self.ann_file, f"annotations[{i}]")
            except AnnotationError as err:
                self._policy.handle(err)
                continue
            if crowd:
                self._counts["iscrowd"] += 1
                continue
            for name in CHOICES[self.part]:
                try:
                    self._add_part(ann, i, name)
                except AnnotationError as err:
                    self._policy.handle(err)

    def _add_part(self, ann: dict[str, Any], i: int, name: str) -> None:
        prefix, handedness, code = PARTS[name]
        k = self.spec.num_keypoints
        where = f"annotation id {ann['id']}, {name}" if "id" in ann else f"annotations[{i}], {name}"
        for field in (f"{prefix}_valid", f"{prefix}_kpts", f"{prefix}_box"):
            if field not in ann:
                raise AnnotationError(self.ann_file, field, "a COCO-WholeBody part field", "no such field", where)
        valid = ann[f"{prefix}_valid"]
        if not (isinstance(valid, bool) or (_is_number(valid) and valid in (0, 1))):
            raise AnnotationError(self.ann_file, f"{prefix}_valid", "true/false (or 0/1)", repr(valid), where)
        raw = ann[f"{prefix}_kpts"]
        if not isinstance(raw, list) or len(raw) != 3 * k:
            got = f"{len(raw)} values" if isinstance(raw, list) else repr(raw)
            raise AnnotationError(
                self.ann_file, f"{prefix}_kpts", f"3*K = {3 * k} values (layout '{self.spec.name}', K={k})", got, where
            )
        bad = next((j for j, v in enumerate(raw) if not _is_number(v)), None)
        if bad is not None:
            raise AnnotationError(
                self.ann_file,
                f"{prefix}_kpts",
                "finite numbers",
                f"{raw[bad]!r} as {'xyv'[bad % 3]} of keypoint {bad // 3}",
                where,
            )
        kpt = np.asarray(raw, dtype=np.float32).reshape(k, 3)
        if not valid or not np.any(kpt != 0):
            self._counts["invalid_part"] += 1
            return
        if np.any(kpt[:, 2] < 0):
            raise AnnotationError(
                self.ann_file, f"{prefix}_kpts", "visibility v >= 0", sorted(set(kpt[:, 2].tolist())), where
            )
        if not np.any(kpt[:, 2] > 0):
            self._counts["no_keypoints"] += 1
            return
        # 0 unlabelled, 1/2 as COCO; a confidence in (0, 1) or any other positive value -> 1
        kpt[:, 2] = np.where(np.isin(kpt[:, 2], (0.0, 1.0, 2.0)), kpt[:, 2], 1.0)
        info = self._image_of(ann.get("image_id"), where, self.ann_file)
        box = ann[f"{prefix}_box"]
        try:  # the shared checks name COCO's fields; name this part's instead
            bbox = self._clipped_box(box, info, where)
            self._check_inside(kpt, info, where)
        except AnnotationError as err:
            field = f"{prefix}_box" if err.field == "bbox" else f"{prefix}_kpts"
            raise AnnotationError(err.file, field, err.expected, err.got, err.where) from err
        self._check_image_file(info, where)
        self._instances.append(
            _Instance(
                keypoints=kpt[:, :2].copy(),
                visible=kpt[:, 2].copy(),
                bbox=bbox,
                area=float(box[2] * box[3]),
                image_id=int(info["id"]),
                id=10 * int(ann["id"]) + code if isinstance(ann.get("id"), int) else -1,
                score=1.0,
                path=os.path.join(self.image_root, info["file_name"]),
            )
        )
        self._handedness.append(handedness)

    def _load(self, index: int) -> Sample:
        sample = super()._load(index)
        side = self._handedness[index]
        if side is not None:
            sample["handedness"] = side
        return sample

    def _ground_truth_dict(self) -> dict[str, Any]:
        """COCO keypoint dict whose annotations are this source's instances (the kept parts);
        images whose file is missing are left out."""
        anns = []
        for inst in self._instances:
            kp = np.concatenate([inst.keypoints, inst.visible[:, None]], axis=1)
            anns.append(
                {
                    "id": inst.id,
                    "image_id": inst.image_id,
                    "category_id": 1,
                    "iscrowd": 0,
                    "keypoints": kp.reshape(-1).astype(float).tolist(),
                    "num_keypoints": int((inst.visible > 0).sum()),
                    "bbox": inst.bbox.astype(float).tolist(),
                    "area": inst.area,
                }
            )
        name = "face" if self.part == "face" else "hand"
        return {
            "images": [info for info in self.raw_dict["images"] if self._image_exists.get(info["id"], True)],
            "annotations": anns,
            "categories": [
                {
                    "id": 1,
                    "name": name,
                    "supercategory": name,
                    "keypoints": list(self.spec.names),
                    "skeleton": [list(p) for p in self.spec.skeleton],
                }
            ],
        }
