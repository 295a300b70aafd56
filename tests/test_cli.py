"""The command line: a real tiny run, and one clear line + exit 2 for every kind of bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import toymodels as tm
from toymodels.experiments import discover, get
from toymodels.experiments.cli import main


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["run", "modular-addition", "--preset", "tiny", "--out", str(out), "--quiet"]) == 0
    return out


def test_tiny_run_leaves_results_summary_and_figures(tiny_run):
    assert (tiny_run / "results.zarr").is_dir()
    assert list(tiny_run.glob("*.png"))
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["n_members"] == 4 and len(summary["members"]) == 4
    ds = tm.load(tiny_run)
    assert set(ds["signal"].dims) == {"seed", "wd", "step", "freq"}
    assert json.loads(ds.attrs["config"])["experiment"] == "modular-addition"


def test_rerunning_a_finished_run_and_report_are_idempotent(tiny_run, capsys):
    before = (tiny_run / "summary.json").read_text()
    assert main(["run", "modular-addition", "--preset", "tiny", "--out", str(tiny_run), "--quiet"]) == 0
    assert main(["report", str(tiny_run)]) == 0
    assert (tiny_run / "summary.json").read_text() == before


def test_keys_lists_every_settable_key_with_its_value_and_the_sweep(capsys):
    assert main(["keys", "modular-addition", "--preset", "tiny"]) == 0
    text = capsys.readouterr().out
    spec = get("modular-addition").spec("tiny")
    for key in (*spec.static_keys(), *spec.hparams, "seeds", "steps", "init"):
        assert re.search(rf"^    {key} ", text, re.M), key
    assert re.search(r"^    wd .*swept: 0\.1, 1\.0", text, re.M)


def test_the_catalog_is_what_the_modules_register():
    """`toymodels list` reads the catalog (no imports); it must name what the modules register."""
    from toymodels.experiments.catalog import catalog

    assert {name: (e.description, tuple(e.presets)) for name, e in discover().items()} == {
        name: (entry.description, entry.presets) for name, entry in catalog().items()}


def test_tasks_lists_the_registry(capsys):
    assert main(["tasks"]) == 0
    text = capsys.readouterr().out
    assert all(name in text for name in tm.tasks.list())


def test_list_names_the_experiment(capsys):
    assert main(["list"]) == 0
    assert "modular-addition" in capsys.readouterr().out


BAD = [
    (["run", "no-such-experiment"], "unknown experiment"),
    (["run", "modular-addition", "--preset", "huge"], "unknown preset"),
    (["run", "modular-addition", "--set", "colour=red"], "unknown key"),
    (["run", "modular-addition", "--set", "p=abc"], "p must be a int"),
    (["run", "modular-addition", "--set", "lr"], "KEY=VALUE"),
    (["run", "modular-addition", "--set", "lr=-0.1"], "lr must be > 0"),
    (["run", "modular-addition", "--sweep", "lr=0.1,-1"], "lr must be > 0"),
    (["run", "modular-addition", "--set", "train_fraction=0"], "train_fraction"),
    (["run", "modular-addition", "--set", "train_fraction=1.5"], "train_fraction"),
    (["run", "modular-addition", "--set", "p=2"], "p must be >= 3"),
    (["run", "modular-addition", "--set", "width=0"], "width must be >= 1"),
    (["run", "modular-addition", "--sweep", "width=8,0"], "width must be >= 1"),
    (["run", "modular-addition", "--seeds", "0"], "seeds must be between 1 and 2^32"),
    (["run", "modular-addition", "--seeds", "100000000000"], "seeds must be between 1 and 2^32"),
    (["run", "modular-addition", "--seeds", "1000000000"], "this run needs at least"),
    (["run", "modular-addition", "--set", "p=100000"], "too large to lay out"),
    (["run", "modular-addition", "--set", "width=10000000000"], "this run needs at least"),
    (["run", "modular-addition", "--set", "steps=1e23"], "steps must be a int"),
    (["run", "modular-addition", "--set", "steps=100000000000000000000000"], "steps must be between 1 and 2^31"),
    (["run", "modular-addition", "--set", "init=shared"], "init must be one of"),
    (["run", "modular-addition", "--compile"], "--compile goes with --plan"),
    (["keys", "no-such-experiment"], "unknown experiment"),
    (["merge", "/nonexistent/run"], "no toymodels run"),
    (["run", "modular-addition", "--seeds", "two"], "invalid int"),
    (["run", "modular-addition", "--set", "steps=15", "--set", "log_every=10"], "multiple of log_every"),
    (["run", "modular-addition", "--set", "op=divide"], "op must be one of"),
    (["report", "/nonexistent/run"], "no toymodels run"),
    (["run", "modular-addition", "--set", "wd=inf"], "wd must be finite"),
    (["run", "modular-addition", "--set", "wd=nan"], "wd must be finite"),
    (["run", "modular-addition", "--sweep", "lr=1,inf"], "lr must be finite"),
    (["run", "modular-addition", "--set", "wd=2", "--sweep", "wd=1,2"], "wd is given by --set and by --sweep"),
    (["run", "modular-addition", "--sweep", "wd=1,2", "--sweep", "wd=3"], "give it once"),
    (["run", "modular-addition", "--tie", "lr,wd=0.1:1,0.2"], "has 1 values"),
    (["run", "modular-addition", "--tie", "lr=0.1,0.2"], "two or more keys"),
    (["run", "modular-addition", "--set", "log_steps=geometric:x"], "log_steps must be"),
    (["run", "modular-addition", "--set", "log_steps=geometric:9", "--set", "log_every=10"], "not both"),
    (["run", "modular-addition", "--set", "snapshot_steps=7"], "snapshot step 7 is not a logged step"),
    (["run", "modular-addition", "--preset", "tiny", "--out", "/proc/toymodels-run"], "cannot use /proc/toymodels-run"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize(("argv", "message"), BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("toymodels: error:") and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_holding_a_different_run_is_refused(tiny_run, capsys):
    before = sorted(p.name for p in tiny_run.iterdir())
    assert main(["run", "modular-addition", "--preset", "tiny", "--set", "lr=0.02", "--out", str(tiny_run)]) == 2
    assert "holds a different run" in capsys.readouterr().err
    assert sorted(p.name for p in tiny_run.iterdir()) == before


def test_the_installed_command_prints_no_traceback():
    result = subprocess.run([sys.executable, "-m", "toymodels.experiments.cli", "run", "modular-addition", "--set",
                             "lr=-1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip() == "toymodels: error: lr must be > 0, got -1.0"
