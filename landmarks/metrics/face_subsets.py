"""Face NME per annotated subset: the WFLW attribute protocol.

WFLW (Wu et al., "Look at Boundary: A Boundary-Aware Face Alignment Algorithm", CVPR 2018)
flags every test face with six binary attributes (large pose, expression, illumination,
make-up, occlusion, blur) and reports the NME of the full test set and of each flagged
subset (its ``list_98pt_test_{largepose,expression,...}.txt`` files are exactly those
faces). :func:`nme_by_attribute` takes per-face NMEs (e.g. from
:func:`landmarks.metrics.face.face_nme`) and the flags that
:class:`landmarks.data.formats.wflw.WflwSource` reads (``source.attributes``, in instance
order). To add another subset protocol, write one more pure function on ``(N,)`` NMEs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["nme_by_attribute"]


def nme_by_attribute(nmes: np.ndarray, attributes: np.ndarray, names: Sequence[str]) -> dict[str, tuple[float, int]]:
    """Mean NME of the full set and of each attribute subset (faces whose flag is non-zero).

    Faces with a nan NME (e.g. no labelled normaliser) are left out of every mean and
    counted under ``"excluded"``, so nothing is dropped silently.

    Args:
        nmes: ``(N,)`` per-face NMEs.
        attributes: ``(N, A)`` flags, 0 or 1 (WFLW: A = 6).
        names: ``A`` subset names, in column order (WFLW: ``WFLW_ATTRIBUTES``).

    Returns:
        ``{"full": (mean, count), names[0]: (mean, count), ..., "excluded": (nan, count)}``;
        the mean is nan for an empty subset.

    Raises:
        ValueError: mismatched lengths, or ``len(names) != A``.
    """
    e = np.asarray(nmes, dtype=np.float64).ravel()
    flags = np.asarray(attributes)
    if flags.ndim != 2 or flags.shape[0] != e.shape[0]:
        raise ValueError(
            f"nme_by_attribute: attributes must be (N, A) with N = {e.shape[0]} NMEs, got shape {flags.shape}"
        )
    if len(names) != flags.shape[1]:
        raise ValueError(f"nme_by_attribute: {len(names)} names for {flags.shape[1]} attribute columns")
    usable = ~np.isnan(e)

    def mean(sel: np.ndarray) -> tuple[float, int]:
        return (float(e[sel].mean()) if sel.any() else float("nan"), int(sel.sum()))

    out = {"full": mean(usable)}
    for j, name in enumerate(names):
        out[str(name)] = mean(usable & (flags[:, j] != 0))
    out["excluded"] = (float("nan"), int((~usable).sum()))
    return out
