"""SyntheticFaceSource: deterministic on-the-fly face images with 68 or 98 landmarks and exact head pose.

The face sibling of :mod:`landmarks.data.synthetic.body` and :mod:`.hand` with the same
interface (``spec``, ``__len__``, ``__getitem__``, ``render``, ``to_coco``, ``write_coco``).
Every image is rendered from ``np.random.default_rng([seed, split_id, index])``, so an index
gives the same picture in any worker and any order and the ``train``/``val``/``test`` splits are
disjoint random streams of the same distribution; the layout changes the labels, not the picture.

A scene is a textured background (:mod:`.texture`) and one head: a 3-D parametric surface with
identity and expression variation (:mod:`.face_surface`, :mod:`.face_mesh`), painted skin, hair,
brows, eyes and lips (:mod:`.face_texture`), posed uniformly in yaw, pitch and roll and seen by a
pinhole camera (:mod:`.face_scene`), rasterised with a z-buffer and shaded
(:mod:`.face_figure`, :mod:`.face_raster`), sometimes with glasses (:mod:`.face_glasses`) and,
with ``occluder_prob``, a hand or an object in front (:mod:`.face_occluders`).

Labels are exact. Keypoints (:func:`landmarks.face_layouts.ibug68` or ``wflw98`` order, the
subject's sides) are projections of fixed 3-D surface points (the AFLW2000-3D convention: the
jaw line is the 3-D jaw, not the silhouette). Visibility follows COCO: ``0`` outside the image
(coordinates set to 0, 0), ``1`` inside but hidden (self-occlusion: the surface faces away or
nearer geometry covers it; a fringe, glasses, a hand or an object covers it; a closed eye hides
its pupil), ``2`` visible. ``euler`` is ``(yaw, pitch, roll)`` in degrees in the
:mod:`landmarks.geometry` convention, the exact rotation the head was rendered with. ``bbox`` is
the box of all the layout's landmarks clipped to the image, ``area`` its ``w * h``.
"""

from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from landmarks.data.synthetic.coco_export import coco_dataset, write_coco_folder
from landmarks.data.synthetic.face_figure import FaceRender, render_face
from landmarks.data.synthetic.face_occluders import draw_occluder
from landmarks.data.synthetic.face_scene import FaceParams, sample_face_params
from landmarks.data.synthetic.texture import background
from landmarks.face_layouts import ibug68, wflw98
from landmarks.keypoints import KeypointSpec
from landmarks.types import Sample

SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
LAYOUTS = {"ibug68": ibug68, "wflw98": wflw98}


class SyntheticFaceSource:
    """Renders face images with landmarks and head pose on the fly.

    Args:
        num_images: dataset length (one face per image).
        image_size: ``(W, H)`` in px.
        split: ``"train"``, ``"val"`` or ``"test"``; each split is a separate random stream.
        seed: base seed.
        layout: ``"ibug68"`` (300W) or ``"wflw98"`` (WFLW).
        occluders: allow glasses and occluders (hands, objects) in front of faces.
        occluder_prob: chance that an image gets a hand or an object (when ``occluders``).
        max_yaw: yaw is uniform in ``[-max_yaw, max_yaw]`` degrees.
        max_pitch: pitch likewise.
        max_roll: roll likewise.
    """

    def __init__(self, num_images: int = 4000, image_size: tuple[int, int] = (160, 160), split: str = "train",
                 seed: int = 0, layout: str = "ibug68", occluders: bool = True, occluder_prob: float = 0.3,
                 max_yaw: float = 90.0, max_pitch: float = 60.0, max_roll: float = 45.0) -> None:
        if split not in SPLITS:
            raise ValueError(f"SyntheticFaceSource: split '{split}' is not one of {sorted(SPLITS)}")
        if layout not in LAYOUTS:
            raise ValueError(f"SyntheticFaceSource: layout '{layout}' is not one of {sorted(LAYOUTS)}")
        if num_images < 0 or min(image_size) < 32:
            raise ValueError(f"SyntheticFaceSource: need num_images >= 0 and image sides >= 32, got "
                             f"num_images={num_images}, image_size={tuple(image_size)}")
        if not (0 <= max_yaw <= 90 and 0 <= max_pitch <= 90 and 0 <= max_roll <= 180):
            raise ValueError(f"SyntheticFaceSource: max_yaw in [0, 90], max_pitch in [0, 90], max_roll in "
                             f"[0, 180] degrees expected, got {max_yaw}, {max_pitch}, {max_roll}")
        self.num_images = int(num_images)
        self.width, self.height = int(image_size[0]), int(image_size[1])
        self.split = split
        self.seed = int(seed)
        self.layout = layout
        self.occluders = bool(occluders)
        self.occluder_prob = float(occluder_prob) if occluders else 0.0
        self.max_angles = (float(max_yaw), float(max_pitch), float(max_roll))
        self.spec: KeypointSpec = LAYOUTS[layout]()

    def __len__(self) -> int:
        return self.num_images

    def __getitem__(self, index: int) -> Sample:
        """The whole image and its face.

        Returns:
            Sample with ``image`` ``(H, W, 3)`` uint8 RGB, ``keypoints`` ``(K, 2)`` float32 image
            px, ``visible`` ``(K,)`` float32, ``bbox`` ``(4,)`` float32 ``x, y, w, h``, ``area``,
            ``euler`` ``(3,)`` float32 degrees, ``image_id`` (= index), ``id``, ``score`` (1.0), ``path`` ('').
        """
        if not 0 <= index < self.num_images:
            raise IndexError(f"SyntheticFaceSource: index {index} out of range [0, {self.num_images})")
        image, instances = self.render(int(index))
        return Sample(image=image, **instances[0])

    def params(self, index: int) -> FaceParams:
        """The parameters image ``index`` is rendered from (identity, expression, pose, camera, look)."""
        return sample_face_params(self._rng(index), self.width, self.height, *self.max_angles,
                                  accessories=self.occluders)

    def render(self, index: int) -> tuple[np.ndarray, list[Sample]]:
        """Renders image ``index`` and labels its face.

        Returns:
            ``(image (H, W, 3) uint8 RGB, [instance])``; the instance is a Sample without
            ``image`` (keys as in :meth:`__getitem__`).
        """
        rng = self._rng(index)
        p = sample_face_params(rng, self.width, self.height, *self.max_angles, accessories=self.occluders)
        bg = background(rng, self.width, self.height)
        fr = render_face(p, self.layout, self.width, self.height, bg)
        image, vis = fr.image, fr.visible.copy()
        if rng.random() < self.occluder_prob:
            mask = draw_occluder(rng, image, fr.anchors, fr.camera, p.look.skin, p.box_size)
            px = np.clip(np.round(fr.keypoints).astype(int), 0, [self.width - 1, self.height - 1])
            vis[(vis == 2) & mask[px[:, 1], px[:, 0]]] = 1.0
        image = cv2.GaussianBlur(image, (3, 3), rng.uniform(0.5, 1.0))  # soft edges instead of LINE_AA
        return image, [self._instance(fr, vis, p, index)]

    def render_params(self, p: FaceParams, background_image: np.ndarray | None = None) -> FaceRender:
        """Renders explicit parameters (no occluder, no blur); for tests and tools."""
        bg = background_image if background_image is not None else np.full((self.height, self.width, 3), 90, np.uint8)
        return render_face(p, self.layout, self.width, self.height, bg)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, SPLITS[self.split], int(index)])

    def _instance(self, fr: FaceRender, vis: np.ndarray, p: FaceParams, index: int) -> Sample:
        """The face's labels; keypoints with ``v = 0`` are zeroed, the box is clipped to the image."""
        kp = fr.keypoints.astype(np.float32)
        x0, y0 = np.maximum(kp.min(0), 0.0)
        x1, y1 = np.minimum(kp.max(0), [self.width, self.height])
        kp[vis == 0] = 0.0
        w, h = max(float(x1 - x0), 1.0), max(float(y1 - y0), 1.0)
        return Sample(  # type: ignore[typeddict-unknown-key]
            keypoints=kp, visible=vis.astype(np.float32), bbox=np.array([x0, y0, w, h], dtype=np.float32),
            area=w * h, euler=np.asarray(p.euler, dtype=np.float32), image_id=index, id=index + 1, score=1.0,
            path="",
        )

    # ------------------------------------------------------------------ export
    def to_coco(self, indices: Iterable[int] | None = None) -> tuple[dict, list[np.ndarray]]:
        """COCO keypoint dict (category ``face``, K keypoints) and the rendered images.

        Args:
            indices: images to include (default: all ``len(self)``).

        Returns:
            ``(dataset dict, images)`` as in :func:`.coco_export.coco_dataset`; each annotation
            also has ``euler`` ``[yaw, pitch, roll]`` in degrees.
        """
        idx = range(self.num_images) if indices is None else indices

        def render_json(i: int) -> tuple[np.ndarray, list[Sample]]:
            image, instances = self.render(i)
            return image, [{**s, "euler": [round(float(a), 4) for a in s["euler"]]} for s in instances]  # type: ignore

        return coco_dataset(render_json, idx, self.spec, (self.width, self.height), self.split, "face",
                            f"SyntheticFaceSource layout={self.layout} split={self.split} seed={self.seed}",
                            ("euler",))

    def write_coco(self, out_dir: str, indices: Iterable[int] | None = None) -> str:
        """Writes ``out_dir/images/*.jpg`` and ``out_dir/annotations.json``; returns the JSON path."""
        dataset, pixels = self.to_coco(indices)
        return write_coco_folder(dataset, pixels, out_dir, "SyntheticFaceSource")
