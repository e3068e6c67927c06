"""Stateful keypoint metrics (``torchmetrics.Metric``): PCK, PCKh, PDJ.

Each metric stores the raw per-sample arrays of an epoch in list states with
``dist_reduce_fx="cat"`` (so DDP gathers them from every rank) and computes the number at
the end through :mod:`landmarks.metrics.functional`, where the definitions live
(PCK: mmpose ``PCKAccuracy``; PCKh: Andriluka et al., CVPR 2014 and the MPII toolkit;
PDJ: Toshev & Szegedy, DeepPose, CVPR 2014).

A sibling metric subclasses :class:`_KeypointMetric`, names its per-sample normaliser in
``update`` and turns the concatenated arrays into floats in ``compute``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from landmarks.metrics import functional as F

ArrayLike = torch.Tensor | np.ndarray


def _tensor(x: ArrayLike, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``x`` as a detached tensor of ``dtype`` on ``device``."""
    return torch.as_tensor(x).detach().to(device=device, dtype=dtype)


class _KeypointMetric(Metric):
    """Shared state: predictions, ground truth, mask and one per-sample normaliser."""

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_state("pred", default=[], dist_reduce_fx="cat")
        self.add_state("gt", default=[], dist_reduce_fx="cat")
        self.add_state("mask", default=[], dist_reduce_fx="cat")
        self.add_state("norm", default=[], dist_reduce_fx="cat")

    def _append(self, pred: ArrayLike, gt: ArrayLike, mask: ArrayLike, norm: ArrayLike) -> None:
        p = _tensor(pred, torch.float64, self.device)
        g = _tensor(gt, torch.float64, self.device)
        m = _tensor(mask, torch.uint8, self.device)  # uint8, not bool: gathers on every backend
        n = _tensor(norm, torch.float64, self.device).reshape(-1)
        b, k = g.shape[:2]
        if p.shape != (b, k, 2) or g.shape != (b, k, 2) or m.shape != (b, k) or n.shape != (b,):
            raise ValueError(
                f"{type(self).__name__}.update: pred {tuple(p.shape)}, gt {tuple(g.shape)}, "
                f"mask {tuple(m.shape)}, "
                f"normaliser {tuple(n.shape)}; expected (B, K, 2), (B, K, 2), (B, K), (B,)"
            )
        self.pred.append(p)
        self.gt.append(g)
        self.mask.append(m)
        self.norm.append(n)

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """Concatenated ``pred, gt, mask, norm`` as numpy, or None before any update."""
        if isinstance(self.gt, list) and len(self.gt) == 0:
            return None
        out = [dim_zero_cat(s).cpu().numpy() for s in (self.pred, self.gt, self.mask, self.norm)]
        return out[0], out[1], out[2].astype(bool), out[3]


class PCKMetric(_KeypointMetric):
    """PCK@thr normalised by the longer side of the ground-truth box, plus EPE (and AUC).

    Args:
        thr: PCK threshold as a fraction of ``max(w, h)`` of the box.
        auc_thresholds: optional evenly spaced px thresholds; when given, ``compute`` adds
            ``"auc"`` (:func:`landmarks.metrics.functional.pck_auc`; the hand benchmark uses
            :func:`~landmarks.metrics.functional.default_auc_thresholds`).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    def __init__(
        self, thr: float = 0.1, auc_thresholds: Sequence[float] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.thr = float(thr)
        self.auc_thresholds = None if auc_thresholds is None else np.asarray(auc_thresholds, dtype=np.float64)

    def update(self, pred: ArrayLike, gt: ArrayLike, mask: ArrayLike, bboxes: ArrayLike) -> None:
        """Add a batch.

        Args:
            pred: ``(B, K, 2)`` px.
            gt: ``(B, K, 2)`` px, same frame as ``pred``.
            mask: ``(B, K)`` bool, labelled ground truth.
            bboxes: ``(B, 4)`` ``x, y, w, h`` px of the ground-truth box, same frame.
        """
        boxes = torch.as_tensor(bboxes).detach().to(torch.float64)
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise ValueError(
                f"PCKMetric.update: bboxes has shape {tuple(boxes.shape)}, expected (B, 4) x, y, w, h"
            )
        self._append(pred, gt, mask, torch.maximum(boxes[:, 2], boxes[:, 3]))

    def compute(self) -> dict[str, float]:
        """``{"pck": mean over keypoints, "epe": px[, "auc"]}``; nan before any update."""
        arrays = self._arrays()
        if arrays is None:
            out = {"pck": float("nan"), "epe": float("nan")}
            return out if self.auc_thresholds is None else {**out, "auc": float("nan")}
        pred, gt, mask, norm = arrays
        out = {"pck": F.pck(pred, gt, mask, norm, self.thr)[1], "epe": F.epe(pred, gt, mask)}
        if self.auc_thresholds is not None:
            out["auc"] = F.pck_auc(pred, gt, mask, self.auc_thresholds)
        return out


class PCKhMetric(_KeypointMetric):
    """PCKh@thr, normalised by the head size.

    Args:
        thr: fraction of the head size (0.5 for the MPII headline number).
        mpii: the keypoints are the 16 MPII joints; ``compute`` then reports the official
            table (:func:`landmarks.metrics.functional.pckh_mpii_table`), with ``"pckh"`` the
            MPII "Mean" (pelvis and thorax left out).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    def __init__(self, thr: float = 0.5, mpii: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thr = float(thr)
        self.mpii = bool(mpii)

    def update(self, pred: ArrayLike, gt: ArrayLike, mask: ArrayLike, head_sizes: ArrayLike) -> None:
        """Add a batch.

        Args:
            pred: ``(B, K, 2)`` px.
            gt: ``(B, K, 2)`` px.
            mask: ``(B, K)`` bool, labelled ground truth.
            head_sizes: ``(B,)`` px (:func:`landmarks.metrics.functional.mpii_head_size`).
        """
        self._append(pred, gt, mask, head_sizes)

    def compute(self) -> dict[str, float]:
        """``{"pckh": pooled rate}``; with ``mpii`` also ``pckh_head`` .. ``pckh_ankle``,
        ``pckh_ubody`` and ``pckh@0.1``. nan before any update."""
        arrays = self._arrays()
        if arrays is None:
            return {"pckh": float("nan")}
        pred, gt, mask, norm = arrays
        if not self.mpii:
            return {"pckh": F.pckh(pred, gt, mask, norm, self.thr)[1]}
        table = F.pckh_mpii_table(pred, gt, mask, norm, self.thr)
        out = {"pckh": table.pop("Mean"), "pckh@0.1": table.pop("Mean@0.1")}
        out.update({f"pckh_{name.lower()}": v for name, v in table.items()})
        return out


class PDJMetric(_KeypointMetric):
    """Percentage of Detected Joints at ``frac`` of the ground-truth torso diameter.

    Args:
        frac: fraction of the torso diameter.
        torso_pair: keypoint indices spanning the torso; ``(5, 12)`` = COCO left shoulder -
            right hip. Samples where either is unlabelled are skipped.
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    def __init__(self, frac: float = 0.2, torso_pair: tuple[int, int] = (5, 12), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.frac = float(frac)
        self.torso_pair = (int(torso_pair[0]), int(torso_pair[1]))

    def update(self, pred: ArrayLike, gt: ArrayLike, mask: ArrayLike) -> None:
        """Add a batch: ``pred``, ``gt`` ``(B, K, 2)`` px, ``mask`` ``(B, K)`` bool."""
        g = torch.as_tensor(gt).detach().to(torch.float64)
        m = torch.as_tensor(mask).detach().bool()
        i, j = self.torso_pair
        diam = torch.linalg.vector_norm(g[:, i] - g[:, j], dim=-1)
        diam = torch.where(m[:, i] & m[:, j], diam, torch.zeros_like(diam))
        self._append(pred, g, m, diam)

    def compute(self) -> dict[str, float]:
        """``{"pdj": mean over joints}``; nan before any update."""
        arrays = self._arrays()
        if arrays is None:
            return {"pdj": float("nan")}
        pred, gt, mask, norm = arrays
        return {"pdj": F.pdj(pred, gt, mask, norm, self.frac)[1]}
