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


# --------------------------------------------------------------------------- pretrained without HF_HUB_OFFLINE
def _no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Unset HF_HUB_OFFLINE, make every TCP connection fail, and record pretrained timm builds."""
    import socket

    import timm

    from landmarks import backbones

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def refuse(address: tuple, *args: object, **kwargs: object) -> None:
        raise OSError(f"test: no network to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    calls: list[tuple] = []
    real = timm.create_model

    def create_model(name: str, pretrained: bool = False, **kwargs: object) -> torch.nn.Module:
        calls.append((name, pretrained, kwargs.get("pretrained_cfg_overlay")))
        if pretrained and not kwargs.get("pretrained_cfg_overlay"):
            raise AssertionError("test: timm would download here")
        return real(name, pretrained=pretrained, **kwargs)

    monkeypatch.setattr(backbones.timm, "create_model", create_model)
    return calls


def test_pretrained_without_offline_flag_fails_at_once_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from landmarks import backbones

    calls = _no_network(monkeypatch)
    monkeypatch.setattr(backbones, "cached_weights", lambda name: None)
    start = time.perf_counter()
    with pytest.raises(RuntimeError) as info:
        TimmBackbone("resnet18", pretrained=True)
    assert time.perf_counter() - start < 5.0
    msg = str(info.value)
    assert "backbone 'resnet18'" in msg and "checkpoint_path" in msg and "huggingface.co:443" in msg
    assert "HF_HUB_OFFLINE=1" in msg
    assert calls == []  # refused before timm (and its ~45 s of retries) was asked to download


def test_reachability_check_gives_up_after_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket
    import time

    from landmarks.backbones import _unreachable

    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(5))  # a resolver that hangs
    start = time.perf_counter()
    why = _unreachable(("hub.invalid", 443), timeout=0.2)
    assert time.perf_counter() - start < 1.5
    assert why is not None and "hub.invalid:443 did not answer within 0.2 s" in why


def test_weights_host_follows_hf_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from landmarks.backbones import weights_host

    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert weights_host("resnet18") == ("huggingface.co", 443)
    monkeypatch.setenv("HF_ENDPOINT", "http://mirror.local:8080")
    assert weights_host("resnet18") == ("mirror.local", 8080)
    assert weights_host("no_such_model_xyz") is None


def test_pretrained_uses_a_cached_file_without_the_network(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    import timm

    calls = _no_network(monkeypatch)
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, filename, **kw: None)
    torch.manual_seed(3)
    reference = timm.create_model("resnet18")
    (tmp_path / "checkpoints").mkdir()
    cached = tmp_path / "checkpoints" / "resnet18_a1_0-d63eafa0.pth"  # the file name of resnet18's timm URL
    torch.save(reference.state_dict(), cached)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    backbone = TimmBackbone("resnet18", pretrained=True)
    assert calls[-1] == ("resnet18", True, {"file": str(cached)})
    assert torch.equal(dict(backbone.body.named_parameters())["conv1.weight"], reference.state_dict()["conv1.weight"])


def test_space_to_depth_stem_sees_every_pixel_at_the_cost_of_half_the_input() -> None:
    """space_to_depth=2: a 256 px input gives the feature grids of a 128 px one, strides doubled, every pixel read."""
    plain = TimmBackbone("resnet10t").eval()
    focus = TimmBackbone("resnet10t", space_to_depth=2).eval()
    assert focus.strides == [2 * s for s in plain.strides]
    assert focus.channels == plain.channels
    image = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        feats = focus(image)
        small = plain(torch.zeros(1, 3, 128, 128))
        assert [f.shape for f in feats] == [f.shape for f in small]
        assert torch.equal(feats[-1], focus.body(torch.nn.functional.pixel_unshuffle(image, 2))[-1])
        for y, x in ((0, 0), (0, 1), (1, 0), (1, 1)):  # each pixel of a 2 x 2 block moves the first stage
            moved = image.clone()
            moved[0, :, y, x] += 1.0
            assert not torch.equal(focus(moved)[0], feats[0]), (y, x)
    with pytest.raises(ValueError, match="not a multiple of 2"):
        focus(torch.zeros(1, 3, 255, 256))
    with pytest.raises(ValueError, match="space_to_depth"):
        TimmBackbone("resnet10t", space_to_depth=0)


def test_model_kwargs_reach_the_timm_constructor() -> None:
    """model_kwargs narrow a ResNet's stem and stages; the reported channels follow; a wrong name is a clear error."""
    narrow = TimmBackbone("resnet10t", model_kwargs={"stem_width": 16, "channels": [32, 64, 128, 256]})
    assert narrow.channels == [32, 32, 64, 128, 256]  # a deep stem ends at 2 * stem_width channels
    assert narrow.body.conv1[0].out_channels == 12  # the tiered stem's first conv: 3 * stem_width / 4
    with torch.no_grad():
        assert [f.shape[1] for f in narrow(torch.zeros(1, 3, 64, 64))] == narrow.channels
    with pytest.raises(ValueError, match="backbone.model_kwargs .*'resnet10t'"):
        TimmBackbone("resnet10t", model_kwargs={"no_such_option": 1})
