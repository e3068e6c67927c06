"""Tests for the iBUG-68 and WFLW-98 face layouts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from landmarks.layouts.face import UNIFORM_FACE_SIGMA, ibug68, wflw98
from landmarks.layouts.spec import KeypointSpec

LAYOUTS = {"ibug68": (ibug68, 68), "wflw98": (wflw98, 98)}

# Midline landmarks (their own mirror image) and a few pairs, read off the published markups.
MIDLINE = {
    "ibug68": {8, 27, 28, 29, 30, 33, 51, 57, 62, 66},
    "wflw98": {16, 51, 52, 53, 54, 57, 79, 85, 90, 94},
}
SPOT_PAIRS = {
    "ibug68": [
        (0, 16),
        (7, 9),
        (17, 26),
        (21, 22),
        (31, 35),
        (36, 45),
        (39, 42),
        (40, 47),
        (41, 46),
        (48, 54),
        (50, 52),
        (55, 59),
        (60, 64),
        (65, 67),
    ],
    "wflw98": [
        (0, 32),
        (15, 17),
        (33, 46),
        (37, 42),
        (38, 50),
        (41, 47),
        (55, 59),
        (60, 72),
        (64, 68),
        (65, 75),
        (67, 73),
        (76, 82),
        (83, 87),
        (88, 92),
        (93, 95),
        (96, 97),
    ],
}


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request: pytest.FixtureRequest) -> tuple[str, KeypointSpec]:
    factory, k = LAYOUTS[request.param]
    spec = factory()
    assert spec.num_keypoints == k
    return request.param, spec


def test_flip_pairs_are_an_involution_in_range(layout: tuple[str, KeypointSpec]) -> None:
    name, spec = layout
    k = spec.num_keypoints
    flat = [int(i) for pair in spec.flip_pairs for i in pair]
    assert all(0 <= i < k for i in flat) and len(flat) == len(set(flat))  # in range, each index once
    fi = spec.flip_indices
    np.testing.assert_array_equal(fi[fi], np.arange(k))
    assert {i for i in range(k) if fi[i] == i} == MIDLINE[name]
    for i, j in SPOT_PAIRS[name]:
        assert fi[i] == j and fi[j] == i


def test_names_cover_both_sides(layout: tuple[str, KeypointSpec]) -> None:
    _, spec = layout
    names, fi = list(spec.names), spec.flip_indices
    assert len(set(names)) == len(names)
    right = [i for i, n in enumerate(names) if n.startswith("right_")]
    left = [i for i, n in enumerate(names) if n.startswith("left_")]
    assert len(right) == len(left) > 0
    for i in right:  # a right_* landmark mirrors to the left_* one of the same part
        assert names[fi[i]].startswith("left_") and names[fi[i]].split("_")[1] == names[i].split("_")[1]
    for i, n in enumerate(names):
        if not n.startswith(("left_", "right_")) and fi[i] != i:  # jaw, nostrils, lips: same contour
            assert names[fi[i]].rsplit("_", 1)[0] == n.rsplit("_", 1)[0]


def test_skeleton_sigmas_and_norm_pair(layout: tuple[str, KeypointSpec]) -> None:
    name, spec = layout
    k = spec.num_keypoints
    assert spec.sigma_array.shape == (k,) and np.all(spec.sigma_array == UNIFORM_FACE_SIGMA)
    assert tuple(spec.norm_pair) == {"ibug68": (36, 45), "wflw98": (60, 72)}[name]
    edges = {tuple(e) for e in spec.skeleton}
    closing_edge = {"ibug68": (41, 36), "wflw98": (67, 60)}[name]  # the right eye is a closed contour
    assert (0, 1) in edges and closing_edge in edges
    # The skeleton is symmetric: mirroring every edge gives the same edge set.
    fi = spec.flip_indices
    assert {tuple(sorted((fi[a], fi[b]))) for a, b in edges} == {tuple(sorted(e)) for e in edges}


def _procrustes_residual(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance after the best similarity transform of ``a`` onto ``b`` (a proper rotation, no reflection)."""
    a, b = a - a.mean(0), b - b.mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    if np.linalg.det(u @ vt) < 0:
        u[:, -1] *= -1
        s[-1] *= -1
    rot = u @ vt
    scale = s.sum() / (a**2).sum()
    return float(np.linalg.norm(scale * a @ rot - b, axis=1).mean())


@pytest.mark.parametrize("rel, factory", [("300w/test_300w.json", ibug68), ("wflw/test_wflw.json", wflw98)])
def test_mirror_on_real_faces(realdata: Path, rel: str, factory) -> None:  # noqa: ANN001
    spec = factory()
    for ann in json.loads((realdata / rel).read_text())["annotations"]:
        pts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)[:, :2]
        io = np.linalg.norm(pts[spec.norm_pair[0]] - pts[spec.norm_pair[1]])
        # The subject's right eye is on the image's left in these near-frontal faces.
        eye_x = {
            side: pts[[i for i, n in enumerate(spec.names) if n.startswith(f"{side}_eye")], 0].mean()
            for side in ("left", "right")
        }
        assert eye_x["right"] < eye_x["left"]
        # A mirrored face, re-indexed with the flip pairs, fits the original face (faces are nearly symmetric);
        # without re-indexing it does not.
        mirrored = pts * [-1.0, 1.0]
        good = _procrustes_residual(mirrored[spec.flip_indices], pts) / io
        bad = _procrustes_residual(mirrored, pts) / io
        assert good < 0.12 and good < 0.25 * bad
