"""Hand keypoint layouts: the standard 21-point hand (OpenPose / FreiHAND / COCO-WholeBody order).

Order: ``0`` wrist; ``1-4`` thumb CMC, MCP, IP, tip; ``5-8`` index MCP, PIP, DIP, tip;
``9-12`` middle; ``13-16`` ring; ``17-20`` little finger (each finger base to tip).

**No flip pairs.** A horizontal flip mirrors a left hand into a right hand; it does not
swap any two keypoints of one hand (the thumb is still the thumb). So ``flip_pairs`` is
empty, ``flip_indices`` is the identity, and a flip augmentation changes only the
handedness label (if a task predicts one), never the keypoint order.

OKS sigmas are the per-keypoint constants of COCO-WholeBody's hand part (Jin et al.,
"Whole-Body Human Pose Estimation in the Wild", ECCV 2020; ``sigmas_lefthand`` /
``sigmas_righthand`` in xtcocotools and mmpose ``coco_wholebody_hand.py``). ``norm_pair`` is
left empty: hand PCK@0.2 / EPE / AUC normalise by the box size, not by a keypoint pair.

To add a sibling layout (e.g. a 16-point hand without tips), write one more function here
returning a :class:`~landmarks.layouts.spec.KeypointSpec`.
"""

from __future__ import annotations

from landmarks.layouts.spec import KeypointSpec

__all__ = ["FINGERS", "FINGER_JOINTS", "HAND21_NAMES", "HAND21_SIGMAS", "HAND21_SKELETON", "finger_indices", "hand21"]

#: Finger names, thumb first, in keypoint order.
FINGERS: tuple[str, ...] = ("thumb", "index", "middle", "ring", "little")
#: Joint names of each finger, base to tip (the thumb has CMC, MCP, IP; the others MCP, PIP, DIP).
FINGER_JOINTS: dict[str, tuple[str, ...]] = {
    "thumb": ("cmc", "mcp", "ip", "tip"),
    **{f: ("mcp", "pip", "dip", "tip") for f in FINGERS[1:]},
}

HAND21_NAMES: tuple[str, ...] = ("wrist",) + tuple(f"{f}_{j}" for f in FINGERS for j in FINGER_JOINTS[f])

HAND21_SIGMAS: tuple[float, ...] = (
    0.029,
    0.022,
    0.035,
    0.037,
    0.047,
    0.026,
    0.025,
    0.024,
    0.035,
    0.018,
    0.024,
    0.022,
    0.026,
    0.017,
    0.021,
    0.021,
    0.032,
    0.02,
    0.019,
    0.022,
    0.031,
)

#: Bones: wrist -> each finger base, then along each finger (20 edges).
HAND21_SKELETON: tuple[tuple[int, int], ...] = tuple(
    edge
    for f in range(5)
    for edge in ((0, 1 + 4 * f), (1 + 4 * f, 2 + 4 * f), (2 + 4 * f, 3 + 4 * f), (3 + 4 * f, 4 + 4 * f))
)


def finger_indices(finger: str) -> tuple[int, int, int, int]:
    """Keypoint indices of one finger, base to tip (e.g. ``"index"`` -> ``(5, 6, 7, 8)``)."""
    if finger not in FINGERS:
        raise ValueError(f"hand layout: finger '{finger}' is not one of {FINGERS}")
    base = 1 + 4 * FINGERS.index(finger)
    return base, base + 1, base + 2, base + 3


def hand21() -> KeypointSpec:
    """The 21 hand keypoints with COCO-WholeBody hand OKS sigmas and no flip pairs (see module doc)."""
    return KeypointSpec(
        name="hand21",
        names=HAND21_NAMES,
        flip_pairs=(),
        skeleton=HAND21_SKELETON,
        sigmas=HAND21_SIGMAS,
    )
