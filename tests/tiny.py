"""Tiny training settings shared by the tests that compose the Hydra configs in process.

``BASE`` is what every such test sets (one thread, the small CPU backbone, CSV logging, 64x64
inputs, no loader workers); ``TINY`` adds a two-step run with quiet logging. A test with its own
needs writes ``[*BASE, ...]`` with its extra overrides next to it (a later override of the same key
wins in Hydra, e.g. ``input_size=[32,32]``).
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra import initialize_config_dir
from omegaconf import DictConfig

REPO = Path(__file__).resolve().parents[1]
CONF = REPO / "conf"
BASE = ["threads=1", "backbone=resnet18", "logger=csv", "input_size=[64,64]", "data.num_workers=0"]
QUIET = ["trainer.log_every_n_steps=1", "trainer.enable_progress_bar=false", "+trainer.enable_model_summary=false"]
TINY = [
    *BASE,
    "data.batch_size=4",
    "data.val_batch_size=8",
    "trainer.max_steps=2",
    "trainer.val_check_interval=2",
    *QUIET,
]
SIXTEEN = [
    *BASE,
    "input_size=[32,32]",
    "data.batch_size=4",
    "data.val_batch_size=8",
    "data.train.num_images=16",
    "data.val.num_images=8",
]
"""16 training images of 32x32 in batches of 4 (4 steps an epoch), 8 validation images: the
checkpoint and resume runs."""


def compose(config: str, *overrides: str) -> DictConfig:
    """``conf/<config>.yaml`` composed with ``overrides`` (no Hydra app needed)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra.compose(config, overrides=list(overrides))


def compose_train(out: Path, *overrides: str, tiny: list[str] = TINY) -> DictConfig:
    """The train config with ``tiny`` settings, ``output_dir=out`` and then ``overrides``."""
    return compose("train", *tiny, f"output_dir={out}", *overrides)
