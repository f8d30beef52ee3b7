"""Algorithm 1 of HexaGAN, once, with autograd: the updates of the six networks for K models.

One outer iteration (update_order='paper'; docs/hexagan.md, "Algorithm 1"):
  (1) missing data imputation:  n_critic x D_MI, then E, then G_MI;
  (2) conditional generation:   n_CG x (n_critic x D_CG, then G_CG);
  (3) semi-supervised classification: C.

Each update computes the paper's loss terms (`hexagan_core.losses`) in variables named after
them and steps on their weighted sum (`update`). K models (seeds, missing rates) train together:
every tensor carries a leading model dimension, the networks are stacked (`stacked.py`), and
the gradient of the sum of the K losses is each model's own. The random numbers of an iteration
come from `draws.Sampler` (so any backend computes the same thing from the same draws).

This is the version to read, test and change first. `hexagan_core.engine` holds a faster
backend with the same step methods (hand-written gradients, compiled programs), held equal to
this one by the equivalence tests.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hexagan_core import losses
from hexagan_core.config import HexaGANConfig
from hexagan_core.draws import Draws, Rows, Sampler
from hexagan_core.networks import NETWORK_NAMES, HexaGANNetworks, anchor, build_networks
from hexagan_core.stacked import FlatOptimizer, stack_network

__all__ = ["Algorithm", "NETWORK_NAMES", "AVERAGED", "cosine_factor"]

Record = dict[str, torch.Tensor]  # loss term -> its (K,) values

CLASS_MEAN_MOMENTUM = 0.9
"""Weight of the running class means (cg_anchor='class_mean') on their last value, per D_CG
batch: E changes fast early in training, and a batch holds only a few rows of each class."""


def _observed_means(x: np.ndarray) -> np.ndarray:
    """Each column's mean over its observed (non-NaN) entries; 0.5 where none is observed."""
    observed = ~np.isnan(x)
    totals = np.where(observed, x, 0.0).sum(axis=0)
    counts = observed.sum(axis=0)
    return np.where(counts > 0, totals / np.maximum(counts, 1), 0.5).astype(np.float32)


class Algorithm:
    """Algorithm 1 for K models of one config (they may differ in `seed` only): the stacked
    networks, their optimisers, the data sampler, the step of each network and `iteration()`.

    `name` says how the steps are computed, for the training report ('autograd' here).
    """

    name = "autograd"

    def __init__(self, configs: list[HexaGANConfig], xs: list[np.ndarray],
                 ys: list[np.ndarray | None], device: torch.device):  # fmt: skip
        self.configs, self.config = configs, configs[0]
        self.device, self.n_models = device, len(configs)
        self.d = xs[0].shape[1]
        self.k = 0 if ys[0] is None else int(max(y.max() for y in ys)) + 1
        self.members: list[HexaGANNetworks] = [
            build_networks(c, self.d, self.k, torch.Generator("cpu").manual_seed(c.seed)).to(device)
            for c in configs
        ]
        if self.config.g_mi_output == "mean_start":  # each model from its own data's means
            for member, x in zip(self.members, xs, strict=True):
                member.g_mi.start_at_mean(torch.as_tensor(_observed_means(x), device=device))
        self.nets = {
            name: stack_network(
                [getattr(m, name) for m in self.members],
                averaged=bool(self.config.ema_decay) and name in AVERAGED,
            )
            for name in NETWORK_NAMES
            if getattr(self.members[0], name) is not None
        }
        self.class_input = self.members[0].class_input  # the same codes for every member
        # cg_anchor='class_mean': each model's running mean hidden vector of each class (K, k, h)
        self.class_means: torch.Tensor | None = None
        if self.k and self.config.cg_anchor == "class_mean":
            self.class_means = torch.stack([m.g_cg.class_means for m in self.members]).to(device)
            self.class_seen = torch.zeros(self.n_models, self.k, 1, dtype=torch.bool, device=device)
        self.sampler = Sampler(configs, xs, ys, device, self.members[0].noise_dim)
        self.n_batch_labelled = self.sampler.n_batch_labelled
        self.batch_rows = self.sampler.layout.batch_rows
        self.semi_supervised = self.k > 0 and self.sampler.n_batch_unlabelled > 0
        self.optimizers = {name: self._optimizer(name) for name in self.nets}
        self.base_lrs = {name: o.lr for name, o in self.optimizers.items()}
        # Each critic's regulariser: `penalty`, or for D_CG its own `cg_penalty`.
        c = self.config
        self.regularisers = {
            "d_mi": c.penalty,
            "d_cg": c.penalty if c.cg_penalty == "same" else c.cg_penalty,
        }
        self.schedule(0)  # the first iteration's learning rates and L_MS weight
        # ema_decay > 0: the averaged weights of the networks that impute, generate and classify
        self.averages = {name: self.nets[name].flat.clone() for name in AVERAGED
                         if c.ema_decay and name in self.nets}  # fmt: skip
        self.averaged_iterations = 0

    def _optimizer(self, name: str) -> FlatOptimizer:
        c = self.config
        lr = {"g_cg": c.lr_cg, "d_cg": c.lr_cg, "classifier": c.lr_c}.get(name, c.lr)
        weight_decay = c.c_weight_decay if name == "classifier" else 0.0
        # RMSProp with TF's defaults (decay 0.9), as the official code; Adam with GAN betas.
        return FlatOptimizer(self.nets[name], c.optimizer, lr, weight_decay)

    # --- the data flow between the networks -------------------------------------------------

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

    def generate_hidden(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """h_c = G_CG(z, y); with cg_anchor, relu(the class's running mean + G_CG(z, y))."""
        h_c = self.nets["g_cg"](z, self.class_input(y))
        return h_c if self.class_means is None else anchor(h_c, y, self.class_means)

    def generate(self, z: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x_c = G_MI(h_c) and h_c = G_CG(z, y): conditional samples of the classes in y."""
        h_c = self.generate_hidden(z, y)
        return self.nets["g_mi"](h_c), h_c

    @torch.no_grad()
    def track_class_means(self, h: torch.Tensor, y: torch.Tensor) -> None:
        """Move each class's running mean hidden vector toward its mean in this batch (the
        first batch with the class sets it)."""
        counts = y.sum(dim=1)[..., None]  # (K, k, 1)
        batch_means = (y.transpose(1, 2) @ h) / counts.clamp(min=1)
        present = counts > 0
        moved = torch.where(self.class_seen, CLASS_MEAN_MOMENTUM * self.class_means
                            + (1 - CLASS_MEAN_MOMENTUM) * batch_means, batch_means)  # fmt: skip
        self.class_means.copy_(torch.where(present, moved, self.class_means))
        self.class_seen |= present

    def loss_d_mi(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """D_MI's element-wise critic loss: L_DMI, or GAIN's cross-entropy."""
        if self.config.adversarial_loss == "gain":
            return losses.gain_discriminator_loss(scores, mask)
        return losses.d_mi_loss(scores, mask)

    def loss_g_mi(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The imputer's adversarial loss: L_GMI, or GAIN's generator loss."""
        if self.config.adversarial_loss == "gain":
            return losses.gain_generator_loss(scores, mask)
        return losses.g_mi_loss(scores, mask)

    def penalised(self, critic: str) -> bool:
        """Whether the critic ('d_mi' or 'd_cg') has a gradient penalty."""
        return self.regularisers[critic] not in ("weight_clip", "none")

    def penalty_mi(self, sq_norms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """L_GP^MI from the squared norms ||d D_MI_i / d x_b||^2, (K, B, d), observed entries."""
        if self.config.penalty == "wgan_gp":
            return losses.wgan_gp_penalty(sq_norms, mask)
        return losses.zero_centred_penalty(sq_norms, mask)

    def penalty_cg(self, jacobian: torch.Tensor) -> torch.Tensor:
        """L_GP^CG from D_CG's input gradients (K, B, h) at the real hidden vectors."""
        one_centred = self.regularisers["d_cg"] == "wgan_gp"
        return losses.hidden_penalty(jacobian, self.config.cg_penalty_reduction, one_centred)

    def zero(self) -> torch.Tensor:
        return torch.zeros(self.n_models, device=self.device)

    # --- optimiser steps --------------------------------------------------------------------

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on each model's loss (loss: (K,))."""
        # The models share no parameter, so the gradient of the sum is each model's own.
        self.apply_gradient(name, self.nets[name].flat_gradient(loss.sum()))

    def apply_gradient(self, name: str, grad: torch.Tensor) -> None:
        """Step network `name` on its flat gradient; clip a weight-clipped critic."""
        self.optimizers[name].step(grad)
        if self.regularisers.get(name) == "weight_clip":
            self.nets[name].flat.clamp_(-self.config.clip_value, self.config.clip_value)

    def schedule(self, iteration: int) -> None:
        """Set what changes with the (0-based) iteration: the learning rates, decayed by
        lr_decay and following lr_schedule, and L_MS's weight, 0 before mode_seeking_from."""
        c = self.config
        factor = c.lr_decay**iteration
        if c.lr_schedule == "cosine":
            factor *= cosine_factor(iteration, c.iterations)
        for name, optimizer in self.optimizers.items():
            optimizer.lr = self.base_lrs[name] * factor
        on = iteration >= c.mode_seeking_from
        self.mode_seeking = c.mode_seeking if on else 0.0

    def average(self) -> None:
        """After a training iteration, with ema_decay > 0: move each averaged network's weights
        towards its trained ones, bias-corrected (the t-th average weighs the trained weights
        of iteration s by decay^(t-s), normalised: the initial networks get none)."""
        if not self.averages:
            return
        decay = self.config.ema_decay
        self.averaged_iterations += 1
        step = (1 - decay) / (1 - decay**self.averaged_iterations)
        for name, average in self.averages.items():
            average.lerp_(self.nets[name].flat, step)

    # --- (1) missing data imputation --------------------------------------------------------

    def d_mi_updates(self, draws: Draws, steps: int, penalty_only: bool = False) -> Record:
        """`steps` updates of D_MI. E, G_MI and C do not change meanwhile, so the imputations of
        all the batches come from one forward pass."""
        rows = draws.of("d_mi")
        with torch.no_grad():
            x_hat, _ = self.impute(rows)
            y_in = self.label_input(rows, x_hat)
        record: Record = {}
        size = self.batch_rows
        for i in range(steps):
            part = slice(i * size, (i + 1) * size)
            directions = None if draws.directions is None else draws.directions[:, part]
            batch = rows.batch(i, size)
            record.update(self.d_mi_step(x_hat[:, part], y_in[:, part], batch, directions,
                                         penalty_only, reported=i == steps - 1))  # fmt: skip
        return record

    def d_mi_step(self, x_hat: torch.Tensor, y_in: torch.Tensor, batch: Rows,
                  directions: torch.Tensor | None = None, penalty_only: bool = False,
                  reported: bool = True) -> Record:  # fmt: skip
        """D_MI on L_DMI + L^{d+1}_DMI + lambda1 * L_GP^MI, at the imputed rows x_hat.

        L_GP^MI takes each row's input Jacobian, or with `directions` its unbiased estimate from
        random projections. `penalty_only`: the official warm-up (the critic only learns to be
        smooth). `reported`: whether the caller keeps these loss values (a backend may skip
        computing them otherwise; autograd has them anyway).
        """
        c, d, critic = self.config, self.d, self.nets["d_mi"]
        loss_gp_mi = self.zero()
        if directions is not None:
            scores, projected = critic.forward_with_projected_jacobian(
                x_hat, y_in, directions=directions
            )  # E[(J v)_i^2] over random signs v = ||d D_i / d x||^2
            loss_gp_mi = losses.zero_centred_penalty(projected[..., :d].pow(2).mean(2), batch.m)
        elif self.penalised("d_mi"):
            scores, jacobian = critic.forward_with_input_jacobian(x_hat, y_in)
            loss_gp_mi = self.penalty_mi(jacobian[..., :d, :].pow(2).sum(dim=-1), batch.m)
        else:
            scores = critic(x_hat, y_in)
        loss_d_mi = self.loss_d_mi(scores[..., :d], batch.m)
        loss_d_mi_label = self.zero()
        if self.semi_supervised:  # the (d+1)-th output judges labels: real y vs C's
            loss_d_mi_label = losses.label_critic_loss(scores[..., d], batch.labelled)
        if penalty_only:
            self.update("d_mi", c.lambda1 * loss_gp_mi)
        else:
            self.update("d_mi", loss_d_mi + loss_d_mi_label + c.lambda1 * loss_gp_mi)
        return {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label, "gp_mi": loss_gp_mi}

    def e_g_mi_step(self, draws: Draws) -> Record:
        """E, then G_MI, each on adversarial_weight * L_GMI + alpha1 * L_recon, on one batch and
        the same noise. With denoising, E also misses some observed entries, which L_recon
        still scores."""
        c, d = self.config, self.d
        batch = draws.of("e_g_mi")
        encoder_mask = batch.m if draws.keep is None else batch.m * draws.keep
        record: Record = {}
        for name in ("encoder", "g_mi"):
            x_hat, x_bar = self.impute(batch, encoder_mask)
            with torch.no_grad():
                y_in = self.label_input(batch, x_hat)
            scores = self.nets["d_mi"](x_hat, y_in)
            loss_g_mi = self.loss_g_mi(scores[..., :d], encoder_mask)
            loss_recon = losses.recon_loss(batch.x, x_bar, batch.m)
            self.update(name, c.adversarial_weight * loss_g_mi + c.alpha1 * loss_recon)
            record = {"g_mi": loss_g_mi, "recon": loss_recon}
        return record

    # --- (2) conditional generation ---------------------------------------------------------

    def conditional_generation(self, draws: Draws, generator_first: bool = False,
                               penalty_only: bool = False) -> Record:  # fmt: skip
        """n_CG rounds of n_critic D_CG updates and one G_CG update. E does not change in this
        phase, so every round's real hidden vectors come from one forward pass."""
        c, n = self.config, self.n_batch_labelled
        rows = draws.of("d_cg")
        with torch.no_grad():
            h_real = self.encode(rows)
        if self.class_means is not None:
            self.track_class_means(h_real, rows.y)
        latent = draws.latent_of("d_cg")
        y_c, z_c = draws.of("g_cg").y, draws.latent_of("g_cg")
        if penalty_only:  # official warm-up: one D_CG update on its penalty alone
            return self.cg_round(h_real[:, :n], rows.y[:, :n], latent[:, :n], y_c, z_c,
                                 penalty_only=True)  # fmt: skip
        record: Record = {}
        for j in range(c.n_cg):
            part = slice(j * c.n_critic * n, (j + 1) * c.n_critic * n)
            generator_part = slice(j * n, (j + 1) * n)
            record.update(self.cg_round(
                h_real[:, part], rows.y[:, part], latent[:, part], y_c[:, generator_part],
                z_c[:, generator_part], generator_first, reported=j == c.n_cg - 1,
            ))  # fmt: skip
        return record

    def cg_round(self, h_real: torch.Tensor, y: torch.Tensor, latent: torch.Tensor,
                 y_c: torch.Tensor, z_c: torch.Tensor, generator_first: bool = False,
                 penalty_only: bool = False, reported: bool = True) -> Record:  # fmt: skip
        """One round: a D_CG update on each of the round's batches (real hidden vectors
        `h_real` of labels `y`, fake ones G_CG(latent, y)), and one G_CG update on (z_c, y_c),
        first or last. G_CG is fixed during the D_CG updates, so their fake hidden vectors come
        from one forward pass."""
        record: Record = {}
        if generator_first and not penalty_only:
            record.update(self.g_cg_step(z_c, y_c, reported))
        with torch.no_grad():
            h_fake = self.generate_hidden(latent, y)
        record.update(self.d_cg_updates(h_real, h_fake, y, penalty_only, reported))
        if not generator_first and not penalty_only:
            record.update(self.g_cg_step(z_c, y_c, reported))
        return record

    def d_cg_updates(self, h_real: torch.Tensor, h_fake: torch.Tensor, y: torch.Tensor,
                     penalty_only: bool = False, reported: bool = True) -> Record:  # fmt: skip
        """One D_CG update per batch of n labelled rows of the round."""
        n, record = self.n_batch_labelled, {}
        steps = h_real.shape[1] // n
        for i in range(steps):
            part = slice(i * n, (i + 1) * n)
            record.update(self.d_cg_step(h_real[:, part], h_fake[:, part], y[:, part],
                                         penalty_only, reported and i == steps - 1))  # fmt: skip
        return record

    def d_cg_step(self, h_real: torch.Tensor, h_fake: torch.Tensor, y: torch.Tensor,
                  penalty_only: bool = False, reported: bool = True) -> Record:  # fmt: skip
        """D_CG on L_DCG + lambda2 * L_GP^CG: real hidden vectors h = E(x_tilde, m) against
        G_CG's, both of labels y; the penalty at the real ones."""
        c, critic = self.config, self.nets["d_cg"]
        real_scores, jacobian = critic.forward_with_input_jacobian(h_real, y)
        loss_d_cg = losses.critic_loss(critic(h_fake, y), real_scores)
        loss_gp_cg = self.penalty_cg(jacobian[..., 0, :]) if self.penalised("d_cg") else self.zero()
        lambda2 = c.lambda2 if self.penalised("d_cg") else 0.0
        if penalty_only:
            self.update("d_cg", lambda2 * loss_gp_cg)
        else:
            self.update("d_cg", loss_d_cg + lambda2 * loss_gp_cg)
        return {"d_cg": loss_d_cg, "gp_cg": loss_gp_cg}

    def g_cg_step(self, z: torch.Tensor, y_c: torch.Tensor, reported: bool = True) -> Record:
        """G_CG on L_GCG + alpha2 * L_GMI(x_c) + alpha3 * L_CE(x_c, y_c), from noise z and labels
        y_c drawn like the real ones (so D_CG cannot tell them apart by y); with mode_seeking
        (once on: `schedule`), also that weight times L_MS, which rewards samples of a class that
        differ as their noise does."""
        c, d = self.config, self.d
        x_c, h_c = self.generate(z, y_c)
        loss_g_cg = losses.generator_loss(self.nets["d_cg"](h_c, y_c))
        every_entry_imputed = torch.zeros_like(x_c)  # a generated row has no observed entry
        loss_g_mi_c = self.loss_g_mi(self.nets["d_mi"](x_c, y_c)[..., :d], every_entry_imputed)
        loss_ce_c = losses.classifier_loss(self.nets["classifier"](x_c), y_c)
        record = {"g_cg": loss_g_cg, "g_mi_c": loss_g_mi_c, "ce_c": loss_ce_c}
        loss = loss_g_cg + c.alpha2 * loss_g_mi_c + c.alpha3 * loss_ce_c
        if self.mode_seeking:  # a second sample of each row's class, from the noise reversed
            z_pair = z.flip(-1)
            record["ms"] = losses.mode_seeking_loss(x_c, self.generate(z_pair, y_c)[0], z, z_pair)
            loss = loss + self.mode_seeking * record["ms"]
        self.update("g_cg", loss)
        return record

    # --- (3) semi-supervised classification -------------------------------------------------

    def c_step(self, draws: Draws) -> Record:
        """C on L_CE (labelled rows, with synthetic rows of G_CG topping each class up to the
        batch's largest) + alpha4 * L_C (D_MI's label score of C's predictions for the
        unlabelled rows; none with rounded labels, which pass no gradient)."""
        c, d, n_l = self.config, self.d, self.n_batch_labelled
        batch = draws.of("c")
        with torch.no_grad():
            x_hat, _ = self.impute(batch)
            x_ce, targets, row_weights = self.classifier_rows(draws, x_hat[:, :n_l], batch.y)
        loss_ce = losses.classifier_loss(self.nets["classifier"](x_ce), targets, row_weights)
        loss_c = self.zero()
        if self.semi_supervised and c.label_adversarial != "rounded":
            x_unlabelled = x_hat[:, n_l:]
            y_pred = self.label_input(batch.select(slice(n_l, None)), x_unlabelled)
            loss_c = losses.label_adversarial_loss(self.nets["d_mi"](x_unlabelled, y_pred)[..., d])
        self.update("classifier", loss_ce + c.alpha4 * loss_c)
        return {"ce": loss_ce, "c_adv": loss_c}

    def classifier_rows(self, draws: Draws, x_labelled: torch.Tensor, y: torch.Tensor):
        """L_CE's rows, targets and row weights (None: all 1): the labelled rows, and with
        classifier_balance='synthetic' G_CG's rows that top each class up to the largest."""
        labelled_y = y[:, : self.n_batch_labelled]
        if self.config.classifier_balance != "synthetic":
            return x_labelled, labelled_y, None
        balance_y = self.sampler.balance_y
        counts = labelled_y.sum(dim=1, keepdim=True)
        gap = (counts.amax(dim=-1, keepdim=True) - counts) / balance_y.sum(dim=0)
        weights = (gap @ balance_y.T)[:, 0]
        x_syn, _ = self.generate(draws.latent_of("c"), balance_y.expand(self.n_models, -1, -1))
        return (
            torch.cat([x_labelled, x_syn], dim=1),
            torch.cat([labelled_y, balance_y.expand(self.n_models, -1, -1)], dim=1),
            torch.cat([torch.ones_like(labelled_y[..., 0]), weights], dim=1),
        )

    # --- Algorithm 1 ------------------------------------------------------------------------

    def draw(self) -> Draws:
        """This iteration's random numbers."""
        return self.sampler.draw()

    def iteration(self, draws: Draws, warm_up: bool = False) -> Record:
        """One outer iteration of Algorithm 1 for the K models; each loss term's (K,) values."""
        c = self.config
        record: Record = {}
        if warm_up:  # official code: the critics minimise only their penalties at first
            record.update(self.d_mi_updates(draws, 1, penalty_only=True))
            if self.k and c.n_cg:
                record.update(self.conditional_generation(draws, penalty_only=True))
            return record
        if c.update_order == "official":  # the official code's order: generators first
            if self.k:
                record.update(self.conditional_generation(draws, generator_first=True))
            record.update(self.e_g_mi_step(draws))
            record.update(self.d_mi_updates(draws, c.n_critic))
        else:
            record.update(self.d_mi_updates(draws, c.n_critic))  # (1)
            record.update(self.e_g_mi_step(draws))
            if self.k:
                record.update(self.conditional_generation(draws))  # (2)
        if self.k:  # (3)
            record.update(self.c_step(draws))
        return record

    def sync_members(self) -> None:
        """Write the trained weights, or their averages (ema_decay > 0), into each model's own
        networks (for evaluation, selection, saving)."""
        for name, network in self.nets.items():
            for k, member in enumerate(self.members):
                network.copy_to(k, getattr(member, name), self.averages.get(name))
        if self.class_means is not None:
            for k, member in enumerate(self.members):
                member.g_cg.class_means.copy_(self.class_means[k])


AVERAGED = ("encoder", "g_mi", "g_cg", "classifier")
"""The networks ema_decay averages: those a trained model uses (E and G_MI impute, G_CG and G_MI
generate, C classifies); the critics only train them."""

COSINE_FLOOR = 0.05
"""lr_schedule='cosine' ends at this share of the learning rates, not at 0: the critics and
generators keep following each other to the last iteration."""


def cosine_factor(iteration: int, iterations: int) -> float:
    """lr_schedule='cosine': the learning rates' factor at the (0-based) iteration, from 1 at 0
    down to COSINE_FLOOR at `iterations`."""
    cosine = 0.5 * (1 + math.cos(math.pi * min(iteration, iterations) / iterations))
    return COSINE_FLOOR + (1 - COSINE_FLOOR) * cosine
