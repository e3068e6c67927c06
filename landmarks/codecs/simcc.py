"""SimCC: keypoints as two 1-D classifications, one over x bins and one over y bins.

Li et al., "SimCC: a Simple Coordinate Classification Perspective for Human Pose Estimation",
ECCV 2022; the codec of RTMPose (Jiang et al., arXiv 2023). Each axis of the network input is cut
into ``split_ratio`` bins per input px, so the quantisation error is at most ``1 / (2 * split_ratio)``
input px; the targets are Gaussian label smoothing over those bins.

Unit and bins. Keypoints are in **input px** (the crop of :mod:`landmarks.data.crop`: pixel ``i``
has its centre at ``i``). With ``s = split_ratio`` the x axis has ``Lx = W * s`` bins (``W * s``
must be a whole number) and bin ``i`` has its centre at ``x = (i + 0.5) / s - 0.5`` input px,
so the bins tile the pixel extent ``[-0.5, W - 0.5]`` exactly (``s = 1``: one bin per pixel,
centred on it). A horizontal flip of the crop (``x -> W - 1 - x``) is then the plain reversal of
the bins (bin ``i`` -> ``Lx - 1 - i``). The same holds for y with ``H`` and ``Ly``.

* ``encode(keypoints, visible)`` (data side): ``{"simcc_x": (K, Lx), "simcc_y": (K, Ly),
  "target_weight": (K,)}`` float32: ``exp(-(i - mu)^2 / (2 sigma^2))`` with ``mu`` the keypoint in
  bins (peak 1 at the keypoint, ``sigma`` in bins). Weight 1 for a labelled (``visible > 0``),
  finite keypoint inside the crop's pixel extent, else 0 (and zero targets).
* ``decode(logits)`` (model side): the head's ``(B, K, Lx + Ly)`` logits (x bins first), or the
  pair ``(logits_x, logits_y)``. Argmax on each axis -> bin centre in input px. **Score**: per
  axis, the softmax probability mass within ``score_radius`` input px of the argmax bin; the
  keypoint's score is the **minimum** of the two axes (a point is as sure as its less sure
  coordinate), in ``[0, 1]``. A confident model puts nearly all its mass there (score near 1);
  a diffuse distribution scores near ``(2 * radius * s + 1) / L``. The raw maximum logit is not
  used: the KL loss fixes logits only up to a constant per row.
* ``flip_back(logits, flip_indices)``: reverse both x halves of the bins, permute left/right.

:func:`simcc_decode` is the torch read-out that both :meth:`SimCCCodec.decode` and the exported
graph (:mod:`landmarks.export.decoders`) call, so they agree to float rounding. A sibling codec
(e.g. sub-bin refinement of the argmax) keeps ``encode`` / ``decode`` / ``flip_back`` and these units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from landmarks.codecs.protocol import input_size_pair, keypoint_encode_inputs

__all__ = ["SimCCCodec", "simcc_decode"]


def simcc_decode(
    logits_x: torch.Tensor, logits_y: torch.Tensor, split_ratio: float, radius_bins: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Argmax read-out of SimCC logits (exportable to ONNX: ArgMax, Softmax, Abs, comparisons).

    Args:
        logits_x: ``(B, K, Lx)``.
        logits_y: ``(B, K, Ly)``.
        split_ratio: bins per input px.
        radius_bins: half-width of the score window, bins.

    Returns:
        ``keypoints (B, K, 2)`` input px and ``scores (B, K)``: the smaller of the two axes'
        softmax mass within ``radius_bins`` of the argmax.
    """
    coords, masses = [], []
    for logits in (logits_x, logits_y):
        probs = torch.softmax(logits, dim=-1)
        idx = torch.argmax(logits, dim=-1, keepdim=True)  # first maximum on ties, as torch.max
        bins = torch.arange(logits.shape[-1], device=logits.device).view(1, 1, -1)
        near = (torch.abs(bins - idx) <= radius_bins).to(probs.dtype)
        masses.append((probs * near).sum(dim=-1))
        coords.append((idx.squeeze(-1).to(probs.dtype) + 0.5) / split_ratio - 0.5)
    return torch.stack(coords, dim=-1), torch.minimum(masses[0], masses[1])


class SimCCCodec:
    """1-D x / y bin targets with Gaussian label smoothing; argmax decode (module docstring).

    Args:
        input_size: ``(W, H)`` of the network input, input px.
        split_ratio: bins per input px (``W * split_ratio`` and ``H * split_ratio`` whole numbers).
        sigma: Gaussian standard deviation of the targets, bins: one value or ``(sigma_x, sigma_y)``.
        score_radius: half-width of the score window, input px (rounded to whole bins).
    """

    udp: bool = False
    """Uses the standard (non-UDP) crop; :mod:`landmarks.data.datamodule` reads this."""

    def __init__(
        self,
        input_size: Sequence[int],
        split_ratio: float = 2.0,
        sigma: float | Sequence[float] = 6.0,
        score_radius: float = 2.0,
    ) -> None:
        self.input_size = input_size_pair(input_size, "SimCCCodec")
        if not split_ratio > 0:
            raise ValueError(f"SimCCCodec: split_ratio must be > 0 bins per px, got {split_ratio}")
        self.split_ratio = float(split_ratio)
        bins = [size * self.split_ratio for size in self.input_size]
        if any(abs(b - round(b)) > 1e-6 for b in bins):
            raise ValueError(
                f"SimCCCodec: input_size {list(self.input_size)} x split_ratio {split_ratio} must give whole "
                f"numbers of bins, got {bins}"
            )
        self.num_bins = (int(round(bins[0])), int(round(bins[1])))
        sig = [float(sigma)] * 2 if isinstance(sigma, int | float) else [float(s) for s in sigma]
        if len(sig) != 2 or min(sig) <= 0:
            raise ValueError(f"SimCCCodec: sigma must be > 0 bins (one value or two), got {sigma}")
        self.sigma = (sig[0], sig[1])
        if score_radius < 0:
            raise ValueError(f"SimCCCodec: score_radius must be >= 0 input px, got {score_radius}")
        self.score_radius = float(score_radius)
        self.radius_bins = int(round(self.score_radius * self.split_ratio))

    def __repr__(self) -> str:
        return (
            f"SimCCCodec(input_size={self.input_size}, split_ratio={self.split_ratio}, sigma={self.sigma}, "
            f"score_radius={self.score_radius})"
        )

    def to_bins(self, keypoints: np.ndarray) -> np.ndarray:
        """``(..., 2)`` input px -> bin coordinates (bin ``i`` has its centre at ``i``)."""
        return (np.asarray(keypoints, dtype=np.float64) + 0.5) * self.split_ratio - 0.5

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """Targets for one instance.

        Args:
            keypoints: ``(K, 2)`` input px.
            visible: ``(K,)`` COCO visibility; ``> 0`` means labelled.

        Returns:
            ``{"simcc_x": (K, Lx), "simcc_y": (K, Ly), "target_weight": (K,)}`` float32.
        """
        kpts, vis = keypoint_encode_inputs(keypoints, visible, "SimCCCodec")
        finite = np.all(np.isfinite(kpts), axis=1)
        mu = self.to_bins(np.where(finite[:, None], kpts, 0.0))
        lengths = np.asarray(self.num_bins, dtype=np.float64)
        inside = np.all((mu >= -0.5) & (mu <= lengths - 0.5), axis=1)
        use = (vis > 0) & finite & inside
        out: dict[str, np.ndarray] = {}
        for axis, key in enumerate(("simcc_x", "simcc_y")):
            grid = np.arange(self.num_bins[axis], dtype=np.float64)
            g = np.exp(-((grid[None, :] - mu[:, axis : axis + 1]) ** 2) / (2.0 * self.sigma[axis] ** 2))
            out[key] = np.where(use[:, None], g, 0.0).astype(np.float32)
        out["target_weight"] = use.astype(np.float32)
        return out

    def split(self, out: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Head output ``(B, K, Lx + Ly)`` (or the pair) -> ``(logits_x (B, K, Lx), logits_y (B, K, Ly))``."""
        if isinstance(out, tuple | list):
            x, y = (torch.as_tensor(t) for t in out)
        else:
            t = torch.as_tensor(out)
            if t.ndim != 3 or t.shape[-1] != sum(self.num_bins):
                raise ValueError(
                    f"SimCCCodec: expected head output (B, K, Lx + Ly) = (B, K, {sum(self.num_bins)}) for bins "
                    f"{self.num_bins}, got {tuple(t.shape)}"
                )
            x, y = t[..., : self.num_bins[0]], t[..., self.num_bins[0] :]
        if x.shape[-1] != self.num_bins[0] or y.shape[-1] != self.num_bins[1]:
            raise ValueError(f"SimCCCodec: expected {self.num_bins} x / y bins, got {x.shape[-1]} and {y.shape[-1]}")
        return x, y

    def decode(self, out: torch.Tensor | tuple[torch.Tensor, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
        """Argmax keypoints and window-mass scores (module docstring).

        Args:
            out: ``(B, K, Lx + Ly)`` logits, or ``(logits_x, logits_y)``.

        Returns:
            ``keypoints (B, K, 2)`` float32 input px, ``scores (B, K)`` float32 in ``[0, 1]``.
        """
        x, y = self.split(out)
        kpts, scores = simcc_decode(x.detach().float(), y.detach().float(), self.split_ratio, self.radius_bins)
        return kpts.cpu().numpy().astype(np.float32), scores.cpu().numpy().astype(np.float32)

    def flip_back(self, logits_of_flipped_input: torch.Tensor, flip_indices: np.ndarray) -> torch.Tensor:
        """Bring ``(B, K, Lx + Ly)`` logits of a horizontally flipped input back to the original frame.

        Keypoint ``i`` takes the output of ``flip_indices[i]``; its x bins are reversed
        (``x -> W - 1 - x`` is bin ``i -> Lx - 1 - i``), its y bins are kept.
        """
        out = logits_of_flipped_input
        idx = torch.as_tensor(np.asarray(flip_indices, dtype=np.int64), device=out.device)
        if idx.numel() != out.shape[1]:
            raise ValueError(
                f"SimCCCodec.flip_back: flip_indices has {idx.numel()} entries, output has K={out.shape[1]}"
            )
        x, y = self.split(out[:, idx])
        return torch.cat([x.flip(-1), y], dim=-1)
