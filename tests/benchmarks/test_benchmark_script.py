"""The benchmark's pure helpers (benchmarks.bench) and the script's report, on tiny inputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from benchmarks import bench
from landmarks.codecs.heatmap import MSRAHeatmap

ROOT = Path(__file__).resolve().parents[2]


def test_decode_errors_on_two_exact_gaussians() -> None:
    centres = np.array([[10.3, 12.7], [15.55, 20.25]])
    errors = bench.decode_errors(centres, (24, 32), sigma=2.0)
    assert set(errors) == {"none", "quarter", "dark"}
    # argmax is off by the sub-pixel part: at most sqrt(0.5^2 + 0.5^2) px.
    assert 0.1 < errors["none"]["mean"] <= np.sqrt(0.5) + 1e-6
    assert errors["dark"]["mean"] < 0.05
    assert errors["dark"]["max"] < errors["none"]["max"]


def test_gaussian_heatmaps_peak_at_the_centre() -> None:
    maps = bench.gaussian_heatmaps(np.array([[4.0, 6.0]]), (12, 10), sigma=1.5)
    assert tuple(maps.shape) == (1, 1, 10, 12)
    assert float(maps[0, 0, 6, 4]) == 1.0 and float(maps.max()) == 1.0


def test_encode_timing_is_sane_and_both_paths_agree() -> None:
    codec = MSRAHeatmap((96, 128), (24, 32), sigma=2.0)
    kpts, vis = bench.random_instances(8, 17, codec.input_size, seed=0)
    t = bench.encode_timing(codec, kpts, vis, repeats=2)
    assert t["vectorised_us"] > 0 and t["loop_us"] > 0
    assert t["speedup"] == t["loop_us"] / t["vectorised_us"]
    assert t["max_abs_diff"] < 1e-6


def test_time_to_accuracy() -> None:
    rows = [{"step": 100, "seconds": 60.0, "val/pck": 0.4}, {"step": 200, "seconds": 150.0, "val/pck": 0.72}]
    out = bench.time_to_accuracy(rows, "val/pck", [0.5, 0.7, 0.8])
    assert [r["minutes"] for r in out] == [2.5, 2.5, None]
    assert [r["step"] for r in out] == [200, 200, None]


def test_machine_info_and_markdown_report() -> None:
    info = bench.machine_info()
    assert info["cores"] >= 1 and info["torch"]
    spec = importlib.util.spec_from_file_location("benchmark_script", ROOT / "benchmarks" / "benchmark.py")
    script = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("benchmark_script", script)
    spec.loader.exec_module(script)
    sections = {
        "decode": {
            "quick": True,
            "date": "d",
            "n": 2,
            "sigma": 2.0,
            "goal": 0.05,
            "rows": [
                {
                    "heatmap": [24, 32],
                    "region": "interior",
                    "refine": "dark",
                    "mean": 0.01,
                    "median": 0.01,
                    "p95": 0.02,
                    "max": 0.02,
                    "pass": True,
                }
            ],
        },
        "tta": {"quick": True, "date": "d", "curves": "x.json", "metric": "val/pck", "missing": True, "rows": []},
    }
    md = script.markdown(
        {"machine": info, "sections": sections, "date": "d", "argv": "--quick", "json": "b.json", "threads": 1}
    )
    assert "QUICK SMOKE RUN" in md and "PASS" in md and "No curves file" in md
