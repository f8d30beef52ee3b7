"""Weight averaging (ema_decay) and the cosine learning-rate schedule (lr_schedule): the
averages are the bias-corrected moving average of the trained weights, they are what a model
evaluates, keeps and saves, both backends compute them alike, and the learning rates follow
half a cosine down to 5 %."""

import math

import numpy as np
import pytest
import torch

from hexagan_core.algorithm import AVERAGED, Algorithm, cosine_factor
from hexagan_core.config import HexaGANConfig, preset
from hexagan_core.engine import ClosedFormAlgorithm
from hexagan_core.model import HexaGANModel
from hexagan_core.train import Validation, fit

CPU = torch.device("cpu")
TINY = {"iterations": 4, "batch_size": 8, "eval_every": 2}


def _toy(n=60, d=5, seed=0, missing=0.2, unlabelled=0.3):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    x = latent @ rng.normal(size=(2, d))
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    y = (latent[:, 0] > 0.3).astype(np.int64)
    x_in = np.where(rng.random(x.shape) < missing, np.nan, x).astype(np.float32)
    y_in = np.where(rng.random(n) < unlabelled, -1, y)
    return x, x_in, y, y_in


def _algorithm(config, n_models=1, backend=Algorithm) -> Algorithm:
    _, x_in, _, y_in = _toy()
    configs = [config.replace(seed=s) for s in range(n_models)]
    return backend(configs, [x_in] * n_models, [y_in] * n_models, CPU)


def _train(algorithm: Algorithm, iterations: int) -> list[dict[str, torch.Tensor]]:
    """Run `iterations` as train.py does; the trained weights after each."""
    trained = []
    for it in range(iterations):
        algorithm.schedule(it)
        algorithm.iteration(algorithm.draw())
        algorithm.average()
        trained.append({name: net.flat.clone() for name, net in algorithm.nets.items()})
    return trained


# --- the cosine schedule -------------------------------------------------------------------------


def test_cosine_factor_runs_from_one_down_to_the_floor():
    assert cosine_factor(0, 3000) == 1.0
    assert cosine_factor(1500, 3000) == pytest.approx(0.05 + 0.95 * 0.5)
    assert cosine_factor(750, 3000) == pytest.approx(0.05 + 0.95 * 0.5 * (1 + math.sqrt(0.5)))
    assert cosine_factor(3000, 3000) == pytest.approx(0.05)
    assert cosine_factor(5000, 3000) == pytest.approx(0.05)  # never below the floor
    factors = [cosine_factor(t, 100) for t in range(101)]
    assert all(a > b for a, b in zip(factors, factors[1:], strict=False))


@pytest.mark.parametrize("backend", [Algorithm, ClosedFormAlgorithm])
def test_schedule_sets_every_learning_rate_on_the_cosine_times_lr_decay(backend):
    config = preset("default", lr_schedule="cosine", lr_decay=0.99, lr=2e-3, lr_cg=1e-3,
                    lr_c=4e-3, iterations=100)  # fmt: skip
    algorithm = _algorithm(config, backend=backend)
    base = {"encoder": 2e-3, "g_mi": 2e-3, "d_mi": 2e-3, "g_cg": 1e-3, "d_cg": 1e-3,
            "classifier": 4e-3}  # fmt: skip
    for t in (0, 50, 99):
        algorithm.schedule(t)
        for name, optimizer in algorithm.optimizers.items():
            want = base[name] * 0.99**t * cosine_factor(t, 100)
            assert optimizer.lr == pytest.approx(want), (name, t)
            assert optimizer._lr_tensor.item() == pytest.approx(want)  # what compiled steps read
    algorithm.schedule(50)
    assert algorithm.optimizers["encoder"].lr == pytest.approx(2e-3 * 0.99**50 * 0.525)


def test_constant_schedule_keeps_the_learning_rates():
    algorithm = _algorithm(preset("default", iterations=100))
    algorithm.schedule(99)
    assert algorithm.optimizers["g_mi"].lr == preset("default").lr


# --- weight averaging ----------------------------------------------------------------------------


def test_without_ema_nothing_is_averaged_and_members_get_the_trained_weights():
    algorithm = _algorithm(preset("default", **TINY))
    assert algorithm.averages == {}
    _train(algorithm, 2)
    algorithm.sync_members()
    weight = algorithm.members[0].encoder.net[0].weight
    assert torch.equal(weight, algorithm.nets["encoder"].weights[0][0])


@pytest.mark.parametrize("n_models", [1, 3])
def test_averages_are_the_bias_corrected_moving_average_of_the_trained_weights(n_models):
    decay = 0.9
    algorithm = _algorithm(preset("default", ema_decay=decay, **TINY), n_models)
    assert sorted(algorithm.averages) == sorted(AVERAGED)
    trained = _train(algorithm, 4)
    for name in AVERAGED:
        weights = [decay ** (len(trained) - 1 - s) for s in range(len(trained))]
        want = sum(w * t[name] for w, t in zip(weights, trained, strict=True)) / sum(weights)
        torch.testing.assert_close(algorithm.averages[name], want, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(algorithm.averages[name], trained[-1][name])


def test_the_first_average_is_the_trained_weights_whatever_the_decay():
    """Bias correction: no weight on the initial networks (decay 0.9999 included)."""
    algorithm = _algorithm(preset("default", ema_decay=0.9999, **TINY))
    initial = algorithm.nets["g_mi"].flat.clone()
    trained = _train(algorithm, 1)
    assert torch.equal(algorithm.averages["g_mi"], trained[0]["g_mi"])
    assert not torch.equal(algorithm.averages["g_mi"], initial)


def test_members_get_the_averages_and_the_critics_stay_trained():
    algorithm = _algorithm(preset("default", ema_decay=0.9, **TINY), n_models=2)
    _train(algorithm, 3)
    algorithm.sync_members()
    for k, member in enumerate(algorithm.members):
        for name in ("encoder", "g_mi", "g_cg", "classifier", "d_mi", "d_cg"):
            weights, biases = algorithm.nets[name]._views(
                algorithm.averages.get(name, algorithm.nets[name].flat)
            )
            linears = [m for m in getattr(member, name).net if isinstance(m, torch.nn.Linear)]
            assert torch.equal(linears[0].weight, weights[0][k]), (k, name)
            assert torch.equal(linears[-1].bias, biases[-1][k, 0]), (k, name)
    # the trained weights go on training: the averages are a copy
    assert not torch.equal(algorithm.averages["encoder"], algorithm.nets["encoder"].flat)


def test_both_backends_compute_the_same_averages_and_schedule(float64):
    config = preset("paper", batch_size=16, ema_decay=0.9, lr_schedule="cosine", iterations=3,
                    label_adversarial="soft")  # fmt: skip
    readable = _algorithm(config, n_models=2)
    fast = _algorithm(config, n_models=2, backend=ClosedFormAlgorithm)
    _train(readable, 3)
    _train(fast, 3)
    for name in AVERAGED:
        torch.testing.assert_close(fast.averages[name], readable.averages[name], rtol=1e-9,
                                   atol=1e-11)  # fmt: skip
    for name, optimizer in readable.optimizers.items():
        assert fast.optimizers[name].lr == optimizer.lr


@pytest.fixture
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_fit_evaluates_selects_and_returns_the_averaged_networks(monkeypatch):
    x, x_in, y, y_in = _toy()
    seen = {}
    original = Algorithm.sync_members

    def spy(self):
        original(self)
        seen["averages"] = {name: a.clone() for name, a in self.averages.items()}
        seen["algorithm"] = self

    monkeypatch.setattr(Algorithm, "sync_members", spy)
    reports = []
    validation = Validation(x_in, x, np.isnan(x_in), y)
    model = fit(preset("default", ema_decay=0.99, **TINY), x_in, y_in, device="cpu",
                validation=validation, callback=reports.append)  # fmt: skip
    assert [r["iteration"] for r in reports] == [2, 4]
    nets = seen["algorithm"].nets
    weights, _ = nets["g_mi"]._views(seen["averages"]["g_mi"])
    assert torch.equal(model.networks.g_mi.net[0].weight, weights[0][0])
    raw, _ = nets["g_mi"]._views(nets["g_mi"].flat)
    assert not torch.equal(model.networks.g_mi.net[0].weight, raw[0][0])
    # the last report scored these very networks
    from hexagan_core import metrics

    imputed = model.impute(x_in, seed=model.config.seed)
    rmse = metrics.imputation_scores(x, imputed, np.isnan(x_in))["rmse"]
    assert reports[-1]["val_rmse"] == pytest.approx(rmse)


def test_an_averaged_ensemble_trains_saves_and_loads(tmp_path):
    _, x_in, _, y_in = _toy()
    model = fit(preset("default", ema_decay=0.99, lr_schedule="cosine", n_imputations=2, **TINY),
                x_in, y_in, device="cpu")  # fmt: skip
    assert len(model.members) == 2
    first, second = (m.networks.encoder.net[0].weight for m in model.members)
    assert not torch.equal(first, second)
    single = fit(preset("default", ema_decay=0.99, **TINY), x_in, y_in, device="cpu")
    single.save(tmp_path)
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    assert loaded.config.ema_decay == 0.99 and loaded.config.lr_schedule == "constant"
    np.testing.assert_allclose(loaded.impute(x_in, seed=0), single.impute(x_in, seed=0))
    np.testing.assert_allclose(loaded.predict_proba(x_in, seed=0),
                               single.predict_proba(x_in, seed=0))  # fmt: skip


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ema_decay", 1.0, r"'ema_decay' .* in the range \[0.0, 0.9999\]. Got 1.0 instead"),
        ("ema_decay", -0.5, r"'ema_decay' .* Got -0.5 instead"),
        ("ema_decay", float("nan"), r"'ema_decay' .* Got nan instead"),
        ("lr_schedule", "linear", r"'lr_schedule' .* one of 'constant', 'cosine'.*Got 'linear'"),
    ],
)
def test_validate_names_the_bad_value(name, value, message):
    with pytest.raises(ValueError, match=message):
        HexaGANConfig().replace(**{name: value}).validate()


def test_the_mnist_convnets_train_a_copy_and_their_models_hold_the_averages():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype(np.float32), np.arange(40) % 10
    config = preset("mnist", ema_decay=0.9, batch_size=10, cg_anchor="class_mean")
    algorithm = Algorithm([config], [x], [y], CPU)
    member = algorithm.members[0]
    assert algorithm.nets["encoder"].module is not member.encoder  # trained apart: holds averages
    assert algorithm.nets["d_mi"].module is member.d_mi  # critics are not averaged
    trained = _train(algorithm, 3)
    algorithm.sync_members()
    for name in AVERAGED:
        held = torch.cat([p.detach().reshape(-1) for p in getattr(member, name).parameters()])
        assert torch.equal(held, algorithm.averages[name]), name
        assert not torch.equal(held, trained[-1][name]), name
    # G_CG's class means (a buffer) are the tracked ones, whatever the averaging
    torch.testing.assert_close(member.g_cg.class_means, algorithm.class_means[0])
    model = fit(config.replace(iterations=2, eval_every=1), x, y, device="cpu")
    assert model.sample(3, 2)[0].shape == (2, 784)
    assert preset("mnist", lr_schedule="cosine").lr_schedule == "cosine"


def test_defaults_are_off_and_old_models_need_no_saved_before_entry():
    from hexagan_core.config import SAVED_BEFORE_THE_FIELD

    config = HexaGANConfig()
    assert config.ema_decay == 0.0 and config.lr_schedule == "constant"
    assert "ema_decay" not in SAVED_BEFORE_THE_FIELD
    assert "lr_schedule" not in SAVED_BEFORE_THE_FIELD
