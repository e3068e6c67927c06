"""Head-pose rotations: smoothed on unit quaternions (never per Euler angle) with their own filter, parameters
in degrees (``smoothing.rotation``); the quaternion conversions they rely on."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.geometry import euler_to_matrix, geodesic_distance
from landmarks.inference.quaternion import matrix_to_quaternion, quaternion_to_matrix
from landmarks.inference.smoothing import RotationSmoother


def test_rotation_smoother_across_plus_minus_180() -> None:
    # roll 170 .. 179 -> -179 .. -170 is a smooth turn through 180; per-angle smoothing would average
    # +179 and -179 to about 0. On quaternions every output stays near 180.
    rs = RotationSmoother(min_cutoff=1.0, rate=30.0)
    rolls = [170.0, 175.0, 179.0, -179.0, -175.0, -170.0]
    out = [rs(0.0, 0.0, r)[2] for r in rolls]
    assert all(abs(float(r)) > 169.0 for r in out)
    # yaw 179 -> -179: the convention keeps yaw in [-90, 90], so compare rotations, not numbers
    rs = RotationSmoother(min_cutoff=1.0, rate=30.0)
    for yaw in (178.0, 179.0, -179.0, -178.0):
        y, p, r = rs(yaw, 0.0, 0.0)
    smoothed = euler_to_matrix(y, p, r)
    assert float(geodesic_distance(smoothed, euler_to_matrix(180.0, 0.0, 0.0))) < 3.0
    assert float(geodesic_distance(smoothed, euler_to_matrix(0.0, 0.0, 0.0))) > 170.0


def test_rotation_smoother_keeps_a_constant_pose() -> None:
    rs = RotationSmoother(min_cutoff=0.5, beta=0.1)
    for _ in range(3):
        y, p, r = rs(np.array([30.0, -60.0]), np.array([-20.0, 5.0]), np.array([10.0, 170.0]))
    np.testing.assert_allclose(np.stack([y, p, r], -1), [[30.0, -20.0, 10.0], [-60.0, 5.0, 170.0]], atol=1e-9)


def test_quaternion_round_trip() -> None:
    rng = np.random.default_rng(1)
    angles = rng.uniform([-90, -180, -180], [90, 180, 180], size=(200, 3))
    rot = euler_to_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
    q = matrix_to_quaternion(rot)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1.0)
    np.testing.assert_allclose(quaternion_to_matrix(q), rot, atol=1e-12)
    np.testing.assert_allclose(
        matrix_to_quaternion(euler_to_matrix(0.0, 0.0, 90.0)), [np.sqrt(0.5), 0, 0, np.sqrt(0.5)]
    )


def test_rotation_kalman_follows_a_steady_turn_where_the_low_pass_lags() -> None:
    """A head turning at 90 deg/s (30 fps, no noise): the constant-velocity Kalman filter on the quaternion
    (parameters in degrees) converges onto the turn, where One-Euro trails."""
    yaws = -60.0 + 3.0 * np.arange(40)  # 3 degrees per frame
    kalman = RotationSmoother(kind="kalman", measurement_noise=4.0, acceleration_noise=300.0, rate=30.0)
    one_euro = RotationSmoother(kind="one_euro", min_cutoff=1.0, beta=0.05, rate=30.0)
    lag_k = [abs(float(kalman(y, 10.0, 0.0)[0]) - y) for y in yaws][-10:]
    lag_e = [abs(float(one_euro(y, 10.0, 0.0)[0]) - y) for y in yaws][-10:]
    assert max(lag_k) < 0.25 and min(lag_e) > 1.5  # One-Euro: 2 degrees behind (beta in s / degree now)


def test_rotation_filter_options_are_in_degrees_and_checked() -> None:
    from landmarks.inference.instances import ROTATION_DEFAULTS, SmoothingOptions

    assert SmoothingOptions().rotation_filter() == {
        "kind": "one_euro",
        "min_cutoff": ROTATION_DEFAULTS["min_cutoff"],
        "beta": ROTATION_DEFAULTS["beta"],
        "d_cutoff": ROTATION_DEFAULTS["d_cutoff"],
    }
    kalman = SmoothingOptions(rotation={"kind": "kalman", "acceleration_noise": 500.0}).rotation_filter()
    assert kalman == {
        "kind": "kalman",
        "measurement_noise": ROTATION_DEFAULTS["measurement_noise"],
        "acceleration_noise": 500.0,
    }
    options = SmoothingOptions(kind="kalman", rotation={"kind": "one_euro", "beta": 0.5})
    assert options.rotation_filter() == {"kind": "one_euro", "min_cutoff": 2.0, "beta": 0.5, "d_cutoff": 1.0}
    assert options.rotation_kind == "one_euro" and options.kind_of("body") == "kalman"
    with pytest.raises(ValueError, match=r"smoothing\.rotation: unknown.*'sigma'"):
        SmoothingOptions(rotation={"sigma": 1.0})
    with pytest.raises(ValueError, match=r"smoothing\.rotation\.kind"):
        SmoothingOptions(rotation={"kind": "median"})
    with pytest.raises(ValueError, match=r"smoothing\.rotation\.kind"):
        RotationSmoother(kind="median")


def test_rotation_smoother_keeps_the_sign_across_a_missing_sample() -> None:
    rs = RotationSmoother(kind="kalman", measurement_noise=4.0, acceleration_noise=300.0)
    for roll in (175.0, 178.0, float("nan"), -178.0, -175.0):
        y, p, r = rs(0.0, 0.0, roll)
    assert abs(float(r)) > 170.0  # across +-180 and a NaN frame, still a turn near 180, not one through 0
