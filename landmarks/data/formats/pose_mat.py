"""300W-LP and AFLW2000-3D ``.mat`` annotations: head pose (yaw, pitch, roll) and 68 landmarks.

Format reference: the 3DDFA release (Zhu et al., "Face Alignment Across Large Poses: A 3D
Solution", CVPR 2016; http://www.cbsr.ia.ac.cn/users/xiangyuzhu/projects/3DDFA/main.htm).
Each image ``<stem>.jpg`` has a MATLAB file ``<stem>.mat`` beside it holding (among the 3DMM
parameters) ``Pose_Para`` ``1 x 7`` = ``[pitch, yaw, roll, tx, ty, tz, scale]``, angles in
**radians**; ``pt2d`` ``2 x N`` image points (300W-LP: the 68 iBUG points; AFLW2000-3D: the
21 original AFLW points); and, in AFLW2000-3D, ``pt3d_68`` ``3 x 68`` (x, y image px, z depth)
of the fitted 68 landmarks. 300W-LP's ``landmarks/<subset>/<stem>_pts.mat`` holds ``pts_2d``
``68 x 2``, the landmarks warped into each synthesised view.

Conventions chosen (and why):

* **Angles.** ``euler = degrees(yaw, pitch, roll) = degrees(Pose_Para[1], Pose_Para[0],
  Pose_Para[2])``, no sign change: these are the very angles :mod:`landmarks.geometry`
  defines the project's convention by (Hopenet's ``get_ypr_from_mat`` reads them the same
  way). Faces with any ``|angle| > 99`` are kept; the head-pose metric leaves them out and
  counts them (``landmarks.metrics.head_pose.pose_mae``, ``val/mae_excluded``).
* **Landmarks** (``landmarks=``): ``"pt3d_68"`` = x, y of ``pt3d_68`` (the AFLW2000-3D
  evaluation landmarks); ``"pt2d"`` = ``pt2d`` when it has K points; ``"auto"`` = the first
  of those two the file has, else none; ``"none"`` = pose only (``visible`` all 0). Caution:
  in 300W-LP ``pt2d`` is the landmark set of the *original* photograph, repeated unchanged
  for every synthesised view (``_1``, ``_2``, ...), so it is only right for ``_0`` images;
  give ``landmarks_root`` (300W-LP's ``landmarks`` folder) to read the warped ``pts_2d``
  instead (a missing companion file is a bad sample). A point stored as ``(-1, -1)`` (AFLW's
  marker of a missing point) is unlabelled (``visible = 0``); others get 2. A NaN or
  infinite coordinate is a bad sample (file, field and point named), never "unlabelled".
* **1-based -> 0-based.** The files come from 3DDFA's Matlab code; ``one_based=True``
  (default) subtracts 1 from every image coordinate, as the 300W ``.pts`` reader does.
* **Box** (``box_from="pt2d"``, Hopenet-style): the tight box of the labelled ``pt2d``
  points (or of the landmarks when the file has no usable ``pt2d``, or with
  ``box_from="landmarks"``), grown by ``box_margins`` = (left, top, right, bottom) fractions
  of its width/height. The default ``(0.4, 0.4, 0.4, 0.12)`` is Hopenet's AFLW2000 test crop
  (k = 0.2: 2k left, top, right, 0.6k bottom), which takes in the forehead the landmarks
  miss; Hopenet's training crop draws k in [0.2, 0.4) and grows the sides by 0.6k only.
  The crop stage still pads the box (set ``augment.padding: 1.0`` to keep Hopenet's extent).

The ``.mat`` files are read lazily in ``__getitem__`` (300W-LP has 122,450): a bad file
surfaces there, through the same ``on_bad_sample`` policy. A sibling ``.mat`` format copies
:meth:`PoseMatSource._load` and changes the field names.

(Over 300 lines: one reader whose per-field checks of the .mat files share the file, the record and the bad-sample policy.)
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb
from landmarks.data.formats.reader import InstanceReader, box_sample
from landmarks.layouts.face import ibug68
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

__all__ = ["HOPENET_TEST_MARGINS", "PoseMatSource", "read_euler"]

HOPENET_TEST_MARGINS: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.12)
"""(left, top, right, bottom) growth of the ``pt2d`` box, fractions of its size (Hopenet, k = 0.2)."""
LANDMARK_MODES = ("auto", "pt3d_68", "pt2d", "none")
_POSE_LAYOUT = "a 1 x 7 array [pitch, yaw, roll, tx, ty, tz, scale] (angles in radians)"


def read_euler(mat: dict[str, Any], file: str) -> np.ndarray:
    """``(3,)`` float32 yaw, pitch, roll degrees from ``Pose_Para`` (no sign change).

    Raises:
        AnnotationError: ``Pose_Para`` missing, not 7 values, or angles not finite.
    """
    if "Pose_Para" not in mat:
        raise AnnotationError(file, "Pose_Para", _POSE_LAYOUT, "no such field")
    pose = _numeric(mat, file, "Pose_Para", _POSE_LAYOUT).ravel()
    if pose.size != 7:
        raise AnnotationError(
            file, "Pose_Para", _POSE_LAYOUT, f"{pose.size} values, shape {np.shape(mat['Pose_Para'])}"
        )
    if not np.isfinite(pose[:3]).all():
        raise AnnotationError(file, "Pose_Para", "finite pitch, yaw, roll", pose[:3].tolist())
    pitch, yaw, roll = pose[:3]
    return np.degrees([yaw, pitch, roll]).astype(np.float32)


def _points(mat: dict[str, Any], file: str, field: str, rows: int, k: int | None) -> np.ndarray:
    """Field ``field`` as ``(N, 2)`` x, y from a ``rows x N`` array (N = k when given)."""
    expected = f"a {rows} x {k if k is not None else 'N'} array"
    a = _numeric(mat, file, field, expected)
    if a.ndim != 2 or a.shape[0] != rows or (k is not None and a.shape[1] != k):
        raise AnnotationError(file, field, expected, f"shape {a.shape}")
    return a[:2].T.copy()


def _numeric(mat: dict[str, Any], file: str, field: str, expected: str) -> np.ndarray:
    try:
        return np.asarray(mat[field], dtype=np.float64)
    except (TypeError, ValueError):
        raise AnnotationError(file, field, expected, f"a non-numeric {type(mat[field]).__name__}") from None


def _labelled(xy: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: not AFLW's ``(-1, -1)`` missing marker (coordinates already checked finite)."""
    return ~((xy[:, 0] == -1) & (xy[:, 1] == -1))


def _finite(xy: np.ndarray, file: str, field: str) -> np.ndarray:
    """``xy`` ``(N, 2)`` unchanged; raises naming the first point with a NaN or infinite coordinate."""
    bad = np.flatnonzero(~np.isfinite(xy).all(axis=1))
    if bad.size:
        j = int(bad[0])
        raise AnnotationError(
            file,
            field,
            "finite x, y (AFLW marks a missing point (-1, -1))",
            f"point {j} = ({xy[j, 0]}, {xy[j, 1]}) ({bad.size} non-finite points)",
        )
    return xy


class PoseMatSource(InstanceReader):
    """An indexable list of 300W-LP / AFLW2000-3D faces with head pose and 68 landmarks.

    Args:
        root: the dataset folder (``300W_LP`` or ``AFLW2000``).
        patterns: glob patterns of ``.mat`` files relative to ``root`` (e.g. ``["AFW/*.mat",
            "HELEN/*.mat"]`` for 300W-LP, ``["*.mat"]`` for AFLW2000); ignored with ``list_file``.
        list_file: a text file, one ``.mat`` path per line relative to ``root``, with or without
            the extension (Hopenet's filename lists). Blank lines and ``#`` comments are ignored.
        spec: landmark layout; ``ibug68()`` when ``None``.
        landmarks: ``"auto"``, ``"pt3d_68"``, ``"pt2d"`` or ``"none"`` (module docstring).
        landmarks_root: 300W-LP's ``landmarks`` folder; when given, landmarks come from
            ``<landmarks_root>/<sub-folder>/<stem>_pts.mat`` (``pts_2d``) instead.
        box_from: ``"pt2d"`` (Hopenet) or ``"landmarks"``.
        box_margins: ``(left, top, right, bottom)`` growth of the box, fractions of its size.
        one_based: subtract 1 from image coordinates (Matlab origin).
        image_ext: extension of the image beside each ``.mat``.
        on_bad_sample: ``"error"`` or ``"skip"`` (see :class:`BadSamplePolicy`).

    Attributes:
        spec: the landmark layout.
        files: the ``.mat`` file of each instance (a property).
        skipped_counts: ``{"bad_sample": n}`` (a property).

    Raises:
        AnnotationError: a missing root/list file, a missing ``.mat`` or image under
            ``"error"``, or no file at all. Problems inside a ``.mat`` are raised by ``__getitem__``.
        ValueError: an unknown ``landmarks`` or ``box_from`` mode, or four margins not given.
    """

    def __init__(
        self,
        root: str,
        patterns: Sequence[str] = ("*.mat",),
        list_file: str | None = None,
        spec: KeypointSpec | None = None,
        landmarks: str = "auto",
        landmarks_root: str | None = None,
        box_from: str = "pt2d",
        box_margins: Sequence[float] = HOPENET_TEST_MARGINS,
        one_based: bool = True,
        image_ext: str = ".jpg",
        on_bad_sample: str = "error",
    ) -> None:
        self.root = str(root)
        self.list_file = None if list_file is None else str(list_file)
        owner = f"PoseMatSource({self.list_file or self.root})"
        if landmarks not in LANDMARK_MODES:
            raise ValueError(f"{owner}: landmarks must be one of {LANDMARK_MODES}, got {landmarks!r}")
        if box_from not in ("pt2d", "landmarks"):
            raise ValueError(f"{owner}: box_from must be 'pt2d' or 'landmarks', got {box_from!r}")
        if len(box_margins) != 4:
            raise ValueError(f"{owner}: box_margins must be (left, top, right, bottom), got {list(box_margins)}")
        self.spec = spec if spec is not None else ibug68()
        self.landmarks = landmarks
        self.landmarks_root = None if landmarks_root is None else str(landmarks_root)
        self.box_from = box_from
        self.box_margins = tuple(float(m) for m in box_margins)
        self.one_based = bool(one_based)
        self.image_ext = image_ext
        self._policy = BadSamplePolicy(on_bad_sample, owner=owner)
        candidates = self._listed() if self.list_file is not None else self._found(patterns)
        self._instances: list[str] = self._policy.keep(candidates, lambda c: self._check(*c))
        if not self._instances:
            what = self.list_file or f"{self.root} ({', '.join(patterns)})"
            raise self._policy.none_kept(
                what, "mat", "at least one .mat file with its image", f"{len(candidates)} files"
            )

    @property
    def files(self) -> list[str]:
        """The ``.mat`` file of each instance, in instance order."""
        return list(self._instances)

    # ------------------------------------------------------------------ listing
    def _found(self, patterns: Sequence[str]) -> list[tuple[str, int | None]]:
        if not os.path.isdir(self.root):
            raise AnnotationError(self.root, "root", "an existing folder of .mat files and images", "no such folder")
        files = {f for p in patterns for f in glob.glob(os.path.join(glob.escape(self.root), p), recursive=True)}
        return [(f, None) for f in sorted(files)]

    def _listed(self) -> list[tuple[str, int | None]]:
        assert self.list_file is not None
        if not os.path.isfile(self.list_file):
            raise AnnotationError(
                self.list_file, "<file>", "an existing list file (one .mat path per line)", "no such file"
            )
        out: list[tuple[str, int | None]] = []
        with open(self.list_file, encoding="utf-8") as f:
            for n, raw in enumerate(f.read().splitlines(), start=1):
                line = raw.strip()
                if line and not line.startswith("#"):
                    path = os.path.join(self.root, line)
                    out.append((path if path.lower().endswith(".mat") else path + ".mat", n))
        return out

    def _check(self, mat: str, line: int | None) -> str:
        if not os.path.isfile(mat):
            file, where = (self.list_file, f"line {line}") if line is not None else (mat, None)
            raise AnnotationError(str(file), "mat", "an existing .mat annotation file", f"{mat} (missing)", where)
        image = os.path.splitext(mat)[0] + self.image_ext
        if not os.path.isfile(image):
            raise AnnotationError(mat, "image", f"the image {os.path.basename(image)} beside it", "no such file")
        return mat

    # ------------------------------------------------------------------ parsing
    def _load(self, index: int) -> Sample:
        path = self._instances[index]
        mat = _loadmat(path)
        euler = read_euler(mat, path)
        keypoints, visible = self._landmarks(mat, path)
        bbox = self._box(mat, path, keypoints, visible)
        image_path = os.path.splitext(path)[0] + self.image_ext
        image = load_image_rgb(image_path, field="image", source=path)
        sample = box_sample(image, keypoints, visible, bbox, index, index, image_path)
        sample["euler"] = euler
        return sample

    def _landmarks(self, mat: dict[str, Any], path: str) -> tuple[np.ndarray, np.ndarray]:
        k = self.spec.num_keypoints
        xy: np.ndarray | None = None
        if self.landmarks_root is not None:
            xy = self._companion(path, k)  # checked finite there
        elif self.landmarks in ("auto", "pt3d_68") and ("pt3d_68" in mat or self.landmarks == "pt3d_68"):
            if "pt3d_68" not in mat:
                raise AnnotationError(path, "pt3d_68", f"a 3 x {k} array (x, y, z)", "no such field")
            xy = _finite(_points(mat, path, "pt3d_68", 3, k), path, "pt3d_68")
        elif self.landmarks == "pt2d" or (self.landmarks == "auto" and "pt2d" in mat):
            if "pt2d" not in mat:
                raise AnnotationError(path, "pt2d", f"a 2 x {k} array", "no such field")
            if self.landmarks == "pt2d" or np.shape(mat["pt2d"]) == (2, k):
                xy = _finite(_points(mat, path, "pt2d", 2, k), path, "pt2d")
        if xy is None:
            return np.zeros((k, 2), np.float32), np.zeros(k, np.float32)
        labelled = _labelled(xy)
        xy = np.where(labelled[:, None], xy - (1.0 if self.one_based else 0.0), 0.0)
        return xy.astype(np.float32), np.where(labelled, 2.0, 0.0).astype(np.float32)

    def _companion(self, path: str, k: int) -> np.ndarray:
        assert self.landmarks_root is not None
        sub = os.path.relpath(os.path.dirname(path), self.root)
        stem = os.path.splitext(os.path.basename(path))[0]
        file = os.path.normpath(os.path.join(self.landmarks_root, sub, stem + "_pts.mat"))
        if not os.path.isfile(file):
            raise AnnotationError(file, "<file>", f"the 300W-LP landmark file of {path}", "no such file")
        mat = _loadmat(file)
        if "pts_2d" not in mat:
            raise AnnotationError(file, "pts_2d", f"a {k} x 2 array", "no such field")
        a = _numeric(mat, file, "pts_2d", f"a {k} x 2 array")
        if a.shape != (k, 2):
            raise AnnotationError(file, "pts_2d", f"a {k} x 2 array", f"shape {a.shape}")
        return _finite(a, file, "pts_2d")

    def _box(self, mat: dict[str, Any], path: str, keypoints: np.ndarray, visible: np.ndarray) -> np.ndarray:
        pts = keypoints[visible > 0]
        if self.box_from == "pt2d" and "pt2d" in mat:
            raw = _finite(_points(mat, path, "pt2d", 2, None), path, "pt2d")
            ok = _labelled(raw)
            if ok.sum() >= 2:
                pts = raw[ok] - (1.0 if self.one_based else 0.0)
        if len(pts) < 2:
            raise AnnotationError(
                path, "pt2d", "labelled pt2d points or landmarks to place the face box", "fewer than 2 labelled points"
            )
        (x1, y1), (x2, y2) = pts.min(axis=0), pts.max(axis=0)
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            raise AnnotationError(
                path, "pt2d", "points spanning a box of non-zero width and height", f"[{x1}, {y1}, {x2}, {y2}]"
            )
        left, top, right, bottom = self.box_margins
        x1, y1, x2, y2 = x1 - left * w, y1 - top * h, x2 + right * w, y2 + bottom * h
        return np.asarray([x1, y1, x2 - x1, y2 - y1], dtype=np.float32)


def _loadmat(path: str) -> dict[str, Any]:
    from scipy.io import loadmat

    try:
        return loadmat(path)
    except Exception as err:  # noqa: BLE001 - scipy raises several types for a bad file
        raise AnnotationError(
            path, "<file>", "a MATLAB .mat file scipy.io.loadmat reads", f"{type(err).__name__}: {err}"
        ) from None
