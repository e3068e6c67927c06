"""Video inference: a clip round trip (write, infer, read the ids back), duplicate poses removed by
OKS-NMS, and the bad inputs of a video source (empty file, unreadable file, absent camera)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from landmarks import run
from landmarks.inference.instances import DuplicateFilter, FrameTracker, SmoothingOptions
from landmarks.inference.loop import run_inference
from landmarks.inference.predictor import Predictor
from landmarks.inference.smoothing import savgol_smooth
from landmarks.inference.sources import iter_frames, source_fps
from tests.tiny import compose_train

FPS = 12.0
BOXES = [[8, 10, 40, 100], [80, 12, 40, 100]]  # two people, standing still


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Predictor:
    torch.manual_seed(0)
    model = run.build_model(compose_train(tmp_path_factory.mktemp("m"), "task=body")).eval()
    model.flip_test = False
    return Predictor(model, batch_size=8, device="cpu")


def _clip(path: Path, frames: int = 8) -> Path:
    rng = np.random.default_rng(0)
    background = rng.integers(0, 255, (128, 160, 3), dtype=np.uint8)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (160, 128))
    for _ in range(frames):
        writer.write(background)
    writer.release()
    return path


def _det_file(path: Path, frames: int, duplicate: bool = False) -> Path:
    dets = []
    for i in range(frames):
        for box in BOXES:
            dets.append({"image_id": i, "category_id": 1, "bbox": box, "score": 0.9})
        if duplicate:  # a second detection of the first person (its pose has OKS 1 with the first's)
            dets.append({"image_id": i, "category_id": 1, "bbox": BOXES[0], "score": 0.8})
    path.write_text(json.dumps(dets))
    return path


def test_clip_round_trip_keeps_ids_and_frame_rate(predictor: Predictor, tmp_path: Path) -> None:
    video = _clip(tmp_path / "clip.mp4")
    assert source_fps(str(video)) == pytest.approx(FPS)
    out = tmp_path / "out"
    path = run_inference(
        predictor,
        str(video),
        str(out),
        det_file=str(_det_file(tmp_path / "dets.json", 8)),
        tracker=FrameTracker(predictor.tasks, fps=FPS),
    )
    entries = json.loads(Path(path).read_text())
    assert len(entries) == 16
    ids = {(e["image_id"], e["bbox"][0]): e["track_id"] for e in entries}
    first, second = ({ids[(i, x)] for i in range(8)} for x in (8.0, 80.0))
    assert len(first) == len(second) == 1 and first != second  # one id per person, all clip long
    frames = json.loads((out / "frames.json").read_text())
    assert [f["image_id"] for f in frames] == list(range(8))
    assert all(f["track_ids"] == [*first, *second] for f in frames)
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS) and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    cap.release()


def test_offline_savgol_smooths_each_track_of_the_written_file(predictor: Predictor, tmp_path: Path) -> None:
    """``smoothing.offline=savgol``: predictions.json holds each track's raw keypoints, Savitzky-Golay smoothed."""
    video = _clip(tmp_path / "clip.mp4", frames=10)
    rng = np.random.default_rng(1)
    dets = [  # the boxes jitter by a few px, so the poses do
        {"image_id": i, "category_id": 1, "bbox": (np.array(box) + rng.normal(0, 2, 4)).round(2).tolist(), "score": 0.9}
        for i in range(10)
        for box in BOXES
    ]
    (tmp_path / "dets.json").write_text(json.dumps(dets))
    written = {}
    for name, options in (("raw", SmoothingOptions(enabled=False)), ("savgol", SmoothingOptions(offline="savgol"))):
        tracker = FrameTracker(predictor.tasks, fps=FPS, smoothing=options)
        path = run_inference(predictor, str(video), str(tmp_path / name), str(tmp_path / "dets.json"), tracker=tracker)
        written[name] = json.loads(Path(path).read_text())
    for tid in {e["track_id"] for e in written["raw"]}:
        raw, smooth = (np.array([e["keypoints"] for e in written[n] if e["track_id"] == tid]) for n in written)
        raw, smooth = raw.reshape(10, -1, 3), smooth.reshape(10, -1, 3)
        np.testing.assert_allclose(smooth[..., :2], savgol_smooth(raw[..., :2], 9, 2), atol=2e-3)  # 3 decimals
        np.testing.assert_array_equal(smooth[..., 2], raw[..., 2])  # scores as predicted
        assert np.abs(smooth[..., :2] - raw[..., :2]).max() > 0.01


def test_duplicate_boxes_of_one_person_give_one_pose(predictor: Predictor, tmp_path: Path) -> None:
    video = _clip(tmp_path / "clip.mp4", frames=2)
    dets = str(_det_file(tmp_path / "dets.json", 2, duplicate=True))
    kept = json.loads(
        Path(
            run_inference(
                predictor, str(video), str(tmp_path / "a"), det_file=dets, duplicates=DuplicateFilter(predictor.tasks)
            )
        ).read_text()
    )
    raw = json.loads(Path(run_inference(predictor, str(video), str(tmp_path / "b"), det_file=dets)).read_text())
    assert len(raw) == 6 and len(kept) == 4  # per frame: the duplicate pose is dropped
    assert sorted(e["bbox"][0] for e in kept if e["image_id"] == 0) == [8.0, 80.0]


def test_frames_without_detections_are_frames_without_instances(predictor: Predictor, tmp_path: Path) -> None:
    video = _clip(tmp_path / "clip.mp4", frames=3)
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": BOXES[0], "score": 0.9}]))
    run_inference(
        predictor,
        str(video),
        str(tmp_path / "o"),
        det_file=str(dets),
        no_box="skip",
        tracker=FrameTracker(predictor.tasks, fps=FPS),
    )
    frames = json.loads((tmp_path / "o" / "frames.json").read_text())
    assert [f["instances"] for f in frames] == [0, 1, 0]


def test_bad_video_sources_name_the_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.mp4' is empty"):
        list(iter_frames(str(empty)))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ValueError, match=r"junk\.mp4"):
        list(iter_frames(str(junk)))
    with pytest.raises(ValueError, match="cannot open camera 97"):
        list(iter_frames("webcam:97"))
    with pytest.raises(ValueError, match="webcam:N"):
        list(iter_frames("webcam:front"))
