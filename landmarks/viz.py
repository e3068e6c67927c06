"""Drawing: keypoint skeletons, boxes, heatmap overlays, image grids and metric curves.

Pure OpenCV / numpy on ``(H, W, 3)`` uint8 RGB images; every function returns a new
image and leaves its input untouched. Curves are drawn with matplotlib through its Agg
canvas created inside :func:`plot_curves`, so importing this module changes no global
matplotlib state. Colours follow the usual pose convention: left side green, right side
orange, centre blue, decided by the ``left_`` / ``right_`` prefix of keypoint names.
Head pose is drawn as a 3-axis gizmo (:func:`draw_head_pose`, Hopenet's ``draw_axis``): the
head's x axis (towards the subject's left) red, y axis (towards the chin) green, z axis (out of
the nose) blue. A sibling drawing is one more function here taking an RGB image.

(Over 300 lines: the drawing primitives every task, report and panel uses, with their shared colours and styles.)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from landmarks.drawing import (  # noqa: F401 - the colours are part of this module's interface
    AXIS_COLORS,
    BOX_COLOR,
    CENTER_COLOR,
    LEFT_COLOR,
    RIGHT_COLOR,
    draw_axes,
    draw_rectangle,
    draw_skeleton,
)
from landmarks.drawing import line_thickness as _thickness
from landmarks.geometry import project_axes
from landmarks.layouts.spec import KeypointSpec


def _check_rgb(image: np.ndarray, name: str = "image") -> None:
    if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8):
        got = f"{type(image).__name__} {getattr(image, 'shape', '')} {getattr(image, 'dtype', '')}"
        raise ValueError(f"{name}: expected an (H, W, 3) uint8 RGB array, got {got}")


def draw_keypoints(
    image: np.ndarray,
    keypoints: np.ndarray,
    scores_or_visible: np.ndarray,
    spec: KeypointSpec,
    threshold: float = 0.3,
    radius: int | None = None,
    hollow: np.ndarray | None = None,
) -> np.ndarray:
    """Draw the skeleton of one instance.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        keypoints: ``(K, 2)`` image px.
        scores_or_visible: ``(K,)`` confidences or COCO visibility 0/1/2; a point (and any
            limb touching it) is drawn when its value is ``>= threshold`` and it is finite.
        spec: the layout (names decide left/right/centre colours; ``skeleton`` the limbs).
        threshold: minimum score to draw a point.
        radius: point radius in px; by default about 1/100 of the shorter side.
        hollow: ``(K,)`` bool, points drawn as a ring without fill (predicted occluded,
            :func:`landmarks.drawing.hollow_mask`); ``None``: every point filled.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy with the skeleton drawn.
    """
    _check_rgb(image)
    kpts = np.asarray(keypoints, dtype=np.float64)
    scores = np.asarray(scores_or_visible, dtype=np.float64).reshape(-1)
    k = spec.num_keypoints
    if kpts.shape != (k, 2) or scores.shape != (k,):
        raise ValueError(
            f"draw_keypoints: expected keypoints (K, 2) and scores (K,) with K={k} ({spec.name}), "
            f"got {kpts.shape} and {scores.shape}"
        )
    if hollow is not None and np.shape(hollow) != (k,):
        raise ValueError(f"draw_keypoints: expected hollow (K,) with K={k} ({spec.name}), got {np.shape(hollow)}")
    return draw_skeleton(image, kpts, scores, spec.names, spec.skeleton, threshold, radius, hollow)


def draw_box(image: np.ndarray, bbox: Sequence[float] | np.ndarray, label: str | None = None) -> np.ndarray:
    """Draw a box ``(4,)`` ``x, y, w, h`` image px, with an optional text label above it.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy.
    """
    _check_rgb(image)
    out, p1 = draw_rectangle(image, bbox)
    if label:
        scale = max(0.4, min(image.shape[:2]) / 800)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        top = max(p1[1] - th - base - 2, 0)
        cv2.rectangle(out, (p1[0], top), (p1[0] + tw + 2, top + th + base + 2), BOX_COLOR, -1)
        cv2.putText(
            out, label, (p1[0] + 1, top + th + 1), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return out


def draw_head_pose(
    image: np.ndarray,
    euler: Sequence[float] | np.ndarray,
    center: Sequence[float] | np.ndarray,
    size: float,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw the head's three axes (:func:`landmarks.geometry.project_axes`) from ``center``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        euler: ``(3,)`` yaw, pitch, roll degrees (:mod:`landmarks.geometry`); nothing is drawn
            when any angle is not finite.
        center: ``(2,)`` image px where the axes start (e.g. the face centre).
        size: axis length, px.
        thickness: line width px; by default twice the usual line width.

    Returns:
        ``(H, W, 3)`` uint8 RGB copy; x axis red, y green, z blue (:data:`AXIS_COLORS`).
    """
    _check_rgb(image)
    angles = np.asarray(euler, dtype=np.float64).reshape(3)
    c = np.asarray(center, dtype=np.float64).reshape(2)
    if not (np.isfinite(angles).all() and np.isfinite(c).all()):
        return image.copy()
    ends = project_axes(*angles, center=c, size=float(size))
    return draw_axes(image, ends, c, thickness or 2 * _thickness(image))


def overlay_heatmaps(image: np.ndarray, heatmaps: np.ndarray, alpha: float = 0.5, normalize: bool = True) -> np.ndarray:
    """Blend the per-pixel maximum of ``K`` heatmaps over the image, JET colour map.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        heatmaps: ``(K, h, w)`` float covering the same field of view as ``image``
            (resized to ``(H, W)`` bilinearly).
        alpha: weight of the colour map in the blend, in ``[0, 1]``.
        normalize: divide by the maximum (when positive) so the peak is red; otherwise
            values are clipped to ``[0, 1]``.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    _check_rgb(image)
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim != 3:
        raise ValueError(f"overlay_heatmaps: expected heatmaps of shape (K, h, w), got {hm.shape}")
    peak = np.nan_to_num(hm.max(axis=0), nan=0.0)
    if normalize and peak.max() > 0:
        peak = peak / peak.max()
    peak = np.clip(peak, 0.0, 1.0)
    peak = cv2.resize(peak, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((peak * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(image, 1.0 - alpha, colour, alpha, 0.0)


def image_grid(images: Sequence[np.ndarray], cols: int) -> np.ndarray:
    """Tile RGB images row by row; each cell is padded (bottom/right, black) to the largest size.

    Args:
        images: ``N`` arrays ``(H_i, W_i, 3)`` uint8 RGB.
        cols: cells per row (``>= 1``).

    Returns:
        ``(rows * H_max, cols * W_max, 3)`` uint8 RGB, ``rows = ceil(N / cols)``.
    """
    if not images:
        raise ValueError("image_grid: expected at least one image, got an empty list")
    if cols < 1:
        raise ValueError(f"image_grid: cols must be >= 1, got {cols}")
    for n, img in enumerate(images):
        _check_rgb(img, f"image_grid: images[{n}]")
    cell_h = max(img.shape[0] for img in images)
    cell_w = max(img.shape[1] for img in images)
    cols = min(cols, len(images))
    rows = math.ceil(len(images) / cols)
    grid = np.zeros((rows * cell_h, cols * cell_w, 3), dtype=np.uint8)
    for n, img in enumerate(images):
        r, c = divmod(n, cols)
        grid[r * cell_h : r * cell_h + img.shape[0], c * cell_w : c * cell_w + img.shape[1]] = img
    return grid


def plot_curves(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str,
    xlabel: str,
    ylabel: str,
    title: str,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> str:
    """Plot named ``(x, y)`` curves into a PNG file (e.g. PCK vs threshold, loss vs step).

    Args:
        series: ``{label: (x values, y values)}``, equal lengths per label.
        path: output PNG file; parent folders are created.
        xlabel, ylabel, title: axis labels and title.
        xlim, ylim: axis ranges (default: matplotlib's).

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not series:
        raise ValueError(f"plot_curves({path}): expected at least one series, got none")
    fig = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for label, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"plot_curves({path}): series {label!r} has {len(xs)} x and {len(ys)} y values")
        ax.plot(list(xs), list(ys), label=label, marker="." if len(xs) < 30 else None)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if xlim is not None:
        ax.set_xlim(*xlim)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_ced(
    nmes: Mapping[str, np.ndarray], path: str, thr: float = 0.1, title: str = "Cumulative error distribution"
) -> str:
    """CED of per-face NMEs (:func:`landmarks.metrics.face.ced`): NME 0..``thr`` on x, fraction of faces on y.

    Args:
        nmes: ``{label: (N,) NMEs}`` (fractions; nan entries are left out, inf counts as a failure).
        path: output PNG.
        thr: the curve's end and the FR / AUC threshold.
        title: plot title.

    Returns:
        ``path``; each legend entry carries the mean NME, FR@thr and AUC@thr (Simpson rule).
    """
    from landmarks.metrics.face import ced, fr_auc

    series = {}
    for label, values in nmes.items():
        e = np.asarray(values, dtype=np.float64).ravel()
        e = e[~np.isnan(e)]
        if not e.size:
            continue
        xs, ys = ced(e, thr)
        fr, auc = fr_auc(e, thr)
        mean = float(np.mean(e[np.isfinite(e)])) if np.isfinite(e).any() else float("inf")
        series[f"{label}: NME {100 * mean:.2f}%, FR@{thr:g} {100 * fr:.1f}%, AUC@{thr:g} {auc:.3f} (n={e.size})"] = (
            xs,
            ys,
        )
    if not series:
        raise ValueError(f"plot_ced({path}): no finite or inf NME value in {sorted(nmes)}")
    return plot_curves(series, path, "NME", "fraction of faces", title, xlim=(0.0, thr), ylim=(0.0, 1.0))


def plot_error_cdf(
    errors: Mapping[str, np.ndarray], path: str, max_error: float, unit: str = "deg", title: str = "Cumulative error"
) -> str:
    """Fraction of samples with absolute error ``<= t`` for ``t`` in ``[0, max_error]`` (e.g. head-pose angles).

    Args:
        errors: ``{label: (N,) absolute errors}`` (nan entries are left out).
        path: output PNG.
        max_error: the x-axis end, in ``unit``.
        unit: unit name for the axis label and the legend's mean.
        title: plot title.

    Returns:
        ``path``; each legend entry carries the mean error.
    """
    xs = np.linspace(0.0, float(max_error), 501)
    series = {}
    for label, values in errors.items():
        e = np.abs(np.asarray(values, dtype=np.float64).ravel())
        e = e[~np.isnan(e)]
        if e.size:
            series[f"{label}: mean {e.mean():.2f} {unit} (n={e.size})"] = (xs, (e[None, :] <= xs[:, None]).mean(axis=1))
    if not series:
        raise ValueError(f"plot_error_cdf({path}): no error value in {sorted(errors)}")
    return plot_curves(
        series,
        path,
        f"absolute error ({unit})",
        "fraction of samples",
        title,
        xlim=(0.0, float(max_error)),
        ylim=(0.0, 1.0),
    )


def save_image(path: str, image: np.ndarray) -> str:
    """Write an ``(H, W, 3)`` uint8 RGB image (format from the extension); returns ``path``."""
    _check_rgb(image)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"save_image: OpenCV could not write {path} (unknown extension or unwritable folder)")
    return path
