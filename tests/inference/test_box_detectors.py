"""Box detectors: a detection checkpoint (the BoxDetector protocol, category filter, refusals) and HOG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landmarks import run
from landmarks.inference.box_detectors import CheckpointDetector, HogPersonDetector
from tests.tiny import BASE, compose_train, realdata_root, untrained_checkpoint

REAL = realdata_root() / "coco"
TINY = [*BASE, "backbone.name=resnet10t", "input_size=[64,64]"]


def _checkpoint(tmp: Path, task: str) -> Path:
    """A checkpoint file as training writes it (weights + resolved config) of an untrained model."""
    return untrained_checkpoint(compose_train(tmp, f"task={task}", tiny=TINY), tmp / f"{task}.ckpt")


@pytest.fixture(scope="module")
def detect_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _checkpoint(tmp_path_factory.mktemp("det"), "detect")


def test_checkpoint_detector_satisfies_the_protocol(detect_ckpt: Path) -> None:
    detector = run.load_detector(str(detect_ckpt), score_thr=0.0, device="cpu")
    assert isinstance(detector, CheckpointDetector)
    assert detector.name == "ckpt:detect.ckpt" and detector.category is None  # three classes: no single category
    image = np.random.default_rng(0).integers(0, 255, (90, 150, 3), dtype=np.uint8)
    dets = detector.detect(image)
    assert dets.dtype == np.float32 and dets.ndim == 2 and dets.shape[1] == 5 and len(dets) > 0
    assert np.all(np.diff(dets[:, 4]) <= 0)  # best first
    assert dets[:, 0].min() >= 0 and (dets[:, 0] + dets[:, 2]).max() <= 150 + 1e-3  # clipped to the image
    assert (dets[:, 1] + dets[:, 3]).max() <= 90 + 1e-3
    people = run.load_detector(str(detect_ckpt), category="person", score_thr=0.0, device="cpu")
    assert people.category == "person" and 0 < len(people.detect(image)) < len(dets)
    assert len(run.load_detector(str(detect_ckpt), score_thr=1.1, device="cpu").detect(image)) == 0


def test_checkpoint_detector_refuses_a_pose_checkpoint_and_an_unknown_category(
    detect_ckpt: Path, tmp_path: Path
) -> None:
    pose = _checkpoint(tmp_path, "body")
    with pytest.raises(ValueError, match=rf"'{pose}' has no detection task .*'body'.*task=detect"):
        run.load_detector(str(pose))
    with pytest.raises(ValueError, match="detects \\['person', 'hand', 'face'\\], not 'dog'"):
        run.load_detector(str(detect_ckpt), category="dog")
    with pytest.raises(ValueError, match="uint8 RGB"):
        run.load_detector(str(detect_ckpt)).detect(np.zeros((10, 10), np.uint8))


def test_hog_detector_protocol_on_empty_and_tiny_images() -> None:
    hog = HogPersonDetector()
    assert hog.name == "hog" and hog.category == "person"
    assert hog.detect(np.zeros((200, 200, 3), np.uint8)).shape == (0, 5)
    assert hog.detect(np.zeros((100, 50, 3), np.uint8)).shape == (0, 5)  # smaller than one 64 x 128 window
    with pytest.raises(ValueError, match="uint8 RGB"):
        hog.detect(np.zeros((200, 200), np.uint8))


def test_hog_detector_finds_a_person_in_a_real_photograph() -> None:
    if not REAL.is_dir():
        pytest.skip(f"{REAL} not found (shared real samples)")
    from landmarks.data.formats.coco_boxes import CocoBoxFrames

    frames = CocoBoxFrames(str(REAL / "test_coco.json"), str(REAL), categories={"person": "person"})
    frame = next(frames[i] for i in range(len(frames)) if frames[i]["path"].endswith("000000196141.jpg"))
    dets = HogPersonDetector().detect(frame["image"])
    assert dets.shape[1] == 5 and len(dets) >= 1 and np.all((dets[:, 4] > 0.5) & (dets[:, 4] < 1))

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[:2] + a[2:], b[:2] + b[2:])
        inter = float(np.prod(np.clip(hi - lo, 0, None)))
        return inter / float(a[2] * a[3] + b[2] * b[3] - inter)

    assert max(iou(d[:4], g) for d in dets for g in frame["boxes"]) > 0.3  # a window on one of the people
