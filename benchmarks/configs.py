"""The systems the benchmarks measure, in our engine and written the usual way in PyTorch.

Each entry of SYSTEMS is a frozen config giving a toymodels `system()` and the hyperparameters
`hparams()` (the same values drive both implementations), the matmul FLOPs of one member-step (for
achieved GFLOP/s), whether it is a "tiny" or the "compute-bound" system of the issue-8 targets, and
`torch_problem()`: the same model, loss, optimizer and batch in PyTorch. The modular FLOPs count the
engine's own work: it evaluates the whole p² table every step (train and test pairs), whereas the
PyTorch loop, written the usual way, evaluates only the train pairs (80 %) — the comparison favours
PyTorch slightly.
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TorchProblem:
    """One system the usual PyTorch way. `member()` builds a fresh network: an `nn.Module` whose
    `forward()` returns one step's training loss (data generation included), its per-member
    constants (task vectors, parity subsets) registered as buffers; `optimizer(params)` builds its
    optimizer. The ensemble rows stack members with `torch.func.stack_module_state` and take
    `vmap(grad(forward), randomness="different")`, so each member draws its own data."""

    member: Callable[[], Any]
    optimizer: Callable[[Any], Any]


@dataclass(frozen=True)
class ModularConfig:
    """Embedding-MLP on modular addition (`toymodels.ModularMLP`), full batch, AdamW."""

    p: int
    d: int
    width: int
    depth: int = 2
    lr: float = 0.01
    wd: float = 0.5
    compute_bound: bool = False

    def system(self):
        import toymodels as tm

        return tm.ModularMLP(p=self.p, d=self.d, width=self.width, depth=self.depth)

    def hparams(self) -> dict[str, float]:
        return {"lr": self.lr, "wd": self.wd}

    def flops_per_member_step(self) -> float:
        """3 × forward matmul FLOPs: 4·p·d·w (two (p, w) tables) + 2p²w²(depth−1) + 2p²·w·p."""
        p, d, w = self.p, self.d, self.width
        return 3.0 * (4 * p * d * w + 2 * p * p * w * w * (self.depth - 1) + 2 * p * p * w * p)

    def torch_problem(self) -> TorchProblem:
        """Gather E[a], E[b], concatenate, SiLU MLP, cross-entropy on the train pairs (one split
        shared by all members), AdamW."""
        import torch
        from torch import nn

        p, d, width, depth = self.p, self.d, self.width, self.depth
        pairs = torch.randperm(p * p)[: int(0.8 * p * p)]
        a, b = pairs // p, pairs % p
        y = (a + b) % p

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = nn.Parameter(torch.randn(p, d))
                layers = [nn.Linear(2 * d, width), nn.SiLU()]
                for _ in range(depth - 1):
                    layers += [nn.Linear(width, width), nn.SiLU()]
                self.mlp = nn.Sequential(*layers, nn.Linear(width, p))

            def forward(self):
                logits = self.mlp(torch.cat([self.embedding[a], self.embedding[b]], dim=1))
                return nn.functional.cross_entropy(logits, y)

        return TorchProblem(Net, lambda params: torch.optim.AdamW(params, lr=self.lr, weight_decay=self.wd))


@dataclass(frozen=True)
class GeometryConfig:
    """The Geometry model (`toymodels.skills.geometry.Geometry` defaults: ortho vectors, zipf
    frequencies, MSE, autograd gradient, full batch, SignGD = Adam with β = (0, 0))."""

    d: int = 1000
    n: int = 10
    lr: float = 3e-4
    alpha: float = 2.0
    noise: float = 0.0
    compute_bound: bool = False

    def system(self):
        from toymodels.skills.geometry import Geometry

        return Geometry(d=self.d, n=self.n)

    def hparams(self) -> dict[str, float]:
        return {"lr": self.lr, "alpha": self.alpha, "noise": self.noise}

    def flops_per_member_step(self) -> float:
        """4·n·d: s = U x forward and Uᵀ(2p(1 − s)) backward."""
        return 4.0 * self.n * self.d

    def torch_problem(self) -> TorchProblem:
        """x ∈ R^d (zeros) as the one parameter, loss Σ_i p_i (1 − u_i·x)² (+ σ ξ·x, whose gradient
        is the noise σ ξ, only when σ > 0 — the engine draws ξ even at σ = 0), p_i ∝ i^{−α},
        u = a Haar orthonormal n-frame per member (QR of a Gaussian, signs fixed), Adam β = (0, 0).
        The ensemble is the generic vmap(grad) over stacked x and u (one batched matvec each way)."""
        import torch
        from torch import nn

        d, n, noise = self.d, self.n, self.noise
        weights = torch.arange(1, n + 1, dtype=torch.float32) ** -self.alpha
        probs = weights / weights.sum()

        class Member(nn.Module):
            def __init__(self):
                super().__init__()
                self.x = nn.Parameter(torch.zeros(d))
                q, r = torch.linalg.qr(torch.randn(d, n))
                self.register_buffer("vectors", (q * torch.sign(torch.diagonal(r))).T)

            def forward(self):
                loss = probs @ (1.0 - self.vectors @ self.x) ** 2
                return loss + noise * (torch.randn(d) @ self.x) if noise else loss

        return TorchProblem(Member, lambda params: torch.optim.Adam(params, lr=self.lr, betas=(0.0, 0.0), eps=1e-8))


@dataclass(frozen=True)
class SparseParityConfig:
    """Multitask sparse parity, one-hidden-layer ReLU MLP (`toymodels.sparse_parity.
    SparseParityMLP`), online data (a fresh batch every step), Adam, cross-entropy on 2 logits."""

    n_tasks: int = 20
    n: int = 12
    k: int = 3
    width: int = 128
    batch: int = 500
    test_per_task: int = 200
    lr: float = 1e-3
    alpha: float = 0.4
    compute_bound: bool = False

    def system(self):
        from toymodels.sparse_parity import SparseParityMLP

        return SparseParityMLP(n_tasks=self.n_tasks, n=self.n, k=self.k, width=self.width,
                               batch=self.batch, test_per_task=self.test_per_task)

    def hparams(self) -> dict[str, float]:
        return {"lr": self.lr, "alpha": self.alpha}

    def flops_per_member_step(self) -> float:
        """3 × forward matmul FLOPs: 2·B·w·(n_tasks + n) + 2·B·w·2 = 6·B·w·(n_tasks + n + 2)."""
        return 6.0 * self.batch * self.width * (self.n_tasks + self.n + 2)

    def torch_problem(self) -> TorchProblem:
        """Each step: tasks ~ Multinomial(p), p_i ∝ (i+1)^{−(α+1)}, bits ~ U{0,1}^n, x = [one-hot ‖
        bits], y = parity of the task's k-subset (distinct random subsets per member), then
        Linear → ReLU → Linear(2), cross-entropy, Adam. The one-hot is a comparison with arange
        (`F.one_hot` checks its input's values, which `vmap` cannot do)."""
        import itertools

        import torch
        from torch import nn

        n_tasks, n, width, batch = self.n_tasks, self.n, self.width, self.batch
        weights = torch.arange(1, n_tasks + 1, dtype=torch.float32) ** -(self.alpha + 1.0)
        probs = weights / weights.sum()
        subsets = torch.tensor(list(itertools.combinations(range(n), self.k)))

        class Member(nn.Module):
            def __init__(self):
                super().__init__()
                self.mlp = nn.Sequential(nn.Linear(n_tasks + n, width), nn.ReLU(), nn.Linear(width, 2))
                self.register_buffer("subsets", subsets[torch.randperm(len(subsets))[:n_tasks]])

            def forward(self):
                tasks = torch.multinomial(probs, batch, replacement=True)
                bits = torch.randint(0, 2, (batch, n))
                x = torch.cat([(tasks[:, None] == torch.arange(n_tasks)).float(), bits.float()], dim=1)
                y = bits.gather(1, self.subsets[tasks]).sum(dim=1) % 2
                return nn.functional.cross_entropy(self.mlp(x), y)

        return TorchProblem(Member, lambda params: torch.optim.Adam(params, lr=self.lr, betas=(0.9, 0.999), eps=1e-8))


SYSTEMS = {
    "modular-tiny": ModularConfig(p=23, d=32, width=64),
    "modular-default": ModularConfig(p=59, d=128, width=100, compute_bound=True),
    "geometry": GeometryConfig(),
    "sparse-parity": SparseParityConfig(),
}


def sizes_for(name: str, sizes: tuple[int, ...], kind: str = "engine") -> tuple[int, ...]:
    """The N of `sizes` measured for `kind`; torch.func ensembles of the compute-bound system
    stop at 64 (3.3 GB RSS at N = 64; N = 1024 would need ≈ 50 GB, more than this machine)."""
    if kind == "torch-ensemble" and SYSTEMS[name].compute_bound:
        return tuple(n for n in sizes if n <= 64)
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
    """Training member-steps/s of `members` members in one program: the difference of two runs of
    k and 2k steps (one chunk each, k calibrated to ≈ `seconds`), so that the observation of a
    chunk — which the PyTorch loops do not do — and the host work between chunks cancel out."""
    import jax

    import toymodels as tm

    config = SYSTEMS[name]
    system = config.system()
    hparams = {**system.hparams(), **config.hparams()}

    def timed(steps: int) -> dict:
        spec = tm.Spec(system, hparams, seeds=members, steps=steps, log_every=steps)
        return json.loads(tm.run(spec, quiet=True).attrs["timings"])

    probe = timed(2)
    steps = max(4, int(seconds * probe["member_steps_per_second"] / members))
    short, got = timed(steps), timed(2 * steps)
    extra = got["train_seconds"] - short["train_seconds"]
    rate = members * steps / extra if extra > 0 else got["member_steps_per_second"]
    state = jax.eval_shape(system.init, jax.random.PRNGKey(0),
                           {k: np.float32(v) for k, v in hparams.items()})
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


def torch_rate(name: str, members: int, seconds: float, threads: int, ensemble: bool) -> dict:
    """Member-steps/s of the per-member loop (members = 1) or a torch.func ensemble of `members`."""
    import copy

    import torch
    from torch.func import functional_call, grad, stack_module_state, vmap

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    problem = SYSTEMS[name].torch_problem()
    if not ensemble:
        net = problem.member()
        opt = problem.optimizer(net.parameters())

        def step():
            opt.zero_grad()
            net().backward()
            opt.step()
    else:
        nets = [problem.member() for _ in range(members)]
        params, buffers = stack_module_state(nets)
        base = copy.deepcopy(nets[0]).to("meta")
        grads_of = vmap(grad(lambda p, b: functional_call(base, (p, b), ())), randomness="different")
        opt = problem.optimizer(list(params.values()))

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


@dataclass(frozen=True)
class Targets:
    """The issue-8 targets for one kind of system (on the 2-core CPU)."""

    speedup: float                       # × the best PyTorch per-member loop, engine at its best N
    batching: float                      # per-member throughput at N = 1024 vs N = 1
    peak_fraction: float | None = None   # of the measured peak matmul GFLOP/s, engine at its best N
    compile_seconds: float = 20.0        # per static config


TARGETS = {"tiny": Targets(speedup=10, batching=3),
           "compute-bound": Targets(speedup=2, batching=1, peak_fraction=0.6)}


def kind_of(config: Any) -> str:
    return "compute-bound" if config.compute_bound else "tiny"


def targets_line(targets: Targets, engine: dict[int, list[dict]], base: float | None, best_loop: float | None,
                 peak: float) -> str:
    """`targets: …`: the engine's measured ratios against `targets`, each marked met/missed
    (batching gain against `base`, the best N = 1 rate of the engine on one or all devices)."""
    rates = {n: median(rows, "rate") for n, rows in engine.items() if median(rows, "rate")}
    if not rates:
        return "targets: no engine rows measured."

    def verdict(text: str, ok: bool) -> str:
        return f"{text} — {'met' if ok else 'missed'}"

    best, largest = max(rates, key=rates.get), max(rates)
    checks = []
    if best_loop:
        speedup = rates[best] / best_loop
        checks.append(verdict(f"{speedup:.1f}× best PyTorch loop at N = {best} (≥ {targets.speedup:g}×)",
                              speedup >= targets.speedup))
    if base and largest > 1:
        gain = rates[largest] / base
        checks.append(verdict(f"batching gain N = {largest} vs N = 1: {gain:.2f} (≥ {targets.batching:g})",
                              gain >= targets.batching))
    if targets.peak_fraction is not None:
        fraction = median(engine[best], "gflops") / peak
        checks.append(verdict(f"{100 * fraction:.0f} % of peak at N = {best} (≥ {100 * targets.peak_fraction:.0f} %)",
                              fraction >= targets.peak_fraction))
    compile_s = max(median(rows, "compile_seconds") or 0.0 for rows in engine.values())
    checks.append(verdict(f"compile ≤ {compile_s:.1f} s (≤ {targets.compile_seconds:g} s)",
                          compile_s <= targets.compile_seconds))
    return "targets: " + "; ".join(checks) + "."


def write_report(results: dict, peak: float, machine: str, seconds: float, docs: Path, extra: str = "") -> str:
    """Rewrite docs/benchmarks.md (generated section, up to `<!-- notes -->`) and
    docs/figures/benchmarks-throughput.png from `results` {(kind, system, N, threads): [row, …]}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [
        "# Benchmarks",
        "",
        "Generated by `python benchmarks/suite.py` (do not edit by hand; the notes below `<!-- notes -->`",
        "are kept across regenerations). Medians of interleaved repetitions, each in a fresh process.",
        "",
        f"Machine: {machine}. Peak float32 matmul (JAX, 2048²): **{peak:.1f} GFLOP/s**. "
        f"Suite wall time {seconds / 60:.1f} min.",
        "",
    ]
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    names = [name for name in SYSTEMS if any(key[1] == name for key in results)]
    for color, name in enumerate(names):
        config = SYSTEMS[name]
        mine = {k: v for k, v in results.items() if k[1] == name}
        engine_rows = {k[2]: v for k, v in mine.items() if k[0] == "engine" and v}
        engine = {n: median(v, "rate") for n, v in engine_rows.items()}
        loops = [median(v, "rate") for k, v in mine.items() if k[0] == "torch-loop" and v]
        best_loop = max((x for x in loops if x), default=None)
        singles = [median(v, "rate") for k, v in mine.items() if k[0].startswith("engine") and k[2] == 1 and v]
        base = max((x for x in singles if x), default=None)
        lines += [f"## {name} ({kind_of(config)}): {config}", "",
                  "| implementation | N | threads / devices | member-steps/s | per-member gain vs best N=1 "
                  "| × best PyTorch loop | GFLOP/s (% of peak) | compile s | peak RSS MB | state bytes/member |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for (kind, _, n, threads), rows in mine.items():
            rate = median(rows, "rate")
            if rate is None:
                continue
            gain = f"{rate / base:.2f}" if kind.startswith("engine") and base else ""
            where = {"engine": "1 per core", "engine-1-device": "1 device"}.get(kind, threads or "default")
            vs = f"{rate / best_loop:.1f}" if best_loop else ""
            gflops = median(rows, "gflops")
            flops = f"{gflops:.1f} ({100 * gflops / peak:.0f} %)" if gflops else ""
            compile_s = median(rows, "compile_seconds")
            state = rows[0].get("state_bytes_per_member", "")
            lines.append(f"| {kind} | {n} | {where} | {rate:,.0f} | {gain} | {vs} | {flops} | "
                         f"{'' if compile_s is None else f'{compile_s:.1f}'} | {median(rows, 'peak_rss_mb'):.0f} "
                         f"| {state} |")
        lines += ["", targets_line(TARGETS[kind_of(config)], engine_rows, base, best_loop, peak), ""]
        style = {"color": f"C{color}"}
        if engine:
            ns = sorted(engine)
            ax.plot(ns, [engine[n] for n in ns], "o-", label=f"toymodels engine, {name}", **style)
        ens = {k[2]: median(v, "rate") for k, v in mine.items() if k[0] == "torch-ensemble" and v}
        if ens:
            ns = sorted(ens)
            ax.plot(ns, [ens[n] for n in ns], "s--", label=f"torch.func ensemble, {name}", **style)
        if best_loop:
            ax.axhline(best_loop, ls=":", label=f"best PyTorch per-member loop, {name}", **style)
    ax.set(xscale="log", yscale="log", xlabel="members N", ylabel="member-steps / s")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    (docs / "figures").mkdir(parents=True, exist_ok=True)
    fig.savefig(docs / "figures" / "benchmarks-throughput.png", dpi=120)
    lines += ["![member-steps/s vs N](figures/benchmarks-throughput.png)", "", extra]
    text = "\n".join(lines)
    path = docs / "benchmarks.md"
    notes = path.read_text().split("<!-- notes -->", 1)[1] if path.exists() and "<!-- notes -->" in \
        path.read_text() else "\n"
    path.write_text(text + "\n<!-- notes -->" + notes)
    return text
