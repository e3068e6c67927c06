"""300W-LP / AFLW2000-3D ``.mat`` reader (PoseMatSource), on tiny files in the published layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import savemat

from landmarks import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.data.formats.pose_mat import PoseMatSource
from landmarks.geometry import euler_to_matrix
from tests.data.formats.face_files import compose_train, face_points, write_image


def _ddfa_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """3DDFA's RotationMatrix(phi=pitch, gamma=yaw, theta=roll), radians (face3d ``angle2matrix_3ddfa``)."""
    cx, sx, cy, sy, cz, sz = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw), np.cos(roll), np.sin(roll)
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


POSE = (0.3, -0.6, 0.2)  # pitch, yaw, roll, radians (Pose_Para order)


def _write_mat(path: Path, pose: tuple[float, float, float] | None = POSE, **fields: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = dict(fields)
    if pose is not None:
        data["Pose_Para"] = np.array([[*pose, 10.0, 20.0, 30.0, 0.001]], dtype=np.float32)  # 1 x 7
    savemat(str(path), data)
    write_image(path.with_suffix(".jpg"))


def _aflw2000(path: Path, pose: tuple[float, float, float] | None = POSE) -> tuple[np.ndarray, np.ndarray]:
    pt3d = np.vstack([face_points(68, 30, 25, 40).T, np.linspace(-5, 5, 68)])  # 3 x 68
    pt2d = face_points(21, 32, 22, 36).T.copy()  # 2 x 21, the original AFLW points
    pt2d[:, [3, 7]] = -1.0  # AFLW's missing-point marker
    _write_mat(path, pose, pt3d_68=pt3d, pt2d=pt2d)
    return pt3d, pt2d


def test_aflw2000_layout_degrees_order_landmarks_and_box(tmp_path: Path) -> None:
    pt3d, pt2d = _aflw2000(tmp_path / "AFLW2000" / "image00002.mat")
    src = PoseMatSource(str(tmp_path / "AFLW2000"))
    assert len(src) == 1 and src.spec.name == "ibug68"
    s = src[0]
    pitch, yaw, roll = POSE
    # Hopenet's get_ypr_from_mat: pitch = Pose_Para[0], yaw = [1], roll = [2]; stored here as (yaw, pitch, roll) deg.
    np.testing.assert_allclose(s["euler"], np.degrees([yaw, pitch, roll]), rtol=1e-6)
    assert s["euler"].dtype == np.float32 and s["euler"].shape == (3,)
    np.testing.assert_allclose(s["keypoints"], pt3d[:2].T - 1.0, atol=1e-4)  # pt3d_68 x, y, 1-based -> 0-based
    np.testing.assert_array_equal(s["visible"], np.full(68, 2.0))
    ok = np.ones(21, bool)
    ok[[3, 7]] = False  # (-1, -1) points do not widen the box
    (x1, y1), (x2, y2) = pt2d.T[ok].min(0) - 1.0, pt2d.T[ok].max(0) - 1.0
    w, h = x2 - x1, y2 - y1
    expected = [x1 - 0.4 * w, y1 - 0.4 * h, 1.8 * w, 1.52 * h]  # Hopenet's AFLW2000 test crop, k = 0.2
    np.testing.assert_allclose(s["bbox"], expected, atol=1e-3)
    assert s["image"].shape == (100, 120, 3) and s["path"].endswith("image00002.jpg")


def test_pose_para_follows_the_geometry_convention(tmp_path: Path) -> None:
    """The reader's (yaw, pitch, roll) rebuild 3DDFA's rotation: R_project = RotationMatrix_3ddfa.T (geometry.py)."""
    for i, pose in enumerate([POSE, (-0.4, 0.9, -0.5), (0.1, 1.2, 0.7)]):
        _aflw2000(tmp_path / "AFLW2000" / f"image{i:05d}.mat", pose)
    src = PoseMatSource(str(tmp_path / "AFLW2000"))
    for i, pose in enumerate([POSE, (-0.4, 0.9, -0.5), (0.1, 1.2, 0.7)]):
        yaw, pitch, roll = src[i]["euler"].astype(np.float64)
        np.testing.assert_allclose(euler_to_matrix(yaw, pitch, roll), _ddfa_rotation(*pose).T, atol=1e-6)


def test_300wlp_layout_pt2d_companion_and_pose_only(tmp_path: Path) -> None:
    root = tmp_path / "300W_LP"
    pt2d = face_points(68, 40, 30, 45).T.copy()
    _write_mat(root / "AFW" / "AFW_1_0.mat", (0.1, 1.9, -0.1), pt2d=pt2d)  # yaw 108.9 deg: kept
    warped = face_points(68, 45, 28, 40)
    (tmp_path / "landmarks" / "AFW").mkdir(parents=True)
    savemat(str(tmp_path / "landmarks" / "AFW" / "AFW_1_0_pts.mat"), {"pts_2d": warped})  # 68 x 2
    auto = PoseMatSource(str(root), patterns=["AFW/*.mat"])
    s = auto[0]
    np.testing.assert_allclose(s["keypoints"], pt2d.T - 1.0, atol=1e-4)
    assert s["euler"][0] == pytest.approx(np.degrees(1.9), rel=1e-6)  # |yaw| > 99 kept; the metric excludes it
    comp = PoseMatSource(str(root), patterns=["AFW/*.mat"], landmarks_root=str(tmp_path / "landmarks"))
    np.testing.assert_allclose(comp[0]["keypoints"], warped - 1.0, atol=1e-4)
    pose_only = PoseMatSource(str(root), patterns=["AFW/*.mat"], landmarks="none", one_based=False)
    t = pose_only[0]
    assert (t["visible"] == 0).all() and np.isfinite(t["euler"]).all()
    lo, hi = pt2d.min(axis=1), pt2d.max(axis=1)
    np.testing.assert_allclose(t["bbox"][:2], lo - [0.4, 0.4] * (hi - lo), atol=1e-3)  # box still from pt2d
    _write_mat(root / "AFW" / "AFW_2_0.mat", pt2d=pt2d)
    missing = PoseMatSource(str(root), patterns=["AFW/*.mat"], landmarks_root=str(tmp_path / "landmarks"))
    with pytest.raises(AnnotationError, match=r"AFW_2_0_pts\.mat: field '<file>': expected the 300W-LP landmark file"):
        missing[1]


def _bad_mat(path: Path, case: str) -> None:
    if case == "no_pose":
        _write_mat(path, None, pt2d=face_points(68).T)
    elif case == "pose_size":
        _write_mat(path, None, pt2d=face_points(68).T, Pose_Para=np.zeros((1, 6)))
    elif case == "pt3d_shape":
        _write_mat(path, pt3d_68=face_points(68).T)  # 2 x 68, not 3 x 68
    else:
        write_image(path.with_suffix(".jpg"))
        path.write_bytes(b"not a mat file")


@pytest.mark.parametrize(
    "case, field, expected",
    [
        (
            "no_pose",
            "Pose_Para",
            "a 1 x 7 array [pitch, yaw, roll, tx, ty, tz, scale] (angles in radians), got no such field",
        ),
        ("pose_size", "Pose_Para", "got 6 values"),
        ("pt3d_shape", "pt3d_68", "a 3 x 68 array"),
        ("corrupt", "<file>", "a MATLAB .mat file"),
    ],
)
def test_pose_mat_errors_name_file_and_field(tmp_path: Path, case: str, field: str, expected: str) -> None:
    _aflw2000(tmp_path / "a" / "good.mat")
    _bad_mat(tmp_path / "a" / "bad.mat", case)
    src = PoseMatSource(str(tmp_path / "a"), landmarks="pt3d_68" if case == "pt3d_shape" else "auto")
    assert len(src) == 2 and Path(src.files[0]).name == "bad.mat"
    with pytest.raises(AnnotationError) as info:
        src[0]
    msg = str(info.value)
    assert str(tmp_path / "a" / "bad.mat") in msg and f"field '{field}'" in msg and expected in msg
    skipping = PoseMatSource(str(tmp_path / "a"), on_bad_sample="skip")
    assert Path(skipping[0]["path"]).name == "good.jpg" and skipping.skipped_counts["bad_sample"] == 1


def test_pose_mat_listing_errors(tmp_path: Path) -> None:
    _aflw2000(tmp_path / "AFW" / "AFW_1_0.mat")
    (tmp_path / "files.txt").write_text("AFW/AFW_1_0\nAFW/AFW_9_0\n")  # Hopenet lists: no extension
    with pytest.raises(AnnotationError) as info:
        PoseMatSource(str(tmp_path), list_file=str(tmp_path / "files.txt"))
    assert "files.txt (line 2): field 'mat'" in str(info.value) and "AFW_9_0.mat (missing)" in str(info.value)
    assert len(PoseMatSource(str(tmp_path), list_file=str(tmp_path / "files.txt"), on_bad_sample="skip")) == 1
    (tmp_path / "AFW" / "AFW_1_0.jpg").unlink()
    with pytest.raises(AnnotationError, match=r"AFW_1_0\.mat: field 'image': expected the image AFW_1_0\.jpg"):
        PoseMatSource(str(tmp_path), patterns=["AFW/*.mat"])


def test_300wlp_config_runs_one_head_pose_validation_batch(tmp_path: Path) -> None:
    for sub in ("AFW", "AFW_Flip", "HELEN", "HELEN_Flip", "IBUG", "IBUG_Flip", "LFPW", "LFPW_Flip"):
        _write_mat(tmp_path / "300W_LP" / sub / f"{sub}_1_0.mat", pt2d=face_points(68).T)
    for i, pose in enumerate([POSE, (0.0, 1.9, 0.0)]):  # the second has |yaw| > 99: excluded and counted
        _aflw2000(tmp_path / "AFLW2000" / f"image{i:05d}.mat", pose)
    cfg = compose_train(["task=head_pose", "data=300wlp", f"data.root={tmp_path}", "input_size=[64,64]"])
    model = run.build_model(cfg)
    data = run.build_data(cfg, model)
    batch = next(iter(data.val_dataloader()))
    np.testing.assert_allclose(batch["meta"]["euler"][0].numpy(), np.degrees([POSE[1], POSE[0], POSE[2]]), rtol=1e-5)
    model.eval()
    with torch.no_grad():
        pred = model.predict_batch(batch)["head_pose"]
    task = model.tasks["head_pose"]
    task.update_metrics(pred, batch)
    metrics = task.compute_metrics()
    assert np.isfinite(metrics["mae"]) and metrics["mae_excluded"] == 1
