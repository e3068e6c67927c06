"""Body pose: top-down Gaussian heatmaps (SimpleBaseline, Xiao et al. ECCV 2018; HRNet, Sun et al. CVPR 2019).

COCO-17 by default (``conf/task/body.yaml``), MPII-16 with ``data=mpii``: the generic heatmap task
(:class:`landmarks.heatmap_task.HeatmapKeypointTask`) named ``body``. Its metrics are chosen in the YAML:
PCK@0.1 of the box's longer side (+ EPE), PDJ on the layout's torso pair (DeepPose), PCKh@0.5 (the MPII
table for the MPII layout) and the COCO keypoint AP/AR statistics (pycocotools).
"""

from __future__ import annotations

from landmarks.heatmap_task import HeatmapKeypointTask

__all__ = ["BodyTask", "HeatmapKeypointTask"]  # HeatmapKeypointTask: the target stored by older checkpoints


class BodyTask(HeatmapKeypointTask):
    """:class:`HeatmapKeypointTask` named ``body`` by default; arguments as there."""

    default_name = "body"
    box_category = "person"  # a detector's person boxes (infer.py detector=hog|DET.ckpt) are this task's boxes
