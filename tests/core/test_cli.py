"""The command line end to end: fit with a report, save, transform and predict, and bad input."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hexagan_core.cli import main
from hexagan_core.data import load_builtin

REPORT_KEYS = {"dataset", "rows", "features", "label", "missing_rate", "mechanism", "seed",
               "device", "iterations", "seconds", "results"}
SCORE_KEYS = {"rmse", "rmse_row", "mae", "f1", "roc_auc", "accuracy", "seconds"}


@pytest.fixture(scope="module")
def breast_csv(tmp_path_factory):
    """Breast cancer as a user's CSV: real NaNs, a text column, an id column, string labels."""
    dataset = load_builtin("breast")
    table = dataset.features.iloc[:, :8].copy()
    rng = np.random.default_rng(0)
    table = table.mask(rng.random(table.shape) < 0.05)
    table.insert(0, "patient_id", np.arange(1000, 1000 + len(table)))
    table["clinic"] = rng.choice(["north", "south", "east"], len(table))
    table["diagnosis"] = np.array(dataset.class_names)[dataset.labels]
    path = tmp_path_factory.mktemp("csv") / "patients.csv"
    table.to_csv(path, index=False)
    return path


def test_fit_save_transform_predict_end_to_end(breast_csv, tmp_path, capsys):
    report_path, model_dir = tmp_path / "r.json", tmp_path / "model"
    imputed_path = tmp_path / "imputed.csv"
    code = main(["fit", str(breast_csv), "--label", "diagnosis", "--iterations", "300",
                 "--baselines", "mean,knn", "--report", str(report_path), "--save",
                 str(model_dir), "--output", str(imputed_path), "--device", "cpu", "--quiet"])
    assert code == 0
    report = json.loads(report_path.read_text())
    assert set(report) >= REPORT_KEYS
    assert set(report["results"]) == {"hexagan", "mean", "knn"}
    for scores in report["results"].values():
        assert set(scores) == SCORE_KEYS
        assert 0 < scores["rmse"] < 0.5 and 0 <= scores["f1"] <= 1
    assert report["rows"] == 569 and report["features"] == 9  # id dropped, clinic kept
    assert any("patient_id" in note for note in report["notes"])
    output = capsys.readouterr()
    assert "hexagan" in output.out
    assert "note: dropped column 'patient_id': identifier" in output.err

    imputed = pd.read_csv(imputed_path)
    source = pd.read_csv(breast_csv)
    assert len(imputed) == len(source)
    assert imputed.drop(columns="diagnosis").notna().all().all()
    assert set(imputed["clinic"]) <= {"north", "south", "east"}
    observed = source["mean radius"].notna()
    assert np.allclose(imputed.loc[observed, "mean radius"], source.loc[observed, "mean radius"])

    out = tmp_path / "t.csv"
    assert main(["transform", str(model_dir), str(breast_csv), "--output", str(out)]) == 0
    transformed = pd.read_csv(out)
    assert transformed.notna().all().all() and len(transformed) == len(source)
    assert list(transformed.columns) == list(source.columns)  # id and label pass through
    pd.testing.assert_series_equal(transformed["patient_id"], source["patient_id"])
    again = tmp_path / "t2.csv"
    main(["transform", str(model_dir), str(breast_csv), "--output", str(again)])
    pd.testing.assert_frame_equal(transformed, pd.read_csv(again))

    predictions = tmp_path / "p.csv"
    assert main(["predict", str(model_dir), str(breast_csv), "--output", str(predictions)]) == 0
    predicted = pd.read_csv(predictions)
    assert list(predicted.columns) == ["patient_id", "diagnosis", "predicted diagnosis",
                                       "p(benign)", "p(malignant)"]  # fmt: skip
    assert set(predicted["predicted diagnosis"]) <= {"malignant", "benign"}
    assert np.allclose(predicted[["p(malignant)", "p(benign)"]].sum(axis=1), 1, atol=1e-5)
    assert (predicted["predicted diagnosis"] == source["diagnosis"]).mean() > 0.8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "nosuch.csv"], "neither a built-in dataset"),
        (["fit", "EMPTY"], "empty"),
        (["fit", "TEXTONLY"], "no usable feature column"),
        (["fit", "GOOD", "--label", "nope"], "nope"),
        (["fit", "SINGLE", "--label", "y"], "single class"),
        (["fit", "breast", "--missing-rate", "1.5"], "rate must be in [0, 1)"),
        (["fit", "breast", "--missing-rate", "x"], "expected a number"),
        (["fit", "imagenet"], "neither a built-in dataset"),
        (["fit", "breast", "--baselines", "mean,magic"], "unknown baseline 'magic'"),
        (["transform", "NOMODEL", "GOOD", "--output", "o.csv"], "not a saved HexaGAN model"),
        (["frobnicate"], "invalid choice"),
        (["fit", "breast", "--engine", "fast"], "invalid choice: 'fast'"),
        (["fit", "breast", "--preset", "mnist", "--engine", "compiled"],
         "engine='compiled' needs MLP networks"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, tmp_path, capsys):
    files = {
        "EMPTY": "",
        "TEXTONLY": "name,comment\n" + "".join(f"n{i},text {i} here\n" for i in range(30)),
        "GOOD": "a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(30)),
        "SINGLE": "a,b,y\n" + "".join(f"{i},{i * 2},1\n" for i in range(30)),
    }
    for i, arg in enumerate(args):
        if arg in files:
            path = tmp_path / f"{arg}.csv"
            path.write_text(files[arg])
            args[i] = str(path)
        elif arg == "NOMODEL":
            args[i] = str(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert message in err


def test_module_entry_point_runs_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hexagan_core", "fit", str(tmp_path / "x.csv")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_datasets_command_lists_builtins(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in ("breast", "wine", "credit", "madelon", "mnist", "digits"):
        assert name in out


def test_core_never_imports_streamlit():
    code = (
        "import sys, hexagan_core.cli, hexagan_core.estimators, hexagan_core.experiment; "
        "print('streamlit' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"


def test_wide_data_with_the_exact_penalty_gets_a_note_before_training(tmp_path, capsys):
    """On 220 features the CLI says, on stderr and before training, that the exact penalty will
    dominate and that projections estimate it; the report keeps the note. Breast gets none."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(90, 220)), columns=[f"f{i}" for i in range(220)])
    table["y"] = rng.integers(0, 2, len(table))
    path, report_path = tmp_path / "wide.csv", tmp_path / "r.json"
    table.to_csv(path, index=False)
    code = main(["fit", str(path), "--label", "y", "--iterations", "2", "--device", "cpu",
                 "--quiet", "--report", str(report_path)])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "note: 220 features" in err and "penalty_projections = 4" in err
    notes = json.loads(report_path.read_text())["notes"]
    assert any("penalty_projections" in note for note in notes)

    assert main(["fit", "breast", "--iterations", "2", "--device", "cpu", "--quiet"]) == 0
    assert "penalty_projections" not in capsys.readouterr().err


def _fit_tiny(path, model_dir, capsys) -> str:
    """Fit a 2-iteration model on the CSV at `path` into `model_dir`; its stderr."""
    code = main(["fit", str(path), "--label", "y", "--iterations", "2", "--device", "cpu",
                 "--quiet", "--save", str(model_dir)])  # fmt: skip
    assert code == 0
    return capsys.readouterr().err


def test_fit_prints_what_reading_the_data_dropped_or_changed(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"row": np.arange(1, 41), "a": rng.normal(size=40), "empty": np.nan,
                          "b": rng.normal(size=40).astype(object), "y": rng.integers(0, 2, 40)})
    table.loc[::8, "b"] = "n/k"
    table.loc[3, "a"] = np.inf
    path = tmp_path / "messy.csv"
    table.to_csv(path, index=False)
    err = _fit_tiny(path, tmp_path / "model", capsys)
    lines = err.splitlines()
    for expected in ("note: dropped column 'row': identifier",
                     "note: dropped column 'empty': entirely empty",
                     "note: dropped column 'b': mixed, 35 numbers and 5 text cells",
                     "note: column 'a': 1 infinite values set to missing"):  # fmt: skip
        assert any(line.startswith(expected) for line in lines), (expected, lines)


@pytest.fixture
def tiny_model(tmp_path, capsys):
    """A model fitted on 60 rows (f0, f1, f2, an id column, a label y) and its CSV's frame."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(60, 3)), columns=["f0", "f1", "f2"])
    table.insert(0, "id", np.arange(100, 160))
    table["y"] = rng.integers(0, 2, 60)
    path = tmp_path / "train.csv"
    table.to_csv(path, index=False)
    _fit_tiny(path, tmp_path / "model", capsys)
    return tmp_path / "model", table


def test_transform_keeps_every_row_and_every_column(tiny_model, tmp_path, capsys):
    model_dir, table = tiny_model
    table = table.copy()
    table.loc[5, :] = np.nan  # an empty row: read_csv drops it
    table.loc[[7, 9], "f1"] = np.nan
    table["comment"] = [f"row {i}" for i in range(60)]
    path, out = tmp_path / "new.csv", tmp_path / "out.csv"
    table.to_csv(path, index=False)
    assert main(["transform", str(model_dir), str(path), "--output", str(out)]) == 0
    assert "wrote 60 rows" in capsys.readouterr().out
    result = pd.read_csv(out)
    assert list(result.columns) == ["id", "f0", "f1", "f2", "y", "comment"]
    pd.testing.assert_frame_equal(result[["id", "y", "comment"]], table[["id", "y", "comment"]])
    features = ["f0", "f1", "f2"]
    assert result[features].notna().all().all()
    observed = table[features].notna()
    np.testing.assert_array_equal(result[features][observed], table[features][observed])


@pytest.mark.parametrize("command", ["transform", "predict"])
def test_one_new_row_with_a_missing_value(tiny_model, tmp_path, capsys, command):
    # Read afresh, 'f1' (empty in this file) was dropped: "Column 'f1' is missing".
    model_dir, _ = tiny_model
    path, out = tmp_path / "one.csv", tmp_path / "out.csv"
    path.write_text("f0,f1,f2\n0.5,,-1.25\n")
    assert main([command, str(model_dir), str(path), "--output", str(out)]) == 0
    result = pd.read_csv(out)
    assert len(result) == 1
    if command == "transform":
        assert result["f0"].tolist() == [0.5] and result["f2"].tolist() == [-1.25]
        assert np.isfinite(result["f1"]).all()
    else:
        assert list(result.columns) == ["y", "p(0)", "p(1)"]


def test_values_beyond_float64_range_exit_2_naming_the_column(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40),
                          "y": rng.integers(0, 2, 40)})  # fmt: skip
    table.loc[:5, "a"], table.loc[6:11, "a"] = 1e308, -1e308
    path = tmp_path / "huge.csv"
    table.to_csv(path, index=False)
    assert main(["fit", str(path), "--label", "y", "--iterations", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("error: column 'a' spans -1e+308 to 1e+308, a range beyond")


# --- multiple imputation: --output-std ----------------------------------------------------------


@pytest.fixture(scope="module")
def ensemble_fit(breast_csv, tmp_path_factory):
    """fit with two imputation models on the patients CSV: its folder (imputed.csv, std.csv,
    the saved model)."""
    folder = tmp_path_factory.mktemp("ensemble")
    code = main(["fit", str(breast_csv), "--label", "diagnosis", "--iterations", "20", "--set",
                 "eval_every=10", "--set", "n_imputations=2", "--device", "cpu", "--quiet",
                 "--output", str(folder / "imputed.csv"), "--output-std", str(folder / "std.csv"),
                 "--save", str(folder / "model")])  # fmt: skip
    assert code == 0
    return folder


NUMERIC = ["mean radius", "mean texture", "mean perimeter", "mean area", "mean smoothness",
           "mean compactness", "mean concavity", "mean concave points"]  # fmt: skip


def _check_spread(spread: pd.DataFrame, source: pd.DataFrame) -> None:
    """Spread where the source had no value, 0 where it had one, a share for the category."""
    missing = source[NUMERIC].isna().to_numpy()
    assert missing.sum() > 100
    values = spread[NUMERIC].to_numpy()
    assert (values[missing] > 0).all() and (values[~missing] == 0).all()
    assert spread["clinic"].isin([0.0, 0.5]).all()  # the share of 2 models that chose another
    assert (spread["diagnosis"] == 0).all()  # the label is never imputed


def test_fit_output_std_gives_each_cells_spread_in_the_imputed_tables_shape(breast_csv,
                                                                           ensemble_fit):
    imputed = pd.read_csv(ensemble_fit / "imputed.csv")
    spread = pd.read_csv(ensemble_fit / "std.csv")
    assert spread.shape == imputed.shape and list(spread.columns) == list(imputed.columns)
    _check_spread(spread, pd.read_csv(breast_csv))


def test_transform_output_std_gives_each_cells_spread_in_the_files_shape(breast_csv,
                                                                        ensemble_fit, tmp_path):
    out, std = tmp_path / "out.csv", tmp_path / "std.csv"
    assert main(["transform", str(ensemble_fit / "model"), str(breast_csv), "--output", str(out),
                 "--output-std", str(std)]) == 0  # fmt: skip
    source, spread = pd.read_csv(breast_csv), pd.read_csv(std)
    assert list(spread.columns) == list(source.columns) and len(spread) == len(source)
    assert (spread["patient_id"] == 0).all()  # passed through, not imputed
    _check_spread(spread, source)
    assert pd.read_csv(out).drop(columns="diagnosis").notna().all().all()


def test_output_std_of_a_single_model_exits_2_before_training(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("hexagan_core.cli.run_experiment", _never_called)
    assert main(["fit", "breast", "--output-std", str(tmp_path / "std.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: --output-std needs n_imputations > 1")
    assert "--set n_imputations=5" in err


def test_transform_output_std_of_a_single_model_exits_2(tiny_model, tmp_path, capsys):
    model_dir, table = tiny_model
    path, out, std = tmp_path / "new.csv", tmp_path / "out.csv", tmp_path / "std.csv"
    table.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["transform", str(model_dir), str(path), "--output", str(out), "--output-std",
                 str(std)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs n_imputations > 1" in err
    assert f"{model_dir} holds a single model" in err
    assert not out.exists() and not std.exists()
    assert main(["predict", str(model_dir), str(path), "--output", str(out), "--output-std",
                 str(std)]) == 2  # predict writes no imputed table  # fmt: skip


def test_a_damaged_ensemble_folder_exits_2_with_one_line(ensemble_fit, breast_csv, tmp_path,
                                                         capsys):  # fmt: skip
    damaged = tmp_path / "model"
    shutil.copytree(ensemble_fit / "model", damaged)
    shutil.rmtree(damaged / "member_1")
    assert main(["transform", str(damaged), str(breast_csv), "--output",
                 str(tmp_path / "out.csv")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "member folder member_1 is missing" in err


def _never_called(*args, **kwargs):
    raise AssertionError("the option must be checked before training")
