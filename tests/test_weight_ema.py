"""The EMA of the weights (landmarks/averaging.py): its update by hand, and its checkpoints in a tiny run.

The runs (as tests/test_resume.py, 16 images in batches of 4, validation every 3 steps, with
``callbacks.ema``): ``full`` (6 steps), ``stopped`` (after the step-3 validation) and ``resumed``
from its ``last.ckpt``. The resumed run must reproduce both the raw weights and the average bit
for bit, every checkpoint's ``state_dict`` must be the average, and what ``run.load_model`` and the
final validation use must be the average too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from landmarks import run
from landmarks.averaging import WeightEMA, _EmaUpdate, warmup_decay
from tests import tiny
from tests.test_resume import STOP_AT_FIRST_VALIDATION, TINY

EMA = ["+callbacks.ema._target_=landmarks.averaging.WeightEMA", "+callbacks.ema.decay=0.9"]


def test_warmup_decay_by_hand() -> None:
    assert warmup_decay(0.998, 0) == pytest.approx(0.1)  # the second update keeps 10 % of the first
    assert warmup_decay(0.998, 1) == pytest.approx(2 / 11)
    assert warmup_decay(0.998, 90) == pytest.approx(0.91)
    assert warmup_decay(0.998, 10**6) == 0.998


def test_update_is_the_exponential_average_with_warm_up() -> None:
    update = _EmaUpdate(0.5)
    averages, currents = (
        [torch.tensor([1.0, 2.0]), torch.tensor([0.0])],
        [torch.tensor([3.0, 6.0]), torch.tensor([1.0])],
    )
    update(averages, currents, 1)  # n = 1: d = min(0.5, 2 / 11)
    torch.testing.assert_close(averages[0], torch.tensor([1.0, 2.0]) * 2 / 11 + torch.tensor([3.0, 6.0]) * 9 / 11)
    torch.testing.assert_close(averages[1], torch.tensor([9 / 11]))
    averages = [torch.tensor([1.0, 2.0])]
    update(averages, [torch.tensor([3.0, 6.0])], torch.tensor(100))  # n = 100: d = 0.5
    torch.testing.assert_close(averages[0], torch.tensor([2.0, 4.0]))
    counts = [torch.tensor(3)]
    update(counts, [torch.tensor(7)], 5)  # integer buffers follow the model
    assert int(counts[0]) == 7


def test_bad_decay_is_refused() -> None:
    with pytest.raises(ValueError, match="callbacks.ema.decay"):
        WeightEMA(decay=1.0)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ema")
    last = root / "stopped" / "checkpoints" / "last.ckpt"
    plan = {
        "full": ["trainer.max_steps=6"],
        "stopped": ["trainer.max_steps=6", *STOP_AT_FIRST_VALIDATION],
        "resumed": ["trainer.max_steps=6", f"ckpt_path={last}"],
    }
    for name, overrides in plan.items():
        run.train(tiny.compose_train(root / name, *EMA, *overrides, tiny=TINY))
    return {name: root / name for name in plan}


def _ckpt(path: Path, name: str = "last.ckpt") -> dict:
    return torch.load(path / "checkpoints" / name, map_location="cpu", weights_only=True)


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_resume_reproduces_the_raw_weights_and_the_average_bit_for_bit(runs: dict[str, Path]) -> None:
    full, resumed = _ckpt(runs["full"]), _ckpt(runs["resumed"])
    assert full["global_step"] == resumed["global_step"] == 6
    assert _equal(full["state_dict"], resumed["state_dict"])  # the average
    assert _equal(full["current_model_state"], resumed["current_model_state"])  # the raw weights
    assert torch.equal(full["averaging_state"]["n_averaged"], torch.tensor(6))
    # the average is not the raw weights (decay 0.9 over 6 steps)
    assert not _equal(full["state_dict"], full["current_model_state"])


@pytest.mark.slow
def test_checkpoints_ship_the_average_and_the_final_validation_scores_it(runs: dict[str, Path]) -> None:
    full = runs["full"]
    best = _ckpt(full, "best.ckpt")
    assert "current_model_state" in best and "averaging_state" in best
    model, _ = run.load_model(str(full / "checkpoints" / "last.ckpt"))
    for key, value in model.state_dict().items():
        assert torch.equal(value, _ckpt(full)["state_dict"][key]), key
    # the final validation (of best.ckpt) gives the loss the fit's validation at that step gave: both scored the average
    metrics = json.loads((full / "metrics.json").read_text())
    curves = json.loads((full / "training_curves.json").read_text())["validation"]
    at_best = next(row for row in curves if row["step"] == best["global_step"])
    assert metrics["val/body/loss"] == pytest.approx(at_best["val/body/loss"], rel=1e-6)


def test_ema_keeps_raw_weights_in_the_model_until_teardown() -> None:
    class Tiny(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(2))

    callback = WeightEMA(decay=0.5)
    module = Tiny()
    from torch.optim.swa_utils import AveragedModel

    callback._average_model = AveragedModel(module, use_buffers=True, multi_avg_fn=_EmaUpdate(0.5))
    callback._average_model.update_parameters(module)  # the average starts at 0
    with torch.no_grad():
        module.w.fill_(1.0)
    callback._average_model.update_parameters(module)  # d = min(0.5, 2/11): 0 * 2/11 + 1 * 9/11
    callback.on_train_end(None, module)  # type: ignore[arg-type]
    assert torch.equal(module.w.detach(), torch.ones(2))
    callback.teardown(None, module, "fit")  # type: ignore[arg-type]
    torch.testing.assert_close(module.w.detach(), torch.full((2,), 9 / 11))
