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


positive = st.floats(0.3, 2.0)
margin = st.floats(0.05, 0.9)   # |invasion rate| as a fraction of the invader's r: away from the boundary


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(positive, positive, positive, positive, margin, margin, st.booleans(), st.booleans())
def test_outcome_matches_integration(g1, g2, s1, s2, m1, m2, invade_1, invade_2):
    """Closed-form outcome = where positive starts end after a long integration, for all four outcomes.

    The competition coefficients are solved from chosen invasion rates λ_2 = g2 − c21 s2 g1/s1 (2 into
    1's equilibrium) and λ_1 = g1 − c12 s1 g2/s2, each ±(margin × the invader's r), so no draw sits on
    the boundary between outcomes and every outcome is drawn.
    """
    lam_2 = (1 if invade_2 else -1) * m2 * g2
    lam_1 = (1 if invade_1 else -1) * m1 * g1
    c21 = (g2 - lam_2) * s1 / (s2 * g1)
    c12 = (g1 - lam_1) * s2 / (s1 * g2)
    params = TwoSpecies(np.array([g1, g2]), np.array([[-s1, -c12 * s1], [-c21 * s2, -s2]]))
    outcome = two_species_outcome(params)
    capacity = np.array([g1 / s1, g2 / s2])
    # 1 established, 2 invades (and vice versa); t long enough for the slowest rate 0.05 · 0.3 to act
    near_1 = integrate(params.r, params.a, capacity * np.array([0.9, 0.05]), t=3000.0)
    near_2 = integrate(params.r, params.a, capacity * np.array([0.05, 0.9]), t=3000.0)
    alive_1, alive_2 = near_1 > 1e-3, near_2 > 1e-3
    if outcome == "1 wins":
        assert alive_1.tolist() == [True, False] and alive_2.tolist() == [True, False]
        assert (invade_1, invade_2) == (True, False)
    elif outcome == "2 wins":
        assert alive_1.tolist() == [False, True] and alive_2.tolist() == [False, True]
        assert (invade_1, invade_2) == (False, True)
    elif outcome == "coexistence":
        interior = np.linalg.solve(params.a, -params.r)
        np.testing.assert_allclose(near_1, interior, rtol=1e-4)
        np.testing.assert_allclose(near_2, interior, rtol=1e-4)
        assert invade_1 and invade_2
    elif outcome == "bistable":   # the established species keeps out the invader: the start decides
        assert alive_1.tolist() == [True, False] and alive_2.tolist() == [False, True]
        assert not invade_1 and not invade_2
    else:
        raise AssertionError(f"unknown outcome {outcome!r}")


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
