"""SyntheticFrames: whole rendered frames with every instance as a box, for detection.

The synthetic renderers (:mod:`landmarks.data.synthetic.body` / ``hand`` / ``face``) already place
one or several people, hands or faces per image and label each with a tight box
(:meth:`~landmarks.data.synthetic.common.source.SyntheticSource.render`). For detection the body
and hand renderers are built with ``box="visible"`` (``conf/data/synthetic_detect.yaml``): the box
bounds the instance's visible pixels, the COCO convention. Their default box also covers limbs hidden
behind another person or an occluder, which no detector can see: on the 400 held-out frames 14 % of
the people had such a box with IoU < 0.9 to the visible one, and perfect visible boxes scored only
AP 0.86 against it. This source lists the
frames of one or more renderers, one after the other, as
:class:`~landmarks.data.detection.BoxFrame` s: every instance's ``bbox`` under the renderer's
category name (the key it is given under), ``area`` as the renderer counts it (visible
silhouette pixels), no crowd regions. A frame labels only its renderer's category
(``labelled``): a frame of people says nothing about the hands in it, so the detection loss
ignores the other classes there.

Frame ``i`` of renderer ``k`` has ``image_id`` = its position in the concatenated list, so ids
are unique across renderers. Determinism is the renderers' own (image ``index`` of a split is
the same picture in any worker and order).

``cache=True`` keeps every frame once rendered in memory (each process its own copy), so a training
set of a few thousand frames is drawn in Python once and later epochs only pay the augmentation:
rendering is ~12 ms of pure-Python drawing per 256 x 256 people frame, 152 ms of a detect_fast batch of
16 against a 450-600 ms fp32 train step (AMD EPYC without AVX-512, docs/benchmarks.md). As frames are
deterministic, a cached frame is the very frame a re-render gives (only faster); the cache's size is
checked up front against ``cache_max_gb``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from landmarks.data.detection import BoxFrame

__all__ = ["SyntheticFrames"]

log = logging.getLogger(__name__)


class SyntheticFrames:
    """Frames of several renderers, each under a category name.

    Args:
        sources: ``{category: renderer}``, e.g. ``{"person": SyntheticBodySource(...)}``; a renderer
            has ``render(index) -> (image, instances)`` and ``__len__``. A ``None`` entry is left
            out (so a config can drop a renderer: ``data.train.sources.hand=null``).
        cache: keep each rendered frame in memory (module docstring).
        cache_max_gb: the most memory the cache may take (all frames' images, per process).

    Raises:
        ValueError: no renderer given, or ``cache`` with frames that do not fit in ``cache_max_gb``.
    """

    def __init__(self, sources: Mapping[str, Any], cache: bool = False, cache_max_gb: float = 4.0) -> None:
        self.sources = [(str(name), src) for name, src in sources.items() if src is not None]
        if not self.sources:
            raise ValueError("SyntheticFrames: 'sources' has no renderer; give {category: renderer}")
        self.offsets = np.cumsum([0] + [len(src) for _, src in self.sources])
        self.categories = tuple(name for name, _ in self.sources)
        self._cache: dict[int, BoxFrame] | None = None
        if cache:
            need = sum(len(src) * int(src.width) * int(src.height) * 3 for _, src in self.sources) / 2**30
            if need > cache_max_gb:
                raise ValueError(
                    f"SyntheticFrames: cache=true would hold {len(self)} frames, {need:.1f} GB, over cache_max_gb="
                    f"{cache_max_gb}; lower the renderers' num_images, raise cache_max_gb or set cache=false"
                )
            log.info("SyntheticFrames: caching %d rendered frames in memory (up to %.2f GB)", len(self), need)
            self._cache = {}

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def locate(self, index: int) -> tuple[str, Any, int]:
        """``(category, renderer, index in it)`` of frame ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"SyntheticFrames: index {index} out of range [0, {len(self)})")
        k = int(np.searchsorted(self.offsets, index, side="right")) - 1
        name, src = self.sources[k]
        return name, src, int(index - self.offsets[k])

    def __getitem__(self, index: int) -> BoxFrame:
        """The frame: image, every instance's box under the renderer's category, areas (from the cache if kept)."""
        if self._cache is None:
            return self._render(int(index))
        frame = self._cache.get(int(index))
        if frame is None:
            frame = self._cache[int(index)] = self._render(int(index))
            for array in (frame["image"], frame["boxes"], frame.get("area")):  # shared by later draws: writes raise
                if array is not None:
                    array.setflags(write=False)
        return frame

    def _render(self, index: int) -> BoxFrame:
        name, src, local = self.locate(index)
        image, instances = src.render(local)
        boxes = np.array([s["bbox"] for s in instances], np.float32).reshape(-1, 4)
        area = np.array([s.get("area", b[2] * b[3]) for s, b in zip(instances, boxes)], np.float32)
        return BoxFrame(
            image=image,
            boxes=boxes,
            categories=[name] * len(boxes),
            iscrowd=np.zeros(len(boxes), np.int64),
            area=area,
            labelled=(name,),
            image_id=index,
            path="",
        )
