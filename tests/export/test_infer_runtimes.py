"""``infer.py runtime=onnxruntime`` writes the predictions.json of ``runtime=torch`` (issue: ship a model).

One tiny body checkpoint (resnet18 at 64x64, random weights, seed 0), the real COCO photos of
``../shared/realdata/coco`` with their person detections: the two runs must give the same
entries, keypoints within 1e-3 px of the network crop (image px divided by the image px per crop px
of the entry's box, as in ``test_parity.py``; plus one unit of the JSON's 3 decimals, a value on the
other side of a rounding boundary). Random weights give flat heatmaps, where DARK's Hessian amplifies
the float32 differences between the two backends' convolutions: in image px this case reaches 4e-3;
a body model trained for 300 steps gave at most 1e-3 image px (the rounding unit) on the same photos.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from landmarks import run  # noqa: E402
from tests.tiny import compose, compose_train, untrained_checkpoint  # noqa: E402


def _checkpoint(out: Path) -> Path:
    return untrained_checkpoint(compose_train(out, "task=body"), out / "body.ckpt")


def _entries(ckpt: Path, realdata: Path, out: Path, runtime: str) -> list[dict]:
    coco = realdata / "coco"
    cfg = compose(
        "infer",
        f"ckpt={ckpt}",
        f"source={coco}",
        f"det_file={coco / 'test_coco_det_AP_H_56.json'}",
        f"out={out}",
        f"runtime={runtime}",
        "flip_test=false",
    )
    return json.loads(Path(run.infer(cfg)).read_text())


def test_onnxruntime_writes_the_predictions_of_torch(tmp_path: Path, realdata: Path) -> None:
    ckpt = _checkpoint(tmp_path)
    ours = _entries(ckpt, realdata, tmp_path / "ort", "onnxruntime")
    ref = _entries(ckpt, realdata, tmp_path / "torch", "torch")
    assert len(ours) == len(ref) > 10
    worst = 0.0
    for a, b in zip(ours, ref):
        assert {k: v for k, v in a.items() if k not in ("keypoints", "keypoint_scores", "score")} == {
            k: v for k, v in b.items() if k not in ("keypoints", "keypoint_scores", "score")
        }
        ka, kb = np.reshape(a["keypoints"], (-1, 3)), np.reshape(b["keypoints"], (-1, 3))
        per_crop_px = max(a["bbox"][2], a["bbox"][3]) * 1.25 / 64  # padded square box over the 64-px input
        err = float(np.abs(ka[:, :2] - kb[:, :2]).max())
        worst = max(worst, (err - 1e-3) / per_crop_px if err > 1e-3 else 0.0)
        assert np.allclose(a["keypoint_scores"], b["keypoint_scores"], atol=2e-4)
    assert worst <= 1e-3 + 1e-9, worst
