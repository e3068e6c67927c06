"""Equal-budget comparison of keypoint read-outs: heatmap (MSRA + DARK), integral (soft-argmax), RLE, SimCC.

``python benchmarks/codec_comparison.py --minutes 5 [--kinds body,hand] [--out DIR] [--repeats 30]``

Per kind (body: the demo recipe, MobileNetV3 + 96x64; hand: the hand_fast recipe, ResNet-10-T +
96x96, bf16, lr 6e-3, batch 16), each variant trains in its own ``scripts/train.py`` process with the
same backbone, data, optimiser, seed and budget: ``trainer.max_time`` = ``--minutes`` and the same
``trainer.max_steps`` (``STEPS_PER_MINUTE`` x minutes, so the cosine schedule ends near the cap for
the recipe's heatmap model; a slower variant is stopped by the time cap). Then the final state
(``last.ckpt``) is scored on the held-out set by ``evaluate.py`` and, in this process, the latency of one
crop (batch 1, this process's threads) in torch eager and ONNX Runtime fp32 (the exported graph,
decoder included: ``landmarks.export.export_model``). Prints a Markdown table; the best variant of a
kind is the one with the best monitored metric (body: PCK@0.1, hand: AUC).

Variants the task does not offer are left out and say why: the body task has no integral read-out
(``tasks.hand.decode=integral`` is the hand task's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.latency import median_ms  # noqa: E402

HAND = [  # conf/experiment/hand_fast.yaml, less what only a heatmap codec has
    "backbone.name=resnet10t",
    "input_size=[96,96]",
    "threads=2",
    "optimizer.lr=6e-3",
    "trainer.precision=bf16-mixed",
    "data.batch_size=16",
    "data.augment.scale_factor=0.2",
    "data.augment.rot_factor=30",
    "data.augment.rot_prob=0.3",
    "data.augment.photometric=0.2",
]
HAND_HEATMAP = ["task=hand", "heatmap_loss=awing", "tasks.hand.codec.heatmap.sigma=2.0", *HAND]
VARIANTS: dict[str, dict[str, list[str]]] = {  # kind -> variant -> train.yaml overrides
    "body": {
        "heatmap (MSRA + DARK)": ["task=body"],
        "RLE": ["task=body_rle"],
        "SimCC": ["task=body_simcc"],
    },
    "hand": {
        "heatmap (MSRA + DARK)": HAND_HEATMAP,
        "integral (soft-argmax + L1)": [
            *HAND_HEATMAP,
            "tasks.hand.decode=integral",
            "tasks.hand.coord_loss_weight=1.0",
        ],
        "RLE": ["task=hand_rle", *HAND],
        "SimCC": ["task=hand_simcc", *HAND],
    },
}
STEPS_PER_MINUTE = {"body": 200, "hand": 330}  # the recipes' heatmap models on the idle 2-core machine
MONITOR = {"body": ("pck", "PCK@0.1"), "hand": ("auc", "AUC")}


def _run(script: str, args: list[str], log_path: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:
        proc = subprocess.run(
            [sys.executable, str(REPO / "scripts" / script), *args],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"{script} {args} failed (exit {proc.returncode}); see {log_path}")


def train(kind: str, overrides: list[str], minutes: float, out_dir: str) -> dict[str, Any]:
    """One training run in its own process, then ``evaluate.py`` on its final state (``last.ckpt``).

    Returns the evaluation's metrics, the training's wall time and the steps it reached.
    """
    import torch

    steps = int(STEPS_PER_MINUTE[kind] * minutes)
    budget = [
        f"trainer.max_time=00:00:{int(minutes):02d}:{int(60 * (minutes % 1)):02d}",
        f"trainer.max_steps={steps}",
        f"trainer.val_check_interval={steps}",  # no validation inside the budget; the final state is evaluated
        "trainer.enable_progress_bar=false",
        "logger=csv",
        f"hydra.run.dir={out_dir}",
    ]
    start = time.perf_counter()
    _run("train.py", [*overrides, *budget], out_dir + ".log")
    wall = time.perf_counter() - start
    last = os.path.join(out_dir, "checkpoints", "last.ckpt")
    _run("evaluate.py", [f"ckpt={last}", f"out={out_dir}/eval", "plots=false"], out_dir + "_eval.log")
    with open(os.path.join(out_dir, "eval", "eval_metrics.json")) as f:
        metrics = json.load(f)
    reached = int(torch.load(last, map_location="cpu", weights_only=True)["global_step"])
    return {"metrics": metrics, "wall_s": wall, "steps": reached, "checkpoint": last}


def latency_ms(ckpt: str, export_dir: str, repeats: int) -> tuple[float, float]:
    """Median ms of one crop: torch eager (outputs + read-out) and ONNX Runtime fp32 (graph with decoder)."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from landmarks import run
    from landmarks.export import export_model

    model = run.load_model(ckpt)[0].eval()
    model.flip_test = False
    onnx = export_model(model, export_dir, flip_test=False)["onnx"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = torch.get_num_threads(), 1
    session = ort.InferenceSession(onnx, opts, providers=["CPUExecutionProvider"])
    shape = session.get_inputs()[0].shape
    x = np.random.default_rng(0).uniform(0, 255, (1, 3, int(shape[2]), int(shape[3]))).astype(np.float32)
    xt = torch.from_numpy(x)

    def eager() -> object:
        with torch.no_grad():
            outs = model.predict_outputs(xt)
            return [model.task(n).predict(o, {"image": xt, "meta": _identity_meta(xt)}) for n, o in outs.items()]

    return median_ms(eager, repeats), median_ms(lambda: session.run(None, {"image": x}), repeats)


def _identity_meta(x: Any) -> dict[str, Any]:
    """Crop metadata that maps the crop onto itself (centre, scale = the crop, no rotation)."""
    import numpy as np

    h, w = x.shape[2:]
    return {
        "center": np.array([[w / 2, h / 2]], np.float32),
        "scale": np.array([[w, h]], np.float32),
        "rot": np.zeros(1, np.float32),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--kinds", default="body,hand")
    parser.add_argument("--out", default=None)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    out = args.out or tempfile.mkdtemp(prefix="codec_comparison_")
    os.makedirs(out, exist_ok=True)
    print(f"budget {args.minutes} min per variant; runs under {out}; latency with {args.threads} thread(s)\n")
    print("| kind | variant | steps | wall (min) | held-out | EPE (px) | torch eager ms/crop | ORT fp32 ms/crop |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        key, label = MONITOR[kind]
        best = None
        for i, (variant, overrides) in enumerate(VARIANTS[kind].items()):
            run_dir = os.path.join(out, f"{kind}_{i}")
            result = train(kind, overrides, args.minutes, run_dir)
            m = result["metrics"]
            score, epe = m[f"val/{key}"], m.get("val/epe", float("nan"))
            eager, ort_ms = latency_ms(result["checkpoint"], os.path.join(run_dir, "export"), args.repeats)
            print(
                f"| {kind} | {variant} | {result['steps']} | {result['wall_s'] / 60:.1f} | {label} {score:.4f} "
                f"| {epe:.2f} | {eager:.2f} | {ort_ms:.2f} |",
                flush=True,
            )
            if best is None or score > best[1]:
                best = (variant, score)
        assert best is not None
        print(f"\nbest {kind} read-out at {args.minutes} min: **{best[0]}** ({label} {best[1]:.4f})\n")


if __name__ == "__main__":
    main()
