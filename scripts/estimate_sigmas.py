"""OKS sigmas from repeated annotations: python scripts/estimate_sigmas.py REPEATS.json --layout LAYOUT.yaml [--write].

REPEATS.json is a COCO keypoint file in which instances are annotated more than once; repeats
share ``image_id`` and an id field (``--group-by instance_id``, the default, or e.g. ``track_id``)
or are matched by box overlap (``--group-by iou``). Prints one sigma per keypoint (COCO
definition, landmarks/metrics/sigmas.py); ``--write`` stores them in the layout's ``sigmas``.
A keypoint never labelled twice gets DEFAULT_SIGMA, with a warning.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from landmarks.layouts.from_yaml import DEFAULT_SIGMA, load_spec, write_sigmas
from landmarks.metrics.sigmas import estimate_sigmas


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("ann_file", help="COCO keypoint JSON with repeated annotations")
    parser.add_argument("--layout", required=True, help="the layout YAML (names, K)")
    parser.add_argument("--group-by", default="instance_id", help="annotation id field, or 'iou'")
    parser.add_argument("--iou-thr", type=float, default=0.5, help="box IoU that makes two annotations one instance")
    parser.add_argument("--write", action="store_true", help="write the sigmas into the layout file")
    args = parser.parse_args(argv)
    spec = load_spec(args.layout, warn_default_sigmas=False)
    with open(args.ann_file) as f:
        est = estimate_sigmas(json.load(f), spec.num_keypoints, args.group_by, args.iou_thr, source=args.ann_file)
    sigmas = {}
    print(f"{est.num_groups} instances annotated 2+ times ({est.num_singletons} single annotations unused)")
    for name, sigma, dof in zip(spec.names, est.sigmas, est.dof):
        sigmas[name] = float(sigma) if math.isfinite(sigma) else DEFAULT_SIGMA
        note = f"  (dof {dof})" if math.isfinite(sigma) else "  (never labelled twice: DEFAULT_SIGMA)"
        print(f"  {name:>20s}: {sigmas[name]:.4f}{note}", file=sys.stdout if math.isfinite(sigma) else sys.stderr)
    if args.write:
        write_sigmas(args.layout, sigmas, comment=f"estimated from {args.ann_file} ({est.num_groups} instances)")
        print(f"wrote sigmas to {args.layout}")
    return sigmas


if __name__ == "__main__":
    main()
