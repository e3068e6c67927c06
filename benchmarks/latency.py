"""CPU latency of an exported model: torch eager vs ORT fp32 vs ORT int8 vs OpenCV DNN (graph only).

``python benchmarks/latency.py CKPT EXPORT_DIR [--repeats 30]``: EXPORT_DIR from
``scripts/export.py quantize=int8`` (model.onnx int8 + model_fp32.onnx). Medians over ``repeats``
runs after 3 warm-ups, batch 1 and 8, 1 and 2 threads, one process. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def _read_out(task: Any, out: Any) -> Any:
    """The keypoint read-out of ``out`` (what the ONNX decoder computes); other outputs as they are."""
    decode = getattr(task, "_decode_input", None)
    return decode(out) if decode is not None else out


def main() -> None:
    import onnxruntime as ort
    import torch

    from landmarks.run import load_model
    from landmarks.runtime.runner import Runtime

    parser = argparse.ArgumentParser()
    parser.add_argument("ckpt")
    parser.add_argument("export_dir")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    model, _ = load_model(args.ckpt)
    model.flip_test = False
    meta_rt = Runtime(os.path.join(args.export_dir, "model_fp32.onnx"))
    w, h = meta_rt.input_size
    print("| batch | threads | torch eager ms | ORT fp32 ms | ORT int8 ms | OpenCV DNN ms |\n|---|---|---|---|---|---|")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        sessions = {}
        for kind, name in (("fp32", "model_fp32.onnx"), ("int8", "model.onnx")):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            sessions[kind] = ort.InferenceSession(
                os.path.join(args.export_dir, name), opts, providers=["CPUExecutionProvider"]
            )
        for batch in (1, 8):
            x = np.random.default_rng(0).uniform(0, 255, (batch, 3, h, w)).astype(np.float32)
            xt = torch.from_numpy(x)

            def eager(xt: torch.Tensor = xt) -> object:
                with torch.no_grad():
                    outs = model.predict_outputs(xt)
                    return [_read_out(model.task(n), o) for n, o in outs.items()]

            row: list[float | str] = [median_ms(eager, args.repeats)]
            row += [median_ms(lambda s=s, x=x: s.run(None, {"image": x}), args.repeats) for s in sessions.values()]
            try:
                cv = Runtime(os.path.join(args.export_dir, "model_fp32.onnx"), backend="opencv", threads=threads)
                row.append(median_ms(lambda cv=cv, x=x: cv.run_crops(x), args.repeats))
            except RuntimeError as err:
                row.append(f"n/a ({str(err).split(': ', 2)[-1][:60]})")
            cells = " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row)
            print(f"| {batch} | {threads} | {cells} |")


if __name__ == "__main__":
    main()
