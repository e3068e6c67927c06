"""SimCC codec: bin convention, round trip within 1 / (2 * split_ratio) px, flip, weights, scores."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landmarks.codecs.simcc import SimCCCodec, simcc_decode


def _perfect(codec: SimCCCodec, t: dict[str, np.ndarray]) -> torch.Tensor:
    return 10.0 * torch.from_numpy(np.concatenate([t["simcc_x"], t["simcc_y"]], axis=-1))[None]


def test_bins_tile_the_pixel_extent_and_targets_are_gaussians_in_bins() -> None:
    codec = SimCCCodec((4, 6), split_ratio=2.0, sigma=1.0)
    assert codec.num_bins == (8, 12)
    # x = 0 px is bin 0.5 (between bins 0 and 1); x = -0.5 px is bin -0.5, x = W - 0.5 the last edge
    np.testing.assert_allclose(codec.to_bins(np.array([0.0, -0.5, 3.5])), [0.5, -0.5, 7.5])
    t = codec.encode(np.array([[0.0, 1.0]], np.float32), np.array([2.0]))
    # bin 0 and bin 1 are 0.5 bins from the centre: exp(-0.25 / 2) each; bin 2: exp(-2.25 / 2)
    np.testing.assert_allclose(t["simcc_x"][0, :3], [math.exp(-0.125), math.exp(-0.125), math.exp(-1.125)], rtol=1e-6)
    # y = 1 px -> bin 2.5
    np.testing.assert_allclose(t["simcc_y"][0, 2:4], [math.exp(-0.125)] * 2, rtol=1e-6)
    assert t["simcc_x"].shape == (1, 8) and t["simcc_y"].shape == (1, 12) and t["target_weight"].tolist() == [1.0]


@pytest.mark.parametrize("split_ratio", [1.0, 2.0, 3.0, 2.5])
def test_round_trip_within_half_a_bin(split_ratio: float) -> None:
    size = (64, 96)
    codec = SimCCCodec(size, split_ratio=split_ratio, sigma=3.0)
    rng = np.random.default_rng(1)
    k = 200  # the whole pixel extent, borders included
    kpts = np.stack([rng.uniform(-0.5, size[0] - 0.5, k), rng.uniform(-0.5, size[1] - 0.5, k)], 1)
    decoded, scores = codec.decode(_perfect(codec, codec.encode(kpts, np.full(k, 2.0))))
    bound = 1.0 / (2.0 * split_ratio)
    err = np.abs(decoded[0] - kpts).max()
    assert err <= bound + 1e-5, (err, bound)
    assert err > 0.8 * bound  # the bound is tight: some point lies near a bin edge
    assert scores.shape == (1, k) and np.all((scores > 0) & (scores <= 1))


def test_non_integral_bins_and_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="whole numbers of bins"):
        SimCCCodec((63, 64), split_ratio=1.5)
    with pytest.raises(ValueError, match="sigma"):
        SimCCCodec((64, 64), sigma=0.0)
    codec = SimCCCodec((8, 8), split_ratio=2.0)
    with pytest.raises(ValueError, match=r"\(B, K, Lx \+ Ly\) = \(B, K, 32\)"):
        codec.decode(torch.zeros(1, 3, 30))


def test_unlabelled_non_finite_and_outside_points_have_zero_weight_and_targets() -> None:
    codec = SimCCCodec((16, 16), split_ratio=2.0)
    kpts = np.array([[5.0, 5.0], [5.0, 5.0], [np.nan, 3.0], [-1.0, 5.0], [5.0, 15.6], [15.4, 0.0]])
    t = codec.encode(kpts, np.array([2.0, 0.0, 2.0, 2.0, 1.0, 1.0]))
    assert t["target_weight"].tolist() == [1, 0, 0, 0, 0, 1]
    assert t["simcc_x"][1:5].sum() == 0 and t["simcc_y"][1:5].sum() == 0


def test_flip_back_of_the_mirrored_targets_gives_the_targets() -> None:
    """Encoding mirrored points (x -> W - 1 - x, left/right swapped) then flip_back = the original encoding."""
    codec = SimCCCodec((20, 30), split_ratio=2.0, sigma=2.0)
    flip = np.array([0, 2, 1, 3])
    rng = np.random.default_rng(2)
    kpts = np.stack([rng.uniform(0, 19, 4), rng.uniform(0, 29, 4)], 1)
    mirrored = kpts[flip].copy()
    mirrored[:, 0] = 19 - mirrored[:, 0]
    out = codec.flip_back(_perfect(codec, codec.encode(mirrored, np.full(4, 2.0))), flip)
    torch.testing.assert_close(out, _perfect(codec, codec.encode(kpts, np.full(4, 2.0))), atol=1e-5, rtol=0)


def test_score_is_the_smaller_axis_mass_near_the_argmax() -> None:
    lx, ly = 10, 8
    x = torch.zeros(1, 2, lx)
    y = torch.zeros(1, 2, ly)
    x[0, 0, 4] = 50.0  # keypoint 0: all x mass on one bin; y uniform
    y[0, 1, 3] = 50.0  # keypoint 1: x uniform, y peaked
    kpts, scores = simcc_decode(x, y, split_ratio=2.0, radius_bins=1)
    # a uniform axis: argmax = bin 0 (first maximum), window bins 0..1 -> mass 2 / L; the peaked axis ~1
    assert scores[0, 0].item() == pytest.approx(2 / ly, abs=1e-6)
    assert scores[0, 1].item() == pytest.approx(2 / lx, abs=1e-6)
    assert kpts[0, 0].tolist() == pytest.approx([(4 + 0.5) / 2 - 0.5, 0.5 / 2 - 0.5])
    _, sure = simcc_decode(x[:, :1], y[:, 1:], split_ratio=2.0, radius_bins=1)  # both axes peaked
    assert sure.item() == pytest.approx(1.0, abs=1e-6)


def test_decode_takes_the_pair_of_axes_too() -> None:
    codec = SimCCCodec((8, 8), split_ratio=2.0)
    logits = torch.randn(2, 3, 32)
    a = codec.decode(logits)
    b = codec.decode((logits[..., :16], logits[..., 16:]))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
