"""SyntheticBodySource: deterministic on-the-fly images of people with COCO-17 keypoints.

Every image is rendered from ``np.random.default_rng([seed, split_id, index])``, so an index
gives the same picture in any worker and any order, and the ``train``/``val``/``test``
splits are disjoint random streams. A scene is a textured background, 1..``max_people``
articulated 3-D people (:mod:`.skeleton3d`, :mod:`.poses`) seen by a pinhole camera
(:mod:`.scene`), drawn far-to-near as shaded capsules and hulls (:mod:`.figure`,
:mod:`.raster`), and sometimes an occluder in front of someone (:mod:`.texture`).

Labels are exact: keypoints are projections of the 3-D joints. Visibility follows COCO:
``0`` outside the image (coordinates set to 0, 0), ``1`` inside but hidden (by another person,
an occluder, the person's own body as told by the id buffer, or a surface point such as
the far ear that faces away from the camera), ``2`` visible. Keypoints are in image px with
integer values at pixel centres; "inside" means ``0 <= x <= W - 1`` and ``0 <= y <= H - 1``.
Boxes are tight around a person's whole rendered silhouette (occluded parts included),
or, with ``box="visible"``, around its visible pixels only (the COCO convention, which a detector
can see), clipped to ``[0, W] x [0, H]``; ``area`` counts the person's visible silhouette pixels.

Sibling renderers (hand, face) follow the same pattern: ``render(index)`` for all instances,
``__getitem__`` for one target instance, ``to_coco`` / ``write_coco`` for export.
"""

from __future__ import annotations

import numpy as np

from landmarks.data.synthetic.body.figure import KEYPOINT_OWNERS, Part, person_parts
from landmarks.data.synthetic.body.scene import PlacedPerson, sample_camera, sample_person
from landmarks.data.synthetic.body.skeleton3d import JOINT_NAMES
from landmarks.data.synthetic.common.raster import BOX_KINDS, corners_to_xywh, paint_instances
from landmarks.data.synthetic.common.source import SyntheticSource
from landmarks.data.synthetic.common.texture import background, occluder_strokes
from landmarks.layouts.spec import COCO17_NAMES, KeypointSpec, coco17
from landmarks.types import Sample

#: Most people per image: each person has at most 16 parts and part ids live in a uint8 buffer.
MAX_PEOPLE = 15


class SyntheticBodySource(SyntheticSource):
    """Renders images of people with COCO-17 keypoints on the fly.

    Args:
        num_images: dataset length (one target instance per image).
        image_size: ``(W, H)`` in px.
        max_people: most people per image (1..15).
        split: ``"train"``, ``"val"`` or ``"test"``; each split is a separate random stream.
        seed: base seed.
        occluders: allow occluder shapes in front of people.
        occluder_prob: chance that an image gets an occluder (when ``occluders``).
        extra_people_prob: chance of each further person after the first (up to ``max_people``).
        max_overlap: largest box IoU of a new person with an earlier one (moderates crowding).
        box: what ``bbox`` bounds: ``silhouette`` (hidden parts included) or ``visible`` (the COCO box).
    """

    noun = "person"

    def __init__(
        self,
        num_images: int = 4000,
        image_size: tuple[int, int] = (256, 256),
        max_people: int = 3,
        split: str = "train",
        seed: int = 0,
        occluders: bool = True,
        occluder_prob: float = 0.3,
        extra_people_prob: float = 0.5,
        max_overlap: float = 0.35,
        box: str = "silhouette",
    ) -> None:
        self._check_split(split)
        if box not in BOX_KINDS:
            raise ValueError(f"SyntheticBodySource: box '{box}' is not one of {list(BOX_KINDS)}")
        if not 1 <= max_people <= MAX_PEOPLE or num_images < 0:
            raise ValueError(
                f"SyntheticBodySource: need 1 <= max_people <= {MAX_PEOPLE} (the uint8 part-id "
                f"buffer) and num_images >= 0, got max_people={max_people}, num_images={num_images}"
            )
        self._store_settings(num_images, image_size, split, seed, occluder_prob if occluders else 0.0)
        self.max_people = int(max_people)
        self.extra_people_prob = float(extra_people_prob)
        self.max_overlap = float(max_overlap)
        self.box = box
        self.spec: KeypointSpec = coco17()
        self._kp_names = list(COCO17_NAMES)
        self._kp_rows = np.array([JOINT_NAMES.index(n) for n in COCO17_NAMES])  # rows of the joint arrays

    def _render_scene(self, rng: np.random.Generator, index: int, simple: bool) -> tuple[np.ndarray, list[Sample]]:
        W, H = self.width, self.height
        image = background(rng, W, H)
        cam = sample_camera(rng, W, H)
        n = 1
        while not simple and n < self.max_people and rng.random() < self.extra_people_prob:
            n += 1
        people: list[PlacedPerson] = []
        boxes: list[np.ndarray] = []
        for i in range(n):
            person, box = sample_person(rng, cam, W, H, i == 0, boxes, self.max_overlap)
            people.append(person)
            boxes.append(box)
        angle = rng.uniform(200.0, 340.0) * np.pi / 180.0
        light = np.array([np.cos(angle), np.sin(angle)])
        # Items: (depth, owner person or -1 for an occluder, parts back-to-front).
        items: list[tuple[float, int, list[Part]]] = []
        joints2d, joints3d, surfaces = [], [], []
        for i, p in enumerate(people):
            parts, uv, xyz, surface = person_parts(p.skel, p.rot, p.trans, cam, p.look, light)
            items.append((float(p.trans[2]), i, parts))
            joints2d.append(uv)
            joints3d.append(xyz)
            surfaces.append(surface)
        if not simple and rng.random() < self.occluder_prob:
            k = int(rng.integers(n))
            j = int(rng.integers(len(joints2d[k])))
            size = rng.uniform(0.25, 0.6) * (boxes[k][3] - boxes[k][1])
            strokes = occluder_strokes(rng, tuple(joints2d[k][j] + rng.normal(0, 0.1 * size, 2)), size)
            items.append((float(people[k].trans[2]) - 0.6, -1, [Part(0.0, 0, strokes)]))
        items.sort(key=lambda it: -it[0])
        if sum(len(parts) for _, _, parts in items) > 255:
            raise RuntimeError(f"SyntheticBodySource: image {index} has more parts than the uint8 id buffer holds")

        painted = paint_instances(image, items, len(people), rng)
        instances: list[Sample] = []
        for i in range(len(people)):
            box = painted.box_of(i, self.box)  # the visible box is computed on demand: once
            if box is None:
                continue  # outside the frame or fully hidden: not annotatable
            kp, vis = self._keypoints(
                joints2d[i], joints3d[i], surfaces[i], painted.label, painted.owner, painted.code, i
            )
            instances.append(
                Sample(
                    keypoints=kp,
                    visible=vis,
                    bbox=corners_to_xywh(box),
                    area=painted.areas[i],
                    image_id=index,
                    id=index * self.max_people + len(instances) + 1,
                    score=1.0,
                    path="",
                )
            )
        return painted.image, instances

    def _keypoints(
        self,
        uv: np.ndarray,
        xyz: np.ndarray,
        surface: dict[str, bool],
        label: np.ndarray,
        owner: np.ndarray,
        code: np.ndarray,
        who: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """COCO keypoints ``(17, 2)`` float32 px and visibility ``(17,)`` float32 of one person."""
        kp = uv[self._kp_rows].astype(np.float32)
        inside = (
            (kp[:, 0] >= 0)
            & (kp[:, 0] <= self.width - 1)
            & (kp[:, 1] >= 0)
            & (kp[:, 1] <= self.height - 1)
            & (xyz[self._kp_rows, 2] > 0)
        )
        vis = np.zeros(len(kp), dtype=np.float32)
        for k, name in enumerate(self._kp_names):
            if not inside[k]:
                continue
            pid = int(label[int(kp[k, 1] + 0.5), int(kp[k, 0] + 0.5)])
            on_top = pid == 0 or (owner[pid] == who and int(code[pid]) in KEYPOINT_OWNERS[k])
            vis[k] = 2.0 if on_top and surface.get(name, True) else 1.0
        kp[~inside] = 0.0
        return kp, vis
