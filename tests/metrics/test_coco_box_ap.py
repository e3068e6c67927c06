"""COCO box AP metric: perfect boxes give 1.0; equal to pycocotools run directly; the same on 2 processes."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from landmarks.metrics.coco_box_ap import BOX_STAT_NAMES, CocoBoxAP
from landmarks.types import Prediction

M, N = 4, 5  # padded ground truth and detections per frame


def _frames() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Three frames: ground truth (with a crowd region) and detections (hits, a duplicate, a miss, a false box)."""
    gt = [
        {"boxes": [[10, 10, 40, 80], [60, 20, 30, 60]], "labels": [0, 0], "crowd": [0, 0]},
        {"boxes": [[5, 5, 20, 20], [50, 50, 40, 40]], "labels": [1, 0], "crowd": [0, 1]},
        {"boxes": [[30, 30, 50, 50]], "labels": [0], "crowd": [0]},
    ]
    det = [
        {
            "boxes": [[11, 12, 40, 78], [62, 20, 30, 55], [11, 10, 38, 80]],
            "scores": [0.9, 0.8, 0.3],
            "labels": [0, 0, 0],
        },
        {"boxes": [[6, 5, 20, 22], [52, 48, 40, 40], [0, 0, 10, 10]], "scores": [0.7, 0.6, 0.5], "labels": [1, 0, 0]},
        {"boxes": [[100, 100, 10, 10]], "scores": [0.95], "labels": [0]},
    ]
    return gt, det


def _batch(gt: list[dict[str, Any]], det: list[dict[str, Any]], ids: list[int]) -> tuple[Prediction, dict[str, Any]]:
    b = len(ids)
    boxes, scores, labels = np.zeros((b, N, 4)), np.zeros((b, N)), np.zeros((b, N), np.int64)
    gb, gl, gc, ga = np.zeros((b, M, 4)), np.full((b, M), -1), np.zeros((b, M), np.int64), np.zeros((b, M))
    for r, i in enumerate(ids):
        n = len(det[i]["boxes"])
        boxes[r, :n] = np.reshape(det[i]["boxes"], (n, 4))
        scores[r, :n], labels[r, :n] = det[i]["scores"], det[i]["labels"]
        labels[r, n:] = -1  # no detection in the padding rows
        g = np.asarray(gt[i]["boxes"], np.float64)
        gb[r, : len(g)], gl[r, : len(g)], gc[r, : len(g)] = g, gt[i]["labels"], gt[i]["crowd"]
        ga[r, : len(g)] = g[:, 2] * g[:, 3]
    pred = Prediction(np.zeros((b, 0, 2)), np.zeros((b, 0)), {"boxes": boxes, "box_scores": scores, "labels": labels})
    meta = {
        "gt_boxes": torch.from_numpy(gb),
        "gt_labels": torch.from_numpy(gl),
        "gt_iscrowd": torch.from_numpy(gc),
        "gt_area": torch.from_numpy(ga),
        "image_id": torch.tensor([100 + i for i in ids]),
        "index": torch.tensor(ids),
    }
    return pred, meta


def _direct(gt: list[dict[str, Any]], det: list[dict[str, Any]]) -> np.ndarray:
    """pycocotools on the same frames, written as COCO JSON by hand (no code of the metric)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    anns, res = [], []
    for i, (g, d) in enumerate(zip(gt, det)):
        for box, label, crowd in zip(g["boxes"], g["labels"], g["crowd"]):
            anns.append(
                {"id": len(anns) + 1, "image_id": 100 + i, "category_id": label + 1, "bbox": box, "iscrowd": crowd}
            )
            anns[-1]["area"] = box[2] * box[3]
        for box, score, label in zip(d["boxes"], d["scores"], d["labels"]):
            res.append({"image_id": 100 + i, "category_id": label + 1, "bbox": box, "score": score})
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = {  # pyright: ignore[reportAttributeAccessIssue]
            "images": [{"id": 100 + i} for i in range(len(gt))],
            "annotations": anns,
            "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "hand"}],
        }
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(res), "bbox")  # pyright: ignore[reportArgumentType]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats


def _metric(gt: list[dict[str, Any]], det: list[dict[str, Any]], batches: list[list[int]]) -> dict[str, float]:
    metric = CocoBoxAP(categories=["person", "hand"])
    for ids in batches:
        metric.update(*_batch(gt, det, ids))
    return metric.compute()


def test_perfect_boxes_give_ap_one() -> None:
    gt, _ = _frames()
    perfect = [{"boxes": g["boxes"], "scores": [0.9] * len(g["boxes"]), "labels": g["labels"]} for g in gt]
    values = _metric(gt, perfect, [[0, 1], [2]])
    assert values["ap"] == pytest.approx(1.0) and values["ap75"] == pytest.approx(1.0)
    assert values["ap_person"] == pytest.approx(1.0) and values["ap_hand"] == pytest.approx(1.0)


def test_equals_pycocotools_run_directly() -> None:
    gt, det = _frames()
    values = _metric(gt, det, [[2], [0, 1]])  # any batching: rows are ordered by dataset index
    stats = _direct(gt, det)
    assert [values[k] for k in BOX_STAT_NAMES] == pytest.approx(stats.tolist(), abs=1e-12)
    assert 0.2 < values["ap"] < 0.9  # a real mix of hits and misses, not a degenerate case
    assert values["ap_hand"] > values["ap_person"]  # one well placed hand box; people have a miss and false boxes


def test_without_detections_ap_is_zero_and_missing_fields_are_named() -> None:
    gt, det = _frames()
    nothing = [{"boxes": [], "scores": [], "labels": []} for _ in gt]
    assert _metric(gt, nothing, [[0, 1, 2]])["ap"] == 0.0
    pred, meta = _batch(gt, det, [0])
    del meta["gt_boxes"]
    with pytest.raises(ValueError, match="no 'gt_boxes'"):
        CocoBoxAP().update(pred, meta)
    with pytest.raises(ValueError, match=r"extras\['boxes'\]"):
        CocoBoxAP().update(Prediction(np.zeros((1, 0, 2)), np.zeros((1, 0))), _batch(gt, det, [0])[1])


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    gt, det = _frames()
    shard = [[0, 2], [1, 0]][rank]  # DistributedSampler-style padding: frame 0 on both processes
    values = _metric(gt, det, [[i] for i in shard])
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(values, f)
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_the_same_on_two_processes(tmp_path: Path) -> None:
    gt, det = _frames()
    single = _metric(gt, det, [[0, 1, 2]])
    mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    for rank in range(2):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            assert pickle.load(f) == pytest.approx(single, abs=1e-12)
