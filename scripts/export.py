"""Export a checkpoint: python scripts/export.py ckpt=PATH [out=DIR] [opset=17] [flip_test=false] [quantize=none|int8]
-> model.onnx (decoding inside) + model.json (sidecar); run it without torch with landmarks.runtime (docs/deploy.md)."""

import os

import hydra
from omegaconf import DictConfig, OmegaConf

from landmarks import run

# hydra's run dir (export.log) = out, or <checkpoint folder>/export as run.export writes there by default
OmegaConf.register_new_resolver(
    "export_out",
    lambda out, ckpt: str(out) if out else os.path.join(os.path.dirname(os.path.abspath(str(ckpt))), "export"),
    replace=True,
)


@hydra.main(config_path="../conf", config_name="export", version_base="1.3")
def main(cfg: DictConfig) -> None:
    for kind, path in run.export(cfg).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()
