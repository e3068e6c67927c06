"""Box detectors for inference: a trained detection checkpoint, and OpenCV's HOG people detector.

Both satisfy :class:`landmarks.inference.loop.BoxDetector`: a ``name`` (written as each entry's
``box_source``), a ``category`` (what the boxes hold, as :class:`~landmarks.inference.face_detect.HaarFaceDetector`
declares ``"face"``) and ``detect(image RGB uint8) -> (N, 5)`` float32 ``x, y, w, h`` image px + score,
best first, ``(0, 5)`` when nothing is found.

* :class:`CheckpointDetector` runs the detection task of a model (``task=detect``,
  :mod:`tasks.detect` through the model's task dict) on the whole frame: the letterbox of
  validation (:class:`landmarks.data.detection.LetterboxTransform`), the model, then the task's
  own ``predict`` (the one output path), filtered by ``category`` and ``score_thr``. Build it from a
  file with :func:`landmarks.run.load_detector` (rebuilding a model from its stored config, loaded
  with ``weights_only=True``, happens only in :mod:`landmarks.run`); a checkpoint without a
  detection task is refused with an error naming the file and the tasks it has.
* :class:`HogPersonDetector`: Dalal & Triggs, "Histograms of Oriented Gradients for Human
  Detection", CVPR 2005, through ``cv2.HOGDescriptor`` and its default people SVM (64 x 128 window).
  Its boxes are the detection windows (the person fills about the middle 50 % x 75 % of one); its score
  is the SVM margin squashed by ``1 / (1 + exp(-margin))`` (same order, in (0, 1)). Ships with
  OpenCV: the fallback for bodies when no detection checkpoint is at hand.
"""

from __future__ import annotations

import os
from typing import Any

import cv2
import numpy as np
import torch

from landmarks.checkpoint import describe_tasks
from landmarks.codecs.centernet import CenterNetCodec
from landmarks.data.detection import LetterboxTransform
from landmarks.inference.predictor import resolve_device
from landmarks.module import LandmarkModule

__all__ = ["CheckpointDetector", "HogPersonDetector", "detection_task_name"]


def detection_task_name(model: LandmarkModule, ckpt_path: str) -> str:
    """The name of the model's detection task (a task whose codec is a :class:`CenterNetCodec`).

    Raises:
        ValueError: naming ``ckpt_path`` and the model's tasks when there is none (e.g. a pose checkpoint).
    """
    names = [n for n, t in model.task_items() if isinstance(t.codec, CenterNetCodec)]
    if not names:
        raise ValueError(
            f"detector: checkpoint '{ckpt_path}' has no detection task (it holds task(s) {describe_tasks(model)}); "
            "give a checkpoint trained with task=detect"
        )
    return names[0]


class CheckpointDetector:
    """Boxes from the detection task of a trained model (module docstring).

    Args:
        model: the loaded model (:func:`landmarks.run.load_detector` loads it from ``ckpt_path``).
        ckpt_path: the checkpoint file it came from (for ``name`` and messages).
        category: keep only boxes of this class (e.g. ``"person"``); ``None``: every class.
        score_thr: boxes scoring below this are dropped.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.

    Raises:
        ValueError: the checkpoint has no detection task, or ``category`` is not one of its classes.
    """

    def __init__(
        self,
        model: LandmarkModule,
        ckpt_path: str,
        category: str | None = None,
        score_thr: float = 0.3,
        device: str = "auto",
    ) -> None:
        self.task_name = detection_task_name(model, ckpt_path)
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.task = model.task(self.task_name)
        self.codec: CenterNetCodec = self.task.codec
        if category is not None and category not in self.codec.categories:
            raise ValueError(
                f"detector: checkpoint '{ckpt_path}' detects {list(self.codec.categories)}, not '{category}'"
            )
        single = self.codec.categories[0] if len(self.codec.categories) == 1 else None
        self.category = category or single
        self.label = None if category is None else self.codec.categories.index(category)
        self.score_thr = float(score_thr)
        self.ckpt_path = ckpt_path
        self.name = f"ckpt:{os.path.basename(ckpt_path)}"
        self.letterbox = LetterboxTransform(self.codec.input_size, train=False)

    @torch.no_grad()
    def detect(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB -> ``(N, 5)`` float32 ``x, y, w, h`` image px + score, best first."""
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"CheckpointDetector.detect: expected an (H, W, 3) uint8 RGB image, got {img.shape} {img.dtype}"
            )
        frame: dict[str, Any] = {"image": img, "boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}
        crop = self.letterbox(frame, np.random.default_rng(0))
        x = torch.from_numpy(np.ascontiguousarray(crop["image"])).permute(2, 0, 1)[None].to(self.device)
        meta = {
            "center": crop["center"][None],
            "scale": crop["scale"][None],
            "rot": np.zeros(1, np.float32),
            "image_size": np.array([[img.shape[1], img.shape[0]]], np.float32),
        }
        out = self.model(x, [self.task_name])[self.task_name]
        pred = self.task.predict(out, {"image": x, "meta": meta})
        boxes, scores = pred.extras["boxes"][0], pred.extras["box_scores"][0]
        keep = scores >= self.score_thr
        if self.label is not None:
            keep &= pred.extras["labels"][0] == self.label
        dets = np.concatenate([boxes[keep], scores[keep, None]], axis=1).astype(np.float32)
        return dets[np.argsort(-dets[:, 4], kind="stable")].reshape(-1, 5)


class HogPersonDetector:
    """People boxes from OpenCV's HOG + linear SVM detector (module docstring).

    Args:
        win_stride: window step in px of ``detectMultiScale``.
        padding: image padding in px around each window.
        scale: image pyramid step.
        upscale: enlarge the image by this factor first (the smallest person found is about 96 px tall
            at 1.0; 2.0 finds people half as tall, 4x slower).
        score_thr: boxes whose squashed score is below this are dropped (0.5: SVM margin > 0).
    """

    name = "hog"
    category = "person"

    def __init__(
        self,
        win_stride: int = 8,
        padding: int = 8,
        scale: float = 1.05,
        upscale: float = 1.0,
        score_thr: float = 0.5,
    ) -> None:
        self.hog = cv2.HOGDescriptor()
        coefficients = np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)  # (3781,) the linear SVM
        self.hog.setSVMDetector(coefficients)
        self.win_stride, self.padding, self.scale = int(win_stride), int(padding), float(scale)
        self.upscale, self.score_thr = float(upscale), float(score_thr)

    def detect(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB -> ``(N, 5)`` float32 ``x, y, w, h`` image px + score, best first."""
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"HogPersonDetector.detect: expected an (H, W, 3) uint8 RGB image, got {img.shape} {img.dtype}"
            )
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        if self.upscale != 1.0:
            grey = cv2.resize(grey, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR)
        if grey.shape[0] < 128 or grey.shape[1] < 64:  # smaller than one detection window
            return np.zeros((0, 5), np.float32)
        rects, weights = self.hog.detectMultiScale(
            grey, winStride=(self.win_stride,) * 2, padding=(self.padding,) * 2, scale=self.scale
        )
        boxes = np.asarray(rects, np.float64).reshape(-1, 4) / self.upscale
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, np.float64).reshape(-1)))
        dets = np.concatenate([boxes, scores[:, None]], axis=1)[scores >= self.score_thr]
        return dets[np.argsort(-dets[:, 4], kind="stable")].astype(np.float32).reshape(-1, 5)
