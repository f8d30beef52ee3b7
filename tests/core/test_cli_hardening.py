"""The command line's data integrity (issue 16): whole output files, destinations checked before
training, tampered model folders refused on one line."""

from __future__ import annotations

import errno
import os

import pandas as pd
import pytest
import torch

from hexagan_core import cli
from hexagan_core.cli import main
from hexagan_core.data import load_builtin

QUICK_FIT = ["fit", "breast", "--iterations", "2", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A model trained for two iterations, saved by the CLI, and a CSV of rows to apply it to."""
    folder = tmp_path_factory.mktemp("model")
    assert main([*QUICK_FIT, "--save", str(folder / "model")]) == 0
    rows = folder / "rows.csv"
    load_builtin("breast").features.head(20).to_csv(rows, index=False)
    return folder / "model", rows


def _one_error_line(capsys) -> str:
    """The one `error:` line on stderr, its last; any other line is a `note:`."""
    *notes, error = capsys.readouterr().err.splitlines()
    assert error.startswith("error: ") and all(n.startswith("note: ") for n in notes), notes
    return error


def _no_work(*args, **kwargs):
    raise AssertionError("the destinations must be checked first")


def _full_disk_after_half(real_write):
    """A writer that gets half its output onto the disk, then finds the disk full."""

    def write(self, target, *args, **kwargs):
        real_write(self.head(len(self) // 2) if isinstance(self, pd.DataFrame) else self, target,
                   *args, **kwargs)  # fmt: skip
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return write


@pytest.mark.parametrize("command", ["fit", "transform", "predict"])
def test_a_full_disk_leaves_the_previous_csv_whole_and_names_it(command, saved_model, tmp_path,
                                                                 monkeypatch, capsys):  # fmt: skip
    output = tmp_path / "out.csv"
    output.write_text("a,b\n1,2\n")
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full_disk_after_half(pd.DataFrame.to_csv))
    model, rows = saved_model
    args = QUICK_FIT if command == "fit" else [command, str(model), str(rows)]
    assert main([*args, "--output", str(output)]) == 2
    err = _one_error_line(capsys)
    assert str(output) in err and "No space left on device" in err
    assert output.read_text() == "a,b\n1,2\n"  # the previous file, not half of the new one
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


def test_a_full_disk_while_saving_leaves_no_model_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch, "save", _full_disk_after_half(torch.save))
    model = tmp_path / "model"
    assert main([*QUICK_FIT, "--save", str(model)]) == 2
    assert str(model) in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []  # neither the model nor its staging folder


@pytest.mark.parametrize(
    ("command", "option"),
    [("fit", "--output"), ("fit", "--report"), ("fit", "--save"), ("transform", "--output"),
     ("predict", "--output")],
)  # fmt: skip
def test_an_unwritable_destination_fails_before_any_work(command, option, saved_model, tmp_path,
                                                         monkeypatch, capsys):  # fmt: skip
    monkeypatch.setattr(cli, "run_experiment", _no_work)
    monkeypatch.setattr(cli, "load_pipeline", _no_work)
    (tmp_path / "a_file").write_text("")
    destination = tmp_path / "a_file" / "out"
    model, rows = saved_model
    args = QUICK_FIT if command == "fit" else [command, str(model), str(rows)]
    assert main([*args, option, str(destination)]) == 2
    assert str(destination) in _one_error_line(capsys)


def test_an_output_folder_that_does_not_exist_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_experiment", _no_work)
    missing = tmp_path / "no_such_folder" / "imputed.csv"
    assert main([*QUICK_FIT, "--output", str(missing)]) == 2
    assert f"the folder {missing.parent} does not exist" in _one_error_line(capsys)


def test_outputs_are_written_whole_with_the_usual_permissions(tmp_path):
    from hexagan_core.outputs import written_directory, written_file

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with written_file(tmp_path / "out.txt") as path:
        path.write_text("whole")
    assert (tmp_path / "out.txt").read_text() == "whole"
    assert (tmp_path / "out.txt").stat().st_mode == plain.stat().st_mode
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "keep.txt").write_text("mine")
    with written_directory(tmp_path / "model") as staging:
        (staging / "weights.pt").write_text("w")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["keep.txt", "weights.pt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "out.txt", "plain.txt"]
