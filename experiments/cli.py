"""The `toymodels` command line: list, run, report, reproduce.

Bad input gets one line on stderr and exit status 2; nothing is written before the input is
known to be good. Re-running an interrupted `run` with the same arguments resumes it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from toymodels.experiments.catalog import catalog
from toymodels.spec import ConfigError, Spec, require

PRESETS = ("tiny", "default", "paper")
SUMMARY = "summary.json"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="toymodels", description="Train populations of toy models and report on them.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    commands.add_parser("list", help="list the experiments and their presets")
    commands.add_parser("tasks", help="list the registered tasks (toymodels.tasks.make names) and their settings")
    keys = commands.add_parser("keys", help="list an experiment's settable keys with their values and types")
    keys.add_argument("name")
    keys.add_argument("--preset", default="default", help="whose values to show (default: default)")
    run = commands.add_parser("run", help="run an experiment (resumes an interrupted run in --out)")
    run.add_argument("name")
    run.add_argument("--preset", default="default", help=f"one of {', '.join(PRESETS)} (default: default)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a setting")
    run.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...", help="sweep a setting")
    run.add_argument("--tie", action="append", default=[], metavar="K1,K2=A1:A2,B1:B2,...",
                     help="sweep keys together (one member per row), e.g. optimizer,lr=adam:0.01,sgd:0.1")
    run.add_argument("--seeds", type=int, help="number of seeds (0..N-1)")
    run.add_argument("--out", help="run folder (default: runs/NAME-PRESET-<hash of the settings>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--checkpoint-seconds", type=float, default=10.0,
                     help="save the training state at most this often (default: 10)")
    run.add_argument("--plan", action="store_true",
                     help="print the static points, members, bytes and FLOPs from abstract evaluation; do not train")
    run.add_argument("--shard", metavar="I/N", help="train shard I of N of the sweep's static points only "
                     "(merge the finished shards with `toymodels merge DIR`)")
    run.add_argument("--shards", type=int, metavar="N", help="with --launcher: submit N shards as one job array")
    run.add_argument("--launcher", choices=("slurm", "local"), help="run the --shards as a submitit job array")
    run.add_argument("--partition", help="Slurm partition (--launcher slurm)")
    run.add_argument("--time-min", type=int, default=60, help="job time limit in minutes (default: 60)")
    run.add_argument("--gpus-per-task", type=int, default=0, help="GPUs per shard (default: 0)")
    run.add_argument("--parallelism", type=int, default=16, help="array tasks running at once (default: 16)")
    run.add_argument("--no-wait", action="store_true", help="return after submitting (merge later)")
    run.add_argument("--compile", action="store_true",
                     help="with --plan: also compile each static point for its scratch memory and an estimated time")
    merge = commands.add_parser("merge", help="merge the finished shards of a sharded run and report on it")
    merge.add_argument("dir")
    report = commands.add_parser("report", help="redo the figures and summary.json of a finished run")
    report.add_argument("dir")
    report.add_argument("--phase", metavar="X,Y", help="draw the phase map and heatmaps over these two swept axes")
    report.add_argument("--metric", help="draw the heatmap of this per-member quantity only")
    report.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE",
                        help="hold a further swept axis at one value (else: small multiples)")
    reproduce = commands.add_parser("reproduce", help="run every claim's preset and write the reproduction ledger")
    reproduce.add_argument("--out", default="runs/reproduce", help="run folders (finished runs are reused)")
    reproduce.add_argument("--only", help="comma-separated experiment names (default: all with claims)")
    reproduce.add_argument("--ledger", default="docs/reproductions.md", help="where to write the page")
    reproduce.add_argument("--quiet", action="store_true", help="no progress bar")
    reproduce.add_argument("--allow-dirty", action="store_true",
                           help="write the page even with uncommitted changes (its commit then says +dirty)")
    fit = commands.add_parser("fit", help="fit an ODE to an observable of a finished run (writes fit-VAR-MODEL.*)")
    fit.add_argument("dir")
    fit.add_argument("--var", required=True, help="the observable (a variable of results.zarr with a step dim)")
    fit.add_argument("--model", required=True, help="linear, glv or mean-field")
    fit.add_argument("--fit-fraction", type=float, default=0.2, help="fit the first F of the steps (default: 0.2)")
    fit.add_argument("--share", default="", metavar="DIM[,DIM]",
                     help="fit ONE parameter set shared over these member dims (e.g. seed)")
    fit.add_argument("--holdout", type=float, default=None, metavar="H",
                     help="with --share: hold the fraction H in (0, 1) of the shared members out of the fit")
    return parser


def split_assignment(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ConfigError(f"{flag} expects KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def given_once(flags: dict[str, list[str]]) -> None:
    """Refuse a key named twice (by --set, --sweep or --tie): which value would apply is ambiguous."""
    seen: dict[str, str] = {}
    for flag, keys in flags.items():
        for key in keys:
            if key in seen:
                raise ConfigError(f"{key} is given by {seen[key]} and by {flag}; give it once")
            seen[key] = flag


def build_spec(args: argparse.Namespace) -> Spec:
    from toymodels.experiments import get

    experiment = get(args.name)
    spec = experiment.spec(args.preset)
    sets = [split_assignment(text, "--set") for text in args.set]
    sweeps = [split_assignment(text, "--sweep") for text in args.sweep]
    ties = [split_assignment(text, "--tie") for text in args.tie]
    ties = [([k.strip() for k in keys.split(",")], [[x.strip() for x in row.split(":")] for row in rows.split(",")])
            for keys, rows in ties]
    given_once({"--set": [k for k, _ in sets], "--sweep": [k for k, _ in sweeps],
                "--tie": [k for keys, _ in ties for k in keys]})
    if {"log_every", "log_steps"} <= {k for k, _ in sets}:
        raise ConfigError("give log_every (every k steps) or log_steps (a list), not both")
    for key, value in sorted(sets, key=lambda kv: kv[0] == "log_steps"):  # geometric:N needs the final steps
        spec = spec.set(key, value)
    for key, values in sweeps:
        spec = spec.with_sweep(key, [v.strip() for v in values.split(",")])
    for keys, rows in ties:
        spec = spec.with_tied(keys, rows)
    if args.seeds is not None:
        spec = spec.set("seeds", args.seeds)
    if args.compile and not args.plan:
        raise ConfigError("--compile goes with --plan")
    if args.shard and (args.shards or args.launcher):
        raise ConfigError("give --shard I/N (one shard here) or --shards N --launcher (all of them), not both")
    if bool(args.shards) != bool(args.launcher):
        raise ConfigError("--shards N and --launcher go together")
    if (args.shard or args.shards) and experiment.train is not None:
        raise ConfigError(f"{args.name} trains several engine runs of its own; it cannot be sharded")
    if args.checkpoint_seconds < 0:
        raise ConfigError(f"--checkpoint-seconds must be >= 0, got {args.checkpoint_seconds}")
    experiment.check(spec.validate())
    return spec


def command_run(args: argparse.Namespace) -> None:
    from toymodels.experiments import get, run_and_report

    spec = build_spec(args)
    if args.plan:
        from toymodels.planning import format_plan, memory_plan, time_plan

        runs = get(args.name).runs(spec, args.preset)
        require(len(runs) > 0, f"{args.name} with these settings trains nothing: nothing to plan")
        for part, run in runs.items():
            print(f"plan of {args.name} --preset {args.preset}" + (f", part {part}" if part else ""))
            plan = memory_plan(run, timed=args.compile, compile=args.compile)
            print(format_plan(run, plan, time_plan(run, plan) if args.compile else None))
        return
    metadata = {"experiment": args.name, "preset": args.preset}
    if args.out is None:
        digest = hashlib.sha256(json.dumps({**metadata, **spec.to_dict()}, sort_keys=True).encode())
        out = Path("runs") / f"{args.name}-{args.preset}-{digest.hexdigest()[:8]}"
    else:
        out = Path(args.out)
    from toymodels.planning import check_fits, trained

    for run in get(args.name).runs(spec, args.preset).values():
        if all(trained(system) for _, system in run.systems()):
            check_fits(run)
    if args.shard or args.shards:
        run_shards(args, spec, out, metadata)
        return
    run_and_report(args.name, args.preset, spec, out, quiet=args.quiet, checkpoint_seconds=args.checkpoint_seconds)
    print(f"results: {out}/{'results.zarr'}  summary: {out}/{SUMMARY}  figures: "
          + ", ".join(str(p.name) for p in sorted(out.glob("*.png"))))


def run_shards(args: argparse.Namespace, spec: Spec, out: Path, metadata: dict) -> None:
    """--shard I/N: train one shard here; --shards N --launcher: submit all, wait, merge."""
    from toymodels import engine
    from toymodels.experiments.shards import Launcher, launch, parse_shard

    if args.shard:
        index, count = parse_shard(args.shard)
        points = engine.run_shard(spec, out, index, count, quiet=args.quiet,
                                  checkpoint_seconds=args.checkpoint_seconds, metadata=metadata)
        print(f"shard {index}/{count} of {out}: trained static points {', '.join(map(str, points))}; "
              f"when every shard has finished: toymodels merge {out}")
        return
    engine.check_shards(spec, 0, args.shards)
    launcher = Launcher(args.launcher, args.partition, args.time_min, args.gpus_per_task, args.parallelism)
    failed = launch(spec, out, args.shards, launcher, metadata, wait=not args.no_wait,
                    checkpoint_seconds=args.checkpoint_seconds)
    require(not failed, f"shards {', '.join(f'{i}/{args.shards}' for i in failed)} failed twice; "
                        f"see {out}/jobs; re-run this command to resume them")
    if args.no_wait:
        print(f"submitted {args.shards} shards of {out}; when they have finished: toymodels merge {out}")
        return
    merge_run(out)


def merge_run(out: Path) -> None:
    """Merge the finished points of a sharded run (refusing while some are missing), then report."""
    from toymodels import engine
    from toymodels.experiments import write_report
    from toymodels.experiments.common import spec_of_config
    from toymodels.experiments.shards import missing_shards
    from toymodels.store import read_config

    config = read_config(out)
    spec = spec_of_config(config)
    missing = missing_shards(spec, out)
    require(not missing, f"{out} is not finished: shard(s) {', '.join(missing)} still to run")
    engine.run(spec, out, quiet=True, metadata={k: v for k, v in config.items() if k != "spec"})
    _, figures = write_report(config.get("experiment"), out)
    print(f"merged {out}: results {out}/results.zarr  summary {out}/{SUMMARY}  figures: "
          + (", ".join(f"{f}.png" for f in figures) or "none"))


def command_merge(args: argparse.Namespace) -> None:
    merge_run(Path(args.dir))


def command_report(args: argparse.Namespace) -> None:
    from toymodels.experiments import write_report
    from toymodels.store import read_config

    out = Path(args.dir)
    axes = tuple(a.strip() for a in args.phase.split(",")) if args.phase else None
    if axes is not None and len(axes) != 2:
        raise ConfigError(f"--phase expects X,Y (two swept axes), got {args.phase!r}")
    fix = dict(split_assignment(text, "--fix") for text in args.fix)
    _, figures = write_report(read_config(out).get("experiment"), out, axes=axes, metric=args.metric, fix=fix)
    print(f"summary: {out}/{SUMMARY}  figures: " + (", ".join(f"{name}.png" for name in figures) or "none"))


def command_reproduce(args: argparse.Namespace) -> None:
    from toymodels.experiments import get, ledger
    from toymodels.store import git_commit

    only = [n.strip() for n in args.only.split(",")] if args.only else None
    for name in only or ():
        get(name)
    page = Path(args.ledger)
    if git_commit().endswith("+dirty") and not args.allow_dirty:
        raise ConfigError("the source tree has uncommitted changes: commit first (or --allow-dirty)")
    rows = ledger.reproduce(Path(args.out), only, quiet=args.quiet)
    kept = ledger.load_rows(page.with_suffix(".json")) if only else []
    ledger.write_ledger(page, ledger.merge(kept, rows), allow_dirty=args.allow_dirty)
    for row in rows:
        print(f"{ledger.word(row):15s} {row.experiment}: {row.claim.key} = {ledger.describe(row.ours)}")
    print(f"ledger: {page} (rows: {page.with_suffix('.json')})")


def command_fit(args: argparse.Namespace) -> None:
    from toymodels.experiments.fit import fit_run, fit_stem

    share = tuple(d for d in args.share.split(",") if d)
    result = fit_run(args.dir, args.var, args.model, args.fit_fraction, share, args.holdout)
    stem = fit_stem(args.dir, args.var, args.model, share)

    def text(x: float | None) -> str:
        return "none" if x is None else f"{x:.4g}"

    over = (f"the {result['n_members'] - result['n_diverged_rollouts']} finite rollouts" if not result["n_heldout"]
            else "the fitted members' finite rollouts")
    print(f"{args.model} fit of {args.var}: median R² in window {text(result['r2_in'])}, after it "
          f"{text(result['r2_out'])} over {over} ({stem}.json, {stem}.png)")
    if result["n_heldout"]:
        print(f"held out of the fit: {result['n_heldout']} members, median R² after the window "
              f"{text(result['r2_out_heldout'])}, over every record {text(result['r2_heldout'])}")
    if result["n_diverged_rollouts"]:
        print(f"toymodels: warning: {result['n_diverged_rollouts']} of {result['n_members']} rollouts diverged "
              "(R² −inf; left out of the medians, marked rollout_diverged in the JSON)", file=sys.stderr)


def command_list(_: argparse.Namespace) -> None:
    for name, entry in sorted(catalog().items()):
        print(f"{name:24s} {entry.description}  [presets: {', '.join(entry.presets)}]")


def command_tasks(_: argparse.Namespace) -> None:
    from toymodels.tasks import describe_tasks

    print(describe_tasks())


def command_keys(args: argparse.Namespace) -> None:
    """Every settable key of the experiment's preset: its value, type and whether the preset sweeps it."""
    from toymodels.experiments import get

    spec = get(args.name).spec(args.preset)
    print(f"settable keys of {args.name} --preset {args.preset} (--set KEY=VALUE, --sweep KEY=V1,V2, --tie):")
    groups = (("static (one program per value)", spec.static_keys()), ("dynamic (vmapped)", tuple(spec.hparams)),
              ("run", ("seeds", "steps", "log_every", "log_steps", "snapshot_steps", "init")))
    for title, keys in groups:
        print(f"  {title}:")
        for key in keys:
            value = spec.value_of(key)
            tied = spec.tied_group(key)
            swept = (f"  swept: {', '.join(map(str, spec.sweep[key]))}" if key in spec.sweep
                     else f"  tied in {tied.dim}" if tied else "")
            print(f"    {key:20s} {type(value).__name__:8s} {value!r}{swept}")


def enable_compilation_cache() -> None:
    """Keep compiled programs on disk so a resumed or repeated run does not compile again.

    Directory: $TOYMODELS_CACHE, default ~/.cache/toymodels/jax (programs that compile in < 1 s are not kept).
    """
    import jax

    cache = os.environ.get("TOYMODELS_CACHE", str(Path.home() / ".cache" / "toymodels" / "jax"))
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command in ("run", "report", "merge", "reproduce", "fit"):
            import matplotlib

            matplotlib.use("Agg")  # files only: the command line never opens a window
        if args.command in ("run", "reproduce", "merge"):
            from toymodels.devices import use_cpu_cores

            use_cpu_cores()
            enable_compilation_cache()
        commands = {"list": command_list, "tasks": command_tasks, "keys": command_keys, "run": command_run,
                    "report": command_report, "merge": command_merge, "reproduce": command_reproduce,
                    "fit": command_fit}
        commands[args.command](args)
    except ConfigError as error:
        print(f"toymodels: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("toymodels: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
