"""RLE regression head: pooled features -> MLP -> a location and a scale per keypoint and axis.

Li et al., "Human Pose Regression with Residual Log-likelihood Estimation", ICCV 2021: a
regression network (global pooling + fully connected) outputs ``mu`` and ``sigma`` per
keypoint, ``sigma`` through a sigmoid. Here the trunk and the crop frame are those of
:class:`landmarks.heads.regression.RegressionHead` (its base
:class:`~landmarks.heads.regression.PooledCoordinateHead`).

Unit: **input px** for both. ``mu = c + size * u`` (``c = (size - 1) / 2`` the crop centre,
``size = (W, H)``; the coordinate layer starts at zero, so an untrained head puts every point at
the centre) and ``sigma = size * (sigmoid(v) + min_sigma)``: a fraction of the input size per
axis, as the paper's sigmoid on normalised coordinates. The scale layer starts with zero weights
and a bias giving ``sigma = init_sigma * size``.

Output: ``(B, K, 4)`` = ``x, y, sigma_x, sigma_y`` input px (:class:`landmarks.codecs.rle.RLECodec`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from landmarks.heads.pooled import zero_init_output
from landmarks.heads.regression import PooledCoordinateHead

__all__ = ["RLEHead"]


class RLEHead(PooledCoordinateHead):
    """Pooled deepest stage -> MLP -> ``(B, K, 4)`` location and scale, input px.

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (unused; part of the head contract).
        num_keypoints: K.
        input_size: ``(W, H)`` of the network input, input px.
        hidden: widths of the hidden layers (empty: one linear layer).
        pool_size, in_index: as :class:`~landmarks.heads.pooled.PooledHead`.
        dropout: dropout before every linear layer.
        init_sigma: the untrained head's scale, fraction of the input size (0 < init_sigma < 1).
        min_sigma: floor of the scale, fraction of the input size (keeps ``log sigma`` finite).
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
        init_sigma: float = 0.1,
        min_sigma: float = 1e-4,
    ) -> None:
        super().__init__(in_channels, num_keypoints, input_size, hidden, pool_size, dropout, in_index)
        if not (0 < init_sigma < 1 and min_sigma >= 0):
            raise ValueError(f"RLEHead: need 0 < init_sigma < 1 and min_sigma >= 0, got {init_sigma}, {min_sigma}")
        self.min_sigma = float(min_sigma)
        self.coord = zero_init_output(nn.Linear(self.trunk_width, 2 * self.num_keypoints), dropout)
        scale_bias = math.log(init_sigma / (1.0 - init_sigma))
        self.scale = zero_init_output(nn.Linear(self.trunk_width, 2 * self.num_keypoints), dropout, scale_bias)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, K, 4)`` ``x, y, sigma_x, sigma_y`` input px."""
        feat = self.trunk(features)
        mu = self.to_input_px(self.coord(feat))
        sigma = self.size * (torch.sigmoid(self.scale(feat).view(-1, self.num_keypoints, 2)) + self.min_sigma)
        return torch.cat([mu, sigma], dim=-1)
