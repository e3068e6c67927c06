"""Export a checkpoint: python scripts/export.py ckpt=PATH [out=DIR] [opset=17] [flip_test=false] [quantize=none|int8]
-> model.onnx (decoding inside) + model.json (sidecar); run it without torch with landmarks.runtime (docs/deploy.md)."""

import hydra
from omegaconf import DictConfig

from landmarks import run


@hydra.main(config_path="../conf", config_name="export", version_base="1.3")
def main(cfg: DictConfig) -> None:
    for kind, path in run.export(cfg).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()
