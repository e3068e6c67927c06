"""Face landmark layouts as :class:`landmarks.layouts.spec.KeypointSpec`: iBUG 68, WFLW 98, COFW 29, AFLW 19.

* :func:`ibug68` — the 68-point markup of 300W / iBUG (Sagonas et al., "300 Faces
  In-the-Wild Challenge", IVC 2016), also used by 300W-LP, AFLW2000-3D and COFW-68.
* :func:`wflw98` — the 98-point markup of WFLW (Wu et al., "Look at Boundary: A
  Boundary-Aware Face Alignment Algorithm", CVPR 2018).
* :func:`cofw29` — the 29-point LFPW markup of COFW (Burgos-Artizzu et al., "Robust Face
  Landmark Estimation under Occlusion", ICCV 2013).
* :func:`aflw19` — the 19 points of AFLW (Koestinger et al., ICCV-W 2011) without the two
  ears, as re-annotated by Zhu et al. ("Unconstrained Face Alignment via Cascaded
  Compositional Learning", CVPR 2016) and used by HRNet / mmpose.

Sides are the **subject's**: ``right_eye`` is the eye on the image's left in a frontal
face (as in the iBUG and WFLW markups, where the first contour points are on the image's
left). Names drive :mod:`landmarks.viz` colours through the ``left_`` / ``right_`` prefix.

Flip pairs are derived from the contour structure (each contour runs across the face, so
mirroring reverses it): a contour of ``n`` points starting at ``a`` maps its point ``j`` to
``b + (s - j) mod n`` of the mirror contour starting at ``b``. Skeletons join consecutive
points of every contour (closed for eyes, brows of WFLW and lips). ``norm_pair`` is the
inter-ocular pair (outer eye corners) used by :mod:`landmarks.metrics.face`.

Sigmas: none of these datasets defines OKS constants, so every landmark gets a uniform 0.025
(about the COCO eye sigma) for code paths that need one; do not report OKS with them.
COFW-29 and AFLW-19 are not contour-ordered, so their names and pairs are written out; the
pairs were checked on the real samples in ``../shared/realdata`` (mirror partners lie on
opposite sides of the face at the same height). To add a layout, write one more function
with the same pieces.
"""

from __future__ import annotations

from collections.abc import Sequence

from landmarks.layouts.spec import KeypointSpec

__all__ = ["UNIFORM_FACE_SIGMA", "aflw19", "cofw29", "ibug68", "wflw98"]

UNIFORM_FACE_SIGMA = 0.025
"""Placeholder OKS sigma: face datasets publish none."""

Contour = tuple[str, int, int, bool]
"""``(name, start index, length, closed)``."""


def _names(contours: tuple[Contour, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for name, start, n, _ in contours:
        if start != len(names):
            raise AssertionError(f"contour {name} starts at {start}, expected {len(names)}")
        names.extend([name] if n == 1 else [f"{name}_{j}" for j in range(n)])
    return tuple(names)


def _mirror(a: int, b: int, n: int, s: int) -> list[tuple[int, int]]:
    """Pairs ``(a + j, b + (s - j) mod n)``; self-pairs dropped, each pair once."""
    pairs = {tuple(sorted((a + j, b + (s - j) % n))) for j in range(n)}
    return sorted(p for p in pairs if p[0] != p[1])  # type: ignore[misc]


def _skeleton(contours: tuple[Contour, ...]) -> tuple[tuple[int, int], ...]:
    edges: list[tuple[int, int]] = []
    for _, start, n, closed in contours:
        edges.extend((start + j, start + j + 1) for j in range(n - 1))
        if closed and n > 2:
            edges.append((start + n - 1, start))
    return tuple(edges)


def _face_spec(
    name: str,
    names: tuple[str, ...],
    flip_pairs: Sequence[tuple[int, int]],
    skeleton: Sequence[tuple[int, int]],
    norm_pair: tuple[int, int],
) -> KeypointSpec:
    """A face layout; every landmark gets the OKS sigma :data:`UNIFORM_FACE_SIGMA`."""
    return KeypointSpec(
        name=name,
        names=names,
        flip_pairs=tuple(flip_pairs),
        skeleton=tuple(skeleton),
        sigmas=(UNIFORM_FACE_SIGMA,) * len(names),
        norm_pair=norm_pair,
    )


_IBUG68: tuple[Contour, ...] = (
    ("jaw", 0, 17, False),
    ("right_brow", 17, 5, False),
    ("left_brow", 22, 5, False),
    ("nose_bridge", 27, 4, False),
    ("nose_base", 31, 5, False),
    ("right_eye", 36, 6, True),  # 36 outer corner, 37-38 upper lid, 39 inner corner, 40-41 lower lid
    ("left_eye", 42, 6, True),  # 42 inner corner, 43-44 upper lid, 45 outer corner, 46-47 lower lid
    ("outer_lip", 48, 12, True),  # 48 right corner, 51 top, 54 left corner, 57 bottom
    ("inner_lip", 60, 8, True),  # 60 right corner, 62 top, 64 left corner, 66 bottom
)

_WFLW98: tuple[Contour, ...] = (
    ("jaw", 0, 33, False),
    ("right_brow", 33, 9, True),  # 33-37 upper edge outer -> inner, 38-41 lower edge inner -> outer
    ("left_brow", 42, 9, True),  # 42-46 upper edge inner -> outer, 47-50 lower edge outer -> inner
    ("nose_bridge", 51, 4, False),
    ("nose_base", 55, 5, False),
    ("right_eye", 60, 8, True),  # 60 outer corner, 62 top, 64 inner corner, 66 bottom
    ("left_eye", 68, 8, True),  # 68 inner corner, 70 top, 72 outer corner, 74 bottom
    ("outer_lip", 76, 12, True),  # 76 right corner, 79 top, 82 left corner, 85 bottom
    ("inner_lip", 88, 8, True),  # 88 right corner, 90 top, 92 left corner, 94 bottom
    ("right_pupil", 96, 1, False),
    ("left_pupil", 97, 1, False),
)


def ibug68() -> KeypointSpec:
    """The 68 iBUG / 300W landmarks: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, lips 48-67."""
    flip_pairs = (
        _mirror(0, 0, 17, 16)  # jaw: j <-> 16 - j
        + _mirror(17, 22, 5, 4)  # brows: 17 <-> 26 ... 21 <-> 22
        + _mirror(31, 31, 5, 4)  # nostrils: 31 <-> 35, 32 <-> 34
        + _mirror(36, 42, 6, 3)  # eyes: 36 <-> 45, 39 <-> 42, 40 <-> 47, 41 <-> 46
        + _mirror(48, 48, 12, 6)  # outer lip: 48 <-> 54, 55 <-> 59
        + _mirror(60, 60, 8, 4)  # inner lip: 60 <-> 64, 65 <-> 67
    )
    return _face_spec("ibug68", _names(_IBUG68), flip_pairs, _skeleton(_IBUG68), (36, 45))


def wflw98() -> KeypointSpec:
    """The 98 WFLW landmarks: jaw 0-32, brows 33-50, nose 51-59, eyes 60-75, lips 76-95, pupils 96-97."""
    flip_pairs = (
        _mirror(0, 0, 33, 32)  # jaw: j <-> 32 - j
        + _mirror(33, 42, 9, 4)  # brows: 33 <-> 46, 37 <-> 42, 38 <-> 50, 41 <-> 47
        + _mirror(55, 55, 5, 4)  # nostrils: 55 <-> 59, 56 <-> 58
        + _mirror(60, 68, 8, 4)  # eyes: 60 <-> 72, 64 <-> 68, 65 <-> 75
        + _mirror(76, 76, 12, 6)  # outer lip: 76 <-> 82, 83 <-> 87
        + _mirror(88, 88, 8, 4)  # inner lip: 88 <-> 92, 93 <-> 95
        + [(96, 97)]  # pupils
    )
    return _face_spec("wflw98", _names(_WFLW98), flip_pairs, _skeleton(_WFLW98), (60, 72))


_COFW29 = (
    "right_brow_outer",
    "left_brow_outer",
    "right_brow_inner",
    "left_brow_inner",  # 0-3
    "right_brow_top",
    "right_brow_bottom",
    "left_brow_top",
    "left_brow_bottom",  # 4-7 brow mid-points
    "right_eye_outer",
    "left_eye_outer",
    "right_eye_inner",
    "left_eye_inner",  # 8-11 eye corners
    "right_eye_top",
    "right_eye_bottom",
    "left_eye_top",
    "left_eye_bottom",  # 12-15 lids
    "right_pupil",
    "left_pupil",  # 16-17
    "right_nose_wing",
    "left_nose_wing",
    "nose_tip",
    "nose_base",  # 18-21
    "right_mouth_corner",
    "left_mouth_corner",  # 22-23
    "upper_lip_top",
    "upper_lip_bottom",
    "lower_lip_top",
    "lower_lip_bottom",  # 24-27 midline
    "chin",  # 28
)

_AFLW19 = (
    "right_brow_outer",
    "right_brow_middle",
    "right_brow_inner",  # 0-2
    "left_brow_inner",
    "left_brow_middle",
    "left_brow_outer",  # 3-5
    "right_eye_outer",
    "right_eye_center",
    "right_eye_inner",  # 6-8
    "left_eye_inner",
    "left_eye_center",
    "left_eye_outer",  # 9-11
    "right_nose_wing",
    "nose_tip",
    "left_nose_wing",  # 12-14
    "right_mouth_corner",
    "mouth_center",
    "left_mouth_corner",  # 15-17
    "chin",  # 18
)


def _pairs_by_name(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Flip pairs ``(right_X, left_X)`` matched by name."""
    index = {n: i for i, n in enumerate(names)}
    return tuple((i, index["left_" + n[len("right_") :]]) for i, n in enumerate(names) if n.startswith("right_"))


def cofw29() -> KeypointSpec:
    """The 29 COFW landmarks (LFPW markup): brows 0-7, eyes 8-17 (pupils 16, 17), nose 18-21, mouth 22-27, chin 28.

    ``norm_pair`` is the outer eye corners (8, 9), the inter-ocular distance HRNet reports on COFW.
    """
    closed = ((0, 4, 2, 5), (1, 6, 3, 7), (8, 12, 10, 13), (9, 14, 11, 15), (22, 24, 23, 27), (22, 25, 23, 26))
    skeleton = [(c[j], c[(j + 1) % len(c)]) for c in closed for j in range(len(c))]
    skeleton += [(18, 21), (21, 19), (20, 21)]
    return _face_spec("cofw29", _COFW29, _pairs_by_name(_COFW29), skeleton, (8, 9))


def aflw19() -> KeypointSpec:
    """The 19 AFLW landmarks: brows 0-5, eyes 6-11, nose 12-14, mouth 15-17, chin 18.

    ``norm_pair`` is the outer eye corners (6, 11). The AFLW protocol of HRNet / mmpose
    normalises by the face-box size instead (``box_size`` of mmpose's files), not by this pair.
    """
    chains = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11), (12, 13, 14), (15, 16, 17))
    skeleton = [(c[j], c[j + 1]) for c in chains for j in range(len(c) - 1)]
    return _face_spec("aflw19", _AFLW19, _pairs_by_name(_AFLW19), skeleton, (6, 11))
