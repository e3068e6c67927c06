"""What a user sees when a config or a data set is wrong, through the real entry points.

Every message must name the file (or config key), the field and what was expected. The
readers' own behaviour is covered in ``test_formats_coco.py``; here the errors travel
through Hydra ``compose`` -> :mod:`landmarks.run` (instantiate, data module, trainer).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import DictConfig

from landmarks import run
from landmarks.data.formats.errors import AnnotationError
from landmarks.module import LandmarkModule
from tests import tiny
from tests.tiny import BASE, CONF, ONE_STEP

K = 17
TINY = [*BASE, *ONE_STEP]


def compose_train(out: Path, *overrides: str) -> DictConfig:
    return tiny.compose_train(out, *overrides, tiny=TINY)


# --------------------------------------------------------------------------- config keys
def test_unknown_key_is_refused_by_hydra_with_its_name(tmp_path: Path) -> None:
    for key in ("trainer.max_stepz", "data.batch_sizee"):
        with pytest.raises(ConfigCompositionException, match=f"Could not override '{key}'"):
            compose_train(tmp_path, f"{key}=3")


@pytest.mark.parametrize(
    ("override", "key", "target", "closest"),
    [
        ("+data.batch_sizee=3", "data.batch_sizee", "LandmarkDataModule", "batch_size"),
        ("+trainer.max_stepz=3", "trainer.max_stepz", "pytorch_lightning.Trainer", "max_steps"),
        ("+tasks.body.codec.sigmaa=3", "tasks.body.codec.sigmaa", "MSRAHeatmap", "sigma"),
    ],
)
def test_added_unknown_key_names_key_target_and_expected(
    tmp_path: Path, override: str, key: str, target: str, closest: str
) -> None:
    cfg = compose_train(tmp_path, override)
    with pytest.raises(ValueError) as info:
        run.train(cfg)  # refused before anything is built
    msg = str(info.value)
    assert f"'{key}'" in msg and target in msg and f"did you mean '{closest}'" in msg
    assert "expected one of:" in msg and closest in msg.split("expected one of:")[1]
    assert not (tmp_path / "checkpoints").exists()


def test_every_shipped_config_passes_the_key_check(tmp_path: Path) -> None:
    tasks = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))
    experiments = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
    for overrides in [[f"task={t}"] for t in tasks] + [[f"experiment={e}"] for e in experiments]:
        run.check_config(compose_train(tmp_path, *overrides))
    for trainer in sorted(p.stem for p in (CONF / "trainer").glob("*.yaml")):
        run.check_config(compose_train(tmp_path, f"trainer={trainer}", "logger=wandb"))


# --------------------------------------------------------------------------- COCO-style data sets
def _kpts(n: int = K) -> list[float]:
    return [v for j in range(n) for v in (10.0 + j, 20.0, 2)]


def _ann(ann_id: int, image_id: int = 1, **kw: Any) -> dict:
    return {
        "id": ann_id,
        "image_id": image_id,
        "bbox": [5.0, 5.0, 40.0, 30.0],
        "keypoints": _kpts(),
        "num_keypoints": K,
        "iscrowd": 0,
        "area": 1200.0,
        "category_id": 1,
        **kw,
    }


def write_coco(root: Path, train: list[dict], val: list[dict] | None = None, n_images: int = 3) -> Path:
    """``data=coco`` layout: annotations/person_keypoints_{train,val}2017.json + {train,val}2017/*.jpg."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    images = [{"id": i + 1, "file_name": f"{i + 1:03d}.jpg", "width": 64, "height": 48} for i in range(n_images)]
    for split, anns in (("train", train), ("val", val if val is not None else [_ann(1)])):
        (root / f"{split}2017").mkdir(exist_ok=True)
        for i, info in enumerate(images):
            cv2.imwrite(str(root / f"{split}2017" / info["file_name"]), np.full((48, 64, 3), 50 + 40 * i, np.uint8))
        doc = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
        (root / "annotations" / f"person_keypoints_{split}2017.json").write_text(json.dumps(doc))
    return root / "annotations" / "person_keypoints_train2017.json"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> LandmarkModule:
    return run.build_model(compose_train(tmp_path_factory.mktemp("model")))


def _build(tmp_path: Path, model: LandmarkModule, *overrides: str) -> Any:
    cfg = compose_train(tmp_path / "out", "data=coco", f"data.root={tmp_path}", *overrides)
    return run.build_data(cfg, model)


def _message(tmp_path: Path, model: LandmarkModule, *overrides: str) -> str:
    with pytest.raises(AnnotationError) as info:  # the reader's own error, not Hydra's wrapper
        _build(tmp_path, model, *overrides)
    return str(info.value)


def test_missing_image_file(tmp_path: Path, model: LandmarkModule) -> None:
    ann_file = write_coco(tmp_path, [_ann(1), _ann(2, image_id=2)])
    (tmp_path / "train2017" / "002.jpg").unlink()
    msg = _message(tmp_path, model)
    assert str(ann_file) in msg and "'images[].file_name'" in msg
    assert "an existing image file under" in msg and "'002.jpg' (missing)" in msg and "annotation id 2" in msg


def test_corrupt_image_is_found_when_loaded(tmp_path: Path, model: LandmarkModule) -> None:
    write_coco(tmp_path, [_ann(1), _ann(2, image_id=2)])
    bad = tmp_path / "train2017" / "002.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg" * 4)
    datamodule = _build(tmp_path, model, "data.batch_size=2")
    with pytest.raises(AnnotationError) as info:
        next(iter(datamodule.train_dataloader()))
    msg = str(info.value)
    assert str(bad) in msg and "'images[].file_name'" in msg and "a complete image file" in msg
    assert "person_keypoints_train2017.json" in msg  # the file that named it


def test_malformed_json(tmp_path: Path, model: LandmarkModule) -> None:
    ann_file = write_coco(tmp_path, [_ann(1)])
    ann_file.write_text('{"images": [], "annotations": [{"id": 1,}]}')
    msg = _message(tmp_path, model)
    assert str(ann_file) in msg and "'<json>'" in msg and "expected valid JSON" in msg and "line 1 column" in msg


def test_wrong_keypoint_count(tmp_path: Path, model: LandmarkModule) -> None:
    ann_file = write_coco(tmp_path, [_ann(1), _ann(7, keypoints=_kpts(16))])
    msg = _message(tmp_path, model)
    assert str(ann_file) in msg and "annotation id 7" in msg and "'keypoints'" in msg
    assert "expected 3*K = 51 values" in msg and "got 48 values" in msg


def test_box_outside_the_image(tmp_path: Path, model: LandmarkModule) -> None:
    ann_file = write_coco(tmp_path, [_ann(1), _ann(3, bbox=[100.0, 60.0, 20.0, 20.0])])
    msg = _message(tmp_path, model)
    assert str(ann_file) in msg and "annotation id 3" in msg and "'bbox'" in msg
    assert "expected a box overlapping image 001.jpg (64x48)" in msg and "fully outside" in msg


def test_empty_dataset(tmp_path: Path, model: LandmarkModule) -> None:
    ann_file = write_coco(tmp_path, [_ann(1, iscrowd=1)])
    msg = _message(tmp_path, model)
    assert str(ann_file) in msg and "'annotations'" in msg and "expected at least one instance" in msg
    assert "iscrowd: 1" in msg
    synthetic = compose_train(tmp_path / "out", "data.train.num_images=0")
    with pytest.raises(ValueError, match=r"data\.train: source SyntheticBodySource is empty; expected at least one"):
        run.build_data(synthetic, model)


@pytest.mark.slow
def test_skip_trains_on_the_good_samples_and_logs_each_bad_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ann_file = write_coco(
        tmp_path,
        [
            _ann(1),
            _ann(2, image_id=3),  # good
            _ann(3, image_id=2),  # corrupt image (found when loaded)
            _ann(4, keypoints=_kpts(16)),  # wrong keypoint count
            _ann(5, bbox=[100.0, 60.0, 20.0, 20.0]),  # box outside the image
            _ann(6, image_id=4),  # image id not in 'images'
        ],
    )
    (tmp_path / "train2017" / "002.jpg").write_bytes(b"garbage")
    cfg = compose_train(
        tmp_path / "out",
        "data=coco",
        f"data.root={tmp_path}",
        "data.on_bad_sample=skip",
        "data.batch_size=3",
        "data.val_batch_size=2",
        "data.augment.half_body_prob=0",
    )
    with caplog.at_level(logging.WARNING, logger="landmarks.data"):
        metrics = run.train(cfg)
    assert metrics["global_step"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.name == "landmarks.data"]
    expected = {
        "annotation id 4": "'keypoints'",
        "annotation id 5": "'bbox'",
        "annotation id 6": "'image_id'",
        "002.jpg": "'images[].file_name'",
    }
    for where, field in expected.items():
        hits = [w for w in warnings if where in w and field in w]
        assert len(hits) == 1, f"expected one warning naming {where} and {field}; got {warnings}"
    assert len(warnings) == len(expected)
    assert all(str(ann_file) in w for w in warnings)


def test_resume_from_missing_checkpoint_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "last.ckpt"
    cfg = compose_train(tmp_path / "out", f"ckpt_path={missing}", "data.train.num_images=8", "data.val.num_images=4")
    with pytest.raises(FileNotFoundError, match=f"ckpt: checkpoint file '{missing}' does not exist"):
        run.train(cfg)


def test_unvalidated_tail_of_the_schedule_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    from omegaconf import OmegaConf

    from landmarks import run

    with caplog.at_level("WARNING", logger="landmarks"):
        run._warn_unvalidated_tail(OmegaConf.create({"trainer": {"max_steps": 2400, "val_check_interval": 500}}))
        assert "the last 400 steps are never validated" in caplog.text
        caplog.clear()
        run._warn_unvalidated_tail(OmegaConf.create({"trainer": {"max_steps": 3000, "val_check_interval": 500}}))
        run._warn_unvalidated_tail(OmegaConf.create({"trainer": {"max_steps": 3000, "val_check_interval": 0.5}}))
        assert caplog.text == ""
