"""Benchmarks: python benchmarks/benchmark.py [--quick] [--out docs/benchmarks.md] [--only train,data,...].

Sections (side by side in one run, medians, torch threads pinned): train (Lightning vs raw
loop), data (2-worker loader vs train step), encode (vectorised vs loop), decode (argmax /
quarter / DARK error), latency (batch 1, 256x192), memory (peak RSS, batch 32, a subprocess
each), tta (time to PCK@0.1 from training_curves.json), recipes (the acceptance runs of
the task recipes in outputs/<experiment>/, see benchmarks/recipe_report.py). Writes ``<out>.json`` (raw) and
regenerates ``<out>``; ``--only`` keeps the other sections of an existing JSON.

(Over 300 lines: one script, one section per measurement, all written into docs/benchmarks.md by the same run.)
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
from typing import Any, cast

os.environ.update({k: os.environ.get(k, v) for k, v in (("HF_HUB_OFFLINE", "1"), ("WANDB_MODE", "disabled"))})
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from hydra import compose, initialize_config_dir  # noqa: E402
from hydra.utils import instantiate  # noqa: E402

from benchmarks import bench, recipe_report  # noqa: E402
from benchmarks.bench import markdown_table as table  # noqa: E402
from benchmarks.bench import pass_mark as mark  # noqa: E402
from landmarks import run  # noqa: E402

SECTIONS = ("train", "data", "encode", "decode", "latency", "memory", "tta", "recipes")

FULL = dict(
    train_repeats=3,
    train_warmup=5,
    train_steps=30,
    data_repeats=3,
    data_warmup=4,
    data_batches=20,
    encode_n=256,
    encode_repeats=7,
    decode_n=2000,
    lat_runs=30,
    lat_warmup=5,
    mem_steps=5,
)
QUICK = dict(
    train_repeats=2,
    train_warmup=1,
    train_steps=3,
    data_repeats=1,
    data_warmup=2,
    data_batches=4,
    encode_n=32,
    encode_repeats=3,
    decode_n=200,
    lat_runs=5,
    lat_warmup=2,
    mem_steps=2,
)
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
    batch = cast(dict[str, Any], next(iter(run.build_data(cfg, model).train_dataloader())))  # a collated dict
    return cfg, model, batch


# --- sections -------------------------------------------------------------------------------
def section_train(p: dict, results: dict) -> dict:
    cfg, model, batch = model_and_batch([])
    raw, light, threads = [], [], 0
    for r in range(p["train_repeats"]):  # alternate the order so drift hits both sides
        for side in ("raw", "pl") if r % 2 == 0 else ("pl", "raw"):
            m = copy.deepcopy(model)  # same initial weights for every run
            if side == "raw":
                raw.append(bench.raw_train_throughput(m, batch, p["train_warmup"], p["train_steps"]))
                continue
            sps, threads = bench.lightning_train_throughput(m, batch, p["train_warmup"], p["train_steps"])
            light.append(sps)
    ratio = bench.median(light) / bench.median(raw)
    return {
        "model": describe(cfg),
        "raw_sps": bench.median(raw),
        "lightning_sps": bench.median(light),
        "raw_all": raw,
        "lightning_all": light,
        "threads_in_trainer": threads,
        "ratio": ratio,
        "goal": GOALS["train"],
        "pass": ratio >= GOALS["train"],
    }


def section_data(p: dict, results: dict) -> dict:
    # Fresh process: workers forked after OpenCV's pool ran here hang in cv2.setNumThreads(1).
    d = child("data", {"repeats": p["data_repeats"], "warmup": p["data_warmup"], "batches": p["data_batches"]})
    train = results.get("train", {})
    if "lightning_sps" in train and not train.get("stale"):
        step_sps, source = train["lightning_sps"], "train section, Lightning"
    else:
        _, m, batch = model_and_batch([])
        step_sps, source = (
            bench.raw_train_throughput(m, batch, p["train_warmup"], p["train_steps"]),
            "raw loop, measured here",
        )
    ratio = bench.median(d["data_all"]) / step_sps
    return {
        **d,
        "data_sps": bench.median(d["data_all"]),
        "train_sps": step_sps,
        "train_source": source,
        "ratio": ratio,
        "goal": GOALS["data"],
        "pass": ratio >= GOALS["data"],
    }


def data_child(spec: dict) -> dict:
    """In a fresh process: samples/s of the real 2-worker train loader."""
    cfg = config(["data.num_workers=2"])
    loader = run.build_data(cfg, run.build_model(cfg)).train_dataloader()
    rates = [bench.loader_throughput(loader, spec["warmup"], spec["batches"]) for _ in range(spec["repeats"])]
    return {
        "pipeline": f"LandmarkDataModule train loader, {cfg.data.num_workers} workers, batch {cfg.data.batch_size}",
        "data_all": rates,
    }


def section_encode(p: dict, results: dict) -> dict:
    rows = []
    for size in ([], ["input_size=[192,256]"]):
        cfg = config(size)
        codec = instantiate(next(iter(cfg.tasks.values())).codec)
        kpts, vis = bench.random_instances(p["encode_n"], 17, codec.input_size, seed=0)
        t = bench.encode_timing(codec, kpts, vis, p["encode_repeats"])
        rows.append(
            {
                "input": codec.input_size,
                "heatmap": codec.heatmap_size,
                "sigma": codec.sigma,
                "K": 17,
                **t,
                "pass": t["speedup"] >= GOALS["encode"],
            }
        )
    return {"rows": rows, "instances": p["encode_n"], "goal": GOALS["encode"], "pass": all(r["pass"] for r in rows)}


def section_decode(p: dict, results: dict) -> dict:
    rows = []
    for hm_size in ((24, 32), (48, 64)):
        for region, margin in (("interior (>= 4 px from border)", 4.0), ("whole map", 0.0)):
            centres = bench.random_centres(p["decode_n"], hm_size, margin, seed=1)
            for refine, err in bench.decode_errors(centres, hm_size, sigma=2.0).items():
                ok = err["mean"] <= GOALS["decode"] if refine == "dark" and margin > 0 else None
                rows.append({"heatmap": hm_size, "region": region, "refine": refine, **err, "pass": ok})
    return {
        "rows": rows,
        "n": p["decode_n"],
        "sigma": 2.0,
        "goal": GOALS["decode"],
        "pass": all(r["pass"] for r in rows if r["pass"] is not None),
    }


def section_latency(p: dict, results: dict) -> dict:
    rows = []
    for backbone, head in MODELS:
        cfg = config([f"backbone={backbone}", f"head={head}", "input_size=[192,256]"])
        torch.manual_seed(0)
        model = run.build_model(cfg)
        ms = bench.inference_latency_ms(model, (256, 192), p["lat_runs"], p["lat_warmup"])
        rows.append(
            {
                "model": f"{cfg.backbone.name} + {head}",
                "median_ms": bench.median(ms),
                "min_ms": min(ms),
                "max_ms": max(ms),
                "params_m": sum(t.numel() for t in model.parameters()) / 1e6,
            }
        )
    return {"rows": rows, "input": "256x192 (HxW), batch 1, eval, no flip test", "runs": p["lat_runs"]}


def section_memory(p: dict, results: dict) -> dict:
    specs = [
        {"overrides": [f"backbone={b}", f"head={h}", "data.batch_size=32"], "steps": p["mem_steps"]}
        for b, h in (MODELS if not p["quick"] else [("mobilenetv3", "light")])
    ]
    return {"rows": [child("memory", spec) for spec in specs], "steps": p["mem_steps"]}


def memory_child(spec: dict) -> dict:
    """In a fresh process: build, take a batch, train ``steps`` Lightning steps; RSS in MiB."""
    after_imports = bench.rss_mib()[0]
    cfg, model, batch = model_and_batch(spec["overrides"])
    before = bench.rss_mib()[0]
    bench.reset_peak_rss()  # the import-time peak (CUDA libraries) would hide the training peak
    bench.lightning_train_throughput(model, batch, 0, int(spec["steps"]))
    peak = bench.rss_mib()[1]
    return {
        "model": describe(cfg),
        "rss_after_imports_mib": after_imports,
        "rss_before_train_mib": before,
        "peak_rss_mib": peak,
        "train_increase_mib": peak - before,
    }


def child(kind: str, spec: dict) -> dict:
    """Run ``<kind>_child(spec)`` in a fresh interpreter with this process's torch threads."""
    spec = {**spec, "kind": kind, "threads": torch.get_num_threads()}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode or not line:
        raise RuntimeError(f"benchmark child {spec} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(line[-1][len("RESULT ") :])


def section_tta(p: dict, results: dict) -> dict:
    path = Path(p["curves"])
    out = {"curves": str(path), "metric": "val/pck", "thresholds": [0.5, 0.7, 0.8]}
    rows = json.loads(path.read_text()).get("validation", []) if path.is_file() else []
    if not rows:
        return {**out, "missing": True, "rows": []}
    best = max((float(r["val/pck"]) for r in rows if "val/pck" in r), default=None)
    return {
        **out,
        "missing": False,
        "rows": bench.time_to_accuracy(rows, "val/pck", out["thresholds"]),
        "best_pck": best,
        "last_step": rows[-1]["step"],
        "last_minutes": rows[-1]["seconds"] / 60,
    }


def section_recipes(p: dict, results: dict) -> dict:
    return recipe_report.collect(ROOT / "outputs")


# --- report -----------------------------------------------------------------------------------
def cells(records: list[dict], *keys: str) -> list[list]:
    """Table rows: each record's values under ``keys``; ``pass`` as its mark, sizes as tuples (JSON reads them as lists)."""
    return [
        [mark(r[k]) if k == "pass" else tuple(r[k]) if isinstance(r[k], (list, tuple)) else r[k] for k in keys]
        for r in records
    ]


def report_section(title: str, intro: str, header: list[str], rows: list[list], *after: str) -> list[str]:
    """Markdown lines of a report section: ``## title``, the intro paragraph, the table, ``after`` and a blank line."""
    return [f"## {title}", "", intro, "", *table(header, rows), *after, ""]


def markdown(res: dict) -> str:
    m, s = res["machine"], res["sections"]
    quick = any(v.get("quick") for v in s.values())
    md = ["# Benchmarks", ""]
    if quick:
        md += [
            "> **QUICK SMOKE RUN** (`--quick`: very few repeats, and the CPU was shared with other jobs).",
            "> These figures only show that the script works end to end; they are not measurements.",
            "> Regenerate on an idle machine with `python benchmarks/benchmark.py` (budget: under 10 minutes on 2 cores).",
            "",
        ]
    md += [
        f"Generated {res['date']} by `python benchmarks/benchmark.py {res['argv']}`; raw numbers in `{res['json']}`.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch threads {res['threads']}, load average {m['load_avg_1min']} at start; "
        f"Python {m['python']}, torch {m['torch']}, Lightning {m['pytorch_lightning']}, timm {m['timm']}. "
        "Times are medians over repeats; each comparison ran side by side in one run.",
        "",
    ]
    stale = [f"{k} ({v['date']})" for k, v in s.items() if v.get("stale")]
    if stale:
        md += [f"Sections kept from an earlier run (`--only`): {', '.join(stale)}.", ""]
    if "train" in s:
        t = s["train"]
        md += report_section(
            "Train-step throughput: Lightning vs raw PyTorch",
            f"{t['model']}; the same pre-built batch in memory for both, no workers, steady-state steps only.",
            ["loop", "samples/s"],
            [["raw PyTorch loop", t["raw_sps"]], ["LandmarkModule + pl.Trainer", t["lightning_sps"]]],
            "",
            f"Ratio Lightning / raw = **{t['ratio']:.3f}** (goal >= {t['goal']}): **{mark(t['pass'])}**",
        )
    if "data" in s:
        d = s["data"]
        md += report_section(
            "Data pipeline vs train step",
            f"{d['pipeline']}, synthetic body data from `conf/train.yaml`, measured in a fresh process.",
            ["", "samples/s"],
            [["data pipeline", d["data_sps"]], [f"train step ({d['train_source']})", d["train_sps"]]],
            "",
            f"Ratio = **{d['ratio']:.2f}x** (goal >= {d['goal']}x): **{mark(d['pass'])}**",
        )
    if "encode" in s:
        e = s["encode"]
        md += report_section(
            "Heatmap target encoding: vectorised vs per-keypoint loop",
            f"MSRAHeatmap, {e['instances']} random instances (10% unlabelled, some outside the crop); time per instance.",
            ["input (W,H)", "heatmap (w,h)", "K", "vectorised us", "loop us", "speedup", "max abs diff"]
            + [f"goal >= {e['goal']}x"],
            cells(e["rows"], "input", "heatmap", "K", "vectorised_us", "loop_us", "speedup", "max_abs_diff", "pass"),
        )
    if "decode" in s:
        d = s["decode"]
        md += report_section(
            "Decode error on exact Gaussians",
            f"{d['n']} untruncated Gaussians (sigma {d['sigma']}) per row at random sub-pixel centres; Euclidean error in "
            f"heatmap px. Goal: DARK mean <= {d['goal']} px on interior centres.",
            ["heatmap (w,h)", "centres", "decode", "mean", "median", "p95", "max", "goal"],
            cells(d["rows"], "heatmap", "region", "refine", "mean", "median", "p95", "max", "pass"),
        )
    if "latency" in s:
        lt = s["latency"]
        md += report_section(
            "Inference latency",
            f"{lt['input']}, {lt['runs']} timed runs after warm-up.",
            ["model", "params (M)", "median ms", "min ms", "max ms"],
            cells(lt["rows"], "model", "params_m", "median_ms", "min_ms", "max_ms"),
        )
    if "memory" in s:
        mm = s["memory"]
        md += report_section(
            "Peak memory of a training run",
            f"MiB. Peak RSS (`VmHWM`, reset after the model and batch are built) of a fresh subprocess that builds the model, takes one batch and trains "
            f"{mm['steps']} Lightning steps at the demo input size; current RSS (`VmRSS`) before that for reference.",
            ["model", "RSS after imports", "RSS before training", "peak RSS", "peak - before training"],
            cells(
                mm["rows"],
                "model",
                "rss_after_imports_mib",
                "rss_before_train_mib",
                "peak_rss_mib",
                "train_increase_mib",
            ),
        )
    if "tta" in s:
        t = s["tta"]
        md += [
            "## Time to accuracy (demo recipe)",
            "",
            f"From `{os.path.relpath(t['curves'], ROOT)}` (PCK@0.1, `{t['metric']}`).",
            "",
        ]
        if t["missing"]:
            md += [
                "No curves file (or no validation rows): run `make demo` first (writes outputs/demo/training_curves.json).",
                "",
            ]
        else:
            md += [
                f"Best PCK {t['best_pck']:.3f}, last validation at step {t['last_step']} ({t['last_minutes']:.1f} min).",
                "",
            ]
            md += table(
                ["PCK@0.1 >=", "minutes", "step"],
                [
                    [r["threshold"], "not reached" if r["minutes"] is None else f"{r['minutes']:.1f}", r["step"]]
                    for r in t["rows"]
                ],
            )
            md += [""]
    if "recipes" in s:
        md += recipe_report.markdown(s["recipes"])
    return "\n".join(md)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
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
            print(
                f"[benchmark] {name}: "
                + json.dumps({k: v for k, v in sections[name].items() if not isinstance(v, list)}),
                flush=True,
            )
    result = {
        "date": date,
        "argv": " ".join(sys.argv[1:]),
        "json": out_json.name,
        "machine": machine,
        "threads": threads,
        "sections": sections,
    }
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(result, indent=1, default=str))
    Path(args.out).write_text(markdown(result) + "\n")
    print(f"[benchmark] wrote {args.out} and {out_json}")


if __name__ == "__main__":
    main()
