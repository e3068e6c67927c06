"""CenterNet codec: Gaussian radius cases, targets, exact round trip, 3x3 peak NMS, top-k, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landmarks.codecs.centernet import CenterNetCodec, gaussian_radius
from landmarks.codecs.protocol import BoxCodec


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """IoU of two ``x0, y0, x1, y1`` boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize(("w", "h"), [(10.0, 10.0), (30.0, 8.0), (4.0, 50.0)])
def test_gaussian_radius_keeps_the_overlap_in_all_three_cases(w: float, h: float) -> None:
    r = gaussian_radius(h, w, 0.7)
    box = (0.0, 0.0, w, h)
    shifted = _iou(box, (r, r, w + r, h + r))  # case 1: both corners shift the same way
    smaller = _iou(box, (r, r, w - r, h - r))  # case 2: both inwards
    larger = _iou(box, (-r, -r, w + r, h + r))  # case 3: both outwards
    ious = [shifted, smaller, larger]
    assert min(ious) == pytest.approx(0.7, abs=1e-9)  # the binding case sits exactly on the overlap
    assert all(v >= 0.7 - 1e-9 for v in ious)


def test_gaussian_radius_hand_computed_square() -> None:
    # 10 x 10, o = 0.7: case 1 root (20 - sqrt(400 - 400 * 0.3 / 1.7)) / 2, case 2 (20 - sqrt(400 - 120)) / 4,
    # case 3 (-14 + sqrt(196 + 84)) / 2.8; the smallest is case 2 (0.8167).
    r1 = (20 - math.sqrt(400 - 400 * 0.3 / 1.7)) / 2
    r2 = (20 - math.sqrt(280)) / 4
    r3 = (-14 + math.sqrt(280)) / 2.8
    assert gaussian_radius(10, 10, 0.7) == pytest.approx(min(r1, r2, r3))
    assert min(r1, r2, r3) == pytest.approx(0.816699, abs=1e-6)


def test_encode_targets() -> None:
    codec = CenterNetCodec((64, 32), ["person", "hand"], stride=4, max_objects=4)
    assert isinstance(codec, BoxCodec)
    t = codec.encode(np.array([[10.0, 6.0, 20.0, 12.0]]), np.array([1]))  # centre (20, 12) -> cell (5, 3), offset 0
    assert t["heatmap"].shape == (2, 8, 16) and t["heatmap"][0].max() == 0.0
    assert t["heatmap"][1, 3, 5] == 1.0 and t["heatmap"][1].max() == 1.0
    assert t["reg_weight"][3, 5] == 1.0 and t["reg_weight"].sum() == 1.0 and t["num_objects"] == 1.0
    np.testing.assert_allclose(t["size"][:, 3, 5], [5.0, 3.0])  # heatmap px
    np.testing.assert_allclose(t["offset"][:, 3, 5], [0.0, 0.0])
    t = codec.encode(np.array([[11.0, 7.0, 20.0, 12.0]]), np.array([0]), class_mask=np.array([1, 0]))
    np.testing.assert_allclose(t["offset"][:, 3, 5], [0.25, 0.25])  # centre (21, 13) / 4 = (5.25, 3.25)
    assert t["class_weight"].tolist() == [1.0, 0.0]


def test_regression_region_weights_and_targets() -> None:
    codec = CenterNetCodec((64, 64), ["person"], stride=4, regress_area=0.5)
    t = codec.encode(np.array([[8.0, 4.0, 32.0, 48.0], [44.0, 44.0, 8.0, 8.0]]), np.array([0, 0]))
    # the 8 x 12 heatmap-px box regresses x in 6 +- 2 and y in 7 +- 3: 5 x 7 cells; the small one only its centre
    w = t["reg_weight"]
    assert np.count_nonzero(w) == 5 * 7 + 1 and w.sum() == pytest.approx(2.0)
    assert w[7, 6] == w[:12].max() and w[12, 12] == pytest.approx(1.0)
    sx, sy = 0.5 * 8 / 6, 0.5 * 12 / 6  # elliptical Gaussian, sigma = regress_area * size / 6
    assert w[7, 8] / w[7, 6] == pytest.approx(np.exp(-4 / (2 * sx * sx)), rel=1e-5)
    assert w[10, 6] / w[7, 6] == pytest.approx(np.exp(-9 / (2 * sy * sy)), rel=1e-5)
    np.testing.assert_allclose(t["size"][:, 4, 4], [8.0, 12.0])  # every region cell: the same size
    np.testing.assert_allclose(t["offset"][:, 4, 4], [6.0 - 4.0, 7.0 - 4.0])  # and the vector to the centre


def _perfect(codec: CenterNetCodec, t: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The head output a perfect model gives for targets ``t`` (logits of the heatmap, the target maps)."""
    heat = torch.logit(torch.from_numpy(t["heatmap"])[None].double().clamp(1e-9, 1 - 1e-9))
    return {"heatmap": heat, "size": torch.from_numpy(t["size"])[None], "offset": torch.from_numpy(t["offset"])[None]}


@pytest.mark.parametrize("area", [0.0, 0.54])
def test_round_trip_is_exact(area: float) -> None:
    codec = CenterNetCodec((96, 64), ["person", "hand", "face"], stride=4, regress_area=area)
    boxes = np.array([[5.3, 7.9, 30.2, 40.7], [50.0, 2.5, 20.0, 18.0], [70.1, 30.3, 12.0, 25.0]])
    labels = np.array([0, 2, 1])
    out, scores, got = codec.decode(_perfect(codec, codec.encode(boxes, labels)))
    top = scores[0] > 0.999
    assert top.sum() == 3 and scores[0][3] < 0.999  # exactly the three centres score 1
    order = np.argsort(out[0][top][:, 0])
    np.testing.assert_allclose(out[0][top][order], boxes, atol=1e-4)
    assert got[0][top][order].tolist() == labels.tolist()


def test_a_smaller_neighbours_region_never_takes_a_centre_cell() -> None:
    # a tall box (5 x 18 cells, centre cell (8, 11)) and a smaller wide one (10 x 2 cells, area 320 < 1440 px^2,
    # centre cell (10, 11)) whose region (+- int(0.54 * 10 / 2) = 2 cells in x) reaches x 8..12
    codec = CenterNetCodec((64, 96), ["person"], stride=4, regress_area=0.54)
    boxes = np.array([[24.0, 8.0, 20.0, 72.0], [22.0, 42.0, 40.0, 8.0]])
    t = codec.encode(boxes, np.zeros(2, np.int64))
    np.testing.assert_allclose(t["size"][:, 11, 8], [5.0, 18.0])  # the tall box's own size at its centre cell
    np.testing.assert_allclose(t["offset"][:, 11, 8], [0.5, 0.0])  # centre (34, 44) / 4 = (8.5, 11)
    np.testing.assert_allclose(t["size"][:, 11, 9], [10.0, 2.0])  # a shared region cell: the smaller box
    out, scores, _ = codec.decode(_perfect(codec, t))
    found = out[0][scores[0] > 0.999]
    np.testing.assert_allclose(found[np.argsort(found[:, 0])], boxes[::-1], atol=1e-4)


def test_peak_nms_keeps_local_maxima_only_and_orders_by_score() -> None:
    codec = CenterNetCodec((32, 32), ["person"], stride=4, max_detections=3)
    heat = torch.full((1, 1, 8, 8), -10.0)
    heat[0, 0, 2, 2], heat[0, 0, 2, 3] = 3.0, 2.0  # a neighbour of a higher peak: suppressed
    heat[0, 0, 6, 6] = 1.0  # a separate, lower peak: kept
    zeros = torch.zeros(1, 2, 8, 8)
    boxes, scores, labels = codec.decode({"heatmap": heat, "size": zeros + 1.0, "offset": zeros})
    assert scores.shape == (1, 3) and labels.tolist() == [[0, 0, 0]]
    np.testing.assert_allclose(scores[0, :2], torch.sigmoid(torch.tensor([3.0, 1.0])).numpy(), rtol=1e-6)
    assert scores[0, 2] < 1e-4  # the next best surviving cell is background
    np.testing.assert_allclose(boxes[0, 0], [6.0, 6.0, 4.0, 4.0])  # cell (2, 2) * 4 = (8, 8), size 1 * 4


def test_encode_refuses_too_many_boxes_and_unknown_labels() -> None:
    codec = CenterNetCodec((32, 32), ["person"], stride=4, max_objects=1)
    with pytest.raises(ValueError, match="at most 1 boxes"):
        codec.encode(np.ones((2, 4)), np.zeros(2))
    with pytest.raises(ValueError, match=r"outside \[0, 1\)"):
        codec.encode(np.ones((1, 4)), np.array([1]))
    with pytest.raises(ValueError, match="category 'dog' is not one of the task's categories"):
        codec.label_of("dog", "frames.json frame 3")
    with pytest.raises(ValueError, match="multiples of stride"):
        CenterNetCodec((30, 32), ["person"], stride=4)
    with pytest.raises(ValueError, match="regress_area"):
        CenterNetCodec((32, 32), ["person"], regress_area=1.5)
