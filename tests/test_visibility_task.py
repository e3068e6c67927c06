"""VisibilityTask: flip test, the one output path (predict, to_json, draw), the head and the codec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from landmarks.codecs.visibility import VisibilityCodec
from landmarks.heads.visibility import VisibilityHead
from landmarks.layouts.spec import coco17
from landmarks.losses.visibility import VisibilityBCELoss
from landmarks.types import Prediction
from landmarks.visibility_task import VisibilityTask
from tests.tiny import compose_train


def _task(pool: str = "attention") -> VisibilityTask:
    def head(**kw: object) -> VisibilityHead:
        return VisibilityHead(pool=pool, channels=8, **kw)  # type: ignore[arg-type]

    task = VisibilityTask(coco17(), VisibilityCodec((48, 64)), head, VisibilityBCELoss())
    task.build([4, 6], [16, 32])
    return task


def test_codec_encodes_flags_and_rejects_others() -> None:
    t = VisibilityCodec((48, 64)).encode(np.zeros((4, 2), np.float32), np.array([2, 1, 0, 2], np.float32))
    np.testing.assert_array_equal(t["visibility"], [1, 0, 0, 1])
    np.testing.assert_array_equal(t["target_weight"], [1, 1, 0, 1])
    with pytest.raises(ValueError, match=r"field 'visible' must hold COCO flags 0, 1, 2; got \[0.5\]"):
        VisibilityCodec((48, 64)).encode(np.zeros((2, 2)), np.array([2.0, 0.5]))
    with pytest.raises(ValueError, match=r"expected keypoints \(K, 2\) and visible \(K,\)"):
        VisibilityCodec((48, 64)).encode(np.zeros((3, 2)), np.array([2.0, 1.0]))


@pytest.mark.parametrize("pool", ["attention", "mean"])
def test_head_gives_one_logit_per_keypoint_and_starts_undecided(pool: str) -> None:
    task = _task(pool)
    feats = [torch.randn(3, 4, 4, 3), torch.randn(3, 6, 2, 2)]
    out = task(feats)
    assert out.shape == (3, 17) and torch.equal(out, torch.zeros(3, 17))  # zero last layer: p = 0.5
    with pytest.raises(ValueError, match="pool must be one of"):
        VisibilityHead([4], [32], 17, pool="max")


def test_attention_pooling_reads_the_attended_cell() -> None:
    """A keypoint whose attention logit peaks at one cell takes that cell's logit (spatial softmax pooling)."""
    head = VisibilityHead([2], [32], num_keypoints=1, pool="attention", channels=2)
    with torch.no_grad():
        head.get_parameter("conv.0.weight").copy_(torch.eye(2).reshape(2, 2, 1, 1))
        weight = torch.tensor([[100.0, 0.0], [0.0, 1.0]]).reshape(2, 2, 1, 1)  # attention <- ch 0, value <- ch 1
        head.get_parameter("final.1.weight").copy_(weight)
        head.get_parameter("final.1.bias").zero_()
    head.eval()  # BatchNorm with its initial statistics: x / sqrt(1 + eps)
    x = torch.zeros(1, 2, 2, 2)
    x[0, 0, 1, 0] = 1.0  # attend to cell (1, 0) ...
    x[0, 1, 1, 0] = 3.0  # ... whose value is 3 (the others 0)
    z = head([x])
    assert float(z[0, 0]) == pytest.approx(3.0 / (1 + 1e-5) ** 0.5, rel=1e-4)


def test_flip_back_swaps_left_and_right_and_predict_gives_probabilities() -> None:
    task = _task()
    logits = torch.arange(17, dtype=torch.float32)[None].repeat(2, 1)
    back = task.flip_back(logits)
    spec = coco17()
    left_eye, right_eye = spec.names.index("left_eye"), spec.names.index("right_eye")
    assert back[0, left_eye] == right_eye and back[0, right_eye] == left_eye and back[0, 0] == 0  # nose stays
    assert torch.equal(task.flip_back(back), logits)
    pred = task.predict(torch.tensor([[0.0] * 16 + [2.0]]), {"meta": {}})
    assert pred.keypoints.shape == (1, 0, 2) and pred.scores.shape == (1, 0)
    probs = pred.extras["visibility"]
    assert probs.shape == (1, 17) and probs.dtype == np.float32
    assert probs[0, 0] == 0.5 and probs[0, 16] == pytest.approx(1 / (1 + np.exp(-2.0)), abs=1e-7)  # 0.8808
    entry = task.to_json(pred, 0)
    assert entry["keypoints"] == [] and entry["keypoint_visibility"][16] == 0.8808


def test_loss_reads_its_targets_and_masks_unlabelled() -> None:
    task = _task()
    target = {"visibility": torch.tensor([[1.0] + [0.0] * 16]), "target_weight": torch.tensor([[1.0] + [0.0] * 16])}
    loss = task.loss(torch.full((1, 17), 2.0), {"targets": {"visibility": target}})["loss"]
    assert float(loss) == pytest.approx(float(np.log1p(np.exp(-2.0))), abs=1e-6)  # only keypoint 0 counts


def test_keypoint_task_draws_lent_occluded_points_hollow(tmp_path: Path) -> None:
    from landmarks import run

    model = run.build_model(compose_train(tmp_path, "task=body_visibility", "backbone=resnet18"))
    body = model.task("body")
    image = np.zeros((400, 400, 3), np.uint8)  # point radius 4 px, line width 2 px
    kpts = np.zeros((1, 17, 2), np.float32)
    kpts[0, 1] = (300, 100)  # left eye: occluded -> a ring
    kpts[0, 14] = (100, 300)  # right knee: visible -> a disc (no limb joins the two)
    scores = np.zeros((1, 17), np.float32)
    scores[0, [1, 14]] = 1.0
    vis = np.full((1, 17), 0.9, np.float32)
    vis[0, 1] = 0.2
    plain = body.draw(image, Prediction(kpts, scores), 0)
    hollow = body.draw(image, Prediction(kpts, scores, {"visibility": vis}), 0)
    assert plain[300, 100].any() and np.array_equal(hollow[300, 100], plain[300, 100])  # the knee: filled both times
    assert plain[100, 300].any() and not hollow[100, 300].any()  # the eye's centre: filled, then empty ...
    assert hollow[100, 290:310].any()  # ... inside a ring
    other = body.draw(image, Prediction(kpts, scores, {"visibility": vis[:, :5]}), 0)  # another layout's K
    assert np.array_equal(other, plain)


@pytest.mark.parametrize(
    ("task", "keypoints", "category"), [("hand_visibility", 21, "hand"), ("face_visibility", 68, "face")]
)
def test_hand_and_face_visibility_train_a_step_and_report_auroc(
    task: str, keypoints: int, category: str, tmp_path: Path
) -> None:
    """The shared block (conf/visibility/bce.yaml) takes the keypoint task's layout and box category,
    and the synthetic hands / faces carry the flags it trains on."""
    from landmarks import run
    from tests.tiny import ONE_STEP

    cfg = compose_train(tmp_path, f"task={task}", *ONE_STEP)
    model = run.build_model(cfg)
    vis = model.task("visibility")
    assert isinstance(vis, VisibilityTask) and vis.spec.num_keypoints == keypoints and vis.box_category == category
    metrics = run.train(cfg)
    assert "val/vis_auroc" in metrics and "val/vis_ece" in metrics, sorted(metrics)
