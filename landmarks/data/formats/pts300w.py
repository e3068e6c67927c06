"""300W ``.pts`` landmark files, one per image, stored beside the image.

Format reference: the 300W release (Sagonas et al., "300 Faces in-the-Wild Challenge: The
first facial landmark localization Challenge", ICCV-W 2013; database paper IVC 2016) and
its parts (AFW, HELEN, LFPW, iBUG, the 300W indoor/outdoor test set). A ``.pts`` file is::

    version: 1
    n_points: 68
    {
    x1 y1
    ...
    x68 y68
    }

and the image has the same stem (``.jpg`` or ``.png``) in the same folder.

Conventions chosen (and why):

* **1-based -> 0-based.** The annotations were made with Matlab tools, so a pixel centre is
  an integer starting at 1. With ``one_based=True`` (default) 1 is subtracted, giving the
  0-based pixel centres of ``crop.py``; menpo, the iBUG group's own reader of these files,
  does the same, and so does this project's MPII reader for Matlab annotations. HRNet's
  CSVs and mmpose's COCO-style 300W JSONs (``conf/data/coco_face.yaml``) keep the raw values,
  i.e. they sit 1 px right/down of this reader: set ``one_based=False`` to reproduce them
  exactly or to mix the two. NME is unaffected as long as training and evaluation use the
  same convention.
* **Box.** The tight box of the landmarks (the ground-truth landmark box); it is not padded
  here because the crop stage pads every box (``TopDownTransform.padding``, 1.25).
* **Visibility.** ``.pts`` marks none; every landmark is ``visible = 2``.

Files are found under ``root`` (optionally only in ``subsets``, sub-folders searched
recursively) or listed in ``list_file`` (one path per line, relative to ``root``: the
``.pts`` or the image beside it). A sibling point-file format changes :func:`read_pts`.
"""

from __future__ import annotations

import glob
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from landmarks.data.formats.errors import AnnotationError, BadSamplePolicy, load_image_rgb
from landmarks.data.formats.reader import InstanceReader, box_sample
from landmarks.layouts.face import ibug68
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

__all__ = ["Pts300WSource", "read_pts"]

IMAGE_EXTS: tuple[str, ...] = (".jpg", ".png", ".jpeg", ".JPG", ".PNG")


def read_pts(path: str) -> np.ndarray:
    """Parse a version-1 ``.pts`` file.

    Returns:
        ``(n_points, 2)`` float32, the values as stored (no origin shift).

    Raises:
        AnnotationError: a missing file, a missing ``n_points`` header or braces, a point
            line that is not two finite numbers, or a point count that differs from ``n_points``.
    """
    if not os.path.isfile(path):
        raise AnnotationError(path, "<file>", "an existing .pts file", "no such file (missing)")
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f.read().splitlines()]
    header = next((i for i, line in enumerate(lines) if line.lower().startswith("n_points")), None)
    if header is None:
        raise AnnotationError(path, "n_points", "a header line 'n_points: N'", "no such line")
    try:
        n_points = int(lines[header].split(":", 1)[1])
    except (IndexError, ValueError):
        raise AnnotationError(path, "n_points", "'n_points: N' with an integer N", repr(lines[header])) from None
    if "{" not in lines[header:] or "}" not in lines[header:]:
        raise AnnotationError(path, "points", "the points between a '{' line and a '}' line", "no braces")
    start = lines.index("{", header) + 1
    stop = lines.index("}", start)
    rows = [(i + 1, line) for i, line in enumerate(lines[start:stop], start=start) if line]
    points: list[tuple[float, float]] = []
    for number, line in rows:
        values = line.split()
        try:
            x, y = (float(v) for v in values)
        except ValueError:
            raise AnnotationError(path, "points", "two numbers 'x y' per line", repr(line), f"line {number}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise AnnotationError(path, "points", "finite numbers", repr(line), f"line {number}")
        points.append((x, y))
    if len(points) != n_points:
        raise AnnotationError(path, "points", f"n_points = {n_points} point lines", f"{len(points)} lines")
    return np.asarray(points, dtype=np.float32).reshape(n_points, 2)


@dataclass(frozen=True)
class _Instance:
    keypoints: np.ndarray  # (K, 2) float32 0-based image px
    bbox: np.ndarray  # (4,) float32 xywh
    pts: str
    path: str


class Pts300WSource(InstanceReader):
    """An indexable list of faces from 300W-style ``.pts`` files.

    Args:
        root: the dataset folder (e.g. ``300W`` holding ``afw/``, ``helen/``, ``lfpw/``, ``ibug/``).
        subsets: sub-folders of ``root`` to search recursively for ``*.pts`` (``None``: all of
            ``root``); ignored when ``list_file`` is given.
        list_file: a text file with one path per line (relative to ``root``, or absolute): a
            ``.pts`` file or the image beside it. Blank lines and ``#`` comments are ignored.
        spec: landmark layout; ``ibug68()`` when ``None`` (``n_points`` must match it).
        one_based: subtract 1 from every coordinate (module docstring).
        image_exts: image extensions tried, in order, beside each ``.pts``.
        on_bad_sample: ``"error"`` or ``"skip"`` (see :class:`BadSamplePolicy`).

    Attributes:
        spec: the landmark layout.
        files: the ``.pts`` file of each instance (a property).
        skipped_counts: ``{"bad_sample": n}`` (a property).

    Raises:
        AnnotationError: a missing root or list file, a bad file under ``"error"``, or no face.
    """

    def __init__(
        self,
        root: str,
        subsets: Sequence[str] | None = None,
        list_file: str | None = None,
        spec: KeypointSpec | None = None,
        one_based: bool = True,
        image_exts: Sequence[str] = IMAGE_EXTS,
        on_bad_sample: str = "error",
    ) -> None:
        self.root = str(root)
        self.list_file = None if list_file is None else str(list_file)
        self.spec = spec if spec is not None else ibug68()
        self.one_based = bool(one_based)
        self.image_exts = tuple(image_exts)
        owner = self.list_file or self.root
        self._policy = BadSamplePolicy(on_bad_sample, owner=f"Pts300WSource({owner})")
        candidates = self._listed() if self.list_file is not None else self._found(subsets)
        self._instances: list[_Instance] = self._policy.keep(candidates, lambda c: self._parse(*c))
        if not self._instances:
            raise self._policy.none_kept(
                owner, "pts", "at least one .pts file with its image", f"{len(candidates)} files"
            )

    @property
    def files(self) -> list[str]:
        """The ``.pts`` file of each instance, in instance order."""
        return [inst.pts for inst in self._instances]

    # ------------------------------------------------------------------ listing
    def _found(self, subsets: Sequence[str] | None) -> list[tuple[str, int | None]]:
        if not os.path.isdir(self.root):
            raise AnnotationError(self.root, "root", "an existing folder of .pts files and images", "no such folder")
        files: list[str] = []
        for sub in subsets if subsets else ("",):
            folder = os.path.join(self.root, sub)
            if not os.path.isdir(folder):
                raise AnnotationError(folder, "subsets", f"a sub-folder of {self.root}", f"{sub!r} (missing)")
            files.extend(glob.glob(os.path.join(glob.escape(folder), "**", "*.pts"), recursive=True))
        return [(f, None) for f in sorted(set(files))]

    def _listed(self) -> list[tuple[str, int | None]]:
        assert self.list_file is not None
        if not os.path.isfile(self.list_file):
            raise AnnotationError(self.list_file, "<file>", "an existing list file (one path per line)", "no such file")
        out: list[tuple[str, int | None]] = []
        with open(self.list_file, encoding="utf-8") as f:
            for n, raw in enumerate(f.read().splitlines(), start=1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                path = os.path.join(self.root, line)
                pts = path if path.lower().endswith(".pts") else os.path.splitext(path)[0] + ".pts"
                out.append((pts, n))
        return out

    # ------------------------------------------------------------------ parsing
    def _parse(self, pts: str, line: int | None) -> _Instance:
        if line is not None and not os.path.isfile(pts):
            raise AnnotationError(
                str(self.list_file),
                "pts",
                "an existing .pts file beside the listed image",
                f"{pts} (missing)",
                f"line {line}",
            )
        points = read_pts(pts)
        k = self.spec.num_keypoints
        if len(points) != k:
            raise AnnotationError(pts, "n_points", f"{k} points (layout '{self.spec.name}')", len(points))
        if self.one_based:
            points = points - 1.0
        lo, hi = points.min(axis=0), points.max(axis=0)
        if not (hi[0] > lo[0] and hi[1] > lo[1]):
            raise AnnotationError(
                pts,
                "points",
                "points spanning a box of non-zero width and height",
                f"all within [{lo[0]}, {hi[0]}] x [{lo[1]}, {hi[1]}]",
            )
        stem = os.path.splitext(pts)[0]
        image = next((stem + ext for ext in self.image_exts if os.path.isfile(stem + ext)), None)
        if image is None:
            raise AnnotationError(
                pts,
                "image",
                f"an image beside it named {os.path.basename(stem)} + one of {', '.join(self.image_exts)}",
                "none found",
            )
        bbox = np.asarray([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], dtype=np.float32)
        return _Instance(keypoints=points.astype(np.float32), bbox=bbox, pts=pts, path=image)

    def _load(self, index: int) -> Sample:
        inst = self._instances[index]
        image = load_image_rgb(inst.path, field="image", source=inst.pts)
        visible = np.full(len(inst.keypoints), 2.0, np.float32)
        return box_sample(image, inst.keypoints, visible, inst.bbox, index, index, inst.path)
