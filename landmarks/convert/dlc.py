"""DeepLabCut labelled data (``CollectedData_<scorer>.csv`` / ``.h5``) -> :class:`Imported`.

Format (DeepLabCut user guide, "Label frames"; the files ``deeplabcut.label_frames`` writes):
a pandas table whose column header rows are ``scorer`` / (``individuals`` for multi-animal
projects) / ``bodyparts`` / ``coords`` (``x``, ``y``), one row per labelled frame, indexed by the
image path (one column ``labeled-data/<video>/img012.png``, or three columns ``labeled-data``,
``<video>``, ``img012.png`` since DLC 2.2). An unlabelled point is empty (NaN) -> v = 0; DLC has
no visibility flag, so a labelled point is v = 2. The label definition is the project's
``config.yaml`` (``bodyparts`` or ``multianimalbodyparts`` + ``uniquebodyparts``, and
``skeleton``), found in the folders above the file or given as ``config=``; a body part of the
table missing from it is an error. Each ``individuals`` value is one instance (``track_id``).

sleap-io reads these files too (``sio.load_dlc``) but drops the frames whose image it cannot
find without a word; this reader makes that an error naming the row instead. The ``.h5`` twin
needs pandas with PyTables; the ``.csv`` DLC writes beside it holds the same table.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from typing import Any

import numpy as np
import yaml

from landmarks.convert.records import Image, Imported, Instance, check_names
from landmarks.data.formats.errors import AnnotationError

LOGGER = logging.getLogger("landmarks")


def _rows(path: str) -> list[list[str]]:
    if path.endswith(".h5"):
        try:
            import pandas as pd

            df = pd.read_hdf(path)
        except ImportError as err:
            raise AnnotationError(
                path,
                "<h5>",
                "pandas with PyTables to read a DLC .h5 (or read the CollectedData_*.csv DLC writes beside it)",
                str(err),
            ) from None
        if not isinstance(df, pd.DataFrame):
            raise AnnotationError(path, "<h5>", "one DLC table (a DataFrame)", type(df).__name__)
        levels = list(df.columns.names)
        rows = [[str(name)] + [str(c[i]) for c in df.columns] for i, name in enumerate(levels)]
        return rows + [
            ["/".join(idx) if isinstance(idx, tuple) else str(idx)] + ["" if v != v else repr(float(v)) for v in row]
            for idx, row in df.iterrows()
        ]
    try:
        with open(path, newline="") as f:
            return [row for row in csv.reader(f)]
    except (OSError, UnicodeDecodeError) as err:
        raise AnnotationError(path, "<csv>", "a DeepLabCut CollectedData CSV", str(err)) from None


def _find_config(path: str) -> str | None:
    d = os.path.dirname(os.path.abspath(path))
    for _ in range(4):
        cand = os.path.join(d, "config.yaml")
        if os.path.isfile(cand):
            return cand
        d = os.path.dirname(d)
    return None


def read_dlc(path: str, config: str | None = None) -> Imported:
    """Read a DeepLabCut ``CollectedData_*.csv`` (or ``.h5``).

    Args:
        path: the labelled-data table.
        config: the project's ``config.yaml`` (default: the first found in the folders above).
    """
    rows = _rows(path)
    heads = {r[0]: n for n, r in enumerate(rows[:4]) if r and r[0] in ("scorer", "individuals", "bodyparts", "coords")}
    if "scorer" not in heads or "bodyparts" not in heads or "coords" not in heads:
        raise AnnotationError(
            path,
            "header rows",
            "DeepLabCut header rows scorer / [individuals] / bodyparts / coords",
            f"first cells {[r[0] if r else '' for r in rows[:4]]}",
        )
    scorer = rows[heads["scorer"]]
    n_index = next((i for i in range(1, len(scorer)) if scorer[i]), len(scorer))
    parts = rows[heads["bodyparts"]][n_index:]
    coords = rows[heads["coords"]][n_index:]
    indiv = rows[heads["individuals"]][n_index:] if "individuals" in heads else [""] * len(parts)
    first_data = max(heads.values()) + 1
    config = config or _find_config(path)
    cfg: dict[str, Any] = {}
    if config:
        with open(config) as f:
            cfg = yaml.safe_load(f) or {}
    table_names = list(dict.fromkeys(parts))
    if config and cfg:
        names = list(cfg.get("multianimalbodyparts") or cfg.get("bodyparts") or []) + list(
            cfg.get("uniquebodyparts") or []
        )
        names = check_names(config, "bodyparts", [n for n in dict.fromkeys(names)])
        extra = [n for n in table_names if n not in names]
        if extra:
            raise AnnotationError(
                path,
                "bodyparts",
                f"body parts declared in {config} ({', '.join(names)})",
                f"{', '.join(extra)} (keypoints without a label definition)",
            )
        skeleton = [tuple(e) for e in cfg.get("skeleton") or [] if isinstance(e, list) and len(e) == 2]
    else:
        LOGGER.warning("%s: no config.yaml found: body parts in table order, no skeleton", path)
        names, skeleton = check_names(path, "bodyparts", table_names), []
    index = {n: i for i, n in enumerate(names)}
    columns: dict[str, dict[str, dict[str, int]]] = {}  # individual -> part -> coord -> column
    for c, (ind, part, coord) in enumerate(zip(indiv, parts, coords)):
        slot = columns.setdefault(ind, {}).setdefault(part, {})
        if coord in slot:
            raise AnnotationError(path, "bodyparts", "each body part once per individual", f"'{part}' twice")
        slot[coord] = c + n_index
    root = _project_root(path)
    images, instances = [], []
    for r, row in enumerate(rows[first_data:], start=first_data + 1):
        if not any(row):
            continue
        rel = "/".join(p for p in row[:n_index] if p)
        rec = f"row {r} ({rel})"
        img_path = next((os.path.join(b, rel) for b in root if os.path.isfile(os.path.join(b, rel))), None)
        if img_path is None:
            raise AnnotationError(
                path, "index (image path)", f"an image file under {root[0]}", f"{rel}: missing frame", rec
            )
        width, height = _image_size(img_path)
        kept = []
        for ind, part_cols in columns.items():
            kp = np.zeros((len(names), 3))
            for part, cols in part_cols.items():
                if "x" not in cols or "y" not in cols:
                    raise AnnotationError(
                        path, "coords", "x and y columns for each body part", f"{sorted(cols)} for '{part}'"
                    )
                x, y = (
                    _float(path, rec, f"{part}.{a}", row[cols[a]] if cols[a] < len(row) else "") for a in ("x", "y")
                )
                if not (math.isnan(x) or math.isnan(y)):
                    kp[index[part]] = (x, y, 2)
            if (kp[:, 2] > 0).any():
                kept.append(Instance(len(images), kp, f"{rec} individual {ind or '-'}", track_id=ind or None))
        if kept:
            images.append(Image(img_path, width, height, rec))
            instances += kept
    return Imported(
        path,
        "dlc",
        names,
        skeleton,
        images,
        instances,
        name=str(cfg.get("Task") or os.path.basename(os.path.dirname(path)) or "dlc"),
    )


def _project_root(path: str) -> list[str]:
    """Folders the table's image paths may be relative to: the project root first."""
    d = os.path.dirname(os.path.abspath(path))
    return [os.path.dirname(os.path.dirname(d)), d, os.path.dirname(d)]


def _float(path: str, rec: str, field: str, value: str) -> float:
    if value.strip() == "":
        return math.nan
    try:
        return float(value)
    except ValueError:
        raise AnnotationError(path, field, "a number or an empty cell", repr(value), rec) from None


def _image_size(path: str) -> tuple[int, int]:
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            return int(im.width), int(im.height)
    except OSError as err:
        raise AnnotationError(path, "<image>", "a readable image", str(err)) from None
