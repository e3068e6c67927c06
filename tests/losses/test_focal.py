"""Penalty-reduced focal loss (CornerNet Eq. 1): hand-computed 2x2 values, class masking, stability."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.focal import PenaltyReducedFocalLoss

LN3 = math.log(3.0)


def _case() -> tuple[torch.Tensor, torch.Tensor]:
    """One 2x2 map: a centre (y=1, p=0.5), a near-centre negative (y=0.5, p=0.5), two far negatives (p=0.75, 0.25)."""
    logits = torch.tensor([[[[0.0, 0.0], [LN3, -LN3]]]], dtype=torch.float64)
    target = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]], dtype=torch.float64)
    return logits, target


def test_focal_loss_hand_computed_2x2() -> None:
    logits, target = _case()
    pos = (1 - 0.5) ** 2 * math.log(0.5)  # (1 - p)^2 log p at the centre
    near = (1 - 0.5) ** 4 * 0.5**2 * math.log(0.5)  # (1 - y)^4 p^2 log(1 - p)
    far1 = 0.75**2 * math.log(0.25)
    far2 = 0.25**2 * math.log(0.75)
    expected = -(pos + near + far1 + far2) / 1  # one centre
    assert expected == pytest.approx(0.9818879, abs=1e-6)
    assert PenaltyReducedFocalLoss()(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_focal_loss_divides_by_the_number_of_centres_and_masks_classes() -> None:
    logits, target = _case()
    single = PenaltyReducedFocalLoss()(logits, target).item()
    two = PenaltyReducedFocalLoss()(logits.repeat(1, 2, 1, 1), target.repeat(1, 2, 1, 1))
    assert two.item() == pytest.approx(single)  # twice the terms over twice the centres
    masked = PenaltyReducedFocalLoss()(
        logits.repeat(1, 2, 1, 1), torch.cat([target, torch.ones_like(target)], 1), torch.tensor([[1.0, 0.0]])
    )
    assert masked.item() == pytest.approx(single)  # channel 1 (4 "centres") is ignored, terms and count


def test_focal_loss_without_centres_sums_the_negatives() -> None:
    logits = torch.tensor([[[[LN3]]]], dtype=torch.float64)
    loss = PenaltyReducedFocalLoss()(logits, torch.zeros_like(logits))
    assert loss.item() == pytest.approx(-(0.75**2) * math.log(0.25))  # N clamped to 1


def test_focal_loss_is_finite_for_saturated_logits_and_has_gradients() -> None:
    logits = torch.tensor([[[[60.0, -60.0], [60.0, -60.0]]]], requires_grad=True)
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    loss = PenaltyReducedFocalLoss()(logits, target)
    loss.backward()
    # the missed centre (-log p = 60) and the confident negative (-log(1 - p) = 60) over 2 centres
    assert torch.isfinite(loss) and loss.item() == pytest.approx(60.0, rel=1e-3)
    assert logits.grad is not None and torch.isfinite(logits.grad).all()


def test_focal_loss_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        PenaltyReducedFocalLoss()(torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2))
