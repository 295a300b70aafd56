"""Closed forms of theory.skills against the reference values, and the measurement helpers."""

from __future__ import annotations

import numpy as np
import sympy as sp
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import toymodels as tm
from toymodels.skills import Resource
from toymodels.theory.skills import (
    crossing_step,
    domino_exponents,
    domino_factor_limit,
    fit_n0,
    power_law_exponent,
    quanta_exponents,
    resource_closed_form,
    resource_time_to_skill,
    sgd_time_to_skill,
    two_task_factor,
)

ETA = 2 * 3e-4 * np.sqrt(1000)


def zipf(n: int, alpha: float) -> np.ndarray:
    p = np.arange(1, n + 1, dtype=float) ** -alpha
    return p / p.sum()


def test_time_to_skill_matches_reference_values():
    """Reference §4A: defaults (α = 2, n = 10, N0 = 0.003, η' = 0.018974), s = 0.9."""
    expected = [104.9, 213.8, 303.2, 374.5, 430.4, 473.8, 507.3, 533.6, 555.0, 573.1]
    np.testing.assert_allclose(resource_time_to_skill(zipf(10, 2), 0.003, ETA, 0.9), expected,
                               atol=0.06)


def test_two_task_factor_and_its_limit():
    p1 = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99])
    np.testing.assert_allclose(two_task_factor(p1), [1.00, 1.11, 1.24, 1.42, 1.69, 1.87, 2.06],
                               atol=0.006)
    s = sp.Symbol("s", positive=True)
    assert sp.simplify(domino_factor_limit(s) - (1 + s) / s) == 0
    assert domino_factor_limit(sp.Rational(9, 10)) == sp.Rational(19, 9)


def test_two_task_factor_is_the_n0_zero_time_ratio():
    for p1 in (0.6, 0.9, 0.97):
        t = resource_time_to_skill(np.array([p1, 1 - p1]), 0.0, 1.0, 0.9)
        np.testing.assert_allclose(t[1] / t[0], two_task_factor(p1), rtol=1e-10)


def test_sgd_time_to_skill_reference_values():
    np.testing.assert_allclose(sgd_time_to_skill(np.array([0.95, 0.05]), 0.03), [79.6, 1533.9],
                               atol=0.06)


def test_scaling_exponents():
    assert domino_exponents(2.0) == (1.0, 1.0)
    np.testing.assert_allclose(quanta_exponents(2.0), (1.0, 0.5))


def test_closed_form_solves_the_resource_update():
    """The continuous solution matches the discrete update (small η') to 1e-3."""
    p = zipf(6, 1.5)
    eta = 2e-3
    steps = np.arange(0, 4001, 200)
    system = Resource(n=6, d=1, clamp=False)
    spec = tm.Spec(system, {**system.hparams(), "lr": eta / 2, "alpha": 1.5, "N0": 0.01},
                   steps=4000, log_every=200)
    simulated = tm.run(spec, quiet=True)["skill"].isel(seed=0).values
    np.testing.assert_allclose(resource_closed_form(p, 0.01, eta, steps), simulated, atol=1e-3)


def test_fit_n0_recovers_the_generating_n0():
    """Fitting a Resource run with the Resource model returns its N0 (grid resolution)."""
    system = Resource(n=5)
    spec = tm.Spec(system, system.hparams(), sweep={"N0": (1e-3, 0.1)}, steps=600, log_every=10)
    skill = tm.run(spec, quiet=True)["skill"].isel(seed=0)
    p = xr.DataArray(zipf(5, 2.0), dims="task")
    fit = fit_n0(skill, p, ETA, grid=np.array([1e-4, 1e-3, 1e-2, 0.1, 1.0]))
    np.testing.assert_allclose(fit.n0.values, [1e-3, 0.1])
    assert float(fit.mse.max()) < 1e-8
    assert fit.prediction.dims == ("N0", "step", "task")


@settings(max_examples=25, deadline=None)
@given(start=st.floats(0.0, 50.0), slope=st.floats(0.01, 1.0), threshold=st.floats(0.1, 0.9))
def test_crossing_step_is_exact_for_linear_curves(start, slope, threshold):
    steps = np.arange(0, 201, 10)
    values = np.clip((steps - start) * slope / 100, 0, None)[:, None]
    skill = xr.DataArray(values, dims=("step", "task"), coords={"step": steps})
    expected = start + threshold * 100 / slope
    got = float(crossing_step(skill, threshold).isel(task=0))
    if expected < 200:
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    else:
        assert np.isnan(got)


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.1, 3.0), c=st.floats(0.01, 100.0))
def test_power_law_exponent_recovers_the_exponent(a, c):
    d = np.array([10.0, 20.0, 40.0, 80.0])
    y = xr.DataArray(c * d**-a, dims="d", coords={"d": d})
    np.testing.assert_allclose(float(power_law_exponent(y, "d")), a, rtol=1e-6)
