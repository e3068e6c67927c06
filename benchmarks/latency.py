"""CPU latency of exported models: torch eager vs ORT fp32 vs ORT int8 vs OpenCV DNN, and image -> JSON.

``python benchmarks/latency.py [--recipes demo,hand_fast,...] [--ckpt CKPT] [--repeats 30]``

Each recipe's model (``RECIPES``: the shipped experiment configs, plus the demo body model at
256x192) is built with random weights (latency does not depend on them), exported fp32 and int8
(:func:`landmarks.export.export_model`, int8 calibrated on 32 of its training crops) and timed in
this one process: medians of ``repeats`` runs after 3 warm-ups, batch 1 and 8, 1 and 2 threads.
The torch-free runtime's whole path (read the JPEG, crop one box, run, unwarp, JSON entry) is timed
on a real COCO photo. ``--ckpt`` times a trained checkpoint instead. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks.bench, when run as a script

from benchmarks.bench import median, time_calls  # noqa: E402

RECIPES: dict[str, list[str]] = {  # label -> train.yaml overrides
    "demo body 96x64 (MobileNetV3 + light head)": [],
    "hand_fast 96x96": ["experiment=hand_fast"],
    "face_fast 96x96": ["experiment=face_fast"],
    "head_pose_fast 96x96": ["experiment=head_pose_fast"],
    "body 256x192 (demo model)": ["input_size=[192,256]"],
}
PHOTO = REPO.parent / "shared" / "realdata" / "coco" / "000000196141.jpg"


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in ms over ``repeats`` runs after 3 warm-ups."""
    return 1000 * median(time_calls(fn, repeats, warmup=3))


def _read_out(task: Any, out: Any) -> Any:
    """The keypoint read-out of ``out`` (what the ONNX decoder computes); other outputs as they are."""
    decode = getattr(task, "_decode_input", None)
    return decode(out) if decode is not None else out


def recipe_model(overrides: list[str], export_dir: str) -> Any:
    """The recipe's model (random weights, seed 0), exported fp32 + int8 to ``export_dir``."""
    import torch
    from hydra import compose, initialize_config_dir

    from landmarks import run

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=[*overrides, "logger=csv", "data.num_workers=0", "output_dir=/tmp/unused"])
    torch.manual_seed(0)
    model = run.build_model(cfg).eval()
    return export_both(model, cfg, export_dir)


def export_both(model: Any, cfg: Any, export_dir: str) -> Any:
    """``model`` exported fp32 (``model_fp32.onnx``) + int8 (``model.onnx``, 32 training crops calibrate it)."""
    from landmarks import run
    from landmarks.export import export_model
    from landmarks.export.quantize import calibration_crops

    export_model(
        model, export_dir, quantize="int8", calibration=lambda: calibration_crops(run.build_data(cfg, model), 32)
    )
    return model


def time_model(label: str, model: Any, export_dir: str, repeats: int) -> list[str]:
    """Markdown rows ``label | batch | threads | eager | fp32 | int8 | opencv | fp32/eager | int8/fp32``."""
    import onnxruntime as ort
    import torch

    from landmarks.runtime.runner import Runtime

    model.flip_test = False
    w, h = Runtime(os.path.join(export_dir, "model_fp32.onnx")).input_size
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        sessions = {}
        for kind, name in (("fp32", "model_fp32.onnx"), ("int8", "model.onnx")):
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            sessions[kind] = ort.InferenceSession(
                os.path.join(export_dir, name), opts, providers=["CPUExecutionProvider"]
            )
        for batch in (1, 8):
            x = np.random.default_rng(0).uniform(0, 255, (batch, 3, h, w)).astype(np.float32)
            xt = torch.from_numpy(x)

            def eager(xt: torch.Tensor = xt) -> object:
                with torch.no_grad():
                    outs = model.predict_outputs(xt)
                    return [_read_out(model.task(n), o) for n, o in outs.items()]

            eager_ms = median_ms(eager, repeats)
            fp32, int8 = (
                median_ms(lambda s=sessions[kind], x=x: s.run(None, {"image": x}), repeats) for kind in ("fp32", "int8")
            )
            try:
                cv = Runtime(os.path.join(export_dir, "model_fp32.onnx"), backend="opencv", threads=threads)
                opencv = f"{median_ms(lambda cv=cv, x=x: cv.run_crops(x), repeats):.2f}"
            except RuntimeError as err:
                opencv = f"n/a ({_refused_op(str(err))})"
            rows.append(
                f"| {label} | {batch} | {threads} | {eager_ms:.2f} | {fp32:.2f} | {int8:.2f} | {opencv} "
                f"| {fp32 / eager_ms:.2f} | {int8 / fp32:.2f} |"
            )
    return rows


def _refused_op(message: str) -> str:
    for marker in ("node [", "Node ["):
        if marker in message:
            return message.split(marker, 1)[1].split("]", 1)[0][:40]
    return message.rsplit(": ", 1)[-1][:40]


def image_to_json_ms(export_dir: str, repeats: int) -> float:
    """The torch-free runtime on one real photo, one box: imread -> crop -> int8 graph -> unwarp -> JSON, 1 thread."""
    import cv2

    from landmarks.runtime.entries import frame_entries
    from landmarks.runtime.runner import Runtime

    runtime = Runtime(os.path.join(export_dir, "model.onnx"), threads=1)
    boxes = np.array([[120, 40, 220, 420]], np.float32)

    def once() -> str:
        bgr = cv2.imread(str(PHOTO))
        if bgr is None:
            raise SystemExit(f"cannot read {PHOTO}")
        image = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        entries, _ = frame_entries(runtime, image, boxes, box_source="boxes", image_id=0, file_name=PHOTO.name)
        return json.dumps(entries)

    return median_ms(once, repeats)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated labels of RECIPES")
    parser.add_argument("--ckpt", default=None, help="time this trained checkpoint instead of the recipes")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs; medians of {args.repeats} runs, ms per call")
    print(
        "\n| model | batch | threads | torch eager | ORT fp32 | ORT int8 | OpenCV DNN | fp32/eager | int8/fp32 |"
        "\n|---|---|---|---|---|---|---|---|---|"
    )
    json_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.ckpt:
            from landmarks.run import load_model

            model, cfg = load_model(args.ckpt)
            export_both(model, cfg, tmp)
            for row in time_model(os.path.basename(args.ckpt), model, tmp, args.repeats):
                print(row, flush=True)
            return
        for label in [s.strip() for s in args.recipes.split(",") if s.strip()]:
            out = os.path.join(tmp, str(len(json_rows)))
            model = recipe_model(RECIPES[label], out)
            for row in time_model(label, model, out, args.repeats):
                print(row, flush=True)
            if "head_pose" not in label:
                json_rows.append(f"| {label} | {image_to_json_ms(out, args.repeats):.2f} |")
    print("\nTorch-free runtime, one real photo (640x480 JPEG), one box, int8 graph, 1 thread:\n")
    print("| model | imread + crop + run + unwarp + JSON, ms |\n|---|---|")
    print("\n".join(json_rows))


if __name__ == "__main__":
    main()
