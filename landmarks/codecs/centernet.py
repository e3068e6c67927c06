"""CenterNet box codec: boxes <-> centre heatmaps, sizes and sub-pixel offsets.

Zhou, Wang & Krähenbühl, "Objects as Points", 2019. An object is the peak of its class's centre
heatmap at output stride ``R``; the head also regresses, at that cell, the box size and the
sub-pixel offset lost by the stride.

Units: boxes are ``x, y, w, h`` in **input px** (the letterboxed network input of
:mod:`landmarks.data.detection`); heatmap px = input px / ``stride``. For a box with centre ``c``
(input px) the centre cell is ``floor(c / R)``; a cell ``q`` regressing the box has the offset
target ``c / R - q`` and the size target ``(w, h) / R`` (heatmap px), so decoding
``(q + offset) * R`` and ``size * R`` returns the box exactly.

Which cells regress: the centre cell only (``regress_area=0``, the paper), or, as TTFNet does to
train faster (Liu et al., "Training-Time-Friendly Network for Real-Time Object Detection", AAAI
2020), every cell within ``+- regress_area * (w, h) / 2`` of the centre cell, weighted by an
elliptical Gaussian (sigma ``regress_area * (w, h) / 6``, 1 at the centre cell) normalised to sum 1
per object; a cell claimed by two objects keeps the smaller one (boxes are written largest first),
except an object's own centre cell, which always regresses that object (written last): the peak the
decoder reads must give its own box, not a smaller neighbour's (with ``regress_area`` 0.54 that lost
2 of 721 held-out people, 1.2 points of an ideal model's AP).
The targets are dense maps, so both cases are one L1 (:mod:`tasks.detect`).

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
        regress_area: size/offset regression region as a fraction of the box (0: the centre cell only,
            CenterNet; TTFNet uses 0.54).
        iou_score_power: ``a`` of the score ``heat ** (1 - a) * iou ** a`` when the head predicts ``iou``
            (IoU-aware scoring, :mod:`tasks.detect`; 0.5 as Wu et al.); without an ``iou`` output the score is ``heat``.
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
        regress_area: float = 0.0,
        iou_score_power: float = 0.5,
    ) -> None:
        w, h = (int(v) for v in input_size)
        if w % stride or h % stride or min(w, h) < stride:
            raise ValueError(f"CenterNetCodec: input_size {list(input_size)} must be multiples of stride {stride}")
        if not categories or len(set(categories)) != len(categories):
            raise ValueError(f"CenterNetCodec: categories must be distinct names, got {list(categories)}")
        if not 0 <= regress_area <= 1:
            raise ValueError(f"CenterNetCodec: regress_area must be in [0, 1], got {regress_area}")
        self.regress_area = float(regress_area)
        if not 0 <= iou_score_power <= 1:
            raise ValueError(f"CenterNetCodec: iou_score_power must be in [0, 1], got {iou_score_power}")
        self.iou_score_power = float(iou_score_power)
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
            ``heatmap (C, h, w)``; ``size (2, h, w)`` and ``offset (2, h, w)`` heatmap px and their
            ``reg_weight (h, w)`` (0 where nothing is regressed; sums to 1 per object); ``num_objects``
            (a float); ``class_weight (C,)``. All float32.

        Raises:
            ValueError: more than ``max_objects`` boxes, or a label outside ``[0, C)``.
        """
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        labels = np.asarray(labels, np.int64).reshape(-1)
        c, (hw, hh), r = self.num_classes, self.heatmap_size, self.stride
        if len(boxes) > self.max_objects or len(labels) != len(boxes):
            raise ValueError(
                f"CenterNetCodec.encode: {len(boxes)} boxes, {len(labels)} labels; at most {self.max_objects} boxes"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= c):
            raise ValueError(f"CenterNetCodec.encode: labels {sorted(set(labels.tolist()))} outside [0, {c})")
        heatmap = np.zeros((c, hh, hw), np.float32)
        size = np.zeros((2, hh, hw), np.float32)
        offset = np.zeros((2, hh, hw), np.float32)
        weight = np.zeros((hh, hw), np.float32)
        centres = []
        for j in np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable"):  # largest first: smaller ones overwrite
            x, y, w, h = boxes[j]
            if w <= 0 or h <= 0:
                continue
            ctr = np.array([(x + w / 2) / r, (y + h / 2) / r])
            cell = np.clip(np.floor(ctr), 0, [hw - 1, hh - 1]).astype(np.int64)
            _splat(heatmap[labels[j]], cell, int(gaussian_radius(h / r, w / r, self.min_overlap)))
            (x0, x1), (y0, y1), g = self._region(cell, w / r, h / r)
            size[:, y0:y1, x0:x1] = np.array([w / r, h / r], np.float32)[:, None, None]
            offset[0, y0:y1, x0:x1] = ctr[0] - np.arange(x0, x1)[None, :]
            offset[1, y0:y1, x0:x1] = ctr[1] - np.arange(y0, y1)[:, None]
            weight[y0:y1, x0:x1] = g
            centres.append((cell, ctr, (w / r, h / r), g[cell[1] - y0, cell[0] - x0]))
        for cell, ctr, wh, g0 in centres:  # the peak a decoder reads is an object's own centre cell: never another's
            size[:, cell[1], cell[0]] = wh
            offset[:, cell[1], cell[0]] = ctr - cell
            weight[cell[1], cell[0]] = g0
        count = len(centres)
        mask = np.ones(c, np.float32) if class_mask is None else np.asarray(class_mask, np.float32).reshape(c)
        return {
            "heatmap": heatmap,
            "size": size,
            "offset": offset,
            "reg_weight": weight,
            "num_objects": np.float32(count),
            "class_weight": mask,
        }

    def _region(self, cell: np.ndarray, w: float, h: float) -> tuple[tuple[int, int], tuple[int, int], np.ndarray]:
        """Cells regressing a box of ``w x h`` heatmap px centred in ``cell``: x and y ranges and their weights."""
        hw, hh = self.heatmap_size
        rx, ry = int(self.regress_area * w / 2), int(self.regress_area * h / 2)
        x0, x1 = max(0, cell[0] - rx), min(hw, cell[0] + rx + 1)
        y0, y1 = max(0, cell[1] - ry), min(hh, cell[1] + ry + 1)
        sx, sy = max(self.regress_area * w / 6, 1e-6), max(self.regress_area * h / 6, 1e-6)
        dx, dy = np.arange(x0, x1) - cell[0], np.arange(y0, y1) - cell[1]
        g = np.exp(-(dx[None, :] ** 2) / (2 * sx * sx) - dy[:, None] ** 2 / (2 * sy * sy))
        return (int(x0), int(x1)), (int(y0), int(y1)), (g / g.sum()).astype(np.float32)

    # --- model side -------------------------------------------------------------------
    def decode(self, out: Mapping[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Peaks of the head output -> boxes.

        Args:
            out: ``heatmap (B, C, h, w)`` logits, ``size (B, 2, h, w)`` and ``offset (B, 2, h, w)`` heatmap px;
                optionally ``iou (B, 1, h, w)`` logits (the peaks are then rescored, ``iou_score_power``).

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
        size = _gather(out["size"].detach().float(), pix).clamp_min(0)  # (B, N, 2)
        off = _gather(out["offset"].detach().float(), pix)
        cx = ((pix % w).float() + off[..., 0]) * self.stride
        cy = (torch.div(pix, w, rounding_mode="floor").float() + off[..., 1]) * self.stride
        bw, bh = size[..., 0] * self.stride, size[..., 1] * self.stride
        boxes = torch.stack([cx - bw / 2, cy - bh / 2, bw, bh], dim=-1)
        if "iou" in out:  # IoU-aware: rank by heat^(1-a) iou^a, best first again
            iou = torch.sigmoid(_gather(out["iou"].detach().float(), pix)[..., 0])
            a = self.iou_score_power
            scores = torch.where(scores > 0, scores.clamp_min(1e-12) ** (1 - a) * iou**a, 0.0)  # non-peaks stay 0
            scores, order = scores.sort(dim=1, descending=True)
            boxes = boxes.gather(1, order[..., None].expand_as(boxes))
            labels = labels.gather(1, order)
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
