"""benchmarks/jitter.py measures, by default, the smoothing filters infer.py and evaluate.py ship."""

from __future__ import annotations

import argparse
from pathlib import Path

from omegaconf import OmegaConf

from benchmarks.jitter import filter_settings, shipped_filter

CONF = Path(__file__).resolve().parents[2] / "conf"
OPTIONS = ("kind", "min_cutoff", "beta", "d_cutoff", "measurement_noise", "acceleration_noise")


def _no_filter_options(**given: list) -> argparse.Namespace:
    return argparse.Namespace(**{option: given.get(option) for option in OPTIONS})


def test_without_options_the_benchmark_runs_the_shipped_filters() -> None:
    body = filter_settings(_no_filter_options(), shipped_filter("body"))
    assert [(kind, params) for _, kind, params in body] == [
        ("kalman", {"measurement_noise": 0.02, "acceleration_noise": 4.0})
    ]
    head = filter_settings(_no_filter_options(), shipped_filter("head_pose"))
    assert [(kind, params) for _, kind, params in head] == [
        ("one_euro", {"min_cutoff": 2.0, "beta": 0.01, "d_cutoff": 1.0})
    ]


def test_given_options_make_a_grid_and_the_rest_stay_shipped() -> None:
    grid = filter_settings(
        _no_filter_options(kind=["one_euro", "kalman"], acceleration_noise=[2.0, 8.0]), shipped_filter("hand")
    )
    assert [(kind, params) for _, kind, params in grid] == [
        ("one_euro", {"min_cutoff": 1.0, "beta": 0.05, "d_cutoff": 1.0}),
        ("kalman", {"measurement_noise": 0.02, "acceleration_noise": 2.0}),
        ("kalman", {"measurement_noise": 0.02, "acceleration_noise": 8.0}),
    ]


def test_the_configs_ship_the_library_defaults() -> None:
    keypoints, rotations = shipped_filter("body"), shipped_filter("head_pose")
    for name in ("infer.yaml", "evaluate.yaml"):
        smoothing = OmegaConf.to_container(OmegaConf.load(CONF / name).smoothing)
        assert isinstance(smoothing, dict)
        for option in OPTIONS:
            assert smoothing[option] == keypoints[option], (name, option)
        for option, value in smoothing["rotation"].items():
            assert value == rotations[option], (name, "rotation", option)
