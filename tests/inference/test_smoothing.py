"""One-Euro (against the CHI 2012 formulas by hand), the constant-velocity Kalman filter (by hand and
against the matrix form), Savitzky-Golay and per-track smoothing (rotations: test_rotation_smoothing.py)."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.inference.smoothing import (
    ConstantVelocityKalman,
    KeypointSmoother,
    OneEuroFilter,
    savgol_smooth,
)
from landmarks.metrics.jitter import mean_acceleration_error


def test_one_euro_three_steps_by_hand() -> None:
    # rate 10 Hz (Te = 0.1 s), min_cutoff 1, beta 0.5, d_cutoff 1; x = 0, 1, 3.
    # alpha(fc) = 1 / (1 + tau / Te), tau = 1 / (2 pi fc): alpha(1) = 1 / (1 + 1.591549) = 0.385870
    # step 0: returned as is, 0; dx_hat = 0
    # step 1: dx = (1 - 0) / 0.1 = 10; dx_hat = 0.385870 * 10 = 3.858695; fc = 1 + 0.5 * 3.858695 = 2.929348
    #         alpha(2.929348) = 0.647957; x_hat = 0.647957 * 1 + 0.352043 * 0 = 0.647957
    # step 2: dx = (3 - 0.647957) / 0.1 = 23.520428; dx_hat = 0.385870 * 23.520428 + 0.614130 * 3.858695
    #         = 11.445559; fc = 1 + 0.5 * 11.445559 = 6.722780; alpha = 0.808578
    #         x_hat = 0.808578 * 3 + 0.191422 * 0.647957 = 2.549766
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=1.0, rate=10.0)
    out = [float(f(x)) for x in (0.0, 1.0, 3.0)]
    np.testing.assert_allclose(out, [0.0, 0.647957, 2.549766], atol=1e-6)
    assert float(f.dx_hat) == pytest.approx(11.445559, abs=1e-6)  # type: ignore[arg-type]
    # the same with timestamps, and element-wise over an array
    g = OneEuroFilter(min_cutoff=1.0, beta=0.5, rate=None)
    outs = [g(np.array([[x, 2 * x]]), t) for x, t in ((0.0, 5.0), (1.0, 5.1), (3.0, 5.2))]
    assert outs[2].shape == (1, 2)
    assert outs[2][0, 0] == pytest.approx(2.549766, abs=1e-6)


def test_one_euro_reduces_jitter_on_a_noisy_sine() -> None:
    # 50 px sines (up to 157 px/s) at 30 Hz with 1 px noise: the acceleration error (jitter) falls by
    # more than half; the price is lag, which a larger beta lowers (at less jitter reduction).
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    clean = np.stack([np.sin(2 * np.pi * 0.5 * t), np.cos(2 * np.pi * 0.3 * t)], axis=-1)[:, None, :] * 50.0
    noisy = clean + rng.normal(0.0, 1.0, clean.shape)
    before = mean_acceleration_error(noisy, clean)
    lag = {}
    for beta in (0.05, 0.3):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta, rate=30.0)
        smooth = np.stack([f(x) for x in noisy])
        assert mean_acceleration_error(smooth, clean) < (0.5 if beta == 0.05 else 0.8) * before
        lag[beta] = float(np.abs(smooth - clean)[30:].mean())
    assert lag[0.05] < 2.5 and lag[0.3] < lag[0.05]


def test_one_euro_nan_passes_through_and_restarts() -> None:
    f = OneEuroFilter(min_cutoff=1.0, rate=10.0)
    f(np.array([0.0, 0.0]))
    out = f(np.array([np.nan, 1.0]))
    assert np.isnan(out[0]) and 0 < out[1] < 1
    out = f(np.array([7.0, 1.0]))
    assert out[0] == 7.0  # restarted: the first value after a gap is returned as is


def test_one_euro_bad_input() -> None:
    with pytest.raises(ValueError, match="^min_cutoff:"):
        OneEuroFilter(min_cutoff=0.0)
    f = OneEuroFilter(rate=None)
    with pytest.raises(ValueError, match="^t:"):
        f(1.0)
    f(1.0, 1.0)
    with pytest.raises(ValueError, match="^t:"):
        f(1.0, 1.0)
    with pytest.raises(ValueError, match="^x:"):
        f(np.zeros(2), 2.0)


def test_savgol() -> None:
    t = np.arange(12, dtype=np.float64)
    quad = np.stack([t**2, 3 * t - 1], axis=-1)  # (T, 2): order 2 reproduces it exactly
    np.testing.assert_allclose(savgol_smooth(quad, window=5, order=2), quad, atol=1e-9)
    # 3-point moving average (order 1) at t = 5 of [0, 0, 3, 0, 0]-style spike: 3 / 3 = 1
    spike = np.zeros(11)
    spike[5] = 3.0
    assert savgol_smooth(spike, window=3, order=1)[5] == pytest.approx(1.0)
    short = quad[:5]
    np.testing.assert_allclose(savgol_smooth(short, window=9, order=2), short, atol=1e-9)  # shrunk to 5
    np.testing.assert_array_equal(savgol_smooth(quad[:2], window=9, order=2), quad[:2])  # cannot fit: unchanged
    np.testing.assert_array_equal(
        savgol_smooth(short + 0.1 * (t[:5] % 2)[:, None], 9, 2, short="skip"), short + 0.1 * (t[:5] % 2)[:, None]
    )
    with pytest.raises(ValueError, match="^track:"):
        savgol_smooth(short, window=9, order=2, short="raise")
    with pytest.raises(ValueError, match="^window:"):
        savgol_smooth(quad, window=4, order=2)
    with pytest.raises(ValueError, match="^track:"):
        savgol_smooth(np.array([0.0, np.nan, 1.0]), window=3, order=1)


def test_keypoint_smoother_per_track() -> None:
    ks = KeypointSmoother(min_cutoff=1.0, beta=0.0, rate=10.0)
    ref = OneEuroFilter(min_cutoff=1.0, beta=0.0, rate=None)
    a0, b0 = np.zeros((2, 2)), np.full((2, 2), 100.0)
    out = ks(np.array([0, 1]), np.stack([a0, b0]))
    np.testing.assert_array_equal(out, np.stack([a0, b0]))
    ref(a0, 0.0)
    ks(np.array([1]), b0[None])  # frame 1: track 0 missing
    out = ks(np.array([0, -1]), np.stack([a0 + 1.0, b0]))  # frame 2: track 0 back after 0.2 s
    np.testing.assert_allclose(out[0], ref(a0 + 1.0, 0.2))
    np.testing.assert_array_equal(out[1], b0)  # untracked: unchanged
    assert sorted(ks.filters) == [0, 1]
    ks.forget([1])
    assert sorted(ks.filters) == [0]
    with pytest.raises(ValueError, match="^values:"):
        ks(np.array([0, 1]), a0[None])


def test_per_task_one_euro_parameters_override_the_shared_ones() -> None:
    """``smoothing.per_task.hand`` changes the hand's filters only; the body keeps the shared values."""
    from landmarks.inference.instances import FrameTracker, SmoothingOptions
    from landmarks.types import Prediction

    options = SmoothingOptions(kind="one_euro", min_cutoff=1.0, beta=0.05, per_task={"hand": {"min_cutoff": 0.25}})
    assert options.online("hand") == {"kind": "one_euro", "min_cutoff": 0.25, "beta": 0.05, "d_cutoff": 1.0}
    assert options.online("body") == {"kind": "one_euro", "min_cutoff": 1.0, "beta": 0.05, "d_cutoff": 1.0}
    face = SmoothingOptions(kind="one_euro", per_task={"face": {"beta": 0.0}})
    assert face.online("face")["beta"] == 0.0  # 0 is a value
    with pytest.raises(ValueError, match=r"per_task\.face.*'cutoff'"):
        SmoothingOptions(per_task={"face": {"cutoff": 0.5}})

    tasks = {"body": object(), "hand": object()}  # no layout: tracked by box IoU
    tracker = FrameTracker(tasks, fps=25.0, smoothing=options)
    box = np.array([[10.0, 10.0, 50.0, 50.0]])
    rng = np.random.default_rng(0)
    for _ in range(3):
        preds = {
            n: Prediction(rng.normal(30, 2, (1, 3, 2)).astype(np.float32), np.ones((1, 3), np.float32))
            for n in ("body", "hand")
        }
        tracker(preds, box)
    assert tracker._keypoints["hand"].params["min_cutoff"] == 0.25
    assert tracker._keypoints["body"].params["min_cutoff"] == 1.0


def test_kalman_three_steps_by_hand() -> None:
    # dt = 1 s, sigma_m = 1, sigma_a = 1, scale 1: R = 1, Q = [[1/4, 1/2], [1/2, 1]]; z = 0, 1, 2.
    # step 0: x = (0, 0), P = [[R, 0], [0, (scale * rate)^2 = 1]]; returns 0
    # step 1: P- = [[1 + 1 + 1/4, 0 + 1 + 1/2], [., 1 + 1]] = [[2.25, 1.5], [1.5, 2]]; S = 3.25
    #         K = (0.692308, 0.461538); y = 1 -> x = (0.692308, 0.461538)
    #         P = [[0.307692 * 2.25, 0.307692 * 1.5], [., 2 - 0.461538 * 1.5]] = [[0.692308, 0.461538], [., 1.307692]]
    # step 2: x- = 0.692308 + 0.461538 = 1.153846; P-_00 = 0.692308 + 2 * 0.461538 + 1.307692 + 0.25 = 3.173077
    #         P-_01 = 0.461538 + 1.307692 + 0.5 = 2.269231; S = 4.173077; K = (0.760369, 0.543779)
    #         y = 2 - 1.153846 = 0.846154 -> x = 1.153846 + 0.760369 * 0.846154 = 1.797235
    #         v = 0.461538 + 0.543779 * 0.846154 = 0.921659
    f = ConstantVelocityKalman(measurement_noise=1.0, acceleration_noise=1.0, rate=1.0)
    out = [float(f(z)) for z in (0.0, 1.0, 2.0)]
    np.testing.assert_allclose(out, [0.0, 0.692308, 1.797235], atol=1e-6)
    assert f.x is not None and float(f.x[1]) == pytest.approx(0.921659, abs=1e-6)


def test_kalman_matches_the_matrix_form_with_varying_steps_and_scales() -> None:
    """The per-element algebra against the textbook matrix recursion (F, Q, H, R), irregular timestamps."""
    rng = np.random.default_rng(1)
    f = ConstantVelocityKalman(measurement_noise=0.05, acceleration_noise=3.0, rate=None)
    times = np.cumsum(rng.uniform(0.02, 0.1, 20))
    scales = rng.uniform(20.0, 80.0, 20)
    zs = np.cumsum(rng.normal(0, 2, (20, 3)), axis=0)
    x = np.stack([zs[0], np.zeros(3)])  # (2, 3): one column per element
    p = np.array([[(0.05 * scales[0]) ** 2, 0.0], [0.0, (scales[0] * 30.0) ** 2]])  # rate None: 30 Hz for P_11
    np.testing.assert_allclose(f(zs[0], times[0], scale=scales[0]), zs[0])
    for t0, t1, z, s in zip(times[:-1], times[1:], zs[1:], scales[1:]):
        dt = t1 - t0
        F = np.array([[1.0, dt], [0.0, 1.0]])
        Q = (3.0 * s) ** 2 * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
        H = np.array([[1.0, 0.0]])
        x, p = F @ x, F @ p @ F.T + Q
        S = H @ p @ H.T + (0.05 * s) ** 2
        K = p @ H.T / S
        x = x + K @ (z[None] - H @ x)
        p = (np.eye(2) - K @ H) @ p
        np.testing.assert_allclose(f(z, t1, scale=s), x[0], rtol=1e-9, atol=1e-9)


def test_kalman_follows_constant_velocity_without_lag_where_one_euro_lags() -> None:
    t = np.arange(60) / 25.0
    line = 100.0 + 80.0 * t  # 80 px/s, a hand moving across a 100 px box in ~1 s
    kalman = ConstantVelocityKalman(measurement_noise=0.02, acceleration_noise=20.0, rate=25.0)
    euro = OneEuroFilter(min_cutoff=1.0, beta=0.05, rate=25.0)
    k_out = np.array([float(kalman(z, scale=100.0)) for z in line])
    e_out = np.array([float(euro(z)) for z in line])
    assert np.abs(k_out - line)[10:].max() < 1e-6  # noise-free constant velocity: exact after the start
    assert np.abs(e_out - line)[10:].mean() > 0.5  # One-Euro's low-pass trails a moving point


def test_kalman_reduces_jitter_and_restarts_after_nan() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    clean = np.stack([np.sin(2 * np.pi * 0.5 * t), np.cos(2 * np.pi * 0.3 * t)], axis=-1)[:, None, :] * 50.0
    noisy = clean + rng.normal(0.0, 1.0, clean.shape)
    # the noisy sine of the One-Euro test: at about the same jitter cut (-53 % against One-Euro's -52 %
    # with beta 0.05), the Kalman filter stays 3x closer to the curve (0.64 px against 1.87 px)
    f = ConstantVelocityKalman(measurement_noise=0.02, acceleration_noise=10.0, rate=30.0)
    smooth = np.stack([f(z, scale=50.0) for z in noisy])
    euro = OneEuroFilter(min_cutoff=1.0, beta=0.05, rate=30.0)
    euro_smooth = np.stack([euro(z) for z in noisy])
    assert mean_acceleration_error(smooth, clean) < 0.5 * mean_acceleration_error(noisy, clean)
    assert np.abs(smooth - clean)[30:].mean() < 0.5 * np.abs(euro_smooth - clean)[30:].mean()

    g = ConstantVelocityKalman(rate=10.0)
    g(np.array([0.0, 0.0]), scale=10.0)
    out = g(np.array([np.nan, 1.0]), scale=10.0)
    assert np.isnan(out[0]) and 0 < out[1] <= 1
    out = g(np.array([7.0, 2.0]), scale=10.0)
    assert out[0] == 7.0  # restarted: the first value after a gap is returned as is
    with pytest.raises(ValueError, match="^measurement_noise:"):
        ConstantVelocityKalman(measurement_noise=0.0)
    with pytest.raises(ValueError, match="^scale:"):
        g(np.array([1.0, 1.0]), scale=0.0)
    with pytest.raises(ValueError, match="^z: expected shape"):
        g(np.zeros(3), scale=10.0)


def test_smoothing_kind_kalman_reaches_the_tracker_per_task() -> None:
    from landmarks.inference.instances import FrameTracker, SmoothingOptions
    from landmarks.types import Prediction

    options = SmoothingOptions(kind="kalman", measurement_noise=0.05, per_task={"hand": {"acceleration_noise": 5.0}})
    assert options.online("hand") == {"kind": "kalman", "measurement_noise": 0.05, "acceleration_noise": 5.0}
    assert options.online("body")["acceleration_noise"] == 4.0
    with pytest.raises(ValueError, match=r"^smoothing\.kind"):
        SmoothingOptions(kind="median")
    with pytest.raises(ValueError, match=r"^smoothing\.per_task\.face\.kind"):
        SmoothingOptions(per_task={"face": {"kind": "median"}})
    # One-Euro for every task but the hand, which is Kalman filtered
    options = SmoothingOptions(kind="one_euro", per_task={"hand": {"kind": "kalman", "acceleration_noise": 5.0}})
    tracker = FrameTracker({"hand": object(), "body": object()}, fps=25.0, smoothing=options)
    for x in (30.0, 31.0, 32.0):
        out, ids = tracker(
            {n: Prediction(np.full((1, 3, 2), x, np.float32), np.ones((1, 3), np.float32)) for n in ("hand", "body")},
            np.array([[10.0, 10.0, 40.0, 40.0]]),
        )
    hand, body = tracker._keypoints["hand"], tracker._keypoints["body"]
    assert hand.kind == "kalman" and isinstance(hand.filters[int(ids[0])], ConstantVelocityKalman)
    assert body.kind == "one_euro" and isinstance(body.filters[int(ids[0])], OneEuroFilter)
    assert hand.params == {"measurement_noise": 0.02, "acceleration_noise": 5.0}
    assert 31.0 < float(out["hand"].keypoints[0, 0, 0]) <= 32.0


def test_kalman_start_speed_is_the_spread_of_a_new_tracks_velocity() -> None:
    """After the first sample the velocity variance is (start_speed * scale * rate)^2: a wider prior catches a fast
    ramp sooner; 0 is refused."""
    ramp = 10.0 * np.arange(6)  # 10 units per frame
    narrow, wide = (ConstantVelocityKalman(1.0, 1.0, rate=25.0, start_speed=s) for s in (1.0, 20.0))
    lag_narrow = [abs(float(narrow(z)) - z) for z in ramp]
    lag_wide = [abs(float(wide(z)) - z) for z in ramp]
    assert wide.p is not None and narrow.p is not None
    assert lag_wide[2] < lag_narrow[2] and lag_wide[-1] < 1.0
    with pytest.raises(ValueError, match="start_speed"):
        ConstantVelocityKalman(start_speed=0.0)
