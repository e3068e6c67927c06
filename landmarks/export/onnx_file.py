"""Write ``model.onnx`` + ``model.json`` for a trained :class:`~landmarks.module.LandmarkModule`.

The graph (:class:`~landmarks.export.graph.ExportGraph`) has a dynamic batch axis ``N`` and is
written by PyTorch's TorchScript-based ONNX exporter (``dynamo=False``: it needs no onnxscript and
traces the decode functions of :mod:`landmarks.codecs` as they are). The sidecar schema is in
:mod:`landmarks.runtime.sidecar`. With ``quantize="int8"`` the fp32 graph is written as
``model_fp32.onnx`` beside the int8 ``model.onnx`` (:mod:`landmarks.export.quantize`).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from landmarks.export.decoders import KIND_FIELDS, ExportError, describe_decode
from landmarks.export.graph import ExportGraph
from landmarks.module import LandmarkModule
from landmarks.runtime.sidecar import FORMAT, FORMAT_VERSION

__all__ = ["ANGLE_CONVENTION", "checkpoint_metrics", "export_model", "sidecar_dict"]

log = logging.getLogger("landmarks")

ANGLE_CONVENTION = (
    "yaw, pitch, roll in degrees (landmarks/geometry.py): yaw > 0 the subject turns to their right, "
    "pitch > 0 looks up, roll > 0 tilts clockwise on screen; rotation R = Rz(roll) @ Ry(yaw) @ Rx(pitch) "
    "(6DRepNet get_R); angles are in the crop's frame, equal to the image's for unrotated crops"
)


def _layout(spec: Any) -> dict[str, Any]:
    """The sidecar's ``layout`` entry of a :class:`~landmarks.layouts.spec.KeypointSpec`: name, names, pairs, sigmas."""
    plain = spec.to_dict()
    return {
        "name": plain["name"],
        "keypoints": plain["names"],
        **{key: plain[key] for key in ("flip_pairs", "skeleton", "sigmas", "torso_pair")},
    }


def sidecar_dict(
    graph: ExportGraph,
    onnx_file: str,
    opset: int,
    quantize: str = "none",
    metrics: dict[str, float] | None = None,
    checkpoint: str | None = None,
    padding: float = 1.25,
) -> dict[str, Any]:
    """The sidecar of ``graph`` (plain JSON values; schema in :mod:`landmarks.runtime.sidecar`)."""
    model = graph.model
    w, h = graph.input_size
    tasks: dict[str, Any] = {}
    for name, kind in graph.kinds.items():
        task = model.tasks[name]
        entry: dict[str, Any] = {
            "kind": kind,
            "outputs": {f: f"{name}.{f}" for f in KIND_FIELDS[kind]},
            "decode": describe_decode(task, graph.decoders[name]),
        }
        if kind == "keypoints":
            entry["unit"] = "input (crop) px; pixel i has its centre at i"
            entry["layout"] = _layout(task.spec)
            entry["udp"] = bool(getattr(task.codec, "udp", False))
        elif kind == "visibility":
            entry["unit"] = "probability (0..1) that each keypoint of the layout is visible rather than occluded"
            entry["layout"] = _layout(task.spec)
        else:
            entry["unit"] = "degrees (euler: yaw, pitch, roll); rotation: 3x3"
        tasks[name] = entry
    udp = any(bool(getattr(t.codec, "udp", False)) for t in model.tasks.values())
    mean = model.pixel_mean.reshape(-1).tolist()
    std = model.pixel_std.reshape(-1).tolist()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "onnx_file": os.path.basename(onnx_file),
        "opset": int(opset),
        "quantize": quantize,
        "flip_test": bool(model.flip_test),
        "input": {
            "name": "image",
            "layout": "NCHW",
            "dtype": "float32",
            "channel_order": "RGB",
            "value_range": [0, 255],
            "size": [w, h],
            "mean": mean,
            "std": std,
            "normalized_in_graph": True,
            "batch": "dynamic (N)",
        },
        "crop": {"padding": float(padding), "udp": udp, "aspect_ratio": w / h},
        "tasks": tasks,
        "angle_convention": ANGLE_CONVENTION,
        "metrics": dict(metrics or {}),
        "checkpoint": checkpoint,
    }


def export_model(
    model: LandmarkModule,
    out_dir: str,
    opset: int = 17,
    flip_test: bool = False,
    quantize: str = "none",
    metrics: dict[str, float] | None = None,
    checkpoint: str | None = None,
    calibration: Callable[[], np.ndarray] | None = None,
) -> dict[str, str]:
    """Export ``model`` to ``out_dir/model.onnx`` and ``out_dir/model.json``.

    Args:
        model: trained model.
        out_dir: output folder (created).
        opset: ONNX opset (>= 13).
        flip_test: put the flip test inside the graph (default off).
        quantize: ``"none"`` or ``"int8"`` (static, onnxruntime; needs ``calibration``).
        metrics: validation metrics to store in the sidecar.
        checkpoint: the checkpoint path, recorded in the sidecar.
        calibration: returns ``(M, 3, H, W)`` float32 RGB 0..255 crops for int8 calibration.

    Returns:
        ``{"onnx": path, "sidecar": path}`` (+ ``"onnx_fp32"`` with int8).

    Raises:
        ExportError: a task without an exportable decode, or an op the exporter refuses (task and op named).
    """
    if quantize not in ("none", "int8"):
        raise ValueError(f"export: quantize must be 'none' or 'int8', got {quantize!r}")
    if int(opset) < 13:
        raise ValueError(f"export: opset must be >= 13 (ReduceMax/ArgMax/Softmax over one axis), got {opset}")
    os.makedirs(out_dir, exist_ok=True)
    graph = ExportGraph(model, flip_test=flip_test)
    w, h = graph.input_size
    onnx_path = os.path.join(out_dir, "model.onnx")
    fp32_path = os.path.join(out_dir, "model_fp32.onnx") if quantize == "int8" else onnx_path
    dynamic = {"image": {0: "N"}, **{n: {0: "N"} for n in graph.output_names}}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                graph,
                (torch.zeros(2, 3, h, w),),
                fp32_path,
                dynamo=False,
                opset_version=int(opset),
                input_names=["image"],
                output_names=graph.output_names,
                dynamic_axes=dynamic,
                do_constant_folding=True,
            )
    except Exception as err:  # noqa: BLE001 - re-raised naming the model's tasks and the failing op
        raise ExportError(
            f"export: the ONNX exporter failed for task(s) {list(graph.kinds)}: {type(err).__name__}: {err}"
        ) from err
    paths = {"onnx": onnx_path}
    if quantize == "int8":
        from landmarks.export.quantize import quantize_int8

        if calibration is None:
            raise ValueError("export: quantize=int8 needs calibration crops (calibration=...)")
        quantize_int8(fp32_path, onnx_path, calibration())
        paths["onnx_fp32"] = fp32_path
    meta = sidecar_dict(graph, onnx_path, opset, quantize, metrics, checkpoint)
    paths["sidecar"] = os.path.join(out_dir, "model.json")
    with open(paths["sidecar"], "w") as f:
        json.dump(meta, f, indent=2)
    if quantize == "int8":  # the fp32 graph keeps its own sidecar, so the runtime can load either
        with open(os.path.join(out_dir, "model_fp32.json"), "w") as f:
            json.dump({**meta, "onnx_file": "model_fp32.onnx", "quantize": "none"}, f, indent=2)
    log.info("export: wrote %s", ", ".join(paths.values()))
    return paths


def checkpoint_metrics(ckpt: dict[str, Any], path: str) -> dict[str, float]:
    """Validation metrics stored with a checkpoint: ``metrics.json`` / ``eval_metrics.json`` of its
    run (the run folder or the checkpoint's), else the best monitored score Lightning kept."""
    folder = os.path.dirname(os.path.abspath(path))
    for candidate in (os.path.join(folder, "eval_metrics.json"), os.path.join(os.path.dirname(folder), "metrics.json")):
        if os.path.isfile(candidate):
            with open(candidate) as f:
                data = json.load(f)
            return {k: float(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for _key, state in (ckpt.get("callbacks") or {}).items():
        if isinstance(state, dict) and state.get("best_model_score") is not None and state.get("monitor"):
            return {str(state["monitor"]): float(state["best_model_score"])}
    return {}
