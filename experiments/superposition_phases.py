"""`superposition-phases`: n = 2 features in m = 1 dimension over feature density × relative
importance of feature 2 (Elhage et al. 2022, "Superposition as a Phase Change"), every cell and
seed one member of one program; the empirical phase map against the analytic one.

Each member's final W is classified (`theory.superposition.classify`): feature 2 not represented
(‖W_2‖ < 1/2), dedicated (represented, interference ≤ 1/4), in superposition (interference > 1/4,
antipodal: W_1·W_2 < 0) or same-sign shared (interference > 1/4, W_1·W_2 > 0; none of the paper's
candidates). A cell's empirical phase is the majority over seeds (ties: the lower phase index), or
the phase of its lowest-loss seed (best of restarts; each member's loss estimated on one fixed
sample of 2^15 inputs per density, the same for every member of that density). The analytic map
is the argmin of the three configurations' expected losses (`theory.superposition.phase_losses`).

summary.json keys:
    n_members                  members trained (seeds × density × importance)
    agreement_with_theory      fraction of cells whose majority phase equals the analytic phase
    agreement_best_of_seeds    fraction of cells whose lowest-loss seed's phase equals the analytic phase
    agreement_members          fraction of members whose own phase equals their cell's analytic phase
    agreement_per_seed         Estimate: agreement of each seed's map alone (mean, lo..hi: range over seeds)
    constant_baseline          agreement of the best constant map (share of the commonest analytic phase)
    boundary_cells             fraction of cells with a 4-neighbour of another analytic phase
    off_boundary_disagreement  fraction of cells that disagree although no neighbour lies across a boundary
    seed_consistency           fraction of members in their cell's majority phase
    antipodal_fraction         among members whose feature 2 shares the dimension, the antipodal share
    same_sign_by_seed          {seed: fraction of that seed's cells in the same-sign shared state}
    phase_fractions            {"empirical"|"analytic": {phase: fraction of cells}}
    n_diverged
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.plots.superposition import phase_maps
from toymodels.superposition import Superposition, fixed_sample_losses
from toymodels.theory.estimate import Estimate, member_range
from toymodels.theory.superposition import PHASES, analytic_phase, classify, superposition_band


def grid_spec(side: int, seeds: int, steps: int, batch: int, log_every: int) -> Spec:
    """density 10^[−2, 0] × importance 10^[−1, 1], `side` log-spaced values each; every cell its own
    initial states (`init="independent"`): a majority over seeds that shared one init per seed across
    the whole map would vote the same few inits in every cell."""
    system = Superposition(n=2, m=1, batch=batch)
    sweep = {"density": tuple(float(v) for v in np.logspace(-2, 0, side)),
             "importance": tuple(float(v) for v in np.logspace(-1, 1, side))}
    return Spec(system, system.hparams(), sweep=sweep, seeds=seeds, steps=steps, log_every=log_every,
                init="independent")


def tiny() -> Spec:
    return grid_spec(side=6, seeds=2, steps=300, batch=256, log_every=100)


def default() -> Spec:
    return grid_spec(side=40, seeds=5, steps=1000, batch=256, log_every=250)


def paper() -> Spec:
    return grid_spec(side=40, seeds=5, steps=10000, batch=1024, log_every=1000)


def majority(phase: xr.DataArray, dim: str = "seed") -> xr.DataArray:
    """Most frequent phase along `dim` (ties: the lower index)."""
    counts = xr.concat([(phase == k).sum(dim) for k in range(len(PHASES))], dim="phase")
    return counts.argmax("phase")


def boundary_mask(phase: np.ndarray) -> np.ndarray:
    """Cells with a 4-neighbour of a different phase."""
    edge = np.zeros(phase.shape, bool)
    for axis in (0, 1):
        differs = np.diff(phase, axis=axis) != 0
        lead = [slice(None)] * 2
        lead[axis] = slice(1, None)
        trail = [slice(None)] * 2
        trail[axis] = slice(None, -1)
        edge[tuple(lead)] |= differs
        edge[tuple(trail)] |= differs
    return edge


def fractions(phase: np.ndarray) -> dict[str, float]:
    return {name: float(np.mean(phase == k)) for k, name in enumerate(PHASES)}


def band_curves(density: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The analytic boundaries as (importance, density) curves: r = 1, r_low(p), r_high(p)."""
    p = np.logspace(np.log10(density.min()), np.log10(density.max()), 400)
    low, high = superposition_band(p)
    inside = low < high
    return [(np.ones(2), p[[0, -1]]), (low[inside], p[inside]), (high[inside], p[inside]),
            (np.ones(int((~inside).sum())), p[~inside])]


def eval_losses(final: xr.Dataset) -> xr.DataArray:
    """Loss of every member's final (W, b) on one fixed sample of 2^15 inputs per density."""
    rows = []
    for p in final["density"].values:
        cell = final.sel(density=p).stack(member=("seed", "importance"))
        losses = fixed_sample_losses(cell["W"].transpose("member", "hidden", "feature").values,
                                     cell["b"].transpose("member", "feature").values, float(p),
                                     cell["importance"].values)
        rows.append(xr.DataArray(losses, dims="member", coords={"member": cell["member"]}).unstack("member"))
    return xr.concat(rows, dim=final["density"])


@dataclass(frozen=True)
class SuperpositionPhasesSummary(Summary):
    n_members: int
    agreement_with_theory: float
    agreement_best_of_seeds: float
    agreement_members: float
    agreement_per_seed: Estimate                 # mean and range over seeds
    constant_baseline: float
    boundary_cells: float
    off_boundary_disagreement: float
    seed_consistency: float
    antipodal_fraction: float
    same_sign_by_seed: dict[str, float]
    phase_fractions: dict[str, dict[str, float]]
    n_diverged: int


def phase_of_members(ds: xr.Dataset) -> xr.DataArray:
    """Phase index of every member's final W (−1 for diverged members)."""
    return classify(ds["W"].isel(step=-1)).where(ds["diverged_step"] < 0, -1)


def analytic_map(ds: xr.Dataset) -> xr.DataArray:
    grid = {"density": ds["density"], "importance": ds["importance"]}
    return xr.DataArray(analytic_phase(ds["density"].values[:, None], ds["importance"].values[None, :]),
                        dims=tuple(grid), coords=grid)


def best_of_seeds(ds: xr.Dataset, phase: xr.DataArray) -> xr.DataArray:
    """Per cell, the phase of the seed whose final (W, b) has the lowest loss (fixed sample)."""
    losses = eval_losses(ds.isel(step=-1)).where(ds["diverged_step"] < 0)
    return phase.isel(seed=losses.fillna(np.inf).argmin("seed")).transpose("density", "importance")


def summarize(ds: xr.Dataset) -> SuperpositionPhasesSummary:
    """Classify every member; compare the majority map and the lowest-loss map with the analytic map."""
    ok = ds["diverged_step"] < 0
    phase = phase_of_members(ds)
    cells = majority(phase).transpose("density", "importance")
    theory = analytic_map(ds)
    match = (cells == theory).values
    edge = boundary_mask(theory.values)
    per_seed = (phase == theory).mean(("density", "importance")).values
    best = best_of_seeds(ds, phase)
    shared = (phase == 2) | (phase == 3)
    same_sign = (phase == 3).mean(("density", "importance")).values
    return SuperpositionPhasesSummary(
        n_members=int(phase.size),
        agreement_with_theory=float(match.mean()),
        agreement_best_of_seeds=float((best == theory).mean()),
        agreement_members=float((phase == theory).mean()),
        agreement_per_seed=member_range(per_seed),
        constant_baseline=float(max(fractions(theory.values).values())),
        boundary_cells=float(edge.mean()),
        off_boundary_disagreement=float((~match & ~edge).mean()),
        seed_consistency=float((phase == cells).mean()),
        antipodal_fraction=float((phase == 2).sum() / max(int(shared.sum()), 1)),
        same_sign_by_seed={str(int(k)): float(v) for k, v in zip(ds["seed"].values, same_sign, strict=True)},
        phase_fractions={"empirical": fractions(cells.values), "analytic": fractions(theory.values)},
        n_diverged=int((~ok).sum()),
    )


def figures(ds: xr.Dataset, summary: SuperpositionPhasesSummary) -> Figures:
    """Majority map, lowest-loss map and analytic map side by side, analytic boundaries on each."""
    phase = phase_of_members(ds)
    seeds, step = ds.sizes["seed"], int(ds["step"][-1])
    return {"superposition-phases": phase_maps(
        {f"trained: majority of {seeds} seeds (step {step})": majority(phase).transpose("density", "importance"),
         f"trained: lowest-loss of {seeds} seeds": best_of_seeds(ds, phase),
         "analytic (lowest-loss configuration)": analytic_map(ds)}, PHASES, band_curves(ds["density"].values))}


BAND = ("the paper's diagrams agree qualitatively and it gives no number: ≥ 0.9 of cells (partly 0.8–0.9) is "
        "our reading of 'agree', not the paper's")
register(Experiment(
    name="superposition-phases",
    description="n=2 features in m=1 dim (Elhage et al. 2022): phase map over density x importance vs analytic",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=(
        Claim(
            source="Elhage et al. 2022, 'Superposition as a Phase Change' (n = 2, m = 1 diagram)",
            text="trained phase map, majority of seeds, matches the analytic lowest-loss diagram",
            key="agreement_with_theory",
            paper="empirical and theoretical diagrams agree (qualitative; no number given)",
            accept=(0.9, 1.0),
            partly=(0.8, 0.9),
            band=BAND,
            measured=0.636875, drift=0.08,
            drift_source="independent inits per cell: leaving one of the 5 seeds out gives 0.563–0.578 "
                         "(ties at 4 seeds break to the lower phase), 0.06–0.07 below the 5-seed value",
            expected="not reproduced",
            reason="with an independent init per cell (was 0.486 with one init per seed shared by every cell) "
                   "the majority of 5 seeds still lands in another phase in a third of the cells: single seeds "
                   "stick in local minima (best-of-seeds agrees at 0.95)",
        ),
        Claim(
            source="Elhage et al. 2022, 'Superposition as a Phase Change' (n = 2, m = 1 diagram)",
            text="trained phase map, lowest-loss seed per cell, matches the analytic lowest-loss diagram",
            key="agreement_best_of_seeds",
            paper="empirical and theoretical diagrams agree (qualitative; no number given)",
            accept=(0.9, 1.0),
            partly=(0.8, 0.9),
            band=BAND,
            measured=0.951875, drift=0.04,
            drift_source="independent inits per cell: leaving one of the 5 seeds out gives 0.913–0.931, "
                         "one seed less moves it by ≤ 0.04 (a best-of over fewer seeds is lower)",
            reason="disagreement only near the boundaries (boundary_cells); a constant map scores "
                   "constant_baseline",
        ),
    ),
))
