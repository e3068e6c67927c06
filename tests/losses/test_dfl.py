"""Distribution focal loss (GFL, Li et al. 2020) and the integral read-out, against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.dfl import distribution_focal_loss, integral


def test_uniform_distribution_costs_log_n() -> None:
    """Uniform over 4 bins, target 1.25: -(0.75 log 1/4 + 0.25 log 1/4) = log 4."""
    loss = distribution_focal_loss(torch.zeros(1, 4), torch.tensor([1.25]))
    assert loss.item() == pytest.approx(math.log(4.0), abs=1e-6)


def test_minimum_is_the_two_bin_split_whose_mean_is_the_target() -> None:
    """S = (0, 0.75, 0.25, 0) for target 1.25: the loss is its entropy, the gradient vanishes, the mean is 1.25."""
    probs = torch.tensor([[1e-9, 0.75, 0.25, 1e-9]])
    logits = probs.log().requires_grad_(True)
    loss = distribution_focal_loss(logits, torch.tensor([1.25]))
    assert loss.item() == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)), abs=1e-5)
    loss.sum().backward()
    assert logits.grad is not None and logits.grad.abs().max().item() < 1e-5
    assert integral(logits.detach()).item() == pytest.approx(1.25, abs=1e-6)


def test_targets_outside_the_bins_are_clamped_and_shapes_checked() -> None:
    """A target beyond the last bin counts as the last bin (n - 1): all mass there costs ~0."""
    logits = torch.tensor([[-20.0, -20.0, 20.0]])
    assert distribution_focal_loss(logits, torch.tensor([7.0])).item() == pytest.approx(0.0, abs=1e-2)
    assert distribution_focal_loss(logits, torch.tensor([-1.0])).item() == pytest.approx(40.0, abs=1e-3)
    with pytest.raises(ValueError, match="distribution_focal_loss"):
        distribution_focal_loss(torch.zeros(2, 1), torch.zeros(2))
    assert integral(torch.zeros(2, 3, 5), dim=1).shape == (2, 5)
    assert torch.allclose(integral(torch.zeros(2, 3, 5), dim=1), torch.ones(2, 5))
