"""Print a run's time-to-accuracy curve as markdown (for docs/benchmarks.md).

    python benchmarks/curve_table.py outputs/hand_fast val/pck val/epe val/auc --target val/pck:0.9:max
Reads ``training_curves.json`` (written by landmarks.callbacks.TrainingCurves) in the run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repository root

from benchmarks.bench import curve_table, time_to_accuracy  # noqa: E402


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("columns", nargs="+", help="metric names, e.g. val/pck")
    parser.add_argument("--target", action="append", default=[], help="METRIC:THRESHOLD:max|min (repeatable)")
    args = parser.parse_args(argv)
    with open(os.path.join(args.run_dir, "training_curves.json")) as f:
        rows = json.load(f)["validation"]
    text = curve_table(rows, args.columns)
    for target in args.target:
        metric, thr, mode = target.split(":")
        hit = time_to_accuracy(rows, metric, [float(thr)], mode)[0]
        sign = ">=" if mode == "max" else "<="
        text += f"\n\n{metric} {sign} {thr}: " + (
            f"{hit['minutes']:.1f} min (step {hit['step']})" if hit["step"] is not None else "not reached"
        )
    print(text)
    return text


if __name__ == "__main__":
    main()
