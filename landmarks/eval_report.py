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
* ``"cdf"`` curves (absolute error per angle) as ``<task>_<report_name>.png`` (as AFLW2000 results are plotted).

Nothing here names a task or a metric class.
"""

from __future__ import annotations

import csv
import os
from typing import Any, Mapping

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
            curves = metric.error_curves() if hasattr(metric, "error_curves") else None
            kind = curves["kind"] if curves else None
            stem = getattr(metric, "report_name", None) or metric_name
            if records:
                written.append(_write_csv(os.path.join(out, f"{name}_{stem}.csv"), records))
            if kind == "ced":
                ced_curves.update({f"{name} ({n})": v for n, v in curves["series"].items()})  # type: ignore[index]
                fail_thr = float(curves["thr"])  # type: ignore[index]
            elif kind == "cdf":
                count = len(next(iter(curves["series"].values())))  # type: ignore[index]
                written.append(viz.plot_error_cdf(curves["series"], os.path.join(out, f"{name}_{stem}.png"),  # type: ignore[index]
                                                  max_error=float(curves["max_error"]),  # type: ignore[index]
                                                  title=f"{name}: cumulative absolute error ({count} samples)"))
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
