"""TopDownDataset: one source instance -> cropped input, codec targets and metadata.

Data flow (DESIGN.md): source ``Sample`` -> crop/augment (:mod:`landmarks.data.transforms`)
-> ``codec.encode`` for each supervised task -> a dict that ``default_collate`` batches:

``{"image": (3, H, W) uint8, "targets": {task: {...}}, "meta": {...}}``

The image stays uint8 until the model normalises it (4x less inter-process traffic).

Augmentation randomness: a ``(index, epoch)`` key (what :class:`landmarks.resume.SeededShuffle`
yields for training) draws the sample's augmentation from ``(seed, epoch, index)``, so it does
not depend on which process loads it or on any random state (exact resume). A plain integer
index draws from the process's torch generator, as a ``DataLoader`` with ``shuffle=True`` expects,
except for an evaluation transform (``train=False``), which must not disturb that generator.

Bad samples (``on_bad_sample="skip"``): each process logs a bad sample once (index, process,
the error, which names the file) and uses the next one. Which dataset indices were replaced,
here or inside the reader, is recorded in memory shared with the DataLoader workers, so the
main process can report every skip of every worker (:meth:`TopDownDataset.skipped_indices`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from landmarks.data.transforms import TopDownTransform
from landmarks.types import Sample

log = logging.getLogger("landmarks.data")

ON_BAD_SAMPLE = ("error", "skip")


class TopDownDataset(Dataset):
    """Wraps a source (``__len__``, ``__getitem__ -> Sample``) for top-down training.

    Args:
        source: indexable instances with a ``spec`` attribute.
        transform: crop and augmentation.
        codecs: ``{task_name: codec}``; each ``codec.encode(keypoints, visible)`` makes that task's
            targets, or ``codec.encode_sample(crop)`` when the codec has it (labels other than
            keypoints, e.g. the crop's ``euler`` for head pose).
        on_bad_sample: ``"error"`` raises on an unreadable sample; ``"skip"`` logs it and uses the next one.
        seed: seeds the augmentation of ``(index, epoch)`` keys (the run's ``seed``).
    """

    def __init__(
        self,
        source: Any,
        transform: TopDownTransform,
        codecs: Mapping[str, Any],
        on_bad_sample: str = "error",
        seed: int = 0,
    ) -> None:
        if on_bad_sample not in ON_BAD_SAMPLE:
            raise ValueError(f"data.on_bad_sample must be one of {ON_BAD_SAMPLE}, got '{on_bad_sample}'")
        if len(source) == 0:
            raise ValueError(f"dataset {type(source).__name__} is empty: no instances to train or evaluate on")
        self.source = source
        self.transform = transform
        self.codecs = dict(codecs)
        self.on_bad_sample = on_bad_sample
        self.seed = int(seed)
        # 1 where the sample drawn at that index was replaced; shared with the worker processes
        self._skipped = torch.zeros(len(source), dtype=torch.uint8).share_memory_()
        self._logged: set[int] = set()  # indices this process has logged (once per process)
        spec = getattr(source, "spec", None)
        self.flip_indices = spec.flip_indices if spec is not None else None
        self.upper_body: Sequence[int] = tuple(spec.upper_body) if spec is not None else ()

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        """The sample at ``key``: an index, or ``(index, epoch)`` for seeded augmentation."""
        index, epoch = (int(key[0]), int(key[1])) if isinstance(key, (tuple, list)) else (int(key), None)
        for attempt in range(len(self)):
            i = (index + attempt) % len(self)
            try:
                before = _reader_skips(self.source)
                sample = self.source[i]
                if _reader_skips(self.source) > before:  # the reader replaced instance i (and logged why)
                    self._skipped[i] = 1
                return self._encode(sample, i, self._rng(index, epoch))
            except (OSError, ValueError) as err:
                if self.on_bad_sample == "error":
                    raise
                self._skip(i, err)
        raise RuntimeError(f"every sample of {type(self.source).__name__} failed to load (logged above)")

    def _rng(self, index: int, epoch: int | None) -> np.random.Generator:
        if epoch is not None:
            return np.random.default_rng([self.seed, epoch, index])
        if not getattr(self.transform, "train", True):  # evaluation: no draw from the process's generator
            return np.random.default_rng([self.seed, index])
        return np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))

    def _skip(self, index: int, err: Exception) -> None:
        self._skipped[index] = 1
        if index in self._logged:
            return
        self._logged.add(index)
        worker = get_worker_info()
        process = f"worker {worker.id}" if worker is not None else "main process"
        log.warning(
            "skipping sample %d of %s (%s; logged once per process): %s",
            index,
            type(self.source).__name__,
            process,
            err,
        )

    def skipped_indices(self) -> list[int]:
        """Dataset indices whose sample was bad and replaced by the next one, in any process so far."""
        return torch.nonzero(self._skipped).flatten().tolist()

    def _encode(self, sample: dict[str, Any], index: int, rng: np.random.Generator) -> dict[str, Any]:
        crop = self.transform(cast(Sample, sample), rng, self.flip_indices, self.upper_body)
        targets = {name: _encode(codec, crop) for name, codec in self.codecs.items()}
        n = len(sample["keypoints"])
        meta = {
            "index": index,
            "center": crop["center"],
            "scale": crop["scale"],
            "rot": crop["rot"],
            "flipped": crop["flipped"],
            "input_keypoints": crop["keypoints"],
            "input_visible": crop["visible"],
            "keypoints": np.asarray(sample["keypoints"], np.float32).reshape(n, 2),
            "visible": np.asarray(sample["visible"], np.float32).reshape(n),
            "bbox": np.asarray(sample["bbox"], np.float32),
            "area": np.float32(sample.get("area", float(sample["bbox"][2] * sample["bbox"][3]))),
            "image_id": int(sample.get("image_id", index)),
            "id": int(sample.get("id", -1)),
            "score": np.float32(sample.get("score", 1.0)),
            "head_size": np.float32(sample.get("head_size", np.nan)),
            "euler": np.asarray(sample.get("euler", (np.nan,) * 3), np.float32).reshape(3),  # degrees; nan: no label
        }
        if "attributes" in sample:  # dataset flags, e.g. WFLW's six (per-subset NME)
            meta["attributes"] = np.asarray(sample["attributes"], np.float32)
        if "handedness" in crop:
            meta["handedness"] = crop["handedness"]  # of the crop: swapped when it was flipped
        image = torch.from_numpy(np.ascontiguousarray(crop["image"])).permute(2, 0, 1)
        return {"image": image, "targets": targets, "meta": meta}


def _reader_skips(source: Any) -> int:
    """Bad samples a reader has skipped so far in this process (its ``skipped_counts``), else 0."""
    counts = getattr(source, "skipped_counts", None)
    return int(counts.get("bad_sample", 0)) if isinstance(counts, Mapping) else 0


def _encode(codec: Any, crop: dict[str, Any]) -> dict[str, Any]:
    encode_sample = getattr(codec, "encode_sample", None)
    return encode_sample(crop) if encode_sample is not None else codec.encode(crop["keypoints"], crop["visible"])
