"""The main job (make demo): train body pose on synthetic data, evaluate, predict, draw.

python scripts/demo.py [any train override, e.g. trainer.max_steps=500]
"""

import hydra
from omegaconf import DictConfig

from landmarks import run


@hydra.main(config_path="../conf", config_name="demo", version_base="1.3")
def main(cfg: DictConfig) -> None:
    summary = run.demo(cfg)
    print("demo finished:", summary["evaluate"], "->", cfg.output_dir)


if __name__ == "__main__":
    main()
