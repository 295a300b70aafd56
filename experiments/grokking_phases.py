"""`grokking-phases`: the phase diagram of the effective-theory toy (Liu et al. 2022).

A 2-D sweep of the toy's dynamic hyperparameters (decoder learning rate × decoder weight decay)
× seeds, trained in one program; every member is classified by the four-phase rule
(`theory.phases`, threshold 0.9, delay Δ, budget B = last recorded step + 1) and each grid cell
gets the majority phase over seeds and the seed agreement (share of seeds in that phase).

Presets (deviations from the paper stated): `paper` is Fig. 5b (MSE, width 200, 11 × 11 grid,
B = 10⁵, one split for all seeds). `default` is Fig. 5b cut to a 2-core CPU: MSE, one split for
all seeds (split seed 58), but width 64 instead of 200, B = 10⁴ (the `Figure5` notebook's budget)
instead of 10⁵, 6 of the 11 decoder lrs and wd 0..4, 6 instead of 0..10 (the grid stops where
every member is confused). `tiny` (tests): width 64, cross-entropy, 2 × 2 grid, 1500 steps,
Δ = 500. Measured phase counts of `default`: docs/grokking.md.

summary.json keys:
    axes            {swept name: values} (the two grid axes, x first)
    rule            {threshold, delay, budget}
    phase_counts    members per phase over the whole sweep, keys exactly comprehension, grokking,
                    memorization, confusion
    cell_phase_counts   grid cells per majority phase (same keys)
    grid            one entry per cell: the two axis values, phase (majority), agreement,
                    fractions {phase: share of seeds}, median t_train / t_test / t_rqi over seeds
                    (first step with train acc, test acc ≥ 0.9 and RQI ≥ 0.95; null if never)
    predicted_test_acc  {n, mean_abs_error, share_exact}: test accuracy predicted from the
                    parallelograms present in each final embedding (`theory.representation`)
                    against the measured one
    boundaries      fitted lines between phases (grid-index coordinates): phases, centre,
                    direction, rms, n_points
    n_members, n_diverged
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.grokking_toy import GrokkingToy
from toymodels.plots.phases import phase_diagram, phase_examples
from toymodels.tasks.addition_pairs import addition_pairs
from toymodels.theory.phases import (
    PHASES,
    Boundary,
    classify,
    first_step,
    majority_phase,
    phase_boundaries,
    phase_fractions,
)
from toymodels.theory.representation import predicted_accuracy, present_parallelograms

THRESHOLD = 0.9       # train / test accuracy, as in the reference
RQI_THRESHOLD = 0.95  # the reference's RQI threshold
DELAYS = {"tiny": 500.0}  # Δ per preset; every other preset uses the reference's Δ = 10³


def tiny() -> Spec:
    system = GrokkingToy(width=64, loss="ce", split_seed=1)
    return Spec(system, system.hparams(), sweep={"dec_lr": (3e-4, 1e-2), "dec_wd": (1.0, 10.0)},
                seeds=2, steps=1500, log_every=100)


def default() -> Spec:
    """Fig. 5b on a CPU: MSE, split seed 58, six of the paper's 11 decoder lrs × wd 0..4, 6."""
    system = GrokkingToy(width=64, split_seed=58)
    lrs = tuple(float(f"{x:.4g}") for x in np.logspace(-4, -2, 11)[[0, 1, 2, 4, 7, 10]])
    sweep = {"dec_lr": lrs, "dec_wd": (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)}
    return Spec(system, system.hparams(), sweep=sweep, seeds=3, steps=10000, log_every=100)


def paper() -> Spec:
    """Fig. 5b: decoder lr 10^linspace(−4, −2, 11) × decoder wd 0..10, B = 1e5, split seed 58."""
    system = GrokkingToy(split_seed=58)
    lrs = tuple(float(f"{x:.4g}") for x in np.logspace(-4, -2, 11))
    sweep = {"dec_lr": lrs, "dec_wd": tuple(float(w) for w in range(11))}
    return Spec(system, system.hparams(), sweep=sweep, seeds=5, steps=100000, log_every=100)


def line_segment(boundary: Boundary) -> tuple[np.ndarray, np.ndarray]:
    """The fitted line drawn over the extent of its points (± half a cell)."""
    along = (boundary.points - boundary.centre) @ boundary.direction
    return (boundary.centre + (along.min() - 0.5) * boundary.direction,
            boundary.centre + (along.max() + 0.5) * boundary.direction)


def median_step(steps: xr.DataArray, budget: int) -> xr.DataArray:
    """Median over seeds of first-success steps, NaN when no seed succeeded (B − 1 = never)."""
    return steps.where(steps < budget - 1).median("seed")


def cell_rows(fractions: xr.DataArray, medians: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    x, y = (d for d in fractions.dims if d != "phase")
    majority, agreement = majority_phase(fractions), fractions.max("phase")
    rows = []
    for i, xv in enumerate(fractions[x].values):
        for j, yv in enumerate(fractions[y].values):
            at = {x: i, y: j}
            rows.append({
                x: float(xv), y: float(yv),
                "phase": PHASES[int(majority.isel(at))],
                "agreement": float(agreement.isel(at)),
                "fractions": {p: float(fractions.isel(at).sel(phase=p)) for p in PHASES},
                **{k: float(v.isel(at)) for k, v in medians.items()},
            })
    return rows


def accuracy_prediction(ds: xr.Dataset, config: dict[str, Any]) -> dict[str, Any]:
    """Predicted test accuracy (parallelograms present in each member's final E, δ = rqi_delta)
    against its actual final test accuracy, over the members that did not diverge."""
    static, hparams = config["spec"]["static"], config["spec"]["hparams"]
    member_dims = ds["diverged_step"].dims
    final = ds.isel(step=-1)
    errors = []
    for index in np.ndindex(*ds["diverged_step"].shape):
        at = dict(zip(member_dims, index, strict=True))
        if int(ds["diverged_step"].isel(at)) >= 0:
            continue
        seed = static["split_seed"] if static["split_seed"] >= 0 else int(ds["seed"][at["seed"]])
        fraction = float(final["train_fraction"].isel(at)) if "train_fraction" in at \
            else hparams["train_fraction"]
        train = addition_pairs(static["p"], fraction, seed).train
        present = present_parallelograms(final["embedding"].isel(at).values, static["rqi_delta"])
        errors.append(predicted_accuracy(static["p"], train, present)
                      - float(final["test_acc"].isel(at)))
    errors = np.abs(np.array(errors))
    return {"n": len(errors), "mean_abs_error": float(errors.mean()) if len(errors) else None,
            "share_exact": float(np.mean(errors < 1e-3)) if len(errors) else None}


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """Phase diagram + example curves per phase; the summary documented in the module docstring."""
    config = json.loads(ds.attrs["config"])
    preset = config.get("preset")
    delay = DELAYS.get(preset, 1000.0)
    budget = int(ds["step"].values[-1]) + 1
    alive = ds["diverged_step"] < 0
    phase = classify(ds, THRESHOLD, delay, budget)
    axes = [d for d in phase.dims if d != "seed"]
    medians = {f"t_{name}": median_step(first_step(ds[var], level, budget), budget)
               for name, var, level in (("train", "train_acc", THRESHOLD),
                                        ("test", "test_acc", THRESHOLD),
                                        ("rqi", "rqi", RQI_THRESHOLD))}
    examples = {}
    for k, name in enumerate(PHASES):
        hits = np.argwhere(phase.values == k)
        if len(hits):
            examples[name] = ds.isel(dict(zip(phase.dims, hits[0], strict=True)))
    phase_examples(examples).savefig(out / "phase-examples.png", dpi=120)
    summary: dict[str, Any] = {
        "axes": {a: [float(v) for v in ds[a].values] for a in axes},
        "rule": {"threshold": THRESHOLD, "delay": delay, "budget": budget},
        "phase_counts": {p: int((phase == k).sum()) for k, p in enumerate(PHASES)},
        "n_members": int(phase.size),
        "n_diverged": int((~alive).sum()),
        "predicted_test_acc": accuracy_prediction(ds, config),
    }
    if len(axes) != 2:  # a phase *diagram* needs two swept axes; the counts above still hold
        return {**summary, "grid": [], "boundaries": [], "cell_phase_counts": {}}
    fractions = phase_fractions(phase, "seed").transpose("phase", *axes)
    majority = majority_phase(fractions).values
    boundaries = phase_boundaries(majority)
    lines = [(" | ".join(b.phases), *line_segment(b)) for b in boundaries]
    phase_diagram(fractions, lines,
                  title=f"phase (majority of {ds.sizes['seed']} seeds), B = {budget}, Δ = {delay:g}"
                  ).savefig(out / "phase-diagram.png", dpi=120)
    return {
        **summary,
        "cell_phase_counts": {p: int((majority == k).sum()) for k, p in enumerate(PHASES)},
        "grid": cell_rows(fractions, medians),
        "boundaries": [{"phases": list(b.phases), "centre": b.centre.tolist(),
                        "direction": b.direction.tolist(), "rms": b.rms,
                        "n_points": len(b.points)} for b in boundaries],
    }


register(Experiment(
    name="grokking-phases",
    description="Phase diagram (comprehension/grokking/memorization/confusion) of the Liu et al. "
                "(2022) addition toy over decoder lr x weight decay",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
