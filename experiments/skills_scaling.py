"""`skills-scaling`: neural scaling laws of the Geometry model (paper Fig10, `scripts/run_nsl.py`).

Geometry model with CE skills, random unit task vectors, n Zipf(α) tasks, sampled batches of
1024, lr 1e-2; d and the optimizer (SignGD, Adam) are static axes, α is vmapped.
    α_N: final loss L(d) ∝ d^{−α_N}, least squares over every swept d
    α_S: loss L(t) ∝ t^{−α_S} at the largest swept d, least squares over steps [S_LO, S_HI]
Reference lines: Domino α_N = α_S = α − 1; Quanta α_N = α − 1, α_S = (α − 1)/α; Chinchilla
(0.34, 0.28). The paper (n = 1000, d = 20..1000, 1e5 steps) is far beyond a 2-core CPU: the
`default` preset uses n = 200, d ∈ {10, 20, 40, 80}, 3000 steps (see docs/skills.md).

summary.json keys:
    alpha_N[optimizer][alpha], alpha_S[optimizer][alpha]   measured exponents (mean loss over seeds)
    final_loss[optimizer][alpha][d]                         mean final loss
    paper_alpha_N[optimizer][alpha], paper_alpha_S[...]     read off the paper's Fig10
    domino[alpha], quanta[alpha]                            (α_N, α_S) of the two models
    chinchilla                                              {"alpha_N": 0.34, "alpha_S": 0.28}
    alpha_S_window                                          [first step, last step, d] of α_S fit
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Experiment, register
from toymodels.plots.skills import exponent_panels, scaling_panels
from toymodels.skills import Geometry
from toymodels.theory.skills import CHINCHILLA, domino_exponents, power_law_exponent, quanta_exponents

ALPHAS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0)
PAPER_ALPHA_N = {"signgd": (0.35, 0.48, 0.63, 0.79, 0.95, 0.96),
                 "adam": (0.35, 0.48, 0.63, 0.79, 0.96, 1.13)}
PAPER_ALPHA_S = {"signgd": (0.18, 0.30, 0.45, 0.62, 0.81, 1.03),
                 "adam": (0.17, 0.24, 0.34, 0.46, 0.58, 0.71)}
S_LO, S_HI = 80, 200


def system(n: int) -> Geometry:
    return Geometry(d=100, n=n, vectors="random", frequencies="zipf", loss="ce",
                    gradient="autograd", batch=1024, optimizer="adam")


def spec(n: int, ds: tuple[int, ...], alphas: tuple[float, ...], steps: int, log_every: int,
         seeds: int = 1) -> Spec:
    return Spec(system(n), {**system(n).hparams(), "lr": 1e-2},
                sweep={"optimizer": ("signgd", "adam"), "d": ds, "alpha": alphas},
                seeds=seeds, steps=steps, log_every=log_every)


def tiny() -> Spec:
    return spec(50, (5, 10), (1.0, 2.0), 200, 10)


def default() -> Spec:
    return spec(200, (10, 20, 40, 80), ALPHAS, 3000, 10)


def paper() -> Spec:
    return spec(1000, tuple(range(20, 1001, 20)), ALPHAS, 100_000, 20, seeds=4)


def nested(values: xr.DataArray, *dims: str) -> Any:
    """{dim0 value: {dim1 value: … float}} with NaN → None."""
    if not dims:
        v = float(values)
        return None if np.isnan(v) else v
    keys = values[dims[0]].values
    return {key_text(k): nested(values.sel({dims[0]: k}), *dims[1:]) for k in keys}


def key_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def report(ds: xr.Dataset, out: Path) -> dict[str, Any]:
    """α_N from final loss vs d, α_S from loss vs steps at the largest d; figures of both."""
    loss = ds["loss"].where(ds["diverged_step"] < 0).mean("seed")
    final = loss.isel(step=-1)
    d_s = int(ds["d"].values.max())
    curve = loss.sel(d=d_s)
    alpha_n = power_law_exponent(final, "d")
    alpha_s = power_law_exponent(curve, "step", S_LO, S_HI)
    for name in ds["optimizer"].values:
        scaling_panels(final.sel(optimizer=name), curve.sel(optimizer=name), "alpha").savefig(
            out / f"skills-scaling-{name}.png", dpi=110)
    grid = np.linspace(float(ds["alpha"].min()), float(ds["alpha"].max()), 50)
    dom, qua = domino_exponents(grid), quanta_exponents(grid)
    paper_alpha = np.array(ALPHAS)
    lines = {
        name: {"Domino": (grid, dom[k]), "Quanta": (grid, qua[k]),
               "Chinchilla": (grid, np.full_like(grid, CHINCHILLA[name])),
               **{f"paper {o}": (paper_alpha, np.array(v)) for o, v in table.items()}}
        for k, (name, table) in enumerate((("alpha_N", PAPER_ALPHA_N), ("alpha_S", PAPER_ALPHA_S)))
    }
    exponent_panels({"alpha_N": alpha_n, "alpha_S": alpha_s}, lines).savefig(
        out / "skills-scaling-exponents.png", dpi=110)
    alphas = ds["alpha"].values
    return {
        "alpha_N": nested(alpha_n, "optimizer", "alpha"),
        "alpha_S": nested(alpha_s, "optimizer", "alpha"),
        "final_loss": nested(final, "optimizer", "alpha", "d"),
        "paper_alpha_N": {o: dict(zip((f"{a:g}" for a in ALPHAS), v, strict=True))
                          for o, v in PAPER_ALPHA_N.items()},
        "paper_alpha_S": {o: dict(zip((f"{a:g}" for a in ALPHAS), v, strict=True))
                          for o, v in PAPER_ALPHA_S.items()},
        "domino": {f"{a:g}": [float(x) for x in domino_exponents(a)] for a in alphas},
        "quanta": {f"{a:g}": [float(x) for x in quanta_exponents(a)] for a in alphas},
        "chinchilla": CHINCHILLA,
        "alpha_S_window": [S_LO, S_HI, d_s],
        "n_tasks": json.loads(ds.attrs["config"])["spec"]["static"]["n"],
    }


register(Experiment(
    name="skills-scaling",
    description="Geometry-model scaling laws (Liu et al. 2025 Fig10): alpha_N, alpha_S vs alpha",
    presets={"tiny": tiny, "default": default, "paper": paper},
    report=report,
))
