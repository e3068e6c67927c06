"""Drawing primitives without torch (numpy + OpenCV only), shared by :mod:`landmarks.viz` and
:mod:`landmarks.runtime.draw` so a training overlay and a runtime overlay are the same pixels.

Colours follow the usual pose convention: left side green, right side orange, centre blue,
decided by the ``left_`` / ``right_`` (``l_`` / ``r_``) prefix of keypoint names; head-pose axes
x red, y green, z blue. Every function returns a new ``(H, W, 3)`` uint8 RGB image. Points
predicted occluded (a visibility task's probability below :data:`OCCLUDED_BELOW`,
:func:`hollow_mask`) are drawn hollow: a ring in the point's colour, no fill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

__all__ = [
    "AXIS_COLORS",
    "BOX_COLOR",
    "CENTER_COLOR",
    "LEFT_COLOR",
    "RIGHT_COLOR",
    "draw_axes",
    "draw_rectangle",
    "draw_skeleton",
    "hollow_mask",
    "keypoint_box",
    "line_thickness",
    "side_color",
    "side_of",
]

LEFT_COLOR = (0, 220, 0)
RIGHT_COLOR = (255, 128, 0)
CENTER_COLOR = (51, 153, 255)
BOX_COLOR = (255, 0, 255)
AXIS_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))
"""RGB colours of the head-pose axes x (subject's left), y (chin), z (nose): red, green, blue."""
OCCLUDED_BELOW = 0.5
"""A point whose visibility probability is below this is drawn hollow (predicted occluded)."""


def side_of(name: str) -> str:
    """``"left"``, ``"right"`` or ``"center"`` from a keypoint name's prefix."""
    lowered = name.lower()
    if lowered.startswith(("left_", "l_")):
        return "left"
    if lowered.startswith(("right_", "r_")):
        return "right"
    return "center"


def side_color(side: str) -> tuple[int, int, int]:
    """The RGB colour of a side (:func:`side_of`)."""
    return {"left": LEFT_COLOR, "right": RIGHT_COLOR}.get(side, CENTER_COLOR)


def line_thickness(image: np.ndarray) -> int:
    """Line thickness in px: about 1/200 of the shorter image side, at least 1."""
    return max(1, int(round(min(image.shape[:2]) / 200)))


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    names: Sequence[str],
    skeleton: Iterable[Sequence[int]],
    threshold: float,
    radius: int | None = None,
    hollow: np.ndarray | None = None,
) -> np.ndarray:
    """One instance: limbs between shown points, then dots with a white ring (hollow points: a ring).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        keypoints: ``(K, 2)`` float64 image px.
        scores: ``(K,)`` float64; a point is shown when ``>= threshold`` and finite.
        names: ``K`` keypoint names (their prefixes decide the colours).
        skeleton: ``(i, j)`` limbs.
        threshold: minimum score to draw a point.
        radius: point radius in px; by default about 1/100 of the shorter side.
        hollow: ``(K,)`` bool, points drawn as a ring in their colour without fill (predicted
            occluded); ``None``: none.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy with the skeleton drawn.
    """
    out = image.copy()
    empty = np.zeros(len(keypoints), bool) if hollow is None else np.asarray(hollow, bool).reshape(-1)
    thickness = line_thickness(image)
    if radius is None:
        radius = max(2, int(round(min(image.shape[:2]) / 100)))
    shown = (scores >= threshold) & np.isfinite(keypoints).all(axis=1)
    sides = [side_of(n) for n in names]
    for i, j in skeleton:
        i, j = int(i), int(j)
        if not (shown[i] and shown[j]):
            continue
        side = sides[i] if sides[i] == sides[j] else "center"
        p1 = tuple(int(round(v)) for v in keypoints[i])
        p2 = tuple(int(round(v)) for v in keypoints[j])
        cv2.line(out, p1, p2, side_color(side), thickness, cv2.LINE_AA)
    for i in np.flatnonzero(shown):
        centre = tuple(int(round(v)) for v in keypoints[i])
        if empty[i]:
            cv2.circle(out, centre, radius, side_color(sides[i]), max(1, thickness), cv2.LINE_AA)
            continue
        cv2.circle(out, centre, radius, side_color(sides[i]), -1, cv2.LINE_AA)
        cv2.circle(out, centre, radius, (255, 255, 255), max(1, thickness // 2), cv2.LINE_AA)
    return out


def hollow_mask(visibility: np.ndarray | None, num_keypoints: int) -> np.ndarray | None:
    """``(K,)`` bool: the points to draw hollow, ``visibility < OCCLUDED_BELOW``.

    Args:
        visibility: ``(K,)`` probabilities that each point is visible, or ``None``.
        num_keypoints: K of the drawn layout; a visibility of another length (a visibility task of
            another layout in the same model) is not this layout's and gives ``None``.
    """
    if visibility is None:
        return None
    v = np.asarray(visibility, np.float64).reshape(-1)
    return v < OCCLUDED_BELOW if v.shape == (num_keypoints,) else None


def draw_rectangle(image: np.ndarray, bbox: Sequence[float] | np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A box ``(4,)`` ``x, y, w, h`` image px; returns the copy and the box's top-left corner px."""
    x, y, w, h = (float(v) for v in np.asarray(bbox, dtype=np.float64).reshape(4))
    out = image.copy()
    p1, p2 = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
    cv2.rectangle(out, p1, p2, BOX_COLOR, line_thickness(image), cv2.LINE_8)
    return out, p1


def draw_axes(image: np.ndarray, ends: np.ndarray, center: np.ndarray, width: int) -> np.ndarray:
    """Arrows from ``center`` (2,) to the ``(3, 2)`` axis ends (x red, y green, z blue), longest first."""
    out = image.copy()
    c = center
    start = (int(round(c[0])), int(round(c[1])))
    for end, colour in sorted(zip(ends, AXIS_COLORS), key=lambda e: -abs(e[0][0] - c[0]) - abs(e[0][1] - c[1])):
        tip = (int(round(end[0])), int(round(end[1])))
        cv2.arrowedLine(out, start, tip, colour, width, cv2.LINE_AA, tipLength=0.15)
    return out


def keypoint_box(keypoints: np.ndarray, use: np.ndarray, default: np.ndarray) -> np.ndarray:
    """The square ``x, y, w, h`` box where a per-box value of these keypoints' instance is drawn.

    Centred on the box of the used, finite keypoints, with half-side 0.6 x its longer side (so a
    drawing sized half the box's longer side, like the head-pose gizmo, is 0.6 x the keypoints'
    extent). ``default`` when fewer than 2 keypoints are used or their extent is under 4 px.

    Args:
        keypoints: ``(K, 2)`` image px.
        use: ``(K,)`` bool.
        default: ``(4,)`` the box to keep otherwise.
    """
    ok = use & np.isfinite(keypoints).all(axis=1)
    if ok.sum() < 2:
        return default
    lo, hi = keypoints[ok].min(axis=0), keypoints[ok].max(axis=0)
    side = float(max(hi - lo))
    if side < 4.0:
        return default
    centre, half = (lo + hi) / 2, 0.6 * side
    return np.array([centre[0] - half, centre[1] - half, 2 * half, 2 * half], np.float64)
