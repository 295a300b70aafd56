"""`precision-fit`: fitting a teacher network to float64 precision (Michaud, Liu, Tegmark 2023).

Task `precision-teacher-v1`: x ~ U(−1, 1), y = a 1-3-3-1 tanh teacher (PyTorch-default init),
float64. Student: tanh MLP 1-20-20-1 (481 parameters), MSE L(θ) = mean (f_θ(x) − y)², RMSE = √L
(`toymodels.precision`). Seeds 0..N−1 are student inits (PRNGKey(seed)); the teacher and data
are fixed by `data_seed` (the reference trains one seed). Stages, each stored as it finishes:

    adam            engine run (`parts/adam`): full-batch Adam, lr swept, seeds vmapped
    bfgs            per seed from the same init as Adam's: SciPy BFGS, gtol 1e-60, stops when the
                    line search can make no progress or after `bfgs_maxiter` (the reference's rule)
    low_curvature   from the BFGS solution: ≤ `lc_steps` steps θ ← θ − α* Σ_{|λ|<τ} (v·g) v, α* by
                    the logarithmic line search; stops at the first step that does not lower L
    boost           from the BFGS solution f₁: c = 1/mean|y − f₁|, fresh student f₂ (key
                    fold_in(PRNGKey(seed), 1)) fitted by BFGS (`boost_maxiter`) to c (y − f₁);
                    prediction f₁ + f₂/c (the reference's headline boosts BFGS f₁, without the
                    low-curvature stage)
    scaling         test RMSE vs data size D: linear simplex interpolation in d = 1 (the teacher)
                    and d = 2 (g(x₁, x₂) = exp(x₁) sin(2 x₂); error on [−0.8, 0.8]², see
                    `theory.precision`), `seeds` point draws per D, with
                    ReLU and tanh 1-20-20-1 networks (BFGS, ≤ SCALING_NET_MAXITER iterations) on
                    the teacher (d = 1) beside them

Presets (deviations from the reference): `paper` = the reference (1e5 train / 1e4 test points,
BFGS 25 000 iterations, 500 low-curvature steps at τ = 1e-15, boosting 25 000 iterations; Adam:
the reference's lr grid and 30 000 steps, but at width 20 rather than its width-40 Adam runs).
`default` fits the CPU budget: 3000 training points (a BFGS iteration at 1e5 points costs ~30×),
BFGS ≤ 3000 iterations (the reference's f₁ stopped at 2454), 2 low-curvature steps (each needs
the 481 × 481 Hessian), boosting ≤ 1000 iterations (the reference's f₂ ran 12 177), Adam lr ∈
{1e-2, 1e-3, 1e-4} for 1000 steps (reference: 30 000), 3 seeds. `tiny`: 50 points, a few
iterations of everything (tests only).

summary.json keys (an Estimate over seeds is the MEDIAN with lo..hi = min..max over seeds):
    adam                 {lr: Estimate of the final Adam test RMSE}
    adam_best            {"lr": the lr with the smallest median, "test_rmse": its Estimate}
    bfgs_test_rmse       Estimate: BFGS test RMSE at its exit
    bfgs_train_rmse      Estimate: BFGS train RMSE at its exit
    bfgs_iterations      Estimate: BFGS iterations until its exit
    bfgs_exits           {SciPy's exit message: number of seeds}
    adam_over_bfgs       Estimate: per seed, best-lr Adam test RMSE / BFGS test RMSE
    low_curvature_test_rmse   Estimate: test RMSE after the low-curvature stage
    low_curvature_steps  Estimate: steps taken (a step that does not lower L ends the stage)
    boosted_test_rmse    Estimate: test RMSE of f₁ + f₂/c
    boosted_test_rmse_max     the worst seed's boosted test RMSE
    boost_iterations     Estimate: BFGS iterations of f₂
    boost_c              Estimate: the residual scale c
    scaling              {"interpolation": {d: {"sizes", "rmse" (median over draws), "exponent"
                         (RMSE ∝ D^−exponent; Estimate, bootstrap over draws), "predicted" (2/d)}},
                         "networks": {relu|tanh: {"sizes", "rmse", "exponent"}}}
    curves               {method: {"iteration", "test_rmse" (median over seeds)}} for the figure
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
import xarray as xr

from toymodels import engine, store
from toymodels.experiments import Claim, Experiment, Figures, Summary, register
from toymodels.experiments.common import key_text
from toymodels.plots.precision import learning_curves, scaling_panel
from toymodels.precision import PrecisionMLP, Trace, bfgs, boost, initial_theta, low_curvature
from toymodels.spec import Spec, geometric_steps, require
from toymodels.theory.estimate import Estimate, member_range
from toymodels.theory.precision import interpolation_rmse, predicted_slope
from toymodels.theory.scaling import bootstrap_seeds

SCALING_SIZES = (10, 30, 100, 300, 1000, 3000, 10000)
SCALING_NET_SIZES = (10, 100, 1000)  # a decade apart: each fit is ≈ 300 SciPy BFGS iterations of O(P³)
SCALING_NET_MAXITER = 300
CURVE_POINTS = 60


def spec_for(system: PrecisionMLP, lrs: tuple[float, ...], seeds: int, steps: int) -> Spec:
    return Spec(system, system.hparams(), sweep={"lr": lrs}, seeds=seeds, steps=steps,
                log_every=steps, log_steps=geometric_steps(steps, 40))


def tiny() -> Spec:
    system = PrecisionMLP(n_train=50, n_test=50, bfgs_maxiter=60, lc_steps=1, boost_maxiter=40)
    return spec_for(system, (1e-2, 1e-3), 2, 20)


def default() -> Spec:
    system = PrecisionMLP(n_train=3000, bfgs_maxiter=3000, lc_steps=2, boost_maxiter=1000)
    return spec_for(system, (1e-2, 1e-3, 1e-4), 3, 1000)


def paper() -> Spec:
    return spec_for(PrecisionMLP(), (0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5, 1e-5), 3, 30_000)


def check(spec: Spec) -> None:
    require(isinstance(spec.system, PrecisionMLP), "precision-fit trains a PrecisionMLP")
    require(set(spec.sweep) <= {"lr"}, "precision-fit sweeps only lr (the Adam part)")
    require(spec.system.precision == "float64", "precision-fit needs precision=float64")


def parts(spec: Spec, preset: str = "") -> dict[str, Spec]:
    """The one engine run: Adam over the lr sweep (the second-order stages are not engine runs)."""
    return {"adam": spec}


# --- the second-order stages, stored as they finish -----------------------------------------------
def stored(path: Path | None, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """`compute()` (a dict of arrays), saved to `path` (.npz, written atomically) or loaded from it."""
    if path is not None and path.exists():
        with np.load(path) as data:
            return dict(data)
    result = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez(partial, **result)
        os.replace(partial, path)
    return result


def trace_arrays(trace: Trace) -> dict[str, np.ndarray]:
    return {"theta": trace.theta, "train_rmse": trace.train_rmse, "test_rmse": trace.test_rmse,
            "message": np.array(trace.message)}


def seed_stages(system: PrecisionMLP, seed: int, folder: Path | None) -> dict[str, dict[str, np.ndarray]]:
    """BFGS, then low-curvature steps and boosting from its solution, for the student of `seed`."""
    problem = system.problem()
    path = (lambda name: folder / f"seed-{seed}-{name}.npz") if folder else (lambda name: None)
    key = jax.random.PRNGKey(seed)
    first = stored(path("bfgs"), lambda: trace_arrays(bfgs(problem, initial_theta(key, system.widths),
                                                           system.bfgs_maxiter)))
    curvature = stored(path("low_curvature"), lambda: trace_arrays(
        low_curvature(problem, first["theta"], system.lc_steps, system.tau)))

    def boosting() -> dict[str, np.ndarray]:
        result = boost(problem, first["theta"], jax.random.fold_in(key, 1), system.boost_maxiter)
        return {**trace_arrays(result.second), "train_rmse": result.train_rmse, "test_rmse": result.test_rmse,
                "c": np.array(result.c)}

    return {"bfgs": first, "low_curvature": curvature, "boost": stored(path("boost"), boosting)}


def target_2d(x: np.ndarray) -> np.ndarray:
    """g(x₁, x₂) = exp(x₁) sin(2 x₂), the 2-D target of the interpolation panel."""
    return np.exp(x[:, 0]) * np.sin(2 * x[:, 1])


def scaling_stage(system: PrecisionMLP, seeds: int) -> dict[str, np.ndarray]:
    """Test RMSE (draw × D) of simplex interpolation (d = 1, 2) and of ReLU/tanh networks (d = 1)."""
    from toymodels.tasks.precision import precision_teacher

    teacher = precision_teacher(n_train=1, n_test=1, seed=system.data_seed)
    problem = system.problem()
    sizes = list(SCALING_SIZES)  # interpolation draws its own points: every size, whatever n_train
    net_sizes = [n for n in SCALING_NET_SIZES if n <= system.n_train]

    def teacher_1d(x: np.ndarray) -> np.ndarray:
        return teacher.target(x).ravel()

    interp = {f"interp_{d}": np.array([[interpolation_rmse(teacher_1d if d == 1 else target_2d, d, n,
                                                            system.n_test, 1000 * seed + n)
                                         for n in sizes] for seed in range(seeds)]) for d in (1, 2)}

    def network(activation: str, seed: int, n: int) -> float:
        picked = np.random.default_rng(seed).choice(system.n_train, n, replace=False)
        subset = dataclasses.replace(problem, x=problem.x[picked], y=problem.y[picked], activation=activation)
        fit = bfgs(subset, initial_theta(jax.random.PRNGKey(seed), system.widths),
                   min(SCALING_NET_MAXITER, system.bfgs_maxiter))
        return float(fit.test_rmse[-1])

    nets = {f"net_{a}": np.array([[network(a, seed, n) for n in net_sizes] for seed in range(seeds)])
            for a in ("relu", "tanh")}
    return {**interp, **nets, "sizes": np.array(sizes), "net_sizes": np.array(net_sizes)}


def padded(arrays: list[np.ndarray]) -> np.ndarray:
    """Stack 1-D arrays of different lengths, NaN-padded at the end."""
    out = np.full((len(arrays), max(len(a) for a in arrays)), np.nan)
    for i, a in enumerate(arrays):
        out[i, : len(a)] = a
    return out


def stages_dataset(stages: list[dict[str, dict[str, np.ndarray]]], scaling: dict[str, np.ndarray],
                   seeds: np.ndarray) -> xr.Dataset:
    """Every stage's traces as variables over (seed, <stage>_iter) and the scaling arrays."""
    data: dict[str, Any] = {}
    for name in ("bfgs", "low_curvature", "boost"):
        for which in ("train_rmse", "test_rmse"):
            data[f"{name}_{which}"] = (("seed", f"{name}_iter"), padded([s[name][which] for s in stages]))
        data[f"{name}_iterations"] = ("seed", [len(s[name]["train_rmse"]) - 1 for s in stages])
        data[f"{name}_exit"] = ("seed", [str(s[name]["message"]) for s in stages])
    data["boost_c"] = ("seed", [float(s["boost"]["c"]) for s in stages])
    for d in (1, 2):
        data[f"interp_rmse_{d}"] = (("draw", "size"), scaling[f"interp_{d}"])
    for activation in ("relu", "tanh"):
        data[f"net_rmse_{activation}"] = (("draw", "net_size"), scaling[f"net_{activation}"])
    return xr.Dataset(data, coords={"seed": seeds, "size": scaling["sizes"], "net_size": scaling["net_sizes"]})


def train(spec: Spec, out: Path | None = None, *, quiet: bool = False, checkpoint_seconds: float = 10.0,
          metadata: dict[str, Any] | None = None) -> xr.Dataset:
    """The Adam engine run (parts/adam), then per seed BFGS → low-curvature and BFGS → boosting, then
    the scaling panel; each stage saved under `out/stages/` as it finishes (a rerun resumes)."""
    system: PrecisionMLP = spec.system
    folder = None if out is None else Path(out) / "stages"

    def compute() -> xr.Dataset:
        adam = engine.run(spec, None if out is None else store.RunFolder(out).part("adam").path, quiet=quiet,
                          checkpoint_seconds=checkpoint_seconds, metadata={**(metadata or {}), "part": "adam"})
        stages = [seed_stages(system, seed, folder) for seed in range(spec.seeds)]
        scaling = stored(None if folder is None else folder / "scaling.npz", lambda: scaling_stage(system, spec.seeds))
        ds = xr.merge([adam, stages_dataset(stages, scaling, adam["seed"].values)], combine_attrs="drop")
        ds.attrs = {"timings": json.dumps({"adam": json.loads(adam.attrs["timings"])})}
        return ds

    return store.finished_or(out, {**(metadata or {}), "spec": spec.to_dict()}, compute)


# --- report ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrecisionSummary(Summary):
    adam: dict[str, Estimate]
    adam_best: dict[str, Any]
    bfgs_test_rmse: Estimate
    bfgs_train_rmse: Estimate
    bfgs_iterations: Estimate
    bfgs_exits: dict[str, int]
    adam_over_bfgs: Estimate
    low_curvature_test_rmse: Estimate
    low_curvature_steps: Estimate
    boosted_test_rmse: Estimate
    boosted_test_rmse_max: float | None
    boost_iterations: Estimate
    boost_c: Estimate
    scaling: dict[str, Any]
    curves: dict[str, dict[str, list]]


def median(values: Any) -> Estimate:
    return member_range(np.asarray(values, float), center="median")


def final(trace: xr.DataArray, dim: str) -> xr.DataArray:
    """The last finite value along `dim` of each member (traces are NaN-padded at the end)."""
    last = np.isfinite(trace).cumsum(dim).argmax(dim)
    return trace.isel({dim: last})


def exponent_entry(sizes: np.ndarray, rmse: np.ndarray, predicted: float | None = None) -> dict[str, Any]:
    fit = bootstrap_seeds(sizes, rmse)
    entry = {"sizes": sizes.tolist(), "rmse": np.nanmedian(rmse, axis=0).tolist(), "exponent": fit.estimate()}
    return entry if predicted is None else {**entry, "predicted": predicted}


def scaling_summary(ds: xr.Dataset) -> dict[str, Any]:
    sizes, net_sizes = ds["size"].values, ds["net_size"].values
    return {"interpolation": {str(d): exponent_entry(sizes, ds[f"interp_rmse_{d}"].values, -predicted_slope(d))
                              for d in (1, 2)},
            "networks": {a: exponent_entry(net_sizes, ds[f"net_rmse_{a}"].values) for a in ("relu", "tanh")}}


def median_curve(trace: xr.DataArray, dim: str, offset: int = 0) -> dict[str, list]:
    """Seed-median of a NaN-padded trace at ≤ CURVE_POINTS log-spaced iterations (+ `offset`)."""
    values = trace.median("seed").values
    last = int(np.max(np.nonzero(np.isfinite(values))[0], initial=0))
    picked = np.unique([0, *geometric_steps(last, CURVE_POINTS)]) if last else np.array([0])
    return {"iteration": (picked + offset).tolist(), "test_rmse": values[picked].tolist()}


def curves(ds: xr.Dataset) -> dict[str, dict[str, list]]:
    """Seed-median test RMSE curves: Adam per lr (vs step), BFGS, then low-curvature and boosting
    (their iterations counted after the median BFGS exit)."""
    after = int(ds["bfgs_iterations"].median())
    adam = {f"adam lr={key_text(lr)}": {"iteration": ds["step"].values.tolist(),
                                        "test_rmse": ds["test_rmse"].sel(lr=lr).median("seed").values.tolist()}
            for lr in ds["lr"].values}
    return {**adam, "bfgs": median_curve(ds["bfgs_test_rmse"], "bfgs_iter"),
            "low_curvature": median_curve(ds["low_curvature_test_rmse"], "low_curvature_iter", after),
            "boosting": median_curve(ds["boost_test_rmse"], "boost_iter", after)}


def summarize(ds: xr.Dataset) -> PrecisionSummary:
    """Medians over seeds of every stage's exit RMSE, Adam's per lr, the ratio, scaling exponents."""
    adam_final = ds["test_rmse"].isel(step=-1)
    adam = {key_text(lr): median(adam_final.sel(lr=lr).values) for lr in ds["lr"].values}
    best_lr = ds["lr"].values[int(np.nanargmin(adam_final.median("seed").values))]
    bfgs_test = final(ds["bfgs_test_rmse"], "bfgs_iter")
    boosted = final(ds["boost_test_rmse"], "boost_iter")
    return PrecisionSummary(
        adam=adam,
        adam_best={"lr": float(best_lr), "test_rmse": adam[key_text(best_lr)]},
        bfgs_test_rmse=median(bfgs_test.values),
        bfgs_train_rmse=median(final(ds["bfgs_train_rmse"], "bfgs_iter").values),
        bfgs_iterations=median(ds["bfgs_iterations"].values),
        bfgs_exits=dict(Counter(str(m) for m in ds["bfgs_exit"].values)),
        adam_over_bfgs=median((adam_final.sel(lr=best_lr) / bfgs_test).values),
        low_curvature_test_rmse=median(final(ds["low_curvature_test_rmse"], "low_curvature_iter").values),
        low_curvature_steps=median(ds["low_curvature_iterations"].values),
        boosted_test_rmse=median(boosted.values),
        boosted_test_rmse_max=float(boosted.max()),
        boost_iterations=median(ds["boost_iterations"].values),
        boost_c=median(ds["boost_c"].values),
        scaling=scaling_summary(ds),
        curves=curves(ds),
    )


def figures(ds: xr.Dataset, summary: PrecisionSummary) -> Figures:
    return {"precision-curves": learning_curves(summary.curves),
            "precision-scaling": scaling_panel(json.loads(json.dumps(summary.to_json()["scaling"])))}


SOURCE = "Michaud, Liu, Tegmark 2023 (Precision ML), ejmichaud/precision-ml boosting-replication.ipynb"
SPREAD = "min..max over the default's 3 seeds"
CLAIMS = (
    Claim(source=SOURCE, text="float64 BFGS (gtol 1e-60, until precision loss) reaches test RMSE ≈ 4.1e-8 on "
          "the 1-3-3-1 teacher with a 1-20-20-1 tanh student", key="bfgs_test_rmse",
          paper="4.10e-8 after 2454 iterations (one seed, 1e5 training points)", accept=(4.1e-9, 4.1e-7),
          partly=(4.1e-10, 4.1e-6),
          band="the reference's single seed ± one decade (our tolerance for one seed of another teacher "
               "draw; partly: ± two decades)",
          measured=3.1533e-08, drift=3.7e-08,
          drift_source=SPREAD + ": 1.17e-8..4.85e-8 (range width 3.7e-8); exits at 832, 1155, 2476 iterations",
          min_n=3,
          reason="3000 training points instead of 1e5; median of 3 student seeds"),
    Claim(source=SOURCE, text="boosting (f₁ BFGS, f₂ BFGS on the rescaled residual) reaches test RMSE ≈ 3.2e-13",
          key="boosted_test_rmse", paper="3.17e-13 (f₂: 12 177 BFGS iterations; one seed)",
          accept=(3.2e-14, 3.2e-12), partly=(3.2e-15, 3.2e-11),
          band="the reference's single seed ± one decade (our tolerance; partly: ± two decades)",
          measured=1.7834e-11, drift=5.7e-12,
          drift_source=SPREAD + ": 1.33e-11..1.90e-11 (range width 5.7e-12)", min_n=3,
          expected="partly",
          reason="median 1.8e-11, 56× the reference: f₂ stopped at 1000 BFGS iterations (the reference's "
                 "ran 12 177), not converged"),
    Claim(source="Michaud, Liu, Tegmark 2023, learning-curves figure (reference §5)",
          text="Adam plateaus orders of magnitude above BFGS: best-lr Adam / BFGS test RMSE ≥ 100",
          key="adam_over_bfgs", paper="Adam curves (lr 1e-1…1e-5) end far above BFGS (figure)",
          accept=(100.0, None), band="'orders of magnitude' read as at least two decades (our reading)",
          measured=32665.0, drift=2.9e4,
          drift_source=SPREAD + ": per-seed ratios 1.56e4..4.44e4 (range width 2.9e4)", min_n=3,
          reason="Adam 1000 steps (reference 30 000, width 40); per-seed ratio, median"),
    Claim(source="Michaud, Liu, Tegmark 2023, Conclusions",
          text="linear simplex interpolation: RMSE ∝ D^(−2/d), d = 1", key="scaling/interpolation/1/exponent",
          paper="exponent 2/d = 2", accept=(1.8, 2.2),
          band="±10 % of the predicted 2 (our tolerance: the law is asymptotic in D)",
          measured=1.8322, drift=0.02,
          drift_source="bootstrap interval over the 3 draws: 1.824..1.836 (width 0.013)",
          min_n=3, reason="D = 10…10 000, teacher target; small D (10, 30) pull the fit below 2"),
    Claim(source="Michaud, Liu, Tegmark 2023, Conclusions",
          text="linear simplex interpolation: RMSE ∝ D^(−2/d), d = 2", key="scaling/interpolation/2/exponent",
          paper="exponent 2/d = 1", accept=(0.9, 1.1),
          band="±10 % of the predicted 1 (our tolerance: the law is asymptotic in D)",
          measured=0.96167, drift=0.01,
          drift_source="bootstrap interval over the 3 draws: 0.956..0.963 (width 0.008)",
          min_n=3, reason="D = 10…10 000, target exp(x₁) sin(2x₂)"),
    Claim(source="reference §7 (the project's benchmark statement from Michaud et al. 2023)", kind="target",
          text="every seed reaches test RMSE < 1e-12 with boosting", key="boosted_test_rmse_max",
          paper="< 1e-12", accept=(None, 1e-12),
          band="the benchmark's threshold", measured=1.8989e-11, drift=5.7e-12,
          drift_source="the worst of 3 seeds; drift = the seeds' range width of boosted RMSE (5.7e-12)",
          expected="not reproduced",
          reason="worst seed 1.9e-11 (best 1.3e-11): boosting stopped at 1000 iterations"),
)

register(Experiment(
    name="precision-fit",
    description="Precision ML (Michaud et al. 2023): float64 teacher-student fits by Adam, BFGS, "
                "low-curvature steps and boosting; RMSE vs data size against simplex interpolation",
    presets={"tiny": tiny, "default": default, "paper": paper},
    summarize=summarize,
    figures=figures,
    train=train,
    check=check,
    parts=parts,
    claims=CLAIMS,
))
