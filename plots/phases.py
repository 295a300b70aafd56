"""Phase diagrams of a 2-D sweep, example curves per phase, P(unique) vs training fraction."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

PHASE_COLOURS = {"comprehension": "#2ca02c", "grokking": "#1f77b4", "memorization": "#ff7f0e",
                 "confusion": "#d62728"}


def axis_labels(values: np.ndarray) -> list[str]:
    return [f"{v:.3g}" for v in values]


def phase_diagram(fractions: xr.DataArray, lines: list[tuple[str, np.ndarray, np.ndarray]] = (),
                  title: str = "") -> Figure:
    """Majority phase per cell (colour) with the seed agreement written in it.

    fractions: dims (phase, x, y) — the fraction of seeds in each phase, x/y the two swept axes.
    lines: (label, start, end) segments in grid-index coordinates (e.g. fitted phase boundaries).
    """
    names = [str(n) for n in fractions["phase"].values]
    x, y = (d for d in fractions.dims if d != "phase")
    fractions = fractions.transpose("phase", x, y)
    majority = fractions.argmax("phase").values
    agreement = fractions.max("phase").values
    fig, ax = plt.subplots(figsize=(6.5, 5), constrained_layout=True)
    cmap = ListedColormap([PHASE_COLOURS[n] for n in names])
    ax.imshow(majority.T, origin="lower", cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5,
              aspect="auto", alpha=0.85)
    for (i, j), share in np.ndenumerate(agreement):
        ax.text(i, j, f"{share:.0%}" if share < 1 else "", ha="center", va="center", fontsize=7)
        if share < 1:
            ax.add_patch(plt.Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, hatch="//",
                                       edgecolor="white", lw=0))
    for label, start, end in lines:
        ax.plot([start[0], end[0]], [start[1], end[1]], "k--", lw=1.2)
        ax.annotate(label, (end[0], end[1]), fontsize=6, color="k")
    ax.set_xticks(range(fractions.sizes[x]), axis_labels(fractions[x].values), rotation=45)
    ax.set_yticks(range(fractions.sizes[y]), axis_labels(fractions[y].values))
    ax.set(xlabel=x, ylabel=y, xlim=(-0.5, fractions.sizes[x] - 0.5),
           ylim=(-0.5, fractions.sizes[y] - 0.5),
           title=title or "phase (majority over seeds; % = seed agreement when < 100 %)")
    ax.legend(handles=[Patch(color=PHASE_COLOURS[n], label=n) for n in names],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return fig


def phase_examples(examples: dict[str, xr.Dataset]) -> Figure:
    """train/test accuracy and RQI vs step of one member per phase (dict phase name → member)."""
    fig, axes = plt.subplots(1, max(len(examples), 1), figsize=(3.2 * max(len(examples), 1), 3),
                             constrained_layout=True, sharey=True, squeeze=False)
    for ax, (name, member) in zip(axes[0], examples.items(), strict=False):
        for var, style in (("train_acc", ":"), ("test_acc", "-"), ("rqi", "--")):
            ax.plot(member["step"], member[var], style, label=var)
        where = ", ".join(f"{d}={member[d].item():.3g}" for d in member.coords
                          if d not in ("step", "symbol", "repr_dim"))
        ax.set(title=f"{name}\n{where}", xlabel="step", ylim=(-0.02, 1.02))
        ax.title.set_fontsize(8)
    axes[0][0].set_ylabel("accuracy / RQI")
    axes[0][0].legend(fontsize=7)
    return fig


def unique_probability(fraction: xr.DataArray, r_c: float,
                       reference: xr.DataArray | None = None) -> Figure:
    """P(unique linear representation) vs training fraction (dim `train_fraction`), r_c marked."""
    fig, ax = plt.subplots(figsize=(5.5, 4), constrained_layout=True)
    ax.plot(fraction["train_fraction"], fraction, "o-", ms=3, label="measured")
    if reference is not None:
        ax.plot(reference["train_fraction"], reference, "kx", ms=6, label="paper (notebook counts)")
    ax.axhline(0.5, color="0.6", lw=0.8)
    if np.isfinite(r_c):
        ax.axvline(r_c, color="C3", ls="--", label=f"$r_c$ = {r_c:.3f}")
    ax.set(xlabel="training fraction n / N", ylabel="P(unique linear representation)",
           ylim=(-0.02, 1.02))
    ax.legend(fontsize=8)
    return fig
