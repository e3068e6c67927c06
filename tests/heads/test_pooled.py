"""Pooled-feature heads: the zero-initialised output layer and the input-px crop frame.

Hand-computed untrained outputs: a coordinate head predicts the crop centre ``(W - 1) / 2,
(H - 1) / 2``; an RLE head the scale ``(init_sigma + min_sigma) * size``; a 6-D rotation head the
identity columns; a visibility head logit 0. Parameter names stay those of earlier checkpoints.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from landmarks.heads.head_pose import Rotation6DHead
from landmarks.heads.pooled import zero_init_output
from landmarks.heads.regression import RegressionHead
from landmarks.heads.rle import RLEHead
from landmarks.heads.visibility import VisibilityHead

CHANNELS, STRIDES = [8, 16], [16, 32]


def _features(batch: int = 3) -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.randn(batch, 8, 4, 3), torch.randn(batch, 16, 2, 2)]


def test_zero_init_output_gives_the_bias_for_any_input() -> None:
    layer = zero_init_output(nn.Linear(5, 3), dropout=0.0, bias=(1.0, -2.0, 0.5))
    assert [name for name, _ in layer.named_parameters()] == ["1.weight", "1.bias"]
    out = layer(torch.randn(4, 5))
    torch.testing.assert_close(out, torch.tensor([[1.0, -2.0, 0.5]] * 4))
    conv = zero_init_output(nn.Conv2d(2, 4, 1), dropout=0.0, bias=0.25)
    torch.testing.assert_close(conv(torch.randn(1, 2, 3, 3)), torch.full((1, 4, 3, 3), 0.25))
    with pytest.raises(ValueError, match="Linear has no bias"):
        zero_init_output(nn.Linear(5, 3, bias=False), dropout=0.0)


def test_untrained_regression_head_predicts_the_crop_centre() -> None:
    head = RegressionHead(CHANNELS, STRIDES, num_keypoints=2, input_size=(96, 64), hidden=[8], pool_size=2).eval()
    out = head(_features())
    torch.testing.assert_close(out, torch.tensor([[[47.5, 31.5]] * 2] * 3))
    assert sorted(n for n, _ in head.named_parameters()) == [
        "final.1.bias",
        "final.1.weight",
        "mlp.1.bias",
        "mlp.1.weight",
    ]
    assert head.state_dict().keys() == {"final.1.bias", "final.1.weight", "mlp.1.bias", "mlp.1.weight"}  # no buffers


def test_untrained_rle_head_predicts_the_centre_and_its_initial_scale() -> None:
    head = RLEHead(CHANNELS, STRIDES, num_keypoints=1, input_size=(100, 50), hidden=[], init_sigma=0.2, min_sigma=0.01)
    out = head.eval()(_features(batch=2))
    # mu = ((100 - 1) / 2, (50 - 1) / 2); sigma = (0.2 + 0.01) * (100, 50) = (21, 10.5)
    torch.testing.assert_close(out, torch.tensor([[[49.5, 24.5, 21.0, 10.5]]] * 2))
    assert {n for n, _ in head.named_parameters()} == {
        "coord.1.weight",
        "coord.1.bias",
        "scale.1.weight",
        "scale.1.bias",
    }


def test_untrained_rotation_and_visibility_heads_start_at_their_documented_outputs() -> None:
    rot = Rotation6DHead(CHANNELS, STRIDES, hidden=[4]).eval()
    torch.testing.assert_close(rot(_features(batch=2)), torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]] * 2))
    for pool in ("mean", "attention"):
        vis = VisibilityHead(CHANNELS, STRIDES, num_keypoints=5, pool=pool, channels=4).eval()
        torch.testing.assert_close(vis(_features(batch=2)), torch.zeros(2, 5))


@pytest.mark.parametrize("cls", [RegressionHead, RLEHead])
def test_coordinate_heads_name_themselves_in_argument_errors(cls: type) -> None:
    with pytest.raises(ValueError, match=rf"{cls.__name__}: input_size must be \(W, H\) >= 2 px, got \[1, 64\]"):
        cls(CHANNELS, STRIDES, num_keypoints=2, input_size=(1, 64))
    with pytest.raises(ValueError, match="head.pool_size must be >= 1, got 0"):
        cls(CHANNELS, STRIDES, num_keypoints=2, input_size=(64, 64), pool_size=0)
