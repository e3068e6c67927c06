"""`make demo` end to end at toy size: train, evaluate, held-out and real-image predictions, pictures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from landmarks import run
from tests.tiny import compose, realdata_root


@pytest.mark.slow
def test_demo_writes_every_promised_output(tmp_path: Path) -> None:
    coco = realdata_root() / "coco"
    cfg = compose(
        "demo",
        "backbone=resnet18",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "trainer.enable_progress_bar=false",
        "data.num_workers=0",
        "data.batch_size=4",
        "data.train.num_images=8",
        "data.val.num_images=4",
        "data.val_batch_size=4",
        "logger=csv",
        f"output_dir={tmp_path}",
        "demo.heldout_images=2",
        f"demo.realdata_coco={coco}",
    )
    summary = run.demo(cfg)
    for name in ("metrics.json", "eval_metrics.json", "demo_summary.json", "training_curves.png"):
        assert (tmp_path / name).is_file(), name
    assert "val/pck" in summary["evaluate"]
    heldout = json.loads((tmp_path / "heldout" / "predictions.json").read_text())
    assert heldout and len(os.listdir(tmp_path / "heldout" / "overlays")) == 2
    if coco.is_dir():  # the real photographs with their person detections (skipped by the demo when absent)
        real = json.loads((tmp_path / "realdata" / "predictions.json").read_text())
        assert {p["image_id"] for p in real} and len(os.listdir(tmp_path / "realdata" / "overlays")) >= 4
    assert os.listdir(tmp_path / "val_overlays")
