"""Visibility metrics: AUROC (ties as one half), reliability bins, ECE, Brier, accuracy, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landmarks.metrics.visibility import (
    VisibilityMetric,
    auroc,
    average_ranks,
    expected_calibration_error,
    reliability_bins,
)
from landmarks.types import Prediction

# Three visible points (label 1) scoring 0.9, 0.6, 0.4 and two occluded ones (label 0) scoring 0.6, 0.2.
SCORES = np.array([0.9, 0.6, 0.4, 0.6, 0.2])
LABELS = np.array([1, 1, 1, 0, 0])
# The 3 x 2 (visible, occluded) pairs, 1 when the visible point scores higher, 1/2 on a tie:
#   (0.9, 0.6) 1   (0.9, 0.2) 1
#   (0.6, 0.6) 1/2 (0.6, 0.2) 1
#   (0.4, 0.6) 0   (0.4, 0.2) 1
# AUROC = 4.5 / 6 = 0.75. By ranks: 0.2 -> 1, 0.4 -> 2, 0.6 and 0.6 -> 3.5, 0.9 -> 5; visible rank
# sum 5 + 3.5 + 2 = 10.5; (10.5 - 3 * 4 / 2) / (3 * 2) = 0.75.
AUROC = 0.75


def test_average_ranks_share_ties() -> None:
    np.testing.assert_array_equal(average_ranks(SCORES), [5.0, 3.5, 2.0, 3.5, 1.0])
    np.testing.assert_array_equal(average_ranks(np.array([1.0, 1.0, 1.0])), [2.0, 2.0, 2.0])


def test_auroc_equals_the_hand_computation() -> None:
    assert auroc(SCORES, LABELS) == pytest.approx(AUROC, abs=1e-12)
    assert auroc(-SCORES, LABELS) == pytest.approx(1 - AUROC, abs=1e-12)  # reversed ranking
    assert auroc(np.ones(5), LABELS) == 0.5  # all tied: every pair one half
    assert math.isnan(auroc(SCORES[:3], LABELS[:3]))  # no occluded point


def test_reliability_bins_and_ece_by_hand() -> None:
    # 2 bins: [0, 0.5) holds 0.4 (label 1) and 0.2 (0): mean 0.3, observed 0.5, gap 0.2;
    # [0.5, 1] holds 0.9 (1), 0.6 (1), 0.6 (0): mean 0.7, observed 2/3, gap 1/30.
    # ECE = (2 * 0.2 + 3 * 1/30) / 5 = 0.1
    bins = reliability_bins(SCORES, LABELS, num_bins=2)
    np.testing.assert_allclose(bins["edges"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(bins["count"], [2, 3])
    np.testing.assert_allclose(bins["mean_prob"], [0.3, 0.7])
    np.testing.assert_allclose(bins["frac_positive"], [0.5, 2 / 3])
    assert expected_calibration_error(SCORES, LABELS, num_bins=2) == pytest.approx(0.1, abs=1e-12)
    # p = 1 falls in the last bin; empty bins are nan and do not count
    edge = reliability_bins(np.array([1.0, 0.0]), np.array([1, 0]), num_bins=4)
    np.testing.assert_allclose(edge["count"], [1, 0, 0, 1])
    assert math.isnan(edge["mean_prob"][1])
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0]), num_bins=4) == 0.0


def _meta(visible: list[list[float]]) -> dict[str, torch.Tensor]:
    v = torch.tensor(visible)
    return {"visible": v, "index": torch.arange(len(v))}


def test_metric_scores_labelled_points_only() -> None:
    metric = VisibilityMetric(num_bins=2)
    # sample 0: three visible points; sample 1: two occluded points and one unlabelled (v = 0, p = 0.99: ignored)
    probs = np.array([[0.9, 0.6, 0.4], [0.6, 0.2, 0.99]], np.float32)
    pred = Prediction(np.zeros((2, 0, 2), np.float32), np.zeros((2, 0), np.float32), {"visibility": probs})
    metric.update(pred, _meta([[2, 2, 2], [1, 1, 0]]))
    out = metric.compute()
    assert out["vis_auroc"] == pytest.approx(AUROC, abs=1e-6)
    assert out["vis_ece"] == pytest.approx(0.1, abs=1e-6)
    # Brier: (0.1^2 + 0.4^2 + 0.6^2 + 0.6^2 + 0.2^2) / 5 = 0.93 / 5
    assert out["vis_brier"] == pytest.approx(0.186, abs=1e-6)
    # p >= 0.5 is right for 0.9, 0.6 (visible) and 0.2 (occluded): 3 of 5
    assert out["vis_acc"] == pytest.approx(0.6, abs=1e-9)
    assert out["vis_occluded"] == pytest.approx(0.4, abs=1e-9)
    curves = metric.error_curves()
    assert curves is not None and curves["kind"] == "reliability"
    table = curves["per_keypoint"]
    np.testing.assert_allclose(table["auroc"][:2], [1.0, 1.0])  # kp0: 0.9 > 0.6, kp1: 0.6 > 0.2
    assert math.isnan(table["auroc"][2]) and list(table["count"]) == [2, 2, 1]


def test_metric_before_update_one_class_and_missing_extras() -> None:
    metric = VisibilityMetric()
    assert metric.compute() == {}
    pred = Prediction(np.zeros((1, 0, 2)), np.zeros((1, 0)), {"visibility": np.array([[0.3, 0.8]])})
    metric.update(pred, _meta([[2, 2]]))
    assert math.isnan(metric.compute()["vis_auroc"])  # no occluded point: undefined, not 0 or 1
    with pytest.raises(ValueError, match=r"no extras\['visibility'\]"):
        VisibilityMetric().update(Prediction(np.zeros((1, 2, 2)), np.zeros((1, 2))), _meta([[2, 2]]))
    with pytest.raises(ValueError, match=r"shape \(1, 2\) but meta\['visible'\] \(1, 3\)"):
        VisibilityMetric().update(pred, _meta([[2, 2, 1]]))
