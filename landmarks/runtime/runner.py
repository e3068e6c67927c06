"""Box -> crop -> ONNX graph -> image px, with onnxruntime or OpenCV DNN (no torch).

The crop is :mod:`landmarks.data.crop` itself (numpy + OpenCV): the box becomes a centre and
size (``bbox_to_center_scale``, the sidecar's ``crop.padding``), the same affine warps the image
(``crop.udp``), and keypoints in crop px go back through its inverse (``unwarp_points`` with the
task's ``udp``), with the crop centre and size rounded to float32 as the training data pipeline
stores them, so the numbers match ``Task.predict`` (``tests/export/test_parity.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landmarks.data.crop import bbox_to_center_scale, get_affine, unwarp_points, warp_image
from landmarks.runtime.sidecar import load_sidecar

__all__ = ["BACKENDS", "Runtime", "RuntimePrediction", "as_rgb_uint8"]

BACKENDS = ("onnxruntime", "opencv")


@dataclass
class RuntimePrediction:
    """One task's output for the boxes of an image (the fields of ``landmarks.types.Prediction``).

    Attributes:
        keypoints: ``(N, K, 2)`` float32 image px (``K = 0`` for head pose and visibility).
        scores: ``(N, K)`` float32.
        extras: ``{"euler": (N, 3)}`` degrees for head pose, ``{"visibility": (N, K)}`` probabilities
            for a visibility task (what ``Task.to_json`` writes).
        rotation: ``(N, 3, 3)`` head rotation matrices, or ``None``.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    rotation: np.ndarray | None = None


def as_rgb_uint8(image: Any, name: str = "image") -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB from an RGB, gray ``(H, W)`` / ``(H, W, 1)`` or RGBA ``(H, W, 4)`` uint8 array.

    Raises:
        ValueError: another dtype or channel count, naming what was found and what is expected.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected uint8 pixels 0..255, got dtype {arr.dtype} with shape {arr.shape}; "
            "convert first (e.g. (img * 255).round().astype(np.uint8) for floats in 0..1)"
        )
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4) or min(arr.shape[:2]) < 1:
        raise ValueError(f"{name}: expected (H, W) gray, (H, W, 3) RGB or (H, W, 4) RGBA, got shape {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]
    return np.ascontiguousarray(arr)


class Runtime:
    """An exported model: ``model.onnx`` + its sidecar ``model.json``.

    Args:
        onnx_path: the graph (the sidecar is ``<same stem>.json`` beside it).
        backend: ``"onnxruntime"`` or ``"opencv"`` (``cv2.dnn.readNetFromONNX``).
        threads: intra-op threads (``None``: the backend's default).
        batch_size: crops per run.

    Raises:
        SidecarError: missing / incompatible sidecar.
        RuntimeError: OpenCV DNN cannot load the graph (the message names the op it refused).
    """

    def __init__(
        self, onnx_path: str, backend: str = "onnxruntime", threads: int | None = None, batch_size: int = 32
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"runtime: backend must be one of {BACKENDS}, got {backend!r}")
        self.meta = load_sidecar(onnx_path)
        self.path = onnx_path
        self.backend = backend
        self.batch_size = int(batch_size)
        self.input_size = (int(self.meta["input"]["size"][0]), int(self.meta["input"]["size"][1]))
        self.input_name = str(self.meta["input"]["name"])
        self.tasks: dict[str, dict[str, Any]] = self.meta["tasks"]
        self.output_names = [out for t in self.tasks.values() for out in t["outputs"].values()]
        if backend == "onnxruntime":
            import onnxruntime as ort

            opts = ort.SessionOptions()
            if threads:
                opts.intra_op_num_threads = int(threads)
                opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        else:
            self._net = _opencv_net(onnx_path, threads)

    # --- the graph on crops ----------------------------------------------------------------
    def run_crops(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """Graph outputs for ``(N, 3, H, W)`` float32 RGB 0..255 crops, by output name."""
        x = np.ascontiguousarray(crops, dtype=np.float32)
        if self.backend == "onnxruntime":
            values = self._session.run(self.output_names, {self.input_name: x})
        else:
            self._net.setInput(x, self.input_name)
            try:
                values = self._net.forward(self.output_names)
            except Exception as err:  # noqa: BLE001 - cv2.error: name the graph and the op OpenCV reports
                raise RuntimeError(f"OpenCV DNN failed to run '{self.path}': {_opencv_reason(err)}") from err
        n = len(x)
        shapes = {
            "keypoints": (n, -1, 2),
            "scores": (n, -1),
            "euler": (n, 3),
            "rotation": (n, 3, 3),
            "visibility": (n, -1),
        }
        # OpenCV DNN may return outputs with unit axes added or dropped: restore the documented shapes
        return {
            name: np.asarray(v).reshape(shapes[name.rsplit(".", 1)[1]]) for name, v in zip(self.output_names, values)
        }

    def crop(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(crops (N, 3, H, W) float32, centers (N, 2) float32, scales (N, 2) float32)`` for xywh boxes."""
        w, h = self.input_size
        padding = float(self.meta["crop"]["padding"])
        udp = bool(self.meta["crop"]["udp"])
        crops, centers, scales = [], [], []
        for box in np.asarray(boxes, np.float32).reshape(-1, 4):
            center, scale = bbox_to_center_scale(np.asarray(box, np.float64), w / h, padding)
            crops.append(warp_image(image, get_affine(center, scale, 0.0, (w, h), udp=udp), (w, h)))
            centers.append(center.astype(np.float32))
            scales.append(scale.astype(np.float32))
        x = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
        return x, np.stack(centers), np.stack(scales)

    # --- whole images ------------------------------------------------------------------------
    def predict(self, image: Any, boxes: np.ndarray | None = None) -> dict[str, RuntimePrediction]:
        """Every task for each box of one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (gray and RGBA are converted; see :func:`as_rgb_uint8`).
            boxes: ``(N, 4)`` xywh image px; ``None`` or empty: the whole image as one box.

        Returns:
            ``{task: RuntimePrediction}`` in image px / degrees.
        """
        image = as_rgb_uint8(image)
        h, w = image.shape[:2]
        boxes = (
            np.array([[0, 0, w, h]], np.float32) if boxes is None or len(boxes) == 0 else np.asarray(boxes, np.float32)
        )
        crops, centers, scales = self.crop(image, boxes)
        outs: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(crops), self.batch_size):
            for k, v in self.run_crops(crops[start : start + self.batch_size]).items():
                outs.setdefault(k, []).append(v)
        raw = {k: np.concatenate(v) for k, v in outs.items()}
        return self.to_image(raw, centers, scales)

    def to_image(
        self, raw: dict[str, np.ndarray], centers: np.ndarray, scales: np.ndarray, rots: np.ndarray | None = None
    ) -> dict[str, RuntimePrediction]:
        """Graph outputs (crop px) -> image px, per task (``rots``: the crops' rotations in degrees, default 0)."""
        n = len(centers)
        rots = np.zeros(n, np.float32) if rots is None else np.asarray(rots, np.float32).reshape(n)
        preds: dict[str, RuntimePrediction] = {}
        for name, task in self.tasks.items():
            outs = task["outputs"]
            if task["kind"] == "keypoints":
                kpts = unwarp_points(
                    raw[outs["keypoints"]], centers, scales, rots, self.input_size, udp=bool(task.get("udp", False))
                )
                preds[name] = RuntimePrediction(kpts.astype(np.float32), raw[outs["scores"]].astype(np.float32))
            elif task["kind"] == "visibility":
                preds[name] = RuntimePrediction(
                    np.zeros((n, 0, 2), np.float32),
                    np.zeros((n, 0), np.float32),
                    {"visibility": raw[outs["visibility"]].astype(np.float32)},
                )
            else:
                preds[name] = RuntimePrediction(
                    np.zeros((n, 0, 2), np.float32),
                    np.zeros((n, 0), np.float32),
                    {"euler": raw[outs["euler"]].astype(np.float32)},
                    rotation=raw[outs["rotation"]].astype(np.float32),
                )
        return preds


def _opencv_net(path: str, threads: int | None) -> Any:
    import cv2

    if threads:
        cv2.setNumThreads(int(threads))
    try:
        net = cv2.dnn.readNetFromONNX(path)
    except Exception as err:  # noqa: BLE001 - cv2.error: name the op it refused
        raise RuntimeError(
            f"OpenCV DNN (cv2 {cv2.__version__}) cannot load '{path}': {_opencv_reason(err)}; use backend onnxruntime"
        ) from err
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def _opencv_reason(err: Exception) -> str:
    """The op OpenCV names in its error (``... [ONNX]: ... node [Op]:(name) ...``), plus its message."""
    import re

    text = str(err)
    ops = re.findall(r"Node \[(\w+)@[\w.]*\]:\(([^)]*)\)", text)
    if ops:
        return f"op {ops[0][0]!r} (node {ops[0][1]}) is not supported by this OpenCV DNN"
    lines = [ln.strip(" >") for ln in text.splitlines() if ln.strip(" >")]
    return "op unknown: " + (lines[-1] if lines else text)
