"""The inference loop: frames -> boxes -> predictions -> (duplicates removed, tracks, smoothing) -> ``predictions.json`` and overlays.

:func:`run_inference` reads frames (:mod:`landmarks.inference.sources`), takes each frame's
boxes from a COCO results-format detection file (:mod:`landmarks.inference.det_file`), else from
a detector (e.g. :class:`landmarks.inference.face_detect.HaarFaceDetector` for face models), else
the whole image, and names that choice in each entry's ``box_source`` (``"det_file"``, the
detector's ``name``, ``"image"``). Entries and overlays come from the tasks' own ``to_json`` and
``draw`` (:mod:`landmarks.inference.results`); they are written as they are made
(:mod:`landmarks.inference.writer`). One summary line at the end counts images, predictions and
everything skipped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from tqdm import tqdm

from landmarks.inference.det_file import Detections
from landmarks.inference.instances import DuplicateFilter, FrameTracker
from landmarks.inference.predictor import Predictor
from landmarks.inference.results import render_frame
from landmarks.inference.sources import Frame, is_video, iter_frames, source_fps
from landmarks.inference.writer import EntryWriter, OverlayWriter

log = logging.getLogger("landmarks")

__all__ = ["NO_BOX", "BoxDetector", "run_inference"]

NO_BOX = ("image", "skip")


class BoxDetector(Protocol):
    """What :func:`run_inference` needs of a detector (e.g. a face detector)."""

    name: str

    def detect(self, image: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB -> ``(N, 5)`` ``x, y, w, h`` px + score."""
        ...


@dataclass
class _Tally:
    """What one inference run did, for its closing summary line."""

    images: int = 0
    entries: int = 0
    unreadable: list[str] = field(default_factory=list)
    no_detection: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)


def run_inference(
    predictor: Predictor,
    source: str,
    out_dir: str,
    det_file: str | None = None,
    det_score_thr: float = 0.3,
    draw_heatmaps: bool = False,
    kpt_thr: float = 0.3,
    face_detector: BoxDetector | None = None,
    pnp: bool = False,
    pnp_focal: float | None = None,
    on_bad_image: str = "skip",
    no_box: str = "image",
    duplicates: DuplicateFilter | None = None,
    tracker: FrameTracker | None = None,
    fps: float | None = None,
) -> str:
    """Predict on ``source``; write ``predictions.json`` and overlays under ``out_dir``.

    Nothing is lost: each image's entries are appended to ``predictions.jsonl`` as they are made
    and become ``predictions.json`` at the end (:class:`~landmarks.inference.writer.EntryWriter`);
    after a crash the ``.jsonl`` holds every image done so far.

    Args:
        predictor: the model.
        source: an image, a folder, a glob, a video or ``webcam:N``.
        out_dir: output folder.
        det_file: COCO results-format boxes, matched to images by ``image_id`` and by file name
            (:mod:`landmarks.inference.det_file`); validated entry by entry. First choice for the boxes.
        det_score_thr: minimum detection score.
        draw_heatmaps: overlay heatmaps (heatmap tasks).
        kpt_thr: minimum keypoint score to draw a point and to use it in the PnP fit.
        face_detector: the boxes when there is no ``det_file`` (any :class:`BoxDetector`: a face
            detector, a person detector, a trained detection checkpoint).
        pnp: add ``pnp_euler`` to entries of 68-point iBUG layouts (:mod:`landmarks.inference.results`).
        pnp_focal: PnP focal length px (default: the image width, :mod:`landmarks.inference.pnp`).
        on_bad_image: an unreadable image: ``"skip"`` (warning naming it, counted) or ``"error"``.
        no_box: an image without a box (no entry in ``det_file``, or nothing found by
            ``face_detector``): ``"image"`` predicts on the whole image as one box
            (``box_source: "image"``), ``"skip"`` writes no entry for it. Either way the first
            such image is named in a warning and all are counted in the summary.
        duplicates: rescoring + OKS-NMS of each frame's instances (the COCO top-down protocol).
        tracker: track ids + smoothing across frames (a video; offline smoothing is applied to the
            entries when the run ends: :meth:`~landmarks.inference.instances.FrameTracker.finish`); with
            it, ``frames.json`` lists every frame with its instances' track ids (a frame without instances too).
        fps: the overlay video's frame rate (``None``: the source's, else 25).

    Returns:
        The path of ``predictions.json``.

    Raises:
        AnnotationError: a bad ``det_file`` entry, or an unreadable image with ``on_bad_image="error"``.
        ValueError: no image of ``source`` could be read, or a bad option value.
    """
    if no_box not in NO_BOX:
        raise ValueError(f"no_box: expected one of {', '.join(NO_BOX)}, got {no_box!r}")
    detections = Detections.load(det_file, det_score_thr) if det_file else None
    entries = EntryWriter(out_dir)
    frames = EntryWriter(out_dir, "frames") if tracker is not None else None
    tally = _Tally()
    frame_numbers: list[int] = []  # each entry's frame, for offline smoothing along tracks
    rate = fps or source_fps(source) or 25.0
    bar = tqdm(desc="infer", unit="frame", disable=None, dynamic_ncols=True)
    started = time.perf_counter()
    with OverlayWriter(out_dir, video=is_video(source), fps=rate) as overlays:
        try:
            for frame in iter_frames(source, on_bad_image, tally.unreadable):
                tally.images += 1
                boxes, scores, box_source = _frame_boxes(frame, detections, face_detector, no_box, tally)
                skip = boxes is not None and len(boxes) == 0  # no_box=skip
                preds = {} if skip else predictor.predict(frame.image, boxes, return_heatmaps=draw_heatmaps)
                h, w = frame.image.shape[:2]
                used = boxes if boxes is not None else np.array([[0, 0, w, h]], np.float32)
                used_scores = scores if scores is not None else np.ones(len(used), np.float32)
                if duplicates is not None and preds:
                    preds, used, used_scores = duplicates(preds, used, used_scores)
                    boxes = used if boxes is not None else None
                    scores = used_scores if scores is not None else None
                ids = None
                if tracker is not None:
                    preds, ids = tracker(preds, used) if preds else (preds, np.zeros(0, np.int64))
                results, overlay = render_frame(
                    predictor.tasks,
                    frame,
                    preds,
                    boxes,
                    scores,
                    box_source,
                    draw_heatmaps=draw_heatmaps,
                    kpt_thr=kpt_thr,
                    pnp=pnp,
                    pnp_focal=pnp_focal,
                    track_ids=ids,
                )
                overlays.write(frame.name, overlay)
                entries.write(results)  # flushed: a crash keeps every image done so far
                if frames is not None:
                    frame_numbers.extend([tally.images - 1] * len(results))
                    frames.write([_frame_record(frame, ids)])
                tally.entries += len(results)
                bar.update(1)
                bar.set_postfix(fps=f"{tally.images / max(time.perf_counter() - started, 1e-9):.1f}", refresh=False)
        except BaseException:
            entries.close()
            if frames is not None:
                frames.close()
            log.error(
                "infer: stopped after %d images; the %d predictions made so far are in %s",
                tally.images,
                tally.entries,
                entries.lines_path,
            )
            raise
        finally:
            bar.close()
    entries.close()
    elapsed = time.perf_counter() - started
    _summarise(tally, detections, source, no_box)
    log.info(
        "infer: %.1f frames/s (%d frames in %.1f s)%s%s",
        tally.images / max(elapsed, 1e-9),
        tally.images,
        elapsed,
        f"; {duplicates.dropped} duplicate poses removed by {duplicates.kind}-NMS" if duplicates else "",
        f"; {tracker.tracks} tracks" if tracker is not None else "",
    )
    if frames is not None:
        frames.finish()
    if tracker is None:
        return entries.finish()
    return entries.finish(lambda written: tracker.finish(written, frame_numbers))


def _frame_record(frame: Frame, ids: np.ndarray | None) -> dict[str, object]:
    """``frames.json`` line: the frame and its instances' track ids (empty when it has none)."""
    track_ids = [] if ids is None else [int(i) for i in ids]
    return {"image_id": frame.image_id, "file_name": frame.name, "instances": len(track_ids), "track_ids": track_ids}


def _summarise(tally: _Tally, detections: Detections | None, source: str, no_box: str) -> None:
    """The closing summary line; an error when no image could be read at all."""
    if tally.images == 0:
        raise ValueError(
            f"source: none of the {len(tally.unreadable)} images of '{source}' could be read "
            f"(each named in a warning above, e.g. {tally.unreadable[0]!r})"
        )
    unmatched, unmatched_boxes, examples = detections.unmatched() if detections is not None else (0, 0, [])
    if unmatched and detections is not None:
        log.warning(
            "infer: %d image ids of det_file %s (%d boxes) match no image of '%s', e.g. %s; images are "
            "matched by image_id and by file name without folders and extension "
            "(landmarks/inference/det_file.py)",
            unmatched,
            detections.det_file,
            unmatched_boxes,
            source,
            examples,
        )  # type: ignore[union-attr]
    rule = "whole image used" if no_box == "image" else "skipped"
    problems = [f"{len(tally.unreadable)} unreadable images skipped"] if tally.unreadable else []
    problems += [f"{len(tally.no_detection)} images without detections ({rule})"] if tally.no_detection else []
    problems += [f"{len(tally.no_face)} images without a detected face ({rule})"] if tally.no_face else []
    problems += [f"{unmatched} detection ids matched no image"] if unmatched else []
    log.log(
        logging.WARNING if problems else logging.INFO,
        "infer: %d images read, %d predictions written%s",
        tally.images,
        tally.entries,
        "; " + "; ".join(problems) if problems else "",
    )


def _frame_boxes(
    frame: Frame, detections: Detections | None, detector: BoxDetector | None, no_box: str, tally: _Tally
) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    """``(boxes (N, 4) | None, scores (N,) | None, box_source)``: the detection file, else the detector, else the image.

    ``None`` boxes: the whole image; ``(0, 4)`` boxes: no box and ``no_box="skip"``. A missing box is
    warned about once (the first image) and counted in ``tally``.
    """
    if detections is None and detector is None:
        return None, None, "image"
    if detections is not None:
        dets = detections.boxes_for(frame.keys)
        if dets is not None:
            return dets[:, :4], dets[:, 4], "det_file"
        missing = tally.no_detection
        what = f"has no detection in det_file {detections.det_file} (matched by id and file name)"
    else:
        assert detector is not None
        dets = detector.detect(frame.image)
        if len(dets):
            return dets[:, :4], dets[:, 4], detector.name
        missing, what = tally.no_face, f"has no face found by the {detector.name} detector"
    missing.append(frame.name)
    if len(missing) == 1:
        rule = "predicting on the whole image as one box" if no_box == "image" else "writing no prediction for it"
        log.warning(
            "infer: image %s %s; %s (no_box=%s). Further such images are counted in the summary",
            frame.name,
            what,
            rule,
            no_box,
        )
    if no_box == "skip":
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), "none"
    return None, None, "image"
