"""Offline smoothing of a finished video's entries: Savitzky-Golay along each track.

``infer.py source=VIDEO smoothing.offline=savgol``: the frames are tracked without the online
filter, and when the last frame is done, every track's keypoints (``x, y`` of the entries'
``keypoints``; scores are kept) and head-pose angles (``euler`` and ``yaw`` / ``pitch`` / ``roll``,
unwrapped along the track first, so -179 -> 179 is a step of 2 degrees, then wrapped back to
[-180, 180)) are smoothed with :func:`~landmarks.inference.smoothing.savgol_track` (Savitzky and
Golay, Anal. Chem. 1964). A filter that sees the frames after each one does not lag, which an online
filter must (docs/video.md). A track is smoothed over its runs of consecutive frames: a gap splits it.

Entries without a ``track_id`` (or with -1) are left as they are, and so is every field this module
does not name (``pnp_euler``, RLE ``scale``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.inference.smoothing import savgol_track

__all__ = ["savgol_entries"]


def _smooth_track(out: list[dict[str, Any]], members: list[int], frames: list[int], window: int, order: int) -> None:
    """Smooth the keypoints and angles of one track's entries (``members``, in frame order), in place."""
    kp = [out[j].get("keypoints") or [] for j in members]
    if kp[0] and all(len(k) == len(kp[0]) for k in kp):
        xys = np.asarray(kp, np.float64).reshape(len(members), -1, 3)
        if np.isfinite(xys[..., :2]).all():  # a NaN keypoint: this track stays as predicted
            xys[..., :2] = savgol_track(frames, xys[..., :2], window, order)
            for j, values in zip(members, xys):
                out[j]["keypoints"] = values.reshape(-1).round(3).tolist()
    angles = [out[j].get("euler") for j in members]
    if all(isinstance(a, list) and len(a) == 3 for a in angles):
        for j, values in zip(members, savgol_track(frames, np.asarray(angles, np.float64), window, order, angles=True)):
            y, p, r = (round(float(a), 3) for a in values)
            out[j].update({"euler": [y, p, r], "yaw": y, "pitch": p, "roll": r})


def savgol_entries(
    entries: Sequence[dict[str, Any]], frame_numbers: Sequence[int], window: int = 9, order: int = 2
) -> list[dict[str, Any]]:
    """Each track's keypoints and angles smoothed along time (module docstring).

    Args:
        entries: the run's entries in the order they were written (``task``, ``track_id``, ``keypoints``
            ``[x, y, score] * K``, optional ``euler``).
        frame_numbers: the frame (0, 1, ... in source order) each entry belongs to.
        window: Savitzky-Golay window, frames (odd, > ``order``; a run shorter than it uses the largest
            odd window that fits, and is left as is when none does).
        order: polynomial order.

    Returns:
        New entry dicts (the input is not changed).

    Raises:
        ValueError: ``frame_numbers`` does not have one number per entry, or a bad window / order.
    """
    if len(frame_numbers) != len(entries):
        raise ValueError(f"savgol_entries: {len(frame_numbers)} frame numbers for {len(entries)} entries")
    if window % 2 != 1 or window <= order:
        raise ValueError(f"smoothing.savgol_window: expected an odd length > savgol_order ({order}), got {window}")
    out = [dict(e) for e in entries]
    tracks: dict[tuple[str, int], list[int]] = {}
    for j, entry in enumerate(entries):
        tid = entry.get("track_id")
        if isinstance(tid, int) and tid >= 0:
            tracks.setdefault((str(entry.get("task")), tid), []).append(j)
    for members in tracks.values():
        _smooth_track(out, members, [int(frame_numbers[j]) for j in members], window, order)
    return out
