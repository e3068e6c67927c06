"""RLE loss: the flow-free Laplace / Gaussian cases equal their closed forms; the flow is a density."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.rle import RealNVP2d, RLELoss, base_nll


def _pred() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    # sample 0: keypoint 0 at (10, 20) with sigma (2, 4); truth (13, 18) -> r = (1.5, -0.5)
    #           keypoint 1 unlabelled (weight 0)
    # sample 1: keypoint 0 at (5, 5) with sigma (1, 1); truth (5, 6) -> r = (0, 1); keypoint 1 same as 0
    pred = torch.tensor([[[10.0, 20.0, 2.0, 4.0], [0.0, 0.0, 1.0, 1.0]], [[5.0, 5.0, 1.0, 1.0], [5.0, 5.0, 1.0, 1.0]]])
    target = torch.tensor([[[13.0, 18.0], [50.0, 50.0]], [[5.0, 6.0], [5.0, 6.0]]])
    weight = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    return pred, target, weight


def test_flow_free_laplace_loss_equals_its_closed_form() -> None:
    """Per axis log(2 sigma) + |y - mu| / sigma, summed over keypoints, averaged over the batch."""
    pred, target, weight = _pred()
    # sample 0: log 4 + 1.5 + log 8 + 0.5 = log 32 + 2; sample 1: 2 * (log 2 + 0 + log 2 + 1) = 2 log 4 + 2
    expected = ((math.log(32.0) + 2.0) + (2.0 * math.log(4.0) + 2.0)) / 2.0
    assert expected == pytest.approx(5.1192, abs=1e-4)  # (5.4657 + 4.7726) / 2
    value = RLELoss(flow=False, base="laplace")(pred, target, weight)
    assert value.item() == pytest.approx(expected, abs=1e-5)
    assert RLELoss(flow=False, loss_weight=0.5)(pred, target, weight).item() == pytest.approx(expected / 2, abs=1e-5)


def test_flow_free_gaussian_loss_equals_its_closed_form() -> None:
    """Per axis log(sigma sqrt(2 pi)) + r^2 / 2."""
    pred, target, weight = _pred()
    h = 0.5 * math.log(2 * math.pi)
    s0 = (math.log(2.0) + h + 1.125) + (math.log(4.0) + h + 0.125)
    s1 = 2.0 * ((0.0 + h + 0.0) + (0.0 + h + 0.5))
    value = RLELoss(flow=False, base="gaussian")(pred, target, weight)
    assert value.item() == pytest.approx((s0 + s1) / 2.0, abs=1e-5)


def test_untrained_flow_is_the_standard_normal_and_adds_its_nll() -> None:
    """Zero-initialised couplings: log G(r) = -|r|^2 / 2 - log(2 pi)."""
    pred, target, weight = _pred()
    with_flow = RLELoss(flow=True)(pred, target, weight).item()
    free = RLELoss(flow=False)(pred, target, weight).item()
    extra = ((1.5**2 + 0.5**2) / 2 + math.log(2 * math.pi)) + 2 * (0.5 + math.log(2 * math.pi))
    assert with_flow - free == pytest.approx(extra / 2.0, abs=1e-5)


def test_realnvp_density_integrates_to_one_after_random_weights() -> None:
    """A wrong log-determinant would not integrate to 1 (grid over [-9, 9]^2)."""
    torch.manual_seed(0)
    flow = RealNVP2d(num_layers=4, hidden=16).double()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    n = 361
    axis = torch.linspace(-9.0, 9.0, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1)
    with torch.no_grad():
        density = flow.log_prob(grid).exp()
    step = float(axis[1] - axis[0])
    assert float(density.sum()) * step * step == pytest.approx(1.0, abs=5e-3)


def test_masked_keypoints_get_no_gradient_and_the_flow_trains() -> None:
    pred, target, weight = _pred()
    pred = pred.clone().requires_grad_(True)
    loss = RLELoss(flow=True)
    loss(pred, target, weight).backward()
    assert pred.grad is not None and float(pred.grad[0, 1].abs().sum()) == 0.0
    assert float(pred.grad[0, 0].abs().sum()) > 0
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in loss.flow.parameters())  # type: ignore[union-attr]


def test_base_nll_and_errors() -> None:
    assert base_nll(torch.tensor(3.0), torch.tensor(2.0)).item() == pytest.approx(math.log(4.0) + 1.5)
    with pytest.raises(ValueError, match="base"):
        RLELoss(base="cauchy")
    with pytest.raises(ValueError, match=r"RLELoss: pred must be \(B, K, 4\)"):
        RLELoss()(torch.zeros(1, 2, 2), torch.zeros(1, 2, 2))
