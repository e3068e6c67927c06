"""Hand-computed checks of landmarks.metrics.functional / .oks and the torchmetrics wrappers.

Distances are chosen dyadic (powers of two) where a comparison sits exactly on a threshold,
so the tie rules (PCK strict ``<``, PCKh / PDJ inclusive ``<=``) are tested without float noise.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
import torch

from landmarks.layouts.spec import coco17, mpii16
from landmarks.metrics import functional as F
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
from landmarks.metrics.oks import oks, oks_nms
from landmarks.types import Prediction


def _update(metric, pred, gt, mask, **meta) -> None:  # noqa: ANN001 - the metric's update(prediction, meta)
    n, k = np.shape(gt)[:2]
    metric.update(
        Prediction(np.asarray(pred), np.ones((n, k))),
        {"keypoints": gt, "visible": np.asarray(mask, np.float32) * 2, **meta},
    )


def _offset(errors_x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``gt`` at the origin, ``pred`` shifted by ``errors_x`` px along x: ``(N, K, 2)`` each."""
    errors_x = np.asarray(errors_x, dtype=np.float64)
    gt = np.zeros(errors_x.shape + (2,))
    pred = gt.copy()
    pred[..., 0] = errors_x
    return pred, gt


def test_keypoint_distances_masks_and_norms() -> None:
    gt = np.array([[[0.0, 0.0], [10.0, 0.0], [0.0, 0.0]]])
    pred = np.array([[[3.0, 4.0], [10.0, 0.0], [6.0, 8.0]]])
    mask = np.array([[True, True, False]])
    # |(3,4)| = 5 -> 5/10 = 0.5; exact hit -> 0; masked -> -1
    np.testing.assert_allclose(F.keypoint_distances(pred, gt, mask, np.array([10.0]))[0], [0.5, 0.0, -1.0])
    # per-axis norm (5, 10): sqrt((3/5)^2 + (4/10)^2) = sqrt(0.52)
    d = F.keypoint_distances(pred, gt, mask, np.array([[5.0, 10.0]]))
    assert d[0, 0] == pytest.approx(math.sqrt(0.52), abs=1e-12)
    # a zero normaliser invalidates the whole sample; a NaN prediction is a miss (inf)
    assert np.all(F.keypoint_distances(pred, gt, mask, np.array([0.0])) == -1)
    pred_nan = pred.copy()
    pred_nan[0, 1] = np.nan
    assert F.keypoint_distances(pred_nan, gt, mask, np.array([10.0]))[0, 1] == np.inf


def test_pck_bbox_normalised_strict_threshold() -> None:
    bboxes = np.array([[0.0, 0.0, 16.0, 8.0], [5.0, 5.0, 4.0, 32.0]])
    norm = F.bbox_norm(bboxes)
    np.testing.assert_array_equal(norm, [16.0, 32.0])  # max(w, h)
    # errors px -> normalised: s0 [2, 6, 0, -] / 16 = [0.125, 0.375, 0, -]
    #                          s1 [8, 4, 16, -] / 32 = [0.25, 0.125, masked, -]
    pred, gt = _offset([[2.0, 6.0, 0.0, 0.0], [8.0, 4.0, 16.0, 0.0]])
    mask = np.array([[True, True, True, False], [True, True, False, False]])
    acc, mean, count = F.pck(pred, gt, mask, norm, thr=0.25)
    # kp0: 0.125 < .25 yes, 0.25 < .25 no -> 1/2; kp1: no, yes -> 1/2; kp2: yes -> 1; kp3: no data
    np.testing.assert_allclose(acc[:3], [0.5, 0.5, 1.0])
    assert np.isnan(acc[3])
    assert mean == pytest.approx(2.0 / 3.0) and count == 3
    # PDJ is inclusive: kp0 becomes 2/2 -> mean (1 + .5 + 1) / 3
    acc_pdj, mean_pdj, count_pdj = F.pdj(pred, gt, mask, norm, frac=0.25)
    np.testing.assert_allclose(acc_pdj[:3], [1.0, 0.5, 1.0])
    assert mean_pdj == pytest.approx(2.5 / 3.0) and count_pdj == 3
    # nothing valid -> mean 0.0, count 0
    assert F.pck(pred, gt, np.zeros_like(mask), norm, 0.25)[1:] == (0.0, 0)


def test_torso_diameter() -> None:
    kp = np.zeros((2, 3, 2))
    kp[:, 2] = [3.0, 4.0]  # |(3, 4) - (0, 0)| = 5
    np.testing.assert_allclose(F.torso_diameter(kp, pair=(0, 2)), [5.0, 5.0])
    vis = np.array([[2, 2, 2], [2, 2, 0]])
    np.testing.assert_allclose(F.torso_diameter(kp, pair=(0, 2), visible=vis), [5.0, 0.0])


def test_pckh_head_size_and_inclusive_threshold() -> None:
    boxes = np.array([[[0.0, 0.0], [30.0, 40.0]], [[10.0, 10.0], [40.0, 50.0]]])
    heads = F.mpii_head_size(boxes)
    np.testing.assert_allclose(heads, [30.0, 30.0])  # 0.6 * |(30, 40)| = 0.6 * 50
    # s0 errors [15, 16, 3] / 30 = [0.5, 0.533, 0.1]; s1 [0, 3, masked]
    pred, gt = _offset([[15.0, 16.0, 3.0], [0.0, 3.0, 0.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    acc, mean, count = F.pckh(pred, gt, mask, heads, thr=0.5)
    # kp0: 0.5 <= .5 yes, yes -> 1; kp1: no, yes -> .5; kp2: yes -> 1; pooled 4 / 5
    np.testing.assert_allclose(acc, [1.0, 0.5, 1.0])
    assert mean == pytest.approx(0.8) and count == 5
    # the same errors under PCK's strict rule miss the tie at kp0
    assert F.pck(pred, gt, mask, heads, thr=0.5)[0][0] == pytest.approx(0.5)


def _mpii_example() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two MPII samples, head size 8 px (errors along x, px)."""
    err = np.zeros((2, 16))
    err[0, 9] = 5.0  # head_top 0.625: miss
    err[0, 10] = 4.0  # r_wrist 0.5: hit at .5 (inclusive), miss at .1
    err[0, 5] = 16.0  # l_ankle 2.0: miss
    err[0, 6] = err[0, 7] = 100.0  # pelvis, thorax: misses that MPII does not score
    err[1, 15] = 0.5  # l_wrist 0.0625: hit at .5 and .1
    err[1, 1] = 1.0  # r_knee 0.125: hit at .5, miss at .1
    mask = np.ones((2, 16), dtype=bool)
    mask[1, 8] = False  # upper_neck unlabelled in s1
    pred, gt = _offset(err)
    return pred, gt, mask, np.array([8.0, 8.0])


def test_pckh_mpii_table() -> None:
    pred, gt, mask, heads = _mpii_example()
    table = F.pckh_mpii_table(pred, gt, mask, heads, thr=0.5)
    # per joint: upper_neck 1/1, head_top 1/2 -> Head (1 + .5) / 2; ankles r 1, l 1/2 -> .75
    expected = {
        "Head": 0.75,
        "Shoulder": 1.0,
        "Elbow": 1.0,
        "Wrist": 1.0,
        "Hip": 1.0,
        "Knee": 1.0,
        "Ankle": 0.75,
        "UBody": 1.0,
    }
    for key, value in expected.items():
        assert table[key] == pytest.approx(value), key
    # 14 scored joints x 2 samples - 1 unlabelled = 27; misses @.5: head_top, l_ankle -> 25/27
    assert table["Mean"] == pytest.approx(25.0 / 27.0)
    # misses @.1 add r_wrist (s0) and r_knee (s1) -> 23/27
    assert table["Mean@0.1"] == pytest.approx(23.0 / 27.0)
    # plain pckh pools all 16 joints: 31 valid, 4 misses (incl. pelvis, thorax)
    assert F.pckh(pred, gt, mask, heads, 0.5)[1] == pytest.approx(27.0 / 31.0)
    with pytest.raises(ValueError, match="16 MPII"):
        F.pckh_mpii_table(pred[:, :15], gt[:, :15], mask[:, :15], heads)


def test_epe() -> None:
    gt = np.zeros((2, 3, 2))
    pred = np.array([[[3.0, 4.0], [0.0, 0.0], [99.0, 0.0]], [[0.0, 10.0], [50.0, 0.0], [50.0, 0.0]]])
    mask = np.array([[True, True, False], [True, False, False]])
    assert F.epe(pred, gt, mask) == pytest.approx((5.0 + 0.0 + 10.0) / 3.0)
    assert math.isnan(F.epe(pred, gt, np.zeros_like(mask)))


def test_pck_auc_hand_benchmark_grid() -> None:
    np.testing.assert_allclose(F.default_auc_thresholds(), 1.5 * np.arange(20))
    pred, gt = _offset([[3.0, 15.0]])
    mask = np.ones((1, 2), dtype=bool)
    # kp0 (3 px) correct for 1.5 i > 3 -> i = 3..19: 17/20; kp1 (15 px) for i = 11..19: 9/20
    assert F.pck_auc(pred, gt, mask) == pytest.approx((17 / 20 + 9 / 20) / 2)
    # custom grid [0, 10, 20]: kp0 [0, 1, 1], kp1 (15 px) [0, 0, 1] -> mean over kps [0, .5, 1] -> 1/2
    assert F.pck_auc(pred, gt, mask, np.array([0.0, 10.0, 20.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="evenly spaced"):
        F.pck_auc(pred, gt, mask, np.array([0.0, 1.0, 5.0]))


def test_auc_from_errors() -> None:
    # t = [0, 1, 2], CED = [1/3, 2/3, 2/3]; trapezoid (1/3 + 2/3)/2 + (2/3 + 2/3)/2 = 7/6; / 2
    assert F.auc_from_errors(np.array([0.0, 1.0, 4.0]), max_thr=2.0, step=1.0) == pytest.approx(7.0 / 12.0)
    assert F.auc_from_errors(np.zeros(5), 0.1, 1e-4) == pytest.approx(1.0)
    assert F.auc_from_errors(np.full(5, 0.2), 0.1, 1e-4) == 0.0
    assert math.isnan(F.auc_from_errors(np.array([]), 0.1, 1e-4))


def test_oks_hand_computed() -> None:
    sigmas = np.array([0.1, 0.1, 0.1])
    gt = np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 9.0]])
    pred = np.array([[2.0, 0.0], [5.0, 5.0], [500.0, 500.0]])
    # kp0: d^2 = 4, var = (2 * 0.1)^2 = 0.04, e = 4 / 0.04 / 100 / 2 = 0.5; kp1: e = 0; kp2 unlabelled
    expected = (math.exp(-0.5) + 1.0) / 2.0  # 0.80326...
    assert oks(pred, gt, np.array([2, 1, 0]), 100.0, sigmas) == pytest.approx(expected, abs=1e-12)
    assert oks(pred, gt, np.zeros(3), 100.0, sigmas) == 0.0
    assert F.oks is oks  # re-exported from functional


def test_oks_matches_pycocotools_compute_oks() -> None:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    k = 5
    sigmas = np.array([0.026, 0.079, 0.072, 0.107, 0.089])
    gt_kp = rng.uniform(20, 120, size=(2, k, 2))
    vis = np.array([[2, 1, 0, 2, 2], [0, 2, 2, 2, 1]])
    areas = [3000.0, 1500.0]
    anns = [
        {
            "id": j + 1,
            "image_id": 7,
            "category_id": 1,
            "iscrowd": 0,
            "area": areas[j],
            "bbox": [10, 10, 120, 120],
            "num_keypoints": int((vis[j] > 0).sum()),
            "keypoints": np.concatenate([gt_kp[j], vis[j, :, None]], 1).ravel().tolist(),
        }
        for j in range(2)
    ]
    gt_dict = {
        "images": [{"id": 7, "width": 200, "height": 200}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "person"}],
    }
    dt_kp = np.concatenate([gt_kp + rng.normal(0, 4, size=gt_kp.shape), gt_kp[:1] + 9.0])
    scores = [0.9, 0.8, 0.7]  # already sorted: COCOeval's ious rows follow descending score
    results = [
        {
            "image_id": 7,
            "category_id": 1,
            "score": s,
            "keypoints": np.concatenate([dt_kp[i], np.ones((k, 1))], 1).ravel().tolist(),
        }
        for i, s in enumerate(scores)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt_dict
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(results), "keypoints")
        ev.params.kpt_oks_sigmas = sigmas
        ev.evaluate()
    ref = ev.ious[(7, 1)]
    assert ref.shape == (3, 2)
    ours = np.array([[oks(dt_kp[i], gt_kp[j], vis[j], areas[j], sigmas) for j in range(2)] for i in range(3)])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert ours.min() < 0.9  # not trivially all ~1


def test_oks_nms_drops_duplicate_keeps_distant() -> None:
    sigmas = np.full(3, 0.1)
    a = np.array([[10.0, 10.0], [20.0, 10.0], [15.0, 30.0]])
    poses = np.stack([a, a + 300.0, a])  # 0: A, 1: far away, 2: exact duplicate of A
    kept = oks_nms(poses, np.array([0.8, 0.5, 0.7]), np.full(3, 400.0), sigmas, thr=0.9)
    np.testing.assert_array_equal(kept, [0, 1])  # duplicate (OKS 1) dropped, highest score first
    # K = 1, d^2 = 4, areas 100: OKS = exp(-4 / 0.04 / 100 / 2) = exp(-0.5) = 0.6065
    one = np.array([[[0.0, 0.0]], [[2.0, 0.0]]])
    args = (one, np.array([0.9, 0.6]), np.array([100.0, 100.0]), np.array([0.1]))
    np.testing.assert_array_equal(oks_nms(*args, thr=0.9), [0, 1])
    np.testing.assert_array_equal(oks_nms(*args, thr=0.6), [0])


def test_pck_metric_matches_functional_over_batches() -> None:
    pred, gt = _offset([[2.0, 6.0, 0.0], [8.0, 4.0, 16.0]])
    mask = np.array([[True, True, True], [True, True, False]])
    boxes = np.array([[0.0, 0.0, 16.0, 8.0], [5.0, 5.0, 4.0, 32.0]])
    metric = PCKMetric(thr=0.25, auc_max_thr=30.0, auc_num_thrs=3)  # thresholds 0, 10, 20 px
    assert metric.compute() == {}
    for i in range(2):  # two batches of one, torch and numpy inputs mixed
        sl = slice(i, i + 1)
        _update(metric, pred[sl], torch.from_numpy(gt[sl]), mask[sl], bbox=torch.from_numpy(boxes[sl]))
    out = metric.compute()
    assert out["pck"] == pytest.approx(2.0 / 3.0)  # as in test_pck_bbox_normalised_strict_threshold
    assert out["epe"] == pytest.approx((2 + 6 + 0 + 8 + 4) / 5)
    # errors [2, 6, 0 | 8, 4]: kp0 [0, 1, 1], kp1 [0, 1, 1], kp2 [0, 1, 1] -> 2/3
    assert out["auc"] == pytest.approx(2.0 / 3.0)
    metric.reset()
    assert metric.compute() == {}


def test_pckh_metric_mpii_table() -> None:
    pred, gt, mask, heads = _mpii_example()
    plain = PCKhMetric(thr=0.5, mpii=False)
    _update(plain, pred, gt, mask, head_size=heads)
    assert plain.compute() == {"pckh": pytest.approx(27.0 / 31.0)}
    mpii = PCKhMetric(spec=mpii16(), thr=0.5)  # the MPII layout: its table, Mean without pelvis and thorax
    _update(mpii, pred[:1], gt[:1], mask[:1], head_size=heads[:1])
    _update(mpii, pred[1:], gt[1:], mask[1:], head_size=heads[1:])
    out = mpii.compute()
    assert out["pckh"] == pytest.approx(25.0 / 27.0)
    assert out["pckh@0.1"] == pytest.approx(23.0 / 27.0)
    assert out["pckh_head"] == pytest.approx(0.75) and out["pckh_ankle"] == pytest.approx(0.75)


def test_pdj_metric_coco_torso() -> None:
    gt = np.zeros((2, 17, 2))
    gt[:, 12] = [30.0, 40.0]  # left shoulder (5) at 0, right hip (12) at (30, 40): torso 50 px
    pred = gt.copy()
    pred[0, 0, 0] += 10.0  # nose off by 10 = 0.2 * 50: detected (inclusive)
    pred[0, 9, 0] += 11.0  # left wrist off by 11 > 10: missed
    mask = np.ones((2, 17), dtype=bool)
    mask[1, 12] = False  # sample 1 has no right hip -> no torso -> skipped entirely
    pred[1] += 1000.0
    metric = PDJMetric(spec=coco17(), frac=0.2)  # the layout's torso pair: (5, 12)
    _update(metric, pred, gt, mask)
    # only sample 0 counts: 16 of 17 joints detected, one joint per keypoint -> mean 16/17
    assert metric.compute()["pdj"] == pytest.approx(16.0 / 17.0)
