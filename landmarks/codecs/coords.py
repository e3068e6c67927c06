"""Coordinate codec for direct regression: targets are the keypoints themselves.

Used by regression heads (DeepPose, Toshev & Szegedy, CVPR 2014; Wing loss, Feng et al.,
CVPR 2018). Unit: **input px**, the frame of the cropped network input
(:mod:`landmarks.data.crop`: pixel ``i`` has its centre at ``i``; the non-UDP crop maps the
box edges to ``0`` and ``W``). Wing / Soft Wing thresholds (:mod:`landmarks.losses.wing`) are
therefore in input px, e.g. ``w = 10`` px of a 128 px crop.

* ``encode(keypoints, visible)`` (data side): ``{"coords": (K, 2) float32 input px,
  "target_weight": (K,) float32}``; weight 1 for a labelled (``visible > 0``) finite keypoint,
  else 0 and coordinates 0. A sample without landmark labels (all ``visible == 0``) therefore
  contributes nothing to a coordinate loss.
* ``decode(coords)`` (model side): ``(B, K, 2)`` input px and scores; the task then maps them
  to the original image with :func:`landmarks.data.crop.unwarp_points`, as the heatmap codecs do.
* ``flip_back(coords, flip_indices)``: the output for a horizontally flipped input brought
  back to the original frame: ``x -> W - 1 - x`` (exact for the pixel array flip of
  :mod:`landmarks.data.transforms`) and the left/right permutation.

A sibling (e.g. coordinates normalised to the crop) keeps these three methods and documents
its unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from landmarks.codecs.protocol import input_size_pair, keypoint_encode_inputs

__all__ = ["CoordinateCodec"]


class CoordinateCodec:
    """Keypoint coordinates in input px, with visibility weights.

    Args:
        input_size: ``(W, H)`` of the network input, input px.
    """

    udp: bool = False
    """Uses the standard (non-UDP) crop; :mod:`landmarks.data.datamodule` reads this."""

    def __init__(self, input_size: Sequence[int]) -> None:
        self.input_size = input_size_pair(input_size, "CoordinateCodec")

    def __repr__(self) -> str:
        return f"CoordinateCodec(input_size={self.input_size})"

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """Targets for one instance.

        Args:
            keypoints: ``(K, 2)`` input px.
            visible: ``(K,)`` COCO visibility; ``> 0`` means labelled.

        Returns:
            ``{"coords": (K, 2) float32 input px, "target_weight": (K,) float32}``.
        """
        kpts, vis = keypoint_encode_inputs(keypoints, visible, "CoordinateCodec")
        use = (vis > 0) & np.all(np.isfinite(kpts), axis=1)
        coords = np.where(use[:, None], kpts, 0.0)
        return {"coords": coords.astype(np.float32), "target_weight": use.astype(np.float32)}

    def decode(self, coords: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints from head output.

        Args:
            coords: ``(B, K, 2)`` input px (tensor or array).

        Returns:
            ``keypoints (B, K, 2)`` float32 input px and ``scores (B, K)`` float32: 1 for a
            finite prediction, 0 otherwise (a regression head has no confidence of its own).
        """
        c = torch.as_tensor(coords).detach().float().cpu().numpy()
        if c.ndim != 3 or c.shape[-1] != 2:
            raise ValueError(f"CoordinateCodec.decode: expected (B, K, 2) input px, got {c.shape}")
        scores = np.all(np.isfinite(c), axis=-1).astype(np.float32)
        return c.astype(np.float32), scores

    def flip_back(self, coords_of_flipped_input: torch.Tensor, flip_indices: np.ndarray) -> torch.Tensor:
        """Bring coordinates predicted on a horizontally flipped input back to the original frame.

        Args:
            coords_of_flipped_input: ``(B, K, 2)`` input px of the flipped crop.
            flip_indices: ``(K,)`` left/right permutation (:attr:`KeypointSpec.flip_indices`).

        Returns:
            ``(B, K, 2)``: keypoint ``i`` is the flipped prediction of ``flip_indices[i]`` with
            ``x -> W - 1 - x``; average it with the plain output for flip testing.
        """
        idx = torch.as_tensor(np.asarray(flip_indices, dtype=np.int64), device=coords_of_flipped_input.device)
        if idx.numel() != coords_of_flipped_input.shape[1]:
            raise ValueError(
                f"CoordinateCodec.flip_back: flip_indices has {idx.numel()} entries, coords have "
                f"K={coords_of_flipped_input.shape[1]}"
            )
        out = coords_of_flipped_input[:, idx].clone()
        out[..., 0] = (self.input_size[0] - 1) - out[..., 0]
        return out
