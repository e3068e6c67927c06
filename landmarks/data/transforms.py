"""Top-down training/evaluation transforms: crop affine, flip, half-body, photometric.

Geometric augmentation is folded into the crop affine (one ``cv2.warpAffine`` per sample,
as SimpleBaseline/HRNet do): random scale and rotation of the box, and half-body
(Wang et al., HRNet, CVPR 2019: re-centre the box on the upper or lower body). The
horizontal flip acts on the crop (``x -> W - 1 - x``, exact for the pixel array) and swaps
left/right keypoints with the spec's ``flip_indices``; a sample that carries a
``handedness`` also gets ``"left"``/``"right"`` swapped (``hand21`` has no flip pairs: a
mirrored hand keeps its keypoint order). A head-pose label ``euler`` (yaw, pitch, roll
degrees, :mod:`landmarks.geometry`) follows both: the rotation by ``rot`` degrees through
:func:`landmarks.geometry.rotate_roll` (exact composition), then the flip through
:func:`landmarks.geometry.flip_euler` (``-yaw, pitch, -roll``). Photometric changes run
through albumentations with ``KeypointParams(remove_invisible=False)`` so keypoints are never
dropped or reordered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import albumentations as A
import numpy as np

from landmarks.data.crop import bbox_to_center_scale, get_affine, transform_points, warp_image
from landmarks.geometry import flip_euler, rotate_roll
from landmarks.types import Sample


class TopDownTransform:
    """Crop one instance to the network input, with optional augmentation.

    Args:
        input_size: ``(W, H)`` of the network input.
        train: apply random augmentation.
        padding: box enlargement before cropping (1.25 as in SimpleBaseline).
        scale_factor: random box scale in ``[1 - f, 1 + f]``.
        rot_factor: random rotation in ``[-r, r]`` degrees, applied with ``rot_prob``.
        flip_prob: horizontal flip probability.
        half_body_prob: probability of the half-body box (needs >= ``half_body_min`` visible).
        photometric: colour jitter / blur / noise strength in ``[0, 1]`` (0 disables).
        udp: use the UDP affine (must match the codec).
    """

    def __init__(
        self,
        input_size: Sequence[int],
        train: bool = False,
        padding: float = 1.25,
        scale_factor: float = 0.25,
        rot_factor: float = 30.0,
        rot_prob: float = 0.6,
        flip_prob: float = 0.5,
        half_body_prob: float = 0.0,
        half_body_min: int = 8,
        photometric: float = 0.5,
        udp: bool = False,
    ) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.train = train
        self.padding = padding
        self.scale_factor = scale_factor
        self.rot_factor = rot_factor
        self.rot_prob = rot_prob
        self.flip_prob = flip_prob
        self.half_body_prob = half_body_prob
        self.half_body_min = half_body_min
        self.udp = udp
        self.photometric = _photometric(photometric) if train and photometric > 0 else None

    def __call__(
        self,
        sample: Sample,
        rng: np.random.Generator,
        flip_indices: np.ndarray | None = None,
        upper_body: Sequence[int] = (),
    ) -> dict[str, Any]:
        """Returns image ``(H, W, 3)`` uint8 input crop, keypoints ``(K, 2)`` input px,
        visible ``(K,)``, ``euler`` ``(3,)`` float32 degrees of the crop (nan when the sample has
        none), and the crop parameters ``center``, ``scale``, ``rot``, ``flipped``; plus
        ``handedness`` (swapped when flipped) if the sample has one."""
        w, h = self.input_size
        center, scale = bbox_to_center_scale(np.asarray(sample["bbox"], np.float64), w / h, self.padding)
        keypoints = np.asarray(sample["keypoints"], np.float32)
        visible = np.asarray(sample["visible"], np.float32).copy()
        rot = 0.0
        flipped = False
        if self.train:
            if upper_body and rng.random() < self.half_body_prob:
                center, scale = self._half_body(keypoints, visible, upper_body, center, scale, w / h, rng)
            scale = scale * rng.uniform(1 - self.scale_factor, 1 + self.scale_factor)
            if rng.random() < self.rot_prob:
                rot = float(np.clip(rng.normal() * self.rot_factor, -self.rot_factor, self.rot_factor))
        affine = get_affine(center, scale, rot, self.input_size, udp=self.udp)
        if "image" not in sample:
            raise ValueError("TopDownTransform: the sample has no 'image' (a source must return the decoded image)")
        image = warp_image(sample["image"], affine, self.input_size)
        kpts = transform_points(keypoints, affine).astype(np.float32)
        if self.photometric is not None:
            # albumentations keeps its own unseeded generators: drive them from ``rng`` so that
            # a seeded run (and a resumed one) sees the same augmentations
            self.photometric.set_random_state(rng, random.Random(int(rng.integers(2**63))))
            image = self.photometric(image=image, keypoints=kpts)["image"]
        if self.train and flip_indices is not None and rng.random() < self.flip_prob:
            image = np.ascontiguousarray(image[:, ::-1])
            kpts = kpts[flip_indices].copy()
            kpts[:, 0] = w - 1 - kpts[:, 0]
            visible = visible[flip_indices]
            flipped = True
        euler = crop_euler(sample.get("euler"), rot, flipped)
        out = {
            "image": image,
            "keypoints": kpts,
            "visible": visible,
            "center": center.astype(np.float32),
            "scale": np.asarray(scale, np.float32),
            "rot": np.float32(rot),
            "flipped": flipped,
            "euler": euler,
        }
        if "handedness" in sample:  # a mirrored left hand is a right hand (keypoint order unchanged)
            out["handedness"] = flip_handedness(sample["handedness"]) if flipped else sample["handedness"]
        return out

    def _half_body(
        self,
        keypoints: np.ndarray,
        visible: np.ndarray,
        upper_body: Sequence[int],
        center: np.ndarray,
        scale: np.ndarray,
        aspect: float,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        vis = visible > 0
        if vis.sum() < self.half_body_min:
            return center, scale
        upper = np.zeros_like(vis)
        upper[list(upper_body)] = True
        part = vis & upper if (vis & upper).sum() >= 2 and rng.random() < 0.5 else vis & ~upper
        if part.sum() < 2:
            part = vis & upper
        if part.sum() < 2:
            return center, scale
        pts = keypoints[part]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        box = np.array([x0, y0, max(x1 - x0, 1.0), max(y1 - y0, 1.0)])
        return bbox_to_center_scale(box, aspect, self.padding * 1.2)


def crop_euler(euler: Any, rot: float, flipped: bool) -> np.ndarray:
    """Head-pose angles of the crop: the sample's rotated by ``rot`` degrees, then flipped.

    Args:
        euler: ``(3,)`` yaw, pitch, roll degrees of the sample, or ``None`` (no label).
        rot: crop rotation, degrees (positive = content turns counter-clockwise, as
            ``cv2.getRotationMatrix2D``; :func:`landmarks.geometry.rotate_roll`'s ``angle``).
        flipped: the crop was mirrored horizontally.

    Returns:
        ``(3,)`` float32 degrees; all nan when ``euler`` is ``None`` or not finite.
    """
    a = np.full(3, np.nan) if euler is None else np.asarray(euler, dtype=np.float64).reshape(-1)
    if a.shape != (3,):
        raise ValueError(f"sample 'euler' must be (3,) yaw, pitch, roll degrees, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        return np.full(3, np.nan, np.float32)
    if rot != 0.0:
        a = np.array(rotate_roll(a[0], a[1], a[2], rot), dtype=np.float64)
    if flipped:
        a = np.array(flip_euler(a[0], a[1], a[2]), dtype=np.float64)
    return a.astype(np.float32)


HANDEDNESS = ("left", "right")


def flip_handedness(handedness: str) -> str:
    """``"left"`` <-> ``"right"``: the handedness of a horizontally mirrored hand."""
    if handedness not in HANDEDNESS:
        raise ValueError(f"handedness must be one of {HANDEDNESS}, got {handedness!r}")
    return HANDEDNESS[1 - HANDEDNESS.index(handedness)]


def _photometric(strength: float) -> A.Compose:
    """Colour, blur and noise changes; ``strength`` in [0, 1] scales probabilities."""
    s = float(np.clip(strength, 0.0, 1.0))
    return A.Compose(
        [
            A.ColorJitter(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.03, p=0.8 * s),
            A.ToGray(p=0.1 * s),
            A.GaussianBlur(blur_limit=(3, 5), p=0.2 * s),
            A.GaussNoise(std_range=(0.02, 0.06), p=0.2 * s),
        ],
        keypoint_params=A.KeypointParams(format="xy", remove_invisible=False),
    )
