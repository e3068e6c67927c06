"""Tests for the synthetic hand renderer (landmarks.data.synthetic.hand.renderer and its helpers) and hand21()."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from landmarks.data.synthetic.hand.poses import HAND_POSE_FAMILIES, sample_hand_pose
from landmarks.data.synthetic.hand.renderer import SyntheticHandSource
from landmarks.data.synthetic.hand.skeleton import HAND_LIMITS_DEG, hand_forward_kinematics, mirror, sample_hand_shape
from landmarks.layouts.hand import HAND21_NAMES, finger_indices, hand21
from tests.data.synthetic import synthetic_checks as checks

W, H = 224, 192  # not square, so a W/H swap shows
SAMPLES_PATH = "/tmp/hand_samples.png"


@pytest.fixture(scope="module")
def source() -> SyntheticHandSource:
    return SyntheticHandSource(num_images=100, image_size=(W, H), split="train", seed=3)


@pytest.fixture(scope="module")
def rendered(source: SyntheticHandSource) -> list:
    return [source.render(i) for i in range(40)]


def test_hand21_layout() -> None:
    spec = hand21()
    assert spec.num_keypoints == 21 and spec.names[0] == "wrist" and spec.names[4] == "thumb_tip"
    assert spec.names[5:9] == ("index_mcp", "index_pip", "index_dip", "index_tip")
    assert spec.names[17] == "little_mcp" and spec.names[20] == "little_tip"
    assert finger_indices("middle") == (9, 10, 11, 12)
    assert len(spec.skeleton) == 20 and {tuple(e) for e in spec.skeleton} >= {(0, 1), (0, 17), (19, 20)}
    assert not spec.flip_pairs and np.array_equal(spec.flip_indices, np.arange(21))  # a flip changes handedness only
    assert spec.sigma_array.shape == (21,) and spec.sigma_array[0] == pytest.approx(0.029)


def test_same_index_gives_identical_image_and_labels(source: SyntheticHandSource) -> None:
    twin = SyntheticHandSource(num_images=100, image_size=(W, H), split="train", seed=3)
    _, instances = checks.assert_deterministic(source, twin)
    assert len(instances) == 1


def test_val_split_and_seed_are_disjoint_streams(source: SyntheticHandSource) -> None:
    val = SyntheticHandSource(num_images=100, image_size=(W, H), split="val", seed=3)
    other_seed = SyntheticHandSource(num_images=100, image_size=(W, H), split="train", seed=4)
    checks.assert_disjoint_streams(source, val, other_seed, 8)


def test_getitem_shapes_dtypes_and_keys(source: SyntheticHandSource) -> None:
    assert len(source) == 100 and source.spec.name == "hand21"
    s = source[11]
    assert set(s) == {"image", "keypoints", "visible", "bbox", "area", "image_id", "id", "score", "path", "handedness"}
    checks.assert_sample_arrays(s, W, H, 21)
    assert s["handedness"] in ("left", "right") and s["image_id"] == 11 and s["area"] > 0
    checks.assert_rejects_bad_index_and_split(source, SyntheticHandSource)
    with pytest.raises(ValueError, match="hands_per_image"):
        SyntheticHandSource(hands_per_image=0)


def test_visibility_values_and_self_occlusion(rendered: list) -> None:
    counts = np.zeros(3)
    for _, instances in rendered:
        for s in instances:
            assert set(np.unique(s["visible"])) <= {0.0, 1.0, 2.0}
            checks.assert_labels_in_image(s, W, H)
            counts += np.bincount(s["visible"].astype(int), minlength=3)
    frac = counts / counts.sum()
    assert 0.1 < frac[1] < 0.5 and frac[2] > 0.5  # fingers hide each other, most points are seen
    no_occluder = SyntheticHandSource(num_images=10, image_size=(W, H), occluders=False, seed=1)
    hidden = sum(int((s["visible"] == 1).sum()) for i in range(6) for s in no_occluder.render(i)[1])
    assert hidden > 5, "without occluders, some keypoints must still be hidden by the hand itself"


def test_boxes_contain_visible_points_and_fill_the_image(rendered: list) -> None:
    sizes = []
    for _, instances in rendered:
        for s in instances:
            x, y, w, h = checks.assert_box_in_image(s, W, H)
            kp = s["keypoints"][s["visible"] == 2]
            assert np.all((kp[:, 0] >= x - 0.5) & (kp[:, 0] <= x + w + 0.5))
            assert np.all((kp[:, 1] >= y - 0.5) & (kp[:, 1] <= y + h + 0.5))
            sizes.append(max(w, h) / min(W, H))
    assert 0.4 <= float(np.median(sizes)) <= 0.8


def test_left_and_right_hands_and_targets(source: SyntheticHandSource, rendered: list) -> None:
    sides = {s["handedness"] for _, instances in rendered for s in instances}
    assert sides == {"left", "right"}
    for i in range(20):
        s = source[i]
        assert (s["visible"] > 0).sum() >= 10 and (s["visible"] == 2).sum() >= 6


def test_two_hands_per_image() -> None:
    src = SyntheticHandSource(num_images=10, image_size=(W, H), hands_per_image=2, seed=2)
    counts = [len(src.render(i)[1]) for i in range(6)]
    assert max(counts) == 2 and min(counts) >= 1
    ids = [s["id"] for i in range(6) for s in src.render(i)[1]]
    assert len(ids) == len(set(ids))


def test_pose_couplings_and_joint_limits() -> None:
    rng = np.random.default_rng(0)
    ratios, flexed_tips = [], []
    for _ in range(300):
        _, pose = sample_hand_pose(rng)
        for name, a in pose.fingers.items():
            if name == "thumb":
                keys = ("thumb_cmc_flex", "thumb_cmc_abd", "thumb_mcp", "thumb_ip")
            else:
                keys = ("mcp", f"abd_{name}", "pip", "dip")
                if a.pip > 40:
                    ratios.append(a.dip / a.pip)
            for key, val in zip(keys, (a.mcp, a.abd, a.pip, a.dip)):
                lo, hi = HAND_LIMITS_DEG[key]
                assert lo - 1e-9 <= val <= hi + 1e-9, f"{name} {key}={val} outside [{lo}, {hi}]"
        hand = hand_forward_kinematics(pose, sample_hand_shape(rng))
        tip, mcp = hand.joints[12], hand.joints[9]
        if pose.fingers["middle"].pip > 60:
            flexed_tips.append(tip[2] - mcp[2])  # a curled finger goes to the palm side (-z)
    assert 0.55 < float(np.median(ratios)) < 0.78  # DIP ~ 2/3 PIP
    assert max(flexed_tips) < 0.0
    assert abs(sum(w for _, w in HAND_POSE_FAMILIES.values()) - 1.0) < 1e-6


def test_left_hand_thumb_is_radial_and_right_is_its_mirror() -> None:
    rng = np.random.default_rng(1)
    _, pose = sample_hand_pose(rng)
    left = hand_forward_kinematics(pose, sample_hand_shape(rng))
    right = mirror(left)
    assert left.side == "left" and right.side == "right"
    assert left.joints[1, 0] > left.joints[17, 0] and right.joints[1, 0] < right.joints[17, 0]
    assert np.allclose(right.joints * np.array([-1.0, 1.0, 1.0]), left.joints)
    assert np.allclose(
        np.linalg.norm(right.joints[8] - right.joints[5]), np.linalg.norm(left.joints[8] - left.joints[5])
    )


def test_top_down_dataset_reads_the_source(source: SyntheticHandSource) -> None:
    from landmarks.codecs.heatmap import MSRAHeatmap
    from landmarks.data.dataset import TopDownDataset
    from landmarks.data.transforms import TopDownTransform

    codec = MSRAHeatmap(input_size=(128, 128), heatmap_size=(32, 32))
    ds = TopDownDataset(source, TopDownTransform((128, 128), train=True), {"hand": codec})
    item = ds[3]
    assert tuple(item["image"].shape) == (3, 128, 128) and item["meta"]["keypoints"].shape == (21, 2)
    assert np.array_equal(ds.flip_indices, np.arange(21))


def test_write_coco_is_valid_for_pycocotools(source: SyntheticHandSource, tmp_path) -> None:
    from pycocotools.coco import COCO

    path = source.write_coco(str(tmp_path), indices=range(6))
    with open(path) as fh:
        assert [im["id"] for im in json.load(fh)["images"]] == list(range(6))
    gt = COCO(path)
    cat = gt.loadCats(1)[0]
    assert cat["name"] == "hand" and cat["keypoints"] == list(HAND21_NAMES)
    assert min(min(p) for p in cat["skeleton"]) == 1 and max(max(p) for p in cat["skeleton"]) == 21
    anns = gt.loadAnns(gt.getAnnIds())
    assert len(anns) == 6 and all(a["handedness"] in ("left", "right") for a in anns)
    for a in anns:
        v = np.asarray(a["keypoints"]).reshape(21, 3)[:, 2]
        assert a["num_keypoints"] == int((v > 0).sum()) and a["iscrowd"] == 0
    img = cv2.imread(os.path.join(tmp_path, "images", gt.loadImgs(0)[0]["file_name"]))
    assert img.shape == (H, W, 3)
    assert checks.coco_self_ap(gt, hand21().sigma_array) == pytest.approx(
        1.0
    )  # ground truth scored against itself: AP 1


def test_render_speed() -> None:
    ms, images = checks.render_ms(SyntheticHandSource(num_images=50, image_size=(256, 256)), 40)
    assert all(im.shape == (256, 256, 3) and im.std() > 5 for im in images)
    assert ms < 10.0


def test_save_sample_picture() -> None:
    from landmarks.viz import draw_keypoints, image_grid, save_image

    src = SyntheticHandSource(num_images=16, image_size=(256, 256))
    tiles = []
    for i in range(8, 16):  # both left and right hands
        image, instances = src.render(i)
        canvas = image
        for s in instances:  # visible points only (threshold 1.5 on COCO v)
            canvas = draw_keypoints(canvas, s["keypoints"], s["visible"], src.spec, threshold=1.5)
            cv2.putText(canvas, s["handedness"], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
        tiles.append(np.concatenate([image, canvas], axis=0))
    save_image(SAMPLES_PATH, image_grid(tiles, 4))
    assert cv2.imread(SAMPLES_PATH).shape == (1024, 1024, 3)
