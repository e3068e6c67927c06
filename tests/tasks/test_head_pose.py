"""Head-pose task: flip and rotation label rules through the transform, codec, loss masking, decode, flip test, fits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import default_collate

from landmarks.codecs.coords import CoordinateCodec
from landmarks.codecs.head_pose import EulerCodec
from landmarks.codecs.head_pose_bins import AngleBinCodec
from landmarks.data.dataset import TopDownDataset
from landmarks.data.transforms import TopDownTransform
from landmarks.geometry import (
    euler_to_matrix,
    flip_euler,
    geodesic_distance,
    matrix_to_rotation_6d,
    project_axes,
    rotate_roll,
)
from landmarks.heads.head_pose import HopenetHead, Rotation6DHead
from landmarks.layouts.spec import KeypointSpec
from landmarks.losses.head_pose import GeodesicLoss, HopenetLoss
from landmarks.losses.wing import WingLoss
from tasks.face import FaceLandmarkTask
from tasks.head_pose import HeadPose6DTask, HeadPoseTask
from tests.tasks.test_face import CONF, FakeFaceSource, _fit

AXES_SPEC = KeypointSpec(name="axes", names=("centre", "x_end", "y_end", "nose_end"))  # no flip pairs


def _axes_sample(euler: tuple[float, float, float]) -> dict[str, Any]:
    """A sample whose 4 keypoints are the head-axes gizmo of ``euler`` (centre + 3 axis ends)."""
    centre = np.array([80.0, 80.0])
    ends = project_axes(*euler, center=centre, size=40.0)
    kpts = np.concatenate([centre[None], ends]).astype(np.float32)
    return {
        "image": np.zeros((160, 160, 3), np.uint8),
        "keypoints": kpts,
        "visible": np.full(4, 2.0, np.float32),
        "bbox": np.array([40, 40, 80, 80], np.float32),
        "euler": np.asarray(euler, np.float32),
    }


def _unit_axes(kpts: np.ndarray) -> np.ndarray:
    """``(3, 2)`` axis directions of a gizmo, scaled by the gizmo's largest axis (the crop is a similarity)."""
    v = kpts[1:] - kpts[:1]
    return v / np.linalg.norm(v, axis=1).max()


EULERS = [(35.0, 20.0, -15.0), (-60.0, -30.0, 25.0), (0.0, 0.0, 10.0), (80.0, 10.0, 40.0)]


# ------------------------------------------------------------------ label rules through the transform
@pytest.mark.parametrize("euler", EULERS)
def test_flip_negates_yaw_and_roll_through_the_transform(euler: tuple[float, float, float]) -> None:
    sample = _axes_sample(euler)
    transform = TopDownTransform((64, 64), train=True, flip_prob=1.0, rot_prob=0.0, scale_factor=0.0, photometric=0.0)
    crop = transform(sample, np.random.default_rng(0), AXES_SPEC.flip_indices)
    assert crop["flipped"]
    yaw, pitch, roll = euler
    np.testing.assert_allclose(crop["euler"], [-yaw, pitch, -roll], atol=1e-5)
    # the gizmo of the new angles is the mirrored gizmo, with the model x axis (the subject's left)
    # reversed: a mirrored face's left is the original's right
    expected = _unit_axes(crop["keypoints"]) * np.array([[-1.0], [1.0], [1.0]])
    axes = project_axes(*crop["euler"])
    np.testing.assert_allclose(axes / np.linalg.norm(axes, axis=1).max(), expected, atol=1e-3)


@pytest.mark.parametrize("euler", EULERS)
def test_rotation_moves_the_labels_with_the_image(euler: tuple[float, float, float]) -> None:
    """A crop rotated by ``rot`` degrees: the gizmo of the new angles is the rotated gizmo (exact rule)."""
    sample = _axes_sample(euler)
    transform = TopDownTransform(
        (64, 64), train=True, flip_prob=0.0, rot_prob=1.0, rot_factor=40.0, scale_factor=0.0, photometric=0.0
    )
    crop = transform(sample, np.random.default_rng(3), AXES_SPEC.flip_indices)
    assert abs(crop["rot"]) > 1.0
    np.testing.assert_allclose(crop["euler"], np.array(rotate_roll(*euler, crop["rot"])).ravel(), atol=1e-4)
    axes = project_axes(*crop["euler"])
    np.testing.assert_allclose(axes / np.linalg.norm(axes, axis=1).max(), _unit_axes(crop["keypoints"]), atol=1e-3)


def test_rotation_of_a_frontal_face_is_a_pure_roll_change() -> None:
    sample = _axes_sample((0.0, 0.0, 12.0))
    transform = TopDownTransform((64, 64), train=True, flip_prob=0.0, rot_prob=1.0, rot_factor=30.0, photometric=0.0)
    crop = transform(sample, np.random.default_rng(7), AXES_SPEC.flip_indices)
    np.testing.assert_allclose(crop["euler"], [0.0, 0.0, 12.0 - crop["rot"]], atol=1e-4)


def test_synthetic_face_labels_follow_flip_and_reach_the_targets() -> None:
    from landmarks.data.synthetic.face.renderer import SyntheticFaceSource

    source = SyntheticFaceSource(num_images=2, image_size=(96, 96), split="val")
    codec = EulerCodec((64, 64), AngleBinCodec())
    transform = TopDownTransform((64, 64), train=True, flip_prob=1.0, rot_prob=0.0, photometric=0.0)
    dataset = TopDownDataset(source, transform, {"head_pose": codec})
    item = dataset[0]
    euler = source[0]["euler"]
    np.testing.assert_allclose(item["meta"]["euler"], euler)  # meta: the image's own angles
    np.testing.assert_allclose(item["targets"]["head_pose"]["angles"], np.array(flip_euler(*euler)).ravel(), atol=1e-4)
    assert item["targets"]["head_pose"]["weight"] == 1.0


# ------------------------------------------------------------------ codec
def test_euler_codec_weights_and_bins() -> None:
    codec = EulerCodec((64, 64), AngleBinCodec())
    out = codec.encode([10.0, -98.9, 3.0])
    assert out["weight"] == 1.0 and out["bins"].tolist() == [36, 0, 34]
    assert codec.encode([120.0, 0.0, 0.0])["weight"] == 0.0  # outside Hopenet's [-99, 99)
    missing = codec.encode_sample({"keypoints": np.zeros((1, 2))})
    assert missing["weight"] == 0.0 and np.all(missing["angles"] == 0)
    assert EulerCodec((64, 64)).encode([120.0, 0.0, 0.0])["weight"] == 1.0  # 6-D: any finite angle
    assert EulerCodec((64, 64)).encode([np.nan, 0.0, 0.0])["weight"] == 0.0


# ------------------------------------------------------------------ tasks: masking, decode, flip test
def _hopenet(**kw: Any) -> HeadPoseTask:
    return HeadPoseTask(codec=EulerCodec((64, 64), AngleBinCodec(**kw)), head=HopenetHead, loss=HopenetLoss(alpha=1.0))


def _six_d() -> HeadPose6DTask:
    return HeadPose6DTask(codec=EulerCodec((64, 64)), head=Rotation6DHead, loss=GeodesicLoss())


def _batch(source: Any, tasks: dict[str, Any]) -> dict[str, Any]:
    dataset = TopDownDataset(source, TopDownTransform((64, 64)), {n: t.codec for n, t in tasks.items()})
    return default_collate([dataset[i] for i in range(len(source))])


def test_one_batch_masks_each_task_for_the_labels_it_lacks() -> None:
    face = FaceLandmarkTask(spec=FakeFaceSource.spec, codec=CoordinateCodec((64, 64)), head=None, loss=WingLoss())
    tasks = {"face": face, "head_pose": _hopenet(), "head_pose_6d": _six_d()}
    tasks["head_pose_6d"].name = "head_pose_6d"

    def outs():
        return {
            "face": torch.full((2, 68, 2), 30.0, requires_grad=True),
            "head_pose": torch.randn(2, 3, 66, requires_grad=True),
            "head_pose_6d": torch.randn(2, 6, requires_grad=True),
        }

    for source, masked in (
        (FakeFaceSource(2, euler=False), ("head_pose", "head_pose_6d")),
        (FakeFaceSource(2, landmarks=False), ("face",)),
    ):
        batch = _batch(source, tasks)
        out = outs()
        for name, task in tasks.items():
            loss = task.loss(out[name], batch)["loss"]
            loss.backward()
            if name in masked:
                assert loss.item() == 0.0 and torch.all(out[name].grad == 0), name
            else:
                assert loss.item() > 0.0 and out[name].grad.abs().sum() > 0, name


def test_hopenet_decode_round_trip_and_unrotation() -> None:
    task = _hopenet()
    angles = np.array([[10.0, -40.0, 33.3], [-88.0, 5.0, 0.2]])
    logits = torch.full((2, 3, 66), -30.0)
    logits.scatter_(2, torch.from_numpy(task.codec.bins.encode_bins(angles))[..., None], 30.0)
    decoded = task.crop_angles(logits)
    assert np.abs(decoded - angles).max() <= 1.5 + 1e-4  # one bin centre away at most
    rot = np.array([0.0, 20.0])
    pred = task.predict(logits, {"meta": {"rot": torch.from_numpy(rot)}})
    assert pred.keypoints.shape == (2, 0, 2)
    np.testing.assert_allclose(pred.extras["euler"][0], decoded[0], atol=1e-4)
    np.testing.assert_allclose(
        rotate_roll(*pred.extras["euler"][1].astype(np.float64), 20.0), decoded[1], atol=1e-3
    )  # rotating the answer back gives the crop's angles


def test_six_d_decode_round_trip() -> None:
    task = _six_d()
    angles = np.array([[10.0, -40.0, 33.3], [-88.0, 5.0, 0.2], [0.0, 0.0, 0.0]])
    d6 = torch.from_numpy(matrix_to_rotation_6d(euler_to_matrix(*angles.T))).float() * 3.0  # raw: any scale
    np.testing.assert_allclose(task.crop_angles(d6), angles, atol=1e-3)
    head = Rotation6DHead([8], [32])
    np.testing.assert_allclose(task.crop_angles(head([torch.randn(2, 8, 2, 2)])), 0.0, atol=1e-6)  # starts frontal


@pytest.mark.parametrize("make", [_hopenet, _six_d])
def test_flip_test_maps_mirrored_outputs_back(make: Any) -> None:
    task = make()
    assert task.has_flip_test
    angles = np.array([[22.5, -13.5, 16.5], [-61.5, 40.5, -7.5]])  # bin centres: exact for Hopenet
    mirrored = np.stack(flip_euler(*angles.T), axis=-1)

    def output(a: np.ndarray) -> torch.Tensor:
        if isinstance(task, HeadPose6DTask):
            return torch.from_numpy(matrix_to_rotation_6d(euler_to_matrix(*a.T))).float()
        logits = torch.full((len(a), 3, 66), -20.0)
        return logits.scatter_(2, torch.from_numpy(task.codec.bins.encode_bins(a))[..., None], 20.0)

    back = task.flip_back(output(mirrored))
    np.testing.assert_allclose(task.crop_angles(back), angles, atol=1e-3)
    merged = task.merge_flip(output(angles), back)
    np.testing.assert_allclose(task.crop_angles(merged), angles, atol=1e-3)


def test_hopenet_merge_averages_the_two_angles_and_left_edges_disable_flip() -> None:
    task = _hopenet()
    a, b = torch.randn(4, 3, 66), torch.randn(4, 3, 66)
    np.testing.assert_allclose(
        task.crop_angles(task.merge_flip(a, b)), (task.crop_angles(a) + task.crop_angles(b)) / 2, atol=1e-3
    )
    assert not _hopenet(center=False).has_flip_test


def test_module_flip_tests_head_pose() -> None:
    from landmarks.backbones import TimmBackbone
    from landmarks.module import LandmarkModule

    model = LandmarkModule(TimmBackbone("resnet18"), {"head_pose": _hopenet()}).eval()
    images = torch.randint(0, 255, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.no_grad():
        task = model.tasks["head_pose"]
        expected = task.merge_flip(model(images)["head_pose"], task.flip_back(model(images.flip(-1))["head_pose"]))
        torch.testing.assert_close(model.predict_outputs(images)["head_pose"], expected)


def test_head_pose_metrics_by_hand() -> None:
    task = _hopenet()
    gt = np.array([[10.0, 0.0, 0.0], [0.0, 20.0, 0.0], [120.0, 0.0, 0.0], [np.nan] * 3])
    pred = gt.copy()
    pred[0, 0] += 4.0  # 4 degrees of yaw
    pred[1] += [0.0, -2.0, 6.0]
    pred[3] = 0.0
    from landmarks.types import Prediction

    task.update_metrics(Prediction(np.zeros((4, 0, 2)), np.zeros((4, 0)), {"euler": pred}), {"meta": {"euler": gt}})
    out = task.compute_metrics()
    assert out["mae_yaw"] == pytest.approx(2.0) and out["mae_pitch"] == pytest.approx(1.0)
    assert out["mae_roll"] == pytest.approx(3.0) and out["mae"] == pytest.approx(2.0)
    assert out["mae_excluded"] == 1.0  # |yaw| = 120 > 99; the unlabelled sample is not counted at all
    second = float(geodesic_distance(euler_to_matrix(*pred[1]), euler_to_matrix(*gt[1])))
    assert out["geodesic"] == pytest.approx((4.0 + second) / 2)  # a pure yaw error of 4 degrees is 4 degrees
    assert task.compute_metrics() == {}
    records = task.metrics["mae"].records()  # per-sample errors behind the numbers, for evaluate's CSV
    np.testing.assert_allclose(records["err_yaw"][:2], [4.0, 0.0])
    np.testing.assert_array_equal(records["in_metric"], [1.0, 1.0, 0.0, 0.0])


def test_head_pose_prediction_json_and_drawing() -> None:
    from landmarks.types import Prediction

    task = _hopenet()
    pred = Prediction(np.zeros((2, 0, 2)), np.zeros((2, 0)), {"euler": np.array([[10.0, -5.5, 3.25], [0.0, 0.0, 0.0]])})
    assert task.to_json(pred, 0) == {
        "keypoints": [],
        "keypoint_scores": [],
        "euler": [10.0, -5.5, 3.25],
        "yaw": 10.0,
        "pitch": -5.5,
        "roll": 3.25,
    }
    image = np.zeros((60, 80, 3), np.uint8)
    drawn = task.draw(image, pred, 0, box=(20, 10, 40, 40))
    assert drawn.shape == image.shape and drawn.any() and not image.any()  # axes drawn on a copy
    ys, xs = np.nonzero(drawn.any(axis=2))
    assert abs(np.median(xs) - 40) < 12 and abs(np.median(ys) - 30) < 12  # around the box centre (40, 30)


# ------------------------------------------------------------------ tiny fits
@pytest.mark.slow
@pytest.mark.parametrize("task", ["head_pose", "head_pose_6d", "face_head_pose"])
def test_tiny_fit_head_pose(tmp_path: Path, task: str) -> None:
    metrics = _fit(tmp_path, f"task={task}")
    for key in ("val/mae", "val/mae_yaw", "val/mae_pitch", "val/mae_roll", "val/geodesic", "val/head_pose/loss"):
        assert np.isfinite(metrics[key]), key
    if task == "face_head_pose":
        assert np.isfinite(metrics["val/nme"]) and np.isfinite(metrics["val/face/loss"])
    assert (CONF / "task" / f"{task}.yaml").is_file()
