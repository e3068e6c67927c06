"""Penalty-reduced pixel-wise focal loss on centre heatmaps (CornerNet / CenterNet).

Law & Deng, "CornerNet: Detecting Objects as Paired Keypoints", ECCV 2018 (Eq. 1), used unchanged
by Zhou, Wang & Krähenbühl, "Objects as Points", 2019 (Eq. 1). With ``p`` the predicted
probability of a heatmap cell and ``y`` its Gaussian-splatted target (exactly 1 at object centres):

    L = -1/N * sum_cells { (1 - p)^alpha * log(p)                      if y == 1
                         { (1 - y)^beta * p^alpha * log(1 - p)         otherwise

``N`` is the number of cells with ``y == 1`` (the objects), at least 1. The ``(1 - y)^beta``
factor reduces the penalty for negatives near a centre. Unit: dimensionless (nats per object).

Computed from logits (``log p = logsigmoid(x)``, ``log(1 - p) = logsigmoid(-x)``), so it stays
finite where ``sigmoid`` saturates. An optional weight ``(B, C)`` masks whole class channels of a
sample: a source that does not label a class (a frame of people says nothing about hands in it)
contributes no term for that class, and its centres do not count in ``N``.

A sibling (e.g. the quality focal loss of GFL) keeps the signature ``(logits, target, weight)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PenaltyReducedFocalLoss"]


class PenaltyReducedFocalLoss(nn.Module):
    """The CornerNet/CenterNet heatmap focal loss (module docstring), a scalar per batch.

    Args:
        alpha: focusing exponent on ``p`` (2 in both papers).
        beta: penalty-reduction exponent on ``1 - y`` (4 in both papers).
        pos_thr: a target value at or above this counts as a centre (1 - 1e-4: exact ones).
    """

    def __init__(self, alpha: float = 2.0, beta: float = 4.0, pos_thr: float = 1.0 - 1e-4) -> None:
        super().__init__()
        if alpha < 0 or beta < 0:
            raise ValueError(f"PenaltyReducedFocalLoss: alpha and beta must be >= 0, got {alpha}, {beta}")
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.pos_thr = float(pos_thr)

    def forward(self, logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The loss.

        Args:
            logits: ``(B, C, H, W)`` heatmap logits.
            target: ``(B, C, H, W)`` in ``[0, 1]``, exactly 1 at centres.
            weight: ``(B, C)`` 1 for the classes a sample labels, 0 to ignore a channel (default: all 1).

        Returns:
            Scalar: the summed terms over the number of (weighted) centres, at least 1.
        """
        if logits.shape != target.shape or logits.dim() != 4:
            raise ValueError(
                f"PenaltyReducedFocalLoss: logits {tuple(logits.shape)} and target {tuple(target.shape)} "
                "must both be (B, C, H, W)"
            )
        x = logits.float()
        y = target.float()
        w = torch.ones(x.shape[:2], device=x.device) if weight is None else weight.float().reshape(x.shape[:2])
        w = w[:, :, None, None]
        p = torch.sigmoid(x)
        pos = (y >= self.pos_thr).float() * w
        neg = (1.0 - (y >= self.pos_thr).float()) * w
        pos_term = (1 - p).pow(self.alpha) * F.logsigmoid(x) * pos
        neg_term = (1 - y).pow(self.beta) * p.pow(self.alpha) * F.logsigmoid(-x) * neg
        return -(pos_term.sum() + neg_term.sum()) / pos.sum().clamp_min(1.0)
