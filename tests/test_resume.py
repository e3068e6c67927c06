"""Resume from ``last.ckpt`` continues the run it came from, and checkpoints are written atomically.

Four tiny in-process runs (``num_workers=0``, 16 images in batches of 4 = 4 steps per epoch,
validation every 4 steps, default AdamW + warm-up cosine schedule):

* ``full``: ``max_steps=8`` without interruption;
* ``stopped``: the same run stopped after the step-4 validation (an ``EarlyStopping`` that
  always fires stands in for a crash), leaving ``last.ckpt`` at step 4;
* ``resumed``: ``ckpt_path=stopped/last.ckpt``, ``max_steps=8``;
* ``extended``: ``ckpt_path=stopped/last.ckpt`` with a larger budget, ``max_steps=12``.

``resumed`` must reproduce ``full`` step by step (loss, learning rate, final weights and
optimizer moments): Lightning restores weights, optimizer, scheduler and loop counters, and
:class:`landmarks.callbacks.RngState` restores the random streams that shuffle and augment.
"""

from __future__ import annotations

import csv
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from landmarks import run
from landmarks.checkpoint import atomic_torch_save, load_checkpoint
from landmarks.schedulers import WarmupCosine

CONF = Path(__file__).resolve().parents[1] / "conf"
TINY = ["threads=1", "backbone=resnet18", "logger=csv", "input_size=[64,64]", "data.num_workers=0", "data.batch_size=4",
        "data.val_batch_size=8", "data.train.num_images=16", "data.val.num_images=8", "trainer.val_check_interval=4",
        "trainer.log_every_n_steps=1", "trainer.enable_progress_bar=false", "model.flip_test=false"]
STOP_AT_FIRST_VALIDATION = ["+callbacks.stop._target_=pytorch_lightning.callbacks.EarlyStopping",
                            "+callbacks.stop.monitor=val/body/loss", "+callbacks.stop.stopping_threshold=1e30"]


def compose_train(out: Path, *overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=[*TINY, f"output_dir={out}", *overrides])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("resume")
    last = root / "stopped" / "checkpoints" / "last.ckpt"
    plan = {
        "full": ["trainer.max_steps=8"],
        "stopped": ["trainer.max_steps=8", *STOP_AT_FIRST_VALIDATION],
        "resumed": ["trainer.max_steps=8", f"ckpt_path={last}"],
        "extended": ["trainer.max_steps=12", f"ckpt_path={last}"],
    }
    for name, overrides in plan.items():
        run.train(compose_train(root / name, *overrides))
    return {name: root / name for name in plan}


def _ckpt(path: Path) -> dict:
    return torch.load(path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _series(path: Path, key: str) -> dict[int, float]:
    with open(path / "csv" / "metrics.csv") as f:
        return {int(r["step"]): float(r[key]) for r in csv.DictReader(f) if r.get(key)}


def _counters(ckpt: dict) -> tuple[int, int, int, int]:
    """(global_step, Adam step of the first parameter, scheduler last_epoch, scheduler _step_count)."""
    sched = ckpt["lr_schedulers"][0]
    adam_step = int(ckpt["optimizer_states"][0]["state"][0]["step"])
    return ckpt["global_step"], adam_step, sched["last_epoch"], sched["_step_count"]


@pytest.mark.slow
def test_checkpoint_counters_continue_from_the_saved_step(runs: dict[str, Path]) -> None:
    assert _counters(_ckpt(runs["stopped"])) == (4, 4, 4, 5)
    assert _counters(_ckpt(runs["resumed"])) == (8, 8, 8, 9) == _counters(_ckpt(runs["full"]))
    assert _counters(_ckpt(runs["extended"])) == (12, 12, 12, 13)
    # the schedule's horizon is config, not state: it comes from the run that loads it
    assert "total_steps" not in _ckpt(runs["resumed"])["lr_schedulers"][0]


@pytest.mark.slow
def test_resumed_run_reproduces_the_uninterrupted_loss_and_lr_curves(runs: dict[str, Path]) -> None:
    full, stopped, resumed = (_series(runs[n], "train/loss") for n in ("full", "stopped", "resumed"))
    assert sorted(full) == list(range(8)) and sorted(stopped) == list(range(4)) and sorted(resumed) == list(range(4, 8))
    np.testing.assert_allclose([stopped[s] for s in range(4)], [full[s] for s in range(4)], rtol=1e-6)
    np.testing.assert_allclose([resumed[s] for s in range(4, 8)], [full[s] for s in range(4, 8)], rtol=1e-5)
    lr_full, lr_resumed = _series(runs["full"], "lr-AdamW"), _series(runs["resumed"], "lr-AdamW")
    assert [lr_resumed[s] for s in range(4, 8)] == [lr_full[s] for s in range(4, 8)]


@pytest.mark.slow
def test_resumed_weights_and_optimizer_state_match_the_uninterrupted_run(runs: dict[str, Path]) -> None:
    full, resumed = _ckpt(runs["full"]), _ckpt(runs["resumed"])
    assert full["state_dict"].keys() == resumed["state_dict"].keys()
    for key, value in full["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], value, rtol=1e-4, atol=1e-6, msg=key)
    moments_full, moments_resumed = full["optimizer_states"][0]["state"], resumed["optimizer_states"][0]["state"]
    for i in (0, len(moments_full) // 2, len(moments_full) - 1):
        for name in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(moments_resumed[i][name], moments_full[i][name], rtol=1e-4, atol=1e-9)
    assert resumed["lr_schedulers"][0]["_last_lr"] == full["lr_schedulers"][0]["_last_lr"]


@pytest.mark.slow
def test_resume_with_a_larger_budget_follows_the_new_schedule(runs: dict[str, Path]) -> None:
    cfg = compose_train(runs["extended"], "trainer.max_steps=12")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=float(cfg.optimizer.lr))
    schedule = WarmupCosine(optimizer, total_steps=12, warmup_steps=float(cfg.scheduler.warmup_steps),
                            min_ratio=float(cfg.scheduler.min_ratio))
    expected = []
    for _ in range(12):
        expected.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    logged = _series(runs["extended"], "lr-AdamW")
    assert sorted(logged) == list(range(4, 12))
    np.testing.assert_allclose([logged[s] for s in range(4, 12)], expected[4:], rtol=1e-6)
    assert sorted(_series(runs["extended"], "train/loss")) == list(range(4, 12))


@pytest.mark.slow
def test_every_checkpoint_loads_as_data(runs: dict[str, Path]) -> None:
    for path in runs.values():
        for name in ("best.ckpt", "last.ckpt"):
            ckpt = torch.load(path / "checkpoints" / name, map_location="cpu", weights_only=True)
            assert "landmarks_config" in ckpt and any("RngState" in k for k in ckpt["callbacks"])
        assert sorted(os.listdir(path / "checkpoints")) == ["best.ckpt", "last.ckpt"]


# --------------------------------------------------------------------------- atomic writes (fast)
def _no_temporaries(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == ["model.ckpt"], "a temporary file was left behind"


def test_atomic_save_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt"
    atomic_torch_save({"state_dict": {"w": torch.arange(3.0)}, "step": 7}, str(path))
    loaded = load_checkpoint(str(path))
    assert loaded["step"] == 7 and torch.equal(loaded["state_dict"]["w"], torch.arange(3.0))
    _no_temporaries(tmp_path)


def test_failed_serialisation_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt"
    atomic_torch_save({"step": 1}, str(path))
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        atomic_torch_save({"step": 2, "bad": lambda: None}, str(path))  # a lambda cannot be pickled
    assert path.read_bytes() == before
    _no_temporaries(tmp_path)


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.ckpt"
    atomic_torch_save({"step": 1}, str(path))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        atomic_torch_save({"step": 2, "w": torch.zeros(1000)}, str(path))
    assert path.read_bytes() == before and load_checkpoint(str(path))["step"] == 1
    _no_temporaries(tmp_path)
    fresh = tmp_path / "sub" / "new.ckpt"
    with pytest.raises(OSError):
        atomic_torch_save({"step": 3}, str(fresh))
    assert not fresh.exists() and list(fresh.parent.iterdir()) == []
