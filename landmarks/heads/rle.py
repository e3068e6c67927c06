"""RLE regression head: pooled features -> MLP -> a location and a scale per keypoint and axis.

Li et al., "Human Pose Regression with Residual Log-likelihood Estimation", ICCV 2021: a
regression network (global pooling + fully connected) outputs ``mu`` and ``sigma`` per
keypoint, ``sigma`` through a sigmoid. Here the trunk is that of
:class:`landmarks.heads.regression.RegressionHead` (:class:`~landmarks.heads.pooled.PooledHead`).

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

from landmarks.heads.pooled import PooledHead

__all__ = ["RLEHead"]


class RLEHead(PooledHead):
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
        if pool_size < 1:
            raise ValueError(f"head.pool_size must be >= 1, got {pool_size}")
        if len(input_size) != 2 or min(input_size) < 2:
            raise ValueError(f"RLEHead: input_size must be (W, H) >= 2 px, got {list(input_size)}")
        if not (0 < init_sigma < 1 and min_sigma >= 0):
            raise ValueError(f"RLEHead: need 0 < init_sigma < 1 and min_sigma >= 0, got {init_sigma}, {min_sigma}")
        super().__init__(in_channels, hidden, pool_size, dropout, in_index)
        self.num_keypoints = int(num_keypoints)
        self.min_sigma = float(min_sigma)
        coord = nn.Linear(self.trunk_width, 2 * self.num_keypoints)
        scale = nn.Linear(self.trunk_width, 2 * self.num_keypoints)
        nn.init.zeros_(coord.weight)
        nn.init.zeros_(coord.bias)
        nn.init.zeros_(scale.weight)
        nn.init.constant_(scale.bias, math.log(init_sigma / (1.0 - init_sigma)))
        self.coord = nn.Sequential(nn.Dropout(dropout), coord)
        self.scale = nn.Sequential(nn.Dropout(dropout), scale)
        size = torch.tensor([float(input_size[0]), float(input_size[1])])
        self.size: torch.Tensor
        self.center: torch.Tensor
        self.register_buffer("size", size, persistent=False)
        self.register_buffer("center", (size - 1.0) / 2.0, persistent=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, K, 4)`` ``x, y, sigma_x, sigma_y`` input px."""
        feat = self.trunk(features)
        mu = self.center + self.size * self.coord(feat).view(-1, self.num_keypoints, 2)
        sigma = self.size * (torch.sigmoid(self.scale(feat).view(-1, self.num_keypoints, 2)) + self.min_sigma)
        return torch.cat([mu, sigma], dim=-1)
