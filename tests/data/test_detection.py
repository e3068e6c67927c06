"""Full-frame detection data: letterbox and its augmentation, the dataset's targets and meta, frame sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from landmarks.codecs.centernet import CenterNetCodec
from landmarks.data.detection import DetectionDataset, LetterboxTransform
from landmarks.data.formats.coco_boxes import WHOLEBODY_PARTS, CocoBoxFrames
from landmarks.data.formats.errors import AnnotationError
from landmarks.data.synthetic.body.renderer import SyntheticBodySource
from landmarks.data.synthetic.frames import SyntheticFrames
from landmarks.data.synthetic.hand.renderer import SyntheticHandSource
from tests.tiny import REPO

REAL = REPO.parent / "shared" / "realdata" / "coco"


class _Frames:
    """A hand-made frame source: one 100 x 50 image with the given boxes."""

    def __init__(self, boxes: list[list[float]], categories: list[str], labelled: tuple[str, ...] = ("person",)):
        self.boxes, self.categories, self.labelled = boxes, categories, labelled

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> dict[str, Any]:
        image = np.zeros((50, 100, 3), np.uint8)
        image[10:40, 20:50] = 200
        return {
            "image": image,
            "boxes": np.array(self.boxes, np.float32).reshape(-1, 4),
            "categories": self.categories,
            "labelled": self.labelled,
            "image_id": 7 + i,
        }


def test_letterbox_training_augmentation_moves_boxes_with_the_pixels() -> None:
    frame = _Frames([[20.0, 10.0, 30.0, 30.0]], ["person"])[0]
    frame["labels"] = np.array([0])
    transform = LetterboxTransform((64, 64), train=True, photometric=0.0, flip_prob=0.5)
    for seed in range(8):
        crop = transform(frame, np.random.default_rng(seed))
        x, y, w, h = crop["boxes"][0]
        inside = crop["image"][int(y) + 2 : int(y + h) - 2, int(x) + 2 : int(x + w) - 2]
        assert inside.size and inside.min() > 150  # the bright square sits in its box, flipped or not
        assert crop["image"][:, : max(int(x) - 2, 0)].max(initial=0) < 50  # and nothing bright left of it


def test_letterbox_drops_boxes_mostly_cut_off_and_clips_the_rest() -> None:
    frame = {"image": np.zeros((100, 100, 3), np.uint8), "boxes": np.array([[-80.0, 0, 100, 50], [-20.0, 0, 100, 50]])}
    frame["labels"] = np.array([0, 0])
    crop = LetterboxTransform((50, 50), train=False, min_visible=0.3)(frame, np.random.default_rng(0))
    np.testing.assert_allclose(crop["boxes"], [[0.0, 0.0, 40.0, 25.0]])  # 20 % inside: dropped; 80 %: clipped
    with pytest.raises(ValueError, match="udp"):
        LetterboxTransform((50, 50), udp=True)


def test_dataset_targets_meta_and_class_mask() -> None:
    codec = CenterNetCodec((64, 32), ["person", "hand"], max_objects=3)
    source = _Frames([[20.0, 10.0, 30.0, 30.0], [60.0, 5.0, 10.0, 10.0]], ["person", "person"])
    item = DetectionDataset(source, LetterboxTransform((64, 32)), {"detect": codec})[1]
    meta, t = item["meta"], item["targets"]["detect"]
    assert item["image"].shape == (3, 32, 64) and meta["image_id"] == 8 and meta["num_boxes"] == 2
    assert meta["gt_labels"].tolist() == [0, 0, -1] and meta["gt_boxes"].shape == (3, 4)
    np.testing.assert_allclose(meta["gt_boxes"][:2], source.boxes)  # the original frame's boxes, image px
    np.testing.assert_allclose(meta["gt_area"][:2], [900.0, 100.0])
    assert meta["class_mask"].tolist() == [1.0, 0.0] and t["class_weight"].tolist() == [1.0, 0.0]
    # two boxes, each regressed at its centre cell with weight 1 (the codec's dense reg_weight map)
    assert t["num_objects"] == 2 and float(t["reg_weight"].sum()) == pytest.approx(2.0) and t["heatmap"][0].max() == 1.0


def test_dataset_refuses_unknown_categories_and_too_many_boxes() -> None:
    codec = CenterNetCodec((64, 32), ["person"], max_objects=1)
    with pytest.raises(ValueError, match="frame 0: category 'cat' is not one of"):
        DetectionDataset(_Frames([[1, 1, 5, 5]], ["cat"]), LetterboxTransform((64, 32)), {"d": codec})[0]
    two = _Frames([[1, 1, 5, 5], [9, 9, 5, 5]], ["person", "person"])
    with pytest.raises(ValueError, match="2 boxes, more than the codec's max_objects=1"):
        DetectionDataset(two, LetterboxTransform((64, 32)), {"d": codec})[0]


def test_synthetic_frames_list_every_instance_under_its_category() -> None:
    body = SyntheticBodySource(num_images=3, split="val")
    frames = SyntheticFrames({"person": body, "hand": SyntheticHandSource(num_images=2, split="val"), "face": None})
    assert len(frames) == 5 and frames.categories == ("person", "hand")
    image, people = body.render(2)
    frame = frames[2]
    np.testing.assert_array_equal(frame["image"], image)
    np.testing.assert_allclose(frame["boxes"], [p["bbox"] for p in people])
    assert frame["categories"] == ["person"] * len(people) and frame["labelled"] == ("person",)
    assert frames[3]["categories"] == ["hand"] and frames[3]["image_id"] == 3
    with pytest.raises(IndexError):
        frames[5]


def test_cached_synthetic_frames_are_the_rendered_frames_drawn_once() -> None:
    body = SyntheticBodySource(num_images=3, split="val")
    frames = SyntheticFrames({"person": body}, cache=True)
    calls = []
    render = body.render
    body.render = lambda i: calls.append(i) or render(i)  # type: ignore[method-assign]
    first, again = frames[1], frames[1]
    assert calls == [1] and again is first  # rendered once, then read from memory
    plain = SyntheticFrames({"person": SyntheticBodySource(num_images=3, split="val")})[1]
    np.testing.assert_array_equal(first["image"], plain["image"])
    np.testing.assert_array_equal(first["boxes"], plain["boxes"])
    with pytest.raises(ValueError, match="read-only"):  # no consumer can alter what later draws read
        first["image"][0, 0] = 0
    # a training epoch through the dataset draws the same samples with or without the cache
    codec = CenterNetCodec((256, 256), ["person"], stride=8)
    cached = DetectionDataset(frames, LetterboxTransform((256, 256), train=True), {"d": codec}, seed=3)
    fresh = DetectionDataset(
        SyntheticFrames({"person": SyntheticBodySource(num_images=3, split="val")}),
        LetterboxTransform((256, 256), train=True),
        {"d": codec},
        seed=3,
    )
    for key in [(0, 0), (0, 1), (2, 1)]:
        a, b = cached[key], fresh[key]
        assert torch.equal(a["image"], b["image"])
        np.testing.assert_array_equal(a["targets"]["d"]["size"], b["targets"]["d"]["size"])


def test_frame_cache_over_its_memory_limit_is_refused_up_front() -> None:
    big = SyntheticBodySource(num_images=20000, split="train")  # 20000 x 256 x 256 x 3 bytes = 3.7 GB
    with pytest.raises(ValueError, match=r"cache=true would hold 20000 frames, 3.7 GB, over cache_max_gb=1"):
        SyntheticFrames({"person": big}, cache=True, cache_max_gb=1)
    SyntheticFrames({"person": big})  # without the cache nothing is held


def test_coco_box_frames_on_real_annotations() -> None:
    if not REAL.is_dir():
        pytest.skip(f"{REAL} not found (shared real samples)")
    ann = json.loads((REAL / "test_coco.json").read_text())
    frames = CocoBoxFrames(str(REAL / "test_coco.json"), str(REAL), categories={"person": "person"})
    assert len(frames) == len(ann["images"])
    total = sum(len(frames[i]["boxes"]) for i in range(len(frames)))
    assert total == len(ann["annotations"])  # every person box, crowd regions included (flagged)
    first = next(a for a in ann["annotations"] if a["image_id"] == frames[0]["image_id"])
    np.testing.assert_allclose(frames[0]["boxes"][0], first["bbox"], rtol=1e-6)
    whole = CocoBoxFrames(
        str(REAL / "test_coco_wholebody.json"), str(REAL), categories={"person": "person"}, part_boxes=WHOLEBODY_PARTS
    )
    names = {c for i in range(len(whole)) for c in whole[i]["categories"]}
    assert names == {"person", "hand", "face"} and whole.labelled == ("face", "hand", "person")


def test_coco_box_frames_name_the_file_and_field_of_a_bad_box(tmp_path: Path) -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 10, "height": 10}],
        "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 4]}],
        "categories": [{"id": 1, "name": "person"}],
    }
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match=r"boxes.json \(annotation id 5\): field 'bbox': expected w > 0"):
        CocoBoxFrames(str(path), str(tmp_path))
    skipped = CocoBoxFrames(str(path), str(tmp_path), on_bad_sample="skip")
    assert skipped.skipped_counts["bad_sample"] == 1 and len(skipped) == 1  # the image stays, a negative
