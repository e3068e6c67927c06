"""SimCC head: backbone features -> one vector per keypoint -> x-bin and y-bin logits.

Li et al., "SimCC: a Simple Coordinate Classification Perspective for Human Pose Estimation",
ECCV 2022, and the RTMCC head of RTMPose (Jiang et al., arXiv 2023). The deepest stage
``(B, C, h, w)`` goes through a ``kernel_size`` convolution to ``K`` channels; each keypoint's
map is flattened to a vector of ``h * w`` values, normalised (LayerNorm) and passed through a
hidden MLP (``Linear -> GELU`` per hidden width), then two linear classifiers give ``Lx = W * s``
x logits and ``Ly = H * s`` y logits (``s`` the codec's split ratio). RTMPose puts a gated
attention unit (GAU) between the MLP and the classifiers to mix keypoints; this head uses the
plain MLP (no interaction between keypoints), the SimCC paper's simplest form.

Output: ``(B, K, Lx + Ly)`` logits, x bins first (:class:`landmarks.codecs.simcc.SimCCCodec`
splits them). ``h, w`` are fixed at construction from the input size and the stage's stride
(``ceil(size / stride)``, what strided convolutions with padding give); a feature map of another
size (another input size) is average-pooled to it.

A sibling head (e.g. with a GAU) takes the same constructor arguments and returns the same layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SimCCHead"]


class SimCCHead(nn.Module):
    """Deepest stage -> conv to K maps -> flattened per keypoint -> MLP -> x / y bin logits.

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (uses ``in_index``).
        num_keypoints: K.
        input_size: ``(W, H)`` of the network input, input px.
        num_bins: ``(Lx, Ly)`` from the codec.
        hidden: widths of the hidden layers of the per-keypoint MLP.
        kernel_size: of the convolution to K maps (odd; RTMPose: 7).
        dropout: before each hidden linear layer.
        in_index: which backbone stage to read (-1: the deepest).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        input_size: Sequence[int],
        num_bins: Sequence[int],
        hidden: Sequence[int] = (256,),
        kernel_size: int = 7,
        dropout: float = 0.0,
        in_index: int = -1,
    ) -> None:
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"SimCCHead: kernel_size must be odd and >= 1, got {kernel_size}")
        if len(num_bins) != 2 or min(num_bins) < 1 or len(input_size) != 2:
            raise ValueError(f"SimCCHead: need input_size (W, H) and num_bins (Lx, Ly), got {input_size}, {num_bins}")
        self.in_index = int(in_index)
        self.num_keypoints = int(num_keypoints)
        self.num_bins = (int(num_bins[0]), int(num_bins[1]))
        stride = int(in_strides[self.in_index])
        self.map_size = (math.ceil(int(input_size[1]) / stride), math.ceil(int(input_size[0]) / stride))  # (h, w)
        self.conv = nn.Conv2d(in_channels[self.in_index], self.num_keypoints, kernel_size, padding=kernel_size // 2)
        width = self.map_size[0] * self.map_size[1]
        layers: list[nn.Module] = [nn.LayerNorm(width)]
        for h in hidden:
            layers += [nn.Dropout(dropout), nn.Linear(width, int(h)), nn.GELU()]
            width = int(h)
        self.mlp = nn.Sequential(*layers)
        self.cls_x = nn.Linear(width, self.num_bins[0])
        self.cls_y = nn.Linear(width, self.num_bins[1])

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, K, Lx + Ly)`` logits, x bins first."""
        maps = self.conv(features[self.in_index])
        if tuple(maps.shape[-2:]) != self.map_size:
            maps = F.adaptive_avg_pool2d(maps, self.map_size)
        vec = self.mlp(maps.flatten(2))  # (B, K, hidden)
        return torch.cat([self.cls_x(vec), self.cls_y(vec)], dim=-1)
