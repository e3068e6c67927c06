"""Synthetic hand clips: hands moving, turning and opening or closing their fingers, with track ids.

The clip sibling of :mod:`.renderer`. A clip has one background, camera, light and skin tone
(one person) and ``num_hands`` hands (usually a left-right pair first). Each hand gets three key
states (first, middle and last frame: a pose of :func:`.poses.sample_hand_pose` each, so fingers
curl, spread and straighten between them; an orientation turning by 20-60 deg about a random
axis between keys; an image position following a motion mode of :mod:`..common.motion`; a depth
within +-10 %) and every frame interpolates them (:func:`..common.motion.interpolate`; joint
angles stay inside the limits because every key is inside them and the limits are a box).
Frames are drawn exactly as the renderer draws an image (:func:`.figure.hand_parts`,
:func:`..common.raster.paint_instances` in depth order), so hands occlude each other and the
keypoints, visibilities and boxes follow the renderer's rules (its ``_keypoints``). A static
occluder in front of everything appears with ``occluder_prob``. Hand ``i`` has track id
``i + 1``; a hand outside the frame is absent from that frame and keeps its id when it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landmarks.data.synthetic.body.figure import Camera, Part
from landmarks.data.synthetic.common.clip import Clip, empty_clip
from landmarks.data.synthetic.common.clip_frames import check_clip_request, clip_stream, paint_clip_frames
from landmarks.data.synthetic.common.motion import anchor_keys, draw_motions, interpolate, rotation_vector, stage_for
from landmarks.data.synthetic.common.raster import PaintedInstances
from landmarks.data.synthetic.common.texture import SKIN_TONES, jitter_colour, occluder_strokes
from landmarks.data.synthetic.hand.figure import FOREARM, HandLook, hand_parts, sample_hand_look
from landmarks.data.synthetic.hand.poses import sample_hand_pose
from landmarks.data.synthetic.hand.renderer import MAX_HANDS, SyntheticHandSource
from landmarks.data.synthetic.hand.scene import _extent, random_rotation, sample_hand_camera
from landmarks.data.synthetic.hand.skeleton import (
    FingerAngles,
    Hand3D,
    HandPose,
    HandShape,
    hand_forward_kinematics,
    mirror,
    sample_hand_shape,
)
from landmarks.layouts.hand import FINGERS

__all__ = ["make_hand_clip"]

_STREAM = 9102  # clip seeds draw from np.random.default_rng([seed, _STREAM]): apart from the image streams
_POSE_DIMS = 4 * len(FINGERS) + 3


def _pose_vector(p: HandPose) -> np.ndarray:
    """``(23,)`` angles: per finger (thumb first) mcp, abd, pip, dip; then cup, wrist flexion, deviation."""
    fingers = [v for f in FINGERS for v in (p.fingers[f].mcp, p.fingers[f].abd, p.fingers[f].pip, p.fingers[f].dip)]
    return np.array([*fingers, p.cup, p.wrist_flex, p.wrist_dev])


def _pose(v: np.ndarray) -> HandPose:
    """Inverse of :func:`_pose_vector`."""
    fingers = {f: FingerAngles(*(float(x) for x in v[4 * i : 4 * i + 4])) for i, f in enumerate(FINGERS)}
    return HandPose(fingers, float(v[20]), float(v[21]), float(v[22]))


@dataclass
class _Track:
    """One hand of a clip: fixed proportions, side, look, base rotation and pivot; state ``(T, 29)``."""

    shape: HandShape
    side: str
    look: HandLook
    rot0: np.ndarray  # (3, 3) orientation at the first frame
    pivot: np.ndarray  # (3,) hand-frame point whose projection is the anchor
    state: np.ndarray  # (T, 29): pose (23), rotation vector (3, rad, camera frame), anchor u, v (px), depth (m)

    def hand(self, v: np.ndarray) -> Hand3D:
        """The posed hand of pose vector ``v`` (mirrored when right)."""
        hand = hand_forward_kinematics(_pose(v), self.shape)
        return mirror(hand) if self.side == "right" else hand

    def placed(self, t: int, cam: Camera) -> tuple[Hand3D, np.ndarray, np.ndarray]:
        """``(hand, rotation (3, 3), wrist translation (3,))`` of frame ``t``."""
        s = self.state[t]
        rot = rotation_vector(s[_POSE_DIMS : _POSE_DIMS + 3]) @ self.rot0
        depth = float(s[-1])
        centre = np.append((s[-3:-1] - np.array([cam.cx, cam.cy])) * depth / cam.f, depth)
        return self.hand(s[:_POSE_DIMS]), rot, centre - rot @ self.pivot


def _hand(
    rng: np.random.Generator,
    cam: Camera,
    size: tuple[int, int],
    look: HandLook,
    side: str,
    scale: float,
    mode: str,
    frames: int,
) -> _Track:
    """Samples one hand's key states and interpolates them over ``frames`` frames."""
    W, H = size
    shape = sample_hand_shape(rng)
    poses = [_pose_vector(sample_hand_pose(rng)[1]) for _ in range(3)]
    track = _Track(shape, side, look, np.eye(3), np.zeros(3), np.zeros((0, 0)))
    first = track.hand(poses[0])
    for _ in range(8):  # the forearm comes from the person, so it rarely points at the camera
        rot0 = random_rotation(rng)
        if float((rot0 @ first.forearm)[2]) >= -0.25:
            break
    pts = np.concatenate([first.joints, first.palm])
    track.rot0, track.pivot = rot0, 0.5 * (pts.min(0) + pts.max(0))
    turns = [np.zeros(3)]
    for _ in range(2):
        axis = rng.normal(size=3)
        turns.append(turns[-1] + np.radians(rng.uniform(20.0, 60.0)) * axis / np.linalg.norm(axis))
    rots = [rotation_vector(w) @ rot0 for w in turns]
    locals_ = [(np.concatenate([h.joints, h.palm]) - track.pivot) @ r.T for h, r in zip(map(track.hand, poses), rots)]
    pad = 0.05 * shape.length  # finger thickness
    target = scale * min(W, H)
    depth = 1.0
    for _ in range(2):  # perspective: a second pass corrects the first guess (as .scene.sample_hand)
        ext = _extent(locals_[0], pad, depth, cam)
        depth *= max(ext[2] - ext[0], ext[3] - ext[1]) / target
        depth = max(depth, 2.0 * float(np.abs(locals_[0][:, 2]).max()) + 0.05)
    depths = depth * rng.uniform(0.9, 1.1, 3)
    exts = np.stack([_extent(p, pad, float(depths.min()), cam) for p in locals_])
    ext = np.concatenate([exts.min(0)[:2], exts.max(0)[2:]])
    points = np.concatenate(locals_)  # every key state, around the anchor

    def edges(u: float) -> tuple[float, float]:  # leftmost, rightmost x px of the key states at anchor u
        xs = []
        for d in (float(depths.min()), float(depths.max())):
            pts = points + np.array([(u - cam.cx) * d / cam.f, 0.0, d])
            x = cam.f * pts[:, 0] / np.maximum(pts[:, 2], 1e-3) + cam.cx
            xs += [float(x.min()) - cam.f * pad / d, float(x.max()) + cam.f * pad / d]
        return min(xs), max(xs)

    stage = stage_for(ext, (W, H), 0.15 if mode == "stay" else 0.0, edges)
    keys = np.concatenate([np.stack(poses), np.stack(turns), anchor_keys(rng, mode, stage), depths[:, None]], 1)
    track.state = interpolate(keys, frames)
    return track


def make_hand_clip(
    seed: int,
    num_frames: int = 48,
    num_hands: int = 2,
    size: tuple[int, int] = (256, 256),
    fps: float = 25.0,
    motions: Sequence[str] | None = None,
    move_prob: float = 0.5,
    occluder_prob: float = 0.2,
) -> Clip:
    """Renders a clip of hands with 21 keypoints, handedness and track ids (module docstring).

    Args:
        seed: the clip's seed (the same seed gives the same clip).
        num_frames: T (>= 3).
        num_hands: hands in the clip (1..8).
        size: ``(W, H)`` px.
        fps: frames per second written with the clip.
        motions: per hand, a mode of :data:`..common.motion.MOTIONS`; None: hand 0 stays in the
            frame and each other one enters, leaves, crosses or re-enters with ``move_prob``.
        move_prob: see ``motions``.
        occluder_prob: chance of a static occluder in front of everything.

    Returns:
        The :class:`~landmarks.data.synthetic.common.clip.Clip` (noun ``"hand"``, layout ``hand21``).
    """
    check_clip_request("make_hand_clip", num_frames, motions, num_hands, "num_hands", MAX_HANDS)
    W, H = int(size[0]), int(size[1])
    src = SyntheticHandSource(num_images=0, image_size=(W, H), hands_per_image=num_hands)  # the labelling rules
    rng, bg = clip_stream(seed, _STREAM, W, H)
    cam = sample_hand_camera(rng, W, H)
    skin = jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10.0)
    sides = ["left" if rng.random() < 0.5 else "right" for _ in range(num_hands)]
    if num_hands >= 2 and rng.random() < 0.7:  # usually a left-right pair
        sides[1] = "right" if sides[0] == "left" else "left"
    angle = np.radians(rng.uniform(200.0, 340.0))
    light = np.array([np.cos(angle), np.sin(angle)])
    drawn = draw_motions(rng, num_hands, move_prob)
    modes = list(motions) if motions is not None else drawn
    main = rng.uniform(0.45, 0.85) if num_hands == 1 else rng.uniform(0.35, 0.6)
    hands = []
    for i in range(num_hands):
        scale = main * (1.0 if i == 0 else rng.uniform(0.6, 0.9))
        scale = min(scale, 0.5) if modes[i] != "stay" else scale
        look = sample_hand_look(rng, skin)
        hands.append(_hand(rng, cam, (W, H), look, sides[i], scale, modes[i], num_frames))
    static: list[tuple[float, int, list[Part]]] = []
    if rng.random() < occluder_prob:
        centre = (float(rng.uniform(0.2, 0.8) * W), float(rng.uniform(0.2, 0.8) * H))
        strokes = occluder_strokes(rng, centre, float(rng.uniform(0.2, 0.4) * min(W, H)))
        front = min(float(h.state[:, -1].min()) for h in hands) * 0.7
        static.append((front, -1, [Part(0.0, 0, strokes)]))

    def place(t: int, i: int) -> tuple[float, list[Part], np.ndarray]:
        hand, rot, trans = hands[i].placed(t, cam)
        parts, uv, xyz = hand_parts(hand, rot, trans, cam, hands[i].look, light)
        return float(xyz[:, 2].mean()), parts, uv

    def label(i: int, uv: np.ndarray, painted: PaintedInstances) -> tuple[np.ndarray, np.ndarray]:
        return src._keypoints(uv, painted.label, painted.owner, painted.code, i)

    clip = empty_clip(src.spec, "hand", (W, H), fps, f"make_hand_clip seed={seed} motions={modes}")
    return paint_clip_frames(clip, num_frames, rng, bg, static, num_hands, place, label, sides, FOREARM)
