"""Evaluate a checkpoint: python scripts/evaluate.py ckpt=PATH [data=coco data.root=...] [out=DIR] [plots=false];
face tasks also get ced.png and per-sample NMEs, head-pose tasks per-angle error curves."""

import hydra
from omegaconf import DictConfig

from landmarks import run


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    run.evaluate(cfg)


if __name__ == "__main__":
    main()
