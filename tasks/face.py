"""Face landmarks (68 iBUG / 98 WFLW): direct coordinate regression with Wing loss; heatmap variant.

* :class:`FaceLandmarkTask` (``conf/task/face.yaml``): a regression head
  (:class:`landmarks.heads.regression.RegressionHead`, pooled features -> MLP -> K x 2) with
  the coordinate codec (:class:`landmarks.codecs.coords.CoordinateCodec`, unit: input-crop
  px) and a coordinate loss chosen by config: Wing (Feng et al., CVPR 2018; default
  ``w = 10, e = 2`` px), Soft Wing, L1 or MSE (:mod:`landmarks.losses.wing`,
  :mod:`landmarks.losses.coords`).
* :class:`FaceHeatmapTask` (``conf/task/face_heatmap.yaml``): the body machinery
  (:class:`landmarks.heatmap_task.HeatmapKeypointTask`: heatmap head, codec, flip test, unwarp) trained
  with Adaptive Wing (Wang et al., ICCV 2019) and its weighted loss map.

Both are judged by :class:`landmarks.metrics.face_nme.FaceNME` (``val/nme`` box-normalised by
default, ``nme_io``, ``nme_ip``, ``fr``, ``auc``, yaw bands, WFLW subsets; fractions, not %),
chosen in the task YAML (``tasks.face.metrics.nme.norm=io`` for the inter-ocular protocol).
Faces without landmark labels (all ``visible == 0``, e.g. from a pose-only source) are left
out of every metric and contribute zero to the loss (weights 0).
"""

from __future__ import annotations

from typing import Any

from landmarks.heatmap_task import HeatmapKeypointTask
from landmarks.keypoint_task import KeypointTask
from landmarks.metrics.face_nme import FaceNME
from landmarks.task import MetricsConfig


class FaceTask(KeypointTask):
    """What both face tasks share: the face defaults of the task arguments and the face metrics.

    Not configured directly: :class:`FaceLandmarkTask` and :class:`FaceHeatmapTask` put it in
    front of their keypoint base.

    Args:
        spec, codec, head, loss, loss_weight, box_category: as :class:`~landmarks.keypoint_task.LayoutTask`.
        name, monitor, monitor_mode: as there; defaults ``face``, ``val/nme``, ``min``.
        metrics: metric objects or partials; ``None``: :class:`FaceNME` with its defaults.
    """

    box_category = "face"
    default_name = "face"
    default_monitor = "val/nme"
    default_monitor_mode = "min"

    def default_metrics(self) -> MetricsConfig:
        return {"nme": FaceNME()}


class FaceLandmarkTask(FaceTask):
    """Face landmarks by direct coordinate regression.

    Args:
        spec: the landmark layout (``landmarks.layouts.face.ibug68`` or ``wflw98``).
        codec: :class:`landmarks.codecs.coords.CoordinateCodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=, input_size=)`` returning
            ``(B, K, 2)`` input px.
        loss: coordinate loss ``loss(pred, target, target_weight)``, input px.
        metrics: as :class:`FaceTask`.
    """

    target_key = "coords"

    def head_kwargs(self) -> dict[str, Any]:
        return {"input_size": self._codec.input_size}


class FaceHeatmapTask(FaceTask, HeatmapKeypointTask):
    """Face landmarks from heatmaps (train with Adaptive Wing), judged by the face metrics.

    The heatmap machinery of :class:`HeatmapKeypointTask` with the face metrics of :class:`FaceTask`.

    Args:
        spec: the landmark layout.
        codec: heatmap codec shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)``.
        loss: heatmap loss ``loss(pred, target, target_weight)``, e.g. ``AdaptiveWingLoss``.
        metrics: as :class:`FaceTask`.
    """
