"""Tests for Wing, Soft Wing and Adaptive Wing: hand-computed values, continuity, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.wing import AdaptiveWingLoss, SoftWingLoss, WingLoss


def _one(x: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B=1, K=1, 2) pred with error ``x`` on the x coordinate only."""
    return torch.tensor([[[x, 0.0]]], dtype=torch.float64), torch.zeros(1, 1, 2, dtype=torch.float64)


def test_wing_hand_computed() -> None:
    loss = WingLoss()  # w = 10, e = 2
    c = 10.0 - 10.0 * math.log(6.0)  # = -7.9176
    assert loss.C == pytest.approx(c)
    assert loss(*_one(1.0)).item() == pytest.approx(10.0 * math.log(1.5))  # 4.0547
    assert loss(*_one(-1.0)).item() == pytest.approx(10.0 * math.log(1.5))
    assert loss(*_one(12.0)).item() == pytest.approx(12.0 - c)  # 19.9176
    assert loss(*_one(0.0)).item() == 0.0
    # Continuity at |x| = w: both pieces give w ln(1 + w / e) = 17.9176.
    left = loss.elementwise(torch.tensor([10.0 - 1e-9], dtype=torch.float64))
    right = loss.elementwise(torch.tensor([10.0], dtype=torch.float64))
    assert left.item() == pytest.approx(10.0 * math.log(6.0), abs=1e-6)
    assert right.item() == pytest.approx(10.0 * math.log(6.0))


def test_wing_reduction_and_weights() -> None:
    pred = torch.tensor([[[1.0, 12.0], [2.0, 0.0]], [[0.0, 0.0], [1.0, 1.0]]], dtype=torch.float64)
    target = torch.zeros_like(pred)
    f = lambda x: 10 * math.log1p(x / 2) if x < 10 else x - (10 - 10 * math.log(6))  # noqa: E731
    b0 = f(1) + f(12) + f(2)
    b1 = 2 * f(1)
    assert WingLoss()(pred, target).item() == pytest.approx((b0 + b1) / 2)  # sum over K and xy, mean over B
    w = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert WingLoss()(pred, target, w).item() == pytest.approx((f(1) + f(12) + b1) / 2)
    assert WingLoss(loss_weight=0.5)(pred, target, w).item() == pytest.approx((f(1) + f(12) + b1) / 4)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        WingLoss()(pred, target, torch.ones(3))
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        WingLoss()(pred[..., :1], target[..., :1])


def test_soft_wing_hand_computed() -> None:
    loss = SoftWingLoss()  # thres1 = 2, thres2 = 20, gamma = 0.5
    b = 2.0 - 20.0 * math.log(5.0)
    assert loss.B == pytest.approx(b)
    assert loss(*_one(1.5)).item() == pytest.approx(1.5)  # linear part
    assert loss(*_one(5.0)).item() == pytest.approx(20.0 * math.log(11.0) + b)
    # Continuous in value at thres1; the slope steps from 1 to thres2 / (gamma + thres1) = 8.
    assert loss.elementwise(torch.tensor([2.0], dtype=torch.float64)).item() == pytest.approx(2.0)
    x = torch.tensor([2.0 + 1e-6], dtype=torch.float64, requires_grad=True)
    loss.elementwise(x).sum().backward()
    assert x.grad.item() == pytest.approx(8.0, rel=1e-5)


def _awing_ref(d: float, y: float) -> float:
    """Adaptive Wing of one pixel, written from Wang et al. (ICCV 2019), defaults."""
    alpha, omega, eps, theta = 2.1, 14.0, 1.0, 0.5
    p = alpha - y
    if d < theta:
        return omega * math.log(1 + (d / eps) ** p)
    a = omega * p * (theta / eps) ** (p - 1) / (eps * (1 + (theta / eps) ** p))
    c = theta * a - omega * math.log(1 + (theta / eps) ** p)
    return a * d - c


@pytest.mark.parametrize("y", [0.0, 0.3, 1.0])
def test_adaptive_wing_values_and_continuity_at_theta(y: float) -> None:
    loss = AdaptiveWingLoss()
    for d in (0.0, 0.1, 0.25, 0.49, 0.5, 0.8, 2.0):
        got = loss.elementwise(torch.tensor([y + d], dtype=torch.float64), torch.tensor([y], dtype=torch.float64))
        assert got.item() == pytest.approx(_awing_ref(d, y), abs=1e-12)
    # Hand numbers: y = 1, d = 0.25 -> 14 ln(1 + 0.25^1.1); y = 0, d = 0.25 -> 14 ln(1 + 0.25^2.1).
    if y in (0.0, 1.0):
        expect = 14 * math.log(1 + 0.25 ** (2.1 - y))
        assert _awing_ref(0.25, y) == pytest.approx(expect)
    # Value and slope are continuous at |d| = theta.
    h = 1e-7
    t = torch.tensor([y], dtype=torch.float64)
    below = loss.elementwise(torch.tensor([y + 0.5 - h], dtype=torch.float64), t).item()
    above = loss.elementwise(torch.tensor([y + 0.5 + h], dtype=torch.float64), t).item()
    assert below == pytest.approx(above, abs=1e-5)
    slopes = []
    for d in (0.5 - 1e-6, 0.5 + 1e-6):
        x = torch.tensor([y + d], dtype=torch.float64, requires_grad=True)
        loss.elementwise(x, t).sum().backward()
        slopes.append(x.grad.item())
    assert slopes[0] == pytest.approx(slopes[1], rel=1e-4)


def test_adaptive_wing_weight_map_and_reduction() -> None:
    target = torch.zeros(1, 2, 5, 5)
    target[0, 0, 2, 2] = 1.0
    loss = AdaptiveWingLoss()
    m = loss.weight_map(target)
    assert m[0, 0, 1:4, 1:4].eq(11.0).all() and m[0, 0].sum().item() == 9 * 11 + 16 * 1
    assert m[0, 1].eq(1.0).all()
    pred = torch.full_like(target, 0.1)
    per = loss.elementwise(pred, target)
    w = torch.tensor([[1.0, 0.0]])
    expected = (per * m * w[..., None, None]).mean()
    assert loss(pred, target, w).item() == pytest.approx(expected.item())
    assert AdaptiveWingLoss(use_weight_map=False)(pred, target).item() == pytest.approx(per.mean().item())


def test_gradients_are_finite_at_zero_error_and_masked_keypoints_get_none() -> None:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 2, generator=g) * 50
    for loss in (WingLoss(), SoftWingLoss()):
        pred = target.clone().requires_grad_(True)
        loss(pred, target).backward()
        assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() == 0
        pred = (target + torch.randn(2, 3, 2, generator=g) * 15).requires_grad_(True)
        loss(pred, target, torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])).backward()
        assert torch.isfinite(pred.grad).all()
        assert pred.grad[0, 1].abs().sum() == 0 and pred.grad[1, 0].abs().sum() == 0
    hm = torch.rand(2, 3, 8, 8, generator=g)
    for pred in (hm.clone(), hm + 0.5, (hm + torch.rand(2, 3, 8, 8, generator=g) - 0.5)):
        pred = pred.clone().requires_grad_(True)
        AdaptiveWingLoss()(pred, hm, torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 1.0]])).backward()
        assert torch.isfinite(pred.grad).all()
        assert pred.grad[0, 2].abs().sum() == 0 and pred.grad[1, 1].abs().sum() == 0
    # A power below 1 (alpha - y < 1) would have an unbounded slope at d = 0: still finite here.
    pred = torch.ones(1, 1, 3, 3, requires_grad=True)
    AdaptiveWingLoss(alpha=1.5)(pred, torch.ones(1, 1, 3, 3)).backward()
    assert torch.isfinite(pred.grad).all()
