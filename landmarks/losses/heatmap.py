"""Heatmap regression losses: visibility-weighted MSE and online hard keypoint mining.

* :class:`KeypointMSELoss` — the heatmap L2 loss of SimpleBaseline (Xiao et al., ECCV
  2018; ``JointsMSELoss``), with per-keypoint target weights masking unlabelled joints.
* :class:`OHKMMSELoss` — online hard keypoint mining from the Cascaded Pyramid Network
  (Chen et al., "Cascaded Pyramid Network for Multi-Person Pose Estimation", CVPR 2018):
  only the ``topk`` hardest keypoints of each sample contribute.

Units: heatmap values are unitless (targets peak at 1), so the losses are mean squared
heatmap values. A sibling loss (e.g. AWing for heatmaps) follows the same
``forward(pred, target, target_weight) -> scalar`` signature.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["KeypointMSELoss", "OHKMMSELoss"]


def _per_keypoint_mse(
    pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None, use_target_weight: bool
) -> torch.Tensor:
    """``(B, K)`` mean over ``h, w`` of ``w_bk^2 (pred - target)^2``."""
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(
            f"heatmap loss: pred and target must both be (B, K, h, w), got {tuple(pred.shape)} "
            f"and {tuple(target.shape)}"
        )
    b, k = pred.shape[:2]
    per_kpt = (pred - target).pow(2).mean(dim=(2, 3))
    if use_target_weight:
        if target_weight is None:
            raise ValueError("heatmap loss: use_target_weight=True but target_weight is None (expected (B, K))")
        if target_weight.numel() != b * k:
            raise ValueError(f"heatmap loss: target_weight must be (B, K)=({b}, {k}), got {tuple(target_weight.shape)}")
        per_kpt = per_kpt * target_weight.reshape(b, k).to(per_kpt.dtype).pow(2)
    return per_kpt


class _HeatmapMSELoss(nn.Module):
    """Shared arguments, checks and per-keypoint error of the heatmap MSE losses.

    ``l_bk = mean_{y,x} (w_bk * (pred - target))^2`` (:func:`_per_keypoint_mse`); a subclass
    turns the ``(B, K)`` values into the scalar loss in :meth:`reduce`.

    Args:
        use_target_weight: apply ``target_weight``; otherwise a plain MSE.
        loss_weight: factor on the result.
    """

    def __init__(self, use_target_weight: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def reduce(self, per_kpt: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` per-keypoint errors -> scalar loss (without ``loss_weight``)."""
        raise NotImplementedError

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: ``(B, K, h, w)`` predicted heatmaps.
            target: ``(B, K, h, w)`` target heatmaps.
            target_weight: ``(B, K)`` per-keypoint weights (0 masks a keypoint).

        Returns:
            Scalar tensor.
        """
        per_kpt = _per_keypoint_mse(pred, target, target_weight, self.use_target_weight)
        return self.reduce(per_kpt) * self.loss_weight


class KeypointMSELoss(_HeatmapMSELoss):
    """Visibility-weighted heatmap MSE.

    ``loss = loss_weight * mean_{b,k,y,x} (w_bk * (pred - target))^2``: the weight
    multiplies both maps before the squared error, so it enters squared (with 0/1 weights
    this is the same as masking). The mean runs over all ``B * K * h * w`` entries,
    including masked keypoints, exactly as ``JointsMSELoss`` normalises. (The
    SimpleBaseline code also multiplies by 0.5; use ``loss_weight=0.5`` to reproduce its
    numbers.)

    Args:
        use_target_weight: apply ``target_weight``; otherwise a plain MSE.
        loss_weight: factor on the result.
    """

    def reduce(self, per_kpt: torch.Tensor) -> torch.Tensor:
        """Mean over samples and keypoints (every ``l_bk`` is a mean over the same ``h * w``)."""
        return per_kpt.mean()


class OHKMMSELoss(_HeatmapMSELoss):
    """Online hard keypoint mining on the weighted heatmap MSE.

    With ``l_bk = mean_{y,x} (w_bk * (pred - target))^2``,
    ``loss = loss_weight * mean_b (mean of the topk largest l_bk over k)``.

    Args:
        topk: number of hardest keypoints kept per sample (``1 <= topk <= K``).
        use_target_weight: apply ``target_weight``.
        loss_weight: factor on the result.
    """

    def __init__(self, topk: int = 8, use_target_weight: bool = True, loss_weight: float = 1.0) -> None:
        super().__init__(use_target_weight, loss_weight)
        if topk < 1:
            raise ValueError(f"OHKMMSELoss: topk must be >= 1, got {topk}")
        self.topk = int(topk)

    def reduce(self, per_kpt: torch.Tensor) -> torch.Tensor:
        """Per sample the mean of its ``topk`` largest ``l_bk``, then the mean over samples."""
        if self.topk > per_kpt.shape[1]:
            raise ValueError(f"OHKMMSELoss: topk={self.topk} exceeds the number of keypoints K={per_kpt.shape[1]}")
        hardest, _ = per_kpt.topk(self.topk, dim=1)
        return hardest.mean(dim=1).mean()
