"""Object Keypoint Similarity (OKS) and OKS-based non-maximum suppression.

* OKS: Lin et al., "Microsoft COCO: Common Objects in Context", ECCV 2014, keypoint
  evaluation as defined by the COCO API (``COCOeval.computeOks``): a Gaussian of the
  keypoint error with per-keypoint variance ``(2 sigma)^2`` scaled by the object area.
* OKS-NMS: greedy suppression of duplicate poses by OKS, used on top-down predictions from
  overlapping detector boxes by SimpleBaseline (Xiao et al., ECCV 2018), HRNet (Sun et al.,
  CVPR 2019) and mmpose.

Pure numpy, no state. :class:`landmarks.metrics.coco.CocoKeypointEvaluator` uses both; the
COCO AP itself is always computed by pycocotools, never re-implemented here.
"""

from __future__ import annotations

import numpy as np


def oks(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, area: float, sigmas: np.ndarray) -> float:
    """Object Keypoint Similarity between one predicted and one ground-truth pose (COCO).

    ``OKS = mean_i exp(-d_i^2 / (2 * (area + eps) * (2 * sigma_i)^2))`` over the keypoints that
    are labelled in the ground truth (``visible > 0``); ``eps`` is the float64 spacing of 1.

    Args:
        pred: ``(K, 2)`` px.
        gt: ``(K, 2)`` px.
        visible: ``(K,)`` COCO visibility of the ground truth (0 unlabelled, 1, 2).
        area: ground-truth object area px^2 (COCO ``area``, the segment area).
        sigmas: ``(K,)`` per-keypoint OKS sigmas (COCO: 0.026 .. 0.107).

    Returns:
        OKS in [0, 1]; 0.0 when the ground truth has no labelled keypoint (COCO then ignores
        that ground truth in keypoint evaluation).
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if pred.shape != gt.shape or gt.shape != (sigmas.shape[0], 2):
        raise ValueError(f"pred {pred.shape}, gt {gt.shape} must be (K, 2) with K = len(sigmas) = {sigmas.shape[0]}")
    labelled = np.asarray(visible).reshape(-1) > 0
    if not labelled.any():
        return 0.0
    d2 = np.sum((pred - gt) ** 2, axis=-1)
    e = d2 / (2.0 * sigmas) ** 2 / (float(area) + np.spacing(1)) / 2.0
    return float(np.mean(np.exp(-e[labelled])))


def oks_nms(
    keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray, sigmas: np.ndarray, thr: float = 0.9
) -> np.ndarray:
    """Greedy non-maximum suppression of poses by OKS.

    Poses are visited by decreasing score; a pose is dropped when its OKS with an already kept
    pose is above ``thr``. OKS between two predictions uses all K keypoints and the mean of the
    two areas as scale (SimpleBaseline/HRNet/mmpose convention).

    Args:
        keypoints: ``(N, K, 2)`` px, poses of one image.
        scores: ``(N,)`` instance scores.
        areas: ``(N,)`` instance areas px^2 (e.g. box area).
        sigmas: ``(K,)`` OKS sigmas.
        thr: OKS above which the lower-scored pose is suppressed.

    Returns:
        ``(M,)`` int64 indices of kept poses, highest score first.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    areas = np.asarray(areas, dtype=np.float64).reshape(-1)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    n = scores.shape[0]
    if keypoints.shape != (n, sigmas.shape[0], 2) or areas.shape != (n,):
        raise ValueError(
            f"keypoints {keypoints.shape}, scores {scores.shape}, areas {areas.shape} must be "
            f"(N, K, 2), (N,), (N,) with K = len(sigmas) = {sigmas.shape[0]}"
        )
    var = (2.0 * sigmas) ** 2
    order = np.argsort(-scores, kind="mergesort")
    keep: list[int] = []
    while order.size > 0:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        d2 = np.sum((keypoints[rest] - keypoints[i]) ** 2, axis=-1)
        scale = (areas[rest] + areas[i])[:, None] / 2.0 + np.spacing(1)
        sim = np.mean(np.exp(-d2 / var / scale / 2.0), axis=1)
        order = rest[sim <= thr]
    return np.asarray(keep, dtype=np.int64)
