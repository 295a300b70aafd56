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
    batch_presence_factor,
    collapse_spread,
    crossing_step,
    domino_exponents,
    domino_factor_limit,
    fit_n0,
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


@settings(max_examples=5, deadline=None)
@given(log_n0=st.floats(-3.0, -0.5))
def test_fit_n0_recovers_an_off_grid_n0_from_the_closed_form(log_n0):
    """Skills from the continuous closed form (not the discrete update `fit_n0` simulates), at an
    N0 between grid points, give back that N0 to within a grid step (2.3 %) and a discretisation
    error: the fit finds the generating N0, not a grid point it was told about."""
    n0, eta = 10.0**log_n0, 4e-3
    p = zipf(5, 2.0)
    steps = np.arange(0, 3001, 20)
    skill = xr.DataArray(resource_closed_form(p, n0, eta, steps), dims=("step", "task"),
                         coords={"step": steps})
    fit = fit_n0(skill, xr.DataArray(p, dims="task"), eta)
    assert abs(np.log(float(fit.n0) / n0)) < 0.05, (float(fit.n0), n0)
    assert fit.prediction.dims == ("step", "task")


def test_fit_n0_tells_two_members_apart():
    """Two members with different N0 (a member dim) get their own fits, in order."""
    p = zipf(4, 1.5)
    steps = np.arange(0, 2001, 25)
    skill = xr.DataArray(np.stack([resource_closed_form(p, n0, 5e-3, steps) for n0 in (2e-3, 0.2)]),
                         dims=("N0", "step", "task"), coords={"N0": [2e-3, 0.2], "step": steps})
    fit = fit_n0(skill, xr.DataArray(p, dims="task"), 5e-3)
    np.testing.assert_allclose(fit.n0.values, [2e-3, 0.2], rtol=0.05)
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
@given(ratio=st.floats(1.0, 5.0), p2=st.floats(0.001, 0.5))
def test_batch_presence_factor_limits(ratio, p2):
    """A batch of one sample holds task 2 with probability p2, so the phase after t1 is 1/p2 times
    longer; a huge batch always holds it (the full-batch ratio); larger batches never stretch more."""
    np.testing.assert_allclose(batch_presence_factor(ratio, p2, 1), 1 + (ratio - 1) / p2, rtol=1e-12)
    np.testing.assert_allclose(batch_presence_factor(ratio, p2, 100_000), ratio, rtol=1e-9)
    assert batch_presence_factor(ratio, p2, 16) >= batch_presence_factor(ratio, p2, 128) >= ratio


def test_collapse_spread_is_zero_for_the_resource_model_only():
    """τ_i = −ln(1 − s_i)/p_i is one clock for every task of the Resource closed form (spread 0);
    the "parallel" skills 1 − e^{−t/(30 i)} of Fig9 (rate ∝ 1/i, not ∝ p_i) are not (spread > 0)."""
    p = zipf(5, 2.0)
    steps = np.arange(0, 2001, 20)
    dims = {"dims": ("step", "task"), "coords": {"step": steps}}
    closed = xr.DataArray(resource_closed_form(p, 0.01, 5e-3, steps), **dims)
    parallel = xr.DataArray(1 - np.exp(-steps[:, None] / (30 * np.arange(1, 6)[None, :])), **dims)
    task_p = xr.DataArray(p, dims="task")
    assert float(collapse_spread(closed, task_p)) < 1e-6
    assert float(collapse_spread(parallel, task_p)) > 0.1
