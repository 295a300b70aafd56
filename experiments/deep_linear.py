"""`deep-linear`: a two-layer linear network against the exact solution of Saxe et al. (2014).

A population over init scales × seeds (`toymodels.deep_linear.DeepLinear`, full-batch gradient
descent on whitened data with singular values s = 3, 2, 1, 0.5) learns its modes one by one (the
staircase loss). Each member's simulated mode strengths u_α(t) are compared with the exact curve
u(t) = s e^{2st} / (e^{2st} − 1 + s/u₀) (t = lr · step, τ = 1), where u₀ = a_α(0) b_α(0) is the
member's own initial aligned strength (no fitted parameter). Small init: the exact curves hold;
as init grows the network leaves the regime of the solution (lazy rather than rich learning).

summary.json keys:
    mode_r2                  R² of simulated vs exact u_α(t) at the smallest init scale, pooled over modes,
                             per seed → Estimate (95 % student-t interval over seeds)
    learning_time_ratio      mode index → measured / exact t½ (u = s/2) at the smallest init: Estimate
                             (95 % student-t interval over seeds)
    mode_r2_by_init          init scale → Estimate of the pooled R² (95 % student-t interval over seeds)
    singular_values, init_scale_small, n_diverged
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.deep_linear import DeepLinear
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import spec_of
from toymodels.plots.deep_linear import mode_curves, r2_by_init
from toymodels.spec import require
from toymodels.theory.deep_linear import exact_strength, half_time, r_squared
from toymodels.theory.estimate import Estimate, student_t
from toymodels.theory.events import first_step

INIT_SCALES = tuple(float(x) for x in np.logspace(-4, 0, 9))


def tiny() -> Spec:
    system = DeepLinear(n=4, hidden=8, spectrum="2,1")
    return Spec(system, system.hparams(), sweep={"init_scale": (1e-3, 1.0)}, seeds=2, steps=600, log_every=20)


def default() -> Spec:
    system = DeepLinear()
    return Spec(system, system.hparams(), sweep={"init_scale": INIT_SCALES}, seeds=8, steps=3000, log_every=10)


def paper() -> Spec:
    system = DeepLinear(n=32, hidden=64, spectrum="5,4,3,2,1,0.5")
    return Spec(system, system.hparams(), sweep={"init_scale": tuple(float(x) for x in np.logspace(-5, 0, 21))},
                seeds=50, steps=20000, log_every=10)


@dataclass(frozen=True)
class DeepLinearSummary(Summary):
    mode_r2: Estimate                          # student-t over seeds, smallest init
    learning_time_ratio: dict[str, Estimate]   # per mode: student-t over seeds, smallest init
    mode_r2_by_init: dict[str, Estimate]       # per init scale: student-t over seeds
    singular_values: list[float]
    init_scale_small: float
    n_diverged: int


def comparison(ds: xr.Dataset) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    """(time t = lr·step, singular values s over `mode`, exact u(t) per member and mode)."""
    spec = spec_of(ds)
    s = xr.DataArray(spec.system.singular_values.astype(float), dims="mode", coords={"mode": ds["mode"]})
    lr = ds["lr"] if "lr" in ds.coords else spec.hparams["lr"]
    t = ds["step"] * lr
    u0 = ds["aligned_strength"].isel(step=0)
    return t, s, xr.apply_ufunc(exact_strength, t, s, u0)


def summarize(ds: xr.Dataset) -> DeepLinearSummary:
    """R² and half-times against the exact solution, per seed, with their t-intervals over seeds."""
    require("init_scale" in ds.dims and "seed" in ds.dims, "deep-linear's report needs init_scale and seeds")
    t, s, exact = comparison(ds)
    simulated = ds["strength"]
    r2 = r_squared(simulated, exact, ("step", "mode"))
    u0 = ds["aligned_strength"].isel(step=0)
    t_half_exact = xr.apply_ufunc(half_time, s, u0)
    t_half = first_step(simulated >= s / 2) * (t / ds["step"]).isel(step=-1)
    ratio = t_half / t_half_exact
    small = float(ds["init_scale"].min())
    healthy = ds["diverged_step"] < 0
    return DeepLinearSummary(
        mode_r2=student_t(r2.where(healthy).sel(init_scale=small).values),
        learning_time_ratio={str(int(m)): student_t(ratio.sel(init_scale=small, mode=m).values)
                             for m in ds["mode"].values},
        mode_r2_by_init={f"{v:g}": student_t(r2.where(healthy).sel(init_scale=v).values)
                         for v in ds["init_scale"].values},
        singular_values=[float(x) for x in s.values],
        init_scale_small=small,
        n_diverged=int((~healthy).sum()),
    )


def figures(ds: xr.Dataset, summary: DeepLinearSummary) -> Figures:
    """Curves at the smallest init against the exact ones; R² against init scale."""
    t, _, exact = comparison(ds)
    small = summary.init_scale_small
    return {"deep-linear-modes": mode_curves(ds["strength"].sel(init_scale=small), exact.sel(init_scale=small), t,
                                             ds["loss"].sel(init_scale=small)),
            "deep-linear-r2": r2_by_init(r_squared(ds["strength"], exact, ("step", "mode")))}


SAXE = "Saxe et al. 2014, eq. 7 / Fig. 3"
SEEDS_T = "the 95 % student-t interval over the 8 seeds of the default run"
RATIOS = {0: (1.070269, 0.031), 1: (1.073510, 0.033), 2: (1.050945, 0.026), 3: (1.058415, 0.033)}
CLAIMS = (
    Claim(SAXE, "from small init, mode strengths follow the exact sigmoidal solution", "mode_r2",
          paper="exact (R² = 1)", accept=(0.95, 1.0), partly=(0.8, 1.0),
          band="eq. 7 is exact (R² = 1); 0.95 (partly 0.8) is our tolerance for what it leaves out (discrete "
               "steps, the alignment phase of a random init), not a number of the paper",
          measured=0.997067, drift=0.0011, drift_source="width hi − lo of " + SEEDS_T + " (0.99652–0.99761)",
          min_n=3),
    *(Claim(SAXE, f"mode {m}'s time to half strength matches t½ = ln(s/u₀ − 1)/2s",
            f"learning_time_ratio/{m}", paper="1", accept=(0.85, 1.2), partly=(0.7, 1.5),
            band="t½ is exact in the paper (ratio 1); −15 % / +20 % (partly −30 % / +50 %) is our tolerance "
                 "for a random (not decoupled) init, not a number of the paper",
            measured=RATIOS[m][0], drift=RATIOS[m][1], drift_source="width hi − lo of " + SEEDS_T,
            min_n=3, reason="random (not decoupled) init: the modes first align, which adds a few % to t½")
      for m in range(4)),
    Claim("Saxe et al. 2014, §3 (small-init assumption)",
          "the solution needs small init: at init scale 1 the curves leave it", "mode_r2_by_init/1",
          paper="not covered by the solution", accept=(None, 0.5), kind="control",
          band="our threshold (R² ≤ 0.5 is far off the exact curves); the paper states no number at large init",
          measured=0.035177, drift=0.79, drift_source="width hi − lo of " + SEEDS_T + " (−0.356–0.427)",
          min_n=3,
          reason="a control that the comparison can fail; a broken implementation (or a wrong exact curve) "
                 "passes it too, so it means something only next to mode_r2 ≥ 0.95"),
)

register(Experiment(
    name="deep-linear",
    description="Two-layer linear network vs the exact solution (Saxe et al. 2014): modes, staircase, init scale",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
))
