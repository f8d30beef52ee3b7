"""Samples page: digits and imputation triplets for images, generated rows for tables."""

import json

from apptest_support import page_test, train

from hexagan_core import explore
from ui import charts, runtime
from ui.state import widget_key


def _charts(at):
    return at.get("plotly_chart")


def test_without_a_model_it_says_to_train_first():
    at = page_test("samples").run()
    assert not at.exception
    assert any("Train a model first" in i.value for i in at.info)


def _quality(at) -> dict:
    """The quality panel: its three numbers, the chart's per-class bars and its caption."""
    metrics = {m.label: m.value for m in at.metric}
    (chart,) = [c for c in _charts(at) if c.key == "sample_quality"]
    figure = json.loads(chart.proto.spec)
    bars = {t["yaxis"]: t for t in figure["data"]}
    (caption,) = [c.value for c in at.caption if c.value.startswith("Judge: ")]
    return {"metrics": metrics, "agreement": bars["y"], "spread": bars["y2"], "caption": caption}


def _expected_quality(job_id, seed=0):
    return explore.sample_quality(runtime.snapshot(job_id).result, per_class=100, seed=seed)


def test_table_model_shows_generated_rows_and_real_against_generated(breast_job):
    at = page_test("samples", train_job=breast_job).run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["malignant", "benign"]
    assert len(at.dataframe) == 2 and len(at.dataframe[0].value) == 20
    (chart,) = [c for c in _charts(at) if c.key == "real_vs_generated"]
    figure = json.loads(chart.proto.spec)
    names = runtime.snapshot(breast_job).result.experiment.dataset.class_names
    colours = {t["name"]: t["marker"]["color"] for t in figure["data"]}
    assert colours == {n: charts.class_color(n, names) for n in names}  # one colour per class

    at.selectbox(key=widget_key("samples", f"column.{breast_job}")).set_value("worst area").run()
    assert not at.exception
    (chart,) = [c for c in _charts(at) if c.key == "real_vs_generated"]
    assert json.loads(chart.proto.spec)["layout"]["xaxis"]["title"]["text"] == "worst area"


def test_table_model_shows_how_recognisable_and_varied_its_rows_are(breast_job):
    at = page_test("samples", train_job=breast_job).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == [
        "Generated rows per class", "How recognisable and how varied", "Real against generated",
    ]
    shown, expected = _quality(at), _expected_quality(breast_job)
    assert shown["metrics"] == {
        "Agreement": f"{expected.agreement:.0%}",
        "Spread ratio": f"{expected.spread_ratio:.2g}",
        "Judge's accuracy": f"{expected.judge_accuracy:.0%}",
    }
    assert shown["agreement"]["x"] == ["malignant", "benign"]
    assert shown["agreement"]["y"] == list(expected.per_class["agreement"])
    assert shown["spread"]["y"] == list(expected.per_class["spread_ratio"])
    names = runtime.snapshot(breast_job).result.experiment.dataset.class_names
    assert shown["agreement"]["marker"]["color"] == [charts.class_color(n, names) for n in names]
    assert "fitted on the complete real training rows" in shown["caption"]
    assert "chance: 1/2 = 0.50" in shown["caption"]
    assert "0: every sample identical" in shown["caption"]


def test_new_samples_reseeds(breast_job):
    at = page_test("samples", train_job=breast_job).run()
    first = at.dataframe[0].value
    at.button(key=widget_key("samples", "reseed")).click().run()
    assert not at.exception
    assert any("Sample seed 1" in c.value for c in at.caption)
    assert not first.equals(at.dataframe[0].value)


def test_image_model_shows_a_digit_grid_and_imputation_triplets(digits_job):
    at = page_test("samples", train_job=digits_job).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == [
        "Class-conditional digits", "Imputation: original, masked, imputed",
    ]
    grid, quality, triplets = _charts(at)
    grid_figure = json.loads(grid.proto.spec)
    labels = [a["text"] for a in grid_figure["layout"]["annotations"]]
    assert labels[:10] == [f"<b>{d}</b>" for d in range(10)]  # one row per class
    assert "masked" in json.dumps(json.loads(triplets.proto.spec)["layout"]["annotations"])
    # Beside the grid: agreement and spread of 100 samples per digit.
    assert quality.key == "sample_quality"
    shown, expected = _quality(at), _expected_quality(digits_job)
    assert shown["agreement"]["x"] == [str(d) for d in range(10)]
    assert shown["agreement"]["y"] == list(expected.per_class["agreement"])
    assert shown["metrics"]["Agreement"] == f"{expected.agreement:.0%}"
    assert "chance: 1/10 = 0.10" in shown["caption"]
    assert not any("shipped" in i.value for i in at.info)  # trained here: no shipped-model line


def test_the_shipped_model_shows_what_it_is_and_how_good_its_samples_are(shipped_job):
    at = page_test("samples", train_job=shipped_job).run()
    assert not at.exception
    (info,) = at.info
    text = info.value.replace("\\", "")  # shown as Markdown, with its specials escaped
    assert text.startswith("The shipped model, trained on the official training images; shown on")
    assert ("Training: 150 images, 50% of the pixels and 50% of the labels hidden, 2 iterations "
            "on cpu in 3 s.") in text
    assert "C's accuracy 25.0%" in text
    assert [s.value for s in at.subheader] == [
        "Class-conditional digits", "Imputation: original, masked, imputed",
    ]
    shown, expected = _quality(at), _expected_quality(shipped_job)
    assert shown["agreement"]["y"] == list(expected.per_class["agreement"])
    assert "fitted on real digits the model never trained on" in shown["caption"]


def test_a_failing_quality_check_is_a_message_not_a_traceback(monkeypatch):
    job_id = train(data="breast", iterations=20)  # a job of its own: nothing cached for it yet

    def fail(result, per_class=100, seed=0):
        raise ValueError("The judge needs complete labelled rows of at least two classes.")

    monkeypatch.setattr(explore, "sample_quality", fail)
    at = page_test("samples", train_job=job_id).run()
    assert not at.exception
    assert any("at least two classes" in w.value for w in at.warning)
    assert len(at.dataframe) == 2  # the rest of the page is still there


def test_a_model_without_labels_explains_why_there_is_nothing_to_sample(unlabelled_csv_job):
    at = page_test("samples", train_job=unlabelled_csv_job).run()
    assert not at.exception
    assert any("without a label column" in i.value for i in at.info)
