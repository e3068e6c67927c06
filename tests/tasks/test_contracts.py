"""Contract tests: every ``conf/task/*.yaml`` with every head it allows goes through the one path.

For each task config (and each ``conf/head/*.yaml`` when the task's head is the ``head`` group),
in process and without a Trainer: build the model and data exactly as ``train`` does, run one
training step (finite loss and gradients), one validation step (the metric objects
give finite values, including the task's monitored metric) and one prediction through
``Task.predict`` -> ``Task.to_json`` -> ``Task.draw``. A new task YAML or head YAML is picked up
here with no edit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import DictConfig

from landmarks import run
from landmarks.data.synthetic.common.tool_example import make_custom_example
from tests.tiny import BASE, CONF, compose_train

TASKS = sorted(p.stem for p in (CONF / "task").glob("*.yaml"))
HEADS = sorted(p.stem for p in (CONF / "head").glob("*.yaml"))
TINY = [
    *BASE,
    "backbone.name=resnet10t",
    "input_size=[32,32]",
    "data.batch_size=2",
    "data.val_batch_size=4",
]


def _compose(out: Path, *overrides: str) -> DictConfig:
    return compose_train(out, *overrides, tiny=TINY)


def _shrink(cfg: DictConfig, node: DictConfig | None = None) -> None:
    """Every synthetic source down to a few images (any nesting: train, val, mix)."""
    node = cfg.data if node is None else node
    for key in list(node.keys()):
        child = node[key]
        if isinstance(child, DictConfig):
            if "num_images" in child:
                child.num_images = 4
            _shrink(cfg, child)


def _cases() -> list[tuple[str, str]]:
    """``(task, head)`` pairs: every head for tasks whose head is the ``head`` group, else the task's own."""
    cases = []
    for task in TASKS:
        uses_group = "${head}" in (CONF / "task" / f"{task}.yaml").read_text()
        cases += [(task, h) for h in HEADS] if uses_group else [(task, "own")]
    return cases


def _custom(task: str, root: Path) -> list[str]:
    return [f"data.root={root}", f"spec_file={root / 'layout.yaml'}"] if task == "custom" else []


@pytest.fixture(scope="module")
def tool_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tool7")
    make_custom_example(str(root), num_train=4, num_val=4, size=(64, 64), repeats=0)
    return root


@pytest.mark.parametrize(("task", "head"), _cases())
def test_task_trains_validates_and_predicts_through_one_path(
    task: str, head: str, tmp_path: Path, tool_example: Path
) -> None:
    overrides = [f"task={task}", *([] if head == "own" else [f"head={head}"]), *_custom(task, tool_example)]
    cfg = _compose(tmp_path, *overrides)
    _shrink(cfg)
    torch.manual_seed(0)
    model = run.build_model(cfg)
    data = run.build_data(cfg, model)
    data.setup("fit")

    batch = next(iter(data.train_dataloader()))
    model.train()
    loss = model.training_step(batch, 0)
    assert torch.isfinite(loss), f"task={task} head={head}: loss {loss}"
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads), "missing or non-finite gradients"
    assert any(float(g.abs().sum()) > 0 for g in grads), "the loss does not depend on any parameter"

    model.eval()
    val = next(iter(data.val_dataloader()))
    with torch.no_grad():
        model.validation_step(val, 0)
    values = {f"val/{k}": v for t in model.tasks.values() for k, v in t.compute_metrics().items()}
    for monitor in {str(t.monitor) for t in model.tasks.values()}:
        assert monitor in values, f"task={task}: monitored {monitor} not computed; got {sorted(values)}"
        assert math.isfinite(values[monitor]), f"task={task}: {monitor} = {values[monitor]}"

    source = val if "image" in val else next(iter(val.values()))
    with torch.no_grad():
        preds = model.predict_batch(source)
    image = np.zeros((80, 80, 3), np.uint8)
    for name, pred in preds.items():
        entry = model.tasks[name].to_json(pred, 0)
        json.dumps(entry)  # plain JSON types only
        assert entry, f"task {name}: empty JSON entry"
        drawn = model.tasks[name].draw(image.copy(), pred, 0, box=np.array([8, 8, 64, 64], np.float32), kpt_thr=0.0)
        assert drawn.shape == image.shape and drawn.dtype == np.uint8
