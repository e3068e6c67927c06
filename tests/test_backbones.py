"""TimmBackbone contract: channels/strides from feature_info, NHWC converted, offline errors."""

import pytest
import torch

from landmarks.backbones import TimmBackbone

FAMILIES = ["resnet18", "mobilenetv3_large_100", "convnext_atto", "efficientnet_b0", "swin_tiny_patch4_window7_224"]


@pytest.mark.parametrize("name", FAMILIES)
def test_features_match_feature_info(name: str) -> None:
    backbone = TimmBackbone(name).eval()
    with torch.no_grad():
        feats = backbone(torch.zeros(1, 3, 224, 224))
    assert len(feats) == len(backbone.channels) == len(backbone.strides)
    for f, c, s in zip(feats, backbone.channels, backbone.strides):
        assert f.shape == (1, c, 224 // s, 224 // s), (name, f.shape, c, s)
    assert len(backbone.data_config["mean"]) == 3


def test_nhwc_model_is_converted() -> None:
    backbone = TimmBackbone("swin_tiny_patch4_window7_224")
    assert backbone._nhwc  # swin emits NHWC stages; forward() permutes them (checked above)


def test_pretrained_offline_fails_fast_with_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="checkpoint_path"):
        TimmBackbone("resnet18", pretrained=True)


def test_local_weights_file_loads(tmp_path) -> None:
    import timm

    reference = timm.create_model("resnet18")
    path = tmp_path / "resnet18.pth"
    torch.save(reference.state_dict(), path)
    backbone = TimmBackbone("resnet18", checkpoint_path=str(path))
    ref = reference.state_dict()["conv1.weight"]
    got = dict(backbone.body.named_parameters())["conv1.weight"]
    assert torch.equal(ref, got)


def test_missing_weights_file_names_the_field(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="backbone.checkpoint_path"):
        TimmBackbone("resnet18", checkpoint_path=str(tmp_path / "nope.pth"))
