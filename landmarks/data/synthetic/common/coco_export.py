"""COCO keypoint export shared by the synthetic renderers (``to_coco`` / ``write_coco``).

A renderer hands over its ``render(index) -> (image, instances)`` function and its
:class:`~landmarks.layouts.spec.KeypointSpec`; this module builds the COCO ``person_keypoints``
style dict (``images`` / ``annotations`` / ``categories``, keypoints ``[x, y, v] * K`` in
image px, 1-based skeleton) and writes it with the JPEG images. Extra per-instance fields
(e.g. a hand's ``handedness``) are copied into the annotations by name; pycocotools and
xtcocotools ignore fields they do not know.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence

import cv2
import numpy as np

from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

Render = Callable[[int], tuple[np.ndarray, list[Sample]]]


def coco_dataset(
    render: Render,
    indices: Iterable[int],
    spec: KeypointSpec,
    size: tuple[int, int],
    file_prefix: str,
    category: str,
    description: str,
    extra_fields: Sequence[str] = (),
) -> tuple[dict, list[np.ndarray]]:
    """Renders images and builds a COCO keypoint dataset dict.

    Args:
        render: ``index -> (image (H, W, 3) uint8 RGB, instances)``.
        indices: images to include; the COCO image id is the index.
        spec: keypoint layout (names and skeleton of the category).
        size: ``(W, H)`` of every image in px.
        file_prefix: file names are ``f"{file_prefix}_{index:08d}.jpg"``.
        category: the single category's name (id 1), e.g. ``"person"`` or ``"hand"``.
        description: the ``info.description`` text.
        extra_fields: instance keys copied verbatim into each annotation.

    Returns:
        ``(dataset dict, images)``, one ``(H, W, 3)`` uint8 RGB image per ``images`` entry.
    """
    k = spec.num_keypoints
    images, anns, pixels = [], [], []
    for i in (int(j) for j in indices):
        img, insts = render(i)
        pixels.append(img)
        images.append(
            {"id": i, "file_name": f"{file_prefix}_{i:08d}.jpg", "width": int(size[0]), "height": int(size[1])}
        )
        for n, s in enumerate(insts):
            if "id" not in s or "area" not in s:
                raise ValueError(f"coco export: instance {n} of image {i} has no 'id' or 'area' (renderers set both)")
            kp, vis = np.asarray(s["keypoints"]).reshape(k, 2), np.asarray(s["visible"]).reshape(k)
            flat = [val for (x, y), v in zip(kp.tolist(), vis.tolist()) for val in (round(x, 2), round(y, 2), int(v))]
            ann = {
                "id": int(s["id"]),
                "image_id": i,
                "category_id": 1,
                "iscrowd": 0,
                "keypoints": flat,
                "num_keypoints": int((vis > 0).sum()),
                "bbox": [round(float(v), 2) for v in s["bbox"]],
                "area": float(s["area"]),
            }
            ann.update({key: s[key] for key in extra_fields if key in s})  # type: ignore[literal-required]
            anns.append(ann)
    cat = {
        "id": 1,
        "name": category,
        "supercategory": category,
        "keypoints": list(spec.names),
        "skeleton": [[int(a) + 1, int(b) + 1] for a, b in spec.skeleton],
    }
    return {"info": {"description": description}, "images": images, "annotations": anns, "categories": [cat]}, pixels


def write_coco_folder(dataset: dict, pixels: Sequence[np.ndarray], out_dir: str, who: str) -> str:
    """Writes ``out_dir/images/*.jpg`` (quality 95) and ``out_dir/annotations.json``.

    Args:
        dataset: a dict from :func:`coco_dataset`.
        pixels: its images, ``(H, W, 3)`` uint8 RGB, in ``dataset["images"]`` order.
        out_dir: output folder (created).
        who: the caller's name for error messages.

    Returns:
        The path of ``annotations.json``.
    """
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    for entry, img in zip(dataset["images"], pixels):
        path = os.path.join(out_dir, "images", entry["file_name"])
        if not cv2.imwrite(path, cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]):
            raise OSError(f"{who}.write_coco: could not write '{path}'")
    json_path = os.path.join(out_dir, "annotations.json")
    with open(json_path, "w") as fh:
        json.dump(dataset, fh)
    return json_path
