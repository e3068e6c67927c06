"""What inference writes: entries as JSON lines while it runs, one JSON list at the end, overlays.

:class:`EntryWriter` appends each frame's entries to ``predictions.jsonl`` (one JSON object a
line, flushed per frame, so a crash keeps every frame done so far) and, when the run ends,
turns it into ``predictions.json`` (a JSON list, written atomically) and removes the ``.jsonl``.
A stale ``predictions.json`` of an earlier run is removed at the start, so it is never mistaken
for this run's. :class:`OverlayWriter` writes each overlay as ``overlays/<name>.jpg``, or the
frames of a video as ``overlay.mp4``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from landmarks import viz

log = logging.getLogger("landmarks")

__all__ = ["EntryWriter", "OverlayWriter"]


class EntryWriter:
    """``predictions.jsonl`` while running, ``predictions.json`` when :meth:`finish` is called.

    Args:
        out_dir: the output folder (created).
        name: the file's stem (``frames`` for the per-frame records of a video).
    """

    def __init__(self, out_dir: str, name: str = "predictions") -> None:
        os.makedirs(out_dir, exist_ok=True)
        self.path = os.path.join(out_dir, f"{name}.json")
        self.lines_path = os.path.join(out_dir, f"{name}.jsonl")
        if os.path.exists(self.path):
            os.remove(self.path)  # never leave last run's file beside this run's partial .jsonl
            log.info("infer: removed the previous %s; it is rewritten when this run ends", self.path)
        self._lines = open(self.lines_path, "w", encoding="utf-8")
        self.count = 0

    def write(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append one frame's entries and flush them to disk."""
        for entry in entries:
            self._lines.write(json.dumps(entry) + "\n")
            self.count += 1
        self._lines.flush()

    def close(self) -> None:
        """Close the ``.jsonl`` (kept: it holds everything written so far)."""
        self._lines.close()

    def finish(self, transform: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> str:
        """Close, write ``predictions.json`` atomically from the ``.jsonl`` (through ``transform``, e.g.
        offline smoothing, when given), remove the ``.jsonl``; returns the path."""
        self.close()
        with open(self.lines_path, encoding="utf-8") as f:
            results = [json.loads(line) for line in f if line.strip()]
        if transform is not None:
            results = transform(results)
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(results, f)
        os.replace(tmp, self.path)
        os.remove(self.lines_path)
        return self.path


class OverlayWriter:
    """Overlays as ``overlays/<frame name>.jpg``, or as ``overlay.mp4`` at the source's frame rate.

    A context manager: leaving it releases the video file.

    Args:
        out_dir: the output folder.
        video: write one video instead of one picture per frame.
        fps: the video's frames per second (the source's).
    """

    def __init__(self, out_dir: str, video: bool, fps: float = 25.0) -> None:
        self.out_dir = out_dir
        self.video = video
        self.fps = float(fps)
        self._writer: cv2.VideoWriter | None = None

    def write(self, name: str, overlay: np.ndarray) -> None:
        """Write the overlay of frame ``name`` (``(H, W, 3)`` uint8 RGB)."""
        if not self.video:
            viz.save_image(os.path.join(self.out_dir, "overlays", os.path.splitext(name)[0] + ".jpg"), overlay)
            return
        writer = self._writer
        if writer is None:
            h, w = overlay.shape[:2]
            writer = self._writer = cv2.VideoWriter(
                os.path.join(self.out_dir, "overlay.mp4"), cv2.VideoWriter.fourcc(*"mp4v"), self.fps, (w, h)
            )
        writer.write(cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        """Release the video file, if one was opened."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> OverlayWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
