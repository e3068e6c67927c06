"""Facial contours on the head chart and the iBUG-68 / WFLW-98 landmarks sampled from them.

One 3-D face, two layouts: every landmark group is a curve on the ``(u, v)`` chart of
:mod:`.face_surface` (jaw line, brow outline, eyelids, nose ridge and base, lips), and a
layout picks points along it: the 17 iBUG jaw points and the 33 WFLW jaw points are equal
arc-length samples (in 3-D, on the mean head) of the same jaw curve, so WFLW point ``2k`` is
iBUG point ``k``; the iBUG upper lid points sit at 1/3 and 2/3 of the lid, the WFLW ones at
1/4, 1/2, 3/4; WFLW adds the lower brow edge and the pupils. The texture painter
(:mod:`.face_texture`) draws the eyes, brows and lips from the same curves, so a landmark
lies on the feature it names.

Sides are the subject's (as :mod:`landmarks.layouts.face`): the subject's right is ``u < 0``
(the image's left in a frontal view). Right-side curves are written out; the left side is
their mirror ``u -> -u``, so the layouts are exactly mirror-symmetric. To add a layout (e.g.
AFLW-19), add a function that samples these curves in that layout's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from landmarks.data.synthetic.face.surface import (
    EYE_U,
    EYE_V,
    JAW_LINE,
    MOUTH_CORNER_U,
    MOUTH_V,
    NASION_V,
    NOSE_TIP_V,
    head_points,
)

__all__ = ["FaceFeatures", "LAYOUTS", "brow_outline", "eye_lids", "landmark_chart", "lip_curves", "resample"]

LAYOUTS = ("ibug68", "wflw98")


@dataclass(frozen=True)
class FaceFeatures:
    """Chart-level facial features of one face (degrees on the ``(u, v)`` chart).

    Attributes:
        eye_u: longitude of the eye centres (``+-eye_u``).
        eye_open: ``(right, left)`` openness, 0 closed .. 1 open (up to ~1.15 wide open).
        gaze: ``(du, dv)`` iris offset from the eye centre (du > 0 towards the subject's left).
        brow_v: brow height offset.
        brow_thick: brow thickness at its inner end.
        nose_tip_v: elevation of the nose tip.
        nose_width: nose width factor (1 = neutral).
    """

    eye_u: float = EYE_U
    eye_open: tuple[float, float] = (1.0, 1.0)
    gaze: tuple[float, float] = (0.0, 0.0)
    brow_v: float = 0.0
    brow_thick: float = 3.2
    nose_tip_v: float = NOSE_TIP_V
    nose_width: float = 1.0


def resample(curve: np.ndarray, fractions: np.ndarray, metric: np.ndarray | None = None) -> np.ndarray:
    """Points at arc-length ``fractions`` (0..1) along a dense polyline.

    Args:
        curve: ``(N, 2)`` chart points.
        fractions: ``(M,)`` in [0, 1].
        metric: ``(N, D)`` points whose polyline length defines arc length (default: the chart
            with ``u`` scaled by ``cos v``, the sphere's metric).

    Returns:
        ``(M, 2)`` chart points.
    """
    m = metric if metric is not None else np.stack([curve[:, 0] * np.cos(np.radians(curve[:, 1])), curve[:, 1]], 1)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(m, axis=0), axis=1))])
    s /= s[-1]
    return np.stack([np.interp(fractions, s, curve[:, 0]), np.interp(fractions, s, curve[:, 1])], 1)


def _spline(ctrl: np.ndarray, n: int = 200) -> np.ndarray:
    """Dense Catmull-Rom curve through control points ``(C, 2)``."""
    p = np.concatenate([ctrl[:1], ctrl, ctrl[-1:]])
    out = []
    for i in range(1, len(p) - 2):
        t = np.linspace(0.0, 1.0, n // (len(ctrl) - 1), endpoint=False)[:, None]
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    return np.concatenate(out + [ctrl[-1:]])


@lru_cache(maxsize=1)
def _jaw_curve() -> tuple[np.ndarray, np.ndarray]:
    """The jaw line (subject's right ear -> chin -> left ear) and its 3-D points on the mean head."""
    ctrl = np.concatenate([JAW_LINE, JAW_LINE[-2::-1] * np.array([-1.0, 1.0])])
    curve = _spline(ctrl, 600)
    return curve, head_points(curve[:, 0], curve[:, 1])


@lru_cache(maxsize=4)
def _brow_top(n: int) -> np.ndarray:
    """Upper edge of the right brow at neutral height, ``n`` points equally spaced, outer -> inner."""
    upper = _spline(np.array([(-34.0, 12.0), (-27.0, 16.2), (-19.0, 17.2), (-12.0, 15.8), (-6.5, 13.6)]), n)
    out = resample(upper, np.linspace(0.0, 1.0, n))
    out.setflags(write=False)
    return out


def brow_outline(ft: FaceFeatures, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Right brow: ``(upper (n, 2) outer -> inner, lower (n, 2) inner -> outer)``."""
    t = np.linspace(0.0, 1.0, n)
    upper = _brow_top(n) + np.array([0.0, ft.brow_v])
    thick = ft.brow_thick * (0.25 + 0.75 * t) ** 0.8
    lower = upper - np.stack([0.0 * t, thick], 1)
    lower[0] = upper[0]
    return upper, lower[::-1]


def eye_lids(ft: FaceFeatures, side: int, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Right (``side=0``) or left (``1``) eye lids, each ``(n, 2)`` from the outer to the inner corner."""
    t = np.linspace(0.0, 1.0, n)
    outer = np.array([-(ft.eye_u + 10.5), EYE_V + 0.4])
    inner = np.array([-(ft.eye_u - 10.0), EYE_V - 0.6])
    base = outer + t[:, None] * (inner - outer)
    o = ft.eye_open[side]
    closed = 0.8
    s_up, s_lo = np.sin(np.pi * t**1.15), np.sin(np.pi * t**0.9)
    upper = base + np.stack([0 * t, (o * (3.4 + closed) - closed) * s_up], 1)
    lower = base - np.stack([0 * t, (o * (2.3 - closed) + closed) * s_lo], 1)
    if side == 1:
        upper, lower = upper * [-1.0, 1.0], lower * [-1.0, 1.0]
    return upper, lower


@lru_cache(maxsize=1)
def lip_curves() -> dict[str, np.ndarray]:
    """Dense lip curves from the subject's right to left: ``outer_upper``, ``outer_lower``, ``inner`` (read-only)."""
    c = MOUTH_CORNER_U
    up = np.array([(-c - 1.0, MOUTH_V), (-c + 7.0, MOUTH_V + 2.6), (-5.5, MOUTH_V + 4.2), (0.0, MOUTH_V + 3.4)])
    lo = np.array([(-c - 1.0, MOUTH_V), (-c + 8.0, MOUTH_V - 3.8), (0.0, MOUTH_V - 5.4)])
    mirror = lambda a: np.concatenate([a, a[-2::-1] * np.array([-1.0, 1.0])])  # noqa: E731
    out = {
        "outer_upper": _spline(mirror(up), 120),
        "outer_lower": _spline(mirror(lo), 120),
        "inner": np.stack([np.linspace(-c, c, 60), np.full(60, MOUTH_V)], 1),
    }
    for a in out.values():
        a.setflags(write=False)
    return out


@lru_cache(maxsize=2)
def _fixed_groups(wflw: bool) -> tuple[np.ndarray, np.ndarray]:
    """The jaw and outer-lip landmarks, which no feature moves on the chart (read-only)."""
    jaw, jaw3d = _jaw_curve()
    jaw_pts = resample(jaw, np.linspace(0, 1, 33 if wflw else 17), jaw3d)
    lips = lip_curves()
    ou, ol = lips["outer_upper"], lips["outer_lower"]
    outer = np.concatenate([resample(ou, np.linspace(0, 1, 7)), resample(ol, np.linspace(5 / 6, 1 / 6, 5))])
    jaw_pts.setflags(write=False)
    outer.setflags(write=False)
    return jaw_pts, outer


def _right_half(ft: FaceFeatures, wflw: bool) -> dict[str, np.ndarray]:
    """Right-side and centre groups in layout order."""
    jaw, outer_lip = _fixed_groups(wflw)
    g: dict[str, np.ndarray] = {"jaw": jaw}
    upper, lower = brow_outline(ft)
    brow = resample(upper, np.linspace(0, 1, 5))
    if wflw:
        brow = np.concatenate([brow, resample(lower, np.array([0.0, 0.25, 0.5, 0.75]))])
    g["right_brow"] = brow
    g["nose_bridge"] = np.stack([np.zeros(4), NASION_V + np.linspace(0, 1, 4) * (ft.nose_tip_v - NASION_V)], 1)
    w = ft.nose_width
    base = np.array([(-8.6 * w, ft.nose_tip_v - 6.8), (-4.2 * w, ft.nose_tip_v - 8.6), (0.0, ft.nose_tip_v - 9.6)])
    g["nose_base"] = np.concatenate([base, base[1::-1] * [-1.0, 1.0]])
    up, lo = eye_lids(ft, 0)
    f = np.array([1 / 4, 1 / 2, 3 / 4]) if wflw else np.array([1 / 3, 2 / 3])
    g["right_eye"] = np.concatenate([up[:1], resample(up, f), up[-1:], resample(lo, f[::-1])])
    g["outer_lip"] = outer_lip
    c = MOUTH_CORNER_U
    g["inner_lip"] = np.array(
        [
            (-c, MOUTH_V),
            (-c / 2, MOUTH_V),
            (0.0, MOUTH_V),
            (c / 2, MOUTH_V),
            (c, MOUTH_V),
            (c / 2, MOUTH_V),
            (0.0, MOUTH_V),
            (-c / 2, MOUTH_V),
        ]
    )
    return g


def _mirror_group(a: np.ndarray, order: list[int]) -> np.ndarray:
    return a[order] * np.array([-1.0, 1.0])


def landmark_chart(layout: str, ft: FaceFeatures) -> tuple[np.ndarray, np.ndarray]:
    """Chart positions of a layout's landmarks.

    Args:
        layout: ``"ibug68"`` or ``"wflw98"``.
        ft: the face's features.

    Returns:
        ``(uv (K, 2) degrees, upper (K,) bool)``; ``upper`` marks inner upper-lip points,
        which sit on the upper copy of the lip line (see :func:`.face_mesh.attach`).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"landmark_chart: layout '{layout}' is not one of {LAYOUTS}")
    wflw = layout == "wflw98"
    g = _right_half(ft, wflw)
    # Left brow runs inner -> outer on its upper edge, then its lower edge outer -> inner.
    left_brow = _mirror_group(g["right_brow"], [4, 3, 2, 1, 0] + ([8, 7, 6, 5] if wflw else []))
    # Left eye (its own openness): inner corner first, upper lid to the outer corner, lower lid back.
    up_l, lo_l = eye_lids(ft, 1)
    f = np.array([1 / 4, 1 / 2, 3 / 4]) if wflw else np.array([1 / 3, 2 / 3])
    left_eye = np.concatenate([up_l[-1:], resample(up_l, f[::-1]), up_l[:1], resample(lo_l, f)])
    parts = [
        g["jaw"],
        g["right_brow"],
        left_brow,
        g["nose_bridge"],
        g["nose_base"],
        g["right_eye"],
        left_eye,
        g["outer_lip"],
        g["inner_lip"],
    ]
    if wflw:
        for _side, sign in ((0, -1.0), (1, 1.0)):
            parts.append(np.array([[sign * ft.eye_u + ft.gaze[0], EYE_V + ft.gaze[1]]]))
    uv = np.concatenate(parts)
    upper = np.zeros(len(uv), bool)
    inner0 = 88 if wflw else 60
    upper[inner0 + 1 : inner0 + 4] = True
    return uv, upper
