"""Sweeps and readable runs: the sweeper's objective, the launchers (optuna + joblib, submitit local), --help speed.

The slow tests run ``scripts/train.py -m`` as a user would, with tiny settings, and read each
job's metric back from its ``metrics.json`` and from what the sweeper / launcher recorded.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import pickle
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import yaml

from landmarks import cli, logs
from tests.tiny import REPO, run_script

TINY = [
    "threads=1",
    "backbone=resnet18",
    "logger=csv",
    "input_size=[64,64]",
    "data.batch_size=4",
    "data.val_batch_size=8",
    "trainer.max_steps=2",
    "trainer.val_check_interval=2",
    "trainer.log_every_n_steps=1",
    "+trainer.enable_model_summary=false",
    "data.train.num_images=16",
    "data.val.num_images=8",
]


def _train(*args: str, timeout: int = 400) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    return run_script("train", *args, env=env, timeout=timeout)


# --- objective and direction --------------------------------------------------------------------
def test_objective_is_the_monitored_metric_and_direction_follows_monitor_mode() -> None:
    metrics = {"val/pck": 0.25, "val/nme": 0.0625, "global_step": 2.0}
    assert cli.objective(metrics, "val/pck", "max") == 0.25
    assert cli.objective(metrics, "val/nme", "min") == 0.0625
    assert cli.sweep_direction("max") == "maximize" and cli.sweep_direction("min") == "minimize"
    # a diverged run ranks last in either direction
    assert cli.objective({"val/nme": float("nan")}, "val/nme", "min") == math.inf
    assert cli.objective({"val/pck": float("nan")}, "val/pck", "max") == -math.inf
    with pytest.raises(
        KeyError, match=r"'val/ap' is not among the run's metrics \['global_step', 'val/nme', 'val/pck'\]"
    ):
        cli.objective(metrics, "val/ap", "max")
    with pytest.raises(ValueError, match="monitor_mode: expected 'max' or 'min', got 'up'"):
        cli.sweep_direction("up")


def test_check_missing_names_every_unset_key() -> None:
    config = {
        "data": {"root": "???", "train": {"ann_file": "${data.root}/a.json"}},
        "spec_file": "???",
        "tasks": {"x": {"points": [1, "???"]}},
        "seed": 1,
    }
    with pytest.raises(ValueError, match=r"'data.root', 'spec_file', 'tasks.x.points\[1\]' have no value"):
        cli.check_missing(config)
    cli.check_missing({"data": {"root": "/data"}})  # nothing missing: no error


def _start_method_in_loky_worker() -> tuple[str | None, str | None, str | None]:
    before = multiprocessing.get_start_method(allow_none=True)
    restored = cli.restore_start_method()
    return before, restored, multiprocessing.get_start_method(allow_none=True)


def test_loky_worker_gets_the_platform_start_method_back() -> None:
    from joblib import Parallel, delayed

    ((before, restored, after),) = Parallel(n_jobs=2, backend="loky")(
        delayed(_start_method_in_loky_worker)() for _ in range(1)
    )
    standard = multiprocessing.get_all_start_methods()[0]
    assert before == "loky"  # what loky leaves: torch's DataLoader workers cannot start with it
    assert restored == after == standard
    assert cli.restore_start_method() is None  # in a normal process nothing changes


# --- readable runs ------------------------------------------------------------------------------
def test_known_warnings_filtered_others_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        monkeypatch.setattr(logs, "_installed", False)
        logs.quiet_known_warnings()
        warnings.warn("Got processor for keypoints, but no transform to process it.", UserWarning, stacklevel=2)
        warnings.warn("'set_vital' is deprecated, please do not call", UserWarning, stacklevel=2)
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning, stacklevel=2)
        warnings.warn("something this project should hear about", UserWarning, stacklevel=2)
    assert [str(w.message) for w in seen] == ["something this project should hear about"]


def test_lightning_product_tip_dropped(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "_installed", False)
    logs.quiet_known_warnings()
    logger = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    with caplog.at_level(logging.INFO, logger="pytorch_lightning.utilities.rank_zero"):
        logger.info("💡 Tip: For seamless cloud logging ...")
        logger.info("`Trainer.fit` stopped: `max_steps=2` reached.")
    assert [r.getMessage() for r in caplog.records] == ["`Trainer.fit` stopped: `max_steps=2` reached."]


def test_progress_bar_on_terminal_log_lines_otherwise() -> None:
    assert logs.progress_callbacks(True, 20, terminal=True) == (True, [])
    assert logs.progress_callbacks(False, 20, terminal=False) == (False, [])
    bar, callbacks = logs.progress_callbacks(True, 20, terminal=False)
    assert bar is False and len(callbacks) == 1 and callbacks[0].every_n_steps == 20
    line = callbacks[0].line(step=100, max_steps=400, outputs={"loss": 0.5}, elapsed=50.0)
    # 100 steps in 50 s = 2 steps/s; 300 left -> 150 s
    assert line == "step 100/400 | loss 0.5 | 2.00 steps/s | eta 2m30s"
    # trainer.max_time with 60 s left ends the run before the 300 steps
    line = callbacks[0].line(step=100, max_steps=400, outputs={"loss": 0.5}, elapsed=50.0, time_left=60.0)
    assert line.endswith("| eta 1m00s (max_time)")
    with pytest.raises(ValueError, match="every_n_steps must be >= 1"):
        logs.ProgressLog(0)


def test_help_answers_before_heavy_imports() -> None:
    code = (
        "import runpy, sys; sys.argv = ['train.py', '--help']\n"
        "try:\n    runpy.run_path('scripts/train.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'pytorch_lightning', 'timm') if m in sys.modules))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]
    assert "slurm_ddp" in out.stdout  # the config groups are listed (trainer: ..., slurm_ddp)
    assert elapsed < 10, elapsed  # 1.5 s of CPU here; generous for a loaded machine


# --- real sweeps --------------------------------------------------------------------------------
@pytest.mark.slow
def test_optuna_study_through_joblib_with_data_workers(tmp_path: Path) -> None:
    """2 optuna trials launched by joblib side by side, each with 2 DataLoader workers."""
    _train(
        "-m",
        "hydra/sweeper=landmarks_optuna",
        "hydra/launcher=joblib_local",
        f"hydra.sweep.dir={tmp_path}",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.n_jobs=2",
        "hydra.launcher.n_jobs=2",
        "hydra.sweeper.params={optimizer.lr: 'tag(log, interval(1e-4, 3e-3))'}",
        "data.num_workers=2",
        *TINY,
    )
    values = []
    for job in ("0", "1"):
        metrics = json.loads((tmp_path / job / "metrics.json").read_text())
        assert metrics["global_step"] == 2
        values.append(metrics["val/pck"])
    result = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    assert result["best_value"] == pytest.approx(max(values))  # task=body: val/pck, maximised
    assert set(result["best_params"]) == {"optimizer.lr", "tasks.body.codec.sigma"}


@pytest.mark.slow
def test_submitit_local_job(tmp_path: Path) -> None:
    _train(
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=5",
        f"hydra.sweep.dir={tmp_path}",
        "data.num_workers=0",
        *TINY,
    )
    metrics = json.loads((tmp_path / "0" / "metrics.json").read_text())
    (result,) = (tmp_path / ".submitit").glob("*/*_0_result.pkl")
    status, job_return = pickle.loads(result.read_bytes())
    assert status == "success"
    assert job_return.return_value == pytest.approx(metrics["val/pck"])  # what the launcher hands a sweeper
