"""KL divergence between SimCC target distributions and predicted bin distributions.

SimCC (Li et al., ECCV 2022) trains its two 1-D classifiers with the KL divergence to
Gaussian-smoothed labels; RTMPose (Jiang et al., arXiv 2023) sharpens the labels with a softmax
of temperature ``1 / label_beta`` over the Gaussian (peak 1) target.

Per keypoint ``k`` and axis ``a`` (``x`` or ``y``), with ``g`` the codec's target row
(:class:`landmarks.codecs.simcc.SimCCCodec`) and ``z`` the head's logits over the same bins:

* target ``p = softmax(label_beta * g)`` (``label_softmax=True``) or ``p = g / sum(g)``;
* prediction ``q = softmax(z)``;
* ``KL(p || q) = sum_i p_i (log p_i - log q_i)``, nats.

Reduction: ``loss_weight * sum_{b,k} w_bk (KL_x + KL_y) / (2 max(1, sum_{b,k} w_bk))``: the mean KL
per labelled keypoint and axis (``w`` the visibility weight; 0 masks an unlabelled keypoint).
A sibling loss on the same logits keeps the ``(pred_x, pred_y, target_x, target_y, weight)`` call.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["SimCCKLLoss"]


class SimCCKLLoss(nn.Module):
    """Visibility-weighted KL divergence of the x and y bin distributions (module docstring).

    Args:
        label_beta: inverse temperature of the label softmax (RTMPose: 10).
        label_softmax: sharpen the labels with ``softmax(label_beta * g)``; ``False``: ``g / sum g``.
        loss_weight: factor on the result.
    """

    def __init__(self, label_beta: float = 10.0, label_softmax: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        if label_softmax and not label_beta > 0:
            raise ValueError(f"SimCCKLLoss: label_beta must be > 0, got {label_beta}")
        self.label_beta = float(label_beta)
        self.label_softmax = bool(label_softmax)
        self.loss_weight = float(loss_weight)

    def label_distribution(self, target: torch.Tensor) -> torch.Tensor:
        """``(B, K, L)`` Gaussian rows -> the target distribution ``p`` (rows sum to 1; a zero row stays 0)."""
        if self.label_softmax:
            return torch.softmax(self.label_beta * target, dim=-1)
        return target / target.sum(dim=-1, keepdim=True).clamp_min(1e-12)

    def kl(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` ``KL(p || softmax(logits))`` of one axis, nats."""
        if logits.shape != target.shape or logits.ndim != 3:
            raise ValueError(
                f"SimCCKLLoss: logits and target must both be (B, K, L), got {tuple(logits.shape)} and "
                f"{tuple(target.shape)}"
            )
        p = self.label_distribution(target.to(logits.dtype))
        log_q = torch.log_softmax(logits, dim=-1)
        log_p = torch.log(p.clamp_min(1e-30))
        return (p * (log_p - log_q)).sum(dim=-1)

    def forward(
        self,
        pred_x: torch.Tensor,
        pred_y: torch.Tensor,
        target_x: torch.Tensor,
        target_y: torch.Tensor,
        target_weight: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scalar mean KL per labelled keypoint and axis, nats (module docstring).

        Args:
            pred_x: ``(B, K, Lx)`` logits.
            pred_y: ``(B, K, Ly)`` logits.
            target_x: ``(B, K, Lx)`` codec targets.
            target_y: ``(B, K, Ly)`` codec targets.
            target_weight: ``(B, K)``.
        """
        per = self.kl(pred_x, target_x) + self.kl(pred_y, target_y)  # (B, K)
        if target_weight is None:
            w = torch.ones_like(per)
        else:
            if target_weight.numel() != per.numel():
                raise ValueError(
                    f"SimCCKLLoss: target_weight must be (B, K)={tuple(per.shape)}, got {tuple(target_weight.shape)}"
                )
            w = target_weight.reshape(per.shape).to(per.dtype)
        return (per * w).sum() / (2.0 * w.sum().clamp_min(1.0)) * self.loss_weight
