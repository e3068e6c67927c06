"""Placing an instance in the image plane so that it overlaps earlier ones little (synthetic scenes).

Shared by the body (:mod:`.scene`) and hand (:mod:`.hand_scene`) layouts: a renderer knows an
instance's projected extent at its chosen depth, draws its image position uniformly from a
range and keeps the try whose box overlaps the instances placed so far the least (box IoU),
stopping early at the first acceptable one. A sibling layout (e.g. several faces) calls
:func:`place_box` the same way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "place_box"]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boxes ``x0, y0, x1, y1`` (px); the union is floored at 1e-6."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-6)


def place_box(
    rng: np.random.Generator,
    ext: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    others: list[np.ndarray],
    tries: int,
    max_overlap: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws an image position for an instance; of up to ``tries`` draws keeps the least overlapping.

    Args:
        rng: random generator (one ``uniform`` draw of 2 values per try).
        ext: ``(4,)`` extent ``x0, y0, x1, y1`` (px) of the instance relative to its anchor pixel.
        lo: ``(2,)`` one end of the anchor pixel's range (px); ``lo > hi`` is allowed (swapped).
        hi: ``(2,)`` the other end.
        others: boxes ``x0, y0, x1, y1`` (px) of the instances placed so far.
        tries: most draws (>= 1); stops early once the IoU is ``<= max_overlap``.
        max_overlap: largest acceptable IoU with any earlier box.

    Returns:
        ``(anchor pixel (2,), box x0, y0, x1, y1 (4,))`` of the kept draw.
    """
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(tries):
        uv = rng.uniform(np.minimum(lo, hi), np.maximum(lo, hi))
        box = np.concatenate([uv + ext[:2], uv + ext[2:]])
        overlap = max([box_iou(box, o) for o in others], default=0.0)
        if best is None or overlap < best[0]:
            best = (overlap, uv, box)
        if overlap <= max_overlap:
            break
    assert best is not None
    return best[1], best[2]
