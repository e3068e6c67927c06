"""Tiny training settings and small helpers shared by the tests that compose the Hydra configs.

``BASE`` is what every such test sets (one thread, the small CPU backbone, CSV logging, 64x64
inputs, no loader workers); ``TINY`` adds a two-step run with quiet logging, ``ONE_STEP`` the
settings of a one-step run. A test with its own needs writes ``[*BASE, ...]`` with its extra
overrides next to it (a later override of the same key wins in Hydra, e.g. ``input_size=[32,32]``).

Helpers: :func:`untrained_checkpoint` writes a model the way training stores it,
:func:`run_script` runs ``scripts/<name>.py`` as a user would, :func:`realdata_root` finds
``../shared/realdata`` and :func:`one_file_data` points a file-based data config at one
annotation file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
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
ONE_STEP = [
    "trainer.max_steps=1",
    "trainer.val_check_interval=1",
    "trainer.enable_progress_bar=false",
    "model.flip_test=false",
]
"""One training step and one validation, no progress bar, no flip test: the runs that check errors and configs."""
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


def untrained_checkpoint(cfg: DictConfig, path: Path) -> Path:
    """The model of ``cfg`` (seed 0, untrained) saved at ``path`` as training writes it: weights + resolved config."""
    import torch

    from landmarks import run

    torch.manual_seed(0)
    model = run.build_model(cfg)
    torch.save({"state_dict": model.state_dict(), "landmarks_config": model.config}, path)
    return path


def run_script(
    script: str, *args: str, env: Mapping[str, str], cwd: Path = REPO, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python scripts/<script>.py *args`` in a fresh process; fails the test (output tails shown) unless it exits 0."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / f"{script}.py"), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (
        f"scripts/{script}.py exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    )
    return proc


def realdata_root() -> Path:
    """The shared real sample data: ``$LANDMARKS_REALDATA`` or ``<repo>/../shared/realdata`` (it may be absent)."""
    env = os.environ.get("LANDMARKS_REALDATA")
    return Path(env) if env else REPO.parent / "shared" / "realdata"


def one_file_data(data: str, folder: Path, ann: Path | str, image_root: bool = True) -> list[str]:
    """Overrides for ``data=<data>`` reading the one annotation file ``ann`` for both splits, images in ``folder``.

    ``image_root=False`` leaves the data config's own image folders (below ``data.root``).
    """
    roots = [f"data.train.image_root={folder}", f"data.val.image_root={folder}"] if image_root else []
    return [f"data={data}", f"data.root={folder}", f"data.train.ann_file={ann}", f"data.val.ann_file={ann}", *roots]
