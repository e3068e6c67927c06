"""Per-sample evaluation reports: the records behind the metrics, as CSV and cumulative plots.

The records are metric state: a metric object that keeps per-sample values
(:class:`landmarks.metrics.face_nme.FaceNME`, :class:`landmarks.metrics.head_pose_mae.PoseMAE`) exposes
``records()`` (columns, one row per distinct validated sample, in dataset-index order, gathered
from every process) and ``error_curves()``. After validation :func:`write_error_reports` writes,
for every task and every such metric:

* ``<task>_<report_name>.csv`` (the metric's ``report_name``, else its key: ``face_nme.csv``,
  ``head_pose_errors.csv``);
* ``"ced"`` curves (NME) of every task in one ``ced.png`` with FR / AUC at the metric's threshold
  (the 300W / WFLW reporting);
* ``"cdf"`` curves (absolute error per angle) as ``<task>_<report_name>.png`` (as AFLW2000 results are plotted);
* ``"pck"`` errors (keypoint tasks: body, hand, custom layouts; ``errors`` ``(N, K)`` distance /
  normaliser) as ``<task>_pck_curve.{csv,png}`` (PCK versus threshold, 0 .. 2 x the metric's
  threshold) and ``<task>_keypoint_errors.{csv,png}`` (per keypoint: mean normalised error and PCK);
* ``"reliability"`` bins (visibility probabilities, :mod:`landmarks.metrics.visibility`) as
  ``<task>_reliability.{csv,png}`` (per bin: count, mean probability, observed fraction visible; the
  diagram against the diagonal) and ``<task>_keypoint_visibility.csv`` (per keypoint: AUROC, share
  occluded, count).

Nothing here names a task or a metric class.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from typing import Any

import numpy as np


def write_error_reports(tasks: Mapping[str, Any], out: str) -> list[str]:
    """Per-sample records (CSV) and their cumulative curves (PNG) of every task's metrics; the written paths."""
    from landmarks import viz

    written: list[str] = []
    ced_curves: dict[str, np.ndarray] = {}
    fail_thr = 0.1
    for name, task in tasks.items():
        for metric_name, metric in getattr(task, "metrics", {}).items():
            records = metric.records() if hasattr(metric, "records") else None
            curves: dict[str, Any] = (metric.error_curves() if hasattr(metric, "error_curves") else None) or {}
            kind = curves["kind"] if curves else None
            stem = getattr(metric, "report_name", None) or metric_name
            if records:
                written.append(_write_csv(os.path.join(out, f"{name}_{stem}.csv"), records))
            if kind == "ced":
                ced_curves.update({f"{name} ({n})": v for n, v in curves["series"].items()})  # type: ignore[index]
                fail_thr = float(curves["thr"])  # type: ignore[index]
            elif kind == "pck":
                written += write_pck_reports(name, curves, out)  # type: ignore[arg-type]
            elif kind == "reliability":
                written += write_reliability_reports(name, curves, out)
            elif kind == "cdf":
                count = len(next(iter(curves["series"].values())))  # type: ignore[index]
                written.append(
                    viz.plot_error_cdf(
                        curves["series"],
                        os.path.join(out, f"{name}_{stem}.png"),  # type: ignore[index]
                        max_error=float(curves["max_error"]),  # type: ignore[index]
                        title=f"{name}: cumulative absolute error ({count} samples)",
                    )
                )
    if ced_curves and any(np.isfinite(v).any() or np.isinf(v).any() for v in ced_curves.values()):
        written.append(viz.plot_ced(ced_curves, os.path.join(out, "ced.png"), thr=fail_thr))
    return written


def _write_csv(path: str, columns: Mapping[str, Any]) -> str:
    """``columns`` ``{name: (N,)}`` as a CSV with a leading ``sample`` row number (dataset-index order)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    n = len(next(iter(columns.values())))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample", *columns])
        for i in range(n):
            w.writerow([i, *(f"{float(v[i]):.6g}" for v in columns.values())])
    return path


def pck_curve(errors: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``(T,)`` PCK at each threshold: the share of labelled keypoints (finite ``errors``) with error < thr."""
    valid = errors[np.isfinite(errors)]
    if valid.size == 0:
        return np.full(len(thresholds), np.nan)
    return np.array([(valid < t).mean() for t in thresholds])


def write_pck_reports(task: str, curves: Mapping[str, Any], out: str, steps: int = 41) -> list[str]:
    """PCK-versus-threshold and per-keypoint error reports (CSV + PNG) from ``{"errors", "names", "thr"}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    errors = np.asarray(curves["errors"], dtype=np.float64)
    names, thr = list(curves["names"]), float(curves["thr"])
    thresholds = np.linspace(0.0, 2.0 * thr, steps)
    pck = pck_curve(errors, thresholds)
    os.makedirs(out, exist_ok=True)
    written = [_write_rows(os.path.join(out, f"{task}_pck_curve.csv"), ["threshold", "pck"], zip(thresholds, pck))]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(thresholds, pck, lw=2)
    ax.axvline(thr, color="gray", ls="--", lw=1)
    ax.set(
        xlabel="threshold (fraction of the normaliser)",
        ylabel="PCK",
        ylim=(0, 1),
        title=f"{task}: PCK vs threshold ({len(errors)} samples)",
    )
    ax.grid(alpha=0.3)
    written.append(_save(fig, os.path.join(out, f"{task}_pck_curve.png")))
    labelled = np.isfinite(errors)
    with np.errstate(invalid="ignore"):
        mean = np.array(
            [errors[labelled[:, k], k].mean() if labelled[:, k].any() else np.nan for k in range(len(names))]
        )
        acc = np.array(
            [(errors[labelled[:, k], k] < thr).mean() if labelled[:, k].any() else np.nan for k in range(len(names))]
        )
    rows = zip(names, mean, acc, labelled.sum(0))
    written.append(
        _write_rows(
            os.path.join(out, f"{task}_keypoint_errors.csv"), ["keypoint", "mean_error", f"pck@{thr:g}", "count"], rows
        )
    )
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(names)), 4))
    ax.bar(range(len(names)), np.nan_to_num(mean))
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set(ylabel="mean error (fraction of the normaliser)", title=f"{task}: error per keypoint")
    written.append(_save(fig, os.path.join(out, f"{task}_keypoint_errors.png")))
    return written


def write_reliability_reports(task: str, curves: Mapping[str, Any], out: str) -> list[str]:
    """Reliability diagram (CSV + PNG) and per-keypoint AUROC table from ``{"bins", "per_keypoint"}``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins, table = curves["bins"], curves["per_keypoint"]
    edges = np.asarray(bins["edges"], np.float64)
    count, mean, frac = (np.asarray(bins[k], np.float64) for k in ("count", "mean_prob", "frac_positive"))
    os.makedirs(out, exist_ok=True)
    rows = zip(edges[:-1], edges[1:], count, mean, frac)
    header = ["bin_low", "bin_high", "count", "mean_prob", "frac_visible"]
    written = [_write_rows(os.path.join(out, f"{task}_reliability.csv"), header, rows)]
    used = count > 0
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="gray", ls="--", lw=1, label="calibrated")
    ax.plot(mean[used], frac[used], marker="o", lw=2, label="model")
    ax.set(
        xlabel="predicted probability visible",
        ylabel="observed fraction visible",
        xlim=(0, 1),
        ylim=(0, 1),
        title=f"{task}: reliability ({int(count.sum())} keypoints)",
    )
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    written.append(_save(fig, os.path.join(out, f"{task}_reliability.png")))
    rows = zip(table["names"], table["auroc"], table["occluded"], table["count"])
    header = ["keypoint", "auroc", "occluded", "count"]
    written.append(_write_rows(os.path.join(out, f"{task}_keypoint_visibility.csv"), header, rows))
    return written


def _write_rows(path: str, header: list[str], rows: Any) -> str:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for row in rows:
            w.writerow([v if isinstance(v, str) else f"{float(v):.6g}" for v in row])
    return path


def _save(fig: Any, path: str) -> str:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
