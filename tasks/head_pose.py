"""Head pose without landmarks: Hopenet angle bins (default) or the 6-D rotation of 6DRepNet.

* :class:`HeadPoseTask` (``conf/task/head_pose.yaml``) — Ruiz, Chong & Rehg, "Fine-Grained
  Head Pose Estimation Without Keypoints", CVPR-W 2018: :class:`landmarks.heads.euler.HopenetHead`
  (three classifiers over 66 bins of 3 degrees covering [-99, 99)), loss
  :class:`landmarks.losses.pose.HopenetLoss` (CE + alpha * MSE of the softmax expectation,
  degrees), decoded by :class:`landmarks.codecs.angle_bins.AngleBinCodec` — bin **centres** by
  default (``center: false`` gives Hopenet's left edges; see that module).
* :class:`HeadPose6DTask` (``conf/task/head_pose_6d.yaml``) — Hempel et al., 6DRepNet, ICIP
  2022: :class:`landmarks.heads.euler.Rotation6DHead`, :class:`landmarks.losses.pose.GeodesicLoss`,
  decoded through :func:`landmarks.geometry.rotation_6d_to_matrix` and
  :func:`landmarks.geometry.matrix_to_euler` into the same Euler convention.

Labels: ``Sample["euler"]`` (yaw, pitch, roll degrees, :mod:`landmarks.geometry`); the
transform rotates them with the crop and negates yaw and roll on a flip; a sample without
them (a landmarks-only source) gets weight 0 from :class:`landmarks.codecs.euler.EulerCodec`
and is masked out of the loss and the metrics.

Flip test: yaw and roll change sign, pitch does not. For bins that are symmetric about 0
(bin centres on [-99, 99)), mirroring a distribution reverses its bins; the merge averages
the two softmax distributions, so the decoded angle is the mean of the two decoded angles.
For 6-D, the flipped rotation is ``F R F`` with ``F = diag(-1, 1, 1)``: first column
``(x, -y, -z)``, second ``(-x, y, z)``; the merge averages the two matrices.

Metrics (degrees): ``mae`` (mean of the per-angle MAEs), ``mae_yaw``, ``mae_pitch``,
``mae_roll`` over the labelled samples with all ``|angle| <= max_abs`` (99, Hopenet's
AFLW2000 filter), plain ``|pred - gt|`` with no wrap-around; ``mae_excluded`` counts labelled
samples left out by that filter; ``geodesic`` is the mean rotation angle between prediction
and ground truth on the same samples. Predictions are returned in the original image's frame
(a crop rotation is undone), as ``Prediction.extras["euler"]`` ``(B, 3)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from landmarks.codecs.euler import EulerCodec
from landmarks.geometry import (
    euler_to_matrix, matrix_to_euler, matrix_to_rotation_6d, rotate_roll, rotation_6d_to_matrix,
)
from landmarks.metrics.head_pose import ANGLE_NAMES, MAX_ABS_ANGLE, geodesic_mae, pose_mae, pose_valid
from landmarks.task import HeadFactory, Task
from landmarks.types import Prediction
from tasks.body import _np


class HeadPoseTask(Task):
    """Head pose from Hopenet angle bins.

    Args:
        codec: :class:`EulerCodec` with ``bins`` (the Hopenet bin codec).
        head: factory ``head(in_channels=, in_strides=, num_bins=)`` returning ``(B, 3, num_bins)`` logits.
        loss: ``loss(logits, angles, weight)``; a :class:`HopenetLoss` is given the codec's bins,
            so loss and decoder use one bin definition.
        max_abs: metric filter, degrees (samples with any ``|gt angle| > max_abs`` are excluded).
    """

    def __init__(
        self,
        codec: EulerCodec,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "head_pose",
        monitor: str = "val/mae",
        monitor_mode: str = "min",
        loss_weight: float = 1.0,
        max_abs: float = MAX_ABS_ANGLE,
    ) -> None:
        super().__init__(name=name, monitor=monitor, monitor_mode=monitor_mode, loss_weight=loss_weight)
        self._codec = codec
        self._head_factory = head
        self.criterion = loss
        self.max_abs = float(max_abs)
        self._check_codec()
        self._val: list[tuple[np.ndarray, np.ndarray]] = []

    def _check_codec(self) -> None:
        if self._codec.bins is None:
            raise ValueError(f"task '{self.name}': the Hopenet task needs codec.bins (an AngleBinCodec)")
        if hasattr(self.criterion, "codec"):
            self.criterion.codec = self._codec.bins

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(in_channels=channels, in_strides=strides, num_bins=self._codec.bins.num_bins)

    @property
    def codec(self) -> EulerCodec:
        return self._codec

    @property
    def has_flip_test(self) -> bool:
        """Exact only when bin values are symmetric about 0 (centres of [-a, a) bins)."""
        bins = self._codec.bins
        return bool(bins.center and np.isclose(bins.start, -bins.stop))

    # --- model side --------------------------------------------------------------------
    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, 3, num_bins)`` logits (yaw, pitch, roll)."""
        return self.head(features)

    def loss(self, out: torch.Tensor, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Hopenet loss; samples without a (usable) pose label have weight 0."""
        target = batch["targets"][self.name]
        return {"loss": self.criterion(out, target["angles"], target["weight"])}

    def flip_back(self, out_of_flipped: torch.Tensor) -> torch.Tensor:
        """Mirror the yaw and roll distributions (reverse their bins); pitch unchanged."""
        out = out_of_flipped.clone()
        out[:, 0::2] = out_of_flipped[:, 0::2].flip(-1)
        return out

    def merge_flip(self, out: torch.Tensor, out_flipped_back: torch.Tensor) -> torch.Tensor:
        """Log of the mean of the two softmax distributions (their expectations average)."""
        probs = (out.float().softmax(-1) + out_flipped_back.float().softmax(-1)) / 2
        return probs.clamp_min(1e-30).log().to(out.dtype)

    def crop_angles(self, out: torch.Tensor) -> np.ndarray:
        """``(B, 3)`` yaw, pitch, roll degrees in the crop's frame."""
        return self._codec.bins.decode(out)

    def decode(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """Angles in the original image's frame: the crop rotation ``meta["rot"]`` is undone."""
        angles = self.crop_angles(out).astype(np.float64)
        rot = _np(batch["meta"].get("rot", np.zeros(len(angles)))).astype(np.float64).reshape(-1)
        turned = rot != 0
        if turned.any():
            y, p, r = rotate_roll(angles[turned, 0], angles[turned, 1], angles[turned, 2], -rot[turned])
            angles[turned] = np.stack([y, p, r], axis=-1)
        b = len(angles)
        return Prediction(keypoints=np.zeros((b, 0, 2), np.float32), scores=np.zeros((b, 0), np.float32),
                          extras={"euler": angles.astype(np.float32)})

    # --- metrics -------------------------------------------------------------------------
    def update_metrics(self, pred: Prediction, batch: dict[str, Any]) -> None:
        self._val.append((pred.extras["euler"], _np(batch["meta"]["euler"])))

    def compute_metrics(self) -> dict[str, float]:
        if not self._val:
            return {}
        pred, gt = (np.concatenate(x).astype(np.float64) for x in zip(*self._val))
        self._val = []
        labelled = np.all(np.isfinite(gt), axis=1)
        pred, gt = pred[labelled], gt[labelled]
        if not len(gt):
            return {}
        mae = pose_mae(pred, gt, self.max_abs)
        out = {"mae": mae["mean"], "mae_excluded": mae["excluded"]}
        out.update({f"mae_{n}": mae[n] for n in ANGLE_NAMES})
        keep = pose_valid(gt, self.max_abs)
        out["geodesic"], _ = geodesic_mae(euler_to_matrix(*pred.T), euler_to_matrix(*gt.T), keep)
        return {k: float(v) for k, v in out.items()}


_FLIP_6D = (1.0, -1.0, -1.0, -1.0, 1.0, 1.0)


class HeadPose6DTask(HeadPoseTask):
    """Head pose from the 6-D rotation representation (6DRepNet).

    Args:
        codec: :class:`EulerCodec` (``bins`` unused; leave it ``None``).
        head: factory ``head(in_channels=, in_strides=)`` returning ``(B, 6)``.
        loss: ``loss(R_pred, R_gt, weight)`` on ``(B, 3, 3)`` matrices, e.g. :class:`GeodesicLoss`.
        max_abs: metric filter, degrees.
    """

    def _check_codec(self) -> None:
        return None

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(in_channels=channels, in_strides=strides)

    @property
    def has_flip_test(self) -> bool:
        return True

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Returns ``(B, 6)``: two raw columns of the rotation matrix."""
        return self.head(features)

    def loss(self, out: torch.Tensor, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Geodesic loss against ``euler_to_matrix`` of the crop's angles; unlabelled samples weight 0."""
        target = batch["targets"][self.name]
        angles = target["angles"].to(out.dtype)
        r_gt = euler_to_matrix(angles[:, 0], angles[:, 1], angles[:, 2])
        return {"loss": self.criterion(rotation_6d_to_matrix(out), r_gt, target["weight"])}

    def flip_back(self, out_of_flipped: torch.Tensor) -> torch.Tensor:
        """6-D of ``F R F``, ``F = diag(-1, 1, 1)`` (exact through Gram-Schmidt)."""
        return out_of_flipped * out_of_flipped.new_tensor(_FLIP_6D)

    def merge_flip(self, out: torch.Tensor, out_flipped_back: torch.Tensor) -> torch.Tensor:
        """6-D of the mean of the two rotation matrices (Gram-Schmidt re-orthonormalises it)."""
        return matrix_to_rotation_6d((rotation_6d_to_matrix(out) + rotation_6d_to_matrix(out_flipped_back)) / 2)

    def crop_angles(self, out: torch.Tensor) -> np.ndarray:
        matrices = rotation_6d_to_matrix(out.detach().double())
        return torch.stack(matrix_to_euler(matrices), dim=-1).cpu().numpy()
