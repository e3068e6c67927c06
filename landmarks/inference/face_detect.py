"""Face boxes for inference without a detection file: OpenCV's Haar cascade (Viola & Jones).

:class:`HaarFaceDetector` runs ``haarcascade_frontalface_default.xml`` (Viola & Jones, "Rapid
Object Detection using a Boosted Cascade of Simple Features", CVPR 2001; Lienhart & Maydt's
extended features, ICIP 2002) through ``cv2.CascadeClassifier`` on the equalised grey image and
maps each detection to the box the face models were trained on: the box of the 68 landmarks
(brows to chin, jaw side to jaw side), which the crop then pads by 1.25 like any training box.

Calibration: on the 9 real faces of ``shared/realdata`` that the cascade finds (300W, 300W-LP,
WFLW, COCO-WholeBody; OpenCV 4.14) the landmark box is *smaller* than the Haar square, not larger:
median width and height 0.86 of its side, its centre 0.13 side below the square's centre (the
square covers the forehead, which the landmarks do not) and 0.02 side sideways (noise: kept at 0). Hence the
defaults ``scale=0.86``, ``shift=(0.0, 0.13)``; set ``scale > 1`` to keep more context.

Availability: the cascade files ship inside the ``opencv-python(-headless)`` 4.x wheels
(``cv2.data.haarcascades``); OpenCV 5 moved ``CascadeClassifier`` out of the main modules and its
wheels carry no cascade files. :func:`haar_available` says which part is missing;
``cascade_path=`` names a cascade file kept elsewhere.

No face found: :meth:`HaarFaceDetector.detect` returns ``(0, 5)``; inference
(:func:`landmarks.inference.loop.run_inference`) names the first such frame in a warning, counts them
all in its closing summary and follows ``no_box`` (``image``: the whole frame as one box, entries
marked ``box_source: "image"``; ``skip``: no entry for the frame). To add a sibling detector (e.g. YuNet via
``cv2.FaceDetectorYN`` and a local ONNX file), give it the same ``detect(image) -> (N, 5)``.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

__all__ = ["DEFAULT_CASCADE", "HaarFaceDetector", "haar_available"]

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


def _default_path() -> str | None:
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    return os.path.join(folder, DEFAULT_CASCADE) if folder else None


def haar_available(cascade_path: str | None = None) -> tuple[bool, str]:
    """Whether the Haar detector can run here: ``(True, path)`` or ``(False, why not)``."""
    if not hasattr(cv2, "CascadeClassifier"):
        return False, (
            f"OpenCV {cv2.__version__} has no cv2.CascadeClassifier (OpenCV 5 moved it out of the "
            "main modules); install opencv-python-headless<5 for the Haar face detector"
        )
    path = cascade_path or _default_path()
    if path and os.path.isfile(path):
        return True, path
    if cascade_path:
        return False, f"cascade_path: Haar cascade file '{cascade_path}' not found"
    return False, (
        f"Haar cascade file not found: '{path}' (OpenCV {cv2.__version__}'s cv2.data.haarcascades has "
        "none); pass cascade_path= to a haarcascade_frontalface_*.xml"
    )


class HaarFaceDetector:
    """Frontal-face boxes from OpenCV's Haar cascade, mapped to landmark-box size.

    Args:
        cascade_path: cascade XML; default ``cv2.data.haarcascades`` + ``haarcascade_frontalface_default.xml``.
        scale_factor: image pyramid step of ``detectMultiScale``.
        min_neighbors: overlapping raw detections needed to keep a face (higher: fewer false faces).
        min_size: smallest face side, as a fraction of the shorter image side.
        scale: output box side / Haar square side (module docstring: 0.86 matches the 68-landmark box).
        shift: ``(dx, dy)`` of the output box centre, in Haar square sides (y down).
        max_faces: keep at most this many faces, largest first (``None``: all).

    Raises:
        RuntimeError: when the cascade cannot run here (message from :func:`haar_available`).
    """

    name = "haar"
    category = "face"  # what its boxes hold: models whose tasks say box_category "face" take them

    def __init__(
        self,
        cascade_path: str | None = None,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: float = 0.04,
        scale: float = 0.86,
        shift: tuple[float, float] = (0.0, 0.13),
        max_faces: int | None = None,
    ) -> None:
        ok, what = haar_available(cascade_path)
        if not ok:
            raise RuntimeError(f"face_detector=haar: {what}")
        self.classifier = cv2.CascadeClassifier(what)
        if self.classifier.empty():
            raise RuntimeError(f"face_detector=haar: OpenCV could not load the cascade '{what}'")
        self.path = what
        self.scale_factor, self.min_neighbors, self.min_size = float(scale_factor), int(min_neighbors), float(min_size)
        self.scale, self.shift = float(scale), (float(shift[0]), float(shift[1]))
        self.max_faces = max_faces

    def detect(self, image: np.ndarray) -> np.ndarray:
        """Face boxes of one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB (or ``(H, W)`` grey).

        Returns:
            ``(N, 5)`` float32 ``x, y, w, h`` image px (landmark-box size, may reach outside the
            image) and a score (1.0: the cascade gives no calibrated confidence), largest first;
            ``(0, 5)`` when no face is found.
        """
        img = np.asarray(image)
        if img.dtype != np.uint8 or img.ndim not in (2, 3):
            raise ValueError(
                f"HaarFaceDetector.detect: expected an (H, W, 3) or (H, W) uint8 image, got {img.shape} {img.dtype}"
            )
        grey = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        side = max(int(self.min_size * min(grey.shape[:2])), 16)
        found = self.classifier.detectMultiScale(
            cv2.equalizeHist(grey), scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(side, side)
        )
        boxes = np.asarray(found, np.float64).reshape(-1, 4)
        boxes = boxes[np.argsort(-boxes[:, 2] * boxes[:, 3], kind="stable")][: self.max_faces]
        cx = boxes[:, 0] + boxes[:, 2] * (0.5 + self.shift[0])
        cy = boxes[:, 1] + boxes[:, 3] * (0.5 + self.shift[1])
        w, h = boxes[:, 2] * self.scale, boxes[:, 3] * self.scale
        out = np.stack([cx - w / 2, cy - h / 2, w, h, np.ones(len(boxes))], axis=1)
        return out.astype(np.float32)
