"""Bring your own labels: python scripts/convert.py from=cvat|labelstudio|labelme|dlc|sleap src=PATH out=DIR.

Writes OUT/layout.yaml + OUT/annotations/{train,val}.json for
``scripts/train.py task=custom data.root=OUT spec_file=OUT/layout.yaml``; ``target=mpii16``
converts skeletons; ``to=cvat|labelstudio src=predictions.json layout=... images=...`` turns
predictions into pre-annotations. All options: landmarks/convert/cli.py, docs/import.md.
"""

from __future__ import annotations

import logging
import sys

from landmarks.convert.cli import run


def main(argv: list[str] | None = None) -> dict[str, str]:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    written = run(sys.argv[1:] if argv is None else argv)
    for key, path in written.items():
        print(f"{key}: {path}")
    return written


if __name__ == "__main__":
    main()
