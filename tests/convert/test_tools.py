"""Round trips of each annotation tool's published export format through scripts/convert.py.

Files are written here as each tool documents them (CVAT for images 1.1 XML with a skeleton
label, Label Studio JSON ``keypointlabels``, labelme JSON point shapes, DeepLabCut CollectedData
CSV header rows, SLEAP .slp through sleap-io, the tool's own library), imported, and checked
value by value, visibility included; CVAT and Label Studio are exported back and re-imported.

(Over 300 lines: one file for the five tools, so each format's round trip reads beside the others' and shares
the writers above; split it by tool when a sixth tool comes.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image as PILImage

from landmarks.convert.cli import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.from_yaml import load_spec

NAMES = ["head", "left_ear", "right_ear", "tail"]


def _img(path: Path, w: int = 64, h: int = 48) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.fromarray(np.full((h, w, 3), 90, np.uint8)).save(path)


def _read(out: Path) -> tuple[dict, dict]:
    with open(out / "annotations" / "train.json") as f:
        train = json.load(f)
    with open(out / "layout.yaml") as f:
        layout = yaml.safe_load(f)
    return train, layout


def _export_prediction(tmp_path: Path, prediction: dict, tool: str, out: Path, images: Path, *extra: str) -> Path:
    """Writes one prediction as ``predictions.json``, exports it with ``to=<tool>`` into ``tmp_path/back`` (returned)."""
    (tmp_path / "predictions.json").write_text(json.dumps([prediction]))
    back = tmp_path / "back"
    run(
        [
            f"to={tool}",
            f"src={tmp_path / 'predictions.json'}",
            f"layout={out / 'layout.yaml'}",
            f"images={images}",
            f"out={back}",
            *extra,
        ]
    )
    return back


def _cvat_xml(points: str, extra_label: str = "") -> str:
    svg = (
        '&lt;line data-type="edge" data-node-from="1" data-node-to="2"&gt;&lt;/line&gt;'
        '&lt;line data-type="edge" data-node-from="1" data-node-to="3"&gt;&lt;/line&gt;'
        + "".join(
            f'&lt;circle r="1.5" data-type="element node" data-element-id="{i}" data-node-id="{i}" '
            f'data-label-name="{n}"&gt;&lt;/circle&gt;'
            for i, n in enumerate(NAMES, 1)
        )
    )
    subs = "".join(
        f"<label><name>{n}</name><type>points</type><attributes/><parent>cat</parent></label>" for n in NAMES
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><annotations><version>1.1</version><meta><task><id>1</id>'
        f"<name>t</name><size>1</size><mode>annotation</mode><labels><label><name>cat</name><type>skeleton</type>"
        f"<attributes/><svg>{svg}</svg></label>{subs}{extra_label}</labels></task></meta>"
        f'<image id="0" name="a.png" width="64" height="48">{points}</image></annotations>'
    )


CVAT_POINTS = (
    '<skeleton label="cat" source="manual" z_order="0">'
    '<points label="head" source="manual" outside="0" occluded="0" points="10.50,20.00"></points>'
    '<points label="left_ear" source="manual" outside="0" occluded="1" points="12.00,15.00"></points>'
    '<points label="right_ear" source="manual" outside="1" occluded="0" points="30.00,15.00"></points>'
    '<points label="tail" source="manual" outside="0" occluded="0" points="50.00,40.25"></points>'
    "</skeleton>"
)


def test_cvat_skeleton_import_keeps_visibility_and_round_trips(tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    _img(tmp_path / "exp" / "images" / "a.png")
    (tmp_path / "exp" / "annotations.xml").write_text(_cvat_xml(CVAT_POINTS))
    out = tmp_path / "out"
    run(["from=cvat", f"src={tmp_path / 'exp' / 'annotations.xml'}", f"out={out}"])
    train, layout = _read(out)
    assert layout["keypoints"] == NAMES
    assert layout["skeleton"] == [["head", "left_ear"], ["head", "right_ear"]]
    assert layout["flip_pairs"] == [["left_ear", "right_ear"]]
    assert "sigmas" not in layout  # no repeats: default sigmas (warned)
    ann = train["annotations"][0]
    assert ann["keypoints"] == [10.5, 20.0, 2, 12.0, 15.0, 1, 0, 0, 0, 50.0, 40.25, 2]
    assert train["images"][0]["file_name"] == "../exp/images/a.png"
    spec = load_spec(str(out / "layout.yaml"), warn_default_sigmas=False)
    assert spec.flip_pairs == ((1, 2),)
    # back to CVAT: score stands in for visibility (below kpt_thr -> outside), then re-import
    keypoints = [10.5, 20.0, 0.9, 12.0, 15.0, 0.8, 30.0, 15.0, 0.1, 50.0, 40.25, 0.7]
    prediction = {"file_name": "a.png", "keypoints": keypoints, "score": 0.8, "bbox": [0, 0, 64, 48]}
    back = _export_prediction(tmp_path, prediction, "cvat", out, tmp_path / "exp" / "images", "label=cat")
    again = tmp_path / "again"
    run(["from=cvat", f"src={back / 'annotations.xml'}", f"images={tmp_path / 'exp' / 'images'}", f"out={again}"])
    train2, layout2 = _read(again)
    assert layout2["keypoints"] == NAMES and layout2["skeleton"] == layout["skeleton"]
    assert train2["annotations"][0]["keypoints"] == [10.5, 20.0, 2, 12.0, 15.0, 2, 0, 0, 0, 50.0, 40.25, 2]


@pytest.mark.parametrize(
    "bad, field",
    [
        (
            '<skeleton label="cat"><points label="nose" outside="0" occluded="0" points="1,1"></points></skeleton>',
            "points.label",
        ),
        (
            '<skeleton label="cat"><points label="head" outside="0" occluded="0" points="80,1"></points></skeleton>',
            "keypoint 'head'",
        ),
        (
            '<skeleton label="cat"><points label="head" outside="0" occluded="0" points="1,1"></points>'
            '<points label="head" outside="0" occluded="0" points="2,2"></points></skeleton>',
            "points.label",
        ),
    ],
)
def test_cvat_bad_input_names_file_record_field_and_writes_nothing(tmp_path: Path, bad: str, field: str) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(_cvat_xml(bad))
    with pytest.raises(AnnotationError) as err:
        run(["from=cvat", f"src={xml}", f"out={tmp_path / 'out'}"])
    assert err.value.field == field and str(xml) in str(err.value) and "image id 0 (a.png)" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_cvat_duplicate_point_names_and_wrong_format(tmp_path: Path) -> None:
    xml = tmp_path / "annotations.xml"
    xml.write_text(_cvat_xml(CVAT_POINTS).replace('data-label-name="tail"', 'data-label-name="head"'))
    with pytest.raises(AnnotationError, match="unique keypoint names"):
        run(["from=cvat", f"src={xml}", f"out={tmp_path / 'out'}"])
    js = tmp_path / "x.xml"
    js.write_text('{"not": "xml"}')
    with pytest.raises(AnnotationError, match="CVAT for images 1.1 XML"):
        run(["from=cvat", f"src={js}", f"out={tmp_path / 'out'}"])


def _ls_task(tid: int, points: list[tuple[str, float, float]], ann_ids: tuple[int, ...] = (1,)) -> dict:
    return {
        "id": tid,
        "data": {"image": f"/data/upload/1/abcd1234-img{tid}.png"},
        "annotations": [
            {
                "id": a,
                "result": [
                    {
                        "id": f"r{a}{i}",
                        "type": "keypointlabels",
                        "from_name": "kp",
                        "to_name": "img",
                        "original_width": 64,
                        "original_height": 48,
                        "image_rotation": 0,
                        "value": {"x": x + 2.5 * (a - 1), "y": y, "width": 0.5, "keypointlabels": [n]},
                    }
                    for i, (n, x, y) in enumerate(points)
                ],
            }
            for a in ann_ids
        ],
    }


LS_CONFIG = (
    '<View><Image name="img" value="$image"/><KeyPointLabels name="kp" toName="img">'
    + "".join(f'<Label value="{n}"/>' for n in NAMES)
    + "</KeyPointLabels></View>"
)


def test_labelstudio_import_export_round_trip_and_sigmas_from_repeats(tmp_path: Path) -> None:
    for t in (1, 2):
        _img(tmp_path / f"img{t}.png")
    pts = [("head", 50.0, 25.0), ("tail", 25.0, 50.0), ("right_ear", 12.5, 75.0)]
    tasks = [_ls_task(1, pts, ann_ids=(1, 2)), _ls_task(2, pts)]
    (tmp_path / "export.json").write_text(json.dumps(tasks))
    (tmp_path / "config.xml").write_text(LS_CONFIG)
    out = tmp_path / "out"
    written = run(
        [
            "from=labelstudio",
            f"src={tmp_path / 'export.json'}",
            f"labels={tmp_path / 'config.xml'}",
            f"out={out}",
            "val_every=2",
        ]
    )
    train, layout = _read(out)
    assert layout["keypoints"] == NAMES  # config order, not first-seen order
    # task 1 annotated twice: x of head differs by 2.5 % of 64 px = 1.6 px; area = padded keypoint box
    assert train["annotations"][0]["keypoints"] == [32.0, 12.0, 2, 0, 0, 0, 8.0, 36.0, 2, 16.0, 24.0, 2]
    with open(written["repeats"]) as f:
        repeats = json.load(f)
    assert len(repeats["annotations"]) == 3 and len(train["annotations"]) == 1  # the first of the repeats only
    area = repeats["annotations"][0]["area"] / 2 + repeats["annotations"][1]["area"] / 2
    # two annotations 1.6 px apart on x for every labelled point: sum |p - mean|^2 / (R - 1) = 2 * 0.8^2 = 1.28
    expected = np.sqrt(1.28 / area)
    assert layout["sigmas"][0] == pytest.approx(expected, abs=1e-4)
    assert layout["sigmas"][1] == pytest.approx(0.05)  # left_ear never labelled twice: the default
    # back to Label Studio, then in again
    keypoints = [32.0, 12.0, 0.9, 1, 1, 0.1, 8.0, 36.0, 0.9, 16.0, 24.0, 0.9]
    prediction = {"file_name": "img1.png", "keypoints": keypoints, "score": 0.9, "bbox": [4, 8, 40, 32]}
    back = _export_prediction(tmp_path, prediction, "labelstudio", out, tmp_path)
    exported = json.loads((back / "tasks.json").read_text())
    exported[0]["annotations"] = exported[0].pop("predictions")  # accepting the pre-annotation in the tool
    (back / "accepted.json").write_text(json.dumps(exported))
    again = tmp_path / "again"
    run(
        [
            "from=labelstudio",
            f"src={back / 'accepted.json'}",
            f"images={tmp_path}",
            f"labels={back / 'labeling_config.xml'}",
            f"out={again}",
        ]
    )
    train2, _ = _read(again)
    assert train2["annotations"][0]["keypoints"] == pytest.approx([32.0, 12.0, 2, 0, 0, 0, 8.0, 36.0, 2, 16.0, 24.0, 2])


def test_labelstudio_label_without_definition_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "export.json").write_text(json.dumps([_ls_task(1, [("whisker", 10, 10)])]))
    (tmp_path / "config.xml").write_text(LS_CONFIG)
    with pytest.raises(AnnotationError) as err:
        run(
            [
                "from=labelstudio",
                f"src={tmp_path / 'export.json'}",
                f"labels={tmp_path / 'config.xml'}",
                f"out={tmp_path / 'o'}",
            ]
        )
    assert "task id 1 annotation 1" in str(err.value) and "'whisker'" in str(err.value)
    (tmp_path / "notls.json").write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="list of tasks"):
        run(["from=labelstudio", f"src={tmp_path / 'notls.json'}", f"out={tmp_path / 'o'}"])


def _labelme(path: Path, shapes: list[dict], w: int = 64, h: int = 48) -> None:
    path.write_text(
        json.dumps(
            {
                "version": "5.4.1",
                "flags": {},
                "shapes": shapes,
                "imagePath": path.stem + ".png",
                "imageData": None,
                "imageHeight": h,
                "imageWidth": w,
            }
        )
    )


def _pt(label: str, x: float, y: float, group: int | None = None, occluded: bool = False) -> dict:
    return {
        "label": label,
        "points": [[x, y]],
        "group_id": group,
        "description": "",
        "shape_type": "point",
        "flags": {"occluded": occluded} if occluded else {},
        "mask": None,
    }


def test_labelme_points_grouped_by_group_id_with_occlusion_flag(tmp_path: Path) -> None:
    src = tmp_path / "lm"
    src.mkdir()
    _img(src / "a.png")
    _labelme(
        src / "a.json",
        [
            _pt("head", 5, 6, 1),
            _pt("l_ear", 7, 8, 1, occluded=True),
            _pt("r_ear", 9, 10, 1),
            _pt("head", 30, 31, 2),
            {"label": "box", "points": [[0, 0], [10, 10]], "group_id": None, "shape_type": "rectangle", "flags": {}},
        ],
    )
    (tmp_path / "labels.txt").write_text("__ignore__\n_background_\nhead\nl_ear\nr_ear\n")
    out = tmp_path / "out"
    run(["from=labelme", f"src={src}", f"labels={tmp_path / 'labels.txt'}", f"out={out}"])
    train, layout = _read(out)
    assert layout["keypoints"] == ["head", "l_ear", "r_ear"] and layout["flip_pairs"] == [["l_ear", "r_ear"]]
    assert [a["keypoints"] for a in train["annotations"]] == [
        [5.0, 6.0, 2, 7.0, 8.0, 1, 9.0, 10.0, 2],
        [30.0, 31.0, 2, 0, 0, 0, 0, 0, 0],
    ]


def test_labelme_errors(tmp_path: Path) -> None:
    _labelme(tmp_path / "a.json", [_pt("head", 5, 6), _pt("head", 7, 8)])
    with pytest.raises(AnnotationError, match="head' twice"):
        run(["from=labelme", f"src={tmp_path / 'a.json'}", f"out={tmp_path / 'o'}"])
    _labelme(tmp_path / "a.json", [_pt("head", 65, 6)])
    with pytest.raises(AnnotationError) as err:
        run(["from=labelme", f"src={tmp_path / 'a.json'}", f"out={tmp_path / 'o'}"])
    assert err.value.field == "keypoint 'head'" and "group_id None" in str(err.value)
    (tmp_path / "b.json").write_text(json.dumps({"annotations": []}))
    with pytest.raises(AnnotationError, match="labelme JSON"):
        run(["from=labelme", f"src={tmp_path / 'b.json'}", f"out={tmp_path / 'o'}"])


DLC_CSV = """scorer,,,me,me,me,me,me,me
bodyparts,,,snout,snout,leftear,leftear,rightear,rightear
coords,,,x,y,x,y,x,y
labeled-data,vid1,img000.png,10.5,11,20,21,30,31
labeled-data,vid1,img001.png,12,13,,,32,33
"""


def test_dlc_csv_with_project_config(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    for n in (0, 1):
        _img(proj / "labeled-data" / "vid1" / f"img00{n}.png")
    (proj / "config.yaml").write_text(
        "Task: mice\nbodyparts:\n- snout\n- leftear\n- rightear\nskeleton:\n- [snout, leftear]\n- [snout, rightear]\n"
    )
    csv = proj / "labeled-data" / "vid1" / "CollectedData_me.csv"
    csv.write_text(DLC_CSV)
    out = tmp_path / "out"
    run(["from=dlc", f"src={csv}", f"out={out}", "val_every=2"])
    train, layout = _read(out)
    assert layout["name"] == "mice" and layout["keypoints"] == ["snout", "leftear", "rightear"]
    assert layout["flip_pairs"] == [["leftear", "rightear"]]
    assert train["annotations"][0]["keypoints"] == [10.5, 11.0, 2, 20.0, 21.0, 2, 30.0, 31.0, 2]
    val = json.loads((out / "annotations" / "val.json").read_text())
    assert val["annotations"][0]["keypoints"] == [12.0, 13.0, 2, 0, 0, 0, 32.0, 33.0, 2]  # empty cells: v = 0


def test_dlc_missing_frame_and_undeclared_bodypart(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    _img(proj / "labeled-data" / "vid1" / "img000.png")  # img001.png missing
    csv = proj / "labeled-data" / "vid1" / "CollectedData_me.csv"
    csv.write_text(DLC_CSV)
    with pytest.raises(AnnotationError) as err:
        run(["from=dlc", f"src={csv}", f"out={tmp_path / 'o'}"])
    assert "row 5 (labeled-data/vid1/img001.png)" in str(err.value) and "missing frame" in str(err.value)
    _img(proj / "labeled-data" / "vid1" / "img001.png")
    (proj / "config.yaml").write_text("bodyparts:\n- snout\n- leftear\n")
    with pytest.raises(AnnotationError, match="rightear .keypoints without a label definition"):
        run(["from=dlc", f"src={csv}", f"out={tmp_path / 'o'}"])
    assert not (tmp_path / "o").exists()


def test_missing_sleap_io_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sleap_io", None)  # as if not installed
    with pytest.raises(ImportError, match=r"optional extra \[import\]: pip install 'landmarks\[import\]'"):
        run(["from=sleap", f"src={tmp_path / 'x.slp'}", f"out={tmp_path / 'o'}"])
