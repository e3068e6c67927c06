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
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


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
