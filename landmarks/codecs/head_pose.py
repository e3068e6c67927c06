"""Head-pose label codec: Euler angles of the crop -> training targets.

Unit: degrees, ``(yaw, pitch, roll)`` in the convention of :mod:`landmarks.geometry`. The
angles it receives are those of the **crop**: :class:`landmarks.data.transforms.TopDownTransform`
has already applied the in-plane rotation (:func:`landmarks.geometry.rotate_roll`) and the
horizontal flip (:func:`landmarks.geometry.flip_euler`).

The dataset calls :meth:`EulerCodec.encode_sample` with the whole crop dict (keypoint
codecs get ``encode(keypoints, visible)``), so this codec sees ``crop["euler"]``, which is
``nan`` when the sample has no pose label. Targets:

* ``"angles"``: ``(3,)`` float32 degrees (0 where unknown);
* ``"weight"``: ``()`` float32, 1 when the sample has a usable pose label, else 0: all three
  angles finite and, with ``bins``, inside the bin range (Hopenet's [-99, 99));
* ``"bins"`` (only with ``bins``): ``(3,)`` int64 Hopenet bin indices (-1 out of range).

Decoding lives with the representation: :meth:`AngleBinCodec.decode` for Hopenet bins,
:func:`landmarks.geometry.rotation_6d_to_matrix` + :func:`matrix_to_euler` for 6-D heads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from landmarks.codecs.head_pose_bins import AngleBinCodec

__all__ = ["EulerCodec"]


class EulerCodec:
    """Encode a crop's ``euler`` label.

    Args:
        input_size: ``(W, H)`` of the network input (shared by all codecs of a model).
        bins: Hopenet bin codec; ``None`` for representations without bins (6-D).
    """

    udp: bool = False

    def __init__(self, input_size: Sequence[int], bins: AngleBinCodec | None = None) -> None:
        if len(input_size) != 2:
            raise ValueError(f"EulerCodec: input_size must be (W, H), got {list(input_size)}")
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.bins = bins

    def __repr__(self) -> str:
        return f"EulerCodec(input_size={self.input_size}, bins={self.bins!r})"

    def encode_sample(self, crop: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Targets from a transformed sample (uses ``crop["euler"]``; missing or nan = no label)."""
        return self.encode(crop.get("euler"))

    def encode(self, euler: np.ndarray | Sequence[float] | None) -> dict[str, np.ndarray]:
        """Targets for one sample.

        Args:
            euler: ``(3,)`` yaw, pitch, roll degrees, or ``None`` / nan when unknown.

        Returns:
            ``{"angles": (3,) float32, "weight": () float32}`` plus ``"bins": (3,) int64``
            when the codec has bins.
        """
        a = np.full(3, np.nan) if euler is None else np.asarray(euler, dtype=np.float64).reshape(-1)
        if a.shape != (3,):
            raise ValueError(f"EulerCodec.encode: expected (3,) yaw, pitch, roll degrees, got shape {a.shape}")
        valid = bool(np.all(np.isfinite(a)))
        out: dict[str, np.ndarray] = {}
        if self.bins is not None:
            enc = self.bins.encode(a)
            out["bins"] = enc["bins"]
            valid = valid and bool(enc["weight"] > 0)
        out["angles"] = np.where(np.isfinite(a), a, 0.0).astype(np.float32)
        out["weight"] = np.asarray(valid, dtype=np.float32)  # () float32
        return out
