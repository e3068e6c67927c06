"""Keypoint AP on detected boxes vs ground-truth boxes: the way published top-down AP numbers are made
(``evaluate.py ckpt=POSE detector=DET.ckpt|hog``).

A top-down pose model is scored twice on the same whole images, by pycocotools through
:class:`~landmarks.metrics.coco.CocoKeypointEvaluator` (rescoring + OKS-NMS, as SimpleBaseline /
HRNet evaluate on COCO):

* ``gt_boxes``: one crop per ground-truth instance box, box score 1;
* ``detected``: one crop per box the detector finds (box score = the detector's), so misses,
  false positives and loose boxes all cost AP.

The gap between the two is what the detector costs the pose model. Images come from the pose
checkpoint's validation source: a synthetic renderer (anything with ``render(index) ->
(image, instances)``: every person of the frame is ground truth) or a COCO keypoint file
(:class:`~landmarks.data.formats.coco.CocoKeypointSource`: its ``coco_dict`` is the ground truth,
crowd regions included, so detections on crowds are ignored as COCOeval does).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from landmarks.metrics.coco import STAT_NAMES, CocoKeypointEvaluator
from landmarks.metrics.coco_ap import coco_dict_from_instances, one_category

log = logging.getLogger("landmarks")

__all__ = ["Scene", "evaluate_on_boxes", "scenes_of"]

Scene = tuple[int, np.ndarray, Sequence[Mapping[str, Any]]]
"""``(image_id, image (H, W, 3) uint8 RGB, ground-truth instances)`` of one whole image."""

VARIANTS = ("gt_boxes", "detected")


def _synthetic_scenes(source: Any, limit: int) -> Iterator[Scene]:
    for index in range(min(limit, len(source))):
        image, instances = source.render(index)
        yield index, image, list(instances)


def _coco_scenes(source: Any, limit: int) -> Iterator[Scene]:
    by_image: dict[int, list[Mapping[str, Any]]] = {}
    for ann in source.coco_dict["annotations"]:
        by_image.setdefault(int(ann["image_id"]), []).append(ann)
    for image_id in source.image_ids[:limit]:
        path = os.path.join(str(source.image_root), str(source.image_info(image_id)["file_name"]))
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            log.warning("evaluate detector=...: skipped image %s (id %d): OpenCV cannot read it", path, image_id)
            continue
        yield image_id, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), by_image.get(image_id, [])


def scenes_of(source: Any, limit: int) -> Iterator[Scene]:
    """Whole images with their ground truth from a validation source (module docstring).

    Raises:
        ValueError: the source is neither a renderer nor a COCO keypoint file.
    """
    if hasattr(source, "render"):
        return _synthetic_scenes(source, limit)
    if hasattr(source, "coco_dict") and hasattr(source, "image_ids"):
        return _coco_scenes(source, limit)
    raise ValueError(
        f"evaluate detector=...: the validation source {type(source).__name__} has no whole images with ground "
        "truth (a synthetic renderer or a COCO keypoint file is needed)"
    )


def _ground_truth(scenes: Sequence[Scene], coco_dict: Mapping[str, Any] | None) -> dict[str, Any]:
    """The COCO keypoints dict of the scenes' images: the file's own (COCO) or built from renderer instances."""
    ids = {image_id for image_id, _, _ in scenes}
    if coco_dict is not None:
        anns = [a for a in coco_dict["annotations"] if int(a["image_id"]) in ids]
        images = [{"id": i} for i in sorted(ids)]
        return one_category({"images": images, "annotations": anns, "categories": list(coco_dict["categories"])})
    rows = [(image_id, inst) for image_id, _, instances in scenes for inst in instances]
    columns = {
        "gt": np.asarray([inst["keypoints"] for _, inst in rows], np.float64).reshape(len(rows), -1, 2),
        "visible": np.asarray([inst["visible"] for _, inst in rows], np.float64).reshape(len(rows), -1),
        "bbox": np.asarray([inst["bbox"] for _, inst in rows], np.float64).reshape(len(rows), 4),
        "area": np.asarray([inst.get("area", inst["bbox"][2] * inst["bbox"][3]) for _, inst in rows], np.float64),
        "image_id": np.asarray([image_id for image_id, _ in rows], np.int64),
    }
    gt = coco_dict_from_instances(columns)
    gt["images"] = [{"id": i} for i in sorted(ids)]  # frames without people too: their detections are false positives
    return gt


def _gt_boxes(instances: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(N, 5)`` ground-truth boxes + score 1 (crowd regions and instances without keypoints left out)."""
    rows = [
        [*np.asarray(inst["bbox"], np.float64)[:4], 1.0]
        for inst in instances
        if not inst.get("iscrowd", 0) and inst.get("num_keypoints", 1) > 0
    ]
    return np.asarray(rows, np.float32).reshape(-1, 5)


def _keypoint_task(predictor: Any) -> tuple[str, np.ndarray]:
    """The model's first task whose layout has OKS sigmas, and those sigmas."""
    for name, task in predictor.tasks.items():
        sigmas = getattr(getattr(task, "spec", None), "sigmas", None)
        if sigmas:
            return name, np.asarray(sigmas, np.float64)
    raise ValueError("evaluate detector=...: the model has no keypoint task whose layout has OKS sigmas (COCO AP)")


def evaluate_on_boxes(
    predictor: Any,
    scenes: Sequence[Scene],
    detector: Any,
    nms_thr: float = 0.9,
    coco_dict: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """COCO keypoint AP of the pose model on ground-truth boxes and on the detector's boxes.

    Args:
        predictor: a :class:`~landmarks.inference.predictor.Predictor`.
        scenes: whole images with ground truth (:func:`scenes_of`).
        detector: anything with ``detect(image) -> (N, 5) x, y, w, h, score``.
        nms_thr: OKS-NMS threshold of the evaluation.
        coco_dict: the COCO file's ground truth (``None``: built from the scenes' instances).

    Returns:
        ``{task}/{gt_boxes|detected}/{ap, ap50, ...}``, ``{task}/ap_gap`` (gt_boxes AP minus
        detected AP), ``detected_boxes`` and ``gt_instances``.
    """
    name, sigmas = _keypoint_task(predictor)
    gt = _ground_truth(scenes, coco_dict)
    evaluators = {v: CocoKeypointEvaluator(sigmas, use_oks_nms=True, nms_thr=nms_thr) for v in VARIANTS}
    for ev in evaluators.values():
        ev.add_ground_truth(gt)
    detected = 0
    for image_id, image, instances in scenes:
        boxes = {"gt_boxes": _gt_boxes(instances), "detected": np.asarray(detector.detect(image), np.float32)}
        detected += len(boxes["detected"])
        for variant, rows in boxes.items():
            if len(rows) == 0:
                continue
            pred = predictor.predict(image, rows[:, :4])[name]
            ids = np.full(len(rows), image_id, np.int64)
            evaluators[variant].add_predictions(ids, pred.keypoints, pred.scores, rows[:, 4], rows[:, 2] * rows[:, 3])
    out: dict[str, float] = {"detected_boxes": float(detected), "gt_instances": float(len(gt["annotations"]))}
    for variant, ev in evaluators.items():
        stats = ev.compute()
        out.update({f"{name}/{variant}/{k}": float(stats[k]) for k in STAT_NAMES})
    out[f"{name}/ap_gap"] = out[f"{name}/gt_boxes/ap"] - out[f"{name}/detected/ap"]
    return out
