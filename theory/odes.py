"""Effective-theory ODEs fitted to recorded trajectories, every member in one call.

Two models of a trajectory x(t) ∈ R^n sampled at steps t_0 < t_1 < … (dim `step`, variables
along `var_dim`, every other dim a member):

* **linear one-step** (Ding et al. 2024, §4.3): x(t+1) − x(t) = A x(t) + b, fitted by least squares
  or by the Lasso with sklearn's objective (1/2N)‖Y − XW − b‖²_F + α‖W‖₁ (intercept unpenalised),
  X = x(t_0..t_{N−1}), Y = x(t_1..t_N) − X, A = Wᵀ. Goodness of fit: sklearn's R² of the increments,
  uniformly averaged over outputs (the paper's metric), and the rollout R² of
  x̂(t+1) = x̂(t) + A x̂(t) + b iterated from x̂(t_0) = x(t_0) (as the authors' `rollout_ode_traj`).
  A fit is *unstable* when the spectral radius of I + A exceeds 1: its rollout grows without bound.
* **generalized Lotka–Volterra**: dx_i/dt = x_i (r_i + Σ_j A_ij x_j), t in training steps.
  Initial estimate: least squares of Δlog x/Δt on x; refinement: Levenberg–Marquardt
  (Optimistix) on log x̂(t) − log x(t), x̂ integrated with Diffrax (Tsit5, adaptive) from x(t_0).
  Constraint: self-interaction A_ii ≤ 0 (a species limits itself), enforced as A_ii = −θ_i².
  One-step R²: of the observed growth rates Δlog x/Δt against r + A x(t) (the regression's
  target); rollout R²: of x̂(t) against x(t). Unstable when the rollout continued to 10× the
  observed span blows up (non-finite or above 10·max x); fixed points and their eigenvalues are in
  theory.lotka_volterra.

Deviation, stated: sklearn checks the Lasso's duality gap only after a coordinate sweep changes
the weights by less than tol; here the gap is checked after every sweep (same stopping tolerance,
tol · ‖Y − Ȳ‖²/N).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
import xarray as xr

from toymodels.spec import require

LASSO_TOL = 1e-4
LASSO_MAX_ITER = 1000


# --- array core: leading axis = members --------------------------------------------------------
def r2_score(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """sklearn's R², uniform average over outputs: mean_j [1 − Σ_t (y−ŷ)²_tj / Σ_t (y−ȳ_j)²_tj].

    y, pred: (members, T, n) → (members,). An output with zero variance scores 1 if fitted
    exactly, else 0 (sklearn's convention). Non-finite predictions score −inf.
    """
    residual = np.sum((y - pred) ** 2, axis=1)
    total = np.sum((y - y.mean(axis=1, keepdims=True)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_output = np.where(total > 0, 1.0 - residual / total, np.where(residual == 0, 1.0, 0.0))
    per_output = np.where(np.isfinite(per_output), per_output, -np.inf)
    return per_output.mean(axis=1)


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


def lasso_weights(x: np.ndarray, y: np.ndarray, alpha: float, tol: float = LASSO_TOL,
                  max_iter: int = LASSO_MAX_ITER) -> tuple[np.ndarray, np.ndarray]:
    """argmin_{W,b} (1/2N)‖Y − XW − b‖² + α‖W‖₁ for every member; x (M, N, n), y (M, N, m).

    Cyclic coordinate descent on the centred Gram form (sklearn's algorithm), vectorised over
    members and outputs: W_j ← S_α(C_j − Σ_{k≠j} G_jk W_k) / G_jj. Returns (W (M, n, m), b (M, m)).
    α = 0 is ordinary least squares: W = G⁻¹C (G⁺C when G is singular), float64.
    """
    x_mean, y_mean = x.mean(axis=1, keepdims=True), y.mean(axis=1, keepdims=True)
    xc, yc = x - x_mean, y - y_mean
    n_obs = x.shape[1]
    xt = np.ascontiguousarray(np.swapaxes(xc, 1, 2))   # contiguous: batched BLAS matmuls
    gram, cross = xt @ xc / n_obs, xt @ yc / n_obs
    if alpha == 0:
        try:
            w = np.linalg.solve(gram, cross)
        except np.linalg.LinAlgError:   # a constant variable: minimum-norm solution
            w = np.linalg.pinv(gram, hermitian=True) @ cross
    else:
        yy = np.sum(yc**2, axis=1) / n_obs
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
    b = y_mean[:, 0] - np.einsum("mn,mno->mo", x_mean[:, 0], w)
    return w, b


def linear_rollout(a: np.ndarray, b: np.ndarray, x0: np.ndarray, steps: int) -> np.ndarray:
    """x̂(0) = x0, x̂(t+1) = x̂(t) + A x̂(t) + b; returns (M, steps, n) (overflow → inf/nan)."""
    def advance(x, _):
        nxt = x + jnp.einsum("mij,mj->mi", a, x) + b
        return nxt, x

    _, path = jax.lax.scan(advance, jnp.asarray(x0), None, length=steps)
    return np.asarray(jnp.swapaxes(path, 0, 1), dtype=np.float64)


@dataclass(frozen=True)
class LinearArrays:
    """Linear one-step fit of M members (arrays; see `LinearFit` for the labelled version)."""

    a: np.ndarray              # (M, n, n)
    b: np.ndarray              # (M, n)
    one_step_r2: np.ndarray    # (M,)
    rollout_r2: np.ndarray     # (M,)
    spectral_radius: np.ndarray  # (M,) of I + A
    rollout: np.ndarray        # (M, T, n)


def fit_linear_arrays(x: np.ndarray, alpha: float = 0.0) -> LinearArrays:
    """Fit x(t+1) − x(t) = A x(t) + b to trajectories x (M, T, n); see module docstring."""
    require(x.ndim == 3 and x.shape[1] >= 3, "need trajectories of shape (members, steps>=3, vars)")
    require(alpha >= 0, f"alpha must be >= 0, got {alpha}")
    require(bool(np.all(np.isfinite(x))), "trajectories must be finite")
    x = np.asarray(x, dtype=np.float64)
    inputs, increments = x[:, :-1], np.diff(x, axis=1)
    w, b = lasso_weights(inputs, increments, alpha)
    a = np.swapaxes(w, 1, 2)
    one_step = r2_score(increments, inputs @ w + b[:, None])
    with np.errstate(over="ignore", invalid="ignore"):
        path = linear_rollout(a, b, x[:, 0], x.shape[1])
        rollout_r2 = r2_score(x, path)
    radius = np.max(np.abs(np.linalg.eigvals(np.eye(x.shape[2]) + a)), axis=-1)
    return LinearArrays(a, b, one_step, rollout_r2, radius, path)


# --- generalized Lotka–Volterra ------------------------------------------------------------------
def glv_field(t, x, params):
    """dx_i/dt = x_i (r_i + Σ_j A_ij x_j)."""
    r, a = params
    return x * (r + a @ x)


def glv_solve(r: jax.Array, a: jax.Array, x0: jax.Array, ts: jax.Array) -> jax.Array:
    """x̂(ts) of the gLV system from x̂(ts[0]) = x0 (Diffrax Tsit5, adaptive); inf if it fails."""
    solution = diffrax.diffeqsolve(
        diffrax.ODETerm(glv_field), diffrax.Tsit5(), ts[0], ts[-1], None, x0, (r, a),
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=diffrax.PIDController(rtol=1e-5, atol=1e-8),
        max_steps=8192, throw=False, adjoint=diffrax.ForwardMode(),
    )
    ok = solution.result == diffrax.RESULTS.successful
    return jnp.where(ok, solution.ys, jnp.inf)


def pack(r: jax.Array, a: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(r, off-diagonal A, θ) with A_ii = −θ_i² (self-limitation constraint)."""
    theta = jnp.sqrt(jnp.maximum(-jnp.diagonal(a), 0.0))
    return r, a * (1 - jnp.eye(a.shape[0])), theta


def unpack(params) -> tuple[jax.Array, jax.Array]:
    r, off, theta = params
    n = r.shape[0]
    return r, off * (1 - jnp.eye(n)) - jnp.diag(theta**2)


def glv_residuals(params, data):
    """log x̂(t) − log x(t) over the whole trajectory (zero-safe: x̂ floored at 1e-30)."""
    ts, log_x = data
    r, a = unpack(params)
    path = glv_solve(r, a, jnp.exp(log_x[0]), ts)
    return jnp.log(jnp.maximum(path, 1e-30)) - log_x


def refine_glv_one(r0, a0, ts, log_x, max_steps: int):
    """Levenberg–Marquardt (Optimistix) from the regression estimate; keep the better of the two."""
    data = (ts, log_x)
    start = pack(r0, a0)
    solver = optx.LevenbergMarquardt(rtol=1e-6, atol=1e-9)
    solution = optx.least_squares(glv_residuals, solver, start, args=data, max_steps=max_steps,
                                  throw=False)

    def cost(params):
        res = glv_residuals(params, data)
        return jnp.where(jnp.all(jnp.isfinite(res)), jnp.sum(res**2), jnp.inf)

    better = cost(solution.value) <= cost(start)
    chosen = jax.tree.map(lambda new, old: jnp.where(better, new, old), solution.value, start)
    return unpack(chosen)


@functools.partial(jax.jit, static_argnums=4)
def refine_glv(r0, a0, ts, log_x, max_steps: int):
    """`refine_glv_one` for every member (leading axis of r0, a0, log_x)."""
    return jax.vmap(lambda r, a, lx: refine_glv_one(r, a, ts, lx, max_steps))(r0, a0, log_x)


rollout_glv = jax.jit(jax.vmap(glv_solve, in_axes=(0, 0, 0, None)))


@dataclass(frozen=True)
class GLVArrays:
    """gLV fit of M members (arrays)."""

    r: np.ndarray              # (M, n)
    a: np.ndarray              # (M, n, n)
    one_step_r2: np.ndarray    # (M,) R² of the growth rates Δlog x/Δt predicted by r + A x(t)
    rollout_r2: np.ndarray     # (M,)
    stable: np.ndarray         # (M,) bool
    rollout: np.ndarray        # (M, T, n)


def glv_initial(x: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Regression estimate: (log x(t+1) − log x(t)) / Δt = r + A x(t), least squares per member."""
    rates = np.diff(np.log(x), axis=1) / np.diff(ts)[None, :, None]
    w, r = lasso_weights(x[:, :-1], rates, 0.0)
    a = np.swapaxes(w, 1, 2)
    diag = np.minimum(np.diagonal(a, axis1=1, axis2=2), 0.0)
    idx = np.arange(a.shape[1])
    a[:, idx, idx] = diag
    return r, a


def fit_glv_arrays(x: np.ndarray, ts: np.ndarray, refine_steps: int = 50) -> GLVArrays:
    """Fit dx_i/dt = x_i (r_i + Σ_j A_ij x_j) to positive trajectories x (M, T, n) at times ts."""
    require(x.ndim == 3 and x.shape[1] >= 3, "need trajectories of shape (members, steps>=3, vars)")
    require(bool(np.all(x > 0)) and bool(np.all(np.isfinite(x))),
            "Lotka-Volterra needs finite, positive trajectories")
    require(bool(np.all(np.diff(ts) > 0)), "observation times must increase")
    require(refine_steps >= 0, f"refine_steps must be >= 0, got {refine_steps}")
    x = np.asarray(x, dtype=np.float64)
    r0, a0 = glv_initial(x, ts)
    dtype = jnp.result_type(float)
    as_jax = lambda v: jnp.asarray(v, dtype)  # noqa: E731
    r, a = r0, a0
    if refine_steps > 0:
        refined = refine_glv(as_jax(r0), as_jax(a0), as_jax(ts), as_jax(np.log(x)), refine_steps)
        r, a = (np.asarray(v, np.float64) for v in refined)
    path = np.asarray(rollout_glv(as_jax(r), as_jax(a), as_jax(x[:, 0]), as_jax(ts)), np.float64)
    rates = np.diff(np.log(x), axis=1) / np.diff(ts)[None, :, None]
    with np.errstate(invalid="ignore", over="ignore"):
        one_step_r2 = r2_score(rates, r[:, None] + x[:, :-1] @ np.swapaxes(a, 1, 2))
        rollout_r2 = r2_score(x, path)
    long_ts = ts[0] + 10 * (ts - ts[0])
    long_path = np.asarray(rollout_glv(as_jax(r), as_jax(a), as_jax(x[:, 0]), as_jax(long_ts)))
    stable = glv_bounded(long_path, x)
    return GLVArrays(r, a, one_step_r2, rollout_r2, stable, path)


def glv_bounded(long_path: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Stable fit: the rollout continued to 10× the observed span stays finite and ≤ 10·max x."""
    finite = np.all(np.isfinite(long_path), axis=(1, 2))
    with np.errstate(invalid="ignore"):
        bounded = np.max(np.abs(long_path), axis=(1, 2)) <= 10 * np.max(x, axis=(1, 2))
    return finite & bounded


# --- labelled API: DataArrays with member dims, `step` and a variable dim ----------------------
@dataclass(frozen=True)
class LinearFit:
    """Linear one-step fit of every member: A (…, var, var_in), b, R²s, stability, rollout."""

    a: xr.DataArray
    b: xr.DataArray
    one_step_r2: xr.DataArray
    rollout_r2: xr.DataArray
    spectral_radius: xr.DataArray
    stable: xr.DataArray
    rollout: xr.DataArray


@dataclass(frozen=True)
class GLVFit:
    """Lotka–Volterra fit of every member: r (…, var), A (…, var, var_in), R²s, stability."""

    r: xr.DataArray
    a: xr.DataArray
    one_step_r2: xr.DataArray
    rollout_r2: xr.DataArray
    stable: xr.DataArray
    rollout: xr.DataArray


def member_arrays(da: xr.DataArray, var_dim: str) -> tuple[np.ndarray, list[str], dict]:
    """(M, T, n) array of a DataArray with dims (…members, step, var_dim); member dims, coords."""
    require("step" in da.dims and var_dim in da.dims,
            f"trajectories need dims 'step' and {var_dim!r}")
    members = [d for d in da.dims if d not in ("step", var_dim)]
    values = da.transpose(*members, "step", var_dim).values
    coords = {d: da[d].values for d in members}
    return values.reshape(-1, da.sizes["step"], da.sizes[var_dim]), members, coords


def relabel(values: np.ndarray, members: list[str], coords: dict, da: xr.DataArray,
            extra: tuple[str, ...]) -> xr.DataArray:
    """Inverse of `member_arrays` for a result with trailing dims `extra`."""
    shape = tuple(len(coords[d]) for d in members)
    extra_coords = {}
    for d in extra:
        source = d.removesuffix("_in")
        extra_coords[d] = da[source].values
    return xr.DataArray(values.reshape(*shape, *values.shape[1:]), dims=(*members, *extra),
                        coords={**coords, **extra_coords})


def fit_linear(da: xr.DataArray, var_dim: str = "freq", alpha: float = 0.0) -> LinearFit:
    """Linear one-step fit of every member of `da` (dims …, step, var_dim); see module docstring.

    Assumes consecutive records are one model step apart when log_every = 1 (the paper's setup);
    otherwise "one step" means one recorded interval.
    """
    x, members, coords = member_arrays(da, var_dim)
    fit = fit_linear_arrays(x, alpha)
    v, w = var_dim, f"{var_dim}_in"
    label = lambda values, extra: relabel(values, members, coords, da, extra)  # noqa: E731
    return LinearFit(
        a=label(fit.a, (v, w)), b=label(fit.b, (v,)), one_step_r2=label(fit.one_step_r2, ()),
        rollout_r2=label(fit.rollout_r2, ()), spectral_radius=label(fit.spectral_radius, ()),
        stable=label(fit.spectral_radius <= 1 + 1e-9, ()),
        rollout=label(fit.rollout, ("step", v)),
    )


def fit_glv(da: xr.DataArray, var_dim: str = "freq", refine_steps: int = 50) -> GLVFit:
    """Generalized Lotka–Volterra fit of every member of `da` (dims …, step, var_dim)."""
    x, members, coords = member_arrays(da, var_dim)
    fit = fit_glv_arrays(x, np.asarray(da["step"].values, np.float64), refine_steps)
    v, w = var_dim, f"{var_dim}_in"
    label = lambda values, extra: relabel(values, members, coords, da, extra)  # noqa: E731
    return GLVFit(
        r=label(fit.r, (v,)), a=label(fit.a, (v, w)), one_step_r2=label(fit.one_step_r2, ()),
        rollout_r2=label(fit.rollout_r2, ()), stable=label(fit.stable, ()),
        rollout=label(fit.rollout, ("step", v)),
    )
