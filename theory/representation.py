"""Linear representations of the addition toy (Liu et al. 2022): uniqueness, r_c, accuracy.

A training set D (samples (i, j), i ≤ j, of p-symbol addition) constrains the representation
through the parallelograms among its samples, P₀(D) = {(s, t) ∈ P₀ : s, t ∈ D}, rows
e_i + e_j − e_m − e_n of A_D. H = A_Dᵀ A_D always has λ₁ = λ₂ = 0 (translation and scale of E);
the linear representation is **unique** iff λ₃(H) > 1e-8 (`effective_linear_eq.ipynb`).

    P(unique | n) = fraction of random training sets of size n with a unique representation
    r_c           = n*/N, n* where P(unique) crosses ½ (linear interpolation), N = p(p+1)/2

Predicted accuracy (`calculate_Dbar` in the authors' code): D̄ = D ∪ {test samples that form a
parallelogram of a given set with a training sample}; accuracy = |D̄ ∩ test| / |test|.
With the parallelograms implied by D (P(D): rows of P₀ in the row space of A_D) this is the ideal
accuracy; with those present in a learned representation (P(R)) it is the predicted accuracy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from toymodels.grokking_toy import effective_loss
from toymodels.tasks.addition_pairs import n_samples, parallelogram_matrix, parallelograms

EIGEN_TOL = 1e-8


def constraint_matrices(p: int, train: np.ndarray) -> np.ndarray:
    """H = A_Dᵀ A_D for each training mask: train (…, N) bool → (…, p, p)."""
    s, t = parallelograms(p).T
    rows = parallelogram_matrix(p)
    weight = (train[..., s] & train[..., t]).astype(float)
    return np.swapaxes(weight[..., None] * rows, -1, -2) @ rows


def third_eigenvalue(p: int, train: np.ndarray) -> np.ndarray:
    """λ₃ of A_Dᵀ A_D (eigenvalues ascending) for each training mask."""
    return np.linalg.eigvalsh(constraint_matrices(p, train))[..., 2]


def is_unique(p: int, train: np.ndarray) -> np.ndarray:
    """Whether D determines the linear representation up to translation and scale: λ₃ > 1e-8."""
    return third_eigenvalue(p, train) > EIGEN_TOL


def random_splits(p: int, n_train: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """(n_splits, N) masks with exactly n_train samples each, uniformly at random."""
    order = np.argsort(rng.random((n_splits, n_samples(p))), axis=1)
    return order < n_train


@dataclass(frozen=True)
class CriticalFraction:
    """P(unique) per training-set size and the size/fraction where it crosses ½."""

    n_train: np.ndarray      # sizes tried
    n_unique: np.ndarray     # splits with a unique representation, per size
    n_splits: int
    n_critical: float        # interpolated size where P(unique) = ½ (NaN if never crossed)
    r_c: float               # n_critical / N

    @property
    def probability(self) -> np.ndarray:
        return self.n_unique / self.n_splits


def crossing(x: np.ndarray, y: np.ndarray, level: float = 0.5) -> float:
    """First x where y (sampled at increasing x) reaches `level`, linearly interpolated."""
    above = np.nonzero(y >= level)[0]
    if len(above) == 0:
        return float("nan")
    k = above[0]
    if k == 0:
        return float(x[0])
    return float(x[k - 1] + (level - y[k - 1]) * (x[k] - x[k - 1]) / (y[k] - y[k - 1]))


def critical_fraction(p: int, n_train: np.ndarray, n_splits: int,
                      seed: int = 0) -> CriticalFraction:
    """Estimate P(unique | n) from `n_splits` random splits per size and r_c where it crosses ½."""
    rng = np.random.default_rng(seed)
    n_train = np.asarray(n_train)
    counts = np.array([is_unique(p, random_splits(p, int(n), n_splits, rng)).sum()
                       for n in n_train])
    n_critical = crossing(n_train, counts / n_splits)
    return CriticalFraction(n_train, counts, n_splits, n_critical, n_critical / n_samples(p))


def implied_parallelograms(p: int, train: np.ndarray) -> np.ndarray:
    """P(D): rows of P₀ linearly implied by P₀(D) (orthogonal to the null space of A_Dᵀ A_D)."""
    values, vectors = np.linalg.eigh(constraint_matrices(p, train))
    null = vectors[:, values < EIGEN_TOL]
    return np.linalg.norm(parallelogram_matrix(p) @ null, axis=1) < 1e-6


def present_parallelograms(embedding: np.ndarray, delta: float = 0.01) -> np.ndarray:
    """P(R): rows of P₀ with mean_dims (Ẽ_i + Ẽ_j − Ẽ_m − Ẽ_n)² < δ on the standardised E (p, d)."""
    e = (embedding - embedding.mean(axis=0)) / embedding.std(axis=0, ddof=1)
    rows = parallelogram_matrix(embedding.shape[0])
    return np.mean((rows @ e) ** 2, axis=1) < delta


def generalised_set(p: int, train: np.ndarray, present: np.ndarray) -> np.ndarray:
    """D̄: D plus every sample paired by a present parallelogram (s, t) with a training sample."""
    s, t = parallelograms(p)[present].T
    reached = np.array(train, dtype=bool)
    reached[t[train[s]]] = True
    reached[s[train[t]]] = True
    return reached


def predicted_accuracy(p: int, train: np.ndarray, present: np.ndarray) -> float:
    """|D̄ ∩ test| / |test| for the parallelogram set `present` (NaN with no test samples)."""
    test = ~np.asarray(train, dtype=bool)
    if not test.any():
        return float("nan")
    return float(generalised_set(p, train, present)[test].mean())


def training_rows(p: int, train: np.ndarray) -> np.ndarray:
    """A_D as the (K, p) matrix of P₀ with the rows of parallelograms not in D set to zero.

    Row k is e_i + e_j − e_m − e_n when both samples of the k-th parallelogram are in D, else 0
    (zero rows leave ‖A_D E‖² unchanged and keep one shape for every D)."""
    s, t = parallelograms(p).T
    keep = np.asarray(train, bool)[s] & np.asarray(train, bool)[t]
    return parallelogram_matrix(p) * keep[:, None]


def standardised(embedding: np.ndarray) -> np.ndarray:
    """(E − mean over symbols) / unbiased std over symbols, per dimension (last two axes (p, d))."""
    centred = embedding - embedding.mean(axis=-2, keepdims=True)
    return centred / embedding.std(axis=-2, ddof=1, keepdims=True)


@jax.jit
def _flow(start: jax.Array, rows: jax.Array, times: jax.Array) -> jax.Array:
    field = diffrax.ODETerm(lambda t, e, args: -jax.grad(effective_loss)(e, rows))
    solution = diffrax.diffeqsolve(
        field, diffrax.Tsit5(), t0=0.0, t1=times[-1], dt0=None, y0=start, saveat=diffrax.SaveAt(ts=times),
        stepsize_controller=diffrax.PIDController(rtol=1e-5, atol=1e-7, dtmin=1e-8), max_steps=100_000)
    return solution.ys


def effective_flow(start: np.ndarray, rows: np.ndarray, times: np.ndarray) -> np.ndarray:
    """E(t) of the gradient flow dE/dt = −∇_E ℓ_eff, ℓ_eff = ‖A E‖² / ‖E‖², at `times` (Diffrax, Tsit5).

    start (p, d); rows A (K, p); returns (len(times), p, d). ℓ_eff is scale-invariant, so the flow
    keeps ‖E‖ fixed and only turns E towards the null space of A (the linear representations).
    """
    return np.asarray(_flow(jnp.asarray(start, jnp.float32), jnp.asarray(rows, jnp.float32),
                            jnp.asarray(times, jnp.float32)))


@functools.partial(jax.jit, static_argnames="n_steps")
def _adam_flow(start: jax.Array, rows: jax.Array, n_steps: int, lr: jax.Array, wd: jax.Array) -> jax.Array:
    opt = optax.adamw(lr, weight_decay=wd)

    def step(carry, _):
        e, state = carry
        updates, state = opt.update(jax.grad(effective_loss)(e, rows), state, e)
        e = optax.apply_updates(e, updates)
        return (e, state), e

    _, path = jax.lax.scan(step, (start, opt.init(start)), None, length=n_steps)
    return jnp.concatenate([start[None], path])


def adam_effective_flow(start: np.ndarray, rows: np.ndarray, n_steps: int, lr: float, wd: float = 0.0) -> np.ndarray:
    """E_t, t = 0..n_steps, of the network's own optimiser on the effective loss:
    E_{t+1} = E_t + AdamW(lr, wd)(∇_E ℓ_eff(E_t)), ℓ_eff = ‖A E‖² / ‖E‖², from the raw E_0 = start.

    The gradient flow (`effective_flow`) runs on the clock t = lr · step, which is not Adam's: Adam
    moves every coordinate by ≈ lr per step whatever the gradient's size. Here the clock is the
    network's step and every setting is the network's (lr, wd, optax's betas and ε), so nothing is
    fitted. start (p, d); rows A (K, p); returns (n_steps + 1, p, d).
    """
    return np.asarray(_adam_flow(jnp.asarray(start, jnp.float32), jnp.asarray(rows, jnp.float32), int(n_steps),
                                 jnp.float32(lr), jnp.float32(wd)))
