"""What a synthetic detection box bounds: the visible pixels (COCO) vs the whole silhouette, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.data.synthetic.body.figure import Part
from landmarks.data.synthetic.body.renderer import SyntheticBodySource
from landmarks.data.synthetic.common.raster import PaintedInstances, paint_instances
from landmarks.data.synthetic.frames import SyntheticFrames


def _rect(x0: float, y0: float, x1: float, y1: float) -> tuple:
    return ("poly", np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64), (200.0, 100.0, 50.0), True)


def _painted() -> PaintedInstances:
    """Person 0 (back) fills pixels x 10..49, y 10..29; person 1 (front) x 30..70, y 5..35, whose rows
    5..14 an occluder (x 25..75, y 0..14) hides."""
    items = [
        (3.0, 0, [Part(3.0, 1, [_rect(10, 10, 49, 29)])]),
        (2.0, 1, [Part(2.0, 1, [_rect(30, 5, 70, 35)])]),
        (1.0, -1, [Part(1.0, 0, [_rect(25, 0, 75, 14)])]),
    ]
    return paint_instances(np.zeros((40, 80, 3), np.uint8), items, 2, np.random.default_rng(0))


def test_visible_box_bounds_the_visible_pixels_only() -> None:
    p = _painted()
    # the silhouette boxes keep the hidden parts: the polygons' corners
    assert p.boxes[0] == pytest.approx((10, 10, 49, 29)) and p.boxes[1] == pytest.approx((30, 5, 70, 35))
    # visible: person 0 keeps columns 10..29 (person 1 covers 30..), rows 10..29; pixel centres at integers,
    # so the tight box is half a pixel beyond them
    assert p.visible_box(0) == pytest.approx((9.5, 9.5, 29.5, 29.5))
    assert p.visible_box(1) == pytest.approx((29.5, 14.5, 70.5, 35.5))  # rows 15..35 below the occluder
    assert p.box_of(0, "silhouette") == p.boxes[0] and p.box_of(1, "visible") == p.visible_box(1)
    assert p.areas == [20 * 20 - 5 * 5, 41 * 21]  # area already counted visible pixels (the occluder hides 25 of 0's)


def test_visible_box_is_clipped_to_the_image_and_none_when_hidden() -> None:
    items = [
        (2.0, 0, [Part(2.0, 1, [_rect(-5, 20, 10, 39)])]),  # cut by the left and bottom borders
        (3.0, 1, [Part(3.0, 1, [_rect(50, 10, 60, 20)])]),  # wholly behind the occluder
        (1.0, -1, [Part(1.0, 0, [_rect(45, 5, 65, 25)])]),
    ]
    p = paint_instances(np.zeros((40, 80, 3), np.uint8), items, 2, np.random.default_rng(0))
    assert p.visible_box(0) == pytest.approx((0.0, 19.5, 10.5, 39.5))
    assert p.visible_box(1) is None and p.boxes[1] is None and p.box_of(1, "visible") is None


def test_synthetic_people_with_visible_boxes() -> None:
    kw = {"num_images": 12, "image_size": (160, 128), "split": "val", "seed": 5, "occluder_prob": 1.0}
    full = SyntheticFrames({"person": SyntheticBodySource(**kw)})
    seen = SyntheticFrames({"person": SyntheticBodySource(**kw, box="visible")})
    shrunk = 0
    for i in range(len(full)):
        a, b = full[i], seen[i]
        np.testing.assert_array_equal(a["image"], b["image"])  # same picture, same instances
        assert len(a["boxes"]) == len(b["boxes"])
        for (x, y, w, h), (u, v, s, t) in zip(a["boxes"], b["boxes"]):
            # inside, up to rasterisation: the id buffer rounds line widths and pixels reach half a pixel out
            assert u >= x - 1.5 and v >= y - 1.5 and u + s <= x + w + 1.5 and v + t <= y + h + 1.5
            shrunk += s * t < 0.9 * w * h
    assert shrunk > 0  # somebody was partly hidden
    with pytest.raises(ValueError, match="box 'amodal'"):
        SyntheticBodySource(box="amodal")
