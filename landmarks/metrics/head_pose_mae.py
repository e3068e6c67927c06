"""Head-pose metric object: Euler MAE per angle and geodesic error (degrees).

Formulas: :mod:`landmarks.metrics.head_pose` (Hopenet's AFLW2000 / BIWI protocol). :class:`PoseMAE`
keeps one row per sample (predicted ``prediction.extras["euler"]`` and ground truth
``meta["euler"]``, ``(B, 3)`` yaw, pitch, roll) and computes once on every process's rows:

* ``mae`` (mean of the per-angle MAEs), ``mae_yaw``, ``mae_pitch``, ``mae_roll`` over the labelled
  samples with all ``|angle| <= max_abs``; ``mae_excluded`` counts labelled samples left out;
* ``geodesic``: mean rotation angle between prediction and ground truth on the same samples.

Samples without a pose label (nan angles, e.g. a landmarks-only source) are left out. The
per-sample errors are kept for evaluate's reports (:meth:`PoseMAE.records`, :meth:`PoseMAE.error_curves`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from landmarks.geometry import euler_to_matrix
from landmarks.metrics.head_pose import ANGLE_NAMES, MAX_ABS_ANGLE, geodesic_mae, pose_mae, pose_valid
from landmarks.metrics.samples import ArrayLike, SampleMetric, meta_value
from landmarks.types import Prediction


class PoseMAE(SampleMetric):
    """Euler-angle MAE and geodesic error.

    Args:
        max_abs: samples with any ``|ground-truth angle| > max_abs`` degrees are excluded (99: Hopenet).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "mae"
    report_name = "errors"
    higher_is_better = False
    fields = {"pred": torch.float64, "gt": torch.float64}

    def __init__(self, max_abs: float = MAX_ABS_ANGLE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_abs = float(max_abs)
        self._errors: dict[str, np.ndarray] = {}

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        if "euler" not in pred.extras:
            raise ValueError("PoseMAE.update: the prediction has no extras['euler'] (a head-pose task's output)")
        gt = torch.as_tensor(meta_value(meta, "euler", "PoseMAE")).reshape(-1, 3)
        return {"pred": pred.extras["euler"], "gt": gt}

    def compute(self) -> dict[str, float]:
        """The metrics of the module docstring; ``{}`` before any update or without a labelled sample."""
        s = self.samples()
        if s is None:
            return {}
        pred, gt = s["pred"], s["gt"]
        err = np.abs(pred - gt)
        used = np.isfinite(gt).all(axis=1) & pose_valid(gt, self.max_abs)
        self.last_records = {
            **{f"gt_{a}": gt[:, j] for j, a in enumerate(ANGLE_NAMES)},
            **{f"pred_{a}": pred[:, j] for j, a in enumerate(ANGLE_NAMES)},
            **{f"err_{a}": err[:, j] for j, a in enumerate(ANGLE_NAMES)},
            "in_metric": used.astype(np.float64),
        }
        self._errors = {a: err[used, j] for j, a in enumerate(ANGLE_NAMES)}
        labelled = np.all(np.isfinite(gt), axis=1)
        pred, gt = pred[labelled], gt[labelled]
        if not len(gt):
            return {}
        mae = pose_mae(pred, gt, self.max_abs)
        out = {"mae": mae["mean"], "mae_excluded": mae["excluded"]}
        out.update({f"mae_{n}": mae[n] for n in ANGLE_NAMES})
        keep = pose_valid(gt, self.max_abs)
        out["geodesic"], _ = geodesic_mae(euler_to_matrix(*pred.T), euler_to_matrix(*gt.T), keep)
        return {k: float(v) for k, v in out.items()}

    def error_curves(self) -> dict[str, Any] | None:
        """``{"kind": "cdf", "series": {angle: (M,) |error| deg}, "max_error": 30}`` of the samples in the metric."""
        if not self._errors or not len(next(iter(self._errors.values()))):
            return None
        return {"kind": "cdf", "series": dict(self._errors), "max_error": 30.0}
