"""SLEAP .slp import through sleap-io (the optional extra [import]): files written by sleap-io itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image as PILImage

from landmarks.convert.cli import run
from landmarks.data.formats.errors import AnnotationError

sio = pytest.importorskip("sleap_io")


def _labels(tmp_path: Path, frame_idx: int = 1) -> Path:
    files = []
    for n in range(2):
        path = tmp_path / f"frame{n}.png"
        PILImage.fromarray(np.zeros((40, 50, 3), np.uint8)).save(path)
        files.append(str(path))
    skeleton = sio.Skeleton(
        ["head", "ear_L", "ear_R", "tail"], edges=[("head", "tail")], symmetries=[("ear_L", "ear_R")], name="mouse"
    )
    video = sio.Video.from_filename(files)
    user = sio.Instance.from_numpy(
        np.array([[10.0, 12.0], [5.0, 6.0], [np.nan, np.nan], [40.0, 30.0]]), skeleton=skeleton
    )
    user.points["visible"][1] = False  # placed but marked not visible in the SLEAP GUI
    pred = sio.PredictedInstance.from_numpy(np.ones((4, 2)), point_scores=np.ones(4), score=1.0, skeleton=skeleton)
    labels = sio.Labels([sio.LabeledFrame(video=video, frame_idx=frame_idx, instances=[user, pred])])
    path = tmp_path / "labels.slp"
    sio.save_slp(labels, str(path))
    return path


def test_slp_import_keeps_symmetries_and_visibility(tmp_path: Path) -> None:
    slp = _labels(tmp_path)
    out = tmp_path / "out"
    run(["from=sleap", f"src={slp}", f"out={out}"])
    layout = yaml.safe_load((out / "layout.yaml").read_text())
    assert layout["name"] == "mouse" and layout["keypoints"] == ["head", "ear_L", "ear_R", "tail"]
    assert layout["flip_pairs"] == [["ear_L", "ear_R"]] and layout["skeleton"] == [["head", "tail"]]
    train = json.loads((out / "annotations" / "train.json").read_text())
    assert len(train["annotations"]) == 1  # the predicted instance is counted, not converted
    assert train["annotations"][0]["keypoints"] == [10.0, 12.0, 2, 5.0, 6.0, 1, 0, 0, 0, 40.0, 30.0, 2]
    assert train["images"][0]["file_name"].endswith("frame1.png") and train["images"][0]["width"] == 50


def test_slp_frame_missing_from_the_video(tmp_path: Path) -> None:
    slp = _labels(tmp_path, frame_idx=5)
    with pytest.raises(AnnotationError) as err:
        run(["from=sleap", f"src={slp}", f"out={tmp_path / 'out'}"])
    assert (
        err.value.field == "frame_idx" and "labeled_frames[0]" in str(err.value) and "missing frame" in str(err.value)
    )
    assert not (tmp_path / "out").exists()
