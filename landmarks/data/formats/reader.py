"""What the per-instance file readers share: the indexable list interface and the box-labelled Sample.

The readers of one-record-per-instance files (:mod:`.mpii`, :mod:`.wflw`, :mod:`.pts300w`,
:mod:`.pose_mat`) check every record at start-up, keep the good ones and decode an image only
when its instance is asked for. :class:`InstanceReader` gives them the same ``__len__``,
``__getitem__`` (through their :class:`~.errors.BadSamplePolicy`) and ``skipped_counts``;
:func:`box_sample` builds the Sample of an instance whose ``area`` is its box's. A sibling
reader subclasses :class:`InstanceReader`, sets ``_policy`` and ``_instances`` and writes ``_load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.data.formats.errors import BadSamplePolicy
from landmarks.types import Sample

__all__ = ["InstanceReader", "box_sample"]


class InstanceReader:
    """Base of a reader that keeps one record per instance and decodes its image on access.

    A subclass sets ``_policy`` (its :class:`~.errors.BadSamplePolicy`, whose ``owner``, e.g.
    ``"WflwSource(path)"``, starts the messages) and ``_instances`` (the kept records), and
    implements ``_load(index) -> Sample``, which may raise
    :class:`~.errors.AnnotationError` (a missing or corrupt image).
    """

    _policy: BadSamplePolicy
    _instances: Sequence[Any]

    def __len__(self) -> int:
        return len(self._instances)

    def __getitem__(self, index: int) -> Sample:
        """Instance ``index`` (negatives wrap) with its image decoded now (``(H, W, 3)`` uint8 RGB)."""
        return self._policy.load_at(index, len(self._instances), self._load, self._policy.owner)

    def _load(self, index: int) -> Sample:
        raise NotImplementedError

    @property
    def skipped_counts(self) -> dict[str, int]:
        """``{"bad_sample": n}``: instances skipped by the policy (at load or in ``__getitem__``)."""
        return {"bad_sample": self._policy.skipped}


def box_sample(
    image: np.ndarray,
    keypoints: np.ndarray,
    visible: np.ndarray,
    bbox: np.ndarray,
    image_id: int,
    instance_id: int,
    path: str,
) -> Sample:
    """The Sample of one instance: copies of its arrays, ``area`` = the box's ``w * h``, ``score`` 1.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        keypoints: ``(K, 2)`` float32 image px.
        visible: ``(K,)`` float32 COCO visibility.
        bbox: ``(4,)`` float32 ``x, y, w, h`` px.
        image_id: the image's id.
        instance_id: the instance's id.
        path: the image file.
    """
    return Sample(
        image=image,
        keypoints=keypoints.copy(),
        visible=visible.copy(),
        bbox=bbox.copy(),
        area=float(bbox[2] * bbox[3]),
        image_id=image_id,
        id=instance_id,
        score=1.0,
        path=path,
    )
