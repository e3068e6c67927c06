"""Scale calibration: exact expectations, a Monte-Carlo draw from the fitted distribution, rotation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landmarks.metrics.calibration import (
    FittedResidualDensity,
    ScaleCalibration,
    expected_axis_coverage,
    expected_coverage,
    fitted_coverage,
)
from landmarks.types import Prediction


def test_expectations_by_hand() -> None:
    # Laplace: |r_x| + |r_y| ~ Gamma(2, 1): 1 - (1 + t) e^-t
    assert expected_coverage(1.0) == pytest.approx(1 - 2 / math.e)  # 0.2642
    assert expected_coverage(2.0) == pytest.approx(1 - 3 / math.e**2)  # 0.5940
    assert expected_axis_coverage(1.0) == pytest.approx(1 - 1 / math.e)  # 0.6321
    # Gaussian: Rayleigh 1 - exp(-t^2 / 2); one axis erf(1 / sqrt 2)
    assert expected_coverage(1.0, "gaussian") == pytest.approx(0.393469, abs=1e-6)
    assert expected_coverage(2.0, "gaussian") == pytest.approx(0.864665, abs=1e-6)
    assert expected_axis_coverage(1.0, "gaussian") == pytest.approx(0.682689, abs=1e-6)


def _update(metric: ScaleCalibration, pred: np.ndarray, gt: np.ndarray, scale: np.ndarray, rot: np.ndarray) -> None:
    n, k = gt.shape[:2]
    meta = {
        "keypoints": torch.from_numpy(gt),
        "visible": torch.full((n, k), 2.0),
        "rot": torch.from_numpy(rot),
        "index": torch.arange(n),
    }
    metric.update(Prediction(pred, np.ones((n, k), np.float32), {"scale": scale}), meta)


@pytest.mark.parametrize("base", ["laplace", "gaussian"])
def test_monte_carlo_draw_matches_the_expectation(base: str) -> None:
    """Errors drawn from the fitted distribution (anisotropic scales, rotated crops) cover as expected."""
    rng = np.random.default_rng(0)
    n, k = 4000, 5
    scale = rng.uniform(0.5, 8.0, size=(n, k, 2))  # crop-axis scales, image px
    unit = rng.laplace(size=(n, k, 2)) if base == "laplace" else rng.normal(size=(n, k, 2))
    crop_err = unit * scale
    rot = rng.uniform(-40, 40, size=n)
    rad = np.deg2rad(rot)[:, None]
    cos, sin = np.cos(rad), np.sin(rad)  # image error = R(rot) crop error
    err = np.stack(
        [cos * crop_err[..., 0] - sin * crop_err[..., 1], sin * crop_err[..., 0] + cos * crop_err[..., 1]], -1
    )
    gt = rng.uniform(0, 200, size=(n, k, 2))
    metric = ScaleCalibration(base=base)
    _update(metric, gt + err, gt, scale, rot)
    out = metric.compute()
    se = 3.0 * math.sqrt(0.25 / (n * k))  # 3 standard errors of a fraction
    for t in (1, 2):
        assert out[f"cover@{t}_expected"] == pytest.approx(expected_coverage(t, base))
        assert abs(out[f"cover@{t}"] - out[f"cover@{t}_expected"]) < se, (t, out)
    assert abs(out["cover_axis@1"] - out["cover_axis@1_expected"]) < se
    # scales twice too small (over-confident) cover far less
    metric.reset()
    _update(metric, gt + err, gt, scale / 2, rot)
    assert metric.compute()["cover@1"] < expected_coverage(1.0, base) - 0.1


def test_error_is_measured_in_the_crop_axes() -> None:
    """Error (3, 0) image px, scales (4, 1): unrotated r = (0.75, 0); crop turned 90 degrees: r = (0, -3)."""
    gt = np.zeros((1, 1, 2))
    pred = np.array([[[3.0, 0.0]]])
    scale = np.array([[[4.0, 1.0]]])
    plain = ScaleCalibration()
    _update(plain, pred, gt, scale, np.zeros(1))
    assert plain.compute() == pytest.approx(
        {
            "cover@1": 1.0,
            "cover@2": 1.0,
            "cover@1_expected": 1 - 2 / math.e,
            "cover@2_expected": 1 - 3 / math.e**2,
            "cover_axis@1": 1.0,
            "cover_axis@1_expected": 1 - 1 / math.e,
        }
    )
    turned = ScaleCalibration()
    _update(turned, pred, gt, scale, np.array([90.0]))
    out = turned.compute()
    assert out["cover@1"] == 0.0 and out["cover@2"] == 0.0 and out["cover_axis@1"] == 0.5


def test_unlabelled_keypoints_are_left_out_and_missing_scale_is_named() -> None:
    metric = ScaleCalibration()
    gt = np.zeros((1, 2, 2))
    pred = np.array([[[0.5, 0.0], [100.0, 100.0]]])
    meta = {"keypoints": gt, "visible": np.array([[2.0, 0.0]]), "rot": np.zeros(1)}
    metric.update(Prediction(pred, np.ones((1, 2)), {"scale": np.ones((1, 2, 2))}), meta)
    assert metric.compute()["cover@1"] == 1.0
    with pytest.raises(ValueError, match=r"extras\['scale'\]"):
        ScaleCalibration().update(Prediction(pred, np.ones((1, 2))), meta)
    with pytest.raises(ValueError, match="base"):
        ScaleCalibration(base="cauchy")


@pytest.mark.parametrize("base", ["laplace", "gaussian"])
def test_fitted_coverage_of_the_bare_base_is_the_closed_form(base: str) -> None:
    """Without a flow the fitted density is ``Q`` itself: the grid integral gives 1 - (1 + t) e^-t (Laplace)."""
    from landmarks.losses.rle import RLELoss

    loss = RLELoss(flow=False, base=base)
    got = fitted_coverage(loss.residual_log_density, (1.0, 2.0), base)
    for t in (1.0, 2.0):
        assert got[t] == pytest.approx(expected_coverage(t, base), abs=1e-3)


def test_fitted_coverage_with_the_untrained_flow_against_scipy() -> None:
    """Zero-initialised flow: G is the standard normal, so the fitted density is prop. to
    exp(-|x| - x^2/2) exp(-|y| - y^2/2); P(|x| + |y| <= t) by scipy's dblquad."""
    from scipy import integrate

    from landmarks.losses.rle import RLELoss

    def f(y: float, x: float) -> float:
        return math.exp(-abs(x) - x * x / 2 - abs(y) - y * y / 2)

    total = integrate.quad(lambda x: math.exp(-abs(x) - x * x / 2), -12, 12, points=[0.0])[0] ** 2
    got = fitted_coverage(RLELoss(flow=True).residual_log_density, (1.0, 2.0))
    for t in (1.0, 2.0):
        inside = 4 * integrate.dblquad(f, 0, t, 0, lambda x, t=t: t - x)[0]  # the four quadrants alike
        assert got[t] == pytest.approx(inside / total, abs=1e-3)
    assert got[1.0] > expected_coverage(1.0) + 0.05  # G narrows Q: more mass within one scale


def test_the_rle_task_hands_its_flow_to_the_calibration_metric() -> None:
    """``cover@t_fitted`` appears when the task's loss has a flow, and equals fitted_coverage of that flow."""
    from landmarks.codecs.rle import RLECodec
    from landmarks.heads.rle import RLEHead
    from landmarks.layouts.spec import coco17
    from landmarks.losses.rle import RLELoss
    from landmarks.rle_task import RLEKeypointTask

    loss = RLELoss(flow=True)
    task = RLEKeypointTask(spec=coco17(), codec=RLECodec(input_size=(64, 96)), head=RLEHead, loss=loss, name="body")
    metric = next(m for m in task.metric_objects() if isinstance(m, ScaleCalibration))
    assert metric.fitted_log_density is not None
    gt = np.zeros((2, 17, 2))
    _update(metric, gt + 0.5, gt, np.ones((2, 17, 2)), np.zeros(2))
    out = metric.compute()
    assert out["cover@1_fitted"] == pytest.approx(fitted_coverage(loss.residual_log_density, (1.0,))[1.0])
    assert not any(k.endswith("_fitted") for k in _computed_plain())


def _computed_plain() -> dict[str, float]:
    plain = ScaleCalibration()
    gt = np.zeros((1, 1, 2))
    _update(plain, gt, gt, np.ones((1, 1, 2)), np.zeros(1))
    return plain.compute()


def test_fitted_regions_hold_their_mass_of_errors_drawn_from_the_fitted_density() -> None:
    """Laplace errors, a flow-free fitted density: the observed fraction inside its 50 % / 90 % regions is
    0.5 / 0.9, and the regions are the Gamma(2, 1) quantiles (1 - (1 + t) e^-t = q)."""
    from scipy import optimize

    from landmarks.losses.rle import RLELoss

    density = FittedResidualDensity(RLELoss(flow=False).residual_log_density)
    for q in (0.5, 0.9):
        exact = optimize.brentq(lambda t, q=q: expected_coverage(t) - q, 0.01, 20)
        assert density.quantile(q) == pytest.approx(exact, abs=0.02)
    rng = np.random.default_rng(1)
    n, k = 3000, 4
    scale = rng.uniform(1.0, 5.0, size=(n, k, 2))
    gt = np.zeros((n, k, 2))
    metric = ScaleCalibration()
    metric.fitted_log_density = RLELoss(flow=False).residual_log_density
    _update(metric, gt + rng.laplace(size=(n, k, 2)) * scale, gt, scale, np.zeros(n))
    out = metric.compute()
    se = 3.0 * math.sqrt(0.25 / (n * k))
    assert abs(out["cover_fitted@50"] - 0.5) < se and abs(out["cover_fitted@90"] - 0.9) < se, out
    with pytest.raises(ValueError, match="level"):
        density.quantile(1.0)
    with pytest.raises(ValueError, match="fitted_levels"):
        ScaleCalibration(fitted_levels=(0.5, 1.0))
