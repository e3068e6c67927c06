"""Tests for the synthetic face renderer (landmarks.data.synthetic.face.renderer and its helpers)."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import cv2
import numpy as np
import pytest

from landmarks.data.synthetic.face.contours import FaceFeatures, landmark_chart
from landmarks.data.synthetic.face.figure import mean_landmarks
from landmarks.data.synthetic.face.mesh import attach, face_template
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.data.synthetic.face.scene import mirror_params
from landmarks.geometry import euler_to_matrix, flip_euler, matrix_to_euler, project_axes
from landmarks.layouts.face import ibug68, wflw98
from tests.data.synthetic import synthetic_checks as checks

S = 160
SAMPLES_PATH = "/tmp/face_samples.png"
KEYS = {"image", "keypoints", "visible", "bbox", "area", "euler", "image_id", "id", "score", "path"}
# Subject's-right groups of iBUG-68 (the far side when yaw > 0): upper jaw, brow, eye.
FAR_RIGHT_68 = np.r_[0:6, 17:22, 36:42]


@pytest.fixture(scope="module")
def source() -> SyntheticFaceSource:
    return SyntheticFaceSource(num_images=200, image_size=(S, S), seed=3)


@pytest.fixture(scope="module")
def rendered(source: SyntheticFaceSource) -> list:
    return [source.render(i) for i in range(40)]


def _rotation_from_pnp(model: np.ndarray, kp: np.ndarray, k_mat: np.ndarray) -> np.ndarray:
    """geometry-convention R from OpenCV's pose (R_cv maps model to OpenCV camera: x right, y down)."""
    ok, rvec, _ = cv2.solvePnP(model, kp.astype(np.float64), k_mat, None, flags=cv2.SOLVEPNP_SQPNP)
    assert ok
    return cv2.Rodrigues(rvec)[0].T @ np.diag([1.0, -1.0, -1.0])


def test_layouts_are_one_face_and_mirror_symmetric() -> None:
    uv68, _ = landmark_chart("ibug68", FaceFeatures())
    uv98, _ = landmark_chart("wflw98", FaceFeatures())
    assert uv68.shape == (68, 2) and uv98.shape == (98, 2)
    # WFLW jaw point 2k is iBUG jaw point k; brows' upper edge, nose and lips are the same points.
    assert np.allclose(uv98[0:33:2], uv68[:17]) and np.allclose(uv98[33:38], uv68[17:22])
    assert np.allclose(uv98[51:60], uv68[27:36]) and np.allclose(uv98[76:96], uv68[48:68])
    for uv, spec in ((uv68, ibug68()), (uv98, wflw98())):
        assert np.allclose(uv[spec.flip_indices] * [-1.0, 1.0], uv, atol=1e-9)
        assert np.all(uv[[n.startswith("right_") for n in spec.names], 0] < 0)  # subject's right = u < 0
    tpl = face_template(3.0)
    idx, w = attach(tpl, uv68)
    assert np.allclose(w.sum(1), 1.0) and w.min() >= -1e-9  # inside a rendered triangle


def test_same_index_gives_identical_image_and_labels(source: SyntheticFaceSource) -> None:
    twin = SyntheticFaceSource(num_images=200, image_size=(S, S), seed=3)
    img_a, (a,) = checks.assert_deterministic(source, twin)
    # The layout changes the labels, not the picture.
    w98 = SyntheticFaceSource(num_images=200, image_size=(S, S), seed=3, layout="wflw98")
    img_c, (c,) = w98.render(7)
    assert np.array_equal(img_a, img_c) and np.array_equal(c["euler"], a["euler"])


def test_val_split_and_seed_are_disjoint_streams(source: SyntheticFaceSource) -> None:
    val = SyntheticFaceSource(num_images=200, image_size=(S, S), split="val", seed=3)
    other_seed = SyntheticFaceSource(num_images=200, image_size=(S, S), seed=4)
    checks.assert_disjoint_streams(source, val, other_seed, 6)


@pytest.mark.parametrize("layout,k", [("ibug68", 68), ("wflw98", 98)])
def test_getitem_shapes_dtypes_and_keys(layout: str, k: int) -> None:
    src = SyntheticFaceSource(num_images=10, image_size=(S, S), layout=layout)
    assert len(src) == 10 and src.spec.num_keypoints == k and src.spec.name == layout
    s = src[4]
    assert set(s) == KEYS and s["area"] > 0
    checks.assert_sample_arrays(s, S, S, k)
    assert s["euler"].shape == (3,) and s["euler"].dtype == np.float32 and s["image_id"] == 4
    checks.assert_rejects_bad_index_and_split(src, SyntheticFaceSource)
    with pytest.raises(ValueError, match="layout 'aflw19'"):
        SyntheticFaceSource(layout="aflw19")


def test_visibility_values_and_boxes(source: SyntheticFaceSource, rendered: list) -> None:
    counts = np.zeros(3)
    sizes = []
    for _, (s,) in rendered:
        kp, v = s["keypoints"], s["visible"]
        assert set(np.unique(v)) <= {0.0, 1.0, 2.0}
        checks.assert_labels_in_image(s, S, S)
        lab = kp[v > 0]
        x, y, w, h = (float(t) for t in s["bbox"])
        assert x >= 0 and y >= 0 and x + w <= S + 1e-3 and y + h <= S + 1e-3
        assert np.all((lab[:, 0] >= x - 1e-3) & (lab[:, 0] <= x + w + 1e-3))
        assert s["area"] == pytest.approx(w * h)
        counts += np.bincount(v.astype(int), minlength=3)
        sizes.append(max(w, h) / S)
    frac = counts / counts.sum()
    print(f"visibility over {len(rendered)} faces: v0 {frac[0]:.3f}, v1 {frac[1]:.3f}, v2 {frac[2]:.3f}")
    assert frac[0] < 0.05 and 0.15 < frac[1] < 0.6 and frac[2] > 0.4  # yaw up to 90: far sides hidden
    assert 0.45 <= float(np.median(sizes)) <= 0.72  # the face fills ~50-70 % of the image


def test_frontal_faces_are_visible_and_far_side_hidden_at_large_yaw() -> None:
    src = SyntheticFaceSource(num_images=40, image_size=(S, S), seed=5, occluders=False)
    far_hidden, near_seen, frontal_seen = [], [], []
    for i in range(16):
        p = src.params(i)
        p = replace(p, eye_open=(1.0, 1.0), look=replace(p.look, hair_style=replace(p.look.hair_style, fringe=0.0)))
        frontal = src.render_params(replace(p, euler=(0.0, 0.0, float(p.euler[2]) / 3)))
        frontal_seen.append((frontal.visible[17:] == 2).mean())  # all but the jaw line
        yaw = 62.0 + 28.0 * (i % 4) / 3.0  # 62..90 degrees, both signs
        sign = 1.0 if i % 2 else -1.0
        fr = src.render_params(replace(p, euler=(sign * yaw, float(p.euler[1]) / 4, float(p.euler[2]) / 4)))
        far = FAR_RIGHT_68 if sign > 0 else src.spec.flip_indices[FAR_RIGHT_68]
        near = src.spec.flip_indices[FAR_RIGHT_68] if sign > 0 else FAR_RIGHT_68
        far_hidden.append((fr.visible[far] == 1).mean())
        near_seen.append((fr.visible[near] == 2).mean())
    assert np.mean(frontal_seen) > 0.97
    assert np.mean(far_hidden) > 0.9 and min(far_hidden) > 0.7
    assert np.mean(near_seen) > 0.75


def test_euler_labels_follow_the_requested_ranges() -> None:
    narrow = SyntheticFaceSource(num_images=60, image_size=(S, S), max_yaw=30, max_pitch=20, max_roll=10)
    e = np.array([narrow.params(i).euler for i in range(60)])
    assert np.all(np.abs(e) <= [30, 20, 10])
    full = SyntheticFaceSource(num_images=200, image_size=(S, S))
    e = np.array([full.params(i).euler for i in range(200)])
    assert np.all(np.abs(e) <= [90, 60, 45]) and np.all(np.abs(e).max(0) > [80, 50, 38])
    assert abs(float(np.mean(e[:, 0] > 0)) - 0.5) < 0.15


def test_solvepnp_recovers_the_label() -> None:
    src = SyntheticFaceSource(num_images=40, image_size=(S, S), seed=6, max_yaw=35, max_pitch=25, max_roll=30)
    mean_face = mean_landmarks("ibug68")
    own, mean = [], []
    for i in range(20):
        p = src.params(i)
        fr = src.render_params(p)
        kp = np.round(fr.keypoints * 4) / 4  # quarter-pixel annotation noise
        label = euler_to_matrix(*p.euler)
        e = np.array([float(a) for a in matrix_to_euler(_rotation_from_pnp(fr.model_points, kp, fr.camera))])
        own.append(np.abs(e - np.array(p.euler)).max())
        e = np.array([float(a) for a in matrix_to_euler(_rotation_from_pnp(mean_face, kp, fr.camera))])
        mean.append(np.abs(e - np.array(p.euler)).max())
        assert np.allclose(euler_to_matrix(*e), label, atol=0.2)  # same rotation, not just angles
    print(
        f"solvePnP: own 3-D points max err {max(own):.3f} deg; mean face median {np.median(mean):.2f}, "
        f"max {max(mean):.2f} deg"
    )
    assert max(own) < 2.0
    assert float(np.median(mean)) < 2.5 and max(mean) < 8.0


def _nose_on_screen(fr, euler: tuple[float, float, float]) -> np.ndarray:
    """Image direction ``(2,)`` of the rendered nose: from 4 cm behind the tip (along model z) to the tip."""
    tip = fr.model_points[30]
    cam = (np.stack([tip - [0.0, 0.0, 4.0], tip]) @ euler_to_matrix(*euler)) * [1.0, -1.0, -1.0]
    cam[:, 2] += fr.distance
    uvw = cam @ fr.camera.T
    return uvw[1, :2] / uvw[1, 2] - uvw[0, :2] / uvw[0, 2]


def test_nose_points_where_the_yaw_sign_says_and_the_gizmo_agrees() -> None:
    src = SyntheticFaceSource(num_images=40, image_size=(S, S), seed=7)
    p0 = src.params(0)
    for yaw in (-40.0, 40.0):  # geometry.py: yaw > 0 turns the nose to the image's left
        fr = src.render_params(replace(p0, euler=(yaw, 0.0, 0.0)))
        assert np.sign(fr.keypoints[30, 0] - fr.keypoints[27, 0]) == -np.sign(yaw)
        assert np.sign(_nose_on_screen(fr, (yaw, 0.0, 0.0))[0]) == -np.sign(yaw)
    for pitch in (-30.0, 30.0):  # pitch > 0 looks up: the nose points up (image y decreases)
        fr = src.render_params(replace(p0, euler=(0.0, pitch, 0.0)))
        assert np.sign(_nose_on_screen(fr, (0.0, pitch, 0.0))[1]) == -np.sign(pitch)
    for roll in (-30.0, 30.0):  # roll > 0: the top of the head moves to the image's right
        fr = src.render_params(replace(p0, euler=(0.0, 0.0, roll)))
        up = fr.keypoints[27] - fr.keypoints[8]  # chin -> nasion
        assert np.sign(up[0]) == np.sign(roll)
    checked = 0
    for i in range(20):  # the drawn nose axis (project_axes row 2) follows the rendered nose
        p = src.params(i)
        seen = _nose_on_screen(src.render_params(p), p.euler)
        drawn = project_axes(*p.euler)[2]  # centre (0, 0), length 100
        if np.linalg.norm(drawn) > 40.0 and np.linalg.norm(seen) > 2.0:
            cos = seen @ drawn / (np.linalg.norm(seen) * np.linalg.norm(drawn))
            assert cos > 0.95, (p.euler, cos)
            checked += 1
    assert checked >= 8


def test_flip_rule_matches_rendering_the_mirrored_pose() -> None:
    src = SyntheticFaceSource(num_images=40, image_size=(S, S), seed=8, layout="wflw98")
    flip = src.spec.flip_indices
    for i in range(8):
        p = src.params(i)
        q = mirror_params(p, S)
        assert np.allclose(q.euler, [float(a) for a in flip_euler(*p.euler)])
        a, b = src.render_params(p), src.render_params(q)
        mirrored = a.keypoints[flip].copy()
        mirrored[:, 0] = S - 1 - mirrored[:, 0]  # pixel centres at integers: x -> W - 1 - x
        assert np.abs(mirrored - b.keypoints).max() < 1e-6
        assert (a.visible[flip] == b.visible).mean() >= 0.97
        inter = (a.person[:, ::-1] & b.person).sum()  # the rendered silhouettes mirror too
        assert inter / (a.person | b.person[:, ::-1]).sum() > 0.97


def test_write_coco_is_valid_for_pycocotools(tmp_path) -> None:
    from pycocotools.coco import COCO

    src = SyntheticFaceSource(num_images=10, image_size=(S, S), layout="wflw98")
    path = src.write_coco(str(tmp_path), indices=range(5))
    with open(path) as fh:
        raw = json.load(fh)
    assert [im["id"] for im in raw["images"]] == list(range(5))
    gt = COCO(path)
    cat = gt.loadCats(1)[0]
    assert cat["name"] == "face" and cat["keypoints"] == list(wflw98().names)
    anns = gt.loadAnns(gt.getAnnIds())
    assert len(anns) == 5 and all(len(a["euler"]) == 3 for a in anns)
    for a in anns:
        v = np.asarray(a["keypoints"]).reshape(98, 3)[:, 2]
        assert a["num_keypoints"] == int((v > 0).sum()) and a["iscrowd"] == 0
    img = cv2.imread(os.path.join(tmp_path, "images", gt.loadImgs(0)[0]["file_name"]))
    assert img.shape == (S, S, 3)
    assert checks.coco_self_ap(gt, wflw98().sigma_array) == pytest.approx(1.0)


def test_top_down_dataset_reads_the_source(source: SyntheticFaceSource) -> None:
    from landmarks.codecs.heatmap import MSRAHeatmap
    from landmarks.data.dataset import TopDownDataset
    from landmarks.data.transforms import TopDownTransform

    ds = TopDownDataset(
        source,
        TopDownTransform((128, 128), train=True),
        {"face": MSRAHeatmap(input_size=(128, 128), heatmap_size=(32, 32))},
    )
    item = ds[3]
    assert tuple(item["image"].shape) == (3, 128, 128) and item["meta"]["keypoints"].shape == (68, 2)
    assert np.array_equal(ds.flip_indices, ibug68().flip_indices)


def test_render_speed() -> None:
    ms, images = checks.render_ms(SyntheticFaceSource(num_images=60, image_size=(S, S)), 40)
    assert all(im.shape == (S, S, 3) and im.std() > 5 for im in images)
    assert ms < 40.0  # target < 8 ms on an idle core; generous here for loaded test machines


def test_save_sample_picture() -> None:
    from landmarks.viz import draw_keypoints, image_grid, save_image

    src = SyntheticFaceSource(num_images=16, image_size=(S, S), seed=11)
    tiles = []
    for i in range(16):
        image, (s,) = src.render(i)
        canvas = draw_keypoints(image, s["keypoints"], s["visible"], src.spec, threshold=1.5, radius=1)
        for x, y in s["keypoints"][s["visible"] == 1]:  # occluded points: small red dots
            cv2.circle(canvas, (int(round(float(x))), int(round(float(y)))), 1, (255, 0, 0), -1)
        origin = s["bbox"][:2] + 0.5 * s["bbox"][2:]
        for end, colour in zip(
            project_axes(*s["euler"], center=origin, size=0.3 * S), ((255, 0, 0), (0, 255, 0), (0, 0, 255))
        ):
            cv2.line(
                canvas, tuple(int(round(c)) for c in origin), tuple(int(round(c)) for c in end), colour, 2, cv2.LINE_AA
            )
        cv2.putText(
            canvas, " ".join(f"{a:.0f}" for a in s["euler"]), (3, 11), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 0), 1
        )
        tiles.append(np.concatenate([image, canvas], axis=1))
    save_image(SAMPLES_PATH, image_grid(tiles, 4))
    assert cv2.imread(SAMPLES_PATH).shape == (4 * S, 8 * S, 3)
