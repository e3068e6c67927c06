"""Wing-family landmark losses: Wing, Soft Wing (coordinates) and Adaptive Wing (heatmaps).

* :class:`WingLoss` — Feng et al., "Wing Loss for Robust Facial Landmark Localisation with
  Convolutional Neural Networks", CVPR 2018: ``w ln(1 + |x| / e)`` for ``|x| < w``, else
  ``|x| - C`` with ``C = w - w ln(1 + w / e)``; ``w = 10, e = 2``.
* :class:`SoftWingLoss` — Lin et al., "Structure-Coherent Deep Feature Learning for Robust
  Face Alignment", IEEE TIP 2021, with mmpose's ``SoftWingLoss`` constants: ``|x|`` for
  ``|x| < thres1``, else ``thres2 ln(1 + |x| / gamma) + B`` with
  ``B = thres1 - thres2 ln(1 + thres1 / gamma)``; ``thres1 = 2, thres2 = 20, gamma = 0.5``.
* :class:`AdaptiveWingLoss` — Wang et al., "Adaptive Wing Loss for Robust Face Alignment via
  Heatmap Regression", ICCV 2019: ``omega ln(1 + |d / eps|^(alpha - y))`` for ``|d| < theta``,
  else ``A |d| - C``, with ``A, C`` making value and slope continuous at ``theta``;
  ``alpha = 2.1, omega = 14, eps = 1, theta = 0.5``, and the paper's weighted loss map.

Units. Wing and Soft Wing thresholds are in the unit of the coordinates: **pixels of the
network input crop** here (the Wing paper's setting). Coordinates normalised to [0, 1] (as
mmpose 1.x regression feeds them) put every error inside the first piece (Soft Wing becomes
plain L1, Wing nearly ``5 |x|``). Adaptive Wing works on heatmap values (targets peak at 1).

Reduction. Coordinates: per-coordinate losses times the per-keypoint weight, summed over
keypoints and x/y, averaged over the batch (Feng et al.; mmpose). Heatmaps: averaged over
all ``B * K * H * W`` entries (as :class:`landmarks.losses.heatmap.KeypointMSELoss`).
A weight multiplies the loss (mmpose instead multiplies pred and target, the same for 0/1
weights). A sibling coordinate loss subclasses :class:`_CoordinateLoss` (passing ``loss_weight``
to its constructor) and defines ``elementwise``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["AdaptiveWingLoss", "SoftWingLoss", "WingLoss"]


def _keypoint_weight(weight: torch.Tensor | None, shape: tuple[int, int], name: str) -> torch.Tensor | None:
    if weight is None:
        return None
    if weight.numel() != shape[0] * shape[1]:
        raise ValueError(f"{name}: target_weight must be (B, K)={shape}, got {tuple(weight.shape)}")
    return weight.reshape(shape)


class _CoordinateLoss(nn.Module):
    """Shared checks and reduction for ``(B, K, 2)`` coordinate losses.

    Args:
        loss_weight: factor on the result.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)

    def elementwise(self, abs_err: torch.Tensor) -> torch.Tensor:
        """Loss of each absolute coordinate error ``|x|`` (any shape)."""
        raise NotImplementedError

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: ``(B, K, 2)`` predicted coordinates, input-crop px.
            target: ``(B, K, 2)`` target coordinates, input-crop px.
            target_weight: ``(B, K)`` per-keypoint weights (0 masks an unlabelled keypoint).

        Returns:
            Scalar: ``loss_weight * sum_{k, xy} w_bk * f(|pred - target|)``, averaged over B.
        """
        name = type(self).__name__
        if pred.shape != target.shape or pred.ndim != 3 or pred.shape[-1] != 2:
            raise ValueError(
                f"{name}: pred and target must both be (B, K, 2), got {tuple(pred.shape)} and {tuple(target.shape)}"
            )
        per = self.elementwise((pred - target).abs())
        w = _keypoint_weight(target_weight, (pred.shape[0], pred.shape[1]), name)
        if w is not None:
            per = per * w.to(per.dtype)[..., None]
        return per.sum(dim=(1, 2)).mean() * self.loss_weight


class WingLoss(_CoordinateLoss):
    """Wing loss (Feng et al., CVPR 2018); errors in input-crop px.

    Args:
        omega: width ``w`` of the logarithmic part, px.
        epsilon: curvature ``e`` of the logarithmic part, px.
        loss_weight: factor on the result.
    """

    def __init__(self, omega: float = 10.0, epsilon: float = 2.0, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if omega <= 0 or epsilon <= 0:
            raise ValueError(f"WingLoss: omega ({omega}) and epsilon ({epsilon}) must be > 0")
        self.omega, self.epsilon = float(omega), float(epsilon)
        self.C = self.omega - self.omega * math.log(1.0 + self.omega / self.epsilon)

    def elementwise(self, abs_err: torch.Tensor) -> torch.Tensor:
        """``w ln(1 + |x| / e)`` below ``w``, ``|x| - C`` above."""
        return torch.where(abs_err < self.omega, self.omega * torch.log1p(abs_err / self.epsilon), abs_err - self.C)


class SoftWingLoss(_CoordinateLoss):
    """Soft Wing loss (Lin et al., TIP 2021); errors in input-crop px.

    Continuous in value at ``thres1``; the slope steps from 1 to ``thres2 / (gamma + thres1)``
    (8 with the defaults), which is how the loss stresses medium-sized errors.

    Args:
        thres1: end of the linear part, px.
        thres2: scale of the logarithmic part.
        gamma: curvature of the logarithmic part, px (mmpose's ``epsilon``).
        loss_weight: factor on the result.
    """

    def __init__(self, thres1: float = 2.0, thres2: float = 20.0, gamma: float = 0.5, loss_weight: float = 1.0) -> None:
        super().__init__(loss_weight)
        if thres1 <= 0 or thres2 <= 0 or gamma <= 0:
            raise ValueError(f"SoftWingLoss: thres1 ({thres1}), thres2 ({thres2}), gamma ({gamma}) must be > 0")
        self.thres1, self.thres2, self.gamma = float(thres1), float(thres2), float(gamma)
        self.B = self.thres1 - self.thres2 * math.log(1.0 + self.thres1 / self.gamma)

    def elementwise(self, abs_err: torch.Tensor) -> torch.Tensor:
        """``|x|`` below ``thres1``, ``thres2 ln(1 + |x| / gamma) + B`` above."""
        return torch.where(abs_err < self.thres1, abs_err, self.thres2 * torch.log1p(abs_err / self.gamma) + self.B)


class AdaptiveWingLoss(nn.Module):
    """Adaptive Wing loss on heatmaps (Wang et al., ICCV 2019).

    With ``d = pred - y`` and ``p = alpha - y``: ``omega ln(1 + (|d| / eps)^p)`` for
    ``|d| < theta``, else ``A |d| - C`` where
    ``A = omega p (theta/eps)^(p-1) / (eps (1 + (theta/eps)^p))`` and
    ``C = theta A - omega ln(1 + (theta/eps)^p)``. The weighted loss map of the paper
    multiplies it by ``weight_map_scale * M + 1``, ``M = 1`` where the target grey-dilated
    by a 3x3 window exceeds ``weight_map_threshold`` (the official code uses
    ``scipy.ndimage.grey_dilation``; a 3x3 max-pool is the same operation).

    Args:
        alpha: exponent offset (> 1 so the slope at ``d = 0`` is finite).
        omega: scale.
        epsilon: curvature.
        theta: switch point between the non-linear and linear parts (heatmap units).
        use_weight_map: apply the weighted loss map.
        weight_map_scale: ``W``, the extra weight around the peaks.
        weight_map_threshold: dilated-target threshold of the map.
        loss_weight: factor on the result.
    """

    def __init__(
        self,
        alpha: float = 2.1,
        omega: float = 14.0,
        epsilon: float = 1.0,
        theta: float = 0.5,
        use_weight_map: bool = True,
        weight_map_scale: float = 10.0,
        weight_map_threshold: float = 0.2,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if alpha <= 1.0 or omega <= 0 or epsilon <= 0 or theta <= 0:
            raise ValueError(
                f"AdaptiveWingLoss: need alpha > 1 and omega, epsilon, theta > 0, got alpha={alpha}, "
                f"omega={omega}, epsilon={epsilon}, theta={theta}"
            )
        self.alpha, self.omega, self.epsilon, self.theta = float(alpha), float(omega), float(epsilon), float(theta)
        self.use_weight_map = bool(use_weight_map)
        self.weight_map_scale, self.weight_map_threshold = float(weight_map_scale), float(weight_map_threshold)
        self.loss_weight = float(loss_weight)

    def elementwise(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Per-pixel loss (no weights), same shape as the inputs."""
        delta = (pred - target).abs()
        power = self.alpha - target
        ratio = self.theta / self.epsilon
        a = self.omega * power * ratio ** (power - 1.0) / (self.epsilon * (1.0 + ratio**power))
        c = self.theta * a - self.omega * torch.log1p(ratio**power)
        # pow(0, p) has an unbounded derivative when p < 1: evaluate it on a safe base, value 0 at d = 0.
        nonzero = delta > 0
        base = torch.where(nonzero, delta / self.epsilon, torch.ones_like(delta))
        small = torch.where(nonzero, self.omega * torch.log1p(base**power), torch.zeros_like(delta))
        return torch.where(delta < self.theta, small, a * delta - c)

    def weight_map(self, target: torch.Tensor) -> torch.Tensor:
        """``W * M + 1`` with ``M = [dilate3x3(target) > threshold]``, ``(B, K, H, W)``."""
        dilated = F.max_pool2d(target, kernel_size=3, stride=1, padding=1)
        return self.weight_map_scale * (dilated > self.weight_map_threshold).to(target.dtype) + 1.0

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred: ``(B, K, H, W)`` predicted heatmaps.
            target: ``(B, K, H, W)`` target heatmaps in [0, 1].
            target_weight: ``(B, K)`` per-keypoint weights (0 masks a keypoint).

        Returns:
            Scalar: ``loss_weight * mean_{b,k,y,x} w_bk * map * loss``.
        """
        if pred.shape != target.shape or pred.ndim != 4:
            raise ValueError(
                f"AdaptiveWingLoss: pred and target must both be (B, K, H, W), got {tuple(pred.shape)} "
                f"and {tuple(target.shape)}"
            )
        per = self.elementwise(pred, target)
        if self.use_weight_map:
            per = per * self.weight_map(target)
        w = _keypoint_weight(target_weight, (pred.shape[0], pred.shape[1]), "AdaptiveWingLoss")
        if w is not None:
            per = per * w.to(per.dtype)[..., None, None]
        return per.mean() * self.loss_weight
