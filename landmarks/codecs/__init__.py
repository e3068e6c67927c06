"""Codecs: encode labels into training targets (data side), decode head outputs (model side).

Each codec documents its coordinate unit; the same object is given to the data pipeline
and to the task. See :mod:`landmarks.codecs.heatmap` for the heatmap codecs.
"""

from landmarks.codecs.heatmap import GaussianHeatmapCodec, MSRAHeatmap, UDPHeatmap, flip_heatmaps

__all__ = ["GaussianHeatmapCodec", "MSRAHeatmap", "UDPHeatmap", "flip_heatmaps"]
