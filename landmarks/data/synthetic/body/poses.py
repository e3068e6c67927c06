"""Random human poses inside anatomical joint limits (synthetic body renderer).

A pose is drawn from one of a few everyday *families* (standing, walking, running, arms
raised, reaching, sitting, crouching, kneeling, or a uniform draw inside the limits) and
then clipped to :data:`~landmarks.data.synthetic.body.skeleton3d.JOINT_LIMITS_DEG`, so every
sampled pose is anatomically possible (knees and elbows bend one way only, a hip extends
at most 30 deg, ...). To add a family, write ``_family(rng) -> PoseAngles`` and add it to
:data:`POSE_FAMILIES` with a weight.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from landmarks.data.synthetic.body.skeleton3d import JOINT_LIMITS_DEG, LimbAngles, PoseAngles, elevation_limit


def _three(values: Iterable[float]) -> tuple[float, float, float]:
    """The three angles of a spine or neck as a 3-tuple."""
    a, b, c = values
    return (a, b, c)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _rest_arm(rng: np.random.Generator) -> LimbAngles:
    return LimbAngles(_u(rng, 3, 30), _u(rng, -15, 85), _u(rng, -10, 40), _u(rng, 0, 40), _u(rng, -15, 15))


def _stand_leg(rng: np.random.Generator) -> LimbAngles:
    return LimbAngles(_u(rng, 0, 12), _u(rng, -20, 100), _u(rng, -10, 20), _u(rng, 0, 12), _u(rng, -5, 10))


def _spine_neck(rng: np.random.Generator, flex: tuple[float, float] = (-5, 12)) -> dict:
    return {
        "spine": (_u(rng, *flex), _u(rng, -6, 6), _u(rng, -15, 15)),
        "neck": (_u(rng, -20, 25), _u(rng, -12, 12), _u(rng, -50, 50)),
    }


def _standing(rng: np.random.Generator) -> PoseAngles:
    return PoseAngles(_rest_arm(rng), _rest_arm(rng), _stand_leg(rng), _stand_leg(rng), **_spine_neck(rng))


def _swing_limb(angle: float) -> tuple[float, float]:
    """Signed sagittal swing (deg, + forward) -> (elevation, azimuth)."""
    return (angle, 0.0) if angle >= 0 else (-angle, 180.0)


def _gait(rng: np.random.Generator, run: bool) -> PoseAngles:
    phase = _u(rng, 0, 2 * math.pi)
    amp = _u(rng, 30, 55) if run else _u(rng, 12, 32)
    limbs = []
    for p in (phase, phase + math.pi):
        e, a = _swing_limb(amp * math.sin(p) + (10 if run else 0))
        knee_peak = _u(rng, 70, 115) if run else _u(rng, 35, 60)
        # hip swings forward while cos(p) > 0; the knee folds most early in that swing
        knee = 5 + knee_peak * max(0.0, math.cos(p + math.pi / 6)) ** 1.5
        leg = LimbAngles(e, a, _u(rng, -10, 15), knee, _u(rng, -15, 20))
        ea, aa = _swing_limb(-0.8 * amp * math.sin(p))
        elbow = _u(rng, 60, 100) if run else _u(rng, 5, 40)
        outward = 15 if aa == 0 else -15  # arms swing slightly away from the body
        arm = LimbAngles(ea + _u(rng, 0, 10), aa + _u(rng, -10, 10) + outward, _u(rng, 0, 30), elbow, 0.0)
        limbs.append((arm, leg))
    (la, ll), (ra, rl) = limbs
    return PoseAngles(la, ra, ll, rl, **_spine_neck(rng, (8, 22) if run else (-2, 8)))


def _walking(rng: np.random.Generator) -> PoseAngles:
    return _gait(rng, run=False)


def _running(rng: np.random.Generator) -> PoseAngles:
    return _gait(rng, run=True)


def _raised_arm(rng: np.random.Generator) -> LimbAngles:
    return LimbAngles(_u(rng, 80, 175), _u(rng, -10, 110), _u(rng, -20, 60), _u(rng, 0, 110), _u(rng, -30, 30))


def _arms_raised(rng: np.random.Generator) -> PoseAngles:
    arms = [_raised_arm(rng) if rng.random() < 0.75 else _rest_arm(rng) for _ in range(2)]
    if rng.random() < 0.3:  # keep at least one arm up
        arms[int(rng.integers(2))] = _raised_arm(rng)
    return PoseAngles(arms[0], arms[1], _stand_leg(rng), _stand_leg(rng), **_spine_neck(rng))


def _reaching(rng: np.random.Generator) -> PoseAngles:
    arms = [_rest_arm(rng), _rest_arm(rng)]
    arms[int(rng.integers(2))] = LimbAngles(_u(rng, 50, 110), _u(rng, -40, 70), _u(rng, -10, 40), _u(rng, 0, 40), 0.0)
    return PoseAngles(arms[0], arms[1], _stand_leg(rng), _stand_leg(rng), **_spine_neck(rng, (0, 30)))


def _lap_arm(rng: np.random.Generator) -> LimbAngles:
    return LimbAngles(_u(rng, 10, 50), _u(rng, -30, 50), _u(rng, 0, 50), _u(rng, 40, 110), _u(rng, -20, 20))


def _sitting(rng: np.random.Generator) -> PoseAngles:
    legs = [
        LimbAngles(_u(rng, 70, 100), _u(rng, -10, 30), _u(rng, -10, 15), _u(rng, 65, 115), _u(rng, 0, 20))
        for _ in range(2)
    ]
    return PoseAngles(_lap_arm(rng), _lap_arm(rng), legs[0], legs[1], **_spine_neck(rng, (-5, 20)))


def _crouching(rng: np.random.Generator) -> PoseAngles:
    legs = [
        LimbAngles(_u(rng, 85, 125), _u(rng, 0, 40), _u(rng, -10, 20), _u(rng, 105, 150), _u(rng, 10, 30))
        for _ in range(2)
    ]
    arms = [LimbAngles(_u(rng, 20, 80), _u(rng, -30, 40), _u(rng, 0, 40), _u(rng, 20, 120), 0.0) for _ in range(2)]
    return PoseAngles(arms[0], arms[1], legs[0], legs[1], **_spine_neck(rng, (20, 50)))


def _kneeling(rng: np.random.Generator) -> PoseAngles:
    front = LimbAngles(_u(rng, 75, 100), _u(rng, -5, 20), _u(rng, -10, 10), _u(rng, 80, 100), _u(rng, 0, 15))
    back = LimbAngles(_u(rng, 0, 15), 180.0, _u(rng, -10, 10), _u(rng, 85, 110), _u(rng, -30, -10))
    legs = [front, back] if rng.random() < 0.5 else [back, front]
    return PoseAngles(_lap_arm(rng), _rest_arm(rng), legs[0], legs[1], **_spine_neck(rng, (0, 20)))


def _uniform_limb(rng: np.random.Generator, joint: str) -> LimbAngles:
    lo, hi = JOINT_LIMITS_DEG[f"{joint}_azimuth"]
    az = _u(rng, lo, hi)
    bend, distal = ("elbow", "wrist") if joint == "shoulder" else ("knee", "ankle")
    return LimbAngles(
        _u(rng, 0, elevation_limit(joint, az)),
        az,
        _u(rng, *JOINT_LIMITS_DEG[f"{joint}_twist"]),
        _u(rng, *JOINT_LIMITS_DEG[bend]),
        _u(rng, *JOINT_LIMITS_DEG[distal]),
    )


def _uniform(rng: np.random.Generator) -> PoseAngles:
    legs = [_uniform_limb(rng, "hip") for _ in range(2)]
    for leg in legs:  # stay upright-ish: a uniform draw otherwise mostly looks like falling
        leg.elevation = min(leg.elevation, 70.0)
    return PoseAngles(
        _uniform_limb(rng, "shoulder"),
        _uniform_limb(rng, "shoulder"),
        legs[0],
        legs[1],
        spine=_three(_u(rng, *JOINT_LIMITS_DEG[f"spine_{k}"]) for k in ("flexion", "lateral", "twist")),
        neck=_three(_u(rng, *JOINT_LIMITS_DEG[f"neck_{k}"]) for k in ("flexion", "lateral", "yaw")),
    )


#: Pose families and their sampling weights.
POSE_FAMILIES: dict[str, tuple[Callable[[np.random.Generator], PoseAngles], float]] = {
    "standing": (_standing, 0.24),
    "walking": (_walking, 0.20),
    "running": (_running, 0.07),
    "arms_raised": (_arms_raised, 0.14),
    "reaching": (_reaching, 0.08),
    "sitting": (_sitting, 0.10),
    "crouching": (_crouching, 0.07),
    "kneeling": (_kneeling, 0.04),
    "uniform": (_uniform, 0.06),
}


def _clip(v: float, key: str) -> float:
    lo, hi = JOINT_LIMITS_DEG[key]
    return min(max(v, lo), hi)


def clip_to_limits(pose: PoseAngles) -> PoseAngles:
    """Clips every angle of ``pose`` (in place) to the joint limits and returns it."""
    for limb, joint, bend, distal in (
        (pose.left_arm, "shoulder", "elbow", "wrist"),
        (pose.right_arm, "shoulder", "elbow", "wrist"),
        (pose.left_leg, "hip", "knee", "ankle"),
        (pose.right_leg, "hip", "knee", "ankle"),
    ):
        limb.azimuth = _clip(limb.azimuth, f"{joint}_azimuth")
        limb.elevation = min(max(limb.elevation, 0.0), elevation_limit(joint, limb.azimuth))
        limb.twist = _clip(limb.twist, f"{joint}_twist")
        limb.bend = _clip(limb.bend, bend)
        limb.distal = _clip(limb.distal, distal)
    pose.spine = _three(_clip(v, f"spine_{k}") for v, k in zip(pose.spine, ("flexion", "lateral", "twist")))
    pose.neck = _three(_clip(v, f"neck_{k}") for v, k in zip(pose.neck, ("flexion", "lateral", "yaw")))
    return pose


_NAMES = tuple(POSE_FAMILIES)
_WEIGHTS = np.array([w for _, w in POSE_FAMILIES.values()]) / sum(w for _, w in POSE_FAMILIES.values())


def sample_pose(rng: np.random.Generator) -> tuple[str, PoseAngles]:
    """Draws a pose family by weight, then a pose of that family clipped to the joint limits.

    Returns:
        ``(family name, pose in degrees)``.
    """
    name = _NAMES[int(rng.choice(len(_NAMES), p=_WEIGHTS))]
    return name, clip_to_limits(POSE_FAMILIES[name][0](rng))
