"""Every public-dataset config runs with ``data.root`` alone on the dataset's official tree.

Each tree is built in ``tmp_path`` from the real samples in ``../shared/realdata`` (images
symlinked, annotation files written under the official names; the native WFLW text, 300W ``.pts``
and 300W-LP / AFLW2000 ``.mat`` files are written from the samples' COCO-style landmarks, and the
14-point CrowdPose / AI Challenger files from the COCO persons). docs/datasets.md shows the trees.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from landmarks import run
from tests.tiny import BASE, CONF, QUIET

TINY = [
    *BASE,
    "data.batch_size=2",
    "data.val_batch_size=2",
    "trainer.max_steps=1",
    "trainer.val_check_interval=1",
    *QUIET,
    "+trainer.limit_val_batches=1",
    "~callbacks",
]


def _coco(realdata: Path, folder: str, name: str) -> dict[str, Any]:
    return json.loads((realdata / folder / name).read_text())


def _write_coco(root: Path, ann: str, data: dict[str, Any], src: Path, folder: str, in_name: bool) -> None:
    """``data`` as ``root/ann``, the images symlinked into ``root/folder``; ``in_name``: file names include the folder."""
    data = json.loads(json.dumps(data))
    for image in data["images"]:
        name = os.path.basename(image["file_name"])
        image["file_name"] = f"{folder}/{name}" if in_name else name
        target = root / folder / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(src / name)
    (root / ann).parent.mkdir(parents=True, exist_ok=True)
    (root / ann).write_text(json.dumps(data))


def _images(dst: Path, src: Path, names: list[str]) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in names:
        if not (dst / name).exists():
            (dst / name).symlink_to(src / name)


def _coco_tree(
    realdata: Path,
    root: Path,
    folder: str,
    file: str,
    anns: tuple[str, str],
    images: tuple[str, str],
    convert: Callable[[dict[str, Any]], dict[str, Any]] = lambda d: d,
    in_name: bool = False,
) -> None:
    """A COCO-style tree; ``in_name``: ``file_name`` is relative to the root (mmpose's hand files)."""
    data = convert(_coco(realdata, folder, file))
    for ann, img in zip(anns, images):
        _write_coco(root, ann, data, realdata / folder, img, in_name)


def _remap(order: list[Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """COCO-17 persons -> another layout: each entry a COCO index or a pair averaged (e.g. the neck)."""

    def convert(data: dict[str, Any]) -> dict[str, Any]:
        for ann in data["annotations"]:
            k = np.asarray(ann["keypoints"], dtype=float).reshape(17, 3)
            rows = [
                k[i]
                if isinstance(i, int)
                else (np.r_[(k[i[0], :2] + k[i[1], :2]) / 2, 2.0] if k[i[0], 2] > 0 and k[i[1], 2] > 0 else np.zeros(3))
                for i in order
            ]
            ann["keypoints"] = np.concatenate(rows).tolist()
            ann["num_keypoints"] = int(sum(r[2] > 0 for r in rows))
        return data

    return convert


CROWDPOSE_FROM_COCO = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, (5, 6)]  # head top ~ nose, neck ~ mid-shoulders
AIC_FROM_COCO = [6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 0, (5, 6)]


def _faces(realdata: Path, folder: str) -> list[tuple[str, np.ndarray, list[float]]]:
    data = _coco(realdata, folder, f"test_{folder}.json")
    names = {im["id"]: im["file_name"] for im in data["images"]}
    return [
        (names[a["image_id"]], np.asarray(a["keypoints"], dtype=float).reshape(-1, 3)[:, :2], a["bbox"])
        for a in data["annotations"]
    ]


def _wflw_native(realdata: Path, root: Path) -> None:
    lines = []
    for name, pts, (x, y, w, h) in _faces(realdata, "wflw"):
        event = name.split("_")[0] + "--" + name.split("_")[1]
        _images(root / "WFLW_images" / event, realdata / "wflw", [name])
        values = [*pts.ravel(), x, y, x + w, y + h]
        lines.append(" ".join(f"{v:.3f}" for v in values) + " 0 0 0 0 0 0 " + f"{event}/{name}")
    folder = root / "WFLW_annotations" / "list_98pt_rect_attr_train_test"
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        (folder / f"list_98pt_rect_attr_{split}.txt").write_text("\n".join(lines) + "\n")


def _300w_native(realdata: Path, root: Path) -> None:
    for sub in ("afw", "helen/trainset", "lfpw/trainset", "helen/testset", "lfpw/testset", "ibug"):
        for name, pts, _ in _faces(realdata, "300w"):
            _images(root / sub, realdata / "300w", [name])
            body = "\n".join(f"{x + 1:.3f} {y + 1:.3f}" for x, y in pts)  # .pts are 1-based
            (root / sub / (Path(name).stem + ".pts")).write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")


def _300wlp_native(realdata: Path, root: Path) -> None:
    from scipy.io import savemat

    pose = np.array([[0.1, -0.3, 0.05, 0, 0, 0, 1.0]])  # pitch, yaw, roll (rad), tx, ty, tz, scale
    for folder in (root / "300W_LP" / "AFW", root / "AFLW2000"):
        for name, pts, _ in _faces(realdata, "300wlp"):
            _images(folder, realdata / "300wlp", [name])
            savemat(
                folder / (Path(name).stem + ".mat"),
                {"Pose_Para": pose, "pt2d": pts.T, "pt3d_68": np.vstack([pts.T, np.zeros((1, 68))])},
            )


COCO_IMAGES = ("train2017", "val2017")
# config -> (task, builder(realdata, root))
TREES: dict[str, tuple[str, Callable[[Path, Path], None]]] = {
    "coco": (
        "body",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco.json",
            ("annotations/person_keypoints_train2017.json", "annotations/person_keypoints_val2017.json"),
            COCO_IMAGES,
        ),
    ),
    "coco_detect": (  # the same files, read as whole frames with person boxes (task=detect)
        "detect",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco.json",
            ("annotations/person_keypoints_train2017.json", "annotations/person_keypoints_val2017.json"),
            COCO_IMAGES,
        ),
    ),
    "coco_wholebody": (
        "body",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco_wholebody.json",
            ("annotations/coco_wholebody_train_v1.0.json", "annotations/coco_wholebody_val_v1.0.json"),
            COCO_IMAGES,
        ),
    ),
    "coco_wholebody_hand": (
        "hand",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco_wholebody.json",
            ("annotations/coco_wholebody_train_v1.0.json", "annotations/coco_wholebody_val_v1.0.json"),
            COCO_IMAGES,
        ),
    ),
    "mpii": (
        "body",
        lambda r, t: (
            _images(t / "images", r / "mpii", [a["image"] for a in _coco(r, "mpii", "test_mpii.json")]),
            (t / "annotations").mkdir(),
            [
                (t / "annotations" / f"mpii_{s}.json").write_text((r / "mpii" / "test_mpii.json").read_text())
                for s in ("train", "val")
            ],
        ),
    ),
    "crowdpose": (
        "body",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco.json",
            ("annotations/crowdpose_trainval.json", "annotations/crowdpose_test.json"),
            ("images", "images"),
            _remap(CROWDPOSE_FROM_COCO),
        ),
    ),
    "aic": (
        "body",
        lambda r, t: _coco_tree(
            r,
            t,
            "coco",
            "test_coco.json",
            ("annotations/aic_train.json", "annotations/aic_val.json"),
            (
                "ai_challenger_keypoint_train_20170902/keypoint_train_images_20170902",
                "ai_challenger_keypoint_validation_20170911/keypoint_validation_images_20170911",
            ),
            _remap(AIC_FROM_COCO),
        ),
    ),
    "wflw": ("face", _wflw_native),
    "wflw_coco": (
        "face",
        lambda r, t: _coco_tree(
            r,
            t,
            "wflw",
            "test_wflw.json",
            ("annotations/face_landmarks_wflw_train.json", "annotations/face_landmarks_wflw_test.json"),
            ("images", "images"),
        ),
    ),
    "300w": ("face", _300w_native),
    "300w_coco": (
        "face",
        lambda r, t: _coco_tree(
            r,
            t,
            "300w",
            "test_300w.json",
            ("annotations/face_landmarks_300w_train.json", "annotations/face_landmarks_300w_valid.json"),
            ("images", "images"),
        ),
    ),
    "300wlp": ("head_pose", _300wlp_native),
    "300wlp_coco": (
        "face",
        lambda r, t: _coco_tree(
            r,
            t,
            "300wlp",
            "test_300wlp.json",
            ("annotations/face_landmarks_300wlp_train.json", "annotations/face_landmarks_300wlp_valid.json"),
            ("images", "images"),
        ),
    ),
    "cofw": (
        "face",
        lambda r, t: _coco_tree(
            r,
            t,
            "cofw",
            "test_cofw.json",
            ("annotations/cofw_train.json", "annotations/cofw_test.json"),
            ("images", "images"),
        ),
    ),
    "freihand": (
        "hand",
        lambda r, t: _coco_tree(
            r,
            t,
            "freihand",
            "test_freihand.json",
            ("annotations/freihand_train.json", "annotations/freihand_test.json"),
            ("training/rgb", "training/rgb"),
            in_name=True,
        ),
    ),
    "onehand10k": (
        "hand",
        lambda r, t: _coco_tree(
            r,
            t,
            "onehand10k",
            "test_onehand10k.json",
            ("annotations/onehand10k_train.json", "annotations/onehand10k_test.json"),
            ("Train/source", "Test/source"),
            in_name=True,
        ),
    ),
    "panoptic_hand": (
        "hand",
        lambda r, t: _coco_tree(
            r,
            t,
            "panoptic",
            "test_panoptic.json",
            ("annotations/panoptic_train.json", "annotations/panoptic_test.json"),
            ("hand143_panopticdb/imgs", "hand143_panopticdb/imgs"),
            in_name=True,
        ),
    ),
}
TRAINED = ("crowdpose", "wflw", "300wlp", "freihand")  # one optimisation step each: body, native face, head pose, hand


def _compose(config: str, root: Path, out: Path) -> Any:
    task, _ = TREES[config]
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(
            "train", overrides=[*TINY, f"output_dir={out}", f"task={task}", f"data={config}", f"data.root={root}"]
        )


def test_every_public_dataset_config_has_a_tree() -> None:
    public = {p.stem for p in (CONF / "data").glob("*.yaml")} - {"coco_custom", "coco_face", "coco_hand"}
    public = {n for n in public if not n.startswith("synthetic")}
    assert public == set(TREES), public ^ set(TREES)


@pytest.mark.slow
def test_configs_run_with_data_root_alone(realdata: Path, tmp_path: Path) -> None:
    """Compose with data.root only, build model + data module, read a training sample; train one step for a few."""
    failures = []
    for config, (_task, build) in TREES.items():
        root = tmp_path / config / "root"
        root.mkdir(parents=True)
        build(realdata, root)
        try:
            cfg = _compose(config, root, tmp_path / config / "out")
            model = run.build_model(cfg)
            dm = run.build_data(cfg, model)
            sample = dm.train_source[0]
            assert len(dm.val_source) > 0
            spec = getattr(next(iter(model.tasks.values())), "spec", None)
            if spec is not None and "keypoints" in sample:
                assert np.shape(sample["keypoints"]) == (spec.num_keypoints, 2), (config, np.shape(sample["keypoints"]))
            if config in TRAINED:
                metrics = run.train(cfg)
                assert metrics["global_step"] == 1 and np.isfinite(metrics[str(cfg.monitor)]), (config, metrics)
        except Exception as err:  # noqa: BLE001 - collect every config's failure, then report them all
            failures.append(f"{config}: {type(err).__name__}: {err}")
    assert not failures, "\n".join(failures)
