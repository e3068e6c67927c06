"""CenterNet box codec: boxes <-> centre heatmaps, sizes and sub-pixel offsets.

Zhou, Wang & Krähenbühl, "Objects as Points", 2019. An object is the peak of its class's centre
heatmap at output stride ``R``; the head also regresses, at that cell, the box size and the
sub-pixel offset lost by the stride.

Units: boxes are ``x, y, w, h`` in **input px** (the letterboxed network input of
:mod:`landmarks.data.detection`); heatmap px = input px / ``stride``. For a box with centre ``c``
(input px) the centre cell is ``floor(c / R)``, the offset target ``c / R - floor(c / R)`` and
the size target ``(w, h) / R`` (heatmap px; the paper's), or its natural log with
``size_space="log"`` (an L1 on log sizes weighs relative errors, which is what IoU feels), so
decoding ``(cell + offset) * R`` and ``size * R`` (``exp(size) * R``) returns the box exactly.

* ``encode(boxes, labels, class_mask)`` (data side): a Gaussian of peak 1 at each centre cell
  of its class channel (overlaps keep the maximum); its radius is the largest corner shift that
  keeps IoU >= ``min_overlap`` with the box (CornerNet, Law & Deng, ECCV 2018; the three cases are
  derived in :func:`gaussian_radius`), sigma = (2 r + 1) / 6 heatmap px.
* ``decode(out)`` (model side): sigmoid heatmaps, 3x3 max-pool peak NMS (a cell survives when it
  equals the maximum of its 3x3 neighbourhood), top-``max_detections`` peaks over all classes
  -> boxes ``(B, N, 4)`` input px, scores ``(B, N)``, labels ``(B, N)``.

The same object is given to the data pipeline and to the task; ``categories`` fixes the class
order of both. A sibling box codec (e.g. FCOS distances) satisfies
:class:`landmarks.codecs.protocol.BoxCodec` and keeps ``encode_sample``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["CenterNetCodec", "gaussian_radius"]


def gaussian_radius(height: float, width: float, min_overlap: float = 0.7) -> float:
    """Largest corner shift ``r`` (same unit as the box) keeping IoU >= ``min_overlap``.

    Three ways to move both corners by ``r`` (each solved as a quadratic in ``r``):

    1. both corners shift the same way (a translated box): ``(w-r)(h-r) / (2wh - (w-r)(h-r)) = o``;
    2. both move inwards (a smaller box): ``(w-2r)(h-2r) / (wh) = o``;
    3. both move outwards (a larger box): ``wh / ((w+2r)(h+2r)) = o``.

    Returns the smallest of the three roots, so every case keeps IoU >= ``o``.
    """
    w, h, o = float(width), float(height), float(min_overlap)
    if not 0 < o < 1:
        raise ValueError(f"gaussian_radius: min_overlap must be in (0, 1), got {min_overlap}")
    s, p = w + h, w * h
    r1 = (s - math.sqrt(max(s * s - 4 * p * (1 - o) / (1 + o), 0.0))) / 2
    r2 = (s - math.sqrt(max(s * s - 4 * p * (1 - o), 0.0))) / 4
    r3 = (-o * s + math.sqrt(max(o * o * s * s + 4 * o * (1 - o) * p, 0.0))) / (4 * o)
    return max(min(r1, r2, r3), 0.0)


class CenterNetCodec:
    """Boxes of several classes as CenterNet targets (module docstring).

    Args:
        input_size: ``(W, H)`` of the network input, input px; both divisible by ``stride``.
        categories: class names in channel order (e.g. ``["person", "hand", "face"]``).
        stride: output stride ``R`` of the head.
        max_objects: most boxes one image may have (fixed-size targets for batching).
        max_detections: peaks kept per image by ``decode`` (COCO scores at most 100).
        min_overlap: IoU the Gaussian radius preserves (CornerNet: 0.7).
        size_space: ``"linear"`` (size targets in heatmap px, the paper's) or ``"log"`` (their log).
    """

    udp: bool = False
    """The letterbox uses the standard (non-UDP) affine; :mod:`landmarks.data.datamodule` reads this."""

    def __init__(
        self,
        input_size: Sequence[int],
        categories: Sequence[str],
        stride: int = 4,
        max_objects: int = 128,
        max_detections: int = 100,
        min_overlap: float = 0.7,
        size_space: str = "linear",
    ) -> None:
        w, h = (int(v) for v in input_size)
        if w % stride or h % stride or min(w, h) < stride:
            raise ValueError(f"CenterNetCodec: input_size {list(input_size)} must be multiples of stride {stride}")
        if not categories or len(set(categories)) != len(categories):
            raise ValueError(f"CenterNetCodec: categories must be distinct names, got {list(categories)}")
        if size_space not in ("linear", "log"):
            raise ValueError(f"CenterNetCodec: size_space must be 'linear' or 'log', got {size_space!r}")
        self.size_space = size_space
        self.input_size = (w, h)
        self.categories = tuple(str(c) for c in categories)
        self.stride = int(stride)
        self.heatmap_size = (w // stride, h // stride)
        self.max_objects = int(max_objects)
        self.max_detections = int(max_detections)
        self.min_overlap = float(min_overlap)

    def __repr__(self) -> str:
        return f"CenterNetCodec(input_size={self.input_size}, categories={list(self.categories)}, stride={self.stride})"

    @property
    def num_classes(self) -> int:
        return len(self.categories)

    def label_of(self, category: str, where: str = "") -> int:
        """Channel index of ``category``; a ValueError naming ``where`` and the known names otherwise."""
        if category not in self.categories:
            raise ValueError(
                f"{where or 'CenterNetCodec'}: category '{category}' is not one of the task's categories "
                f"{list(self.categories)} (tasks.<name>.codec.categories)"
            )
        return self.categories.index(category)

    # --- data side --------------------------------------------------------------------
    def encode_sample(self, crop: Mapping[str, Any]) -> dict[str, Any]:
        """Targets of a letterboxed frame (:class:`landmarks.data.detection.LetterboxTransform` output)."""
        keep = np.asarray(crop["iscrowd"]).reshape(-1) == 0  # crowd regions: no centre to learn
        labels = np.asarray(crop["labels"], np.int64).reshape(-1)
        return self.encode(np.asarray(crop["boxes"]).reshape(-1, 4)[keep], labels[keep], crop.get("class_mask"))

    def encode(self, boxes: np.ndarray, labels: np.ndarray, class_mask: np.ndarray | None = None) -> dict[str, Any]:
        """Targets of one image.

        Args:
            boxes: ``(N, 4)`` ``x, y, w, h`` input px, inside the input.
            labels: ``(N,)`` class indices into ``categories``.
            class_mask: ``(C,)`` 1 for the classes this image labels (default: all).

        Returns:
            ``heatmap (C, h, w)``, ``index (M,)`` int64 flat centre cell, ``size (M, 2)`` (heatmap px,
            or their log: ``size_space``) and ``offset (M, 2)`` heatmap px, ``mask (M,)`` 1 for a real
            object, ``class_weight (C,)``; ``M = max_objects``, all float32 but ``index``.

        Raises:
            ValueError: more than ``max_objects`` boxes, or a label outside ``[0, C)``.
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        labels = np.asarray(labels, np.int64).reshape(-1)
        c, (hw, hh), m, r = self.num_classes, self.heatmap_size, self.max_objects, self.stride
        if len(boxes) > m or len(labels) != len(boxes):
            raise ValueError(f"CenterNetCodec.encode: {len(boxes)} boxes, {len(labels)} labels; at most {m} boxes")
        if len(labels) and (labels.min() < 0 or labels.max() >= c):
            raise ValueError(f"CenterNetCodec.encode: labels {sorted(set(labels.tolist()))} outside [0, {c})")
        heatmap = np.zeros((c, hh, hw), np.float32)
        index = np.zeros(m, np.int64)
        size = np.zeros((m, 2), np.float32)
        offset = np.zeros((m, 2), np.float32)
        mask = np.zeros(m, np.float32)
        for j, ((x, y, w, h), label) in enumerate(zip(boxes, labels)):
            if w <= 0 or h <= 0:
                continue
            ctr = np.array([(x + w / 2) / r, (y + h / 2) / r])
            cell = np.clip(np.floor(ctr), 0, [hw - 1, hh - 1]).astype(np.int64)
            radius = int(gaussian_radius(h / r, w / r, self.min_overlap))
            _splat(heatmap[label], cell, radius)
            index[j] = cell[1] * hw + cell[0]
            size[j] = (w / r, h / r) if self.size_space == "linear" else (math.log(w / r), math.log(h / r))
            offset[j] = ctr - cell
            mask[j] = 1.0
        weight = np.ones(c, np.float32) if class_mask is None else np.asarray(class_mask, np.float32).reshape(c)
        return {
            "heatmap": heatmap,
            "index": index,
            "size": size,
            "offset": offset,
            "mask": mask,
            "class_weight": weight,
        }

    # --- model side -------------------------------------------------------------------
    def decode(self, out: Mapping[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Peaks of the head output -> boxes.

        Args:
            out: ``heatmap (B, C, h, w)`` logits, ``size (B, 2, h, w)`` (heatmap px, or their log) and
                ``offset (B, 2, h, w)`` heatmap px.

        Returns:
            ``boxes (B, N, 4)`` xywh input px, ``scores (B, N)`` in (0, 1), ``labels (B, N)`` int64,
            best first; ``N = min(max_detections, C * h * w)``.
        """
        heat = torch.sigmoid(out["heatmap"].detach().float())
        b, c, h, w = heat.shape
        peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
        scores, flat = peaks.reshape(b, -1).topk(min(self.max_detections, c * h * w), dim=1)
        labels = torch.div(flat, h * w, rounding_mode="floor")
        pix = flat % (h * w)
        raw = _gather(out["size"].detach().float(), pix)  # (B, N, 2)
        size = raw.clamp_min(0) if self.size_space == "linear" else raw.clamp(-10, 10).exp()
        off = _gather(out["offset"].detach().float(), pix)
        cx = ((pix % w).float() + off[..., 0]) * self.stride
        cy = (torch.div(pix, w, rounding_mode="floor").float() + off[..., 1]) * self.stride
        bw, bh = size[..., 0] * self.stride, size[..., 1] * self.stride
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh], dim=-1)
        return boxes.cpu().numpy(), scores.cpu().numpy(), labels.cpu().numpy()


def _gather(maps: torch.Tensor, pix: torch.Tensor) -> torch.Tensor:
    """``maps (B, D, h, w)`` read at flat cells ``pix (B, N)`` -> ``(B, N, D)``."""
    b, d = maps.shape[:2]
    flat = maps.reshape(b, d, -1)
    return flat.gather(2, pix[:, None, :].expand(b, d, pix.shape[1])).permute(0, 2, 1)


def _splat(channel: np.ndarray, cell: np.ndarray, radius: int) -> None:
    """Max a Gaussian (peak 1 at ``cell``, sigma ``(2 radius + 1) / 6``) into ``channel (h, w)``, in place."""
    sigma = (2 * radius + 1) / 6.0
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    g = np.exp(-(d[None, :] ** 2 + d[:, None] ** 2) / (2 * sigma * sigma))
    h, w = channel.shape
    x, y = int(cell[0]), int(cell[1])
    x0, x1 = max(0, x - radius), min(w, x + radius + 1)
    y0, y1 = max(0, y - radius), min(h, y + radius + 1)
    patch = g[y0 - y + radius : y1 - y + radius, x0 - x + radius : x1 - x + radius]
    np.maximum(channel[y0:y1, x0:x1], patch.astype(np.float32), out=channel[y0:y1, x0:x1])
