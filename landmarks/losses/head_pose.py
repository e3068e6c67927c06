"""Head-pose losses: Hopenet's binned multi-loss and 6DRepNet's geodesic loss.

* :class:`HopenetLoss` — Ruiz, Chong & Rehg, "Fine-Grained Head Pose Estimation Without
  Keypoints", CVPR-W 2018: for each of yaw, pitch, roll, cross-entropy over the angle bins
  plus ``alpha`` times the MSE (degrees^2) between the softmax expectation and the
  continuous angle; the three per-angle losses are summed (``train_hopenet.py`` back-props
  the three together). Bins and expectation come from
  :class:`landmarks.codecs.head_pose_bins.AngleBinCodec`, so loss and decoder cannot drift.
* :class:`GeodesicLoss` — Hempel, Abdelrahman & Al-Hamadi, "6D Rotation Representation
  for Unconstrained Head Pose Estimation" (6DRepNet), ICIP 2022: mean angle, in radians,
  of ``R_pred @ R_gt.T``, with the cosine clamped to ``[-1 + eps, 1 - eps]``.

On ``alpha``: ``train_hopenet.py`` defaults to ``--alpha 0.001``, but the released
300W-LP models that the README says are "for validating paper results" were trained with
alpha 1 and alpha 2 ("300W-LP, alpha 1", "300W-LP, alpha 2"). The default here is 1.0;
pass ``alpha=2.0`` or ``alpha=0.001`` to match the other two.

A sibling loss takes the head output and ``(B, 3)`` degrees (or ``(B, 3, 3)`` matrices)
plus optional ``(B,)`` weights and returns a scalar.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from landmarks.codecs.head_pose_bins import AngleBinCodec

__all__ = ["GeodesicLoss", "HopenetLoss"]


def _sample_weight(weight: torch.Tensor | None, batch: int, ncols: int, ref: torch.Tensor, name: str) -> torch.Tensor:
    """``(B, ncols)`` weights from ``None``, ``(B,)`` or ``(B, ncols)``."""
    if weight is None:
        return torch.ones(batch, ncols, dtype=ref.dtype, device=ref.device)
    w = weight.to(dtype=ref.dtype, device=ref.device)
    if w.shape == (batch,):
        return w[:, None].expand(batch, ncols)
    if w.shape == (batch, ncols):
        return w
    raise ValueError(f"{name}: weight must be (B,)=({batch},) or (B, {ncols}), got {tuple(weight.shape)}")


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted mean over dim 0; 0 (still attached to the graph) when all weights are 0."""
    total = weight.sum(dim=0)
    return (values * weight).sum(dim=0) / total.clamp_min(1e-12)


class HopenetLoss(nn.Module):
    """Hopenet multi-loss: ``sum_angles CE(bins) + alpha * MSE(expectation, angle)``.

    Args:
        alpha: weight of the regression term (degrees^2); see the module docstring.
        codec: the bin codec shared with the decoder; default ``AngleBinCodec()``
            (66 x 3 degree bins from -99, bin centres).
        loss_weight: factor on the result.
    """

    def __init__(self, alpha: float = 1.0, codec: AngleBinCodec | None = None, loss_weight: float = 1.0) -> None:
        super().__init__()
        if alpha < 0:
            raise ValueError(f"HopenetLoss: alpha must be >= 0, got {alpha}")
        self.alpha = float(alpha)
        self.codec = codec if codec is not None else AngleBinCodec()
        self.loss_weight = float(loss_weight)

    def forward(self, logits: torch.Tensor, angles: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits: ``(B, 3, num_bins)`` yaw, pitch, roll bin logits.
            angles: ``(B, 3)`` continuous yaw, pitch, roll, degrees. Angles outside the bin
                range (or not finite) are masked out of both terms, per angle.
            weight: ``(B,)`` or ``(B, 3)`` sample weights (0 = no pose label), optional.

        Returns:
            Scalar: per angle, the weighted mean over the batch of CE and of squared error,
            summed over the three angles, times ``loss_weight``.
        """
        b = logits.shape[0]
        if logits.ndim != 3 or logits.shape[1] != 3 or logits.shape[2] != self.codec.num_bins:
            raise ValueError(f"HopenetLoss: logits must be (B, 3, {self.codec.num_bins}), got {tuple(logits.shape)}")
        if angles.shape != (b, 3):
            raise ValueError(f"HopenetLoss: angles must be (B, 3)=({b}, 3) degrees, got {tuple(angles.shape)}")
        angles = angles.to(logits.dtype)
        bins = self.codec.encode_bins_torch(angles)
        w = _sample_weight(weight, b, 3, logits, "HopenetLoss") * (bins >= 0).to(logits.dtype)
        ce = F.cross_entropy(logits.reshape(b * 3, -1), bins.clamp_min(0).reshape(-1), reduction="none").reshape(b, 3)
        expected = self.codec.expectation(logits)
        target = torch.where(bins >= 0, angles, expected.detach())
        sq = (expected - target) ** 2
        per_angle = _weighted_mean(ce, w) + self.alpha * _weighted_mean(sq, w)
        return per_angle.sum() * self.loss_weight


class GeodesicLoss(nn.Module):
    """6DRepNet geodesic loss, radians.

    Args:
        eps: clamp margin on the cosine, keeps ``acos`` differentiable at 0 and 180 degrees.
        loss_weight: factor on the result.
    """

    def __init__(self, eps: float = 1e-7, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.eps = float(eps)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: ``(B, 3, 3)`` predicted rotation matrices.
            target: ``(B, 3, 3)`` target matrices (:func:`landmarks.geometry.euler_to_matrix`).
            weight: ``(B,)`` sample weights, optional.

        Returns:
            Scalar: weighted mean over the batch of ``acos((trace(pred @ target.T) - 1) / 2)``.
        """
        if pred.shape != target.shape or pred.ndim != 3 or tuple(pred.shape[1:]) != (3, 3):
            raise ValueError(
                f"GeodesicLoss: pred and target must both be (B, 3, 3), got {tuple(pred.shape)} "
                f"and {tuple(target.shape)}"
            )
        cos = ((pred * target.to(pred.dtype)).sum(dim=(1, 2)) - 1.0) / 2.0
        theta = torch.acos(cos.clamp(-1.0 + self.eps, 1.0 - self.eps))
        w = _sample_weight(weight, pred.shape[0], 1, pred, "GeodesicLoss")[:, 0]
        return _weighted_mean(theta, w) * self.loss_weight
