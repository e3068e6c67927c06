"""Video evaluation on synthetic clips: an oracle scores perfectly, noise is jitter that smoothing cuts,
and ``evaluate.py clips=body`` writes clips_metrics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from landmarks import run
from landmarks.data.synthetic.body.clip import make_body_clip
from landmarks.inference.clip_eval import evaluate_clips
from landmarks.inference.instances import SmoothingOptions
from landmarks.types import Prediction
from tests.tiny import compose, compose_train


class Oracle:
    """Predicts each ground-truth box's own keypoints (plus Gaussian noise of ``noise`` px).

    Where a keypoint is unlabelled (outside the frame: stored as (0, 0)), it predicts the track's
    labelled positions interpolated over time, as a model would predict a point near the border.
    """

    def __init__(self, clip: Any, noise: float = 0.0) -> None:
        self.tasks = {"body": type("T", (), {"spec": type("S", (), {"sigmas": [0.05] * 17})()})()}
        self.frame = {id(img): t for t, img in enumerate(clip.frames)}
        self.filled = {}
        for tid, (kp, vis) in clip.tracks().items():
            times = np.arange(len(kp))
            for k in range(kp.shape[1]):
                seen = vis[:, k] > 0
                for d in range(2):
                    kp[:, k, d] = np.interp(times, times[seen], kp[seen, k, d]) if seen.any() else 0.0
            self.filled[tid] = kp
        self.lookup = {(t, tuple(np.round(i.bbox, 3))): i.track_id for t, f in enumerate(clip.instances) for i in f}
        self.rng = np.random.default_rng(0)
        self.noise = noise

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> dict[str, Prediction]:
        t = self.frame[id(image)]
        kp = np.stack([self.filled[self.lookup[(t, tuple(np.round(b, 3)))]][t] for b in boxes]).astype(np.float64)
        kp = kp + self.rng.normal(0, self.noise, kp.shape) if self.noise else kp
        return {"body": Prediction(kp.astype(np.float32), np.ones(kp.shape[:2], np.float32))}


@pytest.fixture(scope="module")
def clip() -> Any:
    return make_body_clip(seed=3, num_frames=24, num_people=2)


def test_an_oracle_scores_perfectly_and_keeps_every_identity(clip: Any) -> None:
    m = evaluate_clips(Oracle(clip), [clip])
    assert m["body/raw/pck"] == 1.0 and m["body/raw/nme"] == 0.0 and m["body/raw/nmf"] == 0.0
    assert m["id_switches"] == 0 and m["track_frames"] == sum(len(f) for f in clip.instances)


def test_noise_is_jitter_that_smoothing_cuts(clip: Any) -> None:
    m = evaluate_clips(Oracle(clip, noise=2.0), [clip])
    assert m["body/raw/nmf"] > 0 and m["body/raw/accel"] > 4.0  # white noise of 2 px: |a| ~ sqrt(6) * 2 * 1.25
    assert m["body/savgol/nmf_change"] < -0.4 and m["body/kalman/accel_change"] < -0.4  # the default online filter
    euro = evaluate_clips(Oracle(clip, noise=2.0), [clip], SmoothingOptions(kind="one_euro"))
    assert euro["body/one_euro/accel_change"] < -0.4 and not any("kalman" in k for k in euro)


def test_a_task_without_keypoints_or_angles_is_not_scored(clip: Any) -> None:
    """A body + visibility model (the demo's): the visibility head has nothing to score on clips."""

    class WithVisibility(Oracle):
        def predict(self, image: np.ndarray, boxes: np.ndarray) -> dict[str, Prediction]:
            out = super().predict(image, boxes)
            n = len(boxes)
            out["visibility"] = Prediction(
                np.zeros((n, 0, 2), np.float32), np.zeros((n, 0), np.float32), {"visibility": np.ones((n, 17))}
            )
            return out

    m = evaluate_clips(WithVisibility(clip), [clip])
    assert m["body/raw/pck"] == 1.0 and not any(k.startswith("visibility/") for k in m)


def test_angles_are_named_by_the_rotation_filter_and_follow_a_turning_head() -> None:
    """Head pose is smoothed on rotations with ``smoothing.rotation``, so its online variant is named by that kind
    (one_euro by default, kalman when asked), whatever the keypoints' kind. On a perfect oracle of a face turning
    at up to 13 degrees per frame (12 frames, most of them the filter's start) the default adds 4.9 degrees of
    error, against 13.3 for One-Euro with the keypoints' parameters on raw quaternions (the old behaviour:
    ``beta`` 0.05 per quaternion unit = 0.05 * pi / 360 per degree); the Kalman filter adds almost none."""
    from landmarks.data.synthetic.face.clip import make_face_clip

    faces = make_face_clip(seed=5, num_frames=12)

    class PoseOracle:
        tasks = {"head_pose": object()}
        frame = {id(img): t for t, img in enumerate(faces.frames)}

        def predict(self, image: np.ndarray, boxes: np.ndarray) -> dict[str, Prediction]:
            euler = np.stack([i.euler for i in faces.instances[self.frame[id(image)]]]).astype(np.float32)
            n = len(boxes)
            return {
                "head_pose": Prediction(np.zeros((n, 0, 2), np.float32), np.zeros((n, 0), np.float32), {"euler": euler})
            }

    m = evaluate_clips(PoseOracle(), [faces], SmoothingOptions(kind="kalman"))
    assert m["head_pose/raw/mae"] == pytest.approx(0.0, abs=1e-3) and m["head_pose/savgol/mae"] < 1.0
    assert not any("kalman" in k for k in m)
    old = SmoothingOptions(rotation={"kind": "one_euro", "min_cutoff": 1.0, "beta": 0.05 * np.pi / 360})
    assert m["head_pose/one_euro/mae"] < 0.5 * evaluate_clips(PoseOracle(), [faces], old)["head_pose/one_euro/mae"]
    kalman = SmoothingOptions(kind="one_euro", rotation={"kind": "kalman"})
    m = evaluate_clips(PoseOracle(), [faces], kalman)
    assert m["head_pose/kalman/mae"] < 0.5 and not any("one_euro" in k for k in m)


def test_evaluate_with_clips_writes_clips_metrics(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = run.build_model(compose_train(tmp_path, "task=body"))
    ckpt = tmp_path / "body.ckpt"
    torch.save({"state_dict": model.state_dict(), "landmarks_config": model.config}, ckpt)
    cfg = compose(
        "evaluate", f"ckpt={ckpt}", f"out={tmp_path}", "clips=body", "clips.seeds=[1000]", "clips.maker.num_frames=8"
    )
    metrics = run.evaluate(cfg)
    written = json.loads((tmp_path / "clips_metrics.json").read_text())
    assert written["clips"] == 1 and written["body/raw/pck"] == pytest.approx(metrics["body/raw/pck"])
    assert {"body/kalman/nmf_change", "body/savgol/pck_change", "id_switches_per_100"} <= set(written)
