"""Checkpoints: ``last.ckpt`` is always the latest state, ``best.ckpt`` the best; nothing is silent.

* The shipped callbacks (conf/callbacks/default.yaml) on a model whose metric gets worse at
  every validation: ``best.ckpt`` stays at the first validation, ``last.ckpt`` follows every
  validation and the end of training (also between validations).
* A run too short to validate still writes ``last.ckpt``, says so, and evaluates it.
* A ``.tmp-*.ckpt`` left by a killed write is removed when training starts.
* A training source smaller than one batch is refused before the first step.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from landmarks import run
from landmarks.checkpoint import (
    AtomicCheckpointIO,
    remove_stale_temporaries,
    written_checkpoints,
)
from landmarks.data.datamodule import LandmarkDataModule
from tests.tiny import SIXTEEN, compose


def compose_train(*overrides: str) -> DictConfig:
    return compose("train", *overrides)


class Worsening(pl.LightningModule):
    """A linear model whose validation score is ``-global_step``: every validation is worse than the last."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.layer(batch[0]).pow(2).mean()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val/score", -float(self.global_step))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(tmp_path: Path, max_steps: int, *spies: pl.Callback) -> tuple[pl.Trainer, Path]:
    """Fit ``Worsening`` for ``max_steps`` (validation every 2) with the shipped checkpoint callbacks and ``spies``."""
    cfg = compose_train(f"output_dir={tmp_path}", "monitor=val/score", "monitor_mode=max")
    callbacks = [instantiate(cfg.callbacks.model_checkpoint), instantiate(cfg.callbacks.last_checkpoint), *spies]
    trainer = pl.Trainer(
        max_steps=max_steps,
        val_check_interval=2,
        check_val_every_n_epoch=None,
        limit_val_batches=1,
        callbacks=callbacks,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        num_sanity_val_steps=0,
    )
    data = DataLoader(TensorDataset(torch.randn(16, 2)), batch_size=2)
    trainer.fit(Worsening(), train_dataloaders=data, val_dataloaders=data)
    return trainer, tmp_path / "checkpoints"


def _step(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


def test_last_is_the_final_step_and_best_the_best_when_the_metric_gets_worse(tmp_path: Path) -> None:
    trainer, folder = _fit(tmp_path, max_steps=7)  # validations at steps 2, 4, 6 (scores -2, -4, -6); ends at 7
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]
    assert _step(folder / "best.ckpt") == 2
    assert _step(folder / "last.ckpt") == 7  # before: last.ckpt stayed at step 2, the last improvement
    assert written_checkpoints(trainer) == (str(folder / "best.ckpt"), str(folder / "last.ckpt"))


def test_last_follows_every_validation(tmp_path: Path) -> None:
    steps = []

    class Spy(pl.Callback):
        def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
            last = tmp_path / "checkpoints" / "last.ckpt"
            if last.exists():
                steps.append(_step(last))

    _, folder = _fit(tmp_path, 6, Spy())
    assert sorted(set(steps)) == [2, 4]  # the file seen before each step: written at each validation
    assert _step(folder / "last.ckpt") == 6 and _step(folder / "best.ckpt") == 2


def test_last_checkpoint_overwrites_one_file(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "last.ckpt").write_bytes(b"from an earlier run")
    _, folder = _fit(tmp_path, max_steps=4)
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "last.ckpt"]  # no last-v1.ckpt
    assert _step(folder / "last.ckpt") == 4


def test_stale_temporaries_are_removed_and_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / ".tmp-abc123.ckpt").write_bytes(b"half a checkpoint")
    (tmp_path / "last.ckpt").write_bytes(b"kept")
    (tmp_path / ".tmp-notes.txt").write_bytes(b"not ours")
    with caplog.at_level(logging.WARNING, logger="landmarks"):
        removed = remove_stale_temporaries(str(tmp_path))
    assert removed == [str(tmp_path / ".tmp-abc123.ckpt")]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-notes.txt", "last.ckpt"]
    assert any(".tmp-abc123.ckpt" in r.getMessage() and "interrupted" in r.getMessage() for r in caplog.records)
    assert remove_stale_temporaries(str(tmp_path / "missing")) == []


TINY = [
    *SIXTEEN,
    "trainer.enable_progress_bar=false",
    "model.flip_test=false",
    "~callbacks.prediction_panel",
]


@pytest.mark.slow
def test_run_shorter_than_the_validation_interval_keeps_and_evaluates_last(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / ".tmp-k1ll3d.ckpt").write_bytes(b"a write killed by an earlier run")
    cfg = compose_train(*TINY, f"output_dir={tmp_path}", "trainer.max_steps=2", "trainer.val_check_interval=600")
    with caplog.at_level(logging.INFO, logger="landmarks"):
        metrics = run.train(cfg)
    assert sorted(p.name for p in folder.iterdir()) == ["last.ckpt"]  # before: no checkpoint at all
    assert _step(folder / "last.ckpt") == 2 and metrics["global_step"] == 2
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written["checkpoint"] == str(folder / "last.ckpt") and "val/pck" in written
    messages = [r.getMessage() for r in caplog.records]
    assert any(".tmp-k1ll3d.ckpt" in m for m in messages)
    assert f"checkpoints written: best none, last {folder / 'last.ckpt'} (step 2)" in messages
    assert any(
        "no best checkpoint: no validation ran in 2 steps (trainer.val_check_interval=600)" in m for m in messages
    )


def test_training_source_smaller_than_one_batch_is_refused_at_start(tmp_path: Path) -> None:
    cfg = compose_train(*TINY, f"output_dir={tmp_path}", "data.train.num_images=5", "data.batch_size=32")
    with pytest.raises(ValueError) as info:  # raised when the training loader is made, before step 0
        run.train(cfg)
    msg = str(info.value)
    assert "data.train: SyntheticBodySource has 5 samples, fewer than one batch (data.batch_size=32)" in msg
    assert "0 steps" in msg and not (tmp_path / "checkpoints").exists()


def test_mixed_source_smaller_than_its_batch_names_its_key() -> None:
    class Sized:
        def __init__(self, n: int) -> None:
            self.n = n

        def __len__(self) -> int:
            return self.n

    datamodule = LandmarkDataModule(train=Sized(8), mix={"extra": Sized(3)}, batch_size=2, batch_sizes={"extra": 4})
    with pytest.raises(
        ValueError,
        match=r"data\.mix\.extra: Sized has 3 samples, fewer than one batch "
        r"\(data\.batch_sizes\.extra=4\)",
    ):
        datamodule.train_dataloader()
