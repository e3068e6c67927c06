"""Skeleton conversion between the shipped layouts, on hand-made keypoints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml

from landmarks.convert.cli import run
from landmarks.convert.skeletons import builtin_layouts, convert_keypoints, load_layout
from landmarks.layouts.spec import COCO17_NAMES, MPII16_NAMES, coco17


def _coco_person() -> np.ndarray:
    kp = np.zeros((1, 17, 3))
    kp[0, :, 0] = np.arange(17) * 10 + 1
    kp[0, :, 1] = np.arange(17) * 5 + 2
    kp[0, :, 2] = 2
    kp[0, 3, 2] = 1  # left ear hidden
    return kp


def test_every_shipped_layout_loads_and_wholebody_is_the_sum_of_its_parts() -> None:
    sizes = {n: load_layout(n).num_keypoints for n in builtin_layouts()}
    assert sizes == {
        "aic14": 14,
        "coco17": 17,
        "crowdpose14": 14,
        "h36m17": 17,
        "lsp14": 14,
        "mpii16": 16,
        "wholebody133": 133,
        "wholebody_body": 17,
        "wholebody_face": 68,
        "wholebody_feet": 6,
        "wholebody_lefthand": 21,
        "wholebody_righthand": 21,
    }
    parts = [
        load_layout(p).names
        for p in ("wholebody_body", "wholebody_feet", "wholebody_face", "wholebody_lefthand", "wholebody_righthand")
    ]
    assert tuple(n for p in parts for n in p) == tuple(load_layout("wholebody133").names)
    assert tuple(load_layout("coco17").names) == COCO17_NAMES and load_layout("coco17").sigmas == coco17().sigmas
    assert tuple(load_layout("mpii16").names) == MPII16_NAMES


def test_coco_to_mpii_by_hand() -> None:
    kp = _coco_person()
    mpii, flags = convert_keypoints(kp, COCO17_NAMES, MPII16_NAMES)
    assert flags == [[]]
    # MPII r_ankle (0) <- COCO right_ankle (16); l_shoulder (13) <- COCO left_shoulder (5)
    assert mpii[0, 0].tolist() == [161, 82, 2] and mpii[0, 13].tolist() == [51, 27, 2]
    # pelvis, thorax, upper_neck, head_top: COCO has none -> unlabelled, not invented
    assert mpii[0, 6:10].tolist() == [[0, 0, 0]] * 4


def test_coco_mpii_coco_keeps_every_joint_both_have() -> None:
    kp = _coco_person()
    back, _ = convert_keypoints(convert_keypoints(kp, COCO17_NAMES, MPII16_NAMES)[0], MPII16_NAMES, COCO17_NAMES)
    assert np.array_equal(back[0, 5:], kp[0, 5:])  # shoulders .. ankles, visibility included
    assert np.array_equal(back[0, :5], np.zeros((5, 3)))  # face points: MPII has none


def test_derived_points_only_when_asked_and_flagged() -> None:
    kp = _coco_person()
    kp[0, 12, 2] = 1  # right hip hidden: the pelvis takes the lower visibility
    mpii, flags = convert_keypoints(kp, COCO17_NAMES, MPII16_NAMES, derive=True)
    assert flags == [["pelvis", "thorax"]]
    assert mpii[0, 6].tolist() == [(111 + 121) / 2, (57 + 62) / 2, 1]  # mean of the hips
    assert mpii[0, 7].tolist() == [(51 + 61) / 2, (27 + 32) / 2, 2]  # mean of the shoulders
    kp[0, 11, 2] = 0
    assert convert_keypoints(kp, COCO17_NAMES, MPII16_NAMES, derive=True)[1] == [["thorax"]]  # a hip missing: no pelvis


def test_lsp_neck_is_mpii_upper_neck_and_h36m_keeps_its_own_points() -> None:
    lsp = load_layout("lsp14").names
    kp = np.zeros((1, 14, 3))
    kp[0, 12] = (5, 6, 2)  # neck
    kp[0, 13] = (5, 1, 2)  # head top
    mpii, _ = convert_keypoints(kp, lsp, MPII16_NAMES)
    assert mpii[0, 8].tolist() == [5, 6, 2] and mpii[0, 9].tolist() == [5, 1, 2]
    h36m = load_layout("h36m17").names
    out, _ = convert_keypoints(mpii, MPII16_NAMES, h36m)
    assert out[0, h36m.index("neck_base")].tolist() == [0, 0, 0]  # the base of the neck is another point
    assert out[0, h36m.index("head_top")].tolist() == [5, 1, 2]


def test_convert_script_retargets_a_coco_file(tmp_path: Path) -> None:
    (tmp_path / "annotations").mkdir()
    kp = _coco_person()[0]
    coco = {
        "images": [{"id": 7, "file_name": "p.jpg", "width": 200, "height": 100}],
        "annotations": [{"id": 1, "image_id": 7, "keypoints": kp.reshape(-1).tolist(), "bbox": [0, 0, 200, 100]}],
    }
    (tmp_path / "annotations" / "person.json").write_text(json.dumps(coco))
    out = tmp_path / "mpii"
    run(
        [
            "from=coco",
            f"src={tmp_path / 'annotations' / 'person.json'}",
            "layout=coco17",
            "target=mpii16",
            "derive=true",
            f"out={out}",
        ]
    )
    layout = yaml.safe_load((out / "layout.yaml").read_text())
    assert layout["keypoints"] == list(MPII16_NAMES) and ["right_ankle", "left_ankle"] in layout["flip_pairs"]
    ann = json.loads((out / "annotations" / "train.json").read_text())["annotations"][0]
    assert ann["derived_keypoints"] == ["pelvis", "thorax"]
    assert ann["keypoints"][:3] == [161, 82, 2] and ann["keypoints"][8 * 3 : 9 * 3] == [0, 0, 0]
    assert ann["num_keypoints"] == 14
