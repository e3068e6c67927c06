"""SyntheticHandSource: deterministic on-the-fly images of hands with 21 keypoints.

The hand sibling of :mod:`landmarks.data.synthetic.body.renderer` with the same interface (``spec``,
``__len__``, ``__getitem__``, ``render``, ``to_coco``, ``write_coco``). Every image is rendered
from ``np.random.default_rng([seed, split_id, index])``, so an index gives the same picture in
any worker and any order and the ``train``/``val``/``test`` splits are disjoint random streams.
A scene is a textured background (:mod:`.texture`), ``hands_per_image`` articulated 3-D
hands (:mod:`.hand_skeleton`, :mod:`.hand_poses`; left or right, any 3-D orientation, one skin
tone per image) seen by a pinhole camera (:mod:`.hand_scene`), drawn as shaded capsules and a
palm hull in depth order (:mod:`.hand_figure`, :mod:`.raster`), and sometimes an occluder.

Labels are exact: keypoints (:func:`landmarks.layouts.hand.hand21` order) are projections of
the 3-D joints. Visibility follows COCO: ``0`` outside the image (coordinates set to 0, 0),
``1`` inside but hidden (by a finger, the palm or another bone of the same hand drawn closer to
the camera, another hand, or an occluder, as told by the id buffer: the pixel under the
keypoint must belong to a part that owns it, see :data:`.hand_figure.KEYPOINT_OWNERS`; a
fingertip, which sits on the rim of its capsule, is tested 1.5 px inside it), ``2`` visible.
Keypoints are in image px with integer values at pixel centres. Boxes are tight around the hand's
rendered silhouette without the forearm (occluded parts included; with ``box="visible"`` only its
visible pixels, the COCO convention), clipped to the image;
``area`` counts the hand's visible silhouette pixels. Each instance also carries its
``handedness`` (``"left"``/``"right"``); a horizontal flip of the image swaps it.
"""

from __future__ import annotations

import numpy as np

from landmarks.data.synthetic.body.figure import Part
from landmarks.data.synthetic.common.raster import BOX_KINDS, corners_to_xywh, paint_instances
from landmarks.data.synthetic.common.source import SyntheticSource
from landmarks.data.synthetic.common.texture import SKIN_TONES, background, jitter_colour, occluder_strokes
from landmarks.data.synthetic.hand.figure import FOREARM, KEYPOINT_OWNERS, PARTS_PER_HAND, hand_parts, sample_hand_look
from landmarks.data.synthetic.hand.scene import PlacedHand, sample_hand, sample_hand_camera
from landmarks.layouts.hand import hand21
from landmarks.layouts.spec import KeypointSpec
from landmarks.types import Sample

#: Most hands per image (part ids of every hand and an occluder share a uint8 buffer).
MAX_HANDS = min(8, 254 // PARTS_PER_HAND)
_TIPS = np.array([4, 8, 12, 16, 20])


class SyntheticHandSource(SyntheticSource):
    """Renders images of hands with 21 keypoints on the fly.

    Args:
        num_images: dataset length (one target hand per image).
        image_size: ``(W, H)`` in px.
        split: ``"train"``, ``"val"`` or ``"test"``; each split is a separate random stream.
        seed: base seed.
        occluders: allow occluder shapes in front of hands.
        occluder_prob: chance that an image gets an occluder (when ``occluders``).
        hands_per_image: hands in every image (1..8); the first fills 40-80 % of the image.
        box: what ``bbox`` bounds: ``silhouette`` (hidden parts included) or ``visible`` (the COCO box).
    """

    noun = "hand"
    coco_extra_fields = ("handedness",)
    target_min_labelled = 10
    target_min_box = 0.2

    def __init__(
        self,
        num_images: int = 4000,
        image_size: tuple[int, int] = (256, 256),
        split: str = "train",
        seed: int = 0,
        occluders: bool = True,
        occluder_prob: float = 0.3,
        hands_per_image: int = 1,
        box: str = "silhouette",
    ) -> None:
        self._check_split(split)
        if box not in BOX_KINDS:
            raise ValueError(f"SyntheticHandSource: box '{box}' is not one of {list(BOX_KINDS)}")
        if not 1 <= hands_per_image <= MAX_HANDS or num_images < 0:
            raise ValueError(
                f"SyntheticHandSource: need 1 <= hands_per_image <= {MAX_HANDS} and num_images >= 0, "
                f"got hands_per_image={hands_per_image}, num_images={num_images}"
            )
        self._store_settings(num_images, image_size, split, seed, occluder_prob if occluders else 0.0)
        self.hands_per_image = int(hands_per_image)
        self.box = box
        self.spec: KeypointSpec = hand21()

    def _render_scene(self, rng: np.random.Generator, index: int, simple: bool) -> tuple[np.ndarray, list[Sample]]:
        W, H = self.width, self.height
        image = background(rng, W, H)
        cam = sample_hand_camera(rng, W, H)
        skin = jitter_colour(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10.0)  # one person per image
        n = self.hands_per_image
        sides = ["left" if rng.random() < 0.5 else "right" for _ in range(n)]
        if n >= 2 and rng.random() < 0.7:  # usually a left-right pair
            sides[1] = "right" if sides[0] == "left" else "left"
        hands: list[PlacedHand] = []
        boxes: list[np.ndarray] = []
        for i in range(n):
            hand, box = sample_hand(
                rng, cam, W, H, sample_hand_look(rng, skin), sides[i], i == 0, boxes, cut_prob=0.0 if simple else 0.15
            )
            hands.append(hand)
            boxes.append(box)
        angle = rng.uniform(200.0, 340.0) * np.pi / 180.0
        light = np.array([np.cos(angle), np.sin(angle)])
        # Items: (depth, owner hand or -1 for an occluder, parts in draw order).
        items: list[tuple[float, int, list[Part]]] = []
        joints2d = []
        for i, h in enumerate(hands):
            parts, uv, xyz = hand_parts(h.hand, h.rot, h.trans, cam, h.look, light)
            items.append((float(xyz[:, 2].mean()), i, parts))
            joints2d.append(uv)
        if not simple and rng.random() < self.occluder_prob:
            k = int(rng.integers(n))
            j = int(rng.integers(len(joints2d[k])))
            size = rng.uniform(0.25, 0.6) * max(boxes[k][2] - boxes[k][0], boxes[k][3] - boxes[k][1])
            strokes = occluder_strokes(rng, tuple(joints2d[k][j] + rng.normal(0, 0.15 * size, 2)), size)
            items.append((items[k][0] - 0.1, -1, [Part(0.0, 0, strokes)]))
        items.sort(key=lambda it: -it[0])
        painted = paint_instances(image, items, len(hands), rng, unboxed_code=FOREARM)
        instances: list[Sample] = []
        for i, h in enumerate(hands):
            box = painted.box_of(i, self.box)  # the visible box is computed on demand: once
            if box is None:
                continue  # outside the frame or fully hidden: not annotatable
            kp, vis = self._keypoints(joints2d[i], painted.label, painted.owner, painted.code, i)
            instances.append(
                Sample(  # type: ignore[typeddict-unknown-key]
                    keypoints=kp,
                    visible=vis,
                    bbox=corners_to_xywh(box),
                    area=painted.areas[i],
                    image_id=index,
                    id=index * MAX_HANDS + len(instances) + 1,
                    score=1.0,
                    path="",
                    handedness=h.handedness,
                )
            )
        return painted.image, instances

    def _keypoints(
        self, uv: np.ndarray, label: np.ndarray, owner: np.ndarray, code: np.ndarray, who: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(21, 2)`` float32 px and COCO visibility ``(21,)`` float32 of one hand."""
        kp = uv.astype(np.float32)
        inside = (kp[:, 0] >= 0) & (kp[:, 0] <= self.width - 1) & (kp[:, 1] >= 0) & (kp[:, 1] <= self.height - 1)
        # A fingertip sits on the rim of its capsule: test it 1.5 px inside, toward the DIP/IP joint.
        probe = uv.copy()
        inward = uv[_TIPS - 1] - uv[_TIPS]
        probe[_TIPS] += (
            inward
            * (np.minimum(1.5, np.linalg.norm(inward, axis=1)) / np.maximum(np.linalg.norm(inward, axis=1), 1e-6))[
                :, None
            ]
        )
        probe = np.clip(probe + 0.5, 0, [self.width - 1, self.height - 1]).astype(int)
        vis = np.zeros(len(kp), dtype=np.float32)
        for k in np.flatnonzero(inside):
            pid = int(label[probe[k, 1], probe[k, 0]])
            on_top = pid == 0 or (owner[pid] == who and int(code[pid]) in KEYPOINT_OWNERS[k])
            vis[k] = 2.0 if on_top else 1.0
        kp[~inside] = 0.0
        return kp, vis
