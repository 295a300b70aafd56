"""circles-vs-p: Fourier truncation of an embedding, the loss of a cut embedding, the ln p trend,
and the tiny preset end to end."""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toymodels import ModularMLP
from toymodels.experiments.circles_vs_p import kept_metrics, log_slope, pair_metrics
from toymodels.experiments.cli import main
from toymodels.theory.circles import keep_frequencies, strongest

P, D = 13, 4


def wave(k: int, phase: float) -> np.ndarray:
    return np.cos(2 * np.pi * k * np.arange(P) / P + phase)


def hand_built() -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """E = 0.5 + Σ_k a_k cos(2πkn/p + φ_{k,j}) over k ∈ {2, 5, 6}, and each frequency's part."""
    parts = {k: np.stack([(k + j) * wave(k, 0.3 * j + k) for j in range(D)], axis=1) for k in (2, 5, 6)}
    return 0.5 + sum(parts.values()), parts


@settings(max_examples=20, deadline=None)
@given(st.sets(st.sampled_from([1, 2, 3, 4, 5, 6])))
def test_truncation_keeps_exactly_the_chosen_frequencies(keep):
    embedding, parts = hand_built()
    expected = 0.5 + sum((part for k, part in parts.items() if k in keep), np.zeros((P, D)))
    kept = keep_frequencies(embedding, keep)
    assert kept == pytest.approx(expected, abs=1e-12)
    spectrum = np.linalg.norm(np.fft.fft(kept, axis=0), axis=1)
    dropped = [k for k in range(1, P) if min(k, P - k) not in keep]
    assert spectrum[dropped] == pytest.approx(0, abs=1e-9)


def test_keeping_every_frequency_is_the_identity_and_none_leaves_the_mean():
    embedding = np.random.default_rng(0).normal(size=(2, P, D))   # batched over a leading axis
    assert keep_frequencies(embedding, range(1, P)) == pytest.approx(embedding, abs=1e-12)
    assert keep_frequencies(embedding, []) == pytest.approx(np.broadcast_to(embedding.mean(axis=1, keepdims=True),
                                                                            embedding.shape), abs=1e-12)


def test_strongest_orders_by_signal_and_ignores_padding():
    signal = np.array([9.0, 1.0, 5.0, 5.0, 7.0, 0.5, 2.0, np.nan, np.nan])
    assert strongest(signal, P, 3) == [4, 2, 3]       # k = 0 never counts; ties: lower k first
    assert strongest(signal, P, 10) == [4, 2, 3, 6, 1, 5]


def test_a_constant_embedding_gives_the_loss_of_one_logit_vector_for_every_pair():
    """With E cut to its mean, every pair sees the same logits z: over all p² pairs (each class p
    times) the loss is logsumexp(z) − mean(z) and the accuracy 1/p."""
    system = ModularMLP(p=P, d=D, width=8)
    params = system.init_params(jax.random.PRNGKey(3))
    constant = keep_frequencies(np.asarray(params["embedding"], np.float64), [])
    loss, acc = pair_metrics(system)(params, jnp.asarray(constant, jnp.float32))
    z = np.asarray(system.logits({**params, "embedding": jnp.asarray(constant, jnp.float32)})[0, 0], np.float64)
    assert float(loss) == pytest.approx(np.log(np.exp(z - z.max()).sum()) + z.max() - z.mean(), rel=1e-5)
    assert float(acc) == pytest.approx(1 / P)


def test_keeping_all_frequencies_gives_back_the_untouched_model():
    system = ModularMLP(p=P, d=D, width=8)
    params = system.init_params(jax.random.PRNGKey(1))
    signal = np.linalg.norm(np.fft.fft(np.asarray(params["embedding"]), axis=0), axis=1)[: P // 2 + 1]
    table = kept_metrics(system, params, signal, (P // 2, 0))
    assert table[0] == pytest.approx(table[1], rel=1e-5)


def test_the_trend_is_the_slope_in_ln_p():
    p = np.repeat([17, 23, 31, 43], 3)
    exact = log_slope(p, 2 + 1.5 * np.log(p))
    assert exact.value == pytest.approx(1.5) and exact.lo == pytest.approx(1.5) and exact.hi == pytest.approx(1.5)
    noisy = log_slope(p, 2 + 1.5 * np.log(p) + np.random.default_rng(0).normal(0, 0.3, len(p)))
    assert noisy.lo < noisy.value < noisy.hi and noisy.n == len(p)
    assert log_slope(np.full(4, 17), np.arange(4.0)).value is None   # one p: no slope


def test_tiny_preset_runs_end_to_end(tmp_path):
    assert main(["run", "circles-vs-p", "--preset", "tiny", "--out", str(tmp_path), "--quiet"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["circles_by_p"]) == {"13", "17"} and summary["frequencies"] == {"13": 6, "17": 8}
    collab = summary["collaboration"]
    assert collab["p"] == 17 and collab["kept"] == [1, 2, 3, 4] and collab["full_loss"]["n"] == 3
    assert all(math.isfinite(collab["loss"][str(m)]["value"]) for m in collab["kept"])
    assert summary["figures"] == ["circles_vs_p", "collaboration"]


def test_a_run_without_a_p_sweep_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "bad"
    assert main(["run", "circles-vs-p", "--preset", "tiny", "--set", "p=13", "--out", str(out)]) == 2
    assert "needs p swept" in capsys.readouterr().err
    assert not out.exists()
