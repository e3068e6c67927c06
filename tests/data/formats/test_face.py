"""Face readers: WFLW text, 300W .pts, the face data configs, and the COCO-style face files.

The 300W-LP / AFLW2000-3D ``.mat`` reader has its own file (test_formats_pose_mat.py).

Tiny files are written in the exact published layouts into tmp_path; the real samples in
../shared/realdata (mmpose's COCO-style WFLW, 300W, 300W-LP, COFW and AFLW files) are read
through conf/data/coco_face.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from landmarks import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.data.formats.pts300w import Pts300WSource
from landmarks.data.formats.wflw import VALUES_PER_LINE, WFLW_ATTRIBUTES, WflwSource
from landmarks.layouts.face import aflw19, cofw29, ibug68, wflw98
from landmarks.metrics.face_subsets import nme_by_attribute
from tests.data.formats.face_files import compose_train, face_points, write_image
from tests.data.formats.test_pose_mat import _aflw2000, _write_mat
from tests.layouts.test_face import _procrustes_residual


# ====================================================================== WFLW text
def _wflw_line(pts: np.ndarray, rect: tuple[float, ...], flags: tuple[int, ...], name: str) -> str:
    return " ".join([*(f"{v:.3f}" for v in pts.ravel()), *(f"{v:g}" for v in rect), *map(str, flags), name])


@pytest.fixture()
def wflw_dir(tmp_path: Path) -> Path:
    write_image(tmp_path / "images" / "0--Parade" / "a.jpg")
    write_image(tmp_path / "images" / "1--Handshaking" / "b.jpg")
    lines = [
        _wflw_line(face_points(98), (25, 15, 85, 75), (1, 0, 0, 0, 1, 0), "0--Parade/a.jpg"),
        "",  # blank lines are not faces
        _wflw_line(face_points(98, 10, 10, 40), (8, 6, 52, 55), (0, 1, 0, 1, 0, 1), "1--Handshaking/b.jpg"),
        _wflw_line(face_points(98, 60, 30, 30), (58, 28, 92, 62), (0, 0, 1, 0, 0, 0), "0--Parade/a.jpg"),
    ]
    (tmp_path / "list_98pt_rect_attr_test.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_wflw_reads_landmarks_rect_and_attributes(wflw_dir: Path) -> None:
    src = WflwSource(str(wflw_dir / "list_98pt_rect_attr_test.txt"), str(wflw_dir / "images"))
    assert len(src) == 3 and src.spec.name == "wflw98" and VALUES_PER_LINE == 207
    s = src[0]
    np.testing.assert_allclose(s["keypoints"], face_points(98), atol=1e-3)
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


@pytest.mark.parametrize(
    "mutate, field, where",
    [
        (lambda t: t[:-2] + t[-1:], "<line>", "207 whitespace-separated values"),  # one value short
        (lambda t: ["abc"] + t[1:], "landmarks/rect", "200 numbers"),
        (lambda t: t[:200] + ["2"] + t[201:], "attributes", "flags 0/1"),
        (lambda t: t[:196] + ["80", "15", "25", "75"] + t[200:], "rect", "x_min < x_max"),
        (lambda t: t[:206] + ["0--Parade/missing.jpg"], "image name", "missing"),
    ],
)
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
        write_image(tmp_path / (rel + ext))
        _write_pts(tmp_path / (rel + ".pts"), face_points(68, 20, 10, 60))
    return tmp_path


def test_pts_reads_shifts_to_0_based_and_boxes(w300_dir: Path) -> None:
    src = Pts300WSource(str(w300_dir), subsets=["helen/testset", "ibug"])
    assert len(src) == 2 and src.spec.name == "ibug68"
    assert [Path(f).name for f in src.files] == ["1.pts", "image_003_1.pts"]
    s = src[1]
    np.testing.assert_allclose(s["keypoints"], face_points(68, 20, 10, 60) - 1.0, atol=1e-4)  # Matlab 1-based
    np.testing.assert_array_equal(s["visible"], np.full(68, 2.0))
    np.testing.assert_allclose(s["bbox"], [19, 9, 60, 60], atol=1e-4)  # tight landmark box, not padded
    assert s["path"].endswith("image_003_1.png") and s["image"].shape == (100, 120, 3)
    raw = Pts300WSource(str(w300_dir), subsets=["ibug"], one_based=False)
    np.testing.assert_allclose(raw[0]["keypoints"], face_points(68, 20, 10, 60), atol=1e-4)
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


@pytest.mark.parametrize(
    "write, field, expected",
    [
        (lambda p: _write_pts(p, face_points(67)), "n_points", "68 points (layout 'ibug68')"),  # wrong number of points
        (lambda p: _write_pts(p, face_points(67), n_points=68), "points", "n_points = 68 point lines"),
        (lambda p: p.write_text("version: 1\nn_points: 68\n{\n1.0 abc\n}\n"), "points", "two numbers"),
        (lambda p: p.write_text("version: 1\n{\n1 2\n}\n"), "n_points", "a header line"),
        (lambda p: p.write_text("version: 1\nn_points: 68\n1 2\n"), "points", "'{' line"),
    ],
)
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


# ====================================================================== configs on tiny native layouts
def test_wflw_300w_300wlp_configs_build_their_sources(tmp_path: Path) -> None:
    wflw = tmp_path / "WFLW"
    write_image(wflw / "WFLW_images" / "0--Parade" / "a.jpg")
    ann = wflw / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    ann.mkdir(parents=True)
    for split in ("train", "test"):
        (ann / f"list_98pt_rect_attr_{split}.txt").write_text(
            _wflw_line(face_points(98), (25, 15, 85, 75), (0,) * 6, "0--Parade/a.jpg") + "\n"
        )
    w300 = tmp_path / "300W"
    for rel in ("afw/1", "helen/trainset/2", "lfpw/trainset/3", "helen/testset/4", "lfpw/testset/5", "ibug/6"):
        write_image(w300 / (rel + ".jpg"))
        _write_pts(w300 / (rel + ".pts"), face_points(68))
    for sub in ("AFW", "AFW_Flip", "HELEN", "HELEN_Flip", "IBUG", "IBUG_Flip", "LFPW", "LFPW_Flip"):
        _write_mat(tmp_path / "300W_LP" / sub / f"{sub}_1_0.mat", pt2d=face_points(68).T)
    _aflw2000(tmp_path / "AFLW2000" / "image00002.mat")
    cases = {
        "wflw": (["task=face", f"data.root={wflw}"], 1, 1),
        "300w": (["task=face", f"data.root={w300}"], 3, 3),
        "300wlp": (["task=head_pose", f"data.root={tmp_path}"], 8, 1),
    }
    for name, (overrides, n_train, n_val) in cases.items():
        cfg = compose_train([*overrides, f"data={name}"])
        run.check_config(cfg)  # every config key is an argument of its target
        data = instantiate(cfg.data, _convert_="all")
        assert (len(data.train_source), len(data.val_source)) == (n_train, n_val), name
        sample = data.val_source[0]
        assert sample["image"].ndim == 3 and len(sample["keypoints"]) == data.val_source.spec.num_keypoints
    assert cfg.monitor == "val/mae" and np.isfinite(sample["euler"]).all()


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
    target = f"landmarks.layouts.face.{layout.__name__}"
    cfg = compose_train(
        [
            "task=face",
            "data=coco_face",
            f"data.root={folder}",
            f"data.train.ann_file={folder / file}",
            f"data.val.ann_file={folder / file}",
            f"data.train.image_root={folder}",
            f"data.val.image_root={folder}",
            f"keypoint_layout._target_={target}",
        ]
    )
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
    target = "landmarks.layouts.face.wflw98"
    cfg = compose_train(
        [
            "task=face",
            "data=coco_face",
            f"data.root={folder}",
            f"data.train.ann_file={ann}",
            f"data.val.ann_file={ann}",
            f"data.train.image_root={folder}",
            f"data.val.image_root={folder}",
            f"keypoint_layout._target_={target}",
            "input_size=[64,64]",
        ]
    )
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
        assert spec.names[fi[i]] == (
            n.replace("right_", "left_") if n.startswith("right_") else n.replace("left_", "right_")
        )
    for ann in json.loads((realdata / name / file).read_text())["annotations"]:
        pts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]
        right = [i for i, n in enumerate(spec.names) if n.startswith("right_")]
        assert (pts[right, 0] < pts[fi[right], 0]).all()  # the subject's right is on the image's left
        mirrored = pts * [-1.0, 1.0]
        io = np.linalg.norm(pts[spec.norm_pair[0]] - pts[spec.norm_pair[1]])
        good = _procrustes_residual(mirrored[fi], pts) / io
        assert good < 0.15 and good < 0.3 * _procrustes_residual(mirrored, pts) / io
