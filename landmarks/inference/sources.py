"""What inference reads: the frames of an image file, a folder, a glob pattern, a video or a camera.

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

__all__ = [
    "IMAGE_EXTENSIONS",
    "ON_BAD_IMAGE",
    "VIDEO_EXTENSIONS",
    "Frame",
    "is_video",
    "is_webcam",
    "iter_frames",
    "source_fps",
]

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
    """``source`` is a video file (by its extension, :data:`VIDEO_EXTENSIONS`) or a camera (``webcam:N``)."""
    return is_webcam(source) or (os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS))


def is_webcam(source: str) -> bool:
    """``source`` names a camera: ``webcam:N`` (OpenCV device index ``N``)."""
    return source.startswith("webcam:")


def source_fps(source: str) -> float | None:
    """Frames per second of a video file or camera (``None`` for images or when the container does not say)."""
    if not is_video(source):
        return None
    cap = _open_video(source)
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    finally:
        cap.release()
    return fps if 0.0 < fps < 1000.0 else None


def _open_video(source: str) -> cv2.VideoCapture:
    """An opened capture of a video file or ``webcam:N``; a clear error naming it otherwise."""
    if is_webcam(source):
        index = source.split(":", 1)[1]
        if not index.isdigit():
            raise ValueError(f"source: '{source}': expected webcam:N with N the camera index, e.g. webcam:0")
        cap = cv2.VideoCapture(int(index))
        if not cap.isOpened():
            raise ValueError(f"source: cannot open camera {index} ('{source}'): no such device, or it is busy")
        return cap
    if os.path.getsize(source) == 0:
        raise ValueError(f"source: video '{source}' is empty (0 bytes)")
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise ValueError(f"source: cannot open video '{source}' (unreadable or not a video OpenCV can decode)")
    return cap


def iter_frames(source: str, on_bad_image: str = "skip", skipped: list[str] | None = None) -> Iterator[Frame]:
    """Frames of an image file, a folder, a glob pattern, or a video file.

    Args:
        source: an image, a folder (its images in name order: also the frames of a clip), a glob,
            a video file or ``webcam:N``.
        on_bad_image: an image that cannot be decoded (missing, corrupt, truncated:
            :func:`landmarks.data.formats.errors.load_image_rgb`): ``"skip"`` logs a warning
            naming it and goes on, ``"error"`` raises.
        skipped: receives the paths of skipped images.

    Raises:
        AnnotationError: an unreadable image with ``on_bad_image="error"``.
        FileNotFoundError: ``source`` names no image, folder, glob match or video.
        ValueError: a bad ``on_bad_image``, or a video / camera that cannot be opened, is empty or
            has no decodable frame (the name is in the message; a video that ends before its header's
            frame count is a warning).
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
    cap = _open_video(source)
    expected = 0 if is_webcam(source) else int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    i = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            name = f"frame_{i:06d}"
            yield Frame(name, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), i, (i, name))
            i += 1
    finally:
        cap.release()
    if i == 0 and not is_webcam(source):
        raise ValueError(f"source: video '{source}' has no frame OpenCV can decode")
    if expected > 0 and i < expected - 1:  # containers often count one frame too many
        log.warning("infer: video %s ended after %d of the %d frames its header announces", source, i, expected)
