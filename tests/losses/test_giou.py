"""Generalized IoU (Rezatofighi et al., CVPR 2019): hand-computed boxes, weights, degenerate predictions."""

from __future__ import annotations

import pytest
import torch

from landmarks.losses.giou import GIoULoss, generalized_iou


def _t(*boxes: list[float]) -> torch.Tensor:
    return torch.tensor(boxes, dtype=torch.float64)


def test_giou_of_known_boxes() -> None:
    # overlapping unit-offset squares: I = 1, U = 4 + 4 - 1 = 7, C = 3 x 3 = 9 -> 1/7 - 2/9 = -5/63
    assert generalized_iou(_t([0, 0, 2, 2]), _t([1, 1, 3, 3])).item() == pytest.approx(-5 / 63, abs=1e-6)
    # disjoint, a gap of 1: I = 0, U = 2, C = 3 x 1 -> -1/3 (plain IoU would be 0 whatever the gap)
    assert generalized_iou(_t([0, 0, 1, 1]), _t([2, 0, 3, 1])).item() == pytest.approx(-1 / 3, abs=1e-6)
    # nested: A inside B, I = |A| = 4, U = |B| = 16, C = B -> 1/4
    assert generalized_iou(_t([1, 1, 3, 3]), _t([0, 0, 4, 4])).item() == pytest.approx(0.25, abs=1e-6)
    # identical -> 1; symmetric in its arguments
    assert generalized_iou(_t([2, 3, 7, 11]), _t([2, 3, 7, 11])).item() == pytest.approx(1.0, abs=1e-6)
    a, b = _t([0, 0, 5, 2]), _t([1, -1, 4, 6])
    assert generalized_iou(a, b).item() == pytest.approx(generalized_iou(b, a).item(), abs=1e-6)


def test_giou_is_scale_invariant_unlike_l1() -> None:
    a, b = _t([0, 0, 10, 20]), _t([0, 0, 11, 20])  # width 10 % too large
    assert generalized_iou(a * 7, b * 7).item() == pytest.approx(generalized_iou(a, b).item(), abs=1e-6)
    assert generalized_iou(a, b).item() == pytest.approx(10 / 11, abs=1e-6)  # C = U: GIoU = IoU


def test_loss_is_the_weighted_mean_of_one_minus_giou() -> None:
    pred = _t([0, 0, 2, 2], [0, 0, 1, 1], [5, 5, 6, 6])
    target = _t([1, 1, 3, 3], [2, 0, 3, 1], [5, 5, 6, 6])
    losses = [1 + 5 / 63, 1 + 1 / 3, 0.0]
    assert GIoULoss()(pred, target).item() == pytest.approx(sum(losses) / 3, abs=1e-6)
    w = torch.tensor([0.5, 0.0, 1.5])
    assert GIoULoss()(pred, target, w).item() == pytest.approx((0.5 * losses[0]) / 2.0, abs=1e-6)


def test_zero_weight_cells_may_hold_empty_targets_and_inverted_predictions_get_no_credit() -> None:
    pred = _t([0, 0, 2, 2], [3, 3, 1, 1])  # the second is inverted (x1 < x0): area 0, no overlap
    target = _t([0, 0, 2, 2], [0, 0, 0, 0])  # an empty target where nothing is regressed
    loss = GIoULoss()(pred, target, torch.tensor([1.0, 0.0]))
    assert torch.isfinite(loss) and loss.item() == pytest.approx(0.0, abs=1e-6)
    inverted = generalized_iou(_t([3, 3, 1, 1]), _t([0, 0, 4, 4])).item()
    assert inverted == pytest.approx(0.0, abs=1e-6)  # I = 0, U = |B| = C: 0 - 0
    assert GIoULoss()(pred[:1], target[:1], torch.zeros(1)).item() == 0.0  # no weight at all: 0, not NaN


def test_gradient_shrinks_a_too_wide_box() -> None:
    pred = _t([0, 0, 12, 10]).requires_grad_(True)
    GIoULoss()(pred, _t([0, 0, 10, 10])).backward()
    assert pred.grad is not None and pred.grad[0, 2].item() > 0  # descending moves x1 left
    with pytest.raises(ValueError, match="must be"):
        generalized_iou(_t([0, 0, 1, 1]), _t([0, 0, 1]))


def test_matched_iou_by_hand() -> None:
    from landmarks.losses.giou import matched_iou

    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 4.0, 6.0]])
    target = torch.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    # 1 / 7 (overlap 1x1, union 4 + 4 - 1), identical boxes, an inverted box (area 0) apart from the target
    torch.testing.assert_close(matched_iou(pred, target), torch.tensor([1 / 7, 1.0, 0.0]), atol=1e-6, rtol=0)
