"""CenterNet detection head: centre heatmaps, box sizes and sub-pixel offsets at one stride.

Zhou, Wang & Krähenbühl, "Objects as Points", 2019: three small branches (3x3 conv, ReLU, 1x1
conv) on one feature map at output stride 4 predict ``C`` centre heatmaps (logits), the box
size ``(w, h)`` and the offset lost by the stride (both heatmap px). The heatmap bias starts at
``-log((1 - pi) / pi)`` with ``pi = 0.1`` (the focal-loss prior of RetinaNet, as CenterNet does),
so the first steps are not swamped by the easy negatives.

Box edges as distributions (``edge_bins`` n > 0; Generalized Focal Loss, Li et al., NeurIPS 2020,
:mod:`landmarks.losses.dfl`): the size branch predicts, for each cell, the distances from the cell's
centre ``q + 0.5`` to the left, top, right and bottom edges as distributions over ``0 .. n - 1``
heatmap px (``edges (B, 4, n, h, w)`` logits); their means ``l, t, r, b`` give the same outputs as
the plain head, ``size = (l + r, t + b)`` and ``offset = ((r - l) / 2 + 0.5, (b - t) / 2 + 0.5)``, so
the codec's decode and the flip test are unchanged (no offset branch is built).

The shared feature map comes from the light top-down pathway of
:class:`landmarks.heads.heatmap.LightHeatmapHead` (FPN-style laterals down to ``output_stride``),
which reuses the backbone's higher-resolution stages. A sibling (e.g. a deconvolution trunk as in
the paper's ResNet variant) keeps the constructor contract of :mod:`landmarks.heads` and the
output dict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from landmarks.heads.heatmap import LightHeatmapHead
from landmarks.losses.dfl import integral

__all__ = ["CenterNetHead", "box_from_edges", "edge_distances"]


def _branch(channels: int, head_channels: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, head_channels, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(head_channels, out, 1)
    )


class CenterNetHead(nn.Module):
    """Heatmap, size and offset branches on a light FPN pathway.

    Args:
        in_channels: channels of each backbone stage.
        in_strides: stride of each stage.
        num_classes: ``C``, heatmap channels.
        channels: width of the pathway.
        head_channels: width of each branch's 3x3 conv.
        output_stride: stride of the outputs (one of ``in_strides``; the codec's ``stride``).
        prior: initial centre probability of the heatmap bias.
        iou_branch: also predict ``iou (B, 1, h, w)`` logits, the IoU of each cell's box with its object
            (IoU-aware scoring, :mod:`tasks.detect`): one more output channel of the size branch, nearly free.
        size_channels: width of the size branch's 3x3 conv (default ``head_channels``): box widths, set by
            the outermost limbs, were the weak part of the synthetic person boxes (docs/benchmarks.md).
        edge_bins: ``n`` of the edge distributions (module docstring); 0: size and offset regressed directly.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_classes: int,
        channels: int = 64,
        head_channels: int = 64,
        output_stride: int = 4,
        prior: float = 0.1,
        iou_branch: bool = False,
        size_channels: int | None = None,
        edge_bins: int = 0,
    ) -> None:
        super().__init__()
        self.trunk = LightHeatmapHead(in_channels, in_strides, 1, channels=channels, output_stride=output_stride)
        self.trunk.final = nn.Sequential()  # empty: only the trunk's pathway is used
        self.stride = output_stride
        self.heatmap = _branch(channels, head_channels, num_classes)
        self.iou_branch = bool(iou_branch)
        if edge_bins == 1 or edge_bins < 0:
            raise ValueError(f"CenterNetHead: edge_bins must be 0 (off) or at least 2, got {edge_bins}")
        self.edge_bins = int(edge_bins)
        box_outputs = 4 * self.edge_bins if self.edge_bins else 2
        self.size = _branch(channels, size_channels or head_channels, box_outputs + int(self.iou_branch))
        self.offset = None if self.edge_bins else _branch(channels, head_channels, 2)
        last = self.heatmap[-1]
        assert isinstance(last, nn.Conv2d) and last.bias is not None
        nn.init.constant_(last.bias, -math.log((1 - prior) / prior))

    def forward(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Args: backbone features.

        Returns:
            ``heatmap (B, C, h, w)`` logits, ``size (B, 2, h, w)`` and ``offset (B, 2, h, w)`` heatmap px,
            ``h, w`` = input / ``output_stride``; with ``iou_branch`` also ``iou (B, 1, h, w)`` logits; with
            ``edge_bins`` also ``edges (B, 4, n, h, w)`` logits (size and offset are then their means).
        """
        x = self.trunk.pathway(features)
        box = self.size(x)
        out = {"heatmap": self.heatmap(x)}
        if self.offset is None:
            b, _, h, w = box.shape
            out["edges"] = box[:, : 4 * self.edge_bins].reshape(b, 4, self.edge_bins, h, w)
            out.update(box_from_edges(out["edges"]))
        else:
            out["size"], out["offset"] = box[:, :2], self.offset(x)
        if self.iou_branch:
            out["iou"] = box[:, -1:]
        return out


def box_from_edges(edges: torch.Tensor) -> dict[str, torch.Tensor]:
    """``edges (B, 4, n, h, w)`` logits (left, top, right, bottom from the cell centre) -> the plain head's
    ``size`` and ``offset`` ``(B, 2, h, w)`` heatmap px (module docstring), float32."""
    left, top, right, bottom = integral(edges, dim=2).unbind(1)
    return {
        "size": torch.stack([left + right, top + bottom], dim=1),
        "offset": torch.stack([(right - left) / 2 + 0.5, (bottom - top) / 2 + 0.5], dim=1),
    }


def edge_distances(size: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`box_from_edges`: ``size``, ``offset`` ``(B, 2, h, w)`` -> ``(B, 4, h, w)`` distances
    left, top, right, bottom from each cell centre, heatmap px (``l = w / 2 - offset_x + 0.5``, ``r = w / 2 + offset_x - 0.5``)."""
    half = size.float() / 2
    offset = offset.float()
    return torch.cat([half - offset + 0.5, half + offset - 0.5], dim=1)
