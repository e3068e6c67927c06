"""What a config's ``_target_`` strings point at, and stored configs written by older versions.

A config node names a class or function by its dotted path (``_target_``). This module resolves such
a path with :mod:`importlib` (no Hydra: ``landmarks/`` stays free of it outside ``run.py``), lists
the keyword arguments the target accepts and their annotations (for :mod:`landmarks.config_check`),
and upgrades the resolved config stored in an older checkpoint so that it still builds:

* modules that moved (``landmarks.keypoints`` -> ``landmarks.layouts.spec``, ...) are renamed in
  every ``_target_`` (:data:`MOVED_MODULES`);
* keys that a target no longer accepts (e.g. ``pck_thr`` of a task, now a metric's argument) are
  dropped with one warning naming each, so the model and its weights load; the task then uses its
  default metrics.

When a module moves, add its old and new dotted paths to :data:`MOVED_MODULES`.
"""

# no ``from __future__ import annotations`` here: the function :func:`annotations` would rebind that name
import importlib
import inspect
import logging
import typing
from typing import Any

log = logging.getLogger("landmarks")

_S = "landmarks.data.synthetic"
MOVED_MODULES: dict[str, str] = {
    "landmarks.keypoints": "landmarks.layouts.spec",
    "landmarks.keypoint_yaml": "landmarks.layouts.from_yaml",
    "landmarks.face_layouts": "landmarks.layouts.face",
    "landmarks.hand_layouts": "landmarks.layouts.hand",
    "landmarks.predictor": "landmarks.inference.predictor",
    "landmarks.face_detect": "landmarks.inference.face_detect",
    "landmarks.pnp": "landmarks.inference.pnp",
    "landmarks.codecs.euler": "landmarks.codecs.head_pose",
    "landmarks.codecs.angle_bins": "landmarks.codecs.head_pose_bins",
    "landmarks.losses.pose": "landmarks.losses.head_pose",
    "landmarks.heads.euler": "landmarks.heads.head_pose",
    "landmarks.limbs": "landmarks.codecs.limbs",
    f"{_S}.body": f"{_S}.body.renderer",
    f"{_S}.hand": f"{_S}.hand.renderer",
    f"{_S}.face": f"{_S}.face.renderer",
    f"{_S}.source": f"{_S}.common.source",
    f"{_S}.tool_example": f"{_S}.common.tool_example",
}
"""Old dotted module path -> new one, for ``_target_`` strings in stored configs."""

HYDRA_KEYS = frozenset({"_target_", "_partial_", "_convert_", "_recursive_", "_args_"})


def resolve_target(path: str) -> Any:
    """The object a dotted path names (``package.module.attr[.attr...]``).

    Raises:
        ImportError: no module prefix of ``path`` imports, or the attribute chain is missing.
    """
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError as err:
            raise ImportError(f"'{path}': {err}") from err
        return obj
    raise ImportError(f"'{path}': no importable module in this path")


def accepted_keys(target: str) -> set[str] | None:
    """Keyword names ``target`` accepts; ``None`` if it takes ``**kwargs`` or cannot be inspected."""
    try:
        params = inspect.signature(resolve_target(target)).parameters.values()
    except Exception:  # noqa: BLE001 - an unknown target is reported when it is built
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def annotations(target: str) -> dict[str, Any]:
    """``{argument: annotation}`` of ``target`` (empty when it cannot be inspected)."""
    try:
        obj = resolve_target(target)
        return typing.get_type_hints(obj.__init__ if inspect.isclass(obj) else obj)
    except Exception:  # noqa: BLE001 - unknown targets / unresolvable annotations: nothing to check
        return {}


def renamed_target(target: str) -> str:
    """``target`` itself when it resolves, else with a moved module prefix replaced (longest first)."""
    if resolve_ok(target):
        return target
    for old in sorted(MOVED_MODULES, key=len, reverse=True):
        if target.startswith(old + "."):
            return f"{MOVED_MODULES[old]}.{target[len(old) + 1 :]}"
    return target


def resolve_ok(path: str) -> bool:
    """Whether :func:`resolve_target` finds ``path``."""
    try:
        resolve_target(path)
    except ImportError:
        return False
    return True


def upgrade_stored_config(config: Any, source: str = "checkpoint", path: str = "") -> Any:
    """A stored (plain, resolved) config made buildable by this version; see the module docstring.

    Args:
        config: the plain dict/list tree stored in a checkpoint (``landmarks_config``).
        source: named in the warnings (the checkpoint file).
        path: the key path of ``config`` (recursion).

    Returns:
        A new tree; ``config`` is not modified.
    """
    if isinstance(config, list):
        return [upgrade_stored_config(v, source, f"{path}[{i}]") for i, v in enumerate(config)]
    if not isinstance(config, dict):
        return config
    out = {k: upgrade_stored_config(v, source, f"{path + '.' if path else ''}{k}") for k, v in config.items()}
    target = out.get("_target_")
    if isinstance(target, str):
        new = renamed_target(target)
        if new != target:
            out["_target_"] = new
        accepted = accepted_keys(new)
        if accepted is not None:
            dropped = [k for k in out if k not in HYDRA_KEYS and k not in accepted]
            for key in dropped:
                log.warning(
                    "%s: config key '%s%s' (value %r) is no longer an argument of %s and is ignored; it was "
                    "written by an older version of landmarks",
                    source,
                    f"{path}." if path else "",
                    key,
                    out[key],
                    new,
                )
                del out[key]
    return out
