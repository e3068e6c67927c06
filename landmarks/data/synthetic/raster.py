"""Stroke rasteriser shared by the synthetic renderers: colour image + instance-id buffer.

A *stroke* is a tuple describing one OpenCV primitive, in image px (floats, drawn with
4 bits of sub-pixel precision):

* ``("line", p0, p1, thickness, colour, in_label)``: a round-capped thick line (a capsule);
* ``("poly", points, colour, in_label)``: a filled convex polygon, ``points`` ``(N, 2)``;
* ``("ellipse", centre, (half_w, half_h), angle_deg, colour, in_label)``: a filled ellipse.

``colour`` is RGB 0..255. Strokes with ``in_label=True`` form the silhouette: they are also
drawn with the part's id into a ``(H, W)`` uint8 id buffer (no anti-aliasing), which later
tells which part is on top at any pixel. Shading strokes (``in_label=False``) only touch
the colour image. To add a primitive, extend :func:`draw_strokes` and :func:`stroke_bounds`.
"""

from __future__ import annotations

import math
from typing import Sequence

import cv2
import numpy as np

_SHIFT = 4
_ONE = 1 << _SHIFT


def _pt(p: Sequence[float]) -> tuple[int, int]:
    # int(v + 0.5) is round-half-up for v >= 0 and off by at most 1/16 px below 0: harmless.
    return int(float(p[0]) * _ONE + 0.5), int(float(p[1]) * _ONE + 0.5)


def _col(c: Sequence[float]) -> tuple[float, float, float]:
    return float(c[0]), float(c[1]), float(c[2])


def _draw(img: np.ndarray, s: tuple, colour: object, line_type: int) -> None:
    kind = s[0]
    if kind == "line":
        cv2.line(img, _pt(s[1]), _pt(s[2]), colour, max(1, int(s[3] + 0.5)), line_type, _SHIFT)
    elif kind == "poly":
        pts = (np.asarray(s[1], dtype=np.float64) * _ONE + 0.5).astype(np.int32)
        cv2.fillConvexPoly(img, pts, colour, line_type, _SHIFT)
    elif kind == "ellipse":
        axes = (max(1, int(s[2][0] * _ONE + 0.5)), max(1, int(s[2][1] * _ONE + 0.5)))
        cv2.ellipse(img, _pt(s[1]), axes, float(s[3]), 0.0, 360.0, colour, -1, line_type, _SHIFT)
    else:
        raise ValueError(f"raster: unknown stroke kind '{kind}' (expected 'line', 'poly' or 'ellipse')")


def draw_strokes(image: np.ndarray, label: np.ndarray | None, strokes: Sequence[tuple], part_id: int,
                 antialias: bool = False) -> None:
    """Draws strokes in order into the colour image and (silhouette strokes) the id buffer.

    Args:
        image: ``(H, W, 3)`` uint8 RGB, drawn in place.
        label: ``(H, W)`` uint8 id buffer drawn in place, or None.
        strokes: strokes in the module's format, back to front.
        part_id: value written into ``label`` (1..255).
        antialias: anti-alias the colour strokes (about 3x slower than ``LINE_8``; a final
            3x3 blur of the image gives nearly the same look for less).
    """
    line_type = cv2.LINE_AA if antialias else cv2.LINE_8
    for s in strokes:
        _draw(image, s, _col(s[-2]), line_type)
        if label is not None and s[-1]:
            _draw(label, s, part_id, cv2.LINE_8)


def stroke_bounds(strokes: Sequence[tuple]) -> tuple[float, float, float, float]:
    """Union of the silhouette strokes' extents.

    Args:
        strokes: strokes in the module's format.

    Returns:
        ``x0, y0, x1, y1`` image px (``inf, inf, -inf, -inf`` when no silhouette stroke).
    """
    x0 = y0 = math.inf
    x1 = y1 = -math.inf
    for s in strokes:
        if not s[-1]:
            continue
        if s[0] == "line":
            r = max(1.0, s[3]) / 2.0
            ax, ay, bx, by = float(s[1][0]), float(s[1][1]), float(s[2][0]), float(s[2][1])
            bx0, bx1, by0, by1 = min(ax, bx) - r, max(ax, bx) + r, min(ay, by) - r, max(ay, by) + r
        elif s[0] == "poly":
            p = np.asarray(s[1])
            bx0, by0 = (float(v) for v in p.min(0))
            bx1, by1 = (float(v) for v in p.max(0))
        else:
            (cx, cy), (a, b), t = s[1], s[2], math.radians(s[3])
            hw = math.sqrt((a * math.cos(t)) ** 2 + (b * math.sin(t)) ** 2)
            hh = math.sqrt((a * math.sin(t)) ** 2 + (b * math.cos(t)) ** 2)
            bx0, bx1, by0, by1 = cx - hw, cx + hw, cy - hh, cy + hh
        x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
    return x0, y0, x1, y1
