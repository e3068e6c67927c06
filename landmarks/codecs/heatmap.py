"""Gaussian heatmap codecs: MSRA (SimpleBaseline / HRNet) and UDP.

* :class:`MSRAHeatmap` — Xiao et al., "Simple Baselines for Human Pose Estimation and
  Tracking", ECCV 2018, as used by HRNet (Sun et al., CVPR 2019): heatmap px = input px /
  stride; the Gaussian (peak 1) sits on the rounded heatmap pixel, or on the exact sub-pixel
  location with ``unbiased=True`` (the DARK encoding, Zhang et al., CVPR 2020).
* :class:`UDPHeatmap` — Huang et al., "The Devil is in the Details: Delving into Unbiased
  Data Processing for Human Pose Estimation", CVPR 2020: heatmap px =
  input px * (w - 1) / (W - 1), so the first and last pixel centres of input and heatmap
  coincide; the Gaussian sits on the exact sub-pixel location; decode refines with DARK.

Both Gaussians are truncated to the square of half-width ``floor(3 sigma)`` around the
rounded centre. A codec is stateless: the same object is given to the data pipeline
(``encode``, in DataLoader workers) and to the task (``decode``, ``flip_back``). Its ``udp``
attribute tells :mod:`landmarks.data.crop` which affine matches it.

To add a sibling (e.g. an offset-map codec), subclass :class:`GaussianHeatmapCodec`
and override ``to_heatmap_px`` / ``to_input_px`` / ``flip_back``, or write a new class with
the same four methods, and give it a round-trip test.
"""

from __future__ import annotations

import numpy as np
import torch

from landmarks.codecs.protocol import keypoint_encode_inputs
from landmarks.codecs.refine import heatmap_argmax, refine_dark, refine_quarter

__all__ = ["GaussianHeatmapCodec", "MSRAHeatmap", "UDPHeatmap", "flip_heatmaps"]

REFINES = ("none", "quarter", "dark")


def flip_heatmaps(heatmaps: torch.Tensor, flip_indices: np.ndarray, shift: bool) -> torch.Tensor:
    """Heatmaps of a horizontally flipped input, brought back to the original frame.

    Flips the width axis (heatmap px ``x -> w - 1 - x``), reorders channels so channel
    ``i`` takes ``flip_indices[i]`` (left/right swap), and, when ``shift``, moves the maps
    one heatmap pixel to the right (column 0 keeps its value), as HRNet's flip test does to
    compensate the stride-based MSRA coordinate mapping.

    Args:
        heatmaps: ``(B, K, h, w)`` output for the flipped input.
        flip_indices: ``(K,)`` int permutation from :attr:`KeypointSpec.flip_indices`.
        shift: apply the one-pixel shift.

    Returns:
        ``(B, K, h, w)`` maps aligned with the un-flipped input.
    """
    idx = torch.as_tensor(np.asarray(flip_indices, dtype=np.int64), device=heatmaps.device)
    if idx.numel() != heatmaps.shape[1]:
        raise ValueError(f"flip_heatmaps: flip_indices has {idx.numel()} entries, heatmaps have K={heatmaps.shape[1]}")
    out = heatmaps.flip(-1)[:, idx]
    if shift:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=-1)
    return out


class GaussianHeatmapCodec:
    """Shared encode/decode of Gaussian heatmap codecs (subclasses fix the px mapping).

    Args:
        input_size: ``(W, H)`` of the network input, input px.
        heatmap_size: ``(w, h)`` of the heatmaps, heatmap px.
        sigma: Gaussian standard deviation, heatmap px.
        refine: decode refinement, ``"none"`` (argmax), ``"quarter"`` or ``"dark"``.
        unbiased: put the Gaussian at the exact sub-pixel heatmap location (otherwise at
            the rounded pixel, with peak value 1).
    """

    udp: bool = False

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float = 2.0,
        refine: str = "quarter",
        unbiased: bool = False,
    ) -> None:
        name = type(self).__name__
        if len(input_size) != 2 or len(heatmap_size) != 2:
            raise ValueError(f"{name}: input_size and heatmap_size must be (W, H), got {input_size}, {heatmap_size}")
        if min(heatmap_size) < 2 or min(input_size) < 2:
            raise ValueError(f"{name}: sizes must be >= 2 px, got input {input_size}, heatmap {heatmap_size}")
        if sigma <= 0:
            raise ValueError(f"{name}: sigma must be > 0 heatmap px, got {sigma}")
        if refine not in REFINES:
            raise ValueError(f"{name}: refine must be one of {REFINES}, got {refine!r}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = float(sigma)
        self.refine = refine
        self.unbiased = bool(unbiased)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"sigma={self.sigma}, refine={self.refine!r}, unbiased={self.unbiased})"
        )

    # -- coordinate frames -------------------------------------------------------------
    def _factor(self) -> np.ndarray:
        """``(2,)`` heatmap px per input px, ``x, y``."""
        raise NotImplementedError

    def to_heatmap_px(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` input px -> heatmap px (float64)."""
        return np.asarray(points, dtype=np.float64) * self._factor()

    def to_input_px(self, points: np.ndarray) -> np.ndarray:
        """``(..., 2)`` heatmap px -> input px (float64)."""
        return np.asarray(points, dtype=np.float64) / self._factor()

    # -- encode ------------------------------------------------------------------------
    def _prepare(self, keypoints: np.ndarray, visible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kpts, vis = keypoint_encode_inputs(keypoints, visible, type(self).__name__)
        mu = self.to_heatmap_px(kpts)
        use = (vis > 0) & np.all(np.isfinite(mu), axis=1)
        # Far-away or unusable points become a far-off finite location (no overflow).
        return np.where(use[:, None], np.clip(mu, -1e6, 1e6), -1e6), use

    def _radius(self) -> int:
        return int(3.0 * self.sigma)

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """Gaussian target maps for one instance (vectorised over keypoints).

        Args:
            keypoints: ``(K, 2)`` input px.
            visible: ``(K,)`` COCO visibility; ``> 0`` means labelled.

        Returns:
            ``{"heatmaps": (K, h, w) float32, "target_weight": (K,) float32}``. A keypoint
            that is unlabelled, non-finite, or whose truncated Gaussian has no pixel inside
            the map gets weight 0 and an all-zero map; the others get weight 1.
        """
        mu, use = self._prepare(keypoints, visible)
        w, h = self.heatmap_size
        r = self._radius()
        rounded = np.floor(mu + 0.5)
        peak = mu if self.unbiased else rounded
        two_s2 = 2.0 * self.sigma**2
        xs = np.arange(w, dtype=np.float64)[None, :]
        ys = np.arange(h, dtype=np.float64)[None, :]
        gx = np.exp(-((xs - peak[:, 0:1]) ** 2) / two_s2) * (np.abs(xs - rounded[:, 0:1]) <= r)
        gy = np.exp(-((ys - peak[:, 1:2]) ** 2) / two_s2) * (np.abs(ys - rounded[:, 1:2]) <= r)
        use = use & gx.any(axis=1) & gy.any(axis=1)
        # Separable: the outer product of the 1-D profiles, in float32.
        gx32 = gx.astype(np.float32)
        gy32 = (gy * use[:, None]).astype(np.float32)
        heatmaps = gy32[:, :, None] * gx32[:, None, :]
        return {"heatmaps": heatmaps, "target_weight": use.astype(np.float32)}

    def encode_loop(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """Same result as :meth:`encode`, one keypoint at a time (HRNet-style patch paste).

        Kept as the reference and benchmark baseline for :meth:`encode`.
        """
        mu, use = self._prepare(keypoints, visible)
        w, h = self.heatmap_size
        r = self._radius()
        two_s2 = 2.0 * self.sigma**2
        heatmaps = np.zeros((len(mu), h, w), dtype=np.float32)
        weight = np.zeros(len(mu), dtype=np.float32)
        for k in range(len(mu)):
            if not use[k]:
                continue
            cx, cy = (int(np.floor(v + 0.5)) for v in mu[k])
            px, py = mu[k] if self.unbiased else (float(cx), float(cy))
            x0, x1 = max(0, cx - r), min(w - 1, cx + r)
            y0, y1 = max(0, cy - r), min(h - 1, cy + r)
            if x0 > x1 or y0 > y1:
                continue
            xs = np.arange(x0, x1 + 1, dtype=np.float64)
            ys = np.arange(y0, y1 + 1, dtype=np.float64)
            gx = np.exp(-((xs - px) ** 2) / two_s2).astype(np.float32)
            gy = np.exp(-((ys - py) ** 2) / two_s2).astype(np.float32)
            heatmaps[k, y0 : y1 + 1, x0 : x1 + 1] = gy[:, None] * gx[None, :]
            weight[k] = 1.0
        return {"heatmaps": heatmaps, "target_weight": weight}

    # -- decode ------------------------------------------------------------------------
    def decode(self, heatmaps: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints from heatmaps (argmax, then this codec's refinement).

        Args:
            heatmaps: ``(B, K, h, w)`` tensor (any device), or a numpy array.

        Returns:
            ``keypoints`` ``(B, K, 2)`` float32 input px and ``scores`` ``(B, K)`` float32,
            the heatmap maximum.
        """
        hm = torch.as_tensor(heatmaps).detach().float()
        if hm.ndim != 4 or tuple(hm.shape[2:]) != (self.heatmap_size[1], self.heatmap_size[0]):
            raise ValueError(
                f"{type(self).__name__}.decode: expected heatmaps (B, K, {self.heatmap_size[1]}, "
                f"{self.heatmap_size[0]}), got {tuple(hm.shape)}"
            )
        coords, scores = heatmap_argmax(hm)
        if self.refine == "quarter":
            coords = refine_quarter(hm, coords)
        elif self.refine == "dark":
            coords = refine_dark(hm, coords, self.sigma)
        kpts = self.to_input_px(coords.cpu().double().numpy())
        return kpts.astype(np.float32), scores.cpu().numpy().astype(np.float32)

    def flip_back(self, heatmaps_of_flipped_input: torch.Tensor, flip_indices: np.ndarray) -> torch.Tensor:
        """Bring the output for a horizontally flipped input back to the original frame.

        Args:
            heatmaps_of_flipped_input: ``(B, K, h, w)``.
            flip_indices: ``(K,)`` left/right permutation (:attr:`KeypointSpec.flip_indices`).

        Returns:
            ``(B, K, h, w)``; average it with the un-flipped output for flip testing.
        """
        return flip_heatmaps(heatmaps_of_flipped_input, flip_indices, shift=not self.udp)


class MSRAHeatmap(GaussianHeatmapCodec):
    """SimpleBaseline / HRNet Gaussian heatmaps; heatmap px = input px / stride.

    ``stride = W / w`` (and ``H / h``). Input pixel ``x`` of a flipped input becomes
    ``W - 1 - x``, which in heatmap px is ``w - 1/stride - x_hm``, not ``w - 1 - x_hm``:
    flipping the heatmap back leaves an offset of ``-(1 - 1/stride)`` heatmap px, which
    :meth:`flip_back` reduces to ``+1/stride`` with HRNet's one-pixel shift.

    Args:
        input_size: ``(W, H)`` input px.
        heatmap_size: ``(w, h)`` heatmap px.
        sigma: Gaussian standard deviation, heatmap px.
        refine: ``"none"``, ``"quarter"`` (default, HRNet) or ``"dark"``.
        unbiased: Gaussian at the exact sub-pixel location (DARK encoding); pair with
            ``refine="dark"``.
    """

    udp = False

    def _factor(self) -> np.ndarray:
        return np.array(self.heatmap_size, dtype=np.float64) / np.array(self.input_size, dtype=np.float64)


class UDPHeatmap(GaussianHeatmapCodec):
    """UDP Gaussian heatmaps; heatmap px = input px * (w - 1) / (W - 1), sub-pixel centre.

    A horizontal flip ``x -> W - 1 - x`` of the input is exactly ``x -> w - 1 - x`` of
    the heatmap, so :meth:`flip_back` needs no shift. Pair with the ``udp=True`` crop.

    Args:
        input_size: ``(W, H)`` input px.
        heatmap_size: ``(w, h)`` heatmap px.
        sigma: Gaussian standard deviation, heatmap px.
        refine: ``"dark"`` (default), ``"quarter"`` or ``"none"``.
    """

    udp = True

    def __init__(
        self,
        input_size: tuple[int, int],
        heatmap_size: tuple[int, int],
        sigma: float = 2.0,
        refine: str = "dark",
    ) -> None:
        super().__init__(input_size, heatmap_size, sigma=sigma, refine=refine, unbiased=True)

    def _factor(self) -> np.ndarray:
        w, h = self.heatmap_size
        big_w, big_h = self.input_size
        return np.array([(w - 1) / (big_w - 1), (h - 1) / (big_h - 1)], dtype=np.float64)
