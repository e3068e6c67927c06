"""SyntheticSource: what every on-the-fly renderer shares (body, hand, face, ...).

A renderer subclasses it and implements two methods: ``_render_scene(rng, index, simple)``
(draw one image and label every instance) and ``_is_target(instance)`` (can a top-down crop
learn from it). This base class supplies the source interface the data pipeline uses:
``__len__``, ``__getitem__`` (the image and one target instance), ``render`` (the image and all
instances), ``to_coco`` / ``write_coco``, and the determinism rule: image ``index`` of a split
is drawn from ``np.random.default_rng([seed, split_id, index])``, so it is the same picture in
any worker and any order, and the ``train``/``val``/``test`` splits are disjoint streams.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from landmarks.data.synthetic.common.coco_export import coco_dataset, write_coco_folder
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}


class SyntheticSource:
    """Base of the synthetic renderers.

    Subclasses set ``num_images``, ``width``, ``height``, ``split``, ``seed`` and ``occluder_prob``
    (:meth:`_store_settings`), ``spec`` and the class attributes ``noun`` (``"person"``, ``"hand"``,
    ``"face"``: COCO category and messages) and ``coco_extra_fields`` (instance keys copied into
    COCO annotations).
    """

    noun: str = "instance"
    #: a target instance has at least this many labelled keypoints, 6 visible ones, and a box
    #: whose longer side is at least this fraction of the image's shorter side
    target_min_labelled: int = 8
    target_min_box: float = 0.25
    coco_extra_fields: tuple[str, ...] = ()
    num_images: int
    width: int
    height: int
    split: str
    seed: int
    occluder_prob: float
    spec: KeypointSpec

    def _store_settings(
        self, num_images: int, image_size: tuple[int, int], split: str, seed: int, occluder_prob: float
    ) -> None:
        """Stores the settings every renderer has (checked by the caller); ``image_size`` is ``(W, H)`` px."""
        self.num_images = int(num_images)
        self.width, self.height = int(image_size[0]), int(image_size[1])
        self.split = split
        self.seed = int(seed)
        self.occluder_prob = float(occluder_prob)

    @classmethod
    def _check_split(cls, split: str) -> None:
        if split not in SPLITS:
            raise ValueError(f"{cls.__name__}: split '{split}' is not one of {sorted(SPLITS)}")

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> Sample:
        """The whole image and its target instance.

        Returns:
            Sample with ``image`` ``(H, W, 3)`` uint8 RGB, ``keypoints`` ``(K, 2)`` float32
            image px, ``visible`` ``(K,)`` float32 (COCO 0/1/2), ``bbox`` ``(4,)`` float32
            ``x, y, w, h``, ``area``, ``image_id`` (= index), ``id``, ``score`` (1.0), ``path``
            ('') and the renderer's extra fields.
        """
        if not 0 <= index < self.num_images:
            raise IndexError(f"{type(self).__name__}: index {index} out of range [0, {self.num_images})")
        image, instances, target = self._render(int(index))
        sample = Sample(**instances[target])  # a copy: the instance lists no image
        sample["image"] = image
        return sample

    def render(self, index: int) -> tuple[np.ndarray, list[Sample]]:
        """Renders image ``index`` and labels every instance in it.

        Returns:
            ``(image (H, W, 3) uint8 RGB, instances)``; each instance is a Sample without
            ``image`` (keys as in :meth:`__getitem__`).
        """
        image, instances, _ = self._render(int(index))
        return image, instances

    def _rng(self, index: int) -> np.random.Generator:
        """The generator image ``index`` of this split is drawn from (the determinism rule above)."""
        return np.random.default_rng([self.seed, SPLITS[self.split], int(index)])

    def _render(self, index: int) -> tuple[np.ndarray, list[Sample], int]:
        rng = self._rng(index)
        for attempt in range(4):
            simple = attempt == 3  # last resort: a simpler scene (no occluder, one instance)
            image, instances = self._render_scene(rng, index, simple)
            cands = [i for i, s in enumerate(instances) if self._is_target(s)]
            if cands:
                return image, instances, int(cands[int(rng.integers(len(cands)))])
        best = int(np.argmax([(s["visible"] > 0).sum() for s in instances])) if instances else -1
        if best < 0:
            raise RuntimeError(f"{type(self).__name__}: image {index} ({self.split}) has no {self.noun}; this is a bug")
        return image, instances, best

    def _render_scene(self, rng: np.random.Generator, index: int, simple: bool) -> tuple[np.ndarray, list[Sample]]:
        raise NotImplementedError

    def _is_target(self, s: Sample) -> bool:
        """An instance a top-down crop can learn from (thresholds: the class attributes above)."""
        v = s["visible"]
        big = max(s["bbox"][2], s["bbox"][3]) >= self.target_min_box * min(self.width, self.height)
        return bool((v > 0).sum() >= self.target_min_labelled and (v == 2).sum() >= 6 and big)

    # ------------------------------------------------------------------ export
    def to_coco(self, indices: Iterable[int] | None = None) -> tuple[dict, list[np.ndarray]]:
        """COCO keypoint dict (one category, ``noun``) and the rendered images.

        Args:
            indices: images to include (default: all ``len(self)``).

        Returns:
            ``(dataset dict, images)`` as in :func:`.coco_export.coco_dataset`.
        """
        idx = range(self.num_images) if indices is None else indices
        return coco_dataset(
            self._coco_render,
            idx,
            self.spec,
            (self.width, self.height),
            self.split,
            self.noun,
            self._coco_description(),
            self.coco_extra_fields,
        )

    def _coco_render(self, index: int) -> tuple[np.ndarray, list[Sample]]:
        """:meth:`render` as the COCO export sees it; a subclass makes its extra fields JSON-ready here."""
        return self.render(index)

    def _coco_description(self) -> str:
        """The COCO ``info.description`` text."""
        return f"{type(self).__name__} split={self.split} seed={self.seed}"

    def write_coco(self, out_dir: str, indices: Iterable[int] | None = None) -> str:
        """Writes ``out_dir/images/*.jpg`` and ``out_dir/annotations.json``; returns the JSON path."""
        dataset, pixels = self.to_coco(indices)
        return write_coco_folder(dataset, pixels, out_dir, type(self).__name__)
