"""The sidecar ``model.json`` next to ``model.onnx``: what the graph needs around it.

Written by :mod:`landmarks.export`, read here (no torch). Schema (``format_version`` 2;
docs/deploy.md lists every field):

* ``format`` ``"landmarks-onnx"``, ``format_version`` int, ``onnx_file``, ``opset``,
  ``quantize`` (``"none"`` | ``"int8"``), ``flip_test`` (bool, inside the graph);
* ``input``: ``name``, ``layout`` ``"NCHW"``, ``dtype`` ``"float32"``, ``channel_order``
  ``"RGB"``, ``value_range`` ``[0, 255]``, ``size`` ``[W, H]``, ``mean`` / ``std`` (0..255
  units, applied inside the graph), ``normalized_in_graph`` true;
* ``crop``: ``padding`` (box enlargement, 1.25), ``udp`` (the UDP affine), ``aspect_ratio``;
* ``tasks``: ``{name: {kind, outputs: {field: graph output name}, unit, layout?, decode}}``,
  kind ``keypoints`` (outputs ``keypoints``, ``scores``), ``head_pose`` (``euler``, ``rotation``) or
  ``visibility`` (``visibility``: ``(N, K)`` probabilities, since version 2);
  ``layout`` = ``{name, keypoints, flip_pairs, skeleton, sigmas, torso_pair}`` for keypoint and
  visibility tasks;
* ``angle_convention``: text (yaw, pitch, roll degrees; ``R = Rz(roll) Ry(yaw) Rx(pitch)``);
* ``metrics``: the checkpoint's validation metrics (``{}`` when none were stored), ``checkpoint``.

Versions: 1 (keypoints and head pose); 2 adds the task kind ``visibility`` and changes no field of
version 1, so this runtime reads both (:data:`READABLE_VERSIONS`); a version-1 runtime refuses a
version-2 file by its version, with the message to re-export or update.
"""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["FORMAT", "FORMAT_VERSION", "KINDS", "READABLE_VERSIONS", "SidecarError", "load_sidecar", "sidecar_path"]

FORMAT = "landmarks-onnx"
FORMAT_VERSION = 2
"""The version written. Bump when a field or kind is added or changes meaning."""
READABLE_VERSIONS = (1, 2)
"""The versions this runtime reads (a file of another version is refused)."""
KINDS = ("keypoints", "head_pose", "visibility")


class SidecarError(ValueError):
    """A missing, unreadable or incompatible sidecar (the message names the file and the field)."""


def sidecar_path(onnx_path: str) -> str:
    """``model.onnx`` -> ``model.json`` (same folder, same stem)."""
    return os.path.splitext(onnx_path)[0] + ".json"


def load_sidecar(onnx_path: str) -> dict[str, Any]:
    """Read and check the sidecar of ``onnx_path``.

    Raises:
        SidecarError: the file is missing (naming the expected path), not JSON, of another
            ``format`` / ``format_version``, or lacks a required field.
    """
    path = sidecar_path(onnx_path)
    if not os.path.isfile(path):
        raise SidecarError(
            f"sidecar not found: expected '{path}' next to '{onnx_path}' "
            "(scripts/export.py writes model.onnx and model.json together)"
        )
    try:
        with open(path) as f:
            meta = json.load(f)
    except json.JSONDecodeError as err:
        raise SidecarError(f"{path}: not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SidecarError(
            f"{path}: field 'format' is {meta.get('format') if isinstance(meta, dict) else meta!r}, expected {FORMAT!r}"
        )
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise SidecarError(
            f"{path}: field 'format_version' is {version!r} but this runtime reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}; re-export the checkpoint with this version of scripts/export.py"
        )
    for field in ("input", "crop", "tasks"):
        if not isinstance(meta.get(field), dict):
            raise SidecarError(f"{path}: field '{field}' missing or not an object")
    for field in ("name", "size", "channel_order"):
        if field not in meta["input"]:
            raise SidecarError(f"{path}: field 'input.{field}' missing")
    for name, task in meta["tasks"].items():
        if task.get("kind") not in KINDS or not isinstance(task.get("outputs"), dict):
            raise SidecarError(f"{path}: tasks.{name} needs 'kind' ({' | '.join(KINDS)}) and 'outputs', got {task!r}")
    return meta
