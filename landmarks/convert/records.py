"""The one in-memory form every tool reader produces: :class:`Imported`.

A reader (``cvat.py``, ``labelstudio.py``, ``labelme.py``, ``dlc.py``, ``sleap.py``) parses its
tool's export into images, instances (``(K, 3)`` keypoints ``x, y, v`` in image pixels, COCO
visibility: 0 unlabelled, 1 labelled but hidden, 2 visible) and the tool's own label definition
(names, skeleton edges, flip pairs where the tool stores them). :func:`check` then applies the
rules every tool shares (unique names, coordinates inside the image, finite values) and
:mod:`landmarks.convert.write` turns the result into a COCO keypoint JSON and a layout YAML.

A sibling reader returns an :class:`Imported`; it raises
:class:`~landmarks.data.formats.errors.AnnotationError` naming the file, the record and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.from_yaml import check_keypoint_names

#: What a reader keeps of one point (its coordinates, maybe a visibility).
P = TypeVar("P")


@dataclass
class Image:
    """One picture of the data set.

    Attributes:
        path: absolute path of the image file (written or found on disk).
        width: pixels.
        height: pixels.
        record: where it came from in the export, for messages (``"image id 3 (a.jpg)"``).
    """

    path: str
    width: int
    height: int
    record: str


@dataclass
class Instance:
    """One labelled object.

    Attributes:
        image: index into :attr:`Imported.images`.
        keypoints: ``(K, 3)`` float64 ``x, y, v`` in image px (``v`` 0 / 1 / 2).
        record: where it came from in the export, for messages.
        group: instances of one image with the same group are repeated annotations of one
            object (several annotators); ``None``: a distinct object.
        track_id: the tool's track / individual id, kept in the COCO output when given.
    """

    image: int
    keypoints: np.ndarray
    record: str
    group: str | None = None
    track_id: int | str | None = None


@dataclass
class Imported:
    """A tool export in memory.

    Attributes:
        source: the export file (or folder) read.
        tool: ``"cvat"``, ``"labelstudio"``, ...
        names: the K keypoint names, in the tool's order.
        skeleton: edges as pairs of names.
        images: every image (frame) that holds an instance.
        instances: every labelled object.
        flip_pairs: pairs of names the tool itself declares (SLEAP symmetries); ``None`` when
            the tool has none and the pairs are derived from the names.
        name: the layout name written to the YAML.
        sigmas: OKS sigmas the layout already has (a built-in target layout); repeats override them.
        notes: counted, not used (e.g. ``{"predicted instances": 3}``); logged by the writer.
    """

    source: str
    tool: str
    names: list[str]
    skeleton: list[tuple[str, str]]
    images: list[Image]
    instances: list[Instance]
    flip_pairs: list[tuple[str, str]] | None = None
    name: str = "imported"
    sigmas: list[float] | None = None
    notes: dict[str, int] = field(default_factory=dict)


def check_names(source: str, field_name: str, names: list[str]) -> list[str]:
    """``names`` when non-empty, unique, non-blank strings, else an :class:`AnnotationError`."""
    if not names:
        raise AnnotationError(source, field_name, "at least one keypoint name in the label definition", "none")
    return list(check_keypoint_names(source, field_name, names))


def add_instance_point(
    groups: dict[str, dict[str, P]],
    group: str,
    label: str,
    point: P,
    file: str,
    field_name: str,
    hint: str,
    got: str,
    where: str | None = None,
) -> None:
    """Puts ``point`` as keypoint ``label`` of instance ``group``; a keypoint given twice in one instance is an error.

    Args:
        groups: ``{instance: {label: point}}``, filled in place.
        group: the instance the tool groups the point into (a group id, a region).
        label: the keypoint name.
        point: what the reader keeps of the point.
        file: the export file, for the message.
        field_name: the field that holds the label, for the message.
        hint: how the tool tells instances apart, for the message.
        got: what was found, for the message.
        where: the record, for the message.

    Raises:
        AnnotationError: ``label`` is already in instance ``group``.
    """
    inst = groups.setdefault(group, {})
    if label in inst:
        raise AnnotationError(file, field_name, f"each keypoint once per instance ({hint})", got, where)
    inst[label] = point


def check(imported: Imported) -> Imported:
    """The rules every tool shares; returns ``imported`` unchanged.

    Raises:
        AnnotationError: duplicate or blank names, a skeleton edge naming an unknown keypoint, an
            instance with a keypoint count other than K, a non-finite labelled coordinate, a
            labelled keypoint outside its image (``0 <= x <= width``, ``0 <= y <= height``), or
            no instance at all. Each names the source, the record and the field.
    """
    src = imported.source
    names = check_names(src, "keypoint names", imported.names)
    for a, b in imported.skeleton:
        for n in (a, b):
            if n not in names:
                raise AnnotationError(
                    src,
                    "skeleton",
                    f"edges between defined keypoints ({', '.join(names)})",
                    f"edge [{a}, {b}] names '{n}'",
                )
    if not imported.instances:
        raise AnnotationError(src, "<annotations>", "at least one labelled instance", "none")
    k = len(names)
    for inst in imported.instances:
        kp = inst.keypoints
        if kp.shape != (k, 3):
            raise AnnotationError(src, "keypoints", f"K = {k} keypoints", f"shape {kp.shape}", inst.record)
        img = imported.images[inst.image]
        for j in range(k):
            x, y, v = kp[j]
            if v <= 0:
                continue
            if not (np.isfinite(x) and np.isfinite(y)):
                raise AnnotationError(src, f"keypoint '{names[j]}'", "finite x, y", f"({x}, {y})", inst.record)
            if not (0 <= x <= img.width and 0 <= y <= img.height):
                raise AnnotationError(
                    src,
                    f"keypoint '{names[j]}'",
                    f"a point inside the {img.width} x {img.height} image {img.path}",
                    f"({x:g}, {y:g})",
                    inst.record,
                )
    return imported
