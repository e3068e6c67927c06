"""Time-to-accuracy helpers used to write docs/benchmarks.md."""

from __future__ import annotations

import pytest

from benchmarks.bench import curve_table, time_to_accuracy

ROWS = [
    {"step": 500, "seconds": 60.0, "val/nme": 0.08, "val/pck": 0.5},
    {"step": 1000, "seconds": 150.0, "val/nme": 0.05, "val/pck": 0.8},
    {"step": 1500, "seconds": 240.0, "val/nme": 0.04},
]


def test_time_to_accuracy_both_directions() -> None:
    up = time_to_accuracy(ROWS, "val/pck", [0.7, 0.9])
    assert up[0] == {"threshold": 0.7, "minutes": 2.5, "step": 1000} and up[1]["step"] is None
    down = time_to_accuracy(ROWS, "val/nme", [0.06, 0.035], mode="min")
    assert down[0]["step"] == 1000 and down[1]["minutes"] is None
    with pytest.raises(ValueError, match="mode must be"):
        time_to_accuracy(ROWS, "val/nme", [0.1], mode="lower")


def test_curve_table_marks_missing_values() -> None:
    lines = curve_table(ROWS, ["val/pck", "val/nme"]).splitlines()
    assert lines[0] == "| step | minutes | val/pck | val/nme |"
    assert lines[2] == "| 500 | 1.0 | 0.5 | 0.08 |" and lines[4] == "| 1500 | 4.0 | - | 0.04 |"
