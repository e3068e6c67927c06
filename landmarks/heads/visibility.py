"""Visibility head: backbone features -> one visible-vs-occluded logit per keypoint, ``(B, K)``.

Two poolings of one backbone stage (``in_index``), chosen by ``pool``:

* ``"mean"`` — global average pooling, an optional hidden MLP and one linear layer to ``K``
  logits (the trunk of :mod:`landmarks.heads.pooled`, as Hopenet / DeepPose read pooled features).
  It sees the whole crop at once: enough for self-occlusion, which follows the body's orientation
  (a back view hides the face, a side view the far limbs).
* ``"attention"`` — per-keypoint spatial softmax pooling: a 1x1 conv (+ BN, ReLU) to ``channels``
  features, then a 1x1 conv to ``2K`` maps, ``K`` attention logits ``a_k`` and ``K`` logit maps
  ``v_k``; ``z_k = sum_p softmax_p(a_k)[p] * v_k[p]``. The softmax-weighted spatial sum is the
  normalised pooling of integral regression (Sun et al., "Integral Human Pose Regression", ECCV
  2018), here weighting a logit map instead of coordinates: each keypoint learns where to look
  and reads whether something covers it there (another person, an occluder).

Unit: logits (natural-log odds) of COCO ``v = 2`` against ``v = 1``
(:mod:`landmarks.codecs.visibility`). The last layer starts at zero, so an untrained head says
0.5 everywhere. A sibling head takes ``in_channels, in_strides, num_keypoints`` plus its own
keyword arguments and returns ``(B, K)`` logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from landmarks.heads.pooled import PooledHead, zero_init_output

__all__ = ["POOLS", "VisibilityHead"]

POOLS = ("mean", "attention")


class VisibilityHead(nn.Module):
    """``K`` visibility logits from one backbone stage (module docstring).

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        in_strides: stride of each stage (unused; part of the head contract).
        num_keypoints: K.
        pool: ``"attention"`` (per-keypoint spatial softmax) or ``"mean"`` (global average + MLP).
        channels: width of the 1x1 conv before the attention maps (``"attention"``).
        hidden: hidden MLP widths after the global pooling (``"mean"``).
        dropout: dropout before the last layer.
        in_index: which backbone stage to read (-1: the deepest).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        num_keypoints: int,
        pool: str = "attention",
        channels: int = 128,
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
        in_index: int = -1,
    ) -> None:
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"VisibilityHead: pool must be one of {POOLS}, got {pool!r}")
        if num_keypoints < 1 or channels < 1:
            raise ValueError(
                f"VisibilityHead: need num_keypoints >= 1 and channels >= 1, got {num_keypoints}, {channels}"
            )
        self.pool = pool
        self.num_keypoints = int(num_keypoints)
        self.in_index = int(in_index)
        self.pooled: PooledHead | None = None
        self.conv: nn.Sequential | None = None
        last: nn.Linear | nn.Conv2d
        if pool == "mean":
            self.pooled = PooledHead(in_channels, hidden, 1, dropout, in_index)
            last = nn.Linear(self.pooled.trunk_width, self.num_keypoints)
        else:
            self.conv = nn.Sequential(
                nn.Conv2d(in_channels[self.in_index], int(channels), 1, bias=False),
                nn.BatchNorm2d(int(channels)),
                nn.ReLU(inplace=True),
            )
            last = nn.Conv2d(int(channels), 2 * self.num_keypoints, 1)
        self.final = zero_init_output(last, dropout)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Args: backbone features. Returns ``(B, K)`` logits."""
        if self.pooled is not None:
            return self.final(self.pooled.trunk(features))
        assert self.conv is not None
        maps = self.final(self.conv(features[self.in_index]))  # (B, 2K, h, w)
        b, _, h, w = maps.shape
        maps = maps.reshape(b, 2, self.num_keypoints, h * w)
        weights = torch.softmax(maps[:, 0].float(), dim=-1)
        return (weights * maps[:, 1].float()).sum(dim=-1).to(maps.dtype)
