"""A plain eager reference of ONE iteration of Algorithm 1 (HexaGAN supplement), for checking and
timing the engine (`hexagan_core.train._Trainer.iteration`).

Written for clarity, not speed, so that a reader sees the paper:

  (1) missing data imputation:  n_critic x D_MI, then E, then G_MI;
  (2) conditional generation:   n_CG x (n_critic x D_CG, then G_CG);
  (3) semi-supervised classification: C.

Every update is the textbook `optimizer.zero_grad(); loss.backward(); optimizer.step()`, and the
gradient penalties take each row's input gradient with one `torch.autograd.grad(...,
create_graph=True)` call per critic output, in a plain Python loop (where the engine uses the
closed-form Jacobian of a ReLU network, `MLP.forward_with_input_jacobian`).

To compute the same thing as the engine on the same inputs, the reference runs on a `_Trainer`:
its networks, optimisers, device-resident data and random stream. It draws its minibatches and
noise through the trainer's `sample_batch`, `uniform`, `impute`, `encode`, `generate` and
`label_input`, in exactly the order of the engine's step functions, so both consume the seeded
generator identically. The loss formulas themselves come from `hexagan_core.losses` (one copy of
each loss); everything else (which terms, which weights, the penalties, the updates) is written
out here.

Supported: update_order 'paper', adversarial_loss 'hexagan', penalty 'zero_centred', 'wgan_gp' or
'none', every label_adversarial mode, recon_drop_rate, both tabular architectures.
"""

from __future__ import annotations

import torch

from hexagan_core import losses
from hexagan_core.train import Batch, _Trainer

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


class EagerReference:
    """Algorithm 1, one iteration at a time, on the state of a `_Trainer`.

    `iteration()` updates the trainer's networks exactly as `_Trainer.iteration(warm_up=False)`
    would, and returns one record per optimiser update (68 with the 'paper' preset): the network
    updated and its loss terms, including the total loss it stepped on ('total').
    """

    def __init__(self, trainer: _Trainer):
        config = trainer.config
        if config.update_order != "paper":
            raise ValueError(
                f"The reference follows update_order='paper'. Got {config.update_order!r}."
            )
        if config.adversarial_loss != "hexagan":
            raise ValueError(
                "The reference implements adversarial_loss='hexagan'. "
                f"Got {config.adversarial_loss!r}."
            )
        if config.penalty not in ("zero_centred", "wgan_gp", "none"):
            raise ValueError(
                "The reference implements penalty 'zero_centred', 'wgan_gp' or 'none'. "
                f"Got {config.penalty!r}."
            )
        if config.classifier_balance != "synthetic":
            raise ValueError(
                "The reference balances C with synthetic rows (classifier_balance='synthetic'). "
                f"Got {config.classifier_balance!r}."
            )
        self.trainer = trainer
        self.config = config
        self.nets = trainer.nets
        self.d = trainer.d
        self.has_labels = trainer.k > 0

    # --- plumbing -------------------------------------------------------------------------------

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on `loss`."""
        optimizer = self.trainer.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        # backward() also filled the .grad of every other network the loss went through; drop
        # them, so that no later step can ever see another step's gradients.
        self.nets.zero_grad(set_to_none=True)

    def zero(self) -> torch.Tensor:
        return torch.zeros((), device=self.trainer.device)

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

    def step_d_mi(self) -> Record:
        """D_MI on L_DMI + L^{d+1}_DMI + lambda1 * L_GP^MI."""
        c, t, d = self.config, self.trainer, self.d
        batch = t.sample_batch()
        with torch.no_grad():
            x_hat, _, _ = t.impute(batch)
            y_in = t.label_input(batch, x_hat)
        scores = self.nets.d_mi(x_hat, y_in)
        loss_d_mi = losses.d_mi_loss(scores[:, :d], batch.m)
        loss_d_mi_label = (
            losses.label_critic_loss(scores[:, d], batch.labelled)
            if t.semi_supervised
            else self.zero()
        )
        loss_gp_mi = self.penalty_mi(x_hat, y_in, batch.m)
        total = loss_d_mi + loss_d_mi_label + c.lambda1 * loss_gp_mi
        self.update("d_mi", total)
        terms = {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label, "gp_mi": loss_gp_mi}
        return "d_mi", {**terms, "total": total}

    def step_e_and_g_mi(self) -> list[Record]:
        """E, then G_MI, each on L_GMI + alpha1 * L_recon, on one batch and the same noise."""
        c, t, d = self.config, self.trainer, self.d
        batch = t.sample_batch()
        encoder_mask = batch.m
        if c.recon_drop_rate > 0:  # denoising: also hide some observed entries from E
            keep = (t.uniform(*batch.m.shape) >= c.recon_drop_rate).float()
            encoder_mask = batch.m * keep
        noise_state = t.generator.get_state()
        records = []
        for name in ("encoder", "g_mi"):
            t.generator.set_state(noise_state)  # G_MI sees the noise E saw
            x_hat, x_bar, _ = t.impute(batch, encoder_mask)
            with torch.no_grad():
                y_in = t.label_input(batch, x_hat)
            scores = self.nets.d_mi(x_hat, y_in)
            loss_g_mi = losses.g_mi_loss(scores[:, :d], encoder_mask)
            loss_recon = losses.recon_loss(batch.x, x_bar, batch.m)
            total = c.adversarial_weight * loss_g_mi + c.alpha1 * loss_recon
            self.update(name, total)
            records.append((name, {"g_mi": loss_g_mi, "recon": loss_recon, "total": total}))
        return records

    # --- (2) conditional generation ---------------------------------------------------------------

    def step_d_cg(self) -> Record:
        """D_CG on L_DCG + lambda2 * L_GP^CG: real h = E(x_tilde, m) vs h_c = G_CG(z, y)."""
        c, t = self.config, self.trainer
        batch = t.sample_batch(labelled_only=True)
        with torch.no_grad():
            h_real = t.encode(batch)
            _, h_fake = t.generate(batch.y)
        real_scores = self.nets.d_cg(h_real, batch.y)
        fake_scores = self.nets.d_cg(h_fake, batch.y)
        loss_d_cg = losses.critic_loss(fake_scores, real_scores)
        loss_gp_cg = self.penalty_cg(h_real, batch.y)
        total = loss_d_cg + c.lambda2 * loss_gp_cg
        self.update("d_cg", total)
        return "d_cg", {"d_cg": loss_d_cg, "gp_cg": loss_gp_cg, "total": total}

    def step_g_cg(self) -> Record:
        """G_CG on L_GCG + alpha2 * L_GMI(x_c) + alpha3 * L_CE(x_c, y_c)."""
        c, t, d = self.config, self.trainer, self.d
        y_c = t.sample_batch(labelled_only=True).y  # labels distributed like the real ones
        x_c, h_c = t.generate(y_c)
        loss_g_cg = losses.generator_loss(self.nets.d_cg(h_c, y_c))
        every_entry_imputed = torch.zeros_like(x_c)
        loss_g_mi_c = losses.g_mi_loss(self.nets.d_mi(x_c, y_c)[:, :d], every_entry_imputed)
        loss_ce_c = losses.classifier_loss(self.nets.classifier(x_c), y_c)
        total = loss_g_cg + c.alpha2 * loss_g_mi_c + c.alpha3 * loss_ce_c
        self.update("g_cg", total)
        terms = {"g_cg": loss_g_cg, "g_mi_c": loss_g_mi_c, "ce_c": loss_ce_c}
        return "g_cg", {**terms, "total": total}

    # --- (3) semi-supervised classification -------------------------------------------------------

    def step_c(self) -> Record:
        """C on L_CE(labelled + balancing synthetic rows) + alpha4 * L_C(unlabelled rows)."""
        c, t, d = self.config, self.trainer, self.d
        n_l = t.n_batch_labelled
        batch = t.sample_batch()
        with torch.no_grad():
            x_hat, _, _ = t.impute(batch)
            x_syn, _ = t.generate(t.balance_y)
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
            unlabelled = Batch(batch.x[n_l:], batch.m[n_l:], batch.y[n_l:], batch.labelled[n_l:], 0)
            y_pred = t.label_input(unlabelled, x_hat[n_l:])  # C(x_u), as D_MI sees it
            loss_c = losses.label_adversarial_loss(self.nets.d_mi(x_hat[n_l:], y_pred)[:, d])
        total = loss_ce + c.alpha4 * loss_c
        self.update("classifier", total)
        return "classifier", {"ce": loss_ce, "c_adv": loss_c, "total": total}

    # --- Algorithm 1 ------------------------------------------------------------------------------

    def iteration(self) -> list[Record]:
        """One outer iteration; one record per optimiser update, in order."""
        c = self.config
        records: list[Record] = []
        for _ in range(c.n_critic):  # (1) missing data imputation
            records.append(self.step_d_mi())
        records.extend(self.step_e_and_g_mi())
        if self.has_labels:
            for _ in range(c.n_cg):  # (2) conditional generation
                for _ in range(c.n_critic):
                    records.append(self.step_d_cg())
                records.append(self.step_g_cg())
            records.append(self.step_c())  # (3) semi-supervised classification
        return records
