"""Head contract: every conf/head/*.yaml builds from backbone channels/strides and emits (B, K, h, w)."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from landmarks.backbones import TimmBackbone

HEAD_CONFIGS = sorted((Path(__file__).resolve().parents[1] / "conf" / "head").glob("*.yaml"))


@pytest.mark.parametrize("path", HEAD_CONFIGS, ids=lambda p: p.stem)
@pytest.mark.parametrize("backbone_name", ["resnet18", "mobilenetv3_large_100"])
def test_head_config_builds_and_runs(path: Path, backbone_name: str) -> None:
    cfg = OmegaConf.merge(OmegaConf.create({"heatmap_stride": 4}), {"head": OmegaConf.load(path)})
    factory = instantiate(cfg.head)
    backbone = TimmBackbone(backbone_name).eval()
    head = factory(in_channels=backbone.channels, in_strides=backbone.strides, num_keypoints=17).eval()
    with torch.no_grad():
        out = head(backbone(torch.zeros(2, 3, 128, 96)))
    assert out.shape == (2, 17, 128 // head.stride, 96 // head.stride)
    assert head.stride == 4


def test_light_head_rejects_unknown_stride() -> None:
    from landmarks.heads.heatmap import LightHeatmapHead

    with pytest.raises(ValueError, match="output_stride"):
        LightHeatmapHead([16, 32], [2, 4], 17, output_stride=8)
