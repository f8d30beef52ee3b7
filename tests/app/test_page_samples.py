"""Samples page: digits and imputation triplets for images, generated rows for tables."""

import json

from apptest_support import page_test

from ui import charts, runtime
from ui.state import widget_key


def _charts(at):
    return at.get("plotly_chart")


def test_without_a_model_it_says_to_train_first():
    at = page_test("samples").run()
    assert not at.exception
    assert any("Train a model first" in i.value for i in at.info)


def test_table_model_shows_generated_rows_and_real_against_generated(breast_job):
    at = page_test("samples", train_job=breast_job).run()
    assert not at.exception
    assert [t.label for t in at.tabs] == ["malignant", "benign"]
    assert len(at.dataframe) == 2 and len(at.dataframe[0].value) == 20
    (chart,) = _charts(at)
    figure = json.loads(chart.proto.spec)
    names = runtime.snapshot(breast_job).result.experiment.dataset.class_names
    colours = {t["name"]: t["marker"]["color"] for t in figure["data"]}
    assert colours == {n: charts.class_color(n, names) for n in names}  # one colour per class

    at.selectbox(key=widget_key("samples", f"column.{breast_job}")).set_value("worst area").run()
    assert not at.exception
    assert json.loads(_charts(at)[0].proto.spec)["layout"]["xaxis"]["title"]["text"] == "worst area"


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
    grid, triplets = _charts(at)
    grid_figure = json.loads(grid.proto.spec)
    labels = [a["text"] for a in grid_figure["layout"]["annotations"]]
    assert labels[:10] == [f"<b>{d}</b>" for d in range(10)]  # one row per class
    assert "masked" in json.dumps(json.loads(triplets.proto.spec)["layout"]["annotations"])


def test_a_model_without_labels_explains_why_there_is_nothing_to_sample(unlabelled_csv_job):
    at = page_test("samples", train_job=unlabelled_csv_job).run()
    assert not at.exception
    assert any("without a label column" in i.value for i in at.info)
