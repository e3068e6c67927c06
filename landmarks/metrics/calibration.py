"""Calibration of predicted keypoint scales: how often the errors fall within 1 and 2 scales.

For a model that predicts a distribution per keypoint (RLE, Li et al., ICCV 2021:
:class:`landmarks.rle_task.RLEKeypointTask`), ``prediction.extras["scale"]`` ``(B, K, 2)`` holds the
scale ``sigma`` of the fitted base distribution on the crop's x and y axes, image px. The error
``e = pred - gt`` (image px) is turned into the crop's axes (``R(-rot) e``, ``meta["rot"]`` degrees;
the identity for unrotated crops) and normalised per axis, ``r = e / sigma``. If the model is
calibrated, ``r`` follows the unit base distribution with independent axes, and:

* ``base="laplace"`` (``sigma`` the Laplace scale ``b``): ``|r_x|`` and ``|r_y|`` are Exp(1), so the
  2-D norm used here is the L1 norm ``d = |r_x| + |r_y|``, a sum of two Exp(1), i.e. Gamma(2, 1):
  ``P(d <= t) = 1 - (1 + t) e^-t`` (0.2642 at 1, 0.5940 at 2). The density is constant on
  ``d = const`` (its level sets are these diamonds), so this is the fitted distribution's own
  "within t scales" region. Per axis, ``P(|r| <= 1) = 1 - e^-1 = 0.6321``.
* ``base="gaussian"`` (``sigma`` the standard deviation): ``d = sqrt(r_x^2 + r_y^2)`` is Rayleigh:
  ``P(d <= t) = 1 - exp(-t^2 / 2)`` (0.3935 at 1, 0.8647 at 2). Per axis, ``erf(1 / sqrt 2) = 0.6827``.

:class:`ScaleCalibration` reports, over all labelled keypoints (``visible > 0``), for each threshold
``t`` of ``thresholds``: ``cover@t`` (the observed fraction with ``d <= t``) and ``cover@t_expected``
(the formula above), plus ``cover_axis@1`` / ``cover_axis@1_expected`` (per axis, both axes pooled).
A model with over-confident (too small) scales covers less than expected.

With the RLE flow the trained density of the unit residual is ``Q(r_x) Q(r_y) G(r)`` normalised, not
``Q`` alone (:mod:`landmarks.losses.rle`): the paper's flow learns how far the residuals are from
``Q``, so a scale that is "too wide" for ``Q`` may be exactly what the fitted density expects. When the
task hands the metric that density (:attr:`ScaleCalibration.fitted_log_density`, set by
:class:`landmarks.rle_task.RLEKeypointTask` from its loss), it also reports ``cover@t_fitted``, the
fitted distribution's own ``P(d <= t)``, integrated numerically (:class:`FittedResidualDensity`). Without a
flow the two expectations agree. The product ``Q G`` leaves the overall size of ``sigma`` free (a wide
``sigma`` with a narrow ``G`` fits the errors as well as the reverse): on trained synthetic bodies ``sigma``
grew until nearly every error lay within one scale, under ``Q`` and under the fitted density alike. So the
metric also reports ``cover_fitted@50`` and ``cover_fitted@90``: the observed fraction of errors inside the
fitted density's own regions of 50 % and 90 % mass (calibrated: 0.5 and 0.9), which do not depend on that size.

State: per-sample rows of a :class:`~landmarks.metrics.samples.SampleMetric`, gathered across
processes and computed once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from landmarks.codecs.rle import BASES
from landmarks.metrics.samples import KEYPOINT_FIELDS, ArrayLike, SampleMetric, keypoint_rows, meta_value
from landmarks.types import Prediction

__all__ = [
    "ScaleCalibration",
    "expected_axis_coverage",
    "expected_coverage",
    "FittedResidualDensity",
    "fitted_coverage",
    "normalised_error_norm",
]

LogDensity = Callable[[torch.Tensor], torch.Tensor]


def expected_coverage(t: float, base: str = "laplace") -> float:
    """``P(d <= t)`` for the 2-D norm ``d`` of a calibrated unit residual (module docstring)."""
    if base == "laplace":
        return 1.0 - (1.0 + t) * math.exp(-t)
    if base == "gaussian":
        return 1.0 - math.exp(-0.5 * t * t)
    raise ValueError(f"expected_coverage: base must be one of {BASES}, got {base!r}")


def expected_axis_coverage(t: float, base: str = "laplace") -> float:
    """``P(|r| <= t)`` on one axis: ``1 - e^-t`` (Laplace) or ``erf(t / sqrt 2)`` (Gaussian)."""
    if base == "laplace":
        return 1.0 - math.exp(-t)
    if base == "gaussian":
        return math.erf(t / math.sqrt(2.0))
    raise ValueError(f"expected_axis_coverage: base must be one of {BASES}, got {base!r}")


def normalised_error_norm(r: np.ndarray, base: str = "laplace") -> np.ndarray:
    """``(..., 2)`` normalised residuals -> ``(...)`` the base's 2-D norm: L1 (Laplace) or L2 (Gaussian)."""
    if base == "laplace":
        return np.abs(r).sum(axis=-1)
    if base == "gaussian":
        return np.sqrt((r * r).sum(axis=-1))
    raise ValueError(f"normalised_error_norm: base must be one of {BASES}, got {base!r}")


class FittedResidualDensity:
    """The normalised density ``exp(log_density(r))`` of 2-D unit residuals, on a grid.

    Midpoint rule on the square ``[-extent, extent]^2`` with cells of side ``step``: every cell's
    weight is the density at its centre, normalised to sum to 1. :meth:`coverage` is the weight
    inside ``d <= t`` (``d`` the base's norm, :func:`normalised_error_norm`), a cell on the boundary
    counting with the fraction of its ``subsamples^2`` sub-points inside (counting whole cells by
    their centre over-counted the diamond by 0.0018). ``extent`` 12 leaves out ``e^-12`` of a unit
    Laplace per axis; the default grid (800 x 800) matches the closed forms to 5e-4. A trained flow can
    hold nearly all the mass within a fraction of one scale: while all but ``1e-6`` of it lies within a
    quarter of the square, the grid zooms in (same number of cells, twice that reach).

    Args:
        log_density: ``r (N, 2) -> (N,)`` log density up to a constant (e.g.
            :meth:`landmarks.losses.rle.RLELoss.residual_log_density`), evaluated without gradients.
        base: the norm's family (``"laplace"``: L1, ``"gaussian"``: L2).
        extent, step: the grid.
        device: where ``log_density``'s parameters live.
        chunk: points per call of ``log_density``.
        subsamples: sub-points per cell and axis for the boundary cells' fractions.
    """

    def __init__(
        self,
        log_density: LogDensity,
        base: str = "laplace",
        extent: float = 12.0,
        step: float = 0.03,
        device: torch.device | str = "cpu",
        chunk: int = 1 << 16,
        subsamples: int = 4,
    ) -> None:
        n = int(round(2 * extent / step))
        self.base, self.subsamples = base, int(subsamples)
        for _ in range(4):  # zoom in while the mass fills only the middle of the square
            self.cell = 2 * extent / n
            axis = (torch.arange(n, dtype=torch.float64) + 0.5) * self.cell - extent
            points = torch.cartesian_prod(axis, axis)  # (n*n, 2)
            logs = []
            with torch.no_grad(), torch.autocast(torch.device(device).type, enabled=False):
                for part in points.split(chunk):
                    logs.append(log_density(part.to(device=device, dtype=torch.float32)).double().cpu())
            log_w = torch.cat(logs)
            w = torch.exp(log_w - log_w.max()).numpy()
            self.centres = points.numpy()
            self.weights = w / w.sum()
            reach = np.abs(self.centres).max(axis=1)
            order = np.argsort(reach)
            far = float(reach[order][np.searchsorted(np.cumsum(self.weights[order]), 1.0 - 1e-6)])
            if far > extent / 4:
                break
            extent = 2.0 * max(far, self.cell)  # all but 1e-6 of the mass, with room
        norms = normalised_error_norm(self.centres, base)
        order = np.argsort(norms)
        self._sorted_norms, self._cumulative = norms[order], np.cumsum(self.weights[order])  # for quantile

    def coverage(self, t: float) -> float:
        """``P(d <= t)`` under the fitted density."""
        sub = (np.arange(self.subsamples) + 0.5) / self.subsamples - 0.5  # sub-cell offsets, in cells
        offsets = [np.array([a, b]) * self.cell for a in sub for b in sub]
        inside = sum(normalised_error_norm(self.centres + o, self.base) <= t for o in offsets) / len(offsets)
        return float((self.weights * inside).sum())

    def quantile(self, level: float) -> float:
        """The ``t`` with ``P(d <= t) = level`` (cell centres' norms, interpolated): the fitted region of that mass."""
        if not 0.0 < level < 1.0:
            raise ValueError(f"FittedResidualDensity.quantile: level must be in (0, 1), got {level}")
        return float(np.interp(level, self._cumulative, self._sorted_norms))


def fitted_coverage(
    log_density: LogDensity, thresholds: Sequence[float], base: str = "laplace", **grid: Any
) -> dict[float, float]:
    """``{t: P(d <= t)}`` under the normalised ``exp(log_density)`` (:class:`FittedResidualDensity`, ``grid`` its options)."""
    density = FittedResidualDensity(log_density, base, **grid)
    return {float(t): density.coverage(float(t)) for t in thresholds}


class ScaleCalibration(SampleMetric):
    """Observed vs expected fraction of keypoint errors within ``t`` predicted scales.

    Args:
        spec: the task's layout (unused; accepted so every keypoint metric is built alike).
        base: the distribution the scales belong to, ``"laplace"`` or ``"gaussian"``.
        thresholds: the ``t`` values (scales) to report.
        fitted_levels: with a fitted density: the masses ``q`` of its regions ``d <= t_q`` in which the
            observed fraction is reported (``cover_fitted@<100 q>``; calibrated: ``q``).
        **kwargs: passed to ``torchmetrics.Metric``.
    """

    name = "calibration"
    higher_is_better = None
    fields = {**KEYPOINT_FIELDS, "scale": torch.float64, "rot": torch.float64}

    def __init__(
        self,
        spec: Any = None,
        base: str = "laplace",
        thresholds: Sequence[float] = (1.0, 2.0),
        fitted_levels: Sequence[float] = (0.5, 0.9),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if base not in BASES:
            raise ValueError(f"ScaleCalibration: base must be one of {BASES}, got {base!r}")
        if not thresholds or min(float(t) for t in thresholds) <= 0:
            raise ValueError(f"ScaleCalibration: thresholds must be > 0 scales, got {list(thresholds)}")
        self.base = base
        self.thresholds = tuple(float(t) for t in thresholds)
        self.fitted_log_density: LogDensity | None = None
        """The trained density of the unit residuals (module docstring); ``None``: no ``cover@t_fitted``."""
        if not all(0.0 < float(q) < 1.0 for q in fitted_levels):
            raise ValueError(f"ScaleCalibration: fitted_levels must be masses in (0, 1), got {list(fitted_levels)}")
        self.fitted_levels = tuple(float(q) for q in fitted_levels)

    def rows(self, pred: Prediction, meta: Mapping[str, Any]) -> dict[str, ArrayLike]:
        if "scale" not in pred.extras:
            raise ValueError(
                "ScaleCalibration.update: the prediction has no extras['scale'] (B, K, 2) image px; only a task "
                "that predicts scales (landmarks.rle_task.RLEKeypointTask) can be judged by this metric"
            )
        n = len(pred.keypoints)
        return {
            **keypoint_rows(pred, meta, "ScaleCalibration"),
            "scale": pred.extras["scale"],
            "rot": np.asarray(torch.as_tensor(meta_value(meta, "rot", "ScaleCalibration")).cpu()).reshape(n),
        }

    def residuals(self, s: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised residuals ``r (N, K, 2)`` in the crop's axes and the mask ``(N, K)`` of usable keypoints."""
        e = s["pred"] - s["gt"]  # (N, K, 2) image px
        rad = np.deg2rad(s["rot"])[:, None]
        cos, sin = np.cos(rad), np.sin(rad)
        crop = np.stack([cos * e[..., 0] + sin * e[..., 1], -sin * e[..., 0] + cos * e[..., 1]], axis=-1)
        scale = s["scale"]
        ok = (s["visible"] > 0) & np.all(np.isfinite(crop), axis=-1) & np.all(np.isfinite(scale) & (scale > 0), axis=-1)
        r = np.where(ok[..., None], crop / np.where(scale > 0, scale, 1.0), np.nan)
        return r, ok

    def compute(self) -> dict[str, float]:
        """``{"cover@t", "cover@t_expected" (and "cover@t_fitted" with a fitted density) for each t,
        "cover_axis@1", "cover_axis@1_expected"}``, with a fitted density also ``"cover_fitted@<100 q>"``
        for each of ``fitted_levels``; ``{}`` before any update; observed values are nan when no
        keypoint is labelled."""
        s = self.samples()
        if s is None:
            return {}
        r, ok = self.residuals(s)
        d = normalised_error_norm(r[ok], self.base)  # (M,)
        out: dict[str, float] = {}
        for t in self.thresholds:
            out[f"cover@{t:g}"] = float(np.mean(d <= t)) if d.size else float("nan")
            out[f"cover@{t:g}_expected"] = expected_coverage(t, self.base)
        if self.fitted_log_density is not None:
            density = FittedResidualDensity(self.fitted_log_density, self.base, device=self.device)
            for t in self.thresholds:
                out[f"cover@{t:g}_fitted"] = density.coverage(t)
            for level in self.fitted_levels:  # the observed mass in the fitted region of that mass
                region = density.quantile(level)
                out[f"cover_fitted@{100 * level:g}"] = float(np.mean(d <= region)) if d.size else float("nan")
        axis = np.abs(r[ok]).reshape(-1)
        out["cover_axis@1"] = float(np.mean(axis <= 1.0)) if axis.size else float("nan")
        out["cover_axis@1_expected"] = expected_axis_coverage(1.0, self.base)
        return out
