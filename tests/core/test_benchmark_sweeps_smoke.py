"""Tables 3-7: missing_rate.py, learning_curves.py, sensitivity.py and mnist.py run end to end on
a tiny budget (--quick); the supplement's grid is read from its text; training_cost.py collects
hand-made results into the numbers worked out below."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks import common, sensitivity, training_cost  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Verbatim excerpt of the supplement's Table 3 as its text extraction lays it out (line breaks
# inside the loss names included).
SUPPLEMENT_TABLE_3 = """3.4. Sensitivity analysis of loss functions
Table 3. Sensitivity analysis of the loss functions with the credit dataset

Hyperparameter (Loss) Setting 1 2 3 4

α1 (Lrecon) Value 0 1 10 100
RMSE 0.1974 0.1108 0.1022 0.1079
λ1 (LGPMI
) Value 0 1 10 100

RMSE 0.1110 0.1097 0.1022 0.1081
α2 (LGMI
) Value 0 1 10 100

F1-score 0.4535 0.4627 0.4585 0.4523
α3 (LCE(x̂c,yc)) Value 0 0.01 0.1 1
F1-score 0.4535 0.4627 0.4585 0.4523
 3.5. Statistical significance
"""


def _run(script: str, out: Path, *extra: str) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=out,  # the script finds the package on its own
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _check_header(header: dict, script: str) -> None:
    assert header["command"].startswith(f"python benchmarks/{script} --quick")
    assert header["device"] == "cpu" and header["torch_threads"] == 1
    assert header["seeds"] == [0] and header["quick"] is True
    assert header["date"] and header["finished"] and header["wall_s"] > 0


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == PNG_MAGIC


# --- helpers of common.py ------------------------------------------------------------------------


def test_bold_row_best_compares_within_the_row():
    row = {"rate": "10%", "a": [1.0, 3.0], "b": [1.5, 1.5], "c": None}
    out = common.bold_row_best(row, ["a", "b", "c"], "min")
    assert out == {"rate": "10%", "a": "2.0000 ± 1.4142", "b": "**1.5000 ± 0.0000**", "c": "–"}
    assert common.bold_row_best(row, ["a", "b"], "max")["a"] == "**2.0000 ± 1.4142**"


def test_compare_counts_wins_and_skips_tests_for_one_seed():
    # Ranks of [1, 2, 5] among 1..6: R = 1 + 2 + 5 = 8, E[R] = 10.5, Var[R] = 9 * 7 / 12.
    result = common.compare([1, 2, 5], [3, 4, 6], lower_is_better=True)
    assert result["wins"] == "3/3"  # 1 < 3, 2 < 4, 5 < 6: paired by seed
    z = (8 - 3 * 7 / 2) / math.sqrt(3 * 3 * 7 / 12)
    assert result["p_rank_sum"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    one = common.compare([1.0], [2.0], lower_is_better=False)
    assert one == {"p_rank_sum": None, "cohens_d": None, "wins": "0/1"}


# --- Table 3 --------------------------------------------------------------------------------------


def test_missing_rate_quick_writes_table_3_and_its_figure(tmp_path):
    _run("missing_rate.py", tmp_path)
    payload = json.loads((tmp_path / "missing_rate_quick.json").read_text())
    _check_header(payload["header"], "missing_rate.py")
    assert payload["header"]["rates"] == [0.2, 0.5]
    runs = {r["cell"]: r for r in payload["runs"]}
    assert set(runs) == {"0.20", "0.50"}
    for run in runs.values():
        assert set(run["results"]) == {"hexagan", "gain", "mice"}
        for method, scores in run["results"].items():
            assert 0 < scores["rmse"] < 1, method
        assert run["results"]["hexagan"]["iterations"] == 50
    # A higher rate removes more test cells: about 0.5 / 0.2 = 2.5 times as many.
    ratio = runs["0.50"]["removed_test_cells"] / runs["0.20"]["removed_test_cells"]
    assert 2.2 < ratio < 2.8
    assert _is_png(tmp_path / "missing_rate_quick.png")
    table = (tmp_path / "missing_rate_quick.md").read_text()
    assert "](missing_rate_quick.png)" in table and "| 50% | 1 |" in table


# --- Table 4 --------------------------------------------------------------------------------------


def test_learning_curves_quick_writes_table_4_and_its_figure(tmp_path):
    _run("learning_curves.py", tmp_path)
    payload = json.loads((tmp_path / "learning_curves_quick.json").read_text())
    header = payload["header"]
    _check_header(header, "learning_curves.py")
    assert header["overrides"]["wgan_gp"] == {"penalty": "wgan_gp"}
    assert header["overrides"]["gain_loss"] == {"adversarial_loss": "gain"}
    runs = {r["cell"]: r for r in payload["runs"]}
    assert set(runs) == {"default", "wgan_gp", "weight_clip", "adam", "gain_loss"}
    for variant, run in runs.items():
        assert run["config"]["penalty"] == (
            variant if variant in ("wgan_gp", "weight_clip") else "zero_centred"
        )
        curve, scores = run["curve"], run["results"]["hexagan"]
        assert curve["iteration"] == [50, 100], variant  # validation every 50 iterations
        assert scores["best_val_rmse"] == min(curve["val_rmse"])
        assert (
            scores["selected_iteration"]
            == curve["iteration"][curve["val_rmse"].index(scores["best_val_rmse"])]
        )
        assert scores["drift"] >= 0 and 0 < scores["rmse"] < 1
    assert runs["adam"]["config"]["optimizer"] == "adam"
    assert _is_png(tmp_path / "learning_curves_quick.png")
    assert "lower than default on" in (tmp_path / "learning_curves_quick.md").read_text()


# --- Table 5 --------------------------------------------------------------------------------------


def test_supplement_grid_is_read_from_its_text(tmp_path):
    path = tmp_path / "supplementary.txt"
    path.write_text("1. Proofs\n...\n" + SUPPLEMENT_TABLE_3, encoding="utf-8")
    grid = sensitivity.read_supplement_grid(path)
    assert grid["alpha1"] == {
        "values": [0.0, 1.0, 10.0, 100.0],
        "metric": "rmse",
        "supplement": [0.1974, 0.1108, 0.1022, 0.1079],
    }
    assert grid["lambda1"]["supplement"] == [0.1110, 0.1097, 0.1022, 0.1081]
    assert grid["alpha3"]["values"] == [0.0, 0.01, 0.1, 1.0]
    assert grid["alpha2"]["metric"] == grid["alpha3"]["metric"] == "f1"
    # Every value once; the preset's own value (10, 10, 1) is each metric's default cell (its
    # alpha3, 3, is not in the grid: all four values are cells).
    cells = sensitivity.cells_of(grid, ["alpha1", "lambda1", "alpha2", "alpha3"])
    assert cells[:4] == ["rmse:default", "rmse:alpha1=0", "rmse:alpha1=1", "rmse:alpha1=100"]
    assert cells[7:] == [
        "f1:default", "f1:alpha2=0", "f1:alpha2=10", "f1:alpha2=100",
        "f1:alpha3=0", "f1:alpha3=0.01", "f1:alpha3=0.1", "f1:alpha3=1",
    ]  # fmt: skip
    assert sensitivity.parse_cell("f1:alpha3=0.1") == ("f1", {"alpha3": 0.1})


def test_supplement_without_table_3_is_refused(tmp_path):
    path = tmp_path / "supplementary.txt"
    path.write_text(SUPPLEMENT_TABLE_3.replace("α3", "β3"), encoding="utf-8")
    with pytest.raises(ValueError, match="not found for alpha3"):
        sensitivity.read_supplement_grid(path)


def test_sensitivity_quick_writes_table_5(tmp_path):
    supplement = tmp_path / "supplementary.txt"
    supplement.write_text(SUPPLEMENT_TABLE_3, encoding="utf-8")
    _run("sensitivity.py", tmp_path, "--supplement", str(supplement))
    payload = json.loads((tmp_path / "sensitivity_quick.json").read_text())
    _check_header(payload["header"], "sensitivity.py")
    runs = {r["cell"]: r for r in payload["runs"]}
    assert len(runs) == 15  # 2 defaults + 3 parameters x 3 other values + alpha3's 4
    assert runs["rmse:alpha1=0"]["config"]["alpha1"] == 0.0
    assert runs["f1:alpha3=1"]["config"]["alpha3"] == 1.0
    assert runs["f1:default"]["config"] == runs["rmse:default"]["config"]
    for run in runs.values():
        scores = run["results"]["hexagan"]
        assert 0 < scores["rmse"] < 1 and 0 <= scores["f1"] <= 1
        assert scores["selected_iteration"] in (50,)  # 50 iterations, one validation check
    table = (tmp_path / "sensitivity_quick.md").read_text()
    assert "10 (default): " in table and "[0.1022]" in table and "[0.4627]" in table


def test_ablation_quick_runs_the_default_beside_a_variant_and_the_imputers(tmp_path):
    _run("ablation.py", tmp_path)
    payload = json.loads((tmp_path / "ablation_quick.json").read_text())
    assert payload["header"]["command"].startswith("python benchmarks/ablation.py --quick")
    breast = payload["results"]["breast"]
    default, narrow = (breast["variants"][name]["seeds"][0] for name in ("default", "narrow"))
    assert 0 < default["val_rmse"] < 1 and 0 <= default["val_f1"] <= 1
    assert default["val_rmse"] != narrow["val_rmse"]  # min_width=8 trained other networks
    assert 0 < breast["baselines"]["knn"][0] < 1
    assert "| breast | narrow |" in (tmp_path / "ablation_quick.md").read_text()


# --- Table 6 --------------------------------------------------------------------------------------


def test_mnist_quick_writes_table_6_and_its_figures(tmp_path):
    _run("mnist.py", tmp_path)
    payload = json.loads((tmp_path / "mnist_quick.json").read_text())
    header = payload["header"]
    _check_header(header, "mnist.py")
    assert header["rows"] == 300 and header["imbalance_ratio"] == 10.0
    (run,) = payload["runs"]
    assert run["config"]["architecture"] == "mnist"
    assert set(run["results"]) == {"hexagan", "mean"}
    for method, scores in run["results"].items():
        # Intensities lie in [0, 1]; the min-max space of a 300-image sample can exceed 1.
        assert 0 < scores["rmse_pixels"] < 1 and scores["rmse"] > 0, method
        assert 0 <= scores["accuracy"] <= 1, method
    labelled = run["train_labelled_counts"]
    assert len(labelled) == 10 and min(labelled) < max(labelled)  # one digit made rare
    assert run["results"]["hexagan"]["iterations"] == 4
    for name in ("samples", "imputation"):
        assert _is_png(tmp_path / run["figures"][name])
    assert "](mnist_quick_samples.png)" in (tmp_path / "mnist_quick.md").read_text()


# --- Table 7 --------------------------------------------------------------------------------------


def test_training_cost_collects_every_table(tmp_path):
    old_style = {  # Table 2's layout: ablations carry their own iterations
        "header": {"device": "cpu", "torch_threads": 1, "wall_s": 100.0, "date": "d"},
        "runs": [
            {
                "dataset": "breast",
                "results": {
                    "hexagan": {"seconds": 10.0, "iterations": 1000, "selected_iteration": 800},
                    "no_cg": {"seconds": 4.0, "iterations": 1000, "selected_iteration": 50},
                    "mice": {"seconds": 1.0},
                },
            },
            {
                "dataset": "breast",
                "results": {
                    "hexagan": {"seconds": 20.0, "iterations": 1000, "selected_iteration": 900},
                    "no_cg": {"seconds": 6.0, "iterations": 1000, "selected_iteration": 50},
                    "mice": {"seconds": 1.0},
                },
            },
        ],
    }
    new_style = {  # Tables 3-6: one "cell" per setting
        "header": {"dataset": "credit", "device": "cpu", "torch_threads": 1, "wall_s": 50.0},
        "runs": [
            {
                "cell": "0.50",
                "results": {
                    "hexagan": {
                        "seconds": 30.0,
                        "iterations": 3000,
                        "selected_iteration": 1500,
                        "seconds_to_selected": 15.0,
                    },
                    "gain": {"seconds": 8.0, "rmse": 0.2},
                },
            }
        ],
    }
    (tmp_path / "classification.json").write_text(json.dumps(old_style))
    (tmp_path / "missing_rate.json").write_text(json.dumps(new_style))
    assert training_cost.main(["--results", str(tmp_path)]) == 0
    collected = json.loads((tmp_path / "training_cost.json").read_text())
    rows = {(r["table"], r["variant"]): r for r in collected["rows"]}
    assert set(rows) == {("Table 2", "hexagan"), ("Table 2", "no_cg"), ("Table 3", "0.50")}
    assert rows[("Table 2", "hexagan")]["seconds_per_1000"] == [10.0, 20.0]
    assert rows[("Table 3", "0.50")]["seconds_per_1000"] == [10.0]  # 1000 * 30 / 3000
    assert [t["runs"] for t in collected["tables"]] == ["4", "1"]
    table = (tmp_path / "training_cost.md").read_text()
    # hexagan seconds 10 and 20: mean 15, sample SD sqrt(50) = 7.0711, shown with 1 decimal.
    assert (
        "| Table 2 | breast | hexagan | 2 | 1000 | 800-900 | 15.0 ± 7.1 | not recorded |" in table
    )
    assert "| Table 3 | credit | 0.50 | 1 | 3000 | 1500 | 30.0 | 15.0 | 10.0 |" in table
    assert "Table 6 (mnist.json)" in table  # listed as not run

    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text(f"intro\n{training_cost.START}\nold\n{training_cost.END}\nrest\n")
    training_cost.main(["--results", str(tmp_path), "--update-benchmarks", str(doc)])
    text = doc.read_text()
    assert "old" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert "| Table 3 | credit | 0.50 |" in text
