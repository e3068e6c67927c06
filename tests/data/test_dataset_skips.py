"""``on_bad_sample=skip`` in TopDownDataset: each bad sample logged once per process, all skips counted.

With DataLoader workers every process has its own copy of the dataset: logging "once" can only
mean once per process (each warning says which process), and the main process learns about the
workers' skips through memory shared with them (:meth:`TopDownDataset.skipped_indices`).
The worker processes' warnings are collected through a file handler they inherit.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from torch.utils.data import DataLoader

from landmarks.codecs.coords import CoordinateCodec
from landmarks.data.dataset import TopDownDataset
from landmarks.data.transforms import TopDownTransform
from landmarks.layouts.face import ibug68

N = 8
BAD = 5


class BadAtSource:
    """Eight small faces; ``__getitem__(BAD)`` raises like a reader whose image cannot be decoded."""

    spec = ibug68()

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> dict[str, Any]:
        if i == BAD:
            raise ValueError(f"/data/img_{i:03d}.jpg: field 'image': expected a decodable image, got 7 bytes")
        t = np.linspace(0, 2 * np.pi, 68, endpoint=False)
        kpts = np.stack([40 + 15 * np.cos(t), 40 + 20 * np.sin(t)], 1).astype(np.float32)
        return {
            "image": np.full((80, 80, 3), 100, np.uint8),
            "keypoints": kpts,
            "visible": np.full(68, 2.0, np.float32),
            "bbox": np.array([20, 15, 40, 50], np.float32),
            "image_id": i,
        }


class SubstitutingSource(BadAtSource):
    """A reader that skips ``BAD`` itself (like ``BadSamplePolicy``): returns the next instance and counts it."""

    def __init__(self) -> None:
        self.skipped = 0
        self.unloadable: set[int] = set()

    @property
    def skipped_counts(self) -> dict[str, int]:
        return {"bad_sample": self.skipped}

    def __getitem__(self, i: int) -> dict[str, Any]:
        if i == BAD:
            if i not in self.unloadable:
                self.unloadable.add(i)
                self.skipped += 1
            i += 1
        return super().__getitem__(i)


def _dataset(source: Any) -> TopDownDataset:
    return TopDownDataset(
        source, TopDownTransform((32, 32), train=True), {"face": CoordinateCodec((32, 32))}, on_bad_sample="skip"
    )


def _epochs(dataset: TopDownDataset, workers: int, epochs: int) -> list[int]:
    loader = DataLoader(dataset, batch_size=2, shuffle=True, num_workers=workers, persistent_workers=workers > 0)
    seen = []
    for _ in range(epochs):
        for batch in loader:
            seen += batch["meta"]["index"].tolist()
    return seen


@pytest.fixture()
def warnings_file(tmp_path: Path) -> Path:
    """Warnings of ``landmarks.data`` from every process (forked workers inherit the handler)."""
    path = tmp_path / "warnings.log"
    handler = logging.FileHandler(path)
    logger = logging.getLogger("landmarks.data")
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_bad_sample_is_logged_once_in_the_main_process_over_three_epochs(warnings_file: Path) -> None:
    dataset = _dataset(BadAtSource())
    seen = _epochs(dataset, workers=0, epochs=3)
    lines = warnings_file.read_text().splitlines()
    assert len(lines) == 1, lines  # before: one warning per epoch
    assert "skipping sample 5 of BadAtSource (main process" in lines[0] and "/data/img_005.jpg" in lines[0]
    assert BAD not in seen and seen.count(BAD + 1) == 6  # replaced by the next sample, every epoch
    assert dataset.skipped_indices() == [BAD]


@pytest.mark.slow
def test_workers_log_once_each_and_the_main_process_counts_their_skips(warnings_file: Path) -> None:
    dataset = _dataset(BadAtSource())
    _epochs(dataset, workers=2, epochs=3)
    lines = warnings_file.read_text().splitlines()
    assert 1 <= len(lines) <= 2, lines  # at most once per worker (before: once per epoch)
    processes = [line.split("(")[1].split(";")[0] for line in lines]
    assert len(set(processes)) == len(processes) and all(p in ("worker 0", "worker 1") for p in processes), lines
    assert all("/data/img_005.jpg" in line for line in lines)
    assert dataset.skipped_indices() == [BAD]  # seen by the main process, though only workers skipped


@pytest.mark.slow
def test_skips_made_inside_the_reader_by_workers_reach_the_main_process() -> None:
    source = SubstitutingSource()
    dataset = _dataset(source)
    _epochs(dataset, workers=2, epochs=2)
    assert source.skipped == 0  # the main process's reader never met the bad instance ...
    assert dataset.skipped_indices() == [BAD]  # ... but the dataset knows a worker's reader replaced it


def test_every_sample_bad_raises_naming_the_source() -> None:
    class AllBad(BadAtSource):
        def __getitem__(self, i: int) -> dict[str, Any]:
            raise ValueError(f"sample {i} is broken")

    with pytest.raises(RuntimeError, match="every sample of AllBad failed to load"):
        _dataset(AllBad())[0]
