"""Hopenet angle bins: classify each Euler angle into 3-degree bins, decode by expectation.

Ruiz, Chong & Rehg, "Fine-Grained Head Pose Estimation Without Keypoints", CVPR-W 2018
(``deep-head-pose``): 66 bins of 3 degrees covering [-99, 99). The bin of an angle is
``np.digitize(angle, range(-99, 102, 3)) - 1``, so bin ``i`` holds [-99 + 3 i, -96 + 3 i);
the prediction is the softmax expectation over bins, with bin ``i`` worth
``3 i - 99`` degrees in the original code: its **left edge**.

Default ``center=True`` (bin ``i`` worth ``3 i - 97.5``, its centre), because:

* bias: with continuous labels spread evenly in a bin, a network that puts all its mass on
  the right bin decodes the left edge, i.e. ``-1.5`` degrees on average (mean absolute
  quantisation error 1.5 instead of 0.75 degrees); the regression term of the Hopenet loss
  must then fight the classification term to undo it;
* symmetry: centres are symmetric about 0 (``decode(-x) = -decode(x)`` for mirrored
  distributions), so the flip augmentation (yaw, roll -> -yaw, -roll) and flip-test
  averaging stay unbiased; left edges map +1 and -1 degree to 0 and -3.

Use ``center=False`` only to reproduce the original numbers or to load Hopenet weights.

Unit: degrees. Order of the angle axis: yaw, pitch, roll (:mod:`landmarks.geometry`).
Out-of-range angles (outside [-99, 99), or not finite) get bin ``-1`` and weight 0; Hopenet
drops such samples from its file lists. A sibling codec (e.g. a different bin width or
WHENet's 120 yaw bins) is this class with other arguments.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["AngleBinCodec"]


class AngleBinCodec:
    """Bin codec for angles in degrees.

    Args:
        num_bins: number of bins (Hopenet: 66).
        bin_width: bin width, degrees (Hopenet: 3).
        start: left edge of bin 0, degrees (Hopenet: -99).
        center: decode bin ``i`` to its centre (default) instead of its left edge (Hopenet).
    """

    def __init__(self, num_bins: int = 66, bin_width: float = 3.0, start: float = -99.0, center: bool = True) -> None:
        if num_bins < 2 or bin_width <= 0:
            raise ValueError(f"AngleBinCodec: need num_bins >= 2 and bin_width > 0, got {num_bins}, {bin_width}")
        self.num_bins = int(num_bins)
        self.bin_width = float(bin_width)
        self.start = float(start)
        self.center = bool(center)

    def __repr__(self) -> str:
        return (
            f"AngleBinCodec(num_bins={self.num_bins}, bin_width={self.bin_width}, start={self.start}, "
            f"center={self.center})"
        )

    @property
    def stop(self) -> float:
        """Right edge of the last bin, degrees (exclusive)."""
        return self.start + self.num_bins * self.bin_width

    @property
    def edges(self) -> np.ndarray:
        """``(num_bins + 1,)`` bin edges, degrees (Hopenet: ``range(-99, 102, 3)``)."""
        return self.start + self.bin_width * np.arange(self.num_bins + 1, dtype=np.float64)

    @property
    def bin_values(self) -> np.ndarray:
        """``(num_bins,)`` degrees each bin decodes to (centre, or left edge when ``center=False``)."""
        return self.edges[:-1] + (0.5 * self.bin_width if self.center else 0.0)

    # -- encode (data side) ------------------------------------------------------------
    def encode_bins(self, angles: np.ndarray) -> np.ndarray:
        """Bin index of each angle, ``np.digitize(angle, edges) - 1``; ``-1`` when out of range.

        Args:
            angles: any shape, degrees.

        Returns:
            int64 array of the same shape.
        """
        a = np.asarray(angles, dtype=np.float64)
        idx = np.digitize(a, self.edges) - 1
        ok = np.isfinite(a) & (idx >= 0) & (idx < self.num_bins)
        return np.where(ok, idx, -1).astype(np.int64)

    def encode(self, angles: np.ndarray) -> dict[str, np.ndarray]:
        """Targets for one sample (or a batch).

        Args:
            angles: ``(..., 3)`` yaw, pitch, roll degrees.

        Returns:
            ``{"bins": (..., 3) int64 (-1 out of range), "angles": (..., 3) float32,
            "weight": (...,) float32}``, weight 1 when all three angles are in range, else 0.
        """
        a = np.asarray(angles, dtype=np.float64)
        if a.ndim == 0 or a.shape[-1] != 3:
            raise ValueError(f"AngleBinCodec.encode: expected (..., 3) yaw, pitch, roll degrees, got shape {a.shape}")
        bins = self.encode_bins(a)
        valid = np.all(bins >= 0, axis=-1)
        return {
            "bins": bins,
            "angles": np.where(np.isfinite(a), a, 0.0).astype(np.float32),
            "weight": valid.astype(np.float32),
        }

    def encode_bins_torch(self, angles: torch.Tensor) -> torch.Tensor:
        """Same as :meth:`encode_bins` on a tensor (``torch.bucketize(..., right=True) - 1``)."""
        edges = torch.as_tensor(self.edges, dtype=angles.dtype, device=angles.device)
        idx = torch.bucketize(angles.detach(), edges, right=True) - 1
        ok = torch.isfinite(angles) & (idx >= 0) & (idx < self.num_bins)
        return torch.where(ok, idx, torch.full_like(idx, -1))

    # -- decode (model side) -----------------------------------------------------------
    def expectation(self, logits: torch.Tensor) -> torch.Tensor:
        """Differentiable decode: ``sum_i softmax(logits)_i * bin_values[i]``.

        Args:
            logits: ``(..., num_bins)``.

        Returns:
            ``(...)`` degrees, same dtype and device.
        """
        if logits.shape[-1] != self.num_bins:
            raise ValueError(
                f"AngleBinCodec: logits must end in num_bins={self.num_bins}, got shape {tuple(logits.shape)}"
            )
        values = torch.as_tensor(self.bin_values, dtype=logits.dtype, device=logits.device)
        return (logits.softmax(dim=-1) * values).sum(dim=-1)

    def decode(self, logits: torch.Tensor) -> np.ndarray:
        """Angles from head logits.

        Args:
            logits: ``(B, 3, num_bins)`` yaw, pitch, roll logits.

        Returns:
            ``(B, 3)`` float32 degrees.
        """
        return self.expectation(torch.as_tensor(logits).detach().float()).cpu().numpy().astype(np.float32)
