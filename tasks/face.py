"""Face landmarks (68 iBUG / 98 WFLW): direct coordinate regression with Wing loss; heatmap variant.

* :class:`FaceLandmarkTask` (``conf/task/face.yaml``): a regression head
  (:class:`landmarks.heads.regression.RegressionHead`, pooled features -> MLP -> K x 2) with
  the coordinate codec (:class:`landmarks.codecs.coords.CoordinateCodec`, unit: input-crop
  px) and a coordinate loss chosen by config: Wing (Feng et al., CVPR 2018; default
  ``w = 10, e = 2`` px), Soft Wing, L1 or MSE (:mod:`landmarks.losses.wing`,
  :mod:`landmarks.losses.coords`).
* :class:`FaceHeatmapTask` (``conf/task/face_heatmap.yaml``): the body machinery
  (:class:`tasks.body.HeatmapKeypointTask`: heatmap head, codec, flip test, unwarp) trained
  with Adaptive Wing (Wang et al., ICCV 2019) and its weighted loss map.

Both report the face metrics of :class:`FaceMetrics` (fractions, not %):

* ``nme``: the monitored NME, normalised by ``norm`` (default ``"box"``: ``sqrt(w * h)`` of the
  ground-truth landmark box, the AFLW2000-3D protocol, robust on profile faces);
* ``nme_box``, ``nme_io`` (outer eye corners), ``nme_ip`` (eye centres), each named for its
  normaliser (``io`` / ``ip`` only for 68 and 98 points; faces whose normaliser is not labelled
  are left out of that mean);
* ``fr`` / ``auc``: FR@``fail_thr`` and AUC@``fail_thr`` of the ``nme`` CED (0.1);
* with head-pose labels: ``nme_yaw_0_30``, ``nme_yaw_30_60``, ``nme_yaw_60_90`` (``nme`` by
  ``|yaw|`` band, empty bands not reported) and ``nme_io_frontal`` (inter-ocular NME on
  ``|yaw| <= frontal_yaw``, where that normaliser means something);
* with WFLW attribute flags (``data=wflw``): ``nme_pose``, ``nme_expression``,
  ``nme_illumination``, ``nme_makeup``, ``nme_occlusion``, ``nme_blur`` (``nme`` of each
  flagged subset, the WFLW protocol; :mod:`landmarks.metrics.face_subsets`).

Faces without landmark labels (all ``visible == 0``, e.g. from a pose-only source) are left
out of every metric and contribute zero to the loss (weights 0). To add a metric, extend
:meth:`FaceMetrics.compute`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

import numpy as np
from torch import nn

from landmarks.keypoints import KeypointSpec
from landmarks.metrics.face import INTER_OCULAR, NORMS, face_nme, fr_auc, nme_by_yaw
from landmarks.task import HeadFactory, KeypointTask
from landmarks.data.formats.wflw import WFLW_ATTRIBUTES
from landmarks.metrics.face_subsets import nme_by_attribute
from landmarks.types import Prediction
from tasks.body import HeatmapKeypointTask, _np



class FaceMetrics:
    """Accumulates predictions and ground truth; computes the face metrics (module docstring).

    Args:
        norm: normaliser of the monitored ``nme``: ``"box"``, ``"io"`` or ``"ip"``.
        fail_thr: FR / AUC threshold on ``nme``.
        frontal_yaw: ``|yaw|`` limit, degrees, of the faces that ``nme_io_frontal`` averages.
        yaw_bands: ``|yaw|`` bands, degrees, of the ``nme_yaw_*`` metrics.
    """

    def __init__(
        self,
        norm: str = "box",
        fail_thr: float = 0.1,
        frontal_yaw: float = 30.0,
        yaw_bands: Sequence[Sequence[float]] = ((0, 30), (30, 60), (60, 90)),
    ) -> None:
        if norm not in NORMS:
            raise ValueError(f"face metrics: norm must be one of {sorted(NORMS)}, got {norm!r}")
        self.norm, self.fail_thr, self.frontal_yaw = norm, float(fail_thr), float(frontal_yaw)
        self.yaw_bands = tuple((float(lo), float(hi)) for lo, hi in yaw_bands)
        self._batches: list[tuple[np.ndarray, ...]] = []

    def update(
        self, pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, euler: np.ndarray | None,
        attributes: np.ndarray | None = None,
    ) -> None:
        """One batch: ``pred``, ``gt`` ``(B, K, 2)`` image px, ``visible`` ``(B, K)``, ``euler`` ``(B, 3)``
        or None, ``attributes`` ``(B, 6)`` WFLW flags or None (then ``nme_<attribute>`` are reported)."""
        b = len(pred)
        e = np.full((b, 3), np.nan) if euler is None else np.asarray(euler, np.float64).reshape(b, 3)
        a = np.full((b, len(WFLW_ATTRIBUTES)), np.nan) if attributes is None else np.asarray(attributes, np.float64).reshape(b, -1)
        self._batches.append((np.asarray(pred, np.float64), np.asarray(gt, np.float64), np.asarray(visible), e, a))

    def compute(self) -> dict[str, float]:
        """The metrics (fractions); resets the state. Empty dict when nothing was accumulated."""
        if not self._batches:
            return {}
        pred, gt, vis, euler, attributes = (np.concatenate(x) for x in zip(*self._batches))
        self._batches = []
        mask = vis > 0
        keep = mask.any(axis=1)  # faces with landmark labels
        pred, gt, mask, euler, attributes = pred[keep], gt[keep], mask[keep], euler[keep], attributes[keep]
        if not len(gt):
            return {}
        names = ["box"] + (["io", "ip"] if gt.shape[1] in INTER_OCULAR else [])
        nmes = {n: face_nme(pred, gt, mask, NORMS[n]) for n in names}
        if self.norm not in nmes:
            raise ValueError(f"face metrics: norm={self.norm!r} needs 68 or 98 landmarks, got K={gt.shape[1]}")
        out = {f"nme_{n}": _nanmean(v) for n, v in nmes.items()}
        main = nmes[self.norm]
        out["nme"] = _nanmean(main)
        out["fr"], out["auc"] = fr_auc(main[~np.isnan(main)], self.fail_thr)
        yaw = euler[:, 0]
        if np.isfinite(yaw).any():
            for band, (value, count) in nme_by_yaw(main, yaw, self.yaw_bands).items():
                if band != "excluded" and count > 0:
                    out["nme_yaw_" + band.replace("-", "_")] = value
            frontal = np.abs(yaw) <= self.frontal_yaw
            if "io" in nmes and frontal.any():
                out["nme_io_frontal"] = _nanmean(nmes["io"][frontal])
        if attributes.shape[1] == len(WFLW_ATTRIBUTES) and np.isfinite(attributes).all():  # the WFLW protocol
            for name, (value, count) in nme_by_attribute(main, attributes, WFLW_ATTRIBUTES).items():
                if name not in ("full", "excluded") and count > 0:
                    out["nme_" + name.replace("-", "")] = value
        return {k: float(v) for k, v in out.items()}


def _nanmean(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else float("nan")


def _euler(meta: dict[str, Any]) -> np.ndarray | None:
    return _np(meta["euler"]) if "euler" in meta else None


class FaceTask(KeypointTask):
    """What both face tasks share: the face defaults of the task arguments and :class:`FaceMetrics`.

    Not configured directly: :class:`FaceLandmarkTask` and :class:`FaceHeatmapTask` put it in
    front of their keypoint base, whose constructor receives the task arguments plus the class
    attribute ``base_kwargs``.

    Args:
        spec, codec, head, loss, name, monitor, monitor_mode, loss_weight: as
            :class:`~landmarks.task.KeypointTask`.
        norm: normaliser of the monitored ``val/nme``: ``"box"``, ``"io"`` or ``"ip"``.
        fail_thr: FR / AUC threshold.
        frontal_yaw: ``|yaw|`` limit of ``nme_io_frontal``, degrees.
    """

    #: extra keyword arguments for the keypoint base's constructor
    base_kwargs: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        spec: KeypointSpec,
        codec: Any,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "face",
        monitor: str = "val/nme",
        monitor_mode: str = "min",
        loss_weight: float = 1.0,
        norm: str = "box",
        fail_thr: float = 0.1,
        frontal_yaw: float = 30.0,
    ) -> None:
        super().__init__(spec=spec, codec=codec, head=head, loss=loss, name=name, monitor=monitor,
                         monitor_mode=monitor_mode, loss_weight=loss_weight, **self.base_kwargs)
        self.face_metrics = FaceMetrics(norm=norm, fail_thr=fail_thr, frontal_yaw=frontal_yaw)

    def update_metrics(self, pred: Prediction, batch: dict[str, Any]) -> None:
        meta = batch["meta"]
        attributes = _np(meta["attributes"]) if "attributes" in meta else None
        self.face_metrics.update(pred.keypoints, _np(meta["keypoints"]), _np(meta["visible"]), _euler(meta), attributes)

    def compute_metrics(self) -> dict[str, float]:
        return self.face_metrics.compute()


class FaceLandmarkTask(FaceTask):
    """Face landmarks by direct coordinate regression.

    Args:
        spec: the landmark layout (``landmarks.face_layouts.ibug68`` or ``wflw98``).
        codec: :class:`landmarks.codecs.coords.CoordinateCodec` shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=, input_size=)`` returning
            ``(B, K, 2)`` input px.
        loss: coordinate loss ``loss(pred, target, target_weight)``, input px.
        norm: normaliser of the monitored ``val/nme``: ``"box"``, ``"io"`` or ``"ip"``.
        fail_thr: FR / AUC threshold.
        frontal_yaw: ``|yaw|`` limit of ``nme_io_frontal``, degrees.
    """

    target_key = "coords"

    def head_kwargs(self) -> dict[str, Any]:
        return {"input_size": self._codec.input_size}


class FaceHeatmapTask(FaceTask, HeatmapKeypointTask):
    """Face landmarks from heatmaps (train with Adaptive Wing), judged by the face metrics.

    The heatmap machinery of :class:`HeatmapKeypointTask` without its body metrics (no PDJ
    torso, no COCO AP); :class:`FaceTask` supplies the metrics.

    Args:
        spec: the landmark layout.
        codec: heatmap codec shared with the data pipeline.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)``.
        loss: heatmap loss ``loss(pred, target, target_weight)``, e.g. ``AdaptiveWingLoss``.
        norm: normaliser of the monitored ``val/nme``.
        fail_thr: FR / AUC threshold.
        frontal_yaw: ``|yaw|`` limit of ``nme_io_frontal``, degrees.
    """

    base_kwargs: ClassVar[dict[str, Any]] = {"torso_pair": None, "coco_eval": False}
