"""Evaluate a checkpoint: python scripts/evaluate.py ckpt=PATH [data=coco data.root=...] [out=DIR] [plots=false];
face tasks also get ced.png and per-sample NMEs, head-pose tasks per-angle error curves, keypoint tasks
PCK-versus-threshold curves and per-keypoint errors (landmarks/eval_report.py)."""

import os

import hydra
from omegaconf import DictConfig, OmegaConf

# hydra.run.dir (conf/evaluate.yaml): the output folder, i.e. out or else the checkpoint's folder
OmegaConf.register_new_resolver(
    "eval_out", lambda out, ckpt: str(out) if out else os.path.dirname(os.path.abspath(str(ckpt))), replace=True
)


@hydra.main(config_path="../conf", config_name="evaluate", version_base="1.3")
def main(cfg: DictConfig) -> None:
    from landmarks import run  # torch, Lightning, timm: only once the config is composed (--help is instant)

    run.evaluate(cfg)


if __name__ == "__main__":
    main()
