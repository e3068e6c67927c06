"""Articulated 3-D hand with anatomical joint limits (synthetic hand renderer).

A kinematic tree rooted at the wrist: wrist -> palm -> four finger chains (MCP ball-like
joint with flexion and abduction, PIP and DIP hinges) and the thumb chain (CMC saddle
joint with flexion and palmar abduction, MCP and IP hinges). Proportions follow classic
hand anthropometry (Buryanov & Kotiuk, "Proportions of Hand Segments", Int. J. Morphol.
2010; hand length = wrist crease to middle fingertip, 0.16-0.21 m), randomised per hand.

**Hand frame** (metres) of a *left* hand: origin at the wrist, ``+x`` radial (toward the
thumb), ``+y`` distal (toward the fingers), ``+z`` dorsal (the back of the hand, where the
nails are). A right hand is the mirror image ``x -> -x`` (see :func:`mirror`), like the
left/right convention of :mod:`.skeleton3d`. Flexion (positive) turns a bone toward the
palm (``-z``); abduction (positive) turns it radially (toward the thumb).

Joint ranges live in :data:`HAND_LIMITS_DEG`; :mod:`.hand_poses` samples inside them and
adds the natural couplings (DIP ~ 2/3 PIP, abduction shrinking with MCP flexion).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from landmarks.data.synthetic.body.skeleton3d import rot_x, rot_z
from landmarks.layouts.hand import FINGERS

#: Joint ranges in degrees (min, max), hand-frame convention above.
HAND_LIMITS_DEG: dict[str, tuple[float, float]] = {
    "mcp": (-25.0, 90.0),  # - hyperextension
    "pip": (0.0, 110.0),
    "dip": (-5.0, 80.0),
    "abd_index": (-12.0, 22.0),
    "abd_middle": (-12.0, 12.0),
    "abd_ring": (-15.0, 10.0),
    "abd_little": (-25.0, 8.0),
    "thumb_cmc_flex": (-25.0, 50.0),  # + across the palm (toward the little finger)
    "thumb_cmc_abd": (-15.0, 55.0),  # + palmar abduction (away from the palm plane)
    "thumb_mcp": (-10.0, 60.0),
    "thumb_ip": (-20.0, 80.0),
    "cup": (0.0, 1.0),  # palm arch: ring and little metacarpals fold palmar
    "wrist_flex": (-70.0, 70.0),  # + palmar flexion (only moves the forearm stub)
    "wrist_dev": (-20.0, 30.0),  # + ulnar deviation
}

# MCP joint positions (x, y) in hand lengths and the fan angle (deg, + radial) of each finger.
_MCP_XY = {"index": (0.12, 0.50), "middle": (0.015, 0.52), "ring": (-0.09, 0.49), "little": (-0.18, 0.44)}
_FAN_DEG = {"index": 7.0, "middle": 0.0, "ring": -8.0, "little": -17.0}
# Bone lengths (proximal, middle, distal) in hand lengths; the thumb's are metacarpal, proximal, distal.
_BONES = {
    "thumb": (0.23, 0.16, 0.135),
    "index": (0.22, 0.125, 0.09),
    "middle": (0.245, 0.145, 0.095),
    "ring": (0.225, 0.14, 0.095),
    "little": (0.175, 0.10, 0.085),
}
# Bone radii in hand lengths (proximal, middle, distal).
_RADII = {
    "thumb": (0.068, 0.054, 0.048),
    "index": (0.047, 0.042, 0.038),
    "middle": (0.049, 0.044, 0.039),
    "ring": (0.045, 0.041, 0.037),
    "little": (0.039, 0.036, 0.033),
}
_THUMB_CMC = np.array([0.13, 0.16, -0.05])


def _thumb_rest_frame() -> np.ndarray:
    """Columns x (palmar abduction), y (along the metacarpal), z (the nail side) of the thumb at rest."""
    y = np.array([0.55, 0.78, -0.3])
    y /= np.linalg.norm(y)
    x = np.array([0.2, 0.0, -1.0])
    x -= (x @ y) * y
    x /= np.linalg.norm(x)
    return np.stack([x, y, np.cross(x, y)], axis=1)


_THUMB_FRAME = _thumb_rest_frame()


@dataclass(frozen=True)
class HandShape:
    """Per-hand proportions.

    Attributes:
        length: wrist to middle fingertip (m).
        width: palm width multiplier (1 = average).
        girth: finger and palm thickness multiplier.
        bones: finger name -> three bone lengths (m), proximal to distal.
    """

    length: float
    width: float
    girth: float
    bones: dict[str, tuple[float, float, float]]

    def radius(self, finger: str, bone: int) -> float:
        """Radius (m) of ``bone`` (0 proximal .. 2 distal) of ``finger``."""
        return _RADII[finger][bone] * self.length * self.girth


def _bone_lengths(rng: np.random.Generator, finger: str, length: float) -> tuple[float, float, float]:
    """The three bones of ``finger`` for a hand ``length`` m long, each +-6 %."""
    a, b, c = (float(x * length * rng.uniform(0.94, 1.06)) for x in _BONES[finger])
    return (a, b, c)


def sample_hand_shape(rng: np.random.Generator) -> HandShape:
    """Random adult hand: length 0.16-0.21 m, each bone +-6 %, width 0.9-1.1, girth 0.85-1.15."""
    length = float(rng.uniform(0.16, 0.21))
    bones = {f: _bone_lengths(rng, f, length) for f in FINGERS}
    return HandShape(length, float(rng.uniform(0.9, 1.1)), float(rng.uniform(0.85, 1.15)), bones)


@dataclass
class FingerAngles:
    """Angles of one finger in degrees: MCP flexion and abduction, PIP and DIP flexion.

    For the thumb the fields mean CMC flexion (``mcp``), CMC palmar abduction (``abd``),
    MCP flexion (``pip``) and IP flexion (``dip``).
    """

    mcp: float = 0.0
    abd: float = 0.0
    pip: float = 0.0
    dip: float = 0.0


@dataclass
class HandPose:
    """A hand pose in degrees: one :class:`FingerAngles` per finger, palm arch and wrist."""

    fingers: dict[str, FingerAngles] = field(default_factory=lambda: {f: FingerAngles() for f in FINGERS})
    cup: float = 0.0
    wrist_flex: float = 0.0
    wrist_dev: float = 0.0


@dataclass
class Hand3D:
    """A posed hand in the hand frame (metres).

    Attributes:
        joints: ``(21, 3)`` keypoints in :data:`landmarks.layouts.hand.HAND21_NAMES` order.
        frames: ``(15, 3, 3)`` bone rotations (columns x, y along the bone, z the nail side),
            finger by finger (thumb first), proximal to distal.
        palm: ``(P, 3)`` palm outline points (both faces of the palm slab).
        forearm: ``(3,)`` unit direction from the wrist up the forearm.
        dorsal: ``(3,)`` unit normal of the back of the hand.
        shape: the proportions used.
        side: ``"left"`` or ``"right"``.
    """

    joints: np.ndarray
    frames: np.ndarray
    palm: np.ndarray
    forearm: np.ndarray
    dorsal: np.ndarray
    shape: HandShape
    side: str = "left"


def clip_hand_pose(pose: HandPose) -> HandPose:
    """Clips every angle of ``pose`` (in place) to :data:`HAND_LIMITS_DEG` and returns it."""

    def clip(v: float, key: str) -> float:
        lo, hi = HAND_LIMITS_DEG[key]
        return float(min(max(v, lo), hi))

    for f, a in pose.fingers.items():
        if f == "thumb":
            a.mcp, a.abd = clip(a.mcp, "thumb_cmc_flex"), clip(a.abd, "thumb_cmc_abd")
            a.pip, a.dip = clip(a.pip, "thumb_mcp"), clip(a.dip, "thumb_ip")
        else:
            a.mcp, a.abd = clip(a.mcp, "mcp"), clip(a.abd, f"abd_{f}")
            a.pip, a.dip = clip(a.pip, "pip"), clip(a.dip, "dip")
    pose.cup = clip(pose.cup, "cup")
    pose.wrist_flex, pose.wrist_dev = clip(pose.wrist_flex, "wrist_flex"), clip(pose.wrist_dev, "wrist_dev")
    return pose


def hand_forward_kinematics(pose: HandPose, shape: HandShape) -> Hand3D:
    """Poses a left hand in the hand frame (mirror with :func:`mirror` for a right hand).

    Args:
        pose: joint angles in degrees (assumed inside the limits).
        shape: proportions.

    Returns:
        The posed :class:`Hand3D` (metres).
    """
    L, w = shape.length, shape.width
    joints = [np.zeros(3)]
    frames = []
    bases = {}
    for f in FINGERS:
        a = pose.fingers[f]
        if f == "thumb":
            base = _THUMB_CMC * np.array([w, 1.0, 1.0]) * L
            rot = _THUMB_FRAME @ rot_z(-a.abd) @ rot_x(-a.mcp)
        else:
            arch = pose.cup * {"index": 0.0, "middle": 0.1, "ring": 0.55, "little": 1.0}[f]
            x, y = _MCP_XY[f]
            base = np.array([x * w + 0.03 * arch, y, -0.07 * arch]) * L
            rot = rot_z(-_FAN_DEG[f] - a.abd) @ rot_x(-12.0 * arch - a.mcp)
        bases[f] = base
        joints.append(base)
        p = base
        for k, (bend, length) in enumerate(zip((0.0, a.pip, a.dip), shape.bones[f])):
            if k:
                rot = rot @ rot_x(-bend)
            frames.append(rot)
            p = p + rot[:, 1] * length
            joints.append(p)
    th = 0.07 * L * shape.girth  # half the palm thickness
    edge = 0.045 * L * w
    outline = [
        (0.11 * L * w, -0.03 * L, 0.0),
        (-0.12 * L * w, -0.03 * L, 0.0),  # wrist, radial and ulnar
        tuple(bases["index"] + np.array([edge, -0.01 * L, 0.0])),
        tuple(bases["little"] + np.array([-edge, -0.02 * L, 0.0])),
        tuple(bases["middle"] + np.array([0.0, 0.02 * L, 0.0])),
        tuple(bases["ring"] + np.array([0.0, 0.015 * L, 0.0])),
        (-0.19 * L * w, 0.22 * L, 0.0),  # hypothenar
        (0.16 * L * w, 0.22 * L, -0.03 * L),  # thenar
    ]
    palm = np.array([(x, y, z + s * th) for x, y, z in outline for s in (1.0, -1.0)])
    fore = rot_x(pose.wrist_flex) @ rot_z(-pose.wrist_dev) @ np.array([0.0, -1.0, 0.0])
    return Hand3D(np.stack(joints), np.stack(frames), palm, fore, np.array([0.0, 0.0, 1.0]), shape)


_MIRROR = np.array([-1.0, 1.0, 1.0])


def mirror(hand: Hand3D) -> Hand3D:
    """The mirror image ``x -> -x`` of a hand (left <-> right); bone frames keep ``y``, ``z`` meanings."""
    frames = hand.frames * _MIRROR[None, :, None]  # mirror each column vector
    return Hand3D(
        hand.joints * _MIRROR,
        frames,
        hand.palm * _MIRROR,
        hand.forearm * _MIRROR,
        hand.dorsal * _MIRROR,
        hand.shape,
        "right" if hand.side == "left" else "left",
    )
