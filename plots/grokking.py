"""Figures of the grokking studies: curves per training mode, RQI speed vs fraction, ℓ_eff flow overlay."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def mode_curves(modes: dict[str, xr.Dataset]) -> Figure:
    """Per mode (one column): train/test accuracy of every seed (top) and the weight norm (bottom).

    modes: name → Dataset with dims (seed, step) and `train_acc`, `test_acc`, `weight_norm`.
    """
    fig, axes = plt.subplots(2, len(modes), figsize=(4.2 * len(modes), 5.5), constrained_layout=True,
                             sharex=True, squeeze=False)
    for k, (name, ds) in enumerate(modes.items()):
        top, bottom = axes[0, k], axes[1, k]
        for s in range(ds.sizes["seed"]):
            member = ds.isel(seed=s)
            top.plot(member["step"], member["train_acc"], color="C0", lw=1, alpha=0.8,
                     label="train" if s == 0 else None)
            top.plot(member["step"], member["test_acc"], color="C3", lw=1, alpha=0.8,
                     label="test" if s == 0 else None)
            bottom.plot(member["step"], member["weight_norm"], color="k", lw=1, alpha=0.7)
        top.axhline(0.9, color="0.6", lw=0.6, ls=":")
        top.set(title=name, ylabel="accuracy", ylim=(-0.02, 1.02))
        bottom.set(xlabel="step", ylabel="‖θ‖₂")
        top.legend(fontsize=7)
    return fig


def rqi_speed(fractions: np.ndarray, steps: dict[str, np.ndarray], lam3: dict[str, np.ndarray],
              budget: int) -> Figure:
    """Steps until RQI > 0.95 vs training fraction (mean and seed range; never → B) next to λ₃."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9.5, 3.8), constrained_layout=True)
    mean, lo, hi = (np.array(steps[k], float) for k in ("mean", "lo", "hi"))
    left.errorbar(fractions, mean, yerr=[mean - lo, hi - mean], fmt="o-", ms=4, capsize=3)
    left.axhline(budget, color="0.6", ls=":", lw=0.8, label=f"budget B = {budget}")
    left.set(xlabel="training fraction", ylabel="steps until RQI > 0.95", yscale="log")
    left.legend(fontsize=7)
    right.errorbar(fractions, lam3["mean"], yerr=[np.subtract(lam3["mean"], lam3["lo"]),
                                                  np.subtract(lam3["hi"], lam3["mean"])],
                   fmt="s-", ms=4, capsize=3, color="C2")
    right.set(xlabel="training fraction", ylabel="λ₃ of A_Dᵀ A_D (training set)")
    return fig


def flow_overlay(network: xr.DataArray, flow: xr.DataArray, r2: np.ndarray, title: str = "") -> Figure:
    """Standardised E_k(t) of the network (solid) and of an ℓ_eff theory (dashed), per member.

    network, flow: dims (member, step, symbol); r2: (member,).
    """
    n = network.sizes["member"]
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.2), constrained_layout=True, squeeze=False)
    for m, ax in enumerate(axes[0]):
        for k in range(network.sizes["symbol"]):
            colour = plt.cm.viridis(k / max(network.sizes["symbol"] - 1, 1))
            ax.plot(network["step"], network.isel(member=m, symbol=k), color=colour, lw=1)
            ax.plot(flow["step"], flow.isel(member=m, symbol=k), color=colour, lw=1, ls="--")
        ax.set(title=f"{network['member'].values[m]}\nR² = {r2[m]:.2f}", xlabel="step")
        ax.title.set_fontsize(7)
    axes[0][0].set_ylabel("standardised E_k (solid: network, dashed: ℓ_eff theory)")
    fig.suptitle(title, fontsize=9)
    return fig


PHASE_COLOURS = {"comprehension": "tab:green", "grokking": "tab:orange", "memorization": "tab:blue",
                 "confusion": "tab:red"}


def phase_shares(cells: list[dict], x: str, y: str, n_seeds: int, title: str = "") -> Figure:
    """Per cell (one row, grouped by x): the share of seeds in each phase (stacked bar), the
    authors' phase (a marker in its colour, when given) and the share of seeds whose final
    representation is linear (black tick, RQI ≥ 0.95).

    cells: rows with x, y, `fractions` {phase: share}, `linear_share` and optionally `authors_phase`.
    """
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(cells) + 1.4), constrained_layout=True)
    labels = []
    for row, cell in enumerate(cells):
        left = 0.0
        for phase, colour in PHASE_COLOURS.items():
            share = cell["fractions"][phase]
            ax.barh(row, share, left=left, color=colour, height=0.8,
                    label=phase if row == 0 else None)
            left += share
        theirs = cell.get("authors_phase")
        if theirs is not None:
            ax.plot(1.04, row, "s", color=PHASE_COLOURS[theirs], ms=7, clip_on=False,
                    label="authors' phase" if row == 0 else None)
        ax.plot([cell["linear_share"]] * 2, [row - 0.4, row + 0.4], color="k", lw=2,
                label="share with final RQI ≥ 0.95" if row == 0 else None)
        labels.append(f"{x} {cell[x]:.3g}, {y} {cell[y]:g}")
    ax.set_yticks(range(len(cells)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.08), xlabel=f"share of the {n_seeds} seeds (independent inits per cell)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(cells), 1)), ncol=3)
    return fig
