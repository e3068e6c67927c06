"""Keypoint accuracy metrics as pure numpy functions: PCK, PCKh, PDJ, EPE, AUC.

Each formula is written from its published definition:

* PCK / EPE / PCK-AUC: the per-keypoint accuracy, end-point error and the hand-benchmark
  AUC (thresholds 0..30 px in 20 steps) as reported by mmpose's ``PCKAccuracy``,
  ``EPE`` and ``AUC`` metrics.
* PCKh: Andriluka et al., "2D Human Pose Estimation: New Benchmark and State of the Art
  Analysis", CVPR 2014, and the MPII evaluation toolkit (``computePCK``, ``genTablePCK``):
  head size = 0.6 x head-box diagonal, a joint is correct when ``d / head_size <= thr``.
* PDJ: Toshev & Szegedy, "DeepPose", CVPR 2014: a joint is detected when its error is
  within a fraction of the torso diameter.

OKS and OKS-NMS live in :mod:`landmarks.metrics.oks` (re-exported here). Nothing here holds
state; the stateful wrappers are :mod:`landmarks.metrics.keypoints` and
:mod:`landmarks.metrics.coco`. To add a sibling metric, write a function taking
``pred``/``gt`` ``(N, K, 2)`` px and a ``(N, K)`` bool mask, reuse
:func:`keypoint_distances`, and test it against hand-computed numbers.

(Over 300 lines: the pure metric formulas side by side (PCK, PCKh, PDJ, EPE, AUC), each tested against hand-computed values.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landmarks.metrics.oks import oks, oks_nms

__all__ = [
    "auc_from_errors",
    "bbox_norm",
    "default_auc_thresholds",
    "epe",
    "keypoint_distances",
    "mpii_head_size",
    "oks",
    "oks_nms",
    "pck",
    "pck_auc",
    "pckh",
    "pckh_mpii_table",
    "pdj",
    "torso_diameter",
]

MPII_SC_BIAS = 0.6
"""MPII head-size factor: head size = 0.6 x head-box diagonal (``util_get_head_size``)."""


def keypoint_distances(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """Normalised Euclidean distances between predicted and ground-truth keypoints.

    Args:
        pred: ``(N, K, 2)`` predicted keypoints, px.
        gt: ``(N, K, 2)`` ground-truth keypoints, px.
        mask: ``(N, K)`` bool, True where the ground truth is labelled.
        norm: ``(N,)`` or ``(N, 2)`` normaliser, px (``(N, 2)`` divides x and y separately).

    Returns:
        ``(N, K)`` float64 distances in units of ``norm``; ``-1`` where the keypoint is masked,
        the ground truth is not finite or the sample's normaliser is not a positive finite
        number; ``inf`` where a valid keypoint has a non-finite prediction (a miss).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} must both be (N, K, 2)")
    n, k = gt.shape[:2]
    if mask.shape != (n, k):
        raise ValueError(f"mask has shape {mask.shape}, expected (N, K) = {(n, k)}")
    norm = np.asarray(norm, dtype=np.float64)
    if norm.shape == (n,):
        norm = np.repeat(norm[:, None], 2, axis=1)
    if norm.shape != (n, 2):
        raise ValueError(f"norm has shape {norm.shape}, expected ({n},) or ({n}, 2)")
    norm_ok = np.all(np.isfinite(norm) & (norm > 0), axis=1)
    valid = mask & norm_ok[:, None] & np.all(np.isfinite(gt), axis=-1)
    safe_norm = np.where(norm_ok[:, None], norm, 1.0)
    with np.errstate(invalid="ignore", over="ignore"):
        dist = np.linalg.norm((pred - gt) / safe_norm[:, None, :], axis=-1)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    return np.where(valid, dist, -1.0)


def _per_keypoint_rate(dist: np.ndarray, thr: float, inclusive: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-keypoint hit rate over valid (``>= 0``) distances: ``(K,)`` rate (nan if none), ``(K,)`` count."""
    valid = dist >= 0
    hit = (dist <= thr) if inclusive else (dist < thr)
    count = valid.sum(axis=0)
    hits = (hit & valid).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(count > 0, hits / np.maximum(count, 1), np.nan)
    return rate, count


def _mean_over_scored_keypoints(rate: np.ndarray, count: np.ndarray) -> tuple[float, int]:
    """Mean of the ``(K,)`` per-keypoint rates over keypoints with a valid sample (0.0 when none), and their number."""
    scored = count > 0
    return (float(rate[scored].mean()) if scored.any() else 0.0), int(scored.sum())


def bbox_norm(bboxes: np.ndarray) -> np.ndarray:
    """PCK normaliser from boxes: the longer box side.

    Args:
        bboxes: ``(N, 4)`` ``x, y, w, h`` px.

    Returns:
        ``(N,)`` ``max(w, h)`` px.
    """
    bboxes = np.asarray(bboxes, dtype=np.float64)
    if bboxes.ndim != 2 or bboxes.shape[1] != 4:
        raise ValueError(f"bboxes has shape {bboxes.shape}, expected (N, 4) x, y, w, h")
    return np.maximum(bboxes[:, 2], bboxes[:, 3])


def pck(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm: np.ndarray, thr: float
) -> tuple[np.ndarray, float, int]:
    """Percentage of Correct Keypoints: a keypoint is correct when ``d / norm < thr``.

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        mask: ``(N, K)`` bool, labelled ground truth.
        norm: ``(N,)`` (or ``(N, 2)``) normaliser px, e.g. :func:`bbox_norm` for PCK@thr of the box.
        thr: threshold, a fraction of ``norm``.

    Returns:
        ``(acc, mean, count)``: ``(K,)`` per-keypoint accuracy in [0, 1] (nan where a keypoint
        has no valid sample); the mean over keypoints that have valid samples (0.0 when none);
        the number of such keypoints.
    """
    dist = keypoint_distances(pred, gt, mask, norm)
    acc, count = _per_keypoint_rate(dist, thr, inclusive=False)
    mean, scored = _mean_over_scored_keypoints(acc, count)
    return acc, mean, scored


def mpii_head_size(head_boxes: np.ndarray) -> np.ndarray:
    """MPII head size: ``0.6 * ||p2 - p1||`` of the annotated head rectangle.

    Args:
        head_boxes: ``(N, 2, 2)`` ``[[x1, y1], [x2, y2]]`` px.

    Returns:
        ``(N,)`` head sizes px.
    """
    head_boxes = np.asarray(head_boxes, dtype=np.float64)
    if head_boxes.shape[1:] != (2, 2):
        raise ValueError(f"head_boxes has shape {head_boxes.shape}, expected (N, 2, 2)")
    return MPII_SC_BIAS * np.linalg.norm(head_boxes[:, 1] - head_boxes[:, 0], axis=-1)


def pckh(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, head_sizes: np.ndarray, thr: float = 0.5
) -> tuple[np.ndarray, float, int]:
    """PCKh: a joint is correct when ``d / head_size <= thr`` (MPII toolkit, inclusive).

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        mask: ``(N, K)`` bool, labelled ground truth.
        head_sizes: ``(N,)`` px, e.g. :func:`mpii_head_size`.
        thr: fraction of the head size.

    Returns:
        ``(acc, mean, count)``: ``(K,)`` per-joint PCKh in [0, 1] (nan where no valid sample);
        the pooled rate over all valid joints (correct / labelled, the MPII "Total", 0.0 when
        none); the number of valid (sample, joint) pairs. For the MPII table, which leaves out
        pelvis and thorax, use :func:`pckh_mpii_table`.
    """
    dist = keypoint_distances(pred, gt, mask, head_sizes)
    acc, count = _per_keypoint_rate(dist, thr, inclusive=True)
    total = int(count.sum())
    mean = float(((dist >= 0) & (dist <= thr)).sum() / total) if total else 0.0
    return acc, mean, total


# MPII16 indices (landmarks.layouts.spec.mpii16 order); pelvis 6 and thorax 7 are not scored.
_MPII_GROUPS = {
    "Head": (8, 9),
    "Shoulder": (12, 13),
    "Elbow": (11, 14),
    "Wrist": (10, 15),
    "Hip": (2, 3),
    "Knee": (1, 4),
    "Ankle": (0, 5),
}
_MPII_UBODY = (10, 11, 12, 13, 14, 15)
_MPII_SCORED = (0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15)


def pckh_mpii_table(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, head_sizes: np.ndarray, thr: float = 0.5
) -> dict[str, float]:
    """The MPII single-person PCKh table (fractions in [0, 1], not percent).

    Follows the official toolkit (``computePCK`` / ``genTablePCK``): each group is the mean
    of its two per-joint PCKh values ("Head" = upper neck and head top; HRNet/mmpose report
    head top alone); "UBody" pools wrists, elbows, shoulders; "Mean" pools all 14 scored
    joints (pelvis and thorax are left out), i.e. per-joint PCKh weighted by joint counts;
    "Mean@0.1" is the same pool at ``thr = 0.1``.

    Args:
        pred: ``(N, 16, 2)`` px, MPII joint order (:func:`landmarks.layouts.spec.mpii16`).
        gt: ``(N, 16, 2)`` px.
        mask: ``(N, 16)`` bool, labelled joints.
        head_sizes: ``(N,)`` px.
        thr: PCKh threshold for the groups and "Mean".

    Returns:
        ``{"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "UBody", "Mean",
        "Mean@0.1"}`` -> float (nan where a group has no labelled joint).
    """
    if np.shape(gt)[1:2] != (16,):
        raise ValueError(f"pckh_mpii_table needs the 16 MPII joints, got gt of shape {np.shape(gt)}")
    dist = keypoint_distances(pred, gt, mask, head_sizes)
    acc, _ = _per_keypoint_rate(dist, thr, inclusive=True)
    table = {name: float((acc[i] + acc[j]) / 2) for name, (i, j) in _MPII_GROUPS.items()}

    def pooled(cols: Sequence[int], t: float) -> float:
        d = dist[:, list(cols)]
        n = int((d >= 0).sum())
        return float(((d >= 0) & (d <= t)).sum() / n) if n else float("nan")

    table["UBody"] = pooled(_MPII_UBODY, thr)
    table["Mean"] = pooled(_MPII_SCORED, thr)
    table["Mean@0.1"] = pooled(_MPII_SCORED, 0.1)
    return table


def torso_diameter(
    keypoints: np.ndarray, pair: tuple[int, int] = (5, 12), visible: np.ndarray | None = None
) -> np.ndarray:
    """Torso diameter: distance between two torso keypoints (DeepPose: left shoulder - right hip).

    Args:
        keypoints: ``(N, K, 2)`` ground-truth px.
        pair: indices ``(i, j)``; ``(5, 12)`` is COCO left shoulder - right hip.
        visible: optional ``(N, K)`` labelled flags; samples missing either end get 0 (invalid).

    Returns:
        ``(N,)`` px.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    i, j = int(pair[0]), int(pair[1])
    diam = np.linalg.norm(keypoints[:, i] - keypoints[:, j], axis=-1)
    if visible is not None:
        visible = np.asarray(visible) > 0
        diam = np.where(visible[:, i] & visible[:, j], diam, 0.0)
    return diam


def pdj(
    pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, torso_diameters: np.ndarray, frac: float = 0.2
) -> tuple[np.ndarray, float, int]:
    """Percentage of Detected Joints: detected when ``d <= frac * torso_diameter``.

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        mask: ``(N, K)`` bool, labelled ground truth.
        torso_diameters: ``(N,)`` px (:func:`torso_diameter`); samples with 0 are skipped.
        frac: fraction of the torso diameter.

    Returns:
        ``(acc, mean, count)`` as :func:`pck`: ``(K,)`` per-joint rate (nan where no valid
        sample), mean over joints with valid samples (0.0 when none), number of such joints.
    """
    dist = keypoint_distances(pred, gt, mask, torso_diameters)
    acc, count = _per_keypoint_rate(dist, frac, inclusive=True)
    mean, scored = _mean_over_scored_keypoints(acc, count)
    return acc, mean, scored


def epe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """Mean end-point error: Euclidean distance px averaged over all valid keypoints.

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        mask: ``(N, K)`` bool, labelled ground truth.

    Returns:
        Mean error px; nan when no keypoint is valid.
    """
    n = np.shape(gt)[0]
    dist = keypoint_distances(pred, gt, mask, np.ones(n))
    valid = dist >= 0
    return float(dist[valid].mean()) if valid.any() else float("nan")


def default_auc_thresholds(max_thr: float = 30.0, num_thrs: int = 20) -> np.ndarray:
    """The hand-benchmark PCK-AUC thresholds: ``max_thr * i / num_thrs`` for ``i < num_thrs``, px."""
    return max_thr * np.arange(num_thrs) / num_thrs


def pck_auc(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, thresholds: np.ndarray | None = None) -> float:
    """Area under the PCK-vs-threshold curve (absolute px thresholds), normalised to [0, 1].

    The curve is sampled on an evenly spaced grid ``t_i = t_0 + i * step``; the area is the
    left Riemann sum ``sum_i PCK(t_i) * step`` over ``[t_0, t_0 + n * step]`` divided by that
    length, i.e. the mean of the sampled PCK values. With the default grid (0, 1.5, ..., 28.5 px)
    this is the hand-benchmark AUC reported by mmpose (``norm_factor=30, num_thrs=20``).

    Args:
        pred: ``(N, K, 2)`` px.
        gt: ``(N, K, 2)`` px.
        mask: ``(N, K)`` bool.
        thresholds: ``(T,)`` evenly spaced increasing px thresholds; None for the default grid.

    Returns:
        AUC in [0, 1]; PCK at each threshold is the mean over keypoints (as :func:`pck`).
    """
    thr = default_auc_thresholds() if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    if thr.ndim != 1 or thr.size == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D array, got shape {thr.shape}")
    if thr.size > 1:
        step = np.diff(thr)
        if np.any(step <= 0) or not np.allclose(step, step[0]):
            raise ValueError(f"thresholds must be evenly spaced and increasing, got {thr.tolist()}")
    dist = keypoint_distances(pred, gt, mask, np.ones(np.shape(gt)[0]))
    values = []
    for t in thr:
        acc, count = _per_keypoint_rate(dist, float(t), inclusive=False)
        values.append(_mean_over_scored_keypoints(acc, count)[0])
    return float(np.mean(values))


def auc_from_errors(errors: np.ndarray, max_thr: float, step: float) -> float:
    """Area under the cumulative error distribution (CED) up to ``max_thr``, normalised to [0, 1].

    ``CED(t)`` is the fraction of errors ``<= t``, sampled at ``0, step, ..., max_thr`` and
    integrated with the trapezoid rule, then divided by ``max_thr`` (the AUC@0.1 of face
    alignment when ``errors`` are per-image NMEs and ``max_thr = 0.1``).

    Args:
        errors: ``(M,)`` errors in any unit (px, or NME as a fraction).
        max_thr: upper end of the curve, same unit as ``errors``.
        step: sampling step; ``max_thr / step`` is rounded to the nearest integer.

    Returns:
        AUC in [0, 1]; nan when ``errors`` is empty.
    """
    errors = np.asarray(errors, dtype=np.float64).ravel()
    if max_thr <= 0 or step <= 0:
        raise ValueError(f"max_thr ({max_thr}) and step ({step}) must be positive")
    if errors.size == 0:
        return float("nan")
    n = max(1, int(round(max_thr / step)))
    t = np.linspace(0.0, max_thr, n + 1)
    ced = (errors[None, :] <= t[:, None]).mean(axis=1)
    area = float(np.sum((ced[1:] + ced[:-1]) * np.diff(t)) / 2.0)
    return area / max_thr
