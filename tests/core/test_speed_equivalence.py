"""The engine's fast Algorithm-1 iteration computes exactly what the plain eager reference
(benchmarks/reference.py) computes: same losses at every one of the 68 updates, same weights.

Both run on twin `_Trainer`s built from one config and one data set, so they start from the same
weights and the same seeded generator; the reference draws through the trainer's helpers in the
engine's order, so the random streams stay in step (checked at the end). The closed-form
penalty of the engine is also checked against the per-feature autograd loop on a random critic.
"""

import numpy as np
import pytest
import torch

from benchmarks.reference import EagerReference, input_gradients, per_feature_grad_sq_norms
from hexagan_core.config import preset
from hexagan_core.data import load_builtin
from hexagan_core.networks import MLP
from hexagan_core.protocol import prepare
from hexagan_core.train import _Trainer

ITERATIONS = 3
# Tolerances per dtype: float32 (what training runs in) and float64 (the same code with torch's
# default dtype switched, where the two paths must agree to rounding).
TOLERANCES = {torch.float32: (1e-4, 1e-5), torch.float64: (1e-9, 1e-11)}
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


def _log_engine(trainer: _Trainer) -> list:
    """Make the engine log (network, {term: value, 'total': loss}) at each optimiser update.

    The trainer instance's `update` and step methods are wrapped; the class is untouched. A
    step's terms go to its last update (for the E-then-G_MI step, to G_MI's: the engine returns
    only those).
    """
    log: list = []
    engine_update = trainer.update

    def update(name, loss):
        log.append((name, {"total": loss.detach().clone()}))
        engine_update(name, loss)

    trainer.update = update

    def logged(step):
        def run(*args, **kwargs):
            terms = step(*args, **kwargs)
            log[-1][1].update({k: v.detach().clone() for k, v in terms.items()})
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


def _assert_same_weights(engine: _Trainer, twin: _Trainer, where: str) -> None:
    """Every parameter, and every RMSProp running average, equal."""
    for (key, p_engine), (_, p_reference) in zip(
        engine.nets.state_dict().items(), twin.nets.state_dict().items(), strict=True
    ):
        _assert_same(p_engine, p_reference, f"{where}, parameter {key}")
    for name, optimizer in engine.optimizers.items():
        for p_engine, p_reference in zip(
            optimizer.param_groups[0]["params"],
            twin.optimizers[name].param_groups[0]["params"],
            strict=True,
        ):
            _assert_same(
                optimizer.state[p_engine]["square_avg"],
                twin.optimizers[name].state[p_reference]["square_avg"],
                f"{where}, RMSProp state of {name}",
            )


def _run_both(config, x, y, iterations=ITERATIONS):
    """Run the engine and the reference side by side and compare after every iteration.

    Every loss term of every update is compared in every iteration. The weights are compared
    after every iteration in float64, but only after the first in float32: RMSProp divides
    each gradient entry by its running RMS, so an entry whose gradient stays near 0 (RMS ~1e-9,
    as the 1e-8 eps) turns float32 rounding into a step of order lr (measured: 7e-5 on one bias
    of D_MI in the third iteration on breast with wgan_gp). The losses of later iterations
    still pin the weights down, and float64 pins them to rounding.
    """
    engine = _Trainer(config, x, y, torch.device("cpu"))
    twin = _Trainer(config, x, y, torch.device("cpu"))
    reference = EagerReference(twin)
    log = _log_engine(engine)
    n_updates = config.n_critic + 2 + config.n_cg * (config.n_critic + 1) + 1
    for it in range(iterations):
        engine.iteration(warm_up=False)
        records = reference.iteration()
        assert [name for name, _ in log] == [name for name, _ in records]
        assert len(records) == n_updates
        for u, ((name, got), (_, want)) in enumerate(zip(log, records, strict=True)):
            assert set(got) <= set(want) and (len(got) > 1 or name == "encoder"), (name, got)
            for term, value in got.items():
                _assert_same(value, want[term], f"iteration {it}, update {u} ({name}), {term}")
        log.clear()
        if it == 0 or torch.get_default_dtype() == torch.float64:
            _assert_same_weights(engine, twin, f"iteration {it}")
    # Both consumed the seeded stream identically.
    assert torch.equal(engine.generator.get_state(), twin.generator.get_state())
    return engine, twin


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
@pytest.mark.parametrize("data", ["toy", "breast"])
def test_engine_iteration_equals_eager_reference(data, penalty, dtype):
    x, y = _toy() if data == "toy" else _breast()
    overrides = {"batch_size": 16} if data == "toy" else {}
    config = preset("paper", penalty=penalty, label_adversarial="soft", **overrides)
    engine, _ = _run_both(config, x, y)
    assert next(engine.nets.parameters()).dtype == dtype
    # Not vacuous: every weight moved, except D_CG's output bias, whose gradient is exactly 0
    # (a Wasserstein critic's loss and its input gradients do not depend on it).
    initial = _Trainer(config, x, y, torch.device("cpu")).nets.state_dict()
    still = [
        key for key, value in engine.nets.state_dict().items() if torch.equal(initial[key], value)
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
    ],
)
def test_engine_equals_reference_for_other_options(overrides, dtype):
    x, y = _toy()
    _run_both(preset("paper", batch_size=16, **overrides), x, y, iterations=2)


def test_reference_refuses_what_it_does_not_implement():
    x, y = _toy()
    trainer = _Trainer(preset("official"), x, y, torch.device("cpu"))
    with pytest.raises(ValueError, match="update_order='paper'"):
        EagerReference(trainer)


# --- the closed-form penalty against the per-feature autograd loop ------------------------------


def _random_critic(n_in, hidden, n_out, seed):
    """An MLP with random weights and biases, so that its ReLUs are partly active."""
    critic = MLP(n_in, hidden, n_out).double()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in critic.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
    return critic


def test_closed_form_jacobian_equals_autograd_per_output():
    d, k, batch = 7, 3, 11
    critic = _random_critic(d + k, [9, 4], d + 1, seed=1)
    generator = torch.Generator().manual_seed(2)
    x = torch.rand(batch, d, generator=generator, dtype=torch.float64, requires_grad=True)
    y = torch.eye(k, dtype=torch.float64)[torch.arange(batch) % k]
    scores, jacobian = critic.forward_with_input_jacobian(x, y)
    torch.testing.assert_close(scores, critic(x, y))
    loop = torch.stack([input_gradients(scores[:, i], x) for i in range(d + 1)], dim=1)
    torch.testing.assert_close(jacobian, loop, rtol=1e-12, atol=1e-12)
    assert jacobian.abs().max() > 0.1  # not a dead network


@pytest.mark.parametrize("penalty", ["zero_centred", "wgan_gp"])
def test_closed_form_penalty_equals_per_feature_loop(penalty):
    """Value and weight gradients of L_GP^MI and L_GP^CG, engine path vs reference path."""
    x, y = _toy(d=8)
    trainer = _Trainer(preset("paper", penalty=penalty), x, y, torch.device("cpu"))
    reference = EagerReference(trainer)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():  # random biases: ReLU patterns differ from row to row
        for p in [*trainer.nets.d_mi.parameters(), *trainer.nets.d_cg.parameters()]:
            p.add_(0.3 * torch.randn(p.shape, generator=generator))
    batch = trainer.sample_batch()
    x_hat = torch.rand(batch.x.shape, generator=generator)
    y_in = torch.softmax(torch.randn(batch.y.shape, generator=generator), dim=1)
    h = torch.rand(len(batch.y), trainer.nets.hidden_dim, generator=generator)

    cases = {
        "gp_mi": (
            trainer.nets.d_mi,
            lambda: trainer.penalty(
                trainer.critic_with_input_jacobian(trainer.nets.d_mi, x_hat, y_in)[1], batch.m
            ),
            lambda: reference.penalty_mi(x_hat, y_in, batch.m),
        ),
        "gp_cg": (
            trainer.nets.d_cg,
            lambda: trainer.penalty(trainer.nets.d_cg.forward_with_input_jacobian(h, batch.y)[1]),
            lambda: reference.penalty_cg(h, batch.y),
        ),
    }
    for name, (critic, engine_penalty, reference_penalty) in cases.items():
        params = list(critic.parameters())
        value_engine = engine_penalty()
        # Biases only switch ReLUs: the closed form does not use them, so allow_unused.
        grads_engine = torch.autograd.grad(
            value_engine, params, allow_unused=True, materialize_grads=True
        )
        value_reference = reference_penalty()
        grads_reference = torch.autograd.grad(
            value_reference, params, allow_unused=True, materialize_grads=True
        )
        assert value_reference > 1e-3, name  # a penalty that is not trivially zero
        assert max(g.abs().max() for g in grads_reference) > 1e-3, name
        torch.testing.assert_close(value_engine, value_reference, rtol=1e-5, atol=1e-7)
        for g_engine, g_reference in zip(grads_engine, grads_reference, strict=True):
            torch.testing.assert_close(g_engine, g_reference, rtol=1e-4, atol=1e-6)


def test_per_feature_grad_sq_norms_of_a_linear_critic_are_its_row_norms():
    """For D(x) = W x + b every row's Jacobian is W: the squared norms are W's row norms."""
    weight = torch.tensor([[1.0, 2.0], [0.0, -3.0], [0.5, 0.5]], dtype=torch.float64)
    x = torch.rand(4, 2, dtype=torch.float64, requires_grad=True)
    norms = per_feature_grad_sq_norms(x @ weight.T + 1.0, x)
    torch.testing.assert_close(norms, torch.tensor([[5.0, 9.0, 0.5]] * 4, dtype=torch.float64))
