"""An :class:`~landmarks.convert.records.Imported` export -> COCO keypoint JSON + layout YAML.

Output folder (``data.root`` of ``task=custom data=coco_custom``, docs/custom_dataset.md)::

    OUT/layout.yaml                  names, flip pairs, skeleton (+ sigmas when measured)
    OUT/annotations/train.json       COCO keypoints, file names relative to OUT
    OUT/annotations/val.json         every ``val_every``-th image (all images when there is one)
    OUT/annotations/repeats.json     only when objects were annotated more than once
    OUT/images/...                   only frames that had to be extracted from a video

Repeated annotations of one object (same image, same group) are kept once in train/val (the
first) and all in ``repeats.json``, from which the OKS sigmas are estimated
(:func:`landmarks.metrics.sigmas.estimate_sigmas`, as ``scripts/estimate_sigmas.py`` does);
without repeats the layout has no ``sigmas`` and the default is used, with a warning.
Everything is checked before anything is written; each file is written to a temporary name
and renamed, so a failed conversion leaves no half file.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from typing import Any

import numpy as np

from landmarks.convert.flip_pairs import derive_flip_pairs
from landmarks.convert.records import Imported, check
from landmarks.layouts.from_yaml import DEFAULT_SIGMA
from landmarks.metrics.sigmas import estimate_sigmas

LOGGER = logging.getLogger("landmarks")


def keypoint_box(kp: np.ndarray, width: int, height: int, pad: float = 0.1) -> list[float]:
    """Tight box ``[x, y, w, h]`` of the labelled keypoints, ``pad`` of its size added on each side,
    clipped to the image; at least 1 px wide and high. ``[0, 0, 0, 0]`` when none is labelled."""
    pts = kp[kp[:, 2] > 0, :2]
    if not len(pts):
        return [0.0, 0.0, 0.0, 0.0]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = np.maximum((hi - lo) * pad, 1.0)
    x0, y0 = max(0.0, lo[0] - margin[0]), max(0.0, lo[1] - margin[1])
    x1, y1 = min(float(width), hi[0] + margin[0]), min(float(height), hi[1] + margin[1])
    return [round(float(v), 2) for v in (x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0))]


def to_coco(imported: Imported, out_dir: str, derived: list[list[str]] | None = None) -> dict[str, Any]:
    """The COCO keypoint dict of every instance (repeats included, with ``instance_id``)."""
    images = [
        {
            "id": i + 1,
            "file_name": os.path.relpath(img.path, out_dir).replace(os.sep, "/"),
            "width": int(img.width),
            "height": int(img.height),
        }
        for i, img in enumerate(imported.images)
    ]
    anns = []
    for n, inst in enumerate(imported.instances):
        kp = np.where(inst.keypoints[:, 2:3] > 0, inst.keypoints, 0.0)
        img = imported.images[inst.image]
        box = keypoint_box(kp, img.width, img.height)
        ann: dict[str, Any] = {
            "id": n + 1,
            "image_id": inst.image + 1,
            "category_id": 1,
            "iscrowd": 0,
            "keypoints": [round(float(v), 3) if j % 3 < 2 else int(v) for j, v in enumerate(kp.reshape(-1))],
            "num_keypoints": int((kp[:, 2] > 0).sum()),
            "bbox": box,
            "area": round(box[2] * box[3], 2),
            "instance_id": inst.group if inst.group is not None else f"#{n + 1}",
        }
        if inst.track_id is not None:
            ann["track_id"] = inst.track_id
        if derived and derived[n]:
            ann["derived_keypoints"] = derived[n]
        anns.append(ann)
    return {
        "info": {"description": f"converted from {imported.tool}: {imported.source}"},
        "images": images,
        "annotations": anns,
        "categories": [
            {
                "id": 1,
                "name": imported.name,
                "keypoints": list(imported.names),
                "skeleton": [[imported.names.index(a) + 1, imported.names.index(b) + 1] for a, b in imported.skeleton],
            }
        ],
    }


def layout_yaml(imported: Imported, flip_pairs: list[tuple[str, str]], sigmas: list[float] | None, note: str) -> str:
    """The layout file's text (project format, docs/custom_dataset.md)."""
    lines = [
        f"# {note}",
        f"name: {json.dumps(imported.name)}",
        "keypoints: " + json.dumps(list(imported.names)),
        "flip_pairs: " + json.dumps([list(p) for p in flip_pairs]),
        "skeleton: " + json.dumps([list(p) for p in imported.skeleton]),
    ]
    if sigmas is not None:
        lines.append("sigmas: " + json.dumps([round(float(s), 4) for s in sigmas]))
    return "\n".join(lines) + "\n"


def write_dataset(
    imported: Imported,
    out_dir: str,
    val_every: int = 5,
    derived: list[list[str]] | None = None,
    extra_files: dict[str, bytes] | None = None,
) -> dict[str, str]:
    """Check ``imported`` and write the folder described in the module docstring.

    Args:
        imported: the reader's output.
        out_dir: the output folder (created).
        val_every: every ``val_every``-th image (by file order) goes to ``val.json``; 0: val = train.
        derived: per instance, names of keypoints computed rather than labelled (flagged).
        extra_files: ``{relative path: bytes}`` written as well (extracted video frames).

    Returns:
        ``{"layout": ..., "train": ..., "val": ..., ["repeats": ...]}`` paths written.
    """
    check(imported)
    flip = (
        imported.flip_pairs if imported.flip_pairs is not None else derive_flip_pairs(imported.names, imported.source)
    )
    coco = to_coco(imported, out_dir, derived)
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for ann in coco["annotations"]:
        groups.setdefault((ann["image_id"], ann["instance_id"]), []).append(ann)
    firsts = [g[0] for g in groups.values()]
    repeats = any(len(g) > 1 for g in groups.values())
    sigmas = None
    k = len(imported.names)
    if repeats:
        est = estimate_sigmas(coco, k, "instance_id", source=imported.source)
        missing = [n for n, s in zip(imported.names, est.sigmas) if not math.isfinite(s)]
        if missing:
            _warn(f"{imported.source}: {', '.join(missing)} never labelled twice: DEFAULT_SIGMA = {DEFAULT_SIGMA}")
        sigmas = [float(s) if math.isfinite(s) else DEFAULT_SIGMA for s in est.sigmas]
        note = f"converted from {imported.tool} ({imported.source}); sigmas estimated from {est.num_groups} repeated instances"
    elif imported.sigmas is not None:
        sigmas = list(imported.sigmas)
        note = f"converted from {imported.tool} ({imported.source}); sigmas of the target layout"
    else:
        _warn(
            f"{imported.source}: no object annotated twice, so OKS sigmas cannot be estimated; the layout has no "
            f"'sigmas' and DEFAULT_SIGMA = {DEFAULT_SIGMA} is used (measure them with scripts/estimate_sigmas.py)"
        )
        note = f"converted from {imported.tool} ({imported.source}); no repeats: default sigmas"
    image_ids = sorted({a["image_id"] for a in firsts})
    val_ids = {i for n, i in enumerate(image_ids) if val_every > 0 and n % val_every == val_every - 1}
    if not val_ids or len(val_ids) == len(image_ids):
        val_ids = set(image_ids)
        LOGGER.warning("%s: %d image(s): val.json holds the same images as train.json", imported.source, len(image_ids))
    train_ids = set(image_ids) - val_ids or set(image_ids)

    def subset(ids: set[int], anns: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            **coco,
            "images": [im for im in coco["images"] if im["id"] in ids],
            "annotations": [a for a in anns if a["image_id"] in ids],
        }

    files: dict[str, bytes] = dict(extra_files or {})
    files["layout.yaml"] = layout_yaml(imported, flip, sigmas, note).encode()
    files["annotations/train.json"] = json.dumps(subset(train_ids, firsts)).encode()
    files["annotations/val.json"] = json.dumps(subset(val_ids, firsts)).encode()
    if repeats:
        files["annotations/repeats.json"] = json.dumps(coco).encode()
    for name, count in imported.notes.items():
        LOGGER.warning("%s: %d %s not converted", imported.source, count, name)
    written = write_files(out_dir, files)
    LOGGER.info(
        "%s -> %s: %d images, %d instances, K = %d, %d flip pairs",
        imported.source,
        out_dir,
        len(image_ids),
        len(firsts),
        k,
        len(flip),
    )
    return {
        "layout": written["layout.yaml"],
        "train": written["annotations/train.json"],
        "val": written["annotations/val.json"],
        **({"repeats": written["annotations/repeats.json"]} if repeats else {}),
    }


def write_files(out_dir: str, files: dict[str, bytes]) -> dict[str, str]:
    """Write every file to a temporary name first, then rename them all (no half files)."""
    tmps = {}
    try:
        for rel, data in files.items():
            path = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            tmps[rel] = path
    except BaseException:
        for path in tmps.values():
            if os.path.exists(path + ".tmp"):
                os.remove(path + ".tmp")
        raise
    for path in tmps.values():
        os.replace(path + ".tmp", path)
    return tmps


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)
    LOGGER.warning(message)
