"""Landmark-based head pose (landmarks.inference.pnp): convention, along-the-ray reading, rendered faces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from landmarks.data.synthetic.face.figure import mean_landmarks
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.geometry import euler_to_matrix, geodesic_distance
from landmarks.inference.pnp import MEAN_FACE_68, camera_matrix, ray_rotation, solve_head_pose, solve_head_poses

F = np.diag([1.0, -1.0, -1.0])
POSES = [
    (0, 0, 0),
    (30, 0, 0),
    (-30, 0, 0),
    (0, 25, 0),
    (0, -25, 0),
    (0, 0, 35),
    (0, 0, -35),
    (60, -20, 15),
    (-75, 30, -25),
    (85, 10, 5),
    (-45, -40, 40),
    (20, 45, -10),
]


def _project(
    euler: tuple[float, float, float], t: np.ndarray, k_mat: np.ndarray, model: np.ndarray = MEAN_FACE_68
) -> np.ndarray:
    """By hand: a model point X sits at F @ R.T @ X + t in OpenCV's camera (geometry.py's docstring), then pinhole."""
    cam = model @ (F @ euler_to_matrix(*euler).T).T + t
    return cam[:, :2] / cam[:, 2:] * np.diag(k_mat)[:2] + k_mat[:2, 2]


def test_mean_face_is_the_renderers_neutral_head() -> None:
    np.testing.assert_allclose(MEAN_FACE_68, mean_landmarks("ibug68"), atol=1e-3)
    assert np.allclose(MEAN_FACE_68[[36, 45], 0], [-4.312, 4.312])  # subject's right eye at x < 0 (model x: left)


@pytest.mark.parametrize("euler", POSES)
def test_hand_made_projection_gives_back_the_angles(euler: tuple[float, float, float]) -> None:
    k_mat = camera_matrix(640, 480, focal=800.0)
    on_axis = _project(euler, np.array([0.0, 0.0, 70.0]), k_mat)
    for along_ray in (True, False):  # on the optical axis the ray is the axis
        pose = solve_head_pose(on_axis, (640, 480), camera=k_mat, along_ray=along_ray)
        assert pose is not None and pose.num_points == 68 and pose.reprojection_error < 1e-3
        np.testing.assert_allclose(pose.euler, euler, atol=1e-3)
        np.testing.assert_allclose(pose.rotation, euler_to_matrix(*euler), atol=1e-5)
        np.testing.assert_allclose(pose.translation, [0.0, 0.0, 70.0], atol=1e-3)
    off_axis = _project(euler, np.array([-12.0, 9.0, 60.0]), k_mat)  # relative to the optical axis: exact too
    pose = solve_head_pose(off_axis, (640, 480), camera=k_mat, along_ray=False)
    np.testing.assert_allclose(pose.euler, euler, atol=1e-3)


def test_along_the_ray_a_head_off_axis_is_seen_turned() -> None:
    """Facing along the optical axis, a head at the image's right shows its left cheek: it looks turned
    to its own left (yaw < 0: the nose points to the image's right, as seen from the camera); a head
    below the axis is seen from above: it looks down (pitch < 0). Both by the ray angle."""
    k_mat = camera_matrix(640, 480, focal=500.0)
    for t, expected in (
        ([20.0, 0.0, 80.0], (-np.degrees(np.arctan(0.25)), 0.0, 0.0)),
        ([0.0, 20.0, 80.0], (0.0, -np.degrees(np.arctan(0.25)), 0.0)),
    ):
        pose = solve_head_pose(_project((0.0, 0.0, 0.0), np.array(t), k_mat), (640, 480), camera=k_mat)
        np.testing.assert_allclose(pose.euler, expected, atol=1e-3)


def test_ray_rotation_is_the_smallest_turn_to_the_axis() -> None:
    for d in ([0.3, -0.2, 1.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.5]):
        q = ray_rotation(np.array(d))
        np.testing.assert_allclose(q @ q.T, np.eye(3), atol=1e-12)
        assert np.isclose(np.linalg.det(q), 1.0)
        np.testing.assert_allclose(q @ (np.array(d) / np.linalg.norm(d)), [0.0, 0.0, 1.0], atol=1e-12)
    q = ray_rotation(np.array([1.0, 0.0, 1.0]))  # a turn about y only: the y axis stays put (no twist)
    np.testing.assert_allclose(q[:, 1], [0.0, 1.0, 0.0], atol=1e-12)


def test_rendered_faces_match_their_labels() -> None:
    """The renderer's own camera and neutral identity: only the expression-free mean face differs."""
    src = SyntheticFaceSource(num_images=40, image_size=(160, 160), seed=11, max_yaw=80, max_pitch=45, max_roll=40)
    geo, angle, centred, random_id = [], [], [], []
    for i in range(24):
        p = src.params(i)
        neutral = replace(p, alpha=np.zeros_like(p.alpha), smile=0.0, brows=0.0, jaw_deg=0.0)
        fr = src.render_params(neutral)
        label = euler_to_matrix(*neutral.euler)
        pose = solve_head_pose(fr.keypoints, (160, 160), camera=fr.camera)
        geo.append(float(geodesic_distance(pose.rotation, label)))
        angle.append(float(np.abs(pose.euler - np.array(neutral.euler)).max()))
        # the same image read with the principal point at the image centre: the head is then off axis,
        # and reading the angles along the ray gives the label back
        k_centre = camera_matrix(160, 160, focal=fr.camera[0, 0])
        centred.append(
            float(geodesic_distance(solve_head_pose(fr.keypoints, (160, 160), camera=k_centre).rotation, label))
        )
        fr_id = src.render_params(p)  # random identity and expression
        pose = solve_head_pose(fr_id.keypoints, (160, 160), camera=fr_id.camera, mask=fr_id.visible > 0)
        random_id.append(float(geodesic_distance(pose.rotation, euler_to_matrix(*p.euler))))
    print(
        f"PnP vs label (deg): neutral median {np.median(geo):.3f} max {max(geo):.3f} (per-angle max {max(angle):.3f}); "
        f"centred principal point median {np.median(centred):.3f}; random identity median {np.median(random_id):.2f} "
        f"max {max(random_id):.2f}"
    )
    assert np.median(geo) < 0.3 and max(geo) < 1.5 and max(angle) < 2.0
    assert np.median(centred) < 0.4 and max(centred) < 2.0
    assert np.median(random_id) < 2.5 and max(random_id) < 12.0


def test_masks_failures_and_errors() -> None:
    k_mat = camera_matrix(320, 320, focal=400.0)
    kp = _project((40.0, -10.0, 5.0), np.array([3.0, -2.0, 50.0]), k_mat)
    visible = np.zeros(68, bool)
    visible[[8, *range(9, 17), *range(22, 27), *range(27, 36), *range(42, 48), 51, 54, 57]] = True  # the near side
    pose = solve_head_pose(kp, (320, 320), mask=visible, camera=k_mat, along_ray=False)
    assert pose.num_points == int(visible.sum())
    np.testing.assert_allclose(pose.euler, (40.0, -10.0, 5.0), atol=1e-3)
    kp_nan = kp.copy()
    kp_nan[:63] = np.nan  # 5 finite points < min_points
    assert solve_head_pose(kp_nan, (320, 320)) is None
    collapsed = solve_head_pose(np.full((68, 2), 50.0), (320, 320))  # an untrained model's landmarks: no crash
    assert collapsed is None or np.isfinite(collapsed.euler).all()
    batch = solve_head_poses(np.stack([kp, kp_nan]), (320, 320), camera=k_mat, along_ray=False)
    assert batch.shape == (2, 3) and np.allclose(batch[0], (40.0, -10.0, 5.0), atol=1e-3) and np.isnan(batch[1]).all()
    with pytest.raises(ValueError, match=r"landmarks \(K, 2\) and model \(K, 3\)"):
        solve_head_pose(kp[:20], (320, 320))
    with pytest.raises(ValueError, match="mask has 3 entries"):
        solve_head_pose(kp, (320, 320), mask=np.ones(3, bool))
    with pytest.raises(ValueError, match="focal must be positive"):
        camera_matrix(320, 320, focal=0.0)
