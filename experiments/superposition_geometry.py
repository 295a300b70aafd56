"""`superposition-geometry`: n features of equal importance in m dimensions across sparsity
(Elhage et al. 2022, "The Geometry of Superposition"): dimensions per feature D* = m/‖W‖²_F
against 1/(1 − S), with its sticky plateau at 1/2 (antipodal pairs), and the histogram of
per-feature dimensionalities D_i with the fractions 3/4, 2/3, 1/2, 2/5, 3/8 marked.

The plateau is measured as the mode of D* over the sweep: a Gaussian kernel density (bandwidth
0.02) of the final D* of every member whose D* lies in the superposition window (0.3, 0.9),
maximised on a grid of step 0.001. On a log-spaced sparsity sweep, the mode is the value at which
D* changes slowest with log 1/(1 − S): the sticky value. The window leaves out the dense end
(D* ≈ 1: m features in m dimensions, no superposition) and the very sparse end (D* → m/n: every
feature represented), which are plateaus of a different kind.

summary.json keys:
    dims_per_feature_plateau   Estimate (no interval): the mode of D* in the window, n = points in the window
    plateau_span_decades       log10 extent of 1/(1 − S) over which D* stays within 0.05 of 1/2
                               (mean over seeds)
    dims_per_feature           {1/(1 − S): D* mean over seeds} at the final step
    at_fractions               share of represented features (‖W_i‖ ≥ 1/2, members with D* < 0.9)
                               with D_i within 0.02 of one of 3/4, 2/3, 1/2, 2/5, 3/8
    n_members, n_diverged
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.plots.superposition import dimensionality_histogram, dims_per_feature
from toymodels.superposition import Superposition
from toymodels.theory import superposition as theory
from toymodels.theory.estimate import Estimate, point
from toymodels.theory.superposition import FRACTION_LABELS, FRACTIONS, REPRESENTED, plateau_mode

WINDOW = (0.3, 0.9)
NEAR = 0.02


def sweep_spec(n: int, m: int, log_min: float, points: int, seeds: int, steps: int, log_every: int) -> Spec:
    """Equal importance; density 10^[log_min, 0] (`points` log-spaced values)."""
    system = Superposition(n=n, m=m)
    hparams = {**system.hparams(), "importance": 1.0}
    sweep = {"density": tuple(float(v) for v in np.logspace(log_min, 0, points))}
    return Spec(system, hparams, sweep=sweep, seeds=seeds, steps=steps, log_every=log_every)


def tiny() -> Spec:
    return sweep_spec(n=20, m=4, log_min=-1.0, points=4, seeds=1, steps=200, log_every=100)


def default() -> Spec:
    return sweep_spec(n=100, m=10, log_min=-1.3, points=24, seeds=1, steps=3000, log_every=1000)


def paper() -> Spec:
    return sweep_spec(n=200, m=20, log_min=-2.0, points=40, seeds=3, steps=10000, log_every=1000)


def span_decades(inverse_density: np.ndarray, dstar: np.ndarray, level: float = 0.5, tol: float = 0.05) -> float:
    """log10 extent of 1/(1 − S) over the points with |D* − level| ≤ tol (0 when none)."""
    near = np.abs(dstar - level) <= tol
    if not near.any():
        return 0.0
    x = np.log10(inverse_density[near])
    return float(x.max() - x.min())


@dataclass(frozen=True)
class SuperpositionGeometrySummary(Summary):
    dims_per_feature_plateau: Estimate       # no interval: the KDE mode, n = members in the window
    plateau_span_decades: float
    dims_per_feature: dict[str, float]
    at_fractions: float | None
    n_members: int
    n_diverged: int


def final_dstar(ds: xr.Dataset) -> xr.DataArray:
    """D* of every member's final W (dims seed, density); NaN for diverged members."""
    return theory.dims_per_feature(ds["W"].isel(step=-1)).where(ds["diverged_step"] < 0).transpose("seed", "density")


def represented(ds: xr.Dataset, dstar: xr.DataArray) -> xr.DataArray:
    """Features with ‖W_i‖ ≥ 1/2 of the members in superposition (D* below the window's top)."""
    return (ds["norm"].isel(step=-1) >= REPRESENTED) & (dstar < WINDOW[1])


def in_window(dstar: xr.DataArray) -> np.ndarray:
    values = dstar.values.ravel()
    return values[(values > WINDOW[0]) & (values < WINDOW[1])]


def summarize(ds: xr.Dataset) -> SuperpositionGeometrySummary:
    """D* against 1/(1 − S), its plateau (mode), and how often D_i sits at the marked fractions."""
    ok = ds["diverged_step"] < 0
    dstar = final_dstar(ds)
    inverse = 1.0 / ds["density"].values
    window = in_window(dstar)
    d_i = ds["dimensionality"].isel(step=-1)
    pooled = d_i.where(represented(ds, dstar)).values.ravel()
    pooled = pooled[np.isfinite(pooled)]
    near = np.min(np.abs(pooled[:, None] - np.array(FRACTIONS)[None, :]), axis=1) <= NEAR if pooled.size else pooled
    spans = [span_decades(inverse, row) for row in dstar.values]
    return SuperpositionGeometrySummary(
        dims_per_feature_plateau=point(plateau_mode(window, WINDOW), int(window.size)),
        plateau_span_decades=float(np.mean(spans)),
        dims_per_feature={f"{x:.4g}": float(v) for x, v in zip(inverse, dstar.mean("seed").values, strict=True)},
        at_fractions=float(near.mean()) if pooled.size else None,
        n_members=int(ok.size),
        n_diverged=int((~ok).sum()),
    )


def figures(ds: xr.Dataset, summary: SuperpositionGeometrySummary) -> Figures:
    """D* against 1/(1 − S) with the plateau; D_i histograms at up to five sparsities in the window."""
    dstar = final_dstar(ds)
    inverse = 1.0 / ds["density"].values
    marked = dict(zip(FRACTION_LABELS, FRACTIONS, strict=True))
    drawn = {"superposition-geometry": dims_per_feature(inverse, dstar.values, marked,
                                                        summary.dims_per_feature_plateau.value)}
    keep = represented(ds, dstar)
    d_i = ds["dimensionality"].isel(step=-1)
    mean_dstar = dstar.mean("seed").values
    candidates = np.flatnonzero((mean_dstar > 0.25) & (mean_dstar < WINDOW[1]))
    chosen = sorted(set(candidates[np.linspace(0, len(candidates) - 1, 5).astype(int)])) if len(candidates) else []
    panels = {f"1/(1-S)={inverse[i]:.3g}\nD*={float(dstar.isel(density=i).mean()):.2f}":
              d_i.isel(density=i).where(keep.isel(density=i)).values.ravel() for i in chosen}
    panels = {k: v[np.isfinite(v)] for k, v in panels.items()}
    if panels:
        drawn["superposition-dimensionality"] = dimensionality_histogram(panels, marked)
    return drawn


register(Experiment(
    name="superposition-geometry",
    description="n features, m dims, equal importance (Elhage et al. 2022): D* = m/|W|_F^2 vs 1/(1-S), D_i",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=(
        Claim(
            source="Elhage et al. 2022, 'The Geometry of Superposition' (dimensions per feature)",
            text="D* = m/‖W‖²_F sticks at 1/2 (antipodal pairs) over a range of sparsity: the mode of D*",
            key="dims_per_feature_plateau",
            paper="1/2",
            accept=(0.45, 0.55),
            partly=(0.4, 0.6),
            band="the paper's value is exact (1/2 for antipodal pairs); ±0.05 (partly ±0.1) is 2.5 bandwidths "
                 "of our mode estimate, set with the window and bandwidth before looking",
            measured=0.522, drift=0.03,
            drift_source="range of the one-seed mode over seeds 0–3 of the default preset (0.495–0.522; "
                         "a 4-seed run made to measure it)",
            reason="the mode's window and bandwidth are fixed before looking; ±0.05 is 2.5 bandwidths",
        ),
    ),
))
