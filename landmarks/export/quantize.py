"""int8 static quantization of an exported graph with onnxruntime's quantization tools.

``quantize_static`` in QDQ format: weights int8 per output channel, activations uint8 with ranges
calibrated (MinMax) on crops the model was not evaluated on (:func:`calibration_crops`: the
*training* source cropped as in evaluation, no augmentation; accuracy is then measured on the
validation split). Only the network is quantized: ``Conv`` / ``MatMul`` / ``Gemm`` nodes of the
model (exported under the ``/model/`` scope of :class:`~landmarks.export.graph.ExportGraph`); the
decoders' nodes (scoped by task name, e.g. ``/body/MatMul``) keep float32, so DARK's blur, the
soft-argmax and the bin expectation are computed exactly as in the fp32 graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["calibration_crops", "is_network_node", "quantize_int8"]

log = logging.getLogger("landmarks")


def calibration_crops(datamodule: Any, num: int = 64) -> np.ndarray:
    """``(M, 3, H, W)`` float32 RGB 0..255 crops of the first ``num`` training instances (eval crop).

    Args:
        datamodule: a :class:`~landmarks.data.datamodule.LandmarkDataModule` with codecs attached.
        num: number of crops (fewer when the source is smaller).
    """
    source = datamodule.train_source if datamodule.train_source is not None else datamodule.val_source
    dataset = datamodule._dataset(source, train=False)
    crops = [np.asarray(dataset[i]["image"]) for i in range(min(int(num), len(dataset)))]
    if not crops:
        raise ValueError("export: quantize=int8 needs calibration crops, but the training source is empty")
    return np.stack(crops).astype(np.float32)


def is_network_node(name: str) -> bool:
    """A node of the network (backbone + heads: quantized), not of a task's decoder (kept float32)."""
    return name.startswith("/model/")


class _Reader:
    """onnxruntime ``CalibrationDataReader``: one crop at a time."""

    def __init__(self, input_name: str, crops: np.ndarray) -> None:
        self._it: Iterator[dict[str, np.ndarray]] = iter({input_name: c[None]} for c in crops)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


def quantize_int8(fp32_path: str, out_path: str, crops: np.ndarray, input_name: str = "image") -> str:
    """Write the int8 QDQ graph of ``fp32_path`` to ``out_path``.

    Args:
        fp32_path: the float32 graph.
        out_path: where the quantized graph goes.
        crops: ``(M, 3, H, W)`` float32 calibration crops.
        input_name: the graph input.

    Returns:
        ``out_path``.
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    graph = onnx.load(fp32_path)
    ops = {"Conv", "MatMul", "Gemm"}
    exclude = [n.name for n in graph.graph.node if n.op_type in ops and not is_network_node(n.name)]
    reader = type("Reader", (_Reader, CalibrationDataReader), {})(input_name, crops)
    quantize_static(
        fp32_path,
        out_path,
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        weight_type=QuantType.QInt8,
        activation_type=QuantType.QUInt8,
        op_types_to_quantize=sorted(ops),
        nodes_to_exclude=exclude,
    )
    log.info(
        "export: int8 graph %s (%d calibration crops, %d decode nodes kept float32)", out_path, len(crops), len(exclude)
    )
    return out_path
