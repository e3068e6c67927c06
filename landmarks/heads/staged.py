"""StagedHeatmapHead: the light head plus refinement stages with intermediate supervision.

Convolutional Pose Machines (Wei, Ramakrishna, Kanade & Sheikh, CVPR 2016) and Stacked
Hourglass (Newell, Yang & Deng, ECCV 2016) refine heatmaps in stages: each stage sees the image
features *and* the previous stage's beliefs for every keypoint, over a large receptive field, so
it can resolve parts that look alike from their spatial context (which finger is which, left
or right limb). Every stage is supervised with the same targets ("intermediate supervision"),
which also feeds gradient to the early layers and speeds up learning from scratch.

Here a stage is a 3x3 conv on ``[pathway features, previous heatmaps]`` followed by dilated
3x3 convs (dilations ``1, 2, 4`` by default: a 15x15 heatmap-px receptive field, the whole
hand at 24x24 heatmaps) and a 1x1 conv to K heatmaps. In training mode the head returns the
list of every stage's heatmaps (the task's loss sums the criterion over them); in evaluation
mode only the last stage's ``(B, K, h, w)``, so decoding, flip test and export are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from landmarks.heads.heatmap import LightHeatmapHead, conv_bn_relu


class StagedHeatmapHead(LightHeatmapHead):
    """:class:`LightHeatmapHead` followed by ``stages`` CPM-style refinement stages.

    Args:
        in_channels, in_strides, num_keypoints, channels, output_stride: as
            :class:`LightHeatmapHead`.
        stages: refinement stages after the first prediction (0 makes this the light head).
        dilations: dilation of each 3x3 conv of a stage, after its input conv.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        channels: int = 64,
        output_stride: int = 4,
        stages: int = 1,
        dilations: Sequence[int] = (1, 2, 4),
    ) -> None:
        super().__init__(in_channels, in_strides, num_keypoints, channels, output_stride)
        if stages < 0 or any(d < 1 for d in dilations):
            raise ValueError(f"StagedHeatmapHead: need stages >= 0 and dilations >= 1, got {stages}, {list(dilations)}")
        self.stages = nn.ModuleList(
            nn.Sequential(
                conv_bn_relu(channels + num_keypoints, channels),
                *(conv_bn_relu(channels, channels, dilation=d) for d in dilations),
                nn.Conv2d(channels, num_keypoints, 1),
            )
            for _ in range(stages)
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:  # type: ignore[override]
        """Training: every stage's ``(B, K, h, w)`` heatmaps, first to last. Evaluation: the last."""
        x = self.pathway(features)
        heatmaps = [self.final(x)]
        for stage in self.stages:
            heatmaps.append(stage(torch.cat([x, heatmaps[-1]], dim=1)))
        return heatmaps if self.training else heatmaps[-1]
