"""Head contract: every conf/head/*.yaml builds from backbone channels/strides and emits (B, K, h, w)."""

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from landmarks.backbones import TimmBackbone

HEAD_CONFIGS = sorted((Path(__file__).resolve().parents[2] / "conf" / "head").glob("*.yaml"))


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


def test_staged_head_supervises_every_stage_and_evaluates_the_last() -> None:
    """CPM-style stages: training returns every stage; the task's loss sums the criterion over them."""
    from landmarks.codecs.heatmap import MSRAHeatmap
    from landmarks.heads.staged import StagedHeatmapHead
    from landmarks.layouts.hand import hand21
    from landmarks.losses.heatmap import KeypointMSELoss
    from tasks.hand import HandTask

    torch.manual_seed(0)
    channels, strides = [8, 16, 24], [4, 8, 16]
    feats = [torch.randn(2, c, 32 // s, 32 // s) for c, s in zip(channels, strides)]
    head = StagedHeatmapHead(channels, strides, num_keypoints=21, channels=16, stages=2)
    stages = head.train()(feats)
    assert isinstance(stages, list) and len(stages) == 3 and all(s.shape == (2, 21, 8, 8) for s in stages)
    evaluated = head.eval()(feats)
    assert isinstance(evaluated, torch.Tensor) and evaluated.shape == (2, 21, 8, 8)

    criterion = KeypointMSELoss(use_target_weight=True)
    task = HandTask(hand21(), MSRAHeatmap((32, 32), (8, 8), sigma=2.0), head=None, loss=criterion)  # type: ignore[arg-type]
    target = {"heatmaps": torch.rand(2, 21, 8, 8), "target_weight": torch.ones(2, 21)}
    batch = {"targets": {"hand": target}}
    expected = sum(criterion(s, target["heatmaps"], target["target_weight"]) for s in stages)
    torch.testing.assert_close(task.loss(stages, batch)["loss"], expected)
    torch.testing.assert_close(
        task.loss(stages[0], batch)["loss"], criterion(stages[0], target["heatmaps"], target["target_weight"])
    )
    with pytest.raises(ValueError, match="stages"):
        StagedHeatmapHead(channels, strides, 21, channels=16, stages=-1)
