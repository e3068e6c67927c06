"""TopDownDataset: one source instance -> cropped input, codec targets and metadata.

Data flow (DESIGN.md): source ``Sample`` -> crop/augment (:mod:`landmarks.data.transforms`)
-> ``codec.encode`` for each supervised task -> a dict that ``default_collate`` batches:

``{"image": (3, H, W) uint8, "targets": {task: {...}}, "meta": {...}}``

The image stays uint8 until the model normalises it (4x less inter-process traffic).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from landmarks.data.transforms import TopDownTransform

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
    """

    def __init__(
        self,
        source: Any,
        transform: TopDownTransform,
        codecs: Mapping[str, Any],
        on_bad_sample: str = "error",
    ) -> None:
        if on_bad_sample not in ON_BAD_SAMPLE:
            raise ValueError(f"data.on_bad_sample must be one of {ON_BAD_SAMPLE}, got '{on_bad_sample}'")
        if len(source) == 0:
            raise ValueError(f"dataset {type(source).__name__} is empty: no instances to train or evaluate on")
        self.source = source
        self.transform = transform
        self.codecs = dict(codecs)
        self.on_bad_sample = on_bad_sample
        spec = getattr(source, "spec", None)
        self.flip_indices = spec.flip_indices if spec is not None else None
        self.upper_body: Sequence[int] = tuple(spec.upper_body) if spec is not None else ()

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        for attempt in range(len(self)):
            i = (index + attempt) % len(self)
            try:
                sample = self.source[i]
                return self._encode(sample, i)
            except (OSError, ValueError) as err:
                if self.on_bad_sample == "error":
                    raise
                log.warning("skipping sample %d of %s: %s", i, type(self.source).__name__, err)
        raise RuntimeError("every sample of the dataset failed to load")

    def _encode(self, sample: dict[str, Any], index: int) -> dict[str, Any]:
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
        crop = self.transform(sample, rng, self.flip_indices, self.upper_body)
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


def _encode(codec: Any, crop: dict[str, Any]) -> dict[str, Any]:
    encode_sample = getattr(codec, "encode_sample", None)
    return encode_sample(crop) if encode_sample is not None else codec.encode(crop["keypoints"], crop["visible"])
