"""COCO keypoint AP/AR as a metric object: pycocotools runs once on every process's predictions.

:class:`CocoKeypointAP` keeps, per sample, the prediction (keypoints, keypoint scores, box
score) and the ground truth the data pipeline put in the batch (``meta["keypoints"]``,
``visible``, ``bbox``, ``area``, ``image_id``). ``compute`` gathers the rows of every process,
keeps one per dataset index (:mod:`landmarks.metrics.samples`), builds the COCO ground-truth
dict from exactly those samples (:func:`coco_dict_from_instances`) and runs
:class:`~landmarks.metrics.coco.CocoKeypointEvaluator` (rescoring, OKS-NMS, ``COCOeval``) once.

With ground-truth boxes that is the set COCOeval would score from the annotation file (minus
instances the reader left out: crowd, no keypoints). With *detected* boxes the batch holds no
ground truth; name the annotation file in ``ann_file`` and it is the ground truth instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from landmarks.layouts.spec import KeypointSpec
from landmarks.metrics.coco import CocoKeypointEvaluator
from landmarks.metrics.samples import KEYPOINT_FIELDS, ArrayLike, SampleMetric, keypoint_rows, meta_value
from landmarks.types import Prediction

log = logging.getLogger("landmarks")

_META_FIELDS = ("bbox", "area", "image_id", "score")


class CocoKeypointAP(SampleMetric):
    """The ten COCO keypoint statistics (``ap``, ``ap50``, ... ``arl``) by pycocotools.

    Args:
        spec: the task's layout: OKS sigmas (unless ``sigmas`` is given), names and skeleton. Without
            sigmas (MPII) no AP is reported (``compute`` returns ``{}``; logged once here).
        sigmas: per-keypoint OKS sigmas overriding the layout's.
        ann_file: a COCO keypoints JSON used as the ground truth instead of the batch's (for
            evaluation on detected boxes).
        use_oks_nms, nms_thr, score_thr: as :class:`CocoKeypointEvaluator`.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "coco_ap"
    higher_is_better = True
    fields = {
        **KEYPOINT_FIELDS,
        "scores": torch.float64,
        "bbox": torch.float64,
        "area": torch.float64,
        "image_id": torch.int64,
        "box_score": torch.float64,
    }

    def __init__(
        self,
        spec: KeypointSpec | None = None,
        sigmas: Sequence[float] | None = None,
        ann_file: str | None = None,
        use_oks_nms: bool = True,
        nms_thr: float = 0.9,
        score_thr: float = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = sigmas if sigmas is not None else (spec.sigmas if spec is not None else ())
        self.sigmas = np.asarray(given, dtype=np.float64) if len(given) else None
        if self.sigmas is None:
            log.info("COCO AP not reported: layout '%s' has no OKS sigmas (give 'sigmas')", getattr(spec, "name", "?"))
        self.spec = spec
        self.ann_file = ann_file
        self.use_oks_nms, self.nms_thr, self.score_thr = bool(use_oks_nms), float(nms_thr), float(score_thr)

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        rows = keypoint_rows(pred, meta, "CocoKeypointAP")
        m = {k: meta_value(meta, k, "CocoKeypointAP") for k in _META_FIELDS}
        return {
            **rows,
            "scores": pred.scores,
            "bbox": m["bbox"],
            "area": m["area"],
            "image_id": m["image_id"],
            "box_score": m["score"],
        }

    def compute(self) -> dict[str, float]:
        """``{"ap", "ap50", "ap75", "apm", "apl", "ar", "ar50", "ar75", "arm", "arl"}``; ``{}`` before any update."""
        s = self.samples()
        if s is None or self.sigmas is None:
            return {}
        evaluator = CocoKeypointEvaluator(self.sigmas, self.use_oks_nms, self.nms_thr, self.score_thr)
        if self.ann_file is not None:
            with open(self.ann_file) as f:
                evaluator.add_ground_truth(one_category(json.load(f)))
        else:
            evaluator.add_ground_truth(coco_dict_from_instances(s, self.spec))
        areas = s["bbox"][:, 2] * s["bbox"][:, 3]
        evaluator.add_predictions(s["image_id"], s["pred"], s["scores"], s["box_score"], areas)
        return evaluator.compute()


def coco_dict_from_instances(v: Mapping[str, np.ndarray], spec: KeypointSpec | None = None) -> dict:
    """A COCO person_keypoints dict whose annotations are exactly the given instances.

    Args:
        v: ``gt (N, K, 2)``, ``visible (N, K)``, ``bbox (N, 4)``, ``area (N,)``, ``image_id (N,)``.
        spec: names and skeleton of the category (optional).

    Returns:
        ``{"images", "annotations", "categories"}`` with annotation ids ``1..N`` in row order,
        one category (id 1); unlabelled keypoints are written as ``(0, 0, 0)``.
    """
    n = len(v["gt"])
    anns = []
    for j in range(n):
        kp = np.concatenate([v["gt"][j], v["visible"][j][:, None]], axis=1)
        kp[v["visible"][j] == 0] = 0
        anns.append(
            {
                "id": j + 1,
                "image_id": int(v["image_id"][j]),
                "category_id": 1,
                "keypoints": kp.reshape(-1).astype(float).tolist(),
                "num_keypoints": int((v["visible"][j] > 0).sum()),
                "bbox": np.asarray(v["bbox"][j]).astype(float).tolist(),
                "area": float(v["area"][j]),
                "iscrowd": 0,
            }
        )
    category = {"id": 1, "name": spec.name if spec is not None else "object"}
    if spec is not None:
        category.update(keypoints=list(spec.names), skeleton=[list(p) for p in spec.skeleton])
    return {
        "images": [{"id": i} for i in sorted(set(int(i) for i in v["image_id"]))],
        "annotations": anns,
        "categories": [category],
    }


def one_category(gt: dict) -> dict:
    """``gt`` with every annotation in category 1, the category the predictions are written in.

    A top-down model has one head for all instances, so its COCO evaluation is category-
    agnostic. A custom file whose only category has another id (or several categories sharing
    the layout, e.g. animal species) would otherwise score AP 0 without any error. ``gt`` is
    returned unchanged when it already uses category 1 only.
    """
    cats = [a.get("category_id") for a in gt["annotations"]] + [c.get("id") for c in gt["categories"]]
    if all(c == 1 for c in cats):
        return gt
    first = dict(gt["categories"][0]) if gt["categories"] else {"name": "object"}
    return {
        **gt,
        "annotations": [{**a, "category_id": 1} for a in gt["annotations"]],
        "categories": [{**first, "id": 1}],
    }
