"""The keypoint rows shared by the keypoint metrics (:mod:`landmarks.metrics.samples`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landmarks.metrics.calibration import ScaleCalibration
from landmarks.metrics.coco_ap import CocoKeypointAP
from landmarks.metrics.face_nme import FaceNME
from landmarks.metrics.keypoints import PCKhMetric, PCKMetric, PDJMetric
from landmarks.metrics.samples import KEYPOINT_FIELDS, keypoint_rows
from landmarks.types import Prediction


def test_keypoint_rows_reads_the_prediction_and_the_labels() -> None:
    pred = Prediction(keypoints=np.ones((2, 3, 2)), scores=np.ones((2, 3)))
    meta = {"keypoints": np.zeros((2, 3, 2)), "visible": np.full((2, 3), 2.0)}
    rows = keypoint_rows(pred, meta, "M")
    assert set(rows) == set(KEYPOINT_FIELDS) == {"pred", "gt", "visible"}
    assert rows["pred"] is pred.keypoints and rows["gt"] is meta["keypoints"] and rows["visible"] is meta["visible"]
    with pytest.raises(ValueError, match=r"^M\.update: batch meta has no 'visible'"):
        keypoint_rows(pred, {"keypoints": meta["keypoints"]}, "M")


@pytest.mark.parametrize("cls", [PCKMetric, PCKhMetric, PDJMetric, ScaleCalibration, FaceNME, CocoKeypointAP])
def test_keypoint_metrics_store_the_keypoint_fields_and_name_themselves_when_labels_are_missing(cls: type) -> None:
    assert {k: v for k, v in cls.fields.items() if k in KEYPOINT_FIELDS} == {
        "pred": torch.float64,
        "gt": torch.float64,
        "visible": torch.float32,
    }
    pred = Prediction(keypoints=np.ones((1, 3, 2)), scores=np.ones((1, 3)), extras={"scale": np.ones((1, 3, 2))})
    with pytest.raises(ValueError, match=rf"^{cls.__name__}\.update: batch meta has no 'keypoints'"):
        cls().update(pred, {"visible": np.ones((1, 3))})
