"""Custom keypoint layouts declared in one YAML file (docs/custom_dataset.md).

* the walkthrough: every ``python scripts/...`` command of the doc, in order, in-process
  (hydra ``compose`` + :mod:`landmarks.run` with tiny training settings added);
* start-up validation: layout files and a JSON written for another K, each message naming the
  file, the field and what was expected;
* OKS sigma estimation against known annotation noise and a hand-computed case.

(Over 300 lines: the walkthrough of docs/custom_dataset.md is one ordered story; its commands run in
sequence on the files the earlier ones wrote.)
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import landmarks.metrics.coco_ap
from landmarks import run, viz
from landmarks.data.formats.coco import CocoKeypointSource
from landmarks.data.formats.errors import AnnotationError
from landmarks.data.synthetic.common.tool_example import TRUE_SIGMAS, make_custom_example, repeated
from landmarks.layouts.from_yaml import DEFAULT_SIGMA, load_spec, write_sigmas
from landmarks.metrics.coco import CocoKeypointEvaluator
from landmarks.metrics.sigmas import estimate_sigmas
from tests.tiny import REPO, TINY, compose, compose_train

DOC = REPO / "docs" / "custom_dataset.md"


# --------------------------------------------------------------------------- the walkthrough
def doc_commands() -> list[list[str]]:
    """The ``python scripts/...`` commands of the doc's bash blocks, as argument lists."""
    commands, in_bash = [], False
    for line in DOC.read_text().splitlines():
        if line.startswith("```"):
            in_bash = line.strip() == "```bash"
        elif in_bash and line.startswith("python scripts/"):
            commands.append(shlex.split(line.split("  #")[0])[1:])
    return commands


def _script_main(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_script_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.main


def _run_doc_command(args: list[str]) -> Any:
    script, rest = Path(args[0]).stem, [a.replace("$PWD", os.getcwd()) for a in args[1:]]
    if script in ("make_custom_example", "estimate_sigmas"):
        return _script_main(script)(rest)
    rest = [f"output_dir={a.split('=', 1)[1]}" if a.startswith("hydra.run.dir=") else a for a in rest]
    if script == "train":
        return run.train(compose("train", *rest, *TINY))
    return getattr(run, script)(compose(script, *rest))


def test_walkthrough_commands_run_as_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    evaluator_sigmas: list[np.ndarray] = []
    drawn_skeletons: list[tuple] = []

    class SpyEvaluator(CocoKeypointEvaluator):
        def __init__(self, sigmas: Any, *args: Any, **kwargs: Any) -> None:
            evaluator_sigmas.append(np.asarray(sigmas, dtype=np.float64))
            super().__init__(sigmas, *args, **kwargs)

    draw = viz.draw_keypoints

    def spy_draw(image: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, spec: Any, **kw: Any) -> np.ndarray:
        drawn_skeletons.append(tuple(tuple(p) for p in spec.skeleton))
        return draw(image, keypoints, scores, spec, **kw)

    monkeypatch.setattr(landmarks.metrics.coco_ap, "CocoKeypointEvaluator", SpyEvaluator)
    monkeypatch.setattr(viz, "draw_keypoints", spy_draw)
    commands = doc_commands()
    steps = [Path(c[0]).stem for c in commands]
    assert steps == ["make_custom_example", "estimate_sigmas", "train", "evaluate", "infer"]
    results = {}
    for args in commands:
        if Path(args[0]).stem == "infer":
            drawn_skeletons.clear()
        results[Path(args[0]).stem] = _run_doc_command(args)

    layout = load_spec("data/tool7/layout.yaml", warn_default_sigmas=False)
    assert layout.num_keypoints == 7 and layout.names[0] == "tip"
    assert list(layout.sigmas) == pytest.approx(list(results["estimate_sigmas"].values()), abs=1e-4)
    assert layout.sigmas != (DEFAULT_SIGMA,) * 7  # measured, written into the file
    for key in ("train", "evaluate"):
        assert "val/ap" in results[key] and math.isfinite(results[key]["val/ap"]), results[key]
    assert results["evaluate"]["val/ap"] == pytest.approx(results["train"]["val/ap"], abs=1e-6)
    # pycocotools got the YAML's sigmas (training validation and evaluation alike)
    assert evaluator_sigmas and all(np.allclose(s, layout.sigmas) for s in evaluator_sigmas)
    written = json.loads(Path("outputs/tool7/checkpoints/eval_metrics.json").read_text())
    assert written["val/ap"] == results["evaluate"]["val/ap"]

    predictions = json.loads(Path(results["infer"]).read_text())
    images = sorted(os.listdir("data/tool7/images"))
    assert len(predictions) == len(images) == 60
    assert all(len(p["keypoints"]) == 3 * 7 and all(math.isfinite(v) for v in p["keypoints"]) for p in predictions)
    assert sorted(os.listdir("outputs/tool7_pred/overlays")) == images
    assert drawn_skeletons and set(drawn_skeletons) == {tuple(tuple(p) for p in layout.skeleton)}

    # the checkpoint carries the layout itself: it loads after the YAML file is gone
    os.rename("data/tool7/layout.yaml", "data/tool7/layout.moved")
    ckpt = next(Path("outputs/tool7/checkpoints").glob("*.ckpt"))
    spec = run.load_predictor(str(ckpt)).model.tasks["keypoints"].spec
    assert tuple(spec.names) == tuple(layout.names) and list(spec.sigmas) == pytest.approx(list(layout.sigmas))
    assert [tuple(p) for p in spec.flip_pairs] == [tuple(p) for p in layout.flip_pairs]


# --------------------------------------------------------------------------- start-up validation
LAYOUT = """\
name: tool7
keypoints: [tip, left_barb, right_barb, neck, left_fin, right_fin, tail]
flip_pairs: [[left_barb, right_barb], [4, 5]]
skeleton: [[tip, neck], [neck, tail]]
sigmas: [0.02, 0.03, 0.03, 0.06, 0.04, 0.04, 0.035]
"""


def _layout(tmp_path: Path, text: str = LAYOUT) -> str:
    path = tmp_path / "layout.yaml"
    path.write_text(text)
    return str(path)


def _error(path: str) -> str:
    with pytest.raises(AnnotationError) as info:
        load_spec(path)
    msg = str(info.value)
    assert msg.startswith(path), msg  # the file comes first
    return msg


def test_layout_by_names_and_indices(tmp_path: Path) -> None:
    spec = load_spec(_layout(tmp_path))
    assert spec.name == "tool7" and spec.num_keypoints == 7 and spec.source.endswith("layout.yaml")
    assert spec.flip_pairs == ((1, 2), (4, 5)) and spec.skeleton == ((0, 3), (3, 6))
    assert list(spec.flip_indices) == [0, 2, 1, 3, 5, 4, 6]
    mapping = LAYOUT.replace(
        "sigmas: [0.02, 0.03, 0.03, 0.06, 0.04, 0.04, 0.035]",
        "sigmas: {tip: 0.02, left_barb: 0.03, right_barb: 0.03, neck: 0.06, left_fin: 0.04, "
        "right_fin: 0.04, tail: 0.035}",
    )
    assert load_spec(_layout(tmp_path, mapping)).sigmas == spec.sigmas


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("[4, 5]]", "[4, 9]]", "'flip_pairs[1]'", "an index in [0, 7)"),
        ("[tip, neck]", "[tipp, neck]", "'skeleton[0]'", "did you mean 'tip'?"),
        ("[4, 5]]", "[4, left_barb]]", "'flip_pairs[1]'", "at most one flip pair"),
        ("tail]", "tip]", "'keypoints[6]'", "unique keypoint names"),
        ("0.04, 0.035]", "0.04]", "'sigmas'", "K = 7 values"),
        ("0.04, 0.035]", "0.04, null]", "'sigmas[6] (tail)'", "a positive number"),
        ("0.02,", "-0.02,", "'sigmas[0] (tip)'", "a positive number"),
        ("sigmas:", "sigma:", "'sigma'", "did you mean 'sigmas'?"),
    ],
)
def test_layout_errors_name_file_field_and_expectation(
    tmp_path: Path, old: str, new: str, field: str, expected: str
) -> None:
    msg = _error(_layout(tmp_path, LAYOUT.replace(old, new, 1)))
    assert f"field {field}" in msg and expected in msg, msg


def test_sigma_mapping_missing_a_name(tmp_path: Path) -> None:
    text = LAYOUT.replace(
        "sigmas: [0.02, 0.03, 0.03, 0.06, 0.04, 0.04, 0.035]", "sigmas: {tip: 0.02, left_barb: 0.03, right_barb: 0.03}"
    )
    msg = _error(_layout(tmp_path, text))
    assert "field 'sigmas'" in msg and "a sigma for every keypoint name" in msg and "neck, left_fin" in msg


def test_missing_sigmas_warn_and_use_the_default(tmp_path: Path) -> None:
    path = _layout(tmp_path, LAYOUT.replace("sigmas: [0.02, 0.03, 0.03, 0.06, 0.04, 0.04, 0.035]\n", ""))
    with pytest.warns(UserWarning, match=r"layout\.yaml: no 'sigmas' field; using DEFAULT_SIGMA = 0\.05"):
        spec = load_spec(path)
    assert spec.sigmas == (DEFAULT_SIGMA,) * 7


def test_write_sigmas_keeps_the_rest_of_the_file(tmp_path: Path) -> None:
    path = _layout(tmp_path, "# my arrows\n" + LAYOUT + "upper_body: [tip]  # head\n")
    sigmas = dict(zip(load_spec(path).names, (0.01, 0.02, 0.02, 0.03, 0.04, 0.04, 0.05)))
    spec = write_sigmas(path, sigmas, comment="measured")
    assert spec.sigmas == (0.01, 0.02, 0.02, 0.03, 0.04, 0.04, 0.05) and spec.upper_body == (0,)
    text = Path(path).read_text()
    assert text.startswith("# my arrows\n") and "sigmas:  # measured\n  tip: 0.0100\n" in text and "# head" in text


def _coco_json(tmp_path: Path, k: int) -> Path:
    import cv2

    cv2.imwrite(str(tmp_path / "1.jpg"), np.full((48, 64, 3), 90, np.uint8))
    kpts = [v for j in range(k) for v in (10.0 + 3 * j, 20.0, 2)]
    doc = {
        "images": [{"id": 1, "file_name": "1.jpg", "width": 64, "height": 48}],
        "annotations": [
            {
                "id": i,
                "image_id": 1,
                "category_id": 1,
                "bbox": [5.0, 5.0, 40.0, 30.0],
                "area": 900.0,
                "keypoints": kpts,
                "num_keypoints": k,
                "iscrowd": 0,
            }
            for i in (1, 2)
        ],
        "categories": [{"id": 1, "name": "thing", "keypoints": [f"p{j}" for j in range(k)]}],
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("on_bad_sample", ["error", "skip"])
def test_json_for_another_k_fails_at_start_up_naming_both_files(tmp_path: Path, on_bad_sample: str) -> None:
    layout = _layout(tmp_path)
    ann = _coco_json(tmp_path, k=5)
    with pytest.raises(AnnotationError) as info:
        CocoKeypointSource(str(ann), str(tmp_path), spec=load_spec(layout), on_bad_sample=on_bad_sample)
    msg = str(info.value)
    assert msg.startswith(str(ann)) and "field 'annotations[].keypoints'" in msg
    assert f"K = 7 keypoints of layout 'tool7' of {layout} (field 'keypoints')" in msg
    assert "15 values (K = 5) in 2 of 2 annotations" in msg and "categories[].keypoints lists 5 names" in msg


def test_other_keypoint_names_in_the_json_are_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ann = _coco_json(tmp_path, k=7)  # categories[].keypoints: p0 .. p6
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        src = CocoKeypointSource(str(ann), str(tmp_path), spec=load_spec(_layout(tmp_path)))
    assert len(src) == 2
    (message,) = [r.getMessage() for r in caplog.records if "categories[].keypoints" in r.getMessage()]
    assert str(ann) in message and "at 7 of 7 positions" in message and "0: 'p0' vs 'tip'" in message


def test_k_mismatch_through_the_config_is_a_start_up_error(tmp_path: Path) -> None:
    written = make_custom_example(str(tmp_path / "tool7"), num_train=2, num_val=2, size=(64, 64), repeats=0)
    five = _layout(tmp_path, "name: star5\nkeypoints: [a, b, c, d, e]\nsigmas: [0.05, 0.05, 0.05, 0.05, 0.05]\n")
    cfg = compose_train(tmp_path / "out", "task=custom", f"data.root={tmp_path / 'tool7'}", f"spec_file={five}")
    model = run.build_model(cfg)
    assert model.tasks["keypoints"].spec.num_keypoints == 5
    with pytest.raises(AnnotationError) as info:
        run.build_data(cfg, model)
    msg = str(info.value)
    assert msg.startswith(written["train"]) and f"layout 'star5' of {five} (field 'keypoints')" in msg
    assert "3*K = 15 values" in msg and "21 values (K = 7)" in msg
    assert any("data.train" in note for note in getattr(info.value, "__notes__", []))


# --------------------------------------------------------------------------- category-agnostic COCO AP
def test_coco_ap_is_category_agnostic() -> None:
    rng = np.random.default_rng(0)
    kp = rng.uniform(10, 50, (3, 7, 2))
    gt = {
        "images": [{"id": 1}, {"id": 2}, {"id": 3}],
        "categories": [{"id": 7, "name": "tool"}],
        "annotations": [
            {
                "id": i + 1,
                "image_id": i + 1,
                "category_id": 7,
                "iscrowd": 0,
                "num_keypoints": 7,
                "keypoints": np.concatenate([kp[i], np.full((7, 1), 2.0)], 1).reshape(-1).tolist(),
                "bbox": [0.0, 0.0, 60.0, 60.0],
                "area": 3600.0,
            }
            for i in range(3)
        ],
    }
    ev = CocoKeypointEvaluator(TRUE_SIGMAS)
    ev.add_ground_truth(landmarks.metrics.coco_ap.one_category(gt))
    ev.add_predictions(np.arange(1, 4), kp, np.ones((3, 7)), np.ones(3), np.full(3, 3600.0))
    assert ev.compute()["ap"] == pytest.approx(1.0)
    assert (
        landmarks.metrics.coco_ap.one_category(gt)["annotations"][0]["category_id"] == 1
        and gt["categories"][0]["id"] == 7
    )


# --------------------------------------------------------------------------- sigma estimation
def _ann(ann_id: int, instance: int, points: list[tuple[float, float]], area: float = 100.0, **kw: Any) -> dict:
    kpts = [v for x, y in points for v in (x, y, 2)]
    return {
        "id": ann_id,
        "image_id": 1,
        "instance_id": instance,
        "keypoints": kpts,
        "area": area,
        "bbox": [0.0, 0.0, 10.0, 10.0],
        **kw,
    }


def test_sigma_by_hand() -> None:
    # instance 1: keypoint 0 at (0, 0) and (3, 4): mean (1.5, 2), sum of squares 2 * 6.25 = 12.5, dof 1
    # instance 2: keypoint 0 at (1, 1), (1, 1), (4, 1): mean (2, 1), sum 1 + 1 + 4 = 6, dof 2
    # area 100 -> sigma_0^2 = (12.5 + 6) / 100 / 3; keypoint 1 never moves -> 0
    anns = [
        _ann(1, 1, [(0, 0), (5, 5)]),
        _ann(2, 1, [(3, 4), (5, 5)]),
        _ann(3, 2, [(1, 1), (5, 5)]),
        _ann(4, 2, [(1, 1), (5, 5)]),
        _ann(5, 2, [(4, 1), (5, 5)]),
        _ann(6, 3, [(9, 9), (9, 9)]),
    ]  # annotated once: not used
    est = estimate_sigmas({"annotations": anns}, 2)
    assert est.sigmas[0] == pytest.approx(math.sqrt(18.5 / 100 / 3)) and est.sigmas[1] == 0.0
    assert list(est.dof) == [3, 3] and est.num_groups == 2 and est.num_singletons == 1


def test_sigmas_recovered_from_known_annotation_noise() -> None:
    rng = np.random.default_rng(1)
    n = 400
    kp = rng.uniform(20, 200, (n, 7, 2))
    area = rng.uniform(40, 120, n) ** 2
    data = {
        "annotations": [
            {
                "id": i + 1,
                "image_id": i + 1,
                "area": float(area[i]),
                "bbox": [0, 0, 1, 1],
                "keypoints": np.concatenate([kp[i], np.full((7, 1), 2.0)], 1).reshape(-1).tolist(),
            }
            for i in range(n)
        ]
    }
    noisy = repeated(data, 3, rng)  # per-axis std TRUE_SIGMAS * sqrt(area) / sqrt(2)
    est = estimate_sigmas(noisy, 7)
    assert est.num_groups == n and list(est.dof) == [2 * n] * 7
    np.testing.assert_allclose(est.sigmas, TRUE_SIGMAS, rtol=0.06)  # 800 dof: ~2.5 % standard error


def test_iou_grouping_equals_id_grouping() -> None:
    anns = [
        _ann(1, 1, [(0, 0)], bbox=[0, 0, 10, 10]),
        _ann(2, 1, [(2, 0)], bbox=[1, 0, 10, 10]),
        _ann(3, 2, [(50, 50)], bbox=[50, 50, 10, 10]),
        _ann(4, 2, [(50, 53)], bbox=[50, 51, 10, 10]),
    ]
    by_id, by_iou = estimate_sigmas({"annotations": anns}, 1), estimate_sigmas({"annotations": anns}, 1, "iou")
    assert by_iou.num_groups == 2 and by_iou.sigmas[0] == pytest.approx(by_id.sigmas[0])


def test_sigma_estimation_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"reps\.json.*field 'annotations'.*annotated at least twice"):
        estimate_sigmas({"annotations": [_ann(1, 1, [(0, 0)]), _ann(2, 2, [(0, 0)])]}, 1, source="reps.json")
    with pytest.raises(ValueError, match=r"reps\.json \(annotation id 1\): field 'track_id'"):
        estimate_sigmas({"annotations": [_ann(1, 1, [(0, 0)])]}, 1, group_by="track_id", source="reps.json")
    with pytest.raises(ValueError, match=r"field 'keypoints': expected 3\*K = 6 values"):
        estimate_sigmas({"annotations": [_ann(1, 1, [(0, 0)]), _ann(2, 1, [(0, 0)])]}, 2)
