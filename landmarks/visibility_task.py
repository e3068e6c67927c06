"""Keypoint visibility: per keypoint, the probability that it is labelled and visible (``task=body_visibility``).

A task of its own beside a keypoint task on the same backbone (one forward pass, the module's
dict of tasks), so every keypoint representation (heatmaps, regression, SimCC, RLE) gets it
without a change, and a model without it (an older checkpoint) is untouched. Trained on COCO's
``v``: binary cross-entropy of visible (``v = 2``) against occluded (``v = 1``), ``v = 0`` masked
(:mod:`landmarks.codecs.visibility`, :mod:`landmarks.losses.visibility`); head
:mod:`landmarks.heads.visibility`; metrics AUROC and calibration
(:class:`landmarks.metrics.visibility.VisibilityMetric`). Synthetic labels come from the renderers'
depth order and image bounds.

Its prediction has no keypoints (``K = 0``): ``Prediction.extras["visibility"]`` ``(B, K)``
probabilities in the layout's keypoint order. So inference (:mod:`landmarks.inference.results`)
adds its ``to_json`` fields to the keypoint task's entry of the same box, ``keypoint_visibility``
``[p_1 .. p_K]`` (4 decimals), and lends its extras to that task's drawing, where points with
``p < 0.5`` are drawn hollow (:func:`landmarks.drawing.hollow_mask`). The flip test swaps the
left/right logits of the mirrored crop back and averages the logits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.codecs.visibility import VisibilityCodec
from landmarks.keypoint_task import LayoutTask
from landmarks.metrics.visibility import VisibilityMetric
from landmarks.task import MetricsConfig
from landmarks.types import Prediction

__all__ = ["VisibilityTask"]


class VisibilityTask(LayoutTask):
    """Visible-vs-occluded probability for each keypoint of a layout.

    The layout's machinery of :class:`~landmarks.keypoint_task.LayoutTask`: the head gives ``(B, K)``
    logits, the loss is masked BCE on ``targets["visibility"]`` (keypoints with ``v = 0``, and
    samples without flags, have weight 0), the flip test swaps left/right logits back (a mirrored
    crop shows the left wrist where the right one was). It draws nothing of its own: the keypoint
    task draws the points it lends hollow (module docstring).

    Args:
        spec: the keypoint layout (the keypoint task's: same ``K``, order and flip pairs).
        codec: :class:`~landmarks.codecs.visibility.VisibilityCodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)`` returning ``(B, K)`` logits.
        loss: ``loss(logits, target, target_weight)``, e.g. :class:`~landmarks.losses.visibility.VisibilityBCELoss`.
        name: the task's key in the model and in ``batch["targets"]``; default ``visibility``.
        monitor, monitor_mode, loss_weight: as :class:`~landmarks.keypoint_task.LayoutTask`
            (defaults ``val/vis_auroc``, ``max``).
        metrics: metric objects or partials; ``None``: :class:`VisibilityMetric`.
        box_category: what a box holds, as the keypoint task's (``"person"`` for body), so a model of
            both still takes a detector's boxes of that category (``None``: does not say).
    """

    target_key = "visibility"
    default_name = "visibility"
    default_monitor = "val/vis_auroc"

    def _check_parts(self, codec: Any, loss: nn.Module) -> None:
        """The codec must be a :class:`VisibilityCodec`."""
        if not isinstance(codec, VisibilityCodec):
            raise TypeError(
                f"task '{self.name}': codec must be a landmarks.codecs.visibility.VisibilityCodec, "
                f"got {type(codec).__name__}"
            )

    def default_metrics(self) -> MetricsConfig:
        return {"visibility": VisibilityMetric(spec=self.spec)}

    # --- the one output path -------------------------------------------------------------
    def predict(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """``extras["visibility"]`` ``(B, K)`` probabilities; no keypoints (they are the keypoint task's)."""
        probs = self._codec.decode(out)
        b = len(probs)
        return Prediction(
            keypoints=np.zeros((b, 0, 2), np.float32),
            scores=np.zeros((b, 0), np.float32),
            extras={"visibility": probs},
        )

    def to_json(self, prediction: Prediction, i: int) -> dict[str, Any]:
        """``keypoints: []``, ``keypoint_scores: []`` (the keypoint task's entry keeps its own) and
        ``keypoint_visibility`` ``(K,)`` probabilities, 4 decimals."""
        probs = np.asarray(prediction.extras["visibility"][i], np.float64).reshape(-1)
        return {"keypoints": [], "keypoint_scores": [], "keypoint_visibility": probs.round(4).tolist()}
