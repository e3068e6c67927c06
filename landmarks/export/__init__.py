"""Checkpoint -> ONNX graph with the decoding inside + JSON sidecar (``scripts/export.py``).

* :mod:`~landmarks.export.decoders`: each codec's decode as exportable torch modules;
* :mod:`~landmarks.export.graph`: backbone + heads + decoders, crop pixels in, crop px / degrees out;
* :mod:`~landmarks.export.onnx_file`: writes ``model.onnx`` and ``model.json``;
* :mod:`~landmarks.export.quantize`: int8 static quantization (onnxruntime) and its calibration crops.

The runtime that reads these files is :mod:`landmarks.runtime` (no torch).
"""

from landmarks.export.decoders import ExportError
from landmarks.export.onnx_file import checkpoint_metrics, export_model, sidecar_dict

__all__ = ["ExportError", "checkpoint_metrics", "export_model", "sidecar_dict"]
