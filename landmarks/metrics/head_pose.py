"""Head-pose metrics as pure numpy functions: Euler-angle MAE and geodesic error.

* Euler MAE — the AFLW2000 / BIWI protocol of Hopenet (Ruiz et al., CVPR-W 2018) and its
  successors: per-angle mean absolute error in degrees over the samples whose ground-truth
  yaw, pitch and roll all lie in [-99, 99] (Hopenet's filtered AFLW2000 list keeps 1969 of
  2000 faces); "mean" is the average of the three per-angle MAEs. The difference is the
  plain ``|pred - gt|`` with no wrap-around (6DRepNet's test script takes the minimum over
  +-180 / +-360 shifts instead; that is not done here).
* Geodesic error — the angle of ``R_pred @ R_gt.T`` in degrees
  (:func:`landmarks.geometry.geodesic_distance`; 6DRepNet, Hempel et al., ICIP 2022).

Angles are ``(N, 3)`` yaw, pitch, roll degrees (:mod:`landmarks.geometry`). To add a
metric, write a function on ``(N, 3)`` degrees or ``(N, 3, 3)`` matrices and test it on
hand-computed numbers.
"""

from __future__ import annotations

import numpy as np

from landmarks.geometry import geodesic_distance

__all__ = ["ANGLE_NAMES", "MAX_ABS_ANGLE", "geodesic_errors", "geodesic_mae", "pose_mae", "pose_valid"]

ANGLE_NAMES = ("yaw", "pitch", "roll")
MAX_ABS_ANGLE = 99.0
"""Samples with any ``|ground-truth angle| > 99`` degrees are left out (Hopenet's filter)."""


def _angles(x: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 3:
        raise ValueError(f"{name}: expected (N, 3) yaw, pitch, roll degrees, got shape {a.shape}")
    return a


def pose_valid(gt: np.ndarray, max_abs: float = MAX_ABS_ANGLE) -> np.ndarray:
    """``(N,)`` bool: all three ground-truth angles finite and within ``[-max_abs, max_abs]``."""
    g = _angles(gt, "pose_valid")
    return np.all(np.isfinite(g) & (np.abs(g) <= max_abs), axis=1)


def pose_mae(pred: np.ndarray, gt: np.ndarray, max_abs: float | None = MAX_ABS_ANGLE) -> dict[str, float]:
    """Per-angle and mean absolute error, degrees.

    Args:
        pred: ``(N, 3)`` predicted yaw, pitch, roll, degrees.
        gt: ``(N, 3)`` ground truth, degrees.
        max_abs: keep samples whose ground-truth angles all satisfy ``|a| <= max_abs``
            (None keeps every sample with finite ground truth).

    Returns:
        ``{"yaw", "pitch", "roll", "mean"}`` MAEs (nan when no sample is kept),
        ``"count"`` samples used and ``"excluded"`` samples left out (as floats).
    """
    p, g = _angles(pred, "pose_mae pred"), _angles(gt, "pose_mae gt")
    if p.shape != g.shape:
        raise ValueError(f"pose_mae: pred {p.shape} and gt {g.shape} must have the same shape")
    keep = pose_valid(g, np.inf if max_abs is None else float(max_abs))
    out: dict[str, float] = {}
    if keep.any():
        err = np.abs(p[keep] - g[keep]).mean(axis=0)
        out.update({name: float(v) for name, v in zip(ANGLE_NAMES, err)})
        out["mean"] = float(err.mean())
    else:
        out.update({name: float("nan") for name in (*ANGLE_NAMES, "mean")})
    out["count"] = float(keep.sum())
    out["excluded"] = float((~keep).sum())
    return out


def geodesic_errors(pred_matrices: np.ndarray, gt_matrices: np.ndarray) -> np.ndarray:
    """``(N,)`` geodesic angle between predicted and ground-truth rotations, degrees in [0, 180]."""
    a = np.asarray(pred_matrices, dtype=np.float64)
    b = np.asarray(gt_matrices, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 3 or a.shape[1:] != (3, 3):
        raise ValueError(f"geodesic_errors: expected two (N, 3, 3) arrays, got {a.shape} and {b.shape}")
    return np.asarray(geodesic_distance(a, b))


def geodesic_mae(
    pred_matrices: np.ndarray, gt_matrices: np.ndarray, keep: np.ndarray | None = None
) -> tuple[float, int]:
    """Mean geodesic error, degrees, and the number of samples averaged.

    Args:
        pred_matrices: ``(N, 3, 3)``.
        gt_matrices: ``(N, 3, 3)``.
        keep: optional ``(N,)`` bool, e.g. :func:`pose_valid` of the ground-truth angles, so
            the geodesic error is averaged over the same samples as :func:`pose_mae`.

    Returns:
        ``(mean, count)``; mean nan when no sample is kept.
    """
    err = geodesic_errors(pred_matrices, gt_matrices)
    sel = np.ones(err.shape, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if sel.shape != err.shape:
        raise ValueError(f"geodesic_mae: keep has shape {sel.shape}, expected {err.shape}")
    return (float(err[sel].mean()) if sel.any() else float("nan")), int(sel.sum())
