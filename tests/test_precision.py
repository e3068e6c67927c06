"""bf16 recipes fall back to float32 on CPUs without native bf16 (landmarks/precision.py)."""

from __future__ import annotations

import logging

import pytest
import torch

from landmarks import precision


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_the_cpu_only_where_it_is_native(
    native: bool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="landmarks"):
        got = precision.cpu_precision("bf16-mixed", "cpu")
        auto = precision.cpu_precision("bf16-mixed", "auto")
    assert got == auto == ("bf16-mixed" if native else "32-true")
    assert any("no native bfloat16" in r.getMessage() for r in caplog.records) is (not native)
    assert precision.cpu_precision("32-true", "cpu") == "32-true"
    assert precision.cpu_precision("bf16-mixed", "gpu") == "bf16-mixed"  # GPU runs as configured
