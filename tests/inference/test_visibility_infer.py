"""Visibility at inference: infer.py writes keypoint_visibility into the body entries, draws occluded
points hollow, evaluate writes the reliability report; older checkpoints (no visibility task) still
load and predict as before."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir

from landmarks import run, viz
from landmarks.data.synthetic.body.renderer import SyntheticBodySource
from landmarks.inference.results import predict_frame
from landmarks.inference.sources import Frame
from landmarks.types import Prediction
from tests.tiny import BASE, CONF

TINY = [*BASE, "data.val.num_images=4", "data.val_batch_size=4", "data.train.num_images=4"]


def _untrained_ckpt(out: Path, task: str) -> Path:
    """An untrained model saved the way checkpoints store it (weights + resolved config)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, f"task={task}", f"output_dir={out}"])
    torch.manual_seed(0)
    model = run.build_model(cfg)
    if "visibility" in model.tasks:  # decided logits (the head starts at 0.5 everywhere)
        with torch.no_grad():
            final = model.task("visibility").built_head().get_submodule("final")
            for p in final.parameters():
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(2)))
    path = out / f"untrained_{task}.ckpt"
    torch.save({"state_dict": model.state_dict(), "landmarks_config": model.config}, path)
    return path


@pytest.fixture(scope="module")
def body_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bodies")
    src = SyntheticBodySource(num_images=2, image_size=(96, 128), split="test", seed=3)
    for i in range(2):
        viz.save_image(str(folder / f"{i + 1:06d}.png"), src.render(i)[0])
    return folder


def test_older_checkpoint_without_visibility_loads_and_predicts(tmp_path: Path) -> None:
    predictor = run.load_predictor(str(_untrained_ckpt(tmp_path, "body")), device="cpu")
    assert list(predictor.tasks) == ["body"]
    image = np.random.default_rng(0).integers(0, 255, (128, 96, 3), dtype=np.uint8)
    entries, overlay = predict_frame(predictor, Frame("a.png", image, 1), None, None, "image", kpt_thr=0.0)
    (entry,) = entries
    assert entry["task"] == "body" and len(entry["keypoints"]) == 3 * 17 and "keypoint_visibility" not in entry
    assert overlay.shape == image.shape and (overlay != image).any()


def test_visibility_is_attached_to_the_body_entry_and_drawn_hollow(tmp_path: Path) -> None:
    predictor = run.load_predictor(str(_untrained_ckpt(tmp_path, "body_visibility")), device="cpu")
    assert predictor.box_category == "person"  # a person detector still supplies the boxes
    kpts = np.zeros((1, 17, 2), np.float32)
    kpts[0, 1], kpts[0, 14] = (300, 100), (100, 300)  # left eye, right knee: no limb between them
    scores = np.zeros((1, 17), np.float32)
    scores[0, [1, 14]] = 0.9
    vis = np.full((1, 17), 0.8, np.float32)
    vis[0, 1] = 0.1  # the eye is predicted occluded
    preds = {
        "body": Prediction(kpts, scores),
        "visibility": Prediction(np.zeros((1, 0, 2), np.float32), np.zeros((1, 0), np.float32), {"visibility": vis}),
    }
    predictor.predict = lambda image, boxes=None, return_heatmaps=False: preds  # type: ignore[method-assign]
    image = np.zeros((400, 400, 3), np.uint8)
    entries, overlay = predict_frame(predictor, Frame("a.png", image, 7), None, None, "image", kpt_thr=0.3)
    (entry,) = entries  # one entry per box: visibility adds its field, the body keeps its keypoints
    assert entry["task"] == "body" and len(entry["keypoints"]) == 51
    assert entry["keypoint_visibility"][1] == pytest.approx(0.1) and len(entry["keypoint_visibility"]) == 17
    assert overlay[300, 100].any() and not overlay[100, 300].any() and overlay[100, 290:310].any()


@pytest.mark.slow
def test_infer_writes_keypoint_visibility_and_evaluate_the_reliability_report(
    tmp_path: Path, body_images: Path
) -> None:
    ckpt = _untrained_ckpt(tmp_path, "body_visibility")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("infer", overrides=[f"ckpt={ckpt}", f"source={body_images}", f"out={tmp_path / 'pred'}"])
        results = json.loads(Path(run.infer(cfg)).read_text())
        metrics = run.evaluate(compose("evaluate", overrides=[f"ckpt={ckpt}", f"out={tmp_path / 'eval'}"]))
    assert [r["task"] for r in results] == ["body", "body"]
    for r in results:
        probs = r["keypoint_visibility"]
        assert len(probs) == 17 and all(0.0 <= p <= 1.0 for p in probs) and len(set(probs)) > 1
    assert {"val/vis_auroc", "val/vis_ece", "val/vis_brier", "val/pck"} <= set(metrics)
    with open(tmp_path / "eval" / "visibility_reliability.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and sum(float(r["count"]) for r in rows) > 0
    assert (tmp_path / "eval" / "visibility_reliability.png").is_file()
    assert (tmp_path / "eval" / "visibility_keypoint_visibility.csv").is_file()
