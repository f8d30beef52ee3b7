"""Each loss of the paper on tiny inputs whose answers are worked out by hand."""

import pytest
import torch
from torch import nn

from hexagan_core import losses

SCORES = torch.tensor([[1.0, 2.0], [3.0, 4.0]])


def test_d_mi_loss_per_feature_means_and_skips_one_sided_features():
    # feature 0: observed {1}, imputed {3} -> 3 - 1 = 2; feature 1 has no observed entry: left out
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    assert losses.d_mi_loss(SCORES, mask).item() == pytest.approx(2.0)
    # both features two-sided: f0 3 - 1 = 2, f1 2 - 4 = -2 -> mean 0
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert losses.d_mi_loss(SCORES, mask).item() == pytest.approx(0.0)


def test_d_mi_loss_is_blind_to_a_constant_shift_of_the_critic():
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    shifted = losses.d_mi_loss(SCORES + 7.0, mask)
    assert shifted.item() == pytest.approx(losses.d_mi_loss(SCORES, mask).item())


def test_g_mi_loss_is_minus_the_mean_score_of_imputed_entries():
    mask = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    # imputed: f0 {3}, f1 {2, 4} -> -(3 + 3) / 2
    assert losses.g_mi_loss(SCORES, mask).item() == pytest.approx(-3.0)
    # a generated row (mask all zeros) counts in every feature
    assert losses.g_mi_loss(SCORES, torch.zeros(2, 2)).item() == pytest.approx(-(2 + 3) / 2)


def test_label_critic_and_label_adversarial_losses():
    scores = torch.tensor([0.5, 1.5, -1.0, 3.0])
    labelled = torch.tensor([1.0, 1.0, 0.0, 0.0])
    # E_u = (-1 + 3) / 2 = 1, E_l = (0.5 + 1.5) / 2 = 1
    assert losses.label_critic_loss(scores, labelled).item() == pytest.approx(0.0)
    assert losses.label_adversarial_loss(scores[2:]).item() == pytest.approx(-1.0)


def test_recon_loss_counts_observed_entries_only():
    x = torch.tensor([[0.0, 1.0], [0.5, 0.5]])
    x_bar = torch.tensor([[1.0, 0.0], [0.0, 0.5]])
    mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    # squared errors on observed entries: 1, 0.25, 0 -> mean 1.25 / 3
    assert losses.recon_loss(x, x_bar, mask).item() == pytest.approx(1.25 / 3)


def test_wasserstein_critic_and_generator_losses():
    fake, real = torch.tensor([[1.0], [3.0]]), torch.tensor([[0.0], [2.0]])  # (B, 1) scores
    assert losses.critic_loss(fake, real).item() == pytest.approx(2.0 - 1.0)
    assert losses.generator_loss(fake).item() == pytest.approx(-2.0)


def test_a_stack_of_models_gets_one_loss_per_model():
    """(K, B, n) inputs give the K models' own losses, each as its (B, n) batch alone."""
    generator = torch.Generator().manual_seed(0)
    scores = torch.randn(3, 6, 4, generator=generator)
    mask = (torch.rand(3, 6, 4, generator=generator) > 0.3).float()
    stacked = losses.d_mi_loss(scores, mask)
    assert stacked.shape == (3,)
    for k in range(3):
        assert stacked[k].item() == pytest.approx(losses.d_mi_loss(scores[k], mask[k]).item())
        assert losses.critic_loss(scores[:, :, :1], mask[:, :, :1])[k].item() == pytest.approx(
            losses.critic_loss(scores[k, :, :1], mask[k, :, :1]).item()
        )


def test_classifier_loss_weights_rows():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    targets = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    ce = torch.log(torch.tensor(2.0)), 2.0 + torch.log1p(torch.exp(torch.tensor(-2.0)))
    weights = torch.tensor([1.0, 3.0])
    expected = (ce[0] + 3 * ce[1]) / 4
    assert losses.classifier_loss(logits, targets, weights).item() == pytest.approx(expected.item())


def _critic_scores(critic: nn.Module, x: torch.Tensor):
    x = x.clone().requires_grad_(True)
    return critic(x), x


def test_zero_centred_penalty_vanishes_for_a_constant_critic():
    critic = nn.Linear(3, 3)
    nn.init.zeros_(critic.weight)
    scores, x = _critic_scores(critic, torch.rand(5, 3))
    sq_norms = losses.input_jacobian(scores, x).pow(2).sum(dim=2)
    assert losses.zero_centred_penalty(sq_norms, torch.ones(5, 3)).item() == 0.0


def test_zero_centred_penalty_matches_the_analytic_value_for_a_linear_critic():
    weight = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    critic = nn.Linear(3, 3)
    with torch.no_grad():
        critic.weight.copy_(weight)
    scores, x = _critic_scores(critic, torch.rand(4, 3))
    sq_norms = losses.input_jacobian(scores, x).pow(2).sum(dim=2)
    # ||grad D_i||^2 = ||W_i||^2 = 5, 9, 3 for every row
    assert torch.allclose(sq_norms, torch.tensor([5.0, 9.0, 3.0]).expand(4, 3))
    mask = torch.tensor([[1.0, 1.0, 0.0]] * 4)  # feature 2 never observed: contributes 0
    assert losses.zero_centred_penalty(sq_norms, mask).item() == pytest.approx((5 + 9 + 0) / 3)
    # one-centred variant: (sqrt(5) - 1)^2, (3 - 1)^2
    expected = ((5**0.5 - 1) ** 2 + 4 + 0) / 3
    assert losses.wgan_gp_penalty(sq_norms, mask).item() == pytest.approx(expected, rel=1e-5)


def test_input_jacobian_matches_autograd_jacobian_and_is_differentiable():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    x = torch.rand(5, 4, requires_grad=True)
    jacobian = losses.input_jacobian(critic(x), x)
    for b in range(5):
        expected = torch.autograd.functional.jacobian(critic, x[b].detach())  # (3, 4)
        assert torch.allclose(jacobian[b], expected, atol=1e-6)
    jacobian.pow(2).sum().backward()  # gradient reaches the critic's weights (double backward)
    assert critic[0].weight.grad is not None and critic[0].weight.grad.abs().sum() > 0


def test_hidden_penalty_for_a_linear_critic():
    grad = torch.tensor([[3.0, 4.0], [3.0, 4.0], [0.0, 1.0]])
    assert losses.hidden_penalty(grad).item() == pytest.approx((25 + 25 + 1) / 3)
    assert losses.hidden_penalty(grad, "sum").item() == pytest.approx(51.0)
    one_centred = losses.hidden_penalty(grad, one_centred=True).item()
    assert one_centred == pytest.approx((16 + 16 + 0) / 3, rel=1e-5)


def test_gain_losses_match_their_definitions():
    logits = torch.tensor([[0.0, 2.0], [-1.0, 1.0]])
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.sigmoid(logits)
    expected_d = -(mask * d.log() + (1 - mask) * (1 - d).log()).mean()
    expected_g = -((1 - mask) * d.log()).mean()
    assert losses.gain_discriminator_loss(logits, mask).item() == pytest.approx(expected_d.item())
    assert losses.gain_generator_loss(logits, mask).item() == pytest.approx(expected_g.item())


# --- each hand-written gradient against autograd on its loss -------------------------------------


def _random(shape, generator):
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _mask(shape, generator, rate=0.3):
    mask = (torch.rand(shape, generator=generator, dtype=torch.float64) > rate).double()
    mask[0, :, 0] = 1.0  # a feature with no imputed entry in model 0 (left out of L_DMI)
    return mask


def _gradient_cases():
    """(name, loss of the differentiated input, its hand-written gradient, input) for every
    gradient the fast backend uses; K = 2 models of 6 rows and 4 columns."""
    g = torch.Generator().manual_seed(0)
    scores, mask = _random((2, 6, 4), g), _mask((2, 6, 4), g)
    labelled = torch.tensor([[1.0, 1.0, 1.0, 0.0, 0.0, 1.0]] * 2, dtype=torch.float64)
    x, x_bar = torch.rand(2, 6, 4, generator=g, dtype=torch.float64), _random((2, 6, 4), g)
    targets = torch.eye(3, dtype=torch.float64)[torch.arange(6) % 3].expand(2, -1, -1)
    weights = torch.rand(2, 6, generator=g, dtype=torch.float64)
    jacobian = _random((2, 6, 5), g)
    sq_norms = torch.rand(2, 6, 4, generator=g, dtype=torch.float64) + 0.1
    return [
        ("d_mi_loss", lambda s: losses.d_mi_loss(s, mask),
         lambda s: losses.d_mi_loss_grad(s, mask), scores),
        ("g_mi_loss", lambda s: losses.g_mi_loss(s, mask),
         lambda s: losses.g_mi_loss_grad(s, mask), scores),
        ("g_mi_loss, generated rows", lambda s: losses.g_mi_loss(s, 0 * mask),
         lambda s: losses.g_mi_loss_grad(s, 0 * mask), scores),
        ("g_mi_loss x 2, generated rows", lambda s: 2.0 * losses.g_mi_loss(s, 0 * mask),
         lambda s: torch.full_like(s, losses.g_mi_loss_grad_all_imputed(6, 4, 2.0)), scores),
        ("label_critic_loss", lambda s: losses.label_critic_loss(s, labelled),
         lambda s: losses.label_critic_loss_grad(s, labelled), scores[..., 0]),
        ("label_adversarial_loss", losses.label_adversarial_loss,
         losses.label_adversarial_loss_grad, scores[..., 0]),
        ("recon_loss", lambda b: losses.recon_loss(x, b, mask),
         lambda b: losses.recon_loss_grad(x, b, mask), x_bar),
        ("critic_loss", lambda s: losses.critic_loss(s[:, 4:], s[:, :4]),
         lambda s: losses.critic_loss_grad(2, 4, s), scores[..., :1]),
        ("generator_loss", losses.generator_loss, losses.generator_loss_grad, scores[..., :1]),
        ("classifier_loss", lambda s: losses.classifier_loss(s, targets),
         lambda s: losses.classifier_loss_grad(s, targets), scores[..., :3]),
        ("classifier_loss, weighted", lambda s: losses.classifier_loss(s, targets, weights),
         lambda s: losses.classifier_loss_grad(s, targets, weights), scores[..., :3]),
        ("gain_discriminator_loss", lambda s: losses.gain_discriminator_loss(s, mask),
         lambda s: losses.gain_discriminator_loss_grad(s, mask), scores),
        ("gain_generator_loss", lambda s: losses.gain_generator_loss(s, mask),
         lambda s: losses.gain_generator_loss_grad(s, mask), scores),
        ("zero_centred_penalty", lambda q: losses.zero_centred_penalty(q, mask),
         lambda q: losses.zero_centred_penalty_grad(mask), sq_norms),
        ("hidden_penalty", losses.hidden_penalty, losses.hidden_penalty_grad, jacobian),
        ("hidden_penalty, sum", lambda j: losses.hidden_penalty(j, "sum"),
         lambda j: losses.hidden_penalty_grad(j, "sum"), jacobian),
        ("hidden_penalty, one-centred", lambda j: losses.hidden_penalty(j, one_centred=True),
         lambda j: losses.hidden_penalty_grad(j, one_centred=True), jacobian),
        # weighted, as the steps use them
        ("recon_loss x 10", lambda b: 10.0 * losses.recon_loss(x, b, mask),
         lambda b: losses.recon_loss_grad(x, b, mask, 10.0), x_bar),
        ("classifier_loss x 0.01", lambda s: 0.01 * losses.classifier_loss(s, targets),
         lambda s: losses.classifier_loss_grad(s, targets, weight=0.01), scores[..., :3]),
        ("label_adversarial_loss x 0.1", lambda s: 0.1 * losses.label_adversarial_loss(s),
         lambda s: losses.label_adversarial_loss_grad(s, 0.1), scores[..., 0]),
        ("zero_centred_penalty x 10", lambda q: 10.0 * losses.zero_centred_penalty(q, mask),
         lambda q: losses.zero_centred_penalty_grad(mask, 10.0), sq_norms),
        ("hidden_penalty x 10, one-centred, sum",
         lambda j: 10.0 * losses.hidden_penalty(j, "sum", one_centred=True),
         lambda j: losses.hidden_penalty_grad(j, "sum", True, 10.0), jacobian),
    ]  # fmt: skip


@pytest.mark.parametrize("case", _gradient_cases(), ids=lambda case: case[0])
def test_hand_written_gradient_equals_autograd(case):
    _, loss, gradient, value = case
    value = value.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(loss(value).sum(), value)
    assert expected.abs().max() > 1e-3  # the loss depends on its input
    torch.testing.assert_close(gradient(value.detach()), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_jacobian_row_coefficient_is_the_penalty_gradient_per_jacobian_row(penalty):
    """d L_GP^MI / d J_bi = coefficient_bi J_bi, with L_GP^MI a function of ||J_bi||^2."""
    g = torch.Generator().manual_seed(1)
    jacobian = _random((2, 6, 4, 5), g).requires_grad_(True)  # (K, B, d outputs, d inputs)
    mask = _mask((2, 6, 4), g)
    sq_norms = jacobian.pow(2).sum(-1)
    penalty_of = losses.wgan_gp_penalty if penalty == "wgan_gp" else losses.zero_centred_penalty
    (expected,) = torch.autograd.grad(penalty_of(sq_norms, mask).sum(), jacobian)
    weight = losses.zero_centred_penalty_grad(mask)
    coefficient = losses.jacobian_row_coefficient(sq_norms.detach(), weight, penalty)
    torch.testing.assert_close(coefficient[..., None] * jacobian.detach(), expected,
                               rtol=1e-12, atol=1e-14)  # fmt: skip
