"""Resume from ``last.ckpt`` is the uninterrupted run, bit for bit, also mid-epoch.

Tiny in-process runs (16 images in batches of 4 = 4 steps per epoch, validation every 3 steps,
default AdamW + warm-up cosine schedule), with ``data.num_workers`` 0 and 2 (persistent workers):

* ``full``: ``max_steps=6`` without interruption (it crosses the epoch boundary at step 4);
* ``stopped{w}``: the same run stopped after the step-3 validation, in the middle of epoch 0
  (an ``EarlyStopping`` that always fires stands in for a crash), leaving ``last.ckpt`` at step 3;
* ``resumed{w}``: ``ckpt_path=stopped{w}/last.ckpt``, ``max_steps=6``;
* ``extended``: ``ckpt_path=stopped0/last.ckpt`` with a larger budget, ``max_steps=12``;
* ``stopped_epoch_end`` / ``resumed_epoch_end``: the same at the end of epoch 0 (step 4).

``resumed{w}`` must reproduce ``full`` exactly: the loss of every step, every weight and optimizer
moment, and the main process's random draws (:class:`RngProbe` draws one number per step, as
dropout would). Order and augmentation come from ``(seed, epoch, index)`` (landmarks/resume.py),
so the run with 2 workers is the run with 0 workers, and ``full`` serves both.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig

from landmarks import run
from landmarks.checkpoint import atomic_torch_save, load_checkpoint
from landmarks.resume import SeededShuffle
from landmarks.schedulers import WarmupCosine
from tests import tiny
from tests.tiny import SIXTEEN

TINY = [
    *SIXTEEN,
    "trainer.val_check_interval=3",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
    "model.flip_test=false",
    f"+callbacks.probe._target_={__name__}.RngProbe",
    "+callbacks.probe.out_dir=${output_dir}",
]
STOP_AT_FIRST_VALIDATION = [
    "+callbacks.stop._target_=pytorch_lightning.callbacks.EarlyStopping",
    "+callbacks.stop.monitor=val/body/loss",
    "+callbacks.stop.stopping_threshold=1e30",
]


class RngProbe(pl.Callback):
    """Draws one number from the global torch generator per training step (as dropout would) and logs it."""

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, "rng_probe.jsonl")

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": trainer.global_step, "draw": float(torch.rand(()))}) + "\n")


def compose_train(out: Path, *overrides: str) -> DictConfig:
    return tiny.compose_train(out, *overrides, tiny=TINY)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("resume")
    plan: dict[str, list[str]] = {"full": ["trainer.max_steps=6"]}
    for workers in (0, 2):
        last = root / f"stopped{workers}" / "checkpoints" / "last.ckpt"
        plan[f"stopped{workers}"] = ["trainer.max_steps=6", f"data.num_workers={workers}", *STOP_AT_FIRST_VALIDATION]
        plan[f"resumed{workers}"] = ["trainer.max_steps=6", f"data.num_workers={workers}", f"ckpt_path={last}"]
    plan["extended"] = ["trainer.max_steps=12", f"ckpt_path={root / 'stopped0' / 'checkpoints' / 'last.ckpt'}"]
    # at the end of epoch 0: validation every 4 steps (validation never changes training here)
    plan["stopped_epoch_end"] = ["trainer.max_steps=6", "trainer.val_check_interval=4", *STOP_AT_FIRST_VALIDATION]
    plan["resumed_epoch_end"] = [
        "trainer.max_steps=6",
        f"ckpt_path={root / 'stopped_epoch_end' / 'checkpoints' / 'last.ckpt'}",
    ]
    for name, overrides in plan.items():
        run.train(compose_train(root / name, *overrides))
    return {name: root / name for name in plan}


def _ckpt(path: Path) -> dict:
    return torch.load(path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)


def _series(path: Path, key: str) -> dict[int, float]:
    with open(path / "csv" / "metrics.csv") as f:
        return {int(r["step"]): float(r[key]) for r in csv.DictReader(f) if r.get(key)}


def _draws(path: Path) -> dict[int, float]:
    return {r["step"]: r["draw"] for r in map(json.loads, (path / "rng_probe.jsonl").read_text().splitlines())}


def _counters(ckpt: dict) -> tuple[int, int, int, int]:
    """(global_step, Adam step of the first parameter, scheduler last_epoch, scheduler _step_count)."""
    sched = ckpt["lr_schedulers"][0]
    adam_step = int(ckpt["optimizer_states"][0]["state"][0]["step"])
    return ckpt["global_step"], adam_step, sched["last_epoch"], sched["_step_count"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_mid_epoch_resume_reproduces_every_loss_and_draw_bit_for_bit(runs: dict[str, Path], workers: int) -> None:
    full, stopped, resumed = (
        _series(runs["full"], "train/loss"),
        *(_series(runs[f"{n}{workers}"], "train/loss") for n in ("stopped", "resumed")),
    )
    assert sorted(full) == list(range(6)) and sorted(stopped) == [0, 1, 2] and sorted(resumed) == [3, 4, 5]
    assert {**stopped, **resumed} == full  # exact: same floats, not close ones
    assert {**_draws(runs[f"stopped{workers}"]), **_draws(runs[f"resumed{workers}"])} == _draws(runs["full"])
    lr_full, lr_resumed = _series(runs["full"], "lr-AdamW"), _series(runs[f"resumed{workers}"], "lr-AdamW")
    assert [lr_resumed[s] for s in (3, 4, 5)] == [lr_full[s] for s in (3, 4, 5)]


@pytest.mark.slow
@pytest.mark.parametrize("workers", [0, 2])
def test_mid_epoch_resume_gives_identical_weights_and_optimizer_state(runs: dict[str, Path], workers: int) -> None:
    stopped, full, resumed = _ckpt(runs[f"stopped{workers}"]), _ckpt(runs["full"]), _ckpt(runs[f"resumed{workers}"])
    assert stopped["global_step"] == 3 and stopped["loops"]["fit_loop"]["epoch_progress"]["current"]["completed"] == 0
    loader_state = stopped["loops"]["fit_loop"]["state_dict"]["combined_loader"]
    assert len(loader_state) == 1  # the StatefulDataLoader's position is in the checkpoint
    assert full["state_dict"].keys() == resumed["state_dict"].keys()
    for key, value in full["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    moments_full, moments_resumed = full["optimizer_states"][0]["state"], resumed["optimizer_states"][0]["state"]
    assert moments_full.keys() == moments_resumed.keys()
    for i, state in moments_full.items():
        for name in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(moments_resumed[i][name], state[name]), (i, name)
    assert resumed["lr_schedulers"][0]["_last_lr"] == full["lr_schedulers"][0]["_last_lr"]


@pytest.mark.slow
def test_resume_at_the_end_of_an_epoch_is_exact_too(runs: dict[str, Path]) -> None:
    stopped, resumed = (runs[n] for n in ("stopped_epoch_end", "resumed_epoch_end"))
    assert _ckpt(stopped)["global_step"] == 4
    full = _series(runs["full"], "train/loss")
    # values in logged order: after a resume at an epoch's last batch, Lightning labels the logged rows
    # with its _batches_that_stepped counter, one behind global_step (the draws below use global_step)
    losses = [v for _, v in sorted(_series(stopped, "train/loss").items())] + [
        v for _, v in sorted(_series(resumed, "train/loss").items())
    ]
    assert losses == [full[s] for s in range(6)]
    assert {**_draws(stopped), **_draws(resumed)} == _draws(runs["full"])
    for key, value in _ckpt(runs["full"])["state_dict"].items():
        assert torch.equal(_ckpt(resumed)["state_dict"][key], value), key


@pytest.mark.slow
def test_checkpoint_counters_continue_from_the_saved_step(runs: dict[str, Path]) -> None:
    assert _counters(_ckpt(runs["stopped0"])) == (3, 3, 3, 4)
    assert _counters(_ckpt(runs["resumed0"])) == (6, 6, 6, 7) == _counters(_ckpt(runs["full"]))
    assert _counters(_ckpt(runs["extended"])) == (12, 12, 12, 13)
    # the schedule's horizon is config, not state: it comes from the run that loads it
    assert "total_steps" not in _ckpt(runs["resumed0"])["lr_schedulers"][0]


@pytest.mark.slow
def test_resume_with_a_larger_budget_follows_the_new_schedule(runs: dict[str, Path]) -> None:
    cfg = compose_train(runs["extended"], "trainer.max_steps=12")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=float(cfg.optimizer.lr))
    schedule = WarmupCosine(
        optimizer,
        total_steps=12,
        warmup_steps=float(cfg.scheduler.warmup_steps),
        min_ratio=float(cfg.scheduler.min_ratio),
    )
    expected = []
    for _ in range(12):
        expected.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    logged = _series(runs["extended"], "lr-AdamW")
    assert sorted(logged) == list(range(3, 12))
    np.testing.assert_allclose([logged[s] for s in range(3, 12)], expected[3:], rtol=1e-6)
    assert sorted(_series(runs["extended"], "train/loss")) == list(range(3, 12))


@pytest.mark.slow
def test_every_checkpoint_loads_as_data(runs: dict[str, Path]) -> None:
    for path in runs.values():
        for name in ("best.ckpt", "last.ckpt"):
            ckpt = torch.load(path / "checkpoints" / name, map_location="cpu", weights_only=True)
            assert "landmarks_config" in ckpt and any("RngState" in k for k in ckpt["callbacks"])
        assert sorted(os.listdir(path / "checkpoints")) == ["best.ckpt", "last.ckpt"]


@pytest.mark.slow
def test_resumed_dataloader_is_resumable_without_warning(
    tmp_path: Path, runs: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    last = runs["stopped2"] / "checkpoints" / "last.ckpt"
    cfg = compose_train(tmp_path, "trainer.max_steps=4", "data.num_workers=2", f"ckpt_path={last}")
    with warnings.catch_warnings(record=True) as record, caplog.at_level(logging.INFO):
        warnings.simplefilter("always")
        run.train(cfg)
    messages = [str(w.message) for w in record] + [r.getMessage() for r in caplog.records]
    assert any("Restoring states" in r.getMessage() for r in caplog.records)  # it did resume
    assert not [m for m in messages if "not resumable" in m], messages


# --------------------------------------------------------------------------- the sampler (fast)
def test_seeded_shuffle_is_a_function_of_seed_and_epoch_and_resumes_in_place() -> None:
    sampler = SeededShuffle(6, seed=3)
    epoch0, epoch1 = list(sampler), list(sampler)
    assert sorted(i for i, _ in epoch0) == list(range(6)) and {e for _, e in epoch0} == {0}
    assert {e for _, e in epoch1} == {1} and [i for i, _ in epoch0] != [i for i, _ in epoch1]
    assert [i for i, _ in epoch0] == SeededShuffle(6, seed=3).order(0)
    seed = int(np.random.SeedSequence([3, 1]).generate_state(1)[0])
    expected = torch.randperm(6, generator=torch.Generator().manual_seed(seed)).tolist()
    assert [i for i, _ in epoch1] == expected

    it = iter(sampler)  # epoch 2: hand out 4, save, restore into a fresh sampler
    head = [next(it) for _ in range(4)]
    state = sampler.state_dict()
    assert state == {"epoch": 2, "yielded": 4}
    fresh = SeededShuffle(6, seed=3)
    iter(fresh), iter(fresh)  # iterators never advanced (DataLoader and torchdata make some) claim no epoch
    fresh.load_state_dict(state)
    assert head + list(fresh) == [(i, 2) for i in SeededShuffle(6, seed=3).order(2)]
    assert fresh.state_dict() == {"epoch": 2, "yielded": 6} and {e for _, e in fresh} == {3}


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
