"""Learning-rate schedules stepped once per optimizer step.

:class:`WarmupCosine`: linear warm-up then cosine decay to ``min_ratio`` of the base rate
(Loshchilov & Hutter, SGDR, ICLR 2017, without restarts; Goyal et al. 2017 warm-up).
``total_steps`` is filled in by the module from the trainer's step budget.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


class WarmupCosine(LambdaLR):
    """Linear warm-up over ``warmup_steps``, cosine decay until ``total_steps``.

    Args:
        optimizer: the optimizer.
        total_steps: steps of the whole run.
        warmup_steps: warm-up steps (a value below 1 is a fraction of ``total_steps``).
        min_ratio: final learning rate as a fraction of the base rate.
    """

    def __init__(
        self, optimizer: Optimizer, total_steps: int, warmup_steps: float = 0.05, min_ratio: float = 0.01
    ) -> None:
        self.total_steps = max(int(total_steps), 1)
        self.warmup_steps = int(warmup_steps * self.total_steps) if warmup_steps < 1 else int(warmup_steps)
        self.min_ratio = min_ratio
        super().__init__(optimizer, self._factor)

    def _factor(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        progress = min((step - self.warmup_steps) / max(self.total_steps - self.warmup_steps, 1), 1.0)
        return self.min_ratio + (1 - self.min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

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
        self._last_lr = [base * self._factor(self.last_epoch) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr
