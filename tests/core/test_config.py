"""HexaGANConfig: validation messages, presets as deltas, JSON round trip."""

import json

import pytest

from hexagan_core.config import (
    CHOICES,
    PRESETS,
    WIDE_FEATURES,
    HexaGANConfig,
    penalty_cost_note,
    preset,
)  # fmt: skip


def test_defaults_validate_and_every_preset_validates():
    HexaGANConfig().validate()
    for name in PRESETS:
        assert isinstance(preset(name), HexaGANConfig)


def test_paper_preset_holds_the_supplements_values():
    paper = preset("paper")
    assert (paper.n_critic, paper.n_cg) == (5, 10)
    assert (paper.alpha1, paper.lambda1, paper.alpha2, paper.alpha3) == (10.0, 10.0, 1.0, 0.01)
    assert paper.optimizer == "rmsprop" and paper.penalty == "zero_centred"


def test_official_preset_holds_the_official_codes_deviations():
    official = preset("official")
    assert official.n_critic == 1 and official.update_order == "official"
    assert official.lr_decay == 0.99999 and official.c_weight_decay == 1e-3
    assert official.label_adversarial == "rounded" and official.architecture == "official"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("n_critic", 0, r"The 'n_critic' parameter of HexaGANConfig must be an int in the range "
         r"\[1, 100\]. Got 0 instead."),
        ("alpha1", -1.0, r"'alpha1' .* Got -1.0 instead"),
        ("lr", float("nan"), r"'lr' .* Got nan instead"),
        ("iterations", 2.5, r"'iterations' .* an int"),
        ("batch_size", True, r"'batch_size'"),
        ("penalty", "l2", r"The 'penalty' parameter .* one of 'zero_centred'.*Got 'l2' instead."),
    ],
)
def test_validate_names_the_parameter_and_the_bad_value(name, value, message):
    with pytest.raises(ValueError, match=message):
        HexaGANConfig().replace(**{name: value}).validate()


@pytest.mark.parametrize(
    "overrides", [{"optimizer": "adam"}, {"architecture": "mnist", "penalty": "weight_clip"}]
)
def test_compiled_engine_is_refused_where_it_has_no_compiled_steps(overrides):
    with pytest.raises(ValueError, match="engine='compiled' needs MLP networks trained with "
                                         "RMSProp.*use engine='eager'"):  # fmt: skip
        HexaGANConfig(engine="compiled", **overrides).validate()


@pytest.mark.parametrize("value", [0, 33, 2.0])
def test_n_imputations_is_an_int_from_1_to_32(value):
    with pytest.raises(ValueError, match=r"'n_imputations' .* an int in the range \[1, 32\]"):
        HexaGANConfig(n_imputations=value).validate()
    assert HexaGANConfig(n_imputations=32).validate().n_imputations == 32


def test_the_mnist_convnets_take_one_imputation_model_only():
    assert preset("mnist", n_imputations=1).n_imputations == 1
    with pytest.raises(ValueError, match="n_imputations > 1 .* 'mnist' convnets cannot be. Got "
                                         "architecture='mnist' with n_imputations=2; use "
                                         "n_imputations=1"):  # fmt: skip
        preset("mnist", n_imputations=2)


def test_unknown_parameters_and_presets_are_refused():
    with pytest.raises(ValueError, match="Unknown HexaGANConfig parameter.*alpha9"):
        HexaGANConfig().replace(alpha9=1.0)
    with pytest.raises(ValueError, match="Unknown preset 'best'"):
        preset("best")


def test_json_round_trip(tmp_path):
    config = preset("official", iterations=123, seed=7)
    path = tmp_path / "config.json"
    config.to_json(path)
    assert json.loads(path.read_text())["iterations"] == 123
    assert HexaGANConfig.from_json(path) == config
    assert HexaGANConfig.from_json(config.to_json()) == config


def test_choices_table_matches_the_fields():
    for name, options in CHOICES.items():
        assert getattr(HexaGANConfig(), name) in options


def test_field_help_names_the_paper_symbol_of_every_field():
    from hexagan_core.config import field_help, field_names

    docs = field_help()
    assert set(docs) == set(field_names())
    assert docs["alpha1"].startswith("alpha_1: weight of L_recon")
    assert docs["n_cg"].startswith("n_CG")


def test_penalty_cost_note_for_wide_data_with_the_exact_penalty():
    note = penalty_cost_note(preset("default"), 500)
    assert "500 features" in note and "penalty_projections = 4" in note
    assert "zero_centred" not in note  # the default penalty is already the zero-centred one
    one_centred = preset("default", penalty="wgan_gp")  # projections estimate only zero-centred
    assert "penalty = 'zero_centred'" in penalty_cost_note(one_centred, 500)
    assert penalty_cost_note(preset("default"), WIDE_FEATURES - 1) is None
    for cheap in ({"penalty_projections": 4}, {"penalty": "weight_clip"}, {"penalty": "none"}):
        assert penalty_cost_note(preset("default", **cheap), 500) is None, cheap
    convnet = preset("mnist", penalty="zero_centred")  # autograd's Jacobian, not the MLP's
    assert penalty_cost_note(convnet, 784) is None
