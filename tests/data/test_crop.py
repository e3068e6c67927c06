"""Tests for landmarks.data.crop: box -> centre/scale -> affine, and back."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.data.crop import (
    batch_affines,
    bbox_to_center_scale,
    get_affine,
    transform_points,
    unwarp_points,
    warp_image,
)

OUT = (192, 256)  # (W, H) input px


def test_bbox_to_center_scale_hand_computed() -> None:
    # Wide box 100x50 at (10, 20), input aspect 0.75: height grows to 100 / 0.75.
    center, scale = bbox_to_center_scale(np.array([10.0, 20.0, 100.0, 50.0]), 0.75, padding=1.25)
    np.testing.assert_allclose(center, [60.0, 45.0])
    np.testing.assert_allclose(scale, [125.0, 100.0 / 0.75 * 1.25])
    # Tall box 30x200: width grows to 200 * 0.75 = 150.
    center, scale = bbox_to_center_scale([0.0, 0.0, 30.0, 200.0], 0.75, padding=1.0)
    np.testing.assert_allclose(center, [15.0, 100.0])
    np.testing.assert_allclose(scale, [150.0, 200.0])
    assert scale[0] / scale[1] == pytest.approx(0.75)


def test_center_maps_to_output_center_and_aspect_preserved() -> None:
    center, scale = bbox_to_center_scale([40.0, 30.0, 70.0, 160.0], OUT[0] / OUT[1])
    a = get_affine(center, scale, 0.0, OUT)
    np.testing.assert_allclose(transform_points(center, a), [96.0, 128.0], atol=1e-9)
    # Similarity: equal scale on both axes, no shear -> a square stays a square.
    assert a[0, 0] == pytest.approx(a[1, 1])
    assert a[0, 1] == pytest.approx(0.0) and a[1, 0] == pytest.approx(0.0)
    square = np.array([[50.0, 50.0], [60.0, 50.0], [60.0, 60.0], [50.0, 60.0]])
    q = transform_points(square, a)
    side_x, side_y = q[1, 0] - q[0, 0], q[2, 1] - q[1, 1]
    assert side_x == pytest.approx(side_y)
    assert side_x == pytest.approx(10.0 * OUT[0] / scale[0])
    # The box edges map to 0 and W (pixel edges) without UDP.
    corners = np.array([center - scale / 2, center + scale / 2])
    np.testing.assert_allclose(transform_points(corners, a), [[0.0, 0.0], [192.0, 256.0]], atol=1e-9)


def test_rotation_90_hand_computed() -> None:
    # Box 100x100 centred at (50, 50) onto a 100x100 output: scale 1, centre -> (50, 50).
    a = get_affine([50.0, 50.0], [100.0, 100.0], 90.0, (100, 100))
    # A point 10 px right of the centre ends up 10 px above it: content turns
    # counter-clockwise on screen (y down).
    np.testing.assert_allclose(transform_points([60.0, 50.0], a), [50.0, 40.0], atol=1e-9)
    # A point 10 px below the centre ends up 10 px right of it.
    np.testing.assert_allclose(transform_points([50.0, 60.0], a), [60.0, 50.0], atol=1e-9)
    # Same direction with UDP (scale (100-1)/100 about the output centre 49.5).
    u = get_affine([50.0, 50.0], [100.0, 100.0], 90.0, (100, 100), udp=True)
    np.testing.assert_allclose(transform_points([60.0, 50.0], u), [49.5, 49.5 - 9.9], atol=1e-9)


def test_inverse_is_identity() -> None:
    rng = np.random.default_rng(0)
    pts = rng.uniform(-50, 300, (20, 2))
    for udp in (False, True):
        fwd = get_affine([120.0, 80.0], [150.0, 200.0], 33.0, OUT, udp=udp, shift=(0.1, -0.05))
        inv = get_affine([120.0, 80.0], [150.0, 200.0], 33.0, OUT, udp=udp, shift=(0.1, -0.05), inverse=True)
        np.testing.assert_allclose(transform_points(transform_points(pts, fwd), inv), pts, atol=1e-9)
        full = np.vstack([fwd, [0, 0, 1]]) @ np.vstack([inv, [0, 0, 1]])
        np.testing.assert_allclose(full, np.eye(3), atol=1e-12)


def test_shift_moves_the_box() -> None:
    # shift (0.1, 0) moves the box centre by 0.1 * width in the image: the old centre
    # then lands 0.1 * W left of the output centre.
    a = get_affine([100.0, 100.0], [192.0, 256.0], 0.0, OUT, shift=(0.1, 0.0))
    np.testing.assert_allclose(transform_points([100.0, 100.0], a), [96.0 - 19.2, 128.0], atol=1e-9)


def test_udp_maps_box_corners_to_first_and_last_pixel() -> None:
    center, scale = np.array([77.0, 91.0]), np.array([150.0, 200.0])
    a = get_affine(center, scale, 0.0, OUT, udp=True)
    corners = np.array([center - scale / 2, center + scale / 2])
    np.testing.assert_allclose(transform_points(corners, a), [[0.0, 0.0], [191.0, 255.0]], atol=1e-9)
    np.testing.assert_allclose(transform_points(center, a), [95.5, 127.5], atol=1e-9)


def test_unwarp_points_inverts_transform_batched() -> None:
    rng = np.random.default_rng(1)
    b, k = 5, 17
    centers = rng.uniform(50, 400, (b, 2))
    scales = rng.uniform(60, 300, (b, 2))
    rots = rng.uniform(-45, 45, b)
    image_pts = rng.uniform(0, 500, (b, k, 2))
    for udp in (False, True):
        input_pts = np.stack(
            [transform_points(image_pts[i], get_affine(centers[i], scales[i], rots[i], OUT, udp=udp)) for i in range(b)]
        )
        back = unwarp_points(input_pts, centers, scales, rots, OUT, udp=udp)
        assert back.shape == (b, k, 2)
        np.testing.assert_allclose(back, image_pts, atol=1e-8)
        fwd = batch_affines(centers, scales, rots, OUT, udp=udp)
        np.testing.assert_allclose(fwd[2], get_affine(centers[2], scales[2], rots[2], OUT, udp=udp))


def test_warp_image_moves_a_bright_pixel_where_the_affine_says() -> None:
    image = np.zeros((120, 160, 3), dtype=np.uint8)
    image[40, 100] = 255  # pixel (x=100, y=40)
    a = get_affine([80.0, 60.0], [80.0, 60.0], 0.0, (160, 120))  # 2x zoom about the centre
    out = warp_image(image, a, (160, 120))
    assert out.shape == (120, 160, 3) and out.dtype == np.uint8
    expected = transform_points([100.0, 40.0], a)
    np.testing.assert_allclose(expected, [120.0, 20.0])  # (100-80)*2+80, (40-60)*2+60
    ys, xs = np.nonzero(out[..., 0])
    weights = out[ys, xs, 0].astype(float)
    centroid = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()
    # Bilinear upsampling of one pixel spreads it symmetrically (within half a pixel).
    assert np.abs(centroid - expected).max() <= 0.5
    assert out[0, 0, 0] == 0 and out[119, 159, 0] == 0


def test_invalid_scale_is_reported() -> None:
    with pytest.raises(ValueError, match="scales must be > 0"):
        get_affine([0.0, 0.0], [0.0, 10.0], 0.0, OUT)
