"""TimmBackbone: any timm model as a multi-scale feature extractor.

timm's ``features_only=True`` mode (Wightman, *PyTorch Image Models*) returns one feature
map per stage; channels and strides come from ``feature_info``, so heads never read them
from config. Models whose stages emit NHWC maps (ConvNeXt/Swin-style "NHWC" feature
format) are converted to NCHW here, once.

Pretrained weights cannot be downloaded on an offline machine: ``pretrained=True`` without
``checkpoint_path`` first looks for the weights in the local caches (Hugging Face hub cache,
torch hub cache) and loads a cached file without touching the network; otherwise, unless
``HF_HUB_OFFLINE`` is set, it tries one TCP connection to the weights' host (2 s timeout) and,
when that fails, raises at once with a message naming ``checkpoint_path`` instead of waiting
for the hub client's retries (about 45 s).

Space-to-depth stem (``space_to_depth=f``; the "Focus" layer of YOLOv5, Jocher 2020, and TResNet's
SpaceToDepth stem, Ridnik et al., WACV 2021): every ``f x f`` block of input pixels becomes ``3 f^2``
channels of one pixel (``pixel_unshuffle``) before the model's first convolution, so a ``256 x 256``
input costs the backbone what a ``128 x 128`` one does (f = 2) while its first layer still sees every
pixel. The reported strides are multiplied by ``f``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlparse

import timm
import timm.data
import torch
import torch.nn.functional as F
from timm.models import FeatureInfo
from torch import nn

log = logging.getLogger("landmarks")

REACH_TIMEOUT_S = 2.0
"""Seconds allowed to resolve and connect to the weights' host before ``pretrained=True`` fails."""


class TimmBackbone(nn.Module):
    """A timm model in ``features_only`` mode.

    Args:
        name: timm model name, e.g. ``"resnet18"``, ``"mobilenetv3_large_100"``.
        pretrained: load pretrained weights (needs a cache or ``checkpoint_path`` offline).
        checkpoint_path: local weights file (a timm/torchvision ``state_dict``) to load.
        out_indices: which stages to return (default: all).
        space_to_depth: ``f`` of the space-to-depth stem (module docstring); 1: none. Input sides must be
            multiples of ``f``; pretrained first-layer weights are adapted by timm to the ``3 f^2`` channels.
        model_kwargs: further arguments of the timm model's constructor, e.g. a ResNet's ``stem_width`` or
            ``channels`` (stage widths); a pretrained checkpoint must then have the same shapes.

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
        space_to_depth: int = 1,
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        if int(space_to_depth) < 1:
            raise ValueError(f"backbone.space_to_depth must be a positive integer, got {space_to_depth}")
        self.space_to_depth = int(space_to_depth)
        kwargs: dict[str, Any] = dict(model_kwargs or {})
        kwargs["features_only"] = True
        if self.space_to_depth > 1:
            kwargs["in_chans"] = 3 * self.space_to_depth**2
        if out_indices is not None:
            kwargs["out_indices"] = tuple(out_indices)
        if checkpoint_path:
            if not os.path.isfile(checkpoint_path):
                raise FileNotFoundError(f"backbone.checkpoint_path: weights file '{checkpoint_path}' does not exist")
            kwargs["pretrained_cfg_overlay"] = {"file": os.path.abspath(checkpoint_path)}
            pretrained = True
        elif pretrained:
            cached = cached_weights(name)
            if cached:
                log.info("backbone '%s': pretrained weights from the local cache %s", name, cached)
                kwargs["pretrained_cfg_overlay"] = {"file": cached}
            elif not _offline():
                host = weights_host(name)
                why = _unreachable(host) if host else None
                if why:
                    raise RuntimeError(_no_weights(name, f"no cached copy, and {why}"))
        try:
            self.body = timm.create_model(name, pretrained=pretrained, **kwargs)
        except Exception as err:  # timm raises many types for offline downloads
            if model_kwargs and isinstance(err, TypeError):
                raise ValueError(
                    f"backbone.model_kwargs {dict(model_kwargs)} do not fit timm model '{name}': {err}"
                ) from err
            if pretrained and not checkpoint_path:
                raise RuntimeError(_no_weights(name, f"{type(err).__name__}: {str(err)[:200]}")) from err
            raise
        info = cast(FeatureInfo, self.body.feature_info)  # features_only models carry timm's FeatureInfo
        self.channels: list[int] = list(info.channels())
        self.strides: list[int] = [r * self.space_to_depth for r in info.reduction()]
        self._nhwc = getattr(self.body, "output_fmt", "NCHW") == "NHWC" or _feature_fmt(self.body) == "NHWC"
        cfg = timm.data.resolve_model_data_config(self.body)  # pyright: ignore[reportPrivateImportUsage] - public in timm, missing from its __all__
        self.data_config = {"mean": tuple(cfg["mean"]), "std": tuple(cfg["std"])}

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Args: images ``(B, 3, H, W)`` normalised. Returns one ``(B, C_i, H/s_i, W/s_i)`` per stage."""
        if self.space_to_depth > 1:
            f = self.space_to_depth
            if images.shape[-1] % f or images.shape[-2] % f:
                raise ValueError(
                    f"backbone.space_to_depth={f}: input {images.shape[-1]} x {images.shape[-2]} px is not a multiple of {f}"
                )
            images = F.pixel_unshuffle(images, f)
        feats = self.body(images)
        if self._nhwc:
            feats = [f.permute(0, 3, 1, 2).contiguous() for f in feats]
        return list(feats)


def _no_weights(name: str, reason: str) -> str:
    return (
        f"backbone '{name}': pretrained=true needs weights, and they could not be loaded ({reason}). "
        "This machine cannot download them: download the timm weights elsewhere and pass "
        "backbone.checkpoint_path=/path/to/weights.pth (or .safetensors), or set backbone.pretrained=false."
    )


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _pretrained_cfg(name: str) -> object | None:
    try:
        return timm.models.get_pretrained_cfg(name, allow_unregistered=True)
    except Exception:  # noqa: BLE001 - unknown names are reported by timm.create_model
        return None


def cached_weights(name: str) -> str | None:
    """A local copy of ``name``'s pretrained weights (Hugging Face or torch hub cache), if any."""
    cfg = _pretrained_cfg(name)
    if cfg is None:
        return None
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:
            try_to_load_from_cache = None  # type: ignore[assignment]
        if try_to_load_from_cache is not None:
            hub_filename = getattr(cfg, "hf_hub_filename", None)
            names = [hub_filename] if hub_filename else ["model.safetensors", "pytorch_model.bin"]
            for filename in names:
                found = try_to_load_from_cache(hub_id, filename)
                if isinstance(found, str) and os.path.isfile(found):
                    return found
    url = getattr(cfg, "url", None)
    if url:
        path = os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(urlparse(url).path))
        if os.path.isfile(path):
            return path
    return None


def weights_host(name: str) -> tuple[str, int] | None:
    """``(host, port)`` that timm would download ``name``'s weights from (``None``: none known)."""
    if name.startswith("hf-hub:"):
        hub = True
    else:
        cfg = _pretrained_cfg(name)
        if cfg is None:
            return None
        hub = bool(getattr(cfg, "hf_hub_id", None))
        cfg_url = getattr(cfg, "url", None)
        if not hub and cfg_url:
            url = urlparse(cfg_url)
            return (url.hostname or "", url.port or (443 if url.scheme == "https" else 80)) if url.hostname else None
    if not hub:
        return None
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return endpoint.hostname or "huggingface.co", endpoint.port or (443 if endpoint.scheme == "https" else 80)


def _unreachable(host: tuple[str, int], timeout: float = REACH_TIMEOUT_S) -> str | None:
    """``None`` when ``host`` accepts a TCP connection within ``timeout`` s, else why not.

    Name resolution has no timeout of its own, so the attempt runs in a daemon thread.
    """
    result: list[str | None] = []

    def attempt() -> None:
        try:
            socket.create_connection(host, timeout=timeout).close()
            result.append(None)
        except OSError as err:
            result.append(f"{type(err).__name__}: {err}")

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    if not result:
        return f"{host[0]}:{host[1]} did not answer within {timeout:g} s (set HF_HUB_OFFLINE=1 on offline machines)"
    return (
        None
        if result[0] is None
        else f"cannot reach {host[0]}:{host[1]} ({result[0]}; set HF_HUB_OFFLINE=1 on offline machines)"
    )


def _feature_fmt(model: nn.Module) -> str:
    """The feature format a timm features_only wrapper declares ('NCHW' when unknown)."""
    fmt = getattr(model, "output_fmt", None) or getattr(getattr(model, "feature_info", None), "output_fmt", None)
    return str(getattr(fmt, "value", fmt) or "NCHW")
