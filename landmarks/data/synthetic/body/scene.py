"""Random scene layout for the synthetic body renderer: camera, people, occluders.

Each person gets random proportions, a pose from :mod:`~landmarks.data.synthetic.body.poses`,
a global orientation (yaw over the full 360 deg, small pitch and roll), clothing colours
and a place in the image. Person 0 (the *main* person) is kept inside the frame at
40-90 % of the image height (as standing height); the others may be cut by the border,
are kept from overlapping any earlier person too much (box IoU), and may stand in front
of or behind it. All randomness comes from the caller's generator.

Body frame -> camera frame: ``R = C @ Ry(yaw) @ Rx(pitch) @ Rz(roll)`` with
``C = diag(1, -1, -1)``, so yaw 0 faces the camera and the person's left is image right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landmarks.data.synthetic.body.figure import Camera, Look
from landmarks.data.synthetic.body.poses import sample_pose
from landmarks.data.synthetic.body.skeleton3d import (
    Skeleton3D,
    forward_kinematics,
    rot_x,
    rot_y,
    rot_z,
    sample_body_shape,
)
from landmarks.data.synthetic.common.placement import place_box
from landmarks.data.synthetic.common.texture import (
    HAIR_COLOURS,
    SKIN_TONES,
    TROUSER_COLOURS,
    jitter_colour,
    random_colour,
)

_BODY_TO_CAMERA = np.diag([1.0, -1.0, -1.0])


@dataclass
class PlacedPerson:
    """One person of a scene.

    Attributes:
        skel: posed skeleton, body frame (m).
        rot: ``(3, 3)`` body -> camera rotation.
        trans: ``(3,)`` camera-frame pelvis position (m).
        look: appearance.
        family: pose family name.
        yaw: global yaw in degrees (0 = facing the camera).
    """

    skel: Skeleton3D
    rot: np.ndarray
    trans: np.ndarray
    look: Look
    family: str
    yaw: float


def sample_camera(rng: np.random.Generator, width: int, height: int) -> Camera:
    """Pinhole camera with a 40-65 deg horizontal field of view, principal point near the centre."""
    fov = np.radians(rng.uniform(40.0, 65.0))
    f = 0.5 * width / np.tan(0.5 * fov)
    return Camera(float(f), 0.5 * width + rng.uniform(-2, 2), 0.5 * height + rng.uniform(-2, 2))


def _tuple(c: np.ndarray) -> tuple[float, float, float]:
    return float(c[0]), float(c[1]), float(c[2])


def sample_look(rng: np.random.Generator) -> Look:
    """Random skin, hair and clothing colours (RGB 0..255) and clothing switches."""
    trousers = (
        jitter_colour(rng, TROUSER_COLOURS[rng.integers(len(TROUSER_COLOURS))])
        if rng.random() < 0.75
        else random_colour(rng, (0.2, 0.8), (0.2, 0.8))
    )
    return Look(
        skin=_tuple(jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10.0)),
        hair=_tuple(jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 12.0)),
        shirt=_tuple(random_colour(rng, (0.15, 0.9), (0.3, 0.95))),
        trousers=_tuple(trousers),
        shoes=_tuple(random_colour(rng, (0.0, 0.5), (0.08, 0.35))),
        long_sleeves=bool(rng.random() < 0.5),
        shorts=bool(rng.random() < 0.2),
        long_hair=bool(rng.random() < 0.3),
    )


def _extent(skel: Skeleton3D, rot: np.ndarray, depth: float, cam: Camera) -> np.ndarray:
    """``x0, y0, x1, y1`` px of the joints relative to the pelvis projection, pelvis at ``(0, 0, depth)``."""
    pts = np.stack(list(skel.joints.values())) @ rot.T + np.array([0.0, 0.0, depth])
    uv = cam.project(pts) - np.array([cam.cx, cam.cy])
    pad = cam.f * 0.09 * skel.shape.height / depth  # head top, limb thickness
    return np.array([uv[:, 0].min() - pad, uv[:, 1].min() - pad, uv[:, 0].max() + pad, uv[:, 1].max() + pad])


def sample_person(
    rng: np.random.Generator,
    cam: Camera,
    width: int,
    height: int,
    main: bool,
    others: list[np.ndarray],
    max_overlap: float,
) -> tuple[PlacedPerson, np.ndarray]:
    """Samples and places one person.

    Args:
        rng: random generator.
        cam: the scene camera.
        width: image width W (px).
        height: image height H (px).
        main: True for the main person (inside the frame, 40-90 % of H tall when standing).
        others: approximate boxes ``x0, y0, x1, y1`` (px) of the people placed so far.
        max_overlap: largest box IoU allowed with any earlier person (non-main only; best of
            a few tries).

    Returns:
        ``(person, approximate box x0, y0, x1, y1 px)``.
    """
    shape = sample_body_shape(rng)
    family, pose = sample_pose(rng)
    skel = forward_kinematics(pose, shape)
    yaw = float(rng.uniform(0.0, 360.0))
    rot = _BODY_TO_CAMERA @ rot_y(yaw) @ rot_x(rng.uniform(-12, 12)) @ rot_z(rng.uniform(-8, 8))
    frac = rng.uniform(0.4, 0.9) if main else rng.uniform(0.25, 0.85)
    depth = cam.f * shape.height / (frac * height)
    ext = _extent(skel, rot, depth, cam)
    margin = 0.03 * min(width, height)
    if main:  # push back until the person fits inside the frame with a margin
        fit = max((ext[2] - ext[0]) / (width - 2 * margin), (ext[3] - ext[1]) / (height - 2 * margin), 1.0)
        depth *= fit
        ext = _extent(skel, rot, depth, cam)
    wh = np.array([width, height], dtype=np.float64)
    if main:  # absolute pelvis pixel keeping the whole extent inside the margins
        lo, hi = margin - ext[:2], wh - margin - ext[2:]
    else:  # up to 30 % of the extent may leave the frame
        size = ext[2:] - ext[:2]
        lo, hi = -ext[:2] - 0.3 * size, wh - ext[2:] + 0.3 * size
    uv, box = place_box(rng, ext, lo, hi, others, 1 if main else 4, max_overlap)
    centre = np.array([cam.cx, cam.cy])
    trans = np.append((uv - centre) * depth / cam.f, depth)
    return PlacedPerson(skel, rot, trans, sample_look(rng), family, yaw), box
