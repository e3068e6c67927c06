"""Per-sample evaluation reports: the errors behind the metrics, as CSV and cumulative plots.

:func:`landmarks.run.evaluate` attaches a :class:`PredictionTap` to the tasks while it
validates, then :func:`write_error_reports` writes, per face task, ``<task>_nme.csv`` and a
cumulative error distribution ``ced.png`` (NME with FR@0.1 / AUC@0.1, the 300W / WFLW
reporting), and per head-pose task ``<task>_errors.csv`` and ``<task>_errors.png``
(cumulative absolute error per angle, as AFLW2000 results are plotted).
"""

from __future__ import annotations

import csv
import os
from typing import Any

import numpy as np
import torch

class PredictionTap:
    """Records, per task, the decoded predictions and labels its metrics see during validation.

    Each task's ``update_metrics`` is shadowed by an instance attribute that records and then calls
    the method (no second forward pass); :meth:`close` removes the shadows.
    """

    _META = ("keypoints", "visible", "euler")

    def __init__(self, tasks: Any) -> None:
        self.tasks = tasks
        self.records: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {name: [] for name in tasks}
        for name, task in tasks.items():
            task.update_metrics = self._recorder(name, task.update_metrics)

    def _recorder(self, name: str, update: Any) -> Any:
        def record(pred: Any, batch: dict[str, Any]) -> None:
            meta = {k: _numpy(v) for k, v in batch["meta"].items() if k in self._META}
            kept = {"keypoints": pred.keypoints, **({"euler": pred.extras["euler"]} if "euler" in pred.extras else {})}
            self.records[name].append((kept, meta))  # arrays only: no heatmaps held for the whole set
            update(pred, batch)
        return record

    def close(self) -> None:
        for task in self.tasks.values():
            if "update_metrics" in vars(task):
                del task.update_metrics


def _numpy(x: Any) -> Any:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x


def write_error_reports(tap: PredictionTap, tasks: Any, out: str) -> list[str]:
    """Per-sample errors (CSV) and their cumulative curves (PNG); returns the written paths."""
    from landmarks import viz
    from landmarks.metrics.face import INTER_OCULAR, NORMS, face_nme
    from landmarks.metrics.head_pose import pose_valid

    written: list[str] = []
    ced_curves: dict[str, Any] = {}
    fail_thr = 0.1
    for name, task in tasks.items():
        records = tap.records[name]
        if not records:
            continue
        if hasattr(task, "face_metrics"):
            pred = np.concatenate([np.asarray(p["keypoints"], np.float64) for p, _ in records])
            gt, vis = (np.concatenate([np.asarray(m[k], np.float64) for _, m in records]) for k in ("keypoints", "visible"))
            mask = vis > 0
            shown = [task.face_metrics.norm] + [n for n in NORMS if n != task.face_metrics.norm]
            shown = [n for n in shown if n == "box" or gt.shape[1] in INTER_OCULAR]
            nmes = {n: face_nme(pred, gt, mask, NORMS[n]) for n in shown}  # nan: no landmark label
            euler = [m.get("euler") for _, m in records]
            columns = {f"nme_{n}": v for n, v in nmes.items()}
            if all(e is not None for e in euler):
                gt_euler = np.concatenate([np.asarray(e, np.float64).reshape(-1, 3) for e in euler])
                columns.update({f"gt_{a}": gt_euler[:, j] for j, a in enumerate(("yaw", "pitch", "roll"))})
            written.append(_write_csv(os.path.join(out, f"{name}_nme.csv"), columns))
            fail_thr = float(task.face_metrics.fail_thr)
            ced_curves.update({f"{name} ({n})": v for n, v in nmes.items()})
        elif all("euler" in p and "euler" in m for p, m in records):
            pred = np.concatenate([np.asarray(p["euler"], np.float64) for p, _ in records])
            gt = np.concatenate([np.asarray(m["euler"], np.float64).reshape(-1, 3) for _, m in records])
            err = np.abs(pred - gt)
            used = np.isfinite(gt).all(axis=1) & pose_valid(gt, float(getattr(task, "max_abs", 99.0)))
            angles = ("yaw", "pitch", "roll")
            columns = {**{f"gt_{a}": gt[:, j] for j, a in enumerate(angles)},
                       **{f"pred_{a}": pred[:, j] for j, a in enumerate(angles)},
                       **{f"err_{a}": err[:, j] for j, a in enumerate(angles)}, "in_metric": used.astype(float)}
            written.append(_write_csv(os.path.join(out, f"{name}_errors.csv"), columns))
            if used.any():
                written.append(viz.plot_error_cdf({a: err[used, j] for j, a in enumerate(angles)},
                                                  os.path.join(out, f"{name}_errors.png"), max_error=30.0,
                                                  title=f"{name}: cumulative absolute error ({int(used.sum())} samples)"))
    if ced_curves and any(np.isfinite(v).any() or np.isinf(v).any() for v in ced_curves.values()):
        written.append(viz.plot_ced(ced_curves, os.path.join(out, "ced.png"), thr=fail_thr))
    return written


def _write_csv(path: str, columns: dict[str, Any]) -> str:
    """``columns`` ``{name: (N,)}`` as a CSV with a leading ``sample`` index (validation order)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    n = len(next(iter(columns.values())))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["sample", *columns])
        for i in range(n):
            w.writerow([i, *(f"{float(v[i]):.6g}" for v in columns.values())])
    return path
