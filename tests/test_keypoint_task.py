"""LayoutTask / KeypointTask: argument defaults from class attributes, ``box_category``, the parts check, the loss."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from landmarks.codecs.coords import CoordinateCodec
from landmarks.codecs.heatmap import MSRAHeatmap
from landmarks.codecs.visibility import VisibilityCodec
from landmarks.heads.heatmap import LightHeatmapHead
from landmarks.heads.regression import RegressionHead
from landmarks.heads.visibility import VisibilityHead
from landmarks.layouts.face import ibug68
from landmarks.layouts.spec import coco17
from landmarks.losses.heatmap import KeypointMSELoss
from landmarks.losses.visibility import VisibilityBCELoss
from landmarks.losses.wing import WingLoss
from landmarks.visibility_task import VisibilityTask
from tasks.body import BodyTask
from tasks.face import FaceHeatmapTask, FaceLandmarkTask


def _heatmaps() -> MSRAHeatmap:
    return MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16))


def _visibility(**kw: Any) -> VisibilityTask:
    return VisibilityTask(coco17(), VisibilityCodec((48, 64)), VisibilityHead, VisibilityBCELoss(), **kw)


def test_argument_defaults_come_from_the_class() -> None:
    face = FaceLandmarkTask(spec=ibug68(), codec=CoordinateCodec((64, 64)), head=RegressionHead, loss=WingLoss())
    assert (face.name, face.monitor, face.monitor_mode, face.box_category) == ("face", "val/nme", "min", "face")
    face_heat = FaceHeatmapTask(spec=ibug68(), codec=_heatmaps(), head=LightHeatmapHead, loss=KeypointMSELoss())
    assert (face_heat.name, face_heat.monitor, face_heat.monitor_mode) == ("face", "val/nme", "min")  # FaceTask first
    body = BodyTask(spec=coco17(), codec=_heatmaps(), head=LightHeatmapHead, loss=KeypointMSELoss())
    assert (body.name, body.monitor, body.monitor_mode, body.box_category) == ("body", "val/pck", "max", "person")
    vis = _visibility()
    assert (vis.name, vis.monitor, vis.monitor_mode, vis.box_category) == ("visibility", "val/vis_auroc", "max", None)


def test_explicit_arguments_win_and_box_category_none_keeps_the_class_one() -> None:
    body = BodyTask(
        spec=coco17(),
        codec=_heatmaps(),
        head=LightHeatmapHead,
        loss=KeypointMSELoss(),
        name="pose",
        monitor="val/ap",
        monitor_mode="min",
        box_category="hand",
    )
    assert (body.name, body.monitor, body.monitor_mode, body.box_category) == ("pose", "val/ap", "min", "hand")
    assert BodyTask.box_category == "person"  # the class is untouched
    assert _visibility(box_category=None).box_category is None
    assert _visibility(box_category="person").box_category == "person"
    with pytest.raises(ValueError, match="task 'visibility': monitor_mode must be 'max' or 'min', got 'up'"):
        _visibility(monitor_mode="up")


def test_a_codec_of_another_kind_is_refused_naming_the_task() -> None:
    with pytest.raises(TypeError, match="task 'vis': codec must be a landmarks.codecs.visibility.VisibilityCodec, got"):
        VisibilityTask(coco17(), CoordinateCodec((48, 64)), VisibilityHead, VisibilityBCELoss(), name="vis")


def test_visibility_loss_is_the_layout_loss_on_its_target_summed_over_stages() -> None:
    """Masked BCE with logits: ``log(1 + e^-2) = 0.126928`` for ``z = 2, y = 1``; ``log 2`` for ``z = 0``."""
    task = _visibility()
    weight = torch.zeros(2, 17)
    weight[0, 3] = 1.0
    out = torch.zeros(2, 17)
    out[0, 3] = 2.0
    out[1, 5] = -7.0  # weight 0: ignored
    batch = {"targets": {"visibility": {"visibility": torch.ones(2, 17), "target_weight": weight}}}
    assert float(task.loss(out, batch)["loss"]) == pytest.approx(math.log1p(math.exp(-2.0)), abs=1e-6)
    weight[1, 0] = 1.0  # z = 0, y = 1: log 2; mean over the two labelled keypoints
    expected = (math.log1p(math.exp(-2.0)) + math.log(2.0)) / 2
    assert float(task.loss(out, batch)["loss"]) == pytest.approx(expected, abs=1e-6)
    assert float(task.loss([out, out], batch)["loss"]) == pytest.approx(2 * expected, abs=1e-6)
