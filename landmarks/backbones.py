"""TimmBackbone: any timm model as a multi-scale feature extractor.

timm's ``features_only=True`` mode (Wightman, *PyTorch Image Models*) returns one feature
map per stage; channels and strides come from ``feature_info``, so heads never read them
from config. Models whose stages emit NHWC maps (ConvNeXt/Swin-style "NHWC" feature
format) are converted to NCHW here, once.

Pretrained weights cannot be downloaded on an offline machine: ``pretrained=True`` without
``checkpoint_path`` first checks the network-free route (Hugging Face offline cache) and
fails at once with a message naming ``checkpoint_path`` when nothing is cached.
"""

from __future__ import annotations

import os
from typing import Sequence

import timm
import torch
from torch import nn


class TimmBackbone(nn.Module):
    """A timm model in ``features_only`` mode.

    Args:
        name: timm model name, e.g. ``"resnet18"``, ``"mobilenetv3_large_100"``.
        pretrained: load pretrained weights (needs a cache or ``checkpoint_path`` offline).
        checkpoint_path: local weights file (a timm/torchvision ``state_dict``) to load.
        out_indices: which stages to return (default: all).

    Attributes:
        channels: channels of each returned feature map.
        strides: stride (reduction) of each returned feature map w.r.t. the input.
        data_config: timm's normalisation (``mean``, ``std``) for this model.
    """

    def __init__(
        self,
        name: str,
        pretrained: bool = False,
        checkpoint_path: str | None = None,
        out_indices: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        kwargs: dict = {"features_only": True}
        if out_indices is not None:
            kwargs["out_indices"] = tuple(out_indices)
        if checkpoint_path:
            if not os.path.isfile(checkpoint_path):
                raise FileNotFoundError(
                    f"backbone.checkpoint_path: weights file '{checkpoint_path}' does not exist"
                )
            kwargs["pretrained_cfg_overlay"] = {"file": os.path.abspath(checkpoint_path)}
            pretrained = True
        try:
            self.body = timm.create_model(name, pretrained=pretrained, **kwargs)
        except Exception as err:  # timm raises many types for offline downloads
            if pretrained and not checkpoint_path:
                raise RuntimeError(
                    f"backbone '{name}': pretrained=true needs weights, and they could not be "
                    f"loaded ({type(err).__name__}: {str(err)[:200]}). This machine cannot "
                    "download them: download the timm weights elsewhere and pass "
                    "backbone.checkpoint_path=/path/to/weights.pth (or .safetensors), or set "
                    "backbone.pretrained=false."
                ) from err
            raise
        info = self.body.feature_info
        self.channels: list[int] = list(info.channels())
        self.strides: list[int] = list(info.reduction())
        self._nhwc = getattr(self.body, "output_fmt", "NCHW") == "NHWC" or _feature_fmt(self.body) == "NHWC"
        cfg = timm.data.resolve_model_data_config(self.body)
        self.data_config = {"mean": tuple(cfg["mean"]), "std": tuple(cfg["std"])}

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images ``(B, 3, H, W)`` normalised. Returns one ``(B, C_i, H/s_i, W/s_i)`` per stage."""
        feats = self.body(images)
        if self._nhwc:
            feats = [f.permute(0, 3, 1, 2).contiguous() for f in feats]
        return list(feats)


def _feature_fmt(model: nn.Module) -> str:
    """The feature format a timm features_only wrapper declares ('NCHW' when unknown)."""
    fmt = getattr(model, "output_fmt", None) or getattr(getattr(model, "feature_info", None), "output_fmt", None)
    return str(getattr(fmt, "value", fmt) or "NCHW")
