"""Temporal metrics of tracked landmarks: jitter (acceleration error, normalised mean flicker) and identity switches.

* :func:`mean_acceleration_error`: the acceleration error of video pose estimation
  (Kanazawa et al., "Learning 3D Human Dynamics from Video", CVPR 2019; VIBE, CVPR 2020):
  ``mean_{t,k} || a_pred(t,k) - a_gt(t,k) ||`` with the second difference
  ``a(t) = x(t+1) - 2 x(t) + x(t-1)``, px / frame^2 (or per ``norm`` unit).
* :func:`normalised_mean_flicker`: NMF of LDEQ (Micaelli et al., "Recurrence without
  Recurrence: Stable Video Landmark Detection with Deep Equilibrium Models", CVPR 2023), as in
  the authors' evaluation code (``video_NMJ`` of github.com/polo5/LDEQ_RwR). With the error
  ``r(t,k) = pred - gt`` and the face size ``d(t) = sqrt(w_t h_t)``, ``w_t, h_t`` the extent of
  the ground-truth landmarks of frame t,
  ``f(t,k) = 100 * || r(t,k) - r(t-1,k) || / (d(t) / 256)``, then the root mean square over
  landmarks, then over frames t = 1 .. T-1: ``NMF = sqrt(mean_t mean_k f(t,k)^2)``. So NMF is
  the RMS frame-to-frame change of the error, in hundredths of a pixel of a face rescaled to
  256 x 256 px (the authors' "standard area"). It penalises only flicker: a constant offset
  from the ground truth, or the true motion, adds nothing. With ``valid`` only landmarks valid
  in both frames count (the size uses the valid ones of frame t); a video's NMF is one
  number; LDEQ averages per-video NMFs over a dataset.
* :func:`identity_switches`: the IDSW count of the CLEAR-MOT metrics (Bernardin and
  Stiefelhagen, EURASIP JIVP 2008): a ground-truth track matched to a different predicted id
  than at its previous matched frame. :func:`count_track_frames` gives the denominator of
  "switches per 100 track-frames".

Pure numpy; no state. To add a sibling, take ``(T, K, 2)`` arrays and an optional ``(T, K)``
``valid`` mask and return a float, documenting the unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["count_track_frames", "identity_switches", "mean_acceleration_error", "normalised_mean_flicker"]

NMF_STANDARD_SIZE = 256.0
"""Face size (px) that LDEQ rescales every face to before measuring flicker."""


def _check(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    g = np.asarray(gt, dtype=np.float64)
    if g.ndim != 3 or g.shape[-1] != 2:
        raise ValueError(f"gt: expected shape (T, K, 2), got {g.shape}")
    if p.shape != g.shape:
        raise ValueError(f"pred: expected the shape of gt {g.shape}, got {p.shape}")
    v = np.ones(g.shape[:2], dtype=bool) if valid is None else np.asarray(valid).astype(bool)
    if v.shape != g.shape[:2]:
        raise ValueError(f"valid: expected shape {g.shape[:2]} (T, K), got {v.shape}")
    v = v & np.isfinite(p).all(-1) & np.isfinite(g).all(-1)
    return p, g, v


def mean_acceleration_error(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, norm: np.ndarray | float | None = None
) -> float:
    """Mean Euclidean distance between predicted and true keypoint accelerations.

    Args:
        pred: ``(T, K, 2)`` px, one track.
        gt: ``(T, K, 2)`` px.
        valid: ``(T, K)``; an acceleration at t counts only when valid at t-1, t and t+1.
        norm: divide by this size (scalar, or ``(T,)`` per frame, taken at t) for a unit-free
            error; ``None`` keeps px / frame^2.

    Returns:
        The mean over valid ``(t, k)``, ``t = 1 .. T-2``; NaN when there is none (T < 3).
    """
    p, g, v = _check(pred, gt, valid)
    if p.shape[0] < 3:
        return float("nan")
    acc = (p[2:] - 2 * p[1:-1] + p[:-2]) - (g[2:] - 2 * g[1:-1] + g[:-2])
    err = np.linalg.norm(np.where((v[2:] & v[1:-1] & v[:-2])[..., None], acc, 0.0), axis=-1)
    if norm is not None:
        n = np.broadcast_to(np.asarray(norm, dtype=np.float64), (p.shape[0],))[1:-1]
        err = err / n[:, None]
    ok = v[2:] & v[1:-1] & v[:-2]
    return float(err[ok].mean()) if ok.any() else float("nan")


def normalised_mean_flicker(
    pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, sizes: np.ndarray | None = None
) -> float:
    """Normalised mean flicker (NMF) of LDEQ for one video (module doc for the definition).

    Args:
        pred: ``(T, K, 2)`` px.
        gt: ``(T, K, 2)`` px.
        valid: ``(T, K)`` landmarks to use; ``None``: all.
        sizes: ``(T,)`` face / box sizes px replacing ``sqrt(w h)`` of the ground-truth extent
            (e.g. ``sqrt`` of the box area for bodies); ``None`` follows LDEQ.

    Returns:
        NMF (hundredths of a px at a 256 px face); NaN when no landmark is valid in two
        consecutive frames.
    """
    p, g, v = _check(pred, gt, valid)
    t = g.shape[0]
    if sizes is None:
        lo = np.where(v[..., None], g, np.inf).min(axis=1)
        hi = np.where(v[..., None], g, -np.inf).max(axis=1)
        with np.errstate(invalid="ignore"):
            d = np.sqrt(np.prod(hi - lo, axis=-1))
    else:
        d = np.asarray(sizes, dtype=np.float64).reshape(-1)
        if d.shape != (t,):
            raise ValueError(f"sizes: expected shape ({t},) (T), got {d.shape}")
    r = p - g
    both = v[1:] & v[:-1]
    frame_ok = both.any(axis=1) & np.isfinite(d[1:]) & (d[1:] > 0)
    if not frame_ok.any():
        return float("nan")
    step = np.linalg.norm(np.where(both[..., None], r[1:] - r[:-1], 0.0), axis=-1)  # (T-1, K)
    flicker = 100.0 * step[frame_ok] / (d[1:][frame_ok, None] / NMF_STANDARD_SIZE)
    per_frame = (flicker**2).sum(axis=1) / both[frame_ok].sum(axis=1)  # mean over valid landmarks
    return float(np.sqrt(per_frame.mean()))


def identity_switches(
    gt_ids: Sequence[Sequence[int]],
    pred_ids: Sequence[Sequence[int]],
    matching: Sequence[np.ndarray | Sequence[tuple[int, int]]],
) -> int:
    """Count identity switches (CLEAR-MOT IDSW).

    Each ground-truth track remembers the predicted id it was matched to at its last matched
    frame; a match at a later frame to a different predicted id is one switch. Frames where a
    ground-truth track is unmatched leave its memory unchanged.

    Args:
        gt_ids: per frame, the ground-truth track ids present.
        pred_ids: per frame, the predicted track ids (-1 = untracked, never matched).
        matching: per frame, ``(i, j)`` pairs: ``gt_ids[t][i]`` matched to ``pred_ids[t][j]``
            (e.g. :func:`landmarks.inference.tracking.hungarian_match` on OKS or IoU).

    Returns:
        The number of switches.
    """
    if not len(gt_ids) == len(pred_ids) == len(matching):
        raise ValueError(
            f"gt_ids, pred_ids, matching: expected one entry per frame each, got {len(gt_ids)}, "
            f"{len(pred_ids)}, {len(matching)} frames"
        )
    last: dict[int, int] = {}
    switches = 0
    for t, (g, p, pairs) in enumerate(zip(gt_ids, pred_ids, matching)):
        for i, j in np.asarray(pairs, dtype=np.int64).reshape(-1, 2).tolist():
            if not (0 <= i < len(g) and 0 <= j < len(p)):
                raise ValueError(
                    f"matching[{t}]: pair ({i}, {j}) is out of range for {len(g)} gt and {len(p)} predicted ids"
                )
            gid, pid = int(g[i]), int(p[j])
            if pid < 0:
                continue
            if gid in last and last[gid] != pid:
                switches += 1
            last[gid] = pid
    return switches


def count_track_frames(gt_ids: Sequence[Sequence[int]]) -> int:
    """Number of (ground-truth track, frame) pairs: the denominator of switches per track-frame."""
    return int(sum(len(g) for g in gt_ids))
