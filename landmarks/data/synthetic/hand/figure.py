"""Turns one posed 3-D hand into depth-ordered, shaded 2-D parts (synthetic hand renderer).

Bones are capsules and the palm a convex hull of a thick slab, drawn with the same shaded
strokes as the body renderer (:func:`landmarks.data.synthetic.body.figure._capsule`,
``_hull_strokes``). The two faces of the hand are told apart in the picture, which is what
makes left vs right learnable (a palm-side left hand has the silhouette of a back-side right
hand): the back shows nails and knuckle highlights, the palm is lighter and shows creases.

**Draw order.** The palm is one big flat part, so a plain painter's sort by mean depth would
put curled fingers on the wrong side of it. Instead every other part is first classed by
which side of the palm plane its mid-point lies on (the camera side or the far side), then
sorted far-to-near within its class: far side, palm, camera side.

Camera frame: ``X`` right, ``Y`` down, ``Z`` forward (metres), as in :mod:`.figure`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landmarks.data.synthetic.body.figure import Camera, Colour, Part, _capsule, _hull_strokes, _shade
from landmarks.data.synthetic.common.texture import SKIN_TONES, jitter_colour, random_colour
from landmarks.data.synthetic.hand.skeleton import Hand3D
from landmarks.layouts.hand import FINGERS

# Part codes: palm, forearm, then three bones per finger (thumb first), proximal to distal.
PALM, FOREARM = 1, 2


def bone_code(finger: int, bone: int) -> int:
    """Part code of bone ``bone`` (0 proximal .. 2 distal) of finger ``finger`` (0 thumb .. 4 little)."""
    return 3 + 3 * finger + bone


#: Number of part codes of one hand (palm, forearm, 15 bones).
PARTS_PER_HAND = 17

#: For each of the 21 keypoints, the parts that may lie on top of it without hiding it.
KEYPOINT_OWNERS: tuple[frozenset[int], ...] = (frozenset({PALM, FOREARM}),) + tuple(
    frozenset({PALM, bone_code(f, 0)})
    if j == 0
    else frozenset({bone_code(f, j - 1), bone_code(f, j)})
    if j < 3
    else frozenset({bone_code(f, 2)})
    for f in range(5)
    for j in range(4)
)

_PALM_PINK = np.array([236.0, 186.0, 172.0])
_NAIL = np.array([246.0, 214.0, 208.0])


@dataclass(frozen=True)
class HandLook:
    """Appearance of one hand: RGB 0..255 colours (Python floats) and the forearm stub.

    Attributes:
        skin: back-of-hand and finger colour.
        palm: palm-side colour (lighter and pinker than ``skin``).
        nail: nail colour.
        sleeve: sleeve colour over the forearm, or None for a bare arm.
        forearm: forearm stub length in hand lengths (0 = no forearm).
        sleeve_start: where the sleeve starts, in hand lengths from the wrist.
    """

    skin: Colour
    palm: Colour
    nail: Colour
    sleeve: Colour | None
    forearm: float
    sleeve_start: float


def _tuple(c: np.ndarray) -> Colour:
    return float(c[0]), float(c[1]), float(c[2])


def sample_hand_look(rng: np.random.Generator, skin: np.ndarray | None = None) -> HandLook:
    """Random skin tone (or the given ``(3,)`` RGB ``skin``), palm and nail tints, optional sleeve."""
    if skin is None:
        skin = jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10.0)
    palm = skin + rng.uniform(0.25, 0.45) * (_PALM_PINK - skin)
    nail = skin + rng.uniform(0.3, 0.5) * (_NAIL - skin)
    sleeve = _tuple(random_colour(rng, (0.1, 0.8), (0.15, 0.85))) if rng.random() < 0.4 else None
    forearm = float(rng.uniform(1.2, 2.5)) if rng.random() < 0.85 else 0.0
    return HandLook(_tuple(skin), _tuple(palm), _tuple(nail), sleeve, forearm, float(rng.uniform(0.2, 0.9)))


def _ellipse_poly(cam: Camera, centre: np.ndarray, u: np.ndarray, v: np.ndarray, n: int = 10) -> np.ndarray:
    """``(n, 2)`` px outline of the 3-D ellipse ``centre + cos t u + sin t v`` (convex)."""
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return cam.project(centre + np.cos(t)[:, None] * u + np.sin(t)[:, None] * v)


def hand_parts(
    hand: Hand3D, rot: np.ndarray, trans: np.ndarray, cam: Camera, look: HandLook, light: np.ndarray
) -> tuple[list[Part], np.ndarray, np.ndarray]:
    """Builds the shaded 2-D parts of one hand.

    Args:
        hand: posed hand in the hand frame (metres), already mirrored for a right hand.
        rot: ``(3, 3)`` rotation hand frame -> camera frame.
        trans: ``(3,)`` camera-frame position of the wrist (m).
        cam: pinhole camera.
        look: colours and forearm.
        light: ``(2,)`` unit image-plane direction toward the light (for highlights).

    Returns:
        ``(parts in draw order, joints_2d (21, 2) image px, joints_cam (21, 3) metres)``.
    """
    L = hand.shape.length
    joints = hand.joints @ rot.T + trans
    uv = cam.project(joints)
    frames = np.einsum("ij,bjk->bik", rot, hand.frames)
    palm3d = hand.palm @ rot.T + trans
    centre = palm3d.mean(0)
    to_cam = -centre / np.linalg.norm(centre)
    dorsal = rot @ hand.dorsal
    back_seen = float(dorsal @ to_cam) > 0.0
    front_normal = dorsal if back_seen else -dorsal

    def px(metres: float, depth: float) -> float:
        return cam.f * metres / max(depth, 1e-3)

    others: list[Part] = []
    for f, name in enumerate(FINGERS):
        rows = [1 + 4 * f + k for k in range(4)]
        for b in range(3):
            p0, p1 = joints[rows[b]], joints[rows[b + 1]]
            r = hand.shape.radius(name, b)
            if b == 2:  # the capsule's round end should stop at the fingertip keypoint
                p1 = p1 - 0.75 * r * frames[3 * f + b][:, 1]
            depth = float(0.5 * (p0[2] + p1[2]))
            a, c = cam.project(np.stack([p0, p1]))
            strokes = _capsule(a, c, 2.0 * px(r, depth), look.skin, light)
            if b == 2 and float(frames[3 * f + b][:, 2] @ to_cam) > 0.15:  # the nail faces the camera
                fr = frames[3 * f + b]
                mid = p0 + 0.6 * (joints[rows[3]] - p0) + 0.6 * r * fr[:, 2]
                nail = _ellipse_poly(cam, mid, 0.26 * hand.shape.bones[name][2] * fr[:, 1], 0.5 * r * fr[:, 0])
                strokes.append(("poly", nail, look.nail, False))
            others.append(Part(depth, bone_code(f, b), strokes))
    if look.forearm > 0:
        fore = rot @ hand.forearm
        length = look.forearm * L
        if fore[2] < 0:  # toward the camera: stop at half the wrist depth (never behind the camera)
            length = min(length, 0.5 * float(joints[0, 2]) / -float(fore[2]))
        a3 = joints[0] + 0.04 * L * fore
        b3 = joints[0] + length * fore
        depth = float(0.5 * (a3[2] + b3[2]))
        a, c = cam.project(np.stack([a3, b3]))
        width = 2.0 * px(0.15 * L * hand.shape.girth, depth)
        strokes = _capsule(a, c, width, look.skin, light)
        if look.sleeve is not None and look.sleeve_start < look.forearm:
            s = cam.project((joints[0] + look.sleeve_start * L * fore)[None])[0]
            strokes += _capsule(s, c, 1.15 * width, look.sleeve, light)
        others.append(Part(depth, FOREARM, strokes))

    palm_colour = look.skin if back_seen else look.palm
    palm_depth = float(palm3d[:, 2].mean())
    palm_strokes = _hull_strokes(cam.project(palm3d), palm_colour, light, px(0.3 * L, palm_depth))
    palm_strokes += _palm_details(hand, rot, trans, cam, look, back_seen)
    palm = Part(palm_depth, PALM, palm_strokes)

    front, behind = [], []
    for part in others:
        mid = _part_mid(part, joints, hand, rot, trans)
        (front if float((mid - centre) @ front_normal) > 0.0 else behind).append(part)
    front.sort(key=lambda p: -p.depth)
    behind.sort(key=lambda p: -p.depth)
    return behind + [palm] + front, uv, joints


def _part_mid(part: Part, joints: np.ndarray, hand: Hand3D, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Camera-frame mid-point (m) of a bone or of the forearm's first hand length."""
    if part.code == FOREARM:
        return joints[0] + 0.5 * hand.shape.length * (rot @ hand.forearm)
    f, b = divmod(part.code - 3, 3)
    return 0.5 * (joints[1 + 4 * f + b] + joints[2 + 4 * f + b])


# Palm creases (palm side) in hand lengths: thenar crease, head line, heart line.
_CREASES = (
    ((0.12, 0.43), (0.05, 0.30), (0.04, 0.14)),
    ((0.13, 0.42), (0.0, 0.35), (-0.14, 0.30)),
    ((0.06, 0.46), (-0.06, 0.42), (-0.2, 0.38)),
)


def _palm_details(
    hand: Hand3D, rot: np.ndarray, trans: np.ndarray, cam: Camera, look: HandLook, back_seen: bool
) -> list:
    """Creases on the palm side, knuckle highlights on the back (colour only, not in the id buffer)."""
    L, w = hand.shape.length, hand.shape.width
    th = 0.07 * L * hand.shape.girth
    mirror_x = 1.0 if hand.side == "left" else -1.0
    strokes: list = []
    if back_seen:
        for k in (5, 9, 13, 17):  # knuckles: slightly darker bumps over the MCP joints
            p = hand.joints[k] + np.array([0.0, -0.01 * L, 0.85 * th])
            q = hand.joints[k] + np.array([0.0, -0.12 * L, 0.85 * th])
            a, b = cam.project(np.stack([p, q]) @ rot.T + trans)
            depth = float((p @ rot.T + trans)[2])
            strokes.append(("line", a, b, max(1.0, cam.f * 0.012 * L / depth), _shade(look.skin, 0.9), False))
        return strokes
    for crease in _CREASES:
        pts = np.array([(mirror_x * x * w * L, y * L, -th) for x, y in crease]) @ rot.T + trans
        uv = cam.project(pts)
        width = max(1.0, cam.f * 0.005 * L / float(pts[:, 2].mean()))
        for a, b in zip(uv[:-1], uv[1:]):
            strokes.append(("line", a, b, width, _shade(look.palm, 0.75), False))
    return strokes
