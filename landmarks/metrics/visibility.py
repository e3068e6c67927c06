"""Visibility metrics: ranking (AUROC) and calibration (reliability bins, ECE, Brier score).

For the probability ``p`` that a labelled keypoint is visible (COCO ``v = 2``) rather than occluded
(``v = 1``), ``prediction.extras["visibility"]`` ``(B, K)`` (:class:`landmarks.visibility_task.VisibilityTask`),
over every labelled keypoint (``v > 0``; ``v = 0`` is not scored) pooled across samples and keypoints:

* ``vis_auroc`` — the area under the ROC curve, by the Mann-Whitney statistic (Hanley & McNeil,
  Radiology 1982): ``(R_+ - n_+ (n_+ + 1) / 2) / (n_+ n_-)`` with ``R_+`` the sum of the visible points'
  ranks among all scores, tied scores given their average rank. That is the probability that a random
  visible point scores above a random occluded one, ties counting one half: the value of
  ``sklearn.metrics.roc_auc_score``. nan when one class is absent.
* reliability bins — ``num_bins`` equal-width bins of ``p`` on ``[0, 1]`` (``p = 1`` in the last):
  per bin the count, the mean ``p`` and the observed fraction of visible points (a reliability
  diagram, DeGroot & Fienberg 1983; Guo et al., "On Calibration of Modern Neural Networks", ICML 2017).
* ``vis_ece`` — expected calibration error of ``p`` itself: ``sum_b n_b / n * |frac_b - mean_b|``
  (the binary reliability diagram's gaps, weighted by their counts; 0 for a calibrated model).
* ``vis_brier`` — ``mean (p - y)^2`` (Brier 1950); ``vis_acc`` — accuracy of ``p >= 0.5``;
  ``vis_occluded`` — the share of labelled points that are occluded (the base rate).

State: per-sample rows of a :class:`~landmarks.metrics.samples.SampleMetric`, gathered across
processes and computed once. ``error_curves()`` hands the bins and a per-keypoint AUROC table to
evaluate's reports (``<task>_reliability.{csv,png}``, :mod:`landmarks.eval_report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from landmarks.metrics.samples import ArrayLike, SampleMetric, meta_value
from landmarks.types import Prediction

__all__ = ["VisibilityMetric", "auroc", "average_ranks", "expected_calibration_error", "reliability_bins"]


def average_ranks(x: np.ndarray) -> np.ndarray:
    """``(N,)`` ranks 1..N of ``x`` ascending, tied values sharing the mean of their ranks."""
    x = np.asarray(x, np.float64).reshape(-1)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])  # first position of each tie group
    ends = np.r_[starts[1:], len(x)]
    group_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(x), np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 positive), ties counting one half.

    Returns nan when ``labels`` has only one class (or nothing).
    """
    s = np.asarray(scores, np.float64).reshape(-1)
    y = np.asarray(labels).reshape(-1).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    rank_sum = float(average_ranks(s)[y].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def reliability_bins(probs: np.ndarray, labels: np.ndarray, num_bins: int = 10) -> dict[str, np.ndarray]:
    """Equal-width bins of ``probs`` on ``[0, 1]``.

    Returns:
        ``{"edges": (num_bins + 1,), "count": (num_bins,), "mean_prob": (num_bins,), "frac_positive":
        (num_bins,)}``; empty bins have nan means.
    """
    p = np.clip(np.asarray(probs, np.float64).reshape(-1), 0.0, 1.0)
    y = np.asarray(labels, np.float64).reshape(-1)
    which = np.minimum((p * num_bins).astype(np.int64), num_bins - 1)
    count = np.bincount(which, minlength=num_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(which, weights=p, minlength=num_bins) / count
        frac = np.bincount(which, weights=y, minlength=num_bins) / count
    return {"edges": np.linspace(0.0, 1.0, num_bins + 1), "count": count, "mean_prob": mean_prob, "frac_positive": frac}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, num_bins: int = 10) -> float:
    """``sum_b n_b / n * |frac_positive_b - mean_prob_b|`` over the non-empty bins; nan for no points."""
    bins = reliability_bins(probs, labels, num_bins)
    n = bins["count"].sum()
    if n == 0:
        return float("nan")
    used = bins["count"] > 0
    gaps = np.abs(bins["frac_positive"][used] - bins["mean_prob"][used])
    return float((bins["count"][used] * gaps).sum() / n)


class VisibilityMetric(SampleMetric):
    """AUROC, ECE, Brier score and accuracy of per-keypoint visibility probabilities (module docstring).

    Args:
        spec: the task's layout (names for the per-keypoint table; optional).
        num_bins: reliability bins on ``[0, 1]``.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "visibility"
    report_name = "visibility"
    higher_is_better = True
    fields = {"prob": torch.float64, "visible": torch.float32}

    def __init__(self, spec: Any = None, num_bins: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if int(num_bins) < 1:
            raise ValueError(f"VisibilityMetric: num_bins must be >= 1, got {num_bins}")
        self.num_bins = int(num_bins)
        self.spec_names = tuple(spec.names) if spec is not None else ()
        self._curves: dict[str, Any] | None = None

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        if "visibility" not in pred.extras:
            raise ValueError(
                "VisibilityMetric.update: the prediction has no extras['visibility'] (B, K) probabilities; only a "
                "visibility task (landmarks.visibility_task.VisibilityTask) can be judged by this metric"
            )
        prob = np.asarray(pred.extras["visibility"], np.float64)
        visible = meta_value(meta, "visible", "VisibilityMetric")
        if prob.shape != tuple(np.shape(visible)):
            raise ValueError(
                f"VisibilityMetric.update: extras['visibility'] has shape {prob.shape} but meta['visible'] "
                f"{tuple(np.shape(visible))}; the visibility task's layout must be the data's"
            )
        return {"prob": prob, "visible": visible}

    def compute(self) -> dict[str, float]:
        """``{"vis_auroc", "vis_ece", "vis_brier", "vis_acc", "vis_occluded"}``; ``{}`` before any update;
        nan values when no keypoint is labelled (and ``vis_auroc`` when one class is absent)."""
        s = self.samples()
        if s is None:
            return {}
        labelled = (s["visible"] > 0) & np.isfinite(s["prob"])  # (N, K)
        p, y = s["prob"][labelled], (s["visible"][labelled] == 2).astype(np.float64)
        nan = float("nan")
        self._curves = {
            "kind": "reliability",
            "bins": reliability_bins(p, y, self.num_bins),
            "per_keypoint": self._per_keypoint(s["prob"], s["visible"], labelled),
        }
        return {
            "vis_auroc": auroc(p, y),
            "vis_ece": expected_calibration_error(p, y, self.num_bins),
            "vis_brier": float(np.mean((p - y) ** 2)) if p.size else nan,
            "vis_acc": float(np.mean((p >= 0.5) == (y == 1))) if p.size else nan,
            "vis_occluded": float(np.mean(y == 0)) if p.size else nan,
        }

    def _per_keypoint(self, prob: np.ndarray, visible: np.ndarray, labelled: np.ndarray) -> dict[str, Any]:
        k = prob.shape[1]
        names = list(self.spec_names) if len(self.spec_names) == k else [f"kp{i}" for i in range(k)]
        cols = [(prob[labelled[:, i], i], visible[labelled[:, i], i] == 2) for i in range(k)]
        return {
            "names": names,
            "auroc": np.array([auroc(p, y) for p, y in cols]),
            "occluded": np.array([float(np.mean(~y)) if y.size else np.nan for _, y in cols]),
            "count": np.array([y.size for _, y in cols], np.int64),
        }

    def error_curves(self) -> dict[str, Any] | None:
        """The last ``compute``'s reliability bins and per-keypoint table (``kind`` ``"reliability"``);
        ``None`` before any compute."""
        return self._curves
