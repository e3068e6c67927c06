"""Analytic 3-D head surface for the synthetic face renderer: skull, jaw, nose, lips, brows.

The head is a surface over a longitude/latitude chart ``(u, v)`` in degrees: ``u`` turns
about the vertical axis (0 = straight ahead, +90 = the subject's left ear), ``v`` is the
elevation (0 = the eye line, +90 = the crown). A point is a piecewise ellipsoid (separate
semi-axes up/down and front/back) bent into a face shape (tapered jaw, forward chin) plus
smooth bumps: brow ridge, eye sockets and eyeballs, a nose ridge with alae, cheekbones, lips
and chin. Every bump is a smooth function of ``(u, v)`` and of the identity parameters
(:data:`IDENTITY`), so the same chart point is the same anatomical point on every head: that
is what lets landmarks (:mod:`.face_contours`) and texture (:mod:`.face_texture`) live in
``(u, v)``.

Model frame (the one :mod:`landmarks.geometry` rotates): ``x`` towards the subject's left,
``y`` up, ``z`` out of the face, in centimetres, origin on the eye line at mid-head.
To add a feature, add a bump in :func:`head_points` and, if it should vary between people,
an entry in :data:`IDENTITY` (its linearised effect becomes a basis vector in :mod:`.face_mesh`).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EYE_U",
    "EYE_V",
    "IDENTITY",
    "JAW_LINE",
    "MOUTH_CORNER_U",
    "MOUTH_V",
    "NOSE_TIP_V",
    "head_points",
    "smoothstep",
]

#: Identity parameters: name -> (neutral value, standard deviation). Units in the comments.
IDENTITY: dict[str, tuple[float, float]] = {
    "width": (7.3, 0.4),  # cm, half width of the skull
    "length": (1.0, 0.05),  # factor on the height of the lower face
    "depth": (9.6, 0.4),  # cm, centre to forehead
    "jaw": (0.0, 0.07),  # extra jaw taper (fraction of width at the chin)
    "chin": (0.0, 0.35),  # cm, chin prominence
    "nose_length": (0.0, 1.6),  # deg, nose tip moved down
    "nose_size": (0.0, 0.3),  # cm, extra protrusion of the nose tip
    "nose_width": (0.0, 0.12),  # fraction, nose and alae wider
    "eye_spacing": (0.0, 1.3),  # deg, eyes further apart (texture and landmarks move too)
    "cheeks": (0.0, 0.2),  # cm, cheekbone prominence
    "lips": (0.0, 0.12),  # cm, lip fullness
    "brow_ridge": (0.0, 0.15),  # cm, brow ridge prominence
}

EYE_U = 19.0  # deg, eye centre longitude (neutral eye spacing)
EYE_V = 1.0  # deg, eye centre elevation
NOSE_TIP_V = -21.0  # deg, nose tip elevation (neutral nose length)
MOUTH_V = -43.0  # deg, the line where the lips meet (a row of the mesh grid)
MOUTH_CORNER_U = 20.0  # deg, mouth corner longitude (where the lips part)
NASION_V = 7.0  # deg
#: The jaw line on the chart, subject's right (u < 0), from below the ear to the chin (deg). The
#: surface below it is pulled in, so the jaw has an edge that stays on the silhouette over a range
#: of views, as a real mandible does; the jaw-line landmarks lie on this curve.
JAW_LINE = np.array(
    [
        (-80.0, -3.0),
        (-79.0, -15.0),
        (-74.0, -26.0),
        (-69.0, -36.0),
        (-63.0, -45.0),
        (-52.0, -53.0),
        (-27.0, -57.5),
        (0.0, -58.5),
    ]
)


def smoothstep(e0: float | np.ndarray, e1: float | np.ndarray, x: np.ndarray) -> np.ndarray:
    """Hermite step: 0 at ``e0``, 1 at ``e1`` (either order), smooth in between."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _g(u: np.ndarray, v: np.ndarray, u0: float, v0: float, su: float, sv: float) -> np.ndarray:
    return np.exp(-(((u - u0) / su) ** 2) - ((v - v0) / sv) ** 2)


def _pair(u: np.ndarray, v: np.ndarray, u0: float, v0: float, su: float, sv: float) -> np.ndarray:
    """A symmetric pair of bumps at ``(+-u0, v0)``."""
    return _g(u, v, u0, v0, su, sv) + _g(u, v, -u0, v0, su, sv)


def _nose(u: np.ndarray, v: np.ndarray, q: dict[str, float]) -> np.ndarray:
    """Forward (z) protrusion of the nose, cm."""
    tip_v = NOSE_TIP_V - q["nose_length"]
    tip_h = 2.6 + q["nose_size"]
    wf = 1.0 + q["nose_width"]
    t = np.clip((NASION_V - v) / (NASION_V - tip_v), 0.0, 1.0)
    ridge = np.where(v > tip_v, 0.6 + (tip_h - 0.6) * t**1.4, tip_h * np.exp(-(((v - tip_v) / 4.6) ** 2)))
    ridge = np.where(v > NASION_V, 0.6 * np.exp(-(((v - NASION_V) / 4.0) ** 2)), ridge)
    width = wf * np.where(v > tip_v, 2.6 + 2.6 * t, 5.2)
    body = ridge * np.exp(-(np.abs(u / width) ** 2.5))
    alae = 0.75 * _pair(u, v, 7.2 * wf, tip_v - 5.0, 3.4 * wf, 3.0)
    return body + alae


def head_points(u: np.ndarray, v: np.ndarray, q: dict[str, float] | None = None) -> np.ndarray:
    """Surface points of a head.

    Args:
        u: ``(N,)`` longitude, degrees.
        v: ``(N,)`` elevation, degrees.
        q: identity parameters (missing names take their neutral value from :data:`IDENTITY`).

    Returns:
        ``(N, 3)`` model-frame points, cm.
    """
    q = {**{k: m for k, (m, _) in IDENTITY.items()}, **(q or {})}
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    ur, vr = np.radians(u), np.radians(v)
    d = np.stack([np.cos(vr) * np.sin(ur), np.sin(vr), np.cos(vr) * np.cos(ur)], axis=-1)
    ay = np.where(d[:, 1] > 0, 11.2, 12.6 * q["length"])
    az = np.where(d[:, 2] > 0, q["depth"], 10.2)
    r = 1.0 / np.sqrt((d[:, 0] / q["width"]) ** 2 + (d[:, 1] / ay) ** 2 + (d[:, 2] / az) ** 2)
    eu = EYE_U + q["eye_spacing"]
    bump = (
        (0.42 + q["brow_ridge"]) * _pair(u, v, 21.0, 11.5, 15.0, 5.0)
        + 0.15 * _g(u, v, 0.0, 9.0, 7.0, 5.0)
        - 0.6 * _pair(u, v, eu, EYE_V, 9.0, 6.5)
        + 0.42 * _pair(u, v, eu, EYE_V - 0.5, 5.5, 3.8)
        + (0.45 + q["cheeks"]) * _pair(u, v, 35.0, -13.0, 12.0, 9.0)
        - 0.35 * _pair(u, v, 63.0, 18.0, 12.0, 10.0)
        + 0.2 * _g(u, v, 0.0, -62.0, 40.0, 14.0)
        + 0.9 * _g(u, v, 0.0, 30.0, 40.0, 15.0)
    )
    p = (r + bump)[:, None] * d
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    low = smoothstep(-1.0, -11.0, y)
    front = smoothstep(-0.4, 0.9, d[:, 2])
    x = x * (1.0 - (0.2 + q["jaw"]) * low * (0.3 + 0.7 * front))
    z = z + 1.5 * low * front
    lips = (0.45 + q["lips"]) * (
        np.exp(-((u / 15.0) ** 4) - ((v - MOUTH_V - 4.0) / 3.2) ** 2)
        + 1.2 * np.exp(-((u / 14.0) ** 4) - ((v - MOUTH_V + 4.2) / 3.4) ** 2)
    )
    chin = (1.5 + q["chin"]) * _g(u, v, 0.0, -58.5, 13.0, 6.5) - 0.25 * _g(u, v, 0.0, MOUTH_V - 10.0, 11.0, 3.0)
    philtrum = (
        -0.12 * _g(u, v, 0.0, MOUTH_V + 8.0, 2.0, 4.0)
        - 0.3 * _g(u, v, 0.0, 4.0, 6.0, 3.0)
        + 0.3 * _g(u, v, 0.0, 12.0, 8.0, 4.0)
    )
    z = z + (_nose(u, v, q) + lips + chin + philtrum) * front
    au = np.abs(u)
    line = np.interp(au, -JAW_LINE[:1:-1, 0], JAW_LINE[:1:-1, 1])  # the part below the ear, |u| <= 74
    pull = 1.1 * smoothstep(0.0, 12.0, line - v) * smoothstep(84.0, 72.0, au)
    return np.stack([x, y, z], axis=-1) - pull[:, None] * d
