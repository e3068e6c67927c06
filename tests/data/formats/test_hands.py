"""Hand (and COCO-WholeBody face) readers on the real samples in ../shared/realdata.

FreiHAND, OneHand10K and CMU Panoptic hands come as mmpose's COCO-style files and load through
CocoKeypointSource with spec=hand21; COCO-WholeBody parts through CocoWholeBodyPartSource.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.coco_wholebody import CocoWholeBodyPartSource
from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.hand import hand21
from tests.tiny import compose, one_file_data

HAND_FILES = {
    "freihand": ("test_freihand.json", 8),
    "onehand10k": ("test_onehand10k.json", 4),
    "panoptic": ("test_panoptic.json", 4),
}


# ---------------------------------------------------------------- COCO-style hand files
@pytest.mark.parametrize("name", sorted(HAND_FILES))
def test_coco_style_hand_files_load_with_hand21(realdata: Path, name: str) -> None:
    file, count = HAND_FILES[name]
    folder = realdata / name
    data = json.loads((folder / file).read_text())
    src = CocoKeypointSource(str(folder / file), str(folder), spec=hand21())
    assert len(src) == len(data["annotations"]) == count
    assert src.skipped_counts["bad_sample"] == 0 and src.spec.name == "hand21"
    samples = {s["id"]: s for s in (src[i] for i in range(len(src)))}
    for ann in data["annotations"]:
        s = samples[ann["id"]]
        raw = np.asarray(ann["keypoints"], dtype=np.float32).reshape(21, 3)
        np.testing.assert_allclose(s["keypoints"], raw[:, :2])
        np.testing.assert_array_equal(s["visible"], raw[:, 2])
        np.testing.assert_allclose(s["bbox"], ann["bbox"], rtol=1e-5)
        info = src.image_info(ann["image_id"])
        assert s["image"].shape == (info["height"], info["width"], 3) and s["image"].dtype == np.uint8


def test_onehand10k_unlabelled_wrist(realdata: Path) -> None:
    folder = realdata / "onehand10k"
    src = CocoKeypointSource(str(folder / "test_onehand10k.json"), str(folder), spec=hand21())
    sample = next(src[i] for i in range(len(src)) if src[i]["id"] == 9)
    assert sample["visible"][0] == 0 and (sample["visible"][1:] > 0).all()  # wrist not annotated


def test_coco_hand_data_config_runs_one_validation_batch(realdata: Path) -> None:
    from landmarks import run

    folder = realdata / "onehand10k"
    overrides = one_file_data("coco_hand", folder, folder / "test_onehand10k.json", image_root=False)
    cfg = compose(
        "train", "task=hand", *overrides, "input_size=[64,64]", "data.num_workers=0", "output_dir=/tmp/unused"
    )
    assert cfg.monitor == "val/auc"
    model = run.build_model(cfg)
    data = run.build_data(cfg, model)
    batch = next(iter(data.val_dataloader()))
    model.eval()
    with torch.no_grad():
        pred = model.predict_batch(batch)["hand"]  # flip test with identity flip indices
    assert pred.keypoints.shape == (4, 21, 2) and np.isfinite(pred.keypoints).all()
    task = model.tasks["hand"]
    task.update_metrics(pred, batch)
    metrics = task.compute_metrics()
    assert set(metrics) >= {"pck", "epe", "auc"} and np.isfinite(metrics["epe"])


# ---------------------------------------------------------------- COCO-WholeBody parts
@pytest.fixture(scope="module")
def wholebody(realdata: Path) -> tuple[Path, dict]:
    folder = realdata / "coco"
    return folder, json.loads((folder / "test_coco_wholebody.json").read_text())


def _expected(data: dict, prefix: str) -> list[dict]:
    """mmpose's rule: ``P_valid`` and some non-zero keypoint value."""
    return [
        a for a in data["annotations"] if not a.get("iscrowd") and a[f"{prefix}_valid"] and max(a[f"{prefix}_kpts"]) > 0
    ]


@pytest.mark.parametrize(
    ("part", "prefix", "side"), [("left_hand", "lefthand", "left"), ("right_hand", "righthand", "right")]
)
def test_wholebody_hands_match_json(wholebody: tuple[Path, dict], part: str, prefix: str, side: str) -> None:
    folder, data = wholebody
    src = CocoWholeBodyPartSource(str(folder / "test_coco_wholebody.json"), str(folder), part=part)
    expected = _expected(data, prefix)
    assert len(src) == len(expected) == 5 and src.spec.name == "hand21"
    assert src.skipped_counts["invalid_part"] == len(data["annotations"]) - len(expected)
    for i, ann in enumerate(expected):
        s = src[i]
        raw = np.asarray(ann[f"{prefix}_kpts"], dtype=np.float32).reshape(21, 3)
        np.testing.assert_allclose(s["keypoints"], raw[:, :2])
        # flags 1/2 kept; confidences in (0, 1) (two right hands of the sample) read as labelled (1)
        np.testing.assert_array_equal(s["visible"], np.where(np.isin(raw[:, 2], (0, 1, 2)), raw[:, 2], 1.0))
        np.testing.assert_allclose(s["bbox"], ann[f"{prefix}_box"], rtol=1e-5)
        assert s["handedness"] == side and s["id"] == 10 * ann["id"] + (1 if side == "left" else 2)
        assert s["area"] == pytest.approx(ann[f"{prefix}_box"][2] * ann[f"{prefix}_box"][3])
        assert s["image"].shape[2] == 3 and s["image_id"] == ann["image_id"]
    assert len(src.coco_dict["annotations"]) == len(src) and src.coco_dict["categories"][0]["name"] == "hand"
    assert src.wholebody_dict["annotations"] == data["annotations"]


def test_wholebody_both_hands_and_fractional_visibility(wholebody: tuple[Path, dict]) -> None:
    folder, data = wholebody
    src = CocoWholeBodyPartSource(str(folder / "test_coco_wholebody.json"), str(folder), part="hands")
    assert len(src) == len(_expected(data, "lefthand")) + len(_expected(data, "righthand")) == 10
    sides = [src[i]["handedness"] for i in range(len(src))]
    assert sides.count("left") == sides.count("right") == 5
    fractional = [
        a
        for a in data["annotations"]
        if a["righthand_valid"] and not np.isin(a["righthand_kpts"][2::3], (0, 1, 2)).all()
    ]
    assert len(fractional) == 2  # the sample file's confidence-valued hands
    by_id = {src[i]["id"]: src[i] for i in range(len(src))}
    for ann in fractional:
        assert set(by_id[10 * ann["id"] + 2]["visible"].tolist()) == {1.0}


def test_wholebody_face_has_68_points(wholebody: tuple[Path, dict]) -> None:
    folder, data = wholebody
    src = CocoWholeBodyPartSource(str(folder / "test_coco_wholebody.json"), str(folder), part="face")
    expected = _expected(data, "face")
    assert len(src) == len(expected) == 4 and src.spec.num_keypoints == 68 and src.spec.name == "ibug68"
    s = src[0]
    raw = np.asarray(expected[0]["face_kpts"], dtype=np.float32).reshape(68, 3)
    np.testing.assert_allclose(s["keypoints"], raw[:, :2])
    assert "handedness" not in s and s["id"] == 10 * expected[0]["id"] + 3
    assert src.coco_dict["categories"][0]["name"] == "face"


def test_wholebody_errors_name_file_and_field(wholebody: tuple[Path, dict], tmp_path: Path) -> None:
    folder, data = wholebody
    ann_file = str(folder / "test_coco_wholebody.json")
    with pytest.raises(ValueError, match="part must be one of"):
        CocoWholeBodyPartSource(ann_file, str(folder), part="feet")
    with pytest.raises(AnnotationError, match=r"face_kpts.*3\*K = 63 values.*204 values"):
        CocoWholeBodyPartSource(ann_file, str(folder), part="face", spec=hand21())
    broken = json.loads(json.dumps(data))
    victim = next(a for a in broken["annotations"] if a["lefthand_valid"])
    del victim["lefthand_box"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(AnnotationError, match=f"{path}.*annotation id {victim['id']}, left_hand.*'lefthand_box'"):
        CocoWholeBodyPartSource(str(path), str(folder), part="left_hand")
    skipping = CocoWholeBodyPartSource(str(path), str(folder), part="left_hand", on_bad_sample="skip")
    assert len(skipping) == 4 and skipping.skipped_counts["bad_sample"] == 1
    victim["lefthand_box"] = [5000.0, 5000.0, 10.0, 10.0]  # outside the image
    path.write_text(json.dumps(broken))
    with pytest.raises(AnnotationError, match=r"field 'lefthand_box'.*fully outside the image"):
        CocoWholeBodyPartSource(str(path), str(folder), part="left_hand")


def test_wholebody_hand_data_config_builds(realdata: Path) -> None:
    from hydra.utils import instantiate

    folder = realdata / "coco"
    overrides = one_file_data("coco_wholebody_hand", folder, folder / "test_coco_wholebody.json")
    cfg = compose("train", "task=hand", *overrides, "output_dir=/tmp/unused")
    data = instantiate(cfg.data, _convert_="all")
    assert len(data.val_source) == 10 and data.val_source.part == "hands"
