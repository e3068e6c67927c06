"""Full-frame detection data: a frame and all its boxes -> letterboxed input, box targets, meta.

The detection sibling of :mod:`landmarks.data.dataset` (which crops ONE instance). A frame
source (:class:`landmarks.data.synthetic.frames.SyntheticFrames`,
:class:`landmarks.data.formats.coco_boxes.CocoBoxFrames`) returns a :class:`BoxFrame`:
the whole image and every box in it with its category name.

* :class:`LetterboxTransform` resizes the frame uniformly into the ``(W, H)`` input, centred
  (letterbox, black borders), with the affine of :mod:`landmarks.data.crop`: the crop ``center``
  is the image centre and ``scale`` the image region that fills the input, ``rot = 0``. So
  every consumer maps boxes back exactly as keypoint tasks do (``unwarp_points``). Training adds
  light augmentation: a random zoom (``1 +- scale_factor``) and shift (``+- shift_factor`` of the
  region), a horizontal flip and photometric jitter; a box cut by the input border is clipped,
  and dropped when less than ``min_visible`` of it stays inside.
* :class:`DetectionDataset` encodes the crop with the detection codec (``encode_sample``) and
  puts the ground truth of the ORIGINAL frame in ``meta`` for the box AP metric, padded to the
  codec's ``max_objects`` so batches collate: ``gt_boxes (M, 4)`` image px xywh,
  ``gt_labels (M,)`` (-1 = padding), ``gt_iscrowd (M,)``, ``gt_area (M,)``, and
  ``class_mask (C,)`` (the classes the frame labels; the loss ignores the others).

Seeded augmentation, bad-sample skipping and their bookkeeping are those of
:class:`~landmarks.data.dataset.TopDownDataset`, which this class extends.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, cast

import numpy as np
import torch

from landmarks.data.crop import get_affine, transform_points, warp_image
from landmarks.data.dataset import TopDownDataset, _encode
from landmarks.data.transforms import _photometric

__all__ = ["BoxFrame", "DetectionDataset", "LetterboxTransform"]


class BoxFrame(TypedDict, total=False):
    """One whole image and all its boxes.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB.
        boxes: ``(N, 4)`` float32 ``x, y, w, h`` image px.
        categories: ``N`` category names (``"person"``, ``"hand"``, ``"face"``, ...).
        iscrowd: ``(N,)`` 1 for a COCO crowd region (not a target; ignored by the AP).
        area: ``(N,)`` instance areas px^2 (COCO ``area``: the AP's size ranges).
        labelled: the categories this frame annotates (all of them are complete in it).
        image_id: integer id (COCO ``image_id``).
        path: the image file ('' for rendered images).
    """

    image: Required[np.ndarray]
    boxes: Required[np.ndarray]
    categories: Required[list[str]]
    iscrowd: np.ndarray
    area: np.ndarray
    labelled: Sequence[str]
    image_id: int
    path: str


class LetterboxTransform:
    """Whole frame -> network input (module docstring).

    Args:
        input_size: ``(W, H)`` of the network input.
        train: apply random augmentation.
        scale_factor: random zoom in ``[1 - f, 1 + f]`` of the letterbox scale.
        shift_factor: random shift of the frame, fraction of the input region per axis.
        flip_prob: horizontal flip probability.
        photometric: colour jitter / blur / noise strength in ``[0, 1]`` (0 disables).
        min_visible: a box keeps at least this fraction of its area inside the input, else it is dropped.
        udp: must be ``False`` (the box codecs use the standard affine).
    """

    def __init__(
        self,
        input_size: Sequence[int],
        train: bool = False,
        scale_factor: float = 0.25,
        shift_factor: float = 0.1,
        flip_prob: float = 0.5,
        photometric: float = 0.3,
        min_visible: float = 0.3,
        udp: bool = False,
    ) -> None:
        if udp:
            raise ValueError("LetterboxTransform: udp=True is not supported (box codecs use the standard affine)")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.train = train
        self.scale_factor = float(scale_factor)
        self.shift_factor = float(shift_factor)
        self.flip_prob = float(flip_prob)
        self.min_visible = float(min_visible)
        self.photometric = _photometric(photometric) if train and photometric > 0 else None

    def region(self, image_size: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(center (2,), scale (2,))`` image px of the plain letterbox of an image ``(W, H)``."""
        w, h = float(image_size[0]), float(image_size[1])
        s = min(self.input_size[0] / w, self.input_size[1] / h)  # input px per image px
        return np.array([w / 2, h / 2]), np.array([self.input_size[0] / s, self.input_size[1] / s])

    def __call__(self, frame: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Returns ``image (H, W, 3)`` uint8 input, ``boxes (N', 4)`` input px, ``labels``, ``iscrowd``
        (the kept boxes), ``class_mask`` (passed through; ``frame`` is a :class:`BoxFrame` with ``labels``
        ``(N,)`` class indices, and optionally ``iscrowd`` and ``class_mask``), ``center``, ``scale``, ``rot``, ``flipped``."""
        image = frame["image"]
        center, scale = self.region((image.shape[1], image.shape[0]))
        flipped = False
        if self.train:
            scale = scale / rng.uniform(1 - self.scale_factor, 1 + self.scale_factor)
            center = center + rng.uniform(-self.shift_factor, self.shift_factor, 2) * scale
        affine = get_affine(center, scale, 0.0, self.input_size)
        out_image = warp_image(image, affine, self.input_size)
        boxes = np.asarray(frame["boxes"], np.float64).reshape(-1, 4)
        corners = transform_points(
            np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1).reshape(-1, 2), affine
        )
        x0y0, x1y1 = corners.reshape(-1, 2, 2)[:, 0], corners.reshape(-1, 2, 2)[:, 1]
        full = np.prod(x1y1 - x0y0, axis=1)
        size = np.asarray(self.input_size, np.float64)
        x0y0, x1y1 = np.clip(x0y0, 0, size), np.clip(x1y1, 0, size)
        kept = np.prod(np.maximum(x1y1 - x0y0, 0), axis=1)
        keep = (kept >= self.min_visible * np.maximum(full, 1e-9)) & np.all(x1y1 - x0y0 >= 1.0, axis=1)
        out = np.concatenate([x0y0, x1y1 - x0y0], 1)[keep]
        if self.photometric is not None:  # driven by ``rng``: seeded and resumable (as TopDownTransform)
            self.photometric.set_random_state(rng, random.Random(int(rng.integers(2**63))))
            out_image = self.photometric(image=out_image, keypoints=np.zeros((0, 2), np.float32))["image"]
        if self.train and rng.random() < self.flip_prob:
            out_image = np.ascontiguousarray(out_image[:, ::-1])
            out[:, 0] = size[0] - out[:, 0] - out[:, 2]
            flipped = True
        n = len(boxes)
        return {
            "image": out_image,
            "boxes": out.astype(np.float32),
            "labels": np.asarray(frame.get("labels", np.zeros(n)), np.int64).reshape(n)[keep],
            "iscrowd": np.asarray(frame.get("iscrowd", np.zeros(n)), np.int64).reshape(n)[keep],
            "class_mask": frame.get("class_mask"),
            "center": center.astype(np.float32),
            "scale": scale.astype(np.float32),
            "rot": np.float32(0.0),
            "flipped": flipped,
        }


class DetectionDataset(TopDownDataset):
    """A frame source -> letterboxed inputs, box targets and padded ground truth (module docstring).

    Args:
        source: indexable :class:`BoxFrame` s.
        transform: a :class:`LetterboxTransform`.
        codecs: ``{task_name: codec}``; exactly one distinct box codec (``categories``, ``max_objects``),
            whose class order names the labels.
        on_bad_sample: ``"error"`` raises on an unusable frame; ``"skip"`` logs it and uses the next one.
        seed: seeds the augmentation of ``(index, epoch)`` keys.
    """

    def __init__(
        self,
        source: Any,
        transform: Any,
        codecs: Mapping[str, Any],
        on_bad_sample: str = "error",
        seed: int = 0,
    ) -> None:
        super().__init__(source, transform, codecs, on_bad_sample, seed=seed)
        box_codecs = [c for c in self.codecs.values() if hasattr(c, "categories")]
        if len({c.categories for c in box_codecs}) != 1:
            raise ValueError(
                f"DetectionDataset over {type(source).__name__}: expected one box codec (with 'categories'), "
                f"got {[repr(c) for c in self.codecs.values()]}"
            )
        self.codec = box_codecs[0]

    def _encode(self, sample: dict[str, Any], index: int, rng: np.random.Generator) -> dict[str, Any]:
        frame = cast(BoxFrame, dict(sample))
        where = f"{type(self.source).__name__} frame {index}" + (f" ({frame.get('path')})" if frame.get("path") else "")
        missing = [k for k in ("image", "boxes", "categories") if k not in frame]
        if missing:
            raise ValueError(f"{where}: fields {missing} missing; a frame source returns a BoxFrame")
        names = list(frame["categories"])
        n, m = len(names), self.codec.max_objects
        if n > m:
            raise ValueError(f"{where}: {n} boxes, more than the codec's max_objects={m}")
        labels = np.array([self.codec.label_of(c, where) for c in names], np.int64)
        labelled = frame.get("labelled", names)
        mask = np.zeros(self.codec.num_classes, np.float32)
        mask[[self.codec.label_of(c, where) for c in set(labelled)]] = 1.0
        boxes = np.asarray(frame["boxes"], np.float32).reshape(n, 4)
        iscrowd = np.asarray(frame.get("iscrowd", np.zeros(n)), np.int64).reshape(n)
        area = np.asarray(frame.get("area", boxes[:, 2] * boxes[:, 3]), np.float32).reshape(n)
        letterbox: Any = self.transform  # a LetterboxTransform (the parent types it as the top-down one)
        crop = letterbox({**frame, "labels": labels, "iscrowd": iscrowd, "class_mask": mask}, rng)
        targets = {name: _encode(codec, crop) for name, codec in self.codecs.items()}
        image = frame["image"]
        meta = {
            "index": index,
            "image_id": int(frame.get("image_id", index)),
            "center": crop["center"],
            "scale": crop["scale"],
            "rot": crop["rot"],
            "flipped": crop["flipped"],
            "image_size": np.array([image.shape[1], image.shape[0]], np.float32),
            "class_mask": mask,
            "num_boxes": n,
            "gt_boxes": _pad(boxes, m, 0.0),
            "gt_labels": _pad(labels, m, -1),
            "gt_iscrowd": _pad(iscrowd, m, 0),
            "gt_area": _pad(area, m, 0.0),
        }
        return {
            "image": torch.from_numpy(np.ascontiguousarray(crop["image"])).permute(2, 0, 1),
            "targets": targets,
            "meta": meta,
        }


def _pad(values: np.ndarray, length: int, fill: float) -> np.ndarray:
    """``values (N, ...)`` padded with ``fill`` to ``(length, ...)``."""
    out = np.full((length, *values.shape[1:]), fill, dtype=values.dtype)
    out[: len(values)] = values
    return out
