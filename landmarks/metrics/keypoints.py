"""Keypoint metric objects: PCK (+ EPE, AUC), PCKh (+ the MPII table), PDJ.

Each is a :class:`~landmarks.metrics.samples.SampleMetric`: it keeps per-sample rows gathered
across processes and computes once through :mod:`landmarks.metrics.functional`, where the
definitions live (PCK: mmpose ``PCKAccuracy``; PCKh: Andriluka et al., CVPR 2014 and the MPII
toolkit; PDJ: Toshev & Szegedy, DeepPose, CVPR 2014). ``update(prediction, meta)`` reads
``prediction.keypoints`` and ``meta["keypoints"]``, ``meta["visible"]`` plus one normaliser field.

A task YAML chooses them, as partials that the task completes with its layout::

    metrics:
      pck: {_target_: landmarks.metrics.keypoints.PCKMetric, _partial_: true, thr: 0.1}
      pdj: {_target_: landmarks.metrics.keypoints.PDJMetric, _partial_: true, frac: 0.2}
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from landmarks.layouts.spec import MPII16_NAMES, KeypointSpec
from landmarks.metrics import functional as F
from landmarks.metrics.samples import KEYPOINT_FIELDS, ArrayLike, SampleMetric, keypoint_rows, meta_value
from landmarks.types import Prediction

log = logging.getLogger("landmarks")


class PCKMetric(SampleMetric):
    """PCK@thr normalised by the longer side of the ground-truth box, EPE (px) and optional AUC.

    Args:
        spec: the task's layout (unused; accepted so every keypoint metric is built alike).
        thr: PCK threshold as a fraction of ``max(w, h)`` of ``meta["bbox"]``.
        auc_max_thr: when set, ``compute`` adds ``"auc"``: the PCK curve at px thresholds
            ``auc_max_thr * i / auc_num_thrs``, ``i < auc_num_thrs`` (the hand benchmark: 30, 20).
        auc_num_thrs: number of AUC thresholds.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "pck"
    higher_is_better = True
    fields = {**KEYPOINT_FIELDS, "bbox": torch.float64}

    def __init__(
        self,
        spec: KeypointSpec | None = None,
        thr: float = 0.1,
        auc_max_thr: float | None = None,
        auc_num_thrs: int = 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.thr = float(thr)
        self.spec_names = tuple(spec.names) if spec is not None else ()
        if auc_max_thr is not None and (auc_max_thr <= 0 or auc_num_thrs < 1):
            raise ValueError(
                f"PCKMetric: need auc_max_thr > 0 and auc_num_thrs >= 1, got {auc_max_thr}, {auc_num_thrs}"
            )
        self.auc_thresholds = (
            None if auc_max_thr is None else F.default_auc_thresholds(float(auc_max_thr), int(auc_num_thrs))
        )

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        return {**keypoint_rows(pred, meta, "PCKMetric"), "bbox": meta_value(meta, "bbox", "PCKMetric")}

    def compute(self) -> dict[str, float]:
        """``{"pck": mean over keypoints, "epe": px[, "auc"]}``; ``{}`` before any update."""
        s = self.samples()
        if s is None:
            return {}
        mask = s["visible"] > 0
        self._keep_records(s, mask)
        out = {
            "pck": F.pck(s["pred"], s["gt"], mask, F.bbox_norm(s["bbox"]), self.thr)[1],
            "epe": F.epe(s["pred"], s["gt"], mask),
        }
        if self.auc_thresholds is not None:
            out["auc"] = F.pck_auc(s["pred"], s["gt"], mask, self.auc_thresholds)
        return out

    def _keep_records(self, s: Mapping[str, np.ndarray], mask: np.ndarray) -> None:
        """Per-sample, per-keypoint errors for evaluate's reports (landmarks/eval_report.py)."""
        dist = np.linalg.norm(s["pred"] - s["gt"], axis=-1)  # (N, K) px
        norm = F.bbox_norm(s["bbox"])[:, None]
        self._errors = np.where(mask, dist / np.where(norm > 0, norm, np.nan), np.nan)  # (N, K) fraction of the box
        self.last_records = {
            f"err_{n}": np.where(mask[:, k], dist[:, k], np.nan) for k, n in enumerate(self._names(mask))
        }

    def _names(self, mask: np.ndarray) -> list[str]:
        names = list(self.spec_names) if self.spec_names and len(self.spec_names) == mask.shape[1] else []
        return names or [f"kp{k}" for k in range(mask.shape[1])]

    def error_curves(self) -> dict[str, Any] | None:
        """The last ``compute``'s errors: ``{"kind": "pck", "errors": (N, K) d / max(w, h) (nan: unlabelled),
        "names": K names, "thr": the PCK threshold}``; ``None`` before any compute."""
        errors = getattr(self, "_errors", None)
        if errors is None:
            return None
        return {"kind": "pck", "errors": errors, "names": self._names(np.isfinite(errors)), "thr": self.thr}


class PCKhMetric(SampleMetric):
    """PCKh@thr, normalised by the head size ``meta["head_size"]``.

    Reported only when every sample has a head size (finite, > 0); otherwise ``compute``
    returns ``{}`` and says why in the log once.

    Args:
        spec: the task's layout; with the 16 MPII joints the MPII table is reported.
        thr: fraction of the head size (0.5 for the MPII headline number).
        mpii: report :func:`landmarks.metrics.functional.pckh_mpii_table`, with ``"pckh"`` the
            MPII "Mean" (pelvis and thorax left out, as the MPII toolkit and HRNet's MPII
            evaluation); ``None``: when the layout is the MPII one (its joint names).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "pckh"
    higher_is_better = True
    fields = {**KEYPOINT_FIELDS, "head_size": torch.float64}

    def __init__(
        self, spec: KeypointSpec | None = None, thr: float = 0.5, mpii: bool | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.thr = float(thr)
        self.mpii = bool(mpii) if mpii is not None else (spec is not None and tuple(spec.names) == MPII16_NAMES)
        self._warned = False

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        return {**keypoint_rows(pred, meta, "PCKhMetric"), "head_size": meta_value(meta, "head_size", "PCKhMetric")}

    def compute(self) -> dict[str, float]:
        """``{"pckh"}``; with ``mpii`` also ``pckh@0.1`` and ``pckh_head`` .. ``pckh_ankle``, ``pckh_ubody``."""
        s = self.samples()
        if s is None:
            return {}
        head = s["head_size"]
        if not (np.isfinite(head) & (head > 0)).all():
            if not self._warned:
                log.info("PCKh not reported: %d of %d samples have no head size", int((~(head > 0)).sum()), len(head))
                self._warned = True
            return {}
        mask = s["visible"] > 0
        if not self.mpii:
            return {"pckh": F.pckh(s["pred"], s["gt"], mask, head, self.thr)[1]}
        table = F.pckh_mpii_table(s["pred"], s["gt"], mask, head, self.thr)
        out = {"pckh": table.pop("Mean"), "pckh@0.1": table.pop("Mean@0.1")}
        out.update({f"pckh_{name.lower()}": v for name, v in table.items()})
        return out


class PDJMetric(SampleMetric):
    """Percentage of Detected Joints within ``frac`` of the ground-truth torso diameter.

    The torso diameter is the distance between the layout's ``torso_pair`` (COCO: left shoulder
    - right hip, DeepPose). Persons whose torso pair is not both labelled are left out (their
    diameter would be measured to an unlabelled point, often stored at (0, 0)). A layout without
    a torso pair gets no PDJ (``compute`` returns ``{}``; logged once at construction).

    Args:
        spec: the task's layout; its ``torso_pair`` is used unless ``torso_pair`` is given.
        frac: fraction of the torso diameter (inclusive, as DeepPose).
        torso_pair: keypoint indices overriding the layout's.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "pdj"
    higher_is_better = True
    fields = KEYPOINT_FIELDS

    def __init__(
        self,
        spec: KeypointSpec | None = None,
        frac: float = 0.2,
        torso_pair: Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.frac = float(frac)
        pair = torso_pair if torso_pair is not None else (spec.torso_pair if spec is not None else ())
        self.torso_pair = (int(pair[0]), int(pair[1])) if pair else None
        if self.torso_pair is None:
            log.info("PDJ not reported: layout '%s' names no torso_pair", spec.name if spec is not None else "?")

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        return keypoint_rows(pred, meta, "PDJMetric")

    def compute(self) -> dict[str, float]:
        """``{"pdj": mean over joints}``; ``{}`` before any update or without a torso pair."""
        s = self.samples()
        if s is None or self.torso_pair is None:
            return {}
        torso = F.torso_diameter(s["gt"], self.torso_pair, s["visible"])
        return {"pdj": F.pdj(s["pred"], s["gt"], s["visible"] > 0, torso, self.frac)[1]}
