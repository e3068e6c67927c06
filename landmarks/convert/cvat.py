"""CVAT for images 1.1 XML: skeletons and points -> :class:`Imported`, and predictions back.

Format: CVAT's "XML annotation format" (docs.cvat.ai, XML annotation format, version 1.1) plus
the skeleton extension of CVAT 2.x: the label definition is ``<meta>/<task|job|project>/<labels>``,
where a ``<label>`` of ``<type>skeleton</type>`` stores its points in ``<svg>`` (``<circle
data-node-id=... data-label-name=...>``, edges ``<line data-node-from=... data-node-to=...>``)
and each point is a ``<label>`` whose ``<parent>`` is the skeleton. An image::

    <image id="0" name="a.jpg" width="640" height="480">
      <skeleton label="person" source="manual" z_order="0">
        <points label="nose" outside="0" occluded="1" points="10.5,20.0" source="manual"/>
      </skeleton>
    </image>

Visibility: ``outside="1"`` -> v = 0, ``occluded="1"`` -> v = 1, else v = 2. Without a skeleton
label, ``<points>`` shapes whose label names one point each are read as one instance per image
(a name twice in one image is an error). A CVAT *for video* export (``<track>``) is refused with
the hint to export "CVAT for images".
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from landmarks.convert.records import Image, Imported, Instance, check_names
from landmarks.data.formats.errors import AnnotationError


def read_cvat(path: str, images: str | None = None, label: str | None = None) -> Imported:
    """Read a CVAT for images 1.1 XML file.

    Args:
        path: ``annotations.xml`` of the export.
        images: folder the ``<image name=...>`` paths are relative to (default: ``images/`` beside
            the XML when it exists, else the XML's folder).
        label: the skeleton label to read when the file defines several.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as err:
        raise AnnotationError(path, "<xml>", "a CVAT for images 1.1 XML file", str(err)) from None
    if root.tag != "annotations":
        raise AnnotationError(path, "<root>", "CVAT XML with an <annotations> root", f"<{root.tag}>")
    if root.find("track") is not None:
        raise AnnotationError(
            path,
            "track",
            "a CVAT *for images* export (<image> elements)",
            "a CVAT for video export (<track>); export the task as 'CVAT for images 1.1'",
        )
    base = images or (
        os.path.join(os.path.dirname(path), "images")
        if os.path.isdir(os.path.join(os.path.dirname(path), "images"))
        else os.path.dirname(path)
    )
    labels = [lab for lab in root.iter("label") if lab.findtext("name")]
    skeletons = [lab for lab in labels if (lab.findtext("type") or "") == "skeleton"]
    if label:
        skeletons = [s for s in skeletons if s.findtext("name") == label]
        if not skeletons:
            raise AnnotationError(path, "meta/labels", f"a skeleton label named '{label}'", "none")
    if len(skeletons) > 1:
        raise AnnotationError(
            path,
            "meta/labels",
            "one skeleton label (choose one with label=NAME)",
            ", ".join(s.findtext("name") or "" for s in skeletons),
        )
    if skeletons:
        skel = skeletons[0].findtext("name") or ""
        names, edges = _skeleton_definition(
            path, skeletons[0], [lab for lab in labels if lab.findtext("parent") == skel]
        )
    else:
        skel = ""
        names = check_names(
            path,
            "meta/labels",
            [lab.findtext("name") or "" for lab in labels if (lab.findtext("type") or "points") in ("points", "any")],
        )
        edges = []
    index = {n: i for i, n in enumerate(names)}
    out_images: list[Image] = []
    instances: list[Instance] = []
    for image in root.iter("image"):
        rec = f"image id {image.get('id')} ({image.get('name')})"
        w, h = (_number(path, rec, f"image.{a}", image.get(a)) for a in ("width", "height"))
        shapes = image.findall("skeleton") if skel else [image]
        kept = []
        for s, shape in enumerate(shapes):
            if skel and shape.get("label") != skel:
                continue
            kp = np.zeros((len(names), 3))
            seen: set[str] = set()
            for pt in shape.findall("points"):
                name = pt.get("label") or ""
                if name not in index:
                    raise AnnotationError(
                        path, "points.label", f"a point defined in meta/labels ({', '.join(names)})", f"'{name}'", rec
                    )
                if name in seen:
                    raise AnnotationError(
                        path,
                        "points.label",
                        "each point once per skeleton (one instance per image without a skeleton label)",
                        f"'{name}' twice",
                        rec,
                    )
                seen.add(name)
                if pt.get("outside", "0") == "1":
                    continue
                xy = (pt.get("points") or "").split(";")[0].split(",")
                if len(xy) != 2:
                    raise AnnotationError(path, f"points[{name}].points", "'x,y'", repr(pt.get("points")), rec)
                x, y = (_number(path, rec, f"points[{name}].points", v) for v in xy)
                kp[index[name]] = (x, y, 1 if pt.get("occluded", "0") == "1" else 2)
            if seen:
                kept.append(Instance(len(out_images), kp, f"{rec} shape {s}", track_id=_track(shape)))
        if kept:
            instances.extend(kept)
            out_images.append(Image(os.path.join(base, image.get("name") or ""), int(w), int(h), rec))
    return Imported(path, "cvat", names, edges, out_images, instances, name=skel or "cvat_points")


def _skeleton_definition(
    path: str, label: ET.Element, sublabels: list[ET.Element]
) -> tuple[list[str], list[tuple[str, str]]]:
    """Point names (svg circle order, else sub-label order) and edges of a skeleton label."""
    field = f"meta/labels/label[{label.findtext('name')}]/svg"
    svg = label.findtext("svg") or ""
    try:
        elems = list(ET.fromstring(f"<root>{svg}</root>"))
    except ET.ParseError as err:
        raise AnnotationError(path, field, "the skeleton's SVG (circles and lines)", str(err)) from None
    subnames = [s.findtext("name") or "" for s in sublabels]
    node: dict[str, str] = {}
    for n, el in enumerate(e for e in elems if e.tag == "circle"):
        name = el.get("data-label-name") or (subnames[n] if n < len(subnames) else "")
        node[el.get("data-node-id") or str(n + 1)] = name
    names = check_names(path, field, list(node.values()) or subnames)
    edges = []
    for el in elems:
        if el.tag == "line":
            a, b = el.get("data-node-from"), el.get("data-node-to")
            if a not in node or b not in node:
                raise AnnotationError(path, field, f"edges between node ids {', '.join(node)}", f"line {a} -> {b}")
            edges.append((node[a], node[b]))
    return names, edges


def _number(path: str, rec: str, field: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise AnnotationError(path, field, "a number", repr(value), rec) from None


def _track(shape: ET.Element) -> int | None:
    value = shape.get("group_id") or shape.get("track_id")
    return int(value) if value and re.fullmatch(r"\d+", value) else None


def write_cvat(
    entries: list[dict[str, Any]],
    names: list[str],
    skeleton: list[tuple[str, str]],
    sizes: dict[str, tuple[int, int]],
    label: str,
    kpt_thr: float = 0.3,
) -> str:
    """Predictions as a CVAT for images 1.1 XML file (``source="auto"`` skeletons) to upload as annotations.

    Args:
        entries: ``predictions.json`` entries (``file_name``, ``keypoints`` ``[x, y, score] * K``).
        names: the K point names (the layout's).
        skeleton: edges as name pairs.
        sizes: ``{file_name: (width, height)}``.
        label: the skeleton label's name (must match the CVAT task's skeleton label).
        kpt_thr: points scoring below it are written ``outside="1"`` (unlabelled).
    """
    node = {n: i + 1 for i, n in enumerate(names)}
    svg = "".join(
        f'<line data-type="edge" data-node-from="{node[a]}" data-node-to="{node[b]}"></line>' for a, b in skeleton
    )
    svg += "".join(
        f'<circle r="1.5" data-type="element node" data-element-id="{i}" data-node-id="{i}" '
        f"data-label-name={quoteattr(n)}></circle>"
        for n, i in node.items()
    )
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<annotations>",
        "  <version>1.1</version>",
        "  <meta>",
        "    <task>",
        f"      <size>{len(sizes)}</size>",
        "      <mode>annotation</mode>",
        "      <labels>",
        f"        <label><name>{escape(label)}</name><type>skeleton</type><attributes></attributes>"
        f"<svg>{escape(svg)}</svg></label>",
    ]
    out += [
        f"        <label><name>{escape(n)}</name><type>points</type><attributes></attributes>"
        f"<parent>{escape(label)}</parent></label>"
        for n in names
    ]
    out += ["      </labels>", "    </task>", "  </meta>"]
    by_file: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_file.setdefault(str(e["file_name"]), []).append(e)
    for i, (file_name, (w, h)) in enumerate(sizes.items()):
        out.append(f'  <image id="{i}" name={quoteattr(file_name)} width="{int(w)}" height="{int(h)}">')
        for e in by_file.get(file_name, []):
            kp = np.asarray(e["keypoints"], dtype=np.float64).reshape(len(names), 3)
            out.append(f'    <skeleton label={quoteattr(label)} source="auto" z_order="0">')
            for n, (x, y, s) in zip(names, kp):
                outside = int(not s >= kpt_thr)
                x, y = min(max(x, 0.0), w), min(max(y, 0.0), h)
                out.append(
                    f'      <points label={quoteattr(n)} source="auto" outside="{outside}" occluded="0" '
                    f'points="{x:.2f},{y:.2f}"></points>'
                )
            out.append("    </skeleton>")
        out.append("  </image>")
    out.append("</annotations>")
    return "\n".join(out) + "\n"
