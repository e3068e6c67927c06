"""MpiiSource on the real MPII sample (HRNet/mmpose JSON) and on broken copies of it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from landmarks.data.formats.errors import AnnotationError
from landmarks.data.formats.mpii import MpiiSource, load_head_boxes


@pytest.fixture(scope="module")
def mpii_dir(realdata: Path) -> Path:
    return realdata / "mpii"


@pytest.fixture(scope="module")
def mpii_json(mpii_dir: Path) -> list[dict]:
    return json.loads((mpii_dir / "test_mpii.json").read_text())


def test_count_and_zero_based_conversion(mpii_dir: Path, mpii_json: list[dict]) -> None:
    src = MpiiSource(str(mpii_dir / "test_mpii.json"), str(mpii_dir))
    assert len(src) == len(mpii_json) == 5
    assert src.spec.name == "mpii16"
    for i, ann in enumerate(mpii_json):
        s = src[i]
        vis = np.asarray(ann["joints_vis"], dtype=bool)
        raw = np.asarray(ann["joints"], dtype=np.float32)
        np.testing.assert_allclose(s["keypoints"][vis], raw[vis] - 1.0)  # Matlab 1-based -> 0-based
        np.testing.assert_array_equal(s["keypoints"][~vis], 0.0)  # (-1, -1) placeholders -> (0, 0)
        np.testing.assert_array_equal(s["visible"], np.where(vis, 2.0, 0.0))
        side = 200.0 * ann["scale"]
        cx, cy = ann["center"][0] - 1.0, ann["center"][1] + 15.0 * ann["scale"] - 1.0
        np.testing.assert_allclose(s["bbox"], [cx - side / 2, cy - side / 2, side, side], rtol=1e-5)
        assert s["image_id"] == int(ann["image"].split(".")[0]) and s["id"] == i
        assert "head_size" not in s


def test_first_entry_hand_checked(mpii_dir: Path) -> None:
    s = MpiiSource(str(mpii_dir / "test_mpii.json"), str(mpii_dir))[0]
    # raw JSON: image 005808361.jpg, joint 0 = (804, 711), center (966, 340), scale 4.718488
    np.testing.assert_allclose(s["keypoints"][0], [803.0, 710.0])
    np.testing.assert_allclose(s["bbox"][:2] + s["bbox"][2:] / 2, [965.0, 339.0 + 15 * 4.718488], rtol=1e-6)
    assert s["image"].shape == (720, 1280, 3) and s["image"].dtype == np.uint8
    assert s["path"].endswith("005808361.jpg")
    # third entry has two unlabelled ankles
    third = MpiiSource(str(mpii_dir / "test_mpii.json"), str(mpii_dir))[2]
    assert third["visible"][[0, 5]].tolist() == [0.0, 0.0] and third["visible"].sum() == 28.0


@pytest.mark.parametrize("ext", [".json", ".npy", ".mat"])
def test_head_sizes_from_head_boxes(tmp_path: Path, mpii_dir: Path, ext: str) -> None:
    boxes = np.array([[[10.0 * i, 20.0], [10.0 * i + 30.0, 60.0]] for i in range(5)])  # 30 x 40 boxes
    path = tmp_path / f"heads{ext}"
    if ext == ".json":
        path.write_text(json.dumps(boxes.reshape(5, 4).tolist()))
    elif ext == ".npy":
        np.save(path, boxes)
    else:
        from scipy.io import savemat

        savemat(str(path), {"headboxes_src": np.transpose(boxes, (1, 2, 0))})
    np.testing.assert_allclose(load_head_boxes(str(path)), boxes)
    src = MpiiSource(str(mpii_dir / "test_mpii.json"), str(mpii_dir), head_boxes_file=str(path))
    assert src[3]["head_size"] == pytest.approx(0.6 * 50.0)  # 0.6 * diagonal of a 30 x 40 box


def test_head_box_count_mismatch(tmp_path: Path, mpii_dir: Path) -> None:
    path = tmp_path / "heads.json"
    path.write_text(json.dumps([[0, 0, 10, 10]] * 3))
    with pytest.raises(AnnotationError, match=r"heads\.json: field 'head boxes'.*one box per annotation.*3 boxes"):
        MpiiSource(str(mpii_dir / "test_mpii.json"), str(mpii_dir), head_boxes_file=str(path))


def test_bad_entries_error_and_skip(
    tmp_path: Path, mpii_dir: Path, mpii_json: list[dict], caplog: pytest.LogCaptureFixture
) -> None:
    anns = json.loads(json.dumps(mpii_json))
    anns[1]["joints"] = anns[1]["joints"][:15]
    anns[3]["image"] = "does_not_exist.jpg"
    path = tmp_path / "mpii_bad.json"
    path.write_text(json.dumps(anns))
    with pytest.raises(AnnotationError, match=r"mpii_bad\.json \(entry \[1\].*field 'joints'.*K=16.*15 entries"):
        MpiiSource(str(path), str(mpii_dir))
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = MpiiSource(str(path), str(mpii_dir), on_bad_sample="skip")
    assert len(src) == 3 and src.skipped_counts == {"bad_sample": 2}
    assert [src[i]["id"] for i in range(3)] == [0, 2, 4]
    msgs = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    assert len(msgs) == 2 and "'joints'" in msgs[0]
    assert "mpii_bad.json" in msgs[1] and "'image'" in msgs[1] and "does_not_exist.jpg" in msgs[1]


def test_malformed_and_empty(tmp_path: Path, mpii_dir: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text("[{]")
    with pytest.raises(AnnotationError, match=r"m\.json: field '<json>'.*line 1"):
        MpiiSource(str(bad), str(mpii_dir))
    bad.write_text("[]")
    with pytest.raises(AnnotationError, match=r"m\.json.*0 instances \(0 entries"):
        MpiiSource(str(bad), str(mpii_dir))
    bad.write_text(json.dumps({"image": "x.jpg"}))
    with pytest.raises(AnnotationError, match=r"m\.json.*'<top level>'.*a list"):
        MpiiSource(str(bad), str(mpii_dir))
