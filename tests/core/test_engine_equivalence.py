"""The fast backend (`hexagan_core.engine`: hand-written gradients, compiled programs, draws
made ahead) computes exactly what the readable Algorithm 1 (`hexagan_core.algorithm`, autograd)
computes: the same gradient and loss terms at every optimiser update of whole iterations, the
same weights and optimiser states after each, for K > 1 models and every option.

Both are built from one config and one data set, so they start from the same weights and the
same seeded generators, and each draws its iteration's random numbers in the same order.
"""

import numpy as np
import pytest
import torch

from hexagan_core import losses
from hexagan_core import stacked as stacked_module
from hexagan_core.algorithm import Algorithm
from hexagan_core.config import preset
from hexagan_core.data import load_builtin
from hexagan_core.engine import ClosedFormAlgorithm, build_algorithm
from hexagan_core.networks import MLP
from hexagan_core.protocol import prepare
from hexagan_core.stacked import ROW_BY_ROW_MIN_WIDTH, StackedMLP
from hexagan_core.train import fit, fit_ensemble

ITERATIONS = 3
# Tolerances per dtype: float64 (torch's default dtype switched), where the two must agree to
# rounding over whole iterations, and float32 (what training runs in; see _run_both).
TOLERANCES = {torch.float32: (1e-2, 1e-3), torch.float64: (1e-9, 1e-11)}
# Each update's step; the backend's D_CG updates of a round go through `d_cg_update`.
STEPS = ("d_mi_step", "e_g_mi_step", "d_cg_step", "d_cg_update", "g_cg_step", "c_step")
CPU = torch.device("cpu")


def _toy(n=60, d=8, seed=0, missing=0.2, unlabelled=0.3):
    """A small scaled matrix with NaNs, two classes, and some labels missing (-1)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2))
    x = latent @ rng.normal(size=(2, d))
    x = (x - x.min(0)) / (x.max(0) - x.min(0))
    y = (latent[:, 0] > 0.3).astype(np.int64)
    x_in = np.where(rng.random(x.shape) < missing, np.nan, x).astype(np.float32)
    y_in = np.where(rng.random(n) < unlabelled, -1, y)
    return x_in, y_in


def _breast():
    experiment = prepare(load_builtin("breast"), missing_rate=0.2, label_missing_rate=0.3, seed=0)
    return experiment.train.x_input, experiment.train.y_input


def _models(config, x, y, n_models=2):
    """K models of one config (seeds 0..K-1) on the same data."""
    return [config.replace(seed=s) for s in range(n_models)], [x] * n_models, [y] * n_models


def _pair(config, x, y, n_models=2) -> tuple[Algorithm, ClosedFormAlgorithm]:
    """The readable algorithm and the fast backend, twins; the backend computes every update's
    loss values (compared update by update)."""
    configs, xs, ys = _models(config, x, y, n_models)
    fast = ClosedFormAlgorithm(configs, xs, ys, CPU)
    fast.every_update_losses = True
    return Algorithm(configs, xs, ys, CPU), fast


def _log_updates(algorithm: Algorithm) -> list:
    """Make `algorithm` log (network, gradient, {term: value}) at each optimiser update: every
    update, autograd or closed form, ends in `apply_gradient`; each step's returned terms are
    those of its last update. The instance is patched; the class is untouched."""
    log: list = []
    apply_gradient = algorithm.apply_gradient

    def logged_apply(name, grad):
        log.append((name, grad.detach().clone(), {}))
        apply_gradient(name, grad)

    def logging(step):
        def logged(*args, **kwargs):
            terms = step(*args, **kwargs)
            log[-1][2].update({k: v.detach().clone() for k, v in terms.items()})
            return terms

        return logged

    algorithm.apply_gradient = logged_apply
    for name in STEPS:
        if hasattr(algorithm, name):
            setattr(algorithm, name, logging(getattr(algorithm, name)))
    return log


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    """Run the test under this default dtype (networks, noise and labels follow it)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(previous)


@pytest.fixture
def float64():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _assert_same(actual, expected, where):
    rtol, atol = TOLERANCES[expected.dtype]
    torch.testing.assert_close(
        actual, expected, rtol=rtol, atol=atol, msg=lambda m: f"{where}: {m}"
    )


def _assert_same_state(fast: Algorithm, readable: Algorithm, where: str) -> None:
    """Every parameter, and every optimiser running average, equal."""
    for name, network in readable.nets.items():
        _assert_same(fast.nets[name].flat, network.flat, f"{where}, weights of {name}")
        _assert_same(fast.optimizers[name].square_avg, readable.optimizers[name].square_avg,
                     f"{where}, optimiser state of {name}")  # fmt: skip


def _run_both(config, x, y, iterations=ITERATIONS, float32_updates=13):
    """Run the backend and the algorithm side by side and compare after every iteration.

    In float64 every update's gradient and loss terms are compared in every iteration, and
    every weight and optimiser state after every iteration. In float32 only the first
    `float32_updates` updates are: the backend computes the same expressions in another order,
    and RMSProp, which divides each gradient entry by its running RMS, turns the rounding of
    entries whose exact gradient is 0 (D_MI's output biases: the difference of two means of 1)
    into steps of order lr, so the two float32 runs drift apart by design, not by error;
    float64 pins the math down.
    """
    readable, fast = _pair(config, x, y)
    logs = _log_updates(readable), _log_updates(fast)
    float64 = torch.get_default_dtype() == torch.float64
    for it in range(iterations):
        warm_up = it < config.pretrain_iterations
        for algorithm in (readable, fast):
            algorithm.schedule(it)
            algorithm.iteration(algorithm.draw(), warm_up)
        want, got = logs
        assert [u[0] for u in got] == [u[0] for u in want]
        for u, ((name, grad, terms), (_, want_grad, want_terms)) in enumerate(
            zip(got, want, strict=True)
        ):
            if not float64 and (it > 0 or u >= float32_updates):
                continue
            where = f"iteration {it}, update {u} ({name})"
            _assert_same(grad, want_grad, f"{where}, gradient")
            assert terms.keys() == want_terms.keys(), where
            for term, value in terms.items():
                _assert_same(value, want_terms[term], f"{where}, {term}")
        for log in logs:
            log.clear()
        if float64:
            _assert_same_state(fast, readable, f"iteration {it}")
    # Both consumed the seeded streams identically.
    for a, b in zip(readable.sampler.generators, fast.sampler.generators, strict=True):
        assert torch.equal(a.get_state(), b.get_state())
    return readable, fast


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
@pytest.mark.parametrize("data", ["toy", "breast"])
def test_backend_iteration_equals_the_algorithm(data, penalty, dtype):
    x, y = _toy() if data == "toy" else _breast()
    overrides = {"batch_size": 16} if data == "toy" else {}
    config = preset("paper", penalty=penalty, label_adversarial="soft", **overrides)
    readable, fast = _run_both(config, x, y)
    assert fast.nets["d_mi"].flat.dtype == dtype
    # Not vacuous: every weight moved, except D_CG's output bias, whose gradient is exactly 0
    # (a Wasserstein critic's loss and its input gradients do not depend on it).
    initial = _pair(config, x, y)[0]
    fast.sync_members()
    still = [
        key
        for key, value in fast.members[0].state_dict().items()
        if torch.equal(initial.members[0].state_dict()[key], value)
    ]
    assert still == ["d_cg.net.4.bias"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"label_adversarial": "straight_through"},
        {"label_adversarial": "rounded"},
        {"architecture": "official", "cg_penalty_reduction": "sum"},
        {"recon_drop_rate": 0.3},
        {"recon_drop_rate": 0.3, "recon_drop": "random"},
        {"penalty": "none"},
        {"penalty": "weight_clip", "cg_penalty": "zero_centred"},
        {"cg_penalty": "wgan_gp"},
        {"adversarial_loss": "gain", "adversarial_weight": 0.5},
        {"optimizer": "adam", "c_weight_decay": 1e-3},
        {"penalty_projections": 2},
        {"classifier_balance": "none"},
        {"update_order": "official", "pretrain_iterations": 1, "lr_decay": 0.9},
    ],
)
def test_backend_equals_the_algorithm_for_every_option(overrides, dtype):
    x, y = _toy()
    _run_both(preset("paper", batch_size=16, **overrides), x, y, iterations=2)


def test_the_backend_is_chosen_once_and_reported():
    x, y = _toy()
    assert build_algorithm(*_models(preset("default"), x, y), CPU).name == "closed_form"
    reports = []
    fit(preset("default", iterations=2, eval_every=1), x, y, device="cpu",
        callback=reports.append)  # fmt: skip
    assert [r["backend"] for r in reports] == ["closed_form"] * 2


def test_models_trained_together_equal_models_trained_alone(dtype):
    """fit_ensemble over three seeds and two missing rates gives fit's models, to rounding."""
    x_a, y = _toy(seed=0, missing=0.2)
    x_b, _ = _toy(seed=0, missing=0.4)
    config = preset("default", iterations=4, batch_size=16, eval_every=2)
    if dtype == torch.float32:
        # With normal noise and class codes, float32 runs of 1 and 3 models (different matrix
        # shapes, so different rounding) are up to 3e-4 apart after 4 iterations, 1e-8 with
        # uniform noise. float64 checks this config to 1e-8: rounding, grown by RMSProp's
        # first steps, which are about lr whatever a gradient's size.
        config = config.replace(latent="uniform")
    configs = [config.replace(seed=s) for s in (0, 1, 2)]
    xs = [x_a, x_b, x_a]
    together = fit_ensemble(configs, xs, [y] * 3, device="cpu")
    rtol, atol = {torch.float32: (1e-3, 1e-4), torch.float64: (1e-8, 1e-10)}[dtype]
    for member, cfg, x in zip(together, configs, xs, strict=True):
        alone = fit(cfg, x, y, device="cpu")
        for (key, a), (_, b) in zip(member.networks.state_dict().items(),
                                    alone.networks.state_dict().items(), strict=True):  # fmt: skip
            torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=key)
        for got, want in zip(member.history, alone.history, strict=True):
            assert got["losses"] == pytest.approx(want["losses"], rel=1e-3, abs=1e-5)
    first, second = (m.networks.state_dict() for m in together[:2])
    assert not torch.equal(first["encoder.net.0.weight"], second["encoder.net.0.weight"])


# --- the closed-form Jacobian and penalties against a per-output autograd loop ------------------


def input_gradients(output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d output[b] / d inputs[b] for every row b, (B, n), differentiable: `output` (B,) is
    computed row by row, so the gradient of its sum with respect to row b is row b's own."""
    (grad,) = torch.autograd.grad(output.sum(), inputs, create_graph=True)
    return grad


def per_feature_grad_sq_norms(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """||d scores[b, i] / d inputs[b]||^2 for every row b and output i, (B, k): one autograd
    call per output, the plain way to a per-sample Jacobian."""
    columns = [input_gradients(scores[:, i], inputs).pow(2).sum(dim=1)
               for i in range(scores.shape[1])]  # fmt: skip
    return torch.stack(columns, dim=1)


DEPTHS = [[9], [9, 4], [9, 4, 6]]  # hidden widths: every architecture's depth, and one more


def _random_critic(n_in, hidden, n_out, seed):
    """An MLP with random weights and biases, so that its ReLUs are partly active."""
    critic = MLP(n_in, hidden, n_out).double()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
    return critic


@pytest.mark.parametrize("hidden", DEPTHS, ids=["1 hidden", "2 hidden", "3 hidden"])
@pytest.mark.parametrize("n_out", [8, 1], ids=["from the input", "from the output"])
def test_closed_form_jacobian_equals_autograd_per_output(n_out, hidden):
    d, k, batch = 7, 3, 11
    critic = _random_critic(d + k, hidden, n_out, seed=1)
    stacked = StackedMLP([critic])
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(batch, d, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k]
    scores, jacobian = stacked.forward_with_input_jacobian(x[None], y[None])
    torch.testing.assert_close(scores[0], critic(x, y))
    loop = torch.stack([input_gradients(critic(x, y)[:, i], x) for i in range(n_out)], dim=1)
    torch.testing.assert_close(jacobian[0], loop, rtol=1e-12, atol=1e-12)
    assert jacobian.abs().max() > 0.1  # not a dead network


@pytest.mark.parametrize("hidden", DEPTHS, ids=["1 hidden", "2 hidden", "3 hidden"])
def test_closed_form_jacobian_backward_equals_autograd(hidden):
    """`input_jacobian_backward` (D_MI's hand-written penalty gradient) against autograd through
    the Jacobian, for a weighted square loss on its first n_rows outputs, at every depth."""
    d, k, batch, n_rows = 7, 3, 11, 7
    stacked = StackedMLP([_random_critic(d + k, hidden, d + 1, seed=3)])
    generator = torch.Generator().manual_seed(4)
    x = torch.rand(1, batch, d, generator=generator, dtype=torch.float64)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k][None]
    weight = torch.rand(1, n_rows, batch, d, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        _, jacobian, tape, columns = stacked.input_jacobian_taped(x, y, n_rows=n_rows)
        stacked.grad.zero_()
        stacked.input_jacobian_backward(tape, columns, 2.0 * weight * jacobian)
    expected = stacked.flat_gradient(
        (weight * stacked.input_jacobian_taped(x, y, n_rows=n_rows)[1].pow(2)).sum()
    )
    torch.testing.assert_close(stacked.grad, expected, rtol=1e-12, atol=1e-12)
    assert expected.abs().max() > 0.1


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
@pytest.mark.parametrize("hidden", DEPTHS, ids=["1 hidden", "2 hidden", "3 hidden"])
def test_row_by_row_penalty_gradient_equals_autograd(hidden, penalty):
    """`jacobian_penalty_gradient_by_row` (wide D_MI: each row's active units only) against
    autograd on the batched Jacobian: squared norms and gradient, two models, masked rows."""
    d, k, batch, n_rows = 7, 3, 11, 7
    stacked = StackedMLP([_random_critic(d + k, hidden, d + 1, seed=s) for s in (5, 6)])
    generator = torch.Generator().manual_seed(7)
    x = torch.rand(2, batch, d, generator=generator, dtype=torch.float64)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k].expand(2, -1, -1)
    weight = torch.rand(2, batch, n_rows, generator=generator, dtype=torch.float64)
    weight[weight < 0.2] = 0.0  # unobserved entries carry no penalty
    with torch.no_grad():
        tape = stacked.forward_taped(x, y)[1]
        stacked.grad.zero_()
        sq_norms = stacked.jacobian_penalty_gradient_by_row(tape, d, weight, penalty)
    jacobian = stacked.forward_with_input_jacobian(x, y)[1][:, :, :n_rows]
    exact_sq_norms = jacobian.pow(2).sum(-1)
    per_entry = (
        exact_sq_norms if penalty == "zero_centred"
        else (torch.sqrt(exact_sq_norms + losses._EPS) - 1.0) ** 2
    )  # fmt: skip
    expected = stacked.flat_gradient((weight * per_entry).sum())
    torch.testing.assert_close(sq_norms, exact_sq_norms.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(stacked.grad, expected, rtol=1e-12, atol=1e-12)
    assert expected.abs().max() > 0.1


def test_wide_critics_take_the_penalty_row_by_row():
    def critic(d):
        return StackedMLP([MLP(d + 2, [d, d // 2], d + 1)])

    assert critic(500).jacobian_by_row_pays()  # madelon's D_MI
    assert critic(2 * ROW_BY_ROW_MIN_WIDTH).jacobian_by_row_pays()
    assert not critic(30).jacobian_by_row_pays()  # breast's
    off_the_cpu = critic(500)  # a GPU runs the batched form (here 'meta' stands in for one)
    off_the_cpu.flat = torch.empty(0, device="meta")
    assert not off_the_cpu.jacobian_by_row_pays()


def test_backend_with_the_row_by_row_penalty_equals_the_algorithm(monkeypatch, float64):
    """Whole iterations with every D_MI penalty taken row by row (threshold lowered to the toy
    critic's width) against the algorithm: same gradients, losses and weights in float64."""
    monkeypatch.setattr(stacked_module, "ROW_BY_ROW_MIN_WIDTH", 1)
    x, y = _toy()
    config = preset("paper", batch_size=16, penalty="wgan_gp")
    _, fast = _run_both(config, x, y, iterations=2)
    assert fast.penalty_by_row  # decided once, at start


def _perturbed_algorithm(penalty: str) -> Algorithm:
    x, y = _toy(d=8)
    algorithm = Algorithm(*_models(preset("paper", penalty=penalty), x, y, n_models=1), CPU)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():  # random biases: ReLU patterns differ from row to row
        for name in ("d_mi", "d_cg"):
            flat = algorithm.nets[name].flat
            flat.add_(0.3 * torch.randn(flat.shape, generator=generator))
    return algorithm


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_penalties_equal_a_per_output_autograd_loop(penalty):
    """Value and weight gradients of the algorithm's L_GP^MI (closed-form Jacobian) and of the
    backend's D_CG update (`StackedMLP.critic_gradient`) against one autograd call per output,
    on one random batch."""
    algorithm = _perturbed_algorithm(penalty)
    generator = torch.Generator().manual_seed(4)
    batch = algorithm.draw().of("d_mi").batch(0, algorithm.batch_rows)
    x_hat = torch.rand(batch.x.shape, generator=generator)
    y_in = torch.softmax(torch.randn(batch.y.shape, generator=generator), dim=-1)
    d = algorithm.d

    d_mi = algorithm.nets["d_mi"]
    jacobian = d_mi.forward_with_input_jacobian(x_hat, y_in)[1]
    value = algorithm.penalty_mi(jacobian[..., :d, :].pow(2).sum(-1), batch.m)
    grad = d_mi.flat_gradient(value.sum())
    x_loop = x_hat[0].clone().requires_grad_(True)
    sq_norms = per_feature_grad_sq_norms(d_mi(x_loop[None], y_in)[0, :, :d], x_loop)[None]
    penalty_loop = losses.wgan_gp_penalty if penalty == "wgan_gp" else losses.zero_centred_penalty
    value_loop = penalty_loop(sq_norms, batch.m)
    grad_loop = d_mi.flat_gradient(value_loop.sum())
    assert value_loop > 1e-3 and grad_loop.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(value, value_loop, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, grad_loop, rtol=1e-4, atol=1e-6)

    n, width = batch.y.shape[1], algorithm.members[0].noise_dim
    h_real, h_fake = (torch.rand(1, n, width, generator=generator) for _ in range(2))
    y = batch.y
    d_cg = algorithm.nets["d_cg"]
    inputs = torch.cat([torch.cat([h_real, y], -1), torch.cat([h_fake, y], -1)], dim=1)
    one_centred = penalty == "wgan_gp"
    grad, _, jacobian = d_cg.critic_gradient(
        inputs, losses.critic_loss_grad(n, n, inputs), n, width,
        lambda j: 10.0 * losses.hidden_penalty_grad(j, "mean", one_centred),
    )  # fmt: skip
    grad = grad.clone()
    h_loop = h_real[0].clone().requires_grad_(True)
    jacobian_loop = input_gradients(d_cg(h_loop[None], y)[0, :, 0], h_loop)[None]
    loss_loop = losses.critic_loss(d_cg(h_fake, y), d_cg(h_real, y))
    gp_loop = losses.hidden_penalty(jacobian_loop, "mean", one_centred)
    grad_loop = d_cg.flat_gradient((loss_loop + 10.0 * gp_loop).sum())
    assert gp_loop > 1e-3 and grad_loop.abs().max() > 1e-3
    torch.testing.assert_close(jacobian, jacobian_loop.detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, grad_loop, rtol=1e-4, atol=1e-6)


def test_per_feature_grad_sq_norms_of_a_linear_critic_are_its_row_norms():
    """For D(x) = W x + b every row's Jacobian is W: the squared norms are W's row norms."""
    weight = torch.tensor([[1.0, 2.0], [0.0, -3.0], [0.5, 0.5]], dtype=torch.float64)
    x = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    norms = per_feature_grad_sq_norms(x @ weight.T + 1.0, x)
    torch.testing.assert_close(norms, torch.tensor([[5.0, 9.0, 0.5]] * 4, dtype=torch.float64))


# --- the random-projection estimate of L_GP^MI ----------------------------------------------------


def test_projected_penalty_is_unbiased_in_value_and_gradient():
    """The mean of many projected estimates approaches the exact L_GP^MI and its gradient within
    a few standard errors (random signs: E[v v^T] = I makes each estimate unbiased)."""
    torch.manual_seed(0)
    d, k, batch, draws = 6, 2, 5, 4000
    critic = StackedMLP([_random_critic(d + k, [7, 4], d + 1, seed=5)])
    generator = torch.Generator().manual_seed(6)
    x = torch.rand(1, batch, d, generator=generator, dtype=torch.float64)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k][None]
    mask = (torch.rand(1, batch, d, generator=generator) > 0.3).double()

    def flat_grad(value):
        return critic.flat_gradient(value.sum())

    exact = losses.zero_centred_penalty(
        critic.forward_with_input_jacobian(x, y)[1][..., :d, :].pow(2).sum(-1), mask
    )
    exact_grad = flat_grad(exact)
    signs = torch.randint(0, 2, (draws, batch, 1, d), generator=generator).double() * 2 - 1
    values, grads = [], []
    for v in signs:
        projected = critic.forward_with_projected_jacobian(x, y, directions=v[None])[1]
        value = losses.zero_centred_penalty(projected[..., :d].pow(2).mean(2), mask)
        values.append(value.detach())
        grads.append(flat_grad(value))
    values, grads = torch.cat(values), torch.stack(grads)
    assert values.std() > 0.05 * exact.abs().item()  # a real estimate, not the exact value
    stderr = values.std() / draws**0.5
    assert abs(values.mean() - exact[0]) < 4 * stderr
    grad_stderr = grads.std(dim=0) / draws**0.5
    moving = exact_grad.abs() > 1e-6
    z = (grads.mean(dim=0) - exact_grad)[moving] / (grad_stderr[moving] + 1e-12)
    assert z.abs().max() < 5  # every moving weight's gradient, within 5 standard errors


def test_projected_penalty_over_every_sign_pattern_is_the_exact_penalty():
    """Averaged over all 2^d sign vectors (the whole distribution), the estimate is exact."""
    d, k, batch = 5, 2, 4
    critic = StackedMLP([_random_critic(d + k, [6, 4], d + 1, seed=7)])
    generator = torch.Generator().manual_seed(8)
    x = torch.rand(1, batch, d, generator=generator, dtype=torch.float64)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k][None]
    mask = (torch.rand(1, batch, d, generator=generator) > 0.3).double()
    patterns = torch.cartesian_prod(*[torch.tensor([-1.0, 1.0], dtype=torch.float64)] * d)
    directions = patterns.expand(1, batch, -1, -1)  # every row gets all 32 patterns
    projected = critic.forward_with_projected_jacobian(x, y, directions=directions)[1]
    estimate = losses.zero_centred_penalty(projected[..., :d].pow(2).mean(2), mask)
    exact = losses.zero_centred_penalty(
        critic.forward_with_input_jacobian(x, y)[1][..., :d, :].pow(2).sum(-1), mask
    )
    assert exact.item() > 1e-3
    torch.testing.assert_close(estimate, exact, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_skipping_unreported_loss_values_changes_nothing(penalty):
    """Training computes only the loss values an iteration reports (each kind's last update);
    the weights and the reported values are bit for bit those of computing every update's."""
    x, y = _toy()
    config = preset("paper", batch_size=16, penalty=penalty)
    _, full = _pair(config, x, y)
    _, lean = _pair(config, x, y)
    lean.every_update_losses = False
    for _ in range(2):
        lean_record = lean.iteration(lean.draw())
        full_record = full.iteration(full.draw())
        assert lean_record.keys() == full_record.keys()
        for name, value in full_record.items():
            assert torch.equal(lean_record[name], value), name
    for name, network in full.nets.items():
        assert torch.equal(lean.nets[name].flat, network.flat), name


# --- engine='compiled': the same updates as torch.compile'd programs -----------------------------


def test_compiled_engine_equals_eager_engine(float64):
    """The compiled programs compute what the eager engine computes (float64, to rounding):
    every reported loss and, after every iteration, every weight and optimiser state. The
    config takes the paths a compiled step must get right: a decaying learning rate (read from
    a tensor), the warm-up (eager), G_CG first, and L_C through C's soft labels. Iterations
    after the first compile nothing new. (Fused kernels sum in another order: weights agree to
    about 2e-11 after three iterations, hence atol 1e-9 rather than 1e-11.)"""
    from torch._dynamo.utils import counters

    try:
        x, y = _toy()
        config = preset("official", batch_size=16, pretrain_iterations=1, n_critic=2, n_cg=2,
                        label_adversarial="soft", lr_decay=0.9)  # fmt: skip
        eager = build_algorithm(*_models(config, x, y), CPU)
        compiled = build_algorithm(*_models(config.replace(engine="compiled"), x, y), CPU)
        assert compiled.name == "compiled"
        assert compiled.compiled_steps == ["c_step", "cg_round", "d_mi_updates", "e_g_mi_step"]
        for it in range(4):
            for algorithm in (eager, compiled):
                algorithm.schedule(max(0, it - 1))
            if it == 3:
                graphs = counters["stats"]["unique_graphs"]
            want = eager.iteration(eager.draw(), warm_up=it == 0)
            got = compiled.iteration(compiled.draw(), warm_up=it == 0)
            assert got.keys() == want.keys()
            for name, value in want.items():
                torch.testing.assert_close(got[name], value, rtol=1e-9, atol=1e-9, msg=name)
            for name, network in eager.nets.items():
                torch.testing.assert_close(compiled.nets[name].flat, network.flat, rtol=1e-9,
                                           atol=1e-9)  # fmt: skip
                torch.testing.assert_close(compiled.optimizers[name].square_avg,
                                           eager.optimizers[name].square_avg, rtol=1e-9,
                                           atol=1e-9)  # fmt: skip
        assert counters["stats"]["unique_graphs"] == graphs  # no recompilation
        assert compiled.optimizers["d_mi"].lr == pytest.approx(config.lr * 0.9**2)
    finally:
        torch._dynamo.reset()  # drop the compiled programs and their guards (400k objects)


def test_compiled_engine_without_a_compiler_says_so(monkeypatch):
    monkeypatch.setattr("hexagan_core.engine.runtime.shutil.which", lambda name: None)
    x, y = _toy()
    with pytest.raises(ValueError, match="engine='compiled' on the CPU needs a C\\+\\+ compiler"):
        fit(preset("default", iterations=2, engine="compiled"), x, y, device="cpu")


def test_compiled_engine_leaves_a_wide_critics_updates_eager():
    """D_MI's row-by-row penalty has data-dependent shapes: under engine='compiled' its updates
    stay eager (nothing is compiled before the first call, so this costs no compilation)."""
    programs = {}
    for d in (8, 2 * ROW_BY_ROW_MIN_WIDTH):
        x, y = _toy(n=40, d=d)
        configs = [preset("paper", engine="compiled")]
        programs[d] = build_algorithm(configs, [x], [y], CPU).compiled_steps
    assert "d_mi_updates" in programs[8]
    assert "d_mi_updates" not in programs[2 * ROW_BY_ROW_MIN_WIDTH]
    assert "cg_round" in programs[2 * ROW_BY_ROW_MIN_WIDTH]
