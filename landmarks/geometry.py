"""Head-pose geometry: THE Euler-angle convention of this project, written down once.

Angles
    ``(yaw, pitch, roll)`` in **degrees**, in that order everywhere (``Sample["euler"]``,
    heads, codecs, metrics). They are the 300W-LP / AFLW2000 ``Pose_Para`` angles, which
    the ``.mat`` files store as ``[pitch, yaw, roll, tx, ty, tz, scale]`` in radians
    (3DDFA, Zhu et al., CVPR 2016; read the same way by Hopenet, Ruiz et al., CVPR-W 2018,
    ``get_ypr_from_mat``, and 6DRepNet, Hempel et al., ICIP 2022).

Matrix
    ``R = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` with the right-handed elementary rotations
    ``Rx(a) = [[1, 0, 0], [0, c, -s], [0, s, c]]``, ``Ry(a) = [[c, 0, s], [0, 1, 0], [-s, 0, c]]``,
    ``Rz(a) = [[c, -s, 0], [s, c, 0], [0, 0, 1]]``. This is 6DRepNet's ``get_R(pitch, yaw,
    roll)`` and its inverse ``compute_euler_angles_from_rotation_matrices`` (x = pitch,
    y = yaw, z = roll), so a 6D head trained here predicts the matrix 6DRepNet predicts.
    ``R`` is the transpose of 3DDFA's ``RotationMatrix`` (face3d ``angle2matrix_3ddfa``),
    which turns the face model (x: subject's left, y: up, z: out of the face) into the
    camera frame (x: image right, y: image **up**, z: towards the viewer); so ``R`` maps
    camera to model, and ``R.T`` is the head's orientation seen from the camera.

Signs (from that projection; Hopenet's ``draw_axis`` draws exactly :func:`project_axes`)
    * yaw > 0: the subject turns to **their own right**; the nose points to the image's left.
    * pitch > 0: the subject **looks up** (chin raised); the nose points up in the image.
    * roll > 0: the head tilts towards the subject's left shoulder: the top of the head
      moves to the image's right, i.e. a **clockwise** turn as seen on the screen.

Consequences, both exact and tested through the projection:
    * a horizontal image flip maps ``(yaw, pitch, roll) -> (-yaw, pitch, -roll)``;
    * an in-plane image rotation by ``angle`` degrees in the ``cv2.getRotationMatrix2D``
      convention (positive = counter-clockwise on screen) gives ``R @ Rz(-angle)``; only when
      yaw = pitch = 0 is that the pure roll change ``roll - angle`` (roll is the innermost,
      model-axis rotation of 3DDFA, not the camera-axis one).

All functions take numpy arrays (or floats) and torch tensors, batched over any leading
shape; numpy goes in and out as float64, torch keeps dtype, device and autograd. To add a
sibling representation (e.g. quaternions), add ``x_to_matrix`` / ``matrix_to_x`` here and
test the round trip through :func:`euler_to_matrix`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import torch

__all__ = [
    "euler_to_matrix",
    "flip_euler",
    "geodesic_distance",
    "matrix_to_euler",
    "matrix_to_rotation_6d",
    "project_axes",
    "rotate_roll",
    "rotation_6d_to_matrix",
    "rotation_from_radians",
]

Array = np.ndarray | torch.Tensor
ArrayLike = np.ndarray | torch.Tensor | float | Sequence[float]


def _as_tensors(*xs: Any) -> tuple[list[torch.Tensor], bool]:
    """Convert to broadcast tensors; ``True`` when any input was a tensor (return torch)."""
    ref = next((x for x in xs if isinstance(x, torch.Tensor)), None)
    if ref is None:
        out = [torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in xs]
    else:
        dtype = ref.dtype if ref.is_floating_point() else torch.get_default_dtype()
        out = [torch.as_tensor(x, dtype=dtype, device=ref.device) for x in xs]
    return list(torch.broadcast_tensors(*out)) if len(out) > 1 else out, ref is not None


def _back(t: torch.Tensor, is_torch: bool) -> Array:
    return t if is_torch else t.numpy()


def _check_matrix(r: torch.Tensor, name: str) -> None:
    if r.ndim < 2 or tuple(r.shape[-2:]) != (3, 3):
        raise ValueError(f"{name}: expected rotation matrices of shape (..., 3, 3), got {tuple(r.shape)}")


def _euler_to_matrix_t(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    return rotation_from_radians(torch.deg2rad(yaw), torch.deg2rad(pitch), torch.deg2rad(roll))


def rotation_from_radians(y: torch.Tensor, p: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotation of yaw ``y``, pitch ``p``, roll ``r`` in **radians** (:func:`euler_to_matrix`'s
    convention); plain tensor ops, so it also exports to ONNX (:mod:`landmarks.export.decoders`)."""
    cy, sy, cp, sp, cr, sr = y.cos(), y.sin(), p.cos(), p.sin(), r.cos(), r.sin()
    rows = (
        (cr * cy, cr * sy * sp - sr * cp, cr * sy * cp + sr * sp),
        (sr * cy, sr * sy * sp + cr * cp, sr * sy * cp - cr * sp),
        (-sy, cy * sp, cy * cp),
    )
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def _matrix_to_euler_t(r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    cos_yaw = torch.sqrt(r[..., 0, 0] ** 2 + r[..., 1, 0] ** 2)
    singular = cos_yaw < 1e-6
    yaw = torch.atan2(-r[..., 2, 0], cos_yaw)
    pitch = torch.where(singular, torch.atan2(-r[..., 1, 2], r[..., 1, 1]), torch.atan2(r[..., 2, 1], r[..., 2, 2]))
    roll = torch.where(singular, torch.zeros_like(yaw), torch.atan2(r[..., 1, 0], r[..., 0, 0]))
    return torch.rad2deg(yaw), torch.rad2deg(pitch), torch.rad2deg(roll)


@overload
def euler_to_matrix(yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor: ...
@overload
def euler_to_matrix(
    yaw: np.ndarray | float | Sequence[float],
    pitch: np.ndarray | float | Sequence[float],
    roll: np.ndarray | float | Sequence[float],
) -> np.ndarray: ...
@overload
def euler_to_matrix(yaw: ArrayLike, pitch: ArrayLike, roll: ArrayLike) -> Array: ...
def euler_to_matrix(yaw: ArrayLike, pitch: ArrayLike, roll: ArrayLike) -> Array:
    """Rotation matrix ``Rz(roll) @ Ry(yaw) @ Rx(pitch)`` (6DRepNet ``get_R``).

    Args:
        yaw: degrees, any shape ``(...)`` (the three broadcast together).
        pitch: degrees.
        roll: degrees.

    Returns:
        ``(..., 3, 3)``: a tensor if any input is a tensor, else a float64 numpy array.
    """
    (y, p, r), is_torch = _as_tensors(yaw, pitch, roll)
    return _back(_euler_to_matrix_t(y, p, r), is_torch)


@overload
def matrix_to_euler(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ...
@overload
def matrix_to_euler(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def matrix_to_euler(matrix: Array) -> tuple[Array, Array, Array]: ...
def matrix_to_euler(matrix: Array) -> tuple[Array, Array, Array]:
    """Inverse of :func:`euler_to_matrix` (6DRepNet ``compute_euler_angles_from_rotation_matrices``).

    Args:
        matrix: ``(..., 3, 3)`` rotation matrices.

    Returns:
        ``(yaw, pitch, roll)`` degrees, each ``(...)``; yaw in [-90, 90], pitch and roll in
        (-180, 180]. At gimbal lock (|yaw| = 90) roll is set to 0 and pitch absorbs it.
    """
    (r,), is_torch = _as_tensors(matrix)
    _check_matrix(r, "matrix_to_euler")
    return tuple(_back(a, is_torch) for a in _matrix_to_euler_t(r))  # type: ignore[return-value]


def flip_euler(yaw: ArrayLike, pitch: ArrayLike, roll: ArrayLike) -> tuple[Array, Array, Array]:
    """Angles of the horizontally flipped image: ``(-yaw, pitch, -roll)`` (exact).

    Mirroring the image and the face model conjugates the rotation with ``diag(-1, 1, 1)``,
    which negates the y- and z-rotations and keeps the x-rotation.
    """
    (y, p, r), is_torch = _as_tensors(yaw, pitch, roll)
    return _back(-y, is_torch), _back(p.clone(), is_torch), _back(-r, is_torch)


def rotate_roll(
    yaw: ArrayLike, pitch: ArrayLike, roll: ArrayLike, angle: ArrayLike, exact: bool = True
) -> tuple[Array, Array, Array]:
    """Angles after an in-plane image rotation.

    Args:
        yaw: degrees.
        pitch: degrees.
        roll: degrees.
        angle: image rotation in degrees, ``cv2.getRotationMatrix2D`` convention
            (positive = counter-clockwise on screen).
        exact: compose matrices, ``R @ Rz(-angle)`` (all three angles may change when the
            face is not frontal); ``False`` applies the frontal-face shortcut
            ``roll - angle`` (wrapped to [-180, 180)) and leaves yaw and pitch alone.

    Returns:
        ``(yaw, pitch, roll)`` degrees.
    """
    (y, p, r, a), is_torch = _as_tensors(yaw, pitch, roll, angle)
    if not exact:
        wrapped = torch.remainder(r - a + 180.0, 360.0) - 180.0
        return _back(y.clone(), is_torch), _back(p.clone(), is_torch), _back(wrapped, is_torch)
    zero = torch.zeros_like(a)
    rotated = _euler_to_matrix_t(y, p, r) @ _euler_to_matrix_t(zero, zero, -a)
    return tuple(_back(v, is_torch) for v in _matrix_to_euler_t(rotated))  # type: ignore[return-value]


def project_axes(
    yaw: ArrayLike, pitch: ArrayLike, roll: ArrayLike, center: ArrayLike = (0.0, 0.0), size: float = 100.0
) -> np.ndarray:
    """2-D end points of the head's three axes for drawing (Hopenet / 6DRepNet ``draw_axis``).

    Orthographic projection of the head frame into the image (x right, y **down**):
    row 0 = the model x axis (towards the subject's left; Hopenet draws it red),
    row 1 = the downward axis (chin; green), row 2 = the facing direction out of the nose
    (blue). For a frontal face they are ``center + size * [(1, 0), (0, 1), (0, 0)]``.

    Args:
        yaw: degrees, ``(...)``.
        pitch: degrees.
        roll: degrees.
        center: ``(..., 2)`` image px where the axes start.
        size: axis length, px.

    Returns:
        ``(..., 3, 2)`` float64 image px.
    """
    (y, p, r), _ = _as_tensors(yaw, pitch, roll)
    rm = _euler_to_matrix_t(y, p, r).detach().cpu().double().numpy()
    # Drawing basis F @ R.T @ F with F = diag(1, -1, -1) (y up -> y down); the nose is its -z column.
    axes = np.stack(
        [
            np.stack([rm[..., 0, 0], -rm[..., 0, 1]], axis=-1),
            np.stack([-rm[..., 1, 0], rm[..., 1, 1]], axis=-1),
            np.stack([rm[..., 2, 0], -rm[..., 2, 1]], axis=-1),
        ],
        axis=-2,
    )
    c = np.asarray(center.detach().cpu() if isinstance(center, torch.Tensor) else center, dtype=np.float64)
    return c[..., None, :] + float(size) * axes


@overload
def rotation_6d_to_matrix(d6: torch.Tensor) -> torch.Tensor: ...
@overload
def rotation_6d_to_matrix(d6: np.ndarray) -> np.ndarray: ...
@overload
def rotation_6d_to_matrix(d6: Array) -> Array: ...
def rotation_6d_to_matrix(d6: Array) -> Array:
    """6D rotation representation -> rotation matrix by Gram-Schmidt.

    Zhou et al., "On the Continuity of Rotation Representations in Neural Networks",
    CVPR 2019, as used by 6DRepNet (Hempel et al., ICIP 2022, ``compute_rotation_matrix_from_ortho6d``):
    ``x = a1 / |a1|``, ``z = (x cross a2) / |x cross a2|``, ``y = z cross x``; the result has
    **columns** ``x, y, z`` (6DRepNet's layout; pytorch3d stacks rows instead).

    Args:
        d6: ``(..., 6)`` = the raw first column ``a1`` then the raw second column ``a2``.

    Returns:
        ``(..., 3, 3)`` rotation matrices (same array type as the input).
    """
    (t,), is_torch = _as_tensors(d6)
    if t.shape[-1] != 6:
        raise ValueError(f"rotation_6d_to_matrix: expected (..., 6), got {tuple(t.shape)}")
    x = torch.nn.functional.normalize(t[..., 0:3], dim=-1, eps=1e-8)
    z = torch.nn.functional.normalize(torch.linalg.cross(x, t[..., 3:6], dim=-1), dim=-1, eps=1e-8)
    y = torch.linalg.cross(z, x, dim=-1)
    return _back(torch.stack([x, y, z], dim=-1), is_torch)


@overload
def matrix_to_rotation_6d(matrix: torch.Tensor) -> torch.Tensor: ...
@overload
def matrix_to_rotation_6d(matrix: np.ndarray) -> np.ndarray: ...
@overload
def matrix_to_rotation_6d(matrix: Array) -> Array: ...
def matrix_to_rotation_6d(matrix: Array) -> Array:
    """``(..., 3, 3)`` -> ``(..., 6)``: the first two columns; :func:`rotation_6d_to_matrix` inverts it."""
    (r,), is_torch = _as_tensors(matrix)
    _check_matrix(r, "matrix_to_rotation_6d")
    return _back(torch.cat([r[..., :, 0], r[..., :, 1]], dim=-1), is_torch)


def geodesic_distance(r1: Array, r2: Array) -> Array:
    """Angle of the relative rotation ``M = r1 @ r2.T``, in degrees, in [0, 180].

    The angle ``theta`` with ``cos(theta) = (trace(M) - 1) / 2`` (Huynh, "Metrics for 3D
    Rotations", JMIV 2009; the 6DRepNet loss and error), computed as
    ``atan2(|v|, trace(M) - 1)`` with ``v = (M21 - M12, M02 - M20, M10 - M01)`` (``|v| = 2 sin
    theta``): as exact as ``arccos`` in value but without its loss of precision near 0 and 180.

    Args:
        r1: ``(..., 3, 3)``.
        r2: ``(..., 3, 3)``.

    Returns:
        ``(...)`` degrees.
    """
    (a, b), is_torch = _as_tensors(r1, r2)
    _check_matrix(a, "geodesic_distance")
    m = a @ b.transpose(-1, -2)
    v = torch.stack([m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], dim=-1)
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    return _back(torch.rad2deg(torch.atan2(torch.linalg.vector_norm(v, dim=-1), trace - 1.0)), is_torch)
