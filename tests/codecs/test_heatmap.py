"""Tests for the Gaussian heatmap codecs (MSRA, UDP) and their decoders.

Round-trip numbers (64x48 heatmaps, 256x192 input, sigma 2, 16 x 17 random sub-pixel
keypoints) are printed with ``pytest -s``; the asserted bounds sit above the measured values
with margin (measured: argmax 0.38, quarter 0.19, DARK 0.0001 mean heatmap px for
keypoints at least 3 sigma inside the map; DARK 0.06 with keypoints anywhere).

(Over 300 lines: MSRA and UDP share the round-trip fixtures and decoder cases; one file keeps the bounds
comparable.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest
import torch

from landmarks.codecs import MSRAHeatmap, UDPHeatmap, flip_heatmaps
from landmarks.codecs.heatmap import GaussianHeatmapCodec
from landmarks.codecs.refine import gaussian_blur, heatmap_argmax, refine_dark, refine_quarter
from landmarks.layouts.spec import coco17

INPUT, HEATMAP = (192, 256), (48, 64)  # (W, H)
SIGMA = 2.0


def _keypoints(codec: GaussianHeatmapCodec, n: int, k: int, margin_hm: float, seed: int = 0) -> np.ndarray:
    """``(n, k, 2)`` random input px whose heatmap px lie ``margin_hm`` inside the map."""
    rng = np.random.default_rng(seed)
    w, h = codec.heatmap_size
    hm = np.stack(
        [rng.uniform(margin_hm, w - 1 - margin_hm, (n, k)), rng.uniform(margin_hm, h - 1 - margin_hm, (n, k))], -1
    )
    return codec.to_input_px(hm)


def _round_trip(codec: GaussianHeatmapCodec, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encode each instance, decode the batch; return (error in heatmap px (n, k, 2), scores)."""
    vis = np.ones(pts.shape[1])
    maps = torch.from_numpy(np.stack([codec.encode(p, vis)["heatmaps"] for p in pts]))
    dec, scores = codec.decode(maps)
    assert dec.shape == pts.shape and scores.shape == pts.shape[:2]
    return codec.to_heatmap_px(dec) - codec.to_heatmap_px(pts), scores


# (name, codec factory, bound on the mean Euclidean error, bound on each axis' max), heatmap px.
CASES: list[tuple[str, Callable[[], GaussianHeatmapCodec], float, float]] = [
    ("msra-argmax", lambda: MSRAHeatmap(INPUT, HEATMAP, SIGMA, refine="none"), 0.45, 0.5 + 1e-5),
    ("msra-quarter", lambda: MSRAHeatmap(INPUT, HEATMAP, SIGMA, refine="quarter"), 0.45, 0.5 + 1e-5),
    ("msra-unbiased-quarter", lambda: MSRAHeatmap(INPUT, HEATMAP, SIGMA, "quarter", unbiased=True), 0.22, 0.25 + 1e-4),
    ("msra-unbiased-dark", lambda: MSRAHeatmap(INPUT, HEATMAP, SIGMA, "dark", unbiased=True), 0.002, 0.01),
    ("udp-argmax", lambda: UDPHeatmap(INPUT, HEATMAP, SIGMA, refine="none"), 0.45, 0.5 + 1e-5),
    ("udp-quarter", lambda: UDPHeatmap(INPUT, HEATMAP, SIGMA, refine="quarter"), 0.22, 0.25 + 1e-4),
    ("udp-dark", lambda: UDPHeatmap(INPUT, HEATMAP, SIGMA), 0.002, 0.01),
]


@pytest.mark.parametrize("name,make,mean_bound,axis_bound", CASES, ids=[c[0] for c in CASES])
def test_round_trip_error_bounds(
    name: str, make: Callable[[], GaussianHeatmapCodec], mean_bound: float, axis_bound: float
) -> None:
    codec = make()
    pts = _keypoints(codec, 16, 17, margin_hm=3 * SIGMA)
    err, scores = _round_trip(codec, pts)
    mean_hm = np.linalg.norm(err, axis=-1).mean()
    mean_in = np.linalg.norm(codec.to_input_px(err), axis=-1).mean()
    print(f"\n{name}: mean {mean_hm:.4f} heatmap px = {mean_in:.4f} input px; max axis {np.abs(err).max():.4f}")
    assert mean_hm < mean_bound
    assert np.abs(err).max() <= axis_bound
    # Every decoder is within half a heatmap pixel (= stride / 2 input px) per axis.
    stride = codec.to_input_px(np.ones(2))  # (2,) input px per heatmap px, x and y
    assert np.all(np.abs(codec.to_input_px(err)) <= 0.5 * stride + 1e-3)
    assert np.all(scores > 0.5) and np.all(scores <= 1.0 + 1e-6)


def test_quarter_beats_argmax_and_dark_beats_quarter_on_subpixel_gaussians() -> None:
    # Sub-pixel Gaussians (what a perfect network would output for the true location).
    errs = {}
    for refine in ("none", "quarter", "dark"):
        codec = UDPHeatmap(INPUT, HEATMAP, SIGMA, refine=refine)
        err, _ = _round_trip(codec, _keypoints(codec, 16, 17, margin_hm=3 * SIGMA, seed=3))
        errs[refine] = np.linalg.norm(err, axis=-1).mean()
    print(f"\nUDP mean heatmap px: {errs}")
    assert errs["quarter"] < 0.6 * errs["none"]
    assert errs["dark"] < 0.05 * errs["quarter"]
    # Uniform sub-pixel offsets: E|d| for d ~ U[-0.5, 0.5]^2 is 0.3826; quarter halves each axis.
    assert errs["none"] == pytest.approx(0.3826, abs=0.04)
    assert errs["quarter"] == pytest.approx(0.3826 / 2, abs=0.03)


def test_rounded_msra_targets_decode_to_the_rounded_pixel() -> None:
    # Biased MSRA targets are symmetric about an integer pixel: quarter and DARK move nothing.
    codec = MSRAHeatmap(INPUT, HEATMAP, SIGMA, refine="dark")
    pts = _keypoints(codec, 4, 17, margin_hm=3 * SIGMA, seed=5)
    err, scores = _round_trip(codec, pts)
    rounded = np.floor(codec.to_heatmap_px(pts) + 0.5)
    # (atol: the blur of a peak exactly 3 sigma from the edge is slightly asymmetric.)
    np.testing.assert_allclose(err, rounded - codec.to_heatmap_px(pts), atol=1e-3)
    np.testing.assert_allclose(scores, 1.0, atol=1e-6)


def test_dark_near_the_border_stays_bounded() -> None:
    codec = UDPHeatmap(INPUT, HEATMAP, SIGMA)
    pts = _keypoints(codec, 16, 17, margin_hm=0.0, seed=7)
    err, _ = _round_trip(codec, pts)
    hm = codec.to_heatmap_px(pts)
    edge = np.minimum(np.minimum(hm[..., 0], 47 - hm[..., 0]), np.minimum(hm[..., 1], 63 - hm[..., 1]))
    dist = np.linalg.norm(err, axis=-1)
    mean, worst, near = dist.mean(), np.abs(err).max(), dist[edge < 2].mean()
    print(f"\nudp-dark, keypoints anywhere: mean {mean:.4f}, max axis {worst:.4f}, within 2 px of the edge {near:.4f}")
    assert mean < 0.06 and worst < 1.0 and near < 0.35  # measured 0.29 (0.44 when refined up to the edge pixel)
    assert dist[edge >= 4].mean() < 0.01


def _gaussian_map(cx: float, cy: float, w: int = 16, h: int = 20, sigma: float = 2.0) -> torch.Tensor:
    x, y = np.meshgrid(np.arange(w), np.arange(h))
    g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    return torch.from_numpy(g[None, None]).float()


@pytest.mark.parametrize(
    ("cx", "cy", "expected"),
    [
        (1.3, 10.4, (1.0, 10.4)),  # x 1 px from the left edge: x keeps the argmax, y refined alone
        (13.8, 10.4, (14.0, 10.4)),  # x = w - 2 (within 2 px of the right edge)
        (5.3, 1.4, (5.3, 1.0)),  # y near the top edge
        (0.2, 18.9, (0.0, 19.0)),  # a corner: nothing refined
        (2.3, 10.4, (2.3, 10.4)),  # x = 2 is the first refined column (DarkPose's margin)
    ],
)
def test_dark_keeps_the_argmax_on_an_axis_within_2_px_of_the_border(
    cx: float, cy: float, expected: tuple[float, float]
) -> None:
    # Noise-free Gaussian, no blur: log is quadratic, so a refined axis lands exactly on the
    # centre; e.g. y = 10.4 from m = 10: Ly = (L(11) - L(9)) / 2 = (1.96 - 0.36) / 16 = 0.1,
    # Lyy = L(11) - 2 L(10) + L(9) = -(0.36 - 0.32 + 1.96) / 8 = -0.25, step -Ly / Lyy = 0.4.
    maps = _gaussian_map(cx, cy)
    coords, _ = heatmap_argmax(maps)
    out = refine_dark(maps, coords, 2.0, blur=False)[0, 0].numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_dark_with_blur_leaves_a_border_maximum_on_its_pixel() -> None:
    # With the blur (the real setting) the zero padding cuts a border peak and the Taylor step
    # goes wrong: refining x here gave 1.72 (error 0.42 px); the integer argmax 1 is 0.3 px off.
    maps = _gaussian_map(1.3, 10.4)
    coords, _ = heatmap_argmax(maps)
    out = refine_dark(maps, coords, 2.0)[0, 0].numpy()
    assert out[0] == 1.0
    assert out[1] == pytest.approx(10.4, abs=0.01)


def test_dark_is_exact_without_blur_on_noise_free_maps() -> None:
    codec = UDPHeatmap(INPUT, HEATMAP, SIGMA)
    pts = _keypoints(codec, 4, 17, margin_hm=2.0, seed=11)
    maps = torch.from_numpy(np.stack([codec.encode(p, np.ones(17))["heatmaps"] for p in pts]))
    coords, _ = heatmap_argmax(maps)
    refined = refine_dark(maps, coords, SIGMA, blur=False).numpy()
    assert np.abs(refined - codec.to_heatmap_px(pts)).max() < 1e-4  # log of a Gaussian is quadratic


def test_gaussian_blur_of_a_delta_is_the_kernel() -> None:
    maps = torch.zeros(1, 2, 21, 21)
    maps[0, 0, 10, 10] = 0.8
    maps[0, 1, 0, 0] = 1.0  # on the corner: zero padding keeps the kernel's shape
    out = gaussian_blur(maps, 2.0)
    assert out[0, 0, 10, 10].item() == pytest.approx(0.8)  # maximum preserved
    assert out[0, 0, 10, 13].item() == pytest.approx(0.8 * np.exp(-9 / 8), rel=1e-5)
    assert out[0, 0, 12, 11].item() == pytest.approx(0.8 * np.exp(-5 / 8), rel=1e-5)
    assert out[0, 0, 10, 17].item() == 0.0  # beyond the radius ceil(3 sigma) = 6
    assert out[0, 1, 0, 2].item() == pytest.approx(np.exp(-4 / 8), rel=1e-5)


def test_argmax_and_quarter_hand_computed() -> None:
    maps = torch.zeros(1, 2, 5, 6)
    maps[0, 0, 2, 3] = 1.0
    maps[0, 0, 2, 4] = 0.5  # right neighbour higher than left (0) -> +0.25 in x
    maps[0, 0, 1, 3] = 0.2  # upper neighbour higher than lower -> -0.25 in y
    maps[0, 1, 0, 5] = 0.7  # border maximum: no shift
    coords, scores = heatmap_argmax(maps)
    np.testing.assert_allclose(coords.numpy(), [[[3, 2], [5, 0]]])
    np.testing.assert_allclose(scores.numpy(), [[1.0, 0.7]])
    refined = refine_quarter(maps, coords).numpy()
    np.testing.assert_allclose(refined, [[[3.25, 1.75], [5.0, 0.0]]])


def test_encode_matches_loop_and_hand_values() -> None:
    for codec in (
        MSRAHeatmap(INPUT, HEATMAP, SIGMA),
        MSRAHeatmap(INPUT, HEATMAP, 1.5, unbiased=True),
        UDPHeatmap(INPUT, HEATMAP, 3.0),
    ):
        pts = _keypoints(codec, 1, 17, margin_hm=-8.0, seed=13)[0]  # some fall outside
        vis = np.random.default_rng(0).integers(0, 3, 17)
        a, b = codec.encode(pts, vis), codec.encode_loop(pts, vis)
        assert a["heatmaps"].dtype == np.float32 and a["heatmaps"].shape == (17, 64, 48)
        np.testing.assert_array_equal(a["heatmaps"], b["heatmaps"])
        np.testing.assert_array_equal(a["target_weight"], b["target_weight"])
    # MSRA: input (41, 22) -> heatmap (10.25, 5.5) -> Gaussian on the rounded pixel (10, 6).
    codec = MSRAHeatmap(INPUT, HEATMAP, SIGMA)
    hm = codec.encode(np.array([[41.0, 22.0]]), np.array([2]))["heatmaps"][0]
    assert hm[6, 10] == pytest.approx(1.0)
    assert hm[6, 11] == pytest.approx(np.exp(-1 / 8))
    assert hm[7, 11] == pytest.approx(np.exp(-2 / 8))
    assert hm[6, 16] == pytest.approx(np.exp(-36 / 8))  # edge of the 3-sigma square
    assert hm[6, 17] == 0.0 and hm[13, 10] == 0.0 and hm[6, 3] == 0.0  # truncated beyond it
    # UDP: input (191 * 10.3 / 47, 0) -> heatmap (10.3, 0): peak off-grid, value < 1.
    udp = UDPHeatmap(INPUT, HEATMAP, SIGMA)
    hm = udp.encode(np.array([[191 * 10.3 / 47, 0.0]]), np.array([1]))["heatmaps"][0]
    assert hm[0, 10] == pytest.approx(np.exp(-0.09 / 8), rel=1e-6)
    assert hm[0, 11] == pytest.approx(np.exp(-0.49 / 8), rel=1e-6)


def test_invisible_and_outside_keypoints_get_zero_weight() -> None:
    codec = MSRAHeatmap(INPUT, HEATMAP, SIGMA)
    pts = np.array([[50.0, 50.0], [50.0, 50.0], [-40.0, 50.0], [-20.0, 50.0], [np.nan, 3.0], [1e9, 1e9]])
    vis = np.array([2, 0, 2, 1, 2, 2])
    out = codec.encode(pts, vis)
    # (-40 / 4 = -10 heatmap px: the 13-px square ends at -4 -> nothing inside;
    #  -20 / 4 = -5: the square reaches column 1 -> partial map, weight 1.)
    np.testing.assert_array_equal(out["target_weight"], [1, 0, 0, 1, 0, 0])
    assert np.all(out["heatmaps"][[1, 2, 4, 5]] == 0)
    assert out["heatmaps"][3].max() == pytest.approx(np.exp(-25 / 8))
    assert out["heatmaps"][0].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="keypoints \\(K, 2\\)"):
        codec.encode(np.zeros((3, 3)), np.ones(3))


def _flip_errors(codec: GaussianHeatmapCodec, shift: bool | None) -> np.ndarray:
    """Decode error (n, K, 2) input px of heatmaps built for the flipped input and flipped back."""
    flip = coco17().flip_indices
    pts = _keypoints(codec, 8, 17, margin_hm=3 * SIGMA, seed=17)
    vis = np.ones(17)
    flipped = pts.copy()
    flipped[..., 0] = INPUT[0] - 1 - flipped[..., 0]
    flipped = flipped[:, flip]  # keypoint i of the flipped image is the mirror of flip[i]
    maps = torch.from_numpy(np.stack([codec.encode(p, vis)["heatmaps"] for p in flipped]))
    back = codec.flip_back(maps, flip) if shift is None else flip_heatmaps(maps, flip, shift=shift)
    dec, _ = codec.decode(back)
    return dec - pts


def test_flip_back_udp_needs_no_shift() -> None:
    err = _flip_errors(UDPHeatmap(INPUT, HEATMAP, SIGMA), shift=None)
    print(
        f"\nudp flip_back: mean |dx| {np.abs(err[..., 0]).mean():.4f}, mean |dy| {np.abs(err[..., 1]).mean():.4f} input px"
    )
    assert np.abs(err).mean() < 0.02 and np.abs(err).max() < 0.3


def test_flip_back_msra_needs_its_shift() -> None:
    codec = MSRAHeatmap(INPUT, HEATMAP, SIGMA, refine="dark", unbiased=True)
    stride = INPUT[0] / HEATMAP[0]
    with_shift = _flip_errors(codec, shift=None)  # codec rule: shift one heatmap px
    without = _flip_errors(codec, shift=False)
    dx_s, dx_n = with_shift[..., 0].mean(), without[..., 0].mean()
    print(f"\nmsra flip_back mean dx: with shift {dx_s:+.4f}, without {dx_n:+.4f} input px")
    # Without the shift the map lands (stride - 1) input px to the left; with it, 1 px right.
    assert dx_n == pytest.approx(-(stride - 1), abs=0.05)
    assert dx_s == pytest.approx(1.0, abs=0.05)
    assert np.abs(with_shift[..., 1]).mean() < 0.02
    # Same ranking for the default (rounded targets, quarter) configuration.
    default = MSRAHeatmap(INPUT, HEATMAP, SIGMA)
    assert np.abs(_flip_errors(default, None)[..., 0]).mean() < np.abs(_flip_errors(default, False)[..., 0]).mean()


def test_flip_heatmaps_swaps_channels_and_shifts() -> None:
    maps = torch.zeros(1, 2, 1, 4)
    maps[0, 0, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    out = flip_heatmaps(maps, np.array([1, 0]), shift=False)
    np.testing.assert_array_equal(out[0, 1, 0].numpy(), [4, 3, 2, 1])
    assert out[0, 0].abs().sum() == 0
    shifted = flip_heatmaps(maps, np.array([1, 0]), shift=True)
    np.testing.assert_array_equal(shifted[0, 1, 0].numpy(), [4, 4, 3, 2])


def test_decode_scores_and_shape_check() -> None:
    codec = UDPHeatmap(INPUT, HEATMAP, SIGMA)
    maps = torch.zeros(2, 3, 64, 48)
    maps[1, 2, 30, 20] = 0.7
    kpts, scores = codec.decode(maps)
    assert kpts.shape == (2, 3, 2) and kpts.dtype == np.float32
    assert scores[1, 2] == pytest.approx(0.7) and scores[0, 0] == 0.0
    with pytest.raises(ValueError, match="expected heatmaps"):
        codec.decode(torch.zeros(1, 3, 48, 64))
    with pytest.raises(ValueError, match="refine must be one of"):
        MSRAHeatmap(INPUT, HEATMAP, refine="taylor")
    assert MSRAHeatmap.udp is False and UDPHeatmap.udp is True


def test_encode_vectorised_is_faster_than_loop() -> None:
    codec = MSRAHeatmap(INPUT, HEATMAP, SIGMA)
    pts, vis = _keypoints(codec, 1, 17, margin_hm=0.0)[0], np.ones(17)

    def best(fn: Callable[[], object], n: int = 50) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times.append((time.perf_counter() - t0) / n)
        return min(times)

    t_vec = best(lambda: codec.encode(pts, vis))
    t_loop = best(lambda: codec.encode_loop(pts, vis))
    print(f"\nencode K=17 64x48: vectorised {t_vec * 1e6:.0f} us, loop {t_loop * 1e6:.0f} us, x{t_loop / t_vec:.2f}")
    assert t_vec < t_loop
