"""JSON entries and overlay of one image, as ``infer.py`` writes them, from the sidecar alone.

The fields and their rounding are those of :mod:`landmarks.inference.results` and of the tasks'
``to_json`` (``landmarks/task.py`` for keypoint tasks, ``tasks/head_pose.py`` for head pose):
``image_id``, ``file_name``, ``task``, ``category_id``, ``score``, ``bbox``, ``box_score``,
``box_source``, then ``keypoints`` ``[x, y, score] * K`` (3 decimals), ``keypoint_scores`` (4),
or for head pose ``keypoints: []``, ``keypoint_scores: []``, ``euler``, ``yaw``, ``pitch``,
``roll`` (3 decimals), or for visibility ``keypoint_visibility`` (4 decimals,
``landmarks/visibility_task.py``). A head-pose or visibility task of a model that also has keypoints
adds its fields to those entries (head pose is drawn on the keypoints' box; a visibility below 0.5
draws that keypoint hollow), as ``results.predict_frame`` does. Not
reproduced here: ``pnp=true`` (``pnp_euler``) and heatmap overlays (the graph outputs no heatmaps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from landmarks.drawing import hollow_mask, keypoint_box
from landmarks.runtime import draw
from landmarks.runtime.runner import Runtime, RuntimePrediction

__all__ = ["frame_entries", "task_json"]


def task_json(kind: str, pred: RuntimePrediction, i: int) -> dict[str, Any]:
    """``Task.to_json`` of instance ``i``."""
    if kind == "head_pose":
        y, p, r = (round(float(a), 3) for a in np.asarray(pred.extras["euler"][i]).reshape(3))
        return {"keypoints": [], "keypoint_scores": [], "euler": [y, p, r], "yaw": y, "pitch": p, "roll": r}
    if kind == "visibility":
        probs = np.asarray(pred.extras["visibility"][i], np.float64).reshape(-1)
        return {"keypoints": [], "keypoint_scores": [], "keypoint_visibility": probs.round(4).tolist()}
    kp = np.asarray(pred.keypoints[i], np.float64)
    sc = np.asarray(pred.scores[i], np.float64)
    return {
        "keypoints": np.concatenate([kp, sc[:, None]], axis=1).reshape(-1).round(3).tolist(),
        "keypoint_scores": sc.round(4).tolist(),
    }


def frame_entries(
    runtime: Runtime,
    image: np.ndarray,
    boxes: np.ndarray | None = None,
    box_scores: np.ndarray | None = None,
    box_source: str = "image",
    image_id: Any = 0,
    file_name: str = "",
    kpt_thr: float = 0.3,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """``(entries, overlay)`` of one image (``boxes`` ``(N, 4)`` xywh; ``None``: the whole image)."""
    from landmarks.runtime.runner import as_rgb_uint8

    image = as_rgb_uint8(image)
    preds = runtime.predict(image, boxes)
    kinds = {n: t["kind"] for n, t in runtime.tasks.items()}
    h, w = image.shape[:2]
    used = np.asarray(boxes, np.float32) if boxes is not None and len(boxes) else np.array([[0, 0, w, h]], np.float32)
    writers = [n for n, k in kinds.items() if k == "keypoints"] or list(kinds)
    attached = [n for n in kinds if n not in writers]
    lent = [preds[n].extras["visibility"] for n in attached if "visibility" in preds[n].extras]
    entries: list[dict[str, Any]] = []
    overlay = image.copy()
    for i in range(len(used)):
        box_score = float(box_scores[i]) if box_scores is not None else 1.0
        shared: dict[str, Any] = {}
        for name in attached:
            shared.update(task_json(kinds[name], preds[name], i))
        anchor = np.asarray(used[i], np.float64)
        for name in writers:
            pred = preds[name]
            scores = pred.scores[i]
            good = scores > kpt_thr
            instance = box_score * (float(scores[good].mean()) if good.any() else float(scores.size == 0))
            entry: dict[str, Any] = {
                "image_id": image_id,
                "file_name": file_name,
                "task": name,
                "category_id": 1,
                "score": round(instance, 5),
                "bbox": [round(float(v), 2) for v in used[i]],
                "box_score": round(box_score, 5),
                "box_source": box_source,
            }
            entry.update(task_json(kinds[name], pred, i))
            entry.update({k: v for k, v in shared.items() if k not in entry})
            overlay = _draw(overlay, runtime, name, pred, i, used[i], kpt_thr, lent[0][i] if lent else None)
            if pred.keypoints.shape[1] > 0:
                anchor = keypoint_box(pred.keypoints[i], pred.scores[i] >= kpt_thr, anchor)
            entries.append(entry)
        if boxes is not None:
            overlay = draw.draw_box(overlay, used[i])
        for name in attached:
            overlay = _draw(overlay, runtime, name, preds[name], i, anchor, kpt_thr)
    return entries, overlay


def _draw(
    image: np.ndarray,
    runtime: Runtime,
    name: str,
    pred: RuntimePrediction,
    i: int,
    box: np.ndarray,
    kpt_thr: float,
    visibility: np.ndarray | None = None,
) -> np.ndarray:
    task = runtime.tasks[name]
    if task["kind"] == "keypoints":
        hollow = hollow_mask(visibility, pred.keypoints.shape[1])
        return draw.draw_keypoints(
            image, pred.keypoints[i], pred.scores[i], task["layout"], threshold=kpt_thr, hollow=hollow
        )
    if task["kind"] == "visibility":
        return image.copy()  # drawn through the keypoint task's hollow points
    x, y, bw, bh = (float(v) for v in box)
    return draw.draw_head_pose(image, pred.extras["euler"][i], (x + bw / 2, y + bh / 2), size=0.5 * max(bw, bh))
