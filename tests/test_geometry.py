"""Tests for the Euler convention (landmarks.geometry) and the geodesic loss."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from landmarks.geometry import (
    euler_to_matrix,
    flip_euler,
    geodesic_distance,
    matrix_to_euler,
    matrix_to_rotation_6d,
    project_axes,
    rotate_roll,
    rotation_6d_to_matrix,
)
from landmarks.losses.head_pose import GeodesicLoss


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _hopenet_draw_axis(yaw: float, pitch: float, roll: float, tdx: float, tdy: float, size: float) -> np.ndarray:
    """End points of Hopenet's ``utils.draw_axis`` (deep-head-pose / 6DRepNet), rewritten."""
    p, y, r = math.radians(pitch), -math.radians(yaw), math.radians(roll)
    return np.array(
        [
            [
                size * math.cos(y) * math.cos(r) + tdx,
                size * (math.cos(p) * math.sin(r) + math.cos(r) * math.sin(p) * math.sin(y)) + tdy,
            ],
            [
                -size * math.cos(y) * math.sin(r) + tdx,
                size * (math.cos(p) * math.cos(r) - math.sin(p) * math.sin(y) * math.sin(r)) + tdy,
            ],
            [size * math.sin(y) + tdx, -size * math.cos(y) * math.sin(p) + tdy],
        ]
    )


def _random_angles(n: int, seed: int = 0, max_yaw: float = 85.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-max_yaw, max_yaw, n), rng.uniform(-80, 80, n), rng.uniform(-80, 80, n)], axis=1)


def test_matrix_is_rz_ry_rx_and_the_transpose_of_3ddfa() -> None:
    yaw, pitch, roll = 23.0, -41.0, 12.5
    r = euler_to_matrix(yaw, pitch, roll)
    y, p, q = map(math.radians, (yaw, pitch, roll))
    np.testing.assert_allclose(r, _rz(q) @ _ry(y) @ _rx(p), atol=1e-12)
    # 3DDFA RotationMatrix(pitch, yaw, roll) = Rx(-pitch) Ry(-yaw) Rz(-roll) (its matrices are transposed).
    np.testing.assert_allclose(r, (_rx(-p) @ _ry(-y) @ _rz(-q)).T, atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)


def test_numpy_and_torch_batched_round_trip() -> None:
    angles = _random_angles(200)
    r = euler_to_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
    assert r.shape == (200, 3, 3) and r.dtype == np.float64
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.stack(matrix_to_euler(r), axis=1), angles, atol=1e-9)
    t = torch.tensor(angles, dtype=torch.float32).reshape(10, 20, 3)
    rt = euler_to_matrix(t[..., 0], t[..., 1], t[..., 2])
    assert isinstance(rt, torch.Tensor) and rt.shape == (10, 20, 3, 3) and rt.dtype == torch.float32
    np.testing.assert_allclose(rt.reshape(200, 3, 3).numpy(), r, atol=1e-5)
    back = torch.stack(matrix_to_euler(rt), dim=-1).reshape(200, 3)
    np.testing.assert_allclose(back.numpy(), angles, atol=1e-3)


def test_gimbal_lock_gives_an_equivalent_triple() -> None:
    r = euler_to_matrix(90.0, 20.0, 30.0)
    y, p, q = matrix_to_euler(r)
    assert float(y) == pytest.approx(90.0) and float(q) == 0.0
    np.testing.assert_allclose(euler_to_matrix(y, p, q), r, atol=1e-6)


def test_project_axes_is_hopenet_draw_axis() -> None:
    angles = _random_angles(20, seed=1)
    got = project_axes(angles[:, 0], angles[:, 1], angles[:, 2], center=(120.0, 80.0), size=50.0)
    assert got.shape == (20, 3, 2)
    for a, g in zip(angles, got):
        np.testing.assert_allclose(g, _hopenet_draw_axis(*a, 120.0, 80.0, 50.0), atol=1e-9)
    np.testing.assert_allclose(project_axes(0, 0, 0, (10, 20), 5), [[15, 20], [10, 25], [10, 20]], atol=1e-12)


def test_signs_of_the_convention() -> None:
    nose = lambda y, p, r: project_axes(y, p, r, (0.0, 0.0), 1.0)[2]  # noqa: E731
    assert nose(30, 0, 0)[0] < -0.4  # yaw > 0: nose towards the image's left (subject turns to their right)
    assert nose(0, 30, 0)[1] < -0.4  # pitch > 0: nose up in the image (looks up)
    red = project_axes(0, 0, 30, (0.0, 0.0), 1.0)[0]  # roll > 0: clockwise on screen (y down)
    np.testing.assert_allclose(red, [math.cos(math.radians(30)), math.sin(math.radians(30))], atol=1e-12)


def test_flip_is_exact() -> None:
    d = np.diag([-1.0, 1.0, 1.0])
    mirror = np.array([-1.0, 1.0])
    for yaw, pitch, roll in _random_angles(10, seed=2):
        fy, fp, fr = flip_euler(yaw, pitch, roll)
        assert (float(fy), float(fp), float(fr)) == (-yaw, pitch, -roll)
        np.testing.assert_allclose(euler_to_matrix(fy, fp, fr), d @ euler_to_matrix(yaw, pitch, roll) @ d, atol=1e-12)
        axes, flipped = project_axes(yaw, pitch, roll), project_axes(fy, fp, fr)
        # The mirrored image shows the mirrored axes; the model x axis (subject's left) is also reversed.
        np.testing.assert_allclose(flipped[1:], axes[1:] * mirror, atol=1e-9)
        np.testing.assert_allclose(flipped[0], -axes[0] * mirror, atol=1e-9)
    t = flip_euler(torch.tensor([10.0]), torch.tensor([5.0]), torch.tensor([-3.0]))
    assert [float(v) for v in t] == [-10.0, 5.0, 3.0]


def test_rotate_roll_matches_cv2_image_rotation() -> None:
    rng = np.random.default_rng(3)
    for yaw, pitch, roll in _random_angles(20, seed=4):
        angle = float(rng.uniform(-90, 90))
        rotated = rotate_roll(yaw, pitch, roll, angle)
        linear = cv2.getRotationMatrix2D((0.0, 0.0), angle, 1.0)[:, :2]
        expected = project_axes(yaw, pitch, roll) @ linear.T
        np.testing.assert_allclose(project_axes(*rotated), expected, atol=1e-9)
    # Frontal face: the exact rule is the roll shift, and cv2's positive (counter-clockwise) angle lowers roll.
    y, p, r = rotate_roll(0.0, 0.0, 20.0, 30.0)
    assert (float(y), float(p), float(r)) == pytest.approx((0.0, 0.0, -10.0))
    assert [float(v) for v in rotate_roll(40.0, 10.0, 170.0, -30.0, exact=False)] == pytest.approx([40.0, 10.0, -160.0])


def test_rotation_6d_gram_schmidt() -> None:
    r = euler_to_matrix(*_random_angles(50, seed=5).T)
    np.testing.assert_allclose(rotation_6d_to_matrix(matrix_to_rotation_6d(r)), r, atol=1e-12)
    g = torch.Generator().manual_seed(0)
    d6 = torch.randn(64, 6, generator=g, requires_grad=True)
    m = rotation_6d_to_matrix(d6)
    eye = np.broadcast_to(np.eye(3), (64, 3, 3))
    np.testing.assert_allclose((m @ m.transpose(1, 2)).detach().numpy(), eye, atol=1e-5)
    assert torch.allclose(torch.linalg.det(m), torch.ones(64), atol=1e-5)
    # 6DRepNet: x = a1/|a1|, z = x cross a2 normalised, y = z cross x, stacked as columns.
    a1, a2 = d6[0, :3].detach().double().numpy(), d6[0, 3:].detach().double().numpy()
    x = a1 / np.linalg.norm(a1)
    z = np.cross(x, a2) / np.linalg.norm(np.cross(x, a2))
    np.testing.assert_allclose(m[0].detach().numpy(), np.stack([x, np.cross(z, x), z], axis=1), atol=1e-5)
    m.sum().backward()
    assert torch.isfinite(d6.grad).all()


def test_geodesic_distance() -> None:
    a = euler_to_matrix(10.0, 20.0, 30.0)
    for delta in (0.0, 5.0, 90.0, 180.0):
        b = a @ _rz(math.radians(delta))
        assert float(geodesic_distance(a, b)) == pytest.approx(delta, abs=1e-5)
        assert float(geodesic_distance(b, a)) == pytest.approx(delta, abs=1e-5)
    t = geodesic_distance(torch.eye(3).expand(4, 3, 3), torch.tensor(np.stack([_rx(0.3)] * 4), dtype=torch.float32))
    assert t.shape == (4,) and torch.allclose(t, torch.full((4,), math.degrees(0.3)), atol=1e-3)


def test_geodesic_loss_radians_weights_and_gradient() -> None:
    gt = torch.tensor(euler_to_matrix(*_random_angles(4, seed=6).T), dtype=torch.float32)
    pred = gt @ torch.tensor(np.stack([_rx(0.1), _rx(0.2), _rx(0.3), _rx(0.4)]), dtype=torch.float32)
    loss = GeodesicLoss()
    assert loss(pred, gt).item() == pytest.approx(0.25, abs=1e-4)
    assert loss(pred, gt, torch.tensor([1.0, 0.0, 0.0, 1.0])).item() == pytest.approx(0.25, abs=1e-4)
    assert loss(pred, gt, torch.tensor([0.0, 1.0, 0.0, 0.0])).item() == pytest.approx(0.2, abs=1e-4)
    same = gt.clone().requires_grad_(True)
    loss(same, gt).backward()  # acos at cos = 1 is clamped by eps: the gradient stays finite
    assert torch.isfinite(same.grad).all()
    with pytest.raises(ValueError, match=r"\(B, 3, 3\)"):
        loss(pred[:, :2], gt[:, :2])
