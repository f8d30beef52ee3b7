"""benchmarks/panel.py: the panel's split is the recorded seeded draw, its tables come out of the
installed packages with their NaNs and text, a failing table is recorded, the summary's numbers
are worked out by hand, and --quick runs end to end without the network."""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks import panel  # noqa: E402

# Any attempt to reach the network fails at once: the data must be inside the packages.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def test_every_table_has_a_set_and_the_tune_set_is_the_seeded_draw():
    assert set(panel.SETS) == set(panel.PANEL)
    tune = sorted(name for name, kind in panel.SETS.items() if kind == "tune")
    assert tune == panel.seeded_draw(list(panel.PANEL)) and len(tune) == panel.TUNE_TABLES
    assert set(panel.SETS.values()) == {"tune", "report"}


def test_penguins_csv_keeps_real_nans_and_text(tmp_path):
    path = panel.materialise(panel.PANEL["penguins"], tmp_path)
    frame = pd.read_csv(path)
    assert frame.shape == (344, 8)  # palmerpenguins' penguins.csv as shipped
    assert frame["sex"].isna().sum() == 11 and frame["bill_length_mm"].isna().sum() == 2
    assert set(frame["island"]) == {"Biscoe", "Dream", "Torgersen"}
    row = panel.describe(panel.PANEL["penguins"], path)
    assert row["set"] == "tune" and row["classes"] == 3 and row["minority"] == "Chinstrap"
    assert row["minority_share"] == pytest.approx(68 / 344)
    assert row["missing_share"] == pytest.approx(19 / (344 * 7))  # 19 empty feature cells
    assert row["text_columns"] == 2  # island, sex


def test_outcome_columns_are_dropped(tmp_path):
    frame = pd.read_csv(panel.materialise(panel.PANEL["pbc"], tmp_path))
    assert "time" not in frame.columns and "status" in frame.columns
    assert frame.isna().any().any()


def _args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(
        cache=tmp_path, baselines=["mean"], smote=True, iterations=5, max_rows=None,
        device="cpu",
    )  # fmt: skip


def test_a_table_the_cli_refuses_is_recorded_with_its_command(tmp_path, monkeypatch):
    bad = panel.PanelTable("penguins_bad", "palmerpenguins", "penguins.csv", "nope", "none")
    monkeypatch.setitem(panel.PANEL, bad.name, bad)
    monkeypatch.setitem(panel.SETS, bad.name, "report")
    record = panel.run_table(bad.name, 0, _args(tmp_path))
    assert record["error"].startswith("DataError: label column 'nope' not found")
    assert record["command"] == (
        f"python -m hexagan_core fit {tmp_path / 'penguins_bad.csv'} --label nope "
        "--baselines mean --seed 0 --iterations 5 --device cpu"
    )
    summary = panel.summarise([record])
    assert summary["tables"] == {} and summary["failures"][0]["table"] == "penguins_bad"


def _run(cell: str, seed: int, hexagan: float, knn: float, mean: float) -> dict:
    """A hand-made run: RMSEs as given; F1 and ROC-AUC fixed per method."""
    return {
        "cell": cell,
        "seed": seed,
        "error": None,
        "classes": ["a", "b"],
        "hexagan_predicted_classes": 2,
        "results": {
            "hexagan": {"rmse": hexagan, "f1": 0.50, "roc_auc": 0.80},
            "mean": {"rmse": mean, "f1": 0.40, "roc_auc": 0.85},
            "knn": {"rmse": knn, "f1": 0.45, "roc_auc": 0.70},
        },
        "smote": {"mean+smote": {"f1": 0.55, "roc_auc": 0.75}},
    }


def test_summary_ratios_and_counts_by_hand(monkeypatch):
    monkeypatch.setitem(panel.SETS, "t1", "tune")
    monkeypatch.setitem(panel.SETS, "t2", "tune")
    runs = [
        # t1: mean RMSEs HexaGAN 0.12, kNN 0.10, mean 0.20 -> best kNN, ratio 1.2
        _run("t1", 0, 0.11, 0.09, 0.2), _run("t1", 1, 0.13, 0.11, 0.2),
        # t2: HexaGAN 0.15, kNN 0.3, mean 0.3 -> ratio 0.5 (ties: the first listed, mean)
        _run("t2", 0, 0.15, 0.3, 0.3),
    ]  # fmt: skip
    summary = panel.summarise(runs)
    t1 = summary["tables"]["t1"]
    assert t1["best_baseline"] == "knn" and t1["ratio"] == pytest.approx(1.2)
    assert t1["rmse"]["hexagan"] == [0.11, 0.13]
    # F1: mean+smote 0.55 beats C's 0.50; ROC-AUC: mean + MLP 0.85, C 0.80 is not within 0.01
    assert t1["best_f1_pipeline"] == "mean+smote" and t1["f1_at_least_best"] is False
    assert t1["best_auc_pipeline"] == "mean" and t1["auc_within_0_01"] is False
    assert summary["tables"]["t2"]["ratio"] == pytest.approx(0.5)
    tune = summary["sets"]["tune"]
    assert tune["geometric_mean_ratio"] == pytest.approx(math.sqrt(1.2 * 0.5))
    assert (tune["tables"], tune["ratio_at_most_1"], tune["f1_at_least_best"]) == (2, 1, 0)
    assert summary["sets"]["report"]["geometric_mean_ratio"] is None


def test_quick_run_writes_the_panel_table_offline(tmp_path):
    out = tmp_path / "panel_quick.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "panel.py"), "run", "--quick",
         "--json", str(out), "--cache", str(tmp_path / "csv")],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env={**os.environ, **OFFLINE},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    payload = json.loads(out.read_text())
    header = payload["header"]
    assert header["command"].startswith("python benchmarks/panel.py run --quick")
    assert header["quick"] is True and header["iterations"] == 50 and header["seeds"] == [0]
    assert [row["name"] for row in header["panel"]] == ["penguins", "pbc"]

    runs = {run["cell"]: run for run in payload["runs"]}
    assert set(runs) == {"penguins", "pbc"}
    for name, run in runs.items():
        assert run["error"] is None, run["error"]
        assert run["iterations"] == 50 and set(run["results"]) == {"hexagan", "mean", "knn"}
        assert set(run["smote"]) == {"mean+smote", "knn+smote"}
        assert f"fit {tmp_path / 'csv' / name}.csv --label" in run["command"]  # --cache
        assert f"--label {panel.PANEL[name].label} --baselines mean,knn" in run["command"]
        for method, scores in {**run["results"], **run["smote"]}.items():
            assert 0 <= scores["f1"] <= 1 and 0 <= scores["roc_auc"] <= 1, (name, method)
        assert 1 <= run["hexagan_predicted_classes"] <= len(run["classes"]) == 3
    tables = payload["summary"]["tables"]
    pbc = tables["pbc"]
    assert pbc["ratio"] == pytest.approx(
        pbc["rmse"]["hexagan"][0] / min(pbc["rmse"]["mean"][0], pbc["rmse"]["knn"][0])
    )
    sets = payload["summary"]["sets"]
    assert sets["tune"]["tables"] == 1 and sets["report"]["tables"] == 1  # penguins, pbc
    assert sets["report"]["geometric_mean_ratio"] == pytest.approx(pbc["ratio"])
    table = out.with_suffix(".md").read_text()
    assert "## The panel" in table and "| penguins | tune | palmerpenguins" in table
    assert "geometric-mean RMSE ratio" in table and "## Failures" not in table
