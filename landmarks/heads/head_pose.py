"""Head-pose heads on pooled features: Hopenet angle bins and the 6-D rotation of 6DRepNet.

* :class:`HopenetHead` — Ruiz, Chong & Rehg, "Fine-Grained Head Pose Estimation Without
  Keypoints", CVPR-W 2018: global average pooling of the last stage, then three separate
  fully connected classifiers (yaw, pitch, roll) over ``num_bins`` angle bins (66 bins of
  3 degrees). Output ``(B, 3, num_bins)`` logits; decode with
  :class:`landmarks.codecs.head_pose_bins.AngleBinCodec` (softmax expectation).
* :class:`Rotation6DHead` — Hempel, Abdelrahman & Al-Hamadi, "6D Rotation Representation for
  Unconstrained Head Pose Estimation" (6DRepNet), ICIP 2022: global pooling, then one linear
  layer to the 6-D representation of Zhou et al. (CVPR 2019), two raw matrix columns.
  Output ``(B, 6)``; :func:`landmarks.geometry.rotation_6d_to_matrix` turns it into ``R``.
  The last layer starts at zero weights and the identity columns as bias, so an untrained
  head predicts the frontal pose (yaw = pitch = roll = 0).

Both accept an optional hidden MLP and a ``pool_size`` grid (1 = global pooling, as in the
papers). A sibling head (e.g. WHENet's 120 yaw bins) takes the same constructor arguments
(:mod:`landmarks.heads`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from landmarks.heads.pooled import PooledHead, zero_init_output

__all__ = ["HopenetHead", "Rotation6DHead"]


class HopenetHead(PooledHead):
    """Three bin classifiers (yaw, pitch, roll) on pooled features.

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (unused; part of the head contract).
        num_bins: bins per angle (Hopenet: 66).
        hidden: widths of a shared hidden MLP before the classifiers (empty: none, as Hopenet).
        pool_size, in_index: as :class:`~landmarks.heads.pooled.PooledHead` (default: global
            pooling of the deepest stage, as Hopenet).
        dropout: dropout before every linear layer.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_bins: int = 66,
        hidden: Sequence[int] = (),
        pool_size: int = 1,
        dropout: float = 0.0,
        in_index: int = -1,
    ) -> None:
        if pool_size < 1 or num_bins < 2:
            raise ValueError(f"HopenetHead: need pool_size >= 1 and num_bins >= 2, got {pool_size}, {num_bins}")
        super().__init__(in_channels, hidden, pool_size, dropout, in_index)
        self.num_bins = int(num_bins)
        self.drop = nn.Dropout(dropout)
        self.fc = nn.ModuleList(nn.Linear(self.trunk_width, self.num_bins) for _ in range(3))  # yaw, pitch, roll

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, 3, num_bins)`` logits, angle order yaw, pitch, roll."""
        x = self.drop(self.trunk(features))
        return torch.stack([fc(x) for fc in self.fc], dim=1)


class Rotation6DHead(PooledHead):
    """Pooled features -> 6-D rotation (two raw columns of ``R``, 6DRepNet layout).

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (unused; part of the head contract).
        hidden: widths of a hidden MLP (empty: one linear layer, as 6DRepNet).
        pool_size, in_index: as :class:`~landmarks.heads.pooled.PooledHead` (default: global
            pooling of the deepest stage).
        dropout: dropout before every linear layer.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        hidden: Sequence[int] = (),
        pool_size: int = 1,
        dropout: float = 0.0,
        in_index: int = -1,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"Rotation6DHead: pool_size must be >= 1, got {pool_size}")
        super().__init__(in_channels, hidden, pool_size, dropout, in_index)
        identity_columns = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
        self.final = zero_init_output(nn.Linear(self.trunk_width, 6), dropout, identity_columns)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, 6)``: raw first column, then raw second column."""
        return self.final(self.trunk(features))
