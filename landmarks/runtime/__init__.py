"""Run an exported model without PyTorch: numpy + onnxruntime + OpenCV only.

``landmarks/runtime`` never imports torch, Lightning or Hydra (a test runs it with torch made
unimportable). :class:`~landmarks.runtime.runner.Runtime` loads ``model.onnx`` and its sidecar
``model.json`` (:mod:`landmarks.runtime.sidecar`), crops each box exactly as training did
(:mod:`landmarks.data.crop`, itself numpy + OpenCV), runs the graph (onnxruntime, or OpenCV DNN)
and maps keypoints back to image px; :mod:`landmarks.runtime.entries` writes the same JSON
entries as ``infer.py`` and :mod:`landmarks.runtime.draw` the same overlays.
"""

from landmarks.runtime.runner import Runtime, RuntimePrediction
from landmarks.runtime.sidecar import FORMAT_VERSION, SidecarError, load_sidecar

__all__ = ["FORMAT_VERSION", "Runtime", "RuntimePrediction", "SidecarError", "load_sidecar"]
