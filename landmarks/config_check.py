"""Config checks before anything is built: unknown keys and values of the wrong type.

Without them a stray key (``+data.batch_sizee=3``, a typo in an experiment file) fails deep inside
``instantiate`` with a ``TypeError`` that lists nothing accepted, and a value of the wrong type
(``trainer.max_steps=abc``) fails far away (``'>' not supported ...``). Values are checked against
the target's signature annotations (``int``, ``float``, ``bool``, ``str``, ``Literal``, unions,
lists/tuples/dicts); what cannot be judged (classes, callables, ``Any``, ``null``, unresolvable
interpolations, nested ``_target_`` nodes) passes. Works on plain trees: :func:`landmarks.run.check_config`
turns a Hydra config into one.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from landmarks.config_targets import HYDRA_KEYS, accepted_keys, annotations

UNKNOWN = object()
"""What a ``resolved(path)`` callback returns for a value it cannot resolve."""

TOP_LEVEL_TYPES: dict[str, Any] = {"seed": int, "threads": int}


def check_top_level(keys: Any, resolved: Callable[[str], Any]) -> None:
    """The run's own top-level keys (``seed``, ``threads``) against :data:`TOP_LEVEL_TYPES`."""
    for key, expected in TOP_LEVEL_TYPES.items():
        value = resolved(key) if key in keys else None
        if value is not None and value is not UNKNOWN and _fits(value, expected) is False:
            raise TypeError(
                f"config key '{key}': expected {_describe(expected)}, got {value!r} ({type(value).__name__})"
            )


def check_tree(node: Any, path: str, resolved: Callable[[str], Any] | None = None) -> None:
    """Every key of every ``_target_`` node of ``node`` is an argument of its target, of the annotated type.

    Args:
        node: the unresolved plain config tree (interpolations as strings).
        path: the key path of ``node`` ("" at the top).
        resolved: ``resolved(path)`` gives the value a target will receive (interpolations resolved),
            or :data:`UNKNOWN`; ``None`` checks keys only.

    Raises:
        ValueError: naming the key, the target, the closest accepted key and all accepted keys.
        TypeError: naming the key, the expected type, the target and the value found.
    """
    if isinstance(node, list):
        for i, item in enumerate(node):
            check_tree(item, f"{path}[{i}]", resolved)
        return
    if not isinstance(node, dict):
        return
    target = node.get("_target_")
    accepted = accepted_keys(target) if isinstance(target, str) else None
    if accepted is not None:
        for key in node:
            if key not in HYDRA_KEYS and key not in accepted:
                close = difflib.get_close_matches(str(key), sorted(accepted), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ValueError(
                    f"config key '{path + '.' if path else ''}{key}' is not an argument of {target}{hint}; "
                    f"expected one of: {', '.join(sorted(accepted))}"
                )
    hints = annotations(target) if isinstance(target, str) and resolved is not None else {}
    for key, value in node.items():
        full = f"{path + '.' if path else ''}{key}"
        if key in hints and "[" not in full:  # list items have no OmegaConf.select path here
            _check_value(full, value, hints[key], target, resolved)
        check_tree(value, full, resolved)


def _check_value(full: str, value: Any, expected: Any, target: str | None, resolved: Any) -> None:
    if isinstance(value, dict) and "_target_" in value:
        return
    value = resolved(full)  # interpolations (also inside lists) as the target will receive them
    if value is None or value is UNKNOWN or (isinstance(value, dict) and "_target_" in value):
        return
    if _fits(value, expected) is False:
        raise TypeError(
            f"config key '{full}': expected {_describe(expected)} (argument '{full.rsplit('.', 1)[-1]}' of "
            f"{target}), got {value!r} ({type(value).__name__})"
        )


def _fits(value: Any, expected: Any) -> bool | None:
    """Whether a config value fits an annotation: ``True``, ``False``, or ``None`` (cannot judge)."""
    import collections.abc as abc
    import types
    import typing

    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any:
        return None
    if origin in (typing.Union, types.UnionType):
        verdicts = [_fits(value, a) for a in args]
        return not (verdicts and all(v is False for v in verdicts))
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if origin in (list, tuple, abc.Sequence, abc.MutableSequence) or expected in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        inner = [a for a in args if a is not Ellipsis]
        if len(set(inner)) == 1:
            return not any(_fits(v, inner[0]) is False for v in value)
        return True
    if origin in (dict, abc.Mapping, abc.MutableMapping) or expected is dict:
        return isinstance(value, dict)
    return None


def _describe(expected: Any) -> str:
    import types
    import typing

    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(expected)
        literals = [v for a in args if typing.get_origin(a) is typing.Literal for v in typing.get_args(a)]
        rest = [_describe(a) for a in args if typing.get_origin(a) is not typing.Literal]
        return " or ".join(([_describe(typing.Literal[tuple(literals)])] if literals else []) + rest)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(expected))
    if expected is type(None):
        return "null"
    if origin is None and hasattr(expected, "__name__"):
        return str(expected.__name__)
    return repr(expected).replace("typing.", "").replace("collections.abc.", "")
