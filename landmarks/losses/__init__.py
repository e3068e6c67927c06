"""Losses: plain ``nn.Module``s, explicit hyper-parameters, tensors in, scalar out."""

from landmarks.losses.heatmap import KeypointMSELoss, OHKMMSELoss

__all__ = ["KeypointMSELoss", "OHKMMSELoss"]
