"""Flip pairs derived from left/right keypoint names, checked both ways.

A horizontal flip swaps the left and right keypoints of an object; a wrong pair trains a model
that silently confuses sides. Users' tools seldom store the pairs, but their names do. Side
markers recognised (case kept: ``left`` <-> ``right``, ``Left`` <-> ``Right``, ``LEFT`` <->
``RIGHT``, ``l`` <-> ``r``, ``L`` <-> ``R``):

===================  =============================================  ======
style                examples                                       kind
===================  =============================================  ======
word prefix          ``left_eye``, ``Left-Eye``, ``leftEye``          strong
word suffix          ``eye_left``, ``eyeLeft``                        strong
word inside          ``front_left_paw``                               strong
letter + separator   ``l_eye``, ``eye_r``, ``hand_L_tip``              strong
word, no separator   ``leftear``, ``earright``                        weak
letter, camel case   ``LShoulder``, ``shoulderR``                     weak
===================  =============================================  ======

A name with a strong marker must find its mirror name; a weak marker without a mirror is
taken as part of the word (``LED``, ``leftover``; logged). Every pair must be
found both ways, and a name whose markers lead to two different existing names is ambiguous:
both are errors that list the names. To add a style, add a row to :data:`RULES`.
"""

from __future__ import annotations

import logging
import re

from landmarks.data.formats.errors import AnnotationError

LOGGER = logging.getLogger("landmarks")

_SWAP = {
    "left": "right",
    "right": "left",
    "Left": "Right",
    "Right": "Left",
    "LEFT": "RIGHT",
    "RIGHT": "LEFT",
    "l": "r",
    "r": "l",
    "L": "R",
    "R": "L",
}
_WORD = "left|right|Left|Right|LEFT|RIGHT"
_SEP = r"[_\-. ]"

#: ``(pattern with one group 'side', strong)``; every match is a candidate side marker.
RULES: tuple[tuple[re.Pattern[str], bool], ...] = (
    (re.compile(rf"^(?P<side>{_WORD})(?={_SEP}|$)"), True),  # left_eye
    (re.compile(r"^(?P<side>left|right|Left|Right)(?=[A-Z0-9])"), True),  # leftEye, LeftEye
    (re.compile(rf"(?<={_SEP})(?P<side>{_WORD})$"), True),  # eye_left
    (re.compile(r"(?<=[a-z0-9])(?P<side>Left|Right)$"), True),  # eyeLeft
    (re.compile(rf"(?<={_SEP})(?P<side>{_WORD})(?={_SEP})"), True),  # front_left_paw
    (re.compile(rf"^(?P<side>[lrLR])(?={_SEP})"), True),  # l_eye
    (re.compile(rf"(?<={_SEP})(?P<side>[lrLR])$"), True),  # eye_r
    (re.compile(rf"(?<={_SEP})(?P<side>[lrLR])(?={_SEP})"), True),  # hand_L_tip
    (re.compile(r"^(?P<side>left|right)(?=[a-z])"), False),  # leftear
    (re.compile(r"(?<=[a-z])(?P<side>left|right)$"), False),  # earleft
    (re.compile(r"^(?P<side>[LR])(?=[A-Z][a-z])"), False),  # LShoulder
    (re.compile(r"(?<=[a-z])(?P<side>[LR])$"), False),  # shoulderR
)


def mirror_candidates(name: str) -> list[tuple[str, bool]]:
    """Every ``(mirrored name, strong)`` obtained by swapping one side marker of ``name``."""
    out: list[tuple[str, bool]] = []
    for pattern, strong in RULES:
        for m in pattern.finditer(name):
            a, b = m.span("side")
            mirrored = name[:a] + _SWAP[m.group("side")] + name[b:]
            if (mirrored, strong) not in out:
                out.append((mirrored, strong))
    return out


def derive_flip_pairs(names: list[str] | tuple[str, ...], source: str = "<names>") -> list[tuple[str, str]]:
    """Left/right pairs of ``names``, each found both ways.

    Args:
        names: the keypoint names.
        source: the file the names came from (for the error message).

    Returns:
        Pairs ``(name, mirror name)``, ordered by the first of the two in ``names``.

    Raises:
        AnnotationError: a name with a strong side marker whose mirror name is missing, a name
            whose markers lead to more than one existing name (ambiguous), or a pair not found
            both ways. The message lists every such name.
    """
    present = set(names)
    mirror: dict[str, str] = {}
    ambiguous: list[str] = []
    unmatched: list[str] = []
    for name in names:
        cands = mirror_candidates(name)
        found = sorted({m for m, _ in cands if m in present and m != name})
        if len(found) > 1:
            ambiguous.append(f"{name} -> {' / '.join(found)}")
        elif found:
            mirror[name] = found[0]
        elif any(strong for _, strong in cands):
            unmatched.append(f"{name} (no {' or '.join(m for m, s in cands if s)})")
        elif cands:
            LOGGER.info("%s: '%s' read as a name without a side (no %s)", source, name, cands[0][0])
    if ambiguous:
        raise AnnotationError(
            source,
            "keypoint names",
            "each left/right name to mirror exactly one other name "
            "(rename the keypoints or give flip_pairs in the layout)",
            f"ambiguous names: {'; '.join(ambiguous)}",
        )
    one_way = [f"{a} -> {b} but {b} -> {mirror.get(b, 'nothing')}" for a, b in mirror.items() if mirror.get(b) != a]
    if one_way:
        raise AnnotationError(
            source, "keypoint names", "every left/right pair found both ways", f"one-way pairs: {'; '.join(one_way)}"
        )
    if unmatched:
        raise AnnotationError(
            source,
            "keypoint names",
            "a mirror name for every name with a left/right marker",
            f"no counterpart for: {', '.join(unmatched)}",
        )
    pairs: list[tuple[str, str]] = []
    done: set[str] = set()
    for name in names:
        if name in mirror and name not in done:
            pairs.append((name, mirror[name]))
            done.update((name, mirror[name]))
    return pairs
