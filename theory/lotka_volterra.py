"""Competitive Lotka–Volterra: fixed points and stability, symbolic (2 species) and numeric (n).

    dx_i/dt = x_i (r_i + Σ_j A_ij x_j),   competitive: r_i > 0, A_ij < 0.

Two species (SymPy): the fixed points are (0, 0), (K_1, 0), (0, K_2) with K_i = −r_i/A_ii, and the
interior point solving A x = −r. At (K_1, 0) the Jacobian is triangular, so its invasion
eigenvalue is λ = r_2 + A_21 K_1. **Competitive exclusion** (species 1 excludes species 2):

    r_2 − A_21 r_1/A_11 < 0   and   r_1 − A_12 r_2/A_22 > 0,

i.e. species 2 cannot invade species 1's equilibrium while species 1 can invade species 2's.
Both invasions possible ⇒ stable coexistence; neither ⇒ bistability (the winner depends on x(0)).
n species (NumPy): every support S ⊆ {1..n} gives a candidate x*_S = −A_SS⁻¹ r_S; it is feasible
when x* ≥ 0 and stable when the Jacobian J = diag(r + A x*) + diag(x*) A has eigenvalues with
negative real parts.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from toymodels.spec import require

r1, r2, a11, a12, a21, a22 = sp.symbols("r1 r2 a11 a12 a21 a22", real=True)
X1, X2 = sp.symbols("x1 x2", real=True)
SYMBOLS = (r1, r2, a11, a12, a21, a22)


def two_species_field() -> sp.Matrix:
    """(dx_1/dt, dx_2/dt) of the two-species system."""
    return sp.Matrix([X1 * (r1 + a11 * X1 + a12 * X2), X2 * (r2 + a21 * X1 + a22 * X2)])


def two_species_fixed_points() -> list[tuple[sp.Expr, sp.Expr]]:
    """All fixed points (generic parameters): trivial, two boundary points, interior."""
    solutions = sp.solve(list(two_species_field()), [X1, X2], dict=True)
    return [(s[X1], s[X2]) for s in solutions]


def two_species_eigenvalues(point: tuple[sp.Expr, sp.Expr]) -> list[sp.Expr]:
    """Eigenvalues of the Jacobian at a fixed point (symbolic)."""
    jac = two_species_field().jacobian([X1, X2]).subs({X1: point[0], X2: point[1]})
    return [sp.simplify(e) for e in jac.eigenvals(multiple=True)]


@functools.cache
def invasion_rate(winner: int) -> sp.Expr:
    """Growth rate of the absent species at the boundary point of `winner` (1 or 2).

    From the Jacobian at (K_1, 0): its eigenvalues are −r_1 and r_2 + A_21 K_1; the latter.
    """
    require(winner in (1, 2), f"winner must be 1 or 2, got {winner}")
    point = (-r1 / a11, sp.Integer(0)) if winner == 1 else (sp.Integer(0), -r2 / a22)
    other = r2 + a21 * point[0] if winner == 1 else r1 + a12 * point[1]
    eigenvalues = two_species_eigenvalues(point)
    require(any(sp.simplify(e - other) == 0 for e in eigenvalues), "invasion eigenvalue not found")
    return sp.simplify(other)


def exclusion_condition(winner: int = 1) -> sp.Boolean:
    """Closed form: `winner` excludes the other species from (almost) every positive start."""
    loser = 3 - winner
    return sp.And(invasion_rate(winner) < 0, invasion_rate(loser) > 0)


@dataclass(frozen=True)
class TwoSpecies:
    """Numeric two-species parameters: r (2,), A (2, 2)."""

    r: np.ndarray
    a: np.ndarray

    def __post_init__(self) -> None:
        require(np.shape(self.r) == (2,) and np.shape(self.a) == (2, 2), "need r (2,) and A (2, 2)")

    @property
    def values(self) -> dict[sp.Symbol, float]:
        (x11, x12), (x21, x22) = self.a
        return dict(zip(SYMBOLS, (*self.r, x11, x12, x21, x22), strict=True))


def two_species_outcome(params: TwoSpecies) -> str:
    """'1 wins', '2 wins', 'coexistence' or 'bistable', from the closed-form invasion rates."""
    values = params.values
    invade_1 = float(invasion_rate(2).subs(values)) > 0   # 1 can invade 2's equilibrium
    invade_2 = float(invasion_rate(1).subs(values)) > 0
    if invade_1 and invade_2:
        return "coexistence"
    if invade_1:
        return "1 wins"
    if invade_2:
        return "2 wins"
    return "bistable"


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point of the n-species system with its Jacobian spectrum."""

    x: np.ndarray
    eigenvalues: np.ndarray

    @property
    def stable(self) -> bool:
        return bool(np.max(self.eigenvalues.real) < 0)


def jacobian(r: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """J = diag(r + A x) + diag(x) A."""
    return np.diag(r + a @ x) + x[:, None] * a


def fixed_points(r: np.ndarray, a: np.ndarray, max_species: int = 14) -> list[FixedPoint]:
    """Every feasible (x* ≥ 0) fixed point: one per support S with nonsingular A_SS (2^n of them)."""
    n = len(r)
    require(a.shape == (n, n), f"A must be ({n}, {n}), got {a.shape}")
    require(n <= max_species, f"fixed-point enumeration is 2^n; n = {n} > {max_species}")
    points = []
    for size in range(n + 1):
        for support in itertools.combinations(range(n), size):
            idx = list(support)
            x = np.zeros(n)
            if idx:
                sub = a[np.ix_(idx, idx)]
                if abs(np.linalg.det(sub)) < 1e-12:
                    continue
                x[idx] = np.linalg.solve(sub, -r[idx])
            if np.all(x >= 0):
                points.append(FixedPoint(x, np.linalg.eigvals(jacobian(r, a, x))))
    return points


def stable_fixed_points(r: np.ndarray, a: np.ndarray) -> list[FixedPoint]:
    """The locally stable feasible fixed points (the possible long-time states)."""
    return [p for p in fixed_points(r, a) if p.stable]
