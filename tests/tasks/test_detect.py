"""task=detect: loss terms by hand, the letterbox undone exactly, class masking, JSON/drawing, a short fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from landmarks import run
from landmarks.codecs.centernet import CenterNetCodec
from landmarks.data.detection import LetterboxTransform
from landmarks.heads.detect import CenterNetHead, box_from_edges, edge_distances
from landmarks.losses.focal import PenaltyReducedFocalLoss
from tasks.detect import DetectTask
from tests.tiny import BASE, compose_train

CATS = ["person", "hand"]


def _task(input_size: tuple[int, int] = (64, 32)) -> DetectTask:
    codec = CenterNetCodec(input_size, CATS, stride=4, max_objects=4, max_detections=5)
    task = DetectTask(codec, CenterNetHead, PenaltyReducedFocalLoss())
    task.build([8, 16], [4, 8])
    return task


def _perfect_out(task: DetectTask, t: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    heat = torch.logit(torch.from_numpy(t["heatmap"])[None].clamp(1e-6, 1 - 1e-6))
    return {"heatmap": heat, "size": torch.from_numpy(t["size"])[None], "offset": torch.from_numpy(t["offset"])[None]}


def _batch(t: dict[str, np.ndarray]) -> dict:
    return {"targets": {"detect": {k: torch.from_numpy(np.asarray(v))[None] for k, v in t.items()}}}


def test_loss_terms_by_hand() -> None:
    task = _task()
    t = task.codec.encode(np.array([[10.0, 6.0, 20.0, 12.0], [40.0, 4.0, 8.0, 16.0]]), np.array([0, 1]))
    out = _perfect_out(task, t)
    terms = task.loss(out, _batch(t))
    assert terms["size"].item() == pytest.approx(0.0, abs=1e-6) and terms["offset"].item() == pytest.approx(
        0.0, abs=1e-6
    )
    out["size"] = out["size"] + 1.0  # every size 1 heatmap px too large: L1 = (1 + 1) per object, mean over objects
    out["offset"] = out["offset"] - 0.25
    terms = task.loss(out, _batch(t))
    assert terms["size"].item() == pytest.approx(2.0) and terms["offset"].item() == pytest.approx(0.5)
    assert terms["loss"].item() == pytest.approx(terms["heatmap"].item() + 0.1 * 2.0 + 1.0 * 0.5)


def test_giou_term_by_hand() -> None:
    codec = CenterNetCodec((64, 32), CATS, stride=4, max_objects=4, max_detections=5)
    task = DetectTask(codec, CenterNetHead, PenaltyReducedFocalLoss(), giou_weight=2.0)
    task.build([8, 16], [4, 8])
    t = codec.encode(np.array([[10.0, 6.0, 20.0, 12.0], [40.0, 4.0, 8.0, 16.0]]), np.array([0, 1]))  # 5x3, 2x4 cells
    out = _perfect_out(task, t)
    assert task.loss(out, _batch(t))["giou"].item() == pytest.approx(0.0, abs=1e-6)
    out["size"] = out["size"] + 1.0  # 6x4 around 5x3 and 3x5 around 2x4, same centres: GIoU = IoU
    terms = task.loss(out, _batch(t))
    assert terms["giou"].item() == pytest.approx(((1 - 15 / 24) + (1 - 8 / 15)) / 2, abs=1e-6)
    assert terms["loss"].item() == pytest.approx(
        terms["heatmap"].item() + 0.1 * terms["size"].item() + terms["offset"].item() + 2.0 * terms["giou"].item()
    )
    out = _perfect_out(task, t)
    out["offset"] = out["offset"] - 0.25  # both boxes moved by (-1/4, -1/4) cell
    inter = (4.75 * 2.75, 1.75 * 3.75)  # per box: (w - 1/4)(h - 1/4)
    union = (2 * 15 - inter[0], 2 * 8 - inter[1])
    hull = (5.25 * 3.25, 2.25 * 4.25)  # (w + 1/4)(h + 1/4)
    giou = [i / u - (c - u) / c for i, u, c in zip(inter, union, hull)]
    assert task.loss(out, _batch(t))["giou"].item() == pytest.approx(((1 - giou[0]) + (1 - giou[1])) / 2, abs=1e-6)
    assert "giou" not in _task().loss(out, _batch(t))  # off by default (giou_weight=0)


def test_flip_test_maps_a_mirrored_input_back() -> None:
    """The maps of the mirrored frame, flipped back and merged, decode to the plain frame's boxes."""
    task = _task()
    boxes = np.array([[10.3, 6.2, 20.0, 12.0], [40.7, 4.1, 8.0, 16.0]])
    labels = np.array([0, 1])
    mirrored = boxes.copy()
    mirrored[:, 0] = 64 - boxes[:, 0] - boxes[:, 2]  # x' = W - x - w
    out = _perfect_out(task, task.codec.encode(boxes, labels))
    out_mirrored = _perfect_out(task, task.codec.encode(mirrored, labels))
    assert task.has_flip_test
    merged = task.merge_flip(out, task.flip_back(out_mirrored))
    got, scores, got_labels = task.codec.decode(merged)
    keep = scores[0] > 0.5
    order = np.argsort(got[0][keep][:, 0])
    np.testing.assert_allclose(got[0][keep][order], boxes, atol=1e-4)
    assert got_labels[0][keep][order].tolist() == [0, 1]


def test_unlabelled_classes_do_not_count() -> None:
    task = _task()
    t = task.codec.encode(np.array([[10.0, 6.0, 20.0, 12.0]]), np.array([0]), class_mask=np.array([1.0, 0.0]))
    out = _perfect_out(task, t)
    base = task.loss(out, _batch(t))["heatmap"].item()
    out["heatmap"][0, 1] = 5.0  # confident "hands" everywhere, in a frame that does not label hands
    assert task.loss(out, _batch(t))["heatmap"].item() == pytest.approx(base)
    t["class_weight"][:] = 1.0
    assert task.loss(out, _batch(t))["heatmap"].item() > base + 1.0


def test_predict_undoes_the_letterbox_exactly() -> None:
    task = _task((64, 32))
    image = np.zeros((60, 200, 3), np.uint8)  # wide: scaled by 64 / 200, black bands above and below
    boxes = np.array([[20.0, 10.0, 50.0, 40.0], [120.0, 5.0, 30.0, 50.0]], np.float32)
    frame = {"image": image, "boxes": boxes, "labels": np.array([0, 1]), "iscrowd": np.zeros(2)}
    crop = LetterboxTransform((64, 32), train=False)(frame, np.random.default_rng(0))
    np.testing.assert_allclose(crop["boxes"][0], [20 * 0.32, 10 * 0.32 + (32 - 60 * 0.32) / 2, 16.0, 12.8], atol=1e-4)
    t = task.codec.encode_sample(crop)
    meta = {k: torch.from_numpy(np.asarray(crop[k]))[None] for k in ("center", "scale", "rot")}
    meta["image_size"] = torch.tensor([[200.0, 60.0]])
    pred = task.predict(_perfect_out(task, t), {"meta": meta})
    assert pred.keypoints.shape == (1, 0, 2) and pred.scores.shape == (1, 0)
    assert pred.extras["boxes"].shape == (1, 5, 4) and pred.extras["labels"].dtype == np.int64
    top = pred.extras["box_scores"][0] > 0.99
    found = pred.extras["boxes"][0][top]
    np.testing.assert_allclose(found[np.argsort(found[:, 0])], boxes, atol=1e-3)
    assert sorted(pred.extras["labels"][0][top].tolist()) == [0, 1]


def test_json_and_drawing() -> None:
    task = _task()
    boxes = np.array([[[1.0, 2.0, 30.0, 40.0], [5.0, 5.0, 10.0, 10.0]]], np.float32)
    extras = {"boxes": boxes, "box_scores": np.array([[0.9, 0.05]], np.float32), "labels": np.array([[1, 0]])}
    from landmarks.types import Prediction

    pred = Prediction(np.zeros((1, 0, 2), np.float32), np.zeros((1, 0), np.float32), extras)
    entry = task.to_json(pred, 0)
    json.dumps(entry)
    assert entry["detections"] == [{"bbox": [1.0, 2.0, 30.0, 40.0], "score": 0.9, "category": "hand", "category_id": 2}]
    image = np.zeros((60, 60, 3), np.uint8)
    drawn = task.draw(image, pred, 0, kpt_thr=0.5)
    assert drawn.shape == image.shape and drawn.any() and not image.any()  # drawn on a copy
    assert not task.draw(image, pred, 0, kpt_thr=0.95).any()  # nothing scores 0.95


@pytest.mark.slow
def test_a_short_fit_finds_synthetic_people(tmp_path: Path) -> None:
    """120 steps on synthetic people frames: AP50 well above an untrained model's (0: its boxes have size 0)."""
    cfg = compose_train(
        tmp_path,
        "experiment=detect_fast",
        *BASE,
        "input_size=[192,192]",  # through the recipe's space-to-depth stem: a 96 x 96 backbone
        "backbone.name=resnet10t",
        "trainer.max_steps=120",
        "trainer.val_check_interval=120",
        "trainer.max_time=null",
        "trainer.precision=32-true",
        "data.batch_size=8",
        "data.val.sources.person.num_images=40",
        "optimizer.lr=3e-3",
    )
    metrics = run.train(cfg)
    assert metrics["val/ap50"] > 0.2, metrics


def test_iou_aware_loss_by_hand_and_no_gradient_into_the_boxes() -> None:
    """``iou_weight``: BCE of the ``iou`` logits against each regressing cell's IoU, weighted as the box terms."""
    codec = CenterNetCodec((64, 32), CATS, stride=4, max_objects=4, max_detections=5)
    task = DetectTask(codec, CenterNetHead, PenaltyReducedFocalLoss(), iou_weight=0.5)
    task.build([8, 16], [4, 8])
    head_out = task.forward([torch.zeros(1, 8, 8, 16), torch.zeros(1, 16, 4, 8)])
    assert head_out["iou"].shape == (1, 1, 8, 16) and head_out["size"].shape == (1, 2, 8, 16)
    t = codec.encode(np.array([[10.0, 6.0, 20.0, 12.0], [40.0, 4.0, 8.0, 16.0]]), np.array([0, 1]))  # 5x3, 2x4 cells
    out = _perfect_out(task, t)
    out["size"] = (out["size"] + 1.0).requires_grad_(True)  # IoU 15/24 and 8/15 at the two centre cells
    out["iou"] = torch.zeros(1, 1, 8, 16, requires_grad=True)  # predicted IoU 0.5 everywhere
    terms = task.loss(out, _batch(t))

    def bce(y: float) -> float:
        return -(y * np.log(0.5) + (1 - y) * np.log(0.5))

    assert terms["iou"].item() == pytest.approx((bce(15 / 24) + bce(8 / 15)) / 2, abs=1e-6)
    assert terms["loss"].item() == pytest.approx(
        terms["heatmap"].item() + 0.1 * terms["size"].item() + terms["offset"].item() + 0.5 * terms["iou"].item()
    )
    iou_loss = task._iou_loss(out["iou"], *_boxes(out, t))
    (grad_size,) = torch.autograd.grad(iou_loss, out["size"], allow_unused=True)
    assert grad_size is None  # the IoU target is detached: the IoU loss does not move the boxes


def _boxes(out: dict[str, torch.Tensor], t: dict[str, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    from tasks.detect import _corners

    target = {k: torch.from_numpy(t[k])[None] for k in ("offset", "size")}
    weight = torch.from_numpy(t["reg_weight"])[None]
    return _corners(out["offset"], out["size"]), _corners(target["offset"], target["size"]), weight


def test_iou_aware_scores_rank_the_better_fitting_box_first() -> None:
    """Two peaks: the stronger heat with the worse predicted IoU ends second; scores = heat^0.5 iou^0.5."""
    codec = CenterNetCodec((64, 32), CATS, stride=4, max_objects=4, max_detections=2)
    heat = torch.full((1, 2, 8, 16), -20.0)
    heat[0, 0, 2, 3], heat[0, 0, 5, 12] = torch.logit(torch.tensor(0.9)), torch.logit(torch.tensor(0.6))
    iou = torch.zeros(1, 1, 8, 16)
    iou[0, 0, 2, 3], iou[0, 0, 5, 12] = torch.logit(torch.tensor(0.4)), torch.logit(torch.tensor(0.9))
    out = {"heatmap": heat, "size": torch.ones(1, 2, 8, 16), "offset": torch.zeros(1, 2, 8, 16)}
    boxes, scores, _ = codec.decode(out)
    assert boxes[0, 0, 0] == pytest.approx(3 * 4 - 2)  # heat alone: the (3, 2) cell first
    boxes, scores, _ = codec.decode({**out, "iou": iou})
    np.testing.assert_allclose(scores[0], [np.sqrt(0.6 * 0.9), np.sqrt(0.9 * 0.4)], rtol=1e-5)
    assert boxes[0, 0, 0] == pytest.approx(12 * 4 - 2)  # the (12, 5) cell first now
    with pytest.raises(ValueError, match="iou_score_power"):
        CenterNetCodec((64, 32), CATS, iou_score_power=1.5)


def test_flip_merge_averages_iou_maps_as_probabilities() -> None:
    task = _task()
    ones = torch.ones(1, 2, 8, 16)
    out = {"heatmap": torch.zeros(1, 2, 8, 16), "size": ones, "offset": ones, "iou": torch.full((1, 1, 8, 16), 2.0)}
    flipped = {**out, "iou": torch.full((1, 1, 8, 16), -2.0)}
    merged = task.merge_flip(out, flipped)
    torch.testing.assert_close(torch.sigmoid(merged["iou"]), torch.full((1, 1, 8, 16), 0.5))
    assert "iou" not in task.merge_flip(
        {k: v for k, v in out.items() if k != "iou"}, {k: v for k, v in out.items() if k != "iou"}
    )


def _edge_task(bins: int = 16) -> DetectTask:
    codec = CenterNetCodec((64, 32), CATS, stride=4, max_objects=4, max_detections=5)
    task = DetectTask(codec, CenterNetHead, PenaltyReducedFocalLoss(), edge_bins=bins)
    task.build([8, 16], [4, 8])
    return task


def _ideal_edges(t: dict[str, np.ndarray], bins: int) -> torch.Tensor:
    """Logits ``(1, 4, n, h, w)`` putting each edge's mass on the two bins around its target (the DFL minimum)."""
    ltrb = edge_distances(torch.from_numpy(t["size"])[None], torch.from_numpy(t["offset"])[None])[0]
    ltrb = ltrb.clamp(0, bins - 1 - 1e-4)  # (4, h, w)
    left = ltrb.floor()
    probs = torch.zeros(4, bins, *ltrb.shape[1:])
    probs.scatter_(1, left.long()[:, None], (left + 1 - ltrb)[:, None])
    probs.scatter_add_(1, left.long()[:, None] + 1, (ltrb - left)[:, None])
    return probs.clamp_min(1e-12).log()[None]


def test_edge_distributions_decode_flip_back_and_cost_log_n_when_uniform() -> None:
    """edge_bins: ideal distributions decode to the boxes (also through the flip test); uniform ones cost log n."""
    task = _edge_task()
    assert task.head.offset is None  # the offset is read from the edges
    boxes = np.array([[10.3, 6.2, 20.0, 12.0], [40.7, 4.1, 8.0, 16.0]])
    labels = np.array([0, 1])
    mirrored = boxes.copy()
    mirrored[:, 0] = 64 - boxes[:, 0] - boxes[:, 2]

    def perfect(b: np.ndarray) -> dict[str, torch.Tensor]:
        t = task.codec.encode(b, labels)
        edges = _ideal_edges(t, 16)
        heat = torch.logit(torch.from_numpy(t["heatmap"])[None].clamp(1e-6, 1 - 1e-6))
        return {"heatmap": heat, "edges": edges, **box_from_edges(edges)}

    for out in (perfect(boxes), task.merge_flip(perfect(boxes), task.flip_back(perfect(mirrored)))):
        got, scores, _ = task.codec.decode(out)
        keep = scores[0] > 0.5
        np.testing.assert_allclose(got[0][keep][np.argsort(got[0][keep][:, 0])], boxes, atol=1e-3)

    t = task.codec.encode(boxes, labels)
    uniform = torch.zeros(1, 4, 16, 8, 16)
    out = {"heatmap": torch.zeros(1, 2, 8, 16), "edges": uniform, **box_from_edges(uniform)}
    terms = task.loss(out, _batch(t))
    assert terms["dfl"].item() == pytest.approx(np.log(16.0), abs=1e-5)
    ideal = perfect(boxes)
    assert task.loss(ideal, _batch(t))["dfl"].item() < 0.7  # at most the entropy of a two-bin split (log 2)
