"""Decoding as ONNX-exportable torch modules: head output -> crop px / degrees, inside the graph.

One decoder per codec (and read-out), chosen by :func:`decoder_for` from the task's codec, never
from the task's name:

* Gaussian heatmaps (:mod:`landmarks.codecs.heatmap`, MSRA / UDP): argmax (``ReduceMax`` +
  ``ArgMax``, the first maximum on ties as ``torch.max``), then the codec's ``refine``:
  ``quarter`` (:func:`~landmarks.codecs.refine.refine_quarter`) or ``dark``
  (:func:`~landmarks.codecs.refine.refine_dark`: the banded blur matrices are constants, the
  per-axis border rule and the negative-definite test are ``Where`` nodes). These are the very
  functions the PyTorch decode calls, traced; nothing is approximated. The measured difference
  from PyTorch is float32 rounding (``tests/export/test_parity.py``).
* Integral (:mod:`landmarks.codecs.integral`): soft-argmax in float32 (PyTorch decodes it in
  float64; the difference is measured there too, below 1e-4 px at the sizes we ship).
* Coordinates (:mod:`landmarks.codecs.coords`): identity; score 1 for a finite point.
* SimCC (:mod:`landmarks.codecs.simcc`): :func:`~landmarks.codecs.simcc.simcc_decode`, the function
  the PyTorch decode calls (argmax per axis, window mass of the softmax as the score).
* RLE (:mod:`landmarks.codecs.rle`): ``x, y`` of the ``(N, K, 4)`` output and
  :func:`~landmarks.codecs.rle.rle_score` of its scales (the scales themselves are not a graph output).
* Visibility (:mod:`landmarks.codecs.visibility`): ``sigmoid`` of the ``(N, K)`` logits.
* Hopenet bins (:mod:`landmarks.codecs.head_pose_bins`): softmax expectation over the bin values.
* 6-D rotation: Gram-Schmidt (cross products written out: ``torch.linalg.cross`` has no ONNX
  symbolic) and :func:`landmarks.geometry.matrix_to_euler` (``atan2`` exports as ``Atan`` + ``Where``).

Keypoint decoders return ``(keypoints (N, K, 2) input px, scores (N, K))``; pose decoders
return ``(euler (N, 3) yaw, pitch, roll degrees, rotation (N, 3, 3))`` in the crop's frame; the
visibility decoder ``(visibility (N, K),)`` probabilities. :data:`KIND_FIELDS` names each kind's
outputs. A new codec adds a decoder class here and a branch in :func:`decoder_for`.
(Over 300 lines: one small decoder per codec beside the one dispatch that chooses among them.)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.codecs.refine import refine_dark, refine_quarter
from landmarks.codecs.rle import rle_score
from landmarks.codecs.simcc import simcc_decode
from landmarks.codecs.visibility import VisibilityCodec
from landmarks.geometry import rotation_from_radians

__all__ = ["KIND_FIELDS", "ExportError", "decoder_for", "describe_decode"]

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "keypoints": ("keypoints", "scores"),
    "head_pose": ("euler", "rotation"),
    "visibility": ("visibility",),
}
"""The graph outputs ``<task>.<field>`` of each decoder kind, in the order the decoder returns them."""


class ExportError(ValueError):
    """A task that cannot be exported; the message names the task and the operation."""


def heatmap_argmax(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`landmarks.codecs.refine.heatmap_argmax` without floor division or ``%``.

    The index is non-negative, so ``y = trunc(idx / w)`` and ``x = idx - y * w`` equal the
    original's ``idx // w`` and ``idx % w``; exported, they are ``Div`` / ``Mul`` / ``Sub`` on
    integers instead of the ``Xor`` / ``Mod`` of a floor division that OpenCV DNN cannot load.
    """
    b, k, _, w = heatmaps.shape
    scores, idx = heatmaps.reshape(b, k, -1).max(dim=-1)
    y = torch.div(idx, w, rounding_mode="trunc")
    return torch.stack([idx - y * w, y], dim=-1).to(heatmaps.dtype), scores


class HeatmapDecoder(nn.Module):
    """Argmax + ``refine`` of a Gaussian heatmap codec, then heatmap px -> input px."""

    def __init__(self, codec: Any) -> None:
        super().__init__()
        self.refine = codec.refine
        self.sigma = float(codec.sigma)
        self.factor: torch.Tensor
        self.register_buffer("factor", torch.as_tensor(codec._factor(), dtype=torch.float32), persistent=False)

    def forward(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hm = heatmaps.float()
        coords, scores = heatmap_argmax(hm)
        if self.refine == "quarter":
            coords = refine_quarter(hm, coords)
        elif self.refine == "dark":
            coords = refine_dark(hm, coords, self.sigma)
        return coords / self.factor, scores


class IntegralDecoder(nn.Module):
    """Soft-argmax ``softmax(beta * h)`` expectation, input px = origin + unit * heatmap px."""

    def __init__(self, codec: Any) -> None:
        super().__init__()
        self.beta = float(codec.beta)
        self.unit: torch.Tensor
        self.origin: torch.Tensor
        self.register_buffer("unit", torch.as_tensor(codec._unit, dtype=torch.float32), persistent=False)
        self.register_buffer("origin", torch.as_tensor(codec._origin, dtype=torch.float32), persistent=False)

    def forward(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hm = heatmaps.float()
        b, k, h, w = hm.shape
        probs = torch.softmax(hm.reshape(b, k, h * w) * self.beta, dim=-1).reshape(b, k, h, w)
        xs = torch.arange(w, dtype=hm.dtype, device=hm.device)
        ys = torch.arange(h, dtype=hm.dtype, device=hm.device)
        x = (probs.sum(dim=2) * xs).sum(dim=-1)
        y = (probs.sum(dim=3) * ys).sum(dim=-1)
        coords = torch.stack([x, y], dim=-1) * self.unit + self.origin
        return coords, hm.flatten(2).amax(dim=-1)


class CoordinateDecoder(nn.Module):
    """Regression output is already input px; score 1 where both coordinates are finite."""

    def forward(self, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = coords.float()
        finite = torch.isfinite(c).all(dim=-1)
        return c, finite.float()


class SimCCDecoder(nn.Module):
    """SimCC ``(N, K, Lx + Ly)`` logits -> argmax bin centres (input px) and window-mass scores."""

    def __init__(self, codec: Any) -> None:
        super().__init__()
        self.num_bins = tuple(int(b) for b in codec.num_bins)
        self.split_ratio = float(codec.split_ratio)
        self.radius_bins = int(codec.radius_bins)

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = logits.float()
        lx = self.num_bins[0]
        return simcc_decode(t[..., :lx], t[..., lx:], self.split_ratio, self.radius_bins)


class RLEDecoder(nn.Module):
    """RLE ``(N, K, 4)`` ``x, y, sigma_x, sigma_y`` -> keypoints (input px) and the scale's score."""

    def __init__(self, codec: Any) -> None:
        super().__init__()
        self.tol = float(codec.tol_px)
        self.base = str(codec.base)

    def forward(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = out.float()
        return t[..., :2], rle_score(t[..., 2:], self.tol, self.base)


class VisibilityDecoder(nn.Module):
    """Visibility ``(N, K)`` logits -> ``(N, K)`` probabilities that each keypoint is visible."""

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor]:
        return (torch.sigmoid(logits.float()),)


class BinDecoder(nn.Module):
    """Hopenet bins: ``sum softmax(logits) * bin_values`` per angle, and its rotation matrix."""

    def __init__(self, bins: Any) -> None:
        super().__init__()
        self.values: torch.Tensor
        self.register_buffer("values", torch.as_tensor(bins.bin_values, dtype=torch.float32), persistent=False)

    def forward(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        angles = (logits.float().softmax(dim=-1) * self.values).sum(dim=-1)  # (N, 3)
        return angles, euler_to_matrix(angles[:, 0], angles[:, 1], angles[:, 2])


_DEG = math.pi / 180.0


def euler_to_matrix(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """:func:`landmarks.geometry.euler_to_matrix` in exportable ops (``deg2rad`` has no ONNX symbolic)."""
    return rotation_from_radians(yaw * _DEG, pitch * _DEG, roll * _DEG)


def matrix_to_euler(r: torch.Tensor) -> torch.Tensor:
    """:func:`landmarks.geometry.matrix_to_euler` in exportable ops: ``(..., 3)`` yaw, pitch, roll degrees."""
    cos_yaw = torch.sqrt(r[..., 0, 0] ** 2 + r[..., 1, 0] ** 2)
    singular = cos_yaw < 1e-6
    yaw = torch.atan2(-r[..., 2, 0], cos_yaw)
    pitch = torch.where(singular, torch.atan2(-r[..., 1, 2], r[..., 1, 1]), torch.atan2(r[..., 2, 1], r[..., 2, 2]))
    roll = torch.where(singular, torch.zeros_like(yaw), torch.atan2(r[..., 1, 0], r[..., 0, 0]))
    return torch.stack([yaw, pitch, roll], dim=-1) / _DEG


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    bx, by, bz = b[..., 0], b[..., 1], b[..., 2]
    return torch.stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim=-1)


def _normalize(v: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return v / torch.sqrt((v * v).sum(dim=-1, keepdim=True)).clamp_min(eps)


class Rotation6DDecoder(nn.Module):
    """6DRepNet: Gram-Schmidt of the two raw columns -> matrix (columns x, y, z) -> Euler angles."""

    def forward(self, d6: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = d6.float()
        x = _normalize(t[..., 0:3])
        z = _normalize(_cross(x, t[..., 3:6]))
        y = _cross(z, x)
        matrix = torch.stack([x, y, z], dim=-1)
        return matrix_to_euler(matrix), matrix


def decoder_for(task: Any, sample_output: Any) -> tuple[str, nn.Module]:
    """``(kind, decoder)`` for one task: kind ``"keypoints"``, ``"head_pose"`` or ``"visibility"``.

    Args:
        task: a :class:`~landmarks.task.Task` of the model.
        sample_output: the task's head output for a dummy batch (its shape tells 6-D from bins).

    Raises:
        ExportError: naming the task and the codec / read-out that has no exportable decode.
    """
    codec, name = task.codec, task.name
    codec_name = type(codec).__name__
    if isinstance(codec, VisibilityCodec):
        if isinstance(sample_output, torch.Tensor) and sample_output.ndim == 2:
            return "visibility", VisibilityDecoder()
        raise ExportError(
            f"task '{name}': no exportable decode for head output of shape "
            f"{tuple(getattr(sample_output, 'shape', ()))} with codec {codec_name} (expected (N, K) logits)"
        )
    if hasattr(codec, "bins") and hasattr(task, "crop_angles"):  # head pose (EulerCodec)
        if isinstance(sample_output, torch.Tensor) and sample_output.ndim == 2 and sample_output.shape[-1] == 6:
            return "head_pose", Rotation6DDecoder()
        if codec.bins is not None and isinstance(sample_output, torch.Tensor) and sample_output.ndim == 3:
            return "head_pose", BinDecoder(codec.bins)
        raise ExportError(
            f"task '{name}': no exportable decode for head output of shape "
            f"{tuple(getattr(sample_output, 'shape', ()))} with codec {codec_name} "
            "(expected (N, 6) 6-D or (N, 3, bins) Hopenet logits)"
        )
    if not hasattr(task, "spec"):
        raise ExportError(
            f"task '{name}': operation 'decode' of {type(task).__name__} is neither a keypoint "
            "task nor a head-pose task; landmarks/export/decoders.py has no decoder for it"
        )
    mode = getattr(task, "decode_mode", None)
    if hasattr(codec, "beta") and hasattr(codec, "heatmap"):  # IntegralHeatmap
        if mode is None or mode == "integral":
            return "keypoints", IntegralDecoder(codec)
        codec = codec.heatmap  # decode_argmax: the wrapped codec's argmax + refine
        codec_name = type(codec).__name__
    if hasattr(codec, "refine") and hasattr(codec, "_factor"):
        if codec.refine not in ("none", "quarter", "dark"):
            raise ExportError(f"task '{name}': operation 'refine={codec.refine}' of {codec_name} has no ONNX decode")
        return "keypoints", HeatmapDecoder(codec)
    if hasattr(codec, "split_ratio") and hasattr(codec, "num_bins"):  # SimCCCodec
        return "keypoints", SimCCDecoder(codec)
    if hasattr(codec, "decode_scale") and hasattr(codec, "tol_px"):  # RLECodec
        return "keypoints", RLEDecoder(codec)
    if codec_name == "CoordinateCodec" or (
        hasattr(codec, "input_size")
        and not hasattr(codec, "heatmap_size")
        and isinstance(sample_output, torch.Tensor)
        and sample_output.ndim == 3
        and sample_output.shape[-1] == 2
    ):
        return "keypoints", CoordinateDecoder()
    raise ExportError(
        f"task '{name}': operation 'decode' of codec {codec_name} has no ONNX decoder "
        "(landmarks/export/decoders.py: heatmap MSRA/UDP, integral, coordinates, SimCC, RLE, Hopenet bins, 6-D, "
        "visibility)"
    )


def describe_decode(task: Any, decoder: nn.Module) -> dict[str, Any]:
    """The decode settings written to the sidecar (plain JSON values)."""
    codec = task.codec
    out: dict[str, Any] = {"decoder": type(decoder).__name__, "codec": repr(codec)}
    if isinstance(decoder, HeatmapDecoder):
        out.update(refine=decoder.refine, sigma=decoder.sigma, heatmap_px_per_input_px=decoder.factor.tolist())
    elif isinstance(decoder, IntegralDecoder):
        out.update(beta=decoder.beta, unit=decoder.unit.tolist(), origin=decoder.origin.tolist())
    elif isinstance(decoder, SimCCDecoder):
        out.update(num_bins=list(decoder.num_bins), split_ratio=decoder.split_ratio, radius_bins=decoder.radius_bins)
    elif isinstance(decoder, RLEDecoder):
        out.update(score_tol_px=decoder.tol, base=decoder.base)
    elif isinstance(decoder, BinDecoder):
        bins = codec.bins
        out.update(
            num_bins=bins.num_bins,
            bin_width=bins.bin_width,
            start=bins.start,
            center=bins.center,
            bin_values=np.asarray(bins.bin_values).round(6).tolist(),
        )
    elif isinstance(decoder, VisibilityDecoder):
        out.update(output="sigmoid(logit): probability that the keypoint is visible (COCO v = 2) rather than occluded")
    elif isinstance(decoder, Rotation6DDecoder):
        out.update(representation="6d", columns="raw first column then raw second column, Gram-Schmidt")
    return out
