"""CocoKeypointEvaluator: rescoring, OKS-NMS, and agreement with a directly-run pycocotools.

Real-data tests read ``../shared/realdata/coco/test_coco.json`` (4 COCO val2017 images,
14 persons, 2 of them without labelled keypoints) and skip when that folder is absent.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest

from landmarks.layouts.spec import COCO17_SIGMAS
from landmarks.metrics.coco import STAT_NAMES, CocoKeypointEvaluator, rescore, to_results

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "coco" / "test_coco.json"


@pytest.fixture(scope="module")
def coco_gt() -> dict:
    if not REALDATA.is_file():
        pytest.skip(f"real COCO sample not found at {REALDATA} (the shared realdata folder is absent)")
    return json.loads(REALDATA.read_text())


def _gt_arrays(gt: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Annotations with labelled keypoints: image ids (N,), keypoints (N,17,2), vis (N,17), box areas (N,)."""
    anns = [a for a in gt["annotations"] if a["num_keypoints"] > 0]
    kp = np.array([a["keypoints"] for a in anns], dtype=np.float64).reshape(len(anns), 17, 3)
    ids = np.array([a["image_id"] for a in anns])
    areas = np.array([a["bbox"][2] * a["bbox"][3] for a in anns])
    return ids, kp[..., :2], kp[..., 2], areas


def _pycocotools(gt: dict, results: list[dict]) -> np.ndarray:
    """COCOeval('keypoints').stats run directly on the given results."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(gt)
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(copy.deepcopy(results)), "keypoints")
        ev.params.kpt_oks_sigmas = np.array(COCO17_SIGMAS)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def test_rescore_and_to_results() -> None:
    # box 0.5 x mean(0.3, 0.5) (0.1 is not above 0.2) = 0.2; no keypoint above 0.2 -> 0
    kpt = np.array([[0.1, 0.3, 0.5], [0.1, 0.2, 0.05]])
    np.testing.assert_allclose(rescore(kpt, np.array([0.5, 0.9]), score_thr=0.2), [0.2, 0.0])
    xy = np.array([[[1.5, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    res = to_results(np.array([42]), xy, kpt[:1], np.array([0.2]))
    assert res == [
        {"image_id": 42, "category_id": 1, "score": 0.2, "keypoints": [1.5, 2.0, 0.1, 3.0, 4.0, 0.3, 5.0, 6.0, 0.5]}
    ]
    json.dumps(res)  # plain Python numbers


def test_synthetic_missing_image_gives_hand_computed_ap() -> None:
    # two images, one large person each; only image 1 gets a (perfect) prediction
    kp = np.stack([np.linspace(100, 260, 17), np.linspace(50, 370, 17)], axis=1)
    anns = [
        {
            "id": i,
            "image_id": i,
            "category_id": 1,
            "iscrowd": 0,
            "area": 20000.0,
            "num_keypoints": 17,
            "bbox": [90.0, 40.0, 180.0, 340.0],
            "keypoints": np.concatenate([kp, np.full((17, 1), 2.0)], 1).ravel().tolist(),
        }
        for i in (1, 2)
    ]
    gt = {"images": [{"id": 1}, {"id": 2}], "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    ev = CocoKeypointEvaluator(COCO17_SIGMAS)
    ev.add_ground_truth(gt)
    ev.add_predictions(np.array([1]), kp[None], np.ones((1, 17)), np.ones(1), np.array([61200.0]))
    out = ev.compute()
    # recall reaches 1/2 with precision 1: recall thresholds 0.00 .. 0.50 (51 of 101) score 1 -> AP = 51/101
    assert out["ap"] == pytest.approx(51 / 101, abs=1e-12)
    assert out["ar"] == pytest.approx(0.5) and out["apl"] == pytest.approx(51 / 101, abs=1e-12)
    assert out["apm"] == -1.0  # no medium ground truth: pycocotools reports -1
    ev.add_predictions(np.array([99]), kp[None], np.ones((1, 17)), np.ones(1), np.ones(1))
    with pytest.raises(ValueError, match=r"image id\(s\) \[99\] not in the ground truth"):
        ev.compute()


def test_validation_errors() -> None:
    ev = CocoKeypointEvaluator(COCO17_SIGMAS)
    with pytest.raises(ValueError, match="no ground truth"):
        ev.compute()
    with pytest.raises(ValueError, match="'annotations'"):
        ev.add_ground_truth({"images": [], "categories": []})
    bad = {
        "id": 1,
        "image_id": 1,
        "category_id": 1,
        "keypoints": [0] * 30,
        "num_keypoints": 0,
        "area": 1,
        "bbox": [0] * 4,
    }
    with pytest.raises(ValueError, match="30 keypoint values, expected 51"):
        ev.add_ground_truth({"images": [{"id": 1}], "annotations": [bad], "categories": []})
    with pytest.raises(ValueError, match=r"keypoints \(1, 5, 2\)"):
        ev.add_predictions(np.array([1]), np.zeros((1, 5, 2)), np.zeros((1, 5)), np.ones(1), np.ones(1))


def test_realdata_ground_truth_as_predictions_is_perfect(coco_gt: dict) -> None:
    ids, kp, _, areas = _gt_arrays(coco_gt)
    assert len(ids) == 12  # 14 persons, 2 without labelled keypoints
    ev = CocoKeypointEvaluator(COCO17_SIGMAS)
    ev.add_ground_truth(coco_gt)
    ev.add_predictions(ids, kp, np.ones((len(ids), 17)), np.ones(len(ids)), areas)
    out = ev.compute()
    assert set(out) == set(STAT_NAMES)
    for name in STAT_NAMES:
        assert out[name] == pytest.approx(1.0), name


def test_realdata_empty_predictions(coco_gt: dict) -> None:
    ev = CocoKeypointEvaluator(COCO17_SIGMAS)
    ev.add_ground_truth(coco_gt)
    assert ev.results() == []
    # every area range has ground truth, so pycocotools gives 0 (not -1) everywhere
    assert ev.compute() == {name: 0.0 for name in STAT_NAMES}


def test_realdata_perturbed_matches_pycocotools(coco_gt: dict) -> None:
    rng = np.random.default_rng(0)
    ids, kp, _, areas = _gt_arrays(coco_gt)
    keep = ids != 196141  # no predictions at all for one image
    n = int(keep.sum())
    noisy = kp[keep] + rng.normal(0.0, 6.0, size=(n, 17, 2))
    kpt_scores = rng.uniform(0.05, 1.0, size=(n, 17))
    box_scores = rng.uniform(0.3, 1.0, size=n)
    ev = CocoKeypointEvaluator(COCO17_SIGMAS)
    ev.add_ground_truth(coco_gt)
    arrays = (ids[keep], noisy, kpt_scores, box_scores, areas[keep])
    half = n // 2  # two batches, as a validation loop would add them
    ev.add_predictions(*(a[:half] for a in arrays))
    ev.add_predictions(*(a[half:] for a in arrays))
    results = ev.results()
    assert len(results) == n
    ours = ev.compute()
    ref = _pycocotools(coco_gt, results)
    np.testing.assert_allclose([ours[k] for k in STAT_NAMES], ref, rtol=0, atol=1e-9)
    assert 0.2 < ours["ap"] < 0.95  # a real, non-trivial number
    ev.reset()
    assert ev.results() == []


def test_realdata_oks_nms_removes_interleaved_duplicates(coco_gt: dict) -> None:
    ids, kp, _, areas = _gt_arrays(coco_gt)
    n = len(ids)
    # person i scores 1 - 0.05 i, its exact duplicate 0.02 less: sorted detections interleave
    # true positive, duplicate (false positive), true positive, ... so precision falls below 1
    box = np.concatenate([1.0 - 0.05 * np.arange(n), 0.98 - 0.05 * np.arange(n)])
    args = (
        np.concatenate([ids, ids]),
        np.concatenate([kp, kp]),
        np.ones((2 * n, 17)),
        box,
        np.concatenate([areas, areas]),
    )
    with_nms = CocoKeypointEvaluator(COCO17_SIGMAS, use_oks_nms=True)
    without = CocoKeypointEvaluator(COCO17_SIGMAS, use_oks_nms=False)
    for ev in (with_nms, without):
        ev.add_ground_truth(coco_gt)
        ev.add_predictions(*args)
    assert len(with_nms.results()) == n and len(without.results()) == 2 * n
    assert with_nms.compute()["ap"] == pytest.approx(1.0)
    ap_without = without.compute()["ap"]
    assert ap_without < 0.9
    assert ap_without == pytest.approx(_pycocotools(coco_gt, without.results())[0], abs=1e-9)
