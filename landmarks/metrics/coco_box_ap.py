"""COCO box AP/AR as a metric object: pycocotools runs once on every process's detections.

The box sibling of :class:`landmarks.metrics.coco_ap.CocoKeypointAP`, on the same base
(:class:`~landmarks.metrics.samples.SampleMetric`): one row per validated FRAME holds its top-N
detections (``extras["boxes"]`` image px, ``box_scores``, ``labels`` of the task's
:class:`Prediction`) and its ground truth, padded to a fixed length by the data pipeline
(``meta["gt_boxes"]``, ``gt_labels`` (-1 = padding), ``gt_iscrowd``, ``gt_area``,
:mod:`landmarks.data.detection`). ``compute`` gathers the rows of every process, keeps one per
dataset index, builds the COCO ground truth of exactly those frames and runs
``COCOeval(iouType="bbox")`` (Lin et al., ECCV 2014) once; nothing of COCOeval is re-implemented.

Category ``k`` of the task is COCO category ``k + 1``. AP is COCOeval's: the mean over the
categories that have ground truth among the frames. Per category, ``ap_<name>`` is AP@[.5:.95]
from COCOeval's precision array (all areas, 100 detections), reported for categories with ground truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from landmarks.metrics.coco import _quiet
from landmarks.metrics.samples import ArrayLike, SampleMetric, meta_value
from landmarks.types import Prediction

__all__ = ["BOX_STAT_NAMES", "CocoBoxAP", "coco_box_eval", "coco_dicts"]

_META_FIELDS = ("gt_boxes", "gt_labels", "gt_iscrowd", "gt_area", "image_id")


class CocoBoxAP(SampleMetric):
    """The ten COCO box statistics (``ap``, ``ap50``, ... ``arl``) and ``ap_<category>``, by pycocotools.

    Args:
        categories: the task's class names in label order (the task passes its codec's).
        score_thr: detections scoring below this are not scored (0: all top-N, as COCO does).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "box_ap"
    higher_is_better = True
    fields = {
        "boxes": torch.float64,
        "scores": torch.float64,
        "labels": torch.int64,
        "gt_boxes": torch.float64,
        "gt_labels": torch.int64,
        "gt_iscrowd": torch.int64,
        "gt_area": torch.float64,
        "image_id": torch.int64,
    }

    def __init__(self, categories: Sequence[str] = ("object",), score_thr: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.categories = tuple(str(c) for c in categories)
        self.score_thr = float(score_thr)

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        m = {k: meta_value(meta, k, "CocoBoxAP") for k in _META_FIELDS}
        for key in ("boxes", "box_scores", "labels"):
            if key not in pred.extras:
                raise ValueError(f"CocoBoxAP.update: the prediction has no extras['{key}'] (a detection task's output)")
        return {
            "boxes": pred.extras["boxes"],
            "scores": pred.extras["box_scores"],
            "labels": pred.extras["labels"],
            **{k: m[k] for k in _META_FIELDS},
        }

    def compute(self) -> dict[str, float]:
        """``{"ap", "ap50", "ap75", "aps", "apm", "apl", "ar1", "ar10", "ar", "ars", "arm", "arl"}`` and
        ``ap_<category>``; ``{}`` before any update."""
        s = self.samples()
        if s is None:
            return {}
        gt, results = coco_dicts(s, self.categories, self.score_thr)
        return coco_box_eval(gt, results, self.categories)


def coco_dicts(
    s: Mapping[str, np.ndarray], categories: Sequence[str], score_thr: float = 0.0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """COCO ground truth and results lists from the metric's rows.

    Args:
        s: ``boxes (F, N, 4)``, ``scores (F, N)``, ``labels (F, N)``, ``gt_boxes (F, M, 4)``,
            ``gt_labels (F, M)`` (-1 = padding), ``gt_iscrowd (F, M)``, ``gt_area (F, M)``, ``image_id (F,)``.
        categories: class names, label ``k`` -> category id ``k + 1``.
        score_thr: detections below this are left out.

    Returns:
        ``(ground truth dict, results list)`` for pycocotools.
    """
    anns, results = [], []
    for f, image_id in enumerate(s["image_id"].tolist()):
        for j in np.flatnonzero(s["gt_labels"][f] >= 0):
            box = s["gt_boxes"][f, j].astype(float).tolist()
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": int(image_id),
                    "category_id": int(s["gt_labels"][f, j]) + 1,
                    "bbox": box,
                    "area": float(s["gt_area"][f, j]),
                    "iscrowd": int(s["gt_iscrowd"][f, j]),
                }
            )
        for j in np.flatnonzero((s["scores"][f] >= score_thr) & (s["labels"][f] >= 0)):
            results.append(
                {
                    "image_id": int(image_id),
                    "category_id": int(s["labels"][f, j]) + 1,
                    "bbox": s["boxes"][f, j].astype(float).tolist(),
                    "score": float(s["scores"][f, j]),
                }
            )
    gt = {
        "images": [{"id": int(i)} for i in sorted(set(s["image_id"].tolist()))],
        "annotations": anns,
        "categories": [{"id": k + 1, "name": name} for k, name in enumerate(categories)],
    }
    return gt, results


BOX_STAT_NAMES = ("ap", "ap50", "ap75", "aps", "apm", "apl", "ar1", "ar10", "ar", "ars", "arm", "arl")
"""Keys of :func:`coco_box_eval`, in ``COCOeval.stats`` order for ``iouType="bbox"``."""


def coco_box_eval(gt: dict[str, Any], results: list[dict[str, Any]], categories: Sequence[str]) -> dict[str, float]:
    """COCO box AP/AR by pycocotools (``COCOeval(iouType="bbox")``), plus ``ap_<category>``.

    Args:
        gt: COCO ground truth (``images``, ``annotations``, ``categories``).
        results: COCO results entries (``image_id``, ``category_id``, ``bbox``, ``score``).
        categories: names of category ids ``1..C``.

    Returns:
        :data:`BOX_STAT_NAMES` -> float (COCOeval's ``-1`` where nothing is defined), and
        ``ap_<name>`` for each category with ground truth.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with _quiet():
        coco_gt = COCO()
        coco_gt.dataset = gt  # pyright: ignore[reportAttributeAccessIssue]
        coco_gt.createIndex()
        if results:
            coco_dt = coco_gt.loadRes(results)  # pyright: ignore[reportArgumentType]
        else:  # loadRes cannot read an empty list; an empty result set is still valid
            coco_dt = COCO()
            coco_dt.dataset = {**gt, "annotations": []}  # pyright: ignore[reportAttributeAccessIssue]
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    out = {name: float(v) for name, v in zip(BOX_STAT_NAMES, ev.stats)}
    precision = ev.eval["precision"]  # (T iou, R recall, K category, A area, M maxDets)
    with_gt = {a["category_id"] for a in gt["annotations"] if not a.get("iscrowd")}
    for k, cat_id in enumerate(ev.params.catIds):
        values = precision[:, :, k, 0, -1]
        if cat_id in with_gt and (values > -1).any():
            out[f"ap_{categories[cat_id - 1]}"] = float(values[values > -1].mean())
    return out
