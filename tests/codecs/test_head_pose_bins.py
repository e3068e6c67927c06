"""Tests for the Hopenet angle-bin codec and the Hopenet multi-loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from landmarks.codecs.head_pose_bins import AngleBinCodec
from landmarks.losses.head_pose import HopenetLoss


def _one_hot_logits(bins: np.ndarray, num_bins: int = 66, scale: float = 60.0) -> torch.Tensor:
    return torch.as_tensor(np.eye(num_bins)[bins] * scale, dtype=torch.float64)


def test_edges_and_digitize_semantics() -> None:
    codec = AngleBinCodec()
    np.testing.assert_array_equal(codec.edges, np.arange(-99, 102, 3))  # Hopenet: range(-99, 102, 3)
    angles = np.array([-99.0, -96.0001, -96.0, 0.0, -0.001, 98.9, 99.0, -99.1, np.nan, np.inf])
    expected = [0, 0, 1, 33, 32, 65, -1, -1, -1, -1]
    np.testing.assert_array_equal(codec.encode_bins(angles), expected)
    inside = np.isfinite(angles) & (np.abs(angles) < 99) | (angles == -99)
    np.testing.assert_array_equal(
        codec.encode_bins(angles)[inside], np.digitize(angles[inside], np.arange(-99, 102, 3)) - 1
    )
    torch_bins = codec.encode_bins_torch(torch.tensor(angles, dtype=torch.float32))
    np.testing.assert_array_equal(torch_bins.numpy(), expected)


def test_bin_values() -> None:
    assert AngleBinCodec(center=False).bin_values[[0, 33, 65]].tolist() == [-99.0, 0.0, 96.0]  # 3 i - 99
    assert AngleBinCodec().bin_values[[0, 33, 65]].tolist() == [-97.5, 1.5, 97.5]  # 3 i - 97.5


def test_encode_targets_and_weight() -> None:
    out = AngleBinCodec().encode(np.array([[10.0, -20.0, 5.0], [120.0, 0.0, 0.0]]))
    assert out["bins"].tolist() == [[36, 26, 34], [-1, 33, 33]]
    assert out["weight"].tolist() == [1.0, 0.0]
    assert out["angles"].dtype == np.float32
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        AngleBinCodec().encode(np.zeros(4))


def test_round_trip_and_the_left_edge_bias() -> None:
    rng = np.random.default_rng(0)
    angles = rng.uniform(-99.0, 99.0, 20000)
    centre, left = AngleBinCodec(), AngleBinCodec(center=False)
    for codec, bias, mae in ((centre, 0.0, 0.75), (left, -1.5, 1.5)):
        decoded = codec.expectation(_one_hot_logits(codec.encode_bins(angles))).numpy()
        err = decoded - angles
        assert np.abs(err).max() <= (1.5 if codec.center else 3.0) + 1e-6
        # Labels spread evenly in a bin: the left edge is 1.5 deg low on average, the centre unbiased.
        assert err.mean() == pytest.approx(bias, abs=0.03)
        assert np.abs(err).mean() == pytest.approx(mae, abs=0.03)


def test_decode_shape_and_mirror_symmetry() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 3, 66, generator=g)
    codec = AngleBinCodec()
    out = codec.decode(logits)
    assert out.shape == (4, 3) and out.dtype == np.float32
    # Reversing the bins mirrors the distribution: centres decode to exactly -x, left edges do not.
    np.testing.assert_allclose(codec.decode(logits.flip(-1)), -out, atol=1e-4)
    left = AngleBinCodec(center=False)
    np.testing.assert_allclose(left.decode(logits.flip(-1)), -left.decode(logits) - 3.0, atol=1e-4)
    with pytest.raises(ValueError, match="num_bins=66"):
        codec.expectation(torch.zeros(2, 60))


def test_hopenet_loss_hand_computed() -> None:
    angles = torch.tensor([[10.0, -20.0, 5.0]], dtype=torch.float64)
    logits = torch.zeros(1, 3, 66, dtype=torch.float64)  # uniform: CE = ln 66, expectation = 0 (centres)
    got = HopenetLoss(alpha=0.5)(logits, angles).item()
    assert got == pytest.approx(3 * math.log(66) + 0.5 * (100 + 400 + 25))


def test_hopenet_loss_matches_the_original_formula() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 3, 66, generator=g, dtype=torch.float64)
    angles = torch.rand(8, 3, generator=g, dtype=torch.float64) * 180 - 90
    codec = AngleBinCodec(center=False)
    bins = torch.as_tensor(np.digitize(angles.numpy(), np.arange(-99, 102, 3)) - 1)
    idx = torch.arange(66, dtype=torch.float64)
    expected = 0.0
    for a in range(3):  # train_hopenet.py: CE + alpha * MSE(sum(softmax * idx) * 3 - 99, label), per angle
        expected += F.cross_entropy(logits[:, a], bins[:, a]) + 0.001 * F.mse_loss(
            (logits[:, a].softmax(-1) * idx).sum(-1) * 3 - 99, angles[:, a]
        )
    got = HopenetLoss(alpha=0.001, codec=codec)(logits, angles)
    assert got.item() == pytest.approx(float(expected))


def test_hopenet_loss_masks_out_of_range_and_unlabelled() -> None:
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(3, 3, 66, generator=g, requires_grad=True)
    angles = torch.tensor([[10.0, 0.0, 0.0], [150.0, 0.0, 0.0], [5.0, 5.0, 5.0]])
    loss = HopenetLoss()
    full = loss(logits, angles, torch.tensor([1.0, 1.0, 0.0]))
    full.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad[1, 0].abs().sum() == 0  # yaw 150 is out of range: masked for that angle only
    assert logits.grad[1, 1].abs().sum() > 0
    assert logits.grad[2].abs().sum() == 0  # weight 0: no pose label
    zero = loss(logits, angles, torch.zeros(3))
    assert zero.item() == 0.0
    with pytest.raises(ValueError, match=r"\(B, 3, 66\)"):
        loss(logits[:, :2], angles)
