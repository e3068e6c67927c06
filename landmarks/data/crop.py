"""Top-down crop: person box -> centre/scale -> affine to the network input, and back.

The crop of SimpleBaseline (Xiao et al., "Simple Baselines for Human Pose Estimation and
Tracking", ECCV 2018) and HRNet (Sun et al., CVPR 2019): the box is enlarged to the aspect
ratio of the network input and padded (x1.25), then an affine maps that (optionally
rotated) box onto the ``(W, H)`` input. The ``udp=True`` variant follows UDP (Huang et al.,
"The Devil is in the Details: Delving into Unbiased Data Processing for Human Pose
Estimation", CVPR 2020): the box spans ``size - 1`` output pixels, so its two edges land
exactly on the first and last pixel centres and a horizontal flip is ``x -> W - 1 - x``.

Conventions:

* pixel ``i`` has its centre at coordinate ``i`` (all frames);
* ``center`` ``(2,)`` and ``scale`` ``(2,)`` (box width, height) are in image px;
* ``rot_deg > 0`` turns the image content counter-clockwise in the crop (as
  ``cv2.getRotationMatrix2D`` and mmpose's non-UDP warp do), for both variants;
* ``output_size`` is ``(W, H)`` of the network input (input px).

A sibling crop (e.g. a face crop from 5 landmarks) adds a function that returns the same
``(center, scale, rot)`` triple, so :func:`get_affine` and :func:`unwarp_points` stay shared.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "bbox_to_center_scale",
    "batch_affines",
    "get_affine",
    "warp_image",
    "transform_points",
    "unwarp_points",
]


def bbox_to_center_scale(
    bbox: np.ndarray | Sequence[float], aspect_ratio: float, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Turn an ``x, y, w, h`` box into the centre and size of the region to crop.

    The box is grown (never shrunk) along one side until ``w / h == aspect_ratio``, then
    both sides are multiplied by ``padding``.

    Args:
        bbox: ``(4,)`` ``x, y, w, h`` image px (top-left corner and size).
        aspect_ratio: ``W / H`` of the network input.
        padding: context factor applied to both sides after the aspect fix.

    Returns:
        ``center`` ``(2,)`` image px ``(x + w/2, y + h/2)`` and ``scale`` ``(2,)`` the
        region's width and height in image px, both float64.
    """
    x, y, w, h = (float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(4))
    if aspect_ratio <= 0:
        raise ValueError(f"bbox_to_center_scale: aspect_ratio must be > 0, got {aspect_ratio}")
    center = np.array([x + 0.5 * w, y + 0.5 * h], dtype=np.float64)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    scale = np.array([w, h], dtype=np.float64) * padding
    return center, scale


def batch_affines(
    centers: np.ndarray,
    scales: np.ndarray,
    rots: np.ndarray,
    output_size: tuple[int, int],
    udp: bool = False,
    inverse: bool = False,
    shifts: np.ndarray | None = None,
) -> np.ndarray:
    """Vectorised crop affines for a batch of boxes.

    The forward map sends an image point ``p`` to
    ``q = D @ R(-rot) @ (p - c) + q0``, where ``c = center + shift * scale``,
    ``R`` is the rotation matrix, and

    * default: ``D = diag(W / sw, H / sh)``, ``q0 = (W / 2, H / 2)`` — the box edges map
      to ``0`` and ``W`` (pixel edges of the crop);
    * ``udp``: ``D = diag((W - 1) / sw, (H - 1) / sh)``, ``q0 = ((W - 1) / 2, (H - 1) / 2)``
      — the box edges map exactly onto the pixel centres ``0`` and ``W - 1``.

    When ``scale`` has the input's aspect ratio (as :func:`bbox_to_center_scale` makes it),
    the default map is a similarity (no shear, equal scale on both axes).

    Args:
        centers: ``(B, 2)`` image px.
        scales: ``(B, 2)`` box width and height, image px.
        rots: ``(B,)`` degrees, positive = content turns counter-clockwise in the crop.
        output_size: ``(W, H)`` input px.
        udp: use the UDP (``size - 1``) scaling.
        inverse: return the input px -> image px map instead.
        shifts: ``(B, 2)`` fraction of ``scale`` added to the centre (default zero).

    Returns:
        ``(B, 2, 3)`` float64 affine matrices.
    """
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 2)
    scales = np.asarray(scales, dtype=np.float64).reshape(-1, 2)
    rad = np.deg2rad(np.asarray(rots, dtype=np.float64).reshape(-1))
    if np.any(scales <= 0):
        raise ValueError(f"batch_affines: scales must be > 0 (box width, height px), got {scales.tolist()}")
    if shifts is not None:
        centers = centers + np.asarray(shifts, dtype=np.float64).reshape(-1, 2) * scales
    out = np.asarray(output_size, dtype=np.float64) - (1.0 if udp else 0.0)  # (2,) spans W, H
    d = out[None, :] / scales  # (B, 2) px per image px, per axis
    q0 = np.broadcast_to(out / 2.0, d.shape)
    cos, sin = np.cos(rad), np.sin(rad)
    # R(-rot) = [[cos, sin], [-sin, cos]]; rows scaled by D.
    m = np.empty((len(rad), 2, 2), dtype=np.float64)
    m[:, 0, 0], m[:, 0, 1] = d[:, 0] * cos, d[:, 0] * sin
    m[:, 1, 0], m[:, 1, 1] = -d[:, 1] * sin, d[:, 1] * cos
    if not inverse:
        t = q0 - np.einsum("bij,bj->bi", m, centers)
        return np.concatenate([m, t[:, :, None]], axis=2)
    # p = R(rot) @ D^-1 @ (q - q0) + c
    minv = np.empty_like(m)
    minv[:, 0, 0], minv[:, 0, 1] = cos / d[:, 0], -sin / d[:, 1]
    minv[:, 1, 0], minv[:, 1, 1] = sin / d[:, 0], cos / d[:, 1]
    t = centers - np.einsum("bij,bj->bi", minv, q0)
    return np.concatenate([minv, t[:, :, None]], axis=2)


def get_affine(
    center: np.ndarray | Sequence[float],
    scale: np.ndarray | Sequence[float],
    rot_deg: float,
    output_size: tuple[int, int],
    inverse: bool = False,
    shift: Sequence[float] = (0.0, 0.0),
    udp: bool = False,
) -> np.ndarray:
    """The ``(2, 3)`` affine from image px to input px of one crop (see :func:`batch_affines`).

    Args:
        center: ``(2,)`` box centre, image px.
        scale: ``(2,)`` box width and height, image px.
        rot_deg: rotation in degrees, positive = content turns counter-clockwise.
        output_size: ``(W, H)`` of the network input.
        inverse: return the input px -> image px map.
        shift: ``(2,)`` fraction of ``scale`` by which the box centre is moved.
        udp: UDP scaling (box edges -> pixel centres ``0`` and ``W - 1``).

    Returns:
        ``(2, 3)`` float64 matrix usable by ``cv2.warpAffine`` and :func:`transform_points`.
    """
    return batch_affines(
        np.asarray(center, dtype=np.float64)[None],
        np.asarray(scale, dtype=np.float64)[None],
        np.array([rot_deg], dtype=np.float64),
        output_size,
        udp=udp,
        inverse=inverse,
        shifts=np.asarray(shift, dtype=np.float64)[None],
    )[0]


def warp_image(image: np.ndarray, affine: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    """Crop an image with an affine (bilinear, black border).

    Args:
        image: ``(H_img, W_img, 3)`` (or ``(H_img, W_img)``) image.
        affine: ``(2, 3)`` image px -> input px.
        output_size: ``(W, H)`` of the result.

    Returns:
        ``(H, W, 3)`` image of the same dtype.
    """
    w, h = int(output_size[0]), int(output_size[1])
    return cv2.warpAffine(
        image,
        np.asarray(affine, dtype=np.float64),
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def transform_points(points: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Apply an affine to points.

    Args:
        points: ``(..., 2)`` ``x, y`` in the affine's source frame.
        affine: ``(2, 3)`` matrix.

    Returns:
        ``(..., 2)`` float64 points in the destination frame.
    """
    a = np.asarray(affine, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) @ a[:, :2].T + a[:, 2]


def unwarp_points(
    points: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    rots: np.ndarray,
    output_size: tuple[int, int],
    udp: bool = False,
) -> np.ndarray:
    """Map decoded keypoints from input px back to image px, for a whole batch.

    Args:
        points: ``(B, K, 2)`` input px (as returned by a codec's ``decode``).
        centers: ``(B, 2)`` crop centres, image px.
        scales: ``(B, 2)`` crop width and height, image px.
        rots: ``(B,)`` crop rotations, degrees (0 at test time).
        output_size: ``(W, H)`` of the network input.
        udp: the crop used the UDP affine (must match the codec's ``udp`` attribute).

    Returns:
        ``(B, K, 2)`` float64 image px.
    """
    inv = batch_affines(centers, scales, rots, output_size, udp=udp, inverse=True)  # (B, 2, 3)
    pts = np.asarray(points, dtype=np.float64)
    return np.einsum("bkj,bij->bki", pts, inv[:, :, :2]) + inv[:, None, :, 2]
