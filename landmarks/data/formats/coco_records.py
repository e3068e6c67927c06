"""Field checks and fills of COCO annotation records, and the ground-truth dict of kept records.

The COCO keypoint evaluator (``pycocotools``) needs, per annotation, ``id``, ``image_id``,
``category_id``, ``keypoints`` (3 K values), ``num_keypoints``, ``iscrowd``, ``area`` and
``bbox``. :class:`~landmarks.data.formats.coco.CocoKeypointSource` checks every annotation
at start-up with these helpers, so nothing the evaluator needs is found missing after an epoch.

Fill rules (the convention mmpose applies to CrowdPose- and AI-Challenger-style files, which
often lack these fields), applied only where the field is absent and reported in ONE warning
per file (:func:`warn_filled`):

* ``area`` = box ``w * h``;
* ``iscrowd`` = 0;
* ``num_keypoints`` = the number of keypoints with ``v > 0``;
* top-level ``categories`` (absent or empty) = one category, id 1, named after the layout.

A present field with an unusable value (``NaN``, a string, a negative area) is a bad sample,
never filled. A sibling field adds one entry to :data:`FILL_RULES` and one check.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from landmarks.data.formats.errors import LOGGER, AnnotationError, load_image_rgb
from landmarks.layouts.spec import KeypointSpec

__all__ = ["FILL_RULES", "check_iscrowd", "check_number", "is_number", "kept_dict", "load_coco_image", "warn_filled"]

#: field -> the rule used to fill it where it is absent
FILL_RULES: dict[str, str] = {
    "area": "box w*h",
    "iscrowd": "0",
    "num_keypoints": "the count of keypoints with v > 0",
    "categories": "one category (id 1) named after the layout",
}


def is_number(value: Any) -> bool:
    """A finite ``int`` or ``float`` (``bool`` excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_number(
    ann: dict[str, Any],
    field: str,
    expected: str,
    file: str,
    where: str,
    integer: bool = False,
    minimum: float | None = None,
) -> None:
    """Raise unless ``ann[field]`` is a finite number (an integer when ``integer``) >= ``minimum``."""
    value = ann[field]
    ok = is_number(value) and (not integer or float(value).is_integer()) and (minimum is None or value >= minimum)
    if not ok:
        raise AnnotationError(file, field, expected, repr(value), where)


def check_iscrowd(ann: dict[str, Any], file: str, where: str) -> int:
    """``iscrowd`` as 0/1 (``true``/``false`` accepted); absent -> 0.

    Raises:
        AnnotationError: any other value (``NaN``, ``2``, a string).
    """
    value = ann.get("iscrowd", 0)
    if isinstance(value, bool) or (is_number(value) and value in (0, 1)):
        return int(value)
    raise AnnotationError(file, "iscrowd", "0 or 1 (or true/false)", repr(value), where)


def warn_filled(file: str, filled: dict[str, int], total: int) -> None:
    """Log ONE warning naming ``file`` and, per filled field, the rule and how many records."""
    parts = [
        f"'{field}' in {n} of {total} annotations with {FILL_RULES[field]}"
        if field != "categories"
        else f"'categories' with {FILL_RULES[field]}"
        for field, n in filled.items()
        if n
    ]
    if parts:
        LOGGER.warning(
            "%s: filled missing fields (mmpose's rule for CrowdPose / AI Challenger-style files): %s",
            file,
            "; ".join(parts),
        )


def kept_dict(
    raw: dict[str, Any], annotations: list[dict[str, Any]], missing_images: set[int], spec: KeypointSpec
) -> tuple[dict[str, Any], bool]:
    """The ground-truth dict of the kept records, for the COCO evaluator.

    Args:
        raw: the parsed file (top-level keys other than ``images``/``annotations``/``categories``
            are carried over).
        annotations: the kept annotation records, fields filled.
        missing_images: ids of images whose file was found missing; they are left out.
        spec: the layout (for a filled ``categories``).

    Returns:
        ``(dict, categories_filled)``.
    """
    categories = raw.get("categories")
    filled = not (isinstance(categories, list) and categories)
    if filled:
        categories = [
            {
                "id": 1,
                "name": spec.name,
                "supercategory": spec.name,
                "keypoints": list(spec.names),
                "skeleton": [list(p) for p in spec.skeleton],
            }
        ]
    images = [info for info in raw["images"] if info["id"] not in missing_images]
    return {**raw, "images": images, "annotations": annotations, "categories": categories}, filled


def load_coco_image(path: str, info: dict[str, Any], image_id: Any, ann_file: str) -> np.ndarray:
    """The image of ``images[]`` record ``info`` decoded from ``path``, its size checked against the record.

    Args:
        path: the image file (``image_root`` joined with the record's ``file_name``).
        info: the ``images[]`` record (``width``, ``height``).
        image_id: the record's id, for the message.
        ann_file: the annotation file, for the message.

    Returns:
        ``(H, W, 3)`` uint8 RGB.

    Raises:
        AnnotationError: the file does not load (:func:`.errors.load_image_rgb`), or it is not
            ``width`` x ``height`` px as the record says.
    """
    image = load_image_rgb(path, field="images[].file_name", source=ann_file)
    if image.shape[:2] != (info["height"], info["width"]):
        raise AnnotationError(
            ann_file,
            "images[].width/height",
            f"{info['width']}x{info['height']} as decoded from {path}",
            f"{image.shape[1]}x{image.shape[0]}",
            f"image id {image_id}",
        )
    return image
