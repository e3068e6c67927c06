"""Benchmarks: python scripts/benchmark.py [--quick] [--out docs/benchmarks.md] [--only train,data,...].

Sections (side by side in one run, medians, torch threads pinned): train (Lightning vs raw
loop), data (2-worker loader vs train step), encode (vectorised vs loop), decode (argmax /
quarter / DARK error), latency (batch 1, 256x192), memory (peak RSS, batch 32, a subprocess
each), tta (time to PCK@0.1 from training_curves.json), recipes (the acceptance runs of
the task recipes in outputs/<experiment>/, see RECIPES). Writes ``<out>.json`` (raw) and
regenerates ``<out>``; ``--only`` keeps the other sections of an existing JSON.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.update({k: os.environ.get(k, v) for k, v in (("HF_HUB_OFFLINE", "1"), ("WANDB_MODE", "disabled"))})
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from landmarks import bench, run  # noqa: E402

SECTIONS = ("train", "data", "encode", "decode", "latency", "memory", "tta", "recipes")

#: task recipes judged by the issues' acceptance targets: (experiment, metric, mode, target, thresholds,
#: other metrics shown). Each is read from outputs/<experiment>/ (training_curves.json, metrics.json).
RECIPES = (
    ("body_long", "val/pck", "max", 0.90, (0.8, 0.85, 0.9), ("val/epe", "val/ap")),
    ("hand_fast", "val/pck", "max", 0.90, (0.5, 0.8, 0.9), ("val/epe", "val/auc")),
    ("face_fast", "val/nme", "min", 0.035, (0.08, 0.05, 0.035), ("val/nme_io_frontal", "val/fr", "val/auc")),
    ("head_pose_fast", "val/mae", "min", 5.0, (10.0, 7.0, 5.0), ("val/mae_yaw", "val/mae_pitch", "val/mae_roll")),
    ("face_head_pose_fast", "val/nme", "min", 0.035, (0.08, 0.05, 0.035), ("val/nme_io_frontal", "val/mae", "val/mae_yaw")),
    ("face_head_pose_fast", "val/mae", "min", 5.0, (10.0, 7.0, 5.0), ("val/mae_pitch", "val/mae_roll")),
)
FULL = dict(train_repeats=3, train_warmup=5, train_steps=30, data_repeats=3, data_warmup=4, data_batches=20,
            encode_n=256, encode_repeats=7, decode_n=2000, lat_runs=30, lat_warmup=5, mem_steps=5)
QUICK = dict(train_repeats=2, train_warmup=1, train_steps=3, data_repeats=1, data_warmup=2, data_batches=4,
             encode_n=32, encode_repeats=3, decode_n=200, lat_runs=5, lat_warmup=2, mem_steps=2)
MODELS = [("resnet18", "deconv"), ("resnet18", "light"), ("mobilenetv3", "deconv"), ("mobilenetv3", "light")]
GOALS = {"train": 0.95, "data": 3.0, "encode": 2.5, "decode": 0.05}
TMP = os.path.join(tempfile.gettempdir(), "landmarks_bench")  # output_dir placeholder; nothing is written


def config(overrides: list[str]):
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):  # conf/train.yaml
        return compose("train", overrides=[f"output_dir={TMP}", *overrides])


def describe(cfg) -> str:
    w, h = cfg.input_size
    return f"{cfg.backbone.name} + {cfg.head._target_.rsplit('.', 1)[-1]}, input {h}x{w} (HxW), batch {cfg.data.batch_size}"


def model_and_batch(overrides: list[str]):
    """A seeded model and one real training batch (synthetic body data, built in-process)."""
    cfg = config([*overrides, "data.num_workers=0"])
    torch.manual_seed(0)
    model = run.build_model(cfg)
    batch = next(iter(run.build_data(cfg, model).train_dataloader()))
    return cfg, model, batch


# --- sections -------------------------------------------------------------------------------
def section_train(p: dict, results: dict) -> dict:
    cfg, model, batch = model_and_batch([])
    raw, light, threads = [], [], 0
    for r in range(p["train_repeats"]):  # alternate the order so drift hits both sides
        for side in (("raw", "pl") if r % 2 == 0 else ("pl", "raw")):
            m = copy.deepcopy(model)  # same initial weights for every run
            if side == "raw":
                raw.append(bench.raw_train_throughput(m, batch, p["train_warmup"], p["train_steps"]))
                continue
            sps, threads = bench.lightning_train_throughput(m, batch, p["train_warmup"], p["train_steps"])
            light.append(sps)
    ratio = bench.median(light) / bench.median(raw)
    return {"model": describe(cfg), "raw_sps": bench.median(raw), "lightning_sps": bench.median(light),
            "raw_all": raw, "lightning_all": light, "threads_in_trainer": threads, "ratio": ratio,
            "goal": GOALS["train"], "pass": ratio >= GOALS["train"]}


def section_data(p: dict, results: dict) -> dict:
    # Fresh process: workers forked after OpenCV's pool ran here hang in cv2.setNumThreads(1).
    d = child("data", {"repeats": p["data_repeats"], "warmup": p["data_warmup"], "batches": p["data_batches"]})
    train = results.get("train", {})
    if "lightning_sps" in train and not train.get("stale"):
        step_sps, source = train["lightning_sps"], "train section, Lightning"
    else:
        _, m, batch = model_and_batch([])
        step_sps, source = bench.raw_train_throughput(m, batch, p["train_warmup"], p["train_steps"]), "raw loop, measured here"
    ratio = bench.median(d["data_all"]) / step_sps
    return {**d, "data_sps": bench.median(d["data_all"]), "train_sps": step_sps, "train_source": source,
            "ratio": ratio, "goal": GOALS["data"], "pass": ratio >= GOALS["data"]}


def data_child(spec: dict) -> dict:
    """In a fresh process: samples/s of the real 2-worker train loader."""
    cfg = config(["data.num_workers=2"])
    loader = run.build_data(cfg, run.build_model(cfg)).train_dataloader()
    rates = [bench.loader_throughput(loader, spec["warmup"], spec["batches"]) for _ in range(spec["repeats"])]
    return {"pipeline": f"LandmarkDataModule train loader, {cfg.data.num_workers} workers, batch {cfg.data.batch_size}",
            "data_all": rates}


def section_encode(p: dict, results: dict) -> dict:
    rows = []
    for size in ([], ["input_size=[192,256]"]):
        cfg = config(size)
        codec = instantiate(next(iter(cfg.tasks.values())).codec)
        kpts, vis = bench.random_instances(p["encode_n"], 17, codec.input_size, seed=0)
        t = bench.encode_timing(codec, kpts, vis, p["encode_repeats"])
        rows.append({"input": codec.input_size, "heatmap": codec.heatmap_size, "sigma": codec.sigma, "K": 17, **t,
                     "pass": t["speedup"] >= GOALS["encode"]})
    return {"rows": rows, "instances": p["encode_n"], "goal": GOALS["encode"], "pass": all(r["pass"] for r in rows)}


def section_decode(p: dict, results: dict) -> dict:
    rows = []
    for hm_size in ((24, 32), (48, 64)):
        for region, margin in (("interior (>= 4 px from border)", 4.0), ("whole map", 0.0)):
            centres = bench.random_centres(p["decode_n"], hm_size, margin, seed=1)
            for refine, err in bench.decode_errors(centres, hm_size, sigma=2.0).items():
                ok = err["mean"] <= GOALS["decode"] if refine == "dark" and margin > 0 else None
                rows.append({"heatmap": hm_size, "region": region, "refine": refine, **err, "pass": ok})
    return {"rows": rows, "n": p["decode_n"], "sigma": 2.0, "goal": GOALS["decode"],
            "pass": all(r["pass"] for r in rows if r["pass"] is not None)}


def section_latency(p: dict, results: dict) -> dict:
    rows = []
    for backbone, head in MODELS:
        cfg = config([f"backbone={backbone}", f"head={head}", "input_size=[192,256]"])
        torch.manual_seed(0)
        model = run.build_model(cfg)
        ms = bench.inference_latency_ms(model, (256, 192), p["lat_runs"], p["lat_warmup"])
        rows.append({"model": f"{cfg.backbone.name} + {head}", "median_ms": bench.median(ms), "min_ms": min(ms),
                     "max_ms": max(ms), "params_m": sum(t.numel() for t in model.parameters()) / 1e6})
    return {"rows": rows, "input": "256x192 (HxW), batch 1, eval, no flip test", "runs": p["lat_runs"]}


def section_memory(p: dict, results: dict) -> dict:
    specs = [{"overrides": [f"backbone={b}", f"head={h}", "data.batch_size=32"], "steps": p["mem_steps"]}
             for b, h in (MODELS if not p["quick"] else [("mobilenetv3", "light")])]
    return {"rows": [child("memory", spec) for spec in specs], "steps": p["mem_steps"]}


def memory_child(spec: dict) -> dict:
    """In a fresh process: build, take a batch, train ``steps`` Lightning steps; RSS in MiB."""
    after_imports = bench.rss_mib()[0]
    cfg, model, batch = model_and_batch(spec["overrides"])
    before = bench.rss_mib()[0]
    bench.reset_peak_rss()  # the import-time peak (CUDA libraries) would hide the training peak
    bench.lightning_train_throughput(model, batch, 0, int(spec["steps"]))
    peak = bench.rss_mib()[1]
    return {"model": describe(cfg), "rss_after_imports_mib": after_imports, "rss_before_train_mib": before,
            "peak_rss_mib": peak, "train_increase_mib": peak - before}


def child(kind: str, spec: dict) -> dict:
    """Run ``<kind>_child(spec)`` in a fresh interpreter with this process's torch threads."""
    spec = {**spec, "kind": kind, "threads": torch.get_num_threads()}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          capture_output=True, text=True, timeout=600)
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"benchmark child {spec} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[-1][len("RESULT "):])


def section_tta(p: dict, results: dict) -> dict:
    path = Path(p["curves"])
    out = {"curves": str(path), "metric": "val/pck", "thresholds": [0.5, 0.7, 0.8]}
    rows = json.loads(path.read_text()).get("validation", []) if path.is_file() else []
    if not rows:
        return {**out, "missing": True, "rows": []}
    best = max((float(r["val/pck"]) for r in rows if "val/pck" in r), default=None)
    return {**out, "missing": False, "rows": bench.time_to_accuracy(rows, "val/pck", out["thresholds"]), "best_pck": best,
            "last_step": rows[-1]["step"], "last_minutes": rows[-1]["seconds"] / 60}


def section_recipes(p: dict, results: dict) -> dict:
    rows = []
    for exp, metric, mode, target, thresholds, others in RECIPES:
        run = ROOT / "outputs" / exp
        curves = run / "training_curves.json"
        val = json.loads(curves.read_text()).get("validation", []) if curves.is_file() else []
        final = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else {}
        if not val or not any(metric in r for r in val):
            rows.append({"experiment": exp, "metric": metric, "missing": True})
            continue
        source = "metrics.json"
        if metric not in final:  # the run was stopped before its final validation: best validation row
            pick = max if mode == "max" else min
            final, source = pick((r for r in val if metric in r), key=lambda r: float(r[metric])), "best validation row"
        value = float(final[metric])
        rows.append({
            "experiment": exp, "metric": metric, "mode": mode, "target": target, "missing": False, "source": source,
            "final": value, "others": {m: final.get(m) for m in others},
            "pass": value >= target if mode == "max" else value <= target,
            "last_step": int(val[-1]["step"]), "last_minutes": float(val[-1]["seconds"]) / 60,
            "reached": bench.time_to_accuracy(val, metric, thresholds, mode),
        })
    return {"rows": rows, "hand_compare": _comparison(ROOT / "outputs" / "hand_compare", ("val/pck", "val/epe", "val/auc")),
            "joint": _joint_vs_separate(ROOT / "outputs")}


#: (metric, separate run, joint run) of the joint-vs-separate table
JOINT = (("val/nme", "face_fast"), ("val/nme_io_frontal", "face_fast"), ("val/mae", "head_pose_fast"),
         ("val/mae_yaw", "head_pose_fast"), ("val/mae_pitch", "head_pose_fast"), ("val/mae_roll", "head_pose_fast"))
JOINT_RUN, JOINT_STEP = "face_head_pose_fast", 2000


def _joint_vs_separate(outputs: Path) -> list[dict]:
    """Per metric: the separate run and the joint run at the same step (JOINT_STEP), and the separate run's last row."""
    def rows(name: str) -> list[dict]:
        path = outputs / name / "training_curves.json"
        return json.loads(path.read_text()).get("validation", []) if path.is_file() else []

    joint = {r["step"]: r for r in rows(JOINT_RUN)}
    out = []
    for metric, separate_run in JOINT:
        sep = rows(separate_run)
        at = {r["step"]: r for r in sep}.get(JOINT_STEP, {})
        if sep and JOINT_STEP in joint:
            out.append({"metric": metric, "separate_run": separate_run, "separate_at_step": at.get(metric),
                        "joint_at_step": joint[JOINT_STEP].get(metric), "separate_last": sep[-1].get(metric),
                        "separate_last_step": sep[-1]["step"]})
    return out


#: the one change each run of outputs/hand_compare/ makes to experiment=hand_fast (/tmp-free record of the sweep)
HAND_VARIANTS = {
    "recipe": "experiment=hand_fast at 64x64 input (its first version: sigma 2 at 16x16, MSE x 1000, argmax + DARK)",
    "sigma1": "tasks.hand.codec.heatmap.sigma=1.0",
    "mse_x1": "tasks.hand.loss.loss_weight=1.0 (unscaled MSE)",
    "integral_l1": "tasks.hand.decode=integral tasks.hand.coord_loss_weight=1.0 (soft-argmax + L1 on coordinates)",
    "input96": "input_size=[96,96] (24x24 heatmaps; the current hand_fast)",
}


def _comparison(folder: Path, metrics: tuple[str, ...]) -> list[dict]:
    """One row per run folder: its validation rows (step, minutes, metrics)."""
    out = []
    for name in HAND_VARIANTS:
        curves = folder / name / "training_curves.json"
        if curves.is_file():
            val = json.loads(curves.read_text()).get("validation", [])
            out.append({"variant": name, "change": HAND_VARIANTS[name],
                        "rows": [{"step": r["step"], "minutes": r["seconds"] / 60, **{m: r.get(m) for m in metrics}} for r in val]})
    return out


# --- report -----------------------------------------------------------------------------------
mark = lambda ok: "—" if ok is None else ("PASS" if ok else "MISS")  # noqa: E731


def table(header: list[str], rows: list[list]) -> list[str]:
    def fmt(v) -> str:
        if isinstance(v, float):
            return f"{v:.0f}" if abs(v) >= 100 else (f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}")
        return "—" if v is None else str(v)

    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]


def markdown(res: dict) -> str:
    m, s = res["machine"], res["sections"]
    quick = any(v.get("quick") for v in s.values())
    md = ["# Benchmarks", ""]
    if quick:
        md += ["> **QUICK SMOKE RUN** (`--quick`: very few repeats, and the CPU was shared with other jobs).",
               "> These figures only show that the script works end to end; they are not measurements.",
               "> Regenerate on an idle machine with `python scripts/benchmark.py` (budget: under 10 minutes on 2 cores).", ""]
    md += [f"Generated {res['date']} by `python scripts/benchmark.py {res['argv']}`; raw numbers in `{res['json']}`.", "",
           f"Machine: {m['cpu']}, {m['cores']} cores, torch threads {res['threads']}, load average {m['load_avg_1min']} at start; "
           f"Python {m['python']}, torch {m['torch']}, Lightning {m['pytorch_lightning']}, timm {m['timm']}. "
           "Times are medians over repeats; each comparison ran side by side in one run.", ""]
    stale = [f"{k} ({v['date']})" for k, v in s.items() if v.get("stale")]
    if stale:
        md += [f"Sections kept from an earlier run (`--only`): {', '.join(stale)}.", ""]
    if "train" in s:
        t = s["train"]
        md += ["## Train-step throughput: Lightning vs raw PyTorch", "",
               f"{t['model']}; the same pre-built batch in memory for both, no workers, steady-state steps only.", ""]
        md += table(["loop", "samples/s"], [["raw PyTorch loop", t["raw_sps"]], ["LandmarkModule + pl.Trainer", t["lightning_sps"]]])
        md += ["", f"Ratio Lightning / raw = **{t['ratio']:.3f}** (goal >= {t['goal']}): **{mark(t['pass'])}**", ""]
    if "data" in s:
        d = s["data"]
        md += ["## Data pipeline vs train step", "", f"{d['pipeline']}, synthetic body data from `conf/train.yaml`, measured in a fresh process.", ""]
        md += table(["", "samples/s"], [["data pipeline", d["data_sps"]], [f"train step ({d['train_source']})", d["train_sps"]]])
        md += ["", f"Ratio = **{d['ratio']:.2f}x** (goal >= {d['goal']}x): **{mark(d['pass'])}**", ""]
    if "encode" in s:
        e = s["encode"]
        md += ["## Heatmap target encoding: vectorised vs per-keypoint loop", "",
               f"MSRAHeatmap, {e['instances']} random instances (10% unlabelled, some outside the crop); time per instance.", ""]
        md += table(["input (W,H)", "heatmap (w,h)", "K", "vectorised us", "loop us", "speedup", "max abs diff", f"goal >= {e['goal']}x"],
                    [[tuple(r["input"]), tuple(r["heatmap"]), r["K"], r["vectorised_us"], r["loop_us"], r["speedup"],
                      r["max_abs_diff"], mark(r["pass"])] for r in e["rows"]])
        md += [""]
    if "decode" in s:
        d = s["decode"]
        md += ["## Decode error on exact Gaussians", "",
               f"{d['n']} untruncated Gaussians (sigma {d['sigma']}) per row at random sub-pixel centres; Euclidean error in "
               f"heatmap px. Goal: DARK mean <= {d['goal']} px on interior centres.", ""]
        md += table(["heatmap (w,h)", "centres", "decode", "mean", "median", "p95", "max", "goal"],
                    [[tuple(r["heatmap"]), r["region"], r["refine"], r["mean"], r["median"], r["p95"], r["max"], mark(r["pass"])]
                     for r in d["rows"]])
        md += [""]
    if "latency" in s:
        lt = s["latency"]
        md += ["## Inference latency", "", f"{lt['input']}, {lt['runs']} timed runs after warm-up.", ""]
        md += table(["model", "params (M)", "median ms", "min ms", "max ms"],
                    [[r["model"], r["params_m"], r["median_ms"], r["min_ms"], r["max_ms"]] for r in lt["rows"]])
        md += [""]
    if "memory" in s:
        mm = s["memory"]
        md += ["## Peak memory of a training run", "",
               f"MiB. Peak RSS (`VmHWM`, reset after the model and batch are built) of a fresh subprocess that builds the model, takes one batch and trains "
               f"{mm['steps']} Lightning steps at the demo input size; current RSS (`VmRSS`) before that for reference.", ""]
        md += table(["model", "RSS after imports", "RSS before training", "peak RSS", "peak - before training"],
                    [[r["model"], r["rss_after_imports_mib"], r["rss_before_train_mib"], r["peak_rss_mib"], r["train_increase_mib"]]
                     for r in mm["rows"]])
        md += [""]
    if "tta" in s:
        t = s["tta"]
        md += ["## Time to accuracy (demo recipe)", "", f"From `{os.path.relpath(t['curves'], ROOT)}` (PCK@0.1, `{t['metric']}`).", ""]
        if t["missing"]:
            md += ["No curves file (or no validation rows): run `make demo` first (writes outputs/demo/training_curves.json).", ""]
        else:
            md += [f"Best PCK {t['best_pck']:.3f}, last validation at step {t['last_step']} ({t['last_minutes']:.1f} min).", ""]
            md += table(["PCK@0.1 >=", "minutes", "step"],
                        [[r["threshold"], "not reached" if r["minutes"] is None else f"{r['minutes']:.1f}", r["step"]] for r in t["rows"]])
            md += [""]
    if "recipes" in s:
        md += recipes_markdown(s["recipes"])
    return "\n".join(md)


def recipes_markdown(r: dict) -> list[str]:
    md = ["## Task recipes: acceptance runs", "",
          "Each recipe trained once from scratch on 2 CPU cores (`python scripts/train.py experiment=NAME logger=csv "
          "hydra.run.dir=outputs/NAME`); the final value is the best checkpoint validated on the held-out synthetic split "
          "(`outputs/NAME/metrics.json`); minutes are wall-clock from the start of training (`training_curves.json`).", ""]
    for row in r["rows"]:
        if row["missing"]:
            md += [f"- `{row['experiment']}`: no run found in outputs/{row['experiment']}/ ({row['metric']}).", ""]
            continue
        sign = ">=" if row["mode"] == "max" else "<="
        others = ", ".join(f"{k} {v:.4g}" for k, v in row["others"].items() if v is not None)
        md += [f"**`{row['experiment']}`**: {row['metric']} = **{row['final']:.4g}** ({row.get('source', 'metrics.json')}; target {sign} {row['target']}: "
               f"**{mark(row['pass'])}**); {others}; last validation at step {row['last_step']} ({row['last_minutes']:.1f} min).", ""]
        md += table([f"{row['metric']} {sign}", "minutes", "step"],
                    [[t["threshold"], "not reached" if t["minutes"] is None else f"{t['minutes']:.1f}", t["step"]]
                     for t in row["reached"]])
        md += [""]
    if r.get("joint"):
        md += [f"### Face + head pose: one backbone vs two (`{JOINT_RUN}` vs `face_fast` / `head_pose_fast`)", "",
               f"Same backbone, input (96x96), heads, optimiser and time cap; compared at step {JOINT_STEP}, where all three "
               "runs validated (the joint run's last validation). The joint loss is AWing + 0.001 x Hopenet. head_pose_fast's "
               "cosine schedule spans 3000 steps (2400 for the other two), so at step 2000 its learning rate is still higher.", ""]
        md += table(["metric", "separate run", f"separate, step {JOINT_STEP}", f"joint, step {JOINT_STEP}", "separate, last row"],
                    [[j["metric"], j["separate_run"], j["separate_at_step"], j["joint_at_step"],
                      f"{j['separate_last']:.4g} (step {j['separate_last_step']})"] for j in r["joint"]])
        md += [""]
    if r.get("hand_compare"):
        md += ["### Hand: what learns fast (equal 600-step budgets)", "",
               "Each run changes one thing in `experiment=hand_fast` and trains 600 steps (batch 32, cosine over the 600 "
               "steps) from scratch; validation on 200 held-out synthetic hands at steps 300 and 600 (`outputs/hand_compare/`). "
               "PCK@0.2 of the box's longer side, EPE in image px, AUC of the PCK curve over 0..30 px.", ""]
        rows = []
        for v in r["hand_compare"]:
            by_step = {x["step"]: x for x in v["rows"]}
            first, last = by_step.get(300, {}), v["rows"][-1] if v["rows"] else {}
            rows.append([v["variant"], v["change"], first.get("val/pck"), last.get("val/pck"), last.get("val/epe"),
                         last.get("val/auc"), None if not last else f"{last['minutes']:.1f}"])
        md += table(["run", "change", "PCK@0.2 step 300", "PCK@0.2 step 600", "EPE px", "AUC", "minutes"], rows)
        md += [""]
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="few repeats: a smoke test, not a measurement")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated subset of " + ",".join(SECTIONS))
    ap.add_argument("--curves", default=str(ROOT / "outputs" / "demo" / "training_curves.json"))
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        torch.set_num_threads(int(spec["threads"]))
        return print("RESULT " + json.dumps(globals()[f"{spec['kind']}_child"](spec)), flush=True)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    if unknown := sorted(set(only) - set(SECTIONS)):
        ap.error(f"--only: unknown section(s) {unknown}; expected some of {','.join(SECTIONS)}")
    machine = bench.machine_info()
    threads = args.threads or machine["cores"]
    torch.set_num_threads(threads)
    params = {**(QUICK if args.quick else FULL), "quick": args.quick, "curves": args.curves}
    out_json = Path(args.out).with_suffix(".json")
    old = json.loads(out_json.read_text()).get("sections", {}) if out_json.is_file() else {}
    sections = {k: {**v, "stale": True} for k, v in old.items() if k not in only}
    date = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    for name in SECTIONS:
        if name in only:
            print(f"[benchmark] {name} ...", flush=True)
            sections[name] = {**globals()[f"section_{name}"](params, sections), "quick": args.quick, "date": date}
            print(f"[benchmark] {name}: " + json.dumps({k: v for k, v in sections[name].items() if not isinstance(v, list)}), flush=True)
    result = {"date": date, "argv": " ".join(sys.argv[1:]), "json": out_json.name, "machine": machine, "threads": threads,
              "sections": sections}
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=1, default=str))
    Path(args.out).write_text(markdown(result) + "\n")
    print(f"[benchmark] wrote {args.out} and {out_json}")


if __name__ == "__main__":
    main()
