"""Direct coordinate regression head: pooled features -> MLP -> ``K x 2`` input px.

DeepPose (Toshev & Szegedy, "DeepPose: Human Pose Estimation via Deep Neural Networks",
CVPR 2014) regresses joint coordinates with fully connected layers on top of a CNN; the
Wing-loss face aligner (Feng et al., "Wing Loss for Robust Facial Landmark Localisation with
Convolutional Neural Networks", CVPR 2018) does the same for facial landmarks. Here the
deepest backbone stage is average-pooled to a ``pool_size x pool_size`` grid (1 = global
pooling; a small grid keeps coarse spatial layout, which a fully connected layer can read),
flattened and passed through an MLP (the trunk of :mod:`landmarks.heads.pooled`).

Unit: the output is in **input px** (pixel ``i`` has its centre at ``i``, the frame of
:mod:`landmarks.data.crop`): ``xy = c + size * u`` with ``u`` the MLP's raw output,
``c = (size - 1) / 2`` the crop centre and ``size = (W, H)``. The last layer starts at
zero, so an untrained head predicts every landmark at the crop centre and ``u`` stays
O(1) whatever the input size.

A sibling head (e.g. a multi-stage pooled head) takes the same constructor arguments
(:mod:`landmarks.heads`) and returns ``(B, K, 2)`` input px; subclassing
:class:`PooledCoordinateHead` gives it the trunk and the crop frame (as
:class:`landmarks.heads.rle.RLEHead` does).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from landmarks.codecs.protocol import input_size_pair
from landmarks.heads.pooled import PooledHead, pooled_features, zero_init_output

__all__ = ["PooledCoordinateHead", "RegressionHead", "pooled_features"]


class PooledCoordinateHead(PooledHead):
    """Base of the heads that regress ``K`` input-px locations from pooled features.

    Holds the crop frame of the module docstring: ``size = (W, H)`` and ``c = (size - 1) / 2``
    as (non-persistent) buffers, and :meth:`to_input_px` maps raw outputs ``u`` to
    ``c + size * u``. Subclasses create their output layers after ``super().__init__``
    (:class:`RegressionHead`; :class:`landmarks.heads.rle.RLEHead` adds a scale per axis).

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        num_keypoints: K.
        input_size: ``(W, H)`` of the network input, input px (each >= 2).
        hidden, pool_size, dropout, in_index: as :class:`~landmarks.heads.pooled.PooledHead`.
    """

    size: torch.Tensor
    center: torch.Tensor

    def __init__(
        self,
        in_channels: Sequence[int],
        num_keypoints: int,
        input_size: Sequence[int],
        hidden: Sequence[int],
        pool_size: int,
        dropout: float,
        in_index: int,
    ) -> None:
        if pool_size < 1:
            raise ValueError(f"head.pool_size must be >= 1, got {pool_size}")
        input_size_pair(input_size, type(self).__name__)
        super().__init__(in_channels, hidden, pool_size, dropout, in_index)
        self.num_keypoints = int(num_keypoints)
        size = torch.tensor([float(input_size[0]), float(input_size[1])])
        self.register_buffer("size", size, persistent=False)
        self.register_buffer("center", (size - 1.0) / 2.0, persistent=False)

    def to_input_px(self, u: torch.Tensor) -> torch.Tensor:
        """``(B, 2K)`` raw outputs -> ``(B, K, 2)`` input px ``c + size * u``."""
        return self.center + self.size * u.view(-1, self.num_keypoints, 2)


class RegressionHead(PooledCoordinateHead):
    """Pooled deepest stage -> MLP -> ``(B, K, 2)`` coordinates, input px.

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (unused; part of the head contract).
        num_keypoints: K.
        input_size: ``(W, H)`` of the network input, input px.
        hidden: widths of the hidden layers (empty: one linear layer).
        pool_size, in_index: as :class:`~landmarks.heads.pooled.PooledHead` (default: global
            pooling of the deepest stage).
        dropout: dropout before every linear layer.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        input_size: Sequence[int],
        hidden: Sequence[int] = (256,),
        pool_size: int = 1,
        dropout: float = 0.0,
        in_index: int = -1,
    ) -> None:
        super().__init__(in_channels, num_keypoints, input_size, hidden, pool_size, dropout, in_index)
        self.final = zero_init_output(nn.Linear(self.trunk_width, 2 * self.num_keypoints), dropout)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, K, 2)`` coordinates, input px."""
        return self.to_input_px(self.final(self.trunk(features)))
