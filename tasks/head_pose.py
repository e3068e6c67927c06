"""Head pose without landmarks: Hopenet angle bins (default) or the 6-D rotation of 6DRepNet.

* :class:`HeadPoseTask` (``conf/task/head_pose.yaml``) — Ruiz, Chong & Rehg, "Fine-Grained
  Head Pose Estimation Without Keypoints", CVPR-W 2018: :class:`landmarks.heads.head_pose.HopenetHead`
  (three classifiers over 66 bins of 3 degrees covering [-99, 99)), loss
  :class:`landmarks.losses.head_pose.HopenetLoss` (CE + alpha * MSE of the softmax expectation,
  degrees), decoded by :class:`landmarks.codecs.head_pose_bins.AngleBinCodec` — bin **centres** by
  default (``center: false`` gives Hopenet's left edges; see that module).
* :class:`HeadPose6DTask` (``conf/task/head_pose_6d.yaml``) — Hempel et al., 6DRepNet, ICIP
  2022: :class:`landmarks.heads.head_pose.Rotation6DHead`, :class:`landmarks.losses.head_pose.GeodesicLoss`,
  decoded through :func:`landmarks.geometry.rotation_6d_to_matrix` and
  :func:`landmarks.geometry.matrix_to_euler` into the same Euler convention.

Labels: ``Sample["euler"]`` (yaw, pitch, roll degrees, :mod:`landmarks.geometry`); the
transform rotates them with the crop and negates yaw and roll on a flip; a sample without
them (a landmarks-only source) gets weight 0 from :class:`landmarks.codecs.head_pose.EulerCodec`
and is masked out of the loss and the metrics.

Flip test: yaw and roll change sign, pitch does not. For bins that are symmetric about 0
(bin centres on [-99, 99)), mirroring a distribution reverses its bins; the merge averages
the two softmax distributions, so the decoded angle is the mean of the two decoded angles.
For 6-D, the flipped rotation is ``F R F`` with ``F = diag(-1, 1, 1)``: first column
``(x, -y, -z)``, second ``(-x, y, z)``; the merge averages the two matrices.

Metrics (degrees, :class:`landmarks.metrics.head_pose_mae.PoseMAE`, chosen in the task YAML):
``mae`` (mean of the per-angle MAEs), ``mae_yaw``, ``mae_pitch``, ``mae_roll`` over the labelled
samples with all ``|angle| <= max_abs`` (99, Hopenet's AFLW2000 filter), ``mae_excluded``,
``geodesic``. Predictions are returned in the original image's frame (a crop rotation is
undone), as ``Prediction.extras["euler"]`` ``(B, 3)``; they are written as ``euler``, ``yaw``,
``pitch``, ``roll`` and drawn as the head's axes (:func:`landmarks.viz.draw_head_pose`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from landmarks.codecs.head_pose import EulerCodec
from landmarks.codecs.head_pose_bins import AngleBinCodec
from landmarks.geometry import (
    euler_to_matrix,
    matrix_to_euler,
    matrix_to_rotation_6d,
    rotate_roll,
    rotation_6d_to_matrix,
)
from landmarks.metrics.head_pose_mae import PoseMAE
from landmarks.task import HeadFactory, MetricsConfig, Task
from landmarks.types import Prediction


class HeadPoseTask(Task):
    """Head pose from Hopenet angle bins.

    Args:
        codec: :class:`EulerCodec` with ``bins`` (the Hopenet bin codec).
        head: factory ``head(in_channels=, in_strides=, num_bins=)`` returning ``(B, 3, num_bins)`` logits.
        loss: ``loss(logits, angles, weight)``; a :class:`HopenetLoss` is given the codec's bins,
            so loss and decoder use one bin definition.
        metrics: metric objects or partials; ``None``: :class:`PoseMAE` (Hopenet's 99 degree filter).
    """

    box_category = "face"
    _codec: EulerCodec

    def __init__(
        self,
        codec: EulerCodec,
        head: HeadFactory,
        loss: nn.Module,
        name: str = "head_pose",
        monitor: str = "val/mae",
        monitor_mode: str = "min",
        loss_weight: float = 1.0,
        metrics: MetricsConfig = None,
    ) -> None:
        super().__init__(
            name=name, monitor=monitor, monitor_mode=monitor_mode, loss_weight=loss_weight, metrics=metrics
        )
        self.hold_parts(codec, head, loss)
        self._check_codec()
        self.build_metrics()

    def default_metrics(self) -> MetricsConfig:
        return {"mae": PoseMAE()}

    def _check_codec(self) -> None:
        bins = self._bins()
        criterion: Any = self.criterion  # a loss that decodes bins (Hopenet's) is handed the codec's bins
        if hasattr(criterion, "codec"):
            criterion.codec = bins

    def _bins(self) -> AngleBinCodec:
        """The codec's angle bins (the Hopenet task needs them)."""
        bins = self._codec.bins
        if bins is None:
            raise ValueError(f"task '{self.name}': the Hopenet task needs codec.bins (an AngleBinCodec)")
        return bins

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(in_channels=channels, in_strides=strides, num_bins=self._bins().num_bins)

    @property
    def has_flip_test(self) -> bool:
        """Exact only when bin values are symmetric about 0 (centres of [-a, a) bins)."""
        bins = self._bins()
        return bool(bins.center and np.isclose(bins.start, -bins.stop))

    # --- model side --------------------------------------------------------------------
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
        return self._bins().decode(out)

    def predict(self, out: torch.Tensor, batch: dict[str, Any]) -> Prediction:
        """Angles in the original image's frame: the crop rotation ``meta["rot"]`` is undone."""
        angles = self.crop_angles(out).astype(np.float64)
        rot = np.asarray(_numpy(batch["meta"].get("rot", np.zeros(len(angles)))), np.float64).reshape(-1)
        turned = rot != 0
        if turned.any():
            y, p, r = rotate_roll(angles[turned, 0], angles[turned, 1], angles[turned, 2], -rot[turned])
            angles[turned] = np.stack([y, p, r], axis=-1)
        b = len(angles)
        return Prediction(
            keypoints=np.zeros((b, 0, 2), np.float32),
            scores=np.zeros((b, 0), np.float32),
            extras={"euler": angles.astype(np.float32)},
        )

    def to_json(self, prediction: Prediction, i: int) -> dict[str, Any]:
        """``keypoints: []`` and the angles: ``euler`` ``[yaw, pitch, roll]`` and each by name, degrees."""
        y, p, r = (round(float(a), 3) for a in np.asarray(prediction.extras["euler"][i]).reshape(3))
        return {"keypoints": [], "keypoint_scores": [], "euler": [y, p, r], "yaw": y, "pitch": p, "roll": r}

    def draw(
        self,
        image: np.ndarray,
        prediction: Prediction,
        i: int,
        box: Sequence[float] | None = None,
        kpt_thr: float = 0.3,
    ) -> np.ndarray:
        """The head's axes at the centre of ``box`` (default: the image), half its longer side long."""
        from landmarks import viz

        h, w = image.shape[:2]
        x, y, bw, bh = (float(v) for v in (box if box is not None else (0, 0, w, h)))
        return viz.draw_head_pose(
            image,
            np.asarray(prediction.extras["euler"][i], np.float64),
            (x + bw / 2, y + bh / 2),
            size=0.5 * max(bw, bh),
        )


_FLIP_6D = (1.0, -1.0, -1.0, -1.0, 1.0, 1.0)


class HeadPose6DTask(HeadPoseTask):
    """Head pose from the 6-D rotation representation (6DRepNet).

    Args:
        codec: :class:`EulerCodec` (``bins`` unused; leave it ``None``).
        head: factory ``head(in_channels=, in_strides=)`` returning ``(B, 6)``.
        loss: ``loss(R_pred, R_gt, weight)`` on ``(B, 3, 3)`` matrices, e.g. :class:`GeodesicLoss`.
        metrics: as :class:`HeadPoseTask`.
    """

    def _check_codec(self) -> None:
        return None

    def build(self, channels: Sequence[int], strides: Sequence[int]) -> None:
        self.head = self._head_factory(in_channels=channels, in_strides=strides)

    @property
    def has_flip_test(self) -> bool:
        return True

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


def _numpy(x: Any) -> Any:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
