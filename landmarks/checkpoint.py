"""Checkpoints that survive a kill and load as data.

* :class:`AtomicCheckpointIO` writes to a temporary file in the target folder, flushes and
  fsyncs it, then ``os.replace``-s it over the destination: a reader sees the old file or
  the new one, never half of one.
* :func:`load_checkpoint` always uses ``torch.load(weights_only=True)``: a checkpoint is
  weights + plain config, never pickled code.
* :class:`LastCheckpoint` keeps ``last.ckpt`` the latest state: written at every validation
  and when training ends, whatever the monitored metric does (``best.ckpt`` is a separate
  ``ModelCheckpoint`` with the monitor; conf/callbacks/default.yaml).
* :func:`remove_stale_temporaries` deletes the ``.tmp-*.ckpt`` a killed write left behind.
"""

from __future__ import annotations

import glob
import io
import logging
import os
import tempfile
from typing import Any, cast

import pytorch_lightning as pl
import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO
from pytorch_lightning.callbacks import ModelCheckpoint
from torch import nn

log = logging.getLogger("landmarks")

#: what :func:`atomic_torch_save` names its temporary file
TMP_PREFIX, TMP_SUFFIX = ".tmp-", ".ckpt"


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint file as data (``weights_only=True``), with a clear error."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ckpt: checkpoint file '{path}' does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValueError(
            f"ckpt: '{path}' is not a readable landmarks checkpoint ({type(err).__name__}: {err})"
        ) from err


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` via a temporary file and ``os.replace``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=TMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint I/O with atomic writes and ``weights_only=True`` reads."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str, storage_options: Any = None) -> None:
        atomic_torch_save(checkpoint, str(path))

    def load_checkpoint(self, path: str, map_location: Any = None, weights_only: bool | None = None) -> dict[str, Any]:
        return load_checkpoint(str(path), map_location or "cpu")


def remove_stale_temporaries(folder: str) -> list[str]:
    """Delete the ``.tmp-*.ckpt`` files in ``folder`` (writes killed before their ``os.replace``).

    Call it before training writes checkpoints into ``folder``; a finished write never leaves one.

    Returns:
        The paths removed (each is also logged).
    """
    removed = sorted(glob.glob(os.path.join(glob.escape(folder), f"{TMP_PREFIX}*{TMP_SUFFIX}")))
    for path in removed:
        try:
            os.remove(path)
        except FileNotFoundError:  # another process removed it first
            continue
        log.warning("removed %s: a checkpoint write that was interrupted (killed) before it completed", path)
    return removed


class LastCheckpoint(ModelCheckpoint):
    """``<dirpath>/<filename>.ckpt``: the latest state, at every validation and at the end of training.

    Lightning's ``save_last`` beside a monitor writes ``last.ckpt`` only when the monitored
    metric improves; this callback has no monitor, overwrites one file (no ``-v1`` versions)
    and also saves when training stops between validations (``max_steps``, ``max_time``).

    Args:
        dirpath: checkpoint folder.
        filename: file name without ``.ckpt``.
    """

    def __init__(self, dirpath: str, filename: str = "last") -> None:
        super().__init__(
            dirpath=dirpath,
            filename=filename,
            monitor=None,
            save_top_k=1,
            save_last=False,
            auto_insert_metric_name=False,
            enable_version_counter=False,
        )

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_end(trainer, pl_module)
        if not self._should_skip_saving_checkpoint(trainer):  # skips when this step is saved already
            self._save_none_monitor_checkpoint(trainer, self._monitor_candidates(trainer))

    @property
    def last_path(self) -> str:
        """The file written last ("" before the first save)."""
        return self.best_model_path  # without a monitor, Lightning's "best" is the latest


def written_checkpoints(trainer: pl.Trainer) -> tuple[str, str]:
    """``(best, last)``: the files the trainer's checkpoint callbacks hold ("" where none exists).

    ``best`` comes from a ``ModelCheckpoint`` with a monitor, ``last`` from :class:`LastCheckpoint`
    (or Lightning's ``save_last``).
    """
    best = last = ""
    for cb in trainer.checkpoint_callbacks:
        if isinstance(cb, LastCheckpoint):
            last = last or cb.last_path
        elif isinstance(cb, ModelCheckpoint):
            best = best or (cb.best_model_path if cb.monitor else "")
            last = last or cb.last_model_path
    return (best if os.path.isfile(best) else ""), (last if os.path.isfile(last) else "")


def check_state_dict_fits(path: str, model: nn.Module, ckpt: dict[str, Any] | None = None) -> None:
    """Refuse a checkpoint whose weights do not fit ``model``, naming the first parameter that differs.

    Without this, resuming a body checkpoint under ``task=face`` (or loading a checkpoint whose
    file was swapped) fails in ``load_state_dict`` with a wall of key names and no file name.

    Args:
        path: the checkpoint file (read when ``ckpt`` is not given).
        model: the model the weights are meant for.
        ckpt: the already loaded checkpoint dict.

    Raises:
        ValueError: naming the file, the model's tasks (layout, K), the checkpoint's tasks and the
            first mismatching parameter with its checkpoint and model shapes.
    """
    ckpt = load_checkpoint(path) if ckpt is None else ckpt
    state = ckpt.get("state_dict")
    if not isinstance(state, dict):
        raise ValueError(f"ckpt: '{path}' has no 'state_dict' entry (a dict of weights); got {type(state).__name__}")
    own = model.state_dict()
    problem = None
    for name, tensor in own.items():
        if name not in state:
            problem = f"parameter '{name}' (model shape {tuple(tensor.shape)}) is missing from the checkpoint"
        elif tuple(getattr(state[name], "shape", ())) != tuple(tensor.shape):
            problem = (
                f"parameter '{name}' has shape {tuple(getattr(state[name], 'shape', ()))} in the checkpoint "
                f"but {tuple(tensor.shape)} in the model"
            )
        if problem:
            break
    extra = next((n for n in state if n not in own), None)
    if problem is None and extra is None:
        return
    if extra is not None:
        has = f"parameter '{extra}' (shape {tuple(getattr(state[extra], 'shape', ()))}) that the model lacks"
        problem = f"{problem}, and the checkpoint has {has}" if problem else f"the checkpoint has {has}"
    stored = ckpt.get("landmarks_config") or {}
    theirs = ", ".join(f"'{n}'" for n in stored.get("tasks") or {}) or "unknown (no landmarks_config)"
    raise ValueError(
        f"ckpt: '{path}' does not fit the model of task(s) {describe_tasks(model)}: {problem}. "
        f"The checkpoint was trained for task(s) {theirs}"
        + (f" (task_name '{stored['task_name']}')" if stored.get("task_name") else "")
        + "; choose the task it was trained with, or another checkpoint"
    )


def describe_tasks(model: nn.Module) -> str:
    """``'face' (layout 'ibug68', K=68), 'head_pose'``: a model's tasks with their keypoint layouts."""
    parts = []
    tasks = cast(nn.ModuleDict, model.tasks)  # a LandmarkModule's task dict (nn.Module types attributes loosely)
    for name, task in tasks.items():
        spec = getattr(task, "spec", None)
        parts.append(f"'{name}'" + (f" (layout '{spec.name}', K={spec.num_keypoints})" if spec is not None else ""))
    return ", ".join(parts)
