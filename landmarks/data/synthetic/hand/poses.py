"""Random hand poses with natural joint couplings (synthetic hand renderer).

A pose is drawn from one of a few everyday *families* (open/spread, relaxed, fist,
counting gestures, pinch/OK, grasp, or a uniform draw) described by a per-finger *curl*
in ``[0, 1]`` and a *spread* in ``[0, 1]``. :func:`finger_from_curl` turns them into joint
angles with the couplings of real fingers:

* DIP flexion ~ 2/3 of PIP flexion (the oblique retinacular ligament couples them;
  Leijnse et al., J. Biomech. 2010), with a little noise;
* MCP and PIP flex together, with some independence (hook and "table-top" grips);
* abduction fans the fingers radially/ulnarly away from the middle finger and shrinks as
  the MCP flexes (collateral ligaments tighten in flexion);
* ring and little finger curls follow the middle finger's (shared flexor tendons).

Everything is clipped to :data:`~landmarks.data.synthetic.hand.skeleton.HAND_LIMITS_DEG`.
To add a family, write ``_family(rng) -> HandPose`` and add it to :data:`HAND_POSE_FAMILIES`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from landmarks.data.synthetic.hand.skeleton import FingerAngles, HandPose, clip_hand_pose
from landmarks.layouts.hand import FINGERS

_SPREAD_DEG = {"index": 18.0, "middle": 2.0, "ring": -9.0, "little": -22.0}


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def finger_from_curl(rng: np.random.Generator, finger: str, curl: float, spread: float) -> FingerAngles:
    """Joint angles (deg) of a non-thumb finger from a curl in [0, 1] and a spread in [0, 1].

    MCP ~ 85 * curl and PIP ~ 105 * curl (each with an independent +-15 % share), DIP = 2/3
    PIP +- 6 deg, abduction = spread * fan of that finger, scaled down by MCP flexion.
    """
    c_mcp = float(np.clip(curl + rng.normal(0.0, 0.12), -0.25, 1.0))
    c_pip = float(np.clip(curl + rng.normal(0.0, 0.12), 0.0, 1.0))
    mcp = 88.0 * c_mcp
    pip = 108.0 * c_pip
    dip = (2.0 / 3.0) * pip + rng.normal(0.0, 6.0)
    abd = (spread * _SPREAD_DEG[finger] + rng.normal(0.0, 2.5)) * (1.0 - 0.8 * max(0.0, mcp) / 90.0)
    return FingerAngles(mcp, abd, pip, dip)


def thumb(rng: np.random.Generator, kind: str) -> FingerAngles:
    """Thumb angles (CMC flexion, CMC abduction, MCP, IP; deg) of one of a few thumb postures.

    Args:
        rng: random generator.
        kind: ``"open"`` (extended away), ``"relaxed"``, ``"tucked"`` (across a fist),
            ``"side"`` (along the index finger), ``"oppose"`` (toward the fingertips).
    """
    ranges = {
        "open": ((-25, 5), (20, 50), (-10, 15), (-20, 15)),
        "relaxed": ((0, 20), (10, 35), (5, 30), (5, 30)),
        "tucked": ((20, 40), (15, 35), (30, 55), (10, 45)),
        "side": ((5, 25), (-10, 10), (10, 40), (0, 40)),
        "oppose": ((15, 35), (30, 55), (5, 30), (5, 35)),
    }[kind]
    return FingerAngles(*(_u(rng, lo, hi) for lo, hi in ranges))


def _pose(
    rng: np.random.Generator, curls: dict[str, float], spread: float, thumb_kind: str, cup: float | None = None
) -> HandPose:
    fingers = {f: finger_from_curl(rng, f, curls[f], spread) for f in FINGERS[1:]}
    fingers["thumb"] = thumb(rng, thumb_kind)
    mean_curl = float(np.mean(list(curls.values())))
    return HandPose(
        fingers=fingers,
        cup=_u(rng, 0.0, 0.3) + 0.6 * mean_curl if cup is None else cup,
        wrist_flex=float(rng.normal(0.0, 25.0)),
        wrist_dev=_u(rng, -15.0, 25.0),
    )


def _open(rng: np.random.Generator) -> HandPose:
    curls = {f: _u(rng, -0.15, 0.15) for f in FINGERS[1:]}
    return _pose(rng, curls, _u(rng, 0.4, 1.0), "open", cup=_u(rng, 0.0, 0.2))


def _relaxed(rng: np.random.Generator) -> HandPose:
    base, step = _u(rng, 0.05, 0.4), _u(rng, 0.0, 0.12)  # the natural cascade: more curl toward the little finger
    curls = {f: base + i * step + rng.normal(0.0, 0.04) for i, f in enumerate(FINGERS[1:])}
    return _pose(rng, curls, _u(rng, 0.0, 0.5), "relaxed")


def _fist(rng: np.random.Generator) -> HandPose:
    curls = {f: _u(rng, 0.8, 1.0) for f in FINGERS[1:]}
    return _pose(rng, curls, 0.0, "tucked" if rng.random() < 0.7 else "side")


def _counting(rng: np.random.Generator) -> HandPose:
    """Some fingers straight, the rest folded: pointing, victory, three, rock, call-me, ..."""
    up = rng.random(4) < np.array([0.75, 0.55, 0.35, 0.4])
    if not up.any():
        up[0] = True
    curls = {f: (_u(rng, -0.1, 0.12) if up[i] else _u(rng, 0.75, 1.0)) for i, f in enumerate(FINGERS[1:])}
    thumb_kind = "open" if rng.random() < 0.35 else "tucked"
    return _pose(rng, curls, _u(rng, 0.3, 1.0), thumb_kind)


def _pinch(rng: np.random.Generator) -> HandPose:
    """Thumb toward a half-bent index: pinch (others folded) or OK sign (others open)."""
    ok = rng.random() < 0.5
    curls = {"index": _u(rng, 0.4, 0.6)}
    curls.update({f: (_u(rng, -0.1, 0.2) if ok else _u(rng, 0.5, 1.0)) for f in FINGERS[2:]})
    return _pose(rng, curls, _u(rng, 0.2, 0.8) if ok else 0.1, "oppose")


def _grasp(rng: np.random.Generator) -> HandPose:
    """Holding a cylinder or ball: every finger half bent, thumb opposed."""
    c = _u(rng, 0.3, 0.65)
    curls = {f: c + rng.normal(0.0, 0.06) for f in FINGERS[1:]}
    return _pose(rng, curls, _u(rng, 0.0, 0.6), "oppose" if rng.random() < 0.6 else "relaxed")


def _uniform(rng: np.random.Generator) -> HandPose:
    middle = _u(rng, -0.1, 1.0)
    curls = {"index": _u(rng, -0.1, 1.0), "middle": middle, "ring": 0.6 * middle + 0.4 * _u(rng, -0.1, 1.0)}
    curls["little"] = 0.6 * curls["ring"] + 0.4 * _u(rng, -0.1, 1.0)
    kind = ("open", "relaxed", "tucked", "side", "oppose")[int(rng.integers(5))]
    return _pose(rng, curls, _u(rng, 0.0, 1.0), kind)


#: Pose families and their sampling weights.
HAND_POSE_FAMILIES: dict[str, tuple[Callable[[np.random.Generator], HandPose], float]] = {
    "open": (_open, 0.18),
    "relaxed": (_relaxed, 0.2),
    "fist": (_fist, 0.12),
    "counting": (_counting, 0.2),
    "pinch": (_pinch, 0.1),
    "grasp": (_grasp, 0.1),
    "uniform": (_uniform, 0.1),
}

_NAMES = tuple(HAND_POSE_FAMILIES)
_WEIGHTS = np.array([w for _, w in HAND_POSE_FAMILIES.values()])
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def sample_hand_pose(rng: np.random.Generator) -> tuple[str, HandPose]:
    """Draws a family by weight, then a pose of that family clipped to the joint limits.

    Returns:
        ``(family name, pose in degrees)``.
    """
    name = _NAMES[int(rng.choice(len(_NAMES), p=_WEIGHTS))]
    return name, clip_hand_pose(HAND_POSE_FAMILIES[name][0](rng))
