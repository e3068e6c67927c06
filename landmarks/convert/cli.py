"""``scripts/convert.py``: import a tool's export, convert skeletons, export predictions back.

Arguments are ``key=value`` words, as for the Hydra entry points::

    from=cvat|labelstudio|labelme|dlc|sleap|coco src=PATH out=DIR
        [images=DIR] [labels=FILE] [config=config.yaml] [label=NAME] [layout=LAYOUT]
        [target=LAYOUT] [derive=true] [val_every=5]
    to=cvat|labelstudio src=predictions.json layout=LAYOUT images=DIR out=DIR
        [label=NAME] [kpt_thr=0.3] [image_prefix=/data/local-files/?d=]

``LAYOUT``: a layout YAML file or a built-in name (``coco17``, ``mpii16``, ... see
:mod:`landmarks.convert.skeletons`). ``target=`` re-expresses the import in that layout.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import numpy as np

from landmarks.convert.cvat import read_cvat, write_cvat
from landmarks.convert.dlc import read_dlc
from landmarks.convert.labelme import read_labelme
from landmarks.convert.labelstudio import labeling_config, read_labelstudio, write_labelstudio
from landmarks.convert.records import Image, Imported, Instance
from landmarks.convert.skeletons import convert_keypoints, joint_map, load_layout
from landmarks.convert.write import write_dataset, write_files
from landmarks.data.formats.errors import AnnotationError

LOGGER = logging.getLogger("landmarks")
TOOLS = ("cvat", "labelstudio", "labelme", "dlc", "sleap", "coco")
KEYS = {
    "from",
    "to",
    "src",
    "out",
    "images",
    "labels",
    "config",
    "label",
    "layout",
    "target",
    "derive",
    "val_every",
    "kpt_thr",
    "image_prefix",
}


def parse(argv: list[str]) -> dict[str, str]:
    """``key=value`` words -> dict; unknown keys and missing ``src``/``out`` are errors."""
    args = {}
    for word in argv:
        key, sep, value = word.partition("=")
        if not sep or key not in KEYS:
            raise SystemExit(f"convert: expected key=value with a key among {', '.join(sorted(KEYS))}, got {word!r}")
        args[key] = value
    if ("from" in args) == ("to" in args):
        raise SystemExit("convert: give exactly one of from=TOOL (import) or to=cvat|labelstudio (export)")
    for key in ("src", "out"):
        if key not in args:
            raise SystemExit(f"convert: missing {key}=...")
    return args


def run(argv: list[str]) -> dict[str, str]:
    """Run one conversion; returns the paths written."""
    args = parse(argv)
    return do_import(args) if "from" in args else do_export(args)


def do_import(args: dict[str, str]) -> dict[str, str]:
    """``from=TOOL``: read, optionally map onto ``target``, write the data set folder."""
    tool, src, out = args["from"], args["src"], args["out"]
    frames: dict[str, bytes] = {}
    if tool == "cvat":
        imported = read_cvat(src, args.get("images"), args.get("label"))
    elif tool == "labelstudio":
        imported = read_labelstudio(src, args.get("images"), args.get("labels"))
    elif tool == "labelme":
        imported = read_labelme(src, args.get("labels"))
    elif tool == "dlc":
        imported = read_dlc(src, args.get("config"))
    elif tool == "sleap":
        from landmarks.convert.sleap import read_sleap

        imported, frames = read_sleap(src, out)
    elif tool == "coco":
        imported = read_coco(src, args.get("layout") or "coco17", args.get("images"))
    else:
        raise SystemExit(f"convert: from= expects one of {', '.join(TOOLS)}, got {tool!r}")
    derived = None
    if args.get("target"):
        imported, derived = retarget(imported, args["target"], args.get("derive", "false").lower() == "true")
    return write_dataset(imported, out, int(args.get("val_every", 5)), derived, frames)


def retarget(imported: Imported, target: str, derive: bool) -> tuple[Imported, list[list[str]]]:
    """``imported`` in the ``target`` layout; joints it lacks are v = 0, derived ones flagged."""
    spec = load_layout(target)
    jm = joint_map(imported.names, spec.names)
    if jm.dropped:
        LOGGER.warning("%s: %s has no %s: dropped", imported.source, spec.name, ", ".join(jm.dropped))
    kp = np.stack([inst.keypoints for inst in imported.instances])
    new, flags = convert_keypoints(kp, imported.names, spec.names, derive)
    instances = [Instance(i.image, k, i.record, i.group, i.track_id) for i, k in zip(imported.instances, new)]
    names = list(spec.names)
    return Imported(
        imported.source,
        imported.tool,
        names,
        [(names[a], names[b]) for a, b in spec.skeleton],
        imported.images,
        instances,
        [(names[a], names[b]) for a, b in spec.flip_pairs],
        spec.name,
        list(spec.sigmas) if spec.sigmas else None,
        imported.notes,
    ), flags


def read_coco(path: str, layout: str, images: str | None) -> Imported:
    """A COCO keypoint JSON in a known layout (the source of a skeleton conversion)."""
    spec = load_layout(layout)
    with open(path) as f:
        doc = json.load(f)
    base = images or os.path.dirname(os.path.dirname(os.path.abspath(path)))
    ids = {im["id"]: n for n, im in enumerate(doc.get("images", []))}
    imgs = [
        Image(os.path.join(base, im["file_name"]), int(im["width"]), int(im["height"]), f"image id {im['id']}")
        for im in doc.get("images", [])
    ]
    instances = []
    for a in doc.get("annotations", []):
        kp = np.asarray(a.get("keypoints", []), dtype=np.float64)
        if kp.size != 3 * spec.num_keypoints:
            raise AnnotationError(
                path,
                "keypoints",
                f"3*K = {3 * spec.num_keypoints} values (layout {spec.name})",
                f"{kp.size}",
                f"annotation id {a.get('id')}",
            )
        instances.append(
            Instance(
                ids[a["image_id"]],
                kp.reshape(-1, 3),
                f"annotation id {a.get('id')}",
                str(a["instance_id"]) if "instance_id" in a else None,
                a.get("track_id"),
            )
        )
    return Imported(
        path,
        "coco",
        list(spec.names),
        [(spec.names[a], spec.names[b]) for a, b in spec.skeleton],
        imgs,
        instances,
        [(spec.names[a], spec.names[b]) for a, b in spec.flip_pairs],
        spec.name,
        list(spec.sigmas) if spec.sigmas else None,
    )


def do_export(args: dict[str, str]) -> dict[str, str]:
    """``to=cvat|labelstudio``: predictions.json -> pre-annotations the tool imports."""
    from PIL import Image as PILImage

    spec = load_layout(args.get("layout") or "")
    with open(args["src"]) as f:
        entries: list[dict[str, Any]] = json.load(f)
    images = args.get("images") or os.path.dirname(args["src"])
    sizes: dict[str, tuple[int, int]] = {}
    for n, e in enumerate(entries):
        if len(e.get("keypoints", [])) != 3 * spec.num_keypoints:
            raise AnnotationError(
                args["src"],
                "keypoints",
                f"3*K = {3 * spec.num_keypoints} values (layout {spec.name})",
                len(e.get("keypoints", [])),
                f"entry {n}",
            )
        name = str(e["file_name"])
        if name not in sizes:
            try:
                with PILImage.open(os.path.join(images, name)) as im:
                    sizes[name] = (im.width, im.height)
            except OSError as err:
                raise AnnotationError(
                    args["src"], "file_name", f"an image under images={images}", str(err), f"entry {n}"
                ) from None
    thr = float(args.get("kpt_thr", 0.3))
    names = list(spec.names)
    if args["to"] == "cvat":
        text = write_cvat(
            entries, names, [(names[a], names[b]) for a, b in spec.skeleton], sizes, args.get("label") or spec.name, thr
        )
        files = {"annotations.xml": text.encode()}
    elif args["to"] == "labelstudio":
        tasks = write_labelstudio(entries, names, sizes, args.get("image_prefix", "/data/local-files/?d="), thr)
        files = {
            "tasks.json": json.dumps(tasks, indent=1).encode(),
            "labeling_config.xml": labeling_config(names).encode(),
        }
    else:
        raise SystemExit(f"convert: to= expects cvat or labelstudio, got {args['to']!r}")
    return write_files(args["out"], files)
