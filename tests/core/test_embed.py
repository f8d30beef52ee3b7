"""The hidden space: stratified subsampling, the points of a run, and their 2-D embeddings."""

import numpy as np
import pandas as pd
import pytest

from hexagan_core.config import preset
from hexagan_core.embed import embed, hidden_space_points, stratified_subsample
from hexagan_core.experiment import RunOptions, RunResult, run_experiment
from hexagan_core.model import HexaGANModel, resolve_device
from hexagan_core.networks import build_networks


@pytest.fixture(scope="module")
def run():
    options = RunOptions(
        data="breast",
        iterations=20,
        label_missing_rate=0.5,
        device="cpu",
        config=preset("default", eval_every=10),
    )
    return run_experiment(options)


def test_stratified_subsample_keeps_proportions():
    labels = np.repeat([0, 1, -1], [80, 15, 5])
    rows = stratified_subsample(labels, 20, seed=0)
    assert len(rows) == 20 and len(np.unique(rows)) == 20
    assert np.all(np.diff(rows) > 0) and rows.min() >= 0 and rows.max() < 100
    # 20% of each group: 16, 3 and 1 (the unlabelled -1 rows are a group of their own)
    assert [int((labels[rows] == c).sum()) for c in (0, 1, -1)] == [16, 3, 1]
    assert np.array_equal(rows, stratified_subsample(labels, 20, seed=0))
    assert not np.array_equal(rows, stratified_subsample(labels, 20, seed=1))


def test_stratified_subsample_rounds_by_largest_remainder_and_keeps_rare_groups():
    labels = np.repeat(["a", "b", "c"], [50, 30, 20])
    rows = stratified_subsample(labels, 9, seed=0)  # exact shares 4.5, 2.7, 1.8
    assert [int((labels[rows] == g).sum()) for g in "abc"] == [4, 3, 2]
    rare = np.repeat([0, 1], [998, 2])
    rows = stratified_subsample(rare, 10, seed=0)  # shares 9.98 and 0.02
    assert [int((rare[rows] == c).sum()) for c in (0, 1)] == [9, 1]


def test_stratified_subsample_small_input_and_bad_sizes():
    assert stratified_subsample(np.zeros(7), 10, seed=0).tolist() == list(range(7))
    with pytest.raises(
        ValueError,
        match=r"'max_points' parameter of stratified_subsample must be an int in the range "
        r"\[1, inf\). Got 0 instead",
    ):
        stratified_subsample(np.zeros(7), 0, seed=0)
    with pytest.raises(ValueError, match="'max_points' parameter .* Got 2.5 instead"):
        stratified_subsample(np.zeros(7), 2.5, seed=0)


def test_hidden_space_points_of_a_run(run):
    points = hidden_space_points(run, n_generated_per_class=30, max_points=10_000)
    hidden_dim = run.model.networks.hidden_dim
    assert hidden_dim == 128  # breast: 30 features, widened to min_width
    h_columns = [f"h{i}" for i in range(hidden_dim)]
    assert list(points.columns) == [*h_columns, "class", "source"]
    train = run.experiment.train
    counts = points["source"].value_counts()
    assert counts["labelled"] == int((train.y_input >= 0).sum())
    assert counts["unlabelled"] == int((train.y_input < 0).sum()) > 0
    assert counts["generated"] == 2 * 30
    assert set(points["class"]) == {"malignant", "benign"}
    # Real rows come first, in training order: their h is E(x) of those rows.
    n_real = len(train.x_input)
    np.testing.assert_allclose(
        points[h_columns].to_numpy()[:n_real], run.model.hidden(train.x_input, seed=0), rtol=1e-6
    )
    # Unlabelled rows carry their true class name.
    names = np.array(run.experiment.dataset.class_names, dtype=object)
    assert (points["class"][:n_real].to_numpy() == names[train.y_true]).all()
    generated = points[points["source"] == "generated"]
    _, h_benign = run.model.sample(1, 30, seed=0)
    np.testing.assert_allclose(generated[h_columns].to_numpy()[30:], h_benign, rtol=1e-6)


def test_hidden_space_points_subsample_every_group(run):
    points = hidden_space_points(run, n_generated_per_class=30, max_points=60)
    assert len(points) == 60
    groups = set(zip(points["source"], points["class"], strict=True))
    assert groups == {
        (source, name)
        for source in ("labelled", "unlabelled", "generated")
        for name in ("malignant", "benign")
    }


def test_hidden_space_points_without_classes(run):
    config = preset("default", iterations=1)
    model = HexaGANModel(
        config, build_networks(config, run.experiment.n_features, 0), resolve_device("cpu")
    )
    points = hidden_space_points(RunResult(run.experiment, model, {}), max_points=50)
    assert len(points) == 50
    assert set(points["source"]) == {"observed"} and set(points["class"]) == {"n/a"}


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_embed_adds_finite_coordinates(run, method):
    points = hidden_space_points(run, n_generated_per_class=10, max_points=40)
    calls = []
    out = embed(points, method, seed=0, progress=calls.append)
    assert list(out.columns) == [*points.columns, "x", "y"]
    pd.testing.assert_frame_equal(out[points.columns], points)
    xy = out[["x", "y"]].to_numpy()
    assert xy.shape == (40, 2) and np.isfinite(xy).all()
    assert xy.std(axis=0).min() > 0  # the points are spread out, not collapsed
    assert calls[0] == 0.0 and calls[-1] == 1.0
    assert "x" not in points.columns  # the input is not modified


def test_embed_refuses_bad_input(run):
    points = hidden_space_points(run, n_generated_per_class=1, max_points=40)
    with pytest.raises(ValueError, match="'method' parameter of embed .* Got 'pca'"):
        embed(points, "pca")
    with pytest.raises(ValueError, match="at least 5 points. Got 4"):
        embed(points.iloc[:4])
    with pytest.raises(ValueError, match="no hidden-vector columns"):
        embed(points[["class", "source"]])


def test_embed_refuses_collapsed_hidden_vectors():
    points = pd.DataFrame({"h0": [0.0] * 10, "h1": [0.0] * 10, "class": ["a"] * 10,
                           "source": ["labelled"] * 10})
    with pytest.raises(ValueError, match="All hidden vectors are identical"):
        embed(points, "tsne")
