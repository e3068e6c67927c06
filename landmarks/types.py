"""Typed containers that flow through the pipeline, and the shape legend.

Shape legend used in every docstring of the project:

* ``B`` batch, ``K`` keypoints, ``H, W`` image or heatmap height/width, ``C`` channels.
* Coordinates are ``(x, y)`` in pixels; the frame is named where it matters:
  *image px* (original image), *input px* (the cropped network input), *heatmap px*.
* Visibility follows COCO: ``0`` not labelled, ``1`` labelled but occluded, ``2`` visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Required, TypedDict

import numpy as np


class Sample(TypedDict, total=False):
    """One annotated instance (one person / hand / face) in one image.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB, the whole image.
        keypoints: ``(K, 2)`` float32 image px.
        visible: ``(K,)`` float32 COCO visibility 0/1/2.
        bbox: ``(4,)`` float32 ``x, y, w, h`` image px.
        area: instance area in image px^2 (COCO ``area``; used by OKS).
        image_id: integer id of the image (COCO ``image_id``).
        id: integer id of the instance (annotation id, or -1).
        score: detection score of the box (1.0 for ground-truth boxes).
        head_size: MPII head size (px) for PCKh, when known.
        euler: ``(3,)`` yaw, pitch, roll in degrees, when known.
        path: the image file, for error messages ('' for rendered images).
        handedness: ``"left"`` or ``"right"`` for a hand, when known (a horizontal flip swaps it).
        attributes: dataset attribute flags of the instance, when the format has them (WFLW:
            ``(6,)`` uint8 pose, expression, illumination, make-up, occlusion, blur).
    """

    image: np.ndarray  # absent from the instances a synthetic renderer lists (one image, many instances)
    keypoints: Required[np.ndarray]
    visible: Required[np.ndarray]
    bbox: Required[np.ndarray]
    area: float
    image_id: int
    id: int
    score: float
    head_size: float
    euler: np.ndarray
    path: str
    handedness: str
    attributes: np.ndarray


@dataclass
class Prediction:
    """Decoded model output for a batch, in original-image pixels.

    Attributes:
        keypoints: ``(B, K, 2)`` image px.
        scores: ``(B, K)`` per-keypoint confidence (heatmap maximum).
        extras: task-specific outputs, e.g. ``{"euler": (B, 3) degrees}``.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)
