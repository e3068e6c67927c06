"""Face task: coordinate codec round trip and flip, regression head, loss choice and masking, face metrics, fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf
from torch.utils.data import default_collate

from landmarks.codecs.coords import CoordinateCodec
from landmarks.data.dataset import TopDownDataset
from landmarks.data.transforms import TopDownTransform
from landmarks.heads.regression import RegressionHead
from landmarks.layouts.face import ibug68
from landmarks.losses.coords import CoordinateL1Loss, CoordinateMSELoss
from landmarks.losses.wing import WingLoss
from landmarks.metrics.face_nme import FaceNME
from landmarks.types import Prediction
from tasks.face import FaceLandmarkTask

CONF = Path(__file__).resolve().parents[2] / "conf"


class FakeFaceSource:
    """Plain 68-point faces: an ellipse of landmarks on a grey image, optional euler / landmark labels."""

    spec = ibug68()

    def __init__(self, n: int = 4, euler: bool = True, landmarks: bool = True) -> None:
        self.n, self.euler, self.landmarks = n, euler, landmarks

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        rng = np.random.default_rng(i)
        t = np.linspace(0, 2 * np.pi, 68, endpoint=False)
        kpts = np.stack([80 + 30 * np.cos(t), 75 + 40 * np.sin(t)], 1) + rng.normal(0, 2, (68, 2))
        sample = {
            "image": np.full((160, 160, 3), 100, np.uint8),
            "keypoints": kpts.astype(np.float32),
            "visible": np.full(68, 2.0 if self.landmarks else 0.0, np.float32),
            "bbox": np.array([50, 35, 60, 80], np.float32),
            "image_id": i,
        }
        if self.euler:
            sample["euler"] = np.array([10.0 * i - 20, 5.0, -3.0], np.float32)
        return sample


def _task(loss: torch.nn.Module | None = None, size: int = 64) -> FaceLandmarkTask:
    codec = CoordinateCodec((size, size))
    return FaceLandmarkTask(spec=ibug68(), codec=codec, head=RegressionHead, loss=loss or WingLoss())


# ------------------------------------------------------------------ codec
def test_coordinate_codec_round_trip_through_crop_and_unwarp() -> None:
    source = FakeFaceSource(3)
    task = _task(size=96)
    dataset = TopDownDataset(source, TopDownTransform((96, 96), train=False), {"face": task.codec})
    batch = default_collate([dataset[i] for i in range(3)])
    target = batch["targets"]["face"]
    assert target["coords"].shape == (3, 68, 2) and torch.all(target["target_weight"] == 1)
    pred = task.predict(target["coords"], batch)  # a perfect head: its output is the target
    np.testing.assert_allclose(pred.keypoints, batch["meta"]["keypoints"].numpy(), atol=1e-3)
    assert np.all(pred.scores == 1)


def test_coordinate_codec_masks_unlabelled_and_non_finite() -> None:
    codec = CoordinateCodec((64, 64))
    kpts = np.array([[1.0, 2.0], [3.0, 4.0], [np.nan, 5.0]])
    out = codec.encode(kpts, np.array([2, 0, 2]))
    np.testing.assert_array_equal(out["target_weight"], [1, 0, 0])
    np.testing.assert_array_equal(out["coords"], [[1, 2], [0, 0], [0, 0]])
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        codec.encode(kpts, np.ones(2))


def test_flip_back_undoes_the_transform_flip() -> None:
    """Coordinates of the mirrored crop, flipped back, are the plain crop's (x -> W - 1 - x, swapped)."""
    sample = FakeFaceSource(1)[0]
    spec, codec = ibug68(), CoordinateCodec((64, 64))
    crops = {
        p: TopDownTransform((64, 64), train=True, flip_prob=p, photometric=0.0, rot_prob=0.0, scale_factor=0.0)(
            sample, np.random.default_rng(0), spec.flip_indices
        )
        for p in (0.0, 1.0)
    }
    assert crops[1.0]["flipped"] and not crops[0.0]["flipped"]
    back = codec.flip_back(torch.from_numpy(crops[1.0]["keypoints"])[None], spec.flip_indices)
    np.testing.assert_allclose(back[0].numpy(), crops[0.0]["keypoints"], atol=1e-4)
    task = _task()
    merged = task.merge_flip(
        torch.from_numpy(crops[0.0]["keypoints"])[None], task.flip_back(torch.from_numpy(crops[1.0]["keypoints"])[None])
    )
    np.testing.assert_allclose(merged[0].numpy(), crops[0.0]["keypoints"], atol=1e-4)


# ------------------------------------------------------------------ head
def test_regression_head_starts_at_the_crop_centre_in_input_px() -> None:
    head = RegressionHead([8, 16], [16, 32], num_keypoints=68, input_size=(96, 64), hidden=[32], pool_size=2)
    out = head([torch.randn(2, 8, 4, 6), torch.randn(2, 16, 2, 3)])
    assert out.shape == (2, 68, 2)
    np.testing.assert_allclose(out.detach().numpy()[..., 0], 47.5)
    np.testing.assert_allclose(out.detach().numpy()[..., 1], 31.5)
    out.sum().backward()
    assert head.final[-1].weight.grad.abs().sum() > 0


# ------------------------------------------------------------------ losses: choice and masking
@pytest.mark.parametrize(
    ("name", "expected"),
    [("wing", 10 * np.log(1 + 3 / 2) + 10 * np.log(1 + 4 / 2)), ("soft_wing", None), ("l1", 7.0), ("mse", 25.0)],
)
def test_coord_loss_configs(name: str, expected: float | None) -> None:
    loss = instantiate(OmegaConf.load(CONF / "coord_loss" / f"{name}.yaml"))
    pred = torch.tensor([[[3.0, -4.0], [100.0, 100.0]]])
    target = torch.zeros(1, 2, 2)
    value = loss(pred, target, torch.tensor([[1.0, 0.0]]))  # the second keypoint is masked
    if expected is None:  # Soft Wing: thres2 ln(1 + |x| / gamma) + B on both errors (> thres1 = 2)
        b = 2.0 - 20.0 * np.log(1 + 2.0 / 0.5)
        expected = sum(20.0 * np.log(1 + e / 0.5) + b for e in (3.0, 4.0))
    assert value.item() == pytest.approx(expected, rel=1e-6)


def test_loss_is_masked_for_faces_without_landmarks() -> None:
    """A batch from a pose-only source (visible 0): zero face loss and zero gradient."""
    task = _task(CoordinateL1Loss())
    dataset = TopDownDataset(FakeFaceSource(2, landmarks=False), TopDownTransform((64, 64)), {"face": task.codec})
    batch = default_collate([dataset[0], dataset[1]])
    out = torch.full((2, 68, 2), 5.0, requires_grad=True)
    loss = task.loss(out, batch)["loss"]
    loss.backward()
    assert loss.item() == 0.0 and torch.all(out.grad == 0)
    # one labelled and one unlabelled face: the loss is the labelled face's alone (per batch mean)
    labelled = TopDownDataset(FakeFaceSource(1), TopDownTransform((64, 64)), {"face": task.codec})[0]
    mixed = default_collate([labelled, dataset[1]])
    out = torch.zeros(2, 68, 2)
    expected = mixed["targets"]["face"]["coords"][0].abs().sum() / 2
    assert task.loss(out, mixed)["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert CoordinateMSELoss()(torch.ones(1, 1, 2), torch.zeros(1, 1, 2)).item() == 2.0


# ------------------------------------------------------------------ metrics
def test_face_metrics_by_hand() -> None:
    gt = np.stack([FakeFaceSource(4)[i]["keypoints"] for i in range(4)]).astype(np.float64)
    vis = np.full((4, 68), 2.0)
    vis[3] = 0  # a face without landmark labels: left out of every metric
    yaw = np.array([[10.0, 0, 0], [45.0, 0, 0], [-70.0, 0, 0], [0.0, 0, 0]])
    pred = gt.copy()
    pred[1, :, 0] += 3.0  # face 1 off by 3 px everywhere
    m = FaceNME(norm="box")

    def update(sl: slice, euler: np.ndarray | None) -> None:
        meta = {"keypoints": gt[sl], "visible": vis[sl], **({} if euler is None else {"euler": euler[sl]})}
        m.update(Prediction(pred[sl], np.ones(vis[sl].shape)), meta)

    update(slice(0, 2), yaw)
    update(slice(2, 4), yaw)
    out = m.compute()
    wh = gt[1].max(0) - gt[1].min(0)
    nme1 = 3.0 / np.sqrt(wh[0] * wh[1])
    assert out["nme"] == pytest.approx(nme1 / 3) and out["nme_box"] == out["nme"]
    io1 = 3.0 / np.linalg.norm(gt[1, 36] - gt[1, 45])
    assert out["nme_io"] == pytest.approx(io1 / 3)
    assert out["nme_yaw_0_30"] == 0.0 and out["nme_yaw_30_60"] == pytest.approx(nme1)
    assert out["nme_yaw_60_90"] == 0.0 and out["nme_io_frontal"] == 0.0
    assert out["fr"] == 0.0 and 0.5 < out["auc"] < 1.0
    m.reset()
    assert m.compute() == {}  # state was reset
    update(slice(0, 2), None)  # no pose labels: no yaw bands
    assert not any(k.startswith("nme_yaw") or k == "nme_io_frontal" for k in m.compute())


# ------------------------------------------------------------------ tiny fits
def _fit(tmp_path: Path, *overrides: str) -> dict[str, float]:
    from hydra import compose, initialize_config_dir

    from landmarks import run

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(
            "train",
            overrides=[
                "backbone=resnet18",
                "input_size=[64,64]",
                "trainer.max_steps=3",
                "trainer.val_check_interval=3",
                "trainer.enable_progress_bar=false",
                "data.num_workers=0",
                "data.batch_size=4",
                "data.train.num_images=16",
                "data.val.num_images=8",
                "data.val_batch_size=8",
                "logger=csv",
                f"output_dir={tmp_path}",
                "threads=1",
                *overrides,
            ],
        )
    metrics = run.train(cfg)
    assert metrics["global_step"] == 3
    return metrics


@pytest.mark.slow
@pytest.mark.parametrize("variant", [["task=face"], ["task=face", "coord_loss=soft_wing"], ["task=face_heatmap"]])
def test_tiny_fit_face(tmp_path: Path, variant: list[str]) -> None:
    metrics = _fit(tmp_path, *variant)
    for key in ("val/nme", "val/nme_box", "val/nme_io", "val/nme_ip", "val/fr", "val/auc", "val/face/loss"):
        assert np.isfinite(metrics[key]), key
    assert any(k.startswith("val/nme_yaw_") for k in metrics)  # synthetic faces carry euler labels
