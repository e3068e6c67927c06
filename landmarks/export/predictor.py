"""``infer.py runtime=onnxruntime|opencv``: the Predictor interface over an exported graph.

:class:`OnnxPredictor` answers ``predict(image, boxes)`` with the graph (through
:class:`landmarks.runtime.Runtime`: the same crop, graph outputs unwarped to image px) and keeps
the checkpoint's tasks for ``to_json`` / ``draw`` and ``box_category``, so the inference loop
(:mod:`landmarks.inference.loop`) writes the same entries and overlays as with ``runtime=torch``.
The graph is the checkpoint exported with the Predictor's flip-test setting (unless an ``onnx``
file is given), so both runtimes compute the same prediction.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from landmarks.runtime.runner import Runtime
from landmarks.types import Prediction

__all__ = ["OnnxPredictor", "onnx_predictor"]

log = logging.getLogger("landmarks")


class OnnxPredictor:
    """A Predictor whose numbers come from an ONNX graph.

    Args:
        predictor: the PyTorch Predictor of the same checkpoint (its tasks write and draw).
        runtime: the exported graph.
    """

    def __init__(self, predictor: Any, runtime: Runtime) -> None:
        self._torch = predictor
        self.runtime = runtime
        self._warned = False

    @property
    def tasks(self) -> Mapping[str, Any]:
        return self._torch.tasks

    @property
    def box_category(self) -> str | None:
        return self._torch.box_category

    def predict(
        self, image: np.ndarray, boxes: np.ndarray | None = None, return_heatmaps: bool = False
    ) -> dict[str, Prediction]:
        """``{task: Prediction}`` in image px / degrees (heatmaps are not graph outputs)."""
        if return_heatmaps and not self._warned:
            log.warning(
                "heatmaps=true: the exported graph outputs keypoints, not heatmaps; no heatmap overlay with runtime=%s",
                self.runtime.backend,
            )
            self._warned = True
        return {
            name: Prediction(keypoints=p.keypoints, scores=p.scores, extras=dict(p.extras))
            for name, p in self.runtime.predict(image, boxes).items()
        }


def onnx_predictor(predictor: Any, backend: str, out_dir: str, onnx: str | None = None) -> OnnxPredictor:
    """Wrap ``predictor``: export its model to ``out_dir/model.onnx`` (or use ``onnx``) and load it with ``backend``."""
    from landmarks.export.onnx_file import export_model

    if onnx is None:
        model = predictor.model
        onnx = export_model(model, os.path.join(out_dir, "model_export"), flip_test=bool(model.flip_test))["onnx"]
        model.eval()
    return OnnxPredictor(predictor, Runtime(str(onnx), backend=backend))
