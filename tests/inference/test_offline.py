"""Offline Savitzky-Golay smoothing of written entries: per track, split at gaps, angles across +-180."""

from __future__ import annotations

import numpy as np
import pytest

from landmarks.inference.offline import savgol_entries
from landmarks.inference.smoothing import savgol_smooth


def _entry(task: str, tid: int | None, xy: np.ndarray, euler: list[float] | None = None) -> dict:
    kp = np.concatenate([xy, np.full((len(xy), 1), 0.9)], axis=1).reshape(-1).round(3).tolist()
    entry = {"task": task, "keypoints": kp, "score": 0.5}
    if tid is not None:
        entry["track_id"] = tid
    if euler is not None:
        entry.update({"euler": euler, "yaw": euler[0], "pitch": euler[1], "roll": euler[2]})
    return entry


def test_each_track_is_smoothed_over_its_runs_of_consecutive_frames() -> None:
    rng = np.random.default_rng(0)
    a = np.cumsum(rng.normal(0, 3, (12, 2, 2)), axis=0)  # track 0: frames 0-11
    b = np.cumsum(rng.normal(0, 3, (12, 2, 2)), axis=0)  # track 1: frames 0-4 and 7-11 (a gap of two)
    entries, frames = [], []
    for t in range(12):
        entries.append(_entry("body", 0, a[t]))
        frames.append(t)
        if t < 5 or t >= 7:
            entries.append(_entry("body", 1, b[t]))
            frames.append(t)
        entries.append(_entry("body", None, a[t]))  # untracked: unchanged
        frames.append(t)
    out = savgol_entries(entries, frames, window=5, order=2)

    def track(tid: int) -> np.ndarray:
        return np.array([e["keypoints"] for e in out if e.get("track_id") == tid]).reshape(-1, 2, 3)

    np.testing.assert_allclose(track(0)[..., :2], savgol_smooth(a, 5, 2), atol=1e-3)
    got = track(1)[..., :2]
    np.testing.assert_allclose(got[:5], savgol_smooth(b[:5], 5, 2), atol=1e-3)  # the gap splits the track
    np.testing.assert_allclose(got[5:], savgol_smooth(b[7:], 5, 2), atol=1e-3)
    assert [e for e in out if "track_id" not in e] == [e for e in entries if "track_id" not in e]
    assert entries[0]["keypoints"] == _entry("body", 0, a[0])["keypoints"]  # the input is not changed
    assert all(e["keypoints"][2::3] == [0.9, 0.9] for e in out)  # scores kept


def test_angles_are_smoothed_across_the_180_degree_seam() -> None:
    yaw = np.linspace(170.0, 190.0, 9)  # turning through 180: written as 170 .. 180, -179 .. -170
    wrapped = (yaw + 180.0) % 360.0 - 180.0
    entries = [_entry("face", 3, np.zeros((1, 2)), [float(y), 0.0, 0.0]) for y in wrapped]
    out = savgol_entries(entries, list(range(9)), window=5, order=2)
    got = np.array([e["yaw"] for e in out])
    difference = (got - wrapped + 180.0) % 360.0 - 180.0  # 180 and -180 are one angle
    np.testing.assert_allclose(difference, 0.0, atol=1e-3)  # a straight line stays itself, never averaged to 0
    assert np.all((got >= -180.0) & (got <= 180.0))
    assert all(e["euler"][0] == e["yaw"] for e in out)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="2 frame numbers for 1 entries"):
        savgol_entries([_entry("body", 0, np.zeros((1, 2)))], [0, 1])
    with pytest.raises(ValueError, match="^smoothing.savgol_window"):
        savgol_entries([], [], window=4)
