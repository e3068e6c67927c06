"""Face-alignment metrics as pure numpy functions: NME, CED, FR@t, AUC@t, NME by yaw band.

* NME (normalised mean error) of one face: the mean over its labelled landmarks of
  ``||pred - gt|| / d``, with ``d`` one of the usual normalisers:

  - ``"inter_ocular"``: outer eye corners, 68 points (300W, iBUG): 36 and 45; 98 points
    (WFLW, Wu et al., "Look at Boundary", CVPR 2018): 60 and 72;
  - ``"inter_pupil"``: eye centres; 68 points: means of the eye contours 36-41 and 42-47;
    98 points: the pupil landmarks 96 and 97 (or, with ``use_pupil_points=False``, the
    means of the eye contours 60-67 and 68-75);
  - ``"box"``: ``sqrt(w * h)`` of the ground-truth landmarks' bounding box (AFLW2000-3D
    protocol of 3DDFA, Zhu et al., CVPR 2016).

* CED / FR / AUC: ``CED(t)`` is the fraction of faces with ``NME <= t``, sampled at
  ``0, step, ..., thr`` (``step = 1e-4``); ``FR@thr = 1 - CED(thr)`` (faces with
  ``NME > thr``); ``AUC@thr`` is the integral of CED over ``[0, thr]`` divided by ``thr``.
  This is the protocol of the WFLW-era evaluation code (PFLD, PIPNet, ADNet, STAR's
  ``compute_fr_and_auc``: ``simps(ys, x=xs) / thres``); mmpose 1.x reports NME only.
  ``rule="simpson"`` (default) matches that code; ``"trapezoid"`` matches STAR's later
  ``torch.trapz`` and :func:`landmarks.metrics.functional.auc_from_errors`. The grid is built
  with ``linspace`` (``np.arange(0, thr + step, step)`` gains a spurious last point for
  ``thr = 0.05``).

Masked landmarks are left out of a face's mean; a face with no valid landmark, or with an
invalid normaliser, gets NME ``nan``; a non-finite prediction of a valid landmark gives
``inf`` (a failure). To add a normaliser, add a function returning ``(N,)`` px and a branch
in :func:`face_normaliser`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
from scipy.integrate import simpson

from landmarks.metrics.functional import auc_from_errors, keypoint_distances

__all__ = [
    "INTER_OCULAR",
    "box_size",
    "ced",
    "face_nme",
    "face_normaliser",
    "fr_auc",
    "inter_ocular",
    "inter_pupil",
    "nme_by_yaw",
    "nme_per_sample",
]

#: short normaliser names (config ``norm=``, metric suffixes ``nme_box`` ...) -> :func:`face_normaliser` kinds
NORMS: dict[str, str] = {"box": "box", "io": "inter_ocular", "ip": "inter_pupil"}
INTER_OCULAR: dict[int, tuple[int, int]] = {68: (36, 45), 98: (60, 72)}
"""Outer eye corners (image-left eye first) per layout size K."""
_EYE_CONTOURS: dict[int, tuple[range, range]] = {
    68: (range(36, 42), range(42, 48)),
    98: (range(60, 68), range(68, 76)),
}
_PUPILS_98 = (96, 97)
NORMALISERS = ("inter_ocular", "inter_pupil", "box")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's all-nan RuntimeWarnings (a nan result is part of the contract)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _points(gt: np.ndarray) -> np.ndarray:
    gt = np.asarray(gt, dtype=np.float64)
    if gt.ndim != 3 or gt.shape[-1] != 2:
        raise ValueError(f"expected landmarks of shape (N, K, 2) px, got {gt.shape}")
    return gt


def _layout(gt: np.ndarray, table: dict, what: str) -> object:
    k = gt.shape[1]
    if k not in table:
        raise ValueError(f"{what} is defined for K in {sorted(table)} landmarks, got K={k}")
    return table[k]


def _masked(gt: np.ndarray, mask: np.ndarray | None, idx: Sequence[int]) -> np.ndarray:
    """``(N, len(idx), 2)`` points with unlabelled ones set to nan."""
    pts = gt[:, list(idx)]
    if mask is not None:
        pts = np.where(np.asarray(mask, dtype=bool)[:, list(idx), None], pts, np.nan)
    return pts


def inter_ocular(gt: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Outer-eye-corner distance (36-45 for 68 points, 60-72 for 98), ``(N,)`` px; nan if unlabelled."""
    gt = _points(gt)
    i, j = _layout(gt, INTER_OCULAR, "inter_ocular")  # type: ignore[misc]
    pts = _masked(gt, mask, (i, j))
    return np.linalg.norm(pts[:, 0] - pts[:, 1], axis=-1)


def inter_pupil(gt: np.ndarray, mask: np.ndarray | None = None, use_pupil_points: bool = True) -> np.ndarray:
    """Eye-centre distance, ``(N,)`` px.

    Args:
        gt: ``(N, K, 2)`` ground truth px, K = 68 or 98.
        mask: ``(N, K)`` labelled landmarks; an eye centre uses only labelled points.
        use_pupil_points: for 98 points, use the pupil landmarks 96, 97 (else the eye-contour means).
    """
    gt = _points(gt)
    if gt.shape[1] == 98 and use_pupil_points:
        pts = _masked(gt, mask, _PUPILS_98)
        return np.linalg.norm(pts[:, 0] - pts[:, 1], axis=-1)
    first, second = _layout(gt, _EYE_CONTOURS, "inter_pupil")  # type: ignore[misc]
    with _quiet():
        c1 = np.nanmean(_masked(gt, mask, first), axis=1)
        c2 = np.nanmean(_masked(gt, mask, second), axis=1)
    return np.linalg.norm(c1 - c2, axis=-1)


def box_size(gt: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``sqrt(w * h)`` of the bounding box of the labelled ground-truth landmarks, ``(N,)`` px."""
    gt = _points(gt)
    pts = _masked(gt, mask, range(gt.shape[1]))
    with _quiet():
        wh = np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)
    return np.sqrt(wh[:, 0] * wh[:, 1])


def face_normaliser(
    gt: np.ndarray, norm: str = "inter_ocular", mask: np.ndarray | None = None, use_pupil_points: bool = True
) -> np.ndarray:
    """The ``(N,)`` px normaliser named by ``norm`` (``"inter_ocular"``, ``"inter_pupil"``, ``"box"``)."""
    if norm == "inter_ocular":
        return inter_ocular(gt, mask)
    if norm == "inter_pupil":
        return inter_pupil(gt, mask, use_pupil_points)
    if norm == "box":
        return box_size(gt, mask)
    raise ValueError(f"face_normaliser: norm must be one of {NORMALISERS}, got {norm!r}")


def nme_per_sample(pred: np.ndarray, gt: np.ndarray, norm: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-face NME: mean over labelled landmarks of ``||pred - gt|| / norm``.

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        norm: ``(N,)`` px normaliser.
        mask: ``(N, K)`` bool labelled landmarks (all when None).

    Returns:
        ``(N,)`` float64 NME (a fraction; x100 for the usual %); nan where no landmark or the
        normaliser is valid, inf where a valid landmark has a non-finite prediction.
    """
    gt = _points(gt)
    m = np.ones(gt.shape[:2], dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    dist = keypoint_distances(pred, gt, m, np.asarray(norm, dtype=np.float64))
    valid = dist >= 0
    count = valid.sum(axis=1)
    with np.errstate(invalid="ignore"):
        total = np.where(valid, dist, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def face_nme(
    pred: np.ndarray,
    gt: np.ndarray,
    mask: np.ndarray | None = None,
    norm: str = "inter_ocular",
    use_pupil_points: bool = True,
) -> np.ndarray:
    """Per-face NME with a named normaliser (:func:`face_normaliser`); ``(N,)``."""
    return nme_per_sample(pred, gt, face_normaliser(gt, norm, mask, use_pupil_points), mask)


def _finite_errors(nmes: np.ndarray, name: str) -> np.ndarray:
    e = np.asarray(nmes, dtype=np.float64).ravel()
    if np.isnan(e).any():
        raise ValueError(
            f"{name}: {int(np.isnan(e).sum())} NME values are nan (faces without a valid landmark or "
            "normaliser); drop them explicitly before computing the curve"
        )
    return e


def ced(nmes: np.ndarray, thr: float = 0.1, step: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: ``(thresholds (T,), fraction of NME <= t (T,))``.

    ``T = round(thr / step) + 1`` thresholds from 0 to ``thr`` inclusive; ``inf`` counts as a failure.
    """
    e = _finite_errors(nmes, "ced")
    if thr <= 0 or step <= 0:
        raise ValueError(f"ced: thr ({thr}) and step ({step}) must be positive")
    xs = np.linspace(0.0, thr, max(1, int(round(thr / step))) + 1)
    if e.size == 0:
        return xs, np.full_like(xs, np.nan)
    return xs, (e[None, :] <= xs[:, None]).mean(axis=1)


def fr_auc(nmes: np.ndarray, thr: float = 0.1, step: float = 1e-4, rule: str = "simpson") -> tuple[float, float]:
    """Failure rate and area under the CED at ``thr`` (both fractions in [0, 1]).

    Args:
        nmes: ``(M,)`` per-face NMEs (no nan; inf is a failure).
        thr: failure threshold and CED end (0.1 for WFLW / 300W inter-ocular, 0.08 or 0.07 elsewhere).
        step: CED sampling step.
        rule: ``"simpson"`` (``scipy.integrate.simpson``, the WFLW-era code) or ``"trapezoid"``.

    Returns:
        ``(fr, auc)``: ``fr`` = fraction with ``NME > thr``; ``auc`` = integral / ``thr``;
        ``(nan, nan)`` for an empty input.
    """
    if rule not in ("simpson", "trapezoid"):
        raise ValueError(f"fr_auc: rule must be 'simpson' or 'trapezoid', got {rule!r}")
    xs, ys = ced(nmes, thr, step)
    if np.isnan(ys).any():
        return float("nan"), float("nan")
    fr = 1.0 - float(ys[-1])
    if rule == "trapezoid":
        return fr, auc_from_errors(_finite_errors(nmes, "fr_auc"), thr, step)
    return fr, float(simpson(ys, x=xs) / thr)


def nme_by_yaw(
    nmes: np.ndarray, yaw: np.ndarray, bands: Sequence[tuple[float, float]] = ((0, 30), (30, 60), (60, 90))
) -> dict[str, tuple[float, int]]:
    """Mean NME per ``|yaw|`` band (the AFLW2000-3D protocol reports [0, 30], [30, 60], [60, 90]).

    A face is in band ``(lo, hi)`` when ``lo <= |yaw| < hi``; the last band also takes
    ``|yaw| == hi``. Faces outside every band, or with nan NME or yaw, are counted under
    ``"excluded"`` (mean nan), so nothing is dropped silently.

    Args:
        nmes: ``(N,)`` per-face NMEs.
        yaw: ``(N,)`` ground-truth yaw, degrees.
        bands: increasing ``(lo, hi)`` degree bands.

    Returns:
        ``{"0-30": (mean, count), ..., "excluded": (nan, count)}``; mean nan for an empty band.
    """
    e = np.asarray(nmes, dtype=np.float64).ravel()
    a = np.abs(np.asarray(yaw, dtype=np.float64).ravel())
    if e.shape != a.shape:
        raise ValueError(f"nme_by_yaw: nmes {e.shape} and yaw {a.shape} must have the same length")
    usable = ~np.isnan(e) & ~np.isnan(a)
    taken = np.zeros(e.shape, dtype=bool)
    out: dict[str, tuple[float, int]] = {}
    for n, (lo, hi) in enumerate(bands):
        upper = (a <= hi) if n == len(bands) - 1 else (a < hi)
        sel = usable & (a >= lo) & upper & ~taken
        taken |= sel
        out[f"{lo:g}-{hi:g}"] = (float(e[sel].mean()) if sel.any() else float("nan"), int(sel.sum()))
    out["excluded"] = (float("nan"), int((~taken).sum()))
    return out
