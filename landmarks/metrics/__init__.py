"""Metrics: pure functions (:mod:`.functional`, :mod:`.oks`) and stateful wrappers.

* :mod:`landmarks.metrics.functional` -- PCK, PCKh (+ MPII table), PDJ, EPE, AUC (numpy).
* :mod:`landmarks.metrics.oks` -- COCO OKS and OKS-NMS (numpy).
* :mod:`landmarks.metrics.coco` -- :class:`CocoKeypointEvaluator`, AP/AR through pycocotools.
* :mod:`landmarks.metrics.samples` -- :class:`SampleMetric`, the base of every metric object
  (per-sample rows gathered across processes, deduplicated by dataset index, computed once).
* :mod:`landmarks.metrics.keypoints` -- metric objects PCK (+ EPE, AUC) / PCKh / PDJ.
* :mod:`landmarks.metrics.coco_ap` -- :class:`CocoKeypointAP`, COCO AP/AR once on all processes' rows.
* :mod:`landmarks.metrics.face_nme` -- :class:`FaceNME` (NME, FR, AUC, yaw bands, WFLW subsets).
* :mod:`landmarks.metrics.head_pose_mae` -- :class:`PoseMAE` (Euler MAE, geodesic error).
* :mod:`landmarks.metrics.sigmas` -- OKS sigmas estimated from repeated annotations (numpy).
"""

from landmarks.metrics.coco import CocoKeypointEvaluator, rescore, to_results
from landmarks.metrics.coco_ap import CocoKeypointAP
from landmarks.metrics.face_nme import FaceNME
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
from landmarks.metrics.head_pose_mae import PoseMAE
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
from landmarks.metrics.oks import oks, oks_nms
from landmarks.metrics.samples import SampleMetric

__all__ = [
    "CocoKeypointAP",
    "CocoKeypointEvaluator",
    "FaceNME",
    "PCKMetric",
    "PoseMAE",
    "SampleMetric",
    "PCKhMetric",
    "PDJMetric",
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
    "rescore",
    "to_results",
    "torso_diameter",
]
