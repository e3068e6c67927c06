"""Generalized IoU loss on axis-aligned boxes (Rezatofighi et al., CVPR 2019).

Rezatofighi, Tsoi, Gwak, Sadeghian, Reid & Savarese, "Generalized Intersection over Union: A
Metric and a Loss for Bounding Box Regression", CVPR 2019 (Algorithm 1). For a predicted box
``A`` and a target box ``B`` with intersection ``I``, union ``U = |A| + |B| - I`` and ``C`` the
smallest box enclosing both:

    GIoU = I / U - (|C| - U) / |C|,        loss = 1 - GIoU   in [0, 2]

The loss is 0 only for identical boxes, stays informative when the boxes do not overlap (the
``C`` term), and is invariant to the boxes' scale: a 10 % error in width costs a small and a large
box alike, which an L1 on sizes in pixels does not. TTFNet (Liu et al., AAAI 2020) uses it on the
boxes decoded at every positive cell of a CenterNet-style head (:mod:`tasks.detect`).

Boxes are corners ``x0, y0, x1, y1`` in any one unit (the loss has none: it is a ratio). A
predicted box with ``x1 < x0`` or ``y1 < y0`` has area 0 (its width is clamped at 0), so it is
penalised, not scored as a negative area; the target boxes must have positive area.

Reduction: ``sum(weight * loss) / sum(weight)`` (the weighted mean; 0 when the weights sum to 0).
A sibling (DIoU / CIoU, Zheng et al., AAAI 2020) keeps the signature ``(pred, target, weight)``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GIoULoss", "generalized_iou", "matched_iou"]


def _check(pred: torch.Tensor, target: torch.Tensor, name: str) -> None:
    if pred.shape != target.shape or pred.shape[-1] != 4:
        raise ValueError(f"{name}: pred {tuple(pred.shape)} and target {tuple(target.shape)} must be (..., 4)")


def _intersection_union(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pw = (pred[..., 2] - pred[..., 0]).clamp_min(0)
    ph = (pred[..., 3] - pred[..., 1]).clamp_min(0)
    tw = target[..., 2] - target[..., 0]
    th = target[..., 3] - target[..., 1]
    iw = (torch.minimum(pred[..., 2], target[..., 2]) - torch.maximum(pred[..., 0], target[..., 0])).clamp_min(0)
    ih = (torch.minimum(pred[..., 3], target[..., 3]) - torch.maximum(pred[..., 1], target[..., 1])).clamp_min(0)
    inter = iw * ih
    return inter, pw * ph + tw * th - inter


def matched_iou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """IoU of matching boxes: ``pred``, ``target`` ``(..., 4)`` corners -> ``(...)`` in ``[0, 1]``."""
    _check(pred, target, "matched_iou")
    inter, union = _intersection_union(pred, target)
    return inter / (union + eps)


def generalized_iou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """GIoU of matching boxes.

    Args:
        pred: ``(..., 4)`` corners ``x0, y0, x1, y1``.
        target: ``(..., 4)`` corners, same shape, positive area.
        eps: guards the divisions.

    Returns:
        ``(...)`` GIoU in ``[-1, 1]``.
    """
    _check(pred, target, "generalized_iou")
    inter, union = _intersection_union(pred, target)
    cw = torch.maximum(pred[..., 2], target[..., 2]) - torch.minimum(pred[..., 0], target[..., 0])
    ch = torch.maximum(pred[..., 3], target[..., 3]) - torch.minimum(pred[..., 1], target[..., 1])
    enclose = cw.clamp_min(0) * ch.clamp_min(0)
    return inter / (union + eps) - (enclose - union) / (enclose + eps)


class GIoULoss(nn.Module):
    """``1 - GIoU`` (module docstring), the weighted mean over boxes; dimensionless."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The loss.

        Args:
            pred: ``(..., 4)`` predicted corners ``x0, y0, x1, y1``.
            target: ``(..., 4)`` target corners.
            weight: ``(...)`` per-box weight (default: 1 each); boxes of weight 0 may be anything.

        Returns:
            Scalar ``sum(weight * (1 - GIoU)) / sum(weight)``.
        """
        w = torch.ones(pred.shape[:-1], device=pred.device) if weight is None else weight.float()
        if w.shape != pred.shape[:-1]:
            raise ValueError(f"GIoULoss: weight {tuple(w.shape)} must be the boxes' {tuple(pred.shape[:-1])}")
        keep = w > 0  # unweighted cells may hold zero-size targets: left out, not multiplied by a NaN
        loss = 1.0 - generalized_iou(pred.float()[keep], target.float()[keep])
        return (loss * w[keep]).sum() / w.sum().clamp_min(1e-12)
