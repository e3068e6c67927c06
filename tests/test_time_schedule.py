"""The learning-rate schedule that follows trainer.max_time (landmarks/schedulers.py: AnnealByMaxTime)."""

from __future__ import annotations

import logging
import math
import time
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Timer
from pytorch_lightning.trainer.states import RunningStage
from torch.utils.data import DataLoader, TensorDataset

from landmarks.schedulers import AnnealByMaxTime, WarmupCosine


def _schedule(total: int = 100) -> WarmupCosine:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return WarmupCosine(optimizer, total_steps=total, warmup_steps=0.1, min_ratio=0.0)  # 10 warm-up steps


def test_the_schedule_stands_at_the_later_of_step_and_time() -> None:
    s = _schedule()
    assert s._factor(20) == pytest.approx(0.5 * (1 + math.cos(math.pi * 10 / 90)))  # the step leads
    s.time_progress = 0.55  # 55 of 100 steps' worth of time: (55 - 10) / 90 = half the cosine
    assert s._factor(20) == pytest.approx(0.5)
    assert s._factor(80) == pytest.approx(0.5 * (1 + math.cos(math.pi * 70 / 90)))  # the step leads again
    s.time_progress = 0.05  # inside the warm-up: step 5 of 10 -> 6 / 10
    assert s._factor(2) == pytest.approx(0.6)
    s.time_progress = 1.0
    assert s._factor(3) == pytest.approx(0.0)  # the budget is spent: the final rate


def test_callback_sets_the_rate_of_the_coming_step_from_the_trainers_timer(caplog: pytest.LogCaptureFixture) -> None:
    s = _schedule()
    timer = Timer(duration={"seconds": 100})
    timer._start_time[RunningStage.TRAINING] = time.monotonic() - 55.0  # 55 s of 100 have passed
    trainer = SimpleNamespace(callbacks=[timer], lr_scheduler_configs=[SimpleNamespace(scheduler=s)], global_step=20)
    callback = AnnealByMaxTime()
    with caplog.at_level(logging.INFO, logger="landmarks"):
        callback.on_train_batch_start(trainer, None, None, 0)  # type: ignore[arg-type]
    assert s.time_progress == pytest.approx(0.55, abs=0.01)
    assert s.optimizer.param_groups[0]["lr"] == pytest.approx(0.5, abs=0.03)  # set now, not after the step
    assert "time budget leads the schedule from step 20 of 100" in caplog.text


def test_callback_without_max_time_says_the_steps_lead(caplog: pytest.LogCaptureFixture) -> None:
    s = _schedule()
    trainer = SimpleNamespace(callbacks=[Timer(duration=None)], lr_scheduler_configs=[SimpleNamespace(scheduler=s)])
    callback = AnnealByMaxTime()
    with caplog.at_level(logging.INFO, logger="landmarks"):
        callback.on_train_start(trainer, None)  # type: ignore[arg-type]
        callback.on_train_batch_start(trainer, None, None, 0)  # type: ignore[arg-type]
    assert "trainer.max_time is not set" in caplog.text and s.time_progress == 0.0


class _Linear(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        time.sleep(0.01)  # ~100 steps a second: max_time, not max_steps, ends the run
        return self.layer(batch[0]).pow(2).mean()

    def configure_optimizers(self) -> dict:
        optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
        schedule = WarmupCosine(optimizer, total_steps=100_000, warmup_steps=0.05, min_ratio=0.02)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def test_a_run_stopped_by_max_time_ends_at_the_final_rate(tmp_path) -> None:
    data = DataLoader(TensorDataset(torch.randn(64, 2)), batch_size=8)
    trainer = pl.Trainer(
        max_steps=100_000,
        max_time={"seconds": 2},
        callbacks=[AnnealByMaxTime()],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(_Linear(), data)
    assert 20 < trainer.global_step < 1000  # stopped by the clock, far before max_steps
    lr = trainer.optimizers[0].param_groups[0]["lr"]
    assert lr == pytest.approx(0.02, abs=0.01)  # annealed: the cosine's end, not its 2 % mark
