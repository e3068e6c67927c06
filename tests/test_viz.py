"""Drawing helpers: shapes, where the ink lands, colours by side, and PNG output."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from landmarks import viz
from landmarks.layouts.spec import coco17

SPEC = coco17()


def _pose() -> np.ndarray:
    """A standing COCO person in a 200 x 160 (H x W) image, image px."""
    return np.array(
        [
            [80, 30],
            [85, 25],
            [75, 25],
            [90, 28],
            [70, 28],
            [100, 55],
            [60, 55],
            [110, 85],
            [50, 85],
            [115, 110],
            [45, 110],
            [95, 115],
            [65, 115],
            [97, 150],
            [63, 150],
            [98, 185],
            [62, 185],
        ],
        dtype=np.float32,
    )


def _hue_at(image: np.ndarray, xy: np.ndarray, color: tuple[int, int, int]) -> bool:
    """The strongest pixel in the 3x3 window at ``xy`` is ``color`` scaled (anti-aliasing dims it)."""
    x, y = np.round(xy).astype(int)
    window = image[y - 1 : y + 2, x - 1 : x + 2].reshape(-1, 3).astype(float)
    pixel = window[window.sum(axis=1).argmax()]
    ref = np.asarray(color, float)
    cosine = pixel @ ref / (np.linalg.norm(pixel) * np.linalg.norm(ref) + 1e-9)
    return bool(cosine > 0.99 and pixel.sum() > 0.5 * ref.sum())


def test_draw_keypoints_marks_skeleton_and_respects_threshold() -> None:
    image = np.zeros((200, 160, 3), np.uint8)
    scores = np.ones(17, np.float32)
    scores[16] = 0.1  # right ankle below threshold
    out = viz.draw_keypoints(image, _pose(), scores, SPEC, threshold=0.3)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not image.any(), "input must stay untouched"
    # left knee (13) -> left ankle (15) limb: painted in the left colour (green)
    assert _hue_at(out, (_pose()[13] + _pose()[15]) / 2, viz.LEFT_COLOR)
    # right hip (12) -> right knee (14): right colour (orange)
    assert _hue_at(out, (_pose()[12] + _pose()[14]) / 2, viz.RIGHT_COLOR)
    # left shoulder (5) -> right shoulder (6): a centre limb (blue)
    assert _hue_at(out, (_pose()[5] + _pose()[6]) / 2, viz.CENTER_COLOR)
    # nose point drawn (centre colour inside the disc)
    assert tuple(out[30, 80]) == viz.CENTER_COLOR
    # right ankle skipped: neither its point nor its limb from the right knee
    assert not out[183:188, 60:65].any()
    assert not out[170, 62:64].any()
    # nothing drawn far from the person
    assert not out[:, :30].any()


def test_draw_keypoints_rejects_wrong_k() -> None:
    with pytest.raises(ValueError, match=r"K=17 \(coco17\).*\(16, 2\)"):
        viz.draw_keypoints(np.zeros((10, 10, 3), np.uint8), np.zeros((16, 2)), np.ones(16), SPEC)


def test_draw_box_with_label() -> None:
    image = np.zeros((120, 100, 3), np.uint8)
    out = viz.draw_box(image, np.array([20, 40, 50, 60], np.float32), label="person 0.98")
    assert out.shape == image.shape
    assert tuple(out[70, 20]) == viz.BOX_COLOR and tuple(out[100, 45]) == viz.BOX_COLOR  # left and bottom edges
    assert not out[70, 45].any()  # inside stays empty
    assert out[25:40, 20:60].any()  # label above the box
    assert not out[110:, :].any()


def test_overlay_heatmaps_puts_peak_where_heatmap_peaks() -> None:
    image = np.full((64, 96, 3), 128, np.uint8)
    heatmaps = np.zeros((3, 16, 24), np.float32)
    heatmaps[1, 4, 18] = 1.0  # peak at image px ~ (18*4, 4*4) = (72, 16)
    heatmaps[2, 12, 3] = 0.2
    out = viz.overlay_heatmaps(image, heatmaps, alpha=0.5)
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8
    red_excess = out[..., 0].astype(int) - out[..., 2].astype(int)
    y, x = np.unravel_index(np.argmax(red_excess), red_excess.shape)
    assert abs(x - 73) <= 4 and abs(y - 17) <= 4
    # zero heatmap -> JET dark blue (0, 0, 128) blended half and half with grey 128
    assert tuple(out[60, 40]) == (64, 64, 128)


def test_image_grid_pads_to_largest() -> None:
    a = np.full((10, 20, 3), 50, np.uint8)
    b = np.full((16, 8, 3), 200, np.uint8)
    c = np.full((4, 4, 3), 100, np.uint8)
    grid = viz.image_grid([a, b, c], cols=2)
    assert grid.shape == (32, 40, 3)
    assert (grid[:10, :20] == 50).all() and (grid[10:16, :20] == 0).all()
    assert (grid[:16, 20:28] == 200).all() and (grid[:16, 28:40] == 0).all()
    assert (grid[16:20, :4] == 100).all() and (grid[16:, 20:] == 0).all()
    assert viz.image_grid([a], cols=4).shape == (10, 20, 3)


def test_plot_curves_and_save_image(tmp_path: Path) -> None:
    path = viz.plot_curves(
        {"resnet18": ([0.0, 0.1, 0.2], [0.0, 0.6, 0.9]), "mobilenet": ([0.0, 0.1, 0.2], [0.0, 0.5, 0.8])},
        str(tmp_path / "plots" / "pck.png"),
        xlabel="threshold",
        ylabel="PCK",
        title="PCK curve",
    )
    png = Path(path)
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    assert cv2.imread(str(png)).shape == (400, 600, 3)

    rgb = np.zeros((8, 9, 3), np.uint8)
    rgb[..., 0] = 255  # pure red in RGB
    saved = viz.save_image(str(tmp_path / "red.png"), rgb)
    bgr = cv2.imread(saved)
    assert bgr.shape == (8, 9, 3) and tuple(bgr[0, 0]) == (0, 0, 255)
