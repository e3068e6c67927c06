"""Every metric of every ``conf/task/*.yaml`` is the same on 2 processes as on 1.

Two gloo processes (``torch.multiprocessing``) each update their shard of the metric objects,
sharded and padded as ``DistributedSampler`` does (7 samples -> 8, sample 0 seen twice), and
``compute()`` gathers; the values (AP to 1e-9, the rest to 1e-6) and the per-sample records must
equal one process updating all samples in order. The slow end-to-end twin runs the real
``evaluate`` with ``trainer=ddp_cpu`` on a checkpoint.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from tests import tiny
from tests.tiny import BASE, CONF, ONE_STEP, REPO, run_script

TASK_FILES = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))
N, WORLD, BATCH = 7, 2, 2
AP_KEYS = {"ap", "ap50", "ap75", "apm", "apl", "ar", "ar50", "ar75", "arm", "arl"}


def _metric_configs(tmp: Path) -> dict[str, tuple[Any, Any]]:
    """``{"<task file>/<task>": (metrics config, spec config or None)}`` as plain containers."""
    layout = tmp / "layout.yaml"
    layout.write_text(
        "keypoints: [a, b, c, d, e]\nflip_pairs: [[b, c]]\nsigmas: [0.03, 0.05, 0.05, 0.08, 0.1]\ntorso_pair: [a, d]\n"
    )
    out = {}
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        for name in TASK_FILES:
            extra = [f"spec_file={layout}"] if name == "custom" else []
            cfg = compose("train", overrides=[f"task={name}", "output_dir=/tmp/unused", *extra])
            for task, node in cfg.tasks.items():
                if node._target_ == "tasks.detect.DetectTask":  # rows are frames with boxes, not keypoint samples:
                    continue  # its 2-process equality test is tests/metrics/test_coco_box_ap.py
                spec = OmegaConf.to_container(node.spec, resolve=True) if "spec" in node else None
                out[f"{name}/{task}"] = (OmegaConf.to_container(node.metrics, resolve=True), spec)
    return out


def _samples(k: int, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Predictions and batch meta of N samples with K keypoints (box 100 px, noisy predictions)."""
    rng = np.random.default_rng(seed)
    gt = rng.uniform(10, 110, size=(N, k, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0, 2.0], p=[0.15, 0.15, 0.7], size=(N, k)).astype(np.float32)
    euler = rng.uniform(-105, 105, size=(N, 3)).astype(np.float32)  # some beyond 99: excluded
    euler[5] = np.nan  # a sample without a pose label
    pred = {
        "keypoints": (gt + rng.normal(0, 6, size=gt.shape)).astype(np.float32),
        "scores": rng.uniform(0.1, 1.0, size=(N, k)).astype(np.float32),
        "euler": (np.nan_to_num(euler) + rng.normal(0, 8, size=(N, 3))).astype(np.float32),
        "scale": rng.uniform(2, 10, size=(N, k, 2)).astype(np.float32),  # RLE's per-keypoint scale, image px
        "visibility": rng.uniform(0, 1, size=(N, k)).astype(np.float32),  # a visibility task's probabilities
    }
    meta = {
        "keypoints": gt,
        "visible": visible,
        "bbox": np.tile(np.float32([10, 10, 100, 100]), (N, 1)),
        "area": rng.uniform(3000, 9000, N).astype(np.float32),
        "image_id": np.arange(N) // 2,
        "id": np.arange(N),
        "score": np.ones(N, np.float32),
        "head_size": np.full(N, 25.0, np.float32),
        "euler": euler,
        "rot": np.zeros(N, np.float32),
        "index": np.arange(N),
    }
    return pred, meta


def _run(configs: dict[str, tuple[Any, Any]], order: list[int]) -> dict[str, Any]:
    """Build every metric set, update it with the samples ``order`` in batches, compute."""
    from landmarks.task import build_metrics
    from landmarks.types import Prediction

    results = {}
    for key, (metrics_cfg, spec_cfg) in configs.items():
        spec = instantiate(spec_cfg) if spec_cfg is not None else None
        metrics = build_metrics(instantiate(metrics_cfg), key, **({"spec": spec} if spec is not None else {}))
        pred, meta = _samples(spec.num_keypoints if spec is not None else 0, seed=len(key))
        for start in range(0, len(order), BATCH):
            sel = np.asarray(order[start : start + BATCH])
            extras = {name: pred[name][sel] for name in ("euler", "scale", "visibility")}
            p = Prediction(pred["keypoints"][sel], pred["scores"][sel], extras)
            batch_meta = {name: torch.from_numpy(np.asarray(v[sel])) for name, v in meta.items()}
            for metric in metrics.values():
                metric.update(p, batch_meta)
        results[key] = {name: (m.compute(), m.records()) for name, m in metrics.items()}
    return results


def _worker(rank: int, init_file: str, configs: dict[str, tuple[Any, Any]], out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD)
    padded = list(range(N)) + list(range(WORLD - N % WORLD if N % WORLD else 0))  # DistributedSampler padding
    results = _run(configs, padded[rank::WORLD])
    with open(os.path.join(out_dir, f"rank{rank}.pkl"), "wb") as f:
        pickle.dump(results, f)
    dist.barrier()
    dist.destroy_process_group()


def _same(a: float, b: float, tol: float) -> bool:
    """Equal to ``tol``, relative for values above 1: px errors (EPE ~ 90 px of an untrained model) inherit the
    float32 rounding of the network's outputs, which differs in the last bits between batch compositions."""
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol * max(1.0, abs(a))


@pytest.mark.slow
def test_every_task_metric_is_the_same_on_two_processes(tmp_path: Path) -> None:
    configs = _metric_configs(tmp_path)
    single = _run(configs, list(range(N)))
    mp.spawn(_worker, args=(str(tmp_path / "init"), configs, str(tmp_path)), nprocs=WORLD, join=True)
    for rank in range(WORLD):
        with open(tmp_path / f"rank{rank}.pkl", "rb") as f:
            gathered = pickle.load(f)
        for key, metrics in single.items():
            for name, (values, records) in metrics.items():
                other, other_records = gathered[key][name]
                assert values and set(values) == set(other), (key, name, sorted(values), sorted(other))
                for k, v in values.items():
                    tol = 1e-9 if k in AP_KEYS else 1e-6
                    assert _same(v, other[k], tol), f"{key} {name}.{k}: 1 process {v}, rank {rank} of 2: {other[k]}"
                if records is not None:
                    for column, col in records.items():
                        np.testing.assert_allclose(other_records[column], col, rtol=0, atol=1e-9, err_msg=column)
    reported = {k for metrics in single.values() for values, _ in metrics.values() for k in values}
    wanted = {"pck", "epe", "auc", "pdj", "pckh", "ap", "nme", "fr", "mae", "geodesic", "cover@1"}
    assert wanted | {"vis_auroc", "vis_ece"} <= reported


@pytest.mark.slow
def test_evaluate_under_ddp_cpu_equals_one_process(tmp_path: Path) -> None:
    from landmarks import run

    common = [
        *BASE,
        "data.batch_size=4",
        "data.val_batch_size=2",
        "data.train.num_images=8",
        "data.val.num_images=7",
        *ONE_STEP,
        "+trainer.enable_model_summary=false",
        f"output_dir={tmp_path / 'train'}",
    ]
    run.train(tiny.compose("train", *common))
    ckpt = tmp_path / "train" / "checkpoints" / "last.ckpt"
    one = run.evaluate(tiny.compose("evaluate", f"ckpt={ckpt}", f"out={tmp_path / 'one'}", "plots=false"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "PYTHONPATH": str(REPO)}
    run_script(
        "evaluate",
        f"ckpt={ckpt}",
        "trainer=ddp_cpu",
        f"out={tmp_path / 'two'}",
        "plots=false",
        f"hydra.run.dir={tmp_path / 'hydra'}",
        "trainer.enable_progress_bar=false",
        env=env,
    )
    two = json.loads((tmp_path / "two" / "eval_metrics.json").read_text())
    assert {"val/pck", "val/pdj", "val/ap"} <= set(one) and one[
        "val/epe"
    ] > 0  # EPE: a mean of 7 errors, not of 2 shards
    for k, v in one.items():
        if k.endswith("/loss"):
            continue  # the loss is a per-batch mean: batches differ between 1 and 2 processes
        assert _same(v, two[k], 1e-9 if k.split("/")[-1] in AP_KEYS else 1e-6), f"{k}: 1 process {v}, 2: {two[k]}"
