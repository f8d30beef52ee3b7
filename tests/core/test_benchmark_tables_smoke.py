"""benchmarks/imputation.py and classification.py run end to end on a tiny budget (--quick), and
the statistics and table helpers of benchmarks/common.py give hand-computed answers."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks import common  # noqa: E402
from hexagan_core.config import preset  # noqa: E402

# --- statistics on tiny samples, worked out by hand ---------------------------------------------


def test_rank_sum_p_value_matches_the_normal_approximation_by_hand():
    # a holds ranks 1, 2, 3 of 6: R = 6, E[R] = 3 * 7 / 2 = 10.5, Var[R] = 3 * 3 * 7 / 12 = 5.25,
    # z = -4.5 / sqrt(5.25); two-sided p = erfc(|z| / sqrt(2)) = 0.049535.
    expected = math.erfc(4.5 / math.sqrt(5.25) / math.sqrt(2))
    assert common.wilcoxon_rank_sum([1, 2, 3], [4, 5, 6]) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.049535, abs=1e-6)
    assert common.wilcoxon_rank_sum([4, 5, 6], [1, 2, 3]) == pytest.approx(expected, rel=1e-12)


def test_rank_sum_smallest_p_for_five_seeds_each_is_as_documented():
    # R = 15, E[R] = 5 * 11 / 2 = 27.5, Var[R] = 25 * 11 / 12: z = -12.5 / sqrt(275 / 12).
    expected = math.erfc(12.5 / math.sqrt(275 / 12) / math.sqrt(2))
    p = common.wilcoxon_rank_sum([0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0])
    assert p == pytest.approx(expected, rel=1e-12)
    assert round(p, 4) == 0.0090  # the value quoted in the tables' legends


def test_rank_sum_of_identical_samples_is_one():
    # Ties: ranks 1.5, 1.5, 3.5, 3.5; R = 1.5 + 3.5 = 5 = E[R] = 2 * 5 / 2, so z = 0.
    assert common.wilcoxon_rank_sum([1, 2], [1, 2]) == pytest.approx(1.0)


def test_cohens_d_with_equal_variances():
    # means 2 and 5, both sample variances 1, pooled SD 1: d = (2 - 5) / 1.
    assert common.cohens_d([1, 2, 3], [4, 5, 6]) == pytest.approx(-3.0)
    assert common.cohens_d([4, 5, 6], [1, 2, 3]) == pytest.approx(3.0)


def test_cohens_d_pools_unequal_sizes_by_degrees_of_freedom():
    # a: mean 1, sum of squares 2 (1 dof); b: mean 2, sum of squares 1 + 1 + 4 = 6 (2 dof).
    # pooled SD = sqrt((2 + 6) / (2 + 3 - 2)) = sqrt(8 / 3); d = (1 - 2) / sqrt(8 / 3).
    assert common.cohens_d([0, 2], [1, 1, 4]) == pytest.approx(-1 / math.sqrt(8 / 3))


def test_cohens_d_without_spread():
    assert common.cohens_d([1, 1], [1, 1]) == 0.0
    assert common.cohens_d([1, 1], [2, 2]) == -math.inf


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [([1.0], [2.0], "at least 3 values"), ([1.0, math.nan], [2.0], "finite"), ([], [1.0], "1-D")],
)
def test_statistics_refuse_bad_samples(a, b, match):
    with pytest.raises(ValueError, match=match):
        common.cohens_d(a, b)


def test_mean_std_uses_the_sample_sd_and_skips_missing_values():
    assert common.mean_std([1, 2, 3]) == (2.0, 1.0, 3)
    assert common.mean_std([5]) == (5.0, None, 1)
    mean, std, n = common.mean_std([None, 1, 3, math.nan])
    assert (mean, n) == (2.0, 2) and std == pytest.approx(math.sqrt(2))


def test_markdown_table_bolds_the_best_mean_per_column():
    columns = [
        common.Column("method", "method"),
        common.Column("RMSE", "rmse", "min"),
        common.Column("F1", "f1", "max"),
    ]
    rows = [
        {"method": "a", "rmse": [1.0, 3.0], "f1": 0.5},
        {"method": "b", "rmse": [0.5, 0.5], "f1": None},
    ]
    assert common.markdown_table(columns, rows).splitlines() == [
        "| method | RMSE | F1 |",
        "| --- | --- | --- |",
        "| a | 2.0000 ± 1.4142 | **0.5000** |",  # sample SD of 1 and 3: sqrt(2)
        "| b | **0.5000 ± 0.0000** | – |",
    ]


def test_parse_iterations_per_dataset():
    known = ("breast", "wine", "madelon")
    parsed = common.parse_iterations(["300", "madelon=20"], ["breast", "madelon"], known)
    assert parsed == {"breast": 300, "madelon": 20}
    assert common.parse_iterations([], ["wine"], known) == {"wine": preset("default").iterations}
    with pytest.raises(SystemExit, match="NAME=N"):
        common.parse_iterations(["digits=5"], ["breast"], known)


# --- the scripts, end to end -------------------------------------------------------------------


def _run(script: str, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=out,  # the script finds the package on its own
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _check_header(header: dict, script: str) -> None:
    assert header["command"].startswith(f"python benchmarks/{script} --quick")
    assert header["machine"]["cores"] >= 1 and header["machine"]["platform"]
    assert header["device"] == "cpu" and header["torch_threads"] == 1
    assert header["versions"]["torch"] and header["date"] and header["finished"]
    assert header["seeds"] == [0] and header["iterations"] == {"breast": 100}
    assert header["quick"] is True and header["wall_s"] > 0


def test_imputation_quick_writes_table_1(tmp_path):
    _run("imputation.py", tmp_path)
    payload = json.loads((tmp_path / "imputation_quick.json").read_text())
    _check_header(payload["header"], "imputation.py")
    assert payload["header"]["methods"] == ["hexagan", "mean", "knn"]

    (run,) = payload["runs"]
    assert (run["dataset"], run["seed"], run["iterations"]) == ("breast", 0, 100)
    assert run["selected_iteration"] in (50, 100)  # validation checks every 50 iterations
    assert run["split_rows"] == {"train": 370, "val": 85, "test": 114}
    results = run["results"]
    assert set(results) == {"hexagan", "mean", "knn"}
    for method, scores in results.items():
        for key in ("rmse", "rmse_row", "mae"):
            assert 0 < scores[key] < 1, (method, key)
        assert scores["mae"] <= scores["rmse"], method
    # kNN beats mean imputation on breast, whose features are strongly correlated.
    assert results["knn"]["rmse"] < results["mean"]["rmse"]

    summary = payload["summary"]["breast"]
    assert summary["per_method"]["hexagan"]["rmse"] == [results["hexagan"]["rmse"]]
    assert summary["tests_rmse"]["mean"]["p_rank_sum"] is None  # one seed: no test
    assert summary["best_baseline"] == "knn"
    table = (tmp_path / "imputation_quick.md").read_text()
    assert "python benchmarks/imputation.py --quick" in table and "| HexaGAN" in table


def test_classification_quick_writes_table_2(tmp_path):
    _run("classification.py", tmp_path)
    payload = json.loads((tmp_path / "classification_quick.json").read_text())
    header = payload["header"]
    _check_header(header, "classification.py")
    assert header["label_missing_rate"] == 0.5 and header["missing_rate"] == 0.2
    assert header["ablation_overrides"] == {
        "no_adv": {"adversarial_weight": 0.0},
        "no_cg": {"n_cg": 0, "classifier_balance": "none"},
        "no_label_adv": {"alpha4": 0.0},
    }
    assert header["select_on"] == "val_f1"

    (run,) = payload["runs"]
    assert run["train_labelled"] + run["train_unlabelled"] == run["split_rows"]["train"] == 370
    assert run["train_labelled"] == 185  # half of the training labels hidden
    assert run["minority_class"] == "malignant"
    ablations = ("no_adv", "no_cg", "no_label_adv")
    expected = {"hexagan", *ablations, "mean", "mean+smote+self_training"}
    assert set(run["results"]) == expected
    for method, scores in run["results"].items():
        assert 0 <= scores["f1"] <= 1 and 0.5 < scores["roc_auc"] <= 1, method
        assert 0 < scores["rmse"] < 1, method
    for method in ("hexagan", *ablations):
        assert run["results"][method]["iterations"] == 100
        assert run["results"][method]["selected_iteration"] in (50, 100)  # validation F1
    table = (tmp_path / "classification_quick.md").read_text()
    assert "50%" in table and "best validation F1" in table and "adversarial_weight" in table
