"""L1 / MSE coordinate losses: the shared reduction of :mod:`landmarks.losses.wing`, hand-computed."""

from __future__ import annotations

import torch

from landmarks.losses.coords import CoordinateL1Loss, CoordinateMSELoss
from landmarks.losses.wing import SoftWingLoss, WingLoss

PRED = torch.tensor([[[1.0, -2.0], [3.0, 0.0]], [[0.0, 0.0], [0.5, 0.5]]])  # (B=2, K=2, 2); target 0
WEIGHT = torch.tensor([[1.0, 0.0], [1.0, 1.0]])


def test_l1_and_mse_sum_over_keypoints_and_xy_and_average_over_the_batch() -> None:
    target = torch.zeros_like(PRED)
    # L1: sample 0 -> |1| + |-2| = 3 (keypoint 1 masked); sample 1 -> 0 + 0.5 + 0.5 = 1; mean 2; x loss_weight 1.5
    assert CoordinateL1Loss(loss_weight=1.5)(PRED, target, WEIGHT).item() == 3.0
    # MSE: sample 0 -> 1 + 4 = 5; sample 1 -> 0.25 + 0.25 = 0.5; mean 2.75
    assert CoordinateMSELoss()(PRED, target, WEIGHT).item() == 2.75


def test_loss_weight_is_kept_as_a_float_by_every_coordinate_loss() -> None:
    for loss in (CoordinateL1Loss(2), CoordinateMSELoss(2), WingLoss(loss_weight=2), SoftWingLoss(loss_weight=2)):
        assert isinstance(loss.loss_weight, float) and loss.loss_weight == 2.0
