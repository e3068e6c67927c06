"""Vectorised z-buffer triangle rasteriser (numpy only) for the synthetic face renderer.

The hand and body renderers paint a few dozen shaded strokes with OpenCV (:mod:`.raster`);
a face needs a dense curved surface, so the face renderer rasterises a triangle mesh instead:
several thousand small triangles in one numpy pass, with no Python loop over triangles.

Algorithm: candidate pixel centres form one flat array (the whole bounding box of a small
triangle, exact row spans of a big one), affine edge functions divided by depth keep those
inside and give the barycentrics, depth is interpolated as ``1/Z`` (exact under perspective) and the
nearest candidate per pixel wins through ``np.minimum.at``. Barycentrics are returned
perspective-correct, so callers interpolate any per-vertex attribute (normals, texture
coordinates) as ``sum_i b_i * attr[tri[i]]``.

Conventions: pixel ``(x, y)`` has its centre at integer coordinates (as in
:mod:`landmarks.data.crop`); depth ``Z > 0`` grows away from the camera. To add a feature
(e.g. MSAA), keep this contract: ``(tri_id (H, W), bary (H, W, 3), depth (H, W))``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["Raster", "rasterize"]


class Raster(NamedTuple):
    """Result of :func:`rasterize`.

    Attributes:
        tri: ``(H, W)`` int32 index of the visible triangle, -1 where no triangle covers.
        bary: ``(H, W, 3)`` float32 perspective-correct barycentrics (0 where uncovered).
        depth: ``(H, W)`` float32 camera depth ``Z`` of the visible surface (inf where uncovered).
    """

    tri: np.ndarray
    bary: np.ndarray
    depth: np.ndarray


def _spans(p: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x-extent of triangles ``p`` ``(M, 3, 2)`` on the horizontal lines ``ys`` ``(M,)`` (inf if none)."""
    lo = np.full(len(ys), np.inf)
    hi = np.full(len(ys), -np.inf)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        ya, yb, xa, xb = p[:, a, 1], p[:, b, 1], p[:, a, 0], p[:, b, 0]
        dy = yb - ya
        ok = (ys >= np.minimum(ya, yb)) & (ys <= np.maximum(ya, yb)) & (dy != 0)
        x = xa + (ys - ya) * (xb - xa) / np.where(dy != 0, dy, 1.0)
        lo = np.where(ok, np.minimum(lo, x), lo)
        hi = np.where(ok, np.maximum(hi, x), hi)
    return lo, hi


def _candidates(
    p: np.ndarray, x0: np.ndarray, x1: np.ndarray, y0: np.ndarray, y1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate pixel centres ``(triangle, x, y)``: whole boxes of small triangles, row spans of big ones."""
    bw = x1 - x0 + 1
    n_px = bw * (y1 - y0 + 1)
    small = np.flatnonzero(n_px <= 48).astype(np.int32)
    n_s = n_px[small]
    tt = np.repeat(small, n_s)
    k = np.arange(len(tt), dtype=np.int32) - np.repeat((np.cumsum(n_s) - n_s).astype(np.int32), n_s)
    dy, dx = np.divmod(k, bw[tt])
    big = np.flatnonzero(n_px > 48).astype(np.int32)
    n_rows = (y1 - y0 + 1)[big]
    row_tri = np.repeat(big, n_rows)
    ys = y0[row_tri] + (np.arange(len(row_tri)) - np.repeat(np.cumsum(n_rows) - n_rows, n_rows))
    lo, hi = _spans(p[row_tri], ys.astype(np.float64))
    xl = np.maximum(np.ceil(lo - 1e-6), x0[row_tri]).astype(np.int32)
    n_b = np.maximum(np.minimum(np.floor(hi + 1e-6), x1[row_tri]).astype(np.int32) - xl + 1, 0)
    tb = np.repeat(row_tri, n_b)
    xb = np.repeat(xl, n_b) + (np.arange(len(tb), dtype=np.int32) - np.repeat(np.cumsum(n_b) - n_b, n_b))
    return (
        np.concatenate([tt, tb]),
        np.concatenate([x0[tt] + dx, xb]),
        np.concatenate([y0[tt] + dy, np.repeat(ys, n_b)]),
    )


def rasterize(xy: np.ndarray, z: np.ndarray, tris: np.ndarray, width: int, height: int) -> Raster:
    """Rasterises triangles at pixel centres with a z-buffer (nearest surface wins).

    Triangles of either winding are drawn (cull back faces before calling); degenerate
    triangles and those covering no pixel centre are skipped.

    Args:
        xy: ``(N, 2)`` vertex image px.
        z: ``(N,)`` vertex camera depth (> 0).
        tris: ``(T, 3)`` int vertex indices.
        width: image width W.
        height: image height H.

    Returns:
        :class:`Raster` with ``(H, W)`` maps.
    """
    tri_map = np.full(height * width, -1, dtype=np.int32)
    bary_map = np.zeros((height * width, 3), dtype=np.float32)
    depth_map = np.full(height * width, np.inf, dtype=np.float64)
    tris = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    xs, ys, zs = (xy[:, 0][tris.T], xy[:, 1][tris.T], z[tris.T])  # each (3, T)
    area = (xs[1] - xs[0]) * (ys[2] - ys[0]) - (ys[1] - ys[0]) * (xs[2] - xs[0])
    x0 = np.maximum(np.ceil(np.minimum(np.minimum(xs[0], xs[1]), xs[2])), 0).astype(np.int32)
    x1 = np.minimum(np.floor(np.maximum(np.maximum(xs[0], xs[1]), xs[2])), width - 1).astype(np.int32)
    y0 = np.maximum(np.ceil(np.minimum(np.minimum(ys[0], ys[1]), ys[2])), 0).astype(np.int32)
    y1 = np.minimum(np.floor(np.maximum(np.maximum(ys[0], ys[1]), ys[2])), height - 1).astype(np.int32)
    keep = (np.abs(area) > 1e-12) & (x1 >= x0) & (y1 >= y0) & (zs > 0).all(0)
    ids = np.flatnonzero(keep)
    xs, ys, zs, area = xs[:, ids], ys[:, ids], zs[:, ids], area[ids]
    x0, x1, y0, y1 = x0[ids], x1[ids], y0[ids], y1[ids]
    # Per triangle: q_i(x, y) = w_i / z_i is affine in (x, y) (w_i the screen barycentrics), so the
    # candidates need 9 coefficients; 1 / sum(q) is the depth, q / sum(q) the perspective barycentrics.
    coef = np.empty((len(ids), 9), dtype=np.float32)  # columns: (a, b, c) of q_0, then q_1, q_2
    for i, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
        dx, dy = xs[b] - xs[a], ys[b] - ys[a]
        scale = 1.0 / (area * zs[i])
        coef[:, 3 * i], coef[:, 3 * i + 1] = -dy * scale, dx * scale
        coef[:, 3 * i + 2] = (dy * xs[a] - dx * ys[a]) * scale
    p = np.stack([xs.T, ys.T], -1)  # (T, 3, 2), for the row spans of big triangles
    tt, cx, cy = _candidates(p, x0, x1, y0, y1)
    c = coef[tt]
    fx, fy = cx.astype(np.float32), cy.astype(np.float32)
    q = [c[:, 3 * i] * fx + c[:, 3 * i + 1] * fy + c[:, 3 * i + 2] for i in range(3)]
    good = np.flatnonzero((q[0] >= 0) & (q[1] >= 0) & (q[2] >= 0))
    q = [qi[good] for qi in q]
    s = q[0] + q[1] + q[2]
    pix = cy[good].astype(np.int64) * width + cx[good]
    zc = 1.0 / s.astype(np.float64)
    np.minimum.at(depth_map, pix, zc)
    win = np.flatnonzero(zc <= depth_map[pix])
    pw = pix[win]
    tri_map[pw] = ids[tt[good[win]]]
    inv = 1.0 / s[win]
    bary_map[pw, 0], bary_map[pw, 1], bary_map[pw, 2] = q[0][win] * inv, q[1][win] * inv, q[2][win] * inv
    return Raster(
        tri_map.reshape(height, width),
        bary_map.reshape(height, width, 3),
        depth_map.astype(np.float32).reshape(height, width),
    )
