"""Triangle mesh of the synthetic head: chart grid, identity basis, expression rig, ears, neck.

Built once per process (:func:`face_template`, cached) from the analytic surface of
:mod:`.face_surface`, in the spirit of a 3-D morphable model (Blanz and Vetter, SIGGRAPH 1999):
``vertices = mean + sum_i alpha_i * basis_i`` with one basis vector per identity parameter
(central finite differences of the analytic surface, scaled to one standard deviation), plus
two expression blendshapes (``smile``, ``brows``) and a jaw rotation applied by linear blend
skinning with per-vertex weights.

Pieces (``Template.group``): the head grid over the ``(u, v)`` chart (symmetric diagonals,
so the mesh is exactly mirror-symmetric); a duplicated grid row on the line where the lips meet,
which tears open with the jaw; *gap* quads filling that tear (the mouth interior); two ears
(two-sided); a neck skinned between the head and the torso; shoulders in the torso frame.
Texture coordinates ``tex`` are in atlas degrees: the head at ``(u + 180, 90 - v)``, other
materials in a strip below (:data:`STRIP`). Landmarks attach to the grid by barycentric
weights (:func:`attach`), so they ride on the rendered surface through every deformation.

(Over 300 lines: one mesh builder; the chart grid, identity and expression rigs and the parts share its index tables.)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import sparse

from landmarks.data.synthetic.face.parts import NECK_Y, TORSO_Y, ear_points, ear_tris, tube_points, tube_tris
from landmarks.data.synthetic.face.surface import IDENTITY, MOUTH_CORNER_U, MOUTH_V, head_points, smoothstep

__all__ = ["HEAD", "GAP", "EAR", "NECK", "TORSO", "STRIP", "Template", "attach", "face_template", "vertex_normals"]

HEAD, GAP, EAR, NECK, TORSO = 0, 1, 2, 3, 4
#: Atlas strip (atlas degrees, rows 180..200): material -> (x0, x1) columns.
STRIP = {
    "mouth": (0.0, 40.0),
    "ear": (40.0, 80.0),
    "neck": (80.0, 120.0),
    "shirt": (120.0, 160.0),
    "glasses": (160.0, 180.0),
    "lens": (180.0, 200.0),
}
STRIP_ROWS = (180.0, 200.0)
JAW_HINGE = np.array([0.0, -1.5, -0.8])  # cm, the jaw's rotation axis passes here along x
NECK_PIVOT = np.array([0.0, -8.0, -2.5])  # cm, where the head turns on the neck


def _columns(step: float) -> np.ndarray:
    """Grid longitudes: ``step`` deg over the face, ``step + 1`` to behind the ears, coarser behind."""
    side = np.concatenate([np.arange(36.0 + step + 1.0, 97.0, step + 1.0), [108.0, 122.0, 136.0, 150.0, 165.0, 180.0]])
    return np.concatenate([-side[::-1], np.arange(-36.0, 36.0 + 0.5 * step, step), side])


def _rows(step: float) -> tuple[np.ndarray, int]:
    """Grid elevations (``step`` deg from the chin to the forehead) with the lip row duplicated."""
    start = MOUTH_V - step * np.floor((MOUTH_V + 72.0) / step)
    dense = np.arange(start, 27.0, step)
    rows = np.concatenate(
        [
            [-90.0, -84.0, -78.0],
            [-74.0] if start > -73.0 else [],
            dense,
            [31.0, 37.0, 43.0, 50.0, 58.0, 67.0, 78.0, 90.0],
        ]
    )
    k = int(np.flatnonzero(np.isclose(rows, MOUTH_V))[0])
    return np.insert(rows, k + 1, MOUTH_V), k  # rows k (lower lip side) and k + 1 (upper lip side)


@dataclass(frozen=True)
class Template:
    """The head model (all arrays float64 unless stated).

    Attributes:
        mean: ``(V, 3)`` neutral vertices, model frame, cm.
        basis: ``(P, V, 3)`` identity basis, one standard deviation per parameter of IDENTITY.
        smile: ``(V, 3)`` blendshape, cm per unit.
        brows: ``(V, 3)`` blendshape, cm per unit.
        jaw: ``(V,)`` jaw skinning weight in [0, 1].
        rig: ``(V,)`` head weight in [0, 1] (0 = the torso frame).
        tex: ``(V, 2)`` atlas coordinates, degrees.
        tint: ``(V,)`` albedo multiplier (darker ear bowls).
        group: ``(V,)`` int piece code (HEAD, GAP, EAR, NECK, TORSO).
        radial: ``(V, 3)`` unit outward direction (hair thickness grows along it; 0 off the head).
        chart: ``(V, 2)`` ``(u, v)`` degrees of head vertices (nan elsewhere).
        tris: ``(T, 3)`` int triangles, outward winding.
        two_sided: ``(T,)`` bool, never culled (ears).
        cols: ``(C,)`` grid longitudes; rows: ``(R,)`` grid elevations (one duplicate: the lips).
        seam: index of the lower-lip copy of the duplicated row.
        incidence: ``(V, T)`` sparse vertex-triangle incidence for vertex normals.
    """

    mean: np.ndarray
    basis: np.ndarray
    smile: np.ndarray
    brows: np.ndarray
    jaw: np.ndarray
    rig: np.ndarray
    tex: np.ndarray
    tint: np.ndarray
    group: np.ndarray
    radial: np.ndarray
    chart: np.ndarray
    tris: np.ndarray
    two_sided: np.ndarray
    cols: np.ndarray
    rows: np.ndarray
    seam: int
    incidence: sparse.csr_matrix


def _grid_tris(n_rows: int, cols: np.ndarray, offset: int = 0, skip_row: int = -1) -> np.ndarray:
    """Two triangles per grid cell, cells of row ``skip_row`` left out (the lip tear)."""
    n = len(cols)
    i, j = np.meshgrid(np.arange(n_rows - 1), np.arange(n - 1), indexing="ij")
    i, j = i.ravel(), j.ravel()
    i, j = i[i != skip_row], j[i != skip_row]
    a, b, c, d = i * n + j, i * n + j + 1, (i + 1) * n + j, (i + 1) * n + j + 1
    left = 0.5 * (cols[j] + cols[j + 1]) < 0
    t1 = np.where(left[:, None], np.stack([a, d, b], 1), np.stack([a, c, b], 1))
    t2 = np.where(left[:, None], np.stack([a, c, d], 1), np.stack([b, c, d], 1))
    return np.concatenate([t1, t2]) + offset


def _points(q: dict[str, float], step: float) -> np.ndarray:
    """Every vertex of the template for identity ``q`` (no expression)."""
    cols, (rows, _) = _columns(step), _rows(step)
    vv, uu = np.meshgrid(rows, cols, indexing="ij")
    head = head_points(uu.ravel(), vv.ravel(), q)
    gap = head.reshape(len(rows), len(cols), 3)[_gap_rows(step)][:, _gap_cols(step)].reshape(-1, 3)
    ears = [ear_points(q, s)[0] for s in (-1.0, 1.0)]
    neck = tube_points(NECK_Y, -1.6 + 0.08 * (NECK_Y + 3.0), np.full(7, 5.0), np.full(7, 5.4), 32)
    torso_w = np.array([5.0, 9.0, 14.0, 17.5, 19.0, 19.5, 19.5])
    torso = tube_points(TORSO_Y, np.full(7, -3.5), torso_w, 0.55 * torso_w + 2.5)
    return np.concatenate([head, gap, *ears, neck, torso])


def _gap_rows(step: float) -> list[int]:
    """The two grid rows on the lip line (lower-lip copy, upper-lip copy)."""
    k = _rows(step)[1]
    return [k, k + 1]


def _gap_cols(step: float) -> np.ndarray:
    """Grid columns spanned by the mouth opening."""
    return np.flatnonzero(np.abs(_columns(step)) <= MOUTH_CORNER_U + step)


def _jaw_weights(u: np.ndarray, v: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """Jaw skinning weight: 1 below the lips, 0 above, with a tear between the lips."""
    tear = np.sqrt(np.clip(1.0 - (u / MOUTH_CORNER_U) ** 2, 0.0, 1.0))
    above = (1.0 - tear) * 0.5 * smoothstep(MOUTH_V + 12.0, MOUTH_V, v)
    below = 1.0 - (1.0 - tear) * 0.5 * smoothstep(MOUTH_V - 12.0, MOUTH_V, v)
    w = np.where(lower | (v < MOUTH_V), below, above)
    return w * smoothstep(100.0, 70.0, np.abs(u)) * smoothstep(-92.0, -74.0, v) ** 0.5


@lru_cache(maxsize=4)
def face_template(step: float = 3.0) -> Template:
    """Builds (once per ``step``) and returns the head template.

    Args:
        step: grid spacing over the face in degrees (3 for large images; 4 is enough below
            about 200 px and rasterises faster).
    """
    cols, (rows, seam) = _columns(step), _rows(step)
    n_c, n_r = len(cols), len(rows)
    vv, uu = np.meshgrid(rows, cols, indexing="ij")
    u, v = uu.ravel(), vv.ravel()
    lower = np.zeros((n_r, n_c), bool)
    lower[: seam + 1] = True
    lower = lower.ravel()
    gc = _gap_cols(step)
    n_head, n_gap, n_ear = n_r * n_c, 2 * len(gc), 91
    n_neck, n_torso = 7 * 32, 7 * 20
    mean = _points({}, step)
    basis = []
    for name, (m, sd) in IDENTITY.items():
        h = 0.5 * sd
        basis.append((_points({name: m + h}, step) - _points({name: m - h}, step)) / (2 * h) * sd)
    group = np.concatenate(
        [
            np.full(n_head, HEAD),
            np.full(n_gap, GAP),
            np.full(2 * n_ear, EAR),
            np.full(n_neck, NECK),
            np.full(n_torso, TORSO),
        ]
    )
    gap_uv = np.stack([np.tile(u.reshape(n_r, n_c)[0, gc], 2), np.repeat([MOUTH_V, MOUTH_V], len(gc))], 1)
    gap_lower = np.repeat([True, False], len(gc))
    u_all = np.concatenate([u, gap_uv[:, 0]])
    v_all = np.concatenate([v, gap_uv[:, 1]])
    jaw = np.zeros(len(mean))
    jaw[: n_head + n_gap] = _jaw_weights(u_all, v_all, np.concatenate([lower, gap_lower]))
    # Expression blendshapes (cm per unit), smooth fields over the chart.
    smile = np.zeros_like(mean)
    side = np.sign(u_all)
    corner = np.exp(-(((np.abs(u_all) - MOUTH_CORNER_U) / 8.0) ** 2) - ((v_all - MOUTH_V) / 7.0) ** 2)
    cheek = np.exp(-(((np.abs(u_all) - 30.0) / 10.0) ** 2) - ((v_all + 24.0) / 9.0) ** 2)
    smile[: n_head + n_gap] = corner[:, None] * np.stack([0.35 * side, 0.55 + 0 * side, -0.3 + 0 * side], 1) + cheek[
        :, None
    ] * np.array([0.0, 0.3, 0.2])
    brows = np.zeros_like(mean)
    lift = np.exp(-(((v_all - 15.0) / 9.0) ** 2)) * smoothstep(55.0, 35.0, np.abs(u_all)) * (v_all > 3.0)
    brows[: n_head + n_gap] = lift[:, None] * np.array([0.0, 0.6, 0.0])
    rig = np.ones(len(mean))
    neck_y = np.repeat(NECK_Y, 32)
    rig[n_head + n_gap + 2 * n_ear : n_head + n_gap + 2 * n_ear + n_neck] = smoothstep(-17.0, -6.0, neck_y)
    rig[-n_torso:] = 0.0
    tex = np.zeros((len(mean), 2))
    tex[:n_head] = np.stack([u + 180.0, 90.0 - v], 1)
    m0, m1 = STRIP["mouth"]
    across = (gap_uv[:, 0] + MOUTH_CORNER_U + step) / (2 * MOUTH_CORNER_U + 2 * step)  # 0..1 corner to corner
    tex[n_head : n_head + n_gap] = np.stack([m0 + across * (m1 - m0), np.where(gap_lower, 199.0, 181.0)], 1)
    o = n_head + n_gap
    tint = np.ones(len(mean))
    for k, s in enumerate((-1.0, 1.0)):
        pts, tn = ear_points({}, s)
        tex[o + k * n_ear : o + (k + 1) * n_ear] = [np.mean(STRIP["ear"]), 190.0]
        tint[o + k * n_ear : o + (k + 1) * n_ear] = tn
    o += 2 * n_ear
    tex[o : o + n_neck] = [np.mean(STRIP["neck"]), 190.0]
    tex[o + n_neck :] = [np.mean(STRIP["shirt"]), 190.0]
    head_tris = _grid_tris(n_r, cols, skip_row=seam)
    gap_tris = _grid_tris(2, cols[gc], n_head)
    ears = [ear_tris(n_head + n_gap + k * n_ear) for k in range(2)]
    neck_tris = tube_tris(7, 32, n_head + n_gap + 2 * n_ear)
    torso_tris = tube_tris(7, 20, n_head + n_gap + 2 * n_ear + n_neck)
    # Orient each closed piece outward (its normals against the piece's centroid); the gap
    # quads are built like the head grid and take its orientation.
    fixed = []
    for t in (head_tris, neck_tris, torso_tris):
        e = np.cross(mean[t[:, 1]] - mean[t[:, 0]], mean[t[:, 2]] - mean[t[:, 0]])
        c = mean[t].mean(1) - mean[np.unique(t)].mean(0)
        fixed.append(np.sum(np.einsum("ij,ij->i", e, c)) >= 0)
    flip = lambda t, ok: t if ok else t[:, ::-1]  # noqa: E731
    tris = np.concatenate(
        [
            flip(head_tris, fixed[0]),
            flip(gap_tris, fixed[0]),
            *ears,
            flip(neck_tris, fixed[1]),
            flip(torso_tris, fixed[2]),
        ]
    )
    two_sided = np.zeros(len(tris), bool)
    start = len(head_tris) + len(gap_tris)
    two_sided[start : start + sum(len(t) for t in ears)] = True
    radial = np.zeros_like(mean)
    ur, vr = np.radians(u), np.radians(v)
    radial[:n_head] = np.stack([np.cos(vr) * np.sin(ur), np.sin(vr), np.cos(vr) * np.cos(ur)], 1)
    chart = np.full((len(mean), 2), np.nan)
    chart[:n_head] = np.stack([u, v], 1)
    inc = sparse.csr_matrix(
        (np.ones(3 * len(tris)), (tris.ravel(), np.repeat(np.arange(len(tris)), 3))), shape=(len(mean), len(tris))
    )
    return Template(
        mean,
        np.stack(basis),
        smile,
        brows,
        jaw,
        rig,
        tex,
        tint,
        group,
        radial,
        chart,
        tris,
        two_sided,
        cols,
        rows,
        seam,
        inc,
    )


def vertex_normals(tpl: Template, verts: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(V, 3)`` of posed vertices ``(V, 3)`` (outward)."""
    t = tpl.tris
    fn = np.cross(verts[t[:, 1]] - verts[t[:, 0]], verts[t[:, 2]] - verts[t[:, 0]])
    n = tpl.incidence @ fn
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def attach(tpl: Template, uv: np.ndarray, upper: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric attachment of chart points to the head grid.

    Args:
        tpl: the template.
        uv: ``(K, 2)`` chart points ``(u, v)`` in degrees.
        upper: ``(K,)`` bool, for points exactly on the lip line: True takes the upper-lip copy
            of the duplicated row (default: all False, the lower copy).

    Returns:
        ``(idx (K, 3) int, weights (K, 3))``: point = ``sum_j weights[:, j] * verts[idx[:, j]]``,
        the same triangles the mesh renders.
    """
    cols, rows, n_c = tpl.cols, tpl.rows, len(tpl.cols)
    u = np.clip(uv[:, 0], cols[0], cols[-1] - 1e-9)
    v = np.clip(uv[:, 1], rows[0], rows[-1] - 1e-9)
    j = np.clip(np.searchsorted(cols, u, side="right") - 1, 0, n_c - 2)
    up = np.zeros(len(uv), bool) if upper is None else np.asarray(upper, bool)
    on_seam = np.isclose(v, rows[tpl.seam]) & up
    i = np.clip(np.searchsorted(rows, v, side="right") - 1, 0, len(rows) - 2)
    i = np.where(np.isclose(v, rows[tpl.seam]) & ~up, tpl.seam - 1, i)
    i = np.where(on_seam, tpl.seam + 1, i)
    fu = (u - cols[j]) / (cols[j + 1] - cols[j])
    dv = rows[i + 1] - rows[i]
    fv = np.where(dv > 0, (v - rows[i]) / np.where(dv > 0, dv, 1.0), 0.0)
    fv = np.where(np.isclose(v, rows[tpl.seam]) & ~up, 1.0, fv)
    a, b, c, d = i * n_c + j, i * n_c + j + 1, (i + 1) * n_c + j, (i + 1) * n_c + j + 1
    left = 0.5 * (cols[j] + cols[j + 1]) < 0
    # Left cells split along a-d, right cells along b-c (as in _grid_tris).
    l_upper = fv >= fu  # above the a-d diagonal: triangle a, c, d
    r_low = fu + fv <= 1.0  # below the b-c diagonal: triangle a, b, c
    idx = np.where(
        left[:, None],
        np.where(l_upper[:, None], np.stack([a, c, d], 1), np.stack([a, b, d], 1)),
        np.where(r_low[:, None], np.stack([a, b, c], 1), np.stack([b, c, d], 1)),
    )
    w = np.where(
        left[:, None],
        np.where(l_upper[:, None], np.stack([1 - fv, fv - fu, fu], 1), np.stack([1 - fu, fu - fv, fv], 1)),
        np.where(r_low[:, None], np.stack([1 - fu - fv, fu, fv], 1), np.stack([1 - fv, 1 - fu, fu + fv - 1], 1)),
    )
    return idx.astype(np.int64), w
