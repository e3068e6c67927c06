"""One frame's result entries and overlay, from the tasks' own ``to_json`` and ``draw``.

Entries are COCO results-format records: the generic fields (``image_id``, ``file_name``,
``task``, ``category_id``, ``score``, ``bbox``, ``box_score``, ``box_source``) and the fields of
the task's :meth:`~landmarks.task.Task.to_json` (keypoints, scores, angles, ...). Nothing here
names a task; what differs between tasks is read off their predictions:

* A task whose prediction has keypoints (``K > 0``) writes one entry per box. A task without
  keypoints (per-box values, e.g. head pose) adds its ``to_json`` fields to those entries of its
  box (the entry's own fields win), or writes its own entry per box when no task has keypoints.
* Tasks with keypoints are drawn in their box; tasks without are drawn in the box of the
  instance's confident keypoints when there are some (so a head-pose gizmo sits on the face the
  landmarks found: centre and 0.6 x longer side of their box), else in the detection box.
* A task without keypoints also lends its ``extras`` to the drawing of the keypoint tasks of the
  model (their own extras win): a visibility task's ``extras["visibility"]`` ``(N, K)`` makes the
  keypoint task draw the points with probability < 0.5 hollow (:meth:`landmarks.keypoint_task.KeypointTask.draw`).

The entry fields a task may add (all optional; a reader ignores fields it does not know, and fields
are only ever added, so the entries carry no version of their own; the exported model's sidecar is
versioned, :mod:`landmarks.runtime.sidecar`):

* ``keypoints`` ``[x, y, score] * K`` image px (3 decimals), ``keypoint_scores`` ``(K,)`` (4);
* ``keypoint_visibility`` ``(K,)`` — the probability that each keypoint is visible rather than
  occluded (0..1, 4 decimals, layout order), from a visibility task of the same model
  (:mod:`landmarks.visibility_task`); absent for models without one (every older checkpoint);
* ``scale`` ``(K, 2)`` — RLE's per-keypoint scale ``sigma`` along the crop's x and y axes, image px
  (:mod:`landmarks.rle_task`; the Laplace ``b`` or the Gaussian standard deviation, the task's ``base``;
  not an output of the exported graph, so the torch runtime only);
* ``euler`` ``[yaw, pitch, roll]``, ``yaw``, ``pitch``, ``roll`` degrees (head pose, 3 decimals);
* ``pnp_euler``, ``pnp_error_px`` (below), ``track_id`` (video).
* With ``pnp=True``, a task whose layout is the iBUG 68 points (:func:`landmarks.inference.pnp.fits_layout`)
  adds ``pnp_euler`` (degrees, :func:`landmarks.inference.pnp.solve_head_pose`) and
  ``pnp_error_px`` (mean reprojection error), both ``null`` where the fit fails; the PnP pose is
  drawn as a gizmo when no prediction of the model carries a pose (``extras["euler"]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from landmarks import viz
from landmarks.drawing import keypoint_box
from landmarks.inference.pnp import fits_layout, solve_head_pose
from landmarks.inference.predictor import Predictor
from landmarks.inference.sources import Frame
from landmarks.types import Prediction

__all__ = ["keypoint_box", "predict_frame", "render_frame"]


def predict_frame(
    predictor: Predictor,
    frame: Frame,
    boxes: np.ndarray | None,
    box_scores: np.ndarray | None,
    box_source: str,
    draw_heatmaps: bool = False,
    kpt_thr: float = 0.3,
    pnp: bool = False,
    pnp_focal: float | None = None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """One frame's result entries and overlay.

    Args:
        predictor: the model.
        frame: the picture.
        boxes: ``(N, 4)`` xywh image px; ``None``: the whole image; ``(0, 4)``: no box (no entry).
        box_scores: ``(N,)`` detection scores (``None``: 1.0).
        box_source: written as ``box_source`` (``"det_file"``, a detector's name, ``"image"``).
        draw_heatmaps: overlay the raw heatmaps of heatmap tasks in their boxes.
        kpt_thr: keypoints scoring below this are not drawn and not used by PnP or the gizmo anchor.
        pnp: add the PnP fields (module docstring).
        pnp_focal: PnP focal length px (``None``: the image width).

    Returns:
        ``(entries, overlay)``: JSON-ready dicts and the ``(H, W, 3)`` uint8 RGB drawing.
    """
    skip = boxes is not None and len(boxes) == 0  # no_box=skip
    preds = {} if skip else predictor.predict(frame.image, boxes, return_heatmaps=draw_heatmaps)
    return render_frame(
        predictor.tasks, frame, preds, boxes, box_scores, box_source, draw_heatmaps, kpt_thr, pnp, pnp_focal
    )


def render_frame(
    tasks: Mapping[str, Any],
    frame: Frame,
    preds: Mapping[str, Prediction],
    boxes: np.ndarray | None,
    box_scores: np.ndarray | None,
    box_source: str,
    draw_heatmaps: bool = False,
    kpt_thr: float = 0.3,
    pnp: bool = False,
    pnp_focal: float | None = None,
    track_ids: np.ndarray | None = None,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Entries and overlay of predictions already made (``preds``: ``{task: Prediction}`` of ``boxes``).

    Arguments as :func:`predict_frame`; ``track_ids`` ``(N,)``: each box's track (video), written as
    ``track_id`` and drawn beside the box.
    """
    h, w = frame.image.shape[:2]
    used = boxes if boxes is not None else np.array([[0, 0, w, h]], np.float32)
    located = [n for n, p in preds.items() if p.keypoints.shape[1] > 0]
    writers = located or list(preds)  # the tasks that write entries
    attached = [n for n in preds if n not in writers]  # per-box values added to those entries
    has_pose = any("euler" in p.extras for p in preds.values())
    lent = {k: v for name in attached for k, v in preds[name].extras.items()}  # e.g. visibility, for drawing
    results: list[dict[str, Any]] = []
    overlay = frame.image.copy()
    for i in range(len(used)):
        box_score = float(box_scores[i]) if box_scores is not None else 1.0
        shared: dict[str, Any] = {}
        for name in attached:
            shared.update(tasks[name].to_json(preds[name], i))
        anchor, pnp_pose = np.asarray(used[i], np.float64), None
        for name in writers:
            task, pred = tasks[name], preds[name]
            entry = _generic_fields(frame, name, pred.scores[i], used[i], box_score, kpt_thr, box_source)
            entry.update(task.to_json(pred, i))
            entry.update({k: v for k, v in shared.items() if k not in entry})
            if track_ids is not None:
                entry["track_id"] = int(track_ids[i])
            shown = Prediction(pred.keypoints, pred.scores, {**lent, **pred.extras}) if lent else pred
            overlay = task.draw(overlay, shown, i, box=used[i], kpt_thr=kpt_thr)
            if pred.keypoints.shape[1] > 0:
                anchor = keypoint_box(pred.keypoints[i], pred.scores[i] >= kpt_thr, anchor)
            if pnp and fits_layout(getattr(task, "spec", None)):
                fit = solve_head_pose(pred.keypoints[i], (w, h), mask=pred.scores[i] >= kpt_thr, focal=pnp_focal)
                entry["pnp_euler"] = None if fit is None else [round(float(a), 3) for a in fit.euler]
                entry["pnp_error_px"] = None if fit is None else round(fit.reprojection_error, 3)
                pnp_pose = pnp_pose if fit is None else fit.euler
            if draw_heatmaps and "heatmaps" in pred.extras:
                overlay = _heatmap_in_box(overlay, pred.extras["heatmaps"][i], used[i])
            results.append(entry)
        if boxes is not None or track_ids is not None:
            overlay = viz.draw_box(overlay, used[i], label=None if track_ids is None else f"id {int(track_ids[i])}")
        for name in attached:
            overlay = tasks[name].draw(overlay, preds[name], i, box=anchor.tolist(), kpt_thr=kpt_thr)
        if pnp_pose is not None and not has_pose:
            overlay = viz.draw_head_pose(
                overlay,
                np.asarray(pnp_pose, np.float64),
                anchor[:2] + anchor[2:] / 2,
                size=0.5 * float(max(anchor[2], anchor[3])),
            )
    return results, overlay


def _generic_fields(
    frame: Frame, task: str, scores: np.ndarray, box: np.ndarray, box_score: float, kpt_thr: float, box_source: str
) -> dict[str, Any]:
    """The fields every entry has; ``score`` is the box score x the mean confident keypoint score
    (the box score alone for a task without keypoints, 0 when no keypoint is confident)."""
    good = scores > kpt_thr
    instance = box_score * (float(scores[good].mean()) if good.any() else float(scores.size == 0))
    return {
        "image_id": frame.image_id,
        "file_name": frame.name,
        "task": task,
        "category_id": 1,
        "score": round(instance, 5),
        "bbox": [round(float(v), 2) for v in box],
        "box_score": round(box_score, 5),
        "box_source": box_source,
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
