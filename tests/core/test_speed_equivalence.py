"""The engine's fast Algorithm-1 iteration computes exactly what the plain eager reference
(benchmarks/reference.py) computes: same losses at every one of the 68 updates, same weights,
same optimiser state.

The engine and the reference's twin `_Trainer` are built from one config and one data set, so
they start from the same weights and the same seeded generator; the reference takes each
iteration's random numbers from its twin's `draw()`, so the streams stay in step (checked at
the end). The closed forms of the engine (Jacobian, penalties, D_CG's gradient) are also
checked against autograd on random critics, and K models trained together against K fits.
"""

import threading

import numpy as np
import pytest
import torch

from benchmarks.reference import EagerReference, input_gradients, per_feature_grad_sq_norms
from hexagan_core import losses
from hexagan_core import stacked as stacked_module
from hexagan_core.config import preset
from hexagan_core.data import load_builtin
from hexagan_core.networks import MLP
from hexagan_core.protocol import prepare
from hexagan_core.stacked import ROW_BY_ROW_MIN_WIDTH, StackedMLP
from hexagan_core.train import _Trainer, fit, fit_ensemble

ITERATIONS = 3
# Tolerances per dtype: float64 (torch's default dtype switched), where the two paths must agree
# to rounding over whole iterations, and float32 (what training runs in; see _run_both).
TOLERANCES = {torch.float32: (1e-2, 1e-3), torch.float64: (1e-9, 1e-11)}
ENGINE_STEPS = ("step_d_mi", "step_e_g_mi", "step_d_cg", "step_g_cg", "step_c")


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


def _trainer(config, x, y) -> _Trainer:
    trainer = _Trainer([config], [x], [y], torch.device("cpu"))
    trainer.every_update_losses = True  # compared update by update with the reference
    return trainer


def _log_engine(trainer: _Trainer) -> list:
    """Make the engine log (network, {term: value}) at each optimiser update: the total loss of
    each autograd update, and the terms its step returns (for the E-then-G_MI step, G_MI's:
    the engine returns only those). The instance is patched; the class is untouched."""
    log: list = []
    engine_step, engine_update = trainer.step_optimizer, trainer.update

    def step_optimizer(name, grad):  # every update, autograd or closed form, ends here
        log.append((name, {}))
        engine_step(name, grad)

    def update(name, loss):
        engine_update(name, loss)
        log[-1][1]["total"] = loss.detach()[0].clone()

    trainer.step_optimizer, trainer.update = step_optimizer, update

    def logged(step):
        def run(*args, **kwargs):
            terms = step(*args, **kwargs)
            log[-1][1].update({k: v.detach()[0].clone() for k, v in terms.items()})
            return terms

        return run

    for name in ENGINE_STEPS:
        setattr(trainer, name, logged(getattr(trainer, name)))
    return log


@pytest.fixture(params=[torch.float32, torch.float64], ids=["float32", "float64"])
def dtype(request):
    """Run the test under this default dtype (networks, noise and labels follow it)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    yield request.param
    torch.set_default_dtype(previous)


def _assert_same(actual, expected, where):
    rtol, atol = TOLERANCES[expected.dtype]
    torch.testing.assert_close(
        actual, expected, rtol=rtol, atol=atol, msg=lambda m: f"{where}: {m}"
    )


def _assert_same_weights(engine: _Trainer, reference: EagerReference, where: str) -> None:
    """Every parameter, and every optimiser running average, equal."""
    engine.sync_members()
    for (key, p_engine), (_, p_reference) in zip(
        engine.members[0].state_dict().items(), reference.nets.state_dict().items(), strict=True
    ):
        _assert_same(p_engine, p_reference, f"{where}, parameter {key}")
    state_key = "exp_avg_sq" if engine.config.optimizer == "adam" else "square_avg"
    for name, optimizer in engine.optimizers.items():
        torch_optimizer = reference.optimizers[name]
        expected = torch.cat([
            torch_optimizer.state[p][state_key].reshape(-1)
            for p in torch_optimizer.param_groups[0]["params"]
        ])  # fmt: skip
        _assert_same(optimizer.square_avg, expected, f"{where}, optimiser state of {name}")


def _run_both(config, x, y, iterations=ITERATIONS, float32_updates=13):
    """Run the engine and the reference side by side and compare after every iteration.

    In float64 every loss term of every update is compared in every iteration, and every weight
    and optimiser state after every iteration. In float32 only the first `float32_updates`
    updates' losses are: the engine computes the same expressions in another order (one
    forward pass for several batches, closed-form gradients), and RMSProp, which divides each
    gradient entry by its running RMS, turns the rounding of entries whose exact gradient is 0
    (D_MI's output biases: the difference of two means of 1) into steps of order lr, so the
    two float32 runs drift apart by design, not by error; float64 pins the math down.
    """
    engine, twin = _trainer(config, x, y), _trainer(config, x, y)
    reference = EagerReference(twin)
    log = _log_engine(engine)
    n_updates = config.n_critic + 2 + config.n_cg * (config.n_critic + 1) + 1
    for it in range(iterations):
        engine.iteration(warm_up=False)
        records = reference.iteration()
        assert [name for name, _ in log] == [name for name, _ in records]
        assert len(records) == n_updates
        float64 = torch.get_default_dtype() == torch.float64
        for u, ((name, got), (_, want)) in enumerate(zip(log, records, strict=True)):
            assert set(got) <= set(want) and (len(got) > 1 or name == "encoder"), (name, got)
            if not float64 and (it > 0 or u >= float32_updates):
                continue
            for term, value in got.items():
                _assert_same(value, want[term], f"iteration {it}, update {u} ({name}), {term}")
        log.clear()
        if float64:
            _assert_same_weights(engine, reference, f"iteration {it}")
    # Both consumed the seeded stream identically.
    assert torch.equal(engine.generators[0].get_state(), twin.generators[0].get_state())
    return engine, reference


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
@pytest.mark.parametrize("data", ["toy", "breast"])
def test_engine_iteration_equals_eager_reference(data, penalty, dtype):
    x, y = _toy() if data == "toy" else _breast()
    overrides = {"batch_size": 16} if data == "toy" else {}
    config = preset("paper", penalty=penalty, label_adversarial="soft", **overrides)
    engine, _ = _run_both(config, x, y)
    assert engine.nets["d_mi"].flat.dtype == dtype
    # Not vacuous: every weight moved, except D_CG's output bias, whose gradient is exactly 0
    # (a Wasserstein critic's loss and its input gradients do not depend on it).
    initial = _trainer(config, x, y).members[0].state_dict()
    engine.sync_members()
    still = [
        key
        for key, value in engine.members[0].state_dict().items()
        if torch.equal(initial[key], value)
    ]
    assert still == ["d_cg.net.4.bias"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"label_adversarial": "straight_through"},
        {"label_adversarial": "rounded"},
        {"architecture": "official", "cg_penalty_reduction": "sum"},
        {"recon_drop_rate": 0.3},
        {"penalty": "none"},
        {"optimizer": "adam", "c_weight_decay": 1e-3},
    ],
)
def test_engine_equals_reference_for_other_options(overrides, dtype):
    x, y = _toy()
    _run_both(preset("paper", batch_size=16, **overrides), x, y, iterations=2)


def test_reference_refuses_what_it_does_not_implement():
    x, y = _toy()
    with pytest.raises(ValueError, match="update_order"):
        EagerReference(_trainer(preset("official"), x, y))


def test_models_trained_together_equal_models_trained_alone(dtype):
    """fit_ensemble over three seeds and two missing rates gives fit's models, to rounding."""
    x_a, y = _toy(seed=0, missing=0.2)
    x_b, _ = _toy(seed=0, missing=0.4)
    config = preset("default", iterations=4, batch_size=16, eval_every=2)
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


# --- the closed-form penalty against the per-feature autograd loop ------------------------------


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


def test_engine_with_the_row_by_row_penalty_equals_the_batched_engine(monkeypatch):
    """Whole iterations with every D_MI penalty taken row by row (threshold lowered to the toy
    critic's width) against the batched Jacobian: same losses and weights in float64."""
    torch.set_default_dtype(torch.float64)
    try:
        x, y = _toy()
        config = preset("paper", batch_size=16, penalty="wgan_gp")
        batched = _trainer(config, x, y)
        monkeypatch.setattr(stacked_module, "ROW_BY_ROW_MIN_WIDTH", 1)
        by_row = _trainer(config, x, y)
        assert by_row.nets["d_mi"].jacobian_by_row_pays()
        assert by_row.penalty_by_row and not batched.penalty_by_row  # decided once, at start
        for _ in range(2):
            losses_batched = batched.iteration()
            losses_by_row = by_row.iteration()
            for name, value in losses_batched.items():
                torch.testing.assert_close(losses_by_row[name], value, rtol=1e-10, atol=1e-12)
        for name, net in batched.nets.items():
            torch.testing.assert_close(by_row.nets[name].flat, net.flat, rtol=1e-10, atol=1e-12)
    finally:
        torch.set_default_dtype(torch.float32)


def _perturbed_reference(penalty: str) -> tuple[EagerReference, _Trainer]:
    x, y = _toy(d=8)
    trainer = _trainer(preset("paper", penalty=penalty), x, y)
    reference = EagerReference(trainer)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():  # random biases: ReLU patterns differ from row to row
        for p in [*reference.nets.d_mi.parameters(), *reference.nets.d_cg.parameters()]:
            p.add_(0.3 * torch.randn(p.shape, generator=generator))
    return reference, trainer


def _flat_grad(value: torch.Tensor, module: torch.nn.Module) -> torch.Tensor:
    # Biases only switch ReLUs: the closed forms do not use them, so allow_unused.
    grads = torch.autograd.grad(value, list(module.parameters()), allow_unused=True,
                                materialize_grads=True)  # fmt: skip
    return torch.cat([g.reshape(-1) for g in grads])


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_closed_form_penalty_equals_per_feature_loop(penalty):
    """Value and weight gradients of L_GP^MI (closed-form Jacobian) and of D_CG's whole loss
    (closed-form gradient), engine path vs reference path, on one random batch."""
    reference, trainer = _perturbed_reference(penalty)
    generator = torch.Generator().manual_seed(4)
    batch = trainer.draw().of("d_mi").batch(0, trainer.layout.batch_rows)
    x_hat = torch.rand(batch.x.shape, generator=generator)
    y_in = torch.softmax(torch.randn(batch.y.shape, generator=generator), dim=-1)

    d_mi = StackedMLP([reference.nets.d_mi])
    value_engine = trainer.penalty(d_mi.forward_with_input_jacobian(x_hat, y_in)[1], batch.m)
    grad_engine = d_mi.flat_gradient(value_engine.sum())
    value_reference = reference.penalty_mi(x_hat[0], y_in[0], batch.m[0])
    grad_reference = _flat_grad(value_reference, reference.nets.d_mi)
    assert value_reference > 1e-3 and grad_reference.abs().max() > 1e-3  # not trivially zero
    torch.testing.assert_close(value_engine[0], value_reference, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad_engine, grad_reference, rtol=1e-4, atol=1e-6)

    n, width = len(batch.y[0]), trainer.noise_dim
    h_real, h_fake = (torch.rand(n, width, generator=generator) for _ in range(2))
    y = batch.y[0][:n]
    d_cg = StackedMLP([reference.nets.d_cg])
    inputs = torch.cat([torch.cat([h_real, h_fake]), torch.cat([y, y])], dim=1)[None]
    grad_engine, loss_engine, gp_engine = d_cg.wasserstein_critic_gradient(
        inputs, n, width, weight=10.0, penalty=penalty
    )
    d_cg_reference = reference.nets.d_cg
    loss_reference = losses.critic_loss(d_cg_reference(h_fake, y), d_cg_reference(h_real, y))
    gp_reference = reference.penalty_cg(h_real, y)
    grad_reference = _flat_grad(loss_reference + 10.0 * gp_reference, reference.nets.d_cg)
    assert gp_reference > 1e-3 and grad_reference.abs().max() > 1e-3
    torch.testing.assert_close(loss_engine[0], loss_reference, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(gp_engine[0], gp_reference, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad_engine, grad_reference, rtol=1e-4, atol=1e-6)


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


@pytest.mark.parametrize("adversarial_loss", ["hexagan", "gain"])
def test_closed_form_updates_equal_autograd(adversarial_loss):
    """The hand-written D_MI, E, G_MI, D_CG and G_CG gradients against the engine's own
    autograd path (also for what the reference does not implement: GAIN's loss)."""
    torch.set_default_dtype(torch.float64)
    try:
        x, y = _toy()
        config = preset("paper", batch_size=16, adversarial_loss=adversarial_loss,
                        adversarial_weight=0.5, recon_drop_rate=0.3)  # fmt: skip
        fast, slow = _trainer(config, x, y), _trainer(config, x, y)
        slow.closed_form = False
        for trainer in (fast, slow):
            for _ in range(2):
                trainer.iteration()
        fast.sync_members()
        slow.sync_members()
        for (key, a), (_, b) in zip(fast.members[0].state_dict().items(),
                                    slow.members[0].state_dict().items(), strict=True):  # fmt: skip
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11, msg=key)
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_skipping_unreported_loss_values_changes_nothing(penalty):
    """Training computes only the loss values an iteration reports (each kind's last update);
    the weights and the reported values are bit for bit those of computing every update's."""
    x, y = _toy()
    config = preset("paper", batch_size=16, penalty=penalty)
    lean, full = _trainer(config, x, y), _trainer(config, x, y)
    lean.every_update_losses = False
    for _ in range(2):
        lean_record, full_record = lean.iteration(), full.iteration()
        assert lean_record.keys() == full_record.keys()
        for name, value in full_record.items():
            assert torch.equal(lean_record[name], value), name
    for name, network in full.nets.items():
        assert torch.equal(lean.nets[name].flat, network.flat), name


def test_drawing_ahead_on_another_thread_changes_nothing():
    """The next iteration's draws made on another thread during this one (large draws on the
    CPU) are the numbers drawing them in turn would give: same losses, same weights."""
    x, y = _breast()
    config = preset("paper", batch_size=32)
    configs = [config.replace(seed=s) for s in (0, 1)]
    ahead, in_turn = (_Trainer(configs, [x] * 2, [y] * 2, torch.device("cpu")) for _ in range(2))
    assert ahead.prefetch_draws  # 2 models x about 100k values per iteration
    for it in range(4):
        ahead_record = ahead.iteration(draw_next=it < 3)
        assert (ahead._next_draws is not None) == (it < 3)
        in_turn_record = in_turn.iteration()
        for name, value in in_turn_record.items():
            assert torch.equal(ahead_record[name], value), name
    for name, network in in_turn.nets.items():
        assert torch.equal(ahead.nets[name].flat, network.flat), name
    ahead.close()
    assert ahead._drawer is None


def test_fit_draws_ahead_and_ends_its_drawing_thread(monkeypatch):
    monkeypatch.setattr("hexagan_core.train.PREFETCH_MIN_VALUES", 1)
    x, y = _toy()
    config = preset("default", iterations=6, batch_size=16, eval_every=3)
    drawn_on = []
    original = _Trainer.draw

    def draw(self):
        drawn_on.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(_Trainer, "draw", draw)
    fit(config, x, y, device="cpu")
    assert len(drawn_on) == 6 and drawn_on[0] == threading.current_thread().name
    assert all(name.startswith("hexagan-draws") for name in drawn_on[1:])
    assert not [t for t in threading.enumerate() if t.name.startswith("hexagan-draws")]
    # Stopped at the first report (a draw for iteration 4 is pending): the thread ends too.
    stop = threading.Event()
    model = fit(config, x, y, device="cpu", stop_event=stop, callback=lambda _: stop.set())
    assert [r["iteration"] for r in model.history] == [3]
    assert not [t for t in threading.enumerate() if t.name.startswith("hexagan-draws")]


# --- engine='compiled': the same updates as torch.compile'd programs -----------------------------


def test_compiled_engine_equals_eager_engine():
    """The compiled programs compute what the eager engine computes (float64, to rounding):
    every reported loss and, after every iteration, every weight and optimiser state. The
    config takes the paths a compiled step must get right: a decaying learning rate (read from
    a tensor), the warm-up (eager), G_CG first, and L_C through C's soft labels. Iterations
    after the first compile nothing new. (Fused kernels sum in another order: weights agree to
    about 2e-11 after three iterations, hence atol 1e-9 rather than 1e-11.)"""
    from torch._dynamo.utils import counters

    torch.set_default_dtype(torch.float64)
    try:
        x, y = _toy()
        config = preset("official", batch_size=16, pretrain_iterations=1, n_critic=2, n_cg=2,
                        label_adversarial="soft", lr_decay=0.9)  # fmt: skip
        eager, compiled = _trainer(config, x, y), _trainer(config.replace(engine="compiled"), x, y)
        assert set(compiled.compiled) == {
            "missing_data_imputation_critic", "step_e_g_mi", "cg_round", "step_c",
        }  # fmt: skip
        for it in range(4):
            for trainer in (eager, compiled):
                trainer.set_learning_rates(max(0, it - 1))
            if it == 3:
                graphs = counters["stats"]["unique_graphs"]
            want, got = eager.iteration(warm_up=it == 0), compiled.iteration(warm_up=it == 0)
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
        torch.set_default_dtype(torch.float32)
        torch._dynamo.reset()  # drop the compiled programs and their guards (400k objects)


def test_compiled_engine_without_a_compiler_says_so(monkeypatch):
    monkeypatch.setattr("hexagan_core.train.shutil.which", lambda name: None)
    x, y = _toy()
    with pytest.raises(ValueError, match="engine='compiled' on the CPU needs a C\\+\\+ compiler"):
        fit(preset("default", iterations=2, engine="compiled"), x, y, device="cpu")


def test_compiled_engine_leaves_a_wide_critics_updates_eager():
    """D_MI's row-by-row penalty has data-dependent shapes: under engine='compiled' its updates
    stay eager (nothing is compiled before the first call, so this costs no compilation)."""
    programs = {}
    for d in (8, 2 * ROW_BY_ROW_MIN_WIDTH):
        x, y = _toy(n=40, d=d)
        programs[d] = _Trainer([preset("paper", engine="compiled")], [x], [y],
                               torch.device("cpu")).compiled  # fmt: skip
    assert "missing_data_imputation_critic" in programs[8]
    assert "missing_data_imputation_critic" not in programs[2 * ROW_BY_ROW_MIN_WIDTH]
    assert "cg_round" in programs[2 * ROW_BY_ROW_MIN_WIDTH]
