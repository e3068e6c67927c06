"""CenterNet head: output shapes at the output stride, and the focal-loss prior of the heatmap bias."""

from __future__ import annotations

import math

import pytest
import torch

from landmarks.heads.detect import CenterNetHead


def test_outputs_at_the_output_stride_and_heatmap_prior() -> None:
    head = CenterNetHead([8, 16, 32], [4, 8, 16], num_classes=3, channels=16, head_channels=8, output_stride=4)
    feats = [torch.randn(2, 8, 16, 24), torch.randn(2, 16, 8, 12), torch.randn(2, 32, 4, 6)]
    out = head(feats)
    assert out["heatmap"].shape == (2, 3, 16, 24)
    assert out["size"].shape == out["offset"].shape == (2, 2, 16, 24)
    bias = head.heatmap[-1].bias
    assert bias is not None and bias.detach().tolist() == pytest.approx([-math.log(9.0)] * 3)  # sigmoid = 0.1
    with pytest.raises(ValueError, match="output_stride=2 is not a backbone stride"):
        CenterNetHead([8], [4], num_classes=1, output_stride=2)


def test_size_branch_can_be_wider_than_the_others() -> None:
    head = CenterNetHead(
        [8, 16], [4, 8], num_classes=1, channels=16, head_channels=8, size_channels=24, iou_branch=True
    )
    assert head.size[0].out_channels == 24 and head.heatmap[0].out_channels == head.offset[0].out_channels == 8
    out = head([torch.randn(1, 8, 8, 8), torch.randn(1, 16, 4, 4)])
    assert out["size"].shape == (1, 2, 8, 8) and out["iou"].shape == (1, 1, 8, 8)


def test_edge_bins_give_distributions_and_their_means() -> None:
    head = CenterNetHead([8, 16], [4, 8], num_classes=1, channels=16, head_channels=8, edge_bins=5, iou_branch=True)
    out = head([torch.randn(2, 8, 8, 8), torch.randn(2, 16, 4, 4)])
    assert out["edges"].shape == (2, 4, 5, 8, 8) and out["iou"].shape == (2, 1, 8, 8)
    left, top, right, bottom = (torch.softmax(out["edges"], 2) * torch.arange(5.0)[:, None, None]).sum(2).unbind(1)
    torch.testing.assert_close(out["size"], torch.stack([left + right, top + bottom], 1))
    torch.testing.assert_close(out["offset"], torch.stack([(right - left) / 2 + 0.5, (bottom - top) / 2 + 0.5], 1))
    with pytest.raises(ValueError, match="edge_bins"):
        CenterNetHead([8], [4], num_classes=1, edge_bins=1)
