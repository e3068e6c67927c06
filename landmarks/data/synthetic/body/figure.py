"""Turns one posed 3-D skeleton into depth-sorted, shaded 2-D body parts (synthetic body).

Limbs are capsules (a dark silhouette line, a base-colour core and a highlight offset toward
the light), the torso two convex hulls (shirt and trousers) of 3-D box corners so it keeps a
thickness when seen from the side, the head an ellipse with hair behind it (facing the
camera) or over it (facing away) and eyes, eyebrows, nose, mouth and ears drawn only where
their surface normals face the camera. That makes the facing direction, and so left vs
right, readable from the picture. Parts are returned back-to-front (painter's algorithm).

Camera frame: ``X`` right, ``Y`` down, ``Z`` forward (metres); pinhole ``u = f X / Z + cx``.

(Over 300 lines: one projection and part-drawing pipeline whose steps share the projected skeleton.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from landmarks.data.synthetic.body.skeleton3d import Skeleton3D

# Part codes (which body part a silhouette pixel belongs to).
TORSO, HEAD, NECK = 1, 2, 3
L_UPPER_ARM, R_UPPER_ARM, L_FOREARM, R_FOREARM, L_HAND, R_HAND = 4, 5, 6, 7, 8, 9
L_THIGH, R_THIGH, L_SHANK, R_SHANK, L_FOOT, R_FOOT = 10, 11, 12, 13, 14, 15

#: For each COCO-17 keypoint, the parts that may lie on top of it without hiding it.
KEYPOINT_OWNERS: tuple[frozenset[int], ...] = (
    frozenset({HEAD}),
    frozenset({HEAD}),
    frozenset({HEAD}),
    frozenset({HEAD}),
    frozenset({HEAD}),
    frozenset({TORSO, NECK, L_UPPER_ARM}),
    frozenset({TORSO, NECK, R_UPPER_ARM}),
    frozenset({L_UPPER_ARM, L_FOREARM}),
    frozenset({R_UPPER_ARM, R_FOREARM}),
    frozenset({L_FOREARM, L_HAND}),
    frozenset({R_FOREARM, R_HAND}),
    frozenset({TORSO, L_THIGH}),
    frozenset({TORSO, R_THIGH}),
    frozenset({L_THIGH, L_SHANK}),
    frozenset({R_THIGH, R_SHANK}),
    frozenset({L_SHANK, L_FOOT}),
    frozenset({R_SHANK, R_FOOT}),
)


Colour = tuple[float, float, float]


@dataclass(frozen=True)
class Look:
    """Appearance of one person: RGB 0..255 colours (tuples of Python floats) and clothing switches."""

    skin: Colour
    hair: Colour
    shirt: Colour
    trousers: Colour
    shoes: Colour
    long_sleeves: bool
    shorts: bool
    long_hair: bool


class Part(NamedTuple):
    """One depth-sorted body part: painter key (camera Z, m), part code, strokes."""

    depth: float
    code: int
    strokes: list


class Camera(NamedTuple):
    """Pinhole camera: focal length and principal point in px."""

    f: float
    cx: float
    cy: float

    def project(self, pts: np.ndarray) -> np.ndarray:
        """``(N, 3)`` camera-frame metres -> ``(N, 2)`` image px."""
        z = np.maximum(pts[:, 2:3], 1e-3)
        return pts[:, :2] * (self.f / z) + np.array([self.cx, self.cy])


def _shade(c: Colour, k: float, add: float = 0.0) -> Colour:
    """``c * k + add`` (``k > 0``, ``add >= 0``) capped at 255."""
    return min(255.0, c[0] * k + add), min(255.0, c[1] * k + add), min(255.0, c[2] * k + add)


def _capsule(p0: np.ndarray, p1: np.ndarray, width: float, colour: Colour, light: np.ndarray) -> list:
    off = light * 0.18 * width
    return [
        ("line", p0, p1, width, _shade(colour, 0.72), True),
        ("line", p0, p1, 0.72 * width, colour, False),
        ("line", p0 + off, p1 + off, 0.3 * width, _shade(colour, 1.18, 12), False),
    ]


def _hull_strokes(pts2d: np.ndarray, colour: Colour, light: np.ndarray, scale: float) -> list:
    hull = cv2.convexHull(pts2d.astype(np.float32)).reshape(-1, 2).astype(np.float64)
    c = hull.mean(0)
    return [
        ("poly", hull, _shade(colour, 0.72), True),
        ("poly", c + 0.85 * (hull - c), colour, False),
        ("poly", c + light * 0.12 * scale + 0.45 * (hull - c), _shade(colour, 1.12, 8), False),
    ]


def _box(frame: np.ndarray, origin: np.ndarray, rows: list[tuple[float, float, float]]) -> np.ndarray:
    """Body-frame points ``origin + frame @ (+-x, y, +-z)`` for each ``(x, y, z)`` row."""
    local = np.array([(sx * x, y, sz * z) for x, y, z in rows for sx in (1, -1) for sz in (1, -1)])
    return origin + local @ frame.T


def person_parts(
    skel: Skeleton3D, rot: np.ndarray, trans: np.ndarray, cam: Camera, look: Look, light: np.ndarray
) -> tuple[list[Part], np.ndarray, np.ndarray, dict[str, bool]]:
    """Builds the shaded 2-D parts of one person.

    Args:
        skel: posed skeleton, body frame (m).
        rot: ``(3, 3)`` rotation body frame -> camera frame.
        trans: ``(3,)`` camera-frame position of the pelvis (m).
        cam: pinhole camera.
        look: colours and clothing.
        light: ``(2,)`` unit image-plane direction toward the light (for highlights).

    Returns:
        ``(parts back-to-front, joints_2d, joints_cam, surface)`` where the joint arrays
        follow ``list(skel.joints)`` order, ``(J, 2)`` image px and ``(J, 3)`` camera metres,
        and ``surface`` is :func:`surface_visible` of the person (face, shoulder, hip points).
    """
    sh = skel.shape
    h, g = sh.height, sh.girth
    names = list(skel.joints)
    idx = {n: i for i, n in enumerate(names)}
    cam_pts = np.stack([skel.joints[n] for n in names]) @ rot.T + trans
    uv = cam.project(cam_pts)
    P, Z = (lambda n: uv[idx[n]]), (lambda n: float(cam_pts[idx[n], 2]))

    def px(metres: float, depth: float) -> float:
        return cam.f * metres / max(depth, 1e-3)

    parts: list[Part] = []
    for side, L in (("left", 0), ("right", 1)):
        sleeve = look.shirt if look.long_sleeves else look.skin
        legwear = look.skin if look.shorts else look.trousers
        segs = (
            (L_UPPER_ARM + L, "shoulder", "elbow", 0.027 * g, look.shirt),
            (L_FOREARM + L, "elbow", "wrist", 0.021 * g, sleeve),
            (L_HAND + L, "wrist", "hand", 0.024, look.skin),
            (L_THIGH + L, "hip", "knee", 0.044 * g, look.trousers),
            (L_SHANK + L, "knee", "ankle", 0.031 * g, legwear),
            (L_FOOT + L, "heel", "toe", 0.026, look.shoes),
        )
        for code, a, b, radius, colour in segs:
            za, zb = Z(f"{side}_{a}"), Z(f"{side}_{b}")
            depth = 0.5 * (za + zb)
            pa, pb = P(f"{side}_{a}"), P(f"{side}_{b}")
            if code == L_HAND + L:  # hand: a short fat capsule from the wrist to 70% of the hand
                pb = pa + 0.7 * (pb - pa)
            parts.append(Part(depth, code, _capsule(pa, pb, 2 * px(radius * h, depth), colour, light)))

    # Torso: shirt hull in the chest frame, trousers hull in the pelvis frame.
    chest, pelvis = skel.frames["chest"], skel.frames["pelvis"]
    up_rows = [
        (sh.shoulder_half + 0.018 * h, 0.97 * sh.thorax, 0.045 * h * g),
        (sh.shoulder_half * (0.8 + 0.2 * g), 0.72 * sh.thorax, 0.065 * h * g),
        (0.082 * h * g, -0.02 * h, 0.058 * h * g),
    ]
    lo_rows = [
        (0.082 * h * g, sh.lumbar + 0.01 * h, 0.058 * h * g),
        (sh.hip_half + 0.036 * h * g, 0.0, 0.066 * h * g),
        (0.035 * h, -0.065 * h, 0.05 * h * g),
    ]
    upper = _box(chest, skel.joints["lumbar"], up_rows) @ rot.T + trans
    lower = _box(pelvis, skel.joints["pelvis"], lo_rows) @ rot.T + trans
    scale = px(0.15 * h, float(upper[:, 2].mean()))
    torso = _hull_strokes(cam.project(lower), look.trousers, light, scale)
    torso += _hull_strokes(cam.project(upper), look.shirt, light, scale)
    torso_depth = float(np.concatenate([upper[:, 2], lower[:, 2]]).mean()) + 0.04
    parts.append(Part(torso_depth, TORSO, torso))

    # Neck and head; the neck always goes under the head (chin in front, hair behind).
    zn = 0.5 * (Z("neck_base") + Z("atlas"))
    neck = _capsule(P("neck_base"), P("atlas"), 2 * px(0.028 * h * g, zn), look.skin, light)
    head_key = Z("head") - 0.01
    parts.append(Part(max(zn, head_key + 1e-3), NECK, neck))
    surface = surface_visible(facing(skel, rot, trans))
    parts.append(Part(head_key, HEAD, _head_strokes(skel, rot, trans, cam, look, light, surface)))
    if look.long_hair:
        parts.append(_long_hair(skel, rot, trans, cam, look))
    parts.sort(key=lambda p: -p.depth)
    return parts, uv, cam_pts, surface


def facing(skel: Skeleton3D, rot: np.ndarray, trans: np.ndarray) -> dict[str, float]:
    """Cosine between surface normals and the direction to the camera (> 0: faces the camera).

    Args:
        skel: posed skeleton, body frame.
        rot: ``(3, 3)`` body -> camera rotation.
        trans: ``(3,)`` camera-frame pelvis position (m).

    Returns:
        ``{"head", "nose", "mouth", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
        "right_shoulder", "left_hip", "right_hip"}`` -> cosine in [-1, 1].
    """
    head = skel.joints["head"] @ rot.T + trans
    to_cam = -head / np.linalg.norm(head)
    fh, fc, fp = rot @ skel.frames["head"], rot @ skel.frames["chest"], rot @ skel.frames["pelvis"]
    normals = {
        "head": fh[:, 2],
        "nose": fh[:, 2],
        "mouth": fh @ np.array([0.0, -0.5, 0.866]),
        "left_eye": fh @ np.array([0.3, 0.0, 0.954]),
        "right_eye": fh @ np.array([-0.3, 0.0, 0.954]),
        "left_ear": fh[:, 0],
        "right_ear": -fh[:, 0],
        "left_shoulder": fc[:, 0],
        "right_shoulder": -fc[:, 0],
        "left_hip": fp[:, 0],
        "right_hip": -fp[:, 0],
    }
    return {k: float(v @ to_cam) for k, v in normals.items()}


#: Minimum facing cosine (see :func:`facing`) for a surface keypoint to be seen; eyes also
#: need the face (``"head"``) turned toward the camera.
FACING_MIN: dict[str, float] = {
    "head": -0.05,
    "nose": -0.05,
    "mouth": 0.1,
    "left_eye": 0.05,
    "right_eye": 0.05,
    "left_ear": -0.3,
    "right_ear": -0.3,
    "left_shoulder": -0.55,
    "right_shoulder": -0.55,
    "left_hip": -0.55,
    "right_hip": -0.55,
}


def surface_visible(cos: dict[str, float]) -> dict[str, bool]:
    """Which surface keypoints face the camera, from :func:`facing` cosines."""
    vis = {k: cos[k] > t for k, t in FACING_MIN.items()}
    for key in ("left_eye", "right_eye", "mouth"):
        vis[key] = vis[key] and vis["head"]
    return vis


# Head-frame points (head radii) used to draw the head: centre, crown direction, hair centre,
# hairline-cap centre, ears (L, R), eyes (L, R), brow ends (L in, L out, R in, R out), nose
# root and tip, mouth corners.
_HEAD_DRAW_POINTS = np.array(
    [
        (0, 0, 0),
        (0, 1, 0),
        (0, 0.08, -0.25),
        (0, 0.52, -0.05),
        (0.86, 0, -0.05),
        (-0.86, 0, -0.05),
        (0.36, 0.12, 0.86),
        (-0.36, 0.12, 0.86),
        (0.2, 0.3, 0.9),
        (0.52, 0.3, 0.78),
        (-0.2, 0.3, 0.9),
        (-0.52, 0.3, 0.78),
        (0, 0.1, 0.95),
        (0, -0.12, 1.08),
        (-0.22, -0.5, 0.8),
        (0.22, -0.5, 0.8),
    ],
    dtype=np.float64,
)


def _head_strokes(
    skel: Skeleton3D,
    rot: np.ndarray,
    trans: np.ndarray,
    cam: Camera,
    look: Look,
    light: np.ndarray,
    vis: dict[str, bool],
) -> list:
    r = skel.shape.head_radius
    fh = rot @ skel.frames["head"]
    centre = skel.joints["head"] @ rot.T + trans
    pts = cam.project(centre + (r * _HEAD_DRAW_POINTS) @ fh.T)
    c2, up = pts[0], pts[1] - pts[0]
    rpx = cam.f * r / centre[2]
    angle = float(np.degrees(np.arctan2(up[0], -up[1])))
    skin = look.skin
    face = [
        ("ellipse", c2, (0.86 * rpx, 1.02 * rpx), angle, _shade(skin, 0.8), True),
        ("ellipse", c2 + light * 0.1 * rpx, (0.72 * rpx, 0.88 * rpx), angle, skin, False),
    ]
    hair = [
        ("ellipse", pts[2], (0.98 * rpx, 1.04 * rpx), angle, _shade(look.hair, 0.85), True),
        ("ellipse", pts[2] + light * 0.25 * rpx, (0.55 * rpx, 0.6 * rpx), angle, _shade(look.hair, 1.08, 4), False),
    ]
    feats: list = []
    for k, side in enumerate(("left", "right")):
        if vis[f"{side}_ear"]:
            feats.append(("ellipse", pts[4 + k], (0.17 * rpx, 0.28 * rpx), angle, _shade(skin, 0.82), True))
    if vis["head"]:  # hairline cap on the forehead, then the face
        feats.append(("ellipse", pts[3], (0.9 * rpx, 0.45 * rpx), angle, _shade(look.hair, 0.85), False))
        for k, side in enumerate(("left", "right")):
            if vis[f"{side}_eye"]:
                brow = _shade(look.hair, 0.8)
                feats.append(("line", pts[8 + 2 * k], pts[9 + 2 * k], max(1.0, 0.09 * rpx), brow, False))
                feats.append(("ellipse", pts[6 + k], (0.17 * rpx, 0.1 * rpx), angle, (235.0, 235.0, 230.0), False))
                feats.append(("ellipse", pts[6 + k], (0.09 * rpx, 0.09 * rpx), angle, (30.0, 25.0, 20.0), False))
        if vis["nose"]:
            feats.append(("line", pts[12], pts[13], max(1.0, 0.16 * rpx), _shade(skin, 0.7), True))
        if vis["mouth"]:
            feats.append(("line", pts[14], pts[15], max(1.0, 0.08 * rpx), (140.0, 40.0, 45.0), False))
    strokes = hair + face if vis["head"] else face + hair
    return strokes + feats


def _long_hair(skel: Skeleton3D, rot: np.ndarray, trans: np.ndarray, cam: Camera, look: Look) -> Part:
    """Hair hanging behind the neck to the shoulders: its own part, so the painter puts it
    behind the torso when the person faces the camera and over the back otherwise."""
    r = skel.shape.head_radius
    fh = rot @ skel.frames["head"]
    centre = skel.joints["head"] @ rot.T + trans
    ends = centre + np.array([(0.0, 0.2, -0.45), (0.0, -1.7, -0.75)]) @ fh.T * r
    width = 2.0 * cam.f * r / centre[2]
    p = cam.project(ends)
    return Part(
        float(ends[:, 2].mean()),
        HEAD,
        [
            ("line", p[0], p[1], width, look.hair, True),
            ("line", p[0], p[1], 0.5 * width, _shade(look.hair, 1.2, 6), False),
        ],
    )
