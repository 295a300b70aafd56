"""Per-frequency signal at initialisation and the `circle-survival` experiment end to end."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ModularMLP
from toymodels.experiments.circle_survival import auc
from toymodels.experiments.cli import main
from toymodels.modular_mlp import frequency_signal


@pytest.mark.parametrize(("d", "init_scale"), [(32, 1.0), (16, 0.5)])
def test_initial_signal_is_sqrt_p_d_in_expectation(d, init_scale):
    """E ~ N(0, s²) ⇒ E[S_k(0)²] = p·d·s² for every k."""
    system = ModularMLP(p=31, d=d, width=8)
    hp = {
        k: jnp.asarray(v, jnp.float32)
        for k, v in {**system.hparams(), "init_scale": init_scale}.items()
    }
    keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(40))
    signal = jax.vmap(lambda k: frequency_signal(system.init(k, hp).params["embedding"]))(keys)
    assert float(jnp.mean(signal[:, 1:] ** 2)) == pytest.approx(31 * d * init_scale**2, rel=0.08)


@settings(max_examples=25, deadline=None)
@given(
    xs=st.lists(st.floats(-5, 5), min_size=1, max_size=20),
    ys=st.lists(st.floats(-5, 5), min_size=1, max_size=20),
    shift=st.floats(11, 20),
)
def test_auc_is_a_probability_that_is_symmetric_and_saturates(xs, ys, shift):
    x, y = np.array(xs), np.array(ys)
    assert auc(x, y) + auc(y, x) == pytest.approx(1.0)
    assert auc(x + shift, y) == 1.0


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("circles") / "run"
    assert main(["run", "circle-survival", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.slow  # four compiled programs (2 d values × main and early run): ~1 min of CPU
def test_tiny_preset_reports_circles_per_d(tiny_run):
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert set(summary["circles_per_d"]) == {"4", "16"}
    for stats in summary["circles_per_d"].values():
        assert stats["n"] == 2 and 0 <= stats["min"] <= stats["mean"] <= stats["max"] <= 11
    for d, expected in summary["init_signal_expected"].items():
        assert expected == pytest.approx(np.sqrt(23 * int(d)))
        assert summary["init_signal_measured"][d] == pytest.approx(expected, rel=0.15)
    survival = summary["survival"]
    assert survival["survivors"]["n"] + survival["casualties"]["n"] == 2 * 2 * 11
    assert survival["survivors"]["n"] == sum(r["circles"] for r in summary["members"])
    for name in (
        "circles_vs_d.png",
        "signal_d_smallest.png",
        "signal_d_largest.png",
        "survival_fitness.png",
    ):
        assert (tiny_run / name).exists()
