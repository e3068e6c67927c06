"""Smooth motion for synthetic clips: key states, spline interpolation, entering and leaving.

A clip maker (:mod:`..body.clip`, :mod:`..hand.clip`, :mod:`..face.clip`) draws a few *key
states* per instance (joint angles, orientation, image position, depth) at the key frames
:func:`key_frames` and interpolates every parameter with a monotone piecewise-cubic Hermite
curve (:func:`interpolate`; Fritsch & Carlson, SIAM J. Numer. Anal. 1980; Fritsch & Butland's
weighted harmonic mean at the middle key, the one-sided slope at the ends): velocity is
continuous and at most 4/3 of the fastest key-to-key average (a turning key is passed at
rest, an end key at the average speed of its segment), and between two keys a parameter never
overshoots them, so joint angles stay inside limits that hold at the keys and nothing swings
back and forth. Where an instance goes follows its *motion mode* (:data:`MOTIONS`):

* ``stay``: wanders inside the frame;
* ``enter`` / ``leave``: starts / ends fully outside the frame, left or right (the inside keys
  in that side's outer quarter of the frame, so the way in is short);
* ``cross``: enters on one side, passes the middle third and leaves on the other;
* ``reenter``: leaves the frame half-way through the clip by the nearer side and comes back
  (same track id).

To add a mode, write ``_mode(rng, box) -> (3, 2) anchor keys`` and add it to :data:`_MODES`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import CubicHermiteSpline

__all__ = [
    "MOTIONS",
    "Stage",
    "anchor_keys",
    "check_motions",
    "draw_motions",
    "interpolate",
    "key_frames",
    "rotation_vector",
    "stage_for",
]

#: Number of key states per instance (first frame, middle frame, last frame).
NUM_KEYS = 3


def key_frames(num_frames: int) -> np.ndarray:
    """The :data:`NUM_KEYS` key frame indices ``0, (T - 1) // 2, T - 1`` of a ``T``-frame clip (T >= 3)."""
    if num_frames < 3:
        raise ValueError(f"clip: num_frames must be >= 3 (three key states), got {num_frames}")
    return np.array([0, (num_frames - 1) // 2, num_frames - 1])


def interpolate(keys: np.ndarray, num_frames: int) -> np.ndarray:
    """Monotone cubic Hermite curve through key states placed at :func:`key_frames` (module docstring).

    Args:
        keys: ``(NUM_KEYS, D)`` parameter vectors.
        num_frames: T.

    Returns:
        ``(T, D)`` float64: row ``t`` is the state of frame ``t``; rows at key frames equal the keys.
    """
    x = key_frames(num_frames).astype(np.float64)
    y = np.asarray(keys, dtype=np.float64)
    h = np.diff(x)  # (2,) key spacings
    slope = np.diff(y, axis=0) / h[:, None]  # (2, D) key-to-key average velocities
    w0, w1 = 2 * h[1] + h[0], h[1] + 2 * h[0]
    same = slope[0] * slope[1] > 0
    safe = np.where(same, slope, 1.0)
    mid = np.where(same, (w0 + w1) / (w0 / safe[0] + w1 / safe[1]), 0.0)
    return CubicHermiteSpline(x, y, np.stack([slope[0], mid, slope[1]]), axis=0)(np.arange(num_frames))


def rotation_vector(w: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation of the axis-angle vector ``w`` ``(3,)`` (radians; Rodrigues' formula)."""
    return cv2.Rodrigues(np.asarray(w, dtype=np.float64).reshape(3, 1))[0]


@dataclass(frozen=True)
class Stage:
    """Where an instance's anchor pixel (pelvis, hand centre, face centre) may be, in px.

    Attributes:
        lo: ``(2,)`` smallest anchor ``x, y`` keeping the instance inside the frame.
        hi: ``(2,)`` largest such anchor (``hi >= lo``; equal when it just fits).
        out_left: anchor ``x`` at which the instance lies fully left of the frame.
        out_right: anchor ``x`` at which it lies fully right of the frame.
        step: largest move of the anchor between two key states of a ``stay`` (px per axis).
    """

    lo: np.ndarray
    hi: np.ndarray
    out_left: float
    out_right: float
    step: float

    def inside(self, rng: np.random.Generator, part: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
        """A uniform anchor inside the frame, ``x`` within the fraction ``part`` of its range (two draws)."""
        x0, x1 = self.lo[0] + np.array(part) * (self.hi[0] - self.lo[0])
        return rng.uniform([x0, self.lo[1]], [x1, self.hi[1]])

    def near(self, rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
        """An anchor within ``step`` of ``p`` per axis, kept inside the frame (two draws)."""
        return np.clip(p + rng.uniform(-self.step, self.step, 2), self.lo, self.hi)

    def out(self, rng: np.random.Generator, right: bool) -> np.ndarray:
        """An anchor fully left or right of the frame at a height inside it (one draw)."""
        return np.array([self.out_right if right else self.out_left, rng.uniform(self.lo[1], self.hi[1])])


def _push_out(edge: Callable[[float], float], u: float, bound: float, direction: float) -> float:
    """Moves anchor ``u`` by ``direction`` (+-1) until ``edge(u)`` (px, increasing in ``u``) is past ``bound``."""
    for _ in range(20):
        gap = direction * (bound - edge(u))
        if gap <= 0:
            return u
        u += direction * (gap + 1.0)
    raise RuntimeError("clip: could not place an instance outside the frame; this is a bug")


def stage_for(
    ext: np.ndarray, size: tuple[int, int], cut: float, edges: Callable[[float], tuple[float, float]]
) -> Stage:
    """The :class:`Stage` of an instance with extent ``ext`` around its anchor pixel.

    Args:
        ext: ``(4,)`` ``x0, y0, x1, y1`` px of the instance relative to its anchor, measured with
            the anchor on the optical axis (union over its key states, at its nearest depth).
        size: ``(W, H)`` px.
        cut: fraction of the extent that may leave the frame while "inside" (0: a 3 % margin instead).
        edges: anchor ``x`` -> the instance's leftmost and rightmost image ``x`` (px, over its key
            states): off the optical axis perspective moves them, so the "fully outside" anchors
            are found with the real projection (2 px clear of the frame).

    Returns:
        The stage (``step`` 20 % of the shorter side).
    """
    wh = np.array(size, dtype=np.float64)
    ext_size = ext[2:] - ext[:2]
    if cut > 0:
        lo, hi = -ext[:2] - cut * ext_size, wh - ext[2:] + cut * ext_size
    else:
        margin = 0.03 * float(wh.min())
        lo, hi = margin - ext[:2], wh - margin - ext[2:]
    left = _push_out(lambda u: edges(u)[1], float(-ext[2]), -2.0, -1.0)
    right = _push_out(lambda u: edges(u)[0], float(wh[0] - ext[0]), float(wh[0]) + 2.0, 1.0)
    return Stage(np.minimum(lo, hi), np.maximum(lo, hi), left, right, 0.2 * float(wh.min()))


def _stay(rng: np.random.Generator, s: Stage) -> list[np.ndarray]:
    a = s.inside(rng)
    b = s.near(rng, a)
    return [a, b, s.near(rng, b)]


def _enter(rng: np.random.Generator, s: Stage) -> list[np.ndarray]:
    right = bool(rng.random() < 0.5)
    b = s.inside(rng, (0.75, 1.0) if right else (0.0, 0.25))
    return [s.out(rng, right), b, s.near(rng, b)]


def _leave(rng: np.random.Generator, s: Stage) -> list[np.ndarray]:
    return _enter(rng, s)[::-1]


def _cross(rng: np.random.Generator, s: Stage) -> list[np.ndarray]:
    right = bool(rng.random() < 0.5)
    return [s.out(rng, right), s.inside(rng, (1 / 3, 2 / 3)), s.out(rng, not right)]


def _reenter(rng: np.random.Generator, s: Stage) -> list[np.ndarray]:
    right = bool(rng.random() < 0.5)
    a = s.inside(rng, (0.75, 1.0) if right else (0.0, 0.25))  # leave by the nearer side
    return [a, s.out(rng, right), s.near(rng, a)]


_MODES: dict[str, Callable[[np.random.Generator, Stage], list[np.ndarray]]] = {
    "stay": _stay,
    "enter": _enter,
    "leave": _leave,
    "cross": _cross,
    "reenter": _reenter,
}
#: The motion modes (module docstring).
MOTIONS: tuple[str, ...] = tuple(_MODES)


def anchor_keys(rng: np.random.Generator, mode: str, stage: Stage) -> np.ndarray:
    """The :data:`NUM_KEYS` anchor pixels of one instance following ``mode``.

    Args:
        rng: random generator.
        mode: one of :data:`MOTIONS`.
        stage: where the instance fits.

    Returns:
        ``(NUM_KEYS, 2)`` float64 anchor ``x, y`` px at the key frames.
    """
    if mode not in _MODES:
        raise ValueError(f"clip: motion '{mode}' is not one of {list(MOTIONS)}")
    return np.stack(_MODES[mode](rng, stage))


def check_motions(motions: Sequence[str] | None, count: int, who: str) -> None:
    """Raises ``ValueError`` unless ``motions`` is None or ``count`` names from :data:`MOTIONS`."""
    if motions is None:
        return
    if len(motions) != count or any(m not in _MODES for m in motions):
        raise ValueError(f"{who}: motions must list {count} modes from {list(MOTIONS)}, got {list(motions)}")


def draw_motions(rng: np.random.Generator, count: int, move_prob: float) -> list[str]:
    """Motion modes of ``count`` instances: the first stays; each other one moves in or out with ``move_prob``.

    A moving instance draws ``enter``, ``leave``, ``cross`` or ``reenter`` uniformly (two draws per
    instance after the first, whatever the outcome, so the stream does not depend on ``move_prob``).
    """
    modes = ["stay"]
    for _ in range(count - 1):
        moves, pick = rng.random() < move_prob, int(rng.integers(4))
        modes.append(MOTIONS[1 + pick] if moves else "stay")
    return modes
