"""CocoKeypointSource's ground truth: every record checked at start-up, fills, and coco_dict
built from the records the reader kept (the one source of truth of the COCO evaluator)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.coco_wholebody import CocoWholeBodyPartSource
from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.spec import coco17

K = 17


def _write(root: Path, anns: list[dict], n_images: int = 3, **top: Any) -> Path:
    images = []
    for i in range(n_images):
        cv2.imwrite(str(root / f"img{i}.png"), np.full((48, 64, 3), 40 * (i + 1), np.uint8))
        images.append({"id": i + 1, "file_name": f"img{i}.png", "width": 64, "height": 48})
    doc = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}], **top}
    path = root / "ann.json"
    path.write_text(json.dumps(doc))
    return path


def _ann(ann_id: int, image_id: int = 1, **kw: Any) -> dict:
    kpts = [v for j in range(K) for v in (10.0 + 2 * j, 12.0 + j, 2)]
    return {
        "id": ann_id,
        "image_id": image_id,
        "bbox": [5.0, 5.0, 50.0, 35.0],
        "keypoints": kpts,
        "num_keypoints": K,
        "iscrowd": 0,
        "area": 1000.0,
        "category_id": 1,
        **kw,
    }


def _unlabelled(ann_id: int, **kw: Any) -> dict:
    return _ann(ann_id, keypoints=[0] * (3 * K), num_keypoints=0, **kw)


def _nan_keypoint(ann_id: int) -> dict:
    ann = _ann(ann_id)
    ann["keypoints"][3 * 5 + 1] = float("nan")  # y of keypoint 5 (left_shoulder)
    return ann


# ---------------------------------------------------------------------------- one bad field each
@pytest.mark.parametrize(
    ("ann", "expected"),
    [
        (_unlabelled(9, bbox=[10.0, 10.0, -5.0, 20.0]), r"annotation id 9\): field 'bbox': expected w > 0 and h > 0"),
        (_ann(9, iscrowd=1, bbox=[200.0, 5.0, 10.0, 10.0]), r"annotation id 9\): field 'bbox'.*fully outside"),
        (
            _nan_keypoint(9),
            r"annotation id 9\): field 'keypoints': expected finite numbers, got nan as y of keypoint 5 "
            r"\(left_shoulder\)",
        ),
        (_ann(9, bbox=[5.0, float("inf"), 10.0, 10.0]), r"annotation id 9\): field 'bbox'.*inf"),
        (_ann(9, area=float("nan")), r"annotation id 9\): field 'area': expected a finite number >= 0, got nan"),
        (_ann(9, area=-3.0), r"field 'area': expected a finite number >= 0, got -3.0"),
        (_ann(9, iscrowd=float("nan")), r"annotation id 9\): field 'iscrowd': expected 0 or 1"),
        (_ann(9, num_keypoints=2.5), r"field 'num_keypoints'"),
        (_ann(9, category_id="person"), r"annotation id 9\): field 'category_id'"),
        ({k: v for k, v in _ann(9).items() if k != "category_id"}, r"field 'category_id'.*no such field"),
        ({k: v for k, v in _ann(9).items() if k != "id"}, r"\(annotations\[1\]\): field 'id': expected an integer"),
        (_ann(1), r"\(annotations\[1\]\): field 'id': expected unique annotation ids, got id 1 again"),
        (_unlabelled(9, image_id=7), r"annotation id 9\): field 'image_id'"),
    ],
)
def test_every_annotation_is_checked_at_start_up(tmp_path: Path, ann: dict, expected: str) -> None:
    path = _write(tmp_path, [_ann(1), ann])
    with pytest.raises(AnnotationError, match=r"ann\.json \(" + expected if expected.startswith("ann") else expected):
        CocoKeypointSource(str(path), str(tmp_path))


def test_detection_mode_checks_the_ground_truth_too(tmp_path: Path) -> None:
    path = _write(tmp_path, [_ann(1), _nan_keypoint(2)])
    det = tmp_path / "dets.json"
    det.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 20, 20], "score": 0.9}]))
    with pytest.raises(AnnotationError, match=r"ann\.json \(annotation id 2\): field 'keypoints'.*nan"):
        CocoKeypointSource(str(path), str(tmp_path), det_file=str(det))
    src = CocoKeypointSource(str(path), str(tmp_path), det_file=str(det), on_bad_sample="skip")
    assert [a["id"] for a in src.coco_dict["annotations"]] == [1] and len(src) == 1


# ---------------------------------------------------------------------------- the kept records
def test_coco_dict_holds_exactly_the_kept_records(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    anns = [
        _ann(1),  # kept, an instance
        _ann(7, keypoints=[1.0, 2.0, 2] * 16),  # wrong K: skipped
        _nan_keypoint(8),  # NaN keypoint: skipped
        _unlabelled(9, bbox=[10.0, 10.0, -5.0, 20.0]),  # negative box, no keypoints: skipped
        _ann(10, iscrowd=1, keypoints=[0] * (3 * K)),  # crowd: kept (COCOeval ignores its region)
        _unlabelled(11),  # no keypoints: kept (COCOeval ignores it)
        _ann(12, image_id=3),  # image file missing: skipped, image dropped
        _ann(13, image_id=2),  # kept, an instance
    ]
    path = _write(tmp_path, anns, info={"description": "carried over"})
    (tmp_path / "img2.png").unlink()
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    raw = json.loads(path.read_text())
    gt = src.coco_dict
    assert [a["id"] for a in gt["annotations"]] == [1, 10, 11, 13]
    assert gt["annotations"] == [a for a in raw["annotations"] if a["id"] in (1, 10, 11, 13)]  # values as in the file
    assert [im["id"] for im in gt["images"]] == [1, 2]
    assert gt["categories"] == raw["categories"] and gt["info"] == {"description": "carried over"}
    assert [s["id"] for s in (src[i] for i in range(len(src)))] == [1, 13]
    assert src.skipped_counts == {
        "iscrowd": 1,
        "no_keypoints": 1,
        "not_person": 0,
        "below_score_thr": 0,
        "bad_sample": 4,
    }
    assert src.raw_dict == raw  # the file itself stays available, unmodified
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 4 and all(str(path) in w for w in warnings)


def test_kept_dict_scores_a_perfect_prediction_ap_1(tmp_path: Path) -> None:
    # The raw file (NaN keypoint, wrong K) cannot be scored; the kept dict gives AP 1.0 to
    # predictions equal to the kept instances: the skipped records are not counted as misses.
    path = _write(tmp_path, [_ann(1), _nan_keypoint(2), _ann(3, keypoints=[1.0, 2.0, 2] * 16), _ann(4, image_id=2)])
    src = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in src.coco_dict["annotations"]
    ]
    gt = COCO()
    gt.dataset = copy.deepcopy(src.coco_dict)
    gt.createIndex()
    ev = COCOeval(gt, gt.loadRes(results), "keypoints")
    ev.params.kpt_oks_sigmas = np.asarray(coco17().sigmas)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_missing_area_iscrowd_num_keypoints_are_filled_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    drop = ("area", "iscrowd", "num_keypoints")
    anns = [{k: v for k, v in _ann(i, image_id=i).items() if k not in drop} for i in (1, 2)]
    anns[1]["keypoints"][2::3] = [0] * 10 + [1] * 7  # 7 labelled keypoints
    path = _write(tmp_path, anns, n_images=2)
    raw = json.loads(path.read_text())
    del raw["categories"]
    path.write_text(json.dumps(raw))
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(path), str(tmp_path))
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}: filled missing fields")
    for rule in (
        "'area' in 2 of 2 annotations with box w*h",
        "'iscrowd' in 2 of 2 annotations with 0",
        "'num_keypoints' in 2 of 2 annotations with the count of keypoints with v > 0",
        "'categories' with one category (id 1)",
    ):
        assert rule in warnings[0]
    gt = src.coco_dict
    assert [(a["area"], a["iscrowd"], a["num_keypoints"]) for a in gt["annotations"]] == [
        (1750.0, 0, 17),
        (1750.0, 0, 7),
    ]
    assert gt["categories"][0]["id"] == 1 and gt["categories"][0]["keypoints"] == list(coco17().names)
    assert src[0]["area"] == 1750.0  # 50 x 35
    assert "area" not in src.raw_dict["annotations"][0]


def test_complete_file_gives_no_fill_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path, [_ann(1)])
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        CocoKeypointSource(str(path), str(tmp_path))
    assert not [r for r in caplog.records if r.name == "landmarks.data"]


# ---------------------------------------------------------------------------- COCO-WholeBody parts
def _wholebody(root: Path, anns: list[dict]) -> Path:
    return _write(root, anns, n_images=2)


def _person(ann_id: int, image_id: int = 1, **kw: Any) -> dict:
    hand = [v for j in range(21) for v in (10.0 + j, 20.0 + j % 5, 2)]
    return {
        **_ann(ann_id, image_id),
        "lefthand_valid": True,
        "lefthand_kpts": hand,
        "lefthand_box": [8.0, 18.0, 25.0, 10.0],
        "righthand_valid": False,
        "righthand_kpts": [0] * 63,
        "righthand_box": [0, 0, 0, 0],
        **kw,
    }


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"iscrowd": float("nan")}, r"annotations\[1\]\): field 'iscrowd': expected 0 or 1"),
        ({"lefthand_valid": float("nan")}, r"annotation id 2, left_hand\): field 'lefthand_valid'"),
    ],
)
def test_wholebody_non_finite_flags_are_bad(tmp_path: Path, kw: dict, expected: str) -> None:
    path = _wholebody(tmp_path, [_person(1), _person(2, **kw)])
    with pytest.raises(AnnotationError, match=expected):
        CocoWholeBodyPartSource(str(path), str(tmp_path), part="left_hand")


def test_wholebody_dict_leaves_out_images_whose_file_is_missing(tmp_path: Path) -> None:
    bad = _person(2, image_id=2)
    bad["lefthand_kpts"][4] = float("inf")
    path = _wholebody(tmp_path, [_person(1), bad, _person(3, image_id=2)])
    (tmp_path / "img1.png").unlink()
    src = CocoWholeBodyPartSource(str(path), str(tmp_path), part="left_hand", on_bad_sample="skip")
    assert [a["id"] for a in src.coco_dict["annotations"]] == [11]
    assert [im["id"] for im in src.coco_dict["images"]] == [1]
    assert src.skipped_counts["bad_sample"] == 2
