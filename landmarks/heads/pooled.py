"""Trunk shared by the heads that read pooled features: pool the deepest stage, then an MLP.

The deepest backbone stage is average-pooled to a ``pool_size x pool_size`` grid (1 = global
pooling, as DeepPose, Hopenet and 6DRepNet do; a small grid keeps coarse spatial layout that
a fully connected layer can read), flattened and passed through an optional hidden MLP
(``Dropout -> Linear -> ReLU`` per hidden width). :class:`PooledHead` holds that trunk as
``self.mlp`` (so the parameter names stay ``mlp.<i>.weight`` in every head's checkpoint);
subclasses add their output layers on top of ``trunk_width`` features.

Users: :class:`landmarks.heads.regression.RegressionHead`, :class:`landmarks.heads.rle.RLEHead`,
:class:`landmarks.heads.head_pose.HopenetHead`, :class:`landmarks.heads.head_pose.Rotation6DHead`,
:class:`landmarks.heads.visibility.VisibilityHead`. To add a sibling head on pooled features, subclass
:class:`PooledHead`, validate its own arguments, then create its output layers after
``super().__init__``.

:func:`zero_init_output` builds the last layer of the heads that start from a known output (zero
weights, a chosen bias): an untrained regression head predicts the crop centre, a 6-D rotation head
the frontal pose, a visibility head 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PooledHead", "pooled_features", "zero_init_output"]


def pooled_features(feature: torch.Tensor, pool_size: int) -> torch.Tensor:
    """``(B, C, h, w)`` -> ``(B, C * pool_size^2)`` by adaptive average pooling and flattening."""
    if pool_size == 1:
        return feature.mean(dim=(2, 3))
    return F.adaptive_avg_pool2d(feature, pool_size).flatten(1)


def zero_init_output(
    layer: nn.Linear | nn.Conv2d, dropout: float, bias: float | Sequence[float] = 0.0
) -> nn.Sequential:
    """``Dropout -> layer`` with the layer's weights set to zero and its bias to ``bias``.

    The output of the untrained head is then ``bias`` whatever the features, and the first
    gradient steps move it from there.

    Args:
        layer: the output layer (with a bias), ``nn.Linear`` or a ``1x1`` ``nn.Conv2d``.
        dropout: dropout probability before the layer.
        bias: one value for every output, or one per output.

    Returns:
        ``nn.Sequential(nn.Dropout(dropout), layer)`` (parameter names ``1.weight``, ``1.bias``).
    """
    if layer.bias is None:
        raise ValueError(f"zero_init_output: {type(layer).__name__} has no bias to set")
    with torch.no_grad():
        layer.weight.zero_()
        layer.bias.copy_(torch.as_tensor(bias, dtype=layer.bias.dtype).expand_as(layer.bias))
    return nn.Sequential(nn.Dropout(dropout), layer)


class PooledHead(nn.Module):
    """Base of the pooled-feature heads: stage ``in_index`` -> pooling grid -> hidden MLP.

    Args:
        in_channels: channels of each backbone stage (uses ``in_index``).
        hidden: widths of the hidden layers (empty: no hidden layer, ``mlp`` is the identity).
        pool_size: side of the average-pooling grid (1 = global average pooling); the caller
            checks that it is >= 1 (its message names the head).
        dropout: dropout before every linear layer of the hidden MLP.
        in_index: which backbone stage to read (-1: the deepest).

    Attributes:
        mlp: the hidden layers, ``nn.Sequential``.
        trunk_width: number of features that :meth:`trunk` returns.
    """

    def __init__(
        self, in_channels: Sequence[int], hidden: Sequence[int], pool_size: int, dropout: float, in_index: int
    ) -> None:
        super().__init__()
        self.pool_size = int(pool_size)
        self.in_index = int(in_index)
        layers: list[nn.Module] = []
        width = in_channels[self.in_index] * self.pool_size**2
        for h in hidden:
            layers += [nn.Dropout(dropout), nn.Linear(width, int(h)), nn.ReLU(inplace=True)]
            width = int(h)
        self.mlp = nn.Sequential(*layers)
        self.trunk_width = width

    def trunk(self, features: list[torch.Tensor]) -> torch.Tensor:
        """Backbone features -> ``(B, trunk_width)``: stage ``in_index`` pooled, flattened, through ``mlp``."""
        return self.mlp(pooled_features(features[self.in_index], self.pool_size))
