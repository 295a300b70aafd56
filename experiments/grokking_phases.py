"""`grokking-phases`: the phase diagram of the effective-theory toy (Liu et al. 2022).

A 2-D sweep of the toy's dynamic hyperparameters (decoder learning rate × decoder weight decay)
× seeds, trained in one program; every member is classified by the four-phase rule
(`theory.phases`, threshold 0.9, delay Δ, budget B = last recorded step + 1) and each grid cell
gets the majority phase over seeds and the seed agreement (`theory.phases.phase_map`); the map
is drawn with its axes in real coordinates (log decoder lr) and the phase boundaries are lines
fitted in (log10 lr, wd) (`theory.phases.map_boundaries`).

Presets (deviations from the paper stated): `paper` is Fig. 5b (MSE, width 200, 11 × 11 grid,
B = 10⁵, the authors' split and targets of seed 58). `default` is the `Figure5` notebook's panel
5b setup (width 200, MSE, split/targets of seed 58, B = 10⁴, Δ = 10³, 2 seeds) on a 4 × 6
sub-grid of the paper's axes (decoder lr 10^linspace(−4, −2, 11) at indices 0, 1, 2, 4 × wd
{2, 4, 5, 6, 7, 9}), chosen from the authors' own step counts so that it crosses their
comprehension → grokking → memorization/confusion band; the full 11 × 11 × 2 grid costs ≈ 20
CPU-minutes on the shared CI machine. `tiny` (tests): width 64, cross-entropy, 2 × 2 grid, 1500
steps, Δ = 500.

summary.json keys:
    axes            {swept name: values} (the two grid axes, x first)
    rule            {threshold, delay, budget}
    ideal_test_acc  ideal test accuracy of the split (single split) or its mean over the seeds' splits
    phase_counts    members per phase over the whole sweep (comprehension, grokking, memorization,
                    confusion)
    cell_phase_counts   grid cells per majority phase (same keys)
    grokking_majority_cells  {value: number of cells whose majority phase is grokking, cells:
                    [{dec_lr, dec_wd}], between: how many of them have a comprehension cell at
                    smaller wd and a memorization or confusion cell at larger wd in their lr row}
    grid            one entry per cell: the two axis values, phase (majority), agreement,
                    fractions {phase: share of seeds}, median t_train / t_test / t_rqi over seeds
                    (first step with train acc, test acc ≥ 0.9 and RQI ≥ 0.95; null if never)
    authors         (split seed 58, paper axes only) per cell the authors' t_train, t_test
                    (`phase_diagram_plot/{train,test}_steps.txt`, B = 10⁵) and their phase at our
                    B, and `agreement`: share of our cells whose majority phase equals theirs
    predicted_test_acc  {n, mean_abs_error, share_exact}: test accuracy predicted from the
                    parallelograms present in each final embedding (`theory.representation`)
                    against the measured one
    boundaries      fitted lines between phases in (log10 dec_lr, dec_wd): phases, centre,
                    direction, slope, rms, n_points
    n_members, n_diverged
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import config_of, member_dims, spec_of
from toymodels.grokking_toy import GrokkingToy, authors_train_mask
from toymodels.plots.phases import phase_examples, phase_map_figure
from toymodels.tasks.addition_pairs import addition_pairs
from toymodels.theory.phases import (
    COMPREHENSION,
    CONFUSION,
    GROKKING,
    MEMORIZATION,
    PHASES,
    classify,
    map_boundaries,
    phase_map,
    phase_rule,
    success_step,
)
from toymodels.theory.representation import (
    implied_parallelograms,
    predicted_accuracy,
    present_parallelograms,
)

# The authors' step counts (ejmichaud/grokking-squared, phase_diagram_plot/{train,test}_steps.txt):
# rows decoder lr 10^linspace(−4, −2, 11), columns decoder wd 0..10, B = 10⁵ (99999 = never).
AUTHORS_TRAIN_STEPS = np.array([
    [1650, 1815, 2069, 2310, 2536, 3022, 3984, 8929, 10185, 15875, 18911],
    [1274, 1302, 1487, 1589, 1715, 1968, 2402, 4632, 9513, 14864, 17477],
    [854, 938, 1015, 1134, 1172, 1250, 1605, 3429, 13034, 15800, 18738],
    [938, 1119, 1186, 1376, 2980, 969, 1162, 2239, 3790, 14977, 18817],
    [811, 733, 838, 1029, 1337, 2361, 99999, 99999, 2606, 18775, 23816],
    [489, 732, 906, 703, 934, 1554, 99999, 99999, 99999, 28683, 99999],
    [347, 420, 780, 661, 814, 3044, 99999, 99999, 99999, 99999, 99999],
    [434, 395, 507, 857, 952, 99999, 99999, 99999, 99999, 99999, 99999],
    [362, 690, 488, 1162, 99999, 99999, 99999, 99999, 99999, 99999, 99999],
    [420, 638, 725, 1561, 99999, 99999, 99999, 99999, 99999, 99999, 99999],
    [248, 443, 1425, 99999, 99999, 99999, 99999, 99999, 99999, 99999, 99999]])
AUTHORS_TEST_STEPS = np.full((11, 11), 99999)
AUTHORS_TEST_STEPS[:4] = [
    [2076, 2402, 2571, 3095, 3906, 5549, 9455, 12424, 16837, 67035, 99999],
    [1504, 1698, 1814, 1818, 2097, 3275, 5636, 8543, 18425, 97186, 99999],
    [923, 1015, 1393, 1476, 1668, 2193, 2790, 7392, 18052, 77518, 99999],
    [99999, 99999, 99999, 99999, 99999, 1400, 1939, 19977, 99999, 99999, 99999]]
AUTHORS_BUDGET = 100000
AUTHORS_SPLIT_SEED = 58
AUTHORS_TRAIN_SIZE = 45  # train_num of train_add: floor(0.82 · 55)

THRESHOLD = 0.9       # train / test accuracy, as in the reference
RQI_THRESHOLD = 0.95  # the reference's RQI threshold
DELAYS = {"tiny": 500.0}  # Δ per preset; every other preset uses the reference's Δ = 10³


def tiny() -> Spec:
    system = GrokkingToy(width=64, loss="ce", split_seed=7)
    return Spec(system, system.hparams(), sweep={"dec_lr": (3e-4, 1e-2), "dec_wd": (1.0, 10.0)},
                seeds=2, steps=1500, log_every=100)


def default() -> Spec:
    """Fig. 5b (width 200, MSE, the authors' split and targets of seed 58, B = 10⁴, Δ = 10³) on a 3 × 6
    sub-grid of the paper's axes: decoder lr 10^linspace(−4, −2, 11) at indices 0, 2, 4 × wd
    {2, 4, 6, 7, 8, 9}; 8 seeds with independent inits per cell; the step trains on the 45 training
    samples only (`GrokkingToy.n_train`)."""
    system = GrokkingToy(split_seed=AUTHORS_SPLIT_SEED, n_train=AUTHORS_TRAIN_SIZE)
    lrs = tuple(float(f"{x:.4g}") for x in np.logspace(-4, -2, 11)[[0, 2, 4]])
    sweep = {"dec_lr": lrs, "dec_wd": (2.0, 4.0, 6.0, 7.0, 8.0, 9.0)}
    return Spec(system, system.hparams(), sweep=sweep, seeds=8, steps=10000, log_every=100, init="independent")


def paper() -> Spec:
    """Fig. 5b: decoder lr 10^linspace(−4, −2, 11) × decoder wd 0..10, B = 1e5, split seed 58; 8 seeds,
    independent inits per cell."""
    system = GrokkingToy(split_seed=AUTHORS_SPLIT_SEED, n_train=AUTHORS_TRAIN_SIZE)
    lrs = tuple(float(f"{x:.4g}") for x in np.logspace(-4, -2, 11))
    sweep = {"dec_lr": lrs, "dec_wd": tuple(float(w) for w in range(11))}
    return Spec(system, system.hparams(), sweep=sweep, seeds=8, steps=100000, log_every=100, init="independent")


def median_step(steps: xr.DataArray, budget: int) -> xr.DataArray:
    """Median over seeds of first-success steps, NaN when no seed succeeded (B − 1 = never)."""
    return steps.where(steps < budget - 1).median("seed")


def member_train_mask(system: GrokkingToy, fraction: float, seed: int) -> np.ndarray:
    """The training set a member of `seed` used (the authors' split when split_seed ≥ 0)."""
    if system.split_seed >= 0:
        return authors_train_mask(system.p, system.split_seed, system.n_outputs, fraction)
    return addition_pairs(system.p, fraction, seed).train


def ideal_test_acc(ds: xr.Dataset) -> float:
    """Ideal test accuracy |D̄(P(D)) ∩ test| / |test| of the split(s) used, mean over members."""
    spec = spec_of(ds)
    system, fraction = spec.system, spec.hparams["train_fraction"]
    seeds = [0] if system.split_seed >= 0 else [int(s) for s in ds["seed"].values]
    values = []
    for seed in seeds:
        train = member_train_mask(system, fraction, seed)
        values.append(predicted_accuracy(system.p, train, implied_parallelograms(system.p, train)))
    return float(np.mean(values))


def cell_rows(pmap: xr.Dataset, medians: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    x, y = pmap.attrs["x"], pmap.attrs["y"]
    rows = []
    for i, xv in enumerate(pmap[x].values):
        for j, yv in enumerate(pmap[y].values):
            at = {x: i, y: j}
            rows.append({
                x: float(xv), y: float(yv),
                "phase": PHASES[int(pmap["majority"].isel(at))],
                "agreement": float(pmap["agreement"].isel(at)),
                "fractions": {p: float(pmap["fractions"].isel(at).sel(phase=p)) for p in PHASES},
                **{k: float(v.isel(at)) for k, v in medians.items()},
            })
    return rows


def grokking_cells(cells: np.ndarray, x: np.ndarray, y: np.ndarray, names: tuple[str, str]) -> dict[str, Any]:
    """Cells (rows x = lr, columns y = wd) whose majority is grokking, and how many of them lie
    between comprehension (smaller wd, same lr) and memorization/confusion (larger wd, same lr)."""
    hits = np.argwhere(cells == GROKKING)
    between = 0
    for i, j in hits:
        row = cells[i]
        between += bool(np.any(row[:j] == COMPREHENSION) and np.any(np.isin(row[j + 1:], (MEMORIZATION, CONFUSION))))
    return {"value": len(hits), "between": between,
            "cells": [{names[0]: float(x[i]), names[1]: float(y[j])} for i, j in hits]}


def authors_comparison(pmap: xr.Dataset, budget: int, delay: float) -> dict[str, Any] | None:
    """Per cell of ours on the paper's axes: the authors' step counts and their phase at our B."""
    x, y = pmap.attrs["x"], pmap.attrs["y"]
    if (x, y) != ("dec_lr", "dec_wd") or budget > AUTHORS_BUDGET:
        return None
    rows, same = [], []
    for i, lr in enumerate(pmap[x].values):
        for j, wd in enumerate(pmap[y].values):
            a, b = (np.log10(lr) + 4) * 5, float(wd)
            if abs(a - round(a)) > 0.01 or b != round(b) or not (0 <= round(a) <= 10 and 0 <= b <= 10):
                return None
            t_train, t_test = AUTHORS_TRAIN_STEPS[round(a), int(b)], AUTHORS_TEST_STEPS[round(a), int(b)]
            theirs = PHASES[int(phase_rule(min(t_train, budget - 1), min(t_test, budget - 1), budget, delay))]
            ours = PHASES[int(pmap["majority"].isel({x: i, y: j}))]
            same.append(theirs == ours)
            rows.append({x: float(lr), y: float(wd), "authors_t_train": int(t_train),
                         "authors_t_test": int(t_test), "authors_phase": theirs, "phase": ours})
    return {"cells": rows, "agreement": float(np.mean(same))}


def accuracy_prediction(ds: xr.Dataset) -> dict[str, Any]:
    """Predicted test accuracy (parallelograms present in each member's final E, δ = rqi_delta)
    against its actual final test accuracy, over the members that did not diverge."""
    spec = spec_of(ds)
    system = spec.system
    dims = member_dims(ds)
    final = ds.isel(step=-1)
    errors = []
    for index in np.ndindex(*ds["diverged_step"].shape):
        at = dict(zip(dims, index, strict=True))
        if int(ds["diverged_step"].isel(at)) >= 0:
            continue
        fraction = float(final["train_fraction"].isel(at)) if "train_fraction" in at \
            else spec.hparams["train_fraction"]
        train = member_train_mask(system, fraction, int(ds["seed"][at["seed"]]))
        present = present_parallelograms(final["embedding"].isel(at).values, system.rqi_delta)
        errors.append(predicted_accuracy(system.p, train, present)
                      - float(final["test_acc"].isel(at)))
    errors = np.abs(np.array(errors))
    return {"n": len(errors), "mean_abs_error": float(errors.mean()) if len(errors) else None,
            "share_exact": float(np.mean(errors < 1e-3)) if len(errors) else None}


@dataclass(frozen=True)
class GrokkingPhasesSummary(Summary):
    axes: dict[str, list[float]]
    rule: dict[str, float]
    ideal_test_acc: float
    phase_counts: dict[str, int]
    n_members: int
    n_diverged: int
    predicted_test_acc: dict[str, Any]
    cell_phase_counts: dict[str, int]
    grokking_majority_cells: dict[str, Any] | None
    grid: list[dict[str, Any]]
    authors: dict[str, Any] | None
    boundaries: list[dict[str, Any]]


def rule_of(ds: xr.Dataset) -> tuple[float, int]:
    """(Δ, B) of the run: Δ of its preset, B = last recorded step + 1."""
    return DELAYS.get(config_of(ds).get("preset"), 1000.0), int(ds["step"].values[-1]) + 1


def phase_diagram(ds: xr.Dataset) -> tuple[xr.DataArray, xr.Dataset | None]:
    """Every member's phase, and the majority map over seeds when exactly two axes are swept."""
    delay, budget = rule_of(ds)
    phase = classify(ds, THRESHOLD, delay, budget)
    axes = [d for d in phase.dims if d != "seed"]
    return phase, (phase_map(phase, *axes) if len(axes) == 2 else None)


def summarize(ds: xr.Dataset) -> GrokkingPhasesSummary:
    """Phases per member and per cell, their timing, the authors' map, boundaries (module docstring)."""
    delay, budget = rule_of(ds)
    alive = ds["diverged_step"] < 0
    phase, pmap = phase_diagram(ds)
    axes = [d for d in phase.dims if d != "seed"]
    common = {
        "axes": {a: [float(v) for v in ds[a].values] for a in axes},
        "rule": {"threshold": THRESHOLD, "delay": delay, "budget": budget},
        "ideal_test_acc": ideal_test_acc(ds),
        "phase_counts": {p: int((phase == k).sum()) for k, p in enumerate(PHASES)},
        "n_members": int(phase.size),
        "n_diverged": int((~alive).sum()),
        "predicted_test_acc": accuracy_prediction(ds),
    }
    if pmap is None:  # a phase *diagram* needs two swept axes; the counts above still hold
        return GrokkingPhasesSummary(**common, grid=[], boundaries=[], cell_phase_counts={},
                                     grokking_majority_cells=None, authors=None)
    x, y = axes
    medians = {f"t_{name}": median_step(success_step(ds[var] >= level, budget), budget)
               for name, var, level in (("train", "train_acc", THRESHOLD),
                                        ("test", "test_acc", THRESHOLD),
                                        ("rqi", "rqi", RQI_THRESHOLD))}
    majority = pmap["majority"].transpose(x, y).values
    return GrokkingPhasesSummary(
        **common,
        cell_phase_counts={p: int((majority == k).sum()) for k, p in enumerate(PHASES)},
        grokking_majority_cells=grokking_cells(majority, pmap[x].values, pmap[y].values, (x, y)),
        grid=cell_rows(pmap, medians),
        authors=authors_comparison(pmap, budget, delay)
        if spec_of(ds).system.split_seed == AUTHORS_SPLIT_SEED else None,
        boundaries=[{"phases": list(b.phases), "centre": b.centre.tolist(),
                     "direction": b.direction.tolist(), "slope": b.slope(), "rms": b.rms,
                     "n_points": len(b.points)} for b in map_boundaries(pmap)],
    )


def figures(ds: xr.Dataset, summary: GrokkingPhasesSummary) -> Figures:
    """Example curves of each phase; with two swept axes, the phase map with its fitted boundaries."""
    phase, pmap = phase_diagram(ds)
    examples = {}
    for k, name in enumerate(PHASES):
        hits = np.argwhere(phase.values == k)
        if len(hits):
            examples[name] = ds.isel(dict(zip(phase.dims, hits[0], strict=True)))
    drawn = {"phase-examples": phase_examples(examples)}
    if pmap is not None:
        lines = [[(" | ".join(b.phases), *b.segment(pad=0.05)) for b in map_boundaries(pmap)]]
        drawn["phase-diagram"] = phase_map_figure(
            pmap, lines, title=f"majority phase of {ds.sizes['seed']} seeds, B = {summary.rule['budget']}, "
                               f"Δ = {summary.rule['delay']:g}")
    return drawn


register(Experiment(
    name="grokking-phases",
    description="Phase diagram (comprehension/grokking/memorization/confusion) of the Liu et al. "
                "(2022) addition toy over decoder lr x weight decay",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=(
        Claim(source="Liu et al. 2022, Fig. 5b (Figure5.ipynb, B = 1e4)",
              text="grokking-majority cells lie in a Goldilocks zone between comprehension and "
                   "memorization/confusion",
              key="grokking_majority_cells/between",
              paper="8 grokking cells at B = 1e4 in the authors' step counts (lr ≤ 2.5e-4, wd 4–7)",
              accept=(3, None), partly=(1, None), expected="not reproduced",
              band="the authors' step counts on this 4 × 6 sub-grid (B = 1e4, Δ = 1e3) give 8 such cells, "
                   "3, 3 and 2 in the three slowest lr rows; accept = one full row's zone (≥ 3), partly = any",
              measured=0.0, drift=0.0,
              drift_source="no member of either seed groks (0 of 48 members; phase_counts): the per-seed count "
                           "is 0 and 0, so the seed spread is 0",
              reason="no cell generalises: with JAX inits of seeds 0, 1 the 1-D representation sticks at "
                     "RQI ≈ 0.6 (periodic, not linear), so slow decoders memorise; 4 × 6 sub-grid, 2 seeds"),
    ),
))
