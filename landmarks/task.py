"""Task: the contract every ``tasks/*.py`` implements.

A task owns one head, one codec (shared with the data pipeline), one loss and its
metrics. :class:`landmarks.module.LandmarkModule` holds a dict of tasks on one backbone:
a single-task model is the one-entry case, never a separate code path.

To add a task: subclass :class:`Task` in ``tasks/<name>.py``, implement the abstract
methods, and add ``conf/task/<name>.yaml`` naming it; the contract test discovers it.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from landmarks.types import Prediction

HeadFactory = Callable[..., nn.Module]


class Task(nn.Module, abc.ABC):
    """Base class of a landmark task.

    Args:
        name: key of the task in the model and in ``batch["targets"]``.
        monitor: metric that drives checkpointing/early stopping, e.g. ``"val/pck"``.
        monitor_mode: ``"max"`` or ``"min"``.
        loss_weight: weight of this task's loss in the total.
    """

    def __init__(self, name: str, monitor: str, monitor_mode: str = "max", loss_weight: float = 1.0) -> None:
        super().__init__()
        if monitor_mode not in ("max", "min"):
            raise ValueError(f"task '{name}': monitor_mode must be 'max' or 'min', got '{monitor_mode}'")
        self.name = name
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.loss_weight = loss_weight
        self.head: nn.Module | None = None

    # --- construction -------------------------------------------------------------
    @abc.abstractmethod
    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        """Create the head from the backbone's per-stage channels and strides."""

    @property
    @abc.abstractmethod
    def codec(self) -> Any:
        """The codec object; the data pipeline calls ``codec.encode`` with the same object."""

    @property
    def flip_indices(self) -> np.ndarray | None:
        """Keypoint permutation under a horizontal flip (``None`` when not keypoint-based)."""
        return None

    @property
    def has_flip_test(self) -> bool:
        """The module may flip-test this task (:meth:`flip_back` works); default: ``flip_indices`` is set."""
        return self.flip_indices is not None

    # --- model side --------------------------------------------------------------------
    @abc.abstractmethod
    def forward(self, features: list[torch.Tensor]) -> torch.Tensor | dict[str, torch.Tensor]:
        """Head output from backbone features."""

    @abc.abstractmethod
    def loss(self, out: Any, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss terms; must contain ``"loss"`` (this task's total, before ``loss_weight``)."""

    def flip_back(self, out_of_flipped: Any) -> Any:
        """Map the head output of a horizontally flipped input back to the original frame."""
        raise NotImplementedError(f"task '{self.name}' has no flip test")

    def merge_flip(self, out: Any, out_flipped_back: Any) -> Any:
        """Combine the plain and the flipped-back output (default: average)."""
        return (out + out_flipped_back) / 2

    @abc.abstractmethod
    def decode(self, out: Any, batch: dict[str, Any]) -> Prediction:
        """Decode head output to original-image pixels (or degrees)."""

    # --- metrics -------------------------------------------------------------------------
    @abc.abstractmethod
    def update_metrics(self, pred: Prediction, batch: dict[str, Any]) -> None:
        """Accumulate one validation batch."""

    @abc.abstractmethod
    def compute_metrics(self) -> dict[str, float]:
        """Metric values keyed by short name (``"pck"``, ``"ap"``, ...); then reset state."""


class KeypointTask(Task):
    """A task that predicts the keypoints of a :class:`~landmarks.keypoints.KeypointSpec`.

    Holds what every keypoint task shares: the layout (flip indices), the codec, the head
    factory and the loss ``criterion(out, target[target_key], target["target_weight"])``.
    Subclasses set ``target_key`` (``"heatmaps"``, ``"coords"``) and implement decoding and
    metrics.

    Args:
        spec: keypoint layout.
        codec: codec shared with the data pipeline.
        head: head factory ``head(in_channels=, in_strides=, num_keypoints=, **head_kwargs)``.
        loss: ``loss(pred, target, target_weight)``.
        name, monitor, monitor_mode, loss_weight: as :class:`Task`.
    """

    target_key: str = "heatmaps"

    def __init__(self, spec: Any, codec: Any, head: HeadFactory, loss: nn.Module, name: str, monitor: str,
                 monitor_mode: str = "max", loss_weight: float = 1.0) -> None:
        super().__init__(name=name, monitor=monitor, monitor_mode=monitor_mode, loss_weight=loss_weight)
        self.spec = spec
        self._codec = codec
        self._head_factory = head
        self.criterion = loss

    def head_kwargs(self) -> dict[str, Any]:
        """Extra keyword arguments for the head factory (e.g. ``input_size``)."""
        return {}

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(in_channels=channels, in_strides=strides,
                                       num_keypoints=self.spec.num_keypoints, **self.head_kwargs())

    @property
    def codec(self) -> Any:
        return self._codec

    @property
    def flip_indices(self) -> np.ndarray:
        return self.spec.flip_indices

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Head output: heatmaps ``(B, K, h, w)`` or coordinates ``(B, K, 2)``."""
        return self.head(features)

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
        return self._codec.flip_back(out_of_flipped, self.flip_indices)

    def _decode_input(self, out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Head output -> ``(keypoints (B, K, 2) input px, scores (B, K))``; default: the codec."""
        return self._codec.decode(out)

    def decode(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """Head output -> keypoints in original-image px (the codec, then the inverse crop)."""
        from landmarks.data.crop import unwarp_points

        kpts_input, scores = self._decode_input(out.detach().float())
        meta = batch["meta"]
        kpts = unwarp_points(np.asarray(kpts_input), _np(meta["center"]), _np(meta["scale"]), _np(meta["rot"]),
                             self._codec.input_size, udp=getattr(self._codec, "udp", False))
        return Prediction(keypoints=kpts.astype(np.float32), scores=np.asarray(scores, dtype=np.float32))


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
