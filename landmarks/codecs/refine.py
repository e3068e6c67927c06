"""Heatmap maximum and its sub-pixel refinements: quarter-pixel offset and DARK.

* argmax: the integer pixel of the maximum (Newell et al., "Stacked Hourglass Networks",
  ECCV 2016; Xiao et al., SimpleBaseline, ECCV 2018).
* quarter offset: move 0.25 px along each axis toward the higher of the two neighbours
  (the empirical rule of the Hourglass / SimpleBaseline / HRNet test code).
* DARK (Zhang et al., "Distribution-Aware Coordinate Representation for Human Pose
  Estimation", CVPR 2020): smooth the map with a Gaussian of the training sigma, take its
  log (a Gaussian becomes a quadratic), and solve the second-order Taylor expansion at the
  maximum, ``offset = -H^-1 g`` with the 2x2 Hessian ``H`` and gradient ``g`` from
  central differences (closed-form 2x2 inverse, batched).

All functions work in heatmap px on torch tensors, vectorised over ``B * K`` (no Python
loop per keypoint). A sibling refinement takes ``(heatmaps, coords)`` and returns refined
``coords`` of the same shape.
"""

from __future__ import annotations

import math

import torch

__all__ = ["DARK_BORDER", "heatmap_argmax", "refine_quarter", "gaussian_blur", "refine_dark"]

DARK_BORDER = 2
"""A maximum this close to the map's edge (heatmap px) is not DARK-refined on that axis."""


def heatmap_argmax(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Location and value of each map's maximum.

    Args:
        heatmaps: ``(B, K, h, w)``.

    Returns:
        ``coords`` ``(B, K, 2)`` float ``x, y`` heatmap px (integers; the first maximum in
        row-major order on ties) and ``scores`` ``(B, K)`` the maximum values. A map with
        no positive value still returns its argmax; its score (<= 0) tells it apart.
    """
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmap_argmax: expected heatmaps (B, K, h, w), got shape {tuple(heatmaps.shape)}")
    b, k, _, w = heatmaps.shape
    scores, idx = heatmaps.reshape(b, k, -1).max(dim=-1)
    coords = torch.stack([idx % w, torch.div(idx, w, rounding_mode="floor")], dim=-1)
    return coords.to(heatmaps.dtype), scores


def _neighbours(maps: torch.Tensor, coords: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Values of ``maps`` ``(N, h, w)`` at integer ``coords`` ``(N, 2)`` + ``(dx, dy)``, clamped."""
    _, h, w = maps.shape
    x = (coords[:, 0].long() + dx).clamp(0, w - 1)
    y = (coords[:, 1].long() + dy).clamp(0, h - 1)
    return maps.reshape(maps.shape[0], -1).gather(1, (y * w + x)[:, None])[:, 0]


def refine_quarter(heatmaps: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Shift each argmax 0.25 px toward its higher neighbour, per axis.

    An axis is left unchanged where the maximum sits on the border (a neighbour is
    missing) or where both neighbours are equal.

    Args:
        heatmaps: ``(B, K, h, w)``.
        coords: ``(B, K, 2)`` integer argmax ``x, y`` heatmap px.

    Returns:
        ``(B, K, 2)`` heatmap px.
    """
    b, k, h, w = heatmaps.shape
    maps = heatmaps.reshape(b * k, h, w)
    c = coords.reshape(b * k, 2)
    x, y = c[:, 0], c[:, 1]
    diff_x = _neighbours(maps, c, 1, 0) - _neighbours(maps, c, -1, 0)
    diff_y = _neighbours(maps, c, 0, 1) - _neighbours(maps, c, 0, -1)
    inner_x = (x >= 1) & (x <= w - 2)
    inner_y = (y >= 1) & (y <= h - 2)
    off = torch.stack([torch.sign(diff_x) * inner_x, torch.sign(diff_y) * inner_y], dim=-1).to(coords.dtype)
    return (c + 0.25 * off).reshape(b, k, 2)


def _blur_matrix(n: int, sigma: float, radius: int, like: torch.Tensor) -> torch.Tensor:
    """``(n, n)`` banded matrix of the normalised 1-D kernel (zero outside ``0..n-1``)."""
    i = torch.arange(n, dtype=like.dtype, device=like.device)
    d = i[:, None] - i[None, :]
    t = torch.arange(-radius, radius + 1, dtype=like.dtype, device=like.device)
    norm = torch.exp(-(t**2) / (2.0 * sigma**2)).sum()
    return torch.exp(-(d**2) / (2.0 * sigma**2)) * (d.abs() <= radius) / norm


def gaussian_blur(heatmaps: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of each map, keeping each map's maximum value.

    The kernel has standard deviation ``sigma`` and radius ``ceil(3 sigma)``; the map is
    taken as zero outside its borders. This is what DarkPose's ``gaussian_blur`` does: it
    pads each map with ``(kernel - 1) // 2`` zeros before ``cv2.GaussianBlur`` and crops
    the padding off again, so OpenCV's reflected border only ever mirrors those zeros
    (DarkPose's kernel is 11 wide, radius 5, sigma 2.0 from OpenCV's size rule; here the
    radius is 6 for sigma 2). After smoothing, each map is rescaled so its maximum equals
    the maximum before smoothing (as DARK does).

    The two 1-D passes are products with banded ``(h, h)`` and ``(w, w)`` matrices, which
    on CPU ran about 5x faster than ``conv2d`` over ``B * K`` single-channel maps.

    Args:
        heatmaps: ``(B, K, h, w)``.
        sigma: kernel standard deviation, heatmap px.

    Returns:
        ``(B, K, h, w)`` smoothed maps.
    """
    _, _, h, w = heatmaps.shape
    radius = max(1, int(math.ceil(3.0 * sigma)))
    x = _blur_matrix(h, sigma, radius, heatmaps) @ heatmaps @ _blur_matrix(w, sigma, radius, heatmaps).T
    old_max = heatmaps.amax(dim=(2, 3), keepdim=True)
    new_max = x.amax(dim=(2, 3), keepdim=True)
    ratio = torch.where(new_max > 0, old_max / new_max.clamp_min(1e-12), torch.ones_like(new_max))
    return x * ratio


def refine_dark(heatmaps: torch.Tensor, coords: torch.Tensor, sigma: float, blur: bool = True) -> torch.Tensor:
    """DARK second-order Taylor refinement of integer maxima.

    With ``L = log(max(blur(heatmap), 1e-10))``, the gradient ``g = (Lx, Ly)`` and Hessian
    ``H = [[Lxx, Lxy], [Lxy, Lyy]]`` come from central differences at the argmax ``m``;
    the refined location is ``m - H^-1 g`` (for a noise-free Gaussian ``L`` is exactly
    quadratic, so this lands on its centre). The step is applied only where ``H`` is
    negative definite (a true maximum) and is clamped to ``[-1, 1]`` px per axis.

    **Border.** An axis on which ``m`` lies within :data:`DARK_BORDER` = 2 px of the map's
    edge (``x < 2`` or ``x > w - 3``) keeps the integer argmax; the other axis then takes
    the 1-D step ``-g / H``. Near the edge the zero-padded blur cuts the peak, ``L`` is no
    longer quadratic and the Taylor step pulls the wrong way. DarkPose's ``taylor`` uses
    the same 2 px margin but leaves *both* axes unrefined when either is near the edge.
    Measured on sigma-2 UDP Gaussians anywhere on a 48 x 64 map (1088 points), mean error
    of the points within 2 px of an edge: refining up to the edge pixel (this function
    before) 0.44 px, DarkPose's rule 0.38 px, argmax alone 0.41 px, this per-axis rule
    0.29 px; 2-3 px from the edge all three refine (0.12 px), beyond 4 px 0.000 px.

    Args:
        heatmaps: ``(B, K, h, w)`` (raw network output or targets).
        coords: ``(B, K, 2)`` integer argmax ``x, y`` heatmap px.
        sigma: the Gaussian sigma of the targets, heatmap px (smoothing kernel).
        blur: smooth before the log (turn off only for noise-free maps).

    Returns:
        ``(B, K, 2)`` heatmap px.
    """
    b, k, h, w = heatmaps.shape
    maps = gaussian_blur(heatmaps, sigma) if blur else heatmaps
    logm = torch.log(maps.clamp_min(1e-10)).reshape(b * k, h, w)
    m = coords.reshape(b * k, 2)
    inner_x = (m[:, 0] >= DARK_BORDER) & (m[:, 0] <= w - 1 - DARK_BORDER)
    inner_y = (m[:, 1] >= DARK_BORDER) & (m[:, 1] <= h - 1 - DARK_BORDER)

    def at(dx: int, dy: int) -> torch.Tensor:
        return _neighbours(logm, m, dx, dy)

    centre = at(0, 0)
    gx = 0.5 * (at(1, 0) - at(-1, 0)) * inner_x
    gy = 0.5 * (at(0, 1) - at(0, -1)) * inner_y
    minus_one = torch.full_like(centre, -1.0)
    hxx = torch.where(inner_x, at(1, 0) - 2.0 * centre + at(-1, 0), minus_one)
    hyy = torch.where(inner_y, at(0, 1) - 2.0 * centre + at(0, -1), minus_one)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1)) * (inner_x & inner_y)
    det = hxx * hyy - hxy * hxy
    ok = (hxx < 0) & (det > 1e-12)
    safe_det = torch.where(ok, det, torch.ones_like(det))
    # step = -H^-1 g with H^-1 = [[hyy, -hxy], [-hxy, hxx]] / det
    step_x = -(hyy * gx - hxy * gy) / safe_det
    step_y = -(hxx * gy - hxy * gx) / safe_det
    off = torch.stack([step_x, step_y], dim=-1).clamp(-1.0, 1.0) * ok[:, None]
    return (m + off.to(m.dtype)).reshape(b, k, 2)
