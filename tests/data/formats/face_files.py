"""Shared helpers of the face reader tests: tiny images, point sets and composed configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from hydra import compose, initialize_config_dir

CONF = Path(__file__).resolve().parents[3] / "conf"
RNG = np.random.default_rng(0)


def write_image(path: Path, w: int = 120, h: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), RNG.integers(0, 255, (h, w, 3), dtype=np.uint8))


def face_points(k: int, x0: float = 30.0, y0: float = 20.0, size: float = 50.0) -> np.ndarray:
    """``(k, 2)`` points spread over a ``size`` box at ``(x0, y0)`` (corners included)."""
    pts = np.column_stack([np.linspace(x0, x0 + size, k), y0 + size * (np.arange(k) % 7) / 6.0])
    return np.round(pts, 3)


def compose_train(overrides: list[str]) -> Any:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("train", overrides=overrides + ["data.num_workers=0", "output_dir=/tmp/unused"])
