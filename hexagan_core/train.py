"""Algorithm 1 of the HexaGAN supplement: the training schedule of the six networks.

One outer iteration (update_order='paper'):
  (1) missing data imputation: n_critic x D_MI, then E, then G_MI;
  (2) conditional generation:  n_CG x (n_critic x D_CG, then G_CG);
  (3) semi-supervised classification: C.
Each step below computes the paper's loss terms in variables named after them and combines
them on one line with the config's coefficients. Every random draw comes from one seeded
torch.Generator, so a run on the CPU is reproducible; the loop never synchronises with the
host except every `eval_every` iterations, when it reports to the callback.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hexagan_core import losses, metrics
from hexagan_core.config import HexaGANConfig
from hexagan_core.model import HexaGANModel, resolve_device
from hexagan_core.networks import MLP, HexaGANNetworks, build_networks

__all__ = ["fit", "Validation", "Batch"]

Callback = Callable[[dict[str, Any]], None]


@dataclass
class Validation:
    """Held-out rows to report on: inputs with NaN, ground truth, the scored entries, labels."""

    x_input: np.ndarray
    x_true: np.ndarray | None = None
    removed: np.ndarray | None = None
    y_true: np.ndarray | None = None


@dataclass
class Batch:
    """A minibatch: labelled rows first, then unlabelled ones."""

    x: torch.Tensor  # (B, d) values, 0 where missing
    m: torch.Tensor  # (B, d) 1 = observed
    y: torch.Tensor  # (B, K) one-hot for labelled rows, zeros for unlabelled ones
    labelled: torch.Tensor  # (B,) 1 = label known
    n_labelled: int


class _Trainer:
    """State of one training run: networks, optimisers, device-resident data, the generator."""

    def __init__(self, config: HexaGANConfig, x: np.ndarray, y: np.ndarray | None, device):
        self.config, self.device = config, device
        self.generator = torch.Generator(device=device).manual_seed(config.seed)
        init_generator = torch.Generator().manual_seed(config.seed)
        n_classes = 0 if y is None else int(y.max()) + 1
        self.nets: HexaGANNetworks = build_networks(
            config, x.shape[1], n_classes, init_generator
        ).to(device)
        self.d, self.k = x.shape[1], n_classes

        # Data resident on the device for the whole run.
        values = torch.from_numpy(np.asarray(x, dtype=np.float32))
        self.m_all = (~torch.isnan(values)).float().to(device)
        self.x_all = torch.nan_to_num(values).to(device)
        if n_classes:
            labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
            labelled_rows = torch.nonzero(labels >= 0).flatten()
            self.y_all = torch.zeros((len(labels), n_classes))
            self.y_all[labelled_rows, labels[labelled_rows]] = 1.0
            self.y_all = self.y_all.to(device)
            self.labelled_rows = labelled_rows.to(device)
            self.unlabelled_rows = torch.nonzero(labels < 0).flatten().to(device)
        else:
            self.y_all = torch.zeros((len(values), 0), device=device)
            self.labelled_rows = torch.zeros(0, dtype=torch.long, device=device)
            self.unlabelled_rows = torch.arange(len(values), device=device)
        n_l, n_u = len(self.labelled_rows), len(self.unlabelled_rows)
        batch = min(config.batch_size, max(n_l, n_u))
        # Unlabelled rows join each batch in proportion to their share (at most a full batch).
        self.n_batch_labelled = min(batch, n_l)
        if n_l == 0:
            self.n_batch_unlabelled = batch
        elif n_u == 0:
            self.n_batch_unlabelled = 0
        else:
            self.n_batch_unlabelled = min(batch, max(1, round(batch * n_u / n_l)))
        self.semi_supervised = self.k > 0 and self.n_batch_unlabelled > 0
        # Fixed classes of the synthetic rows that balance C's batch (round robin over classes).
        if self.k:
            classes = torch.arange(max(self.n_batch_labelled, self.k)) % self.k
            self.balance_y = torch.eye(self.k)[classes].to(device)

        self.optimizers = {
            name: self._optimizer(name)
            for name in ("encoder", "g_mi", "d_mi", "g_cg", "d_cg", "classifier")
            if getattr(self.nets, name) is not None
        }
        self.base_lrs = {n: [g["lr"] for g in o.param_groups] for n, o in self.optimizers.items()}

    def _optimizer(self, name: str) -> torch.optim.Optimizer:
        c = self.config
        lr = {"g_cg": c.lr_cg, "d_cg": c.lr_cg, "classifier": c.lr_c}.get(name, c.lr)
        weight_decay = c.c_weight_decay if name == "classifier" else 0.0
        params = getattr(self.nets, name).parameters()
        if c.optimizer == "adam":
            return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9), weight_decay=weight_decay)
        # TF's RMSProp defaults (decay 0.9), as the official code; torch's eps is added outside
        # the square root, so a small one keeps the step size comparable.
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-8, weight_decay=weight_decay)

    # --- helpers --------------------------------------------------------------------------

    def uniform(self, *shape: int, scale: float = 1.0) -> torch.Tensor:
        return scale * torch.rand(shape, generator=self.generator, device=self.device)

    def _rows(self, pool: torch.Tensor, n: int) -> torch.Tensor:
        pick = torch.randint(len(pool), (n,), generator=self.generator, device=self.device)
        return pool[pick]

    def sample_batch(self, labelled_only: bool = False) -> Batch:
        """Rows drawn with replacement: n_batch_labelled labelled, then the unlabelled share."""
        parts = [self._rows(self.labelled_rows, self.n_batch_labelled)] if self.k else []
        if not labelled_only and self.n_batch_unlabelled:
            parts.append(self._rows(self.unlabelled_rows, self.n_batch_unlabelled))
        rows = torch.cat(parts)
        labelled = torch.zeros(len(rows), device=self.device)
        labelled[: self.n_batch_labelled] = 1.0
        return Batch(
            self.x_all[rows], self.m_all[rows], self.y_all[rows], labelled, self.n_batch_labelled
        )

    def encode(self, batch: Batch) -> torch.Tensor:
        """h = E(x_tilde, m), drawing the same fill noise as `impute`."""
        z = self.uniform(*batch.x.shape, scale=self.config.noise_scale)
        return self.nets.encoder(batch.m * batch.x + (1 - batch.m) * z, batch.m)

    def impute(self, batch: Batch, encoder_mask: torch.Tensor | None = None):
        """x_tilde = m*x + (1-m)*z; h = E(x_tilde, m); x_bar = G_MI(h); x_hat = m*x + (1-m)*x_bar"""
        m = batch.m if encoder_mask is None else encoder_mask
        z = self.uniform(*batch.x.shape, scale=self.config.noise_scale)
        h = self.nets.encoder(m * batch.x + (1 - m) * z, m)
        x_bar = self.nets.g_mi(h)
        return m * batch.x + (1 - m) * x_bar, x_bar, h

    def label_input(self, batch: Batch, x_hat: torch.Tensor) -> torch.Tensor:
        """D_MI's label input: the true y for labelled rows, C's prediction for unlabelled ones."""
        if self.k == 0:
            return batch.y
        probs = torch.softmax(self.nets.classifier(x_hat), dim=1)
        mode = self.config.label_adversarial
        if mode != "soft":
            hard = torch.nn.functional.one_hot(probs.argmax(dim=1), self.k).to(probs.dtype)
            # straight-through: one-hot forward, the softmax's gradient backward
            probs = hard.detach() if mode == "rounded" else hard + probs - probs.detach()
        known = batch.labelled[:, None]
        return known * batch.y + (1 - known) * probs

    def generate(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """h_c = G_CG(z, y) and x_c = G_MI(h_c): conditional samples of the classes in y."""
        h_c = self.nets.g_cg(self.uniform(len(y), self.nets.noise_dim), y)
        return self.nets.g_mi(h_c), h_c

    def adversarial_losses(self, scores: torch.Tensor, mask: torch.Tensor):
        """(critic loss, generator loss) of D_MI's element-wise outputs."""
        if self.config.adversarial_loss == "gain":
            return (
                losses.gain_discriminator_loss(scores, mask),
                losses.gain_generator_loss(scores, mask),
            )
        return losses.d_mi_loss(scores, mask), losses.g_mi_loss(scores, mask)

    def update(self, name: str, loss: torch.Tensor) -> None:
        """One optimiser step of network `name` on `loss`; other networks' gradients untouched."""
        params = self.optimizers[name].param_groups[0]["params"]
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        for p, g in zip(params, grads, strict=True):
            p.grad = g
        self.optimizers[name].step()
        if self.config.penalty == "weight_clip" and name in ("d_mi", "d_cg"):
            with torch.no_grad():
                for p in params:
                    p.clamp_(-self.config.clip_value, self.config.clip_value)

    @property
    def needs_penalty(self) -> bool:
        return self.config.penalty not in ("weight_clip", "none")

    def critic_with_input_jacobian(self, critic, x: torch.Tensor, y: torch.Tensor):
        """critic(x, y) and its per-row Jacobian with respect to x (closed form for MLPs)."""
        if isinstance(critic, MLP):
            return critic.forward_with_input_jacobian(x, y)
        x.requires_grad_(True)  # convolutional critics: batched vector-Jacobian products
        scores = critic(x, y)
        return scores, losses.input_jacobian(scores, x)

    def penalty(self, jacobian: torch.Tensor | None, mask: torch.Tensor | None = None):
        """L_GP^MI from D_MI's Jacobian (observed entries of `mask`), or L_GP^CG from D_CG's."""
        if jacobian is None:
            return torch.zeros((), device=self.device)
        one_centred = self.config.penalty == "wgan_gp"
        if mask is None:  # D_CG: one scalar output
            return losses.hidden_penalty(
                jacobian[:, 0], self.config.cg_penalty_reduction, one_centred=one_centred
            )
        sq_norms = jacobian[:, : self.d].pow(2).sum(dim=2)
        if one_centred:
            return losses.wgan_gp_penalty(sq_norms, mask)
        return losses.zero_centred_penalty(sq_norms, mask)

    # --- (1) missing data imputation ------------------------------------------------------

    def step_d_mi(self, penalty_only: bool = False) -> dict[str, torch.Tensor]:
        c, d = self.config, self.d
        batch = self.sample_batch()
        with torch.no_grad():
            x_hat, _, _ = self.impute(batch)
            y_in = self.label_input(batch, x_hat)
        jacobian = None
        if self.needs_penalty:
            scores, jacobian = self.critic_with_input_jacobian(self.nets.d_mi, x_hat, y_in)
        else:
            scores = self.nets.d_mi(x_hat, y_in)
        loss_d_mi, _ = self.adversarial_losses(scores[:, :d], batch.m)
        loss_d_mi_label = (
            losses.label_critic_loss(scores[:, d], batch.labelled)
            if self.semi_supervised
            else torch.zeros((), device=self.device)
        )
        loss_gp_mi = self.penalty(jacobian, batch.m)
        if penalty_only:  # official warm-up: the critic only learns to be smooth
            self.update("d_mi", c.lambda1 * loss_gp_mi)
        else:
            self.update("d_mi", loss_d_mi + loss_d_mi_label + c.lambda1 * loss_gp_mi)
        return {"d_mi": loss_d_mi, "d_mi_label": loss_d_mi_label, "gp_mi": loss_gp_mi}

    def step_e_g_mi(self) -> dict[str, torch.Tensor]:
        """E then G_MI, each on L_GMI + alpha1 * L_recon (L_GMI weighted by adversarial_weight,
        1 in the paper), on the same batch and noise."""
        c, d = self.config, self.d
        batch = self.sample_batch()
        encoder_mask = batch.m
        if c.recon_drop_rate > 0:  # denoising: hide some observed entries and reconstruct them
            keep = (self.uniform(*batch.m.shape) >= c.recon_drop_rate).float()
            encoder_mask = batch.m * keep
        state = self.generator.get_state()
        out: dict[str, torch.Tensor] = {}
        for name in ("encoder", "g_mi"):
            self.generator.set_state(state)  # same noise for both updates
            x_hat, x_bar, _ = self.impute(batch, encoder_mask)
            with torch.no_grad():
                y_in = self.label_input(batch, x_hat)
            scores = self.nets.d_mi(x_hat, y_in)
            _, loss_g_mi = self.adversarial_losses(scores[:, :d], encoder_mask)
            loss_recon = losses.recon_loss(batch.x, x_bar, batch.m)
            self.update(name, c.adversarial_weight * loss_g_mi + c.alpha1 * loss_recon)
            out = {"g_mi": loss_g_mi, "recon": loss_recon}
        return out

    # --- (2) conditional generation -------------------------------------------------------

    def step_d_cg(self, penalty_only: bool = False) -> dict[str, torch.Tensor]:
        c = self.config
        batch = self.sample_batch(labelled_only=True)
        with torch.no_grad():
            h_real = self.encode(batch)
            _, h_fake = self.generate(batch.y)
        jacobian = None
        if self.needs_penalty:
            real_scores, jacobian = self.nets.d_cg.forward_with_input_jacobian(h_real, batch.y)
        else:
            real_scores = self.nets.d_cg(h_real, batch.y)
        fake_scores = self.nets.d_cg(h_fake, batch.y)
        loss_d_cg = losses.critic_loss(fake_scores, real_scores)
        loss_gp_cg = self.penalty(jacobian)
        if penalty_only:
            self.update("d_cg", c.lambda2 * loss_gp_cg)
        else:
            self.update("d_cg", loss_d_cg + c.lambda2 * loss_gp_cg)
        return {"d_cg": loss_d_cg, "gp_cg": loss_gp_cg}

    def step_g_cg(self) -> dict[str, torch.Tensor]:
        c, d = self.config, self.d
        # Condition on labels drawn like the real ones, so D_CG cannot tell them apart by y.
        y_c = self.sample_batch(labelled_only=True).y
        x_c, h_c = self.generate(y_c)
        loss_g_cg = losses.generator_loss(self.nets.d_cg(h_c, y_c))
        all_imputed = torch.zeros_like(x_c)  # every entry of a generated row counts as imputed
        _, loss_g_mi_c = self.adversarial_losses(self.nets.d_mi(x_c, y_c)[:, :d], all_imputed)
        loss_ce_c = losses.classifier_loss(self.nets.classifier(x_c), y_c)
        self.update("g_cg", loss_g_cg + c.alpha2 * loss_g_mi_c + c.alpha3 * loss_ce_c)
        return {"g_cg": loss_g_cg, "g_mi_c": loss_g_mi_c, "ce_c": loss_ce_c}

    # --- (3) semi-supervised classification -----------------------------------------------

    def step_c(self) -> dict[str, torch.Tensor]:
        c, d, n_l = self.config, self.d, self.n_batch_labelled
        batch = self.sample_batch()
        with torch.no_grad():
            x_hat, _, _ = self.impute(batch)
        if c.classifier_balance == "synthetic":
            with torch.no_grad():  # each class topped up to the batch's largest class
                counts = batch.y[:n_l].sum(dim=0)
                per_class = self.balance_y.sum(dim=0)
                weights = self.balance_y @ ((counts.max() - counts) / per_class)
                x_syn, _ = self.generate(self.balance_y)
            logits = self.nets.classifier(torch.cat([x_hat[:n_l], x_syn]))
            targets = torch.cat([batch.y[:n_l], self.balance_y])
            row_weights = torch.cat([torch.ones(n_l, device=self.device), weights])
            loss_ce = losses.classifier_loss(logits, targets, row_weights)
        else:
            loss_ce = losses.classifier_loss(self.nets.classifier(x_hat[:n_l]), batch.y[:n_l])
        loss_c = torch.zeros((), device=self.device)
        if self.semi_supervised and c.label_adversarial != "rounded":
            unlabelled = Batch(batch.x[n_l:], batch.m[n_l:], batch.y[n_l:], batch.labelled[n_l:], 0)
            y_pred = self.label_input(unlabelled, x_hat[n_l:])
            loss_c = losses.label_adversarial_loss(self.nets.d_mi(x_hat[n_l:], y_pred)[:, d])
        self.update("classifier", loss_ce + c.alpha4 * loss_c)
        return {"ce": loss_ce, "c_adv": loss_c}

    # --- Algorithm 1 ----------------------------------------------------------------------

    def iteration(self, warm_up: bool) -> dict[str, torch.Tensor]:
        c = self.config
        record: dict[str, torch.Tensor] = {}
        if warm_up:  # official code: critics minimise only their penalties at first
            record.update(self.step_d_mi(penalty_only=True))
            if self.k:
                record.update(self.step_d_cg(penalty_only=True))
            return record
        if c.update_order == "official":
            record.update(self.conditional_generation(generator_first=True))
            record.update(self.step_e_g_mi())
            for _ in range(c.n_critic):
                record.update(self.step_d_mi())
        else:
            for _ in range(c.n_critic):  # (1) missing data imputation
                record.update(self.step_d_mi())
            record.update(self.step_e_g_mi())
            record.update(self.conditional_generation(generator_first=False))  # (2)
        if self.k:  # (3) semi-supervised classification
            record.update(self.step_c())
        return record

    def conditional_generation(self, generator_first: bool) -> dict[str, torch.Tensor]:
        record: dict[str, torch.Tensor] = {}
        if not self.k:
            return record
        for _ in range(self.config.n_cg):
            if generator_first:
                record.update(self.step_g_cg())
            for _ in range(self.config.n_critic):
                record.update(self.step_d_cg())
            if not generator_first:
                record.update(self.step_g_cg())
        return record

    def set_learning_rates(self, iteration: int) -> None:
        factor = self.config.lr_decay**iteration
        for name, optimizer in self.optimizers.items():
            for group, base in zip(optimizer.param_groups, self.base_lrs[name], strict=True):
                group["lr"] = base * factor


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
    stop_event: threading.Event | None = None,
    pause_event: threading.Event | None = None,
    device: str = "auto",
    select_best: str | None = None,
) -> HexaGANModel:
    """Train HexaGAN on `x` (min-max scaled, NaN = missing) and labels `y` (-1 = unlabelled).

    Every `config.eval_every` iterations (and at the end) `callback` receives a dict with
    `iteration`, `seconds`, `losses` (each component's mean loss since the last report) and the
    validation scores (`val_rmse`, `val_f1`, ...). Setting `stop_event` ends training within one
    iteration; while `pause_event` is set, training waits. `select_best` ('val_rmse' or
    'val_f1') keeps the networks of the best validation report instead of the last ones.
    """
    config = config.validate()
    x, y = check_training_data(x, y)
    if select_best not in (None, "val_rmse", "val_f1"):
        raise ValueError(f"select_best must be None, 'val_rmse' or 'val_f1'. Got {select_best!r}.")
    torch_device = resolve_device(device)
    with _cpu_threads(torch_device, config):
        return _train(
            config, x, y, torch_device, validation, callback, stop_event, pause_event, select_best
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


def _train(config, x, y, torch_device, validation, callback, stop_event, pause_event, select_best):
    trainer = _Trainer(config, x, y, torch_device)
    model = HexaGANModel(config, trainer.nets, torch_device)
    best_score, best_state = math.inf, None
    loss_sums: dict[str, torch.Tensor] = {}
    since_report = 0
    start = time.perf_counter()
    paused = 0.0

    for it in range(1, config.pretrain_iterations + config.iterations + 1):
        if stop_event is not None and stop_event.is_set():
            break
        if pause_event is not None and pause_event.is_set():
            pause_start = time.perf_counter()
            while pause_event.is_set() and not (stop_event is not None and stop_event.is_set()):
                time.sleep(0.05)
            paused += time.perf_counter() - pause_start
        warm_up = it <= config.pretrain_iterations
        trainer.set_learning_rates(max(0, it - config.pretrain_iterations - 1))
        record = trainer.iteration(warm_up)
        if warm_up:
            continue
        # Accumulate on the device: no host synchronisation between reports.
        for name, value in record.items():
            loss_sums[name] = loss_sums.get(name, 0.0) + value.detach()
        since_report += 1
        step = it - config.pretrain_iterations
        if step % config.eval_every and step != config.iterations:
            continue
        report: dict[str, Any] = {
            "iteration": step,
            "seconds": time.perf_counter() - start - paused,
            "losses": {k: float(v) / since_report for k, v in loss_sums.items()},
        }
        report.update(_evaluate(model, validation, config.seed))
        loss_sums, since_report = {}, 0
        model.history.append(report)
        if select_best and select_best in report:
            score = report[select_best] * (1 if select_best == "val_rmse" else -1)
            if score < best_score:
                best_score = score
                best_state = copy.deepcopy(trainer.nets.state_dict())
                report["best"] = True
        if callback is not None:
            callback(report)

    if best_state is not None:
        trainer.nets.load_state_dict(best_state)
    return model
