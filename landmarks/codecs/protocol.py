"""The codec contracts: what the data side (encode) and the model side (decode) rely on.

A codec is one small stateless object given both to the data pipeline
(:class:`landmarks.data.dataset.TopDownDataset` calls ``encode`` in DataLoader workers) and to the
task (which calls ``decode`` on head outputs), so the two cannot drift apart. Three kinds exist:

* :class:`KeypointCodec` — keypoints in **input px** (the network-input crop of
  :mod:`landmarks.data.crop`) to targets and back: heatmaps (:mod:`.heatmap`), integral
  (:mod:`.integral`), coordinates (:mod:`.coords`).
* :class:`AngleCodec` — Euler angles in **degrees** to targets and back: Hopenet bins
  (:mod:`.head_pose_bins`); :class:`~landmarks.codecs.head_pose.EulerCodec` encodes the crop's
  angles for a head-pose task and decodes through its bins.
* :class:`BoxCodec` — boxes ``x, y, w, h`` in **input px** (the letterboxed frame of
  :mod:`landmarks.data.detection`) to targets and back: CenterNet (:mod:`.centernet`).

A new codec implements one of them, documents its unit in its module docstring, and gets a
round-trip entry in ``tests/codecs/test_contract.py`` (the test discovers every codec class).
:func:`input_size_pair` and :func:`keypoint_encode_inputs` check the arguments every keypoint
codec receives, with messages naming the codec.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


def input_size_pair(input_size: Sequence[int], owner: str) -> tuple[int, int]:
    """``(W, H)`` of the network input as two ints, each at least 2 px.

    Args:
        input_size: ``(W, H)`` input px (a list, tuple or config sequence).
        owner: the class named in the error (e.g. ``"SimCCCodec"``).

    Raises:
        ValueError: not two sizes, or one below 2 px.
    """
    if len(input_size) != 2 or min(int(s) for s in input_size) < 2:
        raise ValueError(f"{owner}: input_size must be (W, H) >= 2 px, got {list(input_size)}")
    return int(input_size[0]), int(input_size[1])


def keypoint_encode_inputs(keypoints: np.ndarray, visible: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """The arguments of :meth:`KeypointCodec.encode` as arrays, their shapes checked.

    Args:
        keypoints: ``(K, 2)`` input px.
        visible: ``(K,)`` COCO visibility (any shape with ``K`` values).
        owner: the class named in the error (e.g. ``"CoordinateCodec"``).

    Returns:
        ``keypoints (K, 2)`` float64 and ``visible (K,)`` in its own dtype.

    Raises:
        ValueError: ``keypoints`` not ``(K, 2)`` or ``visible`` not ``K`` values.
    """
    kpts = np.asarray(keypoints, dtype=np.float64)
    vis = np.asarray(visible).reshape(-1)
    if kpts.ndim != 2 or kpts.shape[1] != 2 or vis.shape[0] != kpts.shape[0]:
        raise ValueError(
            f"{owner}.encode: expected keypoints (K, 2) and visible (K,), got {kpts.shape} "
            f"and {np.asarray(visible).shape}"
        )
    return kpts, vis


@runtime_checkable
class KeypointCodec(Protocol):
    """Keypoints (input px) <-> training targets / head outputs."""

    input_size: tuple[int, int]

    def encode(self, keypoints: np.ndarray, visible: np.ndarray) -> dict[str, np.ndarray]:
        """``(K, 2)`` input px + ``(K,)`` visibility -> targets (numpy, one sample)."""
        ...

    def decode(self, out: Any) -> tuple[np.ndarray, np.ndarray]:
        """Head output ``(B, K, ...)`` -> ``(keypoints (B, K, 2) input px, scores (B, K))``."""
        ...


@runtime_checkable
class AngleCodec(Protocol):
    """Euler angles (degrees) <-> training targets / head outputs."""

    def encode(self, angles: np.ndarray) -> dict[str, np.ndarray]:
        """``(..., 3)`` yaw, pitch, roll degrees -> targets."""
        ...

    def decode(self, logits: Any) -> np.ndarray:
        """Head output ``(B, 3, ...)`` -> ``(B, 3)`` degrees."""
        ...


@runtime_checkable
class BoxCodec(Protocol):
    """Boxes (input px) of named classes <-> training targets / head outputs."""

    input_size: tuple[int, int]
    categories: tuple[str, ...]

    def encode(self, boxes: np.ndarray, labels: np.ndarray, class_mask: np.ndarray | None = None) -> dict[str, Any]:
        """``(N, 4)`` xywh input px + ``(N,)`` class indices (+ ``(C,)`` labelled classes) -> targets."""
        ...

    def decode(self, out: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Head output -> ``(boxes (B, N, 4) input px, scores (B, N), labels (B, N))``."""
        ...
