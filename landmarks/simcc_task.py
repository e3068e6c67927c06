"""Keypoints by SimCC coordinate classification, for any layout (``task=body_simcc``, ``task=hand_simcc``).

Li et al., "SimCC: a Simple Coordinate Classification Perspective for Human Pose Estimation",
ECCV 2022 (the codec of RTMPose). The generic keypoint machinery of
:class:`landmarks.keypoint_task.KeypointTask` (layout, flip test, unwarp to the original image, JSON,
drawing) with three SimCC parts chosen in ``conf/task/*_simcc.yaml``:

* codec :class:`landmarks.codecs.simcc.SimCCCodec` (1-D x / y bins, ``split_ratio`` per input px,
  Gaussian label smoothing; argmax decode, score = the smaller axis's probability mass near the
  argmax);
* head :class:`landmarks.heads.simcc.SimCCHead` (``(B, K, Lx + Ly)`` logits, x bins first);
* loss :class:`landmarks.losses.simcc.SimCCKLLoss` (KL to the label-softmax targets, visibility-weighted).

The flip test reverses the x bins of the mirrored input's logits and averages the logits
(:meth:`SimCCCodec.flip_back`). Metrics are the YAML's (the same as the heatmap tasks'); without
a choice, :meth:`HeatmapKeypointTask.default_metrics`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from landmarks.heatmap_task import HeatmapKeypointTask
from landmarks.keypoint_task import KeypointTask
from landmarks.task import MetricsConfig

__all__ = ["SimCCKeypointTask"]


class SimCCKeypointTask(KeypointTask):
    """Top-down keypoints as two 1-D classifications per keypoint.

    Args:
        spec: the keypoint layout.
        codec: :class:`~landmarks.codecs.simcc.SimCCCodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=, input_size=, num_bins=)``
            returning ``(B, K, Lx + Ly)`` logits.
        loss: ``loss(pred_x, pred_y, target_x, target_y, target_weight)``, e.g. ``SimCCKLLoss``.
        name: the task's name (``body``, ``hand``, ...); default ``keypoints``.
        monitor, monitor_mode, loss_weight: as :class:`~landmarks.keypoint_task.LayoutTask`
            (defaults ``val/pck``, ``max``).
        metrics: metric objects or partials; ``None``: those of :class:`HeatmapKeypointTask`.
    """

    target_key = "simcc_x"

    def _check_parts(self, codec: Any, loss: nn.Module) -> None:
        """The codec must be a SimCC codec (it splits the logits into x and y bins and flips them)."""
        for attr in ("split", "num_bins", "flip_back"):
            if not hasattr(codec, attr):
                raise TypeError(
                    f"task '{self.name}': codec must be a SimCC codec (landmarks.codecs.simcc.SimCCCodec) with "
                    f"'{attr}', got {type(codec).__name__}"
                )

    def default_metrics(self) -> MetricsConfig:
        return HeatmapKeypointTask.default_metrics(self)  # type: ignore[arg-type]  # uses only self.spec

    def head_kwargs(self) -> dict[str, Any]:
        return {"input_size": self._codec.input_size, "num_bins": self._codec.num_bins}

    def loss(self, out: torch.Tensor | list[torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """KL of the x and y bin distributions (summed over stages if the head returns a list)."""
        target = batch["targets"][self.name]
        stages = out if isinstance(out, list) else [out]
        total = torch.zeros((), device=stages[0].device)
        for stage in stages:
            x, y = self._codec.split(stage)
            total = total + self.criterion(x, y, target["simcc_x"], target["simcc_y"], target["target_weight"])
        return {"loss": total}
