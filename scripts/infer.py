"""Predict: python scripts/infer.py ckpt=PATH source=IMAGE|FOLDER|GLOB|VIDEO [out=DIR] [det_file=JSON] [heatmaps=true]
[device=auto|cpu|cuda] [face_detector=auto|haar|none] [pnp=false] [pnp_focal=PX]."""

import hydra
from omegaconf import DictConfig

from landmarks import run


@hydra.main(config_path="../conf", config_name="infer", version_base="1.3")
def main(cfg: DictConfig) -> None:
    print(run.infer(cfg))


if __name__ == "__main__":
    main()
