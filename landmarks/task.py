"""Task: the contract every ``tasks/*.py`` implements.

A task owns one head, one codec (shared with the data pipeline), one loss and its metric
objects. :class:`landmarks.module.LandmarkModule` holds a dict of tasks on one backbone: a
single-task model is the one-entry case, never a separate code path.

The one output path: :meth:`Task.predict` turns head outputs into a :class:`Prediction`
(original-image px / degrees) once; validation metrics, the training panel, evaluate's reports
and the Predictor all consume it, and :meth:`Task.to_json` / :meth:`Task.draw` say how a
prediction is written and drawn, so nothing outside ``tasks/`` names a task.

Metrics are ``torchmetrics.Metric`` objects (:mod:`landmarks.metrics`) chosen in the task YAML,
``metrics: {name: {_target_: ..., _partial_: true, ...}}`` (or a list): the task completes each
partial with its layout (``spec=``, when the metric takes it) and holds them in an
``nn.ModuleDict``, so Lightning moves them with the model. Their state gathers across processes,
so a metric is the same on 1 process and on N.

To add a task: subclass :class:`Task` in ``tasks/<name>.py`` (or, for the keypoints of a layout,
:class:`landmarks.keypoint_task.KeypointTask`; for another per-keypoint output,
:class:`landmarks.keypoint_task.LayoutTask`), implement the abstract methods, and add
``conf/task/<name>.yaml`` naming it; the contract test discovers it.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from torchmetrics import Metric

from landmarks.types import Prediction

HeadFactory = Callable[..., nn.Module]
MetricFactory = Callable[..., Metric]
MetricsConfig = Mapping[str, Metric | MetricFactory] | Sequence[Metric | MetricFactory] | None


def build_metrics(metrics: MetricsConfig, task: str, **context: Any) -> nn.ModuleDict:
    """Metric objects from a task's ``metrics`` argument.

    Args:
        metrics: ``{name: Metric | factory}`` or a list of them (named by the class's ``name``).
            A factory (a Hydra ``_partial_``) is called with the ``context`` keywords it accepts.
        task: the task's name, for errors.
        **context: e.g. ``spec=`` the task's layout.

    Returns:
        ``nn.ModuleDict`` name -> Metric.
    """
    if metrics is None:
        return nn.ModuleDict()
    if isinstance(metrics, Mapping):
        items = list(metrics.items())
    else:
        items = [(None, m) for m in metrics]
    out: dict[str, Metric] = {}
    for key, item in items:
        metric = item if isinstance(item, Metric) else item(**_accepted(item, context))
        if not isinstance(metric, Metric):
            raise TypeError(
                f"task '{task}': metric {key or item!r} built a {type(metric).__name__}, "
                "expected a torchmetrics.Metric (landmarks.metrics)"
            )
        name = str(key if key is not None else getattr(metric, "name", type(metric).__name__.lower()))
        if name in out:
            raise ValueError(f"task '{task}': two metrics named '{name}'; give them as a mapping with distinct names")
        out[name] = metric
    return nn.ModuleDict(out)


def _accepted(factory: Callable[..., Any], context: Mapping[str, Any]) -> dict[str, Any]:
    func = getattr(factory, "func", factory)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return {}
    keywords = getattr(factory, "keywords", {}) or {}
    return {k: v for k, v in context.items() if k in params and k not in keywords}


class Task(nn.Module, abc.ABC):
    """Base class of a landmark task.

    Args:
        name: key of the task in the model and in ``batch["targets"]``.
        monitor: metric that drives checkpointing/early stopping, e.g. ``"val/pck"``.
        monitor_mode: ``"max"`` or ``"min"``.
        loss_weight: weight of this task's loss in the total.
        metrics: metric objects or factories (:func:`build_metrics`); ``None``: :meth:`default_metrics`.

    A subclass's constructor calls this one, then :meth:`hold_parts` (its codec, head factory
    and loss) and :meth:`build_metrics`.

    Attributes:
        box_category: what one box of this task holds (``"face"``, ``"hand"``, ...), or ``None``
            when it does not say; inference lets a detector of that category (e.g. a face
            detector, ``category = "face"``) supply the boxes when every task of the model agrees.
        criterion: the loss module (:meth:`hold_parts`).
    """

    box_category: str | None = None
    criterion: nn.Module
    _codec: Any
    _head_factory: HeadFactory

    def __init__(
        self,
        name: str,
        monitor: str,
        monitor_mode: str = "max",
        loss_weight: float = 1.0,
        metrics: MetricsConfig = None,
    ) -> None:
        super().__init__()
        if monitor_mode not in ("max", "min"):
            raise ValueError(f"task '{name}': monitor_mode must be 'max' or 'min', got '{monitor_mode}'")
        self.name = name
        self.monitor = monitor
        self.monitor_mode = monitor_mode
        self.loss_weight = loss_weight
        self.head: nn.Module | None = None
        self.metrics: nn.ModuleDict
        self._metrics_config = metrics

    def hold_parts(self, codec: Any, head: HeadFactory, loss: nn.Module) -> None:
        """Keep the parts a task is made of.

        Args:
            codec: returned by :attr:`codec` (the data pipeline encodes with the same object).
            head: the head factory :meth:`build` calls with the backbone's channels and strides.
            loss: the loss module, held as :attr:`criterion`.
        """
        self._codec = codec
        self._head_factory = head
        self.criterion = loss

    def build_metrics(self, **context: Any) -> None:
        """Build the metric objects (subclasses call this once their layout is known)."""
        config = self._metrics_config if self._metrics_config is not None else self.default_metrics()
        self.metrics = build_metrics(config, self.name, **context)

    def metric_objects(self) -> list[Metric]:
        """The metric objects of :attr:`metrics`, typed (``nn.ModuleDict`` holds plain modules)."""
        return [cast(Metric, m) for m in self.metrics.values()]

    def built_head(self) -> nn.Module:
        """The head :meth:`build` created.

        Raises:
            RuntimeError: :meth:`build` was not called yet.
        """
        if self.head is None:
            raise RuntimeError(f"task '{self.name}': no head yet; call build(channels, strides) first")
        return self.head

    def default_metrics(self) -> MetricsConfig:
        """Metrics when the config names none (a task built in Python, an older checkpoint)."""
        return None

    # --- construction -------------------------------------------------------------
    @abc.abstractmethod
    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        """Create the head from the backbone's per-stage channels and strides."""

    @property
    def codec(self) -> Any:
        """The codec object (:meth:`hold_parts`); the data pipeline calls ``codec.encode`` with the same object."""
        return self._codec

    @property
    def flip_indices(self) -> np.ndarray | None:
        """Keypoint permutation under a horizontal flip (``None`` when not keypoint-based)."""
        return None

    @property
    def has_flip_test(self) -> bool:
        """The module may flip-test this task (:meth:`flip_back` works); default: ``flip_indices`` is set."""
        return self.flip_indices is not None

    # --- model side --------------------------------------------------------------------
    def forward(self, features: list[torch.Tensor]) -> Any:
        """Head output from backbone features: by default the built head applied to them.

        Its shape is the head's (the task's class docstring): a tensor, a list of them (a staged
        head in training) or a dict of them (detection).
        """
        return self.built_head()(features)

    @abc.abstractmethod
    def loss(self, out: Any, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss terms; must contain ``"loss"`` (this task's total, before ``loss_weight``)."""

    def flip_back(self, out_of_flipped: Any) -> Any:
        """Map the head output of a horizontally flipped input back to the original frame."""
        raise NotImplementedError(f"task '{self.name}' has no flip test")

    def merge_flip(self, out: Any, out_flipped_back: Any) -> Any:
        """Combine the plain and the flipped-back output (default: average)."""
        return (out + out_flipped_back) / 2

    # --- the one output path --------------------------------------------------------------
    @abc.abstractmethod
    def predict(self, out: Any, batch: dict[str, Any]) -> Prediction:
        """Head output -> :class:`Prediction` in original-image px (or degrees).

        ``batch["meta"]`` needs the crop (``center``, ``scale``, ``rot``). Everything after the
        head (metrics, panel, reports, Predictor) uses this, never the codec directly.
        """

    def to_json(self, prediction: Prediction, i: int) -> dict[str, Any]:
        """Instance ``i`` of ``prediction`` as JSON-ready fields (plain Python numbers).

        Default (keypoint tasks): ``keypoints`` ``[x, y, score] * K`` (COCO results order, image
        px, 3 decimals), ``keypoint_scores`` ``(K,)`` and every extra but raw outputs.
        """
        kp = np.asarray(prediction.keypoints[i], np.float64)
        sc = np.asarray(prediction.scores[i], np.float64)
        extras = {k: np.asarray(v[i]).tolist() for k, v in prediction.extras.items() if k != "heatmaps"}
        return {
            "keypoints": np.concatenate([kp, sc[:, None]], axis=1).reshape(-1).round(3).tolist(),
            "keypoint_scores": sc.round(4).tolist(),
            **extras,
        }

    def draw(
        self,
        image: np.ndarray,
        prediction: Prediction,
        i: int,
        box: Sequence[float] | None = None,
        kpt_thr: float = 0.3,
    ) -> np.ndarray:
        """``image`` (``(H, W, 3)`` uint8 RGB, the frame of ``prediction``) with instance ``i`` drawn.

        Args:
            image: the picture to draw on (not modified).
            prediction: in the pixel frame of ``image``.
            i: instance.
            box: the instance's box ``x, y, w, h`` in the same frame (where a task anchors a drawing).
            kpt_thr: keypoints scoring below this are not drawn.
        """
        return image.copy()

    # --- metrics -------------------------------------------------------------------------
    def update_metrics(self, pred: Prediction, batch: dict[str, Any]) -> None:
        """Add one validation batch to every metric object."""
        for metric in self.metric_objects():
            metric.update(pred, batch["meta"])

    def compute_metrics(self) -> dict[str, float]:
        """Metric values keyed by short name (``"pck"``, ``"ap"``, ...) over every process; then reset.

        Per-sample records of the last computation stay readable (``metric.records()``).
        """
        out: dict[str, float] = {}
        for metric in self.metric_objects():
            if metric.update_count:
                out.update({k: float(v) for k, v in metric.compute().items()})
            metric.reset()
        return out
