"""Keypoint AP on detected vs ground-truth boxes (landmarks/inference/frame_eval.py), hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from landmarks import run
from landmarks.inference.frame_eval import evaluate_on_boxes, scenes_of
from landmarks.layouts.spec import COCO17_SIGMAS
from landmarks.types import Prediction
from tests.tiny import compose, compose_train

K = 17


def _person(x: float, y: float) -> dict[str, Any]:
    """A labelled person: keypoints spread over a 60 x 120 box at (x, y)."""
    rng = np.random.default_rng(int(x))
    kp = np.stack([x + rng.uniform(5, 55, K), y + rng.uniform(5, 115, K)], axis=1).astype(np.float32)
    return {
        "keypoints": kp,
        "visible": np.full(K, 2.0, np.float32),
        "bbox": np.array([x, y, 60, 120], np.float32),
        "area": 7200.0,
    }


class _ExactPoses:
    """A pose model that returns the ground truth of whichever person a box covers (the box's top-left)."""

    def __init__(self, people: list[dict[str, Any]]) -> None:
        self.people = people
        self.tasks = {"body": SimpleNamespace(spec=SimpleNamespace(sigmas=list(COCO17_SIGMAS)))}

    def predict(self, image: np.ndarray, boxes: np.ndarray) -> dict[str, Prediction]:
        kps = []
        for box in boxes:
            person = min(self.people, key=lambda p: float(np.abs(p["bbox"][:2] - box[:2]).sum()))
            kps.append(person["keypoints"])
        return {"body": Prediction(np.stack(kps), np.ones((len(boxes), K), np.float32), {})}


class _Detector:
    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = np.asarray(rows, np.float32).reshape(-1, 5)

    def detect(self, image: np.ndarray) -> np.ndarray:
        return self.rows


def test_a_detector_that_misses_one_of_two_people_halves_the_ap() -> None:
    people = [_person(10, 10), _person(100, 20)]
    scenes = [(7, np.zeros((160, 200, 3), np.uint8), people)]
    detector = _Detector([[10, 10, 60, 120, 0.9]])  # finds the first person only
    m = evaluate_on_boxes(_ExactPoses(people), scenes, detector)
    assert m["body/gt_boxes/ap"] == pytest.approx(1.0)
    # recall 0.5 at precision 1: 51 of COCOeval's 101 recall points (0.00 .. 0.50) have precision 1
    assert m["body/detected/ap"] == pytest.approx(51 / 101)
    assert m["body/ap_gap"] == pytest.approx(1 - 51 / 101)
    assert m["detected_boxes"] == 1 and m["gt_instances"] == 2


def test_a_false_positive_ranked_below_the_true_people_costs_nothing() -> None:
    people = [_person(10, 10), _person(100, 20)]
    scenes = [(1, np.zeros((160, 200, 3), np.uint8), people)]
    # the spurious box lands on the first person's pose (this fake model), which OKS-NMS removes
    detector = _Detector([[10, 10, 60, 120, 0.9], [100, 20, 60, 120, 0.8], [12, 12, 50, 100, 0.1]])
    m = evaluate_on_boxes(_ExactPoses(people), scenes, detector)
    assert m["body/detected/ap"] == pytest.approx(1.0)


def test_scenes_of_a_source_without_whole_images_is_refused() -> None:
    with pytest.raises(ValueError, match="no whole images"):
        scenes_of([1, 2, 3], 5)


def test_evaluate_with_a_detector_writes_both_aps(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = run.build_model(compose_train(tmp_path, "task=body"))
    ckpt = tmp_path / "body.ckpt"
    torch.save({"state_dict": model.state_dict(), "landmarks_config": model.config}, ckpt)
    metrics = run.evaluate(compose("evaluate", f"ckpt={ckpt}", f"out={tmp_path}", "detector=hog", "images=2"))
    written = json.loads((tmp_path / "detected_metrics.json").read_text())
    assert written["detector"] == "hog" and written["gt_instances"] >= 2
    assert written["body/ap_gap"] == pytest.approx(metrics["body/gt_boxes/ap"] - metrics["body/detected/ap"])
    with pytest.raises(ValueError, match="gives no boxes"):
        run.evaluate(compose("evaluate", f"ckpt={ckpt}", f"out={tmp_path}", "detector=none", "images=2"))
