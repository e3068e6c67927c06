"""SimCC and RLE keypoint tasks: flip test, scale in image px, JSON, config check, ONNX parity."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from landmarks import run
from landmarks.codecs.rle import RLECodec
from landmarks.codecs.simcc import SimCCCodec
from landmarks.heads.rle import RLEHead
from landmarks.heads.simcc import SimCCHead
from landmarks.layouts.spec import coco17
from landmarks.losses.rle import RLELoss
from landmarks.losses.simcc import SimCCKLLoss
from landmarks.metrics.calibration import ScaleCalibration
from landmarks.rle_task import RLEKeypointTask
from landmarks.simcc_task import SimCCKeypointTask
from tests.tiny import BASE, compose_train

SIZE = (32, 48)  # W, H


def _rle(**loss: bool) -> RLEKeypointTask:
    return RLEKeypointTask(coco17(), RLECodec(SIZE), RLEHead, RLELoss(**loss), name="body")  # type: ignore[arg-type]


def _simcc() -> SimCCKeypointTask:
    return SimCCKeypointTask(coco17(), SimCCCodec(SIZE, 2.0, 3.0), SimCCHead, SimCCKLLoss(), name="body")  # type: ignore[arg-type]


def _meta(b: int, box: tuple[float, float]) -> dict[str, np.ndarray]:
    return {"center": np.full((b, 2), 100.0), "scale": np.tile(np.asarray(box, np.float32), (b, 1)), "rot": np.zeros(b)}


def test_rle_flip_back_mirrors_x_swaps_sides_and_keeps_scales() -> None:
    task = _rle()
    out = torch.rand(2, 17, 4) * 30 + 1
    back = task.flip_back(out)
    flip = torch.as_tensor(coco17().flip_indices)
    torch.testing.assert_close(back[..., 0], (SIZE[0] - 1) - out[:, flip, 0])
    torch.testing.assert_close(back[..., 1:], out[:, flip, 1:])
    torch.testing.assert_close(task.flip_back(back), out)


def test_simcc_flip_back_decodes_to_the_mirrored_points() -> None:
    task = _simcc()
    logits = torch.randn(2, 17, sum(task.codec.num_bins))
    kpts, _ = task.codec.decode(logits)
    back, _ = task.codec.decode(task.flip_back(logits))
    flip = coco17().flip_indices
    np.testing.assert_allclose(back[..., 0], (SIZE[0] - 1) - kpts[:, flip, 0], atol=1e-5)
    np.testing.assert_allclose(back[..., 1], kpts[:, flip, 1])
    torch.testing.assert_close(task.flip_back(task.flip_back(logits)), logits)


def test_rle_prediction_carries_the_scale_in_image_px_and_a_score_from_it() -> None:
    """Box 64 x 96 image px on a 32 x 48 crop: 2 image px per input px; score (1 - e^-tol/sigma)^2."""
    task = _rle()
    out = torch.zeros(1, 17, 4)
    out[..., :2] = torch.tensor([15.5, 23.5])
    out[..., 2] = 1.6
    out[..., 3] = 3.2
    pred = task.predict(out, {"meta": _meta(1, (64.0, 96.0))})
    np.testing.assert_allclose(pred.extras["scale"][0, 0], [3.2, 6.4], rtol=1e-6)
    tol = 0.05 * max(SIZE)  # 2.4 input px
    expected = (1 - math.exp(-tol / 1.6)) * (1 - math.exp(-tol / 3.2))
    assert pred.scores[0, 0] == pytest.approx(expected, abs=1e-6)
    entry = task.to_json(pred, 0)
    assert entry["scale"][0] == pytest.approx([3.2, 6.4]) and len(entry["keypoints"]) == 17 * 3


def test_rle_task_refuses_a_loss_of_another_base_and_a_plain_codec() -> None:
    with pytest.raises(ValueError, match="base distribution 'gaussian' differs from the codec's 'laplace'"):
        RLEKeypointTask(coco17(), RLECodec(SIZE), RLEHead, RLELoss(base="gaussian"), name="body")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SimCC codec"):
        SimCCKeypointTask(coco17(), RLECodec(SIZE), SimCCHead, SimCCKLLoss(), name="body")  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", ["simcc", "rle"])
def test_heads_give_the_codec_layout(cls: str) -> None:
    task = _simcc() if cls == "simcc" else _rle()
    task.build([16, 32], [16, 32])
    feats = [torch.randn(2, 16, 3, 2), torch.randn(2, 32, 2, 1)]  # 48 / 32 = 1.5 -> ceil 2; 32 / 32 = 1
    out = task(feats)
    width = sum(task.codec.num_bins) if cls == "simcc" else 4
    assert out.shape == (2, 17, width)
    if cls == "rle":  # untrained: every point at the crop centre, scale 0.1 of the input size
        torch.testing.assert_close(out[0, 0], torch.tensor([15.5, 23.5, 3.2032, 4.8048]), atol=1e-3, rtol=0)


@pytest.mark.parametrize("task", ["body_simcc", "body_rle", "hand_simcc", "hand_rle"])
def test_shipped_configs_pass_the_key_check(task: str, tmp_path: Path) -> None:
    run.check_config(compose_train(tmp_path, f"task={task}", tiny=BASE))


def test_rle_without_flow_builds_from_the_config(tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, "task=hand_rle", "tasks.hand.loss.flow=false", "rle_base=gaussian", tiny=BASE)
    model = run.build_model(cfg)
    task = model.task("hand")
    assert isinstance(task, RLEKeypointTask) and isinstance(task.criterion, RLELoss)
    assert task.criterion.flow is None and task.codec.base == "gaussian"
    assert [m.base for m in task.metric_objects() if isinstance(m, ScaleCalibration)] == ["gaussian"]


@pytest.mark.parametrize("case", ["body_simcc", "body_rle"])
def test_exported_graph_equals_task_predict(
    case: str, tmp_path: Path, realdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    from landmarks.export import export_model
    from landmarks.runtime import Runtime
    from tests.export import test_parity

    monkeypatch.setitem(test_parity.CASES, case, (case, []))
    model = test_parity.build_tiny(case, tmp_path)
    paths = export_model(model, str(tmp_path / "export"))
    test_parity.compare(model, Runtime(paths["onnx"]), realdata, kp_tol=1e-3, angle_tol=1e-3)
