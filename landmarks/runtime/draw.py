"""Overlays without torch: the drawings of :mod:`landmarks.viz` (which imports torch through
:mod:`landmarks.geometry`) on the sidecar's layout, through the same torch-free primitives
(:mod:`landmarks.drawing`).

``draw_keypoints`` is ``viz.draw_keypoints`` (left green, right orange, centre blue by the
``left_`` / ``right_`` name prefix; skeleton lines, then dots with a white ring; ``hollow``
points, predicted occluded, a ring only);
``draw_head_pose`` is ``viz.draw_head_pose`` (``geometry.project_axes`` in numpy); ``draw_box``
is ``viz.draw_box`` without a label. ``tests/runtime/test_runtime.py`` compares them with ``viz``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.drawing import draw_axes, draw_rectangle, draw_skeleton, line_thickness

__all__ = ["draw_box", "draw_head_pose", "draw_keypoints", "project_axes"]


def draw_keypoints(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    layout: dict[str, Any],
    threshold: float = 0.3,
    hollow: np.ndarray | None = None,
) -> np.ndarray:
    """One instance's skeleton; ``layout`` is the sidecar's ``tasks.<name>.layout``; ``hollow`` ``(K,)`` bool."""
    kpts = np.asarray(keypoints, np.float64)
    sc = np.asarray(scores, np.float64).reshape(-1)
    return draw_skeleton(image, kpts, sc, layout["keypoints"], layout["skeleton"], threshold, hollow=hollow)


def draw_box(image: np.ndarray, bbox: Sequence[float]) -> np.ndarray:
    """A box ``x, y, w, h`` image px."""
    return draw_rectangle(image, bbox)[0]


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
    if not (np.isfinite(angles).all() and np.isfinite(c).all()):
        return image.copy()
    return draw_axes(image, project_axes(angles, c, size), c, 2 * line_thickness(image))
