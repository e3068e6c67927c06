"""Random parameters of one synthetic face image: identity, expression, pose, camera, light, look.

:class:`FaceParams` holds everything :func:`.face_figure.render_face` needs, so an image is a
pure function of its parameters; :func:`sample_face_params` draws them from the caller's
generator and :func:`mirror_params` gives the parameters of the mirror image (pose through
:func:`landmarks.geometry.flip_euler`, left and right eye swapped, principal point mirrored),
which the flip tests render and compare.

Distributions: yaw, pitch and roll uniform in ``+-max_yaw``, ``+-max_pitch``, ``+-max_roll``
(degrees, the :mod:`landmarks.geometry` convention); identity coefficients standard normal
clipped at 2.2; the 68-point landmark box's longer side 50-70 % of the shorter image side,
centred near the image centre; a pinhole camera with an 8-28 degree horizontal field of view (the
face 0.45-1.6 m away: a crop of a portrait, mild perspective).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from landmarks.data.synthetic.common.texture import HAIR_COLOURS, SKIN_TONES, jitter_colour, random_colour
from landmarks.data.synthetic.face.contours import FaceFeatures
from landmarks.data.synthetic.face.surface import EYE_U, IDENTITY, NOSE_TIP_V
from landmarks.data.synthetic.face.texture import FaceLook, HairStyle
from landmarks.geometry import flip_euler

__all__ = ["FaceParams", "features", "mirror_params", "sample_face_params"]

_NAMES = list(IDENTITY)
_IRIS = np.array([(72, 46, 26), (42, 28, 18), (78, 108, 150), (88, 110, 72), (105, 108, 112), (110, 80, 45)], float)


@dataclass(frozen=True)
class FaceParams:
    """Everything that defines one rendered face.

    Attributes:
        alpha: ``(P,)`` identity coefficients in standard deviations (order of ``IDENTITY``).
        smile: smile blendshape weight (< 0 frowns).
        brows: brow raise weight (< 0 lowers).
        jaw_deg: jaw opening, degrees.
        eye_open: ``(right, left)`` openness.
        gaze: ``(du, dv)`` iris offset, degrees on the chart.
        brow_v: brow height offset, degrees.
        brow_thick: brow thickness, degrees.
        euler: ``(yaw, pitch, roll)`` degrees of the head.
        torso: ``(yaw, pitch, roll)`` degrees of the shoulders.
        fov: horizontal field of view, degrees.
        box_size: longer side of the 68-landmark box, px.
        box_centre: ``(x, y)`` centre of that box, px.
        light: ``(3,)`` unit direction towards the light, camera frame (x right, y down, z forward).
        ambient: ambient light level; diffuse: Lambertian weight; specular: highlight weight.
        look: colours, hair, accessories.
    """

    alpha: np.ndarray
    smile: float
    brows: float
    jaw_deg: float
    eye_open: tuple[float, float]
    gaze: tuple[float, float]
    brow_v: float
    brow_thick: float
    euler: tuple[float, float, float]
    torso: tuple[float, float, float]
    fov: float
    box_size: float
    box_centre: tuple[float, float]
    light: np.ndarray
    ambient: float
    diffuse: float
    specular: float
    look: FaceLook


def _id(p: FaceParams, name: str) -> float:
    """Identity parameter ``name`` as an offset from its neutral value (its unit)."""
    return float(p.alpha[_NAMES.index(name)] * IDENTITY[name][1])


def features(p: FaceParams) -> FaceFeatures:
    """The chart features (eye spacing, nose, brows, eyes) of a face."""
    return FaceFeatures(
        eye_u=EYE_U + _id(p, "eye_spacing"),
        eye_open=p.eye_open,
        gaze=p.gaze,
        brow_v=p.brow_v,
        brow_thick=p.brow_thick,
        nose_tip_v=NOSE_TIP_V - _id(p, "nose_length"),
        nose_width=1.0 + _id(p, "nose_width"),
    )


def _colour(c: np.ndarray) -> tuple[float, float, float]:
    c = np.clip(c, 0.0, 255.0)
    return float(c[0]), float(c[1]), float(c[2])


def _look(rng: np.random.Generator, accessories: bool) -> FaceLook:
    """Skin, lips, brows, hair (style: 8 % bald, 14 % receding, 35 % fringe), beard, glasses."""
    skin = jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10.0)
    hair = jitter_colour(rng, HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], 12.0)
    lips = skin * np.array([0.86, 0.62, 0.62]) + np.array([28.0, 4.0, 8.0]) + rng.normal(0, 6, 3)
    brow = 0.75 * hair + 0.25 * 0.4 * skin if hair.mean() < 150 else 0.55 * hair
    r = rng.random()
    front = 95.0 if r < 0.08 else rng.uniform(46.0, 58.0) if r < 0.22 else rng.uniform(33.0, 44.0)
    fringe = rng.uniform(6.0, max(7.0, front - 16.0)) if front < 90 and rng.random() < 0.35 else 0.0
    style = HairStyle(
        front=front,
        temple=rng.uniform(0.0, 8.0),
        side=rng.uniform(-12.0, 4.0),
        nape=rng.uniform(-50.0, -30.0),
        fringe=fringe,
        sweep=rng.uniform(-0.6, 0.6),
        wave=rng.uniform(0.0, 3.0),
        freq=rng.uniform(0.15, 0.4),
        phase=rng.uniform(-np.pi, np.pi),
        thickness=rng.uniform(0.3, 1.5),
    )
    h, s, v = rng.random(), rng.uniform(0.1, 0.8), rng.uniform(0.15, 0.95)
    shirt = np.array(colorsys.hsv_to_rgb(h, s, v)) * 255.0
    # Every draw happens whatever ``accessories`` says, so a face looks the same with and without.
    wear, frame, dark = rng.random() < 0.2, random_colour(rng, (0.0, 0.6), (0.05, 0.5)), rng.random() < 0.25
    glasses = _colour(frame) if accessories and wear else None
    return FaceLook(
        skin=_colour(skin),
        lips=_colour(lips),
        brow=_colour(brow),
        hair=_colour(hair),
        iris=_colour(_IRIS[rng.integers(len(_IRIS))] * rng.uniform(0.85, 1.15)),
        shirt=_colour(shirt),
        hair_style=style,
        beard=float(rng.uniform(0.3, 0.9)) if rng.random() < 0.18 else 0.0,
        brow_alpha=float(rng.uniform(0.6, 0.95)),
        glasses=glasses,
        sunglasses=bool(glasses is not None and dark),
        noise_seed=int(rng.integers(2**31)),
    )


def _eyes(rng: np.random.Generator) -> tuple[float, float]:
    """Eye openness (right, left): 10 % blinks, 5 % winks, else open 0.6-1.12 with a little asymmetry."""
    r = rng.random()
    if r < 0.1:  # blink
        return float(rng.uniform(0.0, 0.2)), float(rng.uniform(0.0, 0.2))
    if r < 0.15:  # wink
        a, b = rng.uniform(0.0, 0.15), rng.uniform(0.7, 1.1)
        return (float(a), float(b)) if rng.random() < 0.5 else (float(b), float(a))
    o = rng.uniform(0.6, 1.12)
    return float(o + rng.normal(0, 0.04)), float(o + rng.normal(0, 0.04))


def sample_face_params(
    rng: np.random.Generator,
    width: int,
    height: int,
    max_yaw: float = 90.0,
    max_pitch: float = 60.0,
    max_roll: float = 45.0,
    accessories: bool = True,
) -> FaceParams:
    """Draws the parameters of one face image.

    Args:
        rng: random generator (the only source of randomness).
        width: image width W, px.
        height: image height H, px.
        max_yaw: yaw drawn uniformly from ``[-max_yaw, max_yaw]`` degrees.
        max_pitch: pitch likewise.
        max_roll: roll likewise.
        accessories: allow glasses.

    Returns:
        The parameters.
    """
    ey, ep, er = (float(rng.uniform(-m, m)) for m in (max_yaw, max_pitch, max_roll))
    euler = (ey, ep, er)
    torso = (euler[0] * rng.uniform(0.2, 0.7), float(rng.uniform(-8.0, 8.0)), euler[2] * rng.uniform(0.0, 0.5))
    frac = rng.uniform(0.5, 0.7)
    side = min(width, height)
    slack = 0.5 * (1.0 - frac) * 0.5
    centre = (
        0.5 * (width - 1) + rng.uniform(-slack, slack) * side,
        0.5 * (height - 1) + rng.uniform(-slack, slack) * side,
    )
    az, el = np.radians(rng.uniform(-70.0, 70.0)), np.radians(rng.uniform(-15.0, 60.0))
    light = np.array([np.sin(az) * np.cos(el), -np.sin(el), -np.cos(az) * np.cos(el)])
    jaw = 0.0 if rng.random() < 0.55 else float(22.0 * rng.random() ** 1.3)
    alpha = np.clip(rng.normal(size=len(IDENTITY)), -2.2, 2.2)
    smile = 0.0 if rng.random() < 0.35 else float(rng.uniform(-0.35, 1.1))
    brows = float(np.clip(rng.normal(0.0, 0.45), -0.8, 1.2))
    eye_open = _eyes(rng)
    gaze = (float(np.clip(rng.normal(0, 2.5), -5, 5)), float(np.clip(rng.normal(0, 1.5), -3, 3)))
    brow_v, brow_thick = float(rng.normal(0.0, 1.0)), float(rng.uniform(2.2, 4.2))
    fov = float(rng.uniform(8.0, 28.0))
    ambient, diffuse, specular = float(rng.uniform(0.3, 0.5)), float(rng.uniform(0.55, 0.8)), float(rng.uniform(0, 0.2))
    return FaceParams(
        alpha=alpha,
        smile=smile,
        brows=brows,
        jaw_deg=jaw,
        eye_open=eye_open,
        gaze=gaze,
        brow_v=brow_v,
        brow_thick=brow_thick,
        euler=euler,
        torso=(float(torso[0]), float(torso[1]), float(torso[2])),  # type: ignore
        fov=fov,
        box_size=float(frac * side),
        box_centre=(float(centre[0]), float(centre[1])),
        light=light,
        ambient=ambient,
        diffuse=diffuse,
        specular=specular,
        look=_look(rng, accessories),
    )


def mirror_params(p: FaceParams, width: int) -> FaceParams:
    """Parameters of the horizontally mirrored image (``x -> W - 1 - x``).

    The identity model is left-right symmetric, so mirroring swaps the eyes, negates the
    horizontal gaze, the light's x and the hair's asymmetry, and maps the poses through
    :func:`landmarks.geometry.flip_euler`. Texture noise is not mirrored (appearance only).
    """
    y, pt, r = (float(a) for a in flip_euler(*p.euler))
    ty, tp, tr = (float(a) for a in flip_euler(*p.torso))
    hs = p.look.hair_style
    look = replace(p.look, hair_style=replace(hs, sweep=-hs.sweep, phase=-hs.phase))
    return replace(
        p,
        eye_open=(p.eye_open[1], p.eye_open[0]),
        gaze=(-p.gaze[0], p.gaze[1]),
        euler=(y, pt, r),
        torso=(ty, tp, tr),
        box_centre=(width - 1 - p.box_centre[0], p.box_centre[1]),
        light=p.light * np.array([-1.0, 1.0, 1.0]),
        look=look,
    )
