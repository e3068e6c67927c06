"""Predictor: a checkpoint file -> predictions on images, folders, globs and videos.

``Predictor.from_checkpoint(path)`` rebuilds the model from the file alone (weights +
resolved config, loaded with ``weights_only=True``). Boxes come from the caller, from a
COCO results-format detection file, from a face detector (face and head-pose models, e.g.
:class:`landmarks.face_detect.HaarFaceDetector`), or default to the whole image; each entry
names its ``box_source`` (``"det_file"``, the detector's ``name``, or ``"image"``).

Outputs are COCO results-format entries (plus box and per-keypoint scores) and overlay
pictures, one entry per box and landmark task. A head-pose task adds ``euler`` and ``yaw``,
``pitch``, ``roll`` (degrees, :mod:`landmarks.geometry`) to the entries of its box (a pose-only
model gets one entry per box); with ``pnp=True`` a 68-point face task adds ``pnp_euler``, the
landmark-based pose of :func:`landmarks.pnp.solve_head_pose`, and ``pnp_error_px``, its mean
reprojection error (both ``null`` where it fails), so the two approaches can be compared. Overlays draw landmarks, boxes and the pose gizmo
(:func:`landmarks.viz.draw_head_pose`: x red, y green, z blue) at the face centre.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import default_collate

from landmarks import viz
from landmarks.data.formats.errors import load_image_rgb
from landmarks.data.transforms import TopDownTransform
from landmarks.module import LandmarkModule
from landmarks.pnp import solve_head_pose
from landmarks.types import Prediction

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
FACE_LAYOUTS = ("ibug68", "wflw98")
"""Layout names (:mod:`landmarks.face_layouts`) that make a landmark task a face task."""


class FaceDetector(Protocol):
    """What :func:`run_inference` needs of a face detector."""

    name: str

    def detect(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB -> ``(N, 5)`` ``x, y, w, h`` px + score."""
        ...


@dataclass
class _Frame:
    name: str
    image: np.ndarray
    image_id: int


class Predictor:
    """Run a trained :class:`LandmarkModule` on whole images.

    Args:
        model: the trained model (eval mode).
        batch_size: crops per forward pass.
    """

    def __init__(self, model: LandmarkModule, batch_size: int = 32) -> None:
        self.model = model.eval()
        self.batch_size = batch_size
        codecs = {n: t.codec for n, t in model.tasks.items()}
        first = next(iter(codecs.values()))
        self.input_size = tuple(first.input_size)
        self.transform = TopDownTransform(self.input_size, train=False, udp=any(getattr(c, "udp", False) for c in codecs.values()))
        self.codecs = codecs

    @property
    def is_face_model(self) -> bool:
        """Every task predicts face landmarks (a :data:`FACE_LAYOUTS` spec) or head pose (no spec)."""
        specs = [getattr(t, "spec", None) for t in self.model.tasks.values()]
        return all(s is None or s.name in FACE_LAYOUTS for s in specs)

    @classmethod
    def from_checkpoint(cls, path: str, flip_test: bool | None = None, batch_size: int = 32) -> "Predictor":
        """Rebuild the model from ``path`` (no other file needed)."""
        from landmarks.run import load_model  # run.py is the only place that handles configs

        model, _ = load_model(path)
        if flip_test is not None:
            model.flip_test = bool(flip_test)
        return cls(model, batch_size=batch_size)

    @torch.no_grad()
    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None, return_heatmaps: bool = False) -> dict[str, Prediction]:
        """Predict every task for each box of one image.

        Args:
            image: ``(H, W, 3)`` uint8 RGB.
            boxes: ``(N, 4)`` xywh image px; ``None`` uses the whole image as one box.
            return_heatmaps: keep raw head outputs in ``Prediction.extras["heatmaps"]``.

        Returns:
            ``{task: Prediction}`` with ``keypoints (N, K, 2)`` image px and ``scores (N, K)``.
        """
        h, w = image.shape[:2]
        boxes = np.array([[0, 0, w, h]], np.float32) if boxes is None or len(boxes) == 0 else np.asarray(boxes, np.float32)
        items = [self._item(image, box) for box in boxes]
        results: dict[str, list[Prediction]] = {}
        for start in range(0, len(items), self.batch_size):
            batch = default_collate(items[start : start + self.batch_size])
            outs = self.model.predict_outputs(batch["image"])
            for name, out in outs.items():
                pred = self.model.tasks[name].decode(out, batch)
                if return_heatmaps:
                    pred.extras["heatmaps"] = out.float().cpu().numpy()
                results.setdefault(name, []).append(pred)
        return {name: _concat(preds) for name, preds in results.items()}

    def _item(self, image: np.ndarray, box: np.ndarray) -> dict[str, Any]:
        k = 1
        sample = {"image": image, "bbox": box, "keypoints": np.zeros((k, 2), np.float32), "visible": np.zeros(k, np.float32)}
        crop = self.transform(sample, np.random.default_rng(0))
        return {
            "image": torch.from_numpy(np.ascontiguousarray(crop["image"])).permute(2, 0, 1),
            "meta": {"center": crop["center"], "scale": crop["scale"], "rot": crop["rot"]},
        }


def _concat(preds: Sequence[Prediction]) -> Prediction:
    extras = {k: np.concatenate([p.extras[k] for p in preds]) for k in preds[0].extras}
    return Prediction(np.concatenate([p.keypoints for p in preds]), np.concatenate([p.scores for p in preds]), extras)


# --- sources and the inference loop ---------------------------------------------------------
def iter_frames(source: str) -> Iterator[_Frame]:
    """Frames of an image file, a folder, a glob pattern, or a video file."""
    if os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise ValueError(f"source: cannot open video '{source}'")
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            yield _Frame(f"frame_{i:06d}", cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), i)
            i += 1
        cap.release()
        return
    if os.path.isdir(source):
        paths = sorted(p for p in glob.glob(os.path.join(source, "*")) if p.lower().endswith(IMAGE_EXTENSIONS))
    elif os.path.isfile(source):
        paths = [source]
    else:
        paths = sorted(p for p in glob.glob(source) if p.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise FileNotFoundError(f"source: '{source}' is not an image, a folder of images, a glob matching images, or a video")
    for i, path in enumerate(paths):
        stem = os.path.splitext(os.path.basename(path))[0]
        yield _Frame(os.path.basename(path), load_image_rgb(path), int(stem) if stem.isdigit() else i)


def load_detections(det_file: str, score_thr: float) -> dict[int, np.ndarray]:
    """COCO results-format person boxes grouped by ``image_id`` -> ``(N, 5)`` xywh + score."""
    try:
        with open(det_file) as f:
            dets = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"det_file: cannot read '{det_file}' as a COCO results JSON list: {err}") from err
    if not isinstance(dets, list):
        raise ValueError(f"det_file: '{det_file}' must hold a JSON list of detections, got {type(dets).__name__}")
    by_image: dict[int, list[list[float]]] = {}
    for j, d in enumerate(dets):
        if not {"image_id", "bbox", "score"} <= set(d):
            raise ValueError(f"det_file: '{det_file}' entry {j} lacks 'image_id', 'bbox' or 'score'")
        if d.get("category_id", 1) == 1 and d["score"] >= score_thr:
            by_image.setdefault(int(d["image_id"]), []).append(list(d["bbox"]) + [float(d["score"])])
    return {k: np.asarray(v, np.float32) for k, v in by_image.items()}


def run_inference(
    predictor: Predictor,
    source: str,
    out_dir: str,
    det_file: str | None = None,
    det_score_thr: float = 0.3,
    draw_heatmaps: bool = False,
    kpt_thr: float = 0.3,
    face_detector: FaceDetector | None = None,
    pnp: bool = False,
    pnp_focal: float | None = None,
) -> str:
    """Predict on ``source``; write ``predictions.json`` and overlays under ``out_dir``.

    Args:
        predictor: the model.
        source: an image, a folder, a glob or a video.
        out_dir: output folder.
        det_file: COCO results-format boxes by ``image_id`` (first choice for the boxes).
        det_score_thr: minimum detection score.
        draw_heatmaps: overlay heatmaps (heatmap tasks).
        kpt_thr: minimum keypoint score to draw a point and to use it in the PnP fit.
        face_detector: the boxes when there is no ``det_file`` (no face found: the whole image).
        pnp: add ``pnp_euler`` to 68-point face entries (module docstring).
        pnp_focal: PnP focal length px (default: the image width, :mod:`landmarks.pnp`).

    Returns:
        The path of ``predictions.json``.
    """
    os.makedirs(out_dir, exist_ok=True)
    detections = load_detections(det_file, det_score_thr) if det_file else None
    is_video = os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS)
    writer = None
    results: list[dict[str, Any]] = []
    for frame in iter_frames(source):
        boxes, box_scores, box_source = _frame_boxes(frame, detections, face_detector)
        preds = predictor.predict(frame.image, boxes, return_heatmaps=draw_heatmaps)
        h, w = frame.image.shape[:2]
        used = boxes if boxes is not None else np.array([[0, 0, w, h]], np.float32)
        landmark_tasks = [n for n, p in preds.items() if p.keypoints.shape[1] > 0]
        pose = next((p.extras["euler"] for p in preds.values() if "euler" in p.extras), None)
        overlay = frame.image.copy()
        for i in range(len(used)):
            score = float(box_scores[i]) if box_scores is not None else 1.0
            shared = {"box_source": box_source, **(_euler_fields(pose[i]) if pose is not None else {})}
            gizmo = None if pose is None else np.asarray(pose[i], np.float64)
            centre, size = used[i][:2] + used[i][2:4] / 2, 0.5 * float(max(used[i][2], used[i][3]))
            for name in landmark_tasks or list(preds):
                pred = preds[name]
                entry = {**_result_entry(frame, name, pred, i, used[i], score, kpt_thr), **shared}
                spec = getattr(predictor.model.tasks[name], "spec", None)
                if spec is not None:
                    overlay = viz.draw_keypoints(overlay, pred.keypoints[i], pred.scores[i], spec, threshold=kpt_thr)
                    centre, size = _face_anchor(pred.keypoints[i], pred.scores[i] >= kpt_thr, (centre, size))
                if pnp and spec is not None and spec.name == "ibug68":
                    fit = solve_head_pose(pred.keypoints[i], (w, h), mask=pred.scores[i] >= kpt_thr, focal=pnp_focal)
                    entry["pnp_euler"] = None if fit is None else [round(float(a), 3) for a in fit.euler]
                    entry["pnp_error_px"] = None if fit is None else round(fit.reprojection_error, 3)
                    if gizmo is None and fit is not None:
                        gizmo = fit.euler
                if draw_heatmaps and "heatmaps" in pred.extras:
                    overlay = _heatmap_in_box(overlay, pred.extras["heatmaps"][i], used[i])
                results.append(entry)
            if boxes is not None:
                overlay = viz.draw_box(overlay, used[i])
            if gizmo is not None:
                overlay = viz.draw_head_pose(overlay, gizmo, centre, size=size)
        if is_video:
            if writer is None:
                writer = cv2.VideoWriter(os.path.join(out_dir, "overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w, h))
            writer.write(cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
        else:
            viz.save_image(os.path.join(out_dir, "overlays", os.path.splitext(frame.name)[0] + ".jpg"), overlay)
    if writer is not None:
        writer.release()
    path = os.path.join(out_dir, "predictions.json")
    with open(path, "w") as f:
        json.dump(results, f)
    return path


def _frame_boxes(
    frame: _Frame, detections: dict[int, np.ndarray] | None, face_detector: FaceDetector | None
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """``(boxes (N, 4) | None, scores (N,) | None, box_source)``: the detection file, else the detector, else the image."""
    if detections is not None:
        dets = detections.get(frame.image_id)
        if dets is not None:
            return dets[:, :4], dets[:, 4], "det_file"
    elif face_detector is not None:
        dets = face_detector.detect(frame.image)
        if len(dets):
            return dets[:, :4], dets[:, 4], face_detector.name
    return None, None, "image"


def _face_anchor(
    keypoints: np.ndarray, use: np.ndarray, default: tuple[np.ndarray, float]
) -> tuple[np.ndarray, float]:
    """Gizmo centre and axis length: the centre and 0.6 x the longer side of the used landmarks' box."""
    ok = use & np.isfinite(keypoints).all(axis=1)
    if ok.sum() < 2:
        return default
    lo, hi = keypoints[ok].min(axis=0), keypoints[ok].max(axis=0)
    side = float(max(hi - lo))
    return ((lo + hi) / 2, 0.6 * side) if side >= 4.0 else default


def _euler_fields(euler: np.ndarray) -> dict[str, Any]:
    y, p, r = (round(float(a), 3) for a in np.asarray(euler).reshape(3))
    return {"euler": [y, p, r], "yaw": y, "pitch": p, "roll": r}


def _result_entry(frame: _Frame, task: str, pred: Prediction, i: int, box: np.ndarray, box_score: float, kpt_thr: float) -> dict[str, Any]:
    kp = pred.keypoints[i]
    sc = pred.scores[i]
    good = sc > kpt_thr
    instance = box_score * (float(sc[good].mean()) if good.any() else float(sc.size == 0))  # pose only: the box's
    return {
        "image_id": frame.image_id,
        "file_name": frame.name,
        "task": task,
        "category_id": 1,
        "keypoints": np.concatenate([kp, sc[:, None]], axis=1).reshape(-1).round(3).tolist(),
        "score": round(instance, 5),
        "bbox": [round(float(v), 2) for v in box],
        "box_score": round(box_score, 5),
        "keypoint_scores": sc.round(4).tolist(),
        **({k: np.asarray(v[i]).tolist() for k, v in pred.extras.items() if k != "heatmaps"}),
    }


def _heatmap_in_box(image: np.ndarray, heatmaps: np.ndarray, box: np.ndarray) -> np.ndarray:
    x, y, w, h = [int(round(v)) for v in box]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, image.shape[1]), min(y + h, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return image
    out = image.copy()
    out[y0:y1, x0:x1] = viz.overlay_heatmaps(np.ascontiguousarray(image[y0:y1, x0:x1]), heatmaps)
    return out
