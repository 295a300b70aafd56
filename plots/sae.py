"""Sparse autoencoders on toy data: recovery and the sparsity–reconstruction trade-off over L1 (`sae-toy`);
Pareto fronts and metrics at matched L0 of the SAE variants (`sae-suite`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def tradeoff_figure(mean: xr.Dataset) -> Figure:
    """MMCS and MCC vs L1, dead latents vs L1, and MSE vs L0 (the frontier), one colour per dictionary ratio."""
    fig, (ax_rec, ax_dead, ax_front) = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    ratios = mean["dict_ratio"].values
    for colour, r in zip(plt.cm.viridis(np.linspace(0, 0.85, len(ratios))), ratios, strict=True):
        at = mean.sel(dict_ratio=r)
        ax_rec.plot(at["l1"], at["mmcs"], "o-", color=colour, label=f"M/N = {r:g} (MMCS)")
        ax_rec.plot(at["l1"], at["mcc"], "s--", color=colour, alpha=0.6, label=f"M/N = {r:g} (MCC)")
        ax_dead.plot(at["l1"], at["dead"], "o-", color=colour, label=f"M/N = {r:g}")
        ax_front.plot(at["l0"], at["mse"], "o-", color=colour, label=f"M/N = {r:g}")
    ax_rec.axhline(0.9, color="grey", lw=0.8, ls=":")
    ax_rec.set(xscale="log", xlabel="L1 coefficient", ylabel="recovery", title="feature recovery (mean over seeds)")
    ax_dead.set(xscale="log", xlabel="L1 coefficient", ylabel="fraction of dead latents", title="dead latents")
    ax_front.set(xlabel="L0 (active latents per sample)", ylabel="reconstruction MSE", yscale="log",
                 title="sparsity vs reconstruction")
    ax_rec.legend(fontsize=6, ncol=2)
    ax_front.legend(fontsize=7)
    return fig


COLOURS = {"relu": "tab:blue", "topk": "tab:orange", "jumprelu": "tab:green", "switch": "tab:red"}


def pareto_fronts(l0_front: dict[str, list[dict]], flops_front: dict[str, list[dict]], l0_target: float) -> Figure:
    """Reconstruction MSE vs L0 per variant (base width, over the sparsity knob) and vs FLOPs per token
    (TopK over widths and Switch, at k*); seed means."""
    fig, (ax_l0, ax_flops) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for name, rows in l0_front.items():
        ax_l0.plot([r["l0"] for r in rows], [r["mse"] for r in rows], "o-", color=COLOURS.get(name), label=name)
    ax_l0.axvline(l0_target, color="grey", lw=0.8, ls=":", label="matched L0")
    for name, rows in flops_front.items():
        ax_flops.plot([r["flops"] for r in rows], [r["mse"] for r in rows], "o-", color=COLOURS.get(name),
                      label=f"{name} (k*)")
        for r in rows:
            ax_flops.annotate(f"M={r['width']:g}", (r["flops"], r["mse"]), fontsize=6)
    ax_l0.set(xscale="log", yscale="log", xlabel="L0 (active latents per sample)", ylabel="reconstruction MSE",
              title="reconstruction vs sparsity")
    ax_flops.set(xscale="log", yscale="log", xlabel="multiply-adds per token", ylabel="reconstruction MSE",
                 title="reconstruction vs FLOPs")
    ax_l0.legend(fontsize=7)
    ax_flops.legend(fontsize=7)
    return fig


def metric_bars(at_matched: dict[str, dict[str, dict | object]], l0_target: float) -> Figure:
    """One panel per metric: each variant's value at the matched L0 with its 95 % interval over seeds."""
    names = ["explained_variance", "mcc", "mmcs", "dead", "shrinkage", "absorption", "dark_matter"]
    fig, axes = plt.subplots(1, len(names), figsize=(2.2 * len(names), 3.2), constrained_layout=True)
    variants = list(at_matched)
    for ax, metric in zip(axes, names, strict=True):
        for i, variant in enumerate(variants):
            e = at_matched[variant][metric]
            value, lo, hi = (getattr(e, k, None) for k in ("value", "lo", "hi"))
            if value is None:
                continue
            err = [[value - lo], [hi - value]] if lo is not None and hi is not None else None
            ax.bar(i, value, color=COLOURS.get(variant), yerr=err, capsize=3)
        ax.set_xticks(range(len(variants)), variants, rotation=60, fontsize=7)
        ax.set_title(metric, fontsize=8)
    fig.suptitle(f"metrics at matched L0 = {l0_target:.2f} (mean over seeds, 95 % interval)", fontsize=9)
    return fig
