"""MPII Human Pose annotations in the HRNet / mmpose JSON form.

Format reference: the ``mpii_{train,val}.json`` files released with HRNet
(Sun et al., CVPR 2019) and used by mmpose: a list of
``{image, joints (16 x [x, y]), joints_vis (16), center [x, y], scale}``, converted from
the MPII Matlab release (Andriluka et al., CVPR 2014). ``scale`` is the person height in
units of 200 px.

Conventions chosen (and why):

* **0-based pixels.** The MPII release is Matlab, 1-based; both ``joints`` and ``center``
  are shifted by -1, as the HRNet reader does (mmpose 1.x shifts only the centre, which
  leaves joints and box in different frames). To score against the official ``.mat``
  ground truth, add 1 back to predictions.
* **Box.** Centre moved down by ``15 * scale`` px (the person centre of MPII sits high on
  the torso; HRNet and mmpose both do this), then a square of side ``200 * scale`` px.
  The 1.25 enlargement HRNet applies here is *not* applied: as for COCO boxes, the crop
  stage pads every box (``crop.py``), so applying it twice would shrink the person.
* **Unlabelled joints.** The JSON stores them as ``(-1, -1)`` with ``joints_vis = 0``;
  they become ``(0, 0)`` with ``visible = 0``, like COCO. Labelled joints get ``visible = 2``.
* **Head size** (PCKh normaliser) is ``0.6 *`` the head-box diagonal, the MPII protocol;
  it needs a head-box file aligned with the annotations (the JSON itself has none).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb, read_json, read_json_list
from landmarks.data.formats.reader import InstanceReader, box_sample
from landmarks.layouts.spec import KeypointSpec, mpii16
from landmarks.types import Sample

#: MPII scale unit: ``scale`` is the person height in multiples of this many px.
PIXEL_STD = 200.0
#: downward shift of the MPII centre, in px per unit of scale (HRNet / mmpose).
CENTER_SHIFT_PER_SCALE = 15.0
#: head size = HEAD_SIZE_FACTOR * head-box diagonal (MPII PCKh protocol, ``SC_BIAS``).
HEAD_SIZE_FACTOR = 0.6


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def load_head_boxes(path: str) -> np.ndarray:
    """Read MPII head boxes, one per annotation, in annotation order.

    Accepted files: ``.json`` (a list of ``[x1, y1, x2, y2]`` or ``[[x1, y1], [x2, y2]]``),
    ``.npy`` (array ``(N, 2, 2)`` or ``(N, 4)``), or the MPII ``gt_*.mat`` / head-box
    ``.mat`` holding ``headboxes_src`` of shape ``(2, 2, N)``.

    Returns:
        ``(N, 2, 2)`` float64: per annotation the two corners ``[[x1, y1], [x2, y2]]``, px.

    Raises:
        AnnotationError: unknown extension, missing field or wrong shape.
    """
    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise AnnotationError(path, "<file>", "an existing head-box file", "no such file")
    if ext == ".json":
        boxes = np.asarray(read_json(path), dtype=np.float64)
    elif ext == ".npy":
        boxes = np.load(path, allow_pickle=False).astype(np.float64)
    elif ext == ".mat":
        from scipy.io import loadmat

        mat = loadmat(path)
        if "headboxes_src" not in mat:
            raise AnnotationError(path, "headboxes_src", "a (2, 2, N) array", "no such field")
        boxes = np.transpose(np.asarray(mat["headboxes_src"], dtype=np.float64), (2, 0, 1))
    else:
        raise AnnotationError(path, "<file>", "a .json, .npy or .mat head-box file", f"extension {ext!r}")
    if boxes.ndim == 2 and boxes.shape[1] == 4:
        boxes = boxes.reshape(-1, 2, 2)
    if boxes.ndim != 3 or boxes.shape[1:] != (2, 2):
        raise AnnotationError(path, "head boxes", "shape (N, 2, 2) or (N, 4)", f"shape {boxes.shape}")
    return boxes


@dataclass(frozen=True)
class _Instance:
    keypoints: np.ndarray  # (K, 2) float32, 0-based image px
    visible: np.ndarray  # (K,) float32 0/2
    bbox: np.ndarray  # (4,) float32 xywh
    image_id: int
    id: int
    path: str
    head_size: float | None


class MpiiSource(InstanceReader):
    """An indexable list of MPII person instances.

    Args:
        ann_file: the HRNet/mmpose MPII JSON.
        image_root: folder holding the images named by ``image``.
        spec: keypoint layout; ``mpii16()`` when ``None``.
        head_boxes_file: head boxes aligned with the annotations (see :func:`load_head_boxes`);
            when given every sample carries ``head_size`` (px).
        on_bad_sample: ``"error"`` or ``"skip"`` (see ``BadSamplePolicy``).

    Attributes:
        spec: the keypoint layout.
        skipped_counts: ``{"bad_sample": n}`` (a property).

    Raises:
        AnnotationError: malformed JSON, a bad instance under ``"error"``, no instance,
            or a head-box file whose length differs from the annotation list.
    """

    def __init__(
        self,
        ann_file: str,
        image_root: str,
        spec: KeypointSpec | None = None,
        head_boxes_file: str | None = None,
        on_bad_sample: str = "error",
    ) -> None:
        self.ann_file = str(ann_file)
        self.image_root = str(image_root)
        self.spec = spec if spec is not None else mpii16()
        self._policy = BadSamplePolicy(on_bad_sample, owner=f"MpiiSource({self.ann_file})")
        anns = read_json_list(self.ann_file, "a list of {image, joints, joints_vis, center, scale}")
        head_sizes: np.ndarray | None = None
        self.head_boxes_file = None if head_boxes_file is None else str(head_boxes_file)
        if head_boxes_file is not None:
            boxes = load_head_boxes(str(head_boxes_file))
            if len(boxes) != len(anns):
                raise AnnotationError(
                    str(head_boxes_file),
                    "head boxes",
                    f"one box per annotation of {self.ann_file} ({len(anns)})",
                    f"{len(boxes)} boxes",
                )
            head_sizes = HEAD_SIZE_FACTOR * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
        self._image_ids: dict[str, int] = {}
        self._instances: list[_Instance] = self._policy.keep(
            range(len(anns)), lambda i: self._parse(i, anns[i], None if head_sizes is None else float(head_sizes[i]))
        )
        if not self._instances:
            raise AnnotationError(
                self.ann_file,
                "<top level>",
                "at least one instance",
                f"0 instances ({len(anns)} entries, {self._policy.skipped} bad and skipped)",
            )

    def _image_id(self, name: str) -> int:
        """Integer id of an image: its numeric file stem (``'015601864.jpg'`` -> 15601864), else a counter."""
        if name not in self._image_ids:
            stem = os.path.splitext(os.path.basename(name))[0]
            self._image_ids[name] = int(stem) if stem.isdigit() else len(self._image_ids)
        return self._image_ids[name]

    def _parse(self, i: int, ann: Any, head_size: float | None) -> _Instance:
        where = f"entry [{i}]"
        if not isinstance(ann, dict):
            raise AnnotationError(self.ann_file, "<entry>", "a JSON object", type(ann).__name__, where)
        k = self.spec.num_keypoints
        image = ann.get("image")
        if not isinstance(image, str) or not image:
            raise AnnotationError(self.ann_file, "image", "an image file name", repr(image), where)
        where = f"entry [{i}], image {image}"
        joints = ann.get("joints")
        if not (
            isinstance(joints, list)
            and len(joints) == k
            and all(isinstance(j, list) and len(j) == 2 and all(_number(v) for v in j) for j in joints)
        ):
            got = f"{len(joints)} entries" if isinstance(joints, list) else repr(joints)
            raise AnnotationError(self.ann_file, "joints", f"K={k} pairs of finite numbers [x, y]", got, where)
        vis = ann.get("joints_vis")
        if not (isinstance(vis, list) and len(vis) == k and all(v in (0, 1) for v in vis)):
            raise AnnotationError(self.ann_file, "joints_vis", f"K={k} flags 0/1", repr(vis), where)
        center: Any = ann.get("center")
        scale: Any = ann.get("scale")
        if not (isinstance(center, list) and len(center) == 2 and all(_number(v) for v in center)):
            raise AnnotationError(self.ann_file, "center", "[x, y] numbers", repr(center), where)
        if center[0] == -1:
            raise AnnotationError(
                self.ann_file, "center", "a person position (MPII uses -1 for unknown)", repr(center), where
            )
        if not (_number(scale) and scale > 0):
            raise AnnotationError(self.ann_file, "scale", "a positive number (units of 200 px)", repr(scale), where)
        if head_size is not None and not (math.isfinite(head_size) and head_size > 0):
            raise AnnotationError(
                str(self.head_boxes_file),
                "head boxes",
                "finite corners of a box of non-zero size (PCKh normaliser)",
                f"head size {head_size} for entry [{i}] of {self.ann_file}",
                f"box [{i}]",
            )
        path = os.path.join(self.image_root, image)
        if not os.path.isfile(path):
            raise AnnotationError(
                self.ann_file, "image", f"an existing image file under {self.image_root}", f"{image!r} (missing)", where
            )
        labelled = np.asarray(vis, dtype=bool)
        keypoints = np.asarray(joints, dtype=np.float32) - 1.0
        keypoints[~labelled] = 0.0
        side = PIXEL_STD * float(scale)
        cx = float(center[0]) - 1.0
        cy = float(center[1]) + CENTER_SHIFT_PER_SCALE * float(scale) - 1.0
        bbox = np.asarray([cx - side / 2, cy - side / 2, side, side], dtype=np.float32)
        return _Instance(
            keypoints=keypoints,
            visible=np.where(labelled, 2.0, 0.0).astype(np.float32),
            bbox=bbox,
            image_id=self._image_id(image),
            id=i,
            path=path,
            head_size=head_size,
        )

    def _load(self, index: int) -> Sample:
        inst = self._instances[index]
        image = load_image_rgb(inst.path, field="image", source=self.ann_file)
        sample = box_sample(image, inst.keypoints, inst.visible, inst.bbox, inst.image_id, inst.id, inst.path)
        if inst.head_size is not None:
            sample["head_size"] = inst.head_size
        return sample
