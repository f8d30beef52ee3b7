"""The command line's data integrity (issue 16): whole output files, destinations checked before
training, tampered model folders refused on one line."""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from hexagan_core import cli
from hexagan_core.cli import main
from hexagan_core.config import preset
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


# --- tampered model folders ---------------------------------------------------------------------


class _RunsCode:
    """Unpickled, this would create the file `marker`: what a malicious weights file could do."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _edit_json(name, change):
    def tamper(folder):
        path = folder / name
        values = json.loads(path.read_text())
        change(values)
        path.write_text(json.dumps(values))

    return tamper


def _edit_weights(change):
    def tamper(folder):
        state = torch.load(folder / "weights.pt", weights_only=True)
        state = change(state)
        torch.save(state, folder / "weights.pt")

    return tamper


def _first_weight(state):
    return next(name for name in state if name.endswith("weight"))


def _with(state, name, tensor):
    return {**state, name: tensor}


def _truncate(folder):
    data = (folder / "weights.pt").read_bytes()
    (folder / "weights.pt").write_bytes(data[: len(data) // 2])


TAMPERINGS = {
    # config.json
    "config not JSON": lambda f: (f / "config.json").write_text("{"),
    "config a list": lambda f: (f / "config.json").write_text("[]"),
    "config unknown field": _edit_json("config.json", lambda c: c.update(depth=3)),
    "config wrong type": _edit_json("config.json", lambda c: c.update(batch_size="64")),
    "config out of range": _edit_json("config.json", lambda c: c.update(lr=-1)),
    "config architecture not text": _edit_json("config.json", lambda c: c.update(architecture=5)),
    # model.json
    "meta not JSON": lambda f: (f / "model.json").write_text("nope"),
    "meta a list": lambda f: (f / "model.json").write_text("[1]"),
    "meta deeply nested": lambda f: (f / "model.json").write_text("[" * 100_000 + "]" * 100_000),
    "meta n_features missing": _edit_json("model.json", lambda m: m.pop("n_features")),
    "meta n_features text": _edit_json("model.json", lambda m: m.update(n_features="30")),
    "meta n_features huge": _edit_json("model.json", lambda m: m.update(n_features=200_000)),
    "meta n_features negative": _edit_json("model.json", lambda m: m.update(n_features=-30)),
    "meta n_classes wrong": _edit_json("model.json", lambda m: m.update(n_classes=3)),
    "meta n_classes one": _edit_json("model.json", lambda m: m.update(n_classes=1)),
    "meta history not a list": _edit_json("model.json", lambda m: m.update(history=5)),
    # weights.pt
    "weights truncated": _truncate,
    "weights empty": lambda f: (f / "weights.pt").write_bytes(b""),
    "weights a plain pickle": lambda f: (f / "weights.pt").write_bytes(
        pickle.dumps({"encoder.net.0.weight": _RunsCode(f / "pwned")})),
    "weights a torch file with code": _edit_weights(
        lambda s: _with(s, _first_weight(s), _RunsCode(s and "pwned"))),
    "weights a tensor, not a dict": _edit_weights(lambda s: s[_first_weight(s)]),
    "weights missing a tensor": _edit_weights(
        lambda s: {k: v for k, v in s.items() if k != _first_weight(s)}),
    "weights extra tensor": _edit_weights(lambda s: _with(s, "spare", torch.zeros(2))),
    "weights wrong shape": _edit_weights(
        lambda s: _with(s, _first_weight(s), s[_first_weight(s)][:-1])),
    "weights NaN": _edit_weights(
        lambda s: _with(s, _first_weight(s), torch.full_like(s[_first_weight(s)], float("nan")))),
    "weights infinite": _edit_weights(
        lambda s: _with(s, _first_weight(s), torch.full_like(s[_first_weight(s)], float("inf")))),
    "weights integers": _edit_weights(
        lambda s: _with(s, _first_weight(s), s[_first_weight(s)].long())),
    # preprocessing.json
    "preprocessing not JSON": lambda f: (f / "preprocessing.json").write_text("{]"),
    "preprocessing no encoder": _edit_json("preprocessing.json", lambda p: p.pop("encoder")),
    "encoder columns not a list": _edit_json(
        "preprocessing.json", lambda p: p["encoder"].update(columns_in=5)),
    "encoder one column short": _edit_json(
        "preprocessing.json", lambda p: p["encoder"]["columns_in"].pop()),
    "scaler one column short": _edit_json(
        "preprocessing.json", lambda p: p["scaler"]["data_min"].pop()),
    "scaler range text": _edit_json(
        "preprocessing.json", lambda p: p["scaler"].update(data_range=["x"] * 30)),
    "scaler range zero": _edit_json(
        "preprocessing.json", lambda p: p["scaler"].update(data_range=[0] * 30)),
    "class names one short": _edit_json(
        "preprocessing.json", lambda p: p["class_names"].pop()),
    "class names not a list": _edit_json(
        "preprocessing.json", lambda p: p.update(class_names=7)),
}


@pytest.mark.parametrize("command", ["transform", "predict"])
@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_a_tampered_model_folder_exits_2_with_one_line(tampering, command, saved_model, tmp_path,
                                                       capsys, monkeypatch):  # fmt: skip
    model, rows = saved_model
    folder = tmp_path / "model"
    shutil.copytree(model, folder)
    monkeypatch.chdir(tmp_path)  # where an unpickled `_RunsCode` would leave "pwned"
    TAMPERINGS[tampering](folder)
    assert main([command, str(folder), str(rows), "--output", str(tmp_path / "out.csv")]) == 2
    error = _one_error_line(capsys)
    assert "weights_only=False" not in error
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.rglob("pwned"))


# --- --set FIELD=VALUE --------------------------------------------------------------------------


def _capture_options(monkeypatch):
    """Replace training by a stub that keeps the RunOptions it was given."""
    seen = []

    def run_experiment(options, **kwargs):
        seen.append(options)
        return SimpleNamespace(summary=lambda: "", report={})

    monkeypatch.setattr(cli, "run_experiment", run_experiment)
    return seen


def test_set_changes_any_config_field_on_top_of_the_preset_and_options(monkeypatch):
    seen = _capture_options(monkeypatch)
    assert main(["fit", "breast", "--preset", "paper", "--set", "penalty_projections=4",
                 "--set", "lr=5e-4", "--set", "penalty=zero_centred", "--engine", "eager",
                 "--iterations", "7"]) == 0  # fmt: skip
    (options,) = seen
    assert options.config == preset("paper", penalty_projections=4, lr=5e-4, engine="eager")
    assert (options.preset, options.iterations) == ("paper", 7)


def test_decision_rule_reaches_the_run_options_argmax_unless_asked(monkeypatch):
    seen = _capture_options(monkeypatch)
    assert main(["fit", "breast", "--decision-rule", "val_f1"]) == 0
    assert main(["fit", "breast"]) == 0
    assert [options.decision_rule for options in seen] == ["val_f1", "argmax"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("depth=3", "unknown HexaGANConfig field 'depth'"),
        ("lr=fast", "lr takes a float, got 'fast'"),
        ("batch_size=6.5", "batch_size takes an int, got '6.5'"),
        ("lr=-1", "The 'lr' parameter of HexaGANConfig must be"),
        ("penalty=ridge", "The 'penalty' parameter of HexaGANConfig must be one of"),
        ("lr", "expected FIELD=VALUE, got 'lr'"),
        ("seed=3", "set seed with --seed"),
        ("iterations=3", "set iterations with --iterations"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(setting, message, monkeypatch, capsys):
    monkeypatch.setattr(cli, "run_experiment", _no_work)
    assert main(["fit", "breast", "--set", setting]) == 2
    assert message in _one_error_line(capsys)


def test_set_penalty_projections_trains_wide_data_without_the_exact_penalty_note(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(60, 220)), columns=[f"f{i}" for i in range(220)])
    table["y"] = rng.integers(0, 2, len(table))
    table.to_csv(tmp_path / "wide.csv", index=False)
    report = tmp_path / "r.json"
    assert main(["fit", str(tmp_path / "wide.csv"), "--label", "y", "--iterations", "2",
                 "--device", "cpu", "--quiet", "--set", "penalty_projections=4",
                 "--report", str(report)]) == 0  # fmt: skip
    assert "exact gradient penalty" not in capsys.readouterr().err
    assert json.loads(report.read_text())["config"]["penalty_projections"] == 4


# --- library warnings ---------------------------------------------------------------------------


def test_library_warnings_are_counted_in_one_note_per_kind(monkeypatch, capsys):
    def run_experiment(options, **kwargs):
        for _ in range(5):
            warnings.warn("Maximum iterations (200) reached", ConvergenceWarning, stacklevel=1)
        warnings.warn("a column was constant", UserWarning, stacklevel=1)
        warnings.warn("old API", DeprecationWarning, stacklevel=1)  # for developers: hidden
        return SimpleNamespace(summary=lambda: "", report={})

    monkeypatch.setattr(cli, "run_experiment", run_experiment)
    assert main(["fit", "breast"]) == 0
    err = capsys.readouterr().err.splitlines()
    convergence = [line for line in err if "ConvergenceWarning" in line]
    assert convergence == ["note: ConvergenceWarning from test_cli_hardening, 5 times; the first: "
                           "Maximum iterations (200) reached"]  # fmt: skip
    assert "note: UserWarning from test_cli_hardening: a column was constant" in err
    assert not any("old API" in line or "warnings.warn" in line for line in err)


# --- extreme settings ---------------------------------------------------------------------------


def test_a_missing_rate_that_leaves_too_little_to_learn_from_is_warned_before_training(
    tmp_path, capsys
):
    """90 % hidden from 30 rows (19 for training): two or so observed values per column. The
    warning comes on stderr before training and stays in the report; breast at 20 % gets none."""
    small = tmp_path / "small.csv"
    small.write_text("a,b,y\n" + "".join(f"{i % 7},{i * 2 % 11},{i % 2}\n" for i in range(30)))
    report = tmp_path / "r.json"
    assert main(["fit", str(small), "--label", "y", "--missing-rate", "0.9", "--iterations", "2",
                 "--device", "cpu", "--quiet", "--report", str(report)]) == 0  # fmt: skip
    warning = [line for line in capsys.readouterr().err.splitlines() if "too few" in line]
    assert warning and warning[0].startswith(
        "note: missing rate 0.9 leaves too few observed values to learn from: 2 of 2 columns "
        "keep fewer than 10 observed values in the 19 training rows"
    )
    assert any("too few observed values" in n for n in json.loads(report.read_text())["notes"])
    assert main(QUICK_FIT) == 0
    assert "too few" not in capsys.readouterr().err


def test_fit_says_how_long_training_will_take_before_it_starts(capsys):
    assert main(["fit", "breast", "--iterations", "30", "--device", "cpu", "--quiet"]) == 0
    captured = capsys.readouterr()
    estimate = [line for line in captured.err.splitlines() if "(timed on" in line]
    assert len(estimate) == 1
    assert re.fullmatch(r"note: about [0-9a-z ]+ for 30 iterations \(timed on \d+\)", estimate[0])
