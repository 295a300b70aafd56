"""Effective theories of skill learning (Liu et al. 2025): closed forms, crossings, N0 fit.

Resource model, continuous time, C = I, no clamp (derived with SymPy in `resource_clock_term` and
`resource_time_terms`):
    dl_i/dt = −η' p_i l_i / (Σ_j p_j l_j + N0)
    ⇒ l_i = e^{−p_i τ},   η' t = Σ_j (1 − e^{−p_j τ}) + N0 τ
    ⇒ t_i(s) = [Σ_j (1 − (1 − s)^{p_j/p_i}) + N0 ln(1/(1 − s)) / p_i] / η'
Two tasks, N0 = 0: t2/t1 = [1 + s − (1 − s)^{p1/p2}] / [1 + s − (1 − s)^{p2/p1}] → (1 + s)/s.
Geometry model, SGD, orthonormal tasks, B → ∞: s_i(t) = 1 − (1 − η p_i)^t.
Scaling with p_i ∝ i^{−α}: Domino α_N = α_S = α − 1; parallel/Quanta α_N = α − 1, α_S = (α − 1)/α.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
import xarray as xr

from toymodels.skills import resource_update

# --- Resource model: closed forms (SymPy) -------------------------------------------------------
TAU, P_I, P_J, S, N0, ETA = sp.symbols("tau p_i p_j s N0 eta", positive=True)


@cache
def resource_clock_term() -> sp.Expr:
    """∫_0^τ p_j e^{−p_j τ'} dτ' = 1 − e^{−p_j τ}: one task's share of the clock η' t(τ)."""
    u = sp.Symbol("u", positive=True)
    return sp.simplify(sp.integrate(P_J * sp.exp(-P_J * u), (u, 0, TAU)))


@cache
def resource_time_terms() -> tuple[sp.Expr, sp.Expr]:
    """(term_j, waste) with η' t_i(s) = Σ_j term_j + waste, from l_i = e^{−p_i τ} = 1 − s."""
    tau_s = sp.solve(sp.Eq(sp.exp(-P_I * TAU), 1 - S), TAU)[0]
    term = sp.powsimp(sp.simplify(resource_clock_term().subs(TAU, tau_s)), force=True)
    return term, sp.simplify(N0 * tau_s)


@cache
def resource_time_functions():
    """NumPy versions of `resource_time_terms`: term(p_i, p_j, s), waste(p_i, s, N0)."""
    term, waste = resource_time_terms()
    return sp.lambdify((P_I, P_J, S), term, "numpy"), sp.lambdify((P_I, S, N0), waste, "numpy")


def resource_time_to_skill(p: np.ndarray, n0: float, eta: float, s: float) -> np.ndarray:
    """t_i(s) = [Σ_j (1 − (1 − s)^{p_j/p_i}) + N0 ln(1/(1 − s))/p_i] / η' for every task i."""
    term_f, waste_f = resource_time_functions()
    p = np.asarray(p, float)
    return (term_f(p[:, None], p[None, :], s).sum(axis=1) + waste_f(p, s, n0)) / eta


def two_task_factor(p1: np.ndarray | float, s: float = 0.9) -> np.ndarray:
    """t2/t1 of the Resource model with N0 = 0 and p2 = 1 − p1 (the Domino factor)."""
    p1 = np.asarray(p1, float)
    p2 = 1.0 - p1
    return (1 + s - (1 - s) ** (p1 / p2)) / (1 + s - (1 - s) ** (p2 / p1))


def domino_factor_limit(s: sp.Expr = S) -> sp.Expr:
    """lim_{p1/p2 → ∞} t2/t1 = (1 + s)/s (SymPy limit of the two-task factor; 1 − s = e^{−k})."""
    r, k = sp.symbols("r k", positive=True)
    q = sp.exp(-k)
    ratio = (2 - q - q**r) / (2 - q - q ** (1 / r))
    return sp.simplify(sp.limit(ratio, r, sp.oo).subs(k, -sp.log(1 - s)))


def resource_closed_form(p: np.ndarray, n0: float, eta: float, steps: np.ndarray) -> np.ndarray:
    """s_i(t) = 1 − e^{−p_i τ(t)} (steps × n), τ(t) inverting η' t = Σ(1 − e^{−p τ}) + N0 τ."""
    p = np.asarray(p, float)
    tau = np.concatenate([[0.0], np.geomspace(1e-6, 1e4, 20000) / p.min()])
    clock = ((1 - np.exp(-np.outer(tau, p))).sum(axis=1) + n0 * tau) / eta
    tau_t = np.interp(np.asarray(steps, float), clock, tau)
    return 1 - np.exp(-np.outer(tau_t, p))


# --- Geometry model closed forms ----------------------------------------------------------------
def sgd_skill(p: np.ndarray, lr: float, t: np.ndarray) -> np.ndarray:
    """s_i(t) = 1 − (1 − η p_i)^t (SGD, orthonormal tasks, mimic gradient, full batch); (t, n)."""
    return 1 - (1 - lr * np.asarray(p, float)[None, :]) ** np.asarray(t, float)[:, None]


def sgd_time_to_skill(p: np.ndarray, lr: float, s: float = 0.9) -> np.ndarray:
    """t_i(s) = ln(1/(1 − s)) / (−ln(1 − η p_i))."""
    return np.log(1 / (1 - s)) / -np.log1p(-lr * np.asarray(p, float))


def domino_exponents(alpha: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(α_N, α_S) of the Domino model: (α − 1, α − 1)."""
    alpha = np.asarray(alpha, float)
    return alpha - 1, alpha - 1


def quanta_exponents(alpha: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(α_N, α_S) of the parallel (Quanta) model: (α − 1, (α − 1)/α)."""
    alpha = np.asarray(alpha, float)
    return alpha - 1, (alpha - 1) / alpha


CHINCHILLA = {"alpha_N": 0.34, "alpha_S": 0.28}
ZIPF_ALPHAS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0)  # the Zipf exponents α of the paper's Fig 10 sweep


# --- measurements on recorded trajectories ------------------------------------------------------
def crossing_step(skill: xr.DataArray, threshold: float = 0.9,
                  interpolate: bool = True) -> xr.DataArray:
    """First step with skill > threshold, per member and task (NaN if never).

    With `interpolate`, the crossing is placed linearly between the two logged steps around it
    (exact when every step is logged).
    """
    def first(values: np.ndarray, steps: np.ndarray) -> np.ndarray:
        above = values > threshold
        idx = np.argmax(above, axis=-1)
        hit = above.any(axis=-1)
        out = steps[idx].astype(float)
        if interpolate:
            prev = np.maximum(idx - 1, 0)
            v0 = np.take_along_axis(values, prev[..., None], -1)[..., 0]
            v1 = np.take_along_axis(values, idx[..., None], -1)[..., 0]
            frac = np.where(idx > 0, (threshold - v0) / np.where(v1 > v0, v1 - v0, 1.0), 1.0)
            between = steps[prev] + np.clip(frac, 0, 1) * (steps[idx] - steps[prev])
            out = np.where(idx > 0, between, out)
        return np.where(hit, out, np.nan)

    return xr.apply_ufunc(first, skill, skill["step"].values, input_core_dims=[["step"], []],
                          vectorize=False)


def collapse(skill: xr.DataArray, p: xr.DataArray) -> xr.DataArray:
    """clip(1 − s_i, 0, 1)^{1/p_i}: one curve e^{−τ} for every task under the Resource model.

    The clip at 1 (not in the paper's max(1 − s, 0)) hides the brief s_i < 0 dips of MSE runs.
    """
    return np.clip(1 - skill, 0, 1) ** (1 / p)


def collapse_spread(skill: xr.DataArray, p: xr.DataArray, lo: float = 0.05,
                    hi: float = 0.95) -> xr.DataArray:
    """mean_t [std_i τ_i / mean_i τ_i], τ_i = −ln(1 − s_i)/p_i over tasks with lo < 1 − s_i < hi.

    0 for a perfect collapse (the Resource model, where every τ_i equals τ); steps with fewer
    than two tasks in range are skipped.
    """
    u = 1 - skill
    tau = (-np.log(u.where((u > lo) & (u < hi))) / p)
    enough = tau.count("task") >= 2
    return (tau.std("task") / tau.mean("task")).where(enough).mean("step")


# --- N0 fit: Geometry run → Resource model ------------------------------------------------------
@dataclass(frozen=True)
class N0Fit:
    """Best N0 per member, its mean squared skill error, and the Resource prediction."""

    n0: xr.DataArray
    mse: xr.DataArray
    prediction: xr.DataArray


def resource_trajectories(p: jax.Array, eta: jax.Array, n0: jax.Array,
                          steps: np.ndarray) -> jax.Array:
    """Resource-model skills (MSE, C = I, clamp) at `steps`, row t = after t updates: (T, n)."""
    eye = jnp.eye(p.shape[0])

    def body(level, _):
        new = resource_update(level, p * level, eye, eta, n0, "mse", True)
        return new, 1 - new

    _, skills = jax.lax.scan(body, jnp.ones_like(p), None, length=int(steps.max()))
    skills = jnp.concatenate([jnp.zeros_like(p)[None], skills])
    return skills[jnp.asarray(steps)]


def fit_n0(skill: xr.DataArray, p: xr.DataArray, eta: float | xr.DataArray,
           grid: np.ndarray | None = None) -> N0Fit:
    """N0 minimising mean_{step, task} (s_geom − s_res)² by grid search, all members at once.

    `skill` has dims (*members, step, task); `p` dims (task,) or (*some members, task); `eta` is η'.
    Default grid: the paper's 10^linspace(−4, 2, 601) (Fig7-bottom).
    """
    grid = np.logspace(-4, 2, 601) if grid is None else np.asarray(grid, float)
    members = [d for d in skill.dims if d not in ("step", "task")]
    first = skill.isel(step=0)
    p_all = p.broadcast_like(first)
    eta_all = xr.DataArray(eta).broadcast_like(first.isel(task=0, drop=True))
    if not members:
        skill, p_all, eta_all = (x.expand_dims(member=[0]) for x in (skill, p_all, eta_all))
        members = ["member"]
    stacked = skill.stack(member=members) if members != ["member"] else skill
    p_m = p_all.stack(member=members) if members != ["member"] else p_all
    p_m = p_m.transpose("member", "task")
    eta_m = eta_all.stack(member=members) if members != ["member"] else eta_all
    steps = skill["step"].values
    simulate = jax.jit(jax.vmap(jax.vmap(lambda pp, e, n: resource_trajectories(pp, e, n, steps),
                                         (None, None, 0)), (0, 0, None)))
    pred = np.asarray(simulate(jnp.asarray(p_m.values), jnp.asarray(eta_m.values),
                               jnp.asarray(grid)))
    target = stacked.transpose("member", "step", "task").values
    err = ((pred - target[:, None]) ** 2).mean(axis=(2, 3))           # (member, grid)
    best = err.argmin(axis=1)
    rows = np.arange(len(best))
    coords = {"member": stacked["member"]}
    n0 = xr.DataArray(grid[best], dims="member", coords=coords)
    mse = xr.DataArray(err[rows, best], dims="member", coords=coords)
    prediction = xr.DataArray(pred[rows, best], dims=("member", "step", "task"),
                              coords={**coords, "step": steps, "task": skill["task"].values})
    if members != ["member"]:
        return N0Fit(n0.unstack("member"), mse.unstack("member"),
                     prediction.unstack("member").transpose(*members, "step", "task"))
    return N0Fit(*(x.isel(member=0, drop=True) for x in (n0, mse, prediction)))


# --- sampled batches ----------------------------------------------------------------------------
def batch_presence_factor(full_batch_ratio: float | np.ndarray, p2: float | np.ndarray,
                          batch: int) -> np.ndarray:
    """t2/t1 with batches of B: 1 + (R_full − 1) / (1 − (1 − p2)^B).

    Once task 1 is learned, SignGD moves task 2 only in the batches that hold one of its samples,
    a fraction 1 − (1 − p2)^B of them, so the phase after t1 (length (R_full − 1) t1 with the
    full batch) is stretched by that factor.
    """
    return 1 + (np.asarray(full_batch_ratio, float) - 1) / (1 - (1 - np.asarray(p2, float)) ** batch)


# --- Resource model as a prediction: shared parameters from calibration seeds --------------------
@dataclass(frozen=True)
class SharedResourceFit:
    """N0 and the η' scale κ (η' = κ · 2η√d) shared by the calibration members, and the error."""

    n0: float
    scale: float
    mse: float


def fit_resource_shared(skill: xr.DataArray, p: np.ndarray, eta: float,
                        n0_grid: np.ndarray | None = None,
                        scale_grid: np.ndarray | None = None) -> SharedResourceFit:
    """(N0, κ) minimising mean_{members, step, task} (s_geom − s_res(N0, κ η'))², by grid search.

    `skill` has dims (*members, step, task): every member is a calibration member (the mean over
    members is fitted; the mean squared error differs from the fitted one by a constant). Default
    grids: N0 on the paper's 10^linspace(−4, 2, 601), κ on linspace(0.3, 1.5, 61) (κ = 1: the
    paper's η' = 2η√d).
    """
    n0_grid = np.logspace(-4, 2, 601) if n0_grid is None else np.asarray(n0_grid, float)
    scale_grid = np.linspace(0.3, 1.5, 61) if scale_grid is None else np.asarray(scale_grid, float)
    members = [d for d in skill.dims if d not in ("step", "task")]
    target = jnp.asarray(skill.mean(members).transpose("step", "task").values)
    steps = skill["step"].values
    p_j = jnp.asarray(p, jnp.float32)

    def errors(scale):
        simulate = jax.vmap(lambda n0: resource_trajectories(p_j, scale * eta, n0, steps))
        return ((simulate(jnp.asarray(n0_grid)) - target) ** 2).mean(axis=(1, 2))

    err = np.asarray(jax.jit(lambda s: jax.lax.map(errors, s))(jnp.asarray(scale_grid)))   # (κ, N0)
    spread = float(((skill - skill.mean(members)) ** 2).mean()) if members else 0.0
    i, j = np.unravel_index(np.argmin(err), err.shape)
    return SharedResourceFit(float(n0_grid[j]), float(scale_grid[i]), float(err[i, j]) + spread)


def resource_learning_times(p: np.ndarray, eta: float, n0: float, steps: int,
                            threshold: float = 0.9) -> np.ndarray:
    """First step with s_i > threshold of the discrete Resource model (MSE, C = I, clamp), row t
    = after t updates, linearly interpolated between steps (NaN if not within `steps`); (n,)."""
    grid = np.arange(steps + 1)
    skill = np.asarray(resource_trajectories(jnp.asarray(p, jnp.float32), eta, n0, grid))
    da = xr.DataArray(skill, dims=("step", "task"), coords={"step": grid})
    return crossing_step(da, threshold).values


def l2_resource_learning_times(p: np.ndarray, lr: float, d: int, steps: int, k: float = 2.0,
                               threshold: float = 0.9) -> np.ndarray:
    """Learning times of the L2-normalised Resource model (reference §4D, large-d SignGD, no noise):

        s_i ← min(s_i + η √(2d/π) ĉ_i / ‖ĉ‖₂, 1),   ĉ_i = k p_i (1 − s_i)   (k = 2: autograd MSE)

    No fitted parameter. First step with s_i > threshold, interpolated; (n,), NaN if never.
    """
    p_j = jnp.asarray(p, jnp.float32)
    rate = lr * np.sqrt(2 * d / np.pi)

    def body(s, _):
        c = k * p_j * (1 - s)
        new = jnp.minimum(s + rate * c / jnp.sqrt((c**2).sum() + 1e-30), 1.0)
        return new, new

    _, skills = jax.lax.scan(body, jnp.zeros_like(p_j), None, length=steps)
    grid = np.arange(steps + 1)
    da = xr.DataArray(np.concatenate([np.zeros((1, len(p))), np.asarray(skills)]), dims=("step", "task"),
                      coords={"step": grid})
    return crossing_step(da, threshold).values
