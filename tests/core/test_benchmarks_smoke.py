"""benchmarks/speed.py, training_length.py and classifier_selection.py run end to end on a tiny
budget (--quick)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def test_speed_benchmark_quick_writes_positive_numbers(tmp_path):
    out = tmp_path / "speed.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "speed.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,  # the script finds the package on its own
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alg/engine" in result.stdout and "time to quality" in result.stdout
    numbers = json.loads(out.read_text())

    assert numbers["quick"] is True and numbers["device"] in ("cpu", "cuda", "mps")
    assert numbers["threads"] == 1 and numbers["errors"] == {} and numbers["skipped"] == []
    assert set(numbers["iteration"]) == {"breast", "madelon", "mnist"}
    assert numbers["iteration"]["breast"]["d"] == 30
    assert numbers["iteration"]["madelon"]["d"] == 100  # --quick cuts d = 500 to 100
    assert numbers["iteration"]["mnist"]["d"] == 784
    for name, row in numbers["iteration"].items():
        assert row["updates_per_iteration"] == (6 if name == "mnist" else 68), name
        assert row["memory_measure"]
        for key in ("algorithm_ms", "engine_ms", "algorithm_cpu_ms", "engine_cpu_ms", "ratio"):
            assert row[key] > 0, (name, key)
        assert row["ratio"] == row["algorithm_ms"] / row["engine_ms"]
        for key in ("algorithm_peak_mib", "engine_peak_mib"):
            assert row[key] >= 0, (name, key)
        assert len(row["engine_ms_all"]) == row["repeats"] >= 2
        if name != "mnist":  # the convnets have no penalty to estimate
            assert row["projected_ms"] > 0 and row["projections"] == 4
    assert numbers["iteration"]["breast"]["jacobian_estimate_mib"] > 0

    quality = numbers["time_to_quality"]
    assert quality["cap_s"] <= 20
    assert 0 < quality["knn_val_rmse"] < 1 and 0 < quality["best_val_rmse"] < 1
    assert quality["iterations_run"] > 0 and quality["wall_s"] > 0
    if quality["reached"]:
        assert 0 < quality["seconds"] <= quality["training_s"] + 1e-9
        assert quality["best_val_rmse"] <= quality["knn_val_rmse"]
    else:
        assert quality["seconds"] is None and quality["best_val_rmse"] > quality["knn_val_rmse"]

    ensemble = numbers["ensemble"]["K=8"]
    assert ensemble["n_models"] == 8
    for preset_name in ("paper", "default"):
        row = ensemble[preset_name]
        assert row["one_ms"] > 0 and row["together_ms"] > 0
        assert row["ratio"] == row["together_ms"] / row["one_ms"]
    if numbers["device"] == "cpu":
        assert numbers["devices"] == {"skipped": "no accelerator: nothing to compare the CPU with"}


def test_training_length_quick_reads_validation_only():
    sys.path.insert(0, str(REPO))
    from benchmarks import training_length

    out = training_length.main(["--quick"])
    best = out["breast"]
    assert set(best) == {100, 200} and all(len(v) == 2 for v in best.values())
    # a longer window can only find a lower (or equal) best validation RMSE
    assert all(b <= a for a, b in zip(best[100], best[200], strict=True))
    assert all(0 < v < 1 for v in best[200])


def test_classifier_selection_quick_judges_both_rules_on_held_out_validation_rows(tmp_path):
    sys.path.insert(0, str(REPO))
    from benchmarks import classifier_selection

    y = np.array([0] * 7 + [1] * 4)
    first, second = classifier_selection.halves(y, seed=0)
    assert set(first) | set(second) == set(range(11)) and not set(first) & set(second)
    assert sorted(np.bincount(y[first])) == [2, 3]  # each class split in two
    out = classifier_selection.main(["--quick", "--json", str(tmp_path / "c.json"),
                                     "--markdown", str(tmp_path / "c.md")])  # fmt: skip
    run = out["breast"][11]
    for key in ("imputation_iteration", "val_log_loss_iteration", "val_f1_iteration"):
        assert 0 < run[key] <= 300
    for rule in classifier_selection.RULES:
        assert 0 <= run[rule]["f1"] <= 1 and 0.5 <= run[rule]["roc_auc"] <= 1
    for rule in classifier_selection.APART:  # judged again with the rule chosen on half A
        assert 0 <= run[f"{rule}_tuned"]["f1"] <= 1
        assert run[f"{rule}_tuned"]["roc_auc"] == run[rule]["roc_auc"]  # same probabilities
    assert json.loads((tmp_path / "c.json").read_text())["results"]["breast"]["11"] == run
    assert "| breast | 11 | val_f1 |" in (tmp_path / "c.md").read_text()


def test_set_overrides_are_typed_and_checked():
    import argparse

    import pytest

    sys.path.insert(0, str(REPO))
    from benchmarks import common

    parser = argparse.ArgumentParser()
    assert common.parse_overrides(["penalty_projections=4", "lr=0.002"], parser) == {
        "penalty_projections": 4,
        "lr": 0.002,
    }
    # a value valid only with other fields (the 'mnist' networks) is left to the preset
    assert common.parse_overrides(["mode_seeking=1"], parser) == {"mode_seeking": 1.0}
    for bad in (["no_such_field=1"], ["penalty_projections=-1"], ["iterations"], ["latent=x"]):
        with pytest.raises(SystemExit) as exit_info:
            common.parse_overrides(bad, parser)
        assert exit_info.value.code == 2


def test_ensemble_average_scores_each_number_of_imputation_models():
    sys.path.insert(0, str(REPO))
    from benchmarks import common, ensemble_average

    single, pair = ensemble_average.main(["--quick"])
    assert [(r["dataset"], r["seed"], r["k"]) for r in (single, pair)] == [
        ("breast", 11, 1),
        ("breast", 11, 2),
    ]
    assert len(single["member_val_rmse"]) == 1 and len(pair["member_val_rmse"]) == 2
    assert single["val_rmse"] == single["member_val_rmse"][0]
    for run in (single, pair):
        assert 0 < run["val_rmse"] < 1 and 0 <= run["val_f1"] <= 1 and run["seconds"] > 0
        assert 0 <= run["val_roc_auc"] <= 1
    header = common.run_header(device="cpu", seeds=[11], iterations=60,
                               argv=["benchmarks/ensemble_average.py", "--quick"])  # fmt: skip
    text = ensemble_average.markdown(header, [pair])
    assert "| breast | 11 | 2 |" in text and "- command:" in text


def test_imputation_baseline_params_are_parsed_and_checked():
    import argparse

    import pytest

    sys.path.insert(0, str(REPO))
    from benchmarks import imputation

    parser = argparse.ArgumentParser()
    parsed = imputation.parse_baseline_params(
        ["mice.n_nearest_features=50", "missforest.max_features=0.3"],
        ["mice", "missforest"],
        parser,
    )
    assert parsed == {"mice": {"n_nearest_features": 50}, "missforest": {"max_features": 0.3}}
    for bad in (["knn.n_neighbors=3"], ["mice.n_trees=3"], ["mice"]):  # not run; unknown; form
        with pytest.raises(SystemExit):
            imputation.parse_baseline_params(bad, ["mice"], parser)


def test_imputation_resume_completes_a_stored_run_with_added_methods(tmp_path):
    sys.path.insert(0, str(REPO))
    import json

    from benchmarks import imputation

    common_args = ["--datasets", "breast", "--seeds", "0", "--iterations", "20",
                   "--out", str(tmp_path), "--name", "t"]  # fmt: skip
    imputation.main([*common_args, "--methods", "mean"])
    first = json.loads((tmp_path / "t.json").read_text())["runs"][0]
    imputation.main([*common_args, "--methods", "mean", "zero", "--resume"])
    second = json.loads((tmp_path / "t.json").read_text())["runs"][0]
    assert second["results"]["hexagan"] == first["results"]["hexagan"]  # not retrained
    assert second["results"]["mean"] == first["results"]["mean"]
    assert second["results"]["zero"]["rmse"] > second["results"]["mean"]["rmse"]
    assert second["plan"]["methods"] == ["mean", "zero"]
    assert "zero added to the stored run" in second["notes"]
    # a different plan (length) is not completed but trained afresh
    imputation.main([*common_args[:-6], "--iterations", "30", "--out", str(tmp_path),
                     "--name", "t", "--methods", "mean", "zero", "--resume"])  # fmt: skip
    third = json.loads((tmp_path / "t.json").read_text())["runs"][0]
    assert third["iterations"] == 30 and "zero added to the stored run" not in third["notes"]


def test_sample_agreement_quick_scores_shares():
    sys.path.insert(0, str(REPO))
    from benchmarks import sample_agreement

    scores = sample_agreement.main(["--quick"])["wine"][0]
    assert scores["classes"] == 2  # the built-in wine: class 0 against the rest
    for key in ("samples_judge_agreement", "samples_c_agreement", "judge_test_accuracy"):
        assert 0.0 <= scores[key] <= 1.0
    assert scores["judge_test_accuracy"] > 0.8  # wine is nearly linearly separable


def test_imputation_trains_the_preset_asked_for(tmp_path):
    sys.path.insert(0, str(REPO))
    import json

    from benchmarks import imputation

    imputation.main([
        "--datasets", "breast", "--seeds", "0", "--methods", "mean", "--preset", "paper",
        "--iterations", "3", "--out", str(tmp_path), "--name", "p",
    ])  # fmt: skip
    stored = json.loads((tmp_path / "p.json").read_text())
    run = stored["runs"][0]
    assert run["plan"]["preset"] == "paper" and run["config"]["n_cg"] == 10
    assert "HexaGAN (paper preset)" in (tmp_path / "p.md").read_text()


def test_decoder_start_reports_each_check(capsys):
    sys.path.insert(0, str(REPO))
    from benchmarks import mnist_decoder_start

    mnist_decoder_start.main(["--rows", "200", "--iterations", "2", "--every", "1",
                              "--set", "g_mi_output=mean_start"])  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "g_mi_output='mean_start', seed 0"
    rows = [line.split(" | ") for line in lines[2:]]
    assert [row[0] for row in rows] == ["1", "2"]
    for row in rows:
        assert all(0.0 <= float(value) <= 1.0 for value in row[2:])
