"""Random scene layout for the synthetic hand renderer: pose, handedness, 3-D rotation, placement.

Each hand gets random proportions (:func:`.hand_skeleton.sample_hand_shape`), a pose
(:mod:`.hand_poses`), a handedness (a right hand is the mirror image of a left one), a
uniformly random 3-D orientation and a place in front of the camera (:func:`sample_hand_camera`).
Hand 0 (the *main* hand) is sized so the longer side of its box is ``size_range`` of the
shorter image side (45-85 % of the joint extent, about 40-80 % of the rendered box, so a
top-down crop is meaningful) and kept inside the frame, except for an occasional hand cut by
the border; further hands are smaller, may be cut, and avoid overlapping earlier ones.
The orientation is uniform except that the forearm may not point at the camera by more than
about 15 deg (it belongs to a person behind or beside the hand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landmarks.data.synthetic.body.figure import Camera
from landmarks.data.synthetic.common.placement import place_box
from landmarks.data.synthetic.hand.figure import HandLook
from landmarks.data.synthetic.hand.poses import sample_hand_pose
from landmarks.data.synthetic.hand.skeleton import Hand3D, hand_forward_kinematics, mirror, sample_hand_shape


@dataclass
class PlacedHand:
    """One hand of a scene.

    Attributes:
        hand: posed hand, hand frame (m), mirrored when right.
        rot: ``(3, 3)`` hand -> camera rotation.
        trans: ``(3,)`` camera-frame wrist position (m).
        look: appearance.
        family: pose family name.
        handedness: ``"left"`` or ``"right"``.
    """

    hand: Hand3D
    rot: np.ndarray
    trans: np.ndarray
    look: HandLook
    family: str
    handedness: str


def sample_hand_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    """Pinhole camera with a 20-55 deg horizontal field of view, principal point near the centre.

    Narrower than the body camera (:func:`landmarks.data.synthetic.body.scene.sample_camera`): a hand
    filling most of the picture is usually a crop of a wider photo, so perspective is mild.
    """
    fov = np.radians(rng.uniform(20.0, 55.0))
    f = 0.5 * width / np.tan(0.5 * fov)
    return Camera(float(f), 0.5 * width + rng.uniform(-2, 2), 0.5 * height + rng.uniform(-2, 2))


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly distributed ``(3, 3)`` rotation (normalised Gaussian quaternion; Shoemake 1992)."""
    w, x, y, z = rng.normal(size=4)
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _extent(pts: np.ndarray, pad_m: float, depth: float, cam: Camera) -> np.ndarray:
    """``x0, y0, x1, y1`` px of hand-frame points already rotated and centred, placed at ``(0, 0, depth)``."""
    uv = cam.project(pts + np.array([0.0, 0.0, depth])) - np.array([cam.cx, cam.cy])
    pad = cam.f * pad_m / depth
    return np.array([uv[:, 0].min() - pad, uv[:, 1].min() - pad, uv[:, 0].max() + pad, uv[:, 1].max() + pad])


def sample_hand(
    rng: np.random.Generator,
    cam: Camera,
    width: int,
    height: int,
    look: HandLook,
    handedness: str,
    main: bool,
    others: list[np.ndarray],
    size_range: tuple[float, float] = (0.45, 0.85),
    cut_prob: float = 0.15,
    max_overlap: float = 0.3,
) -> tuple[PlacedHand, np.ndarray]:
    """Samples and places one hand.

    Args:
        rng: random generator.
        cam: the scene camera.
        width: image width W (px).
        height: image height H (px).
        look: appearance.
        handedness: ``"left"`` or ``"right"``.
        main: True for the main hand (sized by ``size_range``, inside the frame unless cut).
        others: approximate boxes ``x0, y0, x1, y1`` (px) of the hands placed so far.
        size_range: longer box side of the main hand as a fraction of ``min(W, H)``; further
            hands get 0.45-0.85 of it.
        cut_prob: chance that the main hand may leave the frame by up to 15 % of its size.
        max_overlap: largest box IoU with an earlier hand (non-main only; best of 4 tries).

    Returns:
        ``(hand, approximate box x0, y0, x1, y1 px)``.
    """
    shape = sample_hand_shape(rng)
    family, pose = sample_hand_pose(rng)
    hand = hand_forward_kinematics(pose, shape)
    if handedness == "right":
        hand = mirror(hand)
    for _ in range(8):  # the forearm comes from the person, so it rarely points at the camera
        rot = random_rotation(rng)
        if float((rot @ hand.forearm)[2]) >= -0.25:
            break
    pts = np.concatenate([hand.joints, hand.palm])
    pivot = 0.5 * (pts.min(0) + pts.max(0))
    local = (pts - pivot) @ rot.T
    pad = 0.05 * shape.length  # finger thickness
    frac = rng.uniform(*size_range) * (1.0 if main else rng.uniform(0.45, 0.85))
    target = frac * min(width, height)
    depth = 1.0
    for _ in range(2):  # perspective: a second pass corrects the first guess
        ext = _extent(local, pad, depth, cam)
        depth *= max(ext[2] - ext[0], ext[3] - ext[1]) / target
        depth = max(depth, 2.0 * float(np.abs(local[:, 2]).max()) + 0.05)  # stay well in front of the camera
    ext = _extent(local, pad, depth, cam)
    size = ext[2:] - ext[:2]
    wh = np.array([width, height], dtype=np.float64)
    margin = 0.02 * min(width, height)
    if main and rng.random() >= cut_prob:
        lo, hi = margin - ext[:2], wh - margin - ext[2:]
    else:
        lo, hi = -ext[:2] - 0.15 * size, wh - ext[2:] + 0.15 * size
    uv, box = place_box(rng, ext, lo, hi, others, 1 if main else 4, max_overlap)
    centre = np.append((uv - np.array([cam.cx, cam.cy])) * depth / cam.f, depth)
    trans = centre - rot @ pivot
    return PlacedHand(hand, rot, trans, look, family, handedness), box
