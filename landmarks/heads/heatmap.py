"""Heatmap heads: the SimpleBaseline deconvolution head and a light FPN-style head.

* :class:`DeconvHeatmapHead`: Xiao, Wu & Wei, "Simple Baselines for Human Pose Estimation
  and Tracking", ECCV 2018: three 4x4 stride-2 transposed convolutions on the last stage,
  then a 1x1 conv to K heatmaps (stride 32 -> 4).
* :class:`LightHeatmapHead`: a cheap top-down pathway (FPN, Lin et al. CVPR 2017, reduced):
  1x1 lateral convs, bilinear upsampling and a 3x3 conv per level down to the output stride.
  It reuses the backbone's higher-resolution stages, which makes it learn fast on CPU.

Both return ``(B, K, H / stride, W / stride)`` heatmaps. Add a sibling by following the
constructor contract in :mod:`landmarks.heads`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(cin: int, cout: int, k: int = 3, dilation: int = 1) -> nn.Sequential:
    """``k x k`` conv (same padding, optional dilation), BatchNorm, ReLU: the heads' building block."""
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class DeconvHeatmapHead(nn.Module):
    """SimpleBaseline head: deconvs from the deepest feature map.

    Args:
        in_channels: channels of each backbone stage (uses the last).
        in_strides: stride of each stage (uses the last).
        num_keypoints: K, output channels.
        num_deconv: number of stride-2 deconvolution layers (3 in the paper).
        deconv_channels: channels of each deconvolution (256 in the paper).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        num_deconv: int = 3,
        deconv_channels: int = 256,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels[-1]
        for _ in range(num_deconv):
            layers += [
                nn.ConvTranspose2d(cin, deconv_channels, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(deconv_channels),
                nn.ReLU(inplace=True),
            ]
            cin = deconv_channels
        self.deconv = nn.Sequential(*layers)
        self.final = nn.Conv2d(cin, num_keypoints, 1)
        self.stride = in_strides[-1] // (2**num_deconv)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns heatmaps ``(B, K, h, w)``."""
        return self.final(self.deconv(features[-1]))


class LightHeatmapHead(nn.Module):
    """Top-down pathway over the stages from ``output_stride`` to the deepest one.

    Args:
        in_channels: channels of each backbone stage.
        in_strides: stride of each stage.
        num_keypoints: K, output channels.
        channels: width of the pathway.
        output_stride: stride of the output heatmaps (must be one of ``in_strides``).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        channels: int = 64,
        output_stride: int = 4,
    ) -> None:
        super().__init__()
        if output_stride not in in_strides:
            raise ValueError(
                f"head.output_stride={output_stride} is not a backbone stride; expected one of {list(in_strides)}"
            )
        first = list(in_strides).index(output_stride)
        self.levels = list(range(first, len(in_channels)))
        self.lateral = nn.ModuleList(nn.Conv2d(in_channels[i], channels, 1) for i in self.levels)
        self.smooth = nn.ModuleList(conv_bn_relu(channels, channels) for _ in self.levels[:-1])
        self.final = nn.Sequential(conv_bn_relu(channels, channels), nn.Conv2d(channels, num_keypoints, 1))
        self.stride = output_stride

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns heatmaps ``(B, K, h, w)`` at ``output_stride``."""
        return self.final(self.pathway(features))

    def pathway(self, features: list[torch.Tensor]) -> torch.Tensor:
        """The top-down pathway's ``(B, channels, h, w)`` map at ``output_stride``."""
        x = self.lateral[-1](features[self.levels[-1]])
        for j in range(len(self.levels) - 2, -1, -1):
            lat = self.lateral[j](features[self.levels[j]])
            x = F.interpolate(x, size=lat.shape[-2:], mode="bilinear", align_corners=False) + lat
            x = self.smooth[j](x)
        return x
