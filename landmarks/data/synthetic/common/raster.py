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

:func:`paint_instances` is the painter the body and hand renderers share: it draws every
instance's parts (and occluders) back to front, one id per part, then reports which instance
and part code own each id, each instance's silhouette box clipped to the image and its visible
silhouette area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from landmarks.data.synthetic.body.figure import Part

_SHIFT = 4

#: What an instance's box bounds: its whole drawn silhouette, parts hidden by others included
#: (``silhouette``), or only its visible pixels (``visible``: the COCO box convention).
BOX_KINDS = ("silhouette", "visible")
_ONE = 1 << _SHIFT


def _pt(p: Sequence[float]) -> tuple[int, int]:
    # int(v + 0.5) is round-half-up for v >= 0 and off by at most 1/16 px below 0: harmless.
    return int(float(p[0]) * _ONE + 0.5), int(float(p[1]) * _ONE + 0.5)


def _col(c: Sequence[float]) -> tuple[float, float, float]:
    return float(c[0]), float(c[1]), float(c[2])


def _draw(img: np.ndarray, s: tuple, colour: Sequence[float] | float, line_type: int) -> None:
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


def draw_strokes(
    image: np.ndarray, label: np.ndarray | None, strokes: Sequence[tuple], part_id: int, antialias: bool = False
) -> None:
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


@dataclass
class PaintedInstances:
    """What :func:`paint_instances` drew.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB, the painted image after a light 3x3 Gaussian blur.
        label: ``(H, W)`` uint8 id buffer (0: background; id ``i`` is the ``i``-th part drawn).
        owner: ``(n_ids,)`` owning instance of each id (-1: background or an occluder).
        code: ``(n_ids,)`` part code of each id (0: background).
        boxes: per instance, ``x0, y0, x1, y1`` px of its silhouette clipped to ``[0, W] x [0, H]``,
            or None when it is outside the frame or fully hidden (not annotatable).
        areas: per instance, visible silhouette pixels.
        unboxed_code: the part code left out of boxes and areas (``paint_instances``'s), or None.
    """

    image: np.ndarray
    label: np.ndarray
    owner: np.ndarray
    code: np.ndarray
    boxes: list[tuple[float, float, float, float] | None]
    areas: list[float]
    unboxed_code: int | None = None

    def visible_box(self, i: int) -> tuple[float, float, float, float] | None:
        """``x0, y0, x1, y1`` px of instance ``i``'s VISIBLE silhouette pixels (the COCO box), or None.

        Pixel centres are at integer coordinates, so pixels ``xmin..xmax`` span ``xmin - 0.5 .. xmax + 0.5``
        (clipped to ``[0, W] x [0, H]``). Unlike :attr:`boxes`, parts hidden by another instance or an
        occluder do not count. Computed on demand (the keypoint tasks do not need it).
        """
        mine = self.owner[self.label] == i
        if self.unboxed_code is not None:
            mine &= self.code[self.label] != self.unboxed_code
        cols, rows = np.flatnonzero(mine.any(0)), np.flatnonzero(mine.any(1))
        if not len(cols):
            return None
        h, w = self.label.shape
        x0, y0 = max(float(cols[0]) - 0.5, 0.0), max(float(rows[0]) - 0.5, 0.0)
        return x0, y0, min(float(cols[-1]) + 0.5, float(w)), min(float(rows[-1]) + 0.5, float(h))

    def box_of(self, i: int, kind: str) -> tuple[float, float, float, float] | None:
        """Instance ``i``'s box of ``kind`` (:data:`BOX_KINDS`): ``silhouette`` (:attr:`boxes`) or ``visible``."""
        box = self.boxes[i]
        return box if box is None or kind == "silhouette" else self.visible_box(i)

    def xywh(self, i: int) -> np.ndarray:
        """Instance ``i``'s silhouette box (:attr:`boxes`) as ``(4,)`` float32 ``x, y, w, h`` px (COCO's ``bbox``).

        Raises:
            ValueError: instance ``i`` has no box (outside the frame or fully hidden).
        """
        box = self.boxes[i]
        if box is None:
            raise ValueError(f"PaintedInstances: instance {i} has no box (outside the frame or fully hidden)")
        return corners_to_xywh(box)


def corners_to_xywh(box: tuple[float, float, float, float]) -> np.ndarray:
    """``x0, y0, x1, y1`` -> ``(4,)`` float32 ``x, y, w, h`` (COCO's ``bbox``)."""
    x0, y0, x1, y1 = box
    return np.array([x0, y0, x1 - x0, y1 - y0], dtype=np.float32)


def paint_instances(
    image: np.ndarray,
    items: Sequence[tuple[float, int, Sequence[Part]]],
    num_instances: int,
    rng: np.random.Generator,
    unboxed_code: int | None = None,
) -> PaintedInstances:
    """Draws depth-sorted parts into ``image`` and an id buffer; boxes and areas per instance.

    Args:
        image: ``(H, W, 3)`` uint8 RGB background, drawn in place (then blurred into a copy).
        items: ``(depth, owner, parts)`` in draw order (back to front); ``owner`` is the instance
            index, -1 for an occluder; at most 255 parts in all (the uint8 id buffer).
        num_instances: number of instances (owners ``0 .. num_instances - 1``).
        rng: random generator (one draw: the blur's sigma, 0.5-1.0 px).
        unboxed_code: a part code left out of the instances' boxes and areas (a hand's forearm);
            its pixels still hide what lies behind them.

    Returns:
        :class:`PaintedInstances`.
    """
    H, W = image.shape[:2]
    label = np.zeros((H, W), dtype=np.uint8)
    owner, code = [-1], [0]  # per label id: instance index (-1 occluder) and part code
    bounds = [(math.inf, math.inf, -math.inf, -math.inf) for _ in range(num_instances)]
    for _, who, parts in items:
        for part in parts:
            pid = len(owner)
            draw_strokes(image, label, part.strokes, pid)
            owner.append(who)
            code.append(part.code)
            if who >= 0 and part.code != unboxed_code:
                (a0, a1, a2, a3), (b0, b1, b2, b3) = bounds[who], stroke_bounds(part.strokes)
                bounds[who] = (min(a0, b0), min(a1, b1), max(a2, b2), max(a3, b3))
    image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.5, 1.0))  # soft edges instead of LINE_AA
    owner_arr, code_arr = np.asarray(owner), np.asarray(code)
    pixels = cv2.calcHist([label], [0], None, [256], [0, 256]).ravel()[: len(owner)]
    boxes: list[tuple[float, float, float, float] | None] = []
    areas: list[float] = []
    for i in range(num_instances):
        x0, y0 = max(bounds[i][0], 0.0), max(bounds[i][1], 0.0)
        x1, y1 = min(bounds[i][2], float(W)), min(bounds[i][3], float(H))
        mine = owner_arr == i
        if unboxed_code is not None:
            mine &= code_arr != unboxed_code
        area = float(pixels[mine].sum())
        boxes.append(None if x1 - x0 < 1 or y1 - y0 < 1 or area <= 0 else (x0, y0, x1, y1))
        areas.append(area)
    return PaintedInstances(image, label, owner_arr, code_arr, boxes, areas, unboxed_code)
