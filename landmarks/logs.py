"""Readable runs: known third-party noise filtered in one place, and progress that suits the output.

Two things make a captured log (a file, a cluster job, CI) hard to read: a progress bar that
redraws itself thousands of times into one line, and the same third-party warnings in every run.

* :func:`quiet_known_warnings` filters, once per process, the warnings listed in
  :data:`KNOWN_WARNINGS`: each was seen in a short ``scripts/train.py`` run here, each is about a
  library's own internals and nothing a user of this project can act on. Anything else still
  shows. DataLoader workers started by ``fork`` inherit the filters; the variable
  ``PYTHONWARNINGS`` is not touched.
* :func:`progress_callbacks` keeps Lightning's progress bar on a terminal and replaces it with
  :class:`ProgressLog` (one log line every N steps) when stderr is not a terminal.

To silence another warning, add ``(category, message regex)`` to :data:`KNOWN_WARNINGS` with the
library and the reason in a comment. Entry points import this module only once the config is
composed and checked (:mod:`landmarks.cli`), so its Lightning import costs ``--help`` nothing.
:func:`landmarks.run.train` applies both.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import Any

from pytorch_lightning import Callback

from landmarks.schedulers import max_time_timer

log = logging.getLogger("landmarks")

#: ``(category, regex on the start of the message)`` of warnings that say nothing to a user.
KNOWN_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    # albumentations: Compose with KeypointParams but an empty transform list (validation: crop only)
    (UserWarning, r"Got processor for keypoints, but no transform to process it"),
    # torchdata's StatefulDataLoader calls torch.set_vital, deprecated in torch
    (UserWarning, r"'set_vital' is deprecated"),
    # pytorch_lightning.utilities._pytree still builds torch's deprecated LeafSpec
    (FutureWarning, r"`isinstance\(treespec, LeafSpec\)` is deprecated"),
    # Lightning's advice when the DataLoader has fewer workers than CPUs: workers are set by data.num_workers
    (UserWarning, r"The '\w+_dataloader' does not have many workers"),
    # Lightning's advice to sync epoch-level values across processes: the val/<metric> values are computed
    # from rows the metric objects already gathered from every process (landmarks/module.py)
    (UserWarning, r"It is recommended to use `self.log\('val/(?!.*/loss)"),
)

#: Start of Lightning info lines that advertise a product rather than report on the run.
KNOWN_INFO = ("💡 Tip:",)

_installed = False


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(KNOWN_INFO)


def quiet_known_warnings() -> None:
    """Filter :data:`KNOWN_WARNINGS` and Lightning's product tips in this process (idempotent)."""
    global _installed
    if _installed:
        return
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    for name in ("pytorch_lightning.utilities.rank_zero", "lightning_fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_DropAdvice())
    _installed = True


def on_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default ``sys.stderr``, where Lightning draws its bar) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress_callbacks(
    enable_progress_bar: bool, every_n_steps: int, terminal: bool | None = None
) -> tuple[bool, list[Callback]]:
    """Progress for a trainer: Lightning's bar on a terminal, a :class:`ProgressLog` line every N steps otherwise.

    Args:
        enable_progress_bar: the config's ``trainer.enable_progress_bar`` (false: neither bar nor lines).
        every_n_steps: steps between two log lines off a terminal (``trainer.log_every_n_steps``).
        terminal: whether the output is a terminal (default: :func:`on_terminal`).

    Returns:
        ``(enable_progress_bar, callbacks)`` to give the ``Trainer``.
    """
    terminal = on_terminal() if terminal is None else terminal
    if not enable_progress_bar or terminal:
        return bool(enable_progress_bar), []
    return False, [ProgressLog(max(1, int(every_n_steps)))]


class ProgressLog(Callback):
    """One log line every ``every_n_steps`` training steps: step, max steps, loss, steps/s, ETA.

    Args:
        every_n_steps: steps between lines (>= 1).
    """

    def __init__(self, every_n_steps: int = 50) -> None:
        if every_n_steps < 1:
            raise ValueError(f"ProgressLog: every_n_steps must be >= 1, got {every_n_steps}")
        self.every_n_steps = int(every_n_steps)
        self._t0: float | None = None
        self._step0 = 0

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._t0, self._step0 = time.monotonic(), int(trainer.global_step)

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        step = int(trainer.global_step)
        if step % self.every_n_steps or not trainer.is_global_zero:
            return
        timer = max_time_timer(trainer)
        time_left = timer.time_remaining() if timer is not None else None
        elapsed = time.monotonic() - (self._t0 or time.monotonic())
        log.info("%s", self.line(step, int(trainer.max_steps), outputs, elapsed, time_left))

    def line(self, step: int, max_steps: int, outputs: Any, elapsed: float, time_left: float | None = None) -> str:
        """``step 100/3600 | loss 0.0123 | 4.1 steps/s | eta 14m12s``; the ETA is ``time_left`` (the rest of
        ``trainer.max_time``) when that comes first, marked ``(max_time)``."""
        parts = [f"step {step}/{max_steps}" if max_steps > 0 else f"step {step}"]
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:
            try:
                parts.append(f"loss {float(loss):.4g}")
            except (TypeError, ValueError):
                pass
        done = step - self._step0
        if elapsed > 0 and done > 0:
            rate = done / elapsed
            parts.append(f"{rate:.2f} steps/s")
            by_steps = (max_steps - step) / rate if max_steps > step else None
            if time_left is not None and (by_steps is None or time_left < by_steps):
                eta = max(int(time_left), 0)
                parts.append(f"eta {eta // 60}m{eta % 60:02d}s (max_time)")
            elif by_steps is not None:
                eta = int(by_steps)
                parts.append(f"eta {eta // 60}m{eta % 60:02d}s")
        return " | ".join(parts)
