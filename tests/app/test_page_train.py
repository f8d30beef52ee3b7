"""Train page: the form (every hyperparameter, presets), a real short run, stop, reattach."""

import io
import json
import zipfile

import pandas as pd
import pyarrow as pa
import pytest
import torch
from apptest_support import page_test, rerun_until, train, wait_for_job

from hexagan_core import device as device_module
from hexagan_core.config import HexaGANConfig, field_help, preset
from hexagan_core.persist import load_pipeline
from ui import forms, runtime
from ui.state import DataChoice, widget_key

DOWNLOADS = ["Imputed data (CSV)", "Predictions (CSV)", "Config (JSON)", "Model (ZIP)"]


def _ended(at) -> bool:
    return bool(at.success or at.error or any("Stopped after" in w.value for w in at.warning))


def _job_id(at) -> str:
    return at.query_params["job"]


def test_every_hyperparameter_has_a_widget_with_its_paper_symbol():
    at = page_test("train").run()
    assert not at.exception
    widgets = {w.key: w for w in (*at.number_input, *at.selectbox) if w.key}
    fields = [n for group in forms.FIELD_GROUPS.values() for n in group]
    assert sorted(fields) == sorted(set(HexaGANConfig().to_dict()) - {"seed"})
    for name in fields:
        widget = widgets[widget_key("train", name)]
        assert widget.value == getattr(preset("default"), name)
        assert widget.help == field_help()[name]
    assert "alpha_1" in widgets[widget_key("train", "alpha1")].help
    assert "n_critic" in widgets[widget_key("train", "n_critic")].help
    assert "lambda_2" in widgets[widget_key("train", "lambda2")].help


def test_choosing_a_preset_loads_its_values():
    at = page_test("train").run()
    at.selectbox(key=widget_key("train", "preset")).set_value("paper").run()
    assert not at.exception
    assert at.number_input(key=widget_key("train", "n_critic")).value == 5
    assert at.number_input(key=widget_key("train", "n_cg")).value == 10
    assert at.number_input(key=widget_key("train", "lr")).value == 2e-4


def test_default_on_mnist_shows_and_edits_the_mnist_preset():
    def explained(at) -> bool:
        return any("'default' is the 'mnist' preset" in c.value for c in at.caption)

    mnist = DataChoice(source="mnist", display_name="mnist", max_rows=300)
    at = page_test("train", data=mnist).run()
    assert not at.exception and explained(at)
    assert at.selectbox(key=widget_key("train", "preset")).value == "default"
    assert at.selectbox(key=widget_key("train", "architecture")).value == "mnist"
    iterations = at.number_input(key=widget_key("train", "iterations")).value
    assert iterations == preset("mnist").iterations
    at.selectbox(key=widget_key("train", "preset")).set_value("paper").run()
    assert not at.exception and not explained(at)
    assert at.selectbox(key=widget_key("train", "architecture")).value == "paper"


def test_short_run_shows_live_curves_results_and_four_downloads():
    at = page_test("train").run()
    at.number_input(key=widget_key("train", "iterations")).set_value(30)
    at.number_input(key=widget_key("train", "eval_every")).set_value(10)
    at.multiselect(key=widget_key("train", "baselines")).set_value(["mean"])
    at.button(key=widget_key("train", "start")).click().run()
    assert not at.exception
    job_id = _job_id(at)  # the job is in the URL, so a reload finds it
    rerun_until(at, _ended)
    assert not at.error, [e.value for e in at.error]
    assert "Finished: 30 iterations" in at.success[0].value
    results = at.dataframe[0].value
    assert list(results["method"]) == ["hexagan", "mean"]
    assert results.loc[0, "rmse"] > 0 and 0 <= results.loc[0, "f1"] <= 1
    assert [b.label for b in at.download_button] == DOWNLOADS
    assert not any(b.disabled for b in at.download_button)
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # validation RMSE, validation F1, losses
    specs = [json.loads(chart.proto.spec) for chart in charts]
    assert [spec.get("title") for spec in specs[:2]] == [
        "Validation RMSE (lower is better)", "Validation F1 (higher is better)"]
    assert list(_chart_rows(charts[0])["iteration"]) == [10, 20, 30]
    assert set(_chart_rows(charts[2])["loss"]) >= {"d_mi", "recon", "ce"}

    # A reload (or a second tab) with ?job=... reattaches to the same finished job.
    again = page_test("train")
    again.query_params["job"] = job_id
    again.run()
    assert not again.exception
    assert "Finished: 30 iterations" in again.success[0].value
    assert [b.label for b in again.download_button] == DOWNLOADS


def test_stop_keeps_the_networks_trained_so_far():
    at = page_test("train").run()
    at.number_input(key=widget_key("train", "iterations")).set_value(200000)
    at.number_input(key=widget_key("train", "eval_every")).set_value(20)
    at.button(key=widget_key("train", "start")).click().run()
    rerun_until(at, lambda a: runtime.snapshot(_job_id(a)).iteration >= 20)
    assert not at.button(key=widget_key("train", "stop")).disabled
    at.button(key=widget_key("train", "stop")).click().run()
    wait_for_job(_job_id(at), timeout=60)
    rerun_until(at, _ended)
    assert any("Stopped after" in w.value for w in at.warning)
    assert list(at.dataframe[0].value["method"]) == ["hexagan"]  # baselines skipped
    assert len(at.download_button) == 4


def test_pause_and_resume():
    at = page_test("train").run()
    at.number_input(key=widget_key("train", "iterations")).set_value(200000)
    at.button(key=widget_key("train", "start")).click().run()
    job_id = _job_id(at)
    rerun_until(at, lambda a: runtime.snapshot(job_id).status == "running")
    at.button(key=widget_key("train", "pause")).click().run()
    assert runtime.snapshot(job_id).status == "paused"
    assert at.button(key=widget_key("train", "pause")).label == "Resume"
    at.button(key=widget_key("train", "pause")).click().run()
    assert runtime.snapshot(job_id).status in ("running", "queued")
    at.button(key=widget_key("train", "stop")).click().run()
    assert wait_for_job(job_id, timeout=60).status == "stopped"


def test_a_running_job_says_how_long_it_will_take():
    at = page_test("train").run()
    at.number_input(key=widget_key("train", "iterations")).set_value(200000)
    at.button(key=widget_key("train", "start")).click().run()
    job_id = _job_id(at)
    rerun_until(at, lambda a: any("(timed on" in c.value for c in a.caption))
    assert not at.exception
    (estimate,) = [c.value for c in at.caption if "(timed on" in c.value]
    assert estimate.startswith("about ") and "for 200,000 iterations" in estimate
    at.button(key=widget_key("train", "stop")).click().run()
    assert wait_for_job(job_id, timeout=60).status == "stopped"


def test_an_unknown_job_in_the_url_is_reported():
    at = page_test("train")
    at.query_params["job"] = "0123456789abcdef"
    at.run()
    assert not at.exception
    assert any("not known here" in w.value for w in at.warning)
    assert "job" not in at.query_params


def test_a_failed_run_shows_its_one_line_error(tmp_path):
    path = tmp_path / "gone.csv"
    path.write_text("a,b\n" + "\n".join(f"{i},{i % 3}" for i in range(40)) + "\n")
    from ui.state import DataChoice

    at = page_test("train", data=DataChoice(source=str(path), display_name="gone.csv",
                                            is_upload=True))
    at.run()
    path.unlink()  # the file disappears before the run starts
    at.number_input(key=widget_key("train", "iterations")).set_value(20)
    at.button(key=widget_key("train", "start")).click().run()
    rerun_until(at, _ended)
    assert not at.exception
    assert any("gone.csv" in e.value for e in at.error), [e.value for e in at.error]


def test_download_payloads(breast_job):
    result = runtime.snapshot(breast_job).result
    features = result.experiment.dataset.features

    imputed = pd.read_csv(io.BytesIO(runtime.imputed_csv(result)))
    assert imputed.shape == (len(features), features.shape[1] + 1)  # + the label column
    assert not imputed[list(features.columns)].isna().any().any()

    predictions = pd.read_csv(io.BytesIO(runtime.predictions_csv(result)))
    assert list(predictions.columns) == ["diagnosis", "p(malignant)", "p(benign)"]
    assert len(predictions) == len(features)

    config = HexaGANConfig.from_json(runtime.config_json(result).decode())
    assert config.iterations == 60 and config.eval_every == 20

    archive = zipfile.ZipFile(io.BytesIO(runtime.model_zip(result)))
    names = set(archive.namelist())
    assert {"hexagan-model/weights.pt", "hexagan-model/preprocessing.json"} <= names


def test_the_zipped_model_loads_and_predicts_like_the_trained_one(breast_job, tmp_path):
    result = runtime.snapshot(breast_job).result
    zipfile.ZipFile(io.BytesIO(runtime.model_zip(result))).extractall(tmp_path)
    pipeline = load_pipeline(tmp_path / "hexagan-model", device="cpu")
    rows = result.experiment.dataset.features.head(20)
    pd.testing.assert_frame_equal(
        pipeline.predict_table(rows), result.pipeline().predict_table(rows)
    )


def test_without_labels_there_is_nothing_to_predict(unlabelled_csv_job):
    at = page_test("train", train_job=unlabelled_csv_job).run()
    assert not at.exception
    buttons = {b.label: b for b in at.download_button}
    assert list(buttons) == DOWNLOADS
    assert buttons["Predictions (CSV)"].disabled
    assert not buttons["Imputed data (CSV)"].disabled
    results = at.dataframe[0].value
    assert results.loc[0, "f1"] is None or results["f1"].isna().all()


def test_wide_data_with_the_exact_penalty_shows_a_cost_note_before_training():
    def cost_notes(at) -> list[str]:
        return [i.value for i in at.info if "penalty_projections = 4" in i.value]

    wide = DataChoice(source="madelon", display_name="madelon", max_rows=300)
    at = page_test("train", data=wide).run()
    assert not at.exception
    assert len(cost_notes(at)) == 1 and "500 features" in cost_notes(at)[0]
    at.number_input(key=widget_key("train", "penalty_projections")).set_value(4).run()
    assert not at.exception and not cost_notes(at)  # the estimate is chosen: nothing to say
    assert not cost_notes(page_test("train").run())  # breast's 30 features: none
    mnist = DataChoice(source="mnist", display_name="mnist", max_rows=300)
    assert not cost_notes(page_test("train", data=mnist).run())  # 'default' trains convnets


def test_auto_says_which_device_it_trains_on_and_why(monkeypatch):
    def said(at) -> list[str]:
        return [c.value for c in at.caption if c.value.startswith("Device 'auto' trains on")]

    at = page_test("train").run()
    assert not at.exception
    if device_module.accelerator() is None:
        assert said(at) == ["Device 'auto' trains on CPU: no CUDA or MPS device here."]
    monkeypatch.setattr(device_module, "accelerator", lambda: torch.device("cuda"))
    (breast,) = said(page_test("train").run())  # 30 features: the CPU, though a GPU is here
    assert breast.startswith("Device 'auto' trains on CPU: one model of 30 features (K * d^2 = 900")
    wide = DataChoice(source="madelon", display_name="madelon", max_rows=300)
    (madelon,) = said(page_test("train", data=wide).run())
    assert madelon.startswith("Device 'auto' trains on CUDA: one model of 500 features")
    at.selectbox(key=widget_key("train", "device")).set_value("cpu").run()
    assert not at.exception and not said(at)  # a device chosen by name needs no reason


def _chart_rows(chart) -> pd.DataFrame:
    """The rows Streamlit sends with a Vega-Lite chart (one Arrow dataset)."""
    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()


def test_a_session_exploring_the_shipped_model_can_train_its_own(shipped_job):
    at = page_test("train", train_job=shipped_job).run()
    assert not at.exception
    assert any("explores the trained MNIST model" in i.value for i in at.info)
    assert any("No training yet" in i.value for i in at.info)
    assert not at.success and not at.error  # no results table for a model not trained here
    assert not at.button(key=widget_key("train", "start")).disabled


@pytest.fixture(scope="module")
def ensemble_job() -> str:
    """A finished (tiny) run of two imputation models on breast cancer."""
    return train(data="breast", iterations=40,
                 config=preset("default", eval_every=20, n_imputations=2))  # fmt: skip


def test_several_imputation_models_show_their_spread_and_offer_it(ensemble_job):
    at = page_test("train", train_job=ensemble_job).run()
    assert not at.exception
    assert "each of the 2 imputation models selected on validation data" in at.success[0].value
    (heatmap,) = [c for c in at.get("plotly_chart")
                  if "disagree" in json.loads(c.proto.spec)["layout"]["title"]["text"]]
    z = json.loads(heatmap.proto.spec)["data"][0]["z"]
    assert z["shape"] == "50, 30"  # the first 50 test rows, breast's 30 features
    assert any("2 imputation models" in c.value for c in at.caption)
    assert [b.label for b in at.download_button] == [*DOWNLOADS, "Spread (CSV)"]
    charts = at.get("vega_lite_chart")
    specs = [json.loads(chart.proto.spec) for chart in charts]
    assert specs[0]["encoding"]["detail"]["field"] == "imputation"  # a curve per model


def test_the_spread_download_has_the_imputed_tables_shape(ensemble_job):
    result = runtime.snapshot(ensemble_job).result
    imputed = pd.read_csv(io.BytesIO(runtime.imputed_csv(result)))
    spread = pd.read_csv(io.BytesIO(runtime.spread_csv(result)))
    assert spread.shape == imputed.shape and list(spread.columns) == list(imputed.columns)
    assert (spread == 0).all().all()  # breast has no missing cell of its own to impute
