"""Synthetic body clips: people moving, turning and articulating in a static scene, with track ids.

The clip sibling of :mod:`.renderer`. A clip has one background, camera and light, and
``num_people`` people (body proportions and clothes fixed per person). Each person gets three
key states (first, middle and last frame: a pose of :func:`.poses.sample_pose` and two small
articulation changes of it, a yaw that turns by up to 70 deg between keys, an image position
following a motion mode of :mod:`..common.motion`, a depth within +-10 %) and every frame
interpolates them with a clamped cubic spline; joint angles are clipped to the limits after
interpolation. Frames are drawn exactly as the renderer draws an image (:func:`.figure.person_parts`
far to near, :func:`..common.raster.paint_instances`), so people occlude each other by depth
and the keypoints and visibilities follow the renderer's rules (its ``_keypoints``). A static
occluder in front of everyone appears with ``occluder_prob``. Person ``i`` has track id
``i + 1``; a person outside the frame is absent from that frame and keeps its id when it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landmarks.data.synthetic.body.figure import Camera, Look, Part, person_parts
from landmarks.data.synthetic.body.poses import clip_to_limits, sample_pose
from landmarks.data.synthetic.body.renderer import MAX_PEOPLE, SyntheticBodySource
from landmarks.data.synthetic.body.scene import _BODY_TO_CAMERA, _extent, sample_camera, sample_look
from landmarks.data.synthetic.body.skeleton3d import (
    BodyShape,
    LimbAngles,
    PoseAngles,
    Skeleton3D,
    forward_kinematics,
    rot_x,
    rot_y,
    rot_z,
    sample_body_shape,
)
from landmarks.data.synthetic.common.clip import Clip, empty_clip
from landmarks.data.synthetic.common.clip_frames import check_clip_request, clip_stream, paint_clip_frames
from landmarks.data.synthetic.common.motion import anchor_keys, draw_motions, interpolate, stage_for
from landmarks.data.synthetic.common.raster import PaintedInstances
from landmarks.data.synthetic.common.texture import occluder_strokes

__all__ = ["make_body_clip"]

_STREAM = 9101  # clip seeds draw from np.random.default_rng([seed, _STREAM]): apart from the image streams
_LIMBS = ("left_arm", "right_arm", "left_leg", "right_leg")
# Largest key-to-key change (deg) of elevation, azimuth, twist, bend, distal; spine; neck.
_LIMB_STEP = np.array([25.0, 20.0, 15.0, 30.0, 10.0])
_SPINE_STEP = np.array([8.0, 5.0, 10.0])
_NECK_STEP = np.array([12.0, 8.0, 30.0])
_POSE_DIMS = 5 * len(_LIMBS) + 6


def _pose_vector(p: PoseAngles) -> np.ndarray:
    """``(26,)`` angles: 4 limbs x (elevation, azimuth, twist, bend, distal), spine (3), neck (3)."""
    limbs = [getattr(p, n) for n in _LIMBS]
    return np.array(
        [v for lb in limbs for v in (lb.elevation, lb.azimuth, lb.twist, lb.bend, lb.distal)] + [*p.spine, *p.neck]
    )


def _pose(v: np.ndarray) -> PoseAngles:
    """Inverse of :func:`_pose_vector`, clipped to the joint limits."""
    limbs = [LimbAngles(*(float(x) for x in v[5 * i : 5 * i + 5])) for i in range(len(_LIMBS))]
    spine, neck = (float(v[20]), float(v[21]), float(v[22])), (float(v[23]), float(v[24]), float(v[25]))
    return clip_to_limits(PoseAngles(*limbs, spine=spine, neck=neck))


def _articulate(rng: np.random.Generator, v: np.ndarray) -> np.ndarray:
    """A small articulation change of pose vector ``v``, inside the joint limits."""
    step = np.concatenate([np.tile(_LIMB_STEP, len(_LIMBS)), _SPINE_STEP, _NECK_STEP])
    return _pose_vector(_pose(v + rng.uniform(-1.0, 1.0, _POSE_DIMS) * step))


@dataclass
class _Track:
    """One person of a clip: fixed proportions, look and tilt; per-frame state ``(T, 30)``."""

    shape: BodyShape
    look: Look
    tilt: np.ndarray  # (3, 3) Rx(pitch) @ Rz(roll), fixed
    state: np.ndarray  # (T, 30): pose (26), yaw, anchor u, v (px), depth (m)

    def placed(self, t: int, cam: Camera) -> tuple[Skeleton3D, np.ndarray, np.ndarray]:
        """``(skeleton, rotation (3, 3), pelvis translation (3,))`` of frame ``t``."""
        s = self.state[t]
        skel = forward_kinematics(_pose(s[:_POSE_DIMS]), self.shape)
        rot = _BODY_TO_CAMERA @ rot_y(float(s[26])) @ self.tilt
        depth = float(s[29])
        trans = np.append((s[27:29] - np.array([cam.cx, cam.cy])) * depth / cam.f, depth)
        return skel, rot, trans


def _person(rng: np.random.Generator, cam: Camera, size: tuple[int, int], main: bool, mode: str, frames: int) -> _Track:
    """Samples one person's key states and interpolates them over ``frames`` frames."""
    W, H = size
    shape = sample_body_shape(rng)
    poses = [_pose_vector(sample_pose(rng)[1])]
    poses += [_articulate(rng, poses[0])]
    poses += [_articulate(rng, poses[1])]
    yaw0 = rng.uniform(0.0, 360.0)
    yaws = np.cumsum([yaw0, *rng.uniform(-70.0, 70.0, 2)])
    tilt = rot_x(rng.uniform(-12, 12)) @ rot_z(rng.uniform(-8, 8))
    frac = rng.uniform(0.4, 0.9) if main else rng.uniform(0.25, 0.85)
    frac = frac if mode == "stay" else min(frac, 0.6)  # smaller movers: a shorter way in and out
    depth = cam.f * shape.height / (frac * H) * rng.uniform(0.9, 1.1, 3)
    near = float(depth.min())  # the largest the person gets: the extent is measured there
    skels = [forward_kinematics(_pose(p), shape) for p in poses]
    rots = [_BODY_TO_CAMERA @ rot_y(y) @ tilt for y in yaws]

    def extent(d: float) -> np.ndarray:  # union over the key states
        e = np.stack([_extent(s, r, d, cam) for s, r in zip(skels, rots)])
        return np.concatenate([e.min(0)[:2], e.max(0)[2:]])

    ext = extent(near)
    if main:  # push back until every key state fits inside the frame with a margin
        margin = 0.03 * min(W, H)
        fit = max((ext[2] - ext[0]) / (W - 2 * margin), (ext[3] - ext[1]) / (H - 2 * margin), 1.0)
        depth, near = depth * fit, near * fit
        ext = extent(near)
    joints = [np.stack(list(s.joints.values())) @ r.T for s, r in zip(skels, rots)]  # (J, 3) around the pelvis

    def edges(u: float) -> tuple[float, float]:  # leftmost, rightmost x px of the key states at anchor u
        xs = []
        for d in (float(depth.min()), float(depth.max())):
            pts = np.concatenate(joints) + np.array([(u - cam.cx) * d / cam.f, 0.0, d])
            x, pad = cam.f * pts[:, 0] / np.maximum(pts[:, 2], 1e-3) + cam.cx, cam.f * 0.09 * shape.height / d
            xs += [float(x.min() - pad), float(x.max() + pad)]
        return min(xs), max(xs)

    stage = stage_for(ext, (W, H), 0.0 if main else 0.3, edges)
    keys = np.concatenate([np.stack(poses), yaws[:, None], anchor_keys(rng, mode, stage), depth[:, None]], 1)
    return _Track(shape, sample_look(rng), tilt, interpolate(keys, frames))


def make_body_clip(
    seed: int,
    num_frames: int = 48,
    num_people: int = 3,
    size: tuple[int, int] = (320, 320),
    fps: float = 25.0,
    motions: Sequence[str] | None = None,
    move_prob: float = 0.5,
    occluder_prob: float = 0.3,
) -> Clip:
    """Renders a clip of people with COCO-17 keypoints and track ids (module docstring).

    Args:
        seed: the clip's seed (the same seed gives the same clip).
        num_frames: T (>= 3).
        num_people: people in the clip (1..15; each is in view in part of the clip at least).
        size: ``(W, H)`` px.
        fps: frames per second written with the clip.
        motions: per person, a mode of :data:`..common.motion.MOTIONS`; None: person 0 stays in
            the frame and each other one enters, leaves, crosses or re-enters with ``move_prob``.
        move_prob: see ``motions``.
        occluder_prob: chance of a static occluder in front of everyone.

    Returns:
        The :class:`~landmarks.data.synthetic.common.clip.Clip` (noun ``"person"``, layout ``coco17``).
    """
    check_clip_request("make_body_clip", num_frames, motions, num_people, "num_people", MAX_PEOPLE)
    W, H = int(size[0]), int(size[1])
    src = SyntheticBodySource(num_images=0, image_size=(W, H), max_people=num_people)  # the labelling rules
    rng, bg = clip_stream(seed, _STREAM, W, H)
    cam = sample_camera(rng, W, H)
    angle = np.radians(rng.uniform(200.0, 340.0))
    light = np.array([np.cos(angle), np.sin(angle)])
    drawn = draw_motions(rng, num_people, move_prob)
    modes = list(motions) if motions is not None else drawn
    people = [_person(rng, cam, (W, H), i == 0, modes[i], num_frames) for i in range(num_people)]
    static: list[tuple[float, int, list[Part]]] = []
    if rng.random() < occluder_prob:
        centre = (float(rng.uniform(0.2, 0.8) * W), float(rng.uniform(0.3, 0.9) * H))
        strokes = occluder_strokes(rng, centre, float(rng.uniform(0.2, 0.45) * H))
        front = min(float(p.state[:, 29].min()) for p in people) - 0.5
        static.append((front, -1, [Part(0.0, 0, strokes)]))

    def place(t: int, i: int) -> tuple[float, list[Part], tuple[np.ndarray, np.ndarray, dict[str, bool]]]:
        skel, rot, trans = people[i].placed(t, cam)
        parts, uv, xyz, surface = person_parts(skel, rot, trans, cam, people[i].look, light)
        return float(trans[2]), parts, (uv, xyz, surface)

    def label(
        i: int, placed: tuple[np.ndarray, np.ndarray, dict[str, bool]], painted: PaintedInstances
    ) -> tuple[np.ndarray, np.ndarray]:
        uv, xyz, surface = placed
        return src._keypoints(uv, xyz, surface, painted.label, painted.owner, painted.code, i)

    clip = empty_clip(src.spec, "person", (W, H), fps, f"make_body_clip seed={seed} motions={modes}")
    return paint_clip_frames(clip, num_frames, rng, bg, static, num_people, place, label)
