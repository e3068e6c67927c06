"""Ears, neck and shoulders of the synthetic head (:mod:`.face_mesh` assembles them with the face).

An ear is a shallow two-sided dish (rings ``rho`` x angles ``theta``) standing off the side of
the head at 20 degrees, with a raised rim and a recessed bowl; its per-vertex *tint* darkens the
canal, the bowl and the groove inside the rim, which is what makes it read as an ear when lit.
The neck and the shoulders are elliptic tubes (rings of points, ring-major). Model frame as in
:mod:`.face_surface` (cm; x the subject's left, y up, z out of the face). To add a part (a hat,
a ponytail), write ``points`` and ``tris`` functions here and append them in ``face_mesh``.
"""

from __future__ import annotations

import numpy as np

from landmarks.data.synthetic.face.surface import head_points, smoothstep

__all__ = ["NECK_Y", "TORSO_Y", "ear_points", "ear_tris", "tube_points", "tube_tris"]

#: Ring heights (cm) of the neck and of the shoulders.
NECK_Y = np.array([-3.0, -7.0, -11.0, -15.0, -19.0, -23.0, -28.0])
TORSO_Y = np.array([-19.0, -21.0, -24.0, -28.0, -34.0, -44.0, -60.0])


def ear_points(q: dict[str, float], side: float) -> tuple[np.ndarray, np.ndarray]:
    """Ear points ``(1 + 5 * 18, 3)`` (centre, then rings) and per-vertex tint ``(91,)``.

    Args:
        q: identity parameters (the ear sits on the side of that head).
        side: +1 the subject's left ear, -1 the right.
    """
    rho = np.array([0.3, 0.55, 0.8, 0.93, 1.0])
    th = np.radians(np.arange(18) * 20.0)
    rr, tt = np.meshgrid(rho, th, indexing="ij")
    rr, tt = np.concatenate([[0.0], rr.ravel()]), np.concatenate([[0.0], tt.ravel()])
    anchor = head_points(np.array([side * 93.0]), np.array([-3.0]), q)[0]
    alpha = np.radians(20.0)
    e_up = np.array([0.0, np.cos(0.15), -np.sin(0.15)])
    e_back = np.array([side * np.sin(alpha), 0.0, -np.cos(alpha)])
    e_out = np.cross(e_up, e_back) * -side
    e_out /= np.linalg.norm(e_out)
    half_w = 1.6 * (1.0 - 0.3 * smoothstep(0.0, -1.0, np.cos(tt)))  # narrower lobe
    bowl = 0.35 * rr**6 - 0.35 * (1.0 - rr**2) * smoothstep(0.5, -0.4, np.sin(tt))
    centre = anchor + 1.6 * e_back + 0.45 * e_out + np.array([0.0, 0.3, 0.0])
    pts = (
        centre
        + (2.9 * rr * np.cos(tt))[:, None] * e_up
        + (half_w * rr * np.sin(tt))[:, None] * e_back
        + bowl[:, None] * e_out
    )
    # Darker canal and concha towards the front, a groove inside the lighter rim (helix).
    front = smoothstep(0.3, -0.6, np.sin(tt))
    tint = np.interp(rr, [0.0, 0.3, 0.55, 0.8, 0.93, 1.0], [0.45, 0.62, 0.85, 0.7, 1.05, 0.92])
    tint = tint * (1.0 - 0.15 * front)
    return pts, tint


def ear_tris(offset: int) -> np.ndarray:
    """Triangles ``(T, 3)`` of one ear whose vertices start at ``offset`` (a fan, then ring quads)."""
    n_t, n_r = 18, 5
    ring = lambda r, k: 1 + r * n_t + (k % n_t)  # noqa: E731
    tris = [(0, ring(0, k), ring(0, k + 1)) for k in range(n_t)]
    for r in range(n_r - 1):
        for k in range(n_t):
            a, b, c, d = ring(r, k), ring(r + 1, k), ring(r + 1, k + 1), ring(r, k + 1)
            tris += [(a, b, c), (a, c, d)]
    return np.asarray(tris) + offset


def tube_points(centre_y: np.ndarray, centre_z: np.ndarray, rx: np.ndarray, rz: np.ndarray, n: int = 20) -> np.ndarray:
    """Rings of an elliptic tube, ``(len(centre_y) * n, 3)``, ring-major.

    Args:
        centre_y: ``(R,)`` ring heights; centre_z: ``(R,)`` ring centres' z.
        rx: ``(R,)`` half widths (x); rz: ``(R,)`` half depths (z).
        n: points per ring.
    """
    phi = np.radians(np.arange(n) * 360.0 / n)
    x = rx[:, None] * np.sin(phi)[None]
    z = centre_z[:, None] + rz[:, None] * np.cos(phi)[None]
    y = np.broadcast_to(centre_y[:, None], x.shape)
    return np.stack([x, y, z], -1).reshape(-1, 3)


def tube_tris(n_rings: int, n: int, offset: int, flip: bool = False) -> np.ndarray:
    """Triangles ``(2 * n * (n_rings - 1), 3)`` of a tube from :func:`tube_points` starting at ``offset``."""
    tris = []
    for r in range(n_rings - 1):
        for k in range(n):
            a, b, c, d = r * n + k, r * n + (k + 1) % n, (r + 1) * n + k, (r + 1) * n + (k + 1) % n
            tris += [(a, b, d), (a, d, c)] if not flip else [(a, d, b), (a, c, d)]
    return np.asarray(tris) + offset
