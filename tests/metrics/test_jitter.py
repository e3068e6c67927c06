"""Jitter metrics and identity switches against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.metrics.jitter import (
    count_track_frames,
    identity_switches,
    mean_acceleration_error,
    normalised_mean_flicker,
)


def test_mean_acceleration_error_by_hand() -> None:
    # one keypoint; gt at rest; pred x = 0, 1, 0, 0.
    # a(1) = x2 - 2 x1 + x0 = 0 - 2 + 0 = -2; a(2) = x3 - 2 x2 + x1 = 0 - 0 + 1 = 1 -> mean(2, 1) = 1.5
    gt = np.zeros((4, 1, 2))
    pred = gt.copy()
    pred[1, 0, 0] = 1.0
    assert mean_acceleration_error(pred, gt) == pytest.approx(1.5)
    # frame 3 invalid: only a(1) has valid t-1, t, t+1 -> 2
    valid = np.array([[True], [True], [True], [False]])
    assert mean_acceleration_error(pred, gt, valid) == pytest.approx(2.0)
    # per-frame size 4 at t = 1, 2: (2 / 4 + 1 / 4) / 2 = 0.375
    assert mean_acceleration_error(pred, gt, norm=np.full(4, 4.0)) == pytest.approx(0.375)
    # a constant offset and a shared constant velocity have no acceleration error
    t = np.arange(6, dtype=np.float64)[:, None, None]
    moving = np.concatenate([3 * t, -t], axis=-1) * np.ones((6, 2, 2))
    assert mean_acceleration_error(moving + 5.0, moving) == pytest.approx(0.0)
    assert np.isnan(mean_acceleration_error(pred[:2], gt[:2]))


def test_normalised_mean_flicker_by_hand() -> None:
    # gt: landmarks (0, 0) and (128, 128) in every frame: extent 128 x 128, d = 128, d / 256 = 0.5.
    # error r: frame 0 zero; frames 1 and 2: (1, 0) on landmark 0, zero on landmark 1.
    # f(1, 0) = 100 * |r(1) - r(0)| / 0.5 = 200, f(1, 1) = 0, f(2, .) = 0
    # frame means of f^2: (200^2 + 0) / 2 = 20000 and 0 -> NMF = sqrt((20000 + 0) / 2) = 100
    gt = np.tile(np.array([[0.0, 0.0], [128.0, 128.0]]), (3, 1, 1))
    pred = gt.copy()
    pred[1:, 0, 0] += 1.0
    assert normalised_mean_flicker(pred, gt) == pytest.approx(100.0)
    # sizes 64: d / 256 = 0.25 -> f = 400 -> sqrt(80000 / 2) = 200
    assert normalised_mean_flicker(pred, gt, sizes=np.full(3, 64.0)) == pytest.approx(200.0)
    # landmark 1 invalid in frame 1: frame 1 averages landmark 0 alone (40000); the size of frame 1
    # comes from its valid landmark only (extent 0) -> frame 1 dropped; frame 2: landmark 1 is not
    # valid in frame 1 either, so only landmark 0 (0) counts -> 0
    valid = np.array([[True, True], [True, False], [True, True]])
    assert normalised_mean_flicker(pred, gt, valid) == pytest.approx(0.0)
    # a constant error is no flicker
    assert normalised_mean_flicker(gt + 3.0, gt) == pytest.approx(0.0)


def test_normalised_mean_flicker_matches_the_ldeq_definition() -> None:
    """Against the definition written out directly: RMS over landmarks, then RMS over frames."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(0, 200, size=(20, 98, 2))
    pred = gt + rng.normal(0, 2, size=gt.shape)
    w = gt[..., 0].max(1) - gt[..., 0].min(1)
    h = gt[..., 1].max(1) - gt[..., 1].min(1)
    scale = np.sqrt(w * h / 256**2)[1:, None]
    delta = gt - pred
    per_kpt = 100 * np.linalg.norm(delta[:-1] - delta[1:], axis=2) / scale
    want = np.sqrt(np.mean(np.sqrt(np.mean(per_kpt**2, axis=1)) ** 2))
    assert normalised_mean_flicker(pred, gt) == pytest.approx(want)


def test_identity_switches_by_hand() -> None:
    gt_ids = [[1, 2], [1, 2], [1, 2], [1, 2]]
    pred_ids = [[10, 20], [10, 20], [20], [20, 10]]
    matching = [
        [(0, 0), (1, 1)],  # 1->10, 2->20
        [(0, 1), (1, 0)],  # 1->20 (switch), 2->10 (switch)
        [(1, 0)],  # 2->20 (switch); gt 1 unmatched
        [(0, 0), (1, 1)],  # 1->20 as at its last matched frame (no switch); 2->10 (switch)
    ]
    assert identity_switches(gt_ids, pred_ids, matching) == 4
    assert identity_switches(gt_ids, [[10, 20]] * 4, [[(0, 0), (1, 1)]] * 4) == 0
    assert identity_switches([[1]], [[-1]], [[(0, 0)]]) == 0  # an untracked prediction is no identity
    assert count_track_frames(gt_ids) == 8
    assert count_track_frames([[], [3]]) == 1


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="^pred:"):
        mean_acceleration_error(np.zeros((3, 2, 2)), np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="^valid:"):
        normalised_mean_flicker(np.zeros((3, 2, 2)), np.zeros((3, 2, 2)), np.ones((3, 1)))
    with pytest.raises(ValueError, match="^sizes:"):
        normalised_mean_flicker(np.zeros((3, 2, 2)), np.zeros((3, 2, 2)), sizes=np.ones(2))
    with pytest.raises(ValueError, match="^gt_ids, pred_ids, matching:"):
        identity_switches([[1]], [], [])
    with pytest.raises(ValueError, match=r"^matching\[0\]:"):
        identity_switches([[1]], [[2]], [[(0, 1)]])
