"""LandmarkDataModule: sources -> TopDownDataset -> DataLoaders.

Sources (readers in :mod:`landmarks.data.formats`, renderers in
:mod:`landmarks.data.synthetic`) are built by Hydra and handed in; codecs come from the
tasks (:meth:`LandmarkDataModule.attach`), so the data side encodes with the very object
the task decodes with.

Several training sources can be mixed (DESIGN.md, "Module"): ``mix={name: source}`` adds
sources beside ``train`` (named ``"train"``). Each step then draws one batch from every source (Lightning's
``CombinedLoader``, mode ``max_size_cycle``: the shorter sources restart until the longest is
exhausted), the model runs the backbone once per source batch, and each task's loss masks
the samples whose labels that source lacks (no euler: pose weight 0; no landmarks: weight 0).

Training loaders are torchdata ``StatefulDataLoader`` s over :class:`landmarks.resume.SeededShuffle`:
order and augmentation come from ``(seed, epoch, index)`` and the position is saved in every
checkpoint, so a run resumed mid-epoch is the uninterrupted run bit for bit (:mod:`landmarks.resume`).
Training drops the last incomplete batch; a training source smaller than one batch would train
0 steps, so it is refused when the training loaders are made (before the first step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.combined_loader import CombinedLoader
from torch.utils.data import DataLoader
from torchdata.stateful_dataloader import StatefulDataLoader

from landmarks.data.dataset import TopDownDataset
from landmarks.data.transforms import TopDownTransform
from landmarks.resume import SeededShuffle

TransformFactory = Callable[..., Any]
DatasetFactory = Callable[..., TopDownDataset]


class LandmarkDataModule(pl.LightningDataModule):
    """Train/val data: one validation source, one training source or several mixed.

    Args:
        train: training source (or ``None`` for evaluation-only use).
        mix: optional ``{name: source}`` trained beside ``train``: every step takes one batch
            from each (names must differ from ``"train"``).
        val: validation source.
        augment: factory ``augment(input_size=, train=, udp=)`` for the transform (train side);
            evaluation uses the same factory with ``train=False``.
        dataset: factory ``dataset(source, transform, codecs, on_bad_sample, seed=)``: the top-down
            :class:`TopDownDataset` (one instance per sample), or the full-frame
            :class:`landmarks.data.detection.DetectionDataset` of detection tasks.
        batch_size: training batch size (per process and per source).
        batch_sizes: optional ``{name: batch size}`` overriding ``batch_size`` per training
            source (``"train"`` and the ``mix`` names).
        val_batch_size: evaluation batch size.
        num_workers: DataLoader worker processes.
        on_bad_sample: ``"error"`` or ``"skip"``.
        monitor: the metric this data's protocol is judged by (``val/ap`` for COCO-style data).
        root: dataset root folder; only used by config interpolation (``${data.root}/...``).
        seed: seeds training order and augmentation; ``None``: ``torch.initial_seed()`` when the
            loaders are made (the run's ``seed``, set by ``seed_everything``).

    Raises:
        ValueError: (``train_dataloader``) a training source has fewer samples than one batch: it
            would train 0 steps.
    """

    def __init__(
        self,
        train: Any = None,
        val: Any = None,
        mix: Mapping[str, Any] | None = None,
        augment: TransformFactory = TopDownTransform,
        dataset: DatasetFactory = TopDownDataset,
        batch_size: int = 32,
        batch_sizes: Mapping[str, int] | None = None,
        val_batch_size: int = 64,
        num_workers: int = 2,
        on_bad_sample: str = "error",
        monitor: str | None = None,
        root: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.train_source = train
        self.val_source = val
        self.mix = dict(mix or {})
        if "train" in self.mix:
            raise ValueError("data.mix: the name 'train' is taken by data.train; choose another source name")
        if self.mix and train is None:
            raise ValueError("data.mix is set but data.train is not; mixed sources train beside data.train")
        self.augment = augment
        self.dataset_factory = dataset
        self.batch_size = batch_size
        self.batch_sizes = dict(batch_sizes or {})
        unknown = set(self.batch_sizes) - set(self.train_sources)
        if unknown:
            raise ValueError(
                f"data.batch_sizes names {sorted(unknown)}, which are not training sources; "
                f"expected some of {sorted(self.train_sources)}"
            )
        self.val_batch_size = val_batch_size
        self.num_workers = num_workers
        self.on_bad_sample = on_bad_sample
        self.monitor = monitor
        self.root = root
        self.seed = seed
        self.codecs: dict[str, Any] = {}
        self._train_datasets: dict[str, TopDownDataset] = {}

    def _check_one_batch(self, name: str, source: Any) -> None:
        size, batch = len(source), self.batch_sizes.get(name, self.batch_size)
        if 0 < size < batch:
            where = "data.train" if name == "train" else f"data.mix.{name}"
            key = f"data.batch_sizes.{name}" if name in self.batch_sizes else "data.batch_size"
            raise ValueError(
                f"{where}: {type(source).__name__} has {size} samples, fewer than one batch ({key}={batch}); "
                f"training drops the incomplete last batch, so it would train 0 steps. "
                f"Set {key} to at most {size} or add samples"
            )

    def attach(self, codecs: Mapping[str, Any]) -> None:
        """Give the data side the tasks' codecs (all must share one input size)."""
        sizes = {tuple(c.input_size) for c in codecs.values()}
        if len(sizes) != 1:
            raise ValueError(f"all tasks of one model must share the input size; codecs have {sorted(sizes)}")
        self.codecs = dict(codecs)

    @property
    def train_sources(self) -> dict[str, Any]:
        """``{name: source}`` of the training sources (``{"train": source}`` for a single one)."""
        if self.train_source is None:
            return {}
        return {"train": self.train_source, **self.mix}

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(next(iter(self.codecs.values())).input_size)  # type: ignore[return-value]

    def _seed(self, stream: int) -> int:
        """The seed of training source number ``stream`` (0: ``train``), so sources augment independently."""
        seed = int(self.seed) if self.seed is not None else torch.initial_seed()
        return seed if stream == 0 else int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])

    def _dataset(self, source: Any, train: bool, seed: int = 0) -> TopDownDataset:
        if not self.codecs:
            raise RuntimeError("LandmarkDataModule.attach(codecs) must be called before building datasets")
        udp = any(getattr(c, "udp", False) for c in self.codecs.values())
        transform = self.augment(input_size=self.input_size, train=train, udp=udp)
        return self.dataset_factory(source, transform, self.codecs, self.on_bad_sample, seed=seed)

    def _train_loader(self, name: str, stream: int) -> StatefulDataLoader:
        """A resumable loader: seeded order + augmentation, position saved in the checkpoint."""
        seed = self._seed(stream)
        dataset = self._dataset(self.train_sources[name], train=True, seed=seed)
        self._train_datasets[name] = dataset
        return StatefulDataLoader(
            dataset,
            batch_size=self.batch_sizes.get(name, self.batch_size),
            sampler=SeededShuffle(len(dataset), seed),
            drop_last=True,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=partial(_limit_threads),
            generator=torch.Generator().manual_seed(seed),  # worker seeds: not from the global generator
        )

    def train_dataloader(self) -> StatefulDataLoader | CombinedLoader:
        if self.train_source is None:
            raise ValueError("data.train is not set: no training source configured")
        for name, source in self.train_sources.items():
            self._check_one_batch(name, source)
        if not self.mix:
            return self._train_loader("train", 0)
        loaders = {name: self._train_loader(name, k) for k, name in enumerate(self.train_sources)}
        return CombinedLoader(loaders, mode="max_size_cycle")

    def val_dataloader(self) -> DataLoader:
        if self.val_source is None:
            raise ValueError("data.val is not set: no validation source configured")
        return DataLoader(
            self._dataset(self.val_source, train=False),
            batch_size=self.val_batch_size,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            worker_init_fn=partial(_limit_threads),
            generator=torch.Generator().manual_seed(0),  # leaves the global generator to the model
        )

    def skipped_samples(self) -> dict[str, list[int]]:
        """``{source name: dataset indices}`` of training samples found bad so far, in every process."""
        return {name: ds.skipped_indices() for name, ds in self._train_datasets.items() if ds.skipped_indices()}


def _limit_threads(_worker_id: int) -> None:
    """Workers render and warp images: OpenCV runs sequentially in each (no thread pool).

    ``cv2.setNumThreads(0)`` disables OpenCV's pool. ``setNumThreads(1)`` (and a second
    ``torch.set_num_threads``; torch already gives workers one thread) can deadlock in a
    forked worker whose parent had already used the pool.
    """
    import cv2

    cv2.setNumThreads(0)
