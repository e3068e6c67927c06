"""Codec contract: every codec class in ``landmarks.codecs`` round-trips within its documented bound.

Discovery: every class defined in a ``landmarks/codecs/*.py`` module that has an ``encode`` method
is a codec and must have an entry in :data:`EXAMPLES` (a constructor, the head output a perfect
model would give for the encoded targets, and the round-trip error bound). Kinds: ``keypoints``
(input px), ``angles`` (degrees) and ``boxes`` (``x, y, w, h`` input px of labelled boxes). A new codec without an
entry fails :func:`test_every_codec_has_a_round_trip_example`, so the contract cannot be skipped.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch

import landmarks.codecs
from landmarks.codecs.centernet import CenterNetCodec
from landmarks.codecs.coords import CoordinateCodec
from landmarks.codecs.head_pose import EulerCodec
from landmarks.codecs.head_pose_bins import AngleBinCodec
from landmarks.codecs.heatmap import MSRAHeatmap, UDPHeatmap
from landmarks.codecs.integral import IntegralHeatmap
from landmarks.codecs.protocol import AngleCodec, BoxCodec, KeypointCodec
from landmarks.codecs.rle import RLECodec
from landmarks.codecs.simcc import SimCCCodec
from landmarks.codecs.visibility import VisibilityCodec

INPUT = (64, 96)  # W, H input px
HEATMAP = (16, 24)


@dataclass
class Example:
    """How to round-trip one codec: ``decoded = decode(perfect(encode(label)))``; ``|decoded - label| <= bound``."""

    build: Callable[[], Any]
    kind: str  # "keypoints" (input px), "angles" (degrees) or "boxes" (xywh input px)
    perfect: Callable[[Any, dict[str, np.ndarray]], Any]
    bound: float


def _heatmaps(_: Any, t: dict[str, np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(t["heatmaps"])[None]


def _simcc_logits(_: Any, t: dict[str, np.ndarray]) -> torch.Tensor:
    """The logits that the KL loss's label softmax (beta 10) asks for: x bins, then y bins."""
    return 10.0 * torch.from_numpy(np.concatenate([t["simcc_x"], t["simcc_y"]], axis=-1))[None]


def _rle_output(_: Any, t: dict[str, np.ndarray]) -> torch.Tensor:
    """Exact coordinates with a 1 px scale: ``(1, K, 4)``."""
    return torch.from_numpy(np.concatenate([t["coords"], np.ones_like(t["coords"])], axis=-1))[None]


def _visibility_logits(_: Any, t: dict[str, np.ndarray]) -> torch.Tensor:
    """A confident classifier: +20 where visible, -20 where occluded (or unlabelled)."""
    return torch.from_numpy(20.0 * (2.0 * t["visibility"] - 1.0))[None]


def _bin_logits(codec: Any, t: dict[str, np.ndarray]) -> torch.Tensor:
    """Logits a confident classifier gives: +20 on the target bin of each angle."""
    bins = codec.bins if isinstance(codec, EulerCodec) else codec
    logits = torch.full((1, 3, bins.num_bins), -20.0)
    logits[0, torch.arange(3), torch.as_tensor(t["bins"])] = 20.0
    return logits


def _centre_maps(_: Any, t: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """A perfect CenterNet output: the target heatmap as logits, the size and offset target maps."""
    heat = torch.logit(torch.from_numpy(t["heatmap"])[None].double().clamp(1e-9, 1 - 1e-9))
    return {"heatmap": heat, "size": torch.from_numpy(t["size"])[None], "offset": torch.from_numpy(t["offset"])[None]}


EXAMPLES: dict[type, Example] = {
    MSRAHeatmap: Example(
        lambda: MSRAHeatmap(INPUT, HEATMAP, sigma=2.0, refine="dark", unbiased=True), "keypoints", _heatmaps, 0.15
    ),  # 0.04 heatmap px at stride 4 (DARK on a truncated Gaussian)
    UDPHeatmap: Example(lambda: UDPHeatmap(INPUT, HEATMAP, sigma=2.0), "keypoints", _heatmaps, 0.05),
    IntegralHeatmap: Example(
        lambda: IntegralHeatmap(MSRAHeatmap(INPUT, HEATMAP, sigma=2.0, unbiased=True), beta=20.0),
        "keypoints",
        _heatmaps,
        0.5,
    ),
    CoordinateCodec: Example(
        lambda: CoordinateCodec(INPUT), "keypoints", lambda _, t: torch.from_numpy(t["coords"])[None], 1e-4
    ),
    SimCCCodec: Example(
        lambda: SimCCCodec(INPUT, split_ratio=2.0, sigma=4.0), "keypoints", _simcc_logits, 0.25 + 1e-6
    ),  # half a bin: 1 / (2 * split_ratio) input px
    RLECodec: Example(lambda: RLECodec(INPUT), "keypoints", _rle_output, 1e-4),
    VisibilityCodec: Example(
        lambda: VisibilityCodec(INPUT), "visibility", _visibility_logits, 1e-6
    ),  # kind "visibility": COCO flags -> probability of v = 2; sigmoid(20) = 1 - 2e-9
    AngleBinCodec: Example(lambda: AngleBinCodec(), "angles", _bin_logits, 1.5 + 1e-3),  # half a 3-degree bin
    EulerCodec: Example(lambda: EulerCodec(INPUT, bins=AngleBinCodec()), "angles", _bin_logits, 1.5 + 1e-3),
    CenterNetCodec: Example(
        lambda: CenterNetCodec(INPUT, ["person", "hand"], stride=4), "boxes", _centre_maps, 1e-4
    ),  # exact: cell + offset and size are continuous
}


def _codec_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(landmarks.codecs.__path__):
        module = importlib.import_module(f"landmarks.codecs.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and callable(getattr(cls, "encode", None)) and info.name != "protocol":
                found.append(cls)
    return found


def test_every_codec_has_a_round_trip_example() -> None:
    classes = _codec_classes()
    assert classes, "no codec discovered"
    missing = [
        c.__qualname__
        for c in classes
        if c not in EXAMPLES and not inspect.isabstract(c) and c.__name__ != "GaussianHeatmapCodec"
    ]  # the base of MSRA / UDP, covered through them
    assert not missing, f"codecs without a round-trip example in tests/codecs/test_contract.py: {missing}"


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_every_codec_satisfies_a_codec_protocol(cls: type) -> None:
    codec = EXAMPLES[cls].build()
    if cls is EulerCodec:  # a head-pose label codec: encodes the crop's angles, decodes through its bins
        assert callable(codec.encode_sample) and isinstance(codec.bins, AngleCodec)
        return
    if EXAMPLES[cls].kind == "visibility":  # flags in, (B, K) probabilities out: no coordinates to decode
        assert len(codec.input_size) == 2 and callable(codec.encode) and callable(codec.decode)
        assert callable(codec.flip_back)
        return
    kinds = {"keypoints": KeypointCodec, "angles": AngleCodec, "boxes": BoxCodec}
    assert isinstance(codec, kinds[EXAMPLES[cls].kind]), cls.__name__


def test_every_codec_module_documents_its_unit() -> None:
    for cls in _codec_classes():
        doc = (inspect.getmodule(cls).__doc__ or "") + (cls.__doc__ or "")
        assert any(w in doc.lower() for w in ("px", "pixel", "degree")), f"{cls.__qualname__}: no unit documented"


@pytest.mark.parametrize("cls", list(EXAMPLES), ids=lambda c: c.__name__)
def test_codec_round_trip_within_its_bound(cls: type) -> None:
    ex = EXAMPLES[cls]
    codec = ex.build()
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        if ex.kind == "visibility":  # labelled flags (v > 0) decode to 1 (v = 2) or 0 (v = 1); v = 0 is masked
            flags = rng.choice([0.0, 1.0, 2.0], size=7).astype(np.float32)
            targets = codec.encode(rng.uniform(0, INPUT[0] - 1, (7, 2)).astype(np.float32), flags)
            decoded = np.asarray(codec.decode(ex.perfect(codec, targets)))[0]
            labelled = flags > 0
            assert np.array_equal(targets["target_weight"], labelled.astype(np.float32))
            worst = max(worst, float(np.abs(decoded[labelled] - (flags[labelled] == 2)).max(initial=0.0)))
            continue
        if ex.kind == "boxes":  # 3 boxes whose centres fall in distinct cells, labels of both classes
            xy = np.stack([rng.uniform(4, INPUT[0] - 36, 3), rng.uniform(4, INPUT[1] - 44, 3)], 1)
            xy[:, 0] += np.array([0.0, 11.0, 22.0])[rng.permutation(3)]  # centres at least 11 px apart in x
            label = np.concatenate([xy, rng.uniform(6, 12, (3, 1)), rng.uniform(10, 40, (3, 1))], 1)
            targets = codec.encode(label, np.array([0, 1, 1]))
            boxes, scores, _ = codec.decode(ex.perfect(codec, targets))
            found = boxes[0][scores[0] > 0.999]
            assert len(found) == 3, f"{cls.__name__}: {len(found)} peaks for 3 boxes"
            decoded = found[np.argsort(found[:, 0])]
            label = label[np.argsort(label[:, 0])]
        elif ex.kind == "keypoints":
            k = 5
            margin = 16.0  # 4 heatmap px: DARK leaves maxima within 2 px of the border unrefined (test_codecs_heatmap)
            label = np.stack(
                [rng.uniform(margin, INPUT[0] - 1 - margin, k), rng.uniform(margin, INPUT[1] - 1 - margin, k)], 1
            )
            targets = codec.encode(label.astype(np.float32), np.full(k, 2.0, np.float32))
            decoded = np.asarray(codec.decode(ex.perfect(codec, targets))[0])[0]
        else:
            label = rng.uniform(-90, 90, 3)
            targets = codec.encode(label)
            out = ex.perfect(codec, targets)
            bins = codec.bins if isinstance(codec, EulerCodec) else codec
            decoded = np.asarray(bins.decode(out))[0]
        worst = max(worst, float(np.abs(decoded - label).max()))
    assert worst <= ex.bound, f"{cls.__name__}: round-trip error {worst:.4f} > bound {ex.bound}"
