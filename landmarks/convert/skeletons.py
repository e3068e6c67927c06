"""Keypoints of one layout re-expressed in another (COCO-17, MPII-16, Human3.6M-17, ...).

The layouts are the YAML files of ``landmarks/convert/skeletons/`` (project layout format,
readable by :func:`landmarks.layouts.from_yaml.load_spec`): ``coco17``, ``mpii16``, ``h36m17``,
``aic14``, ``crowdpose14``, ``lsp14`` and the COCO-WholeBody parts ``wholebody_body``,
``wholebody_feet``, ``wholebody_face``, ``wholebody_lefthand``, ``wholebody_righthand``,
``wholebody133``. Their joints use shared names (``left_hip`` means the same point in each);
``skeletons/mapping.yaml`` lists the names that differ for one point (``same_point``) and the
points that may be computed (``derived``: the pelvis as the mean of the hips).

A target joint that the source lacks is unlabelled (``v = 0``, ``x = y = 0``), never invented;
derived points are computed only with ``derive=True`` and reported by name so the writer can
flag them. To add a layout, drop a YAML file into the folder (a test checks that every file
loads and that its flip pairs agree with its names).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import yaml

from landmarks.layouts.from_yaml import load_spec
from landmarks.layouts.spec import KeypointSpec

SKELETON_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "skeletons")


def builtin_layouts() -> list[str]:
    """Names of the layouts shipped in ``skeletons/`` (file names without ``.yaml``)."""
    return sorted(f[:-5] for f in os.listdir(SKELETON_DIR) if f.endswith(".yaml") and f != "mapping.yaml")


def layout_path(name_or_path: str) -> str:
    """The YAML file of a built-in layout name, or ``name_or_path`` itself when it is a file."""
    if os.path.isfile(name_or_path):
        return name_or_path
    path = os.path.join(SKELETON_DIR, f"{name_or_path}.yaml")
    if not os.path.isfile(path):
        raise ValueError(
            f"layout '{name_or_path}': expected a layout YAML file or one of "
            f"{', '.join(builtin_layouts())}, got neither"
        )
    return path


def load_layout(name_or_path: str) -> KeypointSpec:
    """A built-in layout by name, or any layout YAML file by path."""
    return load_spec(layout_path(name_or_path), warn_default_sigmas=False)


@lru_cache(maxsize=1)
def _mapping() -> dict[str, Any]:
    with open(os.path.join(SKELETON_DIR, "mapping.yaml")) as f:
        return yaml.safe_load(f)


@dataclass(frozen=True)
class JointMap:
    """How each target joint is obtained.

    Attributes:
        source_index: ``(K_dst,)`` int, the source joint copied to each target joint, -1 for none.
        derived: ``{target index: source indices}`` averaged when asked.
        dropped: source joint names no target joint takes.
    """

    source_index: np.ndarray
    derived: dict[int, tuple[int, ...]]
    dropped: tuple[str, ...]


def joint_map(src_names: Sequence[str], dst_names: Sequence[str]) -> JointMap:
    """Match joints by name, then through ``same_point``; list derivable target joints."""
    index = {n: i for i, n in enumerate(src_names)}
    alias: dict[str, list[str]] = {}
    for a, b in _mapping().get("same_point", []):
        alias.setdefault(a, []).append(b)
        alias.setdefault(b, []).append(a)
    src_idx = np.full(len(dst_names), -1, dtype=np.int64)
    for j, name in enumerate(dst_names):
        for cand in [name, *alias.get(name, [])]:
            if cand in index:
                src_idx[j] = index[cand]
                break
    derived: dict[int, tuple[int, ...]] = {}
    for j, name in enumerate(dst_names):
        parts = _mapping().get("derived", {}).get(name)
        if src_idx[j] < 0 and parts and all(p in index for p in parts):
            derived[j] = tuple(index[p] for p in parts)
    used = set(int(i) for i in src_idx if i >= 0)
    return JointMap(src_idx, derived, tuple(n for i, n in enumerate(src_names) if i not in used))


def convert_keypoints(
    keypoints: np.ndarray,
    src_names: Sequence[str],
    dst_names: Sequence[str],
    derive: bool = False,
) -> tuple[np.ndarray, list[list[str]]]:
    """Keypoints of one layout in the order of another.

    Args:
        keypoints: ``(N, K_src, 3)`` ``x, y, v``.
        src_names: the K_src source names.
        dst_names: the K_dst target names.
        derive: compute the ``derived`` points of ``mapping.yaml`` the source lacks.

    Returns:
        ``(N, K_dst, 3)`` keypoints (unmatched joints ``0, 0, 0``) and, per instance, the names
        of the target joints that were derived (empty without ``derive``).
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, len(src_names), 3)
    jm = joint_map(src_names, dst_names)
    out = np.zeros((kp.shape[0], len(dst_names), 3))
    has = jm.source_index >= 0
    out[:, has] = kp[:, jm.source_index[has]]
    flags: list[list[str]] = [[] for _ in range(kp.shape[0])]
    if derive:
        for j, parts in jm.derived.items():
            for n in range(kp.shape[0]):
                v = kp[n, list(parts), 2]
                if np.all(v > 0):
                    out[n, j, :2] = kp[n, list(parts), :2].mean(axis=0)
                    out[n, j, 2] = v.min()
                    flags[n].append(dst_names[j])
    return out, flags
