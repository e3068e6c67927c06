"""SimCC KL loss: hand-computed values, label softmax, visibility weighting."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.losses.simcc import SimCCKLLoss


def test_kl_equals_a_hand_computation_with_normalised_labels() -> None:
    """p = [0, 1, 0]; q = softmax([0, log 2, 0]) = [1/4, 1/2, 1/4]: KL = log(1 / (1/2)) = log 2 per axis."""
    loss = SimCCKLLoss(label_softmax=False)
    target = torch.tensor([[[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]])  # (B=1, K=2, L=3)
    logits = torch.tensor([[[0.0, math.log(2.0), 0.0], [5.0, 0.0, 0.0]]])
    weight = torch.tensor([[1.0, 0.0]])  # keypoint 1 (far off) is unlabelled
    value = loss(logits, logits, target, target, weight)
    assert value.item() == pytest.approx(math.log(2.0), abs=1e-6)  # mean over 1 keypoint x 2 axes


def test_label_softmax_targets_and_a_perfect_prediction() -> None:
    """beta = 1, g = [0, 1, 0] -> p = [1, e, 1] / (2 + e); logits = beta * g give KL 0."""
    loss = SimCCKLLoss(label_beta=1.0)
    g = torch.tensor([[[0.0, 1.0, 0.0]]])
    e = math.e
    torch.testing.assert_close(loss.label_distribution(g), torch.tensor([[[1 / (2 + e), e / (2 + e), 1 / (2 + e)]]]))
    assert loss(g, g, g, g, torch.ones(1, 1)).item() == pytest.approx(0.0, abs=1e-6)
    # uniform logits: KL = sum p log p + log 3
    p = torch.tensor([1 / (2 + e), e / (2 + e), 1 / (2 + e)])
    expected = float((p * p.log()).sum()) + math.log(3.0)
    zeros = torch.zeros(1, 1, 3)
    assert loss(zeros, zeros, g, g, torch.ones(1, 1)).item() == pytest.approx(expected, abs=1e-6)


def test_weights_average_over_labelled_keypoints_and_gradients_flow() -> None:
    torch.manual_seed(0)
    loss = SimCCKLLoss(label_beta=10.0, loss_weight=2.0)
    x = torch.randn(2, 3, 16, requires_grad=True)
    y = torch.randn(2, 3, 12, requires_grad=True)
    tx, ty = torch.rand(2, 3, 16), torch.rand(2, 3, 12)
    w = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    value = loss(x, y, tx, ty, w)
    per = loss.kl(x, tx) + loss.kl(y, ty)
    expected = 2.0 * (per[0, 0] + per[0, 2] + per[1, 2]) / 6.0
    torch.testing.assert_close(value, expected)
    value.backward()
    assert x.grad is not None and float(x.grad[0, 1].abs().sum()) == 0.0 and float(x.grad[0, 0].abs().sum()) > 0
    assert loss(x, y, tx, ty, torch.zeros(2, 3)).item() == 0.0  # nothing labelled: 0, not nan


def test_shape_errors_name_the_loss() -> None:
    with pytest.raises(ValueError, match="SimCCKLLoss"):
        SimCCKLLoss()(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4), torch.zeros(1, 2, 5), torch.zeros(1, 2, 4))
