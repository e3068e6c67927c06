"""A small custom keypoint data set: python scripts/make_custom_example.py OUT_DIR [--train 48] [--val 12].

Writes OUT_DIR/layout.yaml (7-point "arrow tool" layout), OUT_DIR/images/*.jpg and
OUT_DIR/annotations/{train,val,repeats}.json (landmarks/data/synthetic/common/tool_example.py);
docs/custom_dataset.md walks through training on it.
"""

from __future__ import annotations

import argparse

from landmarks.data.synthetic.common.tool_example import make_custom_example


def main(argv: list[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=int, default=48, help="training images")
    parser.add_argument("--val", type=int, default=12, help="validation images")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("W", "H"))
    parser.add_argument("--repeats", type=int, default=3, help="annotations per val instance in repeats.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    written = make_custom_example(args.out_dir, args.train, args.val, tuple(args.size), args.repeats, args.seed)
    for what, path in written.items():
        print(f"{what:>8s}: {path}")
    return written


if __name__ == "__main__":
    main()
