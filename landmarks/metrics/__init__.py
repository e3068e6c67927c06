"""Metrics: pure functions (:mod:`.functional`, :mod:`.oks`) and stateful wrappers.

* :mod:`landmarks.metrics.functional` -- PCK, PCKh (+ MPII table), PDJ, EPE, AUC (numpy; its ``__all__``
  is re-exported here).
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

from landmarks.metrics import functional
from landmarks.metrics.coco import CocoKeypointEvaluator, rescore, to_results
from landmarks.metrics.coco_ap import CocoKeypointAP
from landmarks.metrics.face_nme import FaceNME
from landmarks.metrics.functional import *  # noqa: F403  (the pure formulas, listed once: functional.__all__)
from landmarks.metrics.head_pose_mae import PoseMAE
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
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
    "rescore",
    "to_results",
]
__all__ += functional.__all__
