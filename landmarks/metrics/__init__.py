"""Metrics: pure functions (:mod:`.functional`, :mod:`.oks`) and stateful wrappers.

* :mod:`landmarks.metrics.functional` -- PCK, PCKh (+ MPII table), PDJ, EPE, AUC (numpy).
* :mod:`landmarks.metrics.oks` -- COCO OKS and OKS-NMS (numpy).
* :mod:`landmarks.metrics.coco` -- :class:`CocoKeypointEvaluator`, AP/AR through pycocotools.
* :mod:`landmarks.metrics.keypoints` -- ``torchmetrics`` wrappers PCK / PCKh / PDJ.
* :mod:`landmarks.metrics.sigmas` -- OKS sigmas estimated from repeated annotations (numpy).
"""

from landmarks.metrics.coco import CocoKeypointEvaluator, rescore, to_results
from landmarks.metrics.functional import (
    auc_from_errors,
    bbox_norm,
    default_auc_thresholds,
    epe,
    keypoint_distances,
    mpii_head_size,
    pck,
    pck_auc,
    pckh,
    pckh_mpii_table,
    pdj,
    torso_diameter,
)
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
from landmarks.metrics.oks import oks, oks_nms

__all__ = [
    "CocoKeypointEvaluator", "PCKMetric", "PCKhMetric", "PDJMetric", "auc_from_errors", "bbox_norm",
    "default_auc_thresholds", "epe", "keypoint_distances", "mpii_head_size", "oks", "oks_nms", "pck",
    "pck_auc", "pckh", "pckh_mpii_table", "pdj", "rescore", "to_results", "torso_diameter",
]
