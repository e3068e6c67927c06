"""evaluate's pictures for keypoint tasks: PCK-versus-threshold and per-keypoint errors (CSV + PNG)."""

from __future__ import annotations

import csv
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from landmarks.eval_report import pck_curve, write_error_reports
from landmarks.layouts.spec import KeypointSpec
from landmarks.metrics.keypoints import PCKMetric
from landmarks.types import Prediction


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_pck_curve_and_per_keypoint_errors_from_the_metric(tmp_path: Path) -> None:
    spec = KeypointSpec(name="three", names=("a", "b", "c"))
    metric = PCKMetric(spec=spec, thr=0.1)
    gt = np.zeros((2, 3, 2))
    pred = gt.copy()
    # box 100 x 50: normaliser max(w, h) = 100 px
    pred[0, 0] = [3, 4]  # 5 px  -> 0.05
    pred[0, 1] = [0, 20]  # 20 px -> 0.20
    pred[1, 0] = [15, 0]  # 15 px -> 0.15
    pred[1, 1] = [6, 8]  # 10 px -> 0.10 (not < 0.1: wrong at thr 0.1)
    visible = np.array([[1, 1, 0], [1, 1, 0]], dtype=np.float32)  # 'c' never labelled
    meta = {
        "keypoints": gt,
        "visible": visible,
        "bbox": np.array([[0, 0, 100, 50]] * 2, dtype=float),
        "index": np.arange(2),
    }
    metric.update(Prediction(keypoints=pred, scores=np.ones((2, 3))), meta)
    assert metric.compute()["pck"] == pytest.approx(0.25)  # 1 of 4 labelled keypoints within 0.1 (mean over a, b)

    written = write_error_reports({"body": SimpleNamespace(metrics={"pck": metric})}, str(tmp_path))
    names = sorted(Path(p).name for p in written)
    assert names == [
        "body_keypoint_errors.csv",
        "body_keypoint_errors.png",
        "body_pck.csv",
        "body_pck_curve.csv",
        "body_pck_curve.png",
    ]
    curve = {float(t): float(v) for t, v in _rows(tmp_path / "body_pck_curve.csv")[1:]}
    assert curve[0.0] == 0.0
    assert curve[0.1] == pytest.approx(0.25)  # errors 0.05 | 0.10 0.15 0.20
    assert curve[0.16] == pytest.approx(0.75)
    assert curve[0.2] == pytest.approx(0.75)  # strict <: 0.20 is not yet correct
    per_kp = _rows(tmp_path / "body_keypoint_errors.csv")
    assert per_kp[0] == ["keypoint", "mean_error", "pck@0.1", "count"]
    assert per_kp[1][0] == "a" and float(per_kp[1][1]) == pytest.approx(0.10) and float(per_kp[1][2]) == 0.5
    assert per_kp[2][0] == "b" and float(per_kp[2][1]) == pytest.approx(0.15) and float(per_kp[2][2]) == 0.0
    assert per_kp[3][0] == "c" and per_kp[3][1] == "nan" and per_kp[3][3] == "0"
    records = _rows(tmp_path / "body_pck.csv")
    assert records[0] == ["sample", "err_a", "err_b", "err_c"]
    assert [float(v) for v in records[1][1:3]] == [5.0, 20.0] and records[1][3] == "nan"
    assert (tmp_path / "body_pck_curve.png").stat().st_size > 1000


def test_pck_curve_without_labels_is_nan() -> None:
    assert np.isnan(pck_curve(np.full((2, 3), np.nan), np.array([0.1, 0.2]))).all()
    np.testing.assert_allclose(pck_curve(np.array([[0.05, 0.3]]), np.array([0.0, 0.1, 0.5])), [0.0, 0.5, 1.0])
