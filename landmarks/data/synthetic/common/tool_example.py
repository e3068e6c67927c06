"""A small COCO-style data set with an unusual layout: 7-point "arrow tools" on textures.

It exists to show (and test) that a new keypoint layout needs one YAML file and no Python
(``docs/custom_dataset.md``). :func:`make_custom_example` writes::

    out_dir/layout.yaml                 the layout (names, flip pairs, skeleton; no sigmas)
    out_dir/images/{train,val,repeat}_*.jpg
    out_dir/annotations/train.json      one arrow per image, COCO keypoint format
    out_dir/annotations/val.json
    out_dir/annotations/repeats.json    the val arrows annotated ``repeats`` times with noise

An arrow has a triangular head (``tip``, ``left_barb``, ``right_barb``), a shaft from
``neck`` to ``tail`` and two fins (``left_fin``, ``right_fin``); left/right are seen from the
tail looking at the tip, so a mirror image swaps them (the flip pairs). ``area`` is the
pixel count of the drawn arrow (COCO's segment area), ``bbox`` its tight box.

``repeats.json`` imitates several annotators: each keypoint of each val arrow is written
``repeats`` times with isotropic Gaussian noise whose 2-D spread is :data:`TRUE_SIGMAS` x
``sqrt(area)`` (per-axis standard deviation ``sigma * sqrt(area) / sqrt(2)``), so
:func:`landmarks.metrics.sigmas.estimate_sigmas` should recover :data:`TRUE_SIGMAS`.
A sibling example (another object) keeps this shape: constants for the layout, a ``_draw``
that returns image, keypoints and mask, and the shared writer below.
"""

from __future__ import annotations

import json
import os
from typing import Any

import cv2
import numpy as np

from landmarks.data.synthetic.common.coco_export import coco_dataset
from landmarks.data.synthetic.common.texture import background, random_colour
from landmarks.layouts.spec import KeypointSpec

NAMES = ("tip", "left_barb", "right_barb", "neck", "left_fin", "right_fin", "tail")
FLIP_PAIRS = (("left_barb", "right_barb"), ("left_fin", "right_fin"))
SKELETON = (
    ("tip", "left_barb"),
    ("tip", "right_barb"),
    ("left_barb", "neck"),
    ("right_barb", "neck"),
    ("neck", "tail"),
    ("tail", "left_fin"),
    ("tail", "right_fin"),
)
#: The annotation noise of ``repeats.json`` (OKS sigmas, COCO definition): sharp corners are
#: placed more consistently than the neck, a point on a straight edge.
TRUE_SIGMAS = (0.02, 0.03, 0.03, 0.06, 0.04, 0.04, 0.035)

LAYOUT_YAML = """\
# Keypoint layout of the synthetic "arrow tool" example (scripts/make_custom_example.py).
# Every field is explained in docs/custom_dataset.md.
name: tool7
keypoints: [{names}]
# pairs swapped by a horizontal flip (names or 0-based indices)
flip_pairs: {flip}
# limbs drawn on overlays
skeleton: {skeleton}
# OKS sigmas per keypoint: measured by scripts/estimate_sigmas.py (docs/custom_dataset.md)
"""


def tool7_spec() -> KeypointSpec:
    """The layout of :data:`LAYOUT_YAML` as a spec (no sigmas)."""
    idx = {n: i for i, n in enumerate(NAMES)}
    return KeypointSpec(
        name="tool7",
        names=NAMES,
        flip_pairs=tuple((idx[a], idx[b]) for a, b in FLIP_PAIRS),
        skeleton=tuple((idx[a], idx[b]) for a, b in SKELETON),
    )


def _draw(rng: np.random.Generator, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One arrow on a textured background: ``(image (H, W, 3) u8 RGB, keypoints (7, 2) px, mask (H, W) u8)``."""
    image = background(rng, width, height)
    length = rng.uniform(0.45, 0.75) * min(width, height)
    head_l, head_w = rng.uniform(0.22, 0.32) * length, rng.uniform(0.16, 0.24) * length
    fin_w, shaft = rng.uniform(0.14, 0.22) * length, max(2.0, rng.uniform(0.07, 0.11) * length)
    # object frame: u along the arrow (tail -> tip), w to its left
    uw = (
        np.array(
            [
                (0.5, 0.0),
                (0.5 - head_l / length, head_w / length),
                (0.5 - head_l / length, -head_w / length),
                (0.5 - head_l / length, 0.0),
                (-0.5, fin_w / length),
                (-0.5, -fin_w / length),
                (-0.35, 0.0),
            ]
        )
        * length
    )
    theta = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(theta), np.sin(theta)])
    left = np.array([d[1], -d[0]])  # image y points down: left of d is d rotated by -90 degrees
    half = 0.5 * length + fin_w
    centre = (
        np.array([rng.uniform(half, width - half), rng.uniform(half, height - half)])
        if half < min(width, height) / 2
        else np.array([width / 2, height / 2])
    )
    pts = centre + uw[:, :1] * d + uw[:, 1:] * left
    fin_root = centre + (-0.5 + 0.3) * length * d
    polys = [pts[[0, 1, 3, 2]], np.stack([fin_root, pts[4], pts[6]]), np.stack([fin_root, pts[5], pts[6]])]
    mask = np.zeros((height, width), np.uint8)
    colours = [tuple(float(c) for c in random_colour(rng, (0.5, 1.0), (0.5, 1.0))) for _ in range(2)]
    for target, colour in ((image, colours), (mask, ((255.0,), (255.0,)))):
        cv2.line(target, _px(pts[3]), _px(pts[6]), colour[1], int(round(shaft)), cv2.LINE_AA)
        for poly, c in zip(polys, (colour[0], colour[1], colour[1])):
            cv2.fillPoly(target, [np.round(poly * 16).astype(np.int32)], c, cv2.LINE_AA, shift=4)
    image = cv2.GaussianBlur(image, (3, 3), 0)
    noise = rng.normal(0.0, rng.uniform(2.0, 8.0), image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8), pts.astype(np.float32), mask


def _px(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _render(seed: int, split: int, size: tuple[int, int]) -> Any:
    def render(index: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
        image, pts, mask = _draw(np.random.default_rng([seed, split, index]), size[0], size[1])
        x, y, w, h = cv2.boundingRect((mask > 127).astype(np.uint8))
        sample = {
            "keypoints": pts,
            "visible": np.full(len(NAMES), 2.0, np.float32),
            "bbox": np.array([x, y, w, h], np.float32),
            "area": float((mask > 127).sum()),
            "id": index,
        }
        return image, [sample]

    return render


def make_custom_example(
    out_dir: str,
    num_train: int = 48,
    num_val: int = 12,
    size: tuple[int, int] = (128, 128),
    repeats: int = 3,
    seed: int = 0,
) -> dict[str, str]:
    """Write the example data set (see the module docstring) under ``out_dir``.

    Args:
        out_dir: output folder (created; existing files of the same names are replaced).
        num_train: training images (one arrow each).
        num_val: validation images.
        size: ``(W, H)`` of every image in px.
        repeats: annotations per val arrow in ``repeats.json`` (0: no such file).
        seed: the data set is a function of the seed.

    Returns:
        ``{"layout", "train", "val", "repeats"?}`` -> written file paths.
    """
    spec = tool7_spec()
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "annotations"), exist_ok=True)
    written = {"layout": os.path.join(out_dir, "layout.yaml")}
    with open(written["layout"], "w") as f:
        f.write(LAYOUT_YAML.format(names=", ".join(NAMES), flip=_flow(FLIP_PAIRS), skeleton=_flow(SKELETON)))
    for code, (split, n) in enumerate((("train", num_train), ("val", num_val))):
        data, pixels = coco_dataset(
            _render(seed, code, size),
            range(1, n + 1),
            spec,
            size,
            f"images/{split}",
            "tool",
            f"landmarks synthetic tool7 {split} (seed {seed})",
        )
        for entry, img in zip(data["images"], pixels):
            cv2.imwrite(
                os.path.join(out_dir, entry["file_name"]),
                cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                [cv2.IMWRITE_JPEG_QUALITY, 95],
            )
        written[split] = _write_json(os.path.join(out_dir, "annotations", f"{split}.json"), data)
        if split == "val" and repeats > 0:
            written["repeats"] = _write_json(
                os.path.join(out_dir, "annotations", "repeats.json"),
                repeated(data, repeats, np.random.default_rng([seed, 99])),
            )
    return written


def repeated(
    data: dict[str, Any], repeats: int, rng: np.random.Generator, sigmas: tuple[float, ...] = TRUE_SIGMAS
) -> dict[str, Any]:
    """``data`` with each annotation written ``repeats`` times with annotation noise.

    The copies share an ``instance_id`` (the original annotation id); keypoint ``i`` moves by
    isotropic Gaussian noise of per-axis standard deviation ``sigmas[i] * sqrt(area) / sqrt(2)``.
    """
    sig = np.asarray(sigmas, dtype=np.float64)
    anns, next_id = [], 1
    for ann in data["annotations"]:
        kp = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        std = sig * np.sqrt(float(ann["area"])) / np.sqrt(2.0)
        for _ in range(repeats):
            noisy = kp.copy()
            noisy[:, :2] += rng.normal(size=(len(kp), 2)) * std[:, None]
            anns.append(
                {
                    **ann,
                    "id": next_id,
                    "instance_id": ann["id"],
                    "keypoints": [round(float(v), 3) for v in noisy.reshape(-1)],
                }
            )
            next_id += 1
    return {**data, "annotations": anns}


def _flow(pairs: tuple[tuple[str, str], ...]) -> str:
    return "[" + ", ".join(f"[{a}, {b}]" for a, b in pairs) + "]"


def _write_json(path: str, data: dict[str, Any]) -> str:
    with open(path, "w") as f:
        json.dump(data, f)
    return path
