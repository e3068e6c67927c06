"""Predictor: a checkpoint file -> predictions on images, folders, globs and videos.

``Predictor.from_checkpoint(path)`` rebuilds the model from the file alone (weights +
resolved config, loaded with ``weights_only=True``). Boxes come from the caller, from a
COCO results-format detection file, from a face detector (face and head-pose models, e.g.
:class:`landmarks.inference.face_detect.HaarFaceDetector`), or default to the whole image; each entry
names its ``box_source`` (``"det_file"``, the detector's ``name``, or ``"image"``).

Outputs are COCO results-format entries (plus box and per-keypoint scores) and overlay
pictures, one entry per box and landmark task. A head-pose task adds ``euler`` and ``yaw``,
``pitch``, ``roll`` (degrees, :mod:`landmarks.geometry`) to the entries of its box (a pose-only
model gets one entry per box); with ``pnp=True`` a 68-point face task adds ``pnp_euler``, the
landmark-based pose of :func:`landmarks.inference.pnp.solve_head_pose`, and ``pnp_error_px``, its mean
reprojection error (both ``null`` where it fails), so the two approaches can be compared. Overlays draw landmarks, boxes and the pose gizmo
(:func:`landmarks.viz.draw_head_pose`: x red, y green, z blue) at the face centre.
"""

from __future__ import annotations

import glob
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterator, Protocol, Sequence

import cv2
import numpy as np
import torch
from torch.utils.data import default_collate

from landmarks import viz
from landmarks.data.formats.errors import AnnotationError, load_image_rgb
from landmarks.inference.det_file import Detections, Key, image_key, load_detections
from landmarks.data.transforms import TopDownTransform
from landmarks.module import LandmarkModule
from landmarks.inference.pnp import solve_head_pose
from landmarks.types import Prediction

log = logging.getLogger("landmarks")

__all__ = ["FaceDetector", "Predictor", "iter_frames", "load_detections", "run_inference"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
ON_BAD_IMAGE = ("skip", "error")
NO_BOX = ("image", "skip")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
FACE_LAYOUTS = ("ibug68", "wflw98")
"""Layout names (:mod:`landmarks.layouts.face`) that make a landmark task a face task."""


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
    keys: tuple[Key, ...] = ()  # what detection-file entries may call it (landmarks.inference.det_file)


@dataclass
class _Tally:
    """What one inference run did, for its closing summary line."""

    images: int = 0
    entries: int = 0
    unreadable: list[str] = field(default_factory=list)
    no_detection: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)


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
def iter_frames(source: str, on_bad_image: str = "skip", skipped: list[str] | None = None) -> Iterator[_Frame]:
    """Frames of an image file, a folder, a glob pattern, or a video file.

    Args:
        source: an image, a folder, a glob or a video.
        on_bad_image: an image that cannot be decoded (missing, corrupt, truncated:
            :func:`landmarks.data.formats.errors.load_image_rgb`): ``"skip"`` logs a warning
            naming it and goes on, ``"error"`` raises.
        skipped: receives the paths of skipped images.

    Raises:
        AnnotationError: an unreadable image with ``on_bad_image="error"``.
        FileNotFoundError: ``source`` names no image, folder, glob match or video.
    """
    if on_bad_image not in ON_BAD_IMAGE:
        raise ValueError(f"on_bad_image: expected one of {', '.join(ON_BAD_IMAGE)}, got {on_bad_image!r}")
    if os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS):
        cap = cv2.VideoCapture(source)
        if not cap.isOpened():
            raise ValueError(f"source: cannot open video '{source}'")
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            name = f"frame_{i:06d}"
            yield _Frame(name, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), i, (i, name))
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
        try:
            image = load_image_rgb(path, field="source")
        except AnnotationError as err:
            if on_bad_image == "error":
                err.add_note("(infer: on_bad_image=skip goes on without it)")
                raise
            log.warning("infer: skipping unreadable image %s (on_bad_image=skip)", err)
            if skipped is not None:
                skipped.append(path)
            continue
        key = image_key(path)
        yield _Frame(os.path.basename(path), image, key if isinstance(key, int) else i, (key,))


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
    on_bad_image: str = "skip",
    no_box: str = "image",
) -> str:
    """Predict on ``source``; write ``predictions.json`` and overlays under ``out_dir``.

    Nothing is lost: each image's entries are appended to ``predictions.jsonl`` (one JSON object
    a line, flushed per image) as they are made; at the end they become ``predictions.json`` (a
    JSON list, written atomically) and the ``.jsonl`` is removed. After a crash the ``.jsonl``
    holds every image done so far (a stale ``predictions.json`` is removed at the start). One
    summary line at the end counts images, predictions and everything skipped.

    Args:
        predictor: the model.
        source: an image, a folder, a glob or a video.
        out_dir: output folder.
        det_file: COCO results-format boxes, matched to images by ``image_id`` and by file name
            (:mod:`landmarks.inference.det_file`); validated entry by entry. First choice for the boxes.
        det_score_thr: minimum detection score.
        draw_heatmaps: overlay heatmaps (heatmap tasks).
        kpt_thr: minimum keypoint score to draw a point and to use it in the PnP fit.
        face_detector: the boxes when there is no ``det_file``.
        pnp: add ``pnp_euler`` to 68-point face entries (module docstring).
        pnp_focal: PnP focal length px (default: the image width, :mod:`landmarks.inference.pnp`).
        on_bad_image: an unreadable image: ``"skip"`` (warning naming it, counted) or ``"error"``.
        no_box: an image without a box (no entry in ``det_file``, or no face found by
            ``face_detector``): ``"image"`` predicts on the whole image as one box
            (``box_source: "image"``), ``"skip"`` writes no entry for it. Either way the first
            such image is named in a warning and all are counted in the summary.

    Returns:
        The path of ``predictions.json``.

    Raises:
        AnnotationError: a bad ``det_file`` entry, or an unreadable image with ``on_bad_image="error"``.
        ValueError: no image of ``source`` could be read, or a bad option value.
    """
    if no_box not in NO_BOX:
        raise ValueError(f"no_box: expected one of {', '.join(NO_BOX)}, got {no_box!r}")
    os.makedirs(out_dir, exist_ok=True)
    detections = Detections.load(det_file, det_score_thr) if det_file else None
    is_video = os.path.isfile(source) and source.lower().endswith(VIDEO_EXTENSIONS)
    path, lines_path = os.path.join(out_dir, "predictions.json"), os.path.join(out_dir, "predictions.jsonl")
    if os.path.exists(path):
        os.remove(path)  # never leave last run's file beside this run's partial .jsonl
        log.info("infer: removed the previous %s; it is rewritten when this run ends", path)
    tally = _Tally()
    writer = None
    with open(lines_path, "w", encoding="utf-8") as lines:
        try:
            for frame in iter_frames(source, on_bad_image, tally.unreadable):
                tally.images += 1
                boxes, box_scores, box_source = _frame_boxes(frame, detections, face_detector, no_box, tally)
                entries, overlay = _predict_frame(predictor, frame, boxes, box_scores, box_source, draw_heatmaps,
                                                  kpt_thr, pnp, pnp_focal)
                if is_video:
                    if writer is None:
                        h, w = frame.image.shape[:2]
                        writer = cv2.VideoWriter(os.path.join(out_dir, "overlay.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, (w, h))
                    writer.write(cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
                else:
                    viz.save_image(os.path.join(out_dir, "overlays", os.path.splitext(frame.name)[0] + ".jpg"), overlay)
                for entry in entries:
                    lines.write(json.dumps(entry) + "\n")
                lines.flush()  # a crash keeps every image done so far
                tally.entries += len(entries)
        except BaseException:
            log.error("infer: stopped after %d images; the %d predictions made so far are in %s",
                      tally.images, tally.entries, lines_path)
            raise
        finally:
            if writer is not None:
                writer.release()
    _summarise(tally, detections, source, no_box)
    with open(lines_path, encoding="utf-8") as f:
        results = [json.loads(line) for line in f if line.strip()]
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f)
    os.replace(tmp, path)
    os.remove(lines_path)
    return path


def _predict_frame(
    predictor: Predictor, frame: _Frame, boxes: np.ndarray | None, box_scores: np.ndarray | None, box_source: str,
    draw_heatmaps: bool, kpt_thr: float, pnp: bool, pnp_focal: float | None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One frame's result entries and overlay (boxes as from :func:`_frame_boxes`)."""
    results: list[dict[str, Any]] = []
    skip = boxes is not None and len(boxes) == 0  # no_box=skip
    preds = {} if skip else predictor.predict(frame.image, boxes, return_heatmaps=draw_heatmaps)
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
    return results, overlay


def _summarise(tally: _Tally, detections: Detections | None, source: str, no_box: str) -> None:
    """The closing summary line; an error when no image could be read at all."""
    if tally.images == 0:
        raise ValueError(f"source: none of the {len(tally.unreadable)} images of '{source}' could be read "
                         f"(each named in a warning above, e.g. {tally.unreadable[0]!r})")
    unmatched, unmatched_boxes, examples = detections.unmatched() if detections is not None else (0, 0, [])
    if unmatched:
        log.warning("infer: %d image ids of det_file %s (%d boxes) match no image of '%s', e.g. %s; images are "
                    "matched by image_id and by file name without folders and extension (landmarks/inference/det_file.py)",
                    unmatched, detections.det_file, unmatched_boxes, source, examples)  # type: ignore[union-attr]
    rule = "whole image used" if no_box == "image" else "skipped"
    problems = [f"{len(tally.unreadable)} unreadable images skipped"] if tally.unreadable else []
    problems += [f"{len(tally.no_detection)} images without detections ({rule})"] if tally.no_detection else []
    problems += [f"{len(tally.no_face)} images without a detected face ({rule})"] if tally.no_face else []
    problems += [f"{unmatched} detection ids matched no image"] if unmatched else []
    log.log(logging.WARNING if problems else logging.INFO, "infer: %d images read, %d predictions written%s",
            tally.images, tally.entries, "; " + "; ".join(problems) if problems else "")


def _frame_boxes(
    frame: _Frame, detections: Detections | None, face_detector: FaceDetector | None, no_box: str, tally: _Tally
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """``(boxes (N, 4) | None, scores (N,) | None, box_source)``: the detection file, else the detector, else the image.

    ``None`` boxes: the whole image; ``(0, 4)`` boxes: no box and ``no_box="skip"``. A missing box is
    warned about once (the first image) and counted in ``tally``.
    """
    if detections is None and face_detector is None:
        return None, None, "image"
    if detections is not None:
        dets = detections.boxes_for(frame.keys)
        if dets is not None:
            return dets[:, :4], dets[:, 4], "det_file"
        missing, what = tally.no_detection, f"has no detection in det_file {detections.det_file} (matched by id and file name)"
    else:
        dets = face_detector.detect(frame.image)  # type: ignore[union-attr]
        if len(dets):
            return dets[:, :4], dets[:, 4], face_detector.name  # type: ignore[union-attr]
        missing, what = tally.no_face, f"has no face found by the {face_detector.name} detector"  # type: ignore[union-attr]
    missing.append(frame.name)
    if len(missing) == 1:
        rule = "predicting on the whole image as one box" if no_box == "image" else "writing no prediction for it"
        log.warning("infer: image %s %s; %s (no_box=%s). Further such images are counted in the summary",
                    frame.name, what, rule, no_box)
    if no_box == "skip":
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), "none"
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
