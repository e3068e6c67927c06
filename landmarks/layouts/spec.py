"""KeypointSpec: what a keypoint layout means (names, flip pairs, skeleton, OKS sigmas).

A spec is plain data. Built-in layouts are module-level functions (``coco17()``,
``mpii16()``) so Hydra configs can name them with ``_target_``; a custom dataset declares
its layout in one YAML file read by :func:`landmarks.layouts.from_yaml.load_spec`
(``docs/custom_dataset.md``).

COCO sigmas are the per-keypoint OKS constants of the COCO keypoint evaluation
(Lin et al., ECCV 2014; ``cocoeval.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class KeypointSpec:
    """A keypoint layout.

    Args:
        name: layout name, e.g. ``"coco17"``.
        names: keypoint names, length K.
        flip_pairs: pairs ``(i, j)`` of indices swapped by a horizontal flip.
        skeleton: pairs ``(i, j)`` of indices joined when drawing.
        sigmas: per-keypoint OKS sigmas (length K), or empty when unknown.
        norm_pair: indices whose distance normalises NME-style metrics (optional).
        torso_pair: indices whose distance is the torso diameter of PDJ (DeepPose: left
            shoulder - right hip); empty: the layout has no torso and PDJ is not reported.
        upper_body: indices of the upper half (half-body augmentation); empty to disable it.
        source: the file the layout was read from (empty for built-in layouts); error
            messages about a layout mismatch name it. Not part of equality.
    """

    name: str
    names: Sequence[str]
    flip_pairs: Sequence[Sequence[int]] = ()
    skeleton: Sequence[Sequence[int]] = ()
    sigmas: Sequence[float] = ()
    norm_pair: Sequence[int] = ()
    torso_pair: Sequence[int] = ()
    upper_body: Sequence[int] = field(default_factory=tuple)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        k = len(self.names)
        for field_name, pairs in (("flip_pairs", self.flip_pairs), ("skeleton", self.skeleton)):
            for pair in pairs:
                if len(pair) != 2 or not all(0 <= int(i) < k for i in pair):
                    raise ValueError(
                        f"KeypointSpec '{self.name}': {field_name} entry {list(pair)} is not a "
                        f"pair of indices in [0, {k}) (the spec has {k} names)"
                    )
        if self.sigmas and len(self.sigmas) != k:
            raise ValueError(
                f"KeypointSpec '{self.name}': sigmas has {len(self.sigmas)} values, expected {k} "
                "(one per keypoint name)"
            )
        if self.torso_pair and (
            len(self.torso_pair) != 2
            or int(self.torso_pair[0]) == int(self.torso_pair[1])
            or not all(0 <= int(i) < k for i in self.torso_pair)
        ):
            raise ValueError(
                f"KeypointSpec '{self.name}': torso_pair {list(self.torso_pair)} is not a pair of "
                f"two different indices in [0, {k})"
            )
        for i in self.upper_body:
            if not 0 <= int(i) < k:
                raise ValueError(f"KeypointSpec '{self.name}': upper_body index {i} not in [0, {k})")

    @property
    def num_keypoints(self) -> int:
        """K, the number of keypoints."""
        return len(self.names)

    @property
    def flip_indices(self) -> np.ndarray:
        """``(K,)`` int array: after a horizontal flip, keypoint ``i`` takes ``flip_indices[i]``."""
        idx = np.arange(self.num_keypoints)
        for i, j in self.flip_pairs:
            idx[int(i)], idx[int(j)] = int(j), int(i)
        return idx

    @property
    def sigma_array(self) -> np.ndarray:
        """``(K,)`` float OKS sigmas; raises when the spec has none."""
        if not self.sigmas:
            raise ValueError(f"KeypointSpec '{self.name}' has no OKS sigmas; add 'sigmas' (one per keypoint)")
        return np.asarray(self.sigmas, dtype=np.float64)

    @property
    def lower_body(self) -> tuple[int, ...]:
        """Indices not in ``upper_body`` (used by half-body augmentation)."""
        upper = set(int(i) for i in self.upper_body)
        return tuple(i for i in range(self.num_keypoints) if i not in upper)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values (lists of ints and floats), keys named as the fields."""
        return {
            "name": self.name,
            "names": list(self.names),
            "flip_pairs": [list(map(int, p)) for p in self.flip_pairs],
            "skeleton": [list(map(int, p)) for p in self.skeleton],
            "sigmas": [float(s) for s in self.sigmas],
            "norm_pair": [int(i) for i in self.norm_pair],
            "torso_pair": [int(i) for i in self.torso_pair],
            "upper_body": [int(i) for i in self.upper_body],
            "source": self.source,
        }


COCO17_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
COCO17_SIGMAS = (
    0.026,
    0.025,
    0.025,
    0.035,
    0.035,
    0.079,
    0.079,
    0.072,
    0.072,
    0.062,
    0.062,
    0.107,
    0.107,
    0.087,
    0.087,
    0.089,
    0.089,
)


def coco17() -> KeypointSpec:
    """The 17 COCO person keypoints with the official OKS sigmas."""
    return KeypointSpec(
        name="coco17",
        names=COCO17_NAMES,
        flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
        skeleton=(
            (15, 13),
            (13, 11),
            (16, 14),
            (14, 12),
            (11, 12),
            (5, 11),
            (6, 12),
            (5, 6),
            (5, 7),
            (6, 8),
            (7, 9),
            (8, 10),
            (1, 2),
            (0, 1),
            (0, 2),
            (1, 3),
            (2, 4),
            (3, 5),
            (4, 6),
        ),
        sigmas=COCO17_SIGMAS,
        torso_pair=(5, 12),  # left shoulder - right hip (DeepPose's torso)
        upper_body=tuple(range(11)),
    )


MPII16_NAMES = (
    "right_ankle",
    "right_knee",
    "right_hip",
    "left_hip",
    "left_knee",
    "left_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "right_wrist",
    "right_elbow",
    "right_shoulder",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
)


def mpii16() -> KeypointSpec:
    """The 16 MPII joints (order of the MPII release and the HRNet/mmpose JSON).

    MPII has no OKS sigmas; mmpose uses 0.089..0.062-style constants only for
    bottom-up grouping, so none are declared here.
    """
    return KeypointSpec(
        name="mpii16",
        names=MPII16_NAMES,
        flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
        skeleton=(
            (0, 1),
            (1, 2),
            (2, 6),
            (6, 3),
            (3, 4),
            (4, 5),
            (6, 7),
            (7, 8),
            (8, 9),
            (7, 12),
            (12, 11),
            (11, 10),
            (7, 13),
            (13, 14),
            (14, 15),
        ),
        torso_pair=(13, 2),  # left shoulder - right hip, as coco17's
        upper_body=(7, 8, 9, 10, 11, 12, 13, 14, 15),
    )
