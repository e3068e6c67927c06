"""Temporal smoothing of landmarks and head pose: One-Euro or Kalman online, Savitzky-Golay offline.

* :class:`OneEuroFilter`: Casiez, Roussel and Vogel, "1 Euro Filter: A Simple Speed-based
  Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012. With ``Te`` the sampling
  period, ``alpha(fc) = 1 / (1 + tau / Te)`` and ``tau = 1 / (2 pi fc)``:
  ``dx = (x - x_hat_prev) / Te``; ``dx_hat = alpha(d_cutoff) dx + (1 - alpha(d_cutoff)) dx_hat_prev``;
  ``fc = min_cutoff + beta |dx_hat|``; ``x_hat = alpha(fc) x + (1 - alpha(fc)) x_hat_prev``. The
  derivative uses the previous *filtered* value, as in the paper's pseudo-code; the first
  sample is returned as is with ``dx_hat = 0``. Every array element is filtered on its own.
* :class:`~landmarks.inference.kalman.ConstantVelocityKalman`: a constant-velocity Kalman filter
  whose noises are relative to the instance's size; it follows steady motion without lag.
* :func:`savgol_smooth`: Savitzky and Golay, Anal. Chem. 1964, through ``scipy.signal.savgol_filter``;
  :func:`savgol_track` applies it to one track's runs of consecutive frames (angles unwrapped first).
* :class:`RotationSmoother`: head pose is never smoothed per Euler angle (yaw 179 -> -179 would
  average to 0); rotations go to unit quaternions, sign-aligned with the previous sample
  (q and -q are one rotation), filtered (Kalman or One-Euro, parameters in degrees), renormalised,
  and back to the project's ``(yaw, pitch, roll)`` degrees through :mod:`landmarks.geometry`.
* :class:`KeypointSmoother`: one online filter (``"one_euro"`` or ``"kalman"``) per track id, for
  the tracker's output.

To add a filter, give it the ``__call__(x, t=None, scale=1.0) -> x_hat`` of :class:`ConstantVelocityKalman`
and a name in :data:`ONLINE_FILTERS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from scipy.signal import savgol_filter

from landmarks.geometry import euler_to_matrix, matrix_to_euler
from landmarks.inference.kalman import ConstantVelocityKalman, sample_time
from landmarks.inference.quaternion import matrix_to_quaternion, quaternion_to_matrix

__all__ = [
    "ONLINE_FILTERS",
    "ConstantVelocityKalman",
    "KeypointSmoother",
    "OneEuroFilter",
    "RotationSmoother",
    "savgol_smooth",
    "savgol_track",
]


def _alpha(te: float, cutoff: np.ndarray | float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / te)


class OneEuroFilter:
    """One-Euro filter over arrays of any fixed shape (module doc for the formulas).

    Non-finite input elements (a lost keypoint as NaN) come out as given and restart their
    element's filter at the next finite value.

    Args:
        min_cutoff: Hz, the cutoff at rest (lower: less jitter, more lag).
        beta: s per input unit, how fast the cutoff rises with speed (higher: less lag).
        d_cutoff: Hz, cutoff of the derivative filter (the paper uses 1).
        rate: Hz, samples per second when :meth:`__call__` gets no timestamp.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, rate: float | None = 30.0):
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff)):
            if not value > 0:
                raise ValueError(f"{name}: expected a cutoff frequency > 0 Hz, got {value}")
        if beta < 0:
            raise ValueError(f"beta: expected >= 0, got {beta}")
        if rate is not None and not rate > 0:
            raise ValueError(f"rate: expected > 0 Hz or None (timestamps given), got {rate}")
        self.min_cutoff, self.beta, self.d_cutoff, self.rate = float(min_cutoff), float(beta), float(d_cutoff), rate
        self.reset()

    def reset(self) -> None:
        """Forget the state; the next sample is returned as is."""
        self.x_hat: np.ndarray | None = None
        self.dx_hat: np.ndarray | None = None
        self.t_prev: float | None = None

    def __call__(self, x: np.ndarray | float, t: float | None = None) -> np.ndarray:
        """Filter one sample.

        Args:
            x: the sample, any shape (fixed across calls).
            t: timestamp in seconds; ``None`` advances by ``1 / rate``.

        Returns:
            The filtered sample, float64, shape of ``x``.
        """
        x = np.asarray(x, dtype=np.float64)
        t = sample_time(t, self.t_prev, self.rate)
        finite = np.isfinite(x)
        if self.x_hat is None or self.dx_hat is None or self.t_prev is None:
            self.x_hat, self.dx_hat, self.t_prev = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        if x.shape != self.x_hat.shape:
            raise ValueError(f"x: expected shape {self.x_hat.shape} (as the first sample), got {x.shape}")
        te = float(t) - self.t_prev
        if not te > 0:
            raise ValueError(f"t: timestamps must increase, got {t} after {self.t_prev}")
        fresh = ~np.isfinite(self.x_hat)  # restarted elements: pass x through, derivative 0
        dx = np.where(fresh, 0.0, (x - self.x_hat) / te)
        a_d = _alpha(te, self.d_cutoff)
        dx_hat = a_d * dx + (1.0 - a_d) * np.where(fresh, 0.0, self.dx_hat)
        a = _alpha(te, self.min_cutoff + self.beta * np.abs(dx_hat))
        x_hat = np.where(fresh, x, a * x + (1.0 - a) * self.x_hat)
        self.x_hat = np.where(finite, x_hat, np.nan)
        self.dx_hat = np.where(finite, dx_hat, 0.0)
        self.t_prev = float(t)
        return np.where(finite, x_hat, x)


ONLINE_FILTERS: dict[str, Any] = {"one_euro": OneEuroFilter, "kalman": ConstantVelocityKalman}
"""Online keypoint filters by ``smoothing.kind``."""


def savgol_smooth(
    track: np.ndarray, window: int = 9, order: int = 2, short: Literal["shrink", "skip", "raise"] = "shrink"
) -> np.ndarray:
    """Savitzky-Golay smoothing of a whole track along time (axis 0), for offline files.

    Args:
        track: ``(T, ...)`` finite values (e.g. ``(T, K, 2)`` keypoints of one track id).
        window: odd window length in frames, > ``order``.
        order: polynomial order.
        short: when ``T < window``: ``"shrink"`` uses the largest odd window <= T that is still
            > ``order`` (and returns the track unchanged when none is), ``"skip"`` returns it
            unchanged, ``"raise"`` raises.

    Returns:
        ``(T, ...)`` float64 (a copy).

    Raises:
        ValueError: for an even or too small window, non-finite values, or a short track with
            ``short="raise"``.
    """
    x = np.asarray(track, dtype=np.float64)
    if window % 2 != 1 or window <= order:
        raise ValueError(f"window: expected an odd length > order ({order}), got {window}")
    if x.ndim == 0:
        raise ValueError("track: expected shape (T, ...), got a scalar")
    if not np.isfinite(x).all():
        raise ValueError("track: expected finite values (split the track at missing frames first)")
    t = x.shape[0]
    if t < window:
        if short == "raise":
            raise ValueError(f"track: {t} frames is shorter than the Savitzky-Golay window ({window})")
        window = t if t % 2 == 1 else t - 1
        if short == "skip" or window <= order:
            return x.copy()
    return np.asarray(savgol_filter(x, window, order, axis=0, mode="interp"), dtype=np.float64)


def savgol_track(
    frame_numbers: Sequence[int], values: np.ndarray, window: int = 9, order: int = 2, angles: bool = False
) -> np.ndarray:
    """:func:`savgol_smooth` of one track over each run of consecutive frames (a gap splits the track).

    Args:
        frame_numbers: ``(T,)`` increasing frame numbers of the track's samples.
        values: ``(T, ...)`` e.g. keypoints ``(T, K, 2)`` px or angles ``(T, 3)`` degrees.
        window, order: as :func:`savgol_smooth` (a run shorter than the window uses the largest that fits).
        angles: degrees: each run is unwrapped first (a track never turns by 180 between frames, so
            179 -> -179 is a step of 2) and the result wrapped back to [-180, 180).

    Returns:
        ``(T, ...)`` float64.
    """
    x = np.asarray(values, dtype=np.float64)
    out = x.copy()
    cuts = np.flatnonzero(np.diff(np.asarray(frame_numbers)) != 1) + 1
    for run in np.split(np.arange(len(x)), cuts):
        if not len(run):
            continue
        part = np.unwrap(x[run], period=360.0, axis=0) if angles else x[run]
        smoothed = savgol_smooth(part, window, order)
        out[run] = (smoothed + 180.0) % 360.0 - 180.0 if angles else smoothed
    return out


DEGREES_PER_QUATERNION_UNIT = 360.0 / np.pi
"""A rotation by a small angle ``a`` moves a unit quaternion by ``a / 2`` rad: ``a`` degrees ~ ``a * pi / 360`` units."""


ROTATION_START_SPEED = 15.0
"""Degrees per frame: the spread of a new head-pose track's angular speed (the synthetic face clips turn up to 13)."""


class RotationSmoother:
    """Online smoothing of head-pose rotations on unit quaternions (never on Euler angles).

    The filter (``kind``, :data:`ONLINE_FILTERS`) runs on the sign-aligned quaternion scaled by
    :data:`DEGREES_PER_QUATERNION_UNIT`, so its parameters are in degrees of rotation, as the
    keypoint filters' are in px or box sizes: a Kalman ``measurement_noise`` of 4 is a 4-degree
    measurement error, One-Euro's ``beta`` is in s / degree. (Filtering the raw quaternion would
    put them in quaternion units, ~115 degrees each, so that a ``beta`` tuned on px never adapted.)

    Args:
        kind: ``"kalman"`` or ``"one_euro"``.
        rate: Hz when no timestamp is given.
        **params: the filter's parameters, in degrees (Kalman: ``measurement_noise`` deg,
            ``acceleration_noise`` deg / s^2; One-Euro: ``min_cutoff`` Hz, ``beta`` s / deg, ``d_cutoff`` Hz).
    """

    def __init__(self, kind: str = "one_euro", rate: float | None = 30.0, **params: float) -> None:
        if kind not in ONLINE_FILTERS:
            raise ValueError(f"smoothing.rotation.kind: expected one of {sorted(ONLINE_FILTERS)}, got {kind!r}")
        if kind == "kalman":  # a head may turn 300 degrees / s: a new track's speed is not known to 1 degree / frame
            params = {"start_speed": ROTATION_START_SPEED, **params}
        self.filter = ONLINE_FILTERS[kind](**params, rate=rate)
        self._last: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the state."""
        self.filter.reset()
        self._last = None

    def __call__(
        self, yaw: np.ndarray | float, pitch: np.ndarray | float, roll: np.ndarray | float, t: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Smooth one sample of ``(...)`` angles in degrees; returns ``(yaw, pitch, roll)`` degrees, each ``(...)``."""
        q = matrix_to_quaternion(euler_to_matrix(yaw, pitch, roll))
        if self._last is not None and self._last.shape == q.shape:  # q and -q: the one closer to the last sample
            q = np.where(np.sum(q * self._last, axis=-1, keepdims=True) < 0, -q, q)
        self._last = q if self._last is None or self._last.shape != q.shape else np.where(np.isfinite(q), q, self._last)
        smoothed = np.asarray(self.filter(q * DEGREES_PER_QUATERNION_UNIT, t))
        return matrix_to_euler(quaternion_to_matrix(smoothed / np.linalg.norm(smoothed, axis=-1, keepdims=True)))


class KeypointSmoother:
    """One online filter per track id; call once per frame with that frame's tracks.

    Without timestamps, frames are ``1 / rate`` apart, so a track seen again after a gap is
    filtered with the true elapsed time. Id -1 (untracked) passes through unsmoothed.

    Args:
        kind: ``"one_euro"`` (:class:`OneEuroFilter`) or ``"kalman"`` (:class:`ConstantVelocityKalman`).
        rate: frames per second.
        **params: the filter's parameters (e.g. ``min_cutoff``, ``beta``, ``d_cutoff``).
    """

    def __init__(self, kind: str = "one_euro", rate: float = 30.0, **params: float) -> None:
        if kind not in ONLINE_FILTERS:
            raise ValueError(f"smoothing.kind: expected one of {sorted(ONLINE_FILTERS)}, got {kind!r}")
        self.kind, self.rate, self.params = kind, float(rate), {k: float(v) for k, v in params.items()}
        self._make()  # check the parameters now
        self.filters: dict[int, Any] = {}
        self.frame_index = -1

    def _make(self) -> Any:
        return ONLINE_FILTERS[self.kind](**self.params, rate=self.rate)

    def __call__(
        self, track_ids: np.ndarray, values: np.ndarray, t: float | None = None, scales: np.ndarray | None = None
    ) -> np.ndarray:
        """Smooth one frame.

        Args:
            track_ids: ``(N,)`` int ids (e.g. :meth:`landmarks.inference.tracking.Tracker.update`).
            values: ``(N, ...)`` e.g. ``(N, K, 2)`` keypoints px.
            t: timestamp in seconds; ``None``: ``frame_index / rate``.
            scales: ``(N,)`` instance sizes px (the Kalman noises are relative to them; default 1).

        Returns:
            ``(N, ...)`` float64 smoothed values.
        """
        ids = np.asarray(track_ids).reshape(-1)
        x = np.asarray(values, dtype=np.float64)
        if x.shape[:1] != ids.shape:
            raise ValueError(f"values: expected ({ids.shape[0]}, ...) (N = len(track_ids)), got {x.shape}")
        self.frame_index += 1
        now = self.frame_index / self.rate if t is None else float(t)
        out = x.copy()
        for i, tid in enumerate(ids.tolist()):
            if tid < 0:
                continue
            if tid not in self.filters:
                self.filters[tid] = self._make()
            filt = self.filters[tid]
            if self.kind == "kalman":
                out[i] = filt(x[i], now, scale=1.0 if scales is None else float(scales[i]))
            else:
                out[i] = filt(x[i], now)
        return out

    def forget(self, track_ids: Iterable[int]) -> None:
        """Drop the filters of ended tracks (e.g. ``Tracker.ended``)."""
        for tid in track_ids:
            self.filters.pop(int(tid), None)
