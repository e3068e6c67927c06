"""Keypoints by RLE regression, with a scale per keypoint (``task=body_rle``, ``task=hand_rle``).

Li et al., "Human Pose Regression with Residual Log-likelihood Estimation", ICCV 2021. The generic
keypoint machinery of :class:`landmarks.keypoint_task.KeypointTask` (layout, flip test, unwarp, JSON,
drawing) with the RLE parts chosen in ``conf/task/*_rle.yaml``:

* codec :class:`landmarks.codecs.rle.RLECodec` (coordinates targets; decode of ``x, y, sigma_x,
  sigma_y``; score = the fitted distribution's probability of both axes within a tolerance);
* head :class:`landmarks.heads.rle.RLEHead` (``(B, K, 4)`` input px);
* loss :class:`landmarks.losses.rle.RLELoss` (RealNVP residual log-likelihood, or plain Laplace NLL).

Predictions carry the scale: ``Prediction.extras["scale"]`` ``(B, K, 2)`` is ``sigma`` along the
crop's x and y axes in **image px** (input px times the crop's image px per input px on that
axis; the crop axes are the image axes unless the crop was rotated). ``to_json`` writes it as
``scale``. :class:`landmarks.metrics.calibration.ScaleCalibration` checks it against the errors.

The flip test mirrors ``x``, permutes left/right and averages ``x, y, sigma`` with the plain output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.heatmap_task import HeatmapKeypointTask
from landmarks.keypoint_task import KeypointTask
from landmarks.metrics.calibration import ScaleCalibration
from landmarks.task import MetricsConfig
from landmarks.types import Prediction

__all__ = ["RLEKeypointTask"]


class RLEKeypointTask(KeypointTask):
    """Top-down keypoint regression with a per-keypoint scale (RLE).

    Args:
        spec: the keypoint layout.
        codec: :class:`~landmarks.codecs.rle.RLECodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=, input_size=)`` returning
            ``(B, K, 4)`` ``x, y, sigma_x, sigma_y`` input px.
        loss: ``loss(pred, target, target_weight)``, e.g. ``RLELoss`` (its ``base`` must be the codec's).
        name: the task's name (``body``, ``hand``, ...); default ``keypoints``.
        monitor, monitor_mode, loss_weight: as :class:`~landmarks.keypoint_task.LayoutTask`
            (defaults ``val/pck``, ``max``).
        metrics: metric objects or partials; ``None``: those of :class:`HeatmapKeypointTask` and
            :class:`ScaleCalibration`.
    """

    target_key = "coords"

    def _check_parts(self, codec: Any, loss: nn.Module) -> None:
        """The codec must be an RLE codec, and the loss's base distribution (if it names one) the codec's."""
        if not hasattr(codec, "decode_scale"):
            raise TypeError(
                f"task '{self.name}': codec must be an RLE codec (landmarks.codecs.rle.RLECodec), "
                f"got {type(codec).__name__}"
            )
        base = getattr(loss, "base", codec.base)
        if base != codec.base:
            raise ValueError(
                f"task '{self.name}': the loss's base distribution '{base}' differs from the codec's '{codec.base}' "
                "(set both from one key, rle_base in conf/task/*_rle.yaml)"
            )

    def default_metrics(self) -> MetricsConfig:
        out: dict[str, Any] = dict(HeatmapKeypointTask.default_metrics(self) or {})  # type: ignore[arg-type,call-overload]  # uses only self.spec
        out["calibration"] = ScaleCalibration(base=self._codec.base)
        return out

    def build_metrics(self, **context: Any) -> None:
        """As :meth:`LayoutTask.build_metrics`; a :class:`ScaleCalibration` also gets the loss's fitted
        residual density, so it reports the flow's own expected coverage (``cover@t_fitted``)."""
        super().build_metrics(**context)
        density = getattr(self.criterion, "residual_log_density", None)
        for metric in self.metric_objects():
            if isinstance(metric, ScaleCalibration) and density is not None:
                metric.fitted_log_density = density

    def head_kwargs(self) -> dict[str, Any]:
        return {"input_size": self._codec.input_size}

    def predict(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """Keypoints and scores as :meth:`KeypointTask.predict`, plus ``extras["scale"]`` ``(B, K, 2)`` image px."""
        pred = super().predict(out, batch)
        sigma = self._codec.decode_scale(out.detach().float())  # (B, K, 2) input px
        span = np.asarray(self._codec.input_size, np.float64) - (1.0 if getattr(self._codec, "udp", False) else 0.0)
        box = np.asarray(torch.as_tensor(batch["meta"]["scale"]).cpu(), np.float64).reshape(-1, 1, 2)
        per_px = box / span  # image px per input px, per crop axis
        pred.extras["scale"] = (sigma * per_px).astype(np.float32)
        return pred
