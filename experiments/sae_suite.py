"""`sae-suite`: ReLU+L1, TopK, JumpReLU and Switch SAEs side by side on realistic synthetic features.

Data: `sae-synthetic-v1` (`toymodels.tasks.sae_synthetic`): N unit features in d dims, Zipfian firing
rates p_r ∝ r^(−zipf) (Σ p_r = `mean_active` over the top-level features), pairs correlated through a
Gaussian copula, P parents with C mutually exclusive children each (a child fires only with its
parent), per-feature log-normal magnitude means. System: `toymodels.SAESuite` — the four variants are
one masked `variant` hyperparameter, so one compiled program trains every (variant, sparsity knob,
width) row × seeds (a tied member list, vmapped); the knob is the L1 coefficient (ReLU), k (TopK,
Switch) or the L0 coefficient λ (JumpReLU, the paper's sparsity knob; its threshold starts at θ₀ = 0.1).

Rows: each variant at the base width M₀ = latents/E over its knob values (the reconstruction-vs-L0
front); TopK at k* over widths M₀/2 … E·M₀ and Switch at k* with E experts of M₀/2 and M₀ (the
reconstruction-vs-FLOPs front). FLOPs per token (`toymodels.sae_suite.flops`): 2·d·M for a dense
SAE of M latents; 2·d·M/E + d·E for a Switch SAE (the active expert's encoder and decoder + router).

Report (per seed, then a 95 % Student-t interval over seeds): every metric of every base-width row
(MSE, explained variance, L0, dead latents, shrinkage, MMCS on the records; Hungarian MCC,
dark-matter R² and absorption from the final snapshot), interpolated at the matched L0 = the data's
expected number of active features (linear in log L0, log MSE); the MSE ratios at matched L0; the
Switch SAE's FLOP saving = (FLOPs a dense TopK SAE at k* needs for the Switch SAE's MSE, interpolated
log-log on the dense width front) / (the Switch SAE's FLOPs).

Absorption (`theory.sae.absorption`): over samples where a parent and one of its children fire, the
share in which the parent's best-matching latent is silent while the child's latent fires and its
decoder atom has cosine ≥ 0.3 with the parent direction (children are orthogonal to their parent
in the data, so that cosine is 0 without absorption).

Deviations, stated: toy data instead of LM activations (d = 16, N = 48 by default); no AuxK loss for
TopK (Gao et al.) and no dead-latent resampling; the JumpReLU bandwidth is ε = 0.01 (the paper's 0.001
is for activations normalised to unit mean square norm; ours have ‖x‖² ≈ 4); Switch SAE load-balancing
coefficient α = 0.01 (Fedus et al.'s default); every member's compute is that of the full buffer
(one program), FLOPs are the nominal formula.

summary.json keys:
    l0_target      the matched L0 (expected number of active true features per sample)
    at_matched_l0  {variant: {metric: Estimate}} metrics interpolated at l0_target (student-t over seeds)
    mse_ratio      {"topk_vs_relu", "jumprelu_vs_topk", "switch_vs_topk": Estimate} ratios of MSE at
                   matched L0, per seed (switch_vs_topk: both at k* = the base width's FLOP match)
    flop_saving    Estimate: dense TopK FLOPs at the Switch SAE's MSE / Switch FLOPs, per seed
    l0_front       {variant: rows {knob, l0, mse, explained_variance, flops}} (base width, seed means)
    flops_front    {variant: rows {width, flops, mse, l0}} (TopK and Switch at k*, seed means)
    n_members, seeds
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import xarray as xr

from toymodels import Spec, load_snapshots
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import config_of
from toymodels.plots.sae import metric_bars, pareto_fronts
from toymodels.sae_suite import VARIANTS, SAESuite, flops
from toymodels.spec import require
from toymodels.store import RunFolder
from toymodels.theory.estimate import Estimate, student_t
from toymodels.theory.sae import absorption, dark_matter, interpolate_at, interpolate_linear_at, mcc

MEMBER = "variant+knob+width"
RECORDED = ("mse", "explained_variance", "l0", "dead", "shrinkage", "mmcs")
DERIVED = ("mcc", "dark_matter", "absorption")


def members(system: SAESuite, knobs: dict[str, tuple[float, ...]], k_star: int,
            widths: tuple[float, ...]) -> list[dict[str, float]]:
    """The tied rows: every variant at the base width over its knobs; TopK at k* over `widths` and Switch
    at k* with experts of half and full base width."""
    base = float(system.block)
    rows = [{"variant": float(v), "knob": float(k), "width": base * (system.experts if name == "switch" else 1)}
            for v, name in enumerate(VARIANTS) for k in knobs[name]]
    rows += [{"variant": 1.0, "knob": float(k_star), "width": float(w)} for w in widths if w != base]
    rows += [{"variant": 3.0, "knob": float(k_star), "width": base * system.experts / 2}]
    return rows


def spec_for(system: SAESuite, knobs: dict[str, tuple[float, ...]], k_star: int, seeds: int, steps: int,
             lr: float = 1e-3) -> Spec:
    widths = tuple(float(system.block * f) for f in (0.5, 1, 2, 4) if system.block * f <= system.latents)
    spec = Spec(system, {**system.hparams(), "lr": lr}, seeds=seeds, steps=steps, log_every=steps // 2,
                snapshot_steps=(steps,))
    return spec.with_members(members(system, knobs, k_star, widths))


def tiny() -> Spec:
    system = SAESuite(d=8, n_features=20, n_parents=2, n_children=2, mean_active=2.0, latents=48, experts=2,
                      batch=64, eval_batch=512)
    knobs = {"relu": (0.03, 0.3), "topk": (1, 3), "jumprelu": (0.003, 0.03), "switch": (1, 3)}
    return spec_for(system, knobs, 3, seeds=3, steps=200, lr=3e-3)


KNOBS = {"relu": (0.3, 0.6, 1.0, 2.0), "topk": (2, 4, 6, 8), "jumprelu": (0.03, 0.1, 0.3, 1.0),
         "switch": (2, 4, 6, 8)}


def default() -> Spec:
    return spec_for(SAESuite(), KNOBS, 4, seeds=5, steps=2000, lr=3e-3)


def paper() -> Spec:
    """Larger data (d = 64, N = 512, 16 parents × 4 children, zipf 0.8), 16 experts of 128 latents, 20k steps."""
    system = SAESuite(d=64, n_features=512, n_parents=16, n_children=4, zipf=0.8, mean_active=8.0, latents=2048,
                      experts=16, k_max=32, batch=1024, eval_batch=4096)
    knobs = {"relu": tuple(float(x) for x in np.geomspace(0.003, 0.3, 7)), "topk": (4, 8, 12, 16, 24, 32),
             "jumprelu": tuple(float(x) for x in np.geomspace(0.001, 0.1, 7)), "switch": (4, 8, 12, 16, 24, 32)}
    return spec_for(system, knobs, 12, seeds=5, steps=20000, lr=3e-3)


def check(spec: Spec) -> None:
    """The report reads the tied member list and the final parameters."""
    require(any(g.keys == ("variant", "knob", "width") for g in spec.tied),
            "sae-suite's report needs the tied member list variant+knob+width (see the presets)")
    require(spec.steps in spec.snapshot_steps, f"sae-suite's report reads the final parameters: set "
            f"snapshot_steps={spec.steps} (a snapshot at the last step)")


def spec_of(ds: xr.Dataset) -> Spec:
    return Spec.from_dict(config_of(ds)["spec"], (SAESuite,))


def member_metrics(ds: xr.Dataset, spec: Spec) -> xr.Dataset:
    """MCC, dark-matter R² and absorption of every member's final SAE on the evaluation batch."""
    system: SAESuite = spec.system
    data = system.data()
    _, snapshots = load_snapshots(RunFolder.of(ds).path)
    dims = tuple(ds["diverged_step"].dims)
    out = {name: np.full(ds["diverged_step"].shape, np.nan) for name in DERIVED}
    x = jnp.asarray(data.eval_x)
    for index in np.ndindex(*ds["diverged_step"].shape):
        row = ds[MEMBER].isel({MEMBER: index[dims.index(MEMBER)]})
        hp = {**{k: jnp.asarray(v) for k, v in spec.hparams.items()},
              **{k: jnp.asarray(float(row[k])) for k in ("variant", "knob", "width")}}
        params = {k: jnp.asarray(leaf[(*index, -1)]) for k, leaf in snapshots.items()}
        x_hat, z, _ = system.reconstruct(params, x, hp)
        mask, decoder = np.asarray(system.mask(hp)), np.asarray(params["decoder"])
        out["mcc"][index] = mcc(data.features, decoder, mask)
        out["dark_matter"][index] = dark_matter(data.eval_x, np.asarray(x - x_hat))
        out["absorption"][index] = absorption(data.eval_c, np.asarray(z), decoder, data.features, data.parent, mask)
    return xr.Dataset({k: (dims, v) for k, v in out.items()}, coords={d: ds[d] for d in dims})


@dataclass(frozen=True)
class SaeSuiteSummary(Summary):
    l0_target: float
    at_matched_l0: dict[str, dict[str, Estimate]]
    mse_ratio: dict[str, Estimate]
    flop_saving: Estimate
    l0_front: dict[str, list[dict[str, float]]]
    flops_front: dict[str, list[dict[str, float]]]
    n_members: int
    seeds: int


def rows_of(metrics: xr.Dataset, variant: int, **fixed: float) -> xr.Dataset:
    """The members of `variant` (and the fixed knob/width), along MEMBER."""
    keep = metrics["variant"] == variant
    for key, value in fixed.items():
        keep = keep & (metrics[key] == value)
    return metrics.isel({MEMBER: np.flatnonzero(keep.values)})


def matched(rows: xr.Dataset, target: float) -> dict[str, np.ndarray]:
    """Per seed: every metric but L0 interpolated at L0 = target over the rows' knobs."""
    out = {}
    for name in (*RECORDED, *DERIVED):
        if name == "l0":
            continue
        f = interpolate_at if name == "mse" else interpolate_linear_at
        out[name] = np.array([f(rows["l0"].sel(seed=s).values, rows[name].sel(seed=s).values, target)
                              for s in rows["seed"].values])
    return out


def flop_savings(metrics: xr.Dataset, system: SAESuite, k_star: float) -> np.ndarray:
    """Per seed: FLOPs of a dense TopK SAE (k*) at the Switch SAE's MSE (log-log over the dense widths),
    divided by the Switch SAE's FLOPs (base experts)."""
    dense = rows_of(metrics, 1, knob=k_star)
    switch = rows_of(metrics, 3, knob=k_star, width=float(system.latents))
    dense_flops = np.array([flops("topk", w, system.d, system.experts) for w in dense["width"].values])
    switch_flops = flops("switch", float(system.latents), system.d, system.experts)
    return np.array([interpolate_at(dense["mse"].sel(seed=s).values, dense_flops,
                                    float(switch["mse"].sel(seed=s).values[0])) / switch_flops
                     for s in metrics["seed"].values])


def summarize(ds: xr.Dataset) -> SaeSuiteSummary:
    """Fronts, metrics at matched L0, MSE ratios and the Switch SAE's FLOP saving (module docstring)."""
    spec = spec_of(ds)
    system: SAESuite = spec.system
    metrics = ds[list(RECORDED)].isel(step=-1).assign(member_metrics(ds, spec)).where(ds["diverged_step"] < 0)
    target = float(system.data().probability.sum())
    base = float(system.block)
    per_variant = {name: rows_of(metrics, v, width=base * (system.experts if name == "switch" else 1))
                   for v, name in enumerate(VARIANTS)}
    at = {name: matched(rows, target) for name, rows in per_variant.items()}
    k_star = float(ds["knob"].values[-1])   # the last row is Switch at k*
    mean = metrics.mean("seed")

    def front(rows: xr.Dataset, variant: str, keys: tuple[str, ...]) -> list[dict[str, float]]:
        """Seed means of `keys` and the FLOPs per row, in order of the first key (knob → by L0, width)."""
        order = mean["l0"].sel({MEMBER: rows[MEMBER]}).values if keys[0] == "knob" else rows["width"].values
        return [{**{k: float(rows[k].mean("seed")[i]) if k in rows.data_vars else float(rows[k][i]) for k in keys},
                 "flops": flops(variant, float(rows["width"][i]), system.d, system.experts)}
                for i in np.argsort(order)]

    return SaeSuiteSummary(
        l0_target=target,
        at_matched_l0={name: {m: student_t(v) for m, v in values.items()} for name, values in at.items()},
        mse_ratio={"topk_vs_relu": student_t(at["topk"]["mse"] / at["relu"]["mse"]),
                   "jumprelu_vs_topk": student_t(at["jumprelu"]["mse"] / at["topk"]["mse"]),
                   "switch_vs_topk": student_t(at["switch"]["mse"] / at["topk"]["mse"])},
        flop_saving=student_t(flop_savings(metrics, system, k_star)),
        l0_front={name: front(rows, name, ("knob", "l0", "mse", "explained_variance"))
                  for name, rows in per_variant.items()},
        flops_front={name: front(rows_of(metrics, v, knob=k_star), name, ("width", "mse", "l0"))
                     for v, name in ((1, "topk"), (3, "switch"))},
        n_members=int(ds["diverged_step"].size),
        seeds=int(ds.sizes["seed"]),
    )


def figures(ds: xr.Dataset, summary: SaeSuiteSummary) -> Figures:
    """The two Pareto fronts and the metrics at matched L0."""
    return {"sae-suite-fronts": pareto_fronts(summary.l0_front, summary.flops_front, summary.l0_target),
            "sae-suite-metrics": metric_bars(summary.at_matched_l0, summary.l0_target)}


SPREAD = "width hi − lo of the 95 % student-t interval over the 5 seeds of the default run"
SIGN = "the paper's claim is a direction; 'no difference' (ratio 1) must fail"
CLAIMS = (
    Claim("Gao et al. 2024 (TopK SAEs), the MSE–L0 frontier",
          "at matched L0 a TopK SAE reconstructs better than a ReLU + L1 SAE",
          "mse_ratio/topk_vs_relu", paper="TopK improves the reconstruction–sparsity frontier over ReLU",
          accept=(None, 1.0), band=SIGN, measured=0.2643, drift=0.025, drift_source=SPREAD, min_n=3,
          reason="ReLU + L1 shrinks its activations (shrinkage 0.65) and pays MSE for it; toy data d = 16, N = 48"),
    Claim("Rajamanoharan et al. 2024 (JumpReLU SAEs), the MSE–L0 frontier",
          "at matched L0 a JumpReLU SAE reconstructs at least as well as a TopK SAE",
          "mse_ratio/jumprelu_vs_topk", paper="JumpReLU matches or exceeds TopK's reconstruction at equal sparsity",
          accept=(None, 1.0), band=SIGN, measured=0.8339, drift=0.07, drift_source=SPREAD, min_n=3,
          reason="straight-through threshold with ε = 0.01 (not the paper's 0.001); toy data"),
    Claim("Mudide et al. 2024 (Switch SAEs), FLOP-matched comparison",
          "a Switch SAE (4 experts of 64) reconstructs better than a dense TopK SAE of 64 latents at the same "
          "k and about the same FLOPs per token (2112 vs 2048)",
          "mse_ratio/switch_vs_topk", paper="Switch SAEs improve the reconstruction vs FLOPs frontier (lower MSE "
          "at matched FLOPs)", accept=(None, 1.0), band=SIGN, measured=1.104, drift=0.08, drift_source=SPREAD,
          min_n=3, expected="not reproduced",
          reason="on our toy data the Switch SAE is 10 % worse: 2000 steps split over 4 experts leave 33 % of its "
                 "latents dead, and 64 dense latents already exceed the 48 true features"),
    Claim("Engels et al. 2024 (SAE dark matter)",
          "a linear map of the input predicts part of a TopK SAE's error (held-out R², at matched L0)",
          "at_matched_l0/topk/dark_matter", paper="a linear projection of the input predicts a large part of the "
          "SAE error vector", accept=(0.05, None),
          band="the paper's claim is R² > 0; it must beat the null spread of R² for an unpredictable error at this "
               "batch size (|R²| < 0.05, tests/test_sae.py)",
          measured=0.153, drift=0.023, drift_source=SPREAD, min_n=3,
          reason="toy data without noise: the predictable part is the SAE's systematic error (shrinkage, "
                 "unlearned features)"),
    Claim("ours (issue 27): recovery on Zipfian data", "a TopK SAE at matched L0 recovers the true features "
          "(Hungarian-matched MCC)", "at_matched_l0/topk/mcc", paper="MCC ≥ 0.9 (our target)", accept=(0.9, 1.0),
          band="our target, the MMCS ≥ 0.9 threshold that sae-toy quotes from Sharkey et al. 2022; 1 is MCC's maximum",
          measured=0.7989, drift=0.032, drift_source=SPREAD, kind="target", min_n=3, expected="not reproduced",
          reason="the rarest Zipf-tail features fire on < 2 % of samples and hierarchical children split their "
                 "parents; 2000 steps at k = 4 do not learn them all (MMCS 0.83)"),
    Claim("ours (issue 27), after Chanin et al. 2024", "feature absorption appears on the hierarchical features "
          "(TopK at matched L0)", "at_matched_l0/topk/absorption", paper="absorption > 0 (our target)",
          accept=(0.05, 1.0),
          band="our threshold: ≥ 5 % of parent+child samples absorbed; a faithful dictionary scores exactly 0 "
               "(tests/test_sae_suite.py)",
          measured=0.2278, drift=0.09, drift_source=SPREAD, kind="target", min_n=3,
          reason="children orthogonal to their parent make absorption visible as the child atom's cosine with it"),
)

register(Experiment(
    name="sae-suite",
    description="ReLU+L1, TopK, JumpReLU and Switch SAEs on Zipfian, correlated, hierarchical toy features: "
                "Pareto fronts, metrics at matched L0, Switch FLOP saving",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    claims=CLAIMS,
    check=check,
))
