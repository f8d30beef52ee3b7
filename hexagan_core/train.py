"""Algorithm 1 of the HexaGAN supplement: the training schedule of the six networks.

One outer iteration (update_order='paper'):
  (1) missing data imputation: n_critic x D_MI, then E, then G_MI;
  (2) conditional generation:  n_CG x (n_critic x D_CG, then G_CG);
  (3) semi-supervised classification: C.
Each step below computes the paper's loss terms in variables named after them and combines
them on one line with the config's coefficients.

Speed (tiny networks, so per-call overhead dominates): each iteration draws all its random
numbers first (`_Trainer.draw`: a few calls per model, from the model's own seeded generator,
so a run on the CPU is reproducible; on the CPU a large draw is made on another thread during
the previous iteration) and gathers all its rows in one indexing operation; the
forward passes of networks that do not change during a loop (E, G_MI and C during the D_MI
updates; E and, within a round, G_CG during the D_CG updates) run once for the whole loop;
each network is updated through one flat parameter buffer (`stacked.py`). K models (seeds,
missing rates) train as one batched program (`fit_ensemble`), each tensor carrying a leading
model dimension. The loop never synchronises with the host except every `eval_every`
iterations, when it reports to the callback. With engine='compiled', the step methods that
`program` names run as torch.compile'd programs (`_Trainer._compile_steps`).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import ctypes.util
import functools
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hexagan_core import losses, metrics
from hexagan_core.config import HexaGANConfig
from hexagan_core.control import RunControl
from hexagan_core.model import HexaGANModel, resolve_device
from hexagan_core.networks import HexaGANNetworks, build_networks
from hexagan_core.stacked import FlatOptimizer, StackedMLP, stack_network

__all__ = ["fit", "fit_ensemble", "can_train_together", "Validation", "Rows", "Draws"]

Callback = Callable[[dict[str, Any]], None]


@dataclass
class Validation:
    """Held-out rows to report on: inputs with NaN, ground truth, the scored entries, labels."""

    x_input: np.ndarray
    x_true: np.ndarray | None = None
    removed: np.ndarray | None = None
    y_true: np.ndarray | None = None


@dataclass
class Rows:
    """Minibatch rows of K models, (K, R, .): values (0 where missing), mask (1 = observed),
    one-hot labels (zeros for unlabelled rows), which rows are labelled, and the fill noise z
    for E's input. Batches of one step kind lie one after another along dimension 1."""

    x: torch.Tensor
    m: torch.Tensor
    y: torch.Tensor
    labelled: torch.Tensor
    fill: torch.Tensor

    def select(self, part: slice) -> Rows:
        return Rows(*(t[:, part] for t in (self.x, self.m, self.y, self.labelled, self.fill)))

    def batch(self, index: int, size: int) -> Rows:
        """The `index`-th batch of `size` rows."""
        return self.select(slice(index * size, (index + 1) * size))


PREFETCH_MIN_VALUES = 100_000
"""Random values per iteration (all models) from which the CPU engine draws the next
iteration's on another thread during this one."""


class Layout:
    """Where each step kind's rows and noise lie in one iteration's draws.

    Rows: n_critic D_MI batches and one E/G_MI batch and one C batch of `batch_rows` rows
    (labelled rows first, then unlabelled ones), and n_CG x n_critic D_CG batches and n_CG G_CG
    batches of labelled rows only. Latent noise z of G_CG: one block per D_CG batch, per G_CG
    batch, and C's balancing rows.
    """

    def __init__(self, config: HexaGANConfig, n_labelled: int, n_unlabelled: int, n_balance: int):
        c, r = config.n_critic, config.n_cg if n_labelled else 0
        self.batch_rows = n_labelled + n_unlabelled
        full, labelled_only = self.batch_rows, n_labelled
        kinds = [("d_mi", c, full), ("e_g_mi", 1, full)]
        if n_labelled:
            kinds += [("d_cg", r * c, labelled_only), ("g_cg", r, labelled_only), ("c", 1, full)]
        self.rows: dict[str, tuple[int, int]] = {}  # kind -> (start, batches * rows)
        labelled_flags: list[bool] = []
        for kind, batches, size in kinds:
            self.rows[kind] = (len(labelled_flags), batches * size)
            per_batch = [True] * n_labelled + [False] * (size - n_labelled)
            labelled_flags += per_batch * batches
        self.labelled = torch.tensor(labelled_flags)
        self.n_labelled_rows = sum(labelled_flags)
        self.n_rows = len(labelled_flags)
        latent = [("d_cg", r * c * n_labelled), ("g_cg", r * n_labelled), ("c", n_balance)]
        self.latent: dict[str, tuple[int, int]] = {}
        total = 0
        for kind, n in latent if n_labelled else []:
            self.latent[kind] = (total, n)
            total += n
        self.n_latent = total
        # Labelled picks come first in the draw, unlabelled ones after: this order puts each
        # row where the layout wants it.
        labelled_positions = torch.nonzero(self.labelled).flatten()
        unlabelled_positions = torch.nonzero(~self.labelled).flatten()
        self.order = torch.argsort(torch.cat([labelled_positions, unlabelled_positions]))


@dataclass
class Draws:
    """Every random draw of one Algorithm-1 iteration for K models (model k from its own seeded
    generator): the rows of every minibatch, E's fill noise for each row, the denoising keep
    mask of the E/G_MI batch, and G_CG's latent noise."""

    rows: Rows
    keep: torch.Tensor | None  # (K, batch_rows, d): 1 = observed entry stays visible to E
    latent: torch.Tensor  # (K, n_latent, noise_dim)
    layout: Layout
    directions: torch.Tensor | None = None  # (K, D_MI rows, P, d): random signs (projections)

    def of(self, kind: str) -> Rows:
        """All rows of one step kind ('d_mi', 'e_g_mi', 'd_cg', 'g_cg', 'c')."""
        start, n = self.layout.rows[kind]
        return self.rows.select(slice(start, start + n))

    def latent_of(self, kind: str) -> torch.Tensor:
        start, n = self.layout.latent[kind]
        return self.latent[:, start : start + n]


class _Trainer:
    """State of one training run of K models: their networks (stacked), optimisers, the data on
    the device, one seeded generator per model."""

    def __init__(
        self,
        configs: list[HexaGANConfig],
        xs: list[np.ndarray],
        ys: list[np.ndarray | None],
        device: torch.device,
    ):
        self.configs, self.config = configs, configs[0]
        config = self.config
        self.device, self.n_models = device, len(configs)
        if device.type == "cpu":
            keep_freed_heap()
        self.generators = [
            torch.Generator(device=device).manual_seed(c.seed) for c in configs
        ]
        self.d = xs[0].shape[1]
        self.k = 0 if ys[0] is None else int(max(y.max() for y in ys)) + 1
        self.members: list[HexaGANNetworks] = [
            build_networks(c, self.d, self.k, torch.Generator().manual_seed(c.seed)).to(device)
            for c in configs
        ]
        self.nets = {
            name: stack_network([getattr(m, name) for m in self.members])
            for name in ("encoder", "g_mi", "d_mi", "g_cg", "d_cg", "classifier")
            if getattr(self.members[0], name) is not None
        }
        self.noise_dim = self.members[0].noise_dim

        # Data resident on the device for the whole run: each model's rows [x, m, one-hot y]
        # (x 0 where missing, m 1 where observed), one table, so that a minibatch of all K
        # models is one row gather (index_select: several times faster than fancy indexing).
        self.dtype = torch.get_default_dtype()
        values = torch.from_numpy(np.stack([np.asarray(x, dtype=np.float32) for x in xs]))
        labels = torch.from_numpy(
            np.stack([np.full(len(xs[0]), -1) if y is None else np.asarray(y) for y in ys])
        ).long()
        one_hot = torch.zeros((*labels.shape, self.k))
        if self.k:
            known = labels >= 0
            one_hot[known] = torch.eye(self.k)[labels[known]]
        table = torch.cat([torch.nan_to_num(values), (~torch.isnan(values)).float(), one_hot], -1)
        self.row_table = table.flatten(0, 1).to(device=device, dtype=self.dtype)
        n_data_rows = values.shape[1]
        self.table_offsets = torch.arange(0, self.n_models * n_data_rows, n_data_rows,
                                          device=device)[:, None]  # fmt: skip
        self.labelled_pool = self._pools(labels >= 0, "labelled")
        self.unlabelled_pool = self._pools(labels < 0, "unlabelled")
        n_l, n_u = self.labelled_pool.shape[1], self.unlabelled_pool.shape[1]
        batch = min(config.batch_size, max(n_l, n_u))
        # Unlabelled rows join each batch in proportion to their share (at most a full batch).
        n_batch_labelled = min(batch, n_l) if self.k else 0
        if n_batch_labelled == 0:
            n_batch_unlabelled = batch
        elif n_u == 0:
            n_batch_unlabelled = 0
        else:
            n_batch_unlabelled = min(batch, max(1, round(batch * n_u / n_l)))
        self.n_batch_labelled, self.n_batch_unlabelled = n_batch_labelled, n_batch_unlabelled
        self.semi_supervised = self.k > 0 and n_batch_unlabelled > 0
        # Fixed classes of the synthetic rows that balance C's batch (round robin over classes).
        self.balance_y = torch.zeros((0, self.k), device=device)
        if self.k:
            classes = torch.arange(max(n_batch_labelled, self.k)) % self.k
            self.balance_y = torch.eye(self.k)[classes].to(device)
        self.layout = Layout(config, n_batch_labelled, n_batch_unlabelled, len(self.balance_y))
        self.row_order = self.layout.order.to(device)
        self.row_labelled = self.layout.labelled.to(device=device, dtype=self.dtype)

        self.optimizers = {name: self._optimizer(name) for name in self.nets}
        # Hand-written gradients for the critics' and G_CG's updates (together all but four of
        # an iteration's updates) when every network is an MLP; autograd otherwise.
        self.closed_form = all(isinstance(net, StackedMLP) for net in self.nets.values())
        # An iteration reports the last update's losses of each kind; the closed-form updates
        # before it skip computing theirs (their gradients need none). True: every update's.
        self.every_update_losses = False
        # Each critic's regulariser: `penalty`, or for D_CG its own `cg_penalty`.
        self.regularisers = {
            "d_mi": config.penalty,
            "d_cg": config.penalty if config.cg_penalty == "same" else config.cg_penalty,
        }
        # A wide D_MI's exact penalty is taken row by row over each row's active units
        # (`StackedMLP.jacobian_penalty_gradient_by_row`), eagerly: shapes depend on the data.
        self.penalty_by_row = (
            self.closed_form and self.penalised("d_mi") and self.nets["d_mi"].jacobian_by_row_pays()
        )
        # Draw the next iteration's random numbers on another core while this one trains,
        # where a draw is large enough to pay for the hand-over (`iteration(draw_next=True)`).
        values_drawn = self.layout.n_rows + sum(self._uniform_sizes())  # row picks, uniforms
        self.prefetch_draws = (
            device.type == "cpu" and self.closed_form and (os.cpu_count() or 1) > 1
            and self.n_models * values_drawn >= PREFETCH_MIN_VALUES
        )  # fmt: skip
        self._drawer: ThreadPoolExecutor | None = None
        self._next_draws: Future | None = None
        self.base_lrs = {name: o.lr for name, o in self.optimizers.items()}
        self.compiled: dict[str, Callable] = {}  # step method name -> its compiled program
        if config.engine == "compiled":
            self._compile_steps()

    def _compile_steps(self) -> None:
        """engine='compiled': an iteration's D_MI updates, its E and G_MI updates, each
        conditional-generation round and C's update become one compiled program each (fused
        kernels, no Python between the operations). The warm-up stays eager, as do the D_MI
        updates with the projected penalty (autograd) or a wide critic's exact one (row by
        row). Each program is compiled on its first
        call, again for new shapes (other data, batch size or number of models)."""
        if not self.closed_form:
            raise ValueError("engine='compiled' needs MLP networks; use engine='eager'.")
        if self.device.type not in ("cpu", "cuda"):
            raise ValueError(
                f"engine='compiled' runs on the CPU or CUDA, not {self.device.type!r}; "
                "use engine='eager' there."
            )
        _check_compiler(self.device)
        # Fused, loss values cost next to nothing; computing every update's keeps one program
        # per step kind rather than one with and one without them.
        self.every_update_losses = True
        options = {"cpp_wrapper": True} if self.device.type == "cpu" else {}
        compile_program = functools.partial(
            torch.compile, fullgraph=True, dynamic=False, options=options
        )
        names = ["missing_data_imputation_critic", "step_e_g_mi", "cg_round", "step_c"]
        # The projected L_GP^MI's gradient is autograd's; a wide D_MI's exact one is taken row
        # by row over data-dependent active units (faster than any batched program).
        if self.config.penalty_projections or self.penalty_by_row:
            names.remove("missing_data_imputation_critic")
        self.compiled = {name: compile_program(getattr(self, name)) for name in names}

    def program(self, name: str) -> Callable:
        """Step method `name`, or its compiled program under engine='compiled'."""
        return self.compiled.get(name) or getattr(self, name)

    def _pools(self, rows: torch.Tensor, what: str) -> torch.Tensor:
        """(K, n) indices of each model's labelled (or unlabelled) rows; n must agree."""
        counts = rows.sum(dim=1).tolist()
        if len(set(counts)) > 1:
            raise ValueError(
                f"Models trained together need the same number of {what} rows; got {counts}."
            )
        return torch.stack([torch.nonzero(r).flatten() for r in rows]).to(self.device)

    def _optimizer(self, name: str) -> FlatOptimizer:
        c = self.config
        lr = {"g_cg": c.lr_cg, "d_cg": c.lr_cg, "classifier": c.lr_c}.get(name, c.lr)
        weight_decay = c.c_weight_decay if name == "classifier" else 0.0
        # RMSProp with TF's defaults (decay 0.9), as the official code; Adam with GAN betas.
        return FlatOptimizer(self.nets[name], c.optimizer, lr, weight_decay)

    # --- random draws ---------------------------------------------------------------------

    def draw(self) -> Draws:
        """Every random draw of one iteration; model k's come from its own generator."""
        c, layout, d = self.config, self.layout, self.d
        n_labelled = layout.n_labelled_rows
        picks, directions = [], []
        n_projections, n_critic_rows = c.penalty_projections, layout.rows["d_mi"][1]
        # E's fill noise, the denoising draws and G_CG's latent noise, in one call per model
        n_fill, n_keep, n_latent = self._uniform_sizes()
        uniform = torch.empty((self.n_models, n_fill + n_keep + n_latent), device=self.device,
                              dtype=self.dtype)  # fmt: skip
        for k, generator in enumerate(self.generators):
            picks.append(torch.cat([
                self._pick(self.labelled_pool[k], n_labelled, generator),
                self._pick(self.unlabelled_pool[k], layout.n_rows - n_labelled, generator),
            ]))  # fmt: skip
            uniform[k].uniform_(generator=generator)
            if n_projections:
                signs = torch.randint(0, 2, (n_critic_rows, n_projections, d), generator=generator,
                                      device=self.device)  # fmt: skip
                directions.append(2.0 * signs.to(self.dtype) - 1.0)
        rows = torch.stack(picks)[:, self.row_order] + self.table_offsets
        table = self.row_table.index_select(0, rows.flatten()).view(*rows.shape, -1)
        # contiguous copies: element-wise steps on strided views are slower than the copies
        x, m, y = (part.contiguous() for part in table.split([d, d, self.k], dim=-1))
        fill, keep, latent = uniform.split([n_fill, n_keep, n_latent], dim=1)
        fill = fill.view(self.n_models, layout.n_rows, d)
        drawn = Rows(
            x, m, y,
            self.row_labelled.expand(self.n_models, -1),
            fill if c.noise_scale == 1.0 else c.noise_scale * fill,
        )  # fmt: skip
        keep_mask = None
        if n_keep:
            keep_mask = (keep >= c.recon_drop_rate).to(drawn.m.dtype).view(self.n_models, -1, d)
        latent = latent.view(self.n_models, layout.n_latent, self.noise_dim)
        return Draws(drawn, keep_mask, latent, layout,
                     torch.stack(directions) if directions else None)  # fmt: skip

    def _uniform_sizes(self) -> tuple[int, int, int]:
        """Uniform values per model and iteration: E's fill noise, the denoising draws (0
        without denoising) and G_CG's latent noise."""
        layout, d = self.layout, self.d
        n_keep = layout.batch_rows * d if self.config.recon_drop_rate > 0 else 0
        return layout.n_rows * d, n_keep, layout.n_latent * self.noise_dim

    def _pick(self, pool: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """n rows of `pool`, drawn with replacement."""
        if n == 0:
            return pool[:0]
        return pool[torch.randint(len(pool), (n,), generator=generator, device=self.device)]

    # --- network helpers ------------------------------------------------------------------

    def encode(self, rows: Rows, mask: torch.Tensor | None = None) -> torch.Tensor:
        """h = E(x_tilde, m) with x_tilde = m*x + (1-m)*z."""
        m = rows.m if mask is None else mask
        return self.nets["encoder"](m * rows.x + (1 - m) * rows.fill, m)

    def impute(self, rows: Rows, mask: torch.Tensor | None = None):
        """x_bar = G_MI(E(x_tilde, m)) and x_hat = m*x + (1-m)*x_bar."""
        m = rows.m if mask is None else mask
        x_bar = self.nets["g_mi"](self.encode(rows, m))
        return m * rows.x + (1 - m) * x_bar, x_bar

    def label_input(self, rows: Rows, x_hat: torch.Tensor) -> torch.Tensor:
        """D_MI's label input: the true y for labelled rows, C's prediction for unlabelled ones."""
        if self.k == 0:
            return rows.y
        probs = torch.softmax(self.nets["classifier"](x_hat), dim=-1)
        mode = self.config.label_adversarial
        if mode != "soft":
            hard = torch.nn.functional.one_hot(probs.argmax(dim=-1), self.k).to(probs.dtype)
            # straight-through: one-hot forward, the softmax's gradient backward
            probs = hard.detach() if mode == "rounded" else hard + probs - probs.detach()
        known = rows.labelled[..., None]
        return known * rows.y + (1 - known) * probs

    def generate(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_c = G_MI(h_c) and h_c = G_CG(z, y): conditional samples of the classes in y."""
        h_c = self.nets["g_cg"](z, y)
        return self.nets["g_mi"](h_c), h_c

    def adversarial_losses(self, scores: torch.Tensor, mask: torch.Tensor):
        """(critic loss, generator loss) of D_MI's element-wise outputs."""
        if self.config.adversarial_loss == "gain":
            return (
                losses.gain_discriminator_loss(scores, mask),
                losses.gain_generator_loss(scores, mask),
            )
        return losses.d_mi_loss(scores, mask), losses.g_mi_loss(scores, mask)

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on each model's loss (loss: (K,))."""
        # The models share no parameter, so the gradient of the sum is each model's own.
        self.step_optimizer(name, self.nets[name].flat_gradient(loss.sum()))

    def step_optimizer(self, name: str, grad: torch.Tensor) -> None:
        self.optimizers[name].step(grad)
        if self.regularisers.get(name) == "weight_clip":
            self.nets[name].flat.clamp_(-self.config.clip_value, self.config.clip_value)

    def penalised(self, critic: str) -> bool:
        """Whether the critic ('d_mi' or 'd_cg') has a gradient penalty."""
        return self.regularisers[critic] not in ("weight_clip", "none")

    def penalty(self, jacobian: torch.Tensor | None, mask: torch.Tensor | None = None):
        """L_GP^MI from D_MI's Jacobian (observed entries of `mask`), or L_GP^CG from D_CG's."""
        if jacobian is None:
            return self.zero()
        if mask is None:  # D_CG: one scalar output
            return losses.hidden_penalty(
                jacobian[..., 0, :], self.config.cg_penalty_reduction,
                one_centred=self.regularisers["d_cg"] == "wgan_gp",
            )  # fmt: skip
        return self.penalty_of(jacobian[..., : self.d, :].pow(2).sum(dim=-1), mask)

    def penalty_of(self, sq_norms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L_GP^MI from the squared norms ||d D_MI_i / d x_b||^2, (K, B, d)."""
        if self.config.penalty == "wgan_gp":
            return losses.wgan_gp_penalty(sq_norms, mask)
        return losses.zero_centred_penalty(sq_norms, mask)

    def zero(self) -> torch.Tensor:
        return torch.zeros(self.n_models, device=self.device)

    # --- (1) missing data imputation ------------------------------------------------------

    def missing_data_imputation_critic(self, draws: Draws, steps: int, penalty_only=False):
        """n_critic updates of D_MI. E, G_MI and C do not change meanwhile, so the imputations
        of all the batches come from one forward pass."""
        rows = draws.of("d_mi")
        with torch.no_grad():
            x_hat, _ = self.impute(rows)
            y_in = self.label_input(rows, x_hat)
        record: dict[str, torch.Tensor] = {}
        size = self.layout.batch_rows
        for i in range(steps):
            part = slice(i * size, (i + 1) * size)
            batch = rows.batch(i, size)
            directions = None if draws.directions is None else draws.directions[:, part]
            record.update(self.step_d_mi(
                x_hat[:, part], y_in[:, part], batch, penalty_only, directions,
                reported=i == steps - 1,
            ))  # fmt: skip
        return record

    def _losses_wanted(self, reported: bool) -> bool:
        return reported or self.every_update_losses

    def step_d_mi(self, x_hat, y_in, batch: Rows, penalty_only=False, directions=None,
                  reported: bool = True):  # fmt: skip
        """D_MI on L_DMI + L^{d+1}_DMI + lambda1 * L_GP^MI. Unless `reported`, the closed form
        returns no loss values (it does not need them)."""
        if self.closed_form and directions is None:
            return self._step_d_mi_closed_form(
                x_hat, y_in, batch, penalty_only, self._losses_wanted(reported)
            )
        c, d = self.config, self.d
        jacobian = None
        if directions is not None:  # unbiased estimate of L_GP^MI from random projections
            scores, projected = self.nets["d_mi"].forward_with_projected_jacobian(
                x_hat, y_in, directions=directions
            )
            sq_norms = projected[..., :d].pow(2).mean(dim=2)
            loss_gp_mi = losses.zero_centred_penalty(sq_norms, batch.m)
        elif self.penalised("d_mi"):
            scores, jacobian = self.nets["d_mi"].forward_with_input_jacobian(x_hat, y_in)
        else:
            scores = self.nets["d_mi"](x_hat, y_in)
        loss_d_mi, _ = self.adversarial_losses(scores[..., :d], batch.m)
        loss_d_mi_label = (
            losses.label_critic_loss(scores[..., d], batch.labelled)
            if self.semi_supervised
            else self.zero()
        )
        if directions is None:
            loss_gp_mi = self.penalty(jacobian, batch.m)
        if penalty_only:  # official warm-up: the critic only learns to be smooth
            self.update("d_mi", c.lambda1 * loss_gp_mi)
        else:
            self.update("d_mi", loss_d_mi + loss_d_mi_label + c.lambda1 * loss_gp_mi)
        return {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label, "gp_mi": loss_gp_mi}

    @torch.no_grad()
    def _step_d_mi_closed_form(self, x_hat, y_in, batch: Rows, penalty_only: bool,
                               with_losses: bool):  # fmt: skip
        """`step_d_mi` (exact penalty) with the gradient written by hand: d loss / d scores for
        the element-wise and label losses, backpropagated through the taped D_MI, plus the
        penalty's d loss / d J backpropagated through the Jacobian's partial products. Same
        loss, same gradient (tested against autograd and the reference)."""
        c, d, critic = self.config, self.d, self.nets["d_mi"]
        m = batch.m
        jacobian = None
        if self.penalised("d_mi") and not self.penalty_by_row:
            scores, jacobian, tape, columns = critic.input_jacobian_taped(x_hat, y_in, n_rows=d)
        else:
            scores, tape = critic.forward_taped(x_hat, y_in)
        grad_scores = torch.zeros_like(scores)
        n_observed, n_imputed = m.sum(dim=1, keepdim=True), (1 - m).sum(dim=1, keepdim=True)
        if c.adversarial_loss == "gain":  # binary cross-entropy, mean over the B x d entries
            grad_scores[..., :d] = (torch.sigmoid(scores[..., :d]) - m) / m[0].numel()
        else:  # per feature: mean over imputed entries - mean over observed ones
            both = ((n_observed > 0) & (n_imputed > 0)).to(m.dtype)
            per_feature = both / both.sum(dim=-1, keepdim=True).clamp_min(1.0)
            grad_scores[..., :d] = per_feature * (
                (1 - m) / (n_imputed + losses._EPS) - m / (n_observed + losses._EPS)
            )
        if self.semi_supervised:
            labelled = batch.labelled
            n_labelled = labelled.sum(dim=1, keepdim=True).clamp_min(losses._EPS)
            n_unlabelled = (1 - labelled).sum(dim=1, keepdim=True).clamp_min(losses._EPS)
            grad_scores[..., d] = (1 - labelled) / n_unlabelled - labelled / n_labelled
        if penalty_only:
            grad_scores.zero_()
        critic.backward_taped(tape, grad_scores, weight_grads=True, input_grad=False)
        sq_norms = None
        if self.penalised("d_mi"):  # L_GP^MI = mean_i sum_b m_bi f(||J_bi||^2) / (n_i + eps)
            weight = c.lambda1 * m / ((n_observed + losses._EPS) * d)  # d loss / d f(||J_bi||^2)
            if self.penalty_by_row:
                sq_norms = critic.jacobian_penalty_gradient_by_row(tape, d, weight, c.penalty)
            else:
                if c.penalty == "wgan_gp" or with_losses:
                    sq_norms = jacobian.pow(2).sum(dim=-1).transpose(1, 2)  # (K, B, d)
                coefficient = losses.jacobian_row_coefficient(sq_norms, weight, c.penalty)
                grad_jacobian = jacobian * coefficient.transpose(1, 2)[..., None]
                critic.input_jacobian_backward(tape, columns, grad_jacobian)
        self.step_optimizer("d_mi", critic.grad)
        if not with_losses:
            return {}
        loss_d_mi, _ = self.adversarial_losses(scores[..., :d], m)
        loss_d_mi_label = (
            losses.label_critic_loss(scores[..., d], batch.labelled)
            if self.semi_supervised
            else self.zero()
        )
        return {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label,
                "gp_mi": self.zero() if sq_norms is None else self.penalty_of(sq_norms, m)}

    def step_e_g_mi(self, draws: Draws) -> dict[str, torch.Tensor]:
        """E then G_MI, each on L_GMI + alpha1 * L_recon (L_GMI weighted by adversarial_weight,
        1 in the paper), on the same batch and noise."""
        c, d = self.config, self.d
        batch = draws.of("e_g_mi")
        encoder_mask = batch.m
        if draws.keep is not None:  # denoising: hide some observed entries and reconstruct them
            encoder_mask = batch.m * draws.keep
        if self.closed_form:
            return self._step_e_g_mi_closed_form(batch, encoder_mask)
        out: dict[str, torch.Tensor] = {}
        for name in ("encoder", "g_mi"):
            x_hat, x_bar = self.impute(batch, encoder_mask)
            with torch.no_grad():
                y_in = self.label_input(batch, x_hat)
            scores = self.nets["d_mi"](x_hat, y_in)
            _, loss_g_mi = self.adversarial_losses(scores[..., :d], encoder_mask)
            loss_recon = losses.recon_loss(batch.x, x_bar, batch.m)
            self.update(name, c.adversarial_weight * loss_g_mi + c.alpha1 * loss_recon)
            out = {"g_mi": loss_g_mi, "recon": loss_recon}
        return out

    @torch.no_grad()
    def _step_e_g_mi_closed_form(self, batch: Rows, encoder_mask: torch.Tensor):
        """`step_e_g_mi` with the gradients backpropagated by hand through the taped E, G_MI
        and D_MI (C's labels for D_MI carry no gradient there). Same losses, same gradients
        (tested against the reference)."""
        c, d, nets = self.config, self.d, self.nets
        m, em = batch.m, encoder_mask
        # d L_recon / d x_bar = -2 m (x - x_bar) / max(sum m, 1), per model
        recon_scale = -2.0 * c.alpha1 / m.sum((1, 2), keepdim=True).clamp_min(1.0)
        n_imputed = (1 - em).sum(dim=1, keepdim=True)
        has_imputed = (n_imputed > 0).to(em.dtype)
        for name in ("encoder", "g_mi"):
            h, tape_e = nets["encoder"].forward_taped(em * batch.x + (1 - em) * batch.fill, em)
            x_bar, tape_g = nets["g_mi"].forward_taped(h)
            x_hat = em * batch.x + (1 - em) * x_bar
            scores, tape_d = nets["d_mi"].forward_taped(x_hat, self.label_input(batch, x_hat))
            grad_scores = torch.zeros_like(scores)
            if c.adversarial_loss == "gain":  # -mean((1-m) log sigmoid(s)) over all entries
                grad_scores[..., :d] = (em - 1) * torch.sigmoid(-scores[..., :d]) / em[0].numel()
            else:  # -sum_i has_i mean_imputed_i / max(sum_i has_i, 1)
                n_features = has_imputed.sum(-1, keepdim=True).clamp_min(1.0)
                per_entry = n_features * (n_imputed + losses._EPS)
                grad_scores[..., :d] = (em - 1) * has_imputed / per_entry
            grad_x_hat = nets["d_mi"].backward_taped(tape_d, grad_scores)[..., :d]
            grad_x_bar = (c.adversarial_weight * (1 - em)) * grad_x_hat
            grad_x_bar += recon_scale * m * (batch.x - x_bar)
            if name == "g_mi":
                nets["g_mi"].backward_taped(tape_g, grad_x_bar, weight_grads=True,
                                            input_grad=False)  # fmt: skip
            else:
                grad_h = nets["g_mi"].backward_taped(tape_g, grad_x_bar)
                nets["encoder"].backward_taped(tape_e, grad_h, weight_grads=True, input_grad=False)
            self.step_optimizer(name, nets[name].grad)
        _, loss_g_mi = self.adversarial_losses(scores[..., :d], em)  # of G_MI's update
        return {"g_mi": loss_g_mi, "recon": losses.recon_loss(batch.x, x_bar, m)}

    # --- (2) conditional generation -------------------------------------------------------

    def conditional_generation(self, draws: Draws, generator_first: bool, penalty_only=False):
        """n_CG rounds of n_critic D_CG updates and one G_CG update. E does not change in this
        phase, so every round's real hidden vectors come from one forward pass."""
        c, n = self.config, self.n_batch_labelled
        rows = draws.of("d_cg")
        with torch.no_grad():
            h_real = self.encode(rows)
        latent = draws.latent_of("d_cg")
        y_c, z_c = draws.of("g_cg").y, draws.latent_of("g_cg")
        if penalty_only:  # official warm-up: one D_CG update on its penalty alone
            return self.cg_round(h_real[:, :n], rows.y[:, :n], latent[:, :n], y_c, z_c,
                                 generator_first=False, penalty_only=True)  # fmt: skip
        record: dict[str, torch.Tensor] = {}
        for j in range(c.n_cg):
            part = slice(j * c.n_critic * n, (j + 1) * c.n_critic * n)
            generator_part = slice(j * n, (j + 1) * n)
            # `reported` is constant when every update's losses are wanted: a compiled round
            # then keeps one program rather than one per value.
            record.update(self.program("cg_round")(
                h_real[:, part], rows.y[:, part], latent[:, part], y_c[:, generator_part],
                z_c[:, generator_part], generator_first,
                reported=j == c.n_cg - 1 or self.every_update_losses,
            ))  # fmt: skip
        return record

    def cg_round(self, h_real, y, latent, y_c, z_c, generator_first: bool,
                 penalty_only: bool = False, reported: bool = True):  # fmt: skip
        """One round: a D_CG update on each of the round's batches (real hidden vectors
        `h_real` of labels `y`, fake ones from the noise `latent`), and one G_CG update on
        (z_c, y_c), first or last. G_CG is fixed during the D_CG updates, so their fake hidden
        vectors come from one forward pass."""
        n = self.n_batch_labelled
        record: dict[str, torch.Tensor] = {}
        if generator_first and not penalty_only:
            record.update(self.step_g_cg(z_c, y_c, reported))
        with torch.no_grad():
            h_fake = self.nets["g_cg"](latent, y)
            # D_CG's inputs [h, y] of each update: its n real rows, then its n fake rows
            real, fake = torch.cat([h_real, y], dim=-1), torch.cat([h_fake, y], dim=-1)
            per_step = (self.n_models, real.shape[1] // n, n, real.shape[-1])
            inputs = torch.cat([real.view(per_step), fake.view(per_step)], dim=2).unbind(1)
        for i, step_inputs in enumerate(inputs):
            last = reported and i == len(inputs) - 1
            record.update(self.step_d_cg(step_inputs, penalty_only, last))
        if not generator_first and not penalty_only:
            record.update(self.step_g_cg(z_c, y_c, reported))
        return record

    def step_d_cg(self, inputs: torch.Tensor, penalty_only: bool = False, reported=True):
        """D_CG on L_DCG + lambda2 * L_GP^CG (`inputs`: n real rows [h, y], then n fake ones).

        The gradient is taken in closed form (`StackedMLP.wasserstein_critic_gradient`): this
        update runs n_CG x n_critic times per iteration; unless `reported`, it returns no loss
        values.
        """
        c, n = self.config, self.n_batch_labelled
        critic = self.nets["d_cg"]
        penalised = self.penalised("d_cg")
        lambda2 = c.lambda2 if penalised else 0.0
        penalty = "wgan_gp" if self.regularisers["d_cg"] == "wgan_gp" else "zero_centred"
        if self.closed_form:
            grad, loss_d_cg, loss_gp_cg = critic.wasserstein_critic_gradient(
                inputs, n, self.noise_dim, lambda2, penalty, c.cg_penalty_reduction,
                adversarial=not penalty_only, with_losses=self._losses_wanted(reported),
            )  # fmt: skip
        else:
            h, y = inputs[..., : self.noise_dim], inputs[..., self.noise_dim :]
            scores, jacobian = critic.forward_with_input_jacobian(h, y)
            loss_d_cg = losses.critic_loss(scores[:, n:], scores[:, :n])
            loss_gp_cg = self.penalty(jacobian[:, :n])  # at the real hidden vectors only
            grad = critic.flat_gradient(
                ((0.0 if penalty_only else 1.0) * loss_d_cg + lambda2 * loss_gp_cg).sum()
            )
        self.step_optimizer("d_cg", grad)
        if loss_d_cg is None:  # an unreported closed-form update
            return {}
        return {"d_cg": loss_d_cg, "gp_cg": loss_gp_cg if penalised else self.zero()}

    def step_g_cg(self, z: torch.Tensor, y_c: torch.Tensor, reported: bool = True):
        """G_CG on L_GCG + alpha2 * L_GMI(x_c) + alpha3 * L_CE(x_c, y_c), from noise z and
        labels y_c drawn like the real ones (so D_CG cannot tell them apart by y). Unless
        `reported`, the closed form returns no loss values (it does not need them)."""
        c, d = self.config, self.d
        if self.closed_form:
            return self._step_g_cg_closed_form(z, y_c, self._losses_wanted(reported))
        x_c, h_c = self.generate(z, y_c)
        loss_g_cg = losses.generator_loss(self.nets["d_cg"](h_c, y_c))
        all_imputed = torch.zeros_like(x_c)  # every entry of a generated row counts as imputed
        scores = self.nets["d_mi"](x_c, y_c)
        _, loss_g_mi_c = self.adversarial_losses(scores[..., :d], all_imputed)
        loss_ce_c = losses.classifier_loss(self.nets["classifier"](x_c), y_c)
        self.update("g_cg", loss_g_cg + c.alpha2 * loss_g_mi_c + c.alpha3 * loss_ce_c)
        return {"g_cg": loss_g_cg, "g_mi_c": loss_g_mi_c, "ce_c": loss_ce_c}

    @torch.no_grad()
    def _step_g_cg_closed_form(self, z: torch.Tensor, y_c: torch.Tensor, with_losses: bool):
        """`step_g_cg` with the gradient backpropagated by hand through the taped MLPs: G_CG
        runs n_CG times per iteration, and its loss passes through five networks, so autograd's
        graph bookkeeping would cost more than the arithmetic. Same loss, same gradient (tested
        against autograd and the reference)."""
        c, d, n = self.config, self.d, self.n_batch_labelled
        nets = self.nets
        h_c, tape_g_cg = nets["g_cg"].forward_taped(z, y_c)
        x_c, tape_g_mi = nets["g_mi"].forward_taped(h_c)
        scores_cg, tape_d_cg = nets["d_cg"].forward_taped(h_c, y_c)
        scores_mi, tape_d_mi = nets["d_mi"].forward_taped(x_c, y_c)
        logits, tape_c = nets["classifier"].forward_taped(x_c)
        # d loss / d outputs, term by term
        grad_scores_cg = torch.full_like(scores_cg, -1.0 / n)
        grad_scores_mi = torch.zeros_like(scores_mi)
        if c.adversarial_loss == "gain":  # -mean(log sigmoid(s)) over all n x d entries
            grad_scores_mi[..., :d] = -torch.sigmoid(-scores_mi[..., :d]) * (c.alpha2 / (n * d))
        else:  # minus the mean over features of each feature's mean over n imputed rows
            grad_scores_mi[..., :d] = -c.alpha2 / (d * (n + losses._EPS))
        grad_logits = (torch.softmax(logits, dim=-1) - y_c) * (c.alpha3 / n)
        # back through the critics and C to x_c and h_c, then G_MI, then G_CG's weights
        grad_x_c = nets["d_mi"].backward_taped(tape_d_mi, grad_scores_mi)[..., :d]
        grad_x_c = grad_x_c + nets["classifier"].backward_taped(tape_c, grad_logits)
        grad_h_c = nets["g_mi"].backward_taped(tape_g_mi, grad_x_c)
        grad_critic = nets["d_cg"].backward_taped(tape_d_cg, grad_scores_cg)
        grad_h_c = grad_h_c + grad_critic[..., : h_c.shape[-1]]
        nets["g_cg"].backward_taped(tape_g_cg, grad_h_c, weight_grads=True, input_grad=False)
        self.step_optimizer("g_cg", nets["g_cg"].grad)
        if not with_losses:
            return {}
        all_imputed = torch.zeros_like(x_c)  # every entry of a generated row counts as imputed
        _, loss_g_mi_c = self.adversarial_losses(scores_mi[..., :d], all_imputed)
        return {
            "g_cg": losses.generator_loss(scores_cg),
            "g_mi_c": loss_g_mi_c,
            "ce_c": losses.classifier_loss(logits, y_c),
        }

    # --- (3) semi-supervised classification -----------------------------------------------

    def step_c(self, draws: Draws) -> dict[str, torch.Tensor]:
        """C on L_CE (labelled rows, with synthetic rows of G_CG topping each class up to the
        batch's largest) + alpha4 * L_C (D_MI's label score of C's predictions for the
        unlabelled rows)."""
        c, d, n_l = self.config, self.d, self.n_batch_labelled
        batch = draws.of("c")
        with torch.no_grad():
            x_hat, _ = self.impute(batch)
            x_ce, targets, row_weights = self._classifier_rows(draws, x_hat[:, :n_l], batch.y)
        adversarial = self.semi_supervised and c.label_adversarial != "rounded"
        unlabelled = batch.select(slice(n_l, None))
        if self.closed_form:
            return self._step_c_closed_form(x_ce, targets, row_weights, unlabelled,
                                            x_hat[:, n_l:] if adversarial else None)  # fmt: skip
        loss_ce = losses.classifier_loss(self.nets["classifier"](x_ce), targets, row_weights)
        loss_c = self.zero()
        if adversarial:
            y_pred = self.label_input(unlabelled, x_hat[:, n_l:])
            scores = self.nets["d_mi"](x_hat[:, n_l:], y_pred)
            loss_c = losses.label_adversarial_loss(scores[..., d])
        self.update("classifier", loss_ce + c.alpha4 * loss_c)
        return {"ce": loss_ce, "c_adv": loss_c}

    def _classifier_rows(self, draws: Draws, x_labelled: torch.Tensor, y: torch.Tensor):
        """L_CE's rows, targets and row weights (None: all 1): the labelled rows, and with
        classifier_balance='synthetic' G_CG's rows that top each class up to the largest."""
        labelled_y = y[:, : self.n_batch_labelled]
        if self.config.classifier_balance != "synthetic":
            return x_labelled, labelled_y, None
        balance_y = self.balance_y.expand(self.n_models, -1, -1)
        counts = labelled_y.sum(dim=1, keepdim=True)
        gap = (counts.amax(dim=-1, keepdim=True) - counts) / self.balance_y.sum(dim=0)
        weights = (gap @ self.balance_y.T)[:, 0]
        x_syn, _ = self.generate(draws.latent_of("c"), balance_y)
        return (
            torch.cat([x_labelled, x_syn], dim=1),
            torch.cat([labelled_y, balance_y], dim=1),
            torch.cat([torch.ones_like(labelled_y[..., 0]), weights], dim=1),
        )

    @torch.no_grad()
    def _step_c_closed_form(self, x_ce, targets, row_weights, unlabelled: Rows, x_unlabelled):
        """`step_c` with the gradient written by hand: one taped pass of C over L_CE's rows
        and (if L_C applies, `x_unlabelled` given) the unlabelled ones; L_C's gradient comes
        back through the taped D_MI's label score and C's softmax (the straight-through
        estimator passes the softmax's gradient too). Same losses, same gradient (tested)."""
        c, d, nets = self.config, self.d, self.nets
        n_ce = x_ce.shape[1]
        rows = x_ce if x_unlabelled is None else torch.cat([x_ce, x_unlabelled], dim=1)
        logits, tape_c = nets["classifier"].forward_taped(rows)
        logits_ce = logits[:, :n_ce]
        # L_CE = sum_r w_r CE_r / sum_r w_r; d CE_r / d logits = softmax * sum(t) - t
        if row_weights is None:
            row_weights = torch.ones_like(targets[..., 0])
        scale = row_weights / row_weights.sum(-1, keepdim=True).clamp_min(losses._EPS)
        probs_ce = torch.softmax(logits_ce, dim=-1)
        grad_logits = scale[..., None] * (probs_ce * targets.sum(-1, keepdim=True) - targets)
        loss_c = self.zero()
        if x_unlabelled is not None:
            y_pred = self.label_input(unlabelled, x_unlabelled)
            scores, tape_d = nets["d_mi"].forward_taped(x_unlabelled, y_pred)
            loss_c = losses.label_adversarial_loss(scores[..., d])
            grad_scores = torch.zeros_like(scores)
            grad_scores[..., d] = -c.alpha4 / scores.shape[1]
            grad_y = nets["d_mi"].backward_taped(tape_d, grad_scores)[..., d:]
            probs = torch.softmax(logits[:, n_ce:], dim=-1)  # back through the softmax
            grad_unlabelled = probs * (grad_y - (probs * grad_y).sum(-1, keepdim=True))
            grad_logits = torch.cat([grad_logits, grad_unlabelled], dim=1)
        nets["classifier"].backward_taped(tape_c, grad_logits, weight_grads=True,
                                          input_grad=False)  # fmt: skip
        self.step_optimizer("classifier", nets["classifier"].grad)
        loss_ce = losses.classifier_loss(logits_ce, targets, row_weights)
        return {"ce": loss_ce, "c_adv": loss_c}

    # --- Algorithm 1 ----------------------------------------------------------------------

    def iteration(self, warm_up: bool = False, draw_next: bool = False) -> dict[str, torch.Tensor]:
        """One outer iteration of Algorithm 1 for the K models; each loss term's (K,) values.

        With `draw_next` (another iteration follows), the next iteration's draws are made on
        another thread meanwhile, where that pays (`prefetch_draws`): the generators serve
        draw() alone, so the numbers are the same either way.
        """
        c = self.config
        draws = self._this_iterations_draws(draw_next)
        record: dict[str, torch.Tensor] = {}
        if warm_up:  # official code: critics minimise only their penalties at first
            record.update(self.missing_data_imputation_critic(draws, 1, penalty_only=True))
            if self.k and c.n_cg:
                record.update(self.conditional_generation(draws, False, penalty_only=True))
            return record
        if c.update_order == "official":
            if self.k:
                record.update(self.conditional_generation(draws, generator_first=True))
            record.update(self.program("step_e_g_mi")(draws))
            record.update(self.program("missing_data_imputation_critic")(draws, c.n_critic))
        else:
            record.update(self.program("missing_data_imputation_critic")(draws, c.n_critic))  # (1)
            record.update(self.program("step_e_g_mi")(draws))
            if self.k:
                record.update(self.conditional_generation(draws, generator_first=False))  # (2)
        if self.k:  # (3) semi-supervised classification
            record.update(self.program("step_c")(draws))
        return record

    def _this_iterations_draws(self, draw_next: bool) -> Draws:
        """The draws made ahead for this iteration, else drawn now; with `draw_next`, start
        drawing the next iteration's on the drawing thread where that pays."""
        draws = self._next_draws.result() if self._next_draws is not None else self.draw()
        self._next_draws = None
        if draw_next and self.prefetch_draws:
            if self._drawer is None:
                self._drawer = ThreadPoolExecutor(
                    1, "hexagan-draws", initializer=torch.set_num_threads, initargs=(1,)
                )
            self._next_draws = self._drawer.submit(self.draw)
        return draws

    def close(self) -> None:
        """End the drawing thread, if any (a pending draw is finished, then dropped)."""
        if self._drawer is not None:
            self._drawer.shutdown(wait=True)
            self._drawer, self._next_draws = None, None

    def set_learning_rates(self, iteration: int) -> None:
        factor = self.config.lr_decay**iteration
        for name, optimizer in self.optimizers.items():
            optimizer.lr = self.base_lrs[name] * factor

    def sync_members(self) -> None:
        """Write the trained weights into each model's own networks (for evaluation, saving)."""
        for name, network in self.nets.items():
            for k, member in enumerate(self.members):
                network.copy_to(k, getattr(member, name))


def _evaluate(model: HexaGANModel, validation: Validation | None, seed: int) -> dict[str, float]:
    """Validation RMSE on the scored entries and F1/AUC of C, when the data allow them."""
    if validation is None:
        return {}
    out: dict[str, float] = {}
    if validation.x_true is not None and validation.removed is not None:
        imputed = model.impute(validation.x_input, seed=seed)
        out.update(
            {
                f"val_{k}": v
                for k, v in metrics.imputation_scores(
                    validation.x_true, imputed, validation.removed
                ).items()
            }
        )
    if model.n_classes and validation.y_true is not None and (validation.y_true >= 0).any():
        proba = model.predict_proba(validation.x_input, seed=seed)
        out.update(
            {
                f"val_{k}": v
                for k, v in metrics.classification_scores(validation.y_true, proba).items()
            }
        )
    return out


def check_training_data(
    x: np.ndarray, y: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate the scaled matrix and labels; raise ValueError naming the problem."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x must be a 2-D matrix with at least 2 rows. Got shape {x.shape}.")
    if np.isinf(x).any():
        raise ValueError("x contains infinite values; use NaN for missing entries.")
    if np.isnan(x).all(axis=0).any():
        bad = int(np.flatnonzero(np.isnan(x).all(axis=0))[0])
        raise ValueError(f"Feature {bad} has no observed value; drop it before training.")
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have one label per row: x has {x.shape[0]} rows, y {y.shape}.")
    y = np.where(np.isnan(y.astype(np.float64)), -1, y).astype(np.int64)
    classes = np.unique(y[y >= 0])
    if len(classes) < 2:
        raise ValueError(f"Labelled rows must cover at least 2 classes. Got {classes.tolist()}.")
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise ValueError(f"Class codes must be 0..K-1 (and -1 for unlabelled). Got {classes}.")
    return x, y


def fit(
    config: HexaGANConfig,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    validation: Validation | None = None,
    callback: Callback | None = None,
    control: RunControl | None = None,
    device: str = "auto",
    select_best: str | None = None,
) -> HexaGANModel:
    """Train HexaGAN on `x` (min-max scaled, NaN = missing) and labels `y` (-1 = unlabelled).

    Every `config.eval_every` iterations (and at the end) `callback` receives a dict with
    `iteration`, `seconds`, `losses` (each component's mean loss since the last report) and the
    validation scores (`val_rmse`, `val_f1`, ...). `control.stop()` ends training within one
    iteration; while `control` is paused, training waits. `select_best` ('val_rmse' or
    'val_f1') keeps the networks of the best validation report instead of the last ones.
    """
    (model,) = fit_ensemble(
        [config], [x], [y], validations=[validation], callback=callback, control=control,
        device=device, select_best=select_best,
    )  # fmt: skip
    return model


def can_train_together(xs: list[np.ndarray], ys: list[np.ndarray | None]) -> bool:
    """Whether `fit_ensemble` accepts these data: one matrix shape, and the same numbers of
    labelled and unlabelled rows (or no labels at all)."""
    if len({np.shape(x) for x in xs}) > 1 or len({y is None for y in ys}) > 1:
        return False
    return len({None if y is None else int((np.asarray(y) >= 0).sum()) for y in ys}) == 1


def fit_ensemble(
    configs: list[HexaGANConfig],
    xs: list[np.ndarray],
    ys: list[np.ndarray | None],
    *,
    validations: list[Validation | None] | None = None,
    callback: Callback | None = None,
    control: RunControl | None = None,
    device: str = "auto",
    select_best: str | None = None,
) -> list[HexaGANModel]:
    """Train K independent HexaGANs as one batched program; model k equals `fit(configs[k],
    xs[k], ys[k], ...)` up to floating-point rounding.

    The configs may differ only in `seed`; the matrices must have one shape (different masks or
    missing rates are fine) and the same numbers of labelled and unlabelled rows. Reports reach
    `callback` as in `fit`, with `member` (k) added when K > 1. MLP architectures only for K > 1.
    """
    if not configs or not (len(configs) == len(xs) == len(ys)):
        raise ValueError("configs, xs and ys must be non-empty lists of one length.")
    validations = validations or [None] * len(configs)
    if len(validations) != len(configs):
        raise ValueError(f"Expected {len(configs)} validations, got {len(validations)}.")
    configs = [c.validate() for c in configs]
    shared = {**configs[0].to_dict(), "seed": None}
    for c in configs[1:]:
        if {**c.to_dict(), "seed": None} != shared:
            raise ValueError("Models trained together must share every setting but `seed`.")
    checked = [check_training_data(x, y) for x, y in zip(xs, ys, strict=True)]
    if len({x.shape for x, _ in checked}) > 1 or len({y is None for _, y in checked}) > 1:
        raise ValueError("Models trained together need matrices of one shape, all with labels "
                         "or all without.")  # fmt: skip
    if select_best not in (None, "val_rmse", "val_f1"):
        raise ValueError(f"select_best must be None, 'val_rmse' or 'val_f1'. Got {select_best!r}.")
    torch_device = resolve_device(device)
    with _cpu_threads(torch_device, configs[0]):
        trainer = _Trainer(configs, [x for x, _ in checked], [y for _, y in checked], torch_device)
        try:
            return _train(trainer, validations, callback, control or RunControl(), select_best)
        finally:
            trainer.close()  # the drawing thread, if any


_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, or None elsewhere (macOS, Windows, musl: their allocators are left alone)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@functools.cache
def keep_freed_heap() -> bool:
    """Let glibc keep freed memory for the next step (once per process; True if set).

    An update's temporary tensors of K models (e.g. D_MI's Jacobian, 1.8 MB for 8 models on
    breast) exceed glibc's thresholds: each is mapped fresh from the OS and page-faulted in, and
    freed heap is handed back after every step, only to be faulted in again. Serving blocks up
    to 32 MiB from the heap and trimming only above 1 GiB (`release_freed_heap` trims after
    training) halved D_MI's time for 8 models on breast (9.6 -> 4.8 ms per iteration).
    """
    libc = _libc()
    if libc is None:
        return False
    return all(
        libc.mallopt(option, value) == 1
        for option, value in ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30),
                              (_M_TOP_PAD, 64 << 20))
    )  # fmt: skip


def release_freed_heap() -> bool:
    """Hand the freed heap back to the OS (after training: the process may live on). False
    where the allocator is not glibc's and nothing was done."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    return libc is not None


def _check_compiler(device: torch.device) -> None:
    """torch.compile's CPU kernels are C++, built on the fly: fail early and plainly without a
    compiler, rather than at the first iteration with a long traceback."""
    if device.type != "cpu":
        return
    default = {"darwin": "clang++", "win32": "cl"}.get(sys.platform, "g++")
    compiler = os.environ.get("CXX") or default
    if shutil.which(compiler) is None:
        raise ValueError(
            f"engine='compiled' on the CPU needs a C++ compiler ({compiler!r} was not found; "
            "install one, e.g. g++, or set CXX). Use engine='eager' meanwhile."
        )


@contextlib.contextmanager
def _cpu_threads(device: torch.device, config: HexaGANConfig):
    """Train small tabular networks on one CPU thread (convnets on all cores but one).

    Their matrix products are far too small to gain from intra-op parallelism, and when the
    cores are busy (a dashboard, a browser, a second job) OpenMP's spinning threads make each
    step up to 100x slower (measured: 16 ms vs 1.4 s per iteration on breast, 2 cores, one busy).
    The setting is OpenMP's, which holds per calling thread: fits running in different threads
    do not change each other's, and each restores its own on the way out.
    """
    previous = torch.get_num_threads()
    if device.type == "cpu":
        spare = max(1, (os.cpu_count() or 1) - 1)
        torch.set_num_threads(min(previous, spare) if config.architecture == "mnist" else 1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _train(trainer: _Trainer, validations, callback, control: RunControl, select_best):
    config, n_models = trainer.config, trainer.n_models
    models = [
        HexaGANModel(c, m, trainer.device)
        for c, m in zip(trainer.configs, trainer.members, strict=True)
    ]
    best_scores = [math.inf] * n_models
    best_states: list[dict | None] = [None] * n_models
    loss_sums: dict[str, torch.Tensor] = {}
    since_report = 0
    start, paused_before = time.perf_counter(), control.paused_seconds

    last = config.pretrain_iterations + config.iterations
    for it in range(1, last + 1):
        control.wait_while_paused()
        if control.stopped:
            break
        warm_up = it <= config.pretrain_iterations
        trainer.set_learning_rates(max(0, it - config.pretrain_iterations - 1))
        record = trainer.iteration(warm_up, draw_next=it < last)
        if warm_up:
            continue
        # Accumulate on the device: no host synchronisation between reports.
        for name, value in record.items():
            loss_sums[name] = loss_sums.get(name, 0.0) + value.detach()
        since_report += 1
        step = it - config.pretrain_iterations
        if step % config.eval_every and step != config.iterations:
            continue
        trainer.sync_members()
        seconds = time.perf_counter() - start - (control.paused_seconds - paused_before)
        means = {name: (total / since_report).tolist() for name, total in loss_sums.items()}
        for k, model in enumerate(models):
            report: dict[str, Any] = {
                "iteration": step,
                "seconds": seconds,
                "losses": {name: values[k] for name, values in means.items()},
            }
            if n_models > 1:
                report["member"] = k
            report.update(_evaluate(model, validations[k], model.config.seed))
            model.history.append(report)
            if select_best and select_best in report:
                score = report[select_best] * (1 if select_best == "val_rmse" else -1)
                if score < best_scores[k]:
                    best_scores[k] = score
                    best_states[k] = copy.deepcopy(model.networks.state_dict())
                    report["best"] = True
            if callback is not None:
                callback(report)
        loss_sums, since_report = {}, 0

    trainer.sync_members()
    if trainer.device.type == "cpu":
        release_freed_heap()
    for model, state in zip(models, best_states, strict=True):
        if state is not None:
            model.networks.load_state_dict(state)
    return models
