"""SyntheticFaceSource: deterministic on-the-fly face images with 68 or 98 landmarks and exact head pose.

The face sibling of :mod:`landmarks.data.synthetic.body.renderer` and :mod:`.hand` on the same base
(:class:`.source.SyntheticSource`: ``spec``, ``__len__``, ``__getitem__``, ``render``, ``to_coco``,
``write_coco``).
Every image is rendered from ``np.random.default_rng([seed, split_id, index])``, so an index
gives the same picture in any worker and any order and the ``train``/``val``/``test`` splits are
disjoint random streams of the same distribution; the layout changes the labels, not the picture.

A scene is a textured background (:mod:`.texture`) and one head: a 3-D parametric surface with
identity and expression variation (:mod:`.face_surface`, :mod:`.face_mesh`), painted skin, hair,
brows, eyes and lips (:mod:`.face_texture`), posed uniformly in yaw, pitch and roll and seen by a
pinhole camera (:mod:`.face_scene`), rasterised with a z-buffer and shaded
(:mod:`.face_figure`, :mod:`.face_raster`), sometimes with glasses (:mod:`.face_glasses`) and,
with ``occluder_prob``, a hand or an object in front (:mod:`.face_occluders`).

Labels are exact. Keypoints (:func:`landmarks.layouts.face.ibug68` or ``wflw98`` order, the
subject's sides) are projections of fixed 3-D surface points (the AFLW2000-3D convention: the
jaw line is the 3-D jaw, not the silhouette). Visibility follows COCO: ``0`` outside the image
(coordinates set to 0, 0), ``1`` inside but hidden (self-occlusion: the surface faces away or
nearer geometry covers it; a fringe, glasses, a hand or an object covers it; a closed eye hides
its pupil), ``2`` visible. ``euler`` is ``(yaw, pitch, roll)`` in degrees in the
:mod:`landmarks.geometry` convention, the exact rotation the head was rendered with. ``bbox`` is
the box of all the layout's landmarks clipped to the image, ``area`` its ``w * h``.
"""

from __future__ import annotations

import cv2
import numpy as np

from landmarks.data.synthetic.common.source import SyntheticSource
from landmarks.data.synthetic.common.texture import background
from landmarks.data.synthetic.face.figure import FaceRender, render_face
from landmarks.data.synthetic.face.occluders import draw_occluder
from landmarks.data.synthetic.face.scene import FaceParams, sample_face_params
from landmarks.layouts.face import ibug68, wflw98
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

LAYOUTS = {"ibug68": ibug68, "wflw98": wflw98}


class SyntheticFaceSource(SyntheticSource):
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

    Every image holds one face, and that face is the target (:meth:`__getitem__`); the COCO
    export (:meth:`to_coco`, category ``face``) adds ``euler`` ``[yaw, pitch, roll]`` degrees to
    each annotation.
    """

    noun = "face"
    coco_extra_fields = ("euler",)

    def __init__(
        self,
        num_images: int = 4000,
        image_size: tuple[int, int] = (160, 160),
        split: str = "train",
        seed: int = 0,
        layout: str = "ibug68",
        occluders: bool = True,
        occluder_prob: float = 0.3,
        max_yaw: float = 90.0,
        max_pitch: float = 60.0,
        max_roll: float = 45.0,
    ) -> None:
        self._check_split(split)
        if layout not in LAYOUTS:
            raise ValueError(f"SyntheticFaceSource: layout '{layout}' is not one of {sorted(LAYOUTS)}")
        if num_images < 0 or min(image_size) < 32:
            raise ValueError(
                f"SyntheticFaceSource: need num_images >= 0 and image sides >= 32, got "
                f"num_images={num_images}, image_size={tuple(image_size)}"
            )
        if not (0 <= max_yaw <= 90 and 0 <= max_pitch <= 90 and 0 <= max_roll <= 180):
            raise ValueError(
                f"SyntheticFaceSource: max_yaw in [0, 90], max_pitch in [0, 90], max_roll in "
                f"[0, 180] degrees expected, got {max_yaw}, {max_pitch}, {max_roll}"
            )
        self._store_settings(num_images, image_size, split, seed, occluder_prob if occluders else 0.0)
        self.layout = layout
        self.occluders = bool(occluders)
        self.max_angles = (float(max_yaw), float(max_pitch), float(max_roll))
        self.spec: KeypointSpec = LAYOUTS[layout]()

    def params(self, index: int) -> FaceParams:
        """The parameters image ``index`` is rendered from (identity, expression, pose, camera, look)."""
        return sample_face_params(
            self._rng(index), self.width, self.height, *self.max_angles, accessories=self.occluders
        )

    def _render_scene(self, rng: np.random.Generator, index: int, simple: bool) -> tuple[np.ndarray, list[Sample]]:
        """Image ``index`` and ``[its face]`` (``simple`` is unused: every face is a target)."""
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

    def _is_target(self, s: Sample) -> bool:
        """Every face is the target of its image, however small or hidden."""
        return True

    def _instance(self, fr: FaceRender, vis: np.ndarray, p: FaceParams, index: int) -> Sample:
        """The face's labels; keypoints with ``v = 0`` are zeroed, the box is clipped to the image."""
        kp = fr.keypoints.astype(np.float32)
        x0, y0 = np.maximum(kp.min(0), 0.0)
        x1, y1 = np.minimum(kp.max(0), [self.width, self.height])
        kp[vis == 0] = 0.0
        w, h = max(float(x1 - x0), 1.0), max(float(y1 - y0), 1.0)
        return Sample(  # type: ignore[typeddict-unknown-key]
            keypoints=kp,
            visible=vis.astype(np.float32),
            bbox=np.array([x0, y0, w, h], dtype=np.float32),
            area=w * h,
            euler=np.asarray(p.euler, dtype=np.float32),
            image_id=index,
            id=index + 1,
            score=1.0,
            path="",
        )

    # ------------------------------------------------------------------ export
    def _coco_render(self, index: int) -> tuple[np.ndarray, list[Sample]]:
        """:meth:`render` with ``euler`` as a JSON list, degrees rounded to 4 decimals."""
        image, instances = self.render(index)
        return image, [{**s, "euler": [round(float(a), 4) for a in s["euler"]]} for s in instances]  # type: ignore

    def _coco_description(self) -> str:
        return f"SyntheticFaceSource layout={self.layout} split={self.split} seed={self.seed}"
