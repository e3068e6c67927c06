"""Hide labels of a source, to mix a fully labelled source with a partly labelled one.

A source that lacks a label trains only the heads it has labels for: the euler codec gives a
sample without ``euler`` weight 0, and the landmark codecs give unlabelled keypoints
(``visible == 0``) weight 0. :class:`WithoutLabels` makes such a source from any other, e.g.
the "landmarks-only" half of a joint face + head-pose run on synthetic data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.types import Sample

DROPPABLE = ("euler", "keypoints")


class WithoutLabels:
    """A view of ``source`` whose samples lack the labels named in ``drop``.

    Args:
        source: any indexable source (``len``, ``[i] -> Sample``, ``spec``).
        drop: labels to hide: ``"euler"`` (head pose) and/or ``"keypoints"`` (all keypoints
            become unlabelled, ``visible = 0``; their coordinates stay for the crop).
    """

    def __init__(self, source: Any, drop: Sequence[str]) -> None:
        bad = [d for d in drop if d not in DROPPABLE]
        if bad:
            raise ValueError(f"WithoutLabels: drop has {bad}; expected labels among {list(DROPPABLE)}")
        self.source = source
        self.drop = tuple(drop)
        self.spec = getattr(source, "spec", None)

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> Sample:
        sample = dict(self.source[index])
        if "euler" in self.drop:
            sample.pop("euler", None)
        if "keypoints" in self.drop:
            sample["visible"] = np.zeros_like(np.asarray(sample["visible"], np.float32))
        return sample  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        if name == "source":  # not yet set (unpickling): avoid recursion
            raise AttributeError(name)
        return getattr(self.source, name)
