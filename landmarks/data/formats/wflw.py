"""WFLW native annotation text (``list_98pt_rect_attr_{train,test}.txt``).

Format reference: the WFLW release (Wu et al., "Look at Boundary: A Boundary-Aware Face
Alignment Algorithm", CVPR 2018; https://wywu.github.io/projects/LAB/WFLW.html). One face
per line, 207 whitespace-separated values:

``x0 y0 ... x97 y97`` (196 landmark coordinates) ``x_min y_min x_max y_max`` (the face
rectangle) ``pose expression illumination make-up occlusion blur`` (0/1 flags) ``image``
(path relative to ``WFLW_images``, e.g. ``51--Dresses/51_Dresses_wearingdress_51_377.jpg``).

Conventions chosen (and why):

* **Coordinates as stored.** WFLW documents no 1-based origin and HRNet, mmpose and PFLD all
  use the values as given; so does this reader (0-based pixel centres, like ``crop.py``).
* **Box.** ``box="rect"`` (default) uses the annotated face rectangle, the detector-like box
  of the WFLW protocol; ``box="landmarks"`` uses the tight landmark box. Neither is padded:
  the crop stage pads every box (``TopDownTransform.padding``).
* **Visibility.** WFLW marks none; every landmark is ``visible = 2``.
* **Attributes.** Each sample carries ``attributes``: ``(6,)`` uint8 in
  :data:`WFLW_ATTRIBUTES` order; :attr:`WflwSource.attributes` stacks them ``(N, 6)`` in
  instance order for :func:`landmarks.metrics.face_subsets.nme_by_attribute`.
* Blank lines are not faces and are ignored; every other malformed line is a bad sample.

A sibling text format (one face per line) copies this file and changes :meth:`WflwSource._parse`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb
from landmarks.data.formats.reader import InstanceReader, box_sample
from landmarks.layouts.face import wflw98
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

__all__ = ["NUM_LANDMARKS", "VALUES_PER_LINE", "WFLW_ATTRIBUTES", "WflwSource"]

WFLW_ATTRIBUTES: tuple[str, ...] = ("pose", "expression", "illumination", "make-up", "occlusion", "blur")
"""The six attribute flags of a WFLW line, in file order."""
NUM_LANDMARKS = 98
VALUES_PER_LINE = 2 * NUM_LANDMARKS + 4 + len(WFLW_ATTRIBUTES) + 1  # 207
_LINE_LAYOUT = (
    f"{VALUES_PER_LINE} whitespace-separated values: 196 landmark coordinates, "
    "4 rect values x_min y_min x_max y_max, 6 attribute flags, the image name"
)


def _is_flag(token: str) -> bool:
    try:
        return float(token) in (0.0, 1.0)
    except ValueError:
        return False


@dataclass(frozen=True)
class _Instance:
    keypoints: np.ndarray  # (98, 2) float32 image px
    bbox: np.ndarray  # (4,) float32 xywh
    attributes: np.ndarray  # (6,) uint8
    image_id: int
    id: int
    path: str


class WflwSource(InstanceReader):
    """An indexable list of WFLW faces.

    Args:
        ann_file: a WFLW annotation text file.
        image_root: the folder the image names are relative to (``WFLW_images``).
        spec: landmark layout; ``wflw98()`` when ``None`` (must have 98 points).
        box: ``"rect"`` (the annotated face rectangle) or ``"landmarks"`` (tight landmark box).
        on_bad_sample: ``"error"`` or ``"skip"`` (see :class:`BadSamplePolicy`).

    Attributes:
        spec: the landmark layout.
        attributes: ``(N, 6)`` uint8 flags in instance order (a property).
        skipped_counts: ``{"bad_sample": n}`` (a property).

    Raises:
        AnnotationError: a missing file, a malformed line under ``"error"``, or no face at all.
        ValueError: a spec without 98 points, or an unknown ``box``.
    """

    def __init__(
        self,
        ann_file: str,
        image_root: str,
        spec: KeypointSpec | None = None,
        box: str = "rect",
        on_bad_sample: str = "error",
    ) -> None:
        self.ann_file = str(ann_file)
        self.image_root = str(image_root)
        self.spec = spec if spec is not None else wflw98()
        if self.spec.num_keypoints != NUM_LANDMARKS:
            raise ValueError(
                f"WflwSource({self.ann_file}): spec '{self.spec.name}' has "
                f"{self.spec.num_keypoints} points; WFLW lines hold {NUM_LANDMARKS}"
            )
        if box not in ("rect", "landmarks"):
            raise ValueError(f"WflwSource({self.ann_file}): box must be 'rect' or 'landmarks', got {box!r}")
        self.box = box
        self._policy = BadSamplePolicy(on_bad_sample, owner=f"WflwSource({self.ann_file})")
        if not os.path.isfile(self.ann_file):
            raise AnnotationError(self.ann_file, "<file>", "an existing WFLW annotation text file", "no such file")
        with open(self.ann_file, encoding="utf-8") as f:
            lines = f.read().splitlines()
        self._image_ids: dict[str, int] = {}
        numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
        self._instances: list[_Instance] = self._policy.keep(numbered, lambda nl: self._parse(*nl))
        if not self._instances:
            raise self._policy.none_kept(self.ann_file, "<lines>", "at least one face line", f"{len(lines)} lines")

    @property
    def attributes(self) -> np.ndarray:
        """``(N, 6)`` uint8 attribute flags, columns in :data:`WFLW_ATTRIBUTES` order."""
        return np.stack([inst.attributes for inst in self._instances])

    def _parse(self, n: int, line: str) -> _Instance:
        where = f"line {n}"
        tokens = line.split()
        if len(tokens) != VALUES_PER_LINE:
            raise AnnotationError(self.ann_file, "<line>", _LINE_LAYOUT, f"{len(tokens)} values", where)
        try:
            numbers = [float(t) for t in tokens[:200]]
        except ValueError as err:
            raise AnnotationError(
                self.ann_file, "landmarks/rect", "200 numbers before the attribute flags", str(err), where
            ) from None
        bad = next((j for j, v in enumerate(numbers) if not math.isfinite(v)), None)
        if bad is not None:
            what = (
                f"{'xy'[bad % 2]} of landmark {bad // 2}"
                if bad < 196
                else ["x_min", "y_min", "x_max", "y_max"][bad - 196]
            )
            raise AnnotationError(
                self.ann_file, "landmarks" if bad < 196 else "rect", "finite numbers", f"{tokens[bad]} as {what}", where
            )
        flags = tokens[200:206]
        if not all(_is_flag(t) for t in flags):
            raise AnnotationError(
                self.ann_file, "attributes", f"6 flags 0/1 ({' '.join(WFLW_ATTRIBUTES)})", " ".join(flags), where
            )
        name = tokens[206]
        where = f"line {n}, image {name}"
        x1, y1, x2, y2 = numbers[196:200]
        if not (x2 > x1 and y2 > y1):
            raise AnnotationError(
                self.ann_file, "rect", "x_min < x_max and y_min < y_max", f"[{x1}, {y1}, {x2}, {y2}]", where
            )
        keypoints = np.asarray(numbers[:196], dtype=np.float32).reshape(NUM_LANDMARKS, 2)
        if self.box == "rect":
            bbox = np.asarray([x1, y1, x2 - x1, y2 - y1], dtype=np.float32)
        else:
            lo, hi = keypoints.min(axis=0), keypoints.max(axis=0)
            bbox = np.asarray([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], dtype=np.float32)
        path = os.path.join(self.image_root, name)
        if not os.path.isfile(path):
            raise AnnotationError(
                self.ann_file,
                "image name",
                f"an existing image file under {self.image_root}",
                f"{name!r} (missing)",
                where,
            )
        if name not in self._image_ids:
            self._image_ids[name] = len(self._image_ids)
        return _Instance(
            keypoints=keypoints,
            bbox=bbox,
            attributes=np.asarray([float(t) for t in flags], np.uint8),
            image_id=self._image_ids[name],
            id=n - 1,
            path=path,
        )

    def _load(self, index: int) -> Sample:
        inst = self._instances[index]
        image = load_image_rgb(inst.path, field="image name", source=self.ann_file)
        visible = np.full(NUM_LANDMARKS, 2.0, np.float32)
        sample = box_sample(image, inst.keypoints, visible, inst.bbox, inst.image_id, inst.id, inst.path)
        sample["attributes"] = inst.attributes.copy()
        return sample
