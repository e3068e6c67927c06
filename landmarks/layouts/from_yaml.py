"""A keypoint layout declared in one YAML file: :func:`load_spec` -> :class:`KeypointSpec`.

A custom COCO-style data set (animals, tools, a new face layout) needs no Python: its
layout is a plain YAML file (``docs/custom_dataset.md`` explains every field)::

    name: tool7
    keypoints: [tip, left_barb, right_barb, neck, left_fin, right_fin, tail]
    flip_pairs: [[left_barb, right_barb], [left_fin, right_fin]]   # names or 0-based indices
    skeleton: [[tip, left_barb], [tip, right_barb], [neck, tail]]  # names or 0-based indices
    sigmas: {tip: 0.03, left_barb: 0.04, ...}                       # or a list of K numbers
    upper_body: [tip, left_barb, right_barb, neck]                  # optional
    torso_pair: [neck, tail]                                         # optional: PDJ's torso diameter

and Hydra configs build the spec with
``spec: {_target_: landmarks.layouts.from_yaml.load_spec, path: my_layout.yaml}``.

OKS sigmas follow the COCO keypoint evaluation (https://cocodataset.org/#keypoints-eval,
section 1.3): ``sigma_i`` is the standard deviation of human annotations of keypoint ``i``
relative to the object scale ``s = sqrt(area)``, ``sigma_i^2 = E[d_i^2 / s^2]``; OKS uses
``kappa_i = 2 sigma_i``. The values written here are the ``sigma_i`` themselves, the numbers
pycocotools takes as ``kpt_oks_sigmas`` (0.026 for the COCO nose). Unknown sigmas can be
measured with ``scripts/estimate_sigmas.py`` (:mod:`landmarks.metrics.sigmas`); when the file
has none, :data:`DEFAULT_SIGMA` is used for every keypoint, with a warning.

Every problem raises :class:`~landmarks.data.formats.errors.AnnotationError` naming the
YAML file, the field and what was expected, before anything is trained.

(Over 300 lines: one loader whose start-up checks (names, flip pairs, skeleton, sigmas, torso pair) each name the YAML field they check.)
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import yaml

from landmarks.data.formats.errors import AnnotationError
from landmarks.layouts.spec import KeypointSpec

LOGGER = logging.getLogger("landmarks")

#: OKS sigma used for every keypoint when the layout file declares none. 0.05 lies inside
#: the range of the COCO person sigmas (0.025 for the eyes .. 0.107 for the hips, mean 0.067),
#: a little below their mean because custom COCO-style files usually store the *box* area
#: as ``area``, which is larger than the segment area COCO normalises by. It is a
#: placeholder, not a measurement: OKS-AP computed with it is comparable only between runs
#: that use the same value. Measure real sigmas with ``scripts/estimate_sigmas.py``.
DEFAULT_SIGMA = 0.05

_WARNED: set[str] = set()

#: Top-level fields a layout file may hold.
FIELDS = ("name", "keypoints", "flip_pairs", "skeleton", "sigmas", "upper_body", "norm_pair", "torso_pair")


def load_spec(path: str, warn_default_sigmas: bool = True) -> KeypointSpec:
    """Read and check a keypoint layout YAML file.

    Args:
        path: the layout file (see the module docstring for its fields).
        warn_default_sigmas: warn (``warnings`` + the ``landmarks`` logger) when the file has
            no ``sigmas`` and :data:`DEFAULT_SIGMA` is used.

    Returns:
        The :class:`KeypointSpec`, with ``source`` set to ``path``.

    Raises:
        AnnotationError: the file is missing or not YAML, or a field is wrong: an unknown
            top-level field (with the closest known one), missing/duplicate keypoint names, a
            pair naming an unknown keypoint or an index outside ``[0, K)``, a keypoint in two
            flip pairs, a sigma count other than K, a sigma missing for a name, or a sigma
            that is not a positive number.
    """
    path = str(path)
    doc = _read(path)
    unknown = [key for key in doc if key not in FIELDS]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, FIELDS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise AnnotationError(
            path, key, f"one of the layout fields {', '.join(FIELDS)}", f"unknown field '{key}'{hint}"
        )
    names = _names(path, doc.get("keypoints"))
    index = {n: i for i, n in enumerate(names)}
    flip_pairs = _pairs(path, "flip_pairs", doc.get("flip_pairs"), index)
    seen: dict[int, int] = {}
    for p, (i, j) in enumerate(flip_pairs):
        for k in (i, j):
            if k in seen:
                raise AnnotationError(
                    path,
                    f"flip_pairs[{p}]",
                    "each keypoint in at most one flip pair",
                    f"'{names[k]}' also in flip_pairs[{seen[k]}]",
                )
            seen[k] = p
    norm_pair = _pairs(path, "norm_pair", [doc["norm_pair"]], index)[0] if doc.get("norm_pair") else ()
    torso_pair = (
        _pairs(path, "torso_pair", [doc["torso_pair"]], index, allow_same=False)[0] if doc.get("torso_pair") else ()
    )
    return KeypointSpec(
        name=str(doc.get("name") or os.path.splitext(os.path.basename(path))[0]),
        names=names,
        flip_pairs=flip_pairs,
        skeleton=_pairs(path, "skeleton", doc.get("skeleton"), index, allow_same=False),
        sigmas=_sigmas(path, doc, names, warn_default_sigmas),
        norm_pair=norm_pair,
        torso_pair=torso_pair,
        upper_body=tuple(
            _ref(path, f"upper_body[{n}]", r, index) for n, r in enumerate(_list(path, "upper_body", doc))
        ),
        source=path,
    )


# ------------------------------------------------------------------ fields
def _read(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        raise AnnotationError(
            path,
            "<file>",
            "an existing keypoint layout YAML file (a checkpoint refers to "
            "its layout by this path: keep the file there or pass an absolute path)",
            "no such file",
        )
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except yaml.YAMLError as err:
        raise AnnotationError(path, "<yaml>", "valid YAML", str(err).replace("\n", " ")) from None
    if not isinstance(doc, dict):
        raise AnnotationError(path, "<top level>", "a mapping of layout fields", type(doc).__name__)
    return doc


def _list(path: str, field: str, doc: dict[str, Any]) -> list[Any]:
    value = doc.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise AnnotationError(path, field, "a list", repr(value))
    return value


def _names(path: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise AnnotationError(path, "keypoints", "a non-empty list of keypoint names (K entries)", repr(value))
    return check_keypoint_names(path, "keypoints", value)


def check_keypoint_names(file: str, field: str, names: Sequence[Any]) -> tuple[str, ...]:
    """``names`` as a tuple when each is a non-blank string and none repeats.

    Args:
        file: the file that lists them, for the message.
        field: the field that lists them, e.g. ``"keypoints"``; a message names ``field[i]``.
        names: the names as read.

    Raises:
        AnnotationError: a name that is not a non-blank string, or one given twice.
    """
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise AnnotationError(file, f"{field}[{i}]", "a non-empty keypoint name", repr(name))
        if name in seen:
            raise AnnotationError(
                file,
                f"{field}[{i}]",
                "unique keypoint names",
                f"'{name}' again (first at {field}[{seen[name]}])",
            )
        seen[name] = i
    return tuple(names)


def _ref(path: str, field: str, ref: Any, index: dict[str, int]) -> int:
    """A keypoint given by name or by 0-based index -> its index."""
    k = len(index)
    if isinstance(ref, bool) or not isinstance(ref, (int, str)):
        raise AnnotationError(path, field, "a keypoint name or a 0-based index", repr(ref))
    if isinstance(ref, str):
        if ref not in index:
            close = difflib.get_close_matches(ref, list(index), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise AnnotationError(
                path, field, f"one of the names in 'keypoints' ({', '.join(index)})", f"unknown keypoint '{ref}'{hint}"
            )
        return index[ref]
    if not 0 <= ref < k:
        raise AnnotationError(path, field, f"an index in [0, {k}) (K = {k} names in 'keypoints')", ref)
    return ref


def _pairs(
    path: str, field: str, value: Any, index: dict[str, int], allow_same: bool = False
) -> tuple[tuple[int, int], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise AnnotationError(path, field, "a list of [a, b] pairs", repr(value))
    pairs = []
    for p, pair in enumerate(value):
        where = f"{field}[{p}]" if field not in ("norm_pair", "torso_pair") else field
        if not isinstance(pair, list) or len(pair) != 2:
            raise AnnotationError(path, where, "a pair [a, b] of keypoint names or indices", repr(pair))
        i, j = (_ref(path, where, r, index) for r in pair)
        if i == j and not allow_same:
            raise AnnotationError(path, where, "two different keypoints", f"{pair} names one keypoint twice")
        pairs.append((i, j))
    return tuple(pairs)


def _sigmas(path: str, doc: dict[str, Any], names: tuple[str, ...], warn: bool) -> tuple[float, ...]:
    k = len(names)
    if "sigmas" not in doc:
        if not warn:
            return (DEFAULT_SIGMA,) * k
        message = (
            f"{path}: no 'sigmas' field; using DEFAULT_SIGMA = {DEFAULT_SIGMA} for all {k} keypoints "
            "(OKS-AP runs but is not comparable with other sigmas; measure them with "
            "scripts/estimate_sigmas.py)"
        )
        warnings.warn(message, UserWarning, stacklevel=3)
        if path not in _WARNED:  # the sources and the task each read the file: log once
            _WARNED.add(path)
            LOGGER.warning(message)
        return (DEFAULT_SIGMA,) * k
    value = doc["sigmas"]
    if isinstance(value, dict):
        extra = [str(n) for n in value if n not in names]
        if extra:
            _ref(path, "sigmas", extra[0], {n: i for i, n in enumerate(names)})  # raises with a hint
        missing = [n for n in names if n not in value]
        if missing:
            raise AnnotationError(
                path, "sigmas", f"a sigma for every keypoint name ({k})", f"none for {', '.join(missing)}"
            )
        items = [(f"sigmas.{n}", value[n]) for n in names]
    elif isinstance(value, list):
        if len(value) != k:
            raise AnnotationError(
                path, "sigmas", f"K = {k} values, one per name in 'keypoints'", f"{len(value)} values"
            )
        items = [(f"sigmas[{i}] ({n})", v) for i, (n, v) in enumerate(zip(names, value))]
    else:
        raise AnnotationError(path, "sigmas", "a list of K numbers or a mapping name -> sigma", repr(value))
    out = []
    for field, v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < float("inf"):
            raise AnnotationError(path, field, "a positive number (COCO person sigmas are 0.025 .. 0.107)", repr(v))
        out.append(float(v))
    return tuple(out)


# ------------------------------------------------------------------ writing
def write_sigmas(path: str, sigmas: dict[str, float], comment: str = "") -> KeypointSpec:
    """Replace (or add) the ``sigmas`` field of a layout file, keeping the rest of its text.

    The new field is a mapping ``name: sigma`` in the order of ``keypoints``; other fields and
    comments are left as they are. The file is read back with :func:`load_spec`.

    Args:
        path: the layout YAML file.
        sigmas: ``{keypoint name: sigma}``, one entry per keypoint of the file.
        comment: written as a YAML comment on the ``sigmas:`` line (e.g. where they came from).

    Returns:
        The layout as read back from the rewritten file.
    """
    spec = load_spec(path, warn_default_sigmas=False)
    missing = [n for n in spec.names if n not in sigmas]
    if missing:
        raise ValueError(f"write_sigmas({path}): no sigma for {', '.join(missing)}")
    with open(path) as f:
        lines = f.read().splitlines()
    start = next((i for i, line in enumerate(lines) if line.split("#")[0].rstrip().startswith("sigmas:")), len(lines))
    end = start + 1
    while end < len(lines) and (lines[end][:1] in (" ", "\t", "-") or not lines[end].strip()):
        end += 1
    block = ["sigmas:" + (f"  # {comment}" if comment else "")]
    block += [f"  {_yaml_key(name)}: {float(sigmas[name]):.4f}" for name in spec.names]
    lines[start:end] = block + ([""] if end < len(lines) else [])
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    return load_spec(path)


def _yaml_key(name: str) -> str:
    """``name`` as a YAML mapping key: plain when it reads back unchanged, else double-quoted."""
    try:
        if yaml.safe_load(f"{name}: 0") == {name: 0}:
            return name
    except yaml.YAMLError:
        pass
    return json.dumps(name)


LOAD_SPEC_TARGET = f"{__name__}.load_spec"


def inline_spec_config(node: Any) -> Any:
    """``node`` with every ``load_spec`` config replaced by the layout's contents.

    A checkpoint stores its resolved config; inlining the layout there (as a
    ``landmarks.layouts.spec.KeypointSpec`` node) makes the checkpoint self-contained: evaluate
    and infer rebuild the model without the YAML file. Walks plain dicts and lists.
    """
    if isinstance(node, dict):
        if node.get("_target_") == LOAD_SPEC_TARGET:
            spec = load_spec(str(node["path"]), warn_default_sigmas=False)
            return {"_target_": "landmarks.layouts.spec.KeypointSpec", **spec.to_dict()}
        return {k: inline_spec_config(v) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_spec_config(v) for v in node]
    return node
