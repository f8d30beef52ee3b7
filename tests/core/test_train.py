"""Algorithm 1: every option runs, the schedule is reproducible, stop/pause are honoured, and the
label-adversarial term really trains C."""

import json
import math
import threading

import numpy as np
import pytest
import torch

from hexagan_core import losses, metrics
from hexagan_core import train as train_module
from hexagan_core.algorithm import Algorithm
from hexagan_core.config import preset
from hexagan_core.control import RunControl
from hexagan_core.engine import ClosedFormAlgorithm
from hexagan_core.model import HexaGANModel
from hexagan_core.networks import build_networks
from hexagan_core.train import Validation, fit


def _toy(n=60, d=5, seed=0, missing=0.2, unlabelled=0.3):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    x = latent @ rng.normal(size=(2, d))
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    y = (latent[:, 0] > 0.3).astype(np.int64)
    x_in = np.where(rng.random(x.shape) < missing, np.nan, x)
    y_in = np.where(rng.random(n) < unlabelled, -1, y)
    return x, x_in, y, y_in


def _algorithm(config, x, y) -> Algorithm:
    """The readable Algorithm 1 (autograd) for one model."""
    return Algorithm([config], [x], [y], torch.device("cpu"))


TINY = {"iterations": 3, "batch_size": 8, "eval_every": 1}


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"penalty": "wgan_gp"},
        {"penalty": "weight_clip"},
        {"penalty": "weight_clip", "cg_penalty": "zero_centred"},
        {"cg_penalty": "wgan_gp"},
        {"adversarial_loss": "gain"},
        {"optimizer": "adam"},
        {"label_adversarial": "straight_through"},
        {"label_adversarial": "rounded"},
        {"recon_drop_rate": 0.3},
        {"recon_drop_rate": 0.3, "recon_drop": "random"},
        {"penalty_projections": 2},
        {"adversarial_weight": 0.0},
        {"classifier_balance": "none"},
        {"update_order": "official", "pretrain_iterations": 2, "lr_decay": 0.99},
        {"architecture": "official", "cg_penalty_reduction": "sum", "c_weight_decay": 1e-3},
    ],
)
def test_every_option_trains_and_reports_every_loss(overrides):
    x, x_in, y, y_in = _toy()
    reports = []
    model = fit(preset("paper", **TINY, **overrides), x_in, y_in, device="cpu",
                callback=reports.append, validation=Validation(x_in, x, np.isnan(x_in), y))
    assert [r["iteration"] for r in reports] == [1, 2, 3]
    expected = {"d_mi", "d_mi_label", "gp_mi", "g_mi", "recon", "d_cg", "gp_cg", "g_cg",
                "g_mi_c", "ce_c", "ce", "c_adv"}
    assert set(reports[-1]["losses"]) == expected
    assert all(np.isfinite(v) for v in reports[-1]["losses"].values())
    assert 0 <= reports[-1]["val_rmse"] < 1 and 0 <= reports[-1]["val_f1"] <= 1
    imputed = model.impute(x_in)
    assert not np.isnan(imputed).any()
    observed = ~np.isnan(x_in)
    assert np.array_equal(imputed[observed], x_in[observed].astype(np.float32))


def test_weight_clipping_bounds_the_critics():
    _, x_in, _, y_in = _toy()
    model = fit(preset("paper", **TINY, penalty="weight_clip", clip_value=0.01), x_in, y_in,
                device="cpu")
    for critic in (model.networks.d_mi, model.networks.d_cg):
        assert max(p.abs().max().item() for p in critic.parameters()) <= 0.01 + 1e-7


@pytest.mark.parametrize(("penalty", "cg_penalty"), [("weight_clip", "zero_centred"),
                                                     ("zero_centred", "weight_clip")])
def test_d_cg_can_have_its_own_regulariser(penalty, cg_penalty):
    _, x_in, _, y_in = _toy()
    reports = []
    model = fit(preset("paper", **TINY, penalty=penalty, cg_penalty=cg_penalty, clip_value=0.01),
                x_in, y_in, device="cpu", callback=reports.append)
    largest = {name: max(p.abs().max().item() for p in getattr(model.networks, name).parameters())
               for name in ("d_mi", "d_cg")}  # fmt: skip
    clipped = "d_mi" if penalty == "weight_clip" else "d_cg"
    penalised = {"d_mi": "gp_mi", "d_cg": "gp_cg"}["d_cg" if clipped == "d_mi" else "d_mi"]
    unpenalised = {"d_mi": "gp_mi", "d_cg": "gp_cg"}[clipped]
    assert largest[clipped] <= 0.01 + 1e-7
    assert largest["d_cg" if clipped == "d_mi" else "d_mi"] > 0.01
    assert reports[-1]["losses"][penalised] > 0 and reports[-1]["losses"][unpenalised] == 0


def test_same_seed_same_model_and_different_seed_different_model():
    _, x_in, _, y_in = _toy()
    config = preset("default", **TINY)
    a = fit(config, x_in, y_in, device="cpu").impute(x_in)
    b = fit(config, x_in, y_in, device="cpu").impute(x_in)
    c = fit(config.replace(seed=1), x_in, y_in, device="cpu").impute(x_in)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_imputation_only_without_labels():
    x, x_in, _, _ = _toy()
    reports = []
    model = fit(preset("default", **TINY), x_in, None, device="cpu", callback=reports.append,
                validation=Validation(x_in, x, np.isnan(x_in)))
    assert model.n_classes == 0 and model.networks.classifier is None
    assert set(reports[-1]["losses"]) == {"d_mi", "d_mi_label", "gp_mi", "g_mi", "recon"}
    with pytest.raises(ValueError, match="without labels"):
        model.predict_proba(x_in)


def test_stop_is_honoured_within_one_iteration():
    _, x_in, _, y_in = _toy()
    control = RunControl()

    def stop_at_two(report):
        if report["iteration"] == 2:
            control.stop()

    model = fit(preset("default", iterations=100, batch_size=8, eval_every=1), x_in, y_in,
                device="cpu", callback=stop_at_two, control=control)
    assert model.history[-1]["iteration"] == 2


def test_pause_holds_training_until_resumed():
    _, x_in, _, y_in = _toy()
    control, reports = RunControl(), []
    control.pause()
    worker = threading.Thread(target=fit, args=(preset("default", **TINY), x_in, y_in),
                              kwargs={"device": "cpu", "control": control,
                                      "callback": reports.append})
    worker.start()
    worker.join(timeout=0.5)
    assert worker.is_alive() and reports == []
    control.resume()
    worker.join(timeout=60)
    assert not worker.is_alive() and len(reports) == 3


def test_select_best_restores_the_best_validation_networks():
    x, x_in, y, y_in = _toy()
    config = preset("default", iterations=6, batch_size=8, eval_every=2)
    model = fit(config, x_in, y_in, device="cpu", select_best="val_rmse",
                validation=Validation(x_in, x, np.isnan(x_in), y))
    best = min(model.history, key=lambda r: r["val_rmse"])
    assert best.get("best")
    rmse = np.sqrt(np.mean((model.impute(x_in) - x)[np.isnan(x_in)] ** 2))
    assert rmse == pytest.approx(best["val_rmse"], rel=1e-5)


@pytest.mark.parametrize("mode", ["soft", "straight_through", "rounded"])
def test_label_adversarial_term_reaches_c_unless_rounded(mode):
    _, x_in, _, y_in = _toy()
    trainer = _algorithm(preset("paper", label_adversarial=mode), x_in, y_in)
    batch = trainer.draw().of("c")
    n_l = trainer.n_batch_labelled
    x_hat, _ = trainer.impute(batch)
    y_in_u = trainer.label_input(batch, x_hat)[:, n_l:]
    loss_c = losses.label_adversarial_loss(trainer.nets["d_mi"](x_hat[:, n_l:], y_in_u)[..., -1])
    grad = trainer.nets["classifier"].flat_gradient(loss_c.sum())
    if mode == "rounded":
        assert grad.abs().sum() == 0
    else:
        assert grad.abs().sum() > 0


def test_c_batch_is_balanced_by_generated_rows():
    """Synthetic rows top each class up to the batch's largest class (weights sum to the gap)."""
    x_in = np.random.default_rng(0).random((40, 4))
    y = np.array([0] * 30 + [1] * 10)
    trainer = _algorithm(preset("default", batch_size=40), x_in, y)
    draws = trainer.draw()
    y_c = torch.eye(2)[torch.tensor(y)][None]  # the whole table as C's labelled batch
    x_c = torch.from_numpy(x_in).float()[None]
    rows, targets, weights = trainer.classifier_rows(draws, x_c, y_c)
    synthetic = weights[0, 40:]
    balance_y = trainer.sampler.balance_y
    assert rows.shape[1] == targets.shape[1] == 40 + len(balance_y)
    assert synthetic[balance_y[:, 1] == 1].sum().item() == pytest.approx(20.0)
    assert synthetic[balance_y[:, 0] == 1].sum().item() == 0.0


def test_c_without_balancing_never_draws_generated_rows():
    x, x_in, y, y_in = _toy()
    trainer = _algorithm(preset("default", batch_size=8, classifier_balance="none"), x_in, y_in)

    def refuse(*_args):
        raise AssertionError("c_step drew generated rows")

    trainer.generate = refuse
    record = trainer.c_step(trainer.draw())
    assert torch.isfinite(record["ce"])


def test_mnist_networks_train_one_step():
    rng = np.random.default_rng(0)
    x = rng.random((16, 784)).astype(np.float32)
    x[rng.random(x.shape) < 0.5] = np.nan
    y = np.arange(16) % 10
    config = preset("default", architecture="mnist", penalty="weight_clip", iterations=1,
                    batch_size=8, eval_every=1)
    nets = build_networks(config, 784, 10)
    assert nets.encoder(torch.rand(2, 784), torch.ones(2, 784)).shape == (2, 2048)
    assert nets.g_mi(torch.rand(2, 2048)).shape == (2, 784)
    assert nets.d_mi(torch.rand(2, 784), torch.eye(10)[:2]).shape == (2, 785)
    model = fit(config, x, y, device="cpu")
    assert model.history[-1]["iteration"] == 1
    samples, hidden = model.sample(3, 4)
    assert samples.shape == (4, 784) and hidden.shape == (4, 2048)


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((1, 3)), None, "at least 2 rows"),
        (np.array([[np.inf, 1.0], [0.0, 1.0]]), None, "infinite"),
        (np.array([[np.nan, 1.0], [np.nan, 1.0]]), None, "Feature 0 has no observed value"),
        (np.zeros((4, 2)), np.array([0, 0, 0, -1]), "at least 2 classes"),
        (np.zeros((4, 2)), np.array([0, 1]), "one label per row"),
    ],
)
def test_bad_training_data_is_refused(x, y, message):
    with pytest.raises(ValueError, match=message):
        fit(preset("default", **TINY), x, y, device="cpu")


def test_fits_in_two_threads_train_on_one_cpu_thread_each_and_restore_the_callers():
    _, x_in, _, y_in = _toy()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []

        def record(report):
            seen.append(torch.get_num_threads())

        config = preset("default", iterations=2, batch_size=8, eval_every=1)
        worker = threading.Thread(target=fit, args=(config, x_in, y_in),
                                  kwargs={"device": "cpu", "callback": record})
        worker.start()
        fit(config, x_in, y_in, device="cpu", callback=record)
        worker.join(timeout=60)
        assert seen == [1, 1, 1, 1]
        assert torch.get_num_threads() == 2  # the caller's setting is back
    finally:
        torch.set_num_threads(1)


def test_adversarial_weight_zero_leaves_e_and_g_mi_to_the_reconstruction_loss():
    """With adversarial_weight 0, E and G_MI train exactly as without D_MI (a fixed D_MI)."""
    _, x_in, _, _ = _toy()
    config = preset("default", iterations=5, batch_size=8, adversarial_weight=0.0)
    a, b = _algorithm(config, x_in, None), _algorithm(config, x_in, None)
    b.nets["d_mi"].flat.mul_(-3.0)  # a very different critic must not change E's or G_MI's updates
    for trainer in (a, b):
        trainer.e_g_mi_step(trainer.draw())
    assert torch.equal(a.nets["g_mi"].flat, b.nets["g_mi"].flat)
    assert torch.equal(a.nets["encoder"].flat, b.nets["encoder"].flat)


def _scripted_rmse(monkeypatch, best_report: int) -> None:
    """Validation reports whose RMSE is lowest at report number `best_report` (1-based); the
    classification scores are the real ones."""
    evaluate, reports = train_module._evaluate, []

    def scripted(model, validation, seed):
        scores = evaluate(model, validation, seed)
        reports.append(None)
        scores["val_rmse"] = 0.1 if len(reports) == best_report else 0.5
        return scores

    monkeypatch.setattr(train_module, "_evaluate", scripted)


def test_c_is_chosen_apart_never_frozen_at_an_early_imputation_checkpoint(monkeypatch):
    """The imputation networks come from the best validation RMSE (here the first report),
    C from the report whose C has the best validation F1 on those networks' imputations:
    a later, trained C, exactly the C that training had at that iteration."""
    x, x_in, y, y_in = _toy(n=120)
    validation = Validation(x_in, x, np.isnan(x_in), y)
    config = preset("default", iterations=40, batch_size=16, eval_every=4, lr_c=1e-2)
    _scripted_rmse(monkeypatch, best_report=1)
    model = fit(config, x_in, y_in, device="cpu", validation=validation,
                select_best="val_rmse", select_classifier="val_f1")  # fmt: skip
    monkeypatch.undo()
    [imputer_at] = [r["iteration"] for r in model.history if r.get("best")]
    [classifier_at] = [r["iteration"] for r in model.history if r.get("best_classifier")]
    assert imputer_at == 4 and classifier_at > 4
    early = fit(config.replace(iterations=imputer_at), x_in, y_in, device="cpu")
    at_choice = fit(config.replace(iterations=classifier_at), x_in, y_in, device="cpu")
    for name, value in model.networks.state_dict().items():
        source = at_choice if name.startswith("classifier.") else early
        torch.testing.assert_close(value, source.networks.state_dict()[name], msg=name)
    # the choice is C's best F1 on the kept imputations, over every report
    chosen_f1 = metrics.classification_scores(y, model.predict_proba(x_in))["f1"]
    assert chosen_f1 > metrics.classification_scores(y, early.predict_proba(x_in))["f1"]


def test_without_select_classifier_c_follows_the_imputation_checkpoint(monkeypatch):
    x, x_in, y, y_in = _toy(n=120)
    config = preset("default", iterations=12, batch_size=16, eval_every=4)
    _scripted_rmse(monkeypatch, best_report=1)
    model = fit(config, x_in, y_in, device="cpu", select_best="val_rmse",
                validation=Validation(x_in, x, np.isnan(x_in), y))  # fmt: skip
    monkeypatch.undo()
    early = fit(config.replace(iterations=4), x_in, y_in, device="cpu")
    assert not any(r.get("best_classifier") for r in model.history)
    for name, value in model.networks.state_dict().items():
        torch.testing.assert_close(value, early.networks.state_dict()[name], msg=name)


def test_a_loss_that_stops_being_finite_ends_training_and_keeps_the_last_finite_networks(
    monkeypatch,
):
    """From iteration 7 on, D_MI's weights are NaN (its loss too): training stops at the next
    report (8), keeps the networks of the report before (4) and says so."""
    _, x_in, _, y_in = _toy()
    config = preset("default", iterations=20, batch_size=8, eval_every=4)
    iteration, count = ClosedFormAlgorithm.iteration, []

    def poisoned(self, draws, warm_up=False):
        count.append(None)
        if len(count) == 7:
            self.nets["d_mi"].flat.fill_(float("nan"))
        return iteration(self, draws, warm_up)

    monkeypatch.setattr(ClosedFormAlgorithm, "iteration", poisoned)
    reports = []
    model = fit(config, x_in, y_in, device="cpu", callback=reports.append)
    monkeypatch.undo()
    assert [r["iteration"] for r in reports] == [4, 8] and len(count) == 8
    assert not math.isfinite(reports[-1]["losses"]["d_mi"])
    [note] = model.notes
    assert note.startswith("training stopped at iteration 8: the loss ") and "d_mi" in note
    assert note.endswith("(diverged); kept the networks of iteration 4. Try a lower learning rate.")
    at_four = fit(config.replace(iterations=4), x_in, y_in, device="cpu")
    for name, value in model.networks.state_dict().items():
        torch.testing.assert_close(value, at_four.networks.state_dict()[name], msg=name)


def _layer_widths(network: torch.nn.Module) -> list[int]:
    """Input width, then each dense layer's output width."""
    linears = [m for m in network.modules() if isinstance(m, torch.nn.Linear)]
    return [linears[0].in_features, *(m.out_features for m in linears)]


@pytest.mark.parametrize("architecture", ["paper", "official"])
def test_min_width_widens_every_table_network_but_d_mi(architecture):
    d, k = 10, 3
    narrow = build_networks(preset("default", architecture=architecture), d, k)
    wide = build_networks(preset("default", architecture=architecture, min_width=64), d, k)
    hidden = [64, 32] if architecture == "paper" else [32]
    hidden_dim = hidden[0]
    assert wide.hidden_dim == hidden_dim
    assert _layer_widths(wide.encoder) == [2 * d, *hidden, hidden_dim]
    assert _layer_widths(wide.g_mi) == [hidden_dim, *hidden, d]
    assert _layer_widths(wide.classifier) == [d, *hidden, k]
    assert _layer_widths(wide.d_cg) == [hidden_dim + k, *hidden, 1]
    # D_MI keeps the paper's widths: its element-wise penalty grows with them
    assert _layer_widths(wide.d_mi) == _layer_widths(narrow.d_mi)
    # tables at least min_width wide keep their own widths
    assert _layer_widths(build_networks(preset("default", min_width=64), 70, k).g_mi) == [
        70, 70, 35, 70
    ]  # fmt: skip


def test_a_model_saved_before_min_width_loads_with_the_paper_widths(tmp_path):
    _, x_in, _, y_in = _toy()
    model = fit(preset("default", min_width=8, **TINY), x_in, y_in, device="cpu")
    model.save(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    del saved["min_width"]  # as written before the field existed
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    assert loaded.config.min_width == 8 and loaded.networks.hidden_dim == 8
    np.testing.assert_allclose(loaded.impute(x_in), model.impute(x_in))
