"""Articulated 3-D human skeleton with anatomical joint limits (synthetic body renderer).

The skeleton is a kinematic tree rooted at the pelvis: pelvis -> lumbar spine -> chest ->
neck -> head, chest -> shoulder -> elbow -> wrist -> hand, pelvis -> hip -> knee -> ankle -> toe.
Segment proportions follow classic anthropometric ratios of body height (Drillis & Contini,
1966; Winter, *Biomechanics and Motor Control of Human Movement*), randomised per person.

**Body frame** (metres): origin at the pelvis (mid-point of the hip joints), ``+x`` the
person's *left*, ``+y`` up, ``+z`` the person's front (the way the face looks).

A ball joint (shoulder, hip) is parameterised by a *swing* (``elevation`` from hanging
straight down, ``azimuth`` around the vertical: 0 forward, +90 outward, 180 backward)
followed by a *twist* about the limb (positive = internal rotation); hinge joints (elbow,
knee) have one flexion angle. Angles are stated for the left side; the right side is the
mirror image (``x -> -x``). Limits live in :data:`JOINT_LIMITS_DEG` and
:func:`elevation_limit`; :mod:`landmarks.data.synthetic.body.poses` samples inside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Joint ranges in degrees (min, max), left-side convention.
JOINT_LIMITS_DEG: dict[str, tuple[float, float]] = {
    "shoulder_azimuth": (-60.0, 180.0),
    "shoulder_twist": (-40.0, 80.0),
    "elbow": (0.0, 150.0),  # flexion only: the forearm folds toward the front of the upper arm
    "wrist": (-40.0, 40.0),
    "hip_azimuth": (-90.0, 180.0),
    "hip_twist": (-35.0, 35.0),
    "knee": (0.0, 150.0),  # flexion only: the shank folds toward the back of the thigh
    "ankle": (-30.0, 30.0),  # + dorsiflexion (toes up)
    "spine_flexion": (-25.0, 55.0),  # + bends forward
    "spine_lateral": (-20.0, 20.0),
    "spine_twist": (-30.0, 30.0),
    "neck_flexion": (-35.0, 45.0),  # + chin down
    "neck_lateral": (-25.0, 25.0),
    "neck_yaw": (-65.0, 65.0),
}

# Maximum swing elevation (deg) as a piecewise-linear function of azimuth (deg).
_ELEVATION_TABLE: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "shoulder": ((-60.0, -30.0, 0.0, 90.0, 120.0, 180.0), (100.0, 150.0, 175.0, 175.0, 120.0, 55.0)),
    "hip": ((-90.0, -30.0, 0.0, 45.0, 90.0, 135.0, 180.0), (25.0, 100.0, 130.0, 90.0, 50.0, 40.0, 30.0)),
}


def elevation_limit(joint: str, azimuth: float) -> float:
    """Largest allowed swing elevation of a ball joint.

    Args:
        joint: ``"shoulder"`` or ``"hip"``.
        azimuth: swing azimuth in degrees (0 forward, +90 outward, 180 backward).

    Returns:
        The maximum elevation in degrees (e.g. a hip flexes to 130 deg but extends to 30 deg).
    """
    xs, ys = _ELEVATION_TABLE[joint]
    return float(np.interp(azimuth, xs, ys))


@dataclass(frozen=True)
class BodyShape:
    """Per-person proportions, all lengths in metres.

    Attributes:
        height: standing height (heel to crown).
        shoulder_half: half distance between the shoulder joints.
        hip_half: half distance between the hip joints.
        lumbar: pelvis to lumbar joint (navel height).
        thorax: lumbar joint to neck base.
        neck: neck base to the atlas (head pivot).
        head_radius: half of the head height.
        upper_arm, forearm, hand, thigh, shank, foot: segment lengths.
        girth: limb/torso thickness multiplier (1 = average build).
    """

    height: float
    shoulder_half: float
    hip_half: float
    lumbar: float
    thorax: float
    neck: float
    head_radius: float
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shank: float
    foot: float
    girth: float


def sample_body_shape(rng: np.random.Generator) -> BodyShape:
    """Random adult proportions (height 1.50-1.95 m, each segment +-8 %, girth 0.85-1.3)."""
    h = float(rng.uniform(1.50, 1.95))
    j = rng.uniform(0.92, 1.08, size=10)
    return BodyShape(
        height=h,
        shoulder_half=0.100 * h * j[0],
        hip_half=0.056 * h * j[1],
        lumbar=0.080 * h,
        thorax=0.210 * h * j[2],
        neck=0.045 * h * j[3],
        head_radius=0.064 * h * j[4],
        upper_arm=0.186 * h * j[5],
        forearm=0.146 * h * j[6],
        hand=0.100 * h * j[7],
        thigh=0.245 * h * j[8],
        shank=0.246 * h * j[9],
        foot=0.140 * h,
        girth=float(rng.uniform(0.85, 1.3)),
    )


@dataclass
class LimbAngles:
    """Angles of one limb in degrees (left-side convention, see the module docstring).

    Attributes:
        elevation: swing away from hanging straight down.
        azimuth: swing direction around the vertical (0 forward, +90 outward, 180 back).
        twist: rotation about the upper segment, + internal.
        bend: elbow or knee flexion, 0 = straight.
        distal: wrist flexion (arms) or ankle dorsiflexion (legs).
    """

    elevation: float = 0.0
    azimuth: float = 0.0
    twist: float = 0.0
    bend: float = 0.0
    distal: float = 0.0


@dataclass
class PoseAngles:
    """A full-body pose in degrees; ``spine`` and ``neck`` are (flexion, lateral, twist/yaw)."""

    left_arm: LimbAngles = field(default_factory=LimbAngles)
    right_arm: LimbAngles = field(default_factory=LimbAngles)
    left_leg: LimbAngles = field(default_factory=LimbAngles)
    right_leg: LimbAngles = field(default_factory=LimbAngles)
    spine: tuple[float, float, float] = (0.0, 0.0, 0.0)
    neck: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class Skeleton3D:
    """Joint positions and segment frames of one posed person, in the body frame (metres).

    Attributes:
        joints: name -> ``(3,)`` position, in :data:`JOINT_NAMES` order: the 17 COCO
            keypoint names plus ``pelvis, lumbar, neck_base, atlas, head, mouth`` and
            ``{left,right}_{hand,heel,toe}``.
        frames: segment name -> ``(3, 3)`` rotation whose columns are the segment's
            x (left), y (along the bone, proximal), z (front) axes. Segments:
            ``pelvis, chest, head, {left,right}_{upper_arm,forearm,thigh,shank}``.
        shape: the proportions used.
    """

    joints: dict[str, np.ndarray]
    frames: dict[str, np.ndarray]
    shape: BodyShape


def rot_x(deg: float) -> np.ndarray:
    """``(3, 3)`` rotation about x by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    """``(3, 3)`` rotation about y by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(deg: float) -> np.ndarray:
    """``(3, 3)`` rotation about z by ``deg`` degrees (right-handed)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def swing(elevation: float, azimuth: float) -> np.ndarray:
    """Rotation taking the hanging direction ``(0, -1, 0)`` to the swung limb direction.

    The limb direction is ``(sin e sin a, -cos e, sin e cos a)``; the rotation is about the
    horizontal axis ``(-cos a, 0, sin a)`` by ``e`` (Rodrigues), so the limb frame follows.
    """
    e, a = math.radians(elevation), math.radians(azimuth)
    kx, kz = -math.cos(a), math.sin(a)
    c, s, t = math.cos(e), math.sin(e), 1.0 - math.cos(e)
    return np.array(
        [
            [c + t * kx * kx, -s * kz, t * kx * kz],
            [s * kz, c, -s * kx],
            [t * kx * kz, s * kx, c + t * kz * kz],
        ]
    )


#: Order of :attr:`Skeleton3D.joints` (so joint arrays can be indexed by name once).
JOINT_NAMES: tuple[str, ...] = (
    "pelvis",
    "lumbar",
    "neck_base",
    "atlas",
    "head",
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "mouth",
) + tuple(
    f"{side}_{j}"
    for side in ("left", "right")
    for j in ("shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "heel", "toe")
)


_MIRROR_SIGNS = np.outer([-1.0, 1.0, 1.0], [-1.0, 1.0, 1.0])  # M @ R @ M == R * _MIRROR_SIGNS
# Face points in head radii, head frame (left = +x); the foot direction in the shank frame.
_FACE_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "mouth")
_FACE_POINTS = np.array(
    [
        (0.0, -0.12, 1.08),
        (0.36, 0.12, 0.86),
        (-0.36, 0.12, 0.86),
        (0.86, 0.0, -0.05),
        (-0.86, 0.0, -0.05),
        (0.0, -0.48, 0.82),
    ]
)
_FOOT_DIR = np.array([0.0, -0.28, 0.96])


def _limb_frames(limb: LimbAngles, side: str, hinge_sign: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower segment rotations (relative to the parent frame) of one limb."""
    upper = swing(limb.elevation, limb.azimuth) @ rot_y(-limb.twist)
    lower = upper @ rot_x(hinge_sign * limb.bend)
    if side == "right":  # mirror x -> -x
        upper, lower = upper * _MIRROR_SIGNS, lower * _MIRROR_SIGNS
    return upper, lower


def forward_kinematics(pose: PoseAngles, shape: BodyShape) -> Skeleton3D:
    """Poses the skeleton.

    Args:
        pose: joint angles in degrees.
        shape: proportions in metres.

    Returns:
        The posed :class:`Skeleton3D` in the body frame (metres).
    """
    # ``R @ (0, -1, 0) * L`` is written ``-R[:, 1] * L`` throughout: same maths, fewer temporaries.
    j: dict[str, np.ndarray] = {"pelvis": np.zeros(3)}
    fr: dict[str, np.ndarray] = {"pelvis": np.eye(3)}
    j["lumbar"] = np.array([0.0, shape.lumbar, 0.0])
    flex, lat, twist = pose.spine
    chest = rot_y(twist) @ rot_z(lat) @ rot_x(flex)
    fr["chest"] = chest
    j["neck_base"] = j["lumbar"] + chest[:, 1] * shape.thorax
    nflex, nlat, nyaw = pose.neck
    head = chest @ rot_y(nyaw) @ rot_z(nlat) @ rot_x(nflex)
    fr["head"] = head
    j["atlas"] = j["neck_base"] + chest[:, 1] * shape.neck
    r = shape.head_radius
    j["head"] = j["atlas"] + head @ np.array([0.0, 0.75 * r, 0.15 * r])
    face = j["head"] + (r * _FACE_POINTS) @ head.T
    for name, point in zip(_FACE_NAMES, face):
        j[name] = point
    for side, sx in (("left", 1.0), ("right", -1.0)):
        arm = pose.left_arm if side == "left" else pose.right_arm
        up, lo = _limb_frames(arm, side, hinge_sign=-1.0)
        up, lo = chest @ up, chest @ lo
        fr[f"{side}_upper_arm"], fr[f"{side}_forearm"] = up, lo
        sh = j["lumbar"] + chest[:, 0] * (sx * shape.shoulder_half) + chest[:, 1] * (0.93 * shape.thorax)
        j[f"{side}_shoulder"] = sh
        j[f"{side}_elbow"] = elbow = sh - up[:, 1] * shape.upper_arm
        j[f"{side}_wrist"] = wrist = elbow - lo[:, 1] * shape.forearm
        j[f"{side}_hand"] = wrist - (lo @ rot_x(-arm.distal))[:, 1] * shape.hand
        leg = pose.left_leg if side == "left" else pose.right_leg
        th, sk = _limb_frames(leg, side, hinge_sign=1.0)
        fr[f"{side}_thigh"], fr[f"{side}_shank"] = th, sk
        j[f"{side}_hip"] = hip = np.array([sx * shape.hip_half, 0.0, 0.0])
        j[f"{side}_knee"] = knee = hip - th[:, 1] * shape.thigh
        j[f"{side}_ankle"] = ankle = knee - sk[:, 1] * shape.shank
        foot_dir = sk @ (rot_x(-leg.distal) @ _FOOT_DIR)
        j[f"{side}_heel"] = ankle - (0.25 * shape.foot) * foot_dir - sk[:, 1] * (0.03 * shape.height)
        j[f"{side}_toe"] = ankle + (0.75 * shape.foot) * foot_dir
    return Skeleton3D(joints={n: j[n] for n in JOINT_NAMES}, frames=fr, shape=shape)
