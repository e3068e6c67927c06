"""Visibility BCE: hand-computed values, masking of unlabelled keypoints, pos_weight, shape errors."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.visibility import VisibilityBCELoss

# bce(z, y) = max(z, 0) - z y + log(1 + e^-|z|)
LOGITS = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0]])
TARGET = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
WEIGHT = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])  # (0, 2) and (1, 1) are v = 0: masked
# the four labelled terms:
#   z = 2,    y = 1: log(1 + e^-2)               = 0.126928011
#   z = -1,   y = 0: log(1 + e^-1)               = 0.313261688
#   z = 0.5,  y = 0: 0.5 + log(1 + e^-0.5)       = 0.974076984
#   z = -2,   y = 0: log(1 + e^-2)               = 0.126928011
# mean over the 4 labelled keypoints: 1.541194694 / 4 = 0.385298673
EXPECTED = 0.385298673


def test_masked_mean_equals_the_hand_computation() -> None:
    loss = VisibilityBCELoss()(LOGITS, TARGET, WEIGHT)
    assert float(loss) == pytest.approx(EXPECTED, abs=1e-7)


def test_masked_keypoints_do_not_matter() -> None:
    changed = LOGITS.clone()
    changed[0, 2], changed[1, 1] = -50.0, -50.0  # wrong and confident, but unlabelled
    assert float(VisibilityBCELoss()(changed, TARGET, WEIGHT)) == pytest.approx(EXPECTED, abs=1e-7)


def test_pos_weight_and_loss_weight() -> None:
    # pos_weight 3 triples the one visible term: (3 * 0.126928011 + 0.313261688 + 0.974076984 + 0.126928011) / 4
    expected = (3 * 0.126928011 + 0.313261688 + 0.974076984 + 0.126928011) / 4
    assert float(VisibilityBCELoss(pos_weight=3.0)(LOGITS, TARGET, WEIGHT)) == pytest.approx(expected, abs=1e-7)
    assert float(VisibilityBCELoss(loss_weight=0.5)(LOGITS, TARGET, WEIGHT)) == pytest.approx(EXPECTED / 2, abs=1e-7)


def test_undecided_logit_costs_log_2_and_no_label_costs_nothing() -> None:
    zeros = torch.zeros(2, 3, requires_grad=True)
    assert float(VisibilityBCELoss()(zeros, TARGET, torch.ones(2, 3))) == pytest.approx(math.log(2), abs=1e-7)
    loss = VisibilityBCELoss()(zeros, TARGET, torch.zeros(2, 3))
    loss.backward()
    assert float(loss) == 0.0 and zeros.grad is not None and float(zeros.grad.abs().sum()) == 0.0


def test_shape_mismatch_is_named() -> None:
    with pytest.raises(ValueError, match=r"must all be \(B, K\)"):
        VisibilityBCELoss()(LOGITS, TARGET[:, :2], WEIGHT)
    with pytest.raises(ValueError, match="pos_weight"):
        VisibilityBCELoss(pos_weight=0.0)
