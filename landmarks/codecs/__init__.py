"""Codecs: encode labels into training targets (data side), decode head outputs (model side).

Each codec documents its coordinate unit; the same object is given to the data pipeline
and to the task. See :mod:`landmarks.codecs.heatmap` for the heatmap codecs and
:mod:`landmarks.codecs.integral` for the soft-argmax (integral) read-out.
"""

from landmarks.codecs.heatmap import GaussianHeatmapCodec, MSRAHeatmap, UDPHeatmap, flip_heatmaps
from landmarks.codecs.integral import IntegralHeatmap, soft_argmax

__all__ = ["GaussianHeatmapCodec", "IntegralHeatmap", "MSRAHeatmap", "UDPHeatmap", "flip_heatmaps", "soft_argmax"]
