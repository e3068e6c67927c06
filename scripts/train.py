"""Train: python scripts/train.py task=body [backbone=resnet18] [data=coco data.root=...] [-m sweeps]."""

import hydra
from omegaconf import DictConfig

from landmarks import run


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    metrics = run.train(cfg)
    return metrics.get(cfg.monitor)  # the value a sweeper optimises


if __name__ == "__main__":
    main()
