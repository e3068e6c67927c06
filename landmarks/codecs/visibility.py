"""Visibility codec: COCO's ``v`` flags to binary targets, head logits to probabilities.

Per keypoint, the probability that it is labelled **and visible** (COCO ``v = 2``) rather than
labelled but occluded (``v = 1``); ``v = 0`` (not labelled: outside the image, or unannotated) is
no evidence either way and is masked out (weight 0). The synthetic renderers set ``v = 1`` for a
point hidden by depth order (another person, an occluder, the person's own body, a surface facing
away) and ``v = 0`` outside the image (:mod:`landmarks.data.synthetic.body.renderer`).

Units: the keypoints handed to :meth:`VisibilityCodec.encode` are in **input px** (the frame of
:mod:`landmarks.data.crop`; only their count is used); targets and decoded values are
probabilities in ``[0, 1]`` (unitless), the head output is logits (natural-log odds).

* ``encode(keypoints, visible)`` (data side): ``{"visibility": (K,) float32, 1.0 where v == 2
  else 0.0; "target_weight": (K,) float32, 1.0 where v > 0}``.
* ``decode(logits)`` (model side): ``(B, K)`` logits -> ``(B, K)`` float32 probabilities
  ``sigmoid(logits)``.
* ``flip_back(logits, flip_indices)``: the output for a horizontally flipped input in the
  original keypoint order (the left/right permutation; visibility has no coordinate to mirror).

A sibling (e.g. a three-way v = 0 / 1 / 2 classifier) keeps these methods, documents its
unit and gets a round-trip entry in ``tests/codecs/test_contract.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from landmarks.codecs.protocol import input_size_pair

__all__ = ["VisibilityCodec"]


class VisibilityCodec:
    """COCO visibility flags <-> binary visible-vs-occluded targets / probabilities.

    Args:
        input_size: ``(W, H)`` of the network input, input px (all codecs of one model share it).
    """

    udp: bool = False
    """No coordinates are encoded, so the crop's affine does not matter (:mod:`landmarks.data.datamodule`)."""

    def __init__(self, input_size: Sequence[int]) -> None:
        self.input_size = input_size_pair(input_size, "VisibilityCodec")

    def __repr__(self) -> str:
        return f"VisibilityCodec(input_size={self.input_size})"

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """Targets for one instance.

        Args:
            keypoints: ``(K, 2)`` input px (their count must match ``visible``).
            visible: ``(K,)`` COCO visibility 0 / 1 / 2.

        Returns:
            ``{"visibility": (K,) float32 (1 visible, 0 occluded or unlabelled), "target_weight": (K,)
            float32 (1 labelled)}``.

        Raises:
            ValueError: shapes that disagree, or a flag other than 0, 1, 2 (naming the values found).
        """
        vis = np.asarray(visible, dtype=np.float64).reshape(-1)
        k = np.asarray(keypoints).reshape(-1, 2).shape[0] if np.asarray(keypoints).size else 0
        if k != vis.shape[0]:
            raise ValueError(
                f"VisibilityCodec.encode: expected keypoints (K, 2) and visible (K,), got "
                f"{np.asarray(keypoints).shape} and {np.asarray(visible).shape}"
            )
        bad = ~np.isin(vis, (0.0, 1.0, 2.0))
        if bad.any():
            raise ValueError(
                f"VisibilityCodec.encode: field 'visible' must hold COCO flags 0, 1, 2; got {sorted(set(vis[bad].tolist()))}"
            )
        return {"visibility": (vis == 2).astype(np.float32), "target_weight": (vis > 0).astype(np.float32)}

    def decode(self, logits: torch.Tensor | np.ndarray) -> np.ndarray:
        """``(B, K)`` logits -> ``(B, K)`` float32 probabilities that each keypoint is visible."""
        t = torch.as_tensor(logits).detach().float()
        if t.ndim != 2:
            raise ValueError(f"VisibilityCodec.decode: expected (B, K) logits, got shape {tuple(t.shape)}")
        return torch.sigmoid(t).cpu().numpy().astype(np.float32)

    def flip_back(self, logits: torch.Tensor, flip_indices: np.ndarray) -> torch.Tensor:
        """``(B, K)`` logits of a mirrored input -> the original keypoint order (left/right swapped)."""
        index = torch.as_tensor(np.asarray(flip_indices), dtype=torch.long, device=logits.device)
        return logits.index_select(1, index)
