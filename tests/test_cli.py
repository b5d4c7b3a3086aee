"""python -m numvars: argument checking, the results command's guard, and a reproduce run that
is interrupted with Ctrl-C and resumed."""

import json
import os
import signal
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from reproduce_process import processes_with, start_reproduce, tiny_profile

from numvars.cli import main


def test_results_refuses_an_untrained_profile(tmp_path, capsys):
    assert main(["results", "--profile", "quick", "--store", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "are not trained: run `python -m numvars train --profile quick` first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_results_writes_one_das_table_only_when_its_measurements_are_stored(tmp_path, capsys, monkeypatch):
    """``results --table NAME`` refuses while a measurement the table is built from is missing,
    then rewrites that table alone (the one a full ``results`` writes) and leaves every other file;
    the measurements of a network that never reached the criterion are never made, and not
    waited for."""
    from dataclasses import replace

    import numvars.cli as cli
    from numvars.cli import reproduce
    from numvars.grids import Profile, figs_2_and_7
    from numvars.results import write_tables
    from numvars.store import Store

    tiny = tiny_profile()
    dropped = replace(tiny.training["main"][0], seed=7, criterion=2.0)  # never reaches it
    measured = figs_2_and_7(dropped, n_pairs=(64, 32, 32), max_epochs=3, patience=3)
    tiny = Profile(
        "tiny", {"main": [*tiny.training["main"], dropped]}, {**tiny.das, "main": [*tiny.das["main"], *measured]}
    )
    monkeypatch.setattr(cli, "get_profile", lambda name: tiny)
    store, out = tmp_path / "store", tmp_path / "out"
    args = ["results", "--store", str(store), "--out", str(out), "--table", "das.csv"]
    assert main(args) == 2
    assert "measurements of main, untrained are not in the store" in capsys.readouterr().err
    assert not out.exists()

    reproduce(tiny, Store(store), out)
    full = pd.read_csv(out / "das.csv")
    (out / "das.csv").write_text("stale\n")
    (out / "runs.csv").write_text("left alone\n")
    shipped = {p: p.stat().st_mtime_ns for p in (out / "networks").iterdir()}
    assert main(args) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "das.csv"), full)
    assert (out / "runs.csv").read_text() == "left alone\n"
    assert {p: p.stat().st_mtime_ns for p in (out / "networks").iterdir()} == shipped
    with pytest.raises(ValueError, match="unknown table 'das'; allowed: runs.csv"):
        write_tables(tiny, Store(store), out, ["das"])


def test_das_of_one_experiment_writes_only_the_tables_it_completes(tmp_path, capsys, monkeypatch):
    """``das --experiment X`` writes the tables built from X whose every measurement is stored, and
    nothing else: not a table that also needs an experiment not yet measured, not runs.csv, not
    the networks (so measuring one grid in a scratch store never rewrites another grid's table)."""
    import numvars.cli as cli

    monkeypatch.setattr(cli, "get_profile", lambda name: tiny_profile())
    store, out = tmp_path / "store", tmp_path / "out"
    where = ["--store", str(store), "--out", str(out)]
    assert main(["train", "--store", str(store)]) == 0
    assert main(["das", "--experiment", "main", *where]) == 0
    assert not (out / "das.csv").exists()  # its untrained measurements are not made yet
    assert f"wrote no table to {out}" in capsys.readouterr().err
    assert main(["das", "--experiment", "untrained", *where]) == 0
    assert "das.csv" in capsys.readouterr().err
    assert set(pd.read_csv(out / "das.csv")["experiment"]) == {"main", "untrained"}
    assert not (out / "runs.csv").exists() and not (out / "networks").exists()


def test_unknown_profile_and_experiment_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--profile", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--profile", "quick", "--experiment", "sizes", "--store", str(tmp_path)])
    assert (
        "unknown training experiment(s) ['sizes']; allowed: ['gru_sizes', 'main', 'nope_transformer']"
        in capsys.readouterr().err
    )


def _tables(out: Path) -> dict:
    return {
        name: pd.read_csv(out / name).drop(columns=["seconds"], errors="ignore")
        for name in ("runs.csv", "accuracy_per_count.csv", "das.csv", "das_failures.csv")
    }


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to look for orphaned workers")
def test_reproduce_interrupted_with_ctrl_c_resumes_without_recomputing(tmp_path):
    store, out, marker = tmp_path / "store", tmp_path / "out", uuid.uuid4().hex
    run = start_reproduce(store, out, marker)
    deadline = time.time() + 120
    while not list((store / "das").glob("*.pt")) and time.time() < deadline:  # some measurements saved
        assert run.poll() is None, run.stderr.read()
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground process group
    start = time.time()
    _, err = run.communicate(timeout=30)
    assert time.time() - start < 10 and run.returncode == 130, err
    assert "Traceback" not in err and "run the same command again to resume" in err.strip().splitlines()[-1]
    time.sleep(1)
    assert processes_with(marker) == [], "orphaned worker processes"
    saved = {p: p.stat().st_mtime_ns for p in store.rglob("*.pt")}
    assert saved and not (out / "manifest.json").exists()

    resumed = start_reproduce(store, out, marker)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in saved.items()), "a saved result was recomputed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["stages"]["train"]["already_stored"] + manifest["stages"]["das"]["already_stored"] >= len(saved)
    assert {"code_version", "packages", "machine"} <= set(manifest) and manifest["packages"]["torch"]

    # the same tables as a run that was never interrupted
    from numvars.cli import reproduce
    from numvars.store import Store

    reproduce(tiny_profile(), Store(tmp_path / "reference"), tmp_path / "reference-out")
    for name, table in _tables(tmp_path / "reference-out").items():
        pd.testing.assert_frame_equal(_tables(out)[name], table, obj=name)
