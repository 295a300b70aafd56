"""Effective-theory ODEs fitted to recorded trajectories, every member in one call.

A trajectory x(t) ∈ R^n is recorded at steps t_0 < t_1 < … (dim `step`), n variables along one
variable dim (or a scalar observable, n = 1), every other dim a member. Four models, each a
frozen dataclass passed to `fit_ode` (as Diffrax takes solver objects): `Linear(alpha)`,
`GLV(ridge, refine_steps)`, `MeanField(floor)`, `CustomODE(field, initial, name, max_steps)`:

* **linear one-step**, `Linear` (Ding et al. 2024, §4.3): x(t_{k+1}) − x(t_k) = A x(t_k) + b,
  fitted by least squares or by the Lasso with sklearn's objective (1/2N)‖Y − XW − b‖²_F + α‖W‖₁ (intercept
  unpenalised), X = x(t_0..t_{N−1}), Y = increments, A = Wᵀ. "One step" is one recorded interval.
  Rollout: x̂(t_{k+1}) = x̂(t_k) + A x̂(t_k) + b from x̂(t_0) = x(t_0) (the authors' `rollout_ode_traj`).
* **generalized Lotka–Volterra (gLV)**, `GLV`: dx_i/dt = x_i (r_i + Σ_j A_ij x_j), t in training steps.
  The per-capita rate is linear in (r, A); integrated over one interval,
      log x_i(t_{k+1}) − log x_i(t_k) = r_i Δt_k + Σ_j A_ij ∫ x_j dt,   ∫ x_j dt ≈ Δt_k (x_j(t_k) + x_j(t_{k+1}))/2,
  so (r, A) is one ridge regression of Δlog x/Δt on the interval means of x, per member, all members
  in one batched solve (exact up to the trapezoid's O(Δt²) error on noise-free data). Ridge:
  λ·(tr G/n)·‖A‖²_F with G the centred Gram matrix of the regressors (scale-free λ, r unpenalised).
  Optional refinement: Levenberg–Marquardt (Optimistix) on log x̂(t) − log x(t), x̂ integrated by
  Diffrax (Tsit5, adaptive); kept only if it lowers that cost. Rollout: Diffrax from x(t_0).
* **custom**, `CustomODE`: dx/dt = f(t, x, θ) for a user-given f and initial θ (`CustomODE`); θ per member by
  Levenberg–Marquardt on x̂(t) − x(t) over the fitted records, x̂ integrated by Diffrax.
* **mean-field growth**, `MeanField(floor)`: d log(x_i − f)/dt = r + a x_i + a₂ x_i² + c x̄ + e x_i x̄,
  one law for every variable, coupled through the mean x̄ only: 5 parameters whatever n.

Shared parameters (`fit_ode(..., share=("seed",), holdout=0.5)`): one parameter set per group of
members (members that differ only in the shared coordinates), fitted to the pooled regression rows
(Linear, GLV, MeanField) or the summed trajectory cost (CustomODE, GLV refinement) of the group's
members that are not held out; every member is rolled out from its own x(t_0). Held-out members
(a deterministic, evenly spread fraction of the shared coordinates, or listed ones) are never seen
by the fit: `r2_heldout` is their R² over every record, `r2_out` after the window. `aic`: Akaike's
criterion N ln(RSS/N) + 2k of each set on its fitted members' in-window rollout residuals.

Goodness of fit. `one_step_r2`: sklearn's R² of the one-step targets (linear: increments; gLV:
growth rates Δlog x/Δt), uniform average over variables — the paper's metric for the linear model.
Rollout R² (`r2_in` over the fitted records, `r2_out` over the records after them, never fitted):
pooled over variables, 1 − Σ(x − x̂)² / Σ(x − x̄_j)² (sklearn's "variance_weighted"), because a
settled variable has almost no variance and would dominate a uniform average. A rollout that
overflows scores −inf.

Deviation, stated: sklearn checks the Lasso's duality gap only after a coordinate sweep changes
the weights by less than tol; here the gap is checked after every sweep (same stopping tolerance,
tol · ‖Y − Ȳ‖²/N).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Protocol

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import xarray as xr
from jax.flatten_util import ravel_pytree

from toymodels.spec import require

LASSO_TOL = 1e-4
LASSO_MAX_ITER = 1000


# --- array core: leading axis = members --------------------------------------------------------
def r2_score(y: np.ndarray, pred: np.ndarray, weighting: str = "uniform") -> np.ndarray:
    """sklearn's R² per member; y, pred (members, T, n) → (members,).

    "uniform": mean_j [1 − Σ_t (y−ŷ)²_tj / Σ_t (y−ȳ_j)²_tj] (an output with zero variance scores
    1 if fitted exactly, else 0, as sklearn); "variance": 1 − Σ_tj (y−ŷ)² / Σ_tj (y−ȳ_j)².
    Non-finite predictions score −inf.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        residual = np.sum((y - pred) ** 2, axis=1)
        total = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
        if weighting == "variance":
            score = 1.0 - residual.sum(axis=1) / total.sum(axis=1)
        else:
            per_output = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
            score = np.where(np.isfinite(per_output), per_output, -np.inf).mean(axis=1)
    return np.where(np.isfinite(score), score, -np.inf)


def soft_threshold(x: np.ndarray, alpha: float) -> np.ndarray:
    """S_α(x) = sign(x) · max(|x| − α, 0)."""
    return np.sign(x) * np.maximum(np.abs(x) - alpha, 0.0)


def lasso_gap(gram: np.ndarray, cross: np.ndarray, yy: np.ndarray, w: np.ndarray,
              alpha: float) -> np.ndarray:
    """sklearn's Lasso duality gap per (member, output), from G = XᵀX/N, C = XᵀY/N, yy = ‖Y‖²/N.

    R = Y − XW: ‖R‖²/N = yy − 2 w·c + wᵀGw, XᵀR/N = c − Gw; dual point R·min(1, α/‖XᵀR/N‖_∞).
    """
    gw = gram @ w
    r2 = yy - 2 * np.sum(w * cross, axis=-2) + np.sum(w * gw, axis=-2)
    dual_norm = np.max(np.abs(cross - gw), axis=-2)
    const = np.where(dual_norm > alpha, alpha / np.maximum(dual_norm, 1e-300), 1.0)
    ry = yy - np.sum(w * cross, axis=-2)
    return 0.5 * r2 * (1 + const**2) + alpha * np.sum(np.abs(w), axis=-2) - const * ry


def centred_moments(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """x̄, ȳ, G = X̃ᵀX̃/N, C = X̃ᵀỸ/N, Ỹ for x (M, N, n), y (M, N, m)."""
    x_mean, y_mean = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    xc, yc = x - x_mean, y - y_mean
    xt = np.ascontiguousarray(np.swapaxes(xc, 1, 2))   # contiguous: batched BLAS matmuls
    return x_mean, y_mean, xt @ xc / x.shape[1], xt @ yc / x.shape[1], yc


def ridge_weights(x: np.ndarray, y: np.ndarray, ridge: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """argmin_{W,b} ‖Y − XW − b‖²/N + λ (tr G/n) ‖W‖²_F per member: (G + λ tr G/n · I) W = C.

    x (M, N, n), y (M, N, m) → (W (M, n, m), b (M, m)); λ = 0 is least squares (G⁺C when G is singular).
    """
    x_mean, y_mean, gram, cross, _ = centred_moments(x, y)
    n = x.shape[2]
    scale = np.trace(gram, axis1=1, axis2=2)[:, None, None] / n
    system = gram + ridge * scale * np.eye(n)
    try:
        w = np.linalg.solve(system, cross)
    except np.linalg.LinAlgError:   # a constant variable without ridge: minimum-norm solution
        w = np.linalg.pinv(system, hermitian=True) @ cross
    return w, y_mean[:, 0] - np.einsum("mn,mno->mo", x_mean[:, 0], w)


def lasso_weights(x: np.ndarray, y: np.ndarray, alpha: float, tol: float = LASSO_TOL,
                  max_iter: int = LASSO_MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """argmin_{W,b} (1/2N)‖Y − XW − b‖² + α‖W‖₁ for every member; x (M, N, n), y (M, N, m).

    Cyclic coordinate descent on the centred Gram form (sklearn's algorithm), vectorised over
    members and outputs: W_j ← S_α(C_j − Σ_{k≠j} G_jk W_k) / G_jj. Returns (W (M, n, m), b (M, m)).
    α = 0 is ordinary least squares (`ridge_weights` with λ = 0).
    """
    if alpha == 0:
        return ridge_weights(x, y, 0.0)
    x_mean, y_mean, gram, cross, yc = centred_moments(x, y)
    yy = np.sum(yc**2, axis=1) / x.shape[1]
    diag = np.diagonal(gram, axis1=1, axis2=2)[..., None]
    w = np.zeros_like(cross)
    for _ in range(max_iter):
        for j in range(x.shape[2]):
            others = (gram[:, j, None, :] @ w)[:, 0] - diag[:, j] * w[:, j]
            partial = cross[:, j] - others
            w[:, j] = np.where(diag[:, j] > 0, soft_threshold(partial, alpha)
                               / np.maximum(diag[:, j], 1e-300), 0.0)
        if np.all(lasso_gap(gram, cross, yy, w, alpha) <= tol * np.maximum(yy, 1e-300)):
            break
    return w, y_mean[:, 0] - np.einsum("mn,mno->mo", x_mean[:, 0], w)


def linear_rollout(a: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> np.ndarray:
    """x̂(0) = x0, x̂(k+1) = x̂(k) + A x̂(k) + b; returns (M, steps, n) (overflow → inf/nan)."""
    def advance(x, _):
        nxt = x + jnp.einsum("mij,mj->mi", a, x) + b
        return nxt, x

    _, path = jax.lax.scan(advance, jnp.asarray(x0), None, length=steps)
    return np.asarray(jnp.swapaxes(path, 0, 1), dtype=np.float64)


def check_trajectories(x: np.ndarray) -> np.ndarray:
    require(x.ndim == 3 and x.shape[1] >= 3, "need trajectories of shape (members, steps>=3, vars)")
    require(bool(np.all(np.isfinite(x))), "trajectories must be finite")
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True)
class LinearArrays:
    """Linear one-step fit of M members (arrays)."""

    a: np.ndarray              # (M, n, n)
    b: np.ndarray              # (M, n)
    one_step_r2: np.ndarray    # (M,) sklearn R² of the increments (uniform average)
    spectral_radius: np.ndarray  # (M,) of I + A; > 1: the rollout grows without bound


def fit_linear_arrays(x: np.ndarray, alpha: float = 0.0) -> LinearArrays:
    """Fit x(t+1) − x(t) = A x(t) + b to trajectories x (M, T, n); see module docstring."""
    x = check_trajectories(x)
    require(alpha >= 0, f"alpha must be >= 0, got {alpha}")
    inputs, increments = x[:, :-1], np.diff(x, axis=1)
    w, b = lasso_weights(inputs, increments, alpha)
    a = np.swapaxes(w, 1, 2)
    one_step = r2_score(increments, inputs @ w + b[:, None])
    radius = np.max(np.abs(np.linalg.eigvals(np.eye(x.shape[2]) + a)), axis=-1)
    return LinearArrays(a, b, one_step, radius)


# --- generalized Lotka–Volterra ------------------------------------------------------------------
def glv_field(t, x, params):
    """dx_i/dt = x_i (r_i + Σ_j A_ij x_j)."""
    r, a = params
    return x * (r + a @ x)


def solve_ode(vector_field: Callable, params, x0: jax.Array, ts: jax.Array) -> jax.Array:
    """x̂(ts) of dx/dt = f(t, x, params) from x̂(ts[0]) = x0 (Diffrax Tsit5, adaptive); inf if it fails."""
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(vector_field), diffrax.Tsit5(), ts[0], ts[-1], None, x0, params,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9),
        max_steps=16384, throw=False, adjoint=diffrax.ForwardMode(),
    )
    ok = solution.result == diffrax.RESULTS.successful
    return jnp.where(ok, solution.ys, jnp.inf)


@jax.jit
def glv_rollout(r: jax.Array, a: jax.Array, x0: jax.Array, ts: jax.Array) -> jax.Array:
    """gLV rollouts of every member: r (M, n), a (M, n, n), x0 (M, n), shared ts → (M, T, n)."""
    return jax.vmap(lambda rr, aa, x: solve_ode(glv_field, (rr, aa), x, ts))(r, a, x0)


def glv_targets(x: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(growth rates Δlog x/Δt, interval means (x(t_k) + x(t_{k+1}))/2), each (M, T−1, n)."""
    rates = np.diff(np.log(x), axis=1) / np.diff(ts)[None, :, None]
    return rates, 0.5 * (x[:, 1:] + x[:, :-1])


def glv_log_residuals(params, data):
    """log x̂(t) − log x(t) over the fitted records (x̂ floored at 1e-30)."""
    ts, log_x = data
    path = solve_ode(glv_field, params, jnp.exp(log_x[0]), ts)
    return jnp.log(jnp.maximum(path, 1e-30)) - log_x


def least_squares_one(residuals: Callable, start, data, max_steps: int):
    """Levenberg–Marquardt from `start`; the start is kept unless the solution lowers Σ residual²."""
    solution = optx.least_squares(residuals, optx.LevenbergMarquardt(rtol=1e-6, atol=1e-9), start,
                                  args=data, max_steps=max_steps, throw=False)

    def cost(params):
        res = residuals(params, data)
        return jnp.where(jnp.all(jnp.isfinite(res)), jnp.sum(res**2), jnp.inf)

    better = cost(solution.value) <= cost(start)
    return jax.tree.map(lambda new, old: jnp.where(better, new, old), solution.value, start)


@functools.partial(jax.jit, static_argnums=4)
def refine_glv(r0, a0, ts, log_x, max_steps: int):
    """Trajectory refinement of every member's (r, A) (leading axis of r0, a0, log_x)."""
    return jax.vmap(lambda r, a, lx: least_squares_one(glv_log_residuals, (r, a), (ts, lx), max_steps))(
        r0, a0, log_x)


@dataclass(frozen=True)
class GLVArrays:
    """gLV fit of M members (arrays)."""

    r: np.ndarray              # (M, n)
    a: np.ndarray              # (M, n, n)
    one_step_r2: np.ndarray    # (M,) R² of the growth rates Δlog x/Δt


def fit_glv_arrays(x: np.ndarray, ts: np.ndarray, ridge: float = 0.0, refine_steps: int = 0) -> GLVArrays:
    """Fit dx_i/dt = x_i (r_i + Σ_j A_ij x_j) to positive trajectories x (M, T, n) at times ts."""
    x = check_trajectories(x)
    require(bool(np.all(x > 0)), "Lotka-Volterra needs positive trajectories (it fits log x)")
    ts = np.asarray(ts, np.float64)
    require(ts.shape == (x.shape[1],) and bool(np.all(np.diff(ts) > 0)), "observation times must increase")
    require(ridge >= 0, f"ridge must be >= 0, got {ridge}")
    require(refine_steps >= 0, f"refine_steps must be >= 0, got {refine_steps}")
    rates, means = glv_targets(x, ts)
    w, r = ridge_weights(means, rates, ridge)
    a = np.swapaxes(w, 1, 2)
    if refine_steps > 0:
        dtype = jnp.result_type(float)
        refined = refine_glv(*(jnp.asarray(v, dtype) for v in (r, a, ts, np.log(x))), refine_steps)
        r, a = (np.asarray(v, np.float64) for v in refined)
    return GLVArrays(r, a, r2_score(rates, r[:, None] + means @ np.swapaxes(a, 1, 2)))


# --- custom right-hand side ---------------------------------------------------------------------
def path_residuals(vector_field: Callable, unravel: Callable) -> Callable:
    """r(θ, (times, path)) = x̂(times; θ, x̂(t₀) = path[0]) − path: one member's rollout error."""
    return lambda theta, data: solve_ode(vector_field, unravel(theta), data[1][0], data[0]) - data[1]


@functools.partial(jax.jit, static_argnums=(0, 1, 5))
def fit_custom_arrays(vector_field: Callable, unravel: Callable, theta0: jax.Array, ts: jax.Array,
                      x: jax.Array, max_steps: int) -> jax.Array:
    """θ per member (flat, (M, k)) minimising Σ_t ‖x̂(t) − x(t)‖², x (M, T, n)."""
    residuals = path_residuals(vector_field, unravel)
    return jax.vmap(lambda xm: least_squares_one(residuals, theta0, (ts, xm), max_steps))(x)


@functools.partial(jax.jit, static_argnums=(0, 1))
def custom_rollout(vector_field: Callable, unravel: Callable, theta: jax.Array, x0: jax.Array,
                   ts: jax.Array) -> jax.Array:
    return jax.vmap(lambda th, x: solve_ode(vector_field, unravel(th), x, ts))(theta, x0)


# --- shared parameters: one set fitted to several members ---------------------------------------
def pooled(values: np.ndarray) -> np.ndarray:
    """(M, N, n) → (1, M·N, n): the members' regression rows as one member's."""
    return values.reshape(1, -1, values.shape[-1])


def summed(residuals: Callable) -> Callable:
    """Residuals of one member, f(params, data) → the residuals of every member of batched data."""
    return lambda params, data: jax.vmap(residuals, in_axes=(None, 0))(params, data)


@functools.partial(jax.jit, static_argnums=(0, 3))
def refine_shared(residuals: Callable, start, data, max_steps: int):
    """Levenberg–Marquardt on Σ_members Σ residual² from `start` (kept unless the solution is better)."""
    return least_squares_one(summed(residuals), start, data, max_steps)


@functools.partial(jax.jit, static_argnums=(0, 1, 5))
def fit_custom_shared(vector_field: Callable, unravel: Callable, theta0: jax.Array, ts: jax.Array,
                      x: jax.Array, max_steps: int) -> jax.Array:
    """One flat θ minimising Σ_members Σ_t ‖x̂(t) − x(t)‖², x (M, T, n), ts (M, T)."""
    return least_squares_one(summed(path_residuals(vector_field, unravel)), theta0, (ts, x), max_steps)


# --- the models: frozen dataclasses, each fits every member at once ------------------------------
class Fitted(NamedTuple):
    """What a model's `fit` returns, arrays over members (leading axis): `params` {name: (values,
    dims after the member axis)}, `path` the rollout (M, T, n) over every record, `one_step_r2` (M,),
    `extra` {name: (M,) array}."""

    params: dict[str, tuple[np.ndarray, tuple[str, ...]]]
    path: np.ndarray
    one_step_r2: np.ndarray
    extra: dict[str, np.ndarray]


class ODEModel(Protocol):
    """A model `fit_ode` takes: `name`, and `fit(x, steps, n_fit, var)` fitting the first `n_fit`
    records of x (M, T, n) recorded at `steps` (T,) and rolling out from x[:, 0] to the last record
    (`var`: the name of the variable dim, for the parameters' dims). For `share`, also
    `fit_shared(x, steps, n_fit, var, train)` (one set fitted to the members `train`, rolled out for
    all) and `n_params(n)` (free parameters of one set, n variables)."""

    name: str

    def fit(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str) -> Fitted: ...


@dataclass(frozen=True)
class Linear:
    """x(t_{k+1}) − x(t_k) = A x(t_k) + b: least squares (`alpha` = 0) or sklearn's Lasso with
    penalty `alpha` (the paper's fit: `Linear(alpha=0.01)`). Parameters A (var, var_in), b (var);
    extra: the spectral radius of I + A (> 1: the rollout grows without bound)."""

    alpha: float = 0.0
    name: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        require(self.alpha >= 0, f"alpha must be >= 0, got {self.alpha}")

    def fit(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str) -> Fitted:
        fit = fit_linear_arrays(x[:, :n_fit], self.alpha)
        with np.errstate(over="ignore", invalid="ignore"):
            path = linear_rollout(fit.a, fit.b, x[:, 0], x.shape[1])
        return Fitted({"A": (fit.a, (var, f"{var}_in")), "b": (fit.b, (var,))}, path, fit.one_step_r2,
                      {"spectral_radius": fit.spectral_radius})

    def n_params(self, n: int) -> int:
        return n * n + n

    def fit_shared(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str, train: np.ndarray) -> Fitted:
        """One (A, b) for all members: the pooled one-step regression of the `train` members."""
        window = check_trajectories(x[:, :n_fit])
        inputs, increments = window[:, :-1], np.diff(window, axis=1)
        w, b = lasso_weights(pooled(inputs[train]), pooled(increments[train]), self.alpha)
        a = np.swapaxes(w, 1, 2)
        one_step = r2_score(increments, inputs @ w + b[:, None])
        m = len(x)
        with np.errstate(over="ignore", invalid="ignore"):
            path = linear_rollout(np.repeat(a, m, 0), np.repeat(b, m, 0), x[:, 0], x.shape[1])
        radius = np.max(np.abs(np.linalg.eigvals(np.eye(x.shape[2]) + a)), axis=-1)
        return Fitted({"A": (np.repeat(a, m, 0), (var, f"{var}_in")), "b": (np.repeat(b, m, 0), (var,))}, path,
                      one_step, {"spectral_radius": np.repeat(radius, m)})


@dataclass(frozen=True)
class GLV:
    """dx_i/dt = x_i (r_i + Σ_j A_ij x_j) by ridge regression of the growth rates (scale-free `ridge`
    λ), then optionally `refine_steps` Levenberg–Marquardt steps on the trajectory. Parameters
    r (var), A (var, var_in)."""

    ridge: float = 0.0
    refine_steps: int = 0
    name: ClassVar[str] = "glv"

    def __post_init__(self) -> None:
        require(self.ridge >= 0, f"ridge must be >= 0, got {self.ridge}")
        require(self.refine_steps >= 0, f"refine_steps must be >= 0, got {self.refine_steps}")

    def fit(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str) -> Fitted:
        fit = fit_glv_arrays(x[:, :n_fit], steps[:n_fit], self.ridge, self.refine_steps)
        dtype = jnp.result_type(float)
        path = np.asarray(glv_rollout(*(jnp.asarray(v, dtype) for v in (fit.r, fit.a, x[:, 0], steps))),
                          np.float64)
        return Fitted({"r": (fit.r, (var,)), "A": (fit.a, (var, f"{var}_in"))}, path, fit.one_step_r2, {})

    def n_params(self, n: int) -> int:
        return n * n + n

    def fit_shared(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str, train: np.ndarray) -> Fitted:
        """One (r, A) for all members: the pooled growth-rate regression of the `train` members, then
        optionally `refine_steps` Levenberg–Marquardt steps on their summed log-trajectory cost."""
        window = check_trajectories(x[:, :n_fit])
        require(bool(np.all(window > 0)), "Lotka-Volterra needs positive trajectories (it fits log x)")
        rates, means = glv_targets(window, steps[:n_fit])
        w, r = ridge_weights(pooled(means[train]), pooled(rates[train]), self.ridge)
        a = np.swapaxes(w, 1, 2)
        dtype = jnp.result_type(float)
        if self.refine_steps > 0:
            log_x = jnp.asarray(np.log(window[train]), dtype)
            ts = jnp.asarray(np.broadcast_to(steps[:n_fit], log_x.shape[:2]), dtype)
            refined = refine_shared(glv_log_residuals, (jnp.asarray(r[0], dtype), jnp.asarray(a[0], dtype)),
                                    (ts, log_x), self.refine_steps)
            r, a = (np.asarray(v, np.float64)[None] for v in refined)
        m = len(x)
        r, a = np.repeat(r, m, 0), np.repeat(a, m, 0)
        path = np.asarray(glv_rollout(*(jnp.asarray(v, dtype) for v in (r, a, x[:, 0], steps))), np.float64)
        one_step = r2_score(rates, r[:, None] + means @ np.swapaxes(a, 1, 2))
        return Fitted({"r": (r, (var,)), "A": (a, (var, f"{var}_in"))}, path, one_step, {})


@dataclass(frozen=True)
class CustomODE:
    """dx/dt = field(t, x, θ), x ∈ R^n, θ a dict of arrays; `initial` is every member's starting θ,
    fitted by at most `max_steps` Levenberg–Marquardt steps. One-step R² is NaN (no one-step target).

    `field` must be written in jax.numpy. Example (logistic growth): field = lambda t, x, th:
    th["r"] * x * (1 − x / th["k"]), initial = {"r": 0.1, "k": 1.0}.
    """

    field: Callable
    initial: Mapping[str, object]
    name: str = "custom"
    max_steps: int = 200

    def __post_init__(self) -> None:
        require(self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}")

    def fit(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str) -> Fitted:
        dtype = jnp.result_type(float)
        theta0, unravel = ravel_pytree({k: jnp.asarray(v, dtype) for k, v in self.initial.items()})
        theta = fit_custom_arrays(self.field, unravel, theta0, jnp.asarray(steps[:n_fit], dtype),
                                  jnp.asarray(x[:, :n_fit], dtype), self.max_steps)
        path = np.asarray(custom_rollout(self.field, unravel, theta, jnp.asarray(x[:, 0], dtype),
                                         jnp.asarray(steps, dtype)), np.float64)
        params = {k: (np.asarray(v, np.float64), tuple(f"{k}_{i}" for i in range(np.ndim(v) - 1)))
                  for k, v in jax.vmap(unravel)(theta).items()}
        return Fitted(params, path, np.full(len(x), np.nan), {})

    def n_params(self, n: int) -> int:
        return int(sum(np.size(v) for v in self.initial.values()))

    def fit_shared(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str, train: np.ndarray) -> Fitted:
        """One θ for all members: Levenberg–Marquardt on the `train` members' summed Σ‖x̂ − x‖²."""
        dtype = jnp.result_type(float)
        theta0, unravel = ravel_pytree({k: jnp.asarray(v, dtype) for k, v in self.initial.items()})
        window = jnp.asarray(x[train, :n_fit], dtype)
        ts = jnp.asarray(np.broadcast_to(steps[:n_fit], window.shape[:2]), dtype)
        theta = fit_custom_shared(self.field, unravel, theta0, ts, window, self.max_steps)
        thetas = jnp.broadcast_to(theta, (len(x), theta.size))
        path = np.asarray(custom_rollout(self.field, unravel, thetas, jnp.asarray(x[:, 0], dtype),
                                         jnp.asarray(steps, dtype)), np.float64)
        params = {k: (np.asarray(v, np.float64), tuple(f"{k}_{i}" for i in range(np.ndim(v) - 1)))
                  for k, v in jax.vmap(unravel)(thetas).items()}
        return Fitted(params, path, np.full(len(x), np.nan), {})


MEAN_FIELD_TERMS = ("r", "self", "self2", "mean", "cross")


def mean_field_features(x: np.ndarray | jax.Array, xp=np) -> np.ndarray | jax.Array:
    """φ(x_i, x̄) = (x_i, x_i², x̄, x_i x̄) per variable, x̄ = mean over variables; (…, n) → (…, n, 4)."""
    mean = xp.broadcast_to(x.mean(axis=-1, keepdims=True), x.shape)
    return xp.stack([x, x**2, mean, x * mean], axis=-1)


def mean_field_field(t, x, params):
    """dx_i/dt = (x_i − f) (r + θ·φ(x_i, x̄))."""
    theta, floor = params
    return (x - floor) * (theta[0] + mean_field_features(x, jnp) @ theta[1:])


@jax.jit
def mean_field_rollout(theta: jax.Array, floor: jax.Array, x0: jax.Array, ts: jax.Array) -> jax.Array:
    """Mean-field rollouts: theta (M, 5), x0 (M, n), shared ts → (M, T, n)."""
    return jax.vmap(lambda th, x: solve_ode(mean_field_field, (th, floor), x, ts))(theta, x0)


@dataclass(frozen=True)
class MeanField:
    """One growth law for every variable, coupled only through their mean (a shared carrying capacity):

        d/dt log(x_i − f) = r + a x_i + a₂ x_i² + c x̄ + e x_i x̄,   x̄ = (1/n) Σ_j x_j,

    five parameters (`MEAN_FIELD_TERMS`: r, self, self2, mean, cross) whatever n, f = `floor` (a
    setting, not fitted: the level the losers decay to). Fitted like gLV: Δlog(x_i − f)/Δt regressed
    on φ at the interval means (x(t_k) + x(t_{k+1}))/2, pooled over variables (and members when
    shared). The law is the same for every variable and sees the others only through x̄, so two
    variables' trajectories never cross: it ranks variables as their starting values do."""

    floor: float = 0.0
    name: ClassVar[str] = "mean-field"

    def n_params(self, n: int) -> int:
        return len(MEAN_FIELD_TERMS)

    def regression(self, x: np.ndarray, steps: np.ndarray, fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(growth rates (M, N, n), features at the interval means (M, N, n, 4)) of a window; the
        `fitted` members must stay above the floor (others get NaN rates where they do not)."""
        x = check_trajectories(x)
        require(bool(np.all(x[fitted] > self.floor)),
                f"mean-field growth needs x > floor = {self.floor} in the fitted window")
        with np.errstate(invalid="ignore", divide="ignore"):
            rates, means = glv_targets(np.where(x > self.floor, x - self.floor, np.nan), steps)
        return rates, mean_field_features(means + self.floor)

    def theta(self, rates: np.ndarray, features: np.ndarray) -> np.ndarray:
        """θ (M, 5) by least squares of the rates on φ, every member's rows (all variables) pooled."""
        w, r = ridge_weights(features.reshape(len(features), -1, 4), rates.reshape(len(rates), -1, 1))
        return np.concatenate([r, w[..., 0]], axis=1)

    def finish(self, x, steps, var, theta, rates, features) -> Fitted:
        dtype = jnp.result_type(float)
        path = np.asarray(mean_field_rollout(*(jnp.asarray(v, dtype) for v in (theta, self.floor, x[:, 0], steps))),
                          np.float64)
        one_step = r2_score(rates, theta[:, None, None, 0] + np.einsum("mtnk,mk->mtn", features, theta[:, 1:]))
        return Fitted({k: (theta[:, i], ()) for i, k in enumerate(MEAN_FIELD_TERMS)}, path, one_step, {})

    def fit(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str) -> Fitted:
        rates, features = self.regression(x[:, :n_fit], steps[:n_fit], np.ones(len(x), bool))
        return self.finish(x, steps, var, self.theta(rates, features), rates, features)

    def fit_shared(self, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str, train: np.ndarray) -> Fitted:
        rates, features = self.regression(x[:, :n_fit], steps[:n_fit], train)
        theta = self.theta(pooled(rates[train]), features[train].reshape(1, -1, *features.shape[2:]))
        return self.finish(x, steps, var, np.repeat(theta, len(x), 0), rates, features)


# --- labelled API: any observable of any run ----------------------------------------------------
@dataclass(frozen=True)
class ODEFit:
    """A model fitted to the first `fit_records` records of every member, rolled out to the end.

    model: the model object fitted. params: the fitted parameters (Linear: A, b; GLV: r, A; custom:
    θ's keys), member dims first (a shared set repeated over the members sharing it). rollout: x̂
    over every record (dims of the input), from each member's own x(t_0). one_step_r2: see module
    docstring (NaN for custom). r2_in / r2_out: rollout R² over the fitted records / over the records
    after them (NaN when there are none). heldout: members excluded from the fit (bool; all False
    without `holdout`). r2_heldout: rollout R² over every record of a held-out member (NaN for the
    others). n_params: free parameters of one fitted set. aic: of the set a member belongs to (see
    `aic`). share: the member dims the sets are shared over. extra: e.g. Linear's spectral_radius.
    """

    model: ODEModel
    params: xr.Dataset
    rollout: xr.DataArray
    one_step_r2: xr.DataArray
    r2_in: xr.DataArray
    r2_out: xr.DataArray
    fit_records: int
    fit_end_step: float
    extra: dict = field(default_factory=dict)
    heldout: xr.DataArray | None = None
    r2_heldout: xr.DataArray | None = None
    n_params: int = 0
    aic: xr.DataArray | None = None
    share: tuple[str, ...] = ()


def fit_window(steps: np.ndarray, fit_fraction: float) -> int:
    """Records fitted: those with step ≤ t_0 + f (t_last − t_0) (at least 3)."""
    require(0 < fit_fraction <= 1, f"fit fraction must be in (0, 1], got {fit_fraction}")
    end = steps[0] + fit_fraction * (steps[-1] - steps[0])
    n = int(np.sum(steps <= end + 1e-9 * max(1.0, abs(end))))
    require(n >= 3, f"the fit window holds {n} records; need >= 3 (raise the fit fraction)")
    return n


def rollout_scores(x: np.ndarray, path: np.ndarray, n_fit: int) -> tuple[np.ndarray, np.ndarray]:
    """(R² over records < n_fit, R² over records ≥ n_fit or NaN), pooled over variables."""
    inside = r2_score(x[:, :n_fit], path[:, :n_fit], "variance")
    if n_fit >= x.shape[1] - 1:   # fewer than 2 unseen records: no variance to explain
        return inside, np.full(len(x), np.nan)
    return inside, r2_score(x[:, n_fit:], path[:, n_fit:], "variance")


def member_view(da: xr.DataArray, var_dim: str | None) -> tuple[xr.DataArray, list[str], str]:
    """da as (…members, step, var) with the variable dim named `var_dim` (a size-1 dim if None)."""
    require(isinstance(da, xr.DataArray), "expected an xarray DataArray")
    require("step" in da.dims, f"the observable needs a 'step' dim, has {da.dims}")
    if var_dim is None:
        var_dim = "var"
        require(var_dim not in da.dims, "name the variable dim: var_dim='var'")
        da = da.expand_dims(var=[0], axis=-1)
    require(var_dim in da.dims, f"no dim {var_dim!r} in {da.dims}")
    members = [d for d in da.dims if d not in ("step", var_dim)]
    return da.transpose(*members, "step", var_dim), members, var_dim


def aic(x: np.ndarray, path: np.ndarray, n_fit: int, n_params: int) -> float:
    """Akaike's criterion of one fitted set from its members' in-window rollout residuals, assuming
    i.i.d. Gaussian errors of unknown variance: AIC = N ln(RSS/N) + 2k, N = members · records ·
    variables, RSS = Σ (x − x̂)² over them, k = `n_params`. Lower is better; compare only fits of the
    same data. +inf when a rollout is not finite."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        residual = float(np.sum((x[:, :n_fit] - path[:, :n_fit]) ** 2))
        count = x[:, :n_fit].size
        value = count * np.log(max(residual, 1e-300) / count) + 2 * n_params
    return float(value) if np.isfinite(value) else float("inf")


def member_labels(view: xr.DataArray, members: list[str], name: str) -> np.ndarray:
    """Per member (flattened in the order of `members`): the value of dim or member coordinate `name`."""
    known = [*members, *(c for c in view.coords if c not in members and set(view[c].dims) and
                        set(view[c].dims) <= set(members))]
    require(name in known, f"unknown dim {name!r} to share over; member dims and coordinates: "
                           f"{', '.join(map(str, known))}")
    template = view.isel(step=0, drop=True).isel({view.dims[-1]: 0}, drop=True)
    return view[name].broadcast_like(template).transpose(*members).values.ravel()


def group_labels(view: xr.DataArray, members: list[str], share: tuple[str, ...]) -> list[tuple]:
    """Per member: the coordinates that are NOT shared (one parameter set per distinct value). A
    shared coordinate that lives on a member dim (e.g. `seed` on a stacked `member`) makes that dim's
    other coordinates the group's."""
    parts = []
    for d in members:
        if d in share:
            continue
        on_d = [c for c in view.coords if view[c].dims == (d,) and c != d]
        if any(c in share for c in on_d):
            parts += [member_labels(view, members, c) for c in on_d if c not in share]
        else:
            parts.append(member_labels(view, members, d))
    size = int(np.prod([view.sizes[d] for d in members]))
    return list(zip(*parts, strict=True)) if parts else [()] * size


def heldout_keys(keys: list, holdout: float | Sequence | None) -> set:
    """Which shared coordinates are held out: a fraction h ∈ (0, 1) of the sorted distinct ones, at
    positions i with ⌊(i+1)h⌋ > ⌊ih⌋ (evenly spread; h = 0.5 is every second one, as
    `theory.survivors.split_seeds`), or the explicit values listed."""
    distinct = sorted(set(keys))
    if holdout is None:
        return set()
    if isinstance(holdout, int | float) and not isinstance(holdout, bool):
        require(0 < holdout < 1, f"holdout must be a fraction in (0, 1) or a list of coordinates, got {holdout}")
        return {k for i, k in enumerate(distinct) if np.floor((i + 1) * holdout) > np.floor(i * holdout)}
    wanted = {k if isinstance(k, tuple) else (k,) for k in holdout}
    missing = sorted(str(k[0] if len(k) == 1 else k) for k in wanted - set(distinct))
    require(not missing, f"held-out coordinates not in the data: {', '.join(missing)}")
    return wanted


def fit_ode(da: xr.DataArray, model: ODEModel = Linear(), fit_fraction: float = 1.0,
            var_dim: str | None = None, share: Sequence[str] = (),
            holdout: float | Sequence | None = None) -> ODEFit:
    """Fit `model` (`Linear(alpha)`, `GLV(ridge, refine_steps)`, `MeanField(floor)` or a `CustomODE`)
    to every member of an observable.

    `da` has a `step` dim, optionally one variable dim `var_dim` (None: a scalar observable) and
    member dims (all others). The first `fit_fraction` of the steps is fitted; the rollout from
    x(t_0) runs to the last record. `share`: member dims (or coordinates along one, e.g. `seed` on a
    stacked `member`) over which ONE parameter set is fitted; one set per distinct value of the
    remaining member coordinates (() : one set per member, the default). `holdout`: a fraction of
    the shared coordinates, or a list of them, excluded from the fit and only evaluated
    (`heldout_keys`; needs `share`).
    """
    require(callable(getattr(model, "fit", None)) and isinstance(getattr(model, "name", None), str),
            f"model must be Linear(...), GLV(...), MeanField(...) or CustomODE(...), got {model!r} "
            "(names such as 'linear' are command-line spellings: experiments.fit.MODELS)")
    share = (share,) if isinstance(share, str) else tuple(share)
    require(holdout is None or share, "holdout needs share: the held-out members are those of shared coordinates")
    view, members, var = member_view(da, var_dim)
    require(view.sizes["step"] >= 3, "need at least 3 records")
    steps = view["step"].values.astype(np.float64)
    x = view.values.reshape(-1, view.sizes["step"], view.sizes[var]).astype(np.float64)
    require(bool(np.all(np.isfinite(x))), "the observable has non-finite values")
    n_fit = fit_window(steps, fit_fraction)
    n_params = model.n_params(x.shape[2]) if hasattr(model, "n_params") else 0
    if share:
        keys = list(zip(*(member_labels(view, members, d) for d in share), strict=True))
        out = heldout_keys(keys, holdout)
        held = np.array([k in out for k in keys])
        groups = group_labels(view, members, share)
        require(not held.all(), "nothing left to fit: every shared member is held out")
        fitted = fit_groups(model, x, steps, n_fit, var, groups, held)
    else:
        held, groups = np.zeros(len(x), bool), [(i,) for i in range(len(x))]
        fitted = model.fit(x, steps, n_fit, var)
    shape = tuple(view.sizes[d] for d in members)
    coords = {d: view[d].values for d in members}
    var_coords = {var: view[var].values, f"{var}_in": view[var].values}

    def label(values, extra=()):
        values = np.asarray(values)
        return xr.DataArray(values.reshape(*shape, *values.shape[1:]), dims=(*members, *extra),
                            coords={**coords, **{d: var_coords[d] for d in extra if d in var_coords}})

    params = xr.Dataset({name: label(values, dims) for name, (values, dims) in fitted.params.items()})
    r2_in, r2_out = rollout_scores(x, fitted.path, n_fit)
    r2_held = np.where(held, r2_score(x, fitted.path, "variance"), np.nan)
    criterion = np.zeros(len(x))
    for group in set(groups):
        rows = np.array([g == group for g in groups]) & ~held
        criterion[np.array([g == group for g in groups])] = aic(x[rows], fitted.path[rows], n_fit, n_params)
    rollout = label(fitted.path, ("step", var)).assign_coords(step=view["step"].values, **{var: view[var].values})
    if var_dim is None:
        rollout = rollout.isel(var=0, drop=True)
    return ODEFit(model, params, rollout.transpose(*[d for d in da.dims]), label(fitted.one_step_r2),
                  label(r2_in), label(r2_out), n_fit, float(steps[n_fit - 1]),
                  {name: label(values) for name, values in fitted.extra.items()},
                  label(held), label(r2_held), n_params, label(criterion), share)


def fit_groups(model: ODEModel, x: np.ndarray, steps: np.ndarray, n_fit: int, var: str,
               groups: list[tuple], held: np.ndarray) -> Fitted:
    """`model.fit_shared` once per group of members (its held-out members evaluated only), reassembled."""
    require(callable(getattr(model, "fit_shared", None)), f"model {model.name!r} has no shared fit (fit_shared)")
    parts: dict[tuple, tuple[np.ndarray, Fitted]] = {}
    for group in dict.fromkeys(groups):
        rows = np.flatnonzero([g == group for g in groups])
        require(not held[rows].all(), f"nothing left to fit in the members {group}: all are held out")
        parts[group] = rows, model.fit_shared(x[rows], steps, n_fit, var, ~held[rows])
    first = next(iter(parts.values()))[1]

    def assemble(get):
        template = get(first)
        out = np.empty((len(x), *template.shape[1:]), template.dtype)
        for rows, fitted in parts.values():
            out[rows] = get(fitted)
        return out

    return Fitted({k: (assemble(lambda f, k=k: f.params[k][0]), dims) for k, (_, dims) in first.params.items()},
                  assemble(lambda f: f.path), assemble(lambda f: f.one_step_r2),
                  {k: assemble(lambda f, k=k: f.extra[k]) for k in first.extra})
