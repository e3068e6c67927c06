"""Face readers: WFLW text, 300W .pts, 300W-LP / AFLW2000-3D .mat, and the COCO-style face files.

Tiny files are written in the exact published layouts into tmp_path; the real samples in
../shared/realdata (mmpose's COCO-style WFLW, 300W, 300W-LP, COFW and AFLW files) are read
through conf/data/coco_face.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from scipy.io import savemat

from landmarks import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.data.formats.pose_mat import PoseMatSource
from landmarks.data.formats.pts300w import Pts300WSource
from landmarks.data.formats.wflw import VALUES_PER_LINE, WFLW_ATTRIBUTES, WflwSource
from landmarks.face_layouts import aflw19, cofw29, ibug68, wflw98
from landmarks.geometry import euler_to_matrix
from landmarks.metrics.face_subsets import nme_by_attribute
from test_face_layouts import _procrustes_residual

CONF = Path(__file__).resolve().parents[1] / "conf"
RNG = np.random.default_rng(0)


def _image(path: Path, w: int = 120, h: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), RNG.integers(0, 255, (h, w, 3), dtype=np.uint8))


def _face(k: int, x0: float = 30.0, y0: float = 20.0, size: float = 50.0) -> np.ndarray:
    """``(k, 2)`` points spread over a ``size`` box at ``(x0, y0)`` (corners included)."""
    pts = np.column_stack([np.linspace(x0, x0 + size, k), y0 + size * (np.arange(k) % 7) / 6.0])
    return np.round(pts, 3)


def _compose(overrides: list[str]) -> Any:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides + ["data.num_workers=0", "output_dir=/tmp/unused"])


# ====================================================================== WFLW text
def _wflw_line(pts: np.ndarray, rect: tuple[float, ...], flags: tuple[int, ...], name: str) -> str:
    return " ".join([*(f"{v:.3f}" for v in pts.ravel()), *(f"{v:g}" for v in rect), *map(str, flags), name])


@pytest.fixture()
def wflw_dir(tmp_path: Path) -> Path:
    _image(tmp_path / "images" / "0--Parade" / "a.jpg")
    _image(tmp_path / "images" / "1--Handshaking" / "b.jpg")
    lines = [
        _wflw_line(_face(98), (25, 15, 85, 75), (1, 0, 0, 0, 1, 0), "0--Parade/a.jpg"),
        "",  # blank lines are not faces
        _wflw_line(_face(98, 10, 10, 40), (8, 6, 52, 55), (0, 1, 0, 1, 0, 1), "1--Handshaking/b.jpg"),
        _wflw_line(_face(98, 60, 30, 30), (58, 28, 92, 62), (0, 0, 1, 0, 0, 0), "0--Parade/a.jpg"),
    ]
    (tmp_path / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_wflw_reads_landmarks_rect_and_attributes(wflw_dir: Path) -> None:
    src = WflwSource(str(wflw_dir / "list_98pt_rect_attr_test.txt"), str(wflw_dir / "images"))
    assert len(src) == 3 and src.spec.name == "wflw98" and VALUES_PER_LINE == 207
    s = src[0]
    np.testing.assert_allclose(s["keypoints"], _face(98), atol=1e-3)
    assert s["keypoints"].shape == (98, 2) and s["keypoints"].dtype == np.float32
    np.testing.assert_array_equal(s["visible"], np.full(98, 2.0))
    np.testing.assert_allclose(s["bbox"], [25, 15, 60, 60])  # x_min y_min x_max y_max -> x y w h
    assert s["area"] == pytest.approx(3600.0)
    np.testing.assert_array_equal(s["attributes"], [1, 0, 0, 0, 1, 0])
    assert s["image"].shape == (100, 120, 3) and s["image"].dtype == np.uint8
    assert s["id"] == 0 and src[1]["id"] == 2  # 0-based line numbers
    assert src[0]["image_id"] == src[2]["image_id"] != src[1]["image_id"]  # two faces share a.jpg
    np.testing.assert_array_equal(src.attributes, [[1, 0, 0, 0, 1, 0], [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0]])
    tight = WflwSource(str(wflw_dir / "list_98pt_rect_attr_test.txt"), str(wflw_dir / "images"), box="landmarks")
    np.testing.assert_allclose(tight[0]["bbox"], [30, 20, 50, 50], atol=1e-3)


@pytest.mark.parametrize("mutate, field, where", [
    (lambda t: t[:-2] + t[-1:], "<line>", "207 whitespace-separated values"),  # one value short
    (lambda t: ["abc"] + t[1:], "landmarks/rect", "200 numbers"),
    (lambda t: t[:200] + ["2"] + t[201:], "attributes", "flags 0/1"),
    (lambda t: t[:196] + ["80", "15", "25", "75"] + t[200:], "rect", "x_min < x_max"),
    (lambda t: t[:206] + ["0--Parade/missing.jpg"], "image name", "missing"),
])
def test_wflw_bad_lines_name_file_line_and_field(wflw_dir: Path, mutate, field: str, where: str) -> None:  # noqa: ANN001
    ann = wflw_dir / "list_98pt_rect_attr_test.txt"
    lines = ann.read_text().splitlines()
    lines[2] = " ".join(mutate(lines[2].split()))
    ann.write_text("\n".join(lines))
    with pytest.raises(AnnotationError) as info:
        WflwSource(str(ann), str(wflw_dir / "images"))
    msg = str(info.value)
    assert str(ann) in msg and "line 3" in msg and f"field '{field}'" in msg and where in msg
    skipping = WflwSource(str(ann), str(wflw_dir / "images"), on_bad_sample="skip")
    assert len(skipping) == 2 and skipping.skipped_counts == {"bad_sample": 1}


def test_wflw_rejects_a_spec_without_98_points(wflw_dir: Path) -> None:
    with pytest.raises(ValueError, match="98"):
        WflwSource(str(wflw_dir / "list_98pt_rect_attr_test.txt"), str(wflw_dir / "images"), spec=ibug68())


def test_nme_by_attribute_hand_computed() -> None:
    nmes = np.array([0.02, 0.04, np.nan, 0.10])
    flags = np.array([[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 1]])
    out = nme_by_attribute(nmes, flags, WFLW_ATTRIBUTES)
    assert out["full"] == pytest.approx((0.16 / 3, 3))
    assert out["pose"] == pytest.approx((0.03, 2))  # the nan face is left out of the mean
    assert out["expression"] == pytest.approx((0.07, 2))
    assert out["blur"] == pytest.approx((0.10, 1))
    assert np.isnan(out["illumination"][0]) and out["illumination"][1] == 0
    assert out["excluded"][1] == 1
    with pytest.raises(ValueError, match="names"):
        nme_by_attribute(nmes, flags, WFLW_ATTRIBUTES[:5])


# ====================================================================== 300W .pts
def _write_pts(path: Path, pts: np.ndarray, n_points: int | None = None) -> None:
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in pts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"version: 1\nn_points:  {n_points or len(pts)}\n{{\n{body}\n}}\n")


@pytest.fixture()
def w300_dir(tmp_path: Path) -> Path:
    for rel, ext in (("helen/testset/1", ".jpg"), ("ibug/image_003_1", ".png"), ("afw/2", ".jpg")):
        _image(tmp_path / (rel + ext))
        _write_pts(tmp_path / (rel + ".pts"), _face(68, 20, 10, 60))
    return tmp_path


def test_pts_reads_shifts_to_0_based_and_boxes(w300_dir: Path) -> None:
    src = Pts300WSource(str(w300_dir), subsets=["helen/testset", "ibug"])
    assert len(src) == 2 and src.spec.name == "ibug68"
    assert [Path(f).name for f in src.files] == ["1.pts", "image_003_1.pts"]
    s = src[1]
    np.testing.assert_allclose(s["keypoints"], _face(68, 20, 10, 60) - 1.0, atol=1e-4)  # Matlab 1-based
    np.testing.assert_array_equal(s["visible"], np.full(68, 2.0))
    np.testing.assert_allclose(s["bbox"], [19, 9, 60, 60], atol=1e-4)  # tight landmark box, not padded
    assert s["path"].endswith("image_003_1.png") and s["image"].shape == (100, 120, 3)
    raw = Pts300WSource(str(w300_dir), subsets=["ibug"], one_based=False)
    np.testing.assert_allclose(raw[0]["keypoints"], _face(68, 20, 10, 60), atol=1e-4)
    assert len(Pts300WSource(str(w300_dir))) == 3  # the whole root, recursively


def test_pts_list_file_names_images_or_pts(w300_dir: Path) -> None:
    (w300_dir / "test.txt").write_text("# 300W common\nhelen/testset/1.jpg\n\nibug/image_003_1.pts\n")
    src = Pts300WSource(str(w300_dir), list_file=str(w300_dir / "test.txt"))
    assert [Path(f).name for f in src.files] == ["1.pts", "image_003_1.pts"]


def test_pts_missing_file_named_by_list_line(w300_dir: Path) -> None:
    (w300_dir / "test.txt").write_text("helen/testset/1.jpg\nlfpw/testset/9.png\n")
    with pytest.raises(AnnotationError) as info:
        Pts300WSource(str(w300_dir), list_file=str(w300_dir / "test.txt"))
    msg = str(info.value)
    assert str(w300_dir / "test.txt") in msg and "line 2" in msg and "field 'pts'" in msg and "9.pts (missing)" in msg
    skipping = Pts300WSource(str(w300_dir), list_file=str(w300_dir / "test.txt"), on_bad_sample="skip")
    assert len(skipping) == 1 and skipping.skipped_counts["bad_sample"] == 1


@pytest.mark.parametrize("write, field, expected", [
    (lambda p: _write_pts(p, _face(67)), "n_points", "68 points (layout 'ibug68')"),  # wrong number of points
    (lambda p: _write_pts(p, _face(67), n_points=68), "points", "n_points = 68 point lines"),
    (lambda p: p.write_text("version: 1\nn_points: 68\n{\n1.0 abc\n}\n"), "points", "two numbers"),
    (lambda p: p.write_text("version: 1\n{\n1 2\n}\n"), "n_points", "a header line"),
    (lambda p: p.write_text("version: 1\nn_points: 68\n1 2\n"), "points", "'{' line"),
])
def test_pts_malformed_files_name_file_and_field(w300_dir: Path, write, field: str, expected: str) -> None:  # noqa: ANN001
    bad = w300_dir / "ibug" / "image_003_1.pts"
    write(bad)
    with pytest.raises(AnnotationError) as info:
        Pts300WSource(str(w300_dir), subsets=["ibug"])
    msg = str(info.value)
    assert str(bad) in msg and f"field '{field}'" in msg and expected in msg


def test_pts_without_image_beside_it(w300_dir: Path) -> None:
    (w300_dir / "afw" / "2.jpg").unlink()
    with pytest.raises(AnnotationError, match=r"2\.pts: field 'image': expected an image beside it named 2"):
        Pts300WSource(str(w300_dir), subsets=["afw"])


# ====================================================================== 300W-LP / AFLW2000-3D .mat
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
    _image(path.with_suffix(".jpg"))


def _aflw2000(path: Path, pose: tuple[float, float, float] | None = POSE) -> tuple[np.ndarray, np.ndarray]:
    pt3d = np.vstack([_face(68, 30, 25, 40).T, np.linspace(-5, 5, 68)])  # 3 x 68
    pt2d = _face(21, 32, 22, 36).T.copy()  # 2 x 21, the original AFLW points
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
    pt2d = _face(68, 40, 30, 45).T.copy()
    _write_mat(root / "AFW" / "AFW_1_0.mat", (0.1, 1.9, -0.1), pt2d=pt2d)  # yaw 108.9 deg: kept
    warped = _face(68, 45, 28, 40)
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
        _write_mat(path, None, pt2d=_face(68).T)
    elif case == "pose_size":
        _write_mat(path, None, pt2d=_face(68).T, Pose_Para=np.zeros((1, 6)))
    elif case == "pt3d_shape":
        _write_mat(path, pt3d_68=_face(68).T)  # 2 x 68, not 3 x 68
    else:
        _image(path.with_suffix(".jpg"))
        path.write_bytes(b"not a mat file")


@pytest.mark.parametrize("case, field, expected", [
    ("no_pose", "Pose_Para", "a 1 x 7 array [pitch, yaw, roll, tx, ty, tz, scale] (angles in radians), got no such field"),
    ("pose_size", "Pose_Para", "got 6 values"),
    ("pt3d_shape", "pt3d_68", "a 3 x 68 array"),
    ("corrupt", "<file>", "a MATLAB .mat file"),
])
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


# ====================================================================== configs on tiny native layouts
def test_wflw_300w_300wlp_configs_build_their_sources(tmp_path: Path) -> None:
    wflw = tmp_path / "WFLW"
    _image(wflw / "WFLW_images" / "0--Parade" / "a.jpg")
    ann = wflw / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    ann.mkdir(parents=True)
    for split in ("train", "test"):
        (ann / f"list_98pt_rect_attr_{split}.txt").write_text(
            _wflw_line(_face(98), (25, 15, 85, 75), (0,) * 6, "0--Parade/a.jpg") + "\n")
    w300 = tmp_path / "300W"
    for rel in ("afw/1", "helen/trainset/2", "lfpw/trainset/3", "helen/testset/4", "lfpw/testset/5", "ibug/6"):
        _image(w300 / (rel + ".jpg"))
        _write_pts(w300 / (rel + ".pts"), _face(68))
    for sub in ("AFW", "AFW_Flip", "HELEN", "HELEN_Flip", "IBUG", "IBUG_Flip", "LFPW", "LFPW_Flip"):
        _write_mat(tmp_path / "300W_LP" / sub / f"{sub}_1_0.mat", pt2d=_face(68).T)
    _aflw2000(tmp_path / "AFLW2000" / "image00002.mat")
    cases = {
        "wflw": (["task=face", f"data.root={wflw}", "tasks.face.spec._target_=landmarks.face_layouts.wflw98"], 1, 1),
        "300w": (["task=face", f"data.root={w300}"], 3, 3),
        "300wlp": (["task=head_pose", f"data.root={tmp_path}"], 8, 1),
    }
    for name, (overrides, n_train, n_val) in cases.items():
        cfg = _compose([*overrides, f"data={name}"])
        run.check_config(cfg)  # every config key is an argument of its target
        data = instantiate(cfg.data, _convert_="all")
        assert (len(data.train_source), len(data.val_source)) == (n_train, n_val), name
        sample = data.val_source[0]
        assert sample["image"].ndim == 3 and len(sample["keypoints"]) == data.val_source.spec.num_keypoints
    assert cfg.monitor == "val/mae" and np.isfinite(sample["euler"]).all()


def test_300wlp_config_runs_one_head_pose_validation_batch(tmp_path: Path) -> None:
    for sub in ("AFW", "AFW_Flip", "HELEN", "HELEN_Flip", "IBUG", "IBUG_Flip", "LFPW", "LFPW_Flip"):
        _write_mat(tmp_path / "300W_LP" / sub / f"{sub}_1_0.mat", pt2d=_face(68).T)
    for i, pose in enumerate([POSE, (0.0, 1.9, 0.0)]):  # the second has |yaw| > 99: excluded and counted
        _aflw2000(tmp_path / "AFLW2000" / f"image{i:05d}.mat", pose)
    cfg = _compose(["task=head_pose", "data=300wlp", f"data.root={tmp_path}", "input_size=[64,64]"])
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


# ====================================================================== real COCO-style face files
REAL = {  # folder: (file, layout, faces)
    "wflw": ("test_wflw.json", wflw98, 4),
    "300w": ("test_300w.json", ibug68, 2),
    "300wlp": ("test_300wlp.json", ibug68, 2),
    "cofw": ("test_cofw.json", cofw29, 2),
    "aflw": ("test_aflw.json", aflw19, 2),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_coco_face_files_through_coco_face_config(realdata: Path, name: str) -> None:
    file, layout, count = REAL[name]
    folder = realdata / name
    target = f"landmarks.face_layouts.{layout.__name__}"
    cfg = _compose(["task=face", "data=coco_face", f"data.root={folder}", f"data.train.ann_file={folder / file}",
                    f"data.val.ann_file={folder / file}", f"data.train.image_root={folder}",
                    f"data.val.image_root={folder}", f"data.train.spec._target_={target}",
                    f"data.val.spec._target_={target}", f"tasks.face.spec._target_={target}"])
    run.check_config(cfg)
    src = instantiate(cfg.data.val, _convert_="all")
    assert len(src) == count and src.spec.name == layout.__name__ and src.skipped_counts["bad_sample"] == 0
    anns = {a["id"]: a for a in json.loads((folder / file).read_text())["annotations"]}
    k = layout().num_keypoints
    for i in range(len(src)):
        s = src[i]
        raw = np.asarray(anns[s["id"]]["keypoints"], dtype=np.float32).reshape(k, 3)
        np.testing.assert_allclose(s["keypoints"], raw[:, :2])
        assert (s["visible"] > 0).all() and s["image"].dtype == np.uint8


def test_real_wflw_runs_one_face_validation_batch(realdata: Path) -> None:
    folder = realdata / "wflw"
    ann = folder / "test_wflw.json"
    target = "landmarks.face_layouts.wflw98"
    cfg = _compose(["task=face", "data=coco_face", f"data.root={folder}", f"data.train.ann_file={ann}",
                    f"data.val.ann_file={ann}", f"data.train.image_root={folder}", f"data.val.image_root={folder}",
                    f"data.train.spec._target_={target}", f"data.val.spec._target_={target}",
                    f"tasks.face.spec._target_={target}", "input_size=[64,64]"])
    model = run.build_model(cfg)
    data = run.build_data(cfg, model)
    batch = next(iter(data.val_dataloader()))
    model.eval()
    with torch.no_grad():
        pred = model.predict_batch(batch)["face"]
    assert pred.keypoints.shape == (4, 98, 2)
    task = model.tasks["face"]
    task.update_metrics(pred, batch)
    metrics = task.compute_metrics()
    assert {"nme", "nme_io", "fr", "auc"} <= set(metrics) and np.isfinite(metrics["nme_io"])



@pytest.mark.parametrize("name", ["cofw", "aflw"])
def test_cofw29_aflw19_flip_pairs_on_real_faces(realdata: Path, name: str) -> None:
    file, layout, _ = REAL[name]
    spec = layout()
    fi = spec.flip_indices
    np.testing.assert_array_equal(fi[fi], np.arange(spec.num_keypoints))
    for i, n in enumerate(spec.names):  # right_X <-> left_X, midline points map to themselves
        assert spec.names[fi[i]] == (n.replace("right_", "left_") if n.startswith("right_")
                                     else n.replace("left_", "right_"))
    for ann in json.loads((realdata / name / file).read_text())["annotations"]:
        pts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]
        right = [i for i, n in enumerate(spec.names) if n.startswith("right_")]
        assert (pts[right, 0] < pts[fi[right], 0]).all()  # the subject's right is on the image's left
        mirrored = pts * [-1.0, 1.0]
        io = np.linalg.norm(pts[spec.norm_pair[0]] - pts[spec.norm_pair[1]])
        good = _procrustes_residual(mirrored[fi], pts) / io
        assert good < 0.15 and good < 0.3 * _procrustes_residual(mirrored, pts) / io
