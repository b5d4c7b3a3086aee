"""python -m numvars: argument checking and the results command's guard."""

import pytest

from numvars.__main__ import main


def test_results_refuses_an_untrained_profile(tmp_path, capsys):
    assert main(["results", "--profile", "quick", "--store", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "are not trained: run `python -m numvars train --profile quick` first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_unknown_profile_and_experiment_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--profile", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--profile", "quick", "--experiment", "sizes", "--store", str(tmp_path)])
    assert "unknown experiment(s) ['sizes'] for profile 'quick'; allowed: ['main']" in capsys.readouterr().err
