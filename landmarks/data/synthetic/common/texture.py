"""Cheap procedural textures and colour palettes for the synthetic renderers.

Backgrounds are built at low resolution (noise, gradients, stripes, tiles, a floor/wall
split) and upsampled with ``cv2.resize``, so one costs well under a millisecond at 256 px;
the caller blurs the finished image once.
Everything is drawn from the caller's ``np.random.Generator``, which keeps renders
deterministic. To add a background style, write ``_style(rng, w, h) -> (h, w, 3) uint8``
and add it to ``_STYLES``.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

#: Skin tones (RGB), light to dark.
SKIN_TONES = np.array(
    [
        (255, 224, 196),
        (241, 194, 167),
        (224, 172, 138),
        (198, 134, 98),
        (161, 102, 70),
        (120, 75, 50),
        (90, 56, 38),
    ],
    dtype=np.float64,
)
#: Hair colours (RGB): black, dark brown, brown, auburn, blond, grey.
HAIR_COLOURS = np.array(
    [
        (25, 20, 18),
        (55, 38, 28),
        (95, 62, 38),
        (130, 60, 35),
        (185, 140, 70),
        (160, 160, 160),
    ],
    dtype=np.float64,
)
#: Trouser colours (RGB): denim, navy, black, khaki, grey, brown.
TROUSER_COLOURS = np.array(
    [
        (60, 80, 120),
        (35, 40, 70),
        (30, 30, 32),
        (180, 160, 120),
        (110, 110, 115),
        (90, 65, 45),
    ],
    dtype=np.float64,
)


def jitter_colour(rng: np.random.Generator, rgb: np.ndarray, amount: float = 18.0) -> np.ndarray:
    """``(3,)`` float RGB, ``rgb`` plus uniform noise of +-``amount`` per channel, clipped to 0..255."""
    return np.clip(np.asarray(rgb, dtype=np.float64) + rng.uniform(-amount, amount, 3), 0, 255)


def random_colour(
    rng: np.random.Generator, sat: tuple[float, float] = (0.3, 0.9), val: tuple[float, float] = (0.3, 0.95)
) -> np.ndarray:
    """``(3,)`` float RGB 0..255 with a uniform hue and the given saturation/value ranges."""
    r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(*sat), rng.uniform(*val))
    return np.array([r, g, b]) * 255.0


def _noise(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    cells = int(rng.integers(3, 12))
    base = random_colour(rng, (0.05, 0.6), (0.25, 0.9))
    low = base + rng.normal(0, rng.uniform(10, 45), (cells, cells, 3))
    return cv2.resize(np.clip(low, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)


def _gradient(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    c0, c1 = random_colour(rng, (0.0, 0.6)), random_colour(rng, (0.0, 0.6))
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(0, 1, 8)
    grid = np.cos(angle) * ramp[None, :] + np.sin(angle) * ramp[:, None]
    grid = (grid - grid.min()) / max(np.ptp(grid), 1e-6)
    low = c0 + grid[..., None] * (c1 - c0)
    return cv2.resize(low.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)


def _stripes(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    c0, c1 = random_colour(rng, (0.0, 0.5)), random_colour(rng, (0.0, 0.5))
    n = int(rng.integers(24, 64))
    period = rng.uniform(3, 12)
    t = 0.5 + 0.5 * np.sin(np.arange(n) * 2 * np.pi / period)
    low = (c0 + t[:, None] * (c1 - c0)).astype(np.uint8)
    low = low[None] if rng.random() < 0.5 else low[:, None]  # (1, n, 3) vertical or (n, 1, 3) horizontal
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR)


def _tiles(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    n = int(rng.integers(4, 14))
    c0, c1 = random_colour(rng, (0.0, 0.4)), random_colour(rng, (0.0, 0.4))
    check = (np.indices((n, n)).sum(0) % 2).astype(np.float64)
    low = (c0 + check[..., None] * (c1 - c0)).astype(np.uint8)
    return cv2.resize(low, (w, h), interpolation=cv2.INTER_NEAREST)


_STYLES = (_noise, _gradient, _stripes, _tiles)


def background(rng: np.random.Generator, width: int, height: int, clutter: int = 3) -> np.ndarray:
    """A random textured background.

    Args:
        rng: random generator.
        width: image width W in px.
        height: image height H in px.
        clutter: maximum number of flat "furniture" shapes drawn on top.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    style = _STYLES[int(rng.integers(len(_STYLES)))]
    img = style(rng, width, height)
    if rng.random() < 0.5:  # floor / wall split at a random horizon
        y = int(rng.uniform(0.35, 0.8) * height)
        floor = _STYLES[int(rng.integers(len(_STYLES)))](rng, width, height - y)
        img[y:] = floor
    for _ in range(int(rng.integers(0, clutter + 1))):
        colour = tuple(float(c) for c in random_colour(rng, (0.0, 0.7), (0.2, 0.9)))
        x0, y0 = rng.uniform(-0.1, 1.0) * width, rng.uniform(-0.1, 1.0) * height
        sw, sh = rng.uniform(0.08, 0.4) * width, rng.uniform(0.08, 0.5) * height
        if rng.random() < 0.6:
            cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + sw), int(y0 + sh)), colour, -1)
        else:
            cv2.ellipse(
                img, (int(x0), int(y0)), (int(sw / 2), int(sh / 2)), float(rng.uniform(0, 180)), 0, 360, colour, -1
            )
    return img


def occluder_strokes(rng: np.random.Generator, centre: tuple[float, float], size: float) -> list[tuple]:
    """Strokes of one random occluder (a box or an ellipse with a lighter inner panel).

    Args:
        rng: random generator.
        centre: ``(x, y)`` image px.
        size: typical extent in px.

    Returns:
        Strokes in the format of :mod:`landmarks.data.synthetic.common.raster` (first stroke = silhouette).
    """
    colour = random_colour(rng, (0.1, 0.8), (0.2, 0.9))
    inner = np.clip(colour * rng.uniform(0.75, 1.25), 0, 255)
    w, h = size * rng.uniform(0.4, 1.2), size * rng.uniform(0.3, 1.0)
    angle = float(rng.choice([0.0, rng.uniform(-30, 30)]))
    if rng.random() < 0.6:
        box = cv2.boxPoints(((centre[0], centre[1]), (w, h), angle))
        mid = np.asarray(centre) + 0.7 * (box - np.asarray(centre))
        return [("poly", box, colour, True), ("poly", mid, inner, False)]
    return [
        ("ellipse", centre, (w / 2, h / 2), angle, colour, True),
        ("ellipse", centre, (0.35 * w, 0.35 * h), angle, inner, False),
    ]
