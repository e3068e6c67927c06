"""Overlays without torch: the drawings of :mod:`landmarks.viz` (which imports torch through
:mod:`landmarks.geometry`) redone on the sidecar's layout, pixel for pixel the same calls.

``draw_keypoints`` is ``viz.draw_keypoints`` (left green, right orange, centre blue by the
``left_`` / ``right_`` name prefix; skeleton lines, then dots with a white ring);
``draw_head_pose`` is ``viz.draw_head_pose`` (``geometry.project_axes`` in numpy); ``draw_box``
is ``viz.draw_box`` without a label. ``tests/test_runtime.py`` compares them with ``viz``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

__all__ = ["draw_box", "draw_head_pose", "draw_keypoints", "project_axes"]

LEFT_COLOR, RIGHT_COLOR, CENTER_COLOR = (0, 220, 0), (255, 128, 0), (51, 153, 255)
BOX_COLOR = (255, 0, 255)
AXIS_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))


def _side(name: str) -> str:
    lowered = name.lower()
    if lowered.startswith(("left_", "l_")):
        return "left"
    if lowered.startswith(("right_", "r_")):
        return "right"
    return "center"


def _color(side: str) -> tuple[int, int, int]:
    return {"left": LEFT_COLOR, "right": RIGHT_COLOR}.get(side, CENTER_COLOR)


def _thickness(image: np.ndarray) -> int:
    return max(1, int(round(min(image.shape[:2]) / 200)))


def draw_keypoints(
    image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, layout: dict[str, Any], threshold: float = 0.3
) -> np.ndarray:
    """One instance's skeleton; ``layout`` is the sidecar's ``tasks.<name>.layout``."""
    kpts = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64).reshape(-1)
    out = image.copy()
    thickness = _thickness(image)
    radius = max(2, int(round(min(image.shape[:2]) / 100)))
    shown = (sc >= threshold) & np.isfinite(kpts).all(axis=1)
    sides = [_side(n) for n in layout["keypoints"]]
    for i, j in layout["skeleton"]:
        if not (shown[i] and shown[j]):
            continue
        side = sides[i] if sides[i] == sides[j] else "center"
        p1 = tuple(int(round(v)) for v in kpts[i])
        p2 = tuple(int(round(v)) for v in kpts[j])
        cv2.line(out, p1, p2, _color(side), thickness, cv2.LINE_AA)
    for i in np.flatnonzero(shown):
        centre = tuple(int(round(v)) for v in kpts[i])
        cv2.circle(out, centre, radius, _color(sides[i]), -1, cv2.LINE_AA)
        cv2.circle(out, centre, radius, (255, 255, 255), max(1, thickness // 2), cv2.LINE_AA)
    return out


def draw_box(image: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
    """A box ``x, y, w, h`` image px."""
    x, y, w, h = (float(v) for v in np.asarray(bbox, np.float64).reshape(4))
    out = image.copy()
    p1, p2 = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
    cv2.rectangle(out, p1, p2, BOX_COLOR, _thickness(image), cv2.LINE_8)
    return out


def project_axes(euler: np.ndarray, center: np.ndarray, size: float) -> np.ndarray:
    """``(3, 2)`` end points of the head's x, y (chin), z (nose) axes (``geometry.project_axes``)."""
    y, p, r = np.deg2rad(np.asarray(euler, np.float64).reshape(3))
    cy, sy, cp, sp, cr, sr = np.cos(y), np.sin(y), np.cos(p), np.sin(p), np.cos(r), np.sin(r)
    rm = np.array(
        [
            [cr * cy, cr * sy * sp - sr * cp, cr * sy * cp + sr * sp],
            [sr * cy, sr * sy * sp + cr * cp, sr * sy * cp - cr * sp],
            [-sy, cy * sp, cy * cp],
        ]
    )
    axes = np.array([[rm[0, 0], -rm[0, 1]], [-rm[1, 0], rm[1, 1]], [rm[2, 0], -rm[2, 1]]])
    return np.asarray(center, np.float64)[None, :] + float(size) * axes


def draw_head_pose(image: np.ndarray, euler: np.ndarray, center: Sequence[float], size: float) -> np.ndarray:
    """The head's three axes from ``center`` (x red, y green, z blue), as ``viz.draw_head_pose``."""
    angles = np.asarray(euler, np.float64).reshape(3)
    c = np.asarray(center, np.float64).reshape(2)
    out = image.copy()
    if not (np.isfinite(angles).all() and np.isfinite(c).all()):
        return out
    ends = project_axes(angles, c, size)
    width = 2 * _thickness(image)
    start = (int(round(c[0])), int(round(c[1])))
    for end, colour in sorted(zip(ends, AXIS_COLORS), key=lambda e: -abs(e[0][0] - c[0]) - abs(e[0][1] - c[1])):
        cv2.arrowedLine(
            out, start, (int(round(end[0])), int(round(end[1]))), colour, width, cv2.LINE_AA, tipLength=0.15
        )
    return out
