"""SampleMetric: the base of every metric object, exact on any number of processes.

A metric of this project is a ``torchmetrics.Metric`` that keeps one row per validated sample
(the prediction and the ground truth it needs, as list states with ``dist_reduce_fx="cat"``)
and computes its numbers ONCE, at the end, on the rows of every process. So AP, NME, AUC or
a median are the same on 1 process and on N (a mean of per-process values would not be).

Every row also stores the sample's dataset index (``meta["index"]``). The distributed sampler
repeats samples to give every process the same number of batches, and a dataset in
``on_bad_sample="skip"`` mode substitutes the next sample for an unreadable one; both make one
index appear twice. :meth:`SampleMetric.samples` keeps the first row of each index and orders
the rows by index, so the computation sees exactly the set of samples, in one order, whatever
the sharding. Rows without an index (``meta`` built by hand) are all kept, in update order.

To add a metric: subclass :class:`SampleMetric`, declare ``fields`` (state name -> dtype),
return those arrays for a batch from :meth:`SampleMetric.rows`, and turn :meth:`samples` into
``{short name: float}`` in ``compute``. The task calls ``update(prediction, batch["meta"])``.
A metric of predicted keypoints against the labelled ones starts its ``fields`` with
:data:`KEYPOINT_FIELDS` and its rows with :func:`keypoint_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from landmarks.types import Prediction

ArrayLike = torch.Tensor | np.ndarray

KEYPOINT_FIELDS: Mapping[str, torch.dtype] = {"pred": torch.float64, "gt": torch.float64, "visible": torch.float32}
"""The rows of a keypoint metric: ``pred`` and ``gt`` ``(B, K, 2)`` px, ``visible`` ``(B, K)`` COCO flags."""


def meta_value(meta: Mapping[str, Any], key: str, metric: str) -> Any:
    """``meta[key]``, or a ValueError naming the metric and the missing field."""
    if key not in meta:
        raise ValueError(
            f"{metric}.update: batch meta has no '{key}' (got fields {sorted(meta)}); "
            f"the data pipeline (landmarks.data.dataset) puts it in every batch"
        )
    return meta[key]


def keypoint_rows(pred: Prediction, meta: Mapping[str, Any], metric: str) -> dict[str, ArrayLike]:
    """The :data:`KEYPOINT_FIELDS` rows of one batch: ``pred.keypoints``, ``meta["keypoints"]``, ``meta["visible"]``.

    Args:
        pred: the task's prediction (``keypoints (B, K, 2)`` image px).
        meta: the batch's meta (``keypoints (B, K, 2)`` image px, ``visible (B, K)``).
        metric: the metric named in the error when a meta field is missing.
    """
    return {
        "pred": pred.keypoints,
        "gt": meta_value(meta, "keypoints", metric),
        "visible": meta_value(meta, "visible", metric),
    }


class SampleMetric(Metric):
    """Per-sample rows gathered across processes, deduplicated by dataset index (module doc).

    Subclasses set ``name`` (the key used when metrics are given as a list) and ``fields``.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better: bool | None = None
    name: ClassVar[str] = "metric"
    report_name: ClassVar[str | None] = None  # file stem of evaluate's per-sample report (None: the metric's key)
    fields: ClassVar[Mapping[str, torch.dtype]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # a list of per-batch tensors; one concatenated tensor once torchmetrics has synced it
        self.index: list[torch.Tensor] | torch.Tensor
        self.add_state("index", default=[], dist_reduce_fx="cat")
        for field in self.fields:
            self.add_state(field, default=[], dist_reduce_fx="cat")
        self.last_records: dict[str, np.ndarray] | None = None

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        """``{field: (B, ...) array}`` for one batch; every field of ``fields``."""
        raise NotImplementedError

    def update(self, pred: Prediction, meta: Mapping[str, Any]) -> None:  # type: ignore[override]
        """Add one batch: the task's :class:`Prediction` and the batch's ``meta``."""
        rows = self.rows(pred, meta)
        lengths = {name: int(np.shape(value)[0]) for name, value in rows.items()}
        b = next(iter(lengths.values()))
        if set(rows) != set(self.fields) or any(n != b for n in lengths.values()):
            raise ValueError(
                f"{type(self).__name__}.rows: expected fields {sorted(self.fields)} with one "
                f"leading size; got sizes {lengths}"
            )
        index = meta.get("index")
        idx = torch.full((b,), -1, dtype=torch.int64) if index is None else torch.as_tensor(index).reshape(-1)
        if idx.shape != (b,):
            raise ValueError(f"{type(self).__name__}.update: meta['index'] has {idx.numel()} values for {b} samples")
        if not isinstance(self.index, list):
            raise RuntimeError(f"{type(self).__name__}.update: called on a synced state (after compute, before reset)")
        self.index.append(idx.to(device=self.device, dtype=torch.int64))
        for name, value in rows.items():
            tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
            getattr(self, name).append(tensor.detach().to(device=self.device, dtype=self.fields[name]))

    def samples(self) -> dict[str, np.ndarray] | None:
        """Every field as one numpy array, one row per distinct sample, ordered by index.

        ``None`` before any update. Call inside ``compute`` (where the state is gathered).
        """
        index = self.index
        if isinstance(index, list) and not index:
            return None
        idx = dim_zero_cat(index).cpu().numpy()
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = sorted_idx[1:] != sorted_idx[:-1]
        keep = order[first | (sorted_idx < 0)]
        out = {name: dim_zero_cat(getattr(self, name)).cpu().numpy()[keep] for name in self.fields}
        out["index"] = idx[keep]
        return out

    def records(self) -> dict[str, np.ndarray] | None:
        """Per-sample columns of the last ``compute`` (for reports); ``None`` when the metric has none."""
        return self.last_records
