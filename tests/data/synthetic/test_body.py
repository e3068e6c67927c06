"""Tests for the synthetic body renderer (landmarks.data.synthetic.body.renderer and its helpers)."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from landmarks.data.synthetic import SyntheticBodySource
from landmarks.data.synthetic.body.poses import POSE_FAMILIES, sample_pose
from landmarks.data.synthetic.body.skeleton3d import (
    JOINT_LIMITS_DEG,
    elevation_limit,
    forward_kinematics,
    sample_body_shape,
)
from tests.data.synthetic import synthetic_checks as checks

W, H = 192, 160  # not square, so a W/H swap shows
EXAMPLE_PATH = "/tmp/synthetic_body_example.png"


@pytest.fixture(scope="module")
def source() -> SyntheticBodySource:
    return SyntheticBodySource(num_images=100, image_size=(W, H), max_people=3, split="train", seed=3)


@pytest.fixture(scope="module")
def rendered(source: SyntheticBodySource) -> list:
    return [source.render(i) for i in range(60)]


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1))))


def _swing_angles(bone: np.ndarray, side: str) -> tuple[float, float]:
    """(elevation, azimuth) in degrees of a bone given in its parent frame (left-side convention)."""
    d = bone / np.linalg.norm(bone) * np.array([1.0 if side == "left" else -1.0, 1.0, 1.0])
    azimuth = float(np.degrees(np.arctan2(d[0], d[2])))
    return float(np.degrees(np.arccos(np.clip(-d[1], -1, 1)))), azimuth + 360.0 if azimuth < -120 else azimuth


def test_same_index_gives_identical_image_and_labels(source: SyntheticBodySource) -> None:
    twin = SyntheticBodySource(num_images=100, image_size=(W, H), max_people=3, split="train", seed=3)
    checks.assert_deterministic(source, twin)


def test_split_and_seed_change_the_image(source: SyntheticBodySource) -> None:
    val = SyntheticBodySource(num_images=100, image_size=(W, H), split="val", seed=3)
    other_seed = SyntheticBodySource(num_images=100, image_size=(W, H), split="train", seed=4)
    checks.assert_disjoint_streams(source, val, other_seed, 8)


def test_getitem_shapes_dtypes_and_keys(source: SyntheticBodySource) -> None:
    assert len(source) == 100 and source.spec.name == "coco17" and source.spec.num_keypoints == 17
    s = source[11]
    assert set(s) == {"image", "keypoints", "visible", "bbox", "area", "image_id", "id", "score", "path"}
    checks.assert_sample_arrays(s, W, H, 17)
    assert set(np.unique(s["visible"])) <= {0.0, 1.0, 2.0}
    assert s["image_id"] == 11 and s["score"] == 1.0 and s["path"] == "" and s["area"] > 0
    image, instances = source.render(11)
    assert np.array_equal(image, s["image"])
    assert any(np.array_equal(i["keypoints"], s["keypoints"]) and i["id"] == s["id"] for i in instances)
    assert all("image" not in i for i in instances)
    checks.assert_rejects_bad_index_and_split(source, SyntheticBodySource)
    with pytest.raises(ValueError, match="max_people"):
        SyntheticBodySource(max_people=0)


def test_visibility_semantics(rendered: list) -> None:
    counts = np.zeros(3)
    for _, instances in rendered:
        for s in instances:
            checks.assert_labels_in_image(s, W, H)
            counts += np.bincount(s["visible"].astype(int), minlength=3)
    frac = counts / counts.sum()
    # some cut by the border, a plausible share hidden (far ear, back of the head, ...), most visible
    assert 0.01 < frac[0] < 0.3 and 0.1 < frac[1] < 0.5 and frac[2] > 0.45


def test_boxes_contain_labelled_keypoints_and_lie_in_the_image(rendered: list) -> None:
    for _, instances in rendered:
        assert 1 <= len(instances) <= 3
        for s in instances:
            x, y, w, h = checks.assert_box_in_image(s, W, H)
            kp = s["keypoints"][s["visible"] > 0]
            assert np.all((kp[:, 0] >= x - 0.5) & (kp[:, 0] <= x + w + 0.5))
            assert np.all((kp[:, 1] >= y - 0.5) & (kp[:, 1] <= y + h + 0.5))
    ids = [s["id"] for _, inst in rendered for s in inst]
    assert len(ids) == len(set(ids))


def test_every_target_is_learnable(source: SyntheticBodySource) -> None:
    for i in range(40):
        s = source[i]
        v = s["visible"]
        assert (v > 0).sum() >= 8 and (v == 2).sum() >= 6
        assert max(s["bbox"][2], s["bbox"][3]) >= 0.25 * min(W, H)


def test_left_right_follow_the_facing_direction(rendered: list) -> None:
    facing, away, nose_seen = [], [], []
    for _, instances in rendered:
        for s in instances:
            kp, v = s["keypoints"], s["visible"]
            if v[1] == 2 and v[2] == 2:  # both eyes seen: faces the camera, its left is image right
                facing.append(kp[1, 0] > kp[2, 0])
            if v[1] == 1 and v[2] == 1 and min(v[3], v[4], v[5], v[6]) == 2:  # back of the head
                away.append(kp[5, 0] < kp[6, 0])
            if v[0] > 0:
                nose_seen.append(v[0] == 2)
    assert len(facing) >= 10 and np.mean(facing) >= 0.95
    assert len(away) >= 3 and np.mean(away) >= 0.9
    assert 0.2 < np.mean(nose_seen) < 0.8  # people face toward and away from the camera


def test_joint_limits_hold_in_3d() -> None:
    rng = np.random.default_rng(0)
    knees, elbows = [], []
    for _ in range(200):
        _, pose = sample_pose(rng)
        skel = forward_kinematics(pose, sample_body_shape(rng))
        j, fr = skel.joints, skel.frames
        for side in ("left", "right"):
            thigh, shank = j[f"{side}_knee"] - j[f"{side}_hip"], j[f"{side}_ankle"] - j[f"{side}_knee"]
            upper, fore = j[f"{side}_elbow"] - j[f"{side}_shoulder"], j[f"{side}_wrist"] - j[f"{side}_elbow"]
            knees.append(_angle(thigh, shank))
            elbows.append(_angle(upper, fore))
            assert shank @ fr[f"{side}_thigh"][:, 2] <= 1e-9, "knee bends forward"
            assert fore @ fr[f"{side}_upper_arm"][:, 2] >= -1e-9, "elbow bends backward"
            for joint, bone, parent in (("hip", thigh, fr["pelvis"]), ("shoulder", upper, fr["chest"])):
                elevation, azimuth = _swing_angles(parent.T @ bone, side)
                assert elevation <= elevation_limit(joint, azimuth) + 1e-6, f"{side} {joint} swings too far"
            for a, b in (("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")):
                assert j[a][0] > j[b][0], "the left side is +x in the body frame"
    assert max(knees) <= JOINT_LIMITS_DEG["knee"][1] + 1e-6 and min(knees) >= -1e-6
    assert max(elbows) <= JOINT_LIMITS_DEG["elbow"][1] + 1e-6
    assert max(knees) > 90 and np.median(knees) < 60  # crouches happen, but most legs are near straight
    assert abs(sum(w for _, w in POSE_FAMILIES.values()) - 1.0) < 1e-6


def test_to_coco_loads_and_evaluates_in_pycocotools(source: SyntheticBodySource) -> None:
    from pycocotools.coco import COCO

    d, images = source.to_coco(range(6))
    assert len(images) == 6 and images[0].shape == (H, W, 3)
    gt = COCO()
    gt.dataset = d
    gt.createIndex()
    assert sorted(gt.getImgIds()) == list(range(6))
    cat = gt.loadCats(1)[0]
    assert cat["keypoints"][0] == "nose" and len(cat["keypoints"]) == 17
    assert min(min(p) for p in cat["skeleton"]) == 1 and max(max(p) for p in cat["skeleton"]) == 17
    anns = gt.loadAnns(gt.getAnnIds())
    assert len(anns) >= 6
    for a in anns:
        v = np.asarray(a["keypoints"]).reshape(17, 3)[:, 2]
        assert len(a["keypoints"]) == 51 and a["num_keypoints"] == int((v > 0).sum()) and a["iscrowd"] == 0
    assert checks.coco_self_ap(gt) == pytest.approx(1.0)  # ground truth scored against itself: AP 1


def test_write_coco_writes_images_and_json(source: SyntheticBodySource, tmp_path) -> None:
    path = source.write_coco(str(tmp_path), indices=[2, 4])
    with open(path) as fh:
        d = json.load(fh)
    assert [im["id"] for im in d["images"]] == [2, 4]
    img = cv2.imread(os.path.join(tmp_path, "images", d["images"][0]["file_name"]))
    assert img.shape == (H, W, 3)
    ref = cv2.cvtColor(source.render(2)[0], cv2.COLOR_RGB2BGR)
    assert np.abs(img.astype(np.int16) - ref).mean() < 4.0  # the same picture up to JPEG loss


def test_render_speed_smoke() -> None:
    _, images = checks.render_ms(SyntheticBodySource(num_images=50, image_size=(256, 256)), 30)
    assert all(im.shape == (256, 256, 3) and im.std() > 5 for im in images)


def test_save_example_picture() -> None:
    src = SyntheticBodySource(num_images=8, image_size=(256, 256))
    tiles = []
    for i in range(4):
        image, instances = src.render(i)
        canvas = image.copy()
        for s in instances:
            x, y, w, h = (int(round(float(t))) for t in s["bbox"])
            cv2.rectangle(canvas, (x, y), (x + w, y + h), (255, 255, 255), 1)
            kp, v = s["keypoints"], s["visible"]
            for a, b in src.spec.skeleton:
                if v[a] > 0 and v[b] > 0:
                    cv2.line(canvas, tuple(int(t) for t in kp[a]), tuple(int(t) for t in kp[b]), (0, 255, 0), 1)
            for k in range(17):  # left red, right blue, nose white; hollow = occluded (v=1)
                if v[k] > 0:
                    colour = (255, 255, 255) if k == 0 else (255, 0, 0) if k % 2 else (0, 0, 255)
                    cv2.circle(canvas, tuple(int(t) for t in kp[k]), 3, colour, -1 if v[k] == 2 else 1)
        tiles.append(np.concatenate([image, canvas], axis=0))
    cv2.imwrite(EXAMPLE_PATH, cv2.cvtColor(np.concatenate(tiles, axis=1), cv2.COLOR_RGB2BGR))
    assert cv2.imread(EXAMPLE_PATH).shape == (512, 1024, 3)
