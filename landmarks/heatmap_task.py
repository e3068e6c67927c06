"""The generic top-down heatmap keypoint task, for any layout (SimpleBaseline / HRNet recipe).

Used as is by ``task=custom`` (a layout from one YAML file) and specialised by ``tasks/body.py``,
``tasks/hand.py`` and ``tasks/face.py``. Head: any heatmap head from :mod:`landmarks.heads.heatmap`; codec: MSRA or UDP heatmaps
(:mod:`landmarks.codecs.heatmap`); loss: visibility-weighted MSE or OHKM
(:mod:`landmarks.losses.heatmap`). Metrics are chosen in ``conf/task/body.yaml``; without a
choice: PCK@0.1 of the box's longer side (+ EPE), PDJ (DeepPose) when the layout names a
torso pair, PCKh@0.5 when head sizes are known (the MPII table for the MPII layout), and the
ten COCO keypoint AP/AR statistics by pycocotools when the layout has OKS sigmas.
"""

from __future__ import annotations

from typing import Any

from landmarks.keypoint_task import KeypointTask
from landmarks.metrics.coco_ap import CocoKeypointAP, coco_dict_from_instances, one_category
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
from landmarks.task import MetricsConfig

__all__ = ["HeatmapKeypointTask", "coco_dict_from_instances", "one_category"]


class HeatmapKeypointTask(KeypointTask):
    """Top-down keypoint heatmaps for any layout (body, hand and face build on it).

    Args:
        spec: the keypoint layout.
        codec: heatmap codec shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)``.
        loss: heatmap loss module ``loss(pred, target, target_weight)``.
        name: as :class:`~landmarks.task.Task`; ``None``: :attr:`default_name` (``keypoints``).
        monitor, monitor_mode, loss_weight: as :class:`~landmarks.keypoint_task.LayoutTask`
            (defaults ``val/pck``, ``max``).
        metrics: metric objects or partials (``conf/task/*.yaml``); ``None``: the module docstring's.
    """

    def default_metrics(self) -> MetricsConfig:
        out: dict[str, Any] = {"pck": PCKMetric(thr=0.1), "pckh": PCKhMetric(spec=self.spec)}
        if self.spec.torso_pair:
            out["pdj"] = PDJMetric(spec=self.spec)
        if self.spec.sigmas:
            out["coco_ap"] = CocoKeypointAP(spec=self.spec)
        return out
