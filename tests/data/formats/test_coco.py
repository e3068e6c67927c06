"""CocoKeypointSource on the real COCO sample and on small broken files written to tmp_path."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb
from landmarks.layouts.spec import coco17

K = 17


# ---------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def coco_dir(realdata: Path) -> Path:
    return realdata / "coco"


@pytest.fixture(scope="module")
def coco_json(coco_dir: Path) -> dict:
    return json.loads((coco_dir / "test_coco.json").read_text())


def test_gt_instance_count_matches_json(coco_dir: Path, coco_json: dict) -> None:
    anns = coco_json["annotations"]
    expected = sum(1 for a in anns if not a.get("iscrowd", 0) and a["num_keypoints"] > 0)
    src = CocoKeypointSource(str(coco_dir / "test_coco.json"), str(coco_dir))
    assert expected == 12  # 14 persons, 2 without keypoints
    assert len(src) == expected
    assert src.skipped_counts["no_keypoints"] == sum(1 for a in anns if a["num_keypoints"] == 0)
    assert src.skipped_counts["bad_sample"] == 0
    assert src.spec.name == "coco17"
    assert src.image_ids == sorted(im["id"] for im in coco_json["images"])
    assert src.coco_dict is not None and len(src.coco_dict["annotations"]) == len(anns)


def test_gt_values_match_json_and_image_loads(coco_dir: Path, coco_json: dict) -> None:
    src = CocoKeypointSource(str(coco_dir / "test_coco.json"), str(coco_dir))
    ann = next(a for a in coco_json["annotations"] if a["id"] == 442619)
    samples = {s["id"]: s for s in (src[i] for i in range(len(src)))}
    sample = samples[442619]
    raw = np.asarray(ann["keypoints"], dtype=np.float32).reshape(K, 3)
    np.testing.assert_allclose(sample["keypoints"], raw[:, :2])
    np.testing.assert_array_equal(sample["visible"], raw[:, 2])
    assert sample["keypoints"].dtype == np.float32 and sample["visible"].dtype == np.float32
    np.testing.assert_allclose(sample["bbox"], ann["bbox"], rtol=1e-6)
    assert sample["area"] == pytest.approx(ann["area"])
    assert sample["image_id"] == 785 and sample["score"] == 1.0
    info = src.image_info(785)
    assert sample["image"].shape == (info["height"], info["width"], 3) == (425, 640, 3)
    assert sample["image"].dtype == np.uint8
    assert sample["path"].endswith("000000000785.jpg")


def test_gt_box_partly_outside_is_clipped(coco_dir: Path, coco_json: dict) -> None:
    src = CocoKeypointSource(str(coco_dir / "test_coco.json"), str(coco_dir))
    x, y, w, h = next(a["bbox"] for a in coco_json["annotations"] if a["id"] == 533949)
    assert x + w > 639  # image 197388 is 640 px wide
    box = next(s["bbox"] for s in (src[i] for i in range(len(src))) if s["id"] == 533949)
    np.testing.assert_allclose(box, [x, y, 639.0 - x, h], rtol=1e-6)


def test_detection_mode_counts_person_boxes_over_threshold(coco_dir: Path) -> None:
    det_file = coco_dir / "test_coco_det_AP_H_56.json"
    dets = json.loads(det_file.read_text())
    thr = 0.5
    expected = [d for d in dets if d["category_id"] == 1 and d["score"] >= thr]
    src = CocoKeypointSource(str(coco_dir / "test_coco.json"), str(coco_dir), det_file=str(det_file), det_score_thr=thr)
    assert len(src) == len(expected) == 18
    assert src.skipped_counts["below_score_thr"] == len(dets) - len(expected)
    s = src[0]
    assert s["score"] == pytest.approx(expected[0]["score"])
    np.testing.assert_allclose(s["bbox"], expected[0]["bbox"], rtol=1e-6)
    assert s["keypoints"].shape == (K, 2) and not s["keypoints"].any() and not s["visible"].any()
    assert s["image"].shape == (425, 640, 3)


# ---------------------------------------------------------------------------- synthetic files
def _write_dataset(root: Path, anns: list[dict], n_images: int = 2) -> Path:
    images = []
    for i in range(n_images):
        name = f"img{i}.png"
        cv2.imwrite(str(root / name), np.full((48, 64, 3), 40 * (i + 1), np.uint8))
        images.append({"id": i + 1, "file_name": name, "width": 64, "height": 48})
    path = root / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return path


def _ann(ann_id: int, image_id: int = 1, bbox: list | None = None, n_kpts: int = K, **kw) -> dict:
    kpts = []
    for j in range(n_kpts):
        kpts += [10.0 + j, 20.0, 2]
    return {
        "id": ann_id,
        "image_id": image_id,
        "bbox": bbox or [5.0, 5.0, 40.0, 30.0],
        "keypoints": kpts,
        "num_keypoints": n_kpts,
        "iscrowd": 0,
        "area": 1000.0,
        "category_id": 1,
        **kw,
    }


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text('{"images": [], "annotations": [,]}')
    with pytest.raises(AnnotationError, match=r"broken\.json.*<json>.*line 1 column") as info:
        CocoKeypointSource(str(bad), str(tmp_path))
    assert info.value.file == str(bad)


def test_missing_top_level_field(tmp_path: Path) -> None:
    path = tmp_path / "noann.json"
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match=r"noann\.json: field 'annotations'.*no such field"):
        CocoKeypointSource(str(path), str(tmp_path))


def test_wrong_keypoint_count_error_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_dataset(tmp_path, [_ann(1), _ann(7, n_kpts=16)])
    with pytest.raises(AnnotationError) as info:
        CocoKeypointSource(str(path), str(tmp_path))
    msg = str(info.value)
    assert "ann.json" in msg and "annotation id 7" in msg and "'keypoints'" in msg
    assert "51" in msg and "48 values" in msg and "wrong keypoint count" in msg
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    assert len(src) == 1 and src[0]["id"] == 1
    assert src.skipped_counts["bad_sample"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 1 and "ann.json" in warnings[0] and "'keypoints'" in warnings[0]


def test_missing_image_file_error_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_dataset(tmp_path, [_ann(1, image_id=1), _ann(2, image_id=2), _ann(3, image_id=2)])
    (tmp_path / "img1.png").unlink()
    with pytest.raises(AnnotationError, match=r"ann\.json.*'images\[\]\.file_name'.*'img1\.png' \(missing\)"):
        CocoKeypointSource(str(path), str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    assert [src[i]["id"] for i in range(len(src))] == [1]
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 2 and all("img1.png" in w and "file_name" in w for w in warnings)


def test_corrupt_image_error_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_dataset(tmp_path, [_ann(1, image_id=1), _ann(2, image_id=2)])
    (tmp_path / "img0.png").write_bytes(b"not a png at all")
    src = CocoKeypointSource(str(path), str(tmp_path))  # decoded lazily: construction works
    with pytest.raises(AnnotationError, match=r"img0\.png.*'images\[\]\.file_name'.*cannot decode"):
        src[0]
    skipping = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        sample = skipping[0]
        again = skipping[0]  # a known-bad index is not decoded, logged or counted again
    assert sample["id"] == 2 and sample["image"].shape == (48, 64, 3)
    assert int(sample["image"][0, 0, 0]) == 80  # the second image's grey level
    assert again["id"] == 2 and skipping.skipped_counts["bad_sample"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(warnings) == 1 and "img0.png" in warnings[0] and "file_name" in warnings[0]


def test_box_fully_outside_error_and_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write_dataset(
        tmp_path, [_ann(1), _ann(5, bbox=[100.0, 10.0, 20.0, 20.0]), _ann(6, bbox=[-20.0, -10.0, 30.0, 25.0])]
    )
    with pytest.raises(AnnotationError, match=r"ann\.json \(annotation id 5\): field 'bbox'.*fully outside"):
        CocoKeypointSource(str(path), str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="skip")
    assert len(src) == 2 and src.skipped_counts["bad_sample"] == 1
    np.testing.assert_allclose(src[1]["bbox"], [0.0, 0.0, 10.0, 15.0])  # partly outside: clipped
    assert any("bbox" in r.getMessage() and "ann.json" in r.getMessage() for r in caplog.records)


def test_keypoint_far_outside_is_bad(tmp_path: Path) -> None:
    ann = _ann(9)
    ann["keypoints"][3 * 4] = 500.0  # x of keypoint 4 (right_ear) in a 64 px wide image
    path = _write_dataset(tmp_path, [_ann(1), ann])
    with pytest.raises(AnnotationError, match=r"annotation id 9.*'keypoints'.*keypoint 4 \(right_ear\)"):
        CocoKeypointSource(str(path), str(tmp_path))


def test_empty_dataset_says_why(tmp_path: Path) -> None:
    crowd = _ann(1, iscrowd=1)
    unlabelled = _ann(2)
    unlabelled["keypoints"] = [0] * (3 * K)
    path = _write_dataset(tmp_path, [crowd, unlabelled])
    with pytest.raises(AnnotationError) as info:
        CocoKeypointSource(str(path), str(tmp_path))
    msg = str(info.value)
    assert "ann.json" in msg and "'annotations'" in msg and "0 instances" in msg
    assert "iscrowd: 1" in msg and "no_keypoints: 1" in msg


def test_detection_unknown_image_and_empty(tmp_path: Path) -> None:
    path = _write_dataset(tmp_path, [_ann(1)])
    det = tmp_path / "dets.json"
    det.write_text(json.dumps([{"image_id": 99, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.9}]))
    with pytest.raises(AnnotationError, match=r"dets\.json \(detection \[0\]\): field 'image_id'.*99"):
        CocoKeypointSource(str(path), str(tmp_path), det_file=str(det))
    det.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.1}]))
    with pytest.raises(AnnotationError, match=r"dets\.json.*0 instances.*score >= 0\.5"):
        CocoKeypointSource(str(path), str(tmp_path), det_file=str(det), det_score_thr=0.5)


def test_policy_and_loader_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'ignore'.*'error', 'skip'"):
        BadSamplePolicy("ignore")
    path = _write_dataset(tmp_path, [_ann(1)])
    with pytest.raises(ValueError, match=r"ann\.json.*on_bad_sample='drop'.*'error', 'skip'"):
        CocoKeypointSource(str(path), str(tmp_path), on_bad_sample="drop")
    with pytest.raises(AnnotationError, match=r"nope\.jpg.*missing"):
        load_image_rgb(str(tmp_path / "nope.jpg"))
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.full((5, 7), 9, np.uint8))
    assert load_image_rgb(str(grey)).shape == (5, 7, 3)
    assert CocoKeypointSource(str(path), str(tmp_path), spec=coco17())[-1]["id"] == 1
