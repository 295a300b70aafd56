"""`circles-vs-p`: how many Fourier circles the embedding-MLP keeps vs the prime p, and how the kept
circles collaborate (Ding et al. 2024, `analysis/plot_num_circles.py`, `plot_loss_collaboration.py`).

One static point per p (each p compiles its own program), every member re-seeded (embedding, MLP
and split from its seed), the authors' network at d = 128 (`toymodels.ModularMLP`). A frequency k is
a circle of the final embedding when S_k > 2·mean S (`theory.circles`).

Caution: the 2·mean rule caps the count (m equal circles pass only when m < p/4), so part of the
growth with p is the rule's; docs/modular-addition.md shows it at p = 17.

Trend: the ordinary least-squares slope b of circles = a + b·ln p over every (p, member) point, with
a 95 % percentile bootstrap over those points (`theory.estimate.bootstrap_interval`, 1000 draws).

Collaboration (§4.1), at the largest p, on each member's final parameters (a snapshot at the last
step): keep only the Fourier components k = 0 and the m strongest frequencies (by final S_k) of
the embedding, E' = Re IFFT(M·FFT(E)) (`theory.circles.keep_frequencies`), and evaluate the
cross-entropy (nats) and accuracy of the same MLP on all p² pairs, m = 1..`KEPT`; "all" is the
untouched embedding. The authors' figure keeps chosen frequencies over training time; we keep the
m strongest at the end.

Presets: `default` p ∈ {17, 23, 31, 43, 59}, 5 seeds each, 1500 steps (the paper: primes 13–127,
100 trials, 30000 steps, float64) — float32 and short training, stated; 1500 steps is where
`modular-addition`'s default has settled its circles at p = 59. `paper`: the authors' primes
13–127, 100 seeds, 30000 steps, float64.

summary.json keys:
    circles_by_p     {p: Estimate} circles of the non-diverged members (Student-t 95 %)
    frequencies      {p: (p − 1)/2}, the candidate frequencies
    few_circles      max over p of mean circles / (p − 1)/2 (the largest share of frequencies kept)
    slope_log_p      Estimate: b in circles = a + b·ln p (bootstrap 95 % over the points)
    collaboration    {p, kept: [1..KEPT], loss: {m: Estimate}, accuracy: {m: Estimate}, full_loss,
                      full_accuracy (Estimates), gain_1_to_3: Estimate of loss(1) − loss(3) per member,
                      monotone_share: share of members whose loss falls from 1 to 2 to 3 kept}
                     (Student-t 95 % over the members)
    n_members, n_diverged
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from toymodels import ModularMLP, Spec
from toymodels.engine import uses_x64
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import spec_of
from toymodels.plots.circles import circles_vs_p_figure, collaboration_figure
from toymodels.spec import require
from toymodels.store import RunFolder, nest, read_snapshots
from toymodels.theory.circles import circles, keep_frequencies, strongest
from toymodels.theory.estimate import Estimate, bootstrap_interval, student_t

KEPT = 4
PAPER_PRIMES = (13, 19, 23, 29, 31, 37, 43, 47, 53, 59, 61, 67, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113, 127)


def primes_spec(system: ModularMLP, primes: tuple[int, ...], seeds: int, steps: int, log_every: int) -> Spec:
    """Every p in `primes` (static), re-seeded members, a snapshot of the final state."""
    return Spec(system, system.hparams(), sweep={"p": primes}, seeds=seeds, steps=steps,
                log_every=log_every, snapshot_steps=(steps,))


def tiny() -> Spec:
    return primes_spec(ModularMLP(p=13, d=16, width=32), (13, 17), 3, 200, 50)


def default() -> Spec:
    return primes_spec(ModularMLP(), (17, 23, 31, 43, 59), 5, 1500, 100)


def paper() -> Spec:
    return primes_spec(ModularMLP(precision="float64"), PAPER_PRIMES, 100, 30000, 100)


def check(spec: Spec) -> None:
    require("p" in spec.sweep and len(spec.sweep["p"]) >= 2, "circles-vs-p needs p swept over >= 2 values")
    require(set(spec.sweep) == {"p"}, f"circles-vs-p sweeps p only, got {', '.join(spec.sweep)}")
    require(spec.snapshot_steps and spec.snapshot_steps[-1] == spec.steps,
            "circles-vs-p needs a snapshot at the last step (snapshot_steps ending at steps)")


def counts(ds: xr.Dataset) -> xr.DataArray:
    """Circles per (p, seed) of the final embedding, NaN where the member diverged."""
    alive = xr.concat([circles(final_signal(ds, int(p)), int(p)) for p in ds["p"].values], dim="p",
                      join="outer", fill_value=False)
    return alive.sum("freq").where(ds["diverged_step"] < 0)


def final_signal(ds: xr.Dataset, p: int) -> xr.DataArray:
    """S_k of the final embeddings at p, k = 0..⌊p/2⌋ (the merged sweep pads larger k with NaN)."""
    return ds["signal"].sel(p=p).isel(step=-1, freq=slice(0, p // 2 + 1))


def log_slope(p: np.ndarray, y: np.ndarray) -> Estimate:
    """OLS slope b of y = a + b·ln p (finite points), percentile bootstrap 95 % over the points."""
    keep = np.isfinite(y)
    x, y = np.log(np.asarray(p, float)[keep]), np.asarray(y, float)[keep]

    def slope(i: np.ndarray) -> float:
        return float(np.polyfit(x[i], y[i], 1)[0]) if np.ptp(x[i]) > 0 else float("nan")

    if len(x) < 3 or np.ptp(x) == 0:
        return Estimate(None, n=len(x), interval="bootstrap", level=0.95)
    lo, hi = bootstrap_interval(slope, len(x))
    return Estimate(slope(np.arange(len(x))), lo, hi, len(x), "bootstrap", 0.95)


def final_params(ds: xr.Dataset, point: int) -> dict:
    """The final-step parameters of static point `point` (leaves shaped (seeds, …))."""
    _, paths, leaves = read_snapshots(RunFolder.of(ds).point_snapshots()[point])
    return nest(paths, [leaf[:, -1] for leaf in leaves])["params"]


@functools.cache
def pair_metrics(system: ModularMLP) -> Callable[[dict, jax.Array], tuple[jax.Array, jax.Array]]:
    """(cross-entropy in nats, accuracy) over all p² pairs of `params` with `embedding` in place of E."""
    everyone = jnp.ones(system.p * system.p, bool)
    return jax.jit(lambda params, embedding: system.losses({**params, "embedding": embedding}, everyone)[::2])


def kept_metrics(system: ModularMLP, params: dict, signal: np.ndarray, kept: tuple[int, ...]) -> np.ndarray:
    """(loss, accuracy) on all p² pairs of one member with the embedding cut to the m strongest
    frequencies (`keep_frequencies`), for each m in `kept` (0 = untouched): shape (len(kept), 2)."""
    evaluate = pair_metrics(system)
    rows = []
    for m in kept:
        embedding = np.asarray(params["embedding"]) if m == 0 else \
            keep_frequencies(np.asarray(params["embedding"], np.float64), strongest(signal, system.p, m))
        rows.append([float(v) for v in evaluate(params, jnp.asarray(embedding, system.dtype))])
    return np.array(rows)


def collaboration(ds: xr.Dataset) -> dict[str, Any]:
    """Loss and accuracy with the 1..KEPT strongest frequencies kept, at the largest p."""
    spec = spec_of(ds)
    p = int(ds["p"].values[-1])
    system = dataclasses.replace(spec.system, p=p)
    params = final_params(ds, ds.sizes["p"] - 1)
    signal = final_signal(ds, p)
    healthy = (ds["diverged_step"].sel(p=p) < 0).values
    kept = (*range(1, KEPT + 1), 0)
    with jax.enable_x64(uses_x64(system)):  # the run's precision, scoped as the engine does
        table = np.array([kept_metrics(system, jax.tree.map(lambda x, s=s: jnp.asarray(x[s]), params),
                                       signal.isel(seed=s).values, kept)
                          for s in range(ds.sizes["seed"]) if healthy[s]]).reshape(-1, len(kept), 2)
    loss, acc = table[..., 0], table[..., 1]
    return {"p": p, "kept": list(range(1, KEPT + 1)),
            "loss": {str(m): student_t(loss[:, i]) for i, m in enumerate(kept[:-1])},
            "accuracy": {str(m): student_t(acc[:, i]) for i, m in enumerate(kept[:-1])},
            "full_loss": student_t(loss[:, -1]), "full_accuracy": student_t(acc[:, -1]),
            "gain_1_to_3": student_t(loss[:, 0] - loss[:, 2]),
            "monotone_share": float(np.mean((loss[:, 0] > loss[:, 1]) & (loss[:, 1] > loss[:, 2])))
            if len(loss) else float("nan")}


@dataclass(frozen=True)
class CirclesVsPSummary(Summary):
    circles_by_p: dict[str, Estimate]
    frequencies: dict[str, int]
    few_circles: float
    slope_log_p: Estimate
    collaboration: dict[str, Any]
    n_members: int
    n_diverged: int


def summarize(ds: xr.Dataset) -> CirclesVsPSummary:
    """Circles per p, their trend in ln p, and the collaboration of the strongest circles."""
    n = counts(ds).transpose("p", "seed")
    primes = ds["p"].values
    means = {int(p): student_t(n.sel(p=p).values) for p in primes}
    shares = [means[int(p)].value / ((int(p) - 1) // 2) for p in primes if means[int(p)].value is not None]
    return CirclesVsPSummary(
        circles_by_p={str(p): e for p, e in means.items()},
        frequencies={str(int(p)): (int(p) - 1) // 2 for p in primes},
        few_circles=float(max(shares)) if shares else float("nan"),
        slope_log_p=log_slope(np.repeat(primes, n.sizes["seed"]), n.values.ravel()),
        collaboration=collaboration(ds),
        n_members=int(ds["diverged_step"].size),
        n_diverged=int((ds["diverged_step"] >= 0).sum()),
    )


def figures(ds: xr.Dataset, summary: CirclesVsPSummary) -> Figures:
    """Circles vs p with the ln p trend; loss and accuracy vs circles kept."""
    n = counts(ds).transpose("p", "seed")
    slope = summary.slope_log_p
    collab = summary.collaboration
    return {"circles_vs_p": circles_vs_p_figure(ds["p"].values, n.values, slope.value, slope.lo, slope.hi),
            "collaboration": collaboration_figure(
                collab["kept"], [collab["loss"][str(m)] for m in collab["kept"]],
                [collab["accuracy"][str(m)] for m in collab["kept"]], collab["full_loss"],
                collab["full_accuracy"], title=f"circle collaboration, p = {collab['p']}")}


CLAIMS = (
    Claim(source="Ding et al. 2024, abstract (sweep of analysis/plot_num_circles.py: d = 128, primes 13–127)",
          text="only a few circles survive at every p: the largest share of the (p − 1)/2 frequencies kept, "
               "mean over seeds, over p = 17..59",
          key="few_circles", paper="only a few circles survive (no count per p in the reference)",
          accept=(0.01, 1 / 3),
          band="our reading of 'only a few' (as modular-addition's circles_count row): at most a third of the "
               "candidate frequencies, and not none; no paper interval",
          measured=0.2667, drift=0.06,
          drift_source="the Student-t half-width at p = 23 (±0.68 circles of 11 frequencies); the largest "
                       "share, p = 31, has 4 circles in every seed",
          reason="circles per p (5 seeds): 0.8, 2.6, 4.0, 4.4, 5.2 of 8, 11, 15, 21, 29 frequencies"),
    Claim(source="Ding et al. 2024, analysis/plot_num_circles.py (circles vs p; its figure was not read)",
          text="the circle count grows with p: the lower end of the 95 % bootstrap interval of the slope "
               "of circles vs ln p is above 0",
          key="slope_log_p/lo", paper="the paper draws circles vs p; its trend and values are not in the "
                                      "reference notes", kind="target",
          accept=(0.0, None),
          band="a sign test, our target: the interval of b in circles = a + b·ln p excludes 0",
          measured=2.569, drift=0.6,
          drift_source="one seed less (leave-one-seed-out over the 5 seeds at every p) gives 2.11–2.66",
          reason="slope 3.39 circles per unit ln p (bootstrap 95 % 2.57–4.21), p = 17..59, 5 seeds each; "
                 "a target until the paper's figure is read; partly the 2·mean rule's cap m < p/4 (docs)"),
    Claim(source="Ding et al. 2024, §4.1 (analysis/plot_loss_collaboration.py)",
          text="circles collaborate: the loss on all pairs falls as 1, 2, 3 circles are kept; the lower end "
               "of the 95 % interval of loss(1 kept) − loss(3 kept) is above 0",
          key="collaboration/gain_1_to_3/lo", paper="loss falls as 1, 2, 3 circles are kept (figure; values "
                                                     "not in the reference)",
          accept=(0.0, None),
          band="the paper's statement is a direction: the Student-t 95 % interval over members excludes no "
               "gain; our threshold",
          measured=1.846, drift=0.5,
          drift_source="one seed less (leave-one-seed-out over the 5 members at p = 59) gives 1.56–2.02",
          reason="p = 59, 5 members: loss 2.98, 1.77, 0.55, 0.16 nats with 1–4 strongest circles kept "
                 "(all frequencies 0.001); every member falls from 1 to 2 to 3"),
)

register(Experiment(
    name="circles-vs-p",
    description="Embedding-MLP vs prime p (Ding et al. 2024): circles per p and their trend, "
                "collaboration of the strongest circles",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
    check=check,
))
