"""The COCO top-down protocol after the pose model: rescoring, OKS-NMS and soft-OKS-NMS.

* Rescoring: a detected box's score times the mean of its confident keypoint scores, the
  instance score SimpleBaseline (Xiao et al., ECCV 2018) and HRNet (Sun et al., CVPR 2019)
  submit to the COCO keypoint evaluation.
* OKS-NMS: greedy suppression of duplicate poses by Object Keypoint Similarity; the
  implementation is :func:`landmarks.metrics.oks.oks_nms` (this module checks the arguments).
* Soft-OKS-NMS: Soft-NMS (Bodla et al., "Soft-NMS -- Improving Object Detection With One Line
  of Code", ICCV 2017) with OKS in place of box IoU: overlapping poses are down-weighted
  instead of dropped.

OKS between two predictions uses all K keypoints and the mean of the two areas as scale
(the OKS-NMS convention of :mod:`landmarks.metrics.oks`); every OKS value here comes from
:func:`landmarks.metrics.oks.oks`, so there is one OKS formula in the project. Pure numpy; all
functions accept N = 0. To add a sibling (e.g. a matrix-NMS), take the same ``(N, K, 2)``
poses, ``(N,)`` scores and ``(N,)`` areas and return kept indices, highest score first.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from landmarks.metrics.oks import oks as _pair_oks
from landmarks.metrics.oks import oks_nms as _greedy_oks_nms

__all__ = ["oks", "oks_nms", "rescore", "soft_oks_nms"]


def _vector(x: object, name: str, n: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or (n is not None and a.shape[0] != n):
        want = "(N,)" if n is None else f"({n},)"
        raise ValueError(f"{name}: expected shape {want}, got {a.shape}")
    return a


def _poses(x: object, name: str, n: int | None, k: int) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 3 or a.shape[1:] != (k, 2) or (n is not None and a.shape[0] != n):
        raise ValueError(f"{name}: expected shape ({'N' if n is None else n}, {k}, 2) (K = len(sigmas)), got {a.shape}")
    return a


def oks(
    kpts_a: np.ndarray,
    kpts_b: np.ndarray,
    area_a: float,
    areas_b: np.ndarray,
    sigmas: np.ndarray,
    visible: np.ndarray | None = None,
) -> np.ndarray:
    """OKS of one pose against N others, scale = mean of the two areas.

    ``OKS_n = mean_{i: visible_i} exp(-d_ni^2 / (2 * s_n * (2 sigma_i)^2))`` with
    ``s_n = (area_a + areas_b[n]) / 2`` (:func:`landmarks.metrics.oks.oks` with that area).

    Args:
        kpts_a: ``(K, 2)`` px, the reference pose.
        kpts_b: ``(N, K, 2)`` px.
        area_a: area of pose a, px^2 (e.g. its box ``w * h``).
        areas_b: ``(N,)`` px^2.
        sigmas: ``(K,)`` OKS sigmas.
        visible: ``(K,)`` keypoints of a to use (``> 0``); ``None`` uses all K.

    Returns:
        ``(N,)`` float64 OKS in [0, 1] (0 for every n when no keypoint is visible).

    Raises:
        ValueError: naming the argument whose shape is wrong.
    """
    sig = _vector(sigmas, "sigmas")
    k = sig.shape[0]
    a = np.asarray(kpts_a, dtype=np.float64)
    if a.shape != (k, 2):
        raise ValueError(f"kpts_a: expected shape ({k}, 2) (K = len(sigmas)), got {a.shape}")
    b = _poses(kpts_b, "kpts_b", None, k)
    areas = _vector(areas_b, "areas_b", b.shape[0])
    vis = np.ones(k) if visible is None else _vector(visible, "visible", k)
    return np.array(
        [_pair_oks(b[n], a, vis, (float(area_a) + areas[n]) / 2.0, sig) for n in range(b.shape[0])],
        dtype=np.float64,
    )


def rescore(box_scores: np.ndarray, kpt_scores: np.ndarray, thr: float = 0.2) -> np.ndarray:
    """Instance scores of the top-down protocol: box score x mean of confident keypoint scores.

    ``score_n = box_n * mean({kpt_ni : kpt_ni > thr})``; an instance with no keypoint score
    above ``thr`` scores 0.

    Args:
        box_scores: ``(N,)`` detector scores.
        kpt_scores: ``(N, K)`` keypoint confidences (e.g. heatmap maxima).
        thr: keypoint scores at or below it are left out of the mean.

    Returns:
        ``(N,)`` float64.
    """
    boxes = _vector(box_scores, "box_scores")
    kpt = np.asarray(kpt_scores, dtype=np.float64)
    if kpt.ndim != 2 or kpt.shape[0] != boxes.shape[0]:
        raise ValueError(f"kpt_scores: expected shape ({boxes.shape[0]}, K) (N = len(box_scores)), got {kpt.shape}")
    confident = kpt > thr
    count = confident.sum(axis=1)
    mean = np.where(count > 0, np.where(confident, kpt, 0.0).sum(axis=1) / np.maximum(count, 1), 0.0)
    return boxes * mean


def _check(kpts: object, scores: object, areas: object, sigmas: object) -> tuple[np.ndarray, ...]:
    sig = _vector(sigmas, "sigmas")
    s = _vector(scores, "scores")
    return _poses(kpts, "kpts", s.shape[0], sig.shape[0]), s, _vector(areas, "areas", s.shape[0]), sig


def oks_nms(
    kpts: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray, thr: float = 0.9
) -> np.ndarray:
    """Greedy OKS-NMS: visit poses by decreasing score, drop one whose OKS with a kept pose is > ``thr``.

    Args:
        kpts: ``(N, K, 2)`` px, the poses of one image.
        scores: ``(N,)`` instance scores (e.g. :func:`rescore`).
        areas: ``(N,)`` px^2 (e.g. box ``w * h``).
        sigmas: ``(K,)`` OKS sigmas.
        thr: OKS above which the lower-scored pose is suppressed.

    Returns:
        ``(M,)`` int64 indices of the kept poses, highest score first (ties: lower index first).

    Raises:
        ValueError: naming the argument whose shape is wrong.
    """
    k, s, a, sig = _check(kpts, scores, areas, sigmas)
    return _greedy_oks_nms(k, s, a, sig, thr=thr)


def soft_oks_nms(
    kpts: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray,
    thr: float = 0.3,
    method: Literal["gaussian", "linear"] = "gaussian",
    sigma: float = 0.5,
    score_thr: float = 0.0,
    max_dets: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Soft-NMS (Bodla et al., ICCV 2017) with OKS as the overlap.

    Repeatedly take the remaining pose ``m`` of highest (decayed) score, keep it, and decay the
    score of every other remaining pose ``j`` by its OKS ``o`` with ``m``:

    * ``"linear"``: ``s_j <- s_j * (1 - o)`` when ``o >= thr``, unchanged otherwise;
    * ``"gaussian"``: ``s_j <- s_j * exp(-o^2 / sigma)`` (``thr`` is not used).

    A pose whose decayed score falls to or below ``score_thr`` is dropped (``score_thr = 0``
    drops only scores decayed to exactly 0). Costs ``N^2 / 2`` OKS evaluations.

    Args:
        kpts: ``(N, K, 2)`` px.
        scores: ``(N,)`` instance scores.
        areas: ``(N,)`` px^2.
        sigmas: ``(K,)`` OKS sigmas.
        thr: OKS at or above which the linear rule decays a score.
        method: ``"gaussian"`` or ``"linear"``.
        sigma: width of the Gaussian rule.
        score_thr: decayed scores at or below it are dropped.
        max_dets: keep at most this many poses (``None``: no limit).

    Returns:
        ``(keep, kept_scores)``: ``(M,)`` int64 indices in the order they were kept (decreasing
        decayed score) and ``(M,)`` float64 their decayed scores.

    Raises:
        ValueError: naming the argument that is wrong.
    """
    k, s, a, sig = _check(kpts, scores, areas, sigmas)
    if method not in ("gaussian", "linear"):
        raise ValueError(f"method: expected 'gaussian' or 'linear', got {method!r}")
    if method == "gaussian" and sigma <= 0:
        raise ValueError(f"sigma: expected > 0 for the Gaussian rule, got {sigma}")
    current = s.copy()
    remaining = np.flatnonzero(current > score_thr)
    keep: list[int] = []
    kept_scores: list[float] = []
    limit = len(s) if max_dets is None else int(max_dets)
    while remaining.size > 0 and len(keep) < limit:
        best = int(remaining[np.argmax(current[remaining])])  # argmax: lowest index among ties
        keep.append(best)
        kept_scores.append(float(current[best]))
        rest = remaining[remaining != best]
        o = oks(k[best], k[rest], a[best], a[rest], sig)
        if method == "linear":
            current[rest] *= np.where(o >= thr, 1.0 - o, 1.0)
        else:
            current[rest] *= np.exp(-(o**2) / sigma)
        remaining = rest[current[rest] > score_thr]
    return np.asarray(keep, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)
