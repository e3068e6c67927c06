"""Plain coordinate losses, L1 and MSE, as baselines beside Wing / Soft Wing.

Same inputs, unit and reduction as :mod:`landmarks.losses.wing` (they share its base class):
``(B, K, 2)`` coordinates in **input-crop px**, ``(B, K)`` keypoint weights (0 masks an
unlabelled keypoint), per-coordinate losses summed over keypoints and x/y, averaged over the
batch. So ``CoordinateL1Loss`` is the large-error limit of Wing (slope 1) and
``CoordinateMSELoss`` the DeepPose L2 objective (Toshev & Szegedy, CVPR 2014), in px^2.
"""

from __future__ import annotations

import torch

from landmarks.losses.wing import _CoordinateLoss

__all__ = ["CoordinateL1Loss", "CoordinateMSELoss"]


class CoordinateL1Loss(_CoordinateLoss):
    """``|x|`` per coordinate, px.

    Args:
        loss_weight: factor on the result.
    """

    def elementwise(self, abs_err: torch.Tensor) -> torch.Tensor:
        """``|x|``."""
        return abs_err


class CoordinateMSELoss(_CoordinateLoss):
    """``x^2`` per coordinate, px^2.

    Args:
        loss_weight: factor on the result.
    """

    def elementwise(self, abs_err: torch.Tensor) -> torch.Tensor:
        """``x^2``."""
        return abs_err.square()
