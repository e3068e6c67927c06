"""Tests for the heatmap losses: hand-computed values on tiny tensors."""

from __future__ import annotations

import pytest
import torch

from landmarks.losses import KeypointMSELoss, OHKMMSELoss


def _tiny() -> tuple[torch.Tensor, torch.Tensor]:
    # (B=1, K=2, h=1, w=2): keypoint 0 squared errors 1, 4 -> mean 2.5; keypoint 1: 9, 0 -> 4.5.
    pred = torch.tensor([[[[1.0, 2.0]], [[3.0, 0.0]]]])
    return pred, torch.zeros_like(pred)


def test_mse_hand_computed() -> None:
    pred, target = _tiny()
    loss = KeypointMSELoss()
    assert loss(pred, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx((2.5 + 0.0) / 2)
    assert loss(pred, target, torch.tensor([[1.0, 1.0]])).item() == pytest.approx((2.5 + 4.5) / 2)
    # The weight multiplies both maps, so it enters squared: 0.5 -> 0.25.
    assert loss(pred, target, torch.tensor([[1.0, 0.5]])).item() == pytest.approx((2.5 + 0.25 * 4.5) / 2)
    assert KeypointMSELoss(loss_weight=2.0)(pred, target, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(2.5)
    # Without target weights: a plain MSE, and a missing target_weight is fine.
    assert KeypointMSELoss(use_target_weight=False)(pred, target).item() == pytest.approx(3.5)
    with pytest.raises(ValueError, match="target_weight is None"):
        loss(pred, target)


def test_mse_matches_the_formula_on_random_tensors() -> None:
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(3, 5, 8, 6, generator=g), torch.rand(3, 5, 8, 6, generator=g)
    weight = (torch.rand(3, 5, generator=g) > 0.4).float()
    expected = ((weight[:, :, None, None] * (pred - target)) ** 2).mean()
    assert KeypointMSELoss()(pred, target, weight).item() == pytest.approx(expected.item(), rel=1e-6)
    # Zero-weight keypoints get no gradient.
    pred.requires_grad_(True)
    KeypointMSELoss()(pred, target, weight).backward()
    grad_norm = pred.grad.abs().sum(dim=(2, 3))
    assert torch.all(grad_norm[weight == 0] == 0) and torch.all(grad_norm[weight == 1] > 0)


def test_ohkm_picks_the_topk_hardest() -> None:
    # Constant maps against zero targets: per-keypoint loss = value^2.
    per_kpt = torch.tensor([[1.0, 4.0, 2.0, 3.0], [5.0, 0.0, 1.0, 1.0]])
    pred = per_kpt.sqrt()[:, :, None, None].expand(2, 4, 3, 3).clone().requires_grad_(True)
    target = torch.zeros(2, 4, 3, 3)
    weight = torch.tensor([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]])  # masks the 5.0
    loss = OHKMMSELoss(topk=2)(pred, target, weight)
    # sample 0: top-2 of {1, 4, 2, 3} -> (4 + 3) / 2 = 3.5; sample 1: {0, 0, 1, 1} -> 1.0.
    assert loss.item() == pytest.approx((3.5 + 1.0) / 2)
    loss.backward()
    picked = pred.grad.abs().sum(dim=(2, 3)) > 0
    assert picked[0].tolist() == [False, True, False, True]
    assert picked[1].tolist() == [False, False, True, True]
    assert OHKMMSELoss(topk=1, loss_weight=0.5)(pred, target, weight).item() == pytest.approx(0.5 * (4.0 + 1.0) / 2)


def test_ohkm_with_all_keypoints_equals_mse() -> None:
    g = torch.Generator().manual_seed(1)
    pred, target = torch.rand(2, 6, 4, 4, generator=g), torch.rand(2, 6, 4, 4, generator=g)
    weight = torch.ones(2, 6)
    a = OHKMMSELoss(topk=6)(pred, target, weight).item()
    b = KeypointMSELoss()(pred, target, weight).item()
    assert a == pytest.approx(b, rel=1e-6)


def test_shape_errors_are_reported() -> None:
    with pytest.raises(ValueError, match="topk=8 exceeds"):
        OHKMMSELoss(topk=8)(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2), torch.ones(1, 4))
    with pytest.raises(ValueError, match="must both be"):
        KeypointMSELoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 3), torch.ones(1, 4))
    with pytest.raises(ValueError, match="target_weight must be"):
        KeypointMSELoss()(torch.zeros(1, 4, 2, 2), torch.zeros(1, 4, 2, 2), torch.ones(1, 3))
    with pytest.raises(ValueError, match="topk must be"):
        OHKMMSELoss(topk=0)
