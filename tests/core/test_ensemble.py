"""Multiple imputation: an ensemble of n_imputations models imputes by their mean, says how far
they disagree, averages C, saves as one folder and refuses a damaged one by name."""

import json
import shutil

import numpy as np
import pytest
import torch

from hexagan_core.config import preset
from hexagan_core.device import choose_device
from hexagan_core.ensemble import (
    HexaGANEnsemble,
    imputation_spread,
    load_model,
    mean_imputation,
    member_configs,
)  # fmt: skip
from hexagan_core.model import HexaGANModel
from hexagan_core.train import Validation, fit, fit_ensemble

TINY = {"iterations": 6, "batch_size": 8, "eval_every": 3}


def _toy(n=48, d=4, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    x = latent @ rng.normal(size=(2, d))
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    y = (latent[:, 0] > 0.3).astype(np.int64)
    x_in = np.where(rng.random(x.shape) < 0.25, np.nan, x).astype(np.float32)
    return x, x_in, y


@pytest.fixture(scope="module")
def toy():
    return _toy()


@pytest.fixture(scope="module")
def ensemble(toy) -> HexaGANEnsemble:
    x, x_in, y = toy
    validation = Validation(x_in, x, np.isnan(x_in), y)
    config = preset("default", n_imputations=3, **TINY)
    return fit(config, x_in, y, validation=validation, device="cpu", select_best="val_rmse",
               select_classifier="val_f1")  # fmt: skip


def test_members_have_their_own_seeds_the_first_the_configs():
    config = preset("default", seed=11, n_imputations=4)
    members = member_configs(config)
    assert [m.seed for m in members][0] == 11 and len({m.seed for m in members}) == 4
    assert all(m.n_imputations == 1 and m.replace(seed=11) == config.replace(n_imputations=1)
               for m in members)  # fmt: skip
    neighbour = member_configs(config.replace(seed=12))
    assert not {m.seed for m in members} & {m.seed for m in neighbour}
    single = preset("default")
    assert member_configs(single) == [single] and member_configs(single)[0] is single


def test_fit_returns_an_ensemble_of_selected_members_with_tagged_reports(toy, ensemble):
    assert isinstance(ensemble, HexaGANEnsemble) and len(ensemble.members) == 3
    assert ensemble.config.n_imputations == 3 and ensemble.config.seed == 0
    for j, member in enumerate(ensemble.members):
        assert member.config.n_imputations == 1
        assert {r["imputation"] for r in member.history} == {j}
        assert "member" not in member.history[0]  # one config: no `member`
        assert any(r.get("best") for r in member.history)  # selected on its own validation
        assert any(r.get("best_classifier") for r in member.history)
    assert len(ensemble.history) == 3 * 2  # two reports each, by iteration
    assert [r["iteration"] for r in ensemble.history] == [3, 3, 3, 6, 6, 6]


def test_shapes_and_the_mean_of_the_members(toy, ensemble):
    _, x_in, _ = toy
    imputations = ensemble.member_imputations(x_in, seed=2)
    assert imputations.shape == (3, *x_in.shape)
    imputed, spread = ensemble.impute(x_in, seed=2), ensemble.impute_std(x_in, seed=2)
    assert imputed.shape == spread.shape == x_in.shape and imputed.dtype == np.float32
    missing = np.isnan(x_in)
    by_hand = (imputations[0] + imputations[1] + imputations[2]) / 3
    np.testing.assert_allclose(imputed[missing], by_hand[missing], rtol=1e-6)
    np.testing.assert_array_equal(imputed[~missing], x_in[~missing])  # untouched
    np.testing.assert_allclose(spread, np.std(imputations, axis=0, ddof=1), atol=1e-7)
    proba = ensemble.predict_proba(x_in)
    members = [m.predict_proba(x_in) for m in ensemble.members]
    assert proba.shape == (len(x_in), 2)
    np.testing.assert_allclose(proba, sum(members) / 3, rtol=1e-6)
    np.testing.assert_array_equal(ensemble.predict(x_in), proba.argmax(axis=1))
    assert ensemble.hidden(x_in).shape[0] == len(x_in)
    np.testing.assert_array_equal(ensemble.hidden(x_in), ensemble.members[0].hidden(x_in))
    rows, h = ensemble.sample(1, 5, seed=3)
    np.testing.assert_array_equal(rows, ensemble.members[0].sample(1, 5, seed=3)[0])
    assert (ensemble.n_features, ensemble.n_classes) == (x_in.shape[1], 2)


def test_spread_is_exactly_zero_at_observed_cells_and_where_members_agree(toy, ensemble):
    _, x_in, _ = toy
    spread = ensemble.impute_std(x_in)
    assert (spread[~np.isnan(x_in)] == 0).all()
    assert (spread[np.isnan(x_in)] > 0).all()  # three seeds never agree to the last bit
    one = ensemble.members[1]
    copies = HexaGANEnsemble(ensemble.config, [one] * 3)
    assert (copies.impute_std(x_in) == 0).all()
    np.testing.assert_array_equal(copies.impute(x_in), one.impute(x_in))


def test_spread_and_mean_of_hand_made_imputations():
    x = np.array([[np.nan, 0.5], [0.2, np.nan]], dtype=np.float32)
    imputations = np.array([[[0.1, 0.5], [0.2, 0.3]], [[0.3, 0.5], [0.2, 0.3]]], np.float32)
    np.testing.assert_allclose(mean_imputation(imputations, x), [[0.2, 0.5], [0.2, 0.3]])
    # the first missing cell: 0.1 and 0.3, std (ddof 1) = 0.1 * sqrt(2); the second agrees
    np.testing.assert_allclose(imputation_spread(imputations, x), [[0.1 * 2**0.5, 0], [0, 0]],
                               rtol=1e-6)  # fmt: skip
    assert imputation_spread(imputations, x)[1, 1] == 0


def test_one_imputation_is_the_single_model_as_before(toy):
    x, x_in, y = toy
    config = preset("default", **TINY)
    reports = []
    model = fit(config, x_in, y, device="cpu", callback=reports.append)
    assert isinstance(model, HexaGANModel)
    assert not any("imputation" in r or "member" in r for r in reports)
    (again,) = fit_ensemble([config], [x_in], [y], device="cpu")
    for name, value in model.networks.state_dict().items():
        assert torch.equal(value, again.networks.state_dict()[name]), name
    # the first member of an ensemble is the model n_imputations = 1 trains
    ensemble = fit(config.replace(n_imputations=2), x_in, y, device="cpu")
    np.testing.assert_allclose(ensemble.members[0].impute(x_in), model.impute(x_in), atol=1e-5)


def test_several_configs_with_several_imputations_train_together(toy):
    x, x_in, y = toy
    _, other, _ = _toy(seed=1)
    reports = []
    configs = [preset("default", seed=s, n_imputations=2, **TINY) for s in (4, 5)]
    models = fit_ensemble(configs, [x_in, other], [y, y], device="cpu", callback=reports.append)
    assert [type(m) for m in models] == [HexaGANEnsemble, HexaGANEnsemble]
    assert [m.config.seed for m in models] == [4, 5]
    assert {(r["member"], r["imputation"]) for r in reports} == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert [m.members[0].config.seed for m in models] == [4, 5]


def test_save_and_load_round_trip(tmp_path, toy, ensemble):
    _, x_in, _ = toy
    directory = ensemble.save(tmp_path / "model", extra={"note": "kept"})
    assert sorted(p.name for p in directory.iterdir()) == [
        "config.json", "member_0", "member_1", "member_2", "model.json"]
    loaded, extra = load_model(directory, device="cpu")
    assert isinstance(loaded, HexaGANEnsemble) and extra == {"note": "kept"}
    assert loaded.config == ensemble.config
    np.testing.assert_array_equal(loaded.impute(x_in), ensemble.impute(x_in))
    np.testing.assert_array_equal(loaded.impute_std(x_in), ensemble.impute_std(x_in))
    np.testing.assert_array_equal(loaded.predict_proba(x_in), ensemble.predict_proba(x_in))
    single, _ = load_model(ensemble.members[0].save(tmp_path / "single"), device="cpu")
    assert isinstance(single, HexaGANModel)
    # an ensemble's config beside one model's files: HexaGANModel.load says what it is
    (tmp_path / "mixed").mkdir()
    for name in ("model.json", "weights.pt"):
        shutil.copy(directory / "member_0" / name, tmp_path / "mixed" / name)
    shutil.copy(directory / "config.json", tmp_path / "mixed" / "config.json")
    with pytest.raises(ValueError, match="n_imputations is 3, an ensemble.*load_model"):
        HexaGANModel.load(tmp_path / "mixed")


def _damage_member_folder(directory):
    shutil.rmtree(directory / "member_2")


def _damage_member_seed(directory):
    path = directory / "member_1" / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seed": 7}))


def _damage_members_list(directory):
    path = directory / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "members": ["member_0"]}))


def _damage_count(directory):
    path = directory / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "n_imputations": 4}))


def _damage_weights(directory):
    (directory / "member_0" / "weights.pt").write_bytes(b"not a zip")


def _damage_features(directory):
    path = directory / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "n_features": 9}))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_damage_member_folder, r"member folder member_2 is missing"),
        (_damage_member_seed, r"member_1/config.json: not the member .* seed must be \d+"),
        (_damage_members_list, r"'members' parameter .* the 3 folders"),
        (_damage_count, r"'members' parameter .* the 4 folders"),
        (_damage_weights, r"member_0/weights.pt: not a readable PyTorch weights file"),
        (_damage_features, r"member_0: 4 features and 2 classes; .*model.json says 9 and 2"),
    ],
)
def test_a_damaged_or_mismatched_folder_is_refused_by_name(tmp_path, ensemble, damage, message):
    directory = ensemble.save(tmp_path / "model")
    damage(directory)
    with pytest.raises(ValueError, match=message):
        load_model(directory, device="cpu")


def test_the_members_count_toward_the_device_choice(monkeypatch):
    monkeypatch.setattr("hexagan_core.device.accelerator", lambda: torch.device("cuda"))
    wide = preset("default", n_imputations=8)
    assert choose_device(wide, 23).device.type == "cuda"  # 8 * 23^2 >= 64^2
    assert "8 models" in choose_device(wide, 23).reason
    assert choose_device(wide.replace(n_imputations=1), 23).device.type == "cpu"


def test_the_estimators_fit_save_and_load_an_ensemble(tmp_path, toy):
    from hexagan_core.estimators import HexaGANClassifier

    _, x_in, y = toy
    config = preset("default", n_imputations=2, **TINY)
    classifier = HexaGANClassifier(config=config, device="cpu").fit(x_in, y)
    assert isinstance(classifier.model_, HexaGANEnsemble)
    filled = classifier.pipeline_.impute_table(classifier.pipeline_.to_table(x_in))
    assert not filled.isna().any().any()
    loaded = HexaGANClassifier.load(classifier.save(tmp_path / "model"), device="cpu")
    np.testing.assert_array_equal(loaded.predict_proba(x_in), classifier.predict_proba(x_in))
    assert loaded.config.n_imputations == 2
