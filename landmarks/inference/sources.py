"""What inference reads: the frames of an image file, a folder, a glob pattern or a video.

:func:`iter_frames` yields :class:`Frame` objects (RGB image, name, id, and the keys a detection
file may call it by, :mod:`landmarks.inference.det_file`). An image that cannot be decoded is
skipped with a warning naming it, or raises (``on_bad_image``). To read a sibling source (a
camera, a stream), yield :class:`Frame` objects the same way.
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from landmarks.data.formats.errors import AnnotationError, load_image_rgb
from landmarks.inference.det_file import Key, image_key

log = logging.getLogger("landmarks")

__all__ = ["IMAGE_EXTENSIONS", "ON_BAD_IMAGE", "VIDEO_EXTENSIONS", "Frame", "is_video", "iter_frames"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
ON_BAD_IMAGE = ("skip", "error")


@dataclass
class Frame:
    """One picture to predict on.

    Attributes:
        name: file name (no folders) or ``frame_000123`` for a video frame.
        image: ``(H, W, 3)`` uint8 RGB.
        image_id: the id written in the entries (the number in the file name, else the index).
        keys: what detection-file entries may call it (:func:`landmarks.inference.det_file.image_key`).
    """

    name: str
    image: np.ndarray
    image_id: int
    keys: tuple[Key, ...] = ()


def is_video(source: str) -> bool:
    """``source`` is a video file (by its extension, :data:`VIDEO_EXTENSIONS`)."""
    return os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS)


def iter_frames(source: str, on_bad_image: str = "skip", skipped: list[str] | None = None) -> Iterator[Frame]:
    """Frames of an image file, a folder, a glob pattern, or a video file.

    Args:
        source: an image, a folder, a glob or a video.
        on_bad_image: an image that cannot be decoded (missing, corrupt, truncated:
            :func:`landmarks.data.formats.errors.load_image_rgb`): ``"skip"`` logs a warning
            naming it and goes on, ``"error"`` raises.
        skipped: receives the paths of skipped images.

    Raises:
        AnnotationError: an unreadable image with ``on_bad_image="error"``.
        FileNotFoundError: ``source`` names no image, folder, glob match or video.
        ValueError: a bad ``on_bad_image``, or a video that cannot be opened.
    """
    if on_bad_image not in ON_BAD_IMAGE:
        raise ValueError(f"on_bad_image: expected one of {', '.join(ON_BAD_IMAGE)}, got {on_bad_image!r}")
    if is_video(source):
        yield from _video_frames(source)
        return
    if os.path.isdir(source):
        paths = sorted(p for p in glob.glob(os.path.join(source, "*")) if p.lower().endswith(IMAGE_EXTENSIONS))
    elif os.path.isfile(source):
        paths = [source]
    else:
        paths = sorted(p for p in glob.glob(source) if p.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise FileNotFoundError(
            f"source: '{source}' is not an image, a folder of images, a glob matching images, or a video"
        )
    for i, path in enumerate(paths):
        try:
            image = load_image_rgb(path, field="source")
        except AnnotationError as err:
            if on_bad_image == "error":
                err.add_note("(infer: on_bad_image=skip goes on without it)")
                raise
            log.warning("infer: skipping unreadable image %s (on_bad_image=skip)", err)
            if skipped is not None:
                skipped.append(path)
            continue
        key = image_key(path)
        yield Frame(os.path.basename(path), image, key if isinstance(key, int) else i, (key,))


def _video_frames(source: str) -> Iterator[Frame]:
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise ValueError(f"source: cannot open video '{source}'")
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            name = f"frame_{i:06d}"
            yield Frame(name, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), i, (i, name))
            i += 1
    finally:
        cap.release()
