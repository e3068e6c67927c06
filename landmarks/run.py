"""train / evaluate / infer from a Hydra config: the ONLY place that touches DictConfig.

Everything else in :mod:`landmarks` takes typed keyword arguments. This module turns a
resolved config into objects (``hydra.utils.instantiate``), wires tasks' codecs into the
data module, and stores the resolved config in every checkpoint so that evaluation and
inference need nothing but the checkpoint file.

(Over 300 lines: the only instantiate() site: train, evaluate, infer, export and demo each build their objects from the config here.)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from typing import Any, cast

import pytorch_lightning as pl
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint

from landmarks.checkpoint import (
    AtomicCheckpointIO,
    check_state_dict_fits,
    describe_tasks,
    load_checkpoint,
    remove_stale_temporaries,
    written_checkpoints,
)
from landmarks.config_check import UNKNOWN, check_top_level, check_tree
from landmarks.config_targets import upgrade_stored_config
from landmarks.data.datamodule import LandmarkDataModule
from landmarks.data.formats.errors import AnnotationError
from landmarks.eval_report import write_error_reports
from landmarks.layouts.from_yaml import inline_spec_config
from landmarks.logs import progress_callbacks, quiet_known_warnings
from landmarks.module import LandmarkModule
from landmarks.precision import cpu_precision
from landmarks.resume import RngState

log = logging.getLogger("landmarks")

if not OmegaConf.has_resolver("div"):
    OmegaConf.register_new_resolver("div", lambda a, b: int(a) // int(b))


# --- building ------------------------------------------------------------------------------
def build_model(cfg: DictConfig) -> LandmarkModule:
    """Backbone + tasks + optimisation from ``cfg.backbone``, ``cfg.tasks``, ``cfg.optimizer``..."""
    backbone = instantiate(cfg.backbone)
    tasks = {name: instantiate(node, _convert_="all") for name, node in cfg.tasks.items()}
    return LandmarkModule(
        backbone=backbone,
        tasks=tasks,
        optimizer=instantiate(cfg.optimizer) if cfg.get("optimizer") else None,
        scheduler=instantiate(cfg.scheduler) if cfg.get("scheduler") else None,
        flip_test=bool(cfg.model.flip_test),
        channels_last=bool(cfg.model.get("channels_last", False)),
        config=_stored_config(cfg),
    )


def _stored_config(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config a checkpoint keeps, with YAML keypoint layouts inlined (self-contained)."""
    config: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)  # type: ignore[assignment]
    config["tasks"] = inline_spec_config(config.get("tasks") or {})
    return config


def build_data(cfg: DictConfig, model: LandmarkModule, train: bool = True) -> LandmarkDataModule:
    """The data module, with the model's codecs attached and the layouts checked."""
    data_cfg = cfg.data if train else OmegaConf.merge(cfg.data, {"train": None})
    try:
        datamodule: LandmarkDataModule = instantiate(data_cfg, _convert_="all")
    except InstantiationException as err:
        if isinstance(err.__cause__, AnnotationError):  # already names file, field, expectation
            key = re.search(r"full_key: (\S+)", str(err))
            err.__cause__.add_note(f"(config node '{key.group(1) if key else 'data'}')")
            raise err.__cause__ from None
        raise
    datamodule.attach({n: t.codec for n, t in model.tasks.items()})
    named = [("train" if n == "train" else f"mix.{n}", s) for n, s in datamodule.train_sources.items()]
    named.append(("val", datamodule.val_source))
    for split, source in named:
        if source is not None and len(source) == 0:
            raise ValueError(
                f"data.{split}: source {type(source).__name__} is empty; expected at least one "
                "instance (num_images > 0, or an annotation file with usable instances)"
            )
        _check_layout(split, source, model)
    return datamodule


def _check_layout(split: str, source: Any, model: LandmarkModule) -> None:
    spec = getattr(source, "spec", None)
    if source is None or spec is None:
        return
    for name, task in model.tasks.items():
        task_spec = getattr(task, "spec", None)
        if task_spec is not None and task_spec.num_keypoints != spec.num_keypoints:
            raise ValueError(
                f"data.{split}: source '{type(source).__name__}' has {spec.num_keypoints} keypoints "
                f"(layout '{spec.name}') but task '{name}' expects {task_spec.num_keypoints} (layout '{task_spec.name}')"
            )


def check_config(cfg: DictConfig) -> None:
    """Unknown keys and wrongly typed values of ``cfg`` (:mod:`landmarks.config_check`), before building.

    Raises:
        ValueError: naming the key, the target, the closest accepted key and all accepted keys.
        TypeError: naming the key, the expected type, the target and the value found.
    """

    def resolved(path: str) -> Any:
        try:
            value = OmegaConf.select(cfg, path, throw_on_missing=True)
        except Exception:  # noqa: BLE001 - missing / unresolvable (hydra:, ???) values are not judged here
            return UNKNOWN
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value

    check_top_level(cfg, resolved)
    check_tree(OmegaConf.to_container(cfg, resolve=False), "", resolved)


def _loggers(cfg: DictConfig) -> list[Any]:
    if (
        cfg.get("logger")
        and "wandb" in cfg.logger
        and not os.environ.get("WANDB_API_KEY")
        and not os.environ.get("WANDB_MODE")
    ):
        os.environ["WANDB_MODE"] = "offline"  # no key: log locally, `wandb sync` later
    return [instantiate(node) for node in (cfg.get("logger") or {}).values()]


def _finish_wandb() -> None:
    try:
        import wandb

        if wandb.run is not None:
            wandb.finish()
    except Exception:  # noqa: BLE001 - closing a logger must never mask the real error
        log.exception("wandb.finish() failed")


def _warn_unvalidated_tail(cfg: DictConfig) -> None:
    """Warn when ``max_steps`` is not a multiple of an integer ``val_check_interval``.

    Lightning validates every ``val_check_interval`` steps and when ``max_time`` stops a run, but
    not when ``max_steps`` does: the last steps (the lowest learning rates of a cosine schedule)
    would never be validated or become the best checkpoint.
    """
    trainer = cfg.get("trainer") or {}
    steps, every = trainer.get("max_steps", -1), trainer.get("val_check_interval")
    if isinstance(every, int) and not isinstance(every, bool) and every > 0 and steps and steps > 0 and steps % every:
        log.warning(
            "trainer.max_steps=%d is not a multiple of trainer.val_check_interval=%d: the last %d steps are "
            "never validated (nor checkpointed as best); choose a val_check_interval that divides max_steps",
            steps,
            every,
            steps % every,
        )


# --- entry points --------------------------------------------------------------------------
def train(cfg: DictConfig) -> dict[str, float]:
    """Fit, then validate the best checkpoint (``last.ckpt`` if no validation ran); writes ``metrics.json``.

    ``metrics.json`` names the checkpoint it was computed with (``checkpoint``); the log names every
    checkpoint file written, and the training samples skipped as bad in any DataLoader process.
    """
    quiet_known_warnings()  # the known third-party warnings, once (landmarks/logs.py)
    try:
        check_config(cfg)
        _warn_unvalidated_tail(cfg)
        pl.seed_everything(int(cfg.seed), workers=True)
        torch.set_num_threads(int(cfg.get("threads") or torch.get_num_threads()))
        out_dir = str(cfg.output_dir)
        os.makedirs(out_dir, exist_ok=True)
        model = build_model(cfg)
        datamodule = build_data(cfg, model)
        callbacks = [instantiate(node) for node in (cfg.get("callbacks") or {}).values()]
        # resume = the uninterrupted run, not just the same weights; first, so that its states are
        # in place before any other callback's on_train_batch_start draws from them
        callbacks.insert(0, RngState())
        # a progress bar on a terminal, one log line every log_every_n_steps otherwise (landmarks/logs.py)
        bar, progress = progress_callbacks(
            bool(cfg.trainer.get("enable_progress_bar", True)), int(cfg.trainer.get("log_every_n_steps") or 50)
        )
        callbacks += progress
        loggers = _loggers(cfg)
        for logger in loggers:  # every run (each sweep job) records its full resolved config
            logger.log_hyperparams(model.config)
        trainer: pl.Trainer = instantiate(
            cfg.trainer,
            precision=cpu_precision(cfg.trainer.get("precision"), cfg.trainer.get("accelerator")),
            callbacks=callbacks,
            logger=loggers,
            plugins=[AtomicCheckpointIO()],
            default_root_dir=out_dir,
            enable_progress_bar=bar,
        )
        if trainer.is_global_zero:  # a write killed in an earlier run left a temporary file
            dirs = {cb.dirpath for cb in trainer.checkpoint_callbacks if isinstance(cb, ModelCheckpoint) and cb.dirpath}
            for folder in dirs:
                remove_stale_temporaries(str(folder))
        # A checkpoint of another task, or a file Lightning cannot resume from: name the file and the first
        # misfit parameter. Read here once more at start-up on purpose: Lightning's own read fails on a
        # file without its metadata with a bare KeyError, before any model hook could name the file.
        if cfg.get("ckpt_path"):
            check_state_dict_fits(str(cfg.ckpt_path), model)
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        for name, indices in datamodule.skipped_samples().items():
            log.warning(
                "data.%s: %d bad sample(s) replaced during training (all DataLoader processes; dataset "
                "indices %s%s); each is named in a warning above",
                "train" if name == "train" else f"mix.{name}",
                len(indices),
                indices[:20],
                " ..." if len(indices) > 20 else "",
            )
        best, last = written_checkpoints(trainer)
        log.info("checkpoints written: best %s, last %s (step %d)", best or "none", last or "none", trainer.global_step)
        if not best:
            log.warning(
                "no best checkpoint: no validation ran in %d steps (trainer.val_check_interval=%s); validating %s",
                trainer.global_step,
                cfg.trainer.get("val_check_interval"),
                last or "the final weights",
            )
        ckpt = best or last
        results = trainer.validate(model, datamodule=datamodule, ckpt_path=ckpt or None, verbose=False)
        metrics = {k: float(v) for k, v in (results[0] if results else {}).items()}
        metrics["global_step"] = int(trainer.global_step)
        if trainer.is_global_zero:
            _write_json(os.path.join(out_dir, "metrics.json"), {"checkpoint": ckpt, **metrics})
        return metrics
    finally:
        _finish_wandb()


def config_from_checkpoint(
    path: str, overrides: DictConfig | None = None, replace: dict[str, Any] | None = None
) -> DictConfig:
    """The resolved training config stored in a checkpoint.

    Args:
        path: the checkpoint file.
        overrides: merged into the stored config (key by key).
        replace: top-level nodes that substitute the stored ones wholesale, e.g. ``{"data": node}``
            to evaluate on another data set: none of the training data node's keys survive.
            Interpolations in them resolve against the checkpoint's config.
    """
    return _stored(load_checkpoint(path), path, overrides, replace)


def _stored(
    ckpt: dict[str, Any], path: str, overrides: DictConfig | None, replace: dict[str, Any] | None
) -> DictConfig:
    if "landmarks_config" not in ckpt:
        raise ValueError(f"ckpt: '{path}' has no 'landmarks_config' entry; was it written by landmarks?")
    cfg = OmegaConf.create(upgrade_stored_config(ckpt["landmarks_config"], f"ckpt '{path}'"))
    if not isinstance(cfg, DictConfig):
        raise ValueError(f"ckpt: '{path}': 'landmarks_config' is a {type(cfg).__name__}, expected a mapping")
    for key, node in (replace or {}).items():
        cfg[key] = node
    # merging into a DictConfig gives a DictConfig (OmegaConf.merge is typed for lists too)
    return cast(DictConfig, OmegaConf.merge(cfg, overrides)) if overrides is not None else cfg


def load_model(
    path: str, overrides: DictConfig | None = None, replace: dict[str, Any] | None = None
) -> tuple[LandmarkModule, DictConfig]:
    """Rebuild a model from a checkpoint file alone (weights + resolved config).

    ``overrides`` and ``replace`` as in :func:`config_from_checkpoint`.

    Raises:
        ValueError: the weights do not fit the rebuilt model (:func:`check_state_dict_fits`).
    """
    ckpt = load_checkpoint(path)
    cfg = _stored(ckpt, path, overrides, replace)
    model = build_model(cfg)
    check_state_dict_fits(path, model, ckpt)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, cfg


def load_predictor(path: str, flip_test: bool | None = None, batch_size: int = 32, device: str = "auto") -> Any:
    """A :class:`~landmarks.inference.predictor.Predictor` rebuilt from a checkpoint file alone.

    Lives here, not in ``landmarks/inference/``, because rebuilding a model from its stored config is
    the one thing only this module does (``instantiate``): so the inference package never imports it.

    Args:
        path: the checkpoint.
        flip_test: ``None`` keeps the trained setting.
        batch_size: crops per forward pass.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.
    """
    from landmarks.inference.predictor import Predictor

    model, _ = load_model(path)
    if flip_test is not None:
        model.flip_test = bool(flip_test)
    return Predictor(model, batch_size=batch_size, device=device)


def load_detector(path: str, category: str | None = None, score_thr: float = 0.3, device: str = "auto") -> Any:
    """A :class:`~landmarks.inference.box_detectors.CheckpointDetector` rebuilt from a checkpoint file alone.

    Here for the reason :func:`load_predictor` is: only this module rebuilds models from stored configs.

    Args:
        path: a checkpoint with a detection task (``task=detect``), alone or beside keypoint tasks.
        category: keep only boxes of this class (``None``: all).
        score_thr: minimum box score.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``cuda:N``.

    Raises:
        ValueError: naming ``path`` when the checkpoint has no detection task or not ``category``.
    """
    from landmarks.inference.box_detectors import CheckpointDetector

    model, _ = load_model(path)
    return CheckpointDetector(model, path, category=category, score_thr=score_thr, device=device)


def evaluate(cfg: DictConfig) -> dict[str, float]:
    """Validate a checkpoint on ``data.val`` (the training data config unless overridden).

    Writes ``eval_metrics.json`` in ``out`` (default: the checkpoint's folder) and, with
    ``plots`` (default true), the per-sample errors behind the metrics: for face tasks
    ``<task>_nme.csv`` and ``ced.png`` (:func:`landmarks.viz.plot_ced`), for head-pose tasks
    ``<task>_errors.csv`` and ``<task>_errors.png`` (cumulative absolute error per angle).
    """
    # data=...: the new data node REPLACES the checkpoint's (a merge would leak e.g. synthetic keys into COCO)
    replace = {"data": OmegaConf.to_container(cfg.data)} if cfg.get("data") else None
    if replace is not None:
        check_config(OmegaConf.create(replace))
    model, full = load_model(str(cfg.ckpt), replace=replace)
    if cfg.get("flip_test") is not None:
        model.flip_test = bool(cfg.flip_test)
    if cfg.get("clips"):  # synthetic clips carry their own ground truth: no validation data to build
        return _evaluate_clips(cfg, model)
    if cfg.get("detector"):  # keypoint AP on the detector's boxes vs ground-truth boxes, on whole images
        return _evaluate_detected(cfg, model, full)
    try:
        datamodule = build_data(full, model, train=False)
    except ValueError as err:
        if isinstance(err, AnnotationError) or "layout" not in str(err):
            raise
        raise ValueError(
            f"evaluate: checkpoint '{cfg.ckpt}' (task(s) {describe_tasks(model)}) does not fit the data: {err}"
        ) from err
    plots = bool(cfg.get("plots", True))
    runtime = str(cfg.get("runtime") or "torch")
    if runtime != "torch":  # the exported graph (fp32 or int8) on the same crops, by the same metric objects
        return _evaluate_graph(cfg, model, datamodule, runtime)
    # trainer=cpu|gpu|ddp_cpu (conf/evaluate.yaml); metrics gather across processes, so N processes = 1
    trainer_cfg = cfg.get("trainer") or {"_target_": "pytorch_lightning.Trainer", "accelerator": "cpu", "devices": 1}
    trainer: pl.Trainer = instantiate(trainer_cfg, logger=False, enable_checkpointing=False, callbacks=[])
    results = trainer.validate(model, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()}
    if not trainer.is_global_zero:
        return metrics
    out = str(cfg.get("out") or os.path.dirname(os.path.abspath(str(cfg.ckpt))))
    _write_json(os.path.join(out, "eval_metrics.json"), {"checkpoint": str(cfg.ckpt), **metrics})
    if plots:  # per-sample records are metric state, gathered from every process
        for path in write_error_reports(dict(model.task_items()), out):
            log.info("evaluate: wrote %s", path)
    print(json.dumps(metrics, indent=2))
    return metrics


def _smoothing(cfg: DictConfig) -> Any:
    """The ``smoothing`` node of infer.yaml / evaluate.yaml as :class:`SmoothingOptions` (``None``: the defaults)."""
    from landmarks.inference.instances import SmoothingOptions

    node = cfg.get("smoothing")
    return SmoothingOptions(**OmegaConf.to_container(node)) if node else None  # type: ignore[arg-type]


def _evaluate_clips(cfg: DictConfig, model: LandmarkModule) -> dict[str, float]:
    """``evaluate.py clips=body|hand|face``: video metrics on synthetic clips (:mod:`landmarks.inference.clip_eval`)."""
    from landmarks.inference.clip_eval import evaluate_clips
    from landmarks.inference.predictor import Predictor

    maker = instantiate(cfg.clips.maker)
    clips = [maker(seed=int(seed)) for seed in cfg.clips.seeds]
    predictor = Predictor(model, device=str(cfg.get("device") or "auto"))
    metrics = evaluate_clips(predictor, clips, _smoothing(cfg))
    return _report(cfg, "clips_metrics.json", metrics, clips=len(clips))


def _evaluate_detected(cfg: DictConfig, model: LandmarkModule, full: DictConfig) -> dict[str, float]:
    """``evaluate.py detector=DET.ckpt|hog``: :mod:`landmarks.inference.frame_eval` on the validation images."""
    from landmarks.inference.frame_eval import evaluate_on_boxes, scenes_of
    from landmarks.inference.predictor import Predictor

    predictor = Predictor(model, device=str(cfg.get("device") or "auto"))
    detector = _detector(cfg, predictor.box_category)
    if detector is None:
        raise ValueError(f"evaluate: detector={cfg.detector!r} gives no boxes for this model's instances")
    source = instantiate(full.data.val)
    scenes = list(scenes_of(source, int(cfg.get("images") or 10**9)))
    coco_dict = getattr(source, "coco_dict", None)
    metrics = evaluate_on_boxes(predictor, scenes, detector, float(cfg.get("nms_thr", 0.9)), coco_dict)
    return _report(cfg, "detected_metrics.json", metrics, detector=str(cfg.detector))


def _report(cfg: DictConfig, file_name: str, metrics: dict[str, float], **about: Any) -> dict[str, float]:
    """Write ``metrics`` (with the checkpoint and ``about``) to ``<out>/file_name``, print them, return them."""
    out = str(cfg.get("out") or os.path.dirname(os.path.abspath(str(cfg.ckpt))))
    _write_json(os.path.join(out, file_name), {"checkpoint": str(cfg.ckpt), **about, **metrics})
    print(json.dumps(metrics, indent=2))
    return metrics


def _evaluate_graph(
    cfg: DictConfig, model: LandmarkModule, datamodule: LandmarkDataModule, runtime: str
) -> dict[str, float]:
    """``evaluate.py runtime=onnxruntime|opencv [onnx=model.onnx]``: metrics of the exported graph (:mod:`landmarks.export.validate`)."""
    from landmarks.export.onnx_file import export_model
    from landmarks.export.validate import validate_graph
    from landmarks.runtime import Runtime

    out = str(cfg.get("out") or os.path.dirname(os.path.abspath(str(cfg.ckpt))))
    onnx = (
        cfg.get("onnx")
        or export_model(model, os.path.join(out, "model_export"), flip_test=bool(model.flip_test))["onnx"]
    )
    metrics = validate_graph(model, datamodule.val_dataloader(), Runtime(str(onnx), backend=runtime))
    _write_json(
        os.path.join(out, "eval_metrics.json"),
        {"checkpoint": str(cfg.ckpt), "runtime": runtime, "onnx": str(onnx), **metrics},
    )
    print(json.dumps(metrics, indent=2))
    return metrics


def infer(cfg: DictConfig) -> str:
    """Predict on images / a folder / a glob / a video; writes predictions.json and overlays.

    ``device`` (auto | cpu | cuda; auto: CUDA when available) runs the model. Models whose tasks
    hold faces in their boxes (``Task.box_category``) take their boxes from ``det_file``, else from
    ``face_detector`` (``auto``: the Haar cascade where this OpenCV has it, else the whole image,
    with a warning; ``haar``: the cascade or an error; ``none``: the whole image). ``pnp`` adds the
    landmark-based pose (``pnp_euler``) to entries of 68-point iBUG layouts, with focal length
    ``pnp_focal`` px (null: the image width). ``on_bad_image`` (skip | error) and ``no_box``
    (image | skip): see :func:`landmarks.inference.loop.run_inference` and ``conf/infer.yaml``.
    """
    from landmarks.inference.loop import run_inference

    runtime = str(cfg.get("runtime") or "torch")  # torch | onnxruntime | opencv (landmarks/export/predictor.py)
    if runtime not in ("torch", "onnxruntime", "opencv"):
        raise ValueError(f"runtime: expected 'torch', 'onnxruntime' or 'opencv', got {runtime!r}")
    device = str(cfg.get("device") or "auto") if runtime == "torch" else "cpu"
    # a Predictor, or its ONNX stand-in below (the same duck type: tasks, box_category, predict)
    predictor: Any = load_predictor(str(cfg.ckpt), flip_test=cfg.get("flip_test"), device=device)
    if runtime != "torch":
        from landmarks.export.predictor import onnx_predictor

        predictor = onnx_predictor(predictor, runtime, str(cfg.out), onnx=cfg.get("onnx"))
    from landmarks.inference.instances import DuplicateFilter, FrameTracker
    from landmarks.inference.sources import is_video, source_fps

    track = cfg.get("track", "auto")
    track = is_video(str(cfg.source)) if str(track) == "auto" else bool(track)
    # the source's frame rate, read once: the tracker's filters and the overlay video use it
    fps = float(cfg.fps) if cfg.get("fps") else (source_fps(str(cfg.source)) or 25.0)
    tracker = (
        FrameTracker(
            predictor.tasks,
            fps=fps,
            smoothing=_smoothing(cfg),
            min_similarity=float(cfg.get("track_min_similarity", 0.3)),
            max_gap=int(cfg.get("track_max_gap", 10)),
            similarity=str(cfg.get("track_similarity") or "iou"),
        )
        if track
        else None
    )
    if tracker is None and str(cfg.get("smoothing", {}).get("offline", "none")) != "none":
        log.warning(
            "infer: smoothing.offline=%s smooths tracks; this run has none (track=true adds them)",
            cfg.smoothing.offline,
        )
    detector = _detector(cfg, predictor.box_category)
    return run_inference(
        predictor,
        source=str(cfg.source),
        out_dir=str(cfg.out),
        det_file=cfg.get("det_file"),
        det_score_thr=float(cfg.get("det_score_thr", 0.3)),
        draw_heatmaps=bool(cfg.get("heatmaps", False)),
        kpt_thr=float(cfg.get("kpt_thr", 0.3)),
        face_detector=detector,
        pnp=bool(cfg.get("pnp", False)),
        pnp_focal=float(cfg.pnp_focal) if cfg.get("pnp_focal") is not None else None,
        on_bad_image=str(cfg.get("on_bad_image") or "skip"),
        no_box=str(cfg.get("no_box") or "image"),
        duplicates=DuplicateFilter(predictor.tasks, str(cfg.get("nms") or "none"), float(cfg.get("nms_thr", 0.9))),
        tracker=tracker,
        fps=fps,
    )


def _detector(cfg: DictConfig, box_category: str | None) -> Any:
    """The boxes of ``infer.py`` without ``det_file``: ``detector`` = ``hog`` (OpenCV's people detector),
    ``haar`` (faces), ``none``, a detection checkpoint (``*.ckpt`` with a ``detect`` task), or ``null``
    (the ``face_detector`` rule: Haar for face models)."""
    kind = cfg.get("detector")
    if kind is None:
        return _face_detector(str(cfg.get("face_detector") or "none"), box_category)
    kind = str(kind)
    if kind in ("haar", "none"):
        return _face_detector(kind, box_category)
    from landmarks.inference import box_detectors

    if kind == "hog":
        return box_detectors.HogPersonDetector(score_thr=float(cfg.get("det_score_thr", 0.3)))
    if kind.endswith(".ckpt") or os.path.isfile(kind):
        return load_detector(
            kind,
            category=box_category,
            score_thr=float(cfg.get("det_score_thr", 0.3)),
            device=str(cfg.get("device") or "auto"),
        )
    raise ValueError(f"detector: expected hog, haar, none or a detection checkpoint file, got {kind!r}")


def _face_detector(kind: str, box_category: str | None) -> Any:
    """The ``face_detector`` option (``auto`` | ``haar`` | ``none``) as a detector or ``None``.

    A detector is used only for a model whose boxes hold what it finds: ``box_category`` (the
    model's :attr:`landmarks.task.Task.box_category`) equal to the detector's ``category``.
    """
    from landmarks.inference.face_detect import HaarFaceDetector, haar_available

    if kind not in ("auto", "haar", "none"):
        raise ValueError(f"face_detector: expected 'auto', 'haar' or 'none', got {kind!r}")
    if kind == "none" or box_category != HaarFaceDetector.category:
        if kind == "haar":
            log.warning(
                "face_detector=haar ignored: the model's boxes hold %s, not %s (Task.box_category)",
                repr(box_category) if box_category else "no declared category",
                repr(HaarFaceDetector.category),
            )
        return None
    ok, why = haar_available()
    if kind == "auto" and not ok:
        log.warning("face_detector=auto: %s; using the whole image as the face box", why)
        return None
    return HaarFaceDetector()


def export(cfg: DictConfig) -> dict[str, str]:
    """Checkpoint -> ``model.onnx`` (decoding inside) + ``model.json`` (:mod:`landmarks.export`).

    ``out`` (default: ``<checkpoint folder>/export``), ``opset``, ``flip_test`` (in the graph),
    ``quantize`` (``none`` | ``int8``, calibrated on ``calibration_images`` training crops).
    """
    from landmarks.checkpoint import load_checkpoint
    from landmarks.export import checkpoint_metrics, export_model
    from landmarks.export.quantize import calibration_crops

    ckpt = str(cfg.ckpt)
    model, full = load_model(ckpt)
    out = str(cfg.get("out") or os.path.join(os.path.dirname(os.path.abspath(ckpt)), "export"))
    quantize = str(cfg.get("quantize") or "none")
    calibration: Callable[[], Any] | None = None
    if quantize == "int8":

        def _calibration() -> Any:
            return calibration_crops(build_data(full, model), int(cfg.get("calibration_images") or 64))

        calibration = _calibration

    return export_model(
        model,
        out,
        opset=int(cfg.get("opset") or 17),
        flip_test=bool(cfg.get("flip_test", False)),
        quantize=quantize,
        metrics=checkpoint_metrics(load_checkpoint(ckpt), ckpt),
        checkpoint=ckpt,
        calibration=calibration,
    )


def _write_json(path: str, data: Any) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def demo(cfg: DictConfig) -> dict[str, Any]:
    """The main job: train on synthetic data, evaluate, predict on held-out and real images.

    Writes under ``cfg.output_dir``: ``metrics.json``, ``training_curves.png``,
    ``val_overlays/``, ``heldout/`` and ``realdata/`` (overlays + predictions.json).
    """
    from landmarks.inference.loop import run_inference

    out_dir = str(cfg.output_dir)
    train_metrics = train(cfg)
    ckpt = os.path.join(out_dir, "checkpoints", "best.ckpt")
    if not os.path.isfile(ckpt):
        ckpt = os.path.join(out_dir, "checkpoints", "last.ckpt")
    eval_cfg = OmegaConf.create({"ckpt": ckpt, "out": out_dir})
    metrics = evaluate(eval_cfg)
    predictor = load_predictor(ckpt)
    heldout_dir = os.path.join(out_dir, "heldout")
    source = instantiate(cfg.data.val, num_images=int(cfg.demo.heldout_images))
    det_file = _write_gt_boxes(source, os.path.join(heldout_dir, "images"))
    written = {"heldout": run_inference(predictor, os.path.join(heldout_dir, "images"), heldout_dir, det_file=det_file)}
    real = str(cfg.demo.realdata_coco)
    if os.path.isdir(real):
        dets = os.path.join(real, "test_coco_det_AP_H_56.json")
        written["realdata"] = run_inference(
            predictor,
            real,
            os.path.join(out_dir, "realdata"),
            det_file=dets if os.path.isfile(dets) else None,
            det_score_thr=0.5,
        )
    else:
        log.warning("demo: %s not found; skipping predictions on real photographs", real)
    summary = {"train": train_metrics, "evaluate": metrics, "predictions": written, "checkpoint": ckpt}
    _write_json(os.path.join(out_dir, "demo_summary.json"), summary)
    return summary


def _write_gt_boxes(source: Any, image_dir: str) -> str:
    """Render the held-out images and their boxes (COCO results format) for inference."""
    from landmarks import viz

    os.makedirs(image_dir, exist_ok=True)
    dets = []
    for i in range(len(source)):
        image, people = source.render(i)
        viz.save_image(os.path.join(image_dir, f"{i:06d}.png"), image)
        dets += [{"image_id": i, "category_id": 1, "bbox": [float(v) for v in p["bbox"]], "score": 1.0} for p in people]
    path = os.path.join(os.path.dirname(image_dir), "gt_boxes.json")
    _write_json(path, dets)  # type: ignore[arg-type]
    return path
