"""What a checkpoint carries so that a resumed run is the run it continues, bit for bit.

Lightning restores weights, optimizer, scheduler and loop counters. Everything random on top:

* **Data order and augmentation** do not depend on any process's random state at all.
  :class:`SeededShuffle` draws epoch ``e``'s order from ``(seed, e)`` and yields
  ``(index, epoch)`` keys; :class:`~landmarks.data.dataset.TopDownDataset` draws that sample's
  augmentation from ``(seed, epoch, index)``. So a sample looks the same in any worker, with
  0 or 2 workers, persistent or not, and after a restart. The sampler's position (epoch,
  samples handed out) is its ``state_dict``; torchdata's ``StatefulDataLoader`` saves it with
  the batches actually delivered (not the ones its workers prefetched) and Lightning stores the
  loader state in the checkpoint (``loops.fit_loop.state_dict.combined_loader``).
* **The main process's torch / numpy / ``random`` states** (what the model draws: dropout,
  drop-path) are saved by :class:`RngState` and applied again just before the first training
  batch after a resume, so nothing drawn while the loaders restart shifts them.

The synthetic renderers are index-deterministic already (:mod:`landmarks.data.synthetic.common.source`).
Exactness is single-process: under DDP Lightning wraps the sampler in a distributed sampler
that has no state (a resumed DDP run continues, but not bit for bit).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import Sampler

#: a training sample's key: (dataset index, epoch of the draw)
SampleKey = tuple[int, int]


class SeededShuffle(Sampler[SampleKey]):
    """Per-epoch permutation drawn from ``(seed, epoch)``; yields ``(index, epoch)``.

    Each iteration that is started (its first ``next()``) is the next epoch (a ``CombinedLoader``
    restarting a shorter source counts as one). :meth:`state_dict` is the position inside the current epoch, and
    :meth:`load_state_dict` makes the next ``iter()`` continue from it.

    Args:
        size: number of samples in the dataset.
        seed: run seed (``cfg.seed``).
        shuffle: ``False`` keeps ``0..size-1`` in order (still yields ``(index, epoch)``).
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True) -> None:
        self.size = int(size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self._next_epoch = 0  # the epoch the next iter() draws
        self._resume_at = 0  # samples of that epoch already handed out (after load_state_dict)
        self._epoch = -1  # the epoch being drawn
        self._yielded = 0

    def __len__(self) -> int:
        return self.size

    def order(self, epoch: int) -> list[int]:
        """The sample indices of ``epoch`` in drawing order."""
        if not self.shuffle:
            return list(range(self.size))
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))
        return torch.randperm(self.size, generator=generator).tolist()

    def __iter__(self) -> Iterator[SampleKey]:
        return self._draw()

    def _draw(self) -> Iterator[SampleKey]:
        # a generator: the epoch is claimed at the first next(), not by iter(). DataLoader
        # iterators call iter() twice and throw one away; torchdata calls it again on restore.
        epoch, start = self._next_epoch, self._resume_at
        self._next_epoch, self._resume_at = epoch + 1, 0
        self._epoch, self._yielded = epoch, start
        for index in self.order(epoch)[start:]:
            self._yielded += 1
            yield index, epoch

    def state_dict(self) -> dict[str, int]:
        """``{"epoch": e, "yielded": n}``: ``n`` samples of epoch ``e`` handed out."""
        if self._epoch < 0:
            return {"epoch": self._next_epoch, "yielded": self._resume_at}
        return {"epoch": self._epoch, "yielded": self._yielded}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next ``iter()`` continues epoch ``state["epoch"]`` after ``state["yielded"]`` samples."""
        self._next_epoch, self._resume_at = int(state["epoch"]), int(state["yielded"])
        self._epoch, self._yielded = -1, 0


class RngState(pl.Callback):
    """Save the torch / numpy / ``random`` global states with each checkpoint; restore on resume.

    The states are applied when the checkpoint is loaded and once more at the first training
    batch after it, where the uninterrupted run was when it saved (restarting the loaders in
    between must not shift them). The state is plain tensors and lists: checkpoints still
    load with ``torch.load(weights_only=True)``.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        name, keys, pos, has_gauss, gauss = cast(tuple[str, np.ndarray, int, int, float], np.random.get_state())
        version, py_state, py_gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "numpy": {
                "name": name,
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "gauss": float(gauss),
            },
            "python": {"version": version, "state": list(py_state), "gauss": py_gauss},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        _set_rng_states(state)
        self._pending = state

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if self._pending is not None:
            _set_rng_states(self._pending)
            self._pending = None


def _set_rng_states(state: dict[str, Any]) -> None:
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "numpy" in state:
        n = state["numpy"]
        np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    if "python" in state:
        p = state["python"]
        random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
