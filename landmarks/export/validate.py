"""Validation metrics of an exported graph: ``evaluate.py ckpt=... runtime=onnxruntime [onnx=model.onnx]``.

The checkpoint's validation crops (the same DataLoader as ``evaluate.py runtime=torch``) run
through the ONNX graph (:class:`landmarks.runtime.Runtime`: fp32, or the int8 graph of
``export.py quantize=int8``); its outputs become each task's :class:`~landmarks.types.Prediction`
by the runtime's unwarp and feed the task's own metric objects. So the numbers are the ones
``evaluate.py`` reports for the PyTorch model, and the difference between the two is what the
export (or the int8 quantization) costs in accuracy.

One process: the graph runs on the CPU through onnxruntime or OpenCV DNN.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch

from landmarks.runtime.runner import Runtime
from landmarks.types import Prediction

__all__ = ["validate_graph"]

log = logging.getLogger("landmarks")


def validate_graph(model: Any, loader: Any, runtime: Runtime) -> dict[str, float]:
    """``{"val/<metric>": value}`` of ``runtime``'s graph on ``loader``, by ``model``'s metric objects.

    Args:
        model: the :class:`~landmarks.module.LandmarkModule` the graph was exported from (its tasks
            hold the metrics; its weights are not used).
        loader: validation batches (``image`` ``(B, 3, H, W)`` uint8 crops, ``meta``, ``targets``).
        runtime: the exported graph.

    Raises:
        ValueError: the graph's tasks or input size differ from the model's.
    """
    tasks = dict(model.task_items())
    if set(runtime.tasks) != set(tasks):
        raise ValueError(
            f"evaluate: the graph '{runtime.path}' has tasks {sorted(runtime.tasks)}, the checkpoint {sorted(tasks)}"
        )
    for task in tasks.values():
        for metric in task.metric_objects():
            metric.reset()
    batches = 0
    for batch in loader:
        images = batch["image"]
        if tuple(images.shape[-2:][::-1]) != runtime.input_size:
            raise ValueError(
                f"evaluate: the graph '{runtime.path}' takes {runtime.input_size} (W, H) crops, "
                f"the validation data gives {tuple(images.shape[-2:][::-1])}"
            )
        meta = batch["meta"]
        raw = runtime.run_crops(images.float().numpy())
        preds = runtime.to_image(raw, _np(meta["center"]), _np(meta["scale"]), rots=_np(meta["rot"]))
        for name in batch["targets"]:
            if name in tasks:
                p = preds[name]
                tasks[name].update_metrics(Prediction(p.keypoints, p.scores, dict(p.extras)), batch)
        batches += 1
    if not batches:
        raise ValueError("evaluate: the validation data gave no batch")
    out: dict[str, float] = {}
    for task in tasks.values():
        out.update({f"val/{k}": v for k, v in task.compute_metrics().items()})
    log.info("evaluate: %d batches through %s (%s)", batches, runtime.path, runtime.backend)
    return out


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
