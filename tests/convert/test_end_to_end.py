"""Import -> train 2 steps -> evaluate -> infer -> export back, through scripts/convert.py (slow, tiny)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from landmarks import run
from landmarks.convert.cli import run as convert
from landmarks.convert.cvat import write_cvat
from landmarks.data.synthetic.common.tool_example import make_custom_example
from landmarks.layouts.from_yaml import load_spec
from tests.tiny import CONF, TINY


@pytest.mark.slow
def test_cvat_import_train_evaluate_infer_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = make_custom_example("data", num_train=8, num_val=4, size=(64, 64), repeats=0)
    spec = load_spec(made["layout"], warn_default_sigmas=False)
    names = list(spec.names)
    # a CVAT for images export of the 12 labelled images (score 1 = labelled, 0 = outside)
    entries, sizes = [], {}
    for split in ("train", "val"):
        coco = json.loads(Path(made[split]).read_text())
        sizes.update({im["file_name"]: (im["width"], im["height"]) for im in coco["images"]})
        files = {im["id"]: im["file_name"] for im in coco["images"]}
        for a in coco["annotations"]:
            kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
            kp[:, 2] = kp[:, 2] > 0
            entries.append({"file_name": files[a["image_id"]], "keypoints": kp.reshape(-1).tolist()})
    Path("annotations.xml").write_text(
        write_cvat(entries, names, [(names[a], names[b]) for a, b in spec.skeleton], sizes, "arrow", kpt_thr=0.5)
    )

    written = convert(["from=cvat", "src=annotations.xml", "images=data", "out=imported", "val_every=4"])
    layout = load_spec(written["layout"], warn_default_sigmas=False)
    assert list(layout.names) == names and sorted(map(tuple, layout.flip_pairs)) == sorted(map(tuple, spec.flip_pairs))
    root = os.path.abspath("imported")
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        metrics = run.train(
            compose(
                "train",
                overrides=[
                    "task=custom",
                    f"data.root={root}",
                    f"spec_file={written['layout']}",
                    "output_dir=outputs/run",
                    *TINY,
                ],
            )
        )
        assert math.isfinite(metrics["val/ap"])
        ckpt = next(Path("outputs/run/checkpoints").glob("*.ckpt"))
        evaluated = run.evaluate(compose("evaluate", overrides=[f"ckpt={ckpt}"]))
        assert evaluated["val/ap"] == pytest.approx(metrics["val/ap"], abs=1e-6)
        predictions = run.infer(compose("infer", overrides=[f"ckpt={ckpt}", "source=data/images", "out=pred"]))
    back = convert(
        ["to=cvat", f"src={predictions}", f"layout={written['layout']}", "images=data/images", "out=back", "kpt_thr=0"]
    )
    again = convert(["from=cvat", f"src={back['annotations.xml']}", "images=data/images", "out=again"])
    train = json.loads(Path(again["train"]).read_text())
    val = json.loads(Path(again["val"]).read_text())
    assert len(train["images"]) + len(val["images"]) == 12  # every image predicted, exported and read back
    preds = {p["file_name"]: p["keypoints"] for p in json.loads(Path(predictions).read_text())}
    first = train["annotations"][0]
    file_name = os.path.basename(next(im["file_name"] for im in train["images"] if im["id"] == first["image_id"]))
    got = np.asarray(first["keypoints"], float).reshape(-1, 3)
    want = np.asarray(preds[file_name], float).reshape(-1, 3)
    labelled = want[:, 2] >= 0  # kpt_thr=0: a point scoring below it was exported outside="1" -> v = 0
    assert np.array_equal(got[:, 2] > 0, labelled)
    assert np.allclose(got[labelled, :2], np.clip(want[labelled, :2], 0, 64), atol=0.01)  # CVAT keeps 2 decimals
