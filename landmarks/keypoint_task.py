"""The bases of the tasks whose head gives one output per keypoint of a layout.

* :class:`LayoutTask`: the layout (``spec``, its flip indices), the codec, the head factory
  called with ``num_keypoints=``, the loss on ``batch["targets"][name][target_key]`` (summed over
  a staged head's outputs: the intermediate supervision of CPM, Wei et al. CVPR 2016, and Stacked
  Hourglass, Newell et al. ECCV 2016) and the flip test through the codec's ``flip_back``; the
  defaults of ``name`` / ``monitor`` / ``monitor_mode`` as class attributes, so a task that only
  changes them needs no constructor.
* :class:`KeypointTask`: keypoint positions: the codec's read-out, the inverse of the crop
  (:func:`landmarks.data.crop.unwarp_points`), JSON and the skeleton drawing. Heatmaps
  (:mod:`landmarks.heatmap_task`), RLE (:mod:`landmarks.rle_task`), SimCC
  (:mod:`landmarks.simcc_task`) and the face and hand tasks build on it.

A per-keypoint output that is not a position (e.g. :mod:`landmarks.visibility_task`) subclasses
:class:`LayoutTask` and implements ``predict`` (and ``to_json``); a new keypoint read-out
subclasses :class:`KeypointTask`, sets ``target_key`` and, if the codec must be of one kind,
overrides :meth:`LayoutTask._check_parts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.task import HeadFactory, MetricsConfig, Task
from landmarks.types import Prediction

__all__ = ["KeypointTask", "LayoutTask"]


class LayoutTask(Task):
    """A task with one output per keypoint of a :class:`~landmarks.layouts.spec.KeypointSpec`.

    The keypoints' positions (:class:`KeypointTask`) or a property of each keypoint (the
    visibility task). Holds what they share: the layout (its flip indices; metric factories
    receive it as ``spec=``), the codec, the head factory called with ``num_keypoints=``, the
    loss ``criterion(out, target[target_key], target["target_weight"])`` summed over the stages
    of a staged head, and the flip test through the codec's ``flip_back``. A subclass sets
    ``target_key``, the defaults of its arguments (:attr:`default_name`, :attr:`default_monitor`,
    :attr:`default_monitor_mode`) and, where it needs a codec or loss of one kind,
    :meth:`_check_parts`.

    Args:
        spec: keypoint layout.
        codec: codec shared with the data pipeline.
        head: head factory ``head(in_channels=, in_strides=, num_keypoints=, **head_kwargs)``.
        loss: ``loss(pred, target, target_weight)``.
        name: as :class:`Task`; ``None``: :attr:`default_name`.
        monitor: as :class:`Task`; ``None``: :attr:`default_monitor`.
        monitor_mode: as :class:`Task`; ``None``: :attr:`default_monitor_mode`.
        loss_weight, metrics: as :class:`Task`.
        box_category: what one box of this task holds (:attr:`Task.box_category`); ``None``: the
            class's (``"person"`` for body, ``"face"``, ``"hand"``; ``None`` for the generic task).
    """

    target_key: str
    """The key of ``batch["targets"][name]`` the loss compares the head output with."""
    default_name: str = "keypoints"
    """The task's name when the config gives none (a subclass for one kind of layout sets its own)."""
    default_monitor: str = "val/pck"
    """The monitored metric when the config names none."""
    default_monitor_mode: str = "max"
    """Whether :attr:`default_monitor` improves upwards (``"max"``) or downwards (``"min"``)."""

    def __init__(
        self,
        spec: Any,
        codec: Any,
        head: HeadFactory,
        loss: nn.Module,
        name: str | None = None,
        monitor: str | None = None,
        monitor_mode: str | None = None,
        loss_weight: float = 1.0,
        metrics: MetricsConfig = None,
        box_category: str | None = None,
    ) -> None:
        super().__init__(
            name=name or self.default_name,
            monitor=self.default_monitor if monitor is None else monitor,
            monitor_mode=self.default_monitor_mode if monitor_mode is None else monitor_mode,
            loss_weight=loss_weight,
            metrics=metrics,
        )
        self._check_parts(codec, loss)
        if box_category is not None:
            self.box_category = box_category
        self.spec = spec
        self.hold_parts(codec, head, loss)
        self.build_metrics(spec=spec)

    def _check_parts(self, codec: Any, loss: nn.Module) -> None:
        """Raise when ``codec`` or ``loss`` does not suit this task (before anything is kept); default: accept.

        Raises:
            TypeError: the codec is of another kind than the task decodes.
            ValueError: the loss disagrees with the codec.
        """

    def head_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for the head factory (e.g. ``input_size``)."""
        return {}

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(
            in_channels=channels, in_strides=strides, num_keypoints=self.spec.num_keypoints, **self.head_kwargs()
        )

    @property
    def flip_indices(self) -> np.ndarray:
        return self.spec.flip_indices

    def loss(self, out: torch.Tensor | list[torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``criterion`` on this task's targets; unlabelled keypoints have weight 0.

        A staged head (:mod:`landmarks.heads.staged`) returns a list in training: the
        criterion is summed over its stages (CPM / Hourglass intermediate supervision).
        """
        return {"loss": self.staged_criterion(out, batch["targets"][self.name])}

    def staged_criterion(self, out: torch.Tensor | list[torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum of ``criterion(stage, target[target_key], target_weight)`` over the head's stages."""
        stages = out if isinstance(out, list) else [out]
        return sum(self.criterion(o, target[self.target_key], target["target_weight"]) for o in stages)  # type: ignore[return-value]

    def flip_back(self, out_of_flipped: torch.Tensor) -> torch.Tensor:
        """The codec's ``flip_back``: the mirrored crop's output in the original frame, left/right swapped back."""
        return self._codec.flip_back(out_of_flipped, self.flip_indices)


class KeypointTask(LayoutTask):
    """A task that predicts the keypoints of a :class:`~landmarks.layouts.spec.KeypointSpec`.

    Adds to :class:`LayoutTask` the prediction (the codec's read-out, then the inverse crop),
    its JSON (:meth:`Task.to_json`) and its drawing. Subclasses set ``target_key``
    (``"heatmaps"``, ``"coords"``) and their default metrics.

    Args:
        spec, codec, head, loss, name, monitor, monitor_mode, loss_weight, metrics: as
            :class:`LayoutTask` (head output: heatmaps ``(B, K, h, w)`` or coordinates ``(B, K, 2)``).
    """

    target_key = "heatmaps"

    def _decode_input(self, out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Head output -> ``(keypoints (B, K, 2) input px, scores (B, K))``; default: the codec."""
        return self._codec.decode(out)

    def predict(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """Head output -> keypoints ``(B, K, 2)`` original-image px and scores ``(B, K)``
        (the task's read-out :meth:`_decode_input`, then the inverse crop)."""
        from landmarks.data.crop import unwarp_points

        kpts_input, scores = self._decode_input(out.detach().float())
        meta = batch["meta"]
        kpts = unwarp_points(
            np.asarray(kpts_input),
            _np(meta["center"]),
            _np(meta["scale"]),
            _np(meta["rot"]),
            self._codec.input_size,
            udp=getattr(self._codec, "udp", False),
        )
        return Prediction(keypoints=kpts.astype(np.float32), scores=np.asarray(scores, dtype=np.float32))

    def draw(
        self,
        image: np.ndarray,
        prediction: Prediction,
        i: int,
        box: Sequence[float] | None = None,
        kpt_thr: float = 0.3,
    ) -> np.ndarray:
        """The layout's skeleton of instance ``i`` (:func:`landmarks.viz.draw_keypoints`); points whose
        ``extras["visibility"]`` (a visibility task's, lent by inference) is below 0.5 are drawn hollow."""
        from landmarks import viz
        from landmarks.drawing import hollow_mask

        visibility = prediction.extras.get("visibility")
        hollow = None if visibility is None else hollow_mask(visibility[i], self.spec.num_keypoints)
        return viz.draw_keypoints(
            image, prediction.keypoints[i], prediction.scores[i], self.spec, threshold=kpt_thr, hollow=hollow
        )


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
