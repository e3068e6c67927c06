"""labelme JSON files (``shape_type: point``) -> :class:`Imported`.

Format (labelme's own files, ``labelme/label_file.py``): one JSON per image, ``{"version",
"shapes": [{"label", "points": [[x, y]], "group_id", "shape_type": "point", "flags": {}}],
"imagePath", "imageHeight", "imageWidth", "imageData"}``. Points with the same ``group_id`` form
one instance (``null``: the image's one instance). labelme stores no visibility: a shape flag
``occluded`` (or ``hidden``, set through ``labelme --flags``) true gives v = 1, else v = 2.
Shapes of other types are counted, not read. The label definition is labelme's
``--labels labels.txt`` file (one name a line; ``__ignore__`` and ``_background_`` skipped);
without it the names are taken in first-seen order, with a warning. labelme has no skeleton.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import warnings

import numpy as np

from landmarks.convert.records import Image, Imported, Instance, add_instance_point, check_names
from landmarks.data.formats.errors import AnnotationError

LOGGER = logging.getLogger("landmarks")
HIDDEN_FLAGS = ("occluded", "hidden", "invisible")


def read_labels_txt(path: str) -> list[str]:
    """labelme's ``--labels`` file: one label a line; ``__ignore__``/``_background_`` left out."""
    with open(path) as f:
        names = [line.strip() for line in f if line.strip() and line.strip() not in ("__ignore__", "_background_")]
    return check_names(path, "labels", names)


def read_labelme(src: str, labels: str | None = None) -> Imported:
    """Read one labelme JSON file or every ``*.json`` of a folder (sorted)."""
    files = sorted(glob.glob(os.path.join(src, "*.json"))) if os.path.isdir(src) else [src]
    if not files:
        raise AnnotationError(src, "<folder>", "labelme *.json files", "none")
    names = read_labels_txt(labels) if labels else []
    fixed = bool(labels)
    images: list[Image] = []
    raw: list[tuple[int, dict[str, tuple[float, float, int]], str, str]] = []
    other = 0
    for path in files:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise AnnotationError(path, "<json>", "a labelme JSON file", str(err)) from None
        if not isinstance(doc, dict) or not isinstance(doc.get("shapes"), list) or "imagePath" not in doc:
            raise AnnotationError(
                path,
                "shapes/imagePath",
                "a labelme JSON file ('shapes' list and 'imagePath')",
                f"keys {sorted(doc)[:6]}" if isinstance(doc, dict) else type(doc).__name__,
            )
        w, h = doc.get("imageWidth"), doc.get("imageHeight")
        if not (isinstance(w, int) and w > 0 and isinstance(h, int) and h > 0):
            raise AnnotationError(path, "imageWidth/imageHeight", "the image size in px", f"{w!r} x {h!r}")
        groups: dict[str, dict[str, tuple[float, float, int]]] = {}
        for s, shape in enumerate(doc["shapes"]):
            rec = f"shapes[{s}]"
            if shape.get("shape_type", "polygon") != "point":
                other += 1
                continue
            label = shape.get("label")
            if label not in names:
                if fixed:
                    raise AnnotationError(
                        path,
                        f"{rec}.label",
                        f"a label of {labels} ({', '.join(names)})",
                        f"{label!r} (a keypoint without a label definition)",
                    )
                if not isinstance(label, str):
                    raise AnnotationError(path, f"{rec}.label", "a keypoint name", repr(label))
                names.append(label)
            pts = shape.get("points")
            if not (isinstance(pts, list) and len(pts) == 1 and len(pts[0]) == 2):
                raise AnnotationError(path, f"{rec}.points", "one point [[x, y]]", repr(pts))
            flags = shape.get("flags") or {}
            hidden = any(bool(flags.get(k)) for k in HIDDEN_FLAGS)
            point = (float(pts[0][0]), float(pts[0][1]), 1 if hidden else 2)
            twice = f"'{label}' twice in group_id {shape.get('group_id')}"
            hint = "give each instance its own group_id"
            add_instance_point(groups, str(shape.get("group_id")), label, point, path, f"{rec}.label", hint, twice)
        if groups:
            images.append(Image(os.path.join(os.path.dirname(path), doc["imagePath"]), w, h, path))
            raw += [(len(images) - 1, pts, f"{path} group_id {g}", path) for g, pts in groups.items()]
    if not fixed and names:
        message = f"{src}: no labels file (labels=labels.txt): keypoint names in first-seen order: {', '.join(names)}"
        warnings.warn(message, UserWarning, stacklevel=2)
        LOGGER.warning(message)
    names = check_names(src, "labels", names)
    index = {n: i for i, n in enumerate(names)}
    instances = []
    for img, pts, rec, _ in raw:
        kp = np.zeros((len(names), 3))
        for label, xyv in pts.items():
            kp[index[label]] = xyv
        instances.append(Instance(img, kp, rec))
    imported = Imported(src, "labelme", names, [], images, instances, name="labelme")
    if other:
        imported.notes["non-point shapes"] = other
    return imported
