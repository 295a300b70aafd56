"""`quanta-genic`: monogenic vs polygenic samples on multitask sparse parity (Michaud et al. 2023,
the quantization model).

The paper (its LLM section) reads per-token loss curves over training: a *monogenic* sample needs
one quantum and its loss falls sharply at one time; a *polygenic* sample is helped by several
quanta and its loss falls gradually, one step per quantum. The toy analogue here:

    monogenic curve    L_i(t) = subtask_loss[i](t), the test loss (bits) of subtask i, for every
                       subtask learned by the end (final loss < 0.1 bits)
    polygenic curve    L_G(t) = mean_{i ∈ G} L_i(t), G a random group of `GENES` = 3 learned subtasks
                       (`theory.genic.composite`; groups drawn with numpy default_rng(seed))
    width              ln(t_0.9 / t_0.1), the log-time span of the middle 80 % of the drop
                       (`theory.genic.emergence_width`; 0 = a step, ln 9 ≈ 2.2 = a linear ramp from 0)
    width_ratio        per seed, median polygenic width / median monogenic width (> 1: monogenic
                       samples emerge more sharply); Student-t 95 % over seeds

Deviations, stated: (1) a monogenic "sample" is the mean over a subtask's fixed test set (100
samples of one parity, which are learned together), not one input; (2) polygenic samples are built
from the trained model's subtask losses, not trained as a task: a label that depends on several
parities (their XOR, say) is itself one sparse parity, i.e. one quantum, so no label of this task
is polygenic; the composite stands in for a token whose loss several quanta each lower.

Presets: `default` is the widest online member of `quanta-emergence`'s default (50 subtasks, k = 2
of n = 24 bits, width 128, batch 500, lr 1e-2, α = 0.4), 16 seeds, 3000 steps logged every 20
steps (the width needs finer logging than emergence's 100). `paper`: the paper's §3.2 network
(500 subtasks, k = 3 of n = 100, width 500, batch 20000, 2·10⁵ steps), 6 seeds.

summary.json keys:
    genes         size of a polygenic group (3)
    mono_width    Estimate: per-seed median width of the monogenic curves (Student-t 95 % over seeds)
    poly_width    Estimate: the same for the polygenic curves
    width_ratio   Estimate: per-seed median polygenic / median monogenic width (Student-t 95 %)
    per_seed      one row per seed: seed, n_mono, n_poly, mono_width, poly_width, width_ratio
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from toymodels import Spec
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.plots.scaling import genic_curves
from toymodels.sparse_parity import SparseParityMLP
from toymodels.spec import require
from toymodels.theory.estimate import Estimate, student_t
from toymodels.theory.genic import composite, emergence_width, groups_of
from toymodels.theory.scaling import LEARNED_BITS

GENES = 3


def tiny() -> Spec:
    system = SparseParityMLP(n_tasks=6, n=6, k=2, width=32, batch=256, test_per_task=64)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, seeds=3, steps=300, log_every=10)


def default() -> Spec:
    """quanta-emergence's widest default member, 16 seeds, logged every 20 steps."""
    system = SparseParityMLP(n_tasks=50, n=24, k=2, width=128, batch=500, test_per_task=100)
    return Spec(system, {**system.hparams(), "lr": 1e-2}, seeds=16, steps=3000, log_every=20)


def paper() -> Spec:
    """The paper's §3.2 network (α = 0.4), 6 seeds, 2·10⁵ steps logged every 100."""
    system = SparseParityMLP()
    return Spec(system, system.hparams(), seeds=6, steps=200_000, log_every=100)


def check(spec: Spec) -> None:
    require(not spec.sweep, "quanta-genic reads one network per seed: sweep nothing (got "
            f"{', '.join(spec.sweep)})")


def seed_curves(loss: xr.DataArray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(monogenic curves, polygenic curves) of one seed's subtask_loss (subtask, step)."""
    curves = loss.transpose("subtask", "step").values
    learned = np.flatnonzero(curves[:, -1] < LEARNED_BITS)
    mono = curves[learned]
    poly = composite(curves, groups_of(learned, GENES, seed)) if len(learned) >= GENES else mono[:0]
    return mono, poly


def median_width(steps: np.ndarray, curves: np.ndarray) -> float:
    widths = [emergence_width(steps, c) for c in curves]
    finite = [w for w in widths if np.isfinite(w)]
    return float(np.median(finite)) if finite else float("nan")


@dataclass(frozen=True)
class QuantaGenicSummary(Summary):
    genes: int
    mono_width: Estimate
    poly_width: Estimate
    width_ratio: Estimate
    per_seed: list[dict[str, Any]]


def summarize(ds: xr.Dataset) -> QuantaGenicSummary:
    """Median emergence widths of monogenic and polygenic curves per seed, and their ratio."""
    healthy = ds.where(ds["diverged_step"] < 0, drop=True)
    steps = healthy["step"].values
    rows = []
    for seed in healthy["seed"].values:
        mono, poly = seed_curves(healthy["subtask_loss"].sel(seed=seed), int(seed))
        m, q = median_width(steps, mono), median_width(steps, poly)
        rows.append({"seed": int(seed), "n_mono": len(mono), "n_poly": len(poly),
                     "mono_width": m, "poly_width": q, "width_ratio": q / m if m > 0 else float("nan")})
    column = lambda key: [r[key] for r in rows]  # noqa: E731
    return QuantaGenicSummary(genes=GENES, mono_width=student_t(column("mono_width")),
                              poly_width=student_t(column("poly_width")),
                              width_ratio=student_t(column("width_ratio")), per_seed=rows)


def figures(ds: xr.Dataset, summary: QuantaGenicSummary) -> Figures:
    """Monogenic and polygenic loss curves of seed 0 against step."""
    mono, poly = seed_curves(ds["subtask_loss"].isel(seed=0), int(ds["seed"].values[0]))
    ratio = summary.width_ratio.value
    return {"genic_curves": genic_curves(ds["step"].values, mono, poly, GENES,
                                         title="per-sample loss, seed 0; width ratio over seeds "
                                               + (f"{ratio:.2f}" if ratio is not None else "n/a"))}


CLAIMS = (
    Claim(source="Michaud et al. 2023 (quantization model), monogenic vs polygenic samples",
          text="monogenic samples emerge more sharply than polygenic ones: median emergence width "
               "ln(t_0.9/t_0.1) of 3-quantum composites over that of single subtasks",
          key="width_ratio", paper="monogenic: a sharp drop at one time; polygenic: gradual (qualitative)",
          accept=(1.5, None), partly=(1.0, None),
          band="the paper states a direction only: accept = polygenic curves at least 1.5× wider on a "
               "log-time axis, partly = any widening; our thresholds, no paper interval",
          measured=1.834, drift=0.15,
          drift_source="a rerun with other float rounding is a fresh draw of the 16 seeds (1 vs 2 CPU devices: "
                       "1.80 vs 1.83): 2 × per-seed SD 0.21 × √(2/16)",
          min_n=16, reason="16 seeds: ratio 1.83 (Student-t 95 % 1.72–1.95), every seed 1.44–2.23; "
                          "toy analogue with the two deviations of the module docstring"),
)

register(Experiment(
    name="quanta-genic",
    description="Multitask sparse parity: monogenic vs polygenic per-sample loss curves (emergence width)",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
    check=check,
))
