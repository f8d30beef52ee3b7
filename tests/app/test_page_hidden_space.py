"""Hidden space page: empty states, and a t-SNE computed in the background and cached."""

import json

import numpy as np
import pandas as pd
from apptest_support import page_test, rerun_until, train

from hexagan_core.experiment import RunOptions
from ui import charts, runtime
from ui.state import widget_key


def _charts(at):
    return at.get("plotly_chart")


def test_without_a_model_it_says_to_train_first():
    at = page_test("hidden_space").run()
    assert not at.exception
    assert any("Train a model first" in i.value for i in at.info)
    assert not _charts(at)


def test_while_training_it_says_to_come_back():
    options = RunOptions(data="breast", iterations=200000, device="cpu")
    job_id = runtime.job_manager().start_training(options)
    try:
        at = page_test("hidden_space", train_job=job_id).run()
        assert not at.exception
        assert any("still running" in i.value for i in at.info)
    finally:
        runtime.job_manager().stop(job_id)


def test_tsne_of_a_trained_model_in_class_colours(breast_job):
    at = page_test("hidden_space", train_job=breast_job).run()
    assert not at.exception
    rerun_until(at, lambda a: bool(_charts(a)), timeout=180)
    figure = json.loads(_charts(at)[0].proto.spec)
    names = runtime.snapshot(breast_job).result.experiment.dataset.class_names
    by_name = {t["name"]: t for t in figure["data"]}
    for class_name in names:
        for source in ("labelled", "generated"):
            trace = by_name[f"{class_name}, {source}"]
            assert trace["marker"]["color"] == charts.class_color(class_name, names)
    assert any("generated" in c.value for c in at.caption)

    # Cached per (job, method): a second visit draws at once, without recomputing.
    task = runtime.embedding_task(breast_job, "tsne", None)
    again = page_test("hidden_space", train_job=breast_job).run()
    assert _charts(again)
    assert runtime.embedding_task(breast_job, "tsne", None) is task


def test_collapsed_hidden_vectors_are_refused_not_crashed_on(monkeypatch):
    # When every hidden vector is the same point (dead units after very short training),
    # scikit-learn's t-SNE divides by their zero spread and crashes the whole process (seen on
    # a 3-column CSV after 20 iterations). The page must say why instead.
    job_id = train(data="breast", iterations=20)
    collapsed = pd.DataFrame({"h0": [0.0] * 30, "h1": [0.0] * 30, "class": "malignant",
                              "source": "labelled"})
    monkeypatch.setattr(runtime, "hidden_space_points", lambda result, **kw: collapsed)
    at = page_test("hidden_space", train_job=job_id).run()
    rerun_until(at, lambda a: bool(_charts(a)) or bool(a.error), timeout=60)
    assert not at.exception
    assert any("same point" in e.value for e in at.error), [e.value for e in at.error]


def test_a_model_without_labels_shows_its_observed_rows(tmp_path):
    path = tmp_path / "plain.csv"
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 6)), columns=list("abcdef"))
    frame.mask(rng.random(frame.shape) < 0.1).to_csv(path, index=False)
    job_id = train(data=str(path), iterations=100)
    at = page_test("hidden_space", train_job=job_id).run()
    rerun_until(at, lambda a: bool(_charts(a)) or bool(a.error), timeout=180)
    assert not at.error, [e.value for e in at.error]
    figure = json.loads(_charts(at)[0].proto.spec)
    assert {t["name"] for t in figure["data"]} == {"n/a, observed"}


def test_a_failed_projection_is_shown_with_a_retry(monkeypatch):
    job_id = train(data="breast", iterations=20)

    def fail(points, method="tsne", **kwargs):
        raise ValueError("points has non-finite hidden values; they cannot be embedded.")

    monkeypatch.setattr(runtime, "embed", fail)
    at = page_test("hidden_space", train_job=job_id).run()
    rerun_until(at, lambda a: bool(a.error), timeout=60)
    assert "non-finite" in at.error[0].value
    assert not _charts(at)

    monkeypatch.undo()
    at.button(key=widget_key("hidden", "retry")).click().run()
    rerun_until(at, lambda a: bool(_charts(a)), timeout=180)
    assert not at.error


def test_umap_is_computed_and_cached_separately_from_tsne(breast_job):
    at = page_test("hidden_space", train_job=breast_job).run()
    at.get("button_group")[0].set_value("umap").run()
    assert not at.exception
    rerun_until(at, lambda a: bool(_charts(a)), timeout=240)
    figure = json.loads(_charts(at)[0].proto.spec)
    assert figure["layout"]["xaxis"]["title"]["text"] == "UMAP 1"
    assert runtime.embedding_task(breast_job, "umap", None) is not runtime.embedding_task(
        breast_job, "tsne", None
    )


def test_the_shipped_model_shows_real_digits_it_never_trained_on(shipped_job, monkeypatch):
    def first_two_units(points, method="tsne", seed=0, progress=None):  # a quick stand-in
        return points.assign(x=points["h0"], y=points["h1"])

    monkeypatch.setattr(runtime, "embed", first_two_units)
    at = page_test("hidden_space", train_job=shipped_job).run()
    rerun_until(at, lambda a: bool(_charts(a)) or bool(a.error), timeout=120)
    assert not at.error, [e.value for e in at.error]
    assert at.info[0].value.startswith("The shipped model, trained on the official training")
    figure = json.loads(_charts(at)[0].proto.spec)
    sources = {t["name"].split(", ")[1] for t in figure["data"]}
    assert sources == {"labelled", "generated"}  # every real digit has its label
    (caption,) = [c.value for c in at.caption if "hidden vectors (" in c.value]
    assert "200 labelled" in caption and "1,000 generated" in caption
    assert "● real digit, not used in training, × generated by G_CG" in caption
    assert "training row" not in caption
