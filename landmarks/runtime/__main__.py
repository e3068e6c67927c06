"""``python -m landmarks.runtime MODEL.onnx IMAGE [IMAGE ...] [--out DIR] [--boxes x,y,w,h ...] [--backend opencv]``

Writes ``DIR/predictions.json`` (the entries of ``infer.py``) and ``DIR/overlays/<name>.png``;
imports numpy, onnxruntime and OpenCV only.
"""

from __future__ import annotations

import argparse
import json
import os

import cv2
import numpy as np

from landmarks.runtime.entries import frame_entries
from landmarks.runtime.runner import BACKENDS, Runtime


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(prog="python -m landmarks.runtime", description=__doc__)
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--out", default="outputs/runtime")
    parser.add_argument("--boxes", nargs="*", default=None, help="x,y,w,h boxes (image px) used for every image")
    parser.add_argument("--backend", default="onnxruntime", choices=BACKENDS)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--kpt-thr", type=float, default=0.3)
    args = parser.parse_args(argv)
    runtime = Runtime(args.model, backend=args.backend, threads=args.threads)
    boxes = np.array([[float(v) for v in b.split(",")] for b in args.boxes], np.float32) if args.boxes else None
    os.makedirs(os.path.join(args.out, "overlays"), exist_ok=True)
    results = []
    for i, path in enumerate(args.images):
        bgr = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        if bgr is None:
            raise SystemExit(f"runtime: cannot read image '{path}'")
        image = (
            bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGRA2RGBA if bgr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
        )
        name = os.path.basename(path)
        entries, overlay = frame_entries(
            runtime,
            image,
            boxes,
            box_source="image" if boxes is None else "boxes",
            image_id=i,
            file_name=name,
            kpt_thr=args.kpt_thr,
        )
        results.extend(entries)
        stem = os.path.splitext(name)[0]
        cv2.imwrite(os.path.join(args.out, "overlays", f"{stem}.png"), cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
    out = os.path.join(args.out, "predictions.json")
    with open(out, "w") as f:
        json.dump(results, f)
    print(out)
    return out


if __name__ == "__main__":
    main()
