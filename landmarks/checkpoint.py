"""Checkpoints that survive a kill and load as data.

* :class:`AtomicCheckpointIO` writes to a temporary file in the target folder, flushes and
  fsyncs it, then ``os.replace``-s it over the destination: a reader sees the old file or
  the new one, never half of one.
* :func:`load_checkpoint` always uses ``torch.load(weights_only=True)``: a checkpoint is
  weights + plain config, never pickled code.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import torch
from lightning_fabric.plugins.io.torch_io import TorchCheckpointIO


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint file as data (``weights_only=True``), with a clear error."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"ckpt: checkpoint file '{path}' does not exist")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise ValueError(f"ckpt: '{path}' is not a readable landmarks checkpoint ({type(err).__name__}: {err})") from err


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` via a temporary file and ``os.replace``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".ckpt", dir=folder)
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
