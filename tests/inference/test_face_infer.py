"""Face / head-pose inference and evaluation outputs: Haar boxes, euler + PnP fields, gizmo, CED plot."""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from omegaconf import OmegaConf

from landmarks import run, viz
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.inference.face_detect import HaarFaceDetector, haar_available
from landmarks.inference.loop import run_inference
from landmarks.inference.results import predict_frame
from landmarks.inference.sources import Frame
from landmarks.types import Prediction
from tests.tiny import BASE, compose, compose_train, untrained_checkpoint

TINY = [
    *BASE,
    "data.batch_size=4",
    "data.val_batch_size=6",
    "data.val.num_images=6",
    "data.train.num_images=6",
    "data.val.image_size=[96,96]",
    "data.train.image_size=[96,96]",
]


def _untrained_ckpt(out: Path, task: str) -> Path:
    """An untrained model saved the way checkpoints store it (weights + resolved config)."""
    return untrained_checkpoint(compose_train(out, f"task={task}", tiny=TINY), out / f"untrained_{task}.ckpt")


@pytest.fixture(scope="module")
def face_pose_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _untrained_ckpt(tmp_path_factory.mktemp("face_pose"), "face_head_pose")


@pytest.fixture(scope="module")
def face_images(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[float]]]:
    folder = tmp_path_factory.mktemp("faces")
    src = SyntheticFaceSource(num_images=2, image_size=(112, 96), split="test", seed=5)
    boxes = []
    for i in range(2):
        image, (face,) = src.render(i)
        viz.save_image(str(folder / f"{i + 1:06d}.png"), image)
        boxes.append([float(v) for v in face["bbox"]])
    return folder, boxes


def _infer(ckpt: Path, source: Path, out: Path, *overrides: str) -> list[dict]:
    cfg = compose("infer", f"ckpt={ckpt}", f"source={source}", f"out={out}", *overrides)
    path = run.infer(cfg)
    assert path == str(out / "predictions.json")
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------ detector
def test_haar_detector_on_a_real_face(realdata: Path) -> None:
    ok, why = haar_available()
    if not ok:
        pytest.skip(why)
    image = cv2.cvtColor(cv2.imread(str(realdata / "300w" / "indoor_029.png")), cv2.COLOR_BGR2RGB)
    ann = json.loads((realdata / "300w" / "test_300w.json").read_text())
    image_id = next(im["id"] for im in ann["images"] if im["file_name"] == "indoor_029.png")
    kp = np.array(next(a["keypoints"] for a in ann["annotations"] if a["image_id"] == image_id)).reshape(-1, 3)[:, :2]
    (x0, y0), (x1, y1) = kp.min(0), kp.max(0)
    boxes = HaarFaceDetector().detect(image)
    assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
    assert len(boxes) >= 1, "no face found on a frontal 300W face"
    bx, by, bw, bh = boxes[0, :4]  # largest first; scaled to the landmark box
    inter = max(0.0, min(bx + bw, x1) - max(bx, x0)) * max(0.0, min(by + bh, y1) - max(by, y0))
    assert inter / (bw * bh + (x1 - x0) * (y1 - y0) - inter) > 0.6
    assert HaarFaceDetector().detect(np.full((120, 160, 3), 128, np.uint8)).shape == (0, 5)  # blank: no face


def test_haar_detector_says_why_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="face_detector=haar: .*(CascadeClassifier|not found)"):
        HaarFaceDetector(cascade_path=str(tmp_path / "missing.xml"))
    with pytest.raises(ValueError, match="face_detector: expected 'auto', 'haar' or 'none'"):
        run._face_detector("yolo", "face")


def test_box_category_decides_whether_a_face_detector_is_used(caplog: pytest.LogCaptureFixture) -> None:
    assert run._face_detector("auto", None) is None and run._face_detector("none", "face") is None
    assert run._face_detector("auto", "hand") is None
    with caplog.at_level(logging.WARNING, logger="landmarks"):
        assert run._face_detector("haar", None) is None
    assert "face_detector=haar ignored: the model's boxes hold no declared category, not 'face'" in caplog.text


# ------------------------------------------------------------------ gizmo
def test_head_pose_gizmo_axes_and_colours() -> None:
    black = np.zeros((100, 100, 3), np.uint8)
    out = viz.draw_head_pose(black, (0.0, 0.0, 0.0), (50, 50), size=30)
    assert out[50, 72].tolist() == [255, 0, 0] and out[72, 50].tolist() == [0, 255, 0]  # x right red, y down green
    turned = viz.draw_head_pose(black, (60.0, 0.0, 0.0), (50, 50), size=30)  # yaw > 0: the nose points left
    assert turned[50, 35].tolist() == [0, 0, 255] and turned[50, 65, 2] == 0
    assert np.array_equal(viz.draw_head_pose(black, (np.nan, 0.0, 0.0), (50, 50), size=30), black)
    assert black.max() == 0  # input untouched


def test_pose_is_written_with_and_drawn_on_the_face_the_landmarks_found(
    face_pose_ckpt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    predictor = run.load_predictor(str(face_pose_ckpt), device="cpu")
    assert predictor.box_category == "face"
    kp = np.stack([np.linspace(20, 60, 68), np.linspace(30, 80, 68)], axis=-1)[None].astype(np.float32)
    preds = {
        "face": Prediction(kp, np.full((1, 68), 0.9, np.float32)),
        "head_pose": Prediction(
            np.zeros((1, 0, 2), np.float32),
            np.zeros((1, 0), np.float32),
            {"euler": np.array([[10.0, -5.0, 3.0]], np.float32)},
        ),
    }
    monkeypatch.setattr(predictor, "predict", lambda image, boxes=None, return_heatmaps=False: preds)
    image = np.zeros((96, 112, 3), np.uint8)
    entries, overlay = predict_frame(predictor, Frame("a.png", image, 7), None, None, "image", kpt_thr=0.3)
    (entry,) = entries  # one entry per face: the pose task adds its fields, the landmarks keep theirs
    assert entry["task"] == "face" and entry["image_id"] == 7 and entry["bbox"] == [0, 0, 112, 96]
    assert len(entry["keypoints"]) == 3 * 68 and entry["keypoints"][:3] == [20.0, 30.0, 0.9]
    assert entry["keypoints"][-3:] == [60.0, 80.0, 0.9] and entry["score"] == 0.9
    assert entry["euler"] == [10.0, -5.0, 3.0] and (entry["yaw"], entry["pitch"], entry["roll"]) == (10.0, -5.0, 3.0)
    # landmarks span x 20..60, y 30..80: gizmo at their centre (40, 55), 0.6 x the longer side (50) = 30 px long
    expected = predictor.model.tasks["face"].draw(image, preds["face"], 0, box=[0, 0, 112, 96], kpt_thr=0.3)
    expected = viz.draw_head_pose(expected, (10.0, -5.0, 3.0), (40.0, 55.0), size=30.0)
    assert np.array_equal(overlay, expected)


# ------------------------------------------------------------------ infer / evaluate
@pytest.mark.slow
def test_infer_face_head_pose_writes_euler_pnp_and_overlays(
    face_pose_ckpt: Path, face_images: tuple[Path, list[list[float]]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder, boxes = face_images
    results = _infer(face_pose_ckpt, folder, tmp_path / "none", "face_detector=none")
    assert sorted(r["image_id"] for r in results) == [1, 2]  # one entry per face: landmarks + pose together
    for r in results:
        assert r["task"] == "face" and r["box_source"] == "image" and r["bbox"] == [0, 0, 112, 96]
        assert len(r["keypoints"]) == 3 * 68 and all(math.isfinite(v) for v in r["keypoints"])
        assert r["euler"] == [r["yaw"], r["pitch"], r["roll"]] and all(abs(a) <= 180 for a in r["euler"])
        assert "pnp_euler" in r and (r["pnp_euler"] is None or len(r["pnp_euler"]) == 3)
        assert (r["pnp_euler"] is None) == (r["pnp_error_px"] is None)
    overlays = sorted(p.name for p in (tmp_path / "none" / "overlays").iterdir())
    assert overlays == ["000001.jpg", "000002.jpg"]
    assert cv2.imread(str(tmp_path / "none" / "overlays" / overlays[0])).shape == (96, 112, 3)

    det_file = tmp_path / "faces.json"
    det_file.write_text(
        json.dumps([{"image_id": i + 1, "category_id": 1, "bbox": b, "score": 0.9} for i, b in enumerate(boxes)])
    )
    results = _infer(face_pose_ckpt, folder, tmp_path / "det", f"det_file={det_file}", "pnp=false")
    assert [r["box_source"] for r in results] == ["det_file"] * 2 and all("pnp_euler" not in r for r in results)
    assert results[0]["bbox"] == pytest.approx(boxes[0], abs=0.01)

    class FixedBox:  # any object with a name and detect(image) -> (N, 5) supplies the boxes
        name = "fixed"

        def detect(self, image: np.ndarray) -> np.ndarray:
            return np.array([[10.0, 12.0, 60.0, 70.0, 0.8]], np.float32)

    predictor = run.load_predictor(str(face_pose_ckpt))
    assert predictor.box_category == "face"
    path = run_inference(predictor, str(folder), str(tmp_path / "fixed"), face_detector=FixedBox(), pnp=True)
    results = json.loads(Path(path).read_text())
    assert [(r["box_source"], r["bbox"], r["box_score"]) for r in results] == [("fixed", [10, 12, 60, 70], 0.8)] * 2

    with caplog.at_level(logging.WARNING, logger="landmarks"):
        results = _infer(face_pose_ckpt, folder / "000001.png", tmp_path / "auto", "face_detector=auto")
    assert len(results) >= 1 and all(r["box_source"] in ("haar", "image") for r in results)
    if not haar_available()[0]:
        assert "using the whole image" in caplog.text


@pytest.mark.slow
def test_infer_pose_only_model_gives_one_entry_per_box(
    face_images: tuple[Path, list[list[float]]], tmp_path: Path
) -> None:
    folder, _ = face_images
    results = _infer(_untrained_ckpt(tmp_path, "head_pose"), folder, tmp_path / "pred", "face_detector=auto")
    assert [r["task"] for r in results] == ["head_pose"] * 2
    for r in results:
        assert r["keypoints"] == [] and r["score"] == 1.0 and "pnp_euler" not in r
        assert r["euler"] == [r["yaw"], r["pitch"], r["roll"]]
    assert len(list((tmp_path / "pred" / "overlays").iterdir())) == 2


@pytest.mark.slow
def test_evaluate_writes_ced_and_per_sample_errors(face_pose_ckpt: Path, tmp_path: Path) -> None:
    cfg = compose("evaluate", f"ckpt={face_pose_ckpt}", f"out={tmp_path}")
    metrics = run.evaluate(cfg)
    for name in ("eval_metrics.json", "ced.png", "face_nme.csv", "head_pose_errors.csv", "head_pose_errors.png"):
        assert (tmp_path / name).is_file(), name
    assert cv2.imread(str(tmp_path / "ced.png")).shape[:2] == (400, 600)
    with open(tmp_path / "face_nme.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6 and {"nme_box", "nme_io", "nme_ip", "gt_yaw"} <= set(rows[0])
    # the per-sample NMEs are the ones behind the logged metric
    assert np.nanmean([float(r["nme_box"]) for r in rows]) == pytest.approx(metrics["val/nme_box"], rel=1e-5)
    with open(tmp_path / "head_pose_errors.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    assert np.mean([float(r["err_yaw"]) for r in rows]) == pytest.approx(metrics["val/mae_yaw"], rel=1e-4)
    # and the report is optional
    off = OmegaConf.merge(cfg, {"out": str(tmp_path / "off"), "plots": False})
    run.evaluate(off)
    assert not (tmp_path / "off" / "ced.png").exists()
