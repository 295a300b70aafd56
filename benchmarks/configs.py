"""The systems the benchmarks measure, in our engine and written the usual way in PyTorch.

Each entry of SYSTEMS gives a `Spec` factory for the engine, the matmul FLOPs of one member-step
(for achieved GFLOP/s) and a PyTorch builder. FLOPs count the engine's own work: it evaluates
the whole p² table every step (train and test pairs), whereas the PyTorch loop below, written the
usual way, evaluates only the train pairs (80 %) — the comparison favours PyTorch slightly.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ModularConfig:
    p: int
    d: int
    width: int
    depth: int = 2

    def system(self):
        import toymodels as tm

        return tm.ModularMLP(p=self.p, d=self.d, width=self.width, depth=self.depth)

    def flops_per_member_step(self) -> float:
        """3 × forward matmul FLOPs: 4·p·d·w (two (p, w) tables) + 2p²w²(depth−1) + 2p²·w·p."""
        p, d, w = self.p, self.d, self.width
        return 3.0 * (4 * p * d * w + 2 * p * p * w * w * (self.depth - 1) + 2 * p * p * w * p)


SYSTEMS = {
    "modular-tiny": ModularConfig(p=23, d=32, width=64),
    "modular-default": ModularConfig(p=59, d=128, width=100),
}


def sizes_for(name: str, sizes: tuple[int, ...]) -> tuple[int, ...]:
    return sizes


# --- JAX ------------------------------------------------------------------------------------------
def peak_matmul_gflops(n: int = 2048, repeats: int = 10) -> dict:
    """Median float32 GFLOP/s of an n×n matmul in JAX on this machine."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f(a).block_until_ready()
        times.append(time.perf_counter() - t)
    return {"gflops": 2 * n**3 / statistics.median(times) / 1e9}


def engine_rate(name: str, members: int, seconds: float) -> dict:
    """Member-steps/s of `members` members in one program, steps calibrated to ≈ `seconds`."""
    import jax

    import toymodels as tm

    config = SYSTEMS[name]
    system = config.system()

    def timed(steps: int) -> dict:
        spec = tm.Spec(system, system.hparams(), seeds=members, steps=steps, log_every=steps)
        return json.loads(tm.run(spec, quiet=True).attrs["timings"])

    probe = timed(2)
    steps = max(2, int(seconds * probe["member_steps_per_second"] / members))
    got = timed(steps)
    state = jax.eval_shape(system.init, jax.random.PRNGKey(0),
                           {k: np.float32(v) for k, v in system.hparams().items()})
    rate = got["member_steps_per_second"]
    return {
        "rate": rate,
        "steps": steps,
        "compile_seconds": got["compile_seconds"],
        "gflops": rate * config.flops_per_member_step() / 1e9,
        "state_bytes_per_member": int(sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state))),
    }


# --- PyTorch --------------------------------------------------------------------------------------
def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def torch_version() -> str | None:
    if not torch_available():
        return None
    import torch

    return torch.__version__


def torch_modular(config: ModularConfig):
    """The embedding-MLP the usual PyTorch way: gather E[a], E[b], concatenate, MLP, AdamW."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Parameter(torch.randn(config.p, config.d))
            layers = [nn.Linear(2 * config.d, config.width), nn.SiLU()]
            for _ in range(config.depth - 1):
                layers += [nn.Linear(config.width, config.width), nn.SiLU()]
            self.mlp = nn.Sequential(*layers, nn.Linear(config.width, config.p))

        def forward(self, a, b):
            return self.mlp(torch.cat([self.embedding[a], self.embedding[b]], dim=1))

    pairs = torch.randperm(config.p * config.p)[: int(0.8 * config.p * config.p)]
    a, b = pairs // config.p, pairs % config.p
    return Net, (a, b, (a + b) % config.p)


def torch_rate(name: str, members: int, seconds: float, threads: int, ensemble: bool) -> dict:
    """Member-steps/s of the per-member loop (members = 1) or a torch.func ensemble of `members`."""
    import copy

    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    Net, (a, b, y) = torch_modular(SYSTEMS[name])
    loss_fn = torch.nn.functional.cross_entropy
    if not ensemble:
        net = Net()
        opt = torch.optim.AdamW(net.parameters(), lr=0.01, weight_decay=0.5)

        def step():
            opt.zero_grad()
            loss_fn(net(a, b), y).backward()
            opt.step()
    else:
        nets = [Net() for _ in range(members)]
        params, buffers = stack_module_state(nets)
        base = copy.deepcopy(nets[0]).to("meta")

        def member_loss(p, bufs):
            return loss_fn(functional_call(base, (p, bufs), (a, b)), y)

        grads_of = vmap(grad(member_loss))
        leaves = list(params.values())
        opt = torch.optim.AdamW(leaves, lr=0.01, weight_decay=0.5)

        def step():
            grads = grads_of(params, buffers)
            for key, leaf in params.items():
                leaf.grad = grads[key]
            opt.step()

    for _ in range(3):
        step()
    t = time.perf_counter()
    step()
    per_step = max(time.perf_counter() - t, 1e-6)
    steps = max(3, int(seconds / per_step))
    t = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - t
    return {"rate": members * steps / elapsed, "steps": steps, "threads": torch.get_num_threads()}


# --- report ---------------------------------------------------------------------------------------
def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def write_report(results: dict, peak: float, machine: str, seconds: float, docs: Path) -> str:
    """Rewrite docs/benchmarks.md (generated section) and docs/figures/benchmarks-throughput.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/suite.py` (do not edit by hand; notes below the table are kept",
        "in `benchmarks/configs.py`). Medians of interleaved repetitions, each in a fresh process.",
        "",
        f"Machine: {machine}. Peak float32 matmul (JAX, 2048²): **{peak:.1f} GFLOP/s**. "
        f"Suite wall time {seconds / 60:.1f} min.",
        "",
    ]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    for name in SYSTEMS:
        mine = {k: v for k, v in results.items() if k[1] == name}
        engine = {k[2]: median(v, "rate") for k, v in mine.items() if k[0] == "engine" and v}
        loops = [median(v, "rate") for k, v in mine.items() if k[0] == "torch-loop" and v]
        best_loop = max((x for x in loops if x), default=None)
        base = engine.get(1)
        lines += [f"## {name}: {SYSTEMS[name]}", "",
                  "| implementation | N | threads | member-steps/s | per-member gain vs N=1 | × best PyTorch loop "
                  "| GFLOP/s (% of peak) | compile s | peak RSS MB | state bytes/member |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for (kind, _, n, threads), rows in mine.items():
            rate = median(rows, "rate")
            if rate is None:
                continue
            gain = f"{rate / base:.2f}" if kind == "engine" and base else ""
            vs = f"{rate / best_loop:.1f}" if best_loop else ""
            gflops = median(rows, "gflops")
            flops = f"{gflops:.1f} ({100 * gflops / peak:.0f} %)" if gflops else ""
            compile_s = median(rows, "compile_seconds")
            state = rows[0].get("state_bytes_per_member", "")
            lines.append(f"| {kind} | {n} | {threads or 'default'} | {rate:,.0f} | {gain} | {vs} | {flops} | "
                         f"{'' if compile_s is None else f'{compile_s:.1f}'} | {median(rows, 'peak_rss_mb'):.0f} "
                         f"| {state} |")
        lines.append("")
        if engine:
            ns = sorted(engine)
            ax.plot(ns, [engine[n] for n in ns], "o-", label=f"toymodels engine, {name}")
        ens = {k[2]: median(v, "rate") for k, v in mine.items() if k[0] == "torch-ensemble" and v}
        if ens:
            ns = sorted(ens)
            ax.plot(ns, [ens[n] for n in ns], "s--", label=f"torch.func ensemble, {name}")
        if best_loop:
            ax.axhline(best_loop, ls=":", color=ax.lines[-1].get_color() if ax.lines else "k",
                       label=f"best PyTorch per-member loop, {name}")
    ax.set(xscale="log", yscale="log", xlabel="members N", ylabel="member-steps / s")
    ax.legend(fontsize=7)
    (docs / "figures").mkdir(parents=True, exist_ok=True)
    fig.savefig(docs / "figures" / "benchmarks-throughput.png", dpi=120)
    lines += ["![member-steps/s vs N](figures/benchmarks-throughput.png)", ""]
    text = "\n".join(lines)
    path = docs / "benchmarks.md"
    notes = path.read_text().split("<!-- notes -->", 1)[1] if path.exists() and "<!-- notes -->" in \
        path.read_text() else "\n"
    path.write_text(text + "\n<!-- notes -->" + notes)
    return text
