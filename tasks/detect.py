"""Box detection as a task: CenterNet ("Objects as Points", Zhou, Wang & Krähenbühl, 2019).

One class per layout kind (``person``, ``hand``, ``face``; the codec's ``categories``), on the
same timm backbone as every other task, trained from whole frames
(:mod:`landmarks.data.detection`): the synthetic renderers' frames
(:mod:`landmarks.data.synthetic.frames`) and COCO box files (:mod:`landmarks.data.formats.coco_boxes`).

* Head: :class:`landmarks.heads.detect.CenterNetHead` (heatmap logits ``(B, C, h, w)``, size and
  offset ``(B, 2, h, w)`` heatmap px, stride = the codec's).
* Loss: ``focal(heatmap) + size_weight * L1(size) + offset_weight * L1(offset) + giou_weight * (1 - GIoU)``
  (the paper's 1 / 0.1 / 1; GIoU off by default). The focal loss
  (:class:`landmarks.losses.focal.PenaltyReducedFocalLoss`) is per object, masked per class by
  ``class_weight`` (classes a frame does not label). The box terms are read where the codec's
  ``reg_weight`` is set (the centre cell, or a weighted region: ``regress_area``) and averaged over
  the objects: both L1 terms in heatmap px, summed over x and y; the GIoU term (Rezatofighi et al.,
  CVPR 2019; :class:`landmarks.losses.giou.GIoULoss`) on the box each such cell decodes
  (centre ``cell + offset``, size ``size``) against the object's box, as TTFNet does: a ratio, so a
  large and a small person weigh alike.
* Prediction (the one output path): :class:`landmarks.codecs.centernet.CenterNetCodec` decodes
  the top-N peaks into input px; the letterbox is undone with the crop affine of ``meta``
  (``center``, ``scale``, ``rot``) and boxes are clipped to the image when ``meta["image_size"]``
  is known. ``Prediction.keypoints`` is ``(B, 0, 2)``; ``extras``: ``boxes (B, N, 4)`` xywh
  image px, ``box_scores (B, N)``, ``labels (B, N)`` (index into ``categories``).
* Metric: :class:`landmarks.metrics.coco_box_ap.CocoBoxAP` (``val/ap``, COCO box AP by pycocotools).

IoU-aware scoring (``iou_weight`` > 0; Wu, Li & Wang, "IoU-aware single-stage object detector",
2020): a CenterNet peak's score says that an object is there, not how well its box fits, so at the
strict IoU thresholds of COCO AP well- and badly-fitting boxes are ranked alike. The head predicts,
at every regressing cell, the IoU of the box that cell decodes with its object (``iou`` logits,
BCE against the detached IoU, weighted as the box terms), and the codec ranks the peaks by
``heat ** (1 - a) * iou ** a`` (``codec.iou_score_power`` ``a``).

Box edges as distributions (``edge_bins`` n > 0; Generalized Focal Loss, Li et al., NeurIPS 2020):
the head predicts each cell's distances to the four box edges as distributions over ``0 .. n - 1``
heatmap px and reads ``size`` and ``offset`` from their means
(:class:`landmarks.heads.detect.CenterNetHead`); the loss adds ``dfl_weight`` times the distribution
focal loss (:mod:`landmarks.losses.dfl`, the mean over the four edges) at the regressing cells, whose
targets are the size and offset targets as edge distances (:func:`landmarks.heads.detect.edge_distances`).
The L1 and GIoU terms act on the means.

Flip test (``model.flip_test``; CenterNet's flip augmentation at test time): the heatmaps of the
plain and the mirrored input are averaged as probabilities, the sizes as they are, and the x offset
of the mirror is ``1 - offset`` (a centre ``c`` in cell ``q`` mirrors to ``w - c`` in cell ``w - 1 - q``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from landmarks.codecs.centernet import CenterNetCodec
from landmarks.data.crop import unwarp_points
from landmarks.heads.detect import edge_distances
from landmarks.losses.dfl import distribution_focal_loss
from landmarks.losses.giou import GIoULoss, matched_iou
from landmarks.metrics.coco_box_ap import CocoBoxAP
from landmarks.task import HeadFactory, MetricsConfig, Task
from landmarks.types import Prediction


class DetectTask(Task):
    """CenterNet boxes of the codec's categories (module docstring).

    Args:
        codec: :class:`CenterNetCodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_classes=, output_stride=)``.
        loss: the heatmap loss ``loss(logits, target, class_weight)``.
        name, monitor, monitor_mode, loss_weight, metrics: as :class:`Task` (default metric: :class:`CocoBoxAP`).
        size_weight: weight of the size L1 (heatmap px).
        offset_weight: weight of the offset L1 (heatmap px).
        giou_weight: weight of the GIoU loss on the decoded boxes (0: off, CenterNet; TTFNet uses 5).
        iou_weight: weight of the IoU-prediction loss; > 0 gives the head an ``iou`` output and ranks
            the boxes by it (IoU-aware scoring, module docstring); 0: off.
        score_thr: detections below this score are not written by :meth:`to_json`.
        edge_bins: ``n`` of the box-edge distributions (module docstring); 0: off.
        dfl_weight: weight of the distribution focal loss when ``edge_bins`` > 0 (GFL: 0.25).
    """

    def __init__(
        self,
        codec: CenterNetCodec,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "detect",
        monitor: str = "val/ap",
        monitor_mode: str = "max",
        loss_weight: float = 1.0,
        size_weight: float = 0.1,
        offset_weight: float = 1.0,
        giou_weight: float = 0.0,
        iou_weight: float = 0.0,
        score_thr: float = 0.1,
        edge_bins: int = 0,
        dfl_weight: float = 0.25,
        metrics: MetricsConfig = None,
    ) -> None:
        super().__init__(
            name=name, monitor=monitor, monitor_mode=monitor_mode, loss_weight=loss_weight, metrics=metrics
        )
        self._codec = codec
        self._head_factory = head
        self.criterion = loss
        self.size_weight, self.offset_weight = float(size_weight), float(offset_weight)
        self.giou_weight = float(giou_weight)
        self.iou_weight = float(iou_weight)
        self.giou = GIoULoss()
        self.score_thr = float(score_thr)
        self.edge_bins, self.dfl_weight = int(edge_bins), float(dfl_weight)
        self.build_metrics(categories=codec.categories)

    def default_metrics(self) -> MetricsConfig:
        return {"box_ap": CocoBoxAP(categories=self._codec.categories)}

    @property
    def categories(self) -> tuple[str, ...]:
        """Class names in label order."""
        return self._codec.categories

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        options: dict[str, Any] = {"iou_branch": True} if self.iou_weight > 0 else {}  # heads without them keep working
        if self.edge_bins:
            options["edge_bins"] = self.edge_bins
        self.head = self._head_factory(
            in_channels=channels,
            in_strides=strides,
            num_classes=self._codec.num_classes,
            output_stride=self._codec.stride,
            **options,
        )

    @property
    def codec(self) -> CenterNetCodec:
        return self._codec

    # --- model side --------------------------------------------------------------------
    def forward(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """``{"heatmap": (B, C, h, w) logits, "size": (B, 2, h, w), "offset": (B, 2, h, w)}``, and ``iou`` /
        ``edges`` logits with ``iou_weight`` / ``edge_bins`` (:class:`landmarks.heads.detect.CenterNetHead`)."""
        return self.built_head()(features)

    def loss(self, out: dict[str, torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Focal heatmap loss + weighted L1 on size and offset at the centres (module docstring)."""
        t = batch["targets"][self.name]
        heat = self.criterion(out["heatmap"], t["heatmap"], t["class_weight"])
        w = t["reg_weight"].float()[:, None]  # (B, 1, h, w): the cells that regress, 1 per object in all
        n = w.sum().clamp_min(1.0)
        size = (F.l1_loss(out["size"].float(), t["size"].float(), reduction="none") * w).sum() / n
        offset = (F.l1_loss(out["offset"].float(), t["offset"].float(), reduction="none") * w).sum() / n
        total = heat + self.size_weight * size + self.offset_weight * offset
        terms = {"heatmap": heat.detach(), "size": size.detach(), "offset": offset.detach()}
        pred_box, target_box = _corners(out["offset"], out["size"]), _corners(t["offset"], t["size"])
        if self.giou_weight > 0:
            giou = self.giou(pred_box, target_box, w[:, 0])
            total = total + self.giou_weight * giou
            terms["giou"] = giou.detach()
        if self.iou_weight > 0:
            iou = self._iou_loss(out["iou"], pred_box, target_box, w[:, 0])
            total = total + self.iou_weight * iou
            terms["iou"] = iou.detach()
        if "edges" in out:
            dfl = self._edge_loss(out["edges"], edge_distances(t["size"], t["offset"]), w[:, 0])
            total = total + self.dfl_weight * dfl
            terms["dfl"] = dfl.detach()
        return {"loss": total, **terms}

    def _edge_loss(self, edges: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """DFL of ``edges (B, 4, n, h, w)`` against the target distances ``(B, 4, h, w)`` at the regressing cells."""
        keep = weight > 0  # (B, h, w)
        logits = edges.permute(0, 3, 4, 1, 2)[keep]  # (cells, 4, n)
        loss = distribution_focal_loss(logits, target.permute(0, 2, 3, 1)[keep]).mean(dim=1)
        return (loss * weight[keep]).sum() / weight.sum().clamp_min(1.0)

    def _iou_loss(
        self, logits: torch.Tensor, pred_box: torch.Tensor, target_box: torch.Tensor, weight: torch.Tensor
    ) -> torch.Tensor:
        """BCE of the ``iou`` logits ``(B, 1, h, w)`` against each regressing cell's IoU (no gradient into the box)."""
        keep = weight > 0
        target = matched_iou(pred_box.detach()[keep], target_box[keep])
        bce = F.binary_cross_entropy_with_logits(logits.float()[:, 0][keep], target, reduction="none")
        return (bce * weight[keep]).sum() / weight.sum().clamp_min(1.0)

    @property
    def has_flip_test(self) -> bool:
        return True

    def flip_back(self, out_of_flipped: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Mirror the maps of a flipped input back (module docstring): the x offset becomes ``1 - offset``,
        the left and right edge distributions swap."""
        out = {k: v.flip(-1) for k, v in out_of_flipped.items()}
        out["offset"] = torch.cat([1.0 - out["offset"][:, :1], out["offset"][:, 1:]], dim=1)
        if "edges" in out:
            out["edges"] = out["edges"][:, [2, 1, 0, 3]]
        return out

    def merge_flip(
        self, out: dict[str, torch.Tensor], out_flipped_back: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Heatmaps (and IoU maps) averaged as probabilities (returned as logits), sizes and offsets averaged."""
        merged = {k: (out[k].float() + out_flipped_back[k].float()) / 2 for k in ("size", "offset")}
        for k in ("heatmap", "iou"):
            if k in out:
                p = (torch.sigmoid(out[k].float()) + torch.sigmoid(out_flipped_back[k].float())) / 2
                merged[k] = torch.logit(p, eps=1e-6)
        if "edges" in out:  # the mean of two distributions (its integral is the mean of the two sizes / offsets)
            p = (torch.softmax(out["edges"].float(), 2) + torch.softmax(out_flipped_back["edges"].float(), 2)) / 2
            merged["edges"] = p.clamp_min(1e-12).log()
        return merged

    # --- the one output path ------------------------------------------------------------------
    def predict(self, out: dict[str, torch.Tensor], batch: dict[str, Any]) -> Prediction:
        """Top-N boxes ``(B, N, 4)`` xywh in original-image px, scores and labels (module docstring)."""
        boxes, scores, labels = self._codec.decode(out)
        meta = batch["meta"]
        b, n = scores.shape
        corners = np.concatenate([boxes[..., :2], boxes[..., :2] + boxes[..., 2:]], axis=1)  # (B, 2N, 2)
        img = unwarp_points(corners, _np(meta["center"]), _np(meta["scale"]), _np(meta["rot"]), self._codec.input_size)
        p0, p1 = np.minimum(img[:, :n], img[:, n:]), np.maximum(img[:, :n], img[:, n:])
        if "image_size" in meta:
            size = _np(meta["image_size"]).astype(np.float64).reshape(b, 1, 2)
            p0, p1 = np.clip(p0, 0, size), np.clip(p1, 0, size)
        xywh = np.concatenate([p0, p1 - p0], axis=-1).astype(np.float32)
        return Prediction(
            keypoints=np.zeros((b, 0, 2), np.float32),
            scores=np.zeros((b, 0), np.float32),
            extras={"boxes": xywh, "box_scores": scores.astype(np.float32), "labels": labels.astype(np.int64)},
        )

    def detections(self, prediction: Prediction, i: int, score_thr: float) -> list[dict[str, Any]]:
        """Frame ``i``'s boxes scoring at least ``score_thr``: ``bbox`` xywh px, ``score``, ``category``, ``category_id``."""
        boxes, scores = prediction.extras["boxes"][i], prediction.extras["box_scores"][i]
        labels = prediction.extras["labels"][i]
        return [
            {
                "bbox": [round(float(v), 2) for v in boxes[j]],
                "score": round(float(scores[j]), 4),
                "category": self.categories[int(labels[j])],
                "category_id": int(labels[j]) + 1,
            }
            for j in np.flatnonzero(scores >= score_thr)
        ]

    def to_json(self, prediction: Prediction, i: int) -> dict[str, Any]:
        """``keypoints: []`` and ``detections``: the boxes of frame ``i`` scoring at least ``score_thr``."""
        return {"keypoints": [], "keypoint_scores": [], "detections": self.detections(prediction, i, self.score_thr)}

    def draw(
        self,
        image: np.ndarray,
        prediction: Prediction,
        i: int,
        box: Sequence[float] | None = None,
        kpt_thr: float = 0.3,
    ) -> np.ndarray:
        """Frame ``i``'s boxes scoring at least ``kpt_thr`` (the drawing threshold), labelled ``name score``."""
        from landmarks import viz

        out = image
        for det in self.detections(prediction, i, kpt_thr):
            out = viz.draw_box(out, det["bbox"], label=f"{det['category']} {det['score']:.2f}")
        return out.copy() if out is image else out


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _corners(offset: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """The box each cell decodes, relative to the cell: ``offset, size (B, 2, h, w)`` -> corners ``(B, h, w, 4)``.

    Centre ``cell + offset`` and size ``size`` (heatmap px); the cell's own position is left out, as
    it is the same for the prediction and the target of one cell and IoU is translation invariant.
    """
    c, s = offset.float().permute(0, 2, 3, 1), size.float().permute(0, 2, 3, 1)
    return torch.cat([c - s / 2, c + s / 2], dim=-1)
