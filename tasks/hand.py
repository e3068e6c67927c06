"""Hand pose: 21 keypoints from Gaussian heatmaps, read out by argmax + DARK or by soft-argmax.

The body machinery (:class:`landmarks.heatmap_task.HeatmapKeypointTask`: heatmap head, MSRA/UDP codec,
heatmap loss, flip test, unwarp to the original image) with four hand-specific parts:

* decode ``"argmax_dark"`` (the wrapped heatmap codec's argmax and its ``refine``, DARK in
  ``conf/task/hand.yaml``; Zhang et al., CVPR 2020) or ``"integral"`` (soft-argmax; Sun et al.,
  "Integral Human Pose Regression", ECCV 2018; :mod:`landmarks.codecs.integral`);
* an optional L1 loss on the soft-argmax coordinates (DSNT-style, Nibali et al. 2018) added to
  the heatmap loss with ``coord_loss_weight``;
* optional limb heatmaps (one extra head channel per skeleton edge, :mod:`landmarks.codecs.limbs`)
  trained with the heatmap criterion and weight ``limb_loss_weight``; dropped in evaluation;
* the hand-benchmark metrics (defaults; ``conf/task/hand.yaml`` names them), as mmpose reports them for OneHand10K / FreiHAND / Panoptic /
  RHD (``PCKAccuracy(norm_item='bbox')``, ``EPE``, ``AUC(norm_factor=30, num_thrs=20)``):

  - ``pck``: PCK@``pck_thr`` (0.2): a labelled keypoint is correct when its error is
    ``< 0.2 * max(w, h)`` of the ground-truth box; mean of the per-keypoint rates;
  - ``epe``: mean Euclidean error in original-image px over all labelled keypoints;
  - ``auc``: the PCK-vs-threshold curve at absolute px thresholds
    ``t_i = 30 * i / 20``, ``i = 0..19`` (0, 1.5, ..., 28.5 px; correct when error ``< t_i``),
    averaged over the 20 thresholds (mmpose ``keypoint_auc``: ``thrs = [i / num_thrs for i in
    range(num_thrs)]`` scaled by ``norm_factor``, ``auc = sum(acc_i / num_thrs)``).

Handedness: a horizontal flip mirrors a left hand into a right one and keeps the keypoint
order (``hand21`` has no flip pairs, so ``flip_indices`` is the identity); the transform
swaps a sample's ``handedness`` label when it flips (:mod:`landmarks.data.transforms`).

To add a sibling read-out, add a mode to :data:`DECODES` and a branch in :meth:`HandTask._decode_input`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.codecs.limbs import limb_heatmaps
from landmarks.heatmap_task import HeatmapKeypointTask
from landmarks.layouts.spec import KeypointSpec
from landmarks.metrics.keypoints import PCKMetric
from landmarks.task import HeadFactory, MetricsConfig

DECODES = ("argmax_dark", "integral")


class HandTask(HeatmapKeypointTask):
    """21 hand keypoints: heatmaps, argmax-DARK or integral decode, PCK@0.2 / EPE / AUC.

    Args:
        spec: the keypoint layout (``landmarks.layouts.hand.hand21``).
        codec: :class:`landmarks.codecs.integral.IntegralHeatmap` (needed for
            ``decode="integral"`` and ``coord_loss_weight > 0``) or a plain heatmap codec.
        head: factory ``head(in_channels=, in_strides=, num_keypoints=)``.
        loss: heatmap loss ``loss(pred, target, target_weight)``.
        decode: ``"argmax_dark"`` or ``"integral"``.
        coord_loss_weight: weight of the L1 loss on soft-argmax coordinates (0 disables).
            Its unit is heatmap px: mean over labelled keypoints and both axes of
            ``|x_soft - x_gt|`` (input px divided by the codec's px-per-heatmap-px).
        limb_loss_weight: weight of the auxiliary limb-heatmap loss (0 disables): the head
            gets one extra output channel per skeleton edge, trained with the same criterion
            on Gaussian ridges along the edge (:mod:`landmarks.codecs.limbs`); evaluation and
            inference see only the K keypoint heatmaps.
        limb_sigma: ridge width of the limb targets, heatmap px (default: the codec's sigma).
        metrics: metric objects or partials; ``None``: PCK@0.2 + EPE + AUC (0..30 px, 20 steps).
    """

    box_category = "hand"  # a detector's hand boxes (infer.py detector=DET.ckpt) are this task's boxes

    def __init__(
        self,
        spec: KeypointSpec,
        codec: Any,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "hand",
        monitor: str = "val/auc",
        monitor_mode: str = "max",
        loss_weight: float = 1.0,
        decode: str = "argmax_dark",
        coord_loss_weight: float = 0.0,
        limb_loss_weight: float = 0.0,
        limb_sigma: float | None = None,
        metrics: MetricsConfig = None,
    ) -> None:
        super().__init__(
            spec=spec,
            codec=codec,
            head=head,
            loss=loss,
            name=name,
            monitor=monitor,
            monitor_mode=monitor_mode,
            loss_weight=loss_weight,
            metrics=metrics,
        )
        if decode not in DECODES:
            raise ValueError(f"task '{name}': decode must be one of {DECODES}, got {decode!r}")
        if coord_loss_weight < 0:
            raise ValueError(f"task '{name}': coord_loss_weight must be >= 0, got {coord_loss_weight}")
        if limb_loss_weight < 0 or (limb_sigma is not None and limb_sigma <= 0):
            raise ValueError(
                f"task '{name}': need limb_loss_weight >= 0 and limb_sigma > 0, got {limb_loss_weight}, {limb_sigma}"
            )
        if limb_loss_weight > 0 and not spec.skeleton:
            raise ValueError(f"task '{name}': limb_loss_weight > 0 needs a skeleton in the keypoint layout")
        needs_integral = decode == "integral" or coord_loss_weight > 0 or limb_loss_weight > 0
        if needs_integral and not hasattr(codec, "decode_tensor"):
            raise TypeError(
                f"task '{name}': decode={decode!r} with coord_loss_weight={coord_loss_weight} and "
                f"limb_loss_weight={limb_loss_weight} needs an integral codec "
                f"(landmarks.codecs.integral.IntegralHeatmap), got {type(codec).__name__}"
            )
        self.decode_mode = decode
        self.coord_loss_weight = float(coord_loss_weight)
        self.limb_loss_weight = float(limb_loss_weight)
        self.limb_sigma = float(limb_sigma) if limb_sigma is not None else float(getattr(codec, "sigma", 2.0))
        self.limb_pairs: torch.Tensor
        self.register_buffer(
            "limb_pairs", torch.as_tensor(np.asarray(spec.skeleton, dtype=np.int64).reshape(-1, 2)), persistent=False
        )

    def default_metrics(self) -> MetricsConfig:
        return {"pck": PCKMetric(thr=0.2, auc_max_thr=30.0, auc_num_thrs=20)}

    # --- head ----------------------------------------------------------------------------
    @property
    def num_limbs(self) -> int:
        """Extra head channels for the limb heatmaps (0 without the limb loss)."""
        return len(self.limb_pairs) if self.limb_loss_weight > 0 else 0

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(
            in_channels=channels,
            in_strides=strides,
            num_keypoints=self.spec.num_keypoints + self.num_limbs,
            **self.head_kwargs(),
        )

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
        """Head output; the limb channels are kept in training only."""
        out = self.built_head()(features)
        if self.training or not self.num_limbs:
            return out
        return out[:, : self.spec.num_keypoints]

    # --- loss ----------------------------------------------------------------------------
    def loss(self, out: torch.Tensor | list[torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """``loss = heatmap_loss + coord_loss_weight * coord_l1`` (terms logged separately).

        With a staged head the heatmap loss is summed over the stages and the coordinate loss
        is taken on the last stage.
        """
        target = batch["targets"][self.name]
        k = self.spec.num_keypoints
        stages = out if isinstance(out, list) else [out]
        heatmap = self.staged_criterion([s[:, :k] for s in stages], target)
        total, terms = heatmap, {}
        if self.coord_loss_weight > 0:
            terms["coord"] = self.coord_l1(stages[-1][:, :k], target["coords"], target["target_weight"])
            total = total + self.coord_loss_weight * terms["coord"]
        if self.num_limbs and stages[-1].shape[1] > k:  # evaluation mode outputs no limb channels
            maps, limb_weight = self.limb_targets(target)
            terms["limb"] = sum(self.criterion(s[:, k:], maps.to(s.dtype), limb_weight) for s in stages)  # type: ignore[assignment]
            total = total + self.limb_loss_weight * terms["limb"]
        if not terms:
            return {"loss": heatmap}
        return {"loss": total, "heatmap": heatmap.detach(), **{n: t.detach() for n, t in terms.items()}}

    def limb_targets(self, target: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`limb_heatmaps` ``(B, L, h, w)`` and their weights ``(B, L)`` from a batch's coordinates."""
        coords = target["coords"].float()
        weight = target["target_weight"].reshape(coords.shape[0], -1)
        points = self._codec.to_heatmap_px(coords)
        return limb_heatmaps(points, weight, self.limb_pairs, self._codec.heatmap_size, self.limb_sigma)

    def coord_l1(self, out: torch.Tensor, coords: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """Masked L1 of soft-argmax coordinates, heatmap px.

        Args:
            out: ``(B, K, h, w)`` heatmap logits.
            coords: ``(B, K, 2)`` target keypoints, input px.
            weight: ``(B, K)`` target weights (0 masks a keypoint).

        Returns:
            Scalar: ``sum_bk w_bk (|dx| + |dy|) / (2 * max(1, sum_bk w_bk))`` in heatmap px.
        """
        pred = self._codec.decode_tensor(out.float())
        unit = torch.as_tensor(self._codec.input_px_per_heatmap_px, dtype=pred.dtype, device=pred.device)
        err = ((pred - coords.to(pred.dtype)).abs() / unit).sum(dim=-1)  # (B, K)
        w = weight.to(pred.dtype).reshape(err.shape)
        return (err * w).sum() / (2.0 * w.sum().clamp_min(1.0))

    # --- decode --------------------------------------------------------------------------
    def _decode_input(self, out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints ``(B, K, 2)`` input px and scores ``(B, K)`` by the configured read-out."""
        heatmaps = out.detach().float()
        if self.decode_mode == "integral":
            return self._codec.decode(heatmaps)
        argmax = getattr(self._codec, "decode_argmax", self._codec.decode)
        return argmax(heatmaps)
