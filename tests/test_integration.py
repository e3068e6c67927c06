"""End to end through the Hydra configs: every task trains, a real sweep, wandb offline, DDP,
and evaluation / inference from a checkpoint file alone.

In-process runs use Hydra's ``compose`` + :func:`landmarks.run.train` with tiny settings;
only the sweep and DDP need real processes (``scripts/train.py``). The wandb run files are
read with a minimal reader of wandb's record log (leveldb-log framing of protobuf records).
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig

from landmarks import run
from landmarks.data.synthetic.common.tool_example import make_custom_example
from tests.tiny import CONF, TINY, run_script

TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))
SOURCE_SIZES = {"train": 16, "val": 8}


def compose_train(out: Path, *overrides: str) -> DictConfig:
    """The train config with tiny settings; every synthetic source shrunk to a few images."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose("train", overrides=[*TINY, f"output_dir={out}", *overrides])
        sizes = [f"{path}.num_images={n}" for path, n in _synthetic_sources(cfg.data)]
        return compose("train", overrides=[*TINY, f"output_dir={out}", *sizes, *overrides]) if sizes else cfg


def _synthetic_sources(node: Any, path: str = "data") -> Iterator[tuple[str, int]]:
    if not isinstance(node, DictConfig):
        return
    for key, child in node.items_ex(resolve=False):
        if isinstance(child, DictConfig) and "num_images" in child:
            yield f"{path}.{key}", SOURCE_SIZES.get(str(key), 8)
        elif isinstance(child, DictConfig):
            yield from _synthetic_sources(child, f"{path}.{key}")


def csv_series(out: Path, key: str) -> dict[int, float]:
    """``{step: value}`` of one logged key from the CSV logger of a run."""
    with open(out / "csv" / "metrics.csv") as f:
        return {int(r["step"]): float(r[key]) for r in csv.DictReader(f) if r.get(key)}


# --------------------------------------------------------------------------- task contract
@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_task_trains_and_logs_its_monitor(task: str, tmp_path: Path) -> None:
    cfg = compose_train(tmp_path, f"task={task}", "+trainer.limit_val_batches=1", *_task_data(task, tmp_path))
    metrics = run.train(cfg)
    losses = csv_series(tmp_path, "train/loss")
    assert sorted(losses) == [0, 1] and all(math.isfinite(v) for v in losses.values())
    monitors = {str(cfg.monitor)} | {str(t.monitor) for t in cfg.tasks.values() if "monitor" in t}
    for key in monitors | {f"val/{name}/loss" for name in cfg.tasks}:
        assert key in metrics, f"task={task}: '{key}' not logged; got {sorted(metrics)}"
        assert math.isfinite(metrics[key]), f"task={task}: {key} = {metrics[key]}"
    assert metrics["global_step"] == 2
    assert json.loads((tmp_path / "metrics.json").read_text())[cfg.monitor] == pytest.approx(metrics[cfg.monitor])


def _task_data(task: str, tmp_path: Path) -> list[str]:
    """Overrides a task needs beyond the tiny settings: task=custom trains on a generated data set."""
    if task != "custom":
        return []
    written = make_custom_example(str(tmp_path / "tool7"), num_train=16, num_val=8, size=(64, 64), repeats=0)
    return [f"data.root={tmp_path / 'tool7'}", f"spec_file={written['layout']}"]


# --------------------------------------------------------------------------- checkpoint -> evaluate / infer
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float], DictConfig]:
    out = tmp_path_factory.mktemp("trained")
    cfg = compose_train(out)
    return out, run.train(cfg), cfg


@pytest.mark.slow
def test_checkpoints_are_data_and_complete(trained: tuple[Path, dict[str, float], DictConfig]) -> None:
    out, _, cfg = trained
    names = sorted(os.listdir(out / "checkpoints"))
    assert names == ["best.ckpt", "last.ckpt"], names  # no temporary file left behind
    for name in names:
        ckpt = torch.load(out / "checkpoints" / name, map_location="cpu", weights_only=True)
        assert ckpt["global_step"] == 2 and ckpt["state_dict"]
        assert ckpt["landmarks_config"]["monitor"] == cfg.monitor
        assert ckpt["landmarks_config"]["tasks"].keys() == cfg.tasks.keys()


@pytest.mark.slow
def test_evaluate_from_checkpoint_alone(trained: tuple[Path, dict[str, float], DictConfig], tmp_path: Path) -> None:
    out, train_metrics, cfg = trained
    ckpt = tmp_path / "model.ckpt"
    shutil.copy(out / "checkpoints" / "best.ckpt", ckpt)  # nothing but the file
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        eval_cfg = compose("evaluate", overrides=[f"ckpt={ckpt}", f"out={tmp_path / 'eval'}"])
    metrics = run.evaluate(eval_cfg)
    written = json.loads((tmp_path / "eval" / "eval_metrics.json").read_text())
    assert written["checkpoint"] == str(ckpt)
    assert written[cfg.monitor] == pytest.approx(metrics[cfg.monitor])
    # the same weights on the same validation config: the numbers of the training run
    assert metrics[cfg.monitor] == pytest.approx(train_metrics[cfg.monitor], abs=1e-6)


@pytest.mark.slow
def test_infer_on_a_folder_writes_coco_results_and_overlays(
    trained: tuple[Path, dict[str, float], DictConfig], tmp_path: Path
) -> None:
    out, _, cfg = trained
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        image = cv2.GaussianBlur((torch.rand(96, 80, 3) * 255).byte().numpy(), (5, 5), 0)
        cv2.ellipse(image, (40, 48), (15, 35), 0, 0, 360, (200, 160, 120), -1)
        cv2.imwrite(str(images / f"{i + 1:06d}.jpg"), image)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        infer_cfg = compose(
            "infer",
            overrides=[f"ckpt={out / 'checkpoints' / 'last.ckpt'}", f"source={images}", f"out={tmp_path / 'pred'}"],
        )
    path = run.infer(infer_cfg)
    assert path == str(tmp_path / "pred" / "predictions.json")
    results = json.loads(Path(path).read_text())
    num_keypoints = instantiate(cfg.tasks.body.spec).num_keypoints
    assert sorted(r["image_id"] for r in results) == [1, 2]  # numeric file stems are the image ids
    for r in results:
        assert r["category_id"] == 1 and isinstance(r["score"], float) and 0.0 <= r["score"] <= 1.0
        assert len(r["keypoints"]) == 3 * num_keypoints and all(math.isfinite(v) for v in r["keypoints"])
    overlays = sorted(os.listdir(tmp_path / "pred" / "overlays"))
    assert overlays == ["000001.jpg", "000002.jpg"]
    assert cv2.imread(str(tmp_path / "pred" / "overlays" / overlays[0])).shape == (96, 80, 3)


# --------------------------------------------------------------------------- processes: sweep + wandb, DDP
def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
        WANDB_CONFIG_DIR=str(tmp / ".wandb_config"),
        WANDB_CACHE_DIR=str(tmp / ".wandb_cache"),
        WANDB_DATA_DIR=str(tmp / ".wandb_data"),
        **extra,
    )
    return env


SCRIPT_TINY = [*TINY, "data.val.num_images=8"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``scripts/train.py -m optimizer.lr=1e-3,2e-3`` with the wandb logger, offline."""
    tmp = tmp_path_factory.mktemp("sweep")
    args = [
        "-m",
        "optimizer.lr=1e-3,2e-3",
        "logger=wandb",
        *[o for o in SCRIPT_TINY if o != "logger=csv"],
        "data.train.num_images=16",
        f"hydra.sweep.dir={tmp / 'multirun'}",
    ]
    run_script("train", *args, env=_env(tmp, WANDB_MODE="offline"), timeout=600)
    return tmp / "multirun"


@pytest.mark.slow
def test_multirun_each_job_writes_metrics_and_checkpoint(sweep: Path) -> None:
    for job, lr in (("0", 1e-3), ("1", 2e-3)):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        assert metrics["global_step"] == 2 and metrics["checkpoint"] == str(sweep / job / "checkpoints" / "best.ckpt")
        ckpt = torch.load(sweep / job / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        assert ckpt["landmarks_config"]["optimizer"]["lr"] == lr
        assert ckpt["landmarks_config"]["output_dir"] == str(sweep / job)


def _wandb_records(path: Path) -> Iterator[Any]:
    """Protobuf records of a ``run-*.wandb`` file (32 KiB blocks of checksum/length/type chunks)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path}: not a wandb record log"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer: padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        pending = chunk if kind in (1, 2) else pending + chunk  # FULL / FIRST start a record
        if kind in (1, 4) and pending:  # FULL / LAST end it
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


@pytest.mark.slow
def test_multirun_jobs_are_separate_offline_wandb_runs_grouped_by_task(sweep: Path) -> None:
    run_ids = set()
    for job, lr in (("0", 1e-3), ("1", 2e-3)):
        runs = sorted((sweep / job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, f"job {job}: expected one offline run under its output dir, got {runs}"
        files = sorted(runs[0].glob("run-*.wandb"))
        assert len(files) == 1 and files[0].stat().st_size > 0
        records = list(_wandb_records(files[0]))
        (info,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
        assert info.run_group == "body" and info.job_type == "train" and info.project == "landmarks"
        run_ids.add(info.run_id)
        config = {
            u.key: json.loads(u.value_json)
            for r in records
            if r.WhichOneof("record_type") == "config"
            for u in r.config.update
        }
        assert config["optimizer"]["lr"] == lr and config["task_name"] == "body"
        history = {
            i.key or "/".join(i.nested_key)
            for r in records
            if r.WhichOneof("record_type") == "history"
            for i in r.history.item
        }
        assert "train/loss" in history and "val/pck" in history
    assert len(run_ids) == 2


@pytest.mark.slow
def test_ddp_cpu_two_processes_train_and_checkpoint(tmp_path: Path) -> None:
    args = ["trainer=ddp_cpu", *SCRIPT_TINY, "data.train.num_images=32", f"hydra.run.dir={tmp_path}"]
    run_script("train", *args, env=_env(tmp_path, WANDB_MODE="disabled"), timeout=600)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["global_step"] == 2 and math.isfinite(metrics["val/pck"])
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == 2 and ckpt["landmarks_config"]["trainer"]["strategy"] == "ddp"
    assert (tmp_path / "train_ddp_process_1.log").exists()  # the second rank ran in the same output dir
