"""Per-face texture atlas for the synthetic face renderer: skin, hair, brows, eyes, lips.

The atlas is a longitude/latitude map of the head chart (:mod:`.face_surface`) in *atlas
degrees*: column ``u + 180``, row ``90 - v``, then a strip of flat materials below row 180
(mouth interior, ear, neck, shirt, glasses; :data:`.face_mesh.STRIP`), sampled at ``scale`` px
per degree. Smooth fields (skin tone variation, blush, stubble, hair with strands and a soft
hairline) are composed at half a px per degree and upsampled; sharp features (brows, eyes with iris
and lashes, lips, nostrils) are then drawn at full resolution from the same chart curves that
place the landmarks (:mod:`.face_contours`), so every landmark sits on its painted feature.

Hair is analytic: :func:`hairline` gives, per longitude, the elevation above which the head
is hair (the fringe included); the renderer uses the same function for the hair's thickness
and for hiding landmarks under a fringe. To add a feature (freckles, make-up), draw it in
:func:`paint_atlas` from chart coordinates with :func:`_to_px`.

(Over 300 lines: one atlas painter; the smooth fields and the sharp features share its chart sampling and
resolution, and splitting them would pass that state between files.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from landmarks.data.synthetic.face.contours import FaceFeatures, brow_outline, eye_lids, lip_curves
from landmarks.data.synthetic.face.mesh import STRIP, STRIP_ROWS
from landmarks.data.synthetic.face.surface import EYE_V, MOUTH_V

__all__ = ["FaceLook", "HairStyle", "hair_base", "hairline", "paint_atlas"]

Colour = tuple[float, float, float]


@dataclass(frozen=True)
class HairStyle:
    """Analytic hair cap (degrees on the chart, cm for thickness).

    Attributes:
        front: elevation of the hairline above the forehead centre (higher = receding; >= 90 bald).
        temple: extra recession at the temples.
        side: lowest elevation of the sideburns.
        nape: elevation of the hairline at the back of the head.
        fringe: how far a fringe comes down over the forehead (0 = none).
        sweep: fringe asymmetry (-1..1; > 0 longer on the subject's left).
        wave: fringe edge waviness amplitude; ``freq`` (rad/deg) and ``phase`` (rad) shape it.
        thickness: hair volume over the skull, cm.
    """

    front: float = 40.0
    temple: float = 4.0
    side: float = -4.0
    nape: float = -38.0
    fringe: float = 0.0
    sweep: float = 0.0
    wave: float = 0.0
    freq: float = 0.25
    phase: float = 0.0
    thickness: float = 0.8


@dataclass(frozen=True)
class FaceLook:
    """Colours (RGB 0..255) and accessories of one face.

    Attributes:
        skin, lips, brow, hair, iris, shirt: colours.
        hair_style: the hair cap.
        beard: stubble/beard density 0..1.
        brow_alpha: brow opacity 0..1.
        glasses: frame colour, or None for no glasses.
        sunglasses: opaque dark lenses (hide the eyes).
        noise_seed: seed of the texture noise (keeps the look deterministic).
    """

    skin: Colour
    lips: Colour
    brow: Colour
    hair: Colour
    iris: Colour
    shirt: Colour
    hair_style: HairStyle
    beard: float = 0.0
    brow_alpha: float = 0.85
    glasses: Colour | None = None
    sunglasses: bool = False
    noise_seed: int = 0


def hair_base(u: np.ndarray, hs: HairStyle) -> np.ndarray:
    """Hairline elevation (deg) per longitude ``u`` without the fringe."""
    au = np.abs(np.asarray(u, dtype=np.float64))
    f = hs.front
    knots_u = [0.0, 28.0, 50.0, 66.0, 78.0, 84.0, 89.0, 104.0, 122.0, 150.0, 180.0]
    knots_v = [
        f,
        f - 1.0,
        f - 5.0 - hs.temple,
        min(f - 12.0, 24.0),
        min(f - 26.0, 10.0),
        hs.side,
        10.0,
        8.0,
        hs.nape + 12.0,
        hs.nape,
        hs.nape - 2.0,
    ]
    return np.interp(au, knots_u, knots_v)


def hairline(u: np.ndarray, hs: HairStyle) -> np.ndarray:
    """Hairline elevation (deg) per longitude ``u``, the fringe included: hair where ``v >= hairline``."""
    u = np.asarray(u, dtype=np.float64)
    base = hair_base(u, hs)
    if hs.fringe <= 0 or hs.front >= 90:
        return base
    cover = np.clip(1.0 - np.abs(u) / 48.0, 0.0, 1.0) ** 0.6
    depth = hs.fringe * (1.0 + hs.sweep * np.clip(u / 30.0, -1.0, 1.0)) + hs.wave * np.cos(hs.freq * u + hs.phase)
    return base - np.maximum(depth, 0.0) * cover


def _to_px(uv: np.ndarray, scale: float) -> np.ndarray:
    """Chart ``(u, v)`` degrees -> atlas px (pixel centres at integers, as OpenCV draws)."""
    return np.stack([(uv[:, 0] + 180.0) * scale - 0.5, (90.0 - uv[:, 1]) * scale - 0.5], 1)


def _rgb(values: Iterable[float]) -> Colour:
    """Three channel values as a :data:`Colour`."""
    r, g, b = (float(c) for c in values)
    return (r, g, b)


def _poly(img: np.ndarray, pts: np.ndarray, colour: Colour, alpha: float = 1.0) -> None:
    x0, y0 = np.floor(pts.min(0)).astype(int) - 1
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
    x0, y0 = max(x0, 0), max(y0, 0)
    roi = img[y0:y1, x0:x1]
    if roi.size == 0:
        return
    layer = roi.copy()
    cv2.fillPoly(layer, [np.round((pts - [x0, y0]) * 16).astype(np.int32)], colour, cv2.LINE_AA, 4)
    cv2.addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


def _line(img: np.ndarray, pts: np.ndarray, colour: Colour, width: float) -> None:
    cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], False, colour, max(1, int(round(width))), cv2.LINE_AA, 4)


_RES = 0.5  # px per degree of the smooth layer


def _base_layer(look: FaceLook, ft: FaceFeatures, rng: np.random.Generator) -> np.ndarray:
    """Smooth fields of the head chart at :data:`_RES` px per degree, ``(90, 180, 3)`` float32 RGB."""
    n_u, n_v = int(360 * _RES), int(180 * _RES)
    u = ((np.arange(n_u) + 0.5) / _RES - 180.0).astype(np.float32)
    v = (90.0 - (np.arange(n_v) + 0.5) / _RES).astype(np.float32)
    skin = np.asarray(look.skin, np.float32)
    noise = cv2.resize(rng.normal(1.0, 0.035, (10, 18)).astype(np.float32), (n_u, n_v), interpolation=cv2.INTER_CUBIC)
    gu = lambda c, s: np.exp(-(((np.abs(u) - c) / s) ** 2))  # noqa: E731
    gv = lambda c, s: np.exp(-(((v - c) / s) ** 2))  # noqa: E731
    socket = np.outer(gv(EYE_V + 1.0, 5.0), gu(ft.eye_u, 10.0))
    base = (noise - 0.12 * socket)[..., None] * skin
    base += np.outer(gv(-16.0, 9.0), gu(30.0, 11.0))[..., None] * np.array([14.0, -6.0, -6.0], np.float32)
    if look.beard > 0:
        region = np.outer(
            np.clip((ft.nose_tip_v - 7.0 - v) / 4.0, 0, 1) * np.clip((v + 88.0) / 6.0, 0, 1),
            np.clip((84.0 - np.abs(u)) / 6.0, 0, 1),
        )
        lips = np.outer(gv(MOUTH_V, 4.5), gu(0.0, 19.0) ** 0.3) * 0.7
        speck = rng.random((n_v, n_u), dtype=np.float32) * 0.5 + 0.5
        a = (look.beard * region * (1.0 - lips) * speck)[..., None]
        base += a * (np.asarray(look.hair, np.float32) - base)
    hs = look.hair_style
    if hs.front < 90:
        line = hairline(u, hs).astype(np.float32)
        soft = np.clip((v[:, None] - line[None, :]) * (0.5 / 1.5) + 0.5, 0.0, 1.0)
        strands = cv2.resize(
            rng.normal(1.0, 0.16, (24, n_u)).astype(np.float32), (n_u, n_v), interpolation=cv2.INTER_LINEAR
        )
        shine = strands * (1.0 + 0.25 * gv(45.0, 12.0))[:, None]
        base += soft[..., None] * (np.asarray(look.hair, np.float32) * shine[..., None] - base)
    return base


def _strip(img: np.ndarray, look: FaceLook, scale: float) -> None:
    """Flat materials below the chart (rows 180..200 atlas degrees), drawn in place."""
    y0 = int(round(STRIP_ROWS[0] * scale))
    img[y0:] = np.asarray(look.skin) * 0.93
    cols = {k: (int(round(a * scale)), int(round(b * scale))) for k, (a, b) in STRIP.items()}
    rows = np.linspace(0.0, 1.0, img.shape[0] - y0)
    mouth = np.where(rows < 0.18, 228.0, np.where(rows > 0.9, 190.0, 40.0 + 40.0 * np.sin(np.pi * rows)))
    tone = np.where((rows < 0.18)[:, None], np.array([1.0, 0.99, 0.95]), np.array([1.0, 0.75, 0.75]))
    img[y0:, cols["mouth"][0] : cols["mouth"][1]] = (mouth[:, None] * tone)[:, None, :]
    img[y0:, cols["shirt"][0] : cols["shirt"][1]] = look.shirt
    img[y0:, cols["glasses"][0] : cols["glasses"][1]] = look.glasses or (0.0, 0.0, 0.0)
    img[y0:, cols["lens"][0] : cols["lens"][1]] = (22.0, 24.0, 28.0)


def _eye(img: np.ndarray, ft: FaceFeatures, look: FaceLook, side: int, scale: float) -> None:
    """Sclera, iris, pupil and glint inside the lid opening, then lashes, lower lid and crease."""
    up, lo = eye_lids(ft, side)
    sign = -1.0 if side == 0 else 1.0
    pu, pl = _to_px(up, scale), _to_px(lo, scale)
    skin = np.asarray(look.skin)
    opening = np.concatenate([pu, pl[::-1]])
    if ft.eye_open[side] > 0.08:
        x0, y0 = np.floor(opening.min(0) - 2).astype(int)
        x1, y1 = np.ceil(opening.max(0) + 3).astype(int)
        roi = img[y0:y1, x0:x1]
        local = opening - [x0, y0]
        white = roi.copy()
        cv2.fillPoly(white, [np.round(local * 16).astype(np.int32)], (228, 224, 218), cv2.LINE_AA, 4)
        centre = _to_px(np.array([[sign * ft.eye_u + ft.gaze[0], EYE_V + ft.gaze[1]]]), scale)[0] - [x0, y0]
        c16 = tuple(int(round(c * 16)) for c in centre)
        iris = tuple(float(c) for c in look.iris)
        cv2.circle(white, c16, int(round(3.2 * scale * 16)), iris, -1, cv2.LINE_AA, 4)
        cv2.circle(
            white,
            c16,
            int(round(3.2 * scale * 16)),
            tuple(0.6 * c for c in iris),
            max(1, int(0.4 * scale)),
            cv2.LINE_AA,
            4,
        )
        cv2.circle(white, c16, int(round(1.3 * scale * 16)), (12, 10, 10), -1, cv2.LINE_AA, 4)
        glint = (int(c16[0] + 0.8 * scale * 16), int(c16[1] - 0.8 * scale * 16))
        cv2.circle(white, glint, int(round(0.5 * scale * 16)), (250, 250, 250), -1, cv2.LINE_AA, 4)
        mask = np.zeros(roi.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(local * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        a = (mask.astype(np.float32) / 255.0)[..., None]
        roi[:] = (white * a + roi * (1 - a)).astype(np.uint8)
    lash = _rgb(0.25 * np.asarray(look.brow))
    _line(img, pu, lash, 0.9 * scale)
    _line(img, pl, _rgb(0.7 * skin), 0.4 * scale)
    crease = up + np.array([0.0, 2.6 + 0.6 * ft.eye_open[side]])
    _line(img, _to_px(crease[6:-4], scale), _rgb(0.8 * skin), 0.4 * scale)


def paint_atlas(look: FaceLook, ft: FaceFeatures, scale: float) -> np.ndarray:
    """Paints the atlas of one face.

    Args:
        look: colours, hair and beard.
        ft: chart features (eye placement and openness, gaze, brows, nose).
        scale: px per atlas degree.

    Returns:
        ``(round(200 * scale), round(360 * scale), 3)`` uint8 RGB.
    """
    rng = np.random.default_rng(look.noise_seed)
    img = np.empty((int(round(200 * scale)), int(round(360 * scale)), 3), np.uint8)
    low = np.clip(_base_layer(look, ft, rng), 0, 255).astype(np.uint8)
    h = int(round(180 * scale))
    cv2.resize(low, (img.shape[1], h), dst=img[:h], interpolation=cv2.INTER_LINEAR)
    _strip(img, look, scale)
    skin = np.asarray(look.skin)
    lips = lip_curves()
    lip_c = _rgb(look.lips)
    upper = np.concatenate([lips["outer_upper"], lips["inner"][::-1]])
    lower = np.concatenate([lips["inner"], lips["outer_lower"][::-1]])
    _poly(img, _to_px(upper, scale), lip_c, 0.85)
    _poly(img, _to_px(lower, scale), _rgb(min(255.0, 1.06 * c) for c in look.lips), 0.85)
    _line(img, _to_px(lips["inner"][2:-2], scale), _rgb(0.45 * np.asarray(look.lips)), 0.6 * scale)
    w = ft.nose_width
    for s in (-1.0, 1.0):
        centre = _to_px(np.array([[s * 3.0 * w, ft.nose_tip_v - 8.0]]), scale)[0]
        axes = (int(round(1.9 * w * scale * 16)), int(round(0.9 * scale * 16)))
        cv2.ellipse(
            img,
            tuple(int(round(c * 16)) for c in centre),
            axes,
            s * 15.0,
            0,
            360,
            tuple(float(c) for c in 0.35 * skin),
            -1,
            cv2.LINE_AA,
            4,
        )
    for side in (0, 1):
        _eye(img, ft, look, side, scale)
    up, lo = brow_outline(ft)
    for sign in (1.0, -1.0):
        _brow(img, _to_px(np.concatenate([up, lo]) * np.array([sign, 1.0]), scale), look, scale)
    return img


def _brow(img: np.ndarray, pts: np.ndarray, look: FaceLook, scale: float) -> None:
    """Fills a brow polygon, except where the hair (a fringe) lies over it."""
    x0, y0 = np.floor(pts.min(0)).astype(int) - 1
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
    roi = img[y0:y1, x0:x1]
    mask = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round((pts - [x0, y0]) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    a = mask.astype(np.float32) / 255.0 * look.brow_alpha
    hs = look.hair_style
    if hs.front < 90:
        u = (np.arange(x0, x1) + 0.5) / scale - 180.0
        v = 90.0 - (np.arange(y0, y1) + 0.5) / scale
        a = a * (v[:, None] < hairline(u, hs)[None, :])
    speck = np.random.default_rng(look.noise_seed + 1).uniform(0.8, 1.15, roi.shape[:2]).astype(np.float32)
    colour = np.asarray(look.brow, np.float32) * speck[..., None]
    roi[:] = (roi * (1 - a[..., None]) + colour * a[..., None]).astype(np.uint8)
