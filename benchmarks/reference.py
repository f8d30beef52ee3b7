"""A plain eager reference of ONE iteration of Algorithm 1 (HexaGAN supplement), for checking and
timing the engine (`hexagan_core.train._Trainer.iteration`).

Written for clarity, not speed, so that a reader sees the paper:

  (1) missing data imputation:  n_critic x D_MI, then E, then G_MI;
  (2) conditional generation:   n_CG x (n_critic x D_CG, then G_CG);
  (3) semi-supervised classification: C.

Every update is the textbook `optimizer.zero_grad(); loss.backward(); optimizer.step()` with
`torch.optim`, on ordinary `nn.Module` networks, one minibatch at a time; the gradient
penalties take each row's input gradient with one `torch.autograd.grad(...,
create_graph=True)` call per critic output, in a plain Python loop (where the engine uses the
closed-form Jacobian of a ReLU network, stacked parameters, one forward pass for the batches of
a loop, and a closed-form D_CG gradient).

To compute the same thing as the engine on the same inputs, the reference takes its random
numbers from a `_Trainer` built from the same config and data: each iteration it calls the
trainer's `draw()` (the rows of every minibatch, the fill noise, the denoising mask, G_CG's
latent noise) and uses each step's share in a plain way. Its networks start as copies of the
trainer's initial networks. The loss formulas themselves come from `hexagan_core.losses` (one
copy of each loss); everything else (which terms, which weights, the penalties, the updates) is
written out here.

Supported: update_order 'paper', adversarial_loss 'hexagan', penalty 'zero_centred', 'wgan_gp' or
'none', every label_adversarial mode, recon_drop_rate, both tabular architectures, one model.
"""

from __future__ import annotations

import copy

import torch

from hexagan_core import losses
from hexagan_core.train import Draws, Rows, _Trainer

__all__ = ["EagerReference", "per_feature_grad_sq_norms", "input_gradients"]

# One record per optimiser update: (network name, {loss term: value}).
Record = tuple[str, dict[str, torch.Tensor]]


def input_gradients(output: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d output[b] / d inputs[b] for every row b, (B, n); differentiable, for a penalty.

    `output` (B,) must have been computed row by row from `inputs` (B, n): then the gradient of
    the batch sum with respect to row b is exactly row b's own gradient.
    """
    (grad,) = torch.autograd.grad(output.sum(), inputs, create_graph=True)
    return grad


def per_feature_grad_sq_norms(scores: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """||d scores[b, i] / d inputs[b]||^2 for every row b and output i, (B, k).

    One autograd call per output feature: the plain way to get a per-sample Jacobian.
    """
    columns = []
    for i in range(scores.shape[1]):
        grad = input_gradients(scores[:, i], inputs)
        columns.append(grad.pow(2).sum(dim=1))
    return torch.stack(columns, dim=1)


def one_model(rows: Rows) -> Rows:
    """The (B, .) tensors of the only model in a (1, B, .) stack."""
    return Rows(rows.x[0], rows.m[0], rows.y[0], rows.labelled[0], rows.fill[0])


class EagerReference:
    """Algorithm 1, one iteration at a time, on networks of its own.

    `iteration()` performs what `_Trainer.iteration(warm_up=False)` performs on a twin trainer
    (same config, data and seed), with the random numbers of `trainer.draw()`, and returns one
    record per optimiser update (68 with the 'paper' preset): the network updated and its loss
    terms, including the total loss it stepped on ('total').
    """

    def __init__(self, trainer: _Trainer):
        config = trainer.config
        checks = {
            "update_order": ("paper",),
            "adversarial_loss": ("hexagan",),
            "penalty": ("zero_centred", "wgan_gp", "none"),
            "cg_penalty": ("same",),
            "classifier_balance": ("synthetic",),
            "penalty_projections": (0,),
        }
        for name, supported in checks.items():
            if getattr(config, name) not in supported:
                raise ValueError(
                    f"The reference implements {name} in {supported}. "
                    f"Got {getattr(config, name)!r}."
                )
        if trainer.n_models != 1:
            raise ValueError(f"The reference trains one model. Got {trainer.n_models}.")
        self.trainer = trainer
        self.config = config
        self.nets = copy.deepcopy(trainer.members[0])
        self.d = trainer.d
        self.has_labels = trainer.k > 0
        self.optimizers = {
            name: self._optimizer(name)
            for name in ("encoder", "g_mi", "d_mi", "g_cg", "d_cg", "classifier")
            if getattr(self.nets, name) is not None
        }

    def _optimizer(self, name: str) -> torch.optim.Optimizer:
        c = self.config
        lr = {"g_cg": c.lr_cg, "d_cg": c.lr_cg, "classifier": c.lr_c}.get(name, c.lr)
        weight_decay = c.c_weight_decay if name == "classifier" else 0.0
        params = getattr(self.nets, name).parameters()
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9), weight_decay=weight_decay)
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-8, weight_decay=weight_decay)

    # --- plumbing -------------------------------------------------------------------------------

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on `loss`."""
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # backward() also filled the .grad of every other network the loss went through; drop
        # them, so that no later step can ever see another step's gradients.
        self.nets.zero_grad(set_to_none=True)

    def zero(self) -> torch.Tensor:
        return torch.zeros((), device=self.trainer.device)

    def impute(self, batch: Rows, mask: torch.Tensor | None = None):
        """x_tilde = m*x + (1-m)*z; x_bar = G_MI(E(x_tilde, m)); x_hat = m*x + (1-m)*x_bar."""
        m = batch.m if mask is None else mask
        x_tilde = m * batch.x + (1 - m) * batch.fill
        x_bar = self.nets.g_mi(self.nets.encoder(x_tilde, m))
        return m * batch.x + (1 - m) * x_bar, x_bar

    def label_input(self, batch: Rows, x_hat: torch.Tensor) -> torch.Tensor:
        """D_MI's label input: y for labelled rows, C(x_hat) for the others (by the mode)."""
        if not self.has_labels:
            return batch.y
        probs = torch.softmax(self.nets.classifier(x_hat), dim=1)
        mode = self.config.label_adversarial
        if mode != "soft":
            hard = torch.nn.functional.one_hot(probs.argmax(dim=1), self.trainer.k).to(probs.dtype)
            probs = hard.detach() if mode == "rounded" else hard + probs - probs.detach()
        known = batch.labelled[:, None]
        return known * batch.y + (1 - known) * probs

    # --- penalties ------------------------------------------------------------------------------

    def penalty_mi(self, x_real: torch.Tensor, y_in: torch.Tensor, mask: torch.Tensor):
        """L_GP^MI: per feature i, the mean over observed entries (b, i) of ||d D_i / d x_b||^2
        (zero-centred) or of (||d D_i / d x_b|| - 1)^2 (WGAN-GP), then the mean over features."""
        if self.config.penalty == "none":
            return self.zero()
        x_real = x_real.detach().requires_grad_(True)
        scores = self.nets.d_mi(x_real, y_in)[:, : self.d]  # the label output is not penalised
        grad_sq_norms = per_feature_grad_sq_norms(scores, x_real)
        if self.config.penalty == "wgan_gp":
            return losses.wgan_gp_penalty(grad_sq_norms, mask)
        return losses.zero_centred_penalty(grad_sq_norms, mask)

    def penalty_cg(self, h_real: torch.Tensor, y: torch.Tensor):
        """L_GP^CG: ||d D_CG / d h_b||^2 at the real hidden vectors, averaged (or summed)."""
        if self.config.penalty == "none":
            return self.zero()
        h_real = h_real.detach().requires_grad_(True)
        grad = input_gradients(self.nets.d_cg(h_real, y)[:, 0], h_real)
        return losses.hidden_penalty(
            grad, self.config.cg_penalty_reduction, one_centred=self.config.penalty == "wgan_gp"
        )

    # --- (1) missing data imputation --------------------------------------------------------------

    def step_d_mi(self, draws: Draws, index: int) -> Record:
        """D_MI on L_DMI + L^{d+1}_DMI + lambda1 * L_GP^MI."""
        c, d = self.config, self.d
        batch = one_model(draws.of("d_mi").batch(index, self.trainer.layout.batch_rows))
        with torch.no_grad():
            x_hat, _ = self.impute(batch)
            y_in = self.label_input(batch, x_hat)
        scores = self.nets.d_mi(x_hat, y_in)
        loss_d_mi = losses.d_mi_loss(scores[:, :d], batch.m)
        loss_d_mi_label = (
            losses.label_critic_loss(scores[:, d], batch.labelled)
            if self.trainer.semi_supervised
            else self.zero()
        )
        loss_gp_mi = self.penalty_mi(x_hat, y_in, batch.m)
        total = loss_d_mi + loss_d_mi_label + c.lambda1 * loss_gp_mi
        self.update("d_mi", total)
        terms = {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label, "gp_mi": loss_gp_mi}
        return "d_mi", {**terms, "total": total}

    def step_e_and_g_mi(self, draws: Draws) -> list[Record]:
        """E, then G_MI, each on L_GMI + alpha1 * L_recon, on one batch and the same noise."""
        c, d = self.config, self.d
        batch = one_model(draws.of("e_g_mi"))
        encoder_mask = batch.m
        if c.recon_drop_rate > 0:  # denoising: also hide some observed entries from E
            encoder_mask = batch.m * draws.keep[0]
        records = []
        for name in ("encoder", "g_mi"):
            x_hat, x_bar = self.impute(batch, encoder_mask)
            with torch.no_grad():
                y_in = self.label_input(batch, x_hat)
            scores = self.nets.d_mi(x_hat, y_in)
            loss_g_mi = losses.g_mi_loss(scores[:, :d], encoder_mask)
            loss_recon = losses.recon_loss(batch.x, x_bar, batch.m)
            total = c.adversarial_weight * loss_g_mi + c.alpha1 * loss_recon
            self.update(name, total)
            records.append((name, {"g_mi": loss_g_mi, "recon": loss_recon, "total": total}))
        return records

    # --- (2) conditional generation ---------------------------------------------------------------

    def step_d_cg(self, draws: Draws, index: int) -> Record:
        """D_CG on L_DCG + lambda2 * L_GP^CG: real h = E(x_tilde, m) vs h_c = G_CG(z, y)."""
        c, n = self.config, self.trainer.n_batch_labelled
        batch = one_model(draws.of("d_cg").batch(index, n))
        z = draws.latent_of("d_cg")[0, index * n : (index + 1) * n]
        with torch.no_grad():
            x_tilde = batch.m * batch.x + (1 - batch.m) * batch.fill
            h_real = self.nets.encoder(x_tilde, batch.m)
            h_fake = self.nets.g_cg(z, batch.y)
        real_scores = self.nets.d_cg(h_real, batch.y)
        fake_scores = self.nets.d_cg(h_fake, batch.y)
        loss_d_cg = losses.critic_loss(fake_scores, real_scores)
        loss_gp_cg = self.penalty_cg(h_real, batch.y)
        total = loss_d_cg + c.lambda2 * loss_gp_cg
        self.update("d_cg", total)
        return "d_cg", {"d_cg": loss_d_cg, "gp_cg": loss_gp_cg, "total": total}

    def step_g_cg(self, draws: Draws, index: int) -> Record:
        """G_CG on L_GCG + alpha2 * L_GMI(x_c) + alpha3 * L_CE(x_c, y_c)."""
        c, d, n = self.config, self.d, self.trainer.n_batch_labelled
        y_c = one_model(draws.of("g_cg").batch(index, n)).y  # labels distributed like real ones
        z = draws.latent_of("g_cg")[0, index * n : (index + 1) * n]
        h_c = self.nets.g_cg(z, y_c)
        x_c = self.nets.g_mi(h_c)
        loss_g_cg = losses.generator_loss(self.nets.d_cg(h_c, y_c))
        every_entry_imputed = torch.zeros_like(x_c)
        loss_g_mi_c = losses.g_mi_loss(self.nets.d_mi(x_c, y_c)[:, :d], every_entry_imputed)
        loss_ce_c = losses.classifier_loss(self.nets.classifier(x_c), y_c)
        total = loss_g_cg + c.alpha2 * loss_g_mi_c + c.alpha3 * loss_ce_c
        self.update("g_cg", total)
        terms = {"g_cg": loss_g_cg, "g_mi_c": loss_g_mi_c, "ce_c": loss_ce_c}
        return "g_cg", {**terms, "total": total}

    # --- (3) semi-supervised classification -------------------------------------------------------

    def step_c(self, draws: Draws) -> Record:
        """C on L_CE(labelled + balancing synthetic rows) + alpha4 * L_C(unlabelled rows)."""
        c, t, d = self.config, self.trainer, self.d
        n_l = t.n_batch_labelled
        batch = one_model(draws.of("c"))
        with torch.no_grad():
            x_hat, _ = self.impute(batch)
            x_syn = self.nets.g_mi(self.nets.g_cg(draws.latent_of("c")[0], t.balance_y))
        # Synthetic rows top every class up to the batch's largest class: the rows of class k
        # share the weight (largest count - count of k).
        counts = batch.y[:n_l].sum(dim=0)
        syn_weights = torch.zeros(len(t.balance_y), device=t.device)
        for k in range(t.k):
            rows_k = t.balance_y[:, k] == 1
            syn_weights[rows_k] = (counts.max() - counts[k]) / rows_k.sum()
        logits = self.nets.classifier(torch.cat([x_hat[:n_l], x_syn]))
        targets = torch.cat([batch.y[:n_l], t.balance_y])
        weights = torch.cat([torch.ones(n_l, device=t.device), syn_weights])
        loss_ce = losses.classifier_loss(logits, targets, weights)
        loss_c = self.zero()
        if t.semi_supervised and c.label_adversarial != "rounded":
            unlabelled = Rows(*(v[n_l:] for v in (batch.x, batch.m, batch.y, batch.labelled,
                                                  batch.fill)))  # fmt: skip
            y_pred = self.label_input(unlabelled, x_hat[n_l:])  # C(x_u), as D_MI sees it
            loss_c = losses.label_adversarial_loss(self.nets.d_mi(x_hat[n_l:], y_pred)[:, d])
        total = loss_ce + c.alpha4 * loss_c
        self.update("classifier", total)
        return "classifier", {"ce": loss_ce, "c_adv": loss_c, "total": total}

    # --- Algorithm 1 ------------------------------------------------------------------------------

    def iteration(self) -> list[Record]:
        """One outer iteration; one record per optimiser update, in order."""
        c = self.config
        draws = self.trainer.draw()
        records: list[Record] = []
        for i in range(c.n_critic):  # (1) missing data imputation
            records.append(self.step_d_mi(draws, i))
        records.extend(self.step_e_and_g_mi(draws))
        if self.has_labels:
            for j in range(c.n_cg):  # (2) conditional generation
                for i in range(c.n_critic):
                    records.append(self.step_d_cg(draws, j * c.n_critic + i))
                records.append(self.step_g_cg(draws, j))
            records.append(self.step_c(draws))  # (3) semi-supervised classification
        return records
