"""Learning-rate schedules stepped once per optimizer step.

:class:`WarmupCosine`: linear warm-up then cosine decay to ``min_ratio`` of the base rate
(Loshchilov & Hutter, SGDR, ICLR 2017, without restarts; Goyal et al. 2017 warm-up).
``total_steps`` is filled in by the module from the trainer's step budget.

:class:`AnnealByMaxTime`: a callback that makes the schedule follow ``trainer.max_time`` as well
(the ``time`` argument of ultralytics): the schedule's position is the later of the step count and
the elapsed share of the time budget, so a run stopped by the time budget ends annealed on any
machine, however many steps it managed. Without the callback, or with time to spare, the schedule is
the plain step schedule.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Timer
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

log = logging.getLogger("landmarks")


class WarmupCosine(LambdaLR):
    """Linear warm-up over ``warmup_steps``, cosine decay until ``total_steps``.

    Args:
        optimizer: the optimizer.
        total_steps: steps of the whole run.
        warmup_steps: warm-up steps (a value below 1 is a fraction of ``total_steps``).
        min_ratio: final learning rate as a fraction of the base rate.

    ``time_progress`` (0 .. 1, set by :class:`AnnealByMaxTime`) is the elapsed share of a time
    budget: the schedule stands at step ``max(step, time_progress * total_steps)``.
    """

    time_progress: float = 0.0

    def __init__(
        self, optimizer: Optimizer, total_steps: int, warmup_steps: float = 0.05, min_ratio: float = 0.01
    ) -> None:
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps * self.total_steps) if warmup_steps < 1 else int(warmup_steps)
        self.min_ratio = min_ratio
        super().__init__(optimizer, self._factor)

    def _factor(self, step_count: int) -> float:
        step = max(float(step_count), self.time_progress * self.total_steps)  # fractional once the time budget leads
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min((step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 1.0)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    def follow_time(self, progress: float) -> None:
        """Set ``time_progress`` and the learning rates of the step about to run from it (no one-step lag, also on resume)."""
        self.time_progress = float(progress)
        self._last_lr = [base * self._factor(self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    #: attributes set from the config, not progress: a resumed run takes them from its own config
    _CONFIG_KEYS = ("total_steps", "warmup_steps", "min_ratio")

    def state_dict(self) -> dict:
        """The position in the schedule as plain data (``last_epoch``, ``_step_count``, ``base_lrs``, ...).

        No bound method, so checkpoints load with ``weights_only=True``; no config-derived
        attribute, so resuming with a larger ``trainer.max_steps`` follows the new horizon.
        """
        skip = ("lr_lambdas", *self._CONFIG_KEYS)
        return {k: v for k, v in super().state_dict().items() if k not in skip}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the position; accepts states with or without ``lr_lambdas`` / config keys."""
        state = {k: v for k, v in state_dict.items() if k not in self._CONFIG_KEYS}
        state["lr_lambdas"] = [None] * len(self.lr_lambdas)  # the factor is a method, nothing to restore
        super().load_state_dict(state)
        # the optimizer's restored lr belongs to the saved horizon; use this run's schedule
        self.follow_time(self.time_progress)


class AnnealByMaxTime(pl.Callback):
    """Moves every :class:`WarmupCosine` schedule on with the elapsed share of ``trainer.max_time`` (module docstring).

    Before each training step the schedule's ``time_progress`` becomes ``elapsed / max_time``, the
    elapsed time being the trainer's :class:`~pytorch_lightning.callbacks.Timer` count (training and
    validation since the fit started, carried over on resume). The Timer stops the run at ``max_time``
    with a last validation, by then at the schedule's end. Logs once when time starts to lead, and at
    the start when there is no ``max_time`` to follow (then the schedule is the step schedule).
    """

    def __init__(self) -> None:
        self._leading = False

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if max_time_timer(trainer) is None:
            log.info(
                "AnnealByMaxTime: trainer.max_time is not set, so the learning-rate schedule follows the steps only"
            )
        elif not any(isinstance(c.scheduler, WarmupCosine) for c in trainer.lr_scheduler_configs):
            log.warning(
                "AnnealByMaxTime: no WarmupCosine schedule in this run (config 'scheduler'): nothing follows max_time"
            )

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        timer = max_time_timer(trainer)
        if timer is None:
            return
        elapsed, remaining = timer.time_elapsed(), timer.time_remaining() or 0.0
        progress = min(elapsed / max(elapsed + remaining, 1e-9), 1.0)
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if not isinstance(scheduler, WarmupCosine):
                continue
            scheduler.follow_time(progress)
            if not self._leading and progress * scheduler.total_steps > trainer.global_step + 1:
                self._leading = True
                log.info(
                    "the time budget leads the schedule from step %d of %d (%.0f s of %.0f s): the learning rate now "
                    "follows the elapsed time (AnnealByMaxTime)",
                    trainer.global_step,
                    scheduler.total_steps,
                    elapsed,
                    elapsed + remaining,
                )


def max_time_timer(trainer: pl.Trainer) -> Timer | None:
    """The trainer's Timer with a duration (Lightning adds one for ``max_time``), or ``None``."""
    return next((c for c in trainer.callbacks if isinstance(c, Timer) and c.time_remaining() is not None), None)  # type: ignore[attr-defined]
