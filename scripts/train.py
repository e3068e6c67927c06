"""Train: python scripts/train.py task=body [backbone=resnet18] [data=coco data.root=...] [-m sweeps].

Sweeps (docs/sweeps.md): -m hydra/sweeper=landmarks_optuna | hydra/launcher=joblib_local | hydra/launcher=slurm.
torch is imported only once a job runs (landmarks/cli.py): --help and config errors answer at once.
"""

from typing import Any, cast

import hydra
from omegaconf import DictConfig, OmegaConf

from landmarks import cli

# the optuna sweeper's direction from the task's monitor_mode (conf/hydra/sweeper/landmarks_optuna.yaml)
OmegaConf.register_new_resolver("sweep_direction", cli.sweep_direction, replace=True)


@hydra.main(config_path="../conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> float:
    # names every ??? key, before torch; a DictConfig converts to a dict (to_container is typed for lists too)
    cli.check_missing(cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=False)))
    return cli.train_main(cfg)  # the monitored metric: the float a sweeper optimises


if __name__ == "__main__":
    main()
