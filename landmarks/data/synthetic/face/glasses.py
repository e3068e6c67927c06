"""Glasses for the synthetic face renderer: frames as camera-facing ribbons, optional dark lenses.

The frame is built in the model frame on the posed head (rims in front of the eyes, a bridge
over the nose, temples back to above the ears), posed with the head and turned into screen
triangles with true depths, so the renderer's z-buffer hides the far temple behind the head
and the frame hides the landmarks under it. A ribbon segment is a quad ``width`` cm wide
(converted to px at its depth) perpendicular to the segment on screen. To add an accessory
(a hat brim, a mask), return the same :class:`Extra` triangles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from landmarks.data.synthetic.face.mesh import STRIP

__all__ = ["Extra", "glasses"]


class Extra(NamedTuple):
    """Screen-space triangles to rasterise with the head.

    Attributes:
        xy: ``(N, 2)`` image px. z: ``(N,)`` camera depth. tex: ``(N, 2)`` atlas degrees.
        normal: ``(N, 3)`` camera-frame normals. tris: ``(T, 3)`` vertex indices.
    """

    xy: np.ndarray
    z: np.ndarray
    tex: np.ndarray
    normal: np.ndarray
    tris: np.ndarray


def _ribbon(xy: np.ndarray, z: np.ndarray, width_px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quads along a screen polyline ``(n, 2)``: vertices ``(4(n-1), 2)``, depths, tris."""
    d = xy[1:] - xy[:-1]
    n = np.stack([-d[:, 1], d[:, 0]], 1) / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-6)
    h = 0.5 * (width_px[1:] + width_px[:-1])[:, None] * n
    v = np.stack([xy[:-1] + h, xy[:-1] - h, xy[1:] + h, xy[1:] - h], 1).reshape(-1, 2)
    zz = np.stack([z[:-1], z[:-1], z[1:], z[1:]], 1).ravel()
    k = 4 * np.arange(len(d))[:, None]
    tris = np.concatenate([k + [0, 1, 2], k + [1, 3, 2]])
    return v, zz, tris


def glasses(
    eye_centres: np.ndarray,
    ear_points: np.ndarray,
    pose: Callable[[np.ndarray], np.ndarray],
    project: Callable[[np.ndarray], np.ndarray],
    f: float,
    dark_lenses: bool,
) -> Extra:
    """Frame (and lenses) of a pair of glasses.

    Args:
        eye_centres: ``(2, 3)`` model-frame eye centres (subject's right, left), cm.
        ear_points: ``(2, 3)`` model-frame points above the ears where the temples rest.
        pose: model frame -> camera frame ``(N, 3) -> (N, 3)`` (cm, x right, y down, z forward).
        project: camera frame -> image px.
        f: focal length px (ribbon width from cm).
        dark_lenses: add opaque lenses.

    Returns:
        The glasses' triangles.
    """
    t = np.linspace(0.0, 2.0 * np.pi, 25)
    parts: list[tuple[np.ndarray, bool]] = []  # (model points, closed lens fan?)
    rims = []
    for k, sign in enumerate((-1.0, 1.0)):
        c = eye_centres[k] + np.array([sign * 0.25, -0.2, 1.5])
        wrap = np.radians(8.0) * sign
        rim = np.stack(
            [
                c[0] + 2.5 * np.cos(t) * np.cos(wrap),
                c[1] + 1.85 * np.sin(t) - 0.25 * np.cos(t) ** 2,
                c[2] - 2.5 * np.cos(t) * np.sin(wrap),
            ],
            1,
        )
        rims.append(rim)
        parts.append((rim, False))
        outer = rim[0] if sign > 0 else rim[12]
        top = outer + np.array([0.0, 0.6, 0.0])
        parts.append((np.stack([outer, top, ear_points[k] + np.array([sign * 0.4, 0.0, 0.0])]), False))
    a, b = rims[0][3], rims[1][9]  # upper inner points of the two rims
    mid = 0.5 * (a + b) + np.array([0.0, 0.35, 0.4])
    parts.append((np.stack([a, 0.5 * (a + mid), mid, 0.5 * (mid + b), b]), False))
    xy_all, z_all, tex_all, n_all, tri_all = [], [], [], [], []
    count = 0
    for pts, _ in parts:
        cam = pose(pts)
        uv = project(cam)
        v, zz, tris = _ribbon(uv, cam[:, 2], f * 0.28 / cam[:, 2])
        xy_all.append(v)
        z_all.append(zz)
        tex_all.append(np.tile([float(np.mean(STRIP["glasses"])), 190.0], (len(v), 1)))
        n_all.append(np.tile([0.0, 0.0, -1.0], (len(v), 1)))
        tri_all.append(tris + count)
        count += len(v)
    if dark_lenses:
        for rim in rims:
            c = rim.mean(0)
            pts = np.concatenate([c[None], rim[:-1]])
            cam = pose(pts)
            n = np.cross(cam[2] - cam[0], cam[1] - cam[0])
            n = n / max(np.linalg.norm(n), 1e-9) * (1.0 if n[2] < 0 else -1.0)
            xy_all.append(project(cam))
            z_all.append(cam[:, 2])
            tex_all.append(np.tile([float(np.mean(STRIP["lens"])), 190.0], (len(pts), 1)))
            n_all.append(np.tile(n, (len(pts), 1)))
            k = np.arange(1, len(pts))
            tri_all.append(np.stack([np.zeros_like(k), k, k % (len(pts) - 1) + 1], 1) + count)
            count += len(pts)
    return Extra(
        np.concatenate(xy_all),
        np.concatenate(z_all),
        np.concatenate(tex_all),
        np.concatenate(n_all),
        np.concatenate(tri_all),
    )
