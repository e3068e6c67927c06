"""Label Studio JSON export (``keypointlabels``) -> :class:`Imported`, and predictions back.

Format (Label Studio docs, "Export annotations": JSON; "KeyPointLabels" tag): the export is a list
of tasks ``{"id", "data": {"image": URL}, "annotations": [{"id", "result": [...]}]}``; a keypoint
result is ``{"type": "keypointlabels", "id", "original_width", "original_height",
"value": {"x", "y", "width", "keypointlabels": [name]}}`` with ``x``, ``y`` in percent of the
image. The label definition is the project's labeling config (``<KeyPointLabels><Label
value="nose"/>...``), which the JSON export does not contain: pass it as ``labels=config.xml``
(without it the names are taken in first-seen order, with a warning).

Instances: keypoints with a ``parentID`` belong to that region (e.g. a ``rectanglelabels`` box);
the rest of one annotation form one instance. Several ``annotations`` of one task (several
annotators) are repeats of the same objects, which gives the OKS sigmas. Label Studio has no
visibility flag: every labelled point is v = 2. Cancelled annotations are counted, not read.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import unquote

import numpy as np

from landmarks.convert.records import Image, Imported, Instance, add_instance_point, check_names
from landmarks.data.formats.errors import AnnotationError

LOGGER = logging.getLogger("landmarks")


def read_label_config(path: str) -> list[str]:
    """The ``<Label value=...>`` names of the ``<KeyPointLabels>`` tags of a labeling config."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise AnnotationError(path, "<xml>", "a Label Studio labeling config (<View>...</View>)", str(err)) from None
    names = [lab.get("value") or "" for tag in root.iter("KeyPointLabels") for lab in tag.iter("Label")]
    return check_names(path, "KeyPointLabels/Label.value", names)


def read_labelstudio(path: str, images: str | None = None, labels: str | None = None) -> Imported:
    """Read a Label Studio JSON export.

    Args:
        path: the exported JSON (a list of tasks).
        images: folder holding the images, found by the file name of ``data.image`` (default: the
            JSON's folder). Label Studio prefixes uploads with a hash (``1a2b3c4d-a.jpg``); the
            file is looked up under both names.
        labels: the labeling config XML; its keypoint labels are the names, in its order.
    """
    try:
        with open(path) as f:
            tasks = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise AnnotationError(path, "<json>", "a Label Studio JSON export", str(err)) from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and "data" in t for t in tasks):
        raise AnnotationError(
            path,
            "<top level>",
            "a list of tasks with 'data' and 'annotations' (Label Studio JSON)",
            type(tasks).__name__ if not isinstance(tasks, list) else "items without 'data'",
        )
    names = read_label_config(labels) if labels else []
    fixed = bool(labels)
    base = images or os.path.dirname(path)
    out_images: list[Image] = []
    raw: list[tuple[int, str, dict[str, tuple[float, float]], str]] = []  # image, group, points, record
    cancelled = 0
    for t, task in enumerate(tasks):
        rec = f"task id {task.get('id', t)}"
        url = (task.get("data") or {}).get("image")
        if not isinstance(url, str):
            raise AnnotationError(path, "data.image", "the image URL or path", repr(url), rec)
        size = None
        groups: dict[str, dict[str, tuple[float, float]]] = {}
        for a, ann in enumerate(task.get("annotations") or []):
            if ann.get("was_cancelled"):
                cancelled += 1
                continue
            arec = f"{rec} annotation {ann.get('id', a)}"
            for r, res in enumerate(ann.get("result") or []):
                if res.get("type") != "keypointlabels":
                    continue
                value = res.get("value") or {}
                label = (value.get("keypointlabels") or [None])[0]
                if not isinstance(label, str):
                    raise AnnotationError(
                        path, f"result[{r}].value.keypointlabels", "one keypoint label", repr(label), arec
                    )
                if label not in names:
                    if fixed:
                        raise AnnotationError(
                            path,
                            f"result[{r}].value.keypointlabels",
                            f"a label of the labeling config {labels} ({', '.join(names)})",
                            f"'{label}' (keypoints without a label definition)",
                            arec,
                        )
                    names.append(label)
                w, h = res.get("original_width"), res.get("original_height")
                if not all(isinstance(v, (int, float)) and v > 0 for v in (w, h)):
                    raise AnnotationError(
                        path, f"result[{r}].original_width/height", "the image size in px", f"{w!r} x {h!r}", arec
                    )
                size = (int(w), int(h))
                x, y = value.get("x"), value.get("y")
                if not all(isinstance(v, (int, float)) for v in (x, y)):
                    raise AnnotationError(path, f"result[{r}].value.x/y", "percent coordinates", f"{x!r}, {y!r}", arec)
                group = f"{ann.get('id', a)}/{res.get('parentID') or ''}"
                field_name = f"result[{r}].value.keypointlabels"
                hint = "give several instances' keypoints a parentID region each"
                point = (x * w / 100.0, y * h / 100.0)
                add_instance_point(groups, group, label, point, path, field_name, hint, f"'{label}' twice", arec)
        if not groups:
            continue
        assert size is not None
        file_name = os.path.basename(unquote(url.split("?d=")[-1]))
        img_path = os.path.join(base, file_name)
        if (
            not os.path.exists(img_path)
            and "-" in file_name
            and os.path.exists(os.path.join(base, file_name.split("-", 1)[1]))
        ):
            img_path = os.path.join(base, file_name.split("-", 1)[1])
        out_images.append(Image(img_path, size[0], size[1], rec))
        for group, pts in groups.items():
            parent = group.split("/", 1)[1]
            raw.append((len(out_images) - 1, parent or "", pts, f"{rec} annotation {group.split('/')[0]}"))
    if not fixed and names:
        message = (
            f"{path}: no labeling config (labels=config.xml): keypoint names in first-seen order: {', '.join(names)}"
        )
        warnings.warn(message, UserWarning, stacklevel=2)
        LOGGER.warning(message)
    names = check_names(path, "keypointlabels", names)
    index = {n: i for i, n in enumerate(names)}
    instances = []
    counts: dict[int, int] = {}
    for img, parent, pts, rec in raw:
        kp = np.zeros((len(names), 3))
        for label, (x, y) in pts.items():
            kp[index[label]] = (x, y, 2)
        counts[img] = counts.get(img, 0) + 1
        instances.append(Instance(img, kp, rec, group=parent or "whole image"))
    imported = Imported(path, "labelstudio", names, [], out_images, instances, name="labelstudio")
    if cancelled:
        imported.notes["cancelled annotations"] = cancelled
    return imported


def labeling_config(names: list[str], from_name: str = "kp", to_name: str = "img") -> str:
    """A Label Studio labeling config with one ``KeyPointLabels`` label per name (and boxes)."""
    labs = "\n".join(f'    <Label value="{n}"/>' for n in names)
    return (
        f'<View>\n  <Image name="{to_name}" value="$image"/>\n'
        f'  <RectangleLabels name="box" toName="{to_name}">\n    <Label value="object"/>\n  </RectangleLabels>\n'
        f'  <KeyPointLabels name="{from_name}" toName="{to_name}" strokeWidth="2">\n{labs}\n  </KeyPointLabels>\n</View>\n'
    )


def write_labelstudio(
    entries: list[dict[str, Any]],
    names: list[str],
    sizes: dict[str, tuple[int, int]],
    image_prefix: str = "/data/local-files/?d=",
    kpt_thr: float = 0.3,
) -> list[dict[str, Any]]:
    """Predictions as Label Studio tasks with ``predictions`` (pre-annotations) to import.

    Each instance is a ``rectanglelabels`` box region whose keypoints carry its id as ``parentID``.
    Points scoring below ``kpt_thr`` are left out (unlabelled).
    """
    tasks = []
    by_file: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_file.setdefault(str(e["file_name"]), []).append(e)
    for t, (file_name, (w, h)) in enumerate(sizes.items()):
        result = []
        scores = []
        for i, e in enumerate(by_file.get(file_name, [])):
            kp = np.asarray(e["keypoints"], dtype=np.float64).reshape(len(names), 3)
            box_id = f"t{t}i{i}"
            bx, by, bw, bh = (float(v) for v in e.get("bbox", [0, 0, w, h]))
            common = {
                "from_name": "box",
                "to_name": "img",
                "original_width": w,
                "original_height": h,
                "image_rotation": 0,
            }
            result.append(
                {
                    "id": box_id,
                    "type": "rectanglelabels",
                    **common,
                    "value": {
                        "x": 100 * bx / w,
                        "y": 100 * by / h,
                        "width": 100 * bw / w,
                        "height": 100 * bh / h,
                        "rotation": 0,
                        "rectanglelabels": ["object"],
                    },
                }
            )
            for j, (n, (x, y, s)) in enumerate(zip(names, kp)):
                if s >= kpt_thr:
                    result.append(
                        {
                            "id": f"{box_id}k{j}",
                            "parentID": box_id,
                            "type": "keypointlabels",
                            **common,
                            "from_name": "kp",
                            "score": round(float(s), 4),
                            "value": {
                                "x": 100 * min(max(x, 0), w) / w,
                                "y": 100 * min(max(y, 0), h) / h,
                                "width": 0.5,
                                "keypointlabels": [n],
                            },
                        }
                    )
            scores.append(float(e.get("score", 0.0)))
        tasks.append(
            {
                "data": {"image": image_prefix + file_name},
                "predictions": [
                    {
                        "model_version": "landmarks",
                        "score": round(float(np.mean(scores)), 4) if scores else 0.0,
                        "result": result,
                    }
                ],
            }
        )
    return tasks
