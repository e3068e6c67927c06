"""Mixed training sources: WithoutLabels, the CombinedLoader batches, and a joint fit on two sources."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from landmarks.codecs.coords import CoordinateCodec
from landmarks.codecs.head_pose import EulerCodec
from landmarks.codecs.head_pose_bins import AngleBinCodec
from landmarks.data.datamodule import LandmarkDataModule
from landmarks.data.label_filter import WithoutLabels
from landmarks.data.synthetic.face.renderer import SyntheticFaceSource
from landmarks.data.transforms import TopDownTransform
from tests.tasks.test_face import _fit


def _source(seed: int = 0) -> SyntheticFaceSource:
    return SyntheticFaceSource(num_images=8, image_size=(96, 96), split="train", seed=seed)


def _codecs() -> dict:
    return {
        "face": CoordinateCodec(input_size=(64, 64)),
        "head_pose": EulerCodec(input_size=(64, 64), bins=AngleBinCodec()),
    }


def test_without_labels_hides_pose_or_keypoints() -> None:
    full = _source()
    no_pose = WithoutLabels(full, drop=["euler"])
    no_kpts = WithoutLabels(full, drop=["keypoints"])
    assert "euler" in full[0] and "euler" not in no_pose[0]
    np.testing.assert_array_equal(no_pose[0]["keypoints"], full[0]["keypoints"])
    assert (no_kpts[0]["visible"] == 0).all() and "euler" in no_kpts[0]
    assert no_pose.spec is full.spec and len(no_pose) == len(full)
    with pytest.raises(ValueError, match="expected labels among"):
        WithoutLabels(full, drop=["pose"])


def test_mixed_sources_give_one_batch_each_with_masked_weights() -> None:
    dm = LandmarkDataModule(
        train=_source(0),
        val=_source(0),
        mix={"landmarks_only": WithoutLabels(_source(1), ["euler"])},
        augment=TopDownTransform,
        batch_size=4,
        batch_sizes={"landmarks_only": 2},
        num_workers=0,
    )
    dm.attach(_codecs())
    assert set(dm.train_sources) == {"train", "landmarks_only"}
    loader = dm.train_dataloader()
    iter(loader)  # CombinedLoader needs iter() before len()
    batch, _, _ = next(iter(loader))
    assert set(batch) == {"train", "landmarks_only"}
    assert len(batch["train"]["image"]) == 4 and len(batch["landmarks_only"]["image"]) == 2
    # a labelled face can still fall outside the 66 bins after augmentation (weight 0 there too)
    assert (batch["train"]["targets"]["head_pose"]["weight"] == 1).any()
    assert (batch["landmarks_only"]["targets"]["head_pose"]["weight"] == 0).all()
    assert (batch["landmarks_only"]["targets"]["face"]["target_weight"] > 0).any()


def test_mix_configuration_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="data.mix: the name 'train' is taken"):
        LandmarkDataModule(train=_source(), mix={"train": _source(1)})
    with pytest.raises(ValueError, match="data.batch_sizes names \\['other'\\]"):
        LandmarkDataModule(train=_source(), mix={"b": _source(1)}, batch_sizes={"other": 2})


@pytest.mark.slow
def test_joint_fit_on_two_sources(tmp_path: Path) -> None:
    metrics = _fit(
        tmp_path,
        "task=face_head_pose",
        "data=synthetic_face_mixed",
        "data.mix.landmarks_only.source.num_images=16",
        "data.batch_sizes.train=4",
        "data.batch_sizes.landmarks_only=2",
    )
    for key in ("val/nme", "val/mae", "val/face/loss", "val/head_pose/loss"):
        assert np.isfinite(metrics[key]), key
