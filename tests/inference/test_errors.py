"""Inference never loses work and never falls back silently (issue 9, items 7, 11, 12).

A ``det_file`` is validated entry by entry; detections reach images by id and by file name;
unmatched ids, images without a box, frames without a face and unreadable images are each named
once and counted in the closing summary; predictions are appended per image (``predictions.jsonl``)
so a crash keeps what was done.

(Over 300 lines: every bad input of infer.py in one place, so the messages can be read side by side.)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from landmarks import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.inference.det_file import image_key, load_detections
from landmarks.inference.loop import run_inference
from landmarks.inference.predictor import Predictor, resolve_device
from tests.tiny import BASE, compose_train, run_script

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "conf"
TINY = [*BASE, "model.flip_test=false"]
BOX = [10.0, 8.0, 30.0, 40.0]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    return Predictor(run.build_model(compose_train(tmp_path_factory.mktemp("m"), tiny=TINY)))


def _image(path: Path, seed: int) -> None:
    cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four images in sorted order: a numeric name, a truncated JPEG, a user's frame name, one with no detection."""
    images = tmp_path / "images"
    images.mkdir()
    _image(images / "000000000785.png", 0)
    _image(images / "broken.jpg", 1)
    data = (images / "broken.jpg").read_bytes()
    (images / "broken.jpg").write_bytes(data[: len(data) // 2])  # OpenCV alone decodes this with grey rows
    _image(images / "frame_0001.png", 2)
    _image(images / "other.png", 3)
    return images


def _dets(path: Path, entries: list[Any]) -> Path:
    path.write_text(json.dumps(entries))
    return path


# --------------------------------------------------------------------------- det_file validation
@pytest.mark.parametrize(
    ("entry", "field", "fragment"),
    [
        ([1, 2, 3, 4], "<entry>", "a JSON object"),
        ({"image_id": 1, "score": 0.9}, "bbox", "missing"),
        ({"image_id": 1, "bbox": BOX}, "score", "missing"),
        ({"bbox": BOX, "score": 0.9}, "image_id", "missing"),
        ({"image_id": 1, "bbox": [1.0, float("nan"), 3.0, 4.0], "score": 0.9}, "bbox", "finite"),
        ({"image_id": 1, "bbox": [1.0, 2.0, float("inf"), 4.0], "score": 0.9}, "bbox", "finite"),
        ({"image_id": 1, "bbox": [1.0, "2", 3.0, 4.0], "score": 0.9}, "bbox", "non-numeric"),
        ({"image_id": 1, "bbox": [1.0, 2.0, 3.0], "score": 0.9}, "bbox", "a list of 4 numbers"),
        ({"image_id": 1, "bbox": [50.0, 60.0, -20.0, 10.0], "score": 0.9}, "bbox", "w=-20.0, h=10.0"),
        ({"image_id": 1, "bbox": [50.0, 60.0, 20.0, 0.0], "score": 0.9}, "bbox", "w=20.0, h=0.0"),
        ({"image_id": "abc", "bbox": BOX, "score": 0.9}, "image_id", "'abc' (str)"),
        ({"image_id": "", "bbox": BOX, "score": 0.9}, "image_id", "'' (str)"),
        ({"image_id": 1.5, "bbox": BOX, "score": 0.9}, "image_id", "an integer id"),
        ({"image_id": True, "bbox": BOX, "score": 0.9}, "image_id", "True (bool)"),
        ({"image_id": 1, "bbox": BOX, "score": "high"}, "score", "'high'"),
        ({"image_id": 1, "bbox": BOX, "score": float("nan")}, "score", "nan"),
        ({"file_name": 7, "bbox": BOX, "score": 0.9}, "file_name", "7"),
    ],
)
def test_bad_det_entry_names_file_entry_and_field(tmp_path: Path, entry: Any, field: str, fragment: str) -> None:
    path = _dets(tmp_path / "dets.json", [{"image_id": 3, "bbox": BOX, "score": 0.9}, entry])
    with pytest.raises(AnnotationError) as info:
        load_detections(str(path), 0.3)
    msg = str(info.value)
    assert str(path) in msg and "(entry 1)" in msg and f"field '{field}'" in msg and fragment in msg, msg


def test_det_file_that_is_not_a_list_or_not_json(tmp_path: Path) -> None:
    with pytest.raises(
        AnnotationError, match=r"dets.json: field '<top level>': expected a JSON list of detections, got dict"
    ):
        load_detections(str(_dets(tmp_path / "dets.json", {"image_id": 1})), 0.3)  # type: ignore[arg-type]
    (tmp_path / "bad.json").write_text('[{"image_id": 1,')
    with pytest.raises(AnnotationError, match=r"bad.json: field '<json>': expected valid JSON"):
        load_detections(str(tmp_path / "bad.json"), 0.3)


def test_det_ids_as_numbers_strings_and_file_names() -> None:
    assert image_key("000000196141.jpg") == 196141 and image_key("images/000000196141.jpg") == 196141
    assert image_key("data/frame_0001.png") == "frame_0001" and image_key("frame_0001") == "frame_0001"


def test_det_keys_and_thresholds(tmp_path: Path) -> None:
    path = _dets(
        tmp_path / "dets.json",
        [
            {"image_id": 196141, "bbox": BOX, "score": 0.9},
            {"image_id": "196141", "bbox": BOX, "score": 0.8},
            {"image_id": "images/000000196141.jpg", "bbox": BOX, "score": 0.7},
            {"image_id": 785.0, "bbox": BOX, "score": 0.6},
            {"image_id": "frame_0001.png", "bbox": BOX, "score": 0.5},
            {"image_id": 9, "file_name": "clips/frame_0002.jpg", "bbox": BOX, "score": 0.5},  # file_name wins
            {"image_id": 5, "bbox": BOX, "score": 0.1},  # under the threshold
            {"image_id": 6, "bbox": BOX, "score": 0.9, "category_id": 2},  # not a person
        ],
    )
    dets = load_detections(str(path), 0.3)
    assert sorted(dets, key=str) == [196141, 785, "frame_0001", "frame_0002"]
    assert dets[196141][:, 4].tolist() == pytest.approx([0.9, 0.8, 0.7])
    assert dets[785].tolist() == [pytest.approx(BOX + [0.6])]


# --------------------------------------------------------------------------- run_inference
def _summary(caplog: pytest.LogCaptureFixture) -> str:
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("infer: ") and "images read" in r.getMessage()
    ]
    assert len(lines) == 1, lines
    return lines[0]


def test_folder_with_bad_image_unmatched_ids_and_names(
    predictor: Predictor, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dets = _dets(
        tmp_path / "dets.json",
        [
            {"image_id": 785, "bbox": BOX, "score": 0.9},  # reaches 000000000785.png by number
            {"image_id": "frame_0001.png", "bbox": [5.0, 5.0, 20.0, 20.0], "score": 0.8},  # by name
            {"image_id": 999, "bbox": BOX, "score": 0.9},  # reaches nothing
            {"image_id": 2, "bbox": BOX, "score": 0.9},  # nor this: no guessing by list position
        ],
    )
    out = tmp_path / "out"
    (out).mkdir()
    (out / "predictions.json").write_text("[]")  # a previous run's file is not left beside this run's
    with caplog.at_level(logging.INFO, logger="landmarks"):
        path = run_inference(predictor, str(folder), str(out), det_file=str(dets))
    results = json.loads(Path(path).read_text())
    got = [(r["file_name"], r["box_source"], r["bbox"]) for r in results]
    assert got == [
        ("000000000785.png", "det_file", BOX),
        ("frame_0001.png", "det_file", [5, 5, 20, 20]),
        ("other.png", "image", [0, 0, 64, 48]),
    ]
    assert [r["image_id"] for r in results] == [785, 2, 3]  # non-numeric names keep their position as id
    assert not (out / "predictions.jsonl").exists() and sorted(p.name for p in (out / "overlays").iterdir()) == [
        "000000000785.jpg",
        "frame_0001.jpg",
        "other.jpg",
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("broken.jpg" in w and "skipping unreadable image" in w for w in warnings) == 1
    assert sum("other.png has no detection in det_file" in w and "whole image" in w for w in warnings) == 1
    assert sum(w.startswith("infer: 2 image ids of det_file") and "[999, 2]" in w for w in warnings) == 1
    assert _summary(caplog) == (
        "infer: 3 images read, 3 predictions written; 1 unreadable images skipped; "
        "1 images without detections (whole image used); 2 detection ids matched no image"
    )


def test_no_box_skip_writes_nothing_for_an_image_without_detections(
    predictor: Predictor, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dets = _dets(tmp_path / "dets.json", [{"image_id": 785, "bbox": BOX, "score": 0.9}])
    with caplog.at_level(logging.INFO, logger="landmarks"):
        path = run_inference(predictor, str(folder), str(tmp_path / "out"), det_file=str(dets), no_box="skip")
    assert [r["file_name"] for r in json.loads(Path(path).read_text())] == ["000000000785.png"]
    warnings = [r.getMessage() for r in caplog.records if "has no detection" in r.getMessage()]
    assert len(warnings) == 1 and "frame_0001.png" in warnings[0] and "writing no prediction" in warnings[0]  # once
    assert "2 images without detections (skipped)" in _summary(caplog)
    with pytest.raises(ValueError, match="no_box: expected one of image, skip, got 'guess'"):
        run_inference(predictor, str(folder), str(tmp_path / "o2"), no_box="guess")


def test_on_bad_image_error_stops_and_keeps_what_was_done(predictor: Predictor, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(AnnotationError) as info:
        run_inference(predictor, str(folder), str(out), on_bad_image="error")
    assert str(folder / "broken.jpg") in str(info.value)
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert [json.loads(line)["file_name"] for line in lines] == ["000000000785.png"]  # the image before it
    assert not (out / "predictions.json").exists()


def test_a_crash_keeps_the_predictions_made_so_far(
    predictor: Predictor,
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    real = predictor.predict
    calls = []

    def predict(image: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("test: out of memory")
        return real(image, *args, **kwargs)

    monkeypatch.setattr(predictor, "predict", predict)
    out = tmp_path / "out"
    with caplog.at_level(logging.ERROR, logger="landmarks"), pytest.raises(RuntimeError, match="out of memory"):
        run_inference(predictor, str(folder), str(out))
    kept = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [k["file_name"] for k in kept] == ["000000000785.png", "frame_0001.png"]
    assert f"stopped after 3 images; the 2 predictions made so far are in {out / 'predictions.jsonl'}" in caplog.text


def test_frames_without_a_face_are_named_once_and_counted(
    predictor: Predictor, folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class NoFace:
        name = "test"

        def detect(self, image: np.ndarray) -> np.ndarray:
            return np.zeros((0, 5), np.float32)

    with caplog.at_level(logging.INFO, logger="landmarks"):
        path = run_inference(predictor, str(folder), str(tmp_path / "out"), face_detector=NoFace())
    results = json.loads(Path(path).read_text())
    assert [r["box_source"] for r in results] == ["image"] * 3
    named = [r.getMessage() for r in caplog.records if "has no face found by the test detector" in r.getMessage()]
    assert len(named) == 1 and "000000000785.png" in named[0]
    assert "3 images without a detected face (whole image used)" in _summary(caplog)


def test_a_folder_of_only_unreadable_images_is_an_error(predictor: Predictor, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"none of the 1 images of .* could be read"):
        run_inference(predictor, str(tmp_path), str(tmp_path / "out"))


# --------------------------------------------------------------------------- entry points
def test_infer_config_documents_the_new_options_and_keeps_hydra_under_out(tmp_path: Path) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("infer", overrides=["ckpt=x.ckpt", "source=y", f"out={tmp_path}"], return_hydra_config=True)
    assert cfg.on_bad_image == "skip" and cfg.no_box == "image" and cfg.device == "auto"
    assert cfg.hydra.run.dir == str(tmp_path)


@pytest.mark.slow
def test_scripts_leave_no_stray_outputs_folder(predictor: Predictor, folder: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "model" / "m.ckpt"
    ckpt.parent.mkdir()
    torch.save({"state_dict": predictor.model.state_dict(), "landmarks_config": predictor.model.config}, ckpt)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    out = tmp_path / "pred"
    env = {"HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "PATH": "/usr/bin:/bin"}
    run_script("infer", f"ckpt={ckpt}", f"source={folder}", f"out={out}", env=env, cwd=cwd)
    assert (out / "predictions.json").is_file() and (out / "infer.log").is_file()
    assert "1 unreadable images skipped" in (out / "infer.log").read_text()
    evaluate = ("plots=false", "data=synthetic_body", "data.val.num_images=2", "data.num_workers=0")
    run_script("evaluate", f"ckpt={ckpt}", *evaluate, env=env, cwd=cwd)
    assert (ckpt.parent / "eval_metrics.json").is_file() and (ckpt.parent / "evaluate.log").is_file()
    assert list(cwd.iterdir()) == []  # no outputs/ (nor anything else) where the commands ran


# --------------------------------------------------------------------------- device
def test_device_option_says_what_it_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match=r"device: expected one of auto, cpu, cuda \(or cuda:N\), got 'gpu'"):
        resolve_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu") and resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(
        ValueError, match=r"device=cuda: no CUDA device is available here .*use device=auto or device=cpu"
    ):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda") and resolve_device("cuda:1") == torch.device("cuda", 1)


def test_predictor_runs_model_and_crops_on_its_device(predictor: Predictor, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[torch.device] = []
    real = predictor.model.predict_outputs

    def spy(images: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        seen.append(images.device)
        return real(images, *args, **kwargs)

    monkeypatch.setattr(predictor.model, "predict_outputs", spy)
    preds = predictor.predict(np.zeros((48, 64, 3), np.uint8), np.array([BOX, BOX], np.float32))
    assert seen == [predictor.device] and next(predictor.model.parameters()).device == predictor.device
    assert preds["body"].keypoints.shape == (2, 17, 2)  # numpy on the host whatever the device
    assert predictor.box_category == "person"  # a body model: a person detector supplies its boxes, no face detector


# --------------------------------------------------------------------------- one output path
TASK_WORDS = {"face", "head_pose", "body", "hand", "ibug68", "wflw98", "coco17", "hand21"}


def _code_strings(path: Path) -> set[str]:
    """String constants of a module, docstrings left out."""
    import ast

    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    }


def test_inference_names_no_task_or_layout() -> None:
    """Tasks decide how they are written and drawn; inference reads capabilities off predictions and layouts."""
    offenders = {}
    for path in sorted((ROOT / "landmarks" / "inference").glob("*.py")):
        if path.name == "face_detect.py":  # a face detector may say that it finds faces
            continue
        named = _code_strings(path) & TASK_WORDS
        if named:
            offenders[path.name] = sorted(named)
    assert not offenders, offenders


def test_video_source_gives_frame_entries_and_an_overlay_video(predictor: Predictor, tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (64, 48))
    for seed in range(3):
        writer.write(np.random.default_rng(seed).integers(0, 255, (48, 64, 3), dtype=np.uint8))
    writer.release()
    path = run_inference(predictor, str(video), str(tmp_path / "out"))
    results = json.loads(Path(path).read_text())
    assert [(r["image_id"], r["file_name"], r["bbox"]) for r in results] == [
        (i, f"frame_{i:06d}", [0, 0, 64, 48]) for i in range(3)
    ]
    assert not (tmp_path / "out" / "overlays").exists() and not (tmp_path / "out" / "predictions.jsonl").exists()
    cap = cv2.VideoCapture(str(tmp_path / "out" / "overlay.mp4"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame.shape)
    cap.release()
    assert frames == [(48, 64, 3)] * 3
