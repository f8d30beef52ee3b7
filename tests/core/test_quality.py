"""Sample quality (judge agreement and spread), compact saving, and the MNIST fixes' options."""

import json

import numpy as np
import pytest
import torch

from hexagan_core.config import preset
from hexagan_core.draws import Sampler, latent_noise
from hexagan_core.model import HexaGANModel
from hexagan_core.networks import ProjectionCritic, build_networks
from hexagan_core.quality import SampleJudge, mean_pairwise_distance
from hexagan_core.train import fit


def _two_blobs(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = np.clip(0.3 + 0.4 * y[:, None] + 0.05 * rng.normal(size=(n, d)), 0, 1)
    return x.astype(np.float32), y


class _FixedSamples:
    """A stand-in model whose samples of class c are given."""

    n_classes = 2

    def __init__(self, samples):
        self.samples = samples

    def sample(self, label, n, seed=0):
        return self.samples[label][:n], None


def test_mean_pairwise_distance_counts_distinct_pairs():
    rows = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(rows) == pytest.approx((5 + 5 + 0) / 3)
    assert np.isnan(mean_pairwise_distance(rows[:1]))


def test_identical_samples_have_zero_spread_and_real_like_ones_about_one():
    x, y = _two_blobs()
    judge = SampleJudge().fit(x, y)
    collapsed = {c: np.repeat(x[y == c][:1], 50, axis=0) for c in (0, 1)}
    quality = judge.assess(_FixedSamples(collapsed), x, y, per_class=50)
    assert quality.spread_ratio == 0.0
    assert quality.agreement == 1.0
    real_like = {c: x[y == c][10:60] for c in (0, 1)}
    quality = judge.assess(_FixedSamples(real_like), x, y, per_class=50)
    assert 0.8 < quality.spread_ratio < 1.2
    assert list(quality.per_class.columns) == [
        "class", "agreement", "spread_generated", "spread_real", "spread_ratio"
    ]  # fmt: skip


def test_samples_of_the_wrong_class_get_no_agreement():
    x, y = _two_blobs()
    swapped = {0: x[y == 1][:40], 1: x[y == 0][:40]}
    quality = SampleJudge().fit(x, y).assess(_FixedSamples(swapped), x, y, per_class=40)
    assert quality.agreement == 0.0
    assert quality.judge_accuracy == 1.0


def test_the_judge_needs_two_classes_of_complete_rows():
    x, y = _two_blobs()
    x[y == 1, 0] = np.nan
    with pytest.raises(ValueError, match="at least two classes"):
        SampleJudge().fit(x, y)


def test_normal_latent_is_zero_centred_and_leaves_the_other_draws_alone():
    x, y = _two_blobs(n=60)
    draws = {}
    for latent in ("uniform", "normal"):
        config = preset("default", latent=latent, batch_size=16)
        sampler = Sampler([config], [x], [y], torch.device("cpu"), noise_dim=8)
        draws[latent] = sampler.draw()
    uniform, normal = draws["uniform"], draws["normal"]
    assert (uniform.latent >= 0).all() and (normal.latent < 0).any()
    assert abs(float(normal.latent.mean())) < 0.1
    assert torch.equal(uniform.rows.x, normal.rows.x)  # the same rows picked
    generator = torch.Generator().manual_seed(0)
    z = latent_noise(preset("default", latent="normal"), 500, 8, generator, "cpu")
    assert z.shape == (500, 8) and abs(float(z.mean())) < 0.1 and 0.9 < float(z.std()) < 1.1


def test_random_denoising_gives_each_row_its_own_rate_and_leaves_the_other_draws_alone():
    x, y = _two_blobs(n=400)
    x = np.hstack([x] * 20)  # 40 columns: a row's kept share estimates its rate
    draws = {}
    for recon_drop in ("fixed", "random"):
        config = preset("default", recon_drop=recon_drop, recon_drop_rate=0.4, batch_size=64)
        draws[recon_drop] = Sampler([config], [x], [y], torch.device("cpu"), noise_dim=8).draw()
    fixed, random = draws["fixed"], draws["random"]
    assert torch.equal(fixed.rows.x, random.rows.x) and torch.equal(
        fixed.rows.fill, random.rows.fill
    )
    dropped_fixed = 1 - fixed.keep.mean(dim=-1).flatten()
    dropped_random = 1 - random.keep.mean(dim=-1).flatten()
    assert abs(float(dropped_fixed.mean()) - 0.4) < 0.05
    assert abs(float(dropped_random.mean()) - 0.4) < 0.05  # the same share on average
    assert float(dropped_random.std()) > 2 * float(dropped_fixed.std())  # but row by row
    assert float(dropped_random.min()) < 0.15 and float(dropped_random.max()) > 0.65
    with pytest.raises(ValueError, match="recon_drop_rate <= 0.5"):
        preset("default", recon_drop="random", recon_drop_rate=0.6)


def test_noise_dim_sets_the_width_of_g_cg_input():
    networks = build_networks(preset("default", noise_dim=3, cg_condition="onehot"), 6, 2)
    assert networks.noise_dim == 3
    assert networks.g_cg.net[0].in_features == 2 + 3


def test_projection_critic_and_leak_are_for_the_mnist_networks():
    networks = build_networks(preset("mnist", cg_critic="projection", cg_leak=0.2), 784, 10)
    assert isinstance(networks.d_cg, ProjectionCritic)
    assert isinstance(networks.g_cg.net[1], torch.nn.LeakyReLU)
    h, y = torch.rand(5, networks.hidden_dim), torch.eye(10)[:5]
    assert networks.d_cg(h, y).shape == (5, 1)
    for option in ({"cg_critic": "projection"}, {"cg_leak": 0.1}):
        with pytest.raises(ValueError, match="'mnist' networks only"):
            preset("default", **option)


@pytest.mark.parametrize("architecture", ["paper", "mnist"])
def test_class_codes_weigh_as_much_as_the_noise_and_are_the_same_for_every_model(architecture):
    d, k = (784, 10) if architecture == "mnist" else (6, 3)
    config = preset("mnist" if architecture == "mnist" else "default", cg_condition="embed",
                    noise_dim=64)  # fmt: skip
    networks = build_networks(config, d, k, torch.Generator().manual_seed(3))
    codes = networks.class_codes
    assert codes.shape == (k, 64) and networks.g_cg.net[0].in_features == 64 + 64
    assert 0.7 < float(codes.std()) < 1.3  # N(0, 1), as long as z: the class is not drowned
    other_seed = build_networks(config, d, k, torch.Generator().manual_seed(4))
    assert torch.equal(other_seed.class_codes, codes)  # fixed: nothing to save
    assert "class_codes" not in networks.state_dict()
    z = torch.randn(4, 64)
    one = networks.generate_hidden(z, torch.eye(k)[[0] * 4])
    other = networks.generate_hidden(z, torch.eye(k)[[1] * 4])
    assert one.shape == (4, networks.hidden_dim) and not torch.allclose(one, other)
    assert build_networks(preset("paper"), d, k).class_codes is None  # one-hot: y itself


def test_a_model_with_class_codes_trains_samples_and_reloads(tmp_path):
    x, y = _two_blobs()
    config = preset("default", cg_condition="embed", latent="normal", iterations=6,
                    eval_every=3, batch_size=16)  # fmt: skip
    model = fit(config, x, y, device="cpu")
    samples, hidden = model.sample(1, 5)
    assert samples.shape == (5, x.shape[1]) and np.isfinite(samples).all()
    model.save(tmp_path)
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    np.testing.assert_allclose(loaded.sample(1, 5)[0], samples, atol=1e-6)


@pytest.mark.parametrize("half", [False, True])
def test_a_model_saved_without_critics_imputes_classifies_and_samples_alike(tmp_path, half):
    x, y = _two_blobs()
    model = fit(preset("default", iterations=6, eval_every=3, batch_size=16), x, y, device="cpu")
    model.save(tmp_path, critics=False, half=half)
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    x_in = np.where(np.random.default_rng(1).random(x.shape) < 0.3, np.nan, x)
    tolerance = 1e-2 if half else 0.0
    np.testing.assert_allclose(loaded.impute(x_in), model.impute(x_in), atol=tolerance)
    np.testing.assert_allclose(loaded.predict_proba(x_in), model.predict_proba(x_in),
                               atol=tolerance)  # fmt: skip
    np.testing.assert_allclose(loaded.sample(1, 5)[0], model.sample(1, 5)[0], atol=tolerance)
    state = torch.load(tmp_path / "weights.pt", weights_only=True)
    assert not any(name.startswith(("d_mi.", "d_cg.")) for name in state)
    assert all(t.dtype == (torch.float16 if half else torch.float32) for t in state.values())


def test_mode_seeking_loss_is_largest_when_the_samples_ignore_the_noise():
    from hexagan_core.losses import mode_seeking_loss

    z_a, z_b = torch.randn(1, 8, 4), torch.randn(1, 8, 4)
    varied = mode_seeking_loss(z_a, z_b, z_a, z_b)  # samples differ as their noise does
    same = mode_seeking_loss(z_a, z_a.clone(), z_a, z_b)
    assert varied.shape == (1,) and float(varied) == pytest.approx(1.0, rel=1e-4)
    assert float(same) > 1e4


def test_mode_seeking_trains_on_the_mnist_networks():
    rng = np.random.default_rng(0)
    x = rng.random((40, 784)).astype(np.float32)
    y = np.arange(40) % 10
    config = preset("mnist", iterations=2, eval_every=1, batch_size=10, mode_seeking=1.0)
    model = fit(config, x, y, device="cpu")
    assert "ms" in model.history[-1]["losses"]
    with pytest.raises(ValueError, match="'mnist' networks only"):
        preset("default", mode_seeking=1.0)


def test_mode_seeking_switches_on_after_mode_seeking_from_iterations():
    rng = np.random.default_rng(0)
    x = rng.random((40, 784)).astype(np.float32)
    y = np.arange(40) % 10
    config = preset("mnist", iterations=4, eval_every=1, batch_size=10, mode_seeking=1.0,
                    mode_seeking_from=2)  # fmt: skip
    model = fit(config, x, y, device="cpu")
    assert ["ms" in report["losses"] for report in model.history] == [False, False, True, True]


def test_a_model_saved_before_class_codes_and_normal_noise_loads_as_it_was_trained(tmp_path):
    x, y = _two_blobs()
    config = preset("default", latent="uniform", cg_condition="onehot", iterations=4,
                    eval_every=2, batch_size=16)  # fmt: skip
    model = fit(config, x, y, device="cpu")
    model.save(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    for field in ("latent", "cg_condition"):  # as written before these fields existed
        del saved[field]
    (tmp_path / "config.json").write_text(json.dumps(saved))
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    assert (loaded.config.latent, loaded.config.cg_condition) == ("uniform", "onehot")
    np.testing.assert_allclose(loaded.sample(0, 4)[0], model.sample(0, 4)[0])


def test_class_mean_anchor_tracks_each_class_and_is_for_the_mnist_networks():
    from hexagan_core.algorithm import CLASS_MEAN_MOMENTUM, Algorithm

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype(np.float32), np.arange(40) % 10
    config = preset("mnist", iterations=1, batch_size=10, cg_anchor="class_mean")
    algorithm = Algorithm([config], [x], [y], torch.device("cpu"))
    h = torch.rand(1, 4, algorithm.class_means.shape[-1])
    labels = torch.eye(10)[[0, 0, 3, 3]][None]
    algorithm.track_class_means(h, labels)  # the first batch with a class sets its mean
    np.testing.assert_allclose(algorithm.class_means[0, 3], h[0, 2:].mean(0), rtol=1e-6)
    assert float(algorithm.class_means[0, 5].abs().max()) == 0.0  # unseen: left alone
    later = torch.rand(1, 1, h.shape[-1])
    algorithm.track_class_means(later, torch.eye(10)[[3]][None])
    expected = CLASS_MEAN_MOMENTUM * h[0, 2:].mean(0) + (1 - CLASS_MEAN_MOMENTUM) * later[0, 0]
    np.testing.assert_allclose(algorithm.class_means[0, 3], expected, rtol=1e-5)
    np.testing.assert_allclose(algorithm.class_means[0, 0], h[0, :2].mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match="cg_anchor='class_mean'"):
        preset("default", cg_anchor="class_mean")


def test_an_anchored_generator_samples_around_its_class_mean_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype(np.float32), np.arange(40) % 10
    config = preset("mnist", iterations=2, eval_every=1, batch_size=10, cg_anchor="class_mean")
    model = fit(config, x, y, device="cpu")
    g_cg = model.networks.g_cg
    assert float(g_cg.class_means.abs().sum()) > 0  # E's hidden vectors of the labelled rows
    z, labels = torch.randn(3, model.networks.noise_dim), torch.eye(10)[[2, 2, 7]]
    with torch.no_grad():
        hidden = model.networks.generate_hidden(z, labels)
        expected = torch.relu(g_cg(z, labels) + labels @ g_cg.class_means)
    torch.testing.assert_close(hidden, expected)
    model.save(tmp_path, critics=False)
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    torch.testing.assert_close(loaded.networks.g_cg.class_means, g_cg.class_means)
    np.testing.assert_allclose(loaded.sample(7, 4)[0], model.sample(7, 4)[0], atol=1e-6)


def test_a_mean_start_decoder_begins_at_the_observed_pixel_means_and_reloads(tmp_path):
    from hexagan_core.algorithm import Algorithm

    rng = np.random.default_rng(0)
    x, y = rng.random((40, 784)).astype(np.float32), np.arange(40) % 10
    x[rng.random(x.shape) < 0.5] = np.nan
    x[:, 0] = np.nan  # a pixel never observed starts at 0.5
    x[:, 1] = 0.0  # a pixel always black starts at the clip, 0.01
    config = preset("mnist", iterations=2, eval_every=1, batch_size=10, g_mi_output="mean_start")
    g_mi = Algorithm([config], [x], [y], torch.device("cpu")).members[0].g_mi
    assert isinstance(g_mi.deconvs[5], torch.nn.Identity)
    assert isinstance(build_networks(preset("mnist"), 784, 10).g_mi.deconvs[5], torch.nn.ReLU)
    expected = np.clip(np.nan_to_num(np.nanmean(x[:, 2:], axis=0)), 0.01, 0.99)
    with torch.no_grad():
        start = g_mi(torch.zeros(1, 2048))[0].numpy()  # zero biases: the deconvolutions add 0
    np.testing.assert_allclose(start[2:], expected, rtol=1e-5)
    np.testing.assert_allclose(start[:2], [0.5, 0.01], rtol=1e-5)
    x[:, 0] = 0.3  # training refuses a feature with no observed value
    model = fit(config, x, y, device="cpu")
    model.save(tmp_path, critics=False)
    loaded, _ = HexaGANModel.load(tmp_path, device="cpu")
    assert isinstance(loaded.networks.g_mi.deconvs[5], torch.nn.Identity)
    np.testing.assert_allclose(loaded.sample(7, 4)[0], model.sample(7, 4)[0], atol=1e-6)
    with pytest.raises(ValueError, match="g_mi_output='mean_start'"):
        preset("default", g_mi_output="mean_start")
