"""Occluders in front of a synthetic face: a hand (the hand renderer's) or a flat object.

A hand reuses :mod:`.hand_skeleton`, :mod:`.hand_poses` and :func:`.hand_figure.hand_parts`:
a random posed hand (left or right, the face's skin tone) with its palm near a landmark, a
little in front of the face, the forearm pointing down or sideways out of the picture, seen by
the face's own pinhole camera (the hand renderer works in metres, the face in centimetres; a
pinhole projection does not care). An object is one of :func:`.texture.occluder_strokes`.
Both are drawn over the finished face into the image and an id buffer; landmarks under the id
buffer become occluded (COCO ``v = 1``). To add an occluder (a cup, a microphone), return strokes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from landmarks.data.synthetic.body.figure import Camera
from landmarks.data.synthetic.common.raster import draw_strokes
from landmarks.data.synthetic.common.texture import occluder_strokes
from landmarks.data.synthetic.hand.figure import hand_parts, sample_hand_look
from landmarks.data.synthetic.hand.poses import sample_hand_pose
from landmarks.data.synthetic.hand.scene import random_rotation
from landmarks.data.synthetic.hand.skeleton import hand_forward_kinematics, mirror, sample_hand_shape

__all__ = ["draw_occluder"]


def _hand_strokes(
    rng: np.random.Generator, target: np.ndarray, centre: np.ndarray, k_mat: np.ndarray, skin: np.ndarray
) -> list[list]:
    """Stroke lists (one per hand part, back to front) of a hand near camera point ``target`` (cm)."""
    hand = hand_forward_kinematics(sample_hand_pose(rng)[1], sample_hand_shape(rng))
    if rng.random() < 0.5:
        hand = mirror(hand)
    out = target[:2] - centre[:2] * target[2] / max(centre[2], 1e-6)  # from the face centre to the target
    out = out / max(np.linalg.norm(out), 1e-6)
    away = np.array([0.0, 1.0]) + 0.8 * out
    away /= np.linalg.norm(away)
    best, rot = -np.inf, np.eye(3)
    for _ in range(16):  # the forearm leaves the picture downwards / outwards, never at the camera
        r = random_rotation(rng)
        fore = r @ hand.forearm
        score = float(fore[:2] @ away) - 2.0 * max(0.0, -0.2 - float(fore[2]))
        if score > best:
            best, rot = score, r
        if score > 0.6:
            break
    z = max(float(target[2]) - rng.uniform(2.0, 7.0), 15.0)
    palm_xy = target[:2] * z / target[2] + out * rng.uniform(5.0, 12.0)  # mostly beside the face
    palm = hand.palm.mean(0)
    trans = np.append(palm_xy, z) / 100.0 - rot @ palm  # metres
    cam = Camera(float(k_mat[0, 0]), float(k_mat[0, 2]), float(k_mat[1, 2]))
    angle = rng.uniform(200.0, 340.0) * np.pi / 180.0
    look = sample_hand_look(rng, skin)
    look = replace(look, forearm=min(look.forearm, 1.3))
    parts, _, _ = hand_parts(hand, rot, trans, cam, look, np.array([np.cos(angle), np.sin(angle)]))
    return [part.strokes for part in parts]


def draw_occluder(
    rng: np.random.Generator,
    image: np.ndarray,
    cam_points: np.ndarray,
    k_mat: np.ndarray,
    skin: tuple[float, float, float],
    box_size: float,
) -> np.ndarray:
    """Draws a hand (55 %) or an object (45 %) over part of the face.

    Args:
        rng: random generator.
        image: ``(H, W, 3)`` uint8 RGB, drawn in place.
        cam_points: ``(K, 3)`` face landmarks in the camera frame (cm, x right, y down, z forward);
            the occluder goes near one of them.
        k_mat: ``(3, 3)`` camera intrinsics.
        skin: the face's skin colour (a hand gets the same tone).
        box_size: longer side of the face's landmark box, px.

    Returns:
        ``(H, W)`` bool mask of the occluder's silhouette.
    """
    label = np.zeros(image.shape[:2], dtype=np.uint8)
    k = int(rng.integers(len(cam_points)))
    if rng.random() < 0.55:
        centre = cam_points.mean(0)
        for pid, strokes in enumerate(_hand_strokes(rng, cam_points[k], centre, k_mat, np.asarray(skin)), start=1):
            draw_strokes(image, label, strokes, pid)
    else:
        size = rng.uniform(0.3, 0.6) * box_size
        uvw = k_mat @ cam_points[k]
        spot = tuple(uvw[:2] / uvw[2] + rng.normal(0.0, 0.1 * box_size, 2))
        draw_strokes(image, label, occluder_strokes(rng, spot, size), 1)
    return label > 0
