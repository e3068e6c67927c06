"""Tests for face-alignment (NME, CED, FR, AUC) and head-pose (MAE, geodesic) metrics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import simpson

from landmarks.geometry import euler_to_matrix
from landmarks.metrics.face import (
    box_size,
    ced,
    face_nme,
    fr_auc,
    inter_ocular,
    inter_pupil,
    nme_by_yaw,
    nme_per_sample,
)
from landmarks.metrics.functional import auc_from_errors
from landmarks.metrics.head_pose import geodesic_errors, geodesic_mae, pose_mae, pose_valid


def _face(k: int) -> np.ndarray:
    """(1, K, 2) toy face: every point at (50, 50) except the eyes and a few extremes."""
    pts = np.full((1, k, 2), 50.0)
    if k == 68:
        pts[0, 36:42] = [[10, 40], [14, 38], [18, 38], [22, 40], [18, 42], [14, 42]]  # right eye, centre (16, 40)
        pts[0, 42:48] = [[58, 40], [62, 38], [66, 38], [70, 40], [66, 42], [62, 42]]  # left eye, centre (64, 40)
    else:
        pts[0, 60:68] = [[10, 40], [12, 38], [16, 37], [20, 38], [22, 40], [20, 42], [16, 43], [12, 42]]
        pts[0, 68:76] = [[58, 40], [60, 38], [64, 37], [68, 38], [70, 40], [68, 42], [64, 43], [60, 42]]
        pts[0, 96], pts[0, 97] = [17, 40], [63, 40]
    pts[0, 0], pts[0, 8] = [0, 30], [50, 90]  # widest / lowest points: box 70 x 60
    return pts


def test_normalisers_68() -> None:
    gt = _face(68)
    assert inter_ocular(gt)[0] == pytest.approx(60.0)  # 36 (10, 40) - 45 (70, 40)
    assert inter_pupil(gt)[0] == pytest.approx(48.0)  # eye-contour means (16, 40) - (64, 40)
    assert box_size(gt)[0] == pytest.approx(math.sqrt(70 * 60))
    mask = np.ones((1, 68), dtype=bool)
    mask[0, 36] = False  # an unlabelled corner: no inter-ocular distance; the eye centre uses 37-41
    assert np.isnan(inter_ocular(gt, mask)[0])
    assert inter_pupil(gt, mask)[0] == pytest.approx(64.0 - np.mean([14, 18, 22, 18, 14]))


def test_normalisers_98() -> None:
    gt = _face(98)
    assert inter_ocular(gt)[0] == pytest.approx(60.0)  # 60 - 72
    assert inter_pupil(gt)[0] == pytest.approx(46.0)  # pupils 96, 97
    assert inter_pupil(gt, use_pupil_points=False)[0] == pytest.approx(48.0)  # contour means 16 and 64
    with pytest.raises(ValueError, match="K=19"):
        inter_ocular(np.zeros((1, 19, 2)))


def test_nme_hand_computed() -> None:
    gt = _face(68)
    pred = gt.copy()
    pred[0, 10] += [3.0, 4.0]  # 5 px on one of 68 landmarks
    pred[0, 20] += [6.0, 8.0]  # 10 px
    assert face_nme(pred, gt)[0] == pytest.approx(15.0 / 68 / 60.0)
    assert face_nme(pred, gt, norm="box")[0] == pytest.approx(15.0 / 68 / math.sqrt(4200))
    mask = np.ones((1, 68), dtype=bool)
    mask[0, 20] = False
    assert face_nme(pred, gt, mask)[0] == pytest.approx(5.0 / 67 / 60.0)
    pred[0, 11] = np.nan  # a missing prediction of a labelled landmark is a failure
    assert np.isinf(face_nme(pred, gt)[0])
    assert np.isnan(nme_per_sample(pred, gt, np.array([0.0]))[0])  # invalid normaliser
    with pytest.raises(ValueError, match="norm must be one of"):
        face_nme(pred, gt, norm="diag")


def test_fr_and_auc_hand_computed() -> None:
    nmes = np.array([0.02005, 0.05005, 0.2])
    fr, auc_trap = fr_auc(nmes, rule="trapezoid")
    assert fr == pytest.approx(1 / 3)
    # CED = 1/3 from 0.02005 and 2/3 from 0.05005: integral (0.07995 + 0.04995) / 3 over 0.1.
    assert auc_trap == pytest.approx((0.07995 + 0.04995) / 3 / 0.1, abs=1e-12)
    assert auc_trap == pytest.approx(auc_from_errors(nmes, 0.1, 1e-4))
    # Simpson on the grid 0..0.1 step 1e-4: weights h/3 [1, 4, 2, ..., 4, 1]; the jumps land on grid
    # points 201 and 501, so the sums of weights from there are 2399 and 1499.
    _, auc_simp = fr_auc(nmes)
    assert auc_simp == pytest.approx((2399 + 1499) * 1e-4 / 3 / 3 / 0.1, abs=1e-12)
    xs = np.linspace(0, 0.1, 1001)
    assert auc_simp == pytest.approx(simpson((nmes[None] <= xs[:, None]).mean(1), x=xs) / 0.1)
    assert abs(auc_simp - auc_trap) < 1e-3
    assert fr_auc(np.array([0.0, 0.0])) == (0.0, pytest.approx(1.0))
    assert fr_auc(np.array([np.inf, 0.0]), rule="trapezoid") == (0.5, pytest.approx(0.5))
    with pytest.raises(ValueError, match="nan"):
        fr_auc(np.array([np.nan, 0.1]))


def test_ced_grid() -> None:
    xs, ys = ced(np.array([0.01, 0.03]), thr=0.05, step=1e-4)
    assert xs.shape == (501,) and xs[-1] == 0.05  # np.arange(0, 0.05 + 1e-4, 1e-4) would give 502 points
    assert ys[0] == 0.0 and ys[-1] == 1.0 and ys[np.searchsorted(xs, 0.02)] == 0.5


def test_nme_by_yaw() -> None:
    nmes = np.array([0.01, 0.03, 0.05, 0.02, 0.04, 0.06])
    yaw = np.array([5.0, -29.9, 30.0, -60.0, 90.0, 95.0])
    out = nme_by_yaw(nmes, yaw)
    assert out["0-30"] == (pytest.approx(0.02), 2)
    assert out["30-60"] == (pytest.approx(0.05), 1)
    assert out["60-90"] == (pytest.approx(0.03), 2)
    assert out["excluded"][1] == 1  # |yaw| = 95 is outside every band


def test_pose_mae_hand_computed() -> None:
    gt = np.array([[10.0, 0.0, -5.0], [-30.0, 20.0, 0.0], [120.0, 0.0, 0.0], [179.0, 0.0, 0.0]])
    pred = np.array([[12.0, 1.0, -5.0], [-26.0, 20.0, 3.0], [0.0, 0.0, 0.0], [-179.0, 0.0, 0.0]])
    out = pose_mae(pred, gt)
    assert (out["yaw"], out["pitch"], out["roll"]) == (pytest.approx(3.0), pytest.approx(0.5), pytest.approx(1.5))
    assert out["mean"] == pytest.approx(5.0 / 3.0)
    assert (out["count"], out["excluded"]) == (2, 2)  # |yaw| 120 and 179 > 99
    everything = pose_mae(pred, gt, max_abs=None)
    assert everything["yaw"] == pytest.approx((2 + 4 + 120 + 358) / 4)  # plain difference, no wrap
    assert pose_valid(gt).tolist() == [True, True, False, False]


def test_geodesic_metrics() -> None:
    gt = euler_to_matrix(np.array([0.0, 10.0, 0.0]), np.array([0.0, 0.0, 20.0]), np.zeros(3))
    pred = euler_to_matrix(np.array([5.0, 10.0, 0.0]), np.array([0.0, 0.0, 20.0]), np.array([0.0, 0.0, 7.0]))
    np.testing.assert_allclose(geodesic_errors(pred, gt), [5.0, 0.0, 7.0], atol=1e-6)
    assert geodesic_mae(pred, gt) == (pytest.approx(4.0), 3)
    assert geodesic_mae(pred, gt, np.array([True, True, False])) == (pytest.approx(2.5), 2)


def test_real_wflw_and_300w(realdata: Path) -> None:
    for rel, k in (("wflw/test_wflw.json", 98), ("300w/test_300w.json", 68)):
        anns = json.loads((realdata / rel).read_text())["annotations"]
        gt = np.stack([np.asarray(a["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2] for a in anns])
        assert gt.shape[1] == k
        np.testing.assert_array_equal(face_nme(gt, gt), 0.0)
        shift = gt + [2.0, 0.0]  # every landmark 2 px off: NME = 2 / inter-ocular distance
        np.testing.assert_allclose(face_nme(shift, gt), 2.0 / inter_ocular(gt))
        assert np.all(inter_ocular(gt) > inter_pupil(gt, use_pupil_points=False))  # corners lie outside centres


def test_wflw_attribute_subsets_are_reported_per_flag() -> None:
    from landmarks.metrics.face_nme import FaceNME
    from landmarks.types import Prediction

    rng = np.random.default_rng(0)
    gt = rng.uniform(20, 80, size=(4, 98, 2))
    errors = np.array([1.0, 2.0, 3.0, 4.0])
    pred = gt + errors[:, None, None] / np.sqrt(2.0)  # per-point error = errors[i] px
    flags = np.zeros((4, 6))
    flags[[0, 1], 0] = 1  # pose subset: faces 0 and 1
    flags[3, 4] = 1  # occlusion subset: face 3
    metrics = FaceNME(norm="box")
    metrics.update(
        Prediction(pred, np.ones((4, 98))), {"keypoints": gt, "visible": np.full((4, 98), 2.0), "attributes": flags}
    )
    out = metrics.compute()
    box = np.sqrt(np.prod(gt.max(axis=1) - gt.min(axis=1), axis=1))
    assert out["nme_pose"] == pytest.approx(np.mean(errors[:2] / box[:2]))
    assert out["nme_occlusion"] == pytest.approx(errors[3] / box[3])
    assert "nme_blur" not in out  # empty subsets are not reported
