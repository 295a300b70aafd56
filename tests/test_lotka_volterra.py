"""Symbolic competitive Lotka–Volterra against numerical integration (SciPy)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from toymodels.spec import ConfigError
from toymodels.theory.lotka_volterra import (
    TwoSpecies,
    a11,
    a12,
    a21,
    a22,
    exclusion_condition,
    fixed_points,
    r1,
    r2,
    stable_fixed_points,
    two_species_fixed_points,
    two_species_outcome,
)


def integrate(r: np.ndarray, a: np.ndarray, x0: np.ndarray, t: float = 400.0) -> np.ndarray:
    """x(t) of dx_i/dt = x_i (r_i + Σ_j A_ij x_j) (SciPy LSODA)."""
    solution = solve_ivp(lambda _, x: x * (r + a @ x), (0, t), x0, method="LSODA",
                         rtol=1e-9, atol=1e-12)
    return solution.y[:, -1]


def test_fixed_points_are_the_four_textbook_ones():
    points = {tuple(sp.simplify(c) for c in p) for p in two_species_fixed_points()}
    interior = sp.Matrix([[a11, a12], [a21, a22]]).LUsolve(sp.Matrix([-r1, -r2]))
    expected = {(0, 0), (sp.simplify(-r1 / a11), 0), (0, sp.simplify(-r2 / a22)),
                tuple(sp.simplify(c) for c in interior)}
    assert len(points) == 4
    assert {tuple(sp.simplify(c) for c in p) for p in expected} == points


def test_exclusion_condition_closed_form():
    args = exclusion_condition(1).args
    wins = next(c for c in args if isinstance(c, sp.StrictLessThan))
    invaded = next(c for c in args if isinstance(c, sp.StrictGreaterThan))
    assert sp.simplify(wins.lhs - (r2 - a21 * r1 / a11)) == 0 and wins.rhs == 0
    assert sp.simplify(invaded.lhs - (r1 - a12 * r2 / a22)) == 0 and invaded.rhs == 0


coefficient = st.floats(0.2, 2.0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(coefficient, coefficient, coefficient, coefficient, coefficient, coefficient)
def test_outcome_matches_integration(g1, g2, s1, s2, c12, c21):
    """Closed-form outcome = where a positive start ends after a long integration."""
    params = TwoSpecies(np.array([g1, g2]), np.array([[-s1, -c12 * s1], [-c21 * s2, -s2]]))
    outcome = two_species_outcome(params)
    invasion = [g2 - c21 * s2 * g1 / s1, g1 - c12 * s1 * g2 / s2]
    if min(abs(v) for v in invasion) < 0.05:   # too close to the boundary to integrate decisively
        return
    # an asymmetric start: a symmetric one can sit on the separatrix of a bistable system
    end = integrate(params.r, params.a, np.array([0.3, 0.23]) * np.array([g1 / s1, g2 / s2]))
    alive = end > 1e-3
    if outcome == "1 wins":
        assert alive[0] and not alive[1]
    elif outcome == "2 wins":
        assert alive[1] and not alive[0]
    elif outcome == "coexistence":
        assert alive.all()
        interior = np.linalg.solve(params.a, -params.r)
        np.testing.assert_allclose(end, interior, rtol=1e-4)
    else:
        assert alive.sum() == 1   # bistable: one of them wins, depending on the start


def test_bistable_winner_depends_on_start():
    params = TwoSpecies(np.array([1.0, 1.0]), np.array([[-1.0, -2.0], [-2.0, -1.0]]))
    assert two_species_outcome(params) == "bistable"
    assert integrate(params.r, params.a, np.array([0.6, 0.4]))[1] < 1e-6
    assert integrate(params.r, params.a, np.array([0.4, 0.6]))[0] < 1e-6


def test_n_species_stable_point_is_where_integration_ends():
    rng = np.random.default_rng(3)
    n = 5
    r = rng.uniform(0.5, 1.5, n)
    a = -rng.uniform(0.0, 1.5, (n, n))
    np.fill_diagonal(a, -2.0)
    stable = stable_fixed_points(r, a)
    assert len(stable) >= 1
    end = integrate(r, a, rng.uniform(0.1, 0.5, n), t=2000.0)
    assert min(np.max(np.abs(end - p.x)) for p in stable) < 1e-5
    assert all(np.all(p.x >= 0) for p in fixed_points(r, a))


def test_bad_input():
    with pytest.raises(ConfigError):
        fixed_points(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ConfigError):
        TwoSpecies(np.ones(3), np.ones((2, 2)))
