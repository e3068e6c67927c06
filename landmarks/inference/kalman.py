"""A constant-velocity Kalman filter for keypoint tracks (``smoothing.kind=kalman``).

A Kalman filter (Kalman, 1960) per array element with state ``(x, v)``: the constant-velocity
model with discrete white-noise acceleration (Bar-Shalom, Li and Kirubarajan, "Estimation with
Applications to Tracking and Navigation", 2001, sec. 6.3.2): ``F = [[1, T], [0, 1]]``,
``Q = sigma_a^2 [[T^4/4, T^3/2], [T^3/2, T^2]]``, ``H = [1, 0]``, ``R = sigma_m^2``; predict
``x <- F x``, ``P <- F P F' + Q``; update with the innovation ``y = z - x_0``, ``S = P_00 + R``,
gain ``K = P[:, 0] / S``, ``x <- x + K y``, ``P <- P - K P[0, :]``. Both noises are given in units
of the instance's size (``scale``: its box's ``sqrt(w h)``), so one setting serves small and large
instances. Unlike One-Euro, whose low-pass lags in proportion to the speed, it follows
constant-velocity motion without lag; like any causal filter it lags where the motion turns.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ConstantVelocityKalman", "sample_time"]


def sample_time(t: float | None, t_prev: float | None, rate: float | None) -> float:
    """The timestamp of a filter's next sample: ``t``, or ``1 / rate`` after ``t_prev`` (0 for the first).

    Raises:
        ValueError: ``t`` is None and the filter has no ``rate``.
    """
    if t is not None:
        return float(t)
    if rate is None:
        raise ValueError("t: this filter has rate=None, so every sample needs a timestamp")
    return 0.0 if t_prev is None else t_prev + 1.0 / rate


class ConstantVelocityKalman:
    """Constant-velocity Kalman filter over arrays of any fixed shape, every element on its own (module doc).

    Non-finite input elements come out as given and restart their element at the next finite value.

    Args:
        measurement_noise: ``sigma_m``, the standard deviation of a measurement, in ``scale`` units
            (e.g. 0.02: 2 % of the box size).
        acceleration_noise: ``sigma_a``, the standard deviation of the unmodelled acceleration, in
            ``scale`` units per s^2 (higher: follows turns sooner, smooths less).
        rate: Hz, samples per second when :meth:`__call__` gets no timestamp.
        start_speed: standard deviation of a new track's velocity, ``scale`` units per frame (1: a
            keypoint may move by its instance's size between frames; head-pose rotations use 15 degrees).
    """

    def __init__(
        self,
        measurement_noise: float = 0.02,
        acceleration_noise: float = 4.0,
        rate: float | None = 30.0,
        start_speed: float = 1.0,
    ):
        checked = (("measurement_noise", measurement_noise), ("acceleration_noise", acceleration_noise))
        for name, value in (*checked, ("start_speed", start_speed)):
            if not value > 0:
                raise ValueError(f"{name}: expected > 0 (in units of the instance size), got {value}")
        if rate is not None and not rate > 0:
            raise ValueError(f"rate: expected > 0 Hz or None (timestamps given), got {rate}")
        self.measurement_noise, self.acceleration_noise, self.rate = (
            float(measurement_noise),
            float(acceleration_noise),
            rate,
        )
        self.start_speed = float(start_speed)
        self.reset()

    def reset(self) -> None:
        """Forget the state; the next sample is returned as is."""
        self.x: np.ndarray | None = None  # (2, ...): position, velocity
        self.p: np.ndarray | None = None  # (3, ...): P_00, P_01, P_11
        self.t_prev: float | None = None

    def _start(self, z: np.ndarray, where: np.ndarray, r: float, scale: float) -> None:
        """(Re)start the elements ``where`` at ``z`` with zero velocity and a velocity variance of
        (``start_speed * scale`` per frame)^2: wide enough for any motion of a visible instance."""
        assert self.x is not None and self.p is not None
        v_var = (self.start_speed * scale * (self.rate or 30.0)) ** 2
        self.x[0] = np.where(where, z, self.x[0])
        self.x[1] = np.where(where, 0.0, self.x[1])
        for i, value in enumerate((r, 0.0, v_var)):
            self.p[i] = np.where(where, value, self.p[i])

    def __call__(self, z: np.ndarray | float, t: float | None = None, scale: float = 1.0) -> np.ndarray:
        """Filter one sample.

        Args:
            z: the measurement, any shape (fixed across calls).
            t: timestamp in seconds; ``None`` advances by ``1 / rate``.
            scale: the size the noises are relative to (e.g. the box's ``sqrt(w h)``, px).

        Returns:
            The filtered position, float64, shape of ``z``.
        """
        z = np.asarray(z, dtype=np.float64)
        t = sample_time(t, self.t_prev, self.rate)
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale: expected a size > 0, got {scale}")
        finite = np.isfinite(z)
        r = (self.measurement_noise * scale) ** 2
        if self.x is None or self.p is None or self.t_prev is None:
            self.x, self.p = np.zeros((2, *z.shape)), np.zeros((3, *z.shape))
            self._start(z, np.ones(z.shape, bool), r, scale)
            self.x[0] = np.where(finite, z, np.nan)
            self.t_prev = float(t)
            return z.copy()
        if z.shape != self.x.shape[1:]:
            raise ValueError(f"z: expected shape {self.x.shape[1:]} (as the first sample), got {z.shape}")
        dt = float(t) - self.t_prev
        if not dt > 0:
            raise ValueError(f"t: timestamps must increase, got {t} after {self.t_prev}")
        self.t_prev = float(t)
        fresh = ~np.isfinite(self.x[0])
        q = (self.acceleration_noise * scale) ** 2
        x0, v = self.x[0] + dt * self.x[1], self.x[1]
        p00, p01, p11 = self.p
        p00, p01, p11 = (
            p00 + 2 * dt * p01 + dt * dt * p11 + q * dt**4 / 4,
            p01 + dt * p11 + q * dt**3 / 2,
            p11 + q * dt * dt,
        )
        s = p00 + r
        k0, k1 = p00 / s, p01 / s
        y = z - x0
        self.x = np.stack([x0 + k0 * y, v + k1 * y])
        self.p = np.stack([(1 - k0) * p00, (1 - k0) * p01, p11 - k1 * p01])
        self._start(z, fresh & finite, r, scale)
        self.x[0] = np.where(finite, self.x[0], np.nan)
        return np.where(finite, self.x[0], z)
