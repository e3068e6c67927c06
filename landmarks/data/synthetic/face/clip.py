"""Synthetic face clips: heads turning across large yaw, moving, talking and blinking, with track ids.

The clip sibling of :mod:`.renderer`. A clip has one background and ``num_faces`` faces (identity,
look and camera field of view fixed per face, from :func:`.scene.sample_face_params`). Each face
gets three key states (first, middle and last frame): a yaw that sweeps from one side to the
other (from ``+-max_yaw`` towards the opposite sign, through frontal), pitch within +-30 and roll
within +-25 degrees, the shoulders following part of the head's yaw and roll, an image position
following a motion mode of :mod:`..common.motion`, a size within +-10 %, and an expression
(smile, brows, jaw, gaze); every frame interpolates them (:func:`..common.motion.interpolate`),
and with ``blink_prob`` a face blinks once (eyes closing and opening over about 5 frames).

Faces are drawn far to near, each over the picture so far, with :func:`.figure.render_face`,
so the labels follow the renderer's rules (its ``_instance``: ``euler`` is the exact pose the head
was rendered with). A landmark of a farther face that a nearer face (head, neck, shoulders)
covers becomes hidden (``v = 1``). A face with no landmark inside the frame is absent from that
frame and keeps its track id (``i + 1``) when it returns; its hair or shoulders may still show
at the border. Hand and object occluders of the image renderer are not part of clips.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import cv2
import numpy as np

from landmarks.data.synthetic.common.clip import Clip, ClipInstance, empty_clip
from landmarks.data.synthetic.common.clip_frames import check_clip_request, clip_stream
from landmarks.data.synthetic.common.motion import Stage, anchor_keys, draw_motions, interpolate
from landmarks.data.synthetic.face.figure import render_face
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.data.synthetic.face.scene import FaceParams, sample_face_params

__all__ = ["make_face_clip"]

_STREAM = 9103  # clip seeds draw from np.random.default_rng([seed, _STREAM]): apart from the image streams
MAX_FACES = 4
# State columns: yaw, pitch, roll, anchor u, v (px), box size (px), smile, brows, jaw (deg), gaze u, v.
_STATE = 11


def _face_keys(
    rng: np.random.Generator, p: FaceParams, size: tuple[int, int], main: bool, mode: str, max_yaw: float
) -> np.ndarray:
    """``(3, _STATE)`` key states of one face (module docstring)."""
    W, H = size
    y0 = rng.uniform(0.4, 1.0) * max_yaw * (1.0 if rng.random() < 0.5 else -1.0)
    y2 = -np.sign(y0) * rng.uniform(0.2, 1.0) * max_yaw  # sweeps through frontal to the other side
    yaw = np.array([y0, y0 + rng.uniform(0.35, 0.65) * (y2 - y0), y2])
    pitch, roll = rng.uniform(-30.0, 30.0, 3), rng.uniform(-25.0, 25.0, 3)
    box = p.box_size * rng.uniform(0.9, 1.1, 3)
    half, margin = 0.5 * float(box.max()), 0.03 * min(W, H)
    cut = 0.0 if main else 0.3 * float(box.max())  # how far a non-main face may be cut while "inside"
    lo = np.array([margin + half - cut, margin + half - cut])
    hi = np.array([W - margin - half + cut, H - margin - half + cut])
    lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
    out = 1.1 * half + 0.5 * float(box.max())  # every landmark and most of the head outside
    stage = Stage(lo, hi, -out, W + out, 0.15 * min(W, H))
    anchors = anchor_keys(rng, mode, stage)
    smile = np.clip(p.smile + rng.uniform(-0.6, 0.6, 3), -0.35, 1.1)
    brows = np.clip(p.brows + rng.uniform(-0.4, 0.4, 3), -0.8, 1.2)
    jaw = np.clip(p.jaw_deg + rng.uniform(-8.0, 12.0, 3), 0.0, 22.0)
    gaze = np.stack([rng.uniform(-5.0, 5.0, 3), rng.uniform(-3.0, 3.0, 3)], 1)
    return np.concatenate(
        [np.stack([yaw, pitch, roll], 1), anchors, box[:, None], np.stack([smile, brows, jaw], 1), gaze], 1
    )


def _blink(rng: np.random.Generator, frames: int, prob: float) -> np.ndarray:
    """``(T,)`` eye openness factor: 1, or one Gaussian dip to about 0 lasting ~5 frames."""
    centre, hit = rng.uniform(3.0, max(frames - 4.0, 3.0)), rng.random() < prob
    t = np.arange(frames)
    return 1.0 - np.exp(-0.5 * ((t - centre) / 1.2) ** 2) if hit else np.ones(frames)


def _frame_params(p: FaceParams, s: np.ndarray, torso: np.ndarray, eyes: tuple[float, float]) -> FaceParams:
    """The parameters of one frame: ``p`` with the state row ``s`` (``_STATE``,) applied."""
    return replace(
        p,
        euler=(float(s[0]), float(s[1]), float(s[2])),
        torso=(float(torso[0] * s[0]), float(torso[1]), float(torso[2] * s[2])),
        box_centre=(float(s[3]), float(s[4])),
        box_size=float(s[5]),
        smile=float(s[6]),
        brows=float(s[7]),
        jaw_deg=float(s[8]),
        gaze=(float(s[9]), float(s[10])),
        eye_open=eyes,
    )


def make_face_clip(
    seed: int,
    num_frames: int = 48,
    num_faces: int = 1,
    size: tuple[int, int] = (256, 256),
    fps: float = 25.0,
    layout: str = "ibug68",
    motions: Sequence[str] | None = None,
    move_prob: float = 0.5,
    max_yaw: float = 80.0,
    blink_prob: float = 0.5,
) -> Clip:
    """Renders a clip of faces with landmarks, head pose and track ids (module docstring).

    Args:
        seed: the clip's seed (the same seed gives the same clip).
        num_frames: T (>= 3).
        num_faces: faces in the clip (1..4).
        size: ``(W, H)`` px (sides >= 32).
        fps: frames per second written with the clip.
        layout: ``"ibug68"`` or ``"wflw98"``.
        motions: per face, a mode of :data:`..common.motion.MOTIONS`; None: face 0 stays in the
            frame and each other one enters, leaves, crosses or re-enters with ``move_prob``.
        move_prob: see ``motions``.
        max_yaw: the yaw sweep starts at 40-100 % of this (degrees, <= 90) on either side.
        blink_prob: chance that a face blinks once.

    Returns:
        The :class:`~landmarks.data.synthetic.common.clip.Clip` (noun ``"face"``); instances carry ``euler``.
    """
    if not 0 <= max_yaw <= 90:
        raise ValueError(f"make_face_clip: max_yaw must be in [0, 90] degrees, got {max_yaw}")
    check_clip_request("make_face_clip", num_frames, motions, num_faces, "num_faces", MAX_FACES)
    W, H = int(size[0]), int(size[1])
    src = SyntheticFaceSource(num_images=0, image_size=(W, H), layout=layout)  # checks size and layout; labelling rules
    rng, bg = clip_stream(seed, _STREAM, W, H)
    drawn = draw_motions(rng, num_faces, move_prob)
    modes = list(motions) if motions is not None else drawn
    main = rng.uniform(0.5, 0.7) if num_faces == 1 else rng.uniform(0.35, 0.5)
    faces, states, torsos, eyes = [], [], [], []
    for i in range(num_faces):
        p = sample_face_params(rng, W, H)
        frac = main * (1.0 if i == 0 else rng.uniform(0.6, 0.9))
        frac = min(frac, 0.4) if modes[i] != "stay" else frac
        p = replace(
            p, box_size=float(frac * min(W, H)), eye_open=(float(rng.uniform(0.75, 1.1)), float(rng.uniform(0.75, 1.1)))
        )
        states.append(interpolate(_face_keys(rng, p, (W, H), i == 0, modes[i], max_yaw), num_frames))
        torsos.append(np.array([rng.uniform(0.2, 0.7), rng.uniform(-8.0, 8.0), rng.uniform(0.0, 0.5)]))
        eyes.append(_blink(rng, num_frames, blink_prob))
        faces.append(p)
    order = sorted(range(num_faces), key=lambda i: faces[i].box_size)  # far (small) to near (large)
    sigma = float(rng.uniform(0.5, 1.0))  # one blur for every frame
    clip = empty_clip(src.spec, "face", (W, H), fps, f"make_face_clip seed={seed} layout={layout} motions={modes}")
    for t in range(num_frames):
        image, labels = bg, {}
        for i in order:
            e = eyes[i][t]
            p = _frame_params(faces[i], states[i][t], torsos[i], (faces[i].eye_open[0] * e, faces[i].eye_open[1] * e))
            fr = render_face(p, layout, W, H, image)
            image = fr.image
            for j, (_, vis, _) in labels.items():  # this face hides what it covers of the farther ones
                px = np.clip(np.round(labels[j][0].keypoints).astype(int), 0, [W - 1, H - 1])
                vis[(vis == 2) & fr.person[px[:, 1], px[:, 0]]] = 1.0
            labels[i] = (fr, fr.visible.copy(), p)
        frame: list[ClipInstance] = []
        for i in range(num_faces):
            fr, vis, p = labels[i]
            if not (vis > 0).any():
                continue  # no landmark inside the frame
            s = src._instance(fr, vis, p, t)
            frame.append(
                ClipInstance(i + 1, s["keypoints"], s["visible"], s["bbox"], float(s.get("area", 0.0)), s.get("euler"))
            )
        clip.frames.append(cv2.GaussianBlur(image, (3, 3), sigma))
        clip.instances.append(frame)
    return clip
