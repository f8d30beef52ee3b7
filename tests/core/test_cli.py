"""The command line end to end: fit with a report, save, transform and predict, and bad input."""

import json
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
    assert "hexagan" in capsys.readouterr().out

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
    again = tmp_path / "t2.csv"
    main(["transform", str(model_dir), str(breast_csv), "--output", str(again)])
    pd.testing.assert_frame_equal(transformed, pd.read_csv(again))

    predictions = tmp_path / "p.csv"
    assert main(["predict", str(model_dir), str(breast_csv), "--output", str(predictions)]) == 0
    predicted = pd.read_csv(predictions)
    assert set(predicted["diagnosis"]) <= {"malignant", "benign"}
    assert np.allclose(predicted[["p(malignant)", "p(benign)"]].sum(axis=1), 1, atol=1e-5)
    assert (predicted["diagnosis"] == source["diagnosis"]).mean() > 0.8


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
    assert err.startswith("note: 220 features") and "penalty_projections = 4" in err
    notes = json.loads(report_path.read_text())["notes"]
    assert any("penalty_projections" in note for note in notes)

    assert main(["fit", "breast", "--iterations", "2", "--device", "cpu", "--quiet"]) == 0
    assert "penalty_projections" not in capsys.readouterr().err
