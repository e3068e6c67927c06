"""Body pose: top-down Gaussian heatmaps (SimpleBaseline / HRNet recipe).

Head: any heatmap head from :mod:`landmarks.heads.heatmap`; codec: MSRA or UDP heatmaps
(:mod:`landmarks.codecs.heatmap`); loss: visibility-weighted MSE or OHKM
(:mod:`landmarks.losses.heatmap`). Metrics: PCK@thr normalised by the box's longer side,
PDJ (DeepPose), PCKh@0.5 when head sizes are known (MPII), and the ten COCO keypoint
AP/AR statistics computed by pycocotools with the spec's OKS sigmas.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from landmarks.keypoints import KeypointSpec
from landmarks.metrics import functional as F
from landmarks.metrics.coco import CocoKeypointEvaluator
from landmarks.task import HeadFactory, KeypointTask
from landmarks.types import Prediction


class HeatmapKeypointTask(KeypointTask):
    """Top-down keypoint heatmaps for one :class:`KeypointSpec` (body; reused by hand).

    Args:
        spec: the keypoint layout.
        codec: heatmap codec shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)``.
        loss: heatmap loss module ``loss(pred, target, target_weight)``.
        pck_thr: PCK threshold as a fraction of the box's longer side.
        pdj_frac: PDJ threshold as a fraction of the torso diameter.
        torso_pair: keypoint indices whose distance is the torso diameter (PDJ).
        coco_eval: compute COCO AP/AR with pycocotools (needs OKS sigmas in the spec).
    """

    def __init__(
        self,
        spec: KeypointSpec,
        codec: Any,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "body",
        monitor: str = "val/pck",
        monitor_mode: str = "max",
        loss_weight: float = 1.0,
        pck_thr: float = 0.1,
        pdj_frac: float = 0.2,
        torso_pair: Sequence[int] | None = (5, 12),
        coco_eval: bool = True,
    ) -> None:
        super().__init__(spec, codec, head, loss, name=name, monitor=monitor, monitor_mode=monitor_mode,
                         loss_weight=loss_weight)
        self.pck_thr = pck_thr
        self.pdj_frac = pdj_frac
        self.torso_pair = tuple(torso_pair) if torso_pair else None
        self.coco_eval = coco_eval and bool(spec.sigmas)
        self.coco_ground_truth: dict | None = None
        self._val: list[dict[str, np.ndarray]] = []

    def update_metrics(self, pred: Prediction, batch: dict[str, Any]) -> None:
        meta = batch["meta"]
        self._val.append(
            {
                "pred": pred.keypoints,
                "scores": pred.scores,
                "gt": _np(meta["keypoints"]),
                "visible": _np(meta["visible"]),
                "bbox": _np(meta["bbox"]),
                "area": _np(meta["area"]),
                "image_id": _np(meta["image_id"]),
                "id": _np(meta["id"]),
                "box_score": _np(meta["score"]),
                "head_size": _np(meta["head_size"]),
            }
        )

    def compute_metrics(self) -> dict[str, float]:
        if not self._val:
            return {}
        v = {k: np.concatenate([b[k] for b in self._val]) for k in self._val[0]}
        self._val = []
        mask = v["visible"] > 0
        out: dict[str, float] = {}
        _, out["pck"], _ = F.pck(v["pred"], v["gt"], mask, F.bbox_norm(v["bbox"]), self.pck_thr)
        out["epe"] = F.epe(v["pred"], v["gt"], mask)
        if self.torso_pair is not None:
            torso = F.torso_diameter(v["gt"], self.torso_pair)
            _, out["pdj"], _ = F.pdj(v["pred"], v["gt"], mask, torso, self.pdj_frac)
        head = v["head_size"]
        if np.isfinite(head).all() and (head > 0).all():
            _, out["pckh"], _ = F.pckh(v["pred"], v["gt"], mask, head, 0.5)
        if self.coco_eval:
            out.update(self._coco_metrics(v))
        return {k: float(x) for k, x in out.items()}

    def _coco_metrics(self, v: dict[str, np.ndarray]) -> dict[str, float]:
        evaluator = CocoKeypointEvaluator(self.spec.sigmas)
        gt = self.coco_ground_truth or coco_dict_from_instances(v, self.spec)
        evaluator.add_ground_truth(one_category(gt))
        evaluator.add_predictions(v["image_id"], v["pred"], v["scores"], v["box_score"], v["bbox"][:, 2] * v["bbox"][:, 3])
        return evaluator.compute()


def coco_dict_from_instances(v: dict[str, np.ndarray], spec: KeypointSpec) -> dict:
    """A COCO person_keypoints dict whose annotations are exactly the evaluated instances.

    Used when the validation source has no GT file of its own (synthetic data): with
    ground-truth boxes this is the set COCOeval would score anyway.
    """
    n = len(v["gt"])
    image_ids = sorted(set(int(i) for i in v["image_id"]))
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
                "bbox": v["bbox"][j].astype(float).tolist(),
                "area": float(v["area"][j]),
                "iscrowd": 0,
            }
        )
    return {
        "images": [{"id": i} for i in image_ids],
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": list(spec.names), "skeleton": [list(p) for p in spec.skeleton]}],
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
    return {**gt, "annotations": [{**a, "category_id": 1} for a in gt["annotations"]],
            "categories": [{**first, "id": 1}]}


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
