"""Visibility loss: binary cross-entropy on the logits, averaged over labelled keypoints.

For the probability that a keypoint is visible (COCO ``v = 2``) rather than occluded (``v = 1``),
:mod:`landmarks.codecs.visibility`. With logit ``z``, target ``y`` in {0, 1} and weight ``w``
(1 labelled, 0 for ``v = 0``)::

    bce(z, y) = max(z, 0) - z * y + log(1 + exp(-|z|))          (= -y log s(z) - (1 - y) log(1 - s(z)))
    loss      = loss_weight * sum_{b,k} w_bk * bce(z_bk, y_bk) / max(sum_{b,k} w_bk, 1)

Unit: nats per labelled keypoint (``log 2 = 0.693`` for an undecided ``z = 0``). A batch without a
labelled keypoint gives 0 (and no gradient) rather than nan. ``pos_weight`` multiplies the
visible term (``-pos_weight * y log s(z)``), as in ``torch.nn.BCEWithLogitsLoss``, for data where
one class is rare. A sibling loss (e.g. focal) keeps ``forward(logits, target, target_weight)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["VisibilityBCELoss"]


class VisibilityBCELoss(nn.Module):
    """Masked binary cross-entropy with logits (module docstring).

    Args:
        pos_weight: weight of the visible (``y = 1``) term.
        loss_weight: factor on the result.
    """

    def __init__(self, pos_weight: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if pos_weight <= 0:
            raise ValueError(f"VisibilityBCELoss: pos_weight must be > 0, got {pos_weight}")
        self.pos_weight = float(pos_weight)
        self.loss_weight = float(loss_weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor) -> torch.Tensor:
        """Args: ``logits``, ``target`` (0 / 1) and ``target_weight`` (0 / 1), all ``(B, K)``. Returns a scalar."""
        if logits.shape != target.shape or logits.numel() != target_weight.numel():
            raise ValueError(
                f"VisibilityBCELoss: logits, target and target_weight must all be (B, K); got "
                f"{tuple(logits.shape)}, {tuple(target.shape)}, {tuple(target_weight.shape)}"
            )
        z = logits.float()
        weight = target_weight.reshape(z.shape).to(z.dtype)
        pos = None if self.pos_weight == 1.0 else z.new_tensor(self.pos_weight)
        per = F.binary_cross_entropy_with_logits(z, target.to(z.dtype), reduction="none", pos_weight=pos)
        return self.loss_weight * (per * weight).sum() / weight.sum().clamp_min(1.0)
