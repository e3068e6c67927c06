"""Face-alignment metric object: NME (box / inter-ocular / inter-pupil), FR, AUC and subsets.

Formulas: :mod:`landmarks.metrics.face` (NME, CED, FR / AUC, yaw bands) and
:mod:`landmarks.metrics.face_subsets` (WFLW attribute subsets). :class:`FaceNME` keeps one row
per face (prediction, ground truth, visibility, ground-truth Euler angles and WFLW attribute
flags when the data has them) and computes, once on the rows of every process (fractions):

* ``nme``: the monitored NME, normalised by ``norm`` (default ``"box"``: ``sqrt(w * h)`` of the
  ground-truth landmark box, the AFLW2000-3D protocol);
* ``nme_box``, ``nme_io`` (outer eye corners), ``nme_ip`` (eye centres) (``io`` / ``ip`` only for
  68 and 98 points; faces whose normaliser is not labelled are left out of that mean);
* ``fr`` / ``auc``: FR@``fail_thr`` and AUC@``fail_thr`` of the ``nme`` CED;
* with head-pose labels: ``nme_yaw_0_30`` .. ``nme_yaw_60_90`` and ``nme_io_frontal``;
* with WFLW attribute flags: ``nme_pose``, ``nme_expression``, ... ``nme_blur``.

Faces without landmark labels (all ``visible == 0``) are left out of every metric. The
per-face NMEs behind the numbers are kept for evaluate's reports (:meth:`FaceNME.records`,
:meth:`FaceNME.error_curves`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from landmarks.data.formats.wflw import WFLW_ATTRIBUTES
from landmarks.layouts.spec import KeypointSpec
from landmarks.metrics.face import INTER_OCULAR, NORMS, face_nme, fr_auc, nme_by_yaw
from landmarks.metrics.face_subsets import nme_by_attribute
from landmarks.metrics.samples import KEYPOINT_FIELDS, ArrayLike, SampleMetric, keypoint_rows
from landmarks.types import Prediction


class FaceNME(SampleMetric):
    """The face metrics of the module docstring.

    Args:
        spec: the task's layout (unused; accepted so every keypoint metric is built alike).
        norm: normaliser of the monitored ``nme``: ``"box"``, ``"io"`` or ``"ip"``.
        fail_thr: FR / AUC threshold on ``nme``.
        frontal_yaw: ``|yaw|`` limit, degrees, of the faces that ``nme_io_frontal`` averages.
        yaw_bands: ``|yaw|`` bands, degrees, of the ``nme_yaw_*`` metrics.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "nme"
    higher_is_better = False
    fields = {**KEYPOINT_FIELDS, "euler": torch.float64, "attributes": torch.float64}

    def __init__(
        self,
        spec: KeypointSpec | None = None,
        norm: str = "box",
        fail_thr: float = 0.1,
        frontal_yaw: float = 30.0,
        yaw_bands: Sequence[Sequence[float]] = ((0, 30), (30, 60), (60, 90)),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if norm not in NORMS:
            raise ValueError(f"face metrics: norm must be one of {sorted(NORMS)}, got {norm!r}")
        self.norm, self.fail_thr, self.frontal_yaw = norm, float(fail_thr), float(frontal_yaw)
        self.yaw_bands = tuple((float(lo), float(hi)) for lo, hi in yaw_bands)
        self._curves: dict[str, np.ndarray] = {}

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        b = len(pred.keypoints)
        euler = meta["euler"] if "euler" in meta else np.full((b, 3), np.nan)
        attributes = meta["attributes"] if "attributes" in meta else np.full((b, len(WFLW_ATTRIBUTES)), np.nan)
        return {
            **keypoint_rows(pred, meta, "FaceNME"),
            "euler": euler,
            "attributes": attributes,
        }

    def compute(self) -> dict[str, float]:
        """The metrics (fractions); ``{}`` before any update or when no face has landmark labels."""
        s = self.samples()
        if s is None:
            return {}
        pred, gt, mask = s["pred"], s["gt"], s["visible"] > 0
        names = [self.norm] + [n for n in NORMS if n != self.norm]
        names = [n for n in names if n == "box" or gt.shape[1] in INTER_OCULAR]
        if self.norm not in names:
            raise ValueError(f"face metrics: norm={self.norm!r} needs 68 or 98 landmarks, got K={gt.shape[1]}")
        nmes = {n: face_nme(pred, gt, mask, NORMS[n]) for n in names}  # nan: no landmark label
        self.last_records = {f"nme_{n}": v for n, v in nmes.items()}
        self.last_records.update(
            {f"gt_{a}": s["euler"][:, j] for j, a in enumerate(("yaw", "pitch", "roll"))}
        )  # nan: no pose label
        self._curves = {n: v for n, v in nmes.items()}
        keep = mask.any(axis=1)  # faces with landmark labels
        if not keep.any():
            return {}
        nmes = {n: v[keep] for n, v in nmes.items()}
        euler, attributes = s["euler"][keep], s["attributes"][keep]
        out = {f"nme_{n}": _nanmean(v) for n, v in nmes.items()}
        main = nmes[self.norm]
        out["nme"] = _nanmean(main)
        out["fr"], out["auc"] = fr_auc(main[~np.isnan(main)], self.fail_thr)
        yaw = euler[:, 0]
        if np.isfinite(yaw).any():
            for band, (value, count) in nme_by_yaw(main, yaw, self.yaw_bands).items():
                if band != "excluded" and count > 0:
                    out["nme_yaw_" + band.replace("-", "_")] = value
            frontal = np.abs(yaw) <= self.frontal_yaw
            if "io" in nmes and frontal.any():
                out["nme_io_frontal"] = _nanmean(nmes["io"][frontal])
        if attributes.shape[1] == len(WFLW_ATTRIBUTES) and np.isfinite(attributes).all():  # the WFLW protocol
            for name, (value, count) in nme_by_attribute(main, attributes, WFLW_ATTRIBUTES).items():
                if name not in ("full", "excluded") and count > 0:
                    out["nme_" + name.replace("-", "")] = value
        return {k: float(v) for k, v in out.items()}

    def error_curves(self) -> dict[str, Any] | None:
        """The CED curves of the last ``compute``: ``{"kind": "ced", "series": {norm: (N,) NME}, "thr"}``."""
        if not self._curves:
            return None
        return {"kind": "ced", "series": dict(self._curves), "thr": self.fail_thr}


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")
