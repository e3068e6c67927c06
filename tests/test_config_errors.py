"""Configuration errors name the key, the file and what was expected (issue 9, items 3 and 8).

Config values are checked against their targets' signature annotations before anything is built;
a checkpoint that does not fit the model names the file, the task and the first misfit parameter;
evaluate with ``data=...`` replaces the checkpoint's data node instead of merging into it.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from landmarks import config_check, run
from tests.tiny import BASE, CONF, ONE_STEP, compose_train, untrained_checkpoint

TINY = [
    *BASE,
    "data.batch_size=4",
    "data.val_batch_size=4",
    "data.train.num_images=8",
    "data.val.num_images=4",
    *ONE_STEP,
]


def _train_cfg(out: Path, *overrides: str):  # noqa: ANN202 - DictConfig
    return compose_train(out, *overrides, tiny=TINY)


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("ckpts")
    return {
        task: untrained_checkpoint(_train_cfg(out, f"task={task}"), out / f"{task}.ckpt") for task in ("body", "face")
    }


# --------------------------------------------------------------------------- value types
@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "trainer.max_steps=abc",
            "config key 'trainer.max_steps': expected int (argument 'max_steps' of "
            "pytorch_lightning.Trainer), got 'abc' (str)",
        ),
        (
            "data.batch_size=1.5",
            "config key 'data.batch_size': expected int (argument 'batch_size' of "
            "landmarks.data.datamodule.LandmarkDataModule), got 1.5 (float)",
        ),
        ("backbone.pretrained=maybe", "config key 'backbone.pretrained': expected bool"),
        ("seed=x", "config key 'seed': expected int, got 'x' (str)"),
        (
            "input_size=[64,abc]",
            "config key 'tasks.body.codec.input_size': expected tuple[int, int]",
        ),  # via ${input_size}
        ("trainer.precision=bf16-mix", "expected one of 64, 32, 16, 'transformer-engine'"),
    ],
)
def test_wrong_value_type_names_key_and_expected_type(tmp_path: Path, override: str, message: str) -> None:
    cfg = _train_cfg(tmp_path, override)
    with pytest.raises(TypeError) as info:
        run.train(cfg)  # refused before anything is built
    assert message in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


def test_type_rules_on_hand_picked_annotations() -> None:
    fits = config_check._fits
    assert fits(3, int) and not fits(True, int) and not fits("3", int) and fits(3, float) and not fits(3.0, int)
    optional_int = typing.Optional[int]  # noqa: UP045 - the typing spelling is what is tested
    assert fits(None, optional_int) and fits(2, int | None) and fits([1, 2], tuple[int, int])
    assert not fits([1, "a"], typing.Sequence[int]) and not fits("ab", list[str]) and fits({"a": 1}, dict[str, int])
    assert fits("bf16-mixed", typing.Literal["bf16-mixed", 32]) and not fits("32", typing.Literal[32])
    assert fits("x", torch.nn.Module) is None and fits("x", typing.Any) is None  # cannot judge: passes
    assert config_check._describe(typing.Optional[int | float]) == "int or float or null"  # noqa: UP045


# --------------------------------------------------------------------------- checkpoints that do not fit
def test_resume_under_another_task_names_file_task_and_parameter(tmp_path: Path, ckpts: dict[str, Path]) -> None:
    cfg = _train_cfg(tmp_path, "task=face", f"ckpt_path={ckpts['body']}")
    with pytest.raises(ValueError) as info:
        run.train(cfg)
    msg = str(info.value)
    assert f"ckpt: '{ckpts['body']}' does not fit the model of task(s) 'face' (layout 'ibug68', K=68)" in msg
    assert "parameter 'tasks.face.head." in msg and "is missing from the checkpoint" in msg
    assert "the checkpoint has parameter 'tasks.body." in msg and "trained for task(s) 'body'" in msg


def test_load_model_names_the_first_parameter_whose_shape_differs(tmp_path: Path, ckpts: dict[str, Path]) -> None:
    ckpt = torch.load(ckpts["body"], weights_only=True)
    name = next(n for n in ckpt["state_dict"] if n.startswith("tasks.body.") and n.endswith("weight"))
    shape = tuple(ckpt["state_dict"][name].shape)
    ckpt["state_dict"][name] = torch.zeros(3, *shape[1:])
    path = tmp_path / "edited.ckpt"
    torch.save(ckpt, path)
    with pytest.raises(ValueError) as info:
        run.load_model(str(path))
    assert f"ckpt: '{path}' does not fit the model of task(s) 'body' (layout 'coco17', K=17)" in str(info.value)
    assert f"parameter '{name}' has shape {(3, *shape[1:])} in the checkpoint but {shape} in the model" in str(
        info.value
    )


# --------------------------------------------------------------------------- evaluate with another data config
def _evaluate_cfg(ckpt: Path, out: Path, *overrides: str):  # noqa: ANN202 - DictConfig
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("evaluate", overrides=[f"ckpt={ckpt}", f"out={out}", "plots=false", *overrides])


def test_evaluate_replaces_the_checkpoints_data_node(ckpts: dict[str, Path], realdata: Path, tmp_path: Path) -> None:
    coco = realdata / "coco"
    cfg = _evaluate_cfg(
        ckpts["body"],
        tmp_path,
        "data=coco",
        f"data.root={coco}",
        f"data.val.ann_file={coco}/test_coco.json",
        f"data.val.image_root={coco}",
        "data.num_workers=0",
    )
    full = run.config_from_checkpoint(str(ckpts["body"]), replace={"data": dict(cfg.data)})
    assert "num_images" not in full.data.val and full.data.val.ann_file == f"{coco}/test_coco.json"  # nothing leaked
    metrics = run.evaluate(cfg)  # was: unexpected keyword argument 'num_images'
    assert "val/ap" in metrics and (tmp_path / "eval_metrics.json").is_file()


def test_evaluate_with_data_of_another_layout_names_both_and_the_checkpoint(
    ckpts: dict[str, Path], tmp_path: Path
) -> None:
    cfg = _evaluate_cfg(ckpts["face"], tmp_path, "data=synthetic_body", "data.val.num_images=2", "data.num_workers=0")
    with pytest.raises(ValueError) as info:
        run.evaluate(cfg)
    msg = str(info.value)
    assert f"evaluate: checkpoint '{ckpts['face']}' (task(s) 'face' (layout 'ibug68', K=68))" in msg
    assert "has 17 keypoints (layout 'coco17') but task 'face' expects 68 (layout 'ibug68')" in msg


@pytest.mark.parametrize(("entry", "default_dir"), [("evaluate", "a"), ("export", "a/export")])
def test_hydra_dir_is_out_or_a_folder_beside_the_checkpoint(tmp_path: Path, entry: str, default_dir: str) -> None:
    """``scripts/<entry>.py ckpt=a/b.ckpt``: Hydra's run dir is ``out=`` when given, else evaluate's is the
    checkpoint's folder and export's the ``export/`` folder beside it. Without ``out=`` (the README's export
    command) the config must compose: out is null there."""
    import runpy

    runpy.run_path(str(CONF.parent / "scripts" / f"{entry}.py"))  # registers the eval_out / export_out resolver
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        given = compose(entry, overrides=[f"ckpt={tmp_path}/a/b.ckpt", f"out={tmp_path}/o"], return_hydra_config=True)
        default = compose(entry, overrides=[f"ckpt={tmp_path}/a/b.ckpt"], return_hydra_config=True)
    assert given.hydra.run.dir == f"{tmp_path}/o" and default.hydra.run.dir == f"{tmp_path}/{default_dir}"


def test_checkpoint_of_an_older_version_loads_with_one_warning_per_dropped_key(
    tmp_path: Path, ckpts: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """A config stored before the tree moved (landmarks.keypoints) and metrics became objects (pck_thr)."""
    ckpt = torch.load(ckpts["body"], weights_only=True)
    task = ckpt["landmarks_config"]["tasks"]["body"]
    task["spec"] = {"_target_": "landmarks.keypoints.coco17"}
    task.update(pck_thr=0.1, torso_pair=[5, 12], coco_eval=True)
    ckpt["landmarks_config"]["data"]["val"]["_target_"] = "landmarks.data.synthetic.body.SyntheticBodySource"
    path = tmp_path / "old.ckpt"
    torch.save(ckpt, path)
    with caplog.at_level("WARNING", logger="landmarks"):
        model, cfg = run.load_model(str(path))
    assert cfg.tasks.body.spec._target_ == "landmarks.layouts.spec.coco17"
    assert model.tasks["body"].spec.num_keypoints == 17
    dropped = [r.getMessage() for r in caplog.records if "no longer an argument" in r.getMessage()]
    assert len(dropped) == 3 and all(str(path) in m for m in dropped)
    assert any("'tasks.body.pck_thr' (value 0.1)" in m for m in dropped)
