"""The decision rule chosen on validation rows (issue 14): a threshold with the best F1 on hand-made
probabilities, argmax where a class has too few rows, multiclass weights never worse than argmax;
training chooses it (an ensemble one rule on its mean), saves and loads it, and a model saved
before rules existed loads as argmax."""

import json

import numpy as np
import pytest
from sklearn.datasets import make_classification

from hexagan_core import metrics
from hexagan_core.config import preset
from hexagan_core.decision import MIN_ROWS_PER_CLASS, DecisionRule, choose_rule
from hexagan_core.ensemble import HexaGANEnsemble, load_model
from hexagan_core.experiment import RunOptions, run_experiment
from hexagan_core.model import HexaGANModel
from hexagan_core.train import Validation, fit

TINY = {"iterations": 6, "batch_size": 8, "eval_every": 3}


def _binary(negatives, positives):
    """Labels and two-column probabilities from the positive class's probabilities."""
    p = np.array([*negatives, *positives], dtype=np.float64)
    y = np.array([0] * len(negatives) + [1] * len(positives))
    return y, np.column_stack([1 - p, p])


def _best_f1_on_a_fine_grid(y, proba):
    """The best F1 of class 1 over thresholds 0, 0.0001, ..., 1 (by brute force)."""
    predicted = proba[None, :, 1] > np.linspace(0, 1, 10_001)[:, None]
    true_positives = (predicted & (y == 1)).sum(axis=1)
    return (2 * true_positives / (predicted.sum(axis=1) + (y == 1).sum())).max()


def test_the_threshold_is_the_one_with_the_best_f1():
    # Argmax finds 1 of 6 positives (F1 0.29); between 0.20 and 0.25 it finds 5, no false one.
    y, proba = _binary(np.arange(1, 21) / 100, [0.15, 0.25, 0.3, 0.35, 0.4, 0.6])
    rule = choose_rule(y, proba)
    assert rule == DecisionRule(threshold=(0.20 + 0.25) / 2, positive=1)
    chosen = metrics.f1(y, rule.predict(proba), n_classes=2)
    assert chosen == pytest.approx(10 / 11) and chosen == pytest.approx(
        _best_f1_on_a_fine_grid(y, proba)
    )
    assert metrics.f1(y, proba.argmax(axis=1), n_classes=2) == pytest.approx(2 / 7)


def test_ties_go_to_the_threshold_nearest_one_half():
    # Above 0.90: 3 of 6 positives, none false (F1 2/3); above 0.665: all 6 and 6 false ones
    # (F1 2/3). Every other threshold does worse, 0.5 (argmax) too.
    negatives = [0.89, 0.87, 0.85, 0.83, 0.81, 0.79] + [0.6] * 10
    y, proba = _binary(negatives, [0.95, 0.93, 0.91, 0.77, 0.75, 0.73])
    rule = choose_rule(y, proba)
    assert rule.threshold == pytest.approx((0.73 + 0.6) / 2) and rule.positive == 1
    assert metrics.f1(y, rule.predict(proba), n_classes=2) == pytest.approx(
        _best_f1_on_a_fine_grid(y, proba)
    )


def test_argmax_is_kept_when_it_is_among_the_best():
    y, proba = _binary([0.1, 0.2, 0.3, 0.35, 0.4, 0.45], [0.7, 0.8, 0.85, 0.9, 0.95])
    assert choose_rule(y, proba) == DecisionRule()


def test_the_minority_is_the_positive_class_whatever_its_code():
    y, proba = _binary([0.4, 0.55, 0.7, 0.75, 0.8, 0.85], np.linspace(0.6, 0.95, 20))
    rule = choose_rule(y, proba)  # class 0 has 6 rows: its probability is thresholded
    assert rule.positive == 0
    assert metrics.f1(y, rule.predict(proba), n_classes=2) > metrics.f1(
        y, proba.argmax(axis=1), n_classes=2
    )


def test_too_few_rows_of_a_class_keep_argmax():
    negatives = np.arange(1, 21) / 100
    positives = [0.25, 0.3, 0.35, 0.4, 0.6, 0.45]
    enough = choose_rule(*_binary(negatives, positives[:MIN_ROWS_PER_CLASS]))
    assert enough.kind == "threshold"
    y, proba = _binary(negatives, positives[: MIN_ROWS_PER_CLASS - 1])
    assert choose_rule(y, proba) == DecisionRule()
    # unlabelled rows (-1) neither count nor vote
    y_more = np.concatenate([y, [-1] * 5])
    proba_more = np.concatenate([proba, np.tile([[0.3, 0.7]], (5, 1))])
    assert choose_rule(y_more, proba_more) == DecisionRule()
    assert choose_rule(y, proba, min_rows=MIN_ROWS_PER_CLASS - 1).kind == "threshold"


def _three_classes(seed):
    """Three classes, the third rare and under-rated by its probabilities."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, size=300, p=[0.6, 0.3, 0.1])
    logits = rng.normal(size=(300, 3)) + 1.5 * np.eye(3)[y] - np.array([0, 0, 1.2])
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


@pytest.mark.parametrize("seed", range(6))
def test_multiclass_weights_are_never_worse_than_argmax(seed):
    y, proba = _three_classes(seed)
    rule = choose_rule(y, proba)
    tuned = metrics.f1(y, rule.predict(proba), n_classes=3)
    assert tuned >= metrics.f1(y, proba.argmax(axis=1), n_classes=3)


def test_multiclass_weights_raise_the_rare_class():
    y, proba = _three_classes(0)
    rule = choose_rule(y, proba)
    assert rule.kind == "weights" and rule.weights[2] > max(rule.weights[:2])
    assert metrics.f1(y, rule.predict(proba), n_classes=3) > metrics.f1(
        y, proba.argmax(axis=1), n_classes=3) + 0.02  # fmt: skip
    assert choose_rule(y[y < 2], proba[y < 2][:, [0, 1, 2]]) == DecisionRule()  # a class absent


def test_multiclass_argmax_is_kept_when_no_weight_beats_it():
    # Every row right by a margin: weights 0.8 and 1.25 tie (F1 1), stronger ones lose.
    y = np.repeat([0, 1, 2], 5)
    proba = np.full((15, 3), 0.3)
    proba[np.arange(15), y] = 0.4
    assert choose_rule(y, proba) == DecisionRule()


@pytest.mark.parametrize(
    ("saved", "n_classes", "message"),
    [
        ({"rule": "threshold", "positive": 1, "threshold": 0.3}, 3, "only with 2 classes"),
        ({"rule": "threshold", "positive": 2, "threshold": 0.3}, 2, "'positive' parameter"),
        ({"rule": "threshold", "positive": 1, "threshold": float("nan")}, 2, "'threshold'"),
        ({"rule": "threshold", "positive": 1}, 2, "'decision_rule' parameter"),
        ({"rule": "weights", "weights": [1.0, 2.0]}, 3, "a list of 3 weights"),
        ({"rule": "weights", "weights": [1.0, 2.0]}, 2, "weights only with 3 classes"),
        ({"rule": "weights", "weights": [1.0, -2.0, 1.0]}, 3, "'weights' parameter"),
        ({"rule": "weights", "weights": [1.0, "x", 1.0]}, 3, "'weights' parameter"),
        ({"rule": "median"}, 2, "'decision_rule' parameter"),
        (["argmax"], 2, "'decision_rule' parameter"),
    ],
)
def test_a_bad_saved_rule_is_refused(saved, n_classes, message):
    with pytest.raises(ValueError, match=message):
        DecisionRule.from_dict(saved, n_classes, "model.json")


@pytest.mark.parametrize(
    "rule",
    [
        DecisionRule(),
        DecisionRule(threshold=0.123456789, positive=0),
        DecisionRule(weights=(1.0, 0.8, 2.5)),
    ],  # fmt: skip
)
def test_a_rule_reads_back_as_written(rule):
    n_classes = 3 if rule.weights else 2
    assert DecisionRule.from_dict(json.loads(json.dumps(rule.to_dict())), n_classes, "x") == rule


# --- training chooses the rule, models keep and save it ---------------------------------------


def _toy():
    """60 rows of 4 features, a quarter of them hidden, and 2 classes (3 : 1)."""
    x, y = make_classification(60, 4, n_informative=2, n_redundant=0, weights=[0.75],
                               random_state=0)  # fmt: skip
    x = (x - x.min(axis=0)) / np.ptp(x, axis=0)
    removed = np.random.default_rng(0).random(x.shape) < 0.25
    x_in = np.where(removed, np.nan, x).astype(np.float32)
    return x_in, y, Validation(x_in, x, removed, y)


class _Spy:
    """Stands in for `choose_rule`: records what it was given and returns a fixed threshold."""

    rule = DecisionRule(threshold=0.3, positive=1)

    def __init__(self):
        self.calls = []

    def __call__(self, y_true, proba):
        self.calls.append((y_true, proba))
        return self.rule


@pytest.mark.parametrize("n_imputations", [1, 2])
def test_training_chooses_one_rule_on_the_validation_probabilities(monkeypatch, n_imputations):
    spy = _Spy()
    monkeypatch.setattr("hexagan_core.train.choose_rule", spy)
    x_in, y, validation = _toy()
    config = preset("default", seed=3, n_imputations=n_imputations, **TINY)
    model = fit(config, x_in, y, validation=validation, device="cpu", select_best="val_rmse",
                select_classifier="val_f1", decision_rule="val_f1")  # fmt: skip
    [(y_seen, proba_seen)] = spy.calls  # one rule, for an ensemble too: on its mean
    np.testing.assert_array_equal(y_seen, y)
    np.testing.assert_array_equal(proba_seen, model.predict_proba(x_in, seed=3))
    assert model.decision_rule == spy.rule
    np.testing.assert_array_equal(model.predict(x_in), spy.rule.predict(model.predict_proba(x_in)))
    if n_imputations > 1:
        assert isinstance(model, HexaGANEnsemble)
        assert all(member.decision_rule == DecisionRule() for member in model.members)


def test_argmax_training_and_unlabelled_validation_keep_argmax(monkeypatch):
    spy = _Spy()
    monkeypatch.setattr("hexagan_core.train.choose_rule", spy)
    x_in, y, validation = _toy()
    config = preset("default", **TINY)
    assert fit(config, x_in, y, validation=validation, device="cpu").decision_rule == DecisionRule()
    unlabelled = Validation(validation.x_input, validation.x_true, validation.removed)
    model = fit(config, x_in, y, validation=unlabelled, device="cpu", decision_rule="val_f1")
    assert model.decision_rule == DecisionRule() and not spy.calls
    with pytest.raises(ValueError, match="decision_rule must be one of"):
        fit(config, x_in, y, device="cpu", decision_rule="threshold")


@pytest.mark.parametrize("n_imputations", [1, 2])
def test_a_saved_rule_loads_back_and_an_old_model_loads_as_argmax(tmp_path, n_imputations):
    x_in, y, _ = _toy()
    model = fit(preset("default", n_imputations=n_imputations, **TINY), x_in, y, device="cpu")
    model.decision_rule = DecisionRule(threshold=0.47, positive=1)
    directory = model.save(tmp_path / "model")
    loaded, _ = load_model(directory, device="cpu")
    assert loaded.decision_rule == model.decision_rule
    np.testing.assert_array_equal(loaded.predict(x_in), model.predict(x_in))
    assert (loaded.predict(x_in) != loaded.predict_proba(x_in).argmax(axis=1)).any()
    # saved before models kept a rule: no entry in model.json
    meta_path = directory / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["decision_rule"]
    meta_path.write_text(json.dumps(meta))
    old, _ = load_model(directory, device="cpu")
    assert old.decision_rule == DecisionRule()
    np.testing.assert_array_equal(old.predict(x_in), old.predict_proba(x_in).argmax(axis=1))
    meta["decision_rule"] = {"rule": "weights", "weights": [1.0, 2.0]}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"'decision_rule' parameter of .*model.json must be weig"):
        load_model(directory, device="cpu")


def test_a_single_model_saved_by_itself_keeps_its_rule(tmp_path):
    x_in, y, _ = _toy()
    model = fit(preset("default", **TINY), x_in, y, device="cpu")
    model.decision_rule = DecisionRule(threshold=0.2, positive=0)
    loaded, _ = HexaGANModel.load(model.save(tmp_path / "single"), device="cpu")
    assert loaded.decision_rule == model.decision_rule


def test_the_report_scores_f1_and_accuracy_with_the_rule(monkeypatch):
    spy = _Spy()
    monkeypatch.setattr("hexagan_core.train.choose_rule", spy)
    options = RunOptions(data="breast", seed=0, iterations=4, device="cpu",
                         decision_rule="val_f1")  # fmt: skip
    result = run_experiment(options)
    test = result.experiment.test
    proba = result.model.predict_proba(test.x_input, seed=0)
    expected = metrics.classification_scores(test.y_true, proba, y_pred=spy.rule.predict(proba))
    scores = result.report["results"]["hexagan"]
    assert result.report["decision_rule"] == spy.rule.to_dict()
    assert {k: scores[k] for k in expected} == pytest.approx(expected)
    assert scores["accuracy"] != pytest.approx(metrics.accuracy(test.y_true, proba.argmax(axis=1)))
