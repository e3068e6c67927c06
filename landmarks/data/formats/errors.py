"""Shared error type, bad-sample policy and image loading for the annotation readers.

Every reader in ``landmarks/data/formats/`` reports a problem with an
:class:`AnnotationError` that names the file, the field, what was expected and what was
found. What happens to an instance with such a problem is decided by one
:class:`BadSamplePolicy` (``on_bad_sample="error" | "skip"``), so all readers behave the
same. A new reader (e.g. ``wflw.py``) parses its file with :func:`read_json`, builds one
policy from its ``on_bad_sample`` argument, routes every per-instance problem through
:meth:`BadSamplePolicy.handle`, and subclasses :class:`.reader.InstanceReader`, whose
``__getitem__`` runs its ``_load`` (decoding the image with :func:`load_image_rgb`) inside
:meth:`BadSamplePolicy.load_first`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import cv2
import numpy as np

from landmarks.data.formats.image_check import image_problem

LOGGER = logging.getLogger("landmarks.data")

T = TypeVar("T")
R = TypeVar("R")


class AnnotationError(ValueError):
    """A problem in an annotation file (or in a file it points to).

    Args:
        file: the file that holds the problem (annotation file or image file).
        field: the field at fault, e.g. ``"keypoints"`` or ``"images[].file_name"``.
        expected: what the field should hold.
        got: what was found.
        where: optional location inside the file, e.g. ``"annotation id 42"``.
    """

    def __init__(self, file: str, field: str, expected: str, got: Any, where: str | None = None) -> None:
        self.file = str(file)
        self.field = field
        self.expected = expected
        self.got = got
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{self.file}{location}: field '{field}': expected {expected}, got {got}")


class BadSamplePolicy:
    """What a reader does with an instance whose annotation or image is unusable.

    ``"error"`` raises the :class:`AnnotationError`; ``"skip"`` logs one warning per
    instance on the ``landmarks.data`` logger (naming the file and field) and goes on.
    Skipped instances are counted in :attr:`skipped`, never dropped silently.

    Args:
        on_bad_sample: ``"error"`` or ``"skip"``.
        owner: name used in messages about the option itself (e.g. the reader's file).

    Raises:
        ValueError: ``on_bad_sample`` is not one of :attr:`ALLOWED`.
    """

    ALLOWED: tuple[str, ...] = ("error", "skip")

    def __init__(self, on_bad_sample: str = "error", owner: str = "") -> None:
        if on_bad_sample not in self.ALLOWED:
            prefix = f"{owner}: " if owner else ""
            raise ValueError(
                f"{prefix}on_bad_sample={on_bad_sample!r} is not allowed; expected one of "
                f"{', '.join(repr(a) for a in self.ALLOWED)}"
            )
        self.mode = on_bad_sample
        self.owner = owner
        self.skipped = 0
        self._unloadable: set[int] = set()
        self._last_error = AnnotationError("?", "image", "a loadable instance", "none tried")

    def handle(self, error: AnnotationError) -> None:
        """Raise ``error`` (mode ``"error"``) or log it and count one skip (mode ``"skip"``)."""
        if self.mode == "error":
            raise error
        self.skipped += 1
        LOGGER.warning("skipping bad sample: %s", error)

    def keep(self, items: Iterable[R], check: Callable[[R], T]) -> list[T]:
        """``check(item)`` of every item, in order, leaving out the items whose check fails.

        A check that raises :class:`AnnotationError` goes to :meth:`handle`: raised in mode
        ``"error"``, logged and counted in mode ``"skip"``.
        """
        kept: list[T] = []
        for item in items:
            try:
                kept.append(check(item))
            except AnnotationError as err:
                self.handle(err)
        return kept

    def none_kept(self, file: str, field: str, expected: str, tried: str) -> AnnotationError:
        """The error of a reader that kept no face: ``0 faces (<tried>, <skipped> bad and skipped)``."""
        return AnnotationError(file, field, expected, f"0 faces ({tried}, {self.skipped} bad and skipped)")

    def load_at(self, index: int, count: int, load: Callable[[int], T], what: str) -> T:
        """A reader's ``__getitem__``: ``index`` checked (negatives wrap), then :meth:`load_first`.

        Raises:
            IndexError: ``index`` outside ``[-count, count)``; the message starts with ``what``.
        """
        if not -count <= index < count:
            raise IndexError(f"{what}: index {index} out of range [0, {count})")
        return self.load_first(index % count, count, load)

    def load_first(self, index: int, count: int, load: Callable[[int], T]) -> T:
        """Return ``load(index)``, or in skip mode the next index whose load succeeds.

        Used by readers' ``__getitem__`` for problems found only when the image is
        decoded (a corrupt file). In ``"skip"`` mode the failure is logged and the
        following instance (cyclically) is returned instead, like a re-fetch; use
        ``"error"`` for evaluation, where every instance must be its own. A failed index
        is remembered, so it is logged and counted once, not at every epoch.

        Args:
            index: the requested instance index, ``0 <= index < count``.
            count: the number of instances in the reader.
            load: builds the instance at an index; raises :class:`AnnotationError`.

        Raises:
            AnnotationError: in ``"error"`` mode, or when no instance loads at all.
        """
        for step in range(count):
            current = (index + step) % count
            if current in self._unloadable:
                continue
            try:
                return load(current)
            except AnnotationError as err:
                self.handle(err)
                self._unloadable.add(current)
                self._last_error = err
        last = self._last_error
        raise AnnotationError(
            last.file,
            last.field,
            "at least one instance whose image loads",
            f"all {count} instances failed (logged above); the last: {last}",
        )


def read_json(path: str) -> Any:
    """Parse a JSON annotation file.

    Raises:
        AnnotationError: the file is missing or is not valid JSON (with line and column).
    """
    if not os.path.isfile(path):
        raise AnnotationError(path, "<file>", "an existing JSON annotation file", "no such file")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise AnnotationError(
            path,
            "<json>",
            "valid JSON",
            f"a syntax error at line {err.lineno} column {err.colno} (char {err.pos}): {err.msg}",
        ) from err


def load_image_rgb(path: str, field: str = "image", source: str | None = None) -> np.ndarray:
    """Read an image file as RGB, refusing a truncated or corrupt JPEG / PNG.

    The file is read once; :func:`~landmarks.data.formats.image_check.image_problem` walks
    its structure (a JPEG must reach its end-of-image marker, a PNG its ``IEND`` with every
    chunk's CRC intact), then ``cv2.imdecode`` decodes it exactly as ``cv2.imread`` would
    (EXIF orientation applied). OpenCV alone accepts a truncated JPEG and fills the missing
    rows with grey.

    Args:
        path: the image file.
        field: the annotation field that named the file (for the message).
        source: the annotation file that named it (for the message), if any.

    Returns:
        ``(H, W, 3)`` uint8 RGB; grey images are expanded to 3 channels, alpha is dropped.

    Raises:
        AnnotationError: the file is missing, truncated or corrupt, or is not an image
            OpenCV can decode. The message names ``path`` and the reason.
    """
    where = f"named by {source}" if source else None
    if not os.path.isfile(path):
        raise AnnotationError(path, field, "an existing image file", "no such file (missing)", where)
    with open(path, "rb") as f:
        data = f.read()
    problem = image_problem(data)
    if problem is not None:
        raise AnnotationError(path, field, "a complete image file", f"a file of {len(data)} bytes: {problem}", where)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise AnnotationError(
            path,
            field,
            "a decodable image (jpg/png/...)",
            f"a file of {len(data)} bytes that OpenCV cannot decode (corrupt or not an image)",
            where,
        )
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_json_list(path: str, expected: str) -> list[Any]:
    """Parse a JSON annotation file whose top level must be a list.

    Args:
        path: the file.
        expected: what the list should hold, for the message (e.g. ``"a list of {image, joints}"``).

    Raises:
        AnnotationError: as :func:`read_json`, or the top level is not a list (field ``<top level>``).
    """
    data = read_json(path)
    if not isinstance(data, list):
        raise AnnotationError(path, "<top level>", expected, type(data).__name__)
    return data
