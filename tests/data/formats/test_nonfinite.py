"""NaN / inf values are bad samples in every reader: an error naming the file, the record and
the field, or one logged skip under ``on_bad_sample="skip"``. (COCO and COCO-WholeBody:
``test_formats_coco_gt.py``.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from landmarks.data.formats.errors import AnnotationError
from landmarks.data.formats.mpii import MpiiSource
from landmarks.data.formats.pose_mat import PoseMatSource
from landmarks.data.formats.pts300w import Pts300WSource
from landmarks.data.formats.wflw import WflwSource
from tests.data.formats.face_files import face_points, write_image
from tests.data.formats.test_face import _wflw_line, _write_pts
from tests.data.formats.test_pose_mat import _aflw2000, _write_mat


def _skip_logs(caplog: pytest.LogCaptureFixture, build: object) -> tuple[object, list[str]]:
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = build()  # type: ignore[operator]
    return src, [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]


def test_mpii_non_finite_joint_and_head_box(tmp_path: Path, realdata: Path, caplog: pytest.LogCaptureFixture) -> None:
    mpii = realdata / "mpii"
    anns = json.loads((mpii / "test_mpii.json").read_text())
    anns[1]["joints"][3][1] = float("inf")
    ann_file = tmp_path / "mpii.json"
    ann_file.write_text(json.dumps(anns))
    with pytest.raises(
        AnnotationError,
        match=r"mpii\.json \(entry \[1\], image .*\): field 'joints': expected K=16 "
        r"pairs of finite numbers",
    ):
        MpiiSource(str(ann_file), str(mpii))
    boxes = np.array([[[10.0, 20.0], [40.0, 60.0]]] * 5)
    boxes[3, 1, 0] = np.nan
    np.save(tmp_path / "heads.npy", boxes)
    good = mpii / "test_mpii.json"
    with pytest.raises(
        AnnotationError,
        match=r"heads\.npy \(box \[3\]\): field 'head boxes': expected finite corners.*"
        r"head size nan for entry \[3\]",
    ):
        MpiiSource(str(good), str(mpii), head_boxes_file=str(tmp_path / "heads.npy"))
    src, logs = _skip_logs(
        caplog,
        lambda: MpiiSource(str(good), str(mpii), head_boxes_file=str(tmp_path / "heads.npy"), on_bad_sample="skip"),
    )
    assert len(src) == 4 and [src[i]["id"] for i in range(4)] == [0, 1, 2, 4]  # type: ignore[index, arg-type]
    assert src[0]["head_size"] == pytest.approx(0.6 * 50.0)  # type: ignore[index]  # 0.6 * diagonal of 30 x 40
    assert len(logs) == 1 and "heads.npy" in logs[0] and "box [3]" in logs[0]


def test_pose_mat_nan_landmark_is_bad_not_unlabelled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "AFLW2000"
    _aflw2000(root / "image00002.mat")
    pt3d = np.vstack([face_points(68, 30, 25, 40).T, np.zeros(68)])
    pt3d[1, 17] = np.nan
    _write_mat(root / "image00003.mat", pt3d_68=pt3d, pt2d=face_points(21, 32, 22, 36).T.copy())
    src = PoseMatSource(str(root))
    assert src[0]["visible"].sum() == 136
    with pytest.raises(
        AnnotationError,
        match=r"image00003\.mat: field 'pt3d_68': expected finite x, y.*point 17 = "
        r"\(\d+\.\d+, nan\)",
    ):
        src[1]
    skipping, _ = _skip_logs(caplog, lambda: PoseMatSource(str(root), on_bad_sample="skip"))
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        assert skipping[1]["path"].endswith("image00002.jpg")  # type: ignore[index]  # the next loadable face
    assert any("image00003.mat" in r.getMessage() and "pt3d_68" in r.getMessage() for r in caplog.records)
    pt2d = face_points(21, 32, 22, 36).T.copy()
    pt2d[0, 4] = np.inf
    _write_mat(root / "image00003.mat", pt3d_68=np.vstack([face_points(68, 30, 25, 40).T, np.zeros(68)]), pt2d=pt2d)
    with pytest.raises(AnnotationError, match=r"image00003\.mat: field 'pt2d'.*point 4 = \(inf, "):
        PoseMatSource(str(root))[1]


def test_pts_nan_point_names_the_line(tmp_path: Path) -> None:
    write_image(tmp_path / "a.jpg")
    pts = face_points(68)
    _write_pts(tmp_path / "a.pts", pts)
    text = (tmp_path / "a.pts").read_text().replace(f"{pts[5, 0]:.3f} {pts[5, 1]:.3f}", f"nan {pts[5, 1]:.3f}", 1)
    (tmp_path / "a.pts").write_text(text)
    with pytest.raises(AnnotationError, match=r"a\.pts \(line 9\): field 'points': expected finite numbers"):
        Pts300WSource(str(tmp_path))


@pytest.mark.parametrize(
    ("index", "value", "expected"),
    [
        (21, "nan", r"field 'landmarks': expected finite numbers, got nan as y of landmark 10"),
        (198, "inf", r"field 'rect': expected finite numbers, got inf as x_max"),
    ],
)
def test_wflw_non_finite_value_names_line_and_value(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, index: int, value: str, expected: str
) -> None:
    write_image(tmp_path / "a.jpg")
    good = _wflw_line(face_points(98), (25, 15, 85, 75), (0,) * 6, "a.jpg")
    tokens = good.split()
    tokens[index] = value
    ann = tmp_path / "wflw.txt"
    ann.write_text(good + "\n" + " ".join(tokens) + "\n")
    with pytest.raises(AnnotationError, match=r"wflw\.txt \(line 2\): " + expected):
        WflwSource(str(ann), str(tmp_path))
    src, logs = _skip_logs(caplog, lambda: WflwSource(str(ann), str(tmp_path), on_bad_sample="skip"))
    assert len(src) == 1 and len(logs) == 1 and "line 2" in logs[0]  # type: ignore[arg-type]
