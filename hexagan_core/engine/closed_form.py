"""The fast backend's steps: Algorithm 1's updates with gradients written by hand.

For MLP networks every update of `hexagan_core.algorithm.Algorithm` is computed here without an
autograd graph: each network's forward pass is taped (`StackedMLP.forward_taped`), the loss's
gradient with respect to the network outputs comes from `losses.<loss>_grad` (beside the loss it
differentiates), and it is backpropagated by hand through the taped networks. The networks are
tiny, so autograd's bookkeeping would cost more than the arithmetic. Same losses, same gradients
as the algorithm (tests/core/test_engine_equivalence.py checks every update of whole iterations).

Also here: D_MI's exact penalty of wide critics taken row by row over each row's active units,
and loss values skipped for updates whose values nobody keeps.
"""

from __future__ import annotations

import numpy as np
import torch

from hexagan_core import losses
from hexagan_core.algorithm import Algorithm, Record
from hexagan_core.config import HexaGANConfig
from hexagan_core.draws import Draws, Rows
from hexagan_core.engine.runtime import keep_freed_heap
from hexagan_core.stacked import StackedMLP

__all__ = ["ClosedFormAlgorithm"]


class ClosedFormAlgorithm(Algorithm):
    """`Algorithm` with hand-written gradients, for MLP networks (`supports`)."""

    name = "closed_form"
    compiled_steps: list[str] = []  # the step methods that run as compiled programs

    @staticmethod
    def supports(config: HexaGANConfig) -> bool:
        return config.architecture != "mnist"

    def __init__(self, configs: list[HexaGANConfig], xs: list[np.ndarray],
                 ys: list[np.ndarray | None], device: torch.device):  # fmt: skip
        if device.type == "cpu":
            keep_freed_heap()
        super().__init__(configs, xs, ys, device)
        if not all(isinstance(net, StackedMLP) for net in self.nets.values()):
            raise TypeError("The closed-form backend needs MLP networks.")
        # An iteration reports the last update's losses of each kind; unless this is set, the
        # updates before it skip computing theirs (their gradients need none).
        self.every_update_losses = False
        # A wide D_MI's exact penalty is taken row by row over each row's active units
        # (`StackedMLP.jacobian_penalty_gradient_by_row`), eagerly: shapes depend on the data.
        self.penalty_by_row = (
            self.penalised("d_mi") and self.nets["d_mi"].jacobian_by_row_pays()
        )
        self._score_gradients: dict[tuple, torch.Tensor] = {}

    def _losses_wanted(self, reported: bool) -> bool:
        return reported or self.every_update_losses

    # --- (1) missing data imputation --------------------------------------------------------

    @torch.no_grad()
    def d_mi_step(self, x_hat, y_in, batch: Rows, directions=None, penalty_only=False,
                  reported=True) -> Record:  # fmt: skip
        """D_MI's update: d loss / d scores of the element-wise and label losses backpropagated
        through the taped D_MI, plus the exact penalty's d loss / d J backpropagated through
        the Jacobian's partial products (or row by row). The projected penalty's gradient is
        autograd's (`Algorithm.d_mi_step`)."""
        if directions is not None:
            with torch.enable_grad():
                return super().d_mi_step(x_hat, y_in, batch, directions, penalty_only, reported)
        c, d, critic, m = self.config, self.d, self.nets["d_mi"], batch.m
        jacobian = None
        if self.penalised("d_mi") and not self.penalty_by_row:
            scores, jacobian, tape, columns = critic.input_jacobian_taped(x_hat, y_in, n_rows=d)
        else:
            scores, tape = critic.forward_taped(x_hat, y_in)
        grad_scores = torch.zeros_like(scores)
        if not penalty_only:
            grad_scores[..., :d] = self._loss_d_mi_grad(scores[..., :d], m)
            if self.semi_supervised:
                grad_scores[..., d] = losses.label_critic_loss_grad(scores[..., d], batch.labelled)
        critic.backward_taped(tape, grad_scores, weight_grads=True, input_grad=False)
        sq_norms = None
        if self.penalised("d_mi"):  # L_GP^MI = sum_bi weight_bi f(||J_bi||^2)
            weight = losses.zero_centred_penalty_grad(m, c.lambda1)
            if self.penalty_by_row:
                sq_norms = critic.jacobian_penalty_gradient_by_row(tape, d, weight, c.penalty)
            else:
                wanted = c.penalty == "wgan_gp" or self._losses_wanted(reported)
                sq_norms = jacobian.pow(2).sum(dim=-1).transpose(1, 2) if wanted else None
                coefficient = losses.jacobian_row_coefficient(sq_norms, weight, c.penalty)
                grad_jacobian = jacobian * coefficient.transpose(1, 2)[..., None]
                critic.input_jacobian_backward(tape, columns, grad_jacobian)
        self.apply_gradient("d_mi", critic.grad)
        if not self._losses_wanted(reported):
            return {}
        loss_d_mi_label = self.zero()
        if self.semi_supervised:
            loss_d_mi_label = losses.label_critic_loss(scores[..., d], batch.labelled)
        loss_gp_mi = self.zero() if sq_norms is None else self.penalty_mi(sq_norms, m)
        return {"d_mi": self.loss_d_mi(scores[..., :d], m), "d_mi_label": loss_d_mi_label,
                "gp_mi": loss_gp_mi}  # fmt: skip

    def _loss_d_mi_grad(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.config.adversarial_loss == "gain":
            return losses.gain_discriminator_loss_grad(scores, mask)
        return losses.d_mi_loss_grad(scores, mask)

    def _loss_g_mi_grad(self, scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.config.adversarial_loss == "gain":
            return losses.gain_generator_loss_grad(scores, mask)
        return losses.g_mi_loss_grad(scores, mask)

    @torch.no_grad()
    def e_g_mi_step(self, draws: Draws) -> Record:
        """E's and G_MI's updates, backpropagated by hand through the taped E, G_MI and D_MI
        (C's labels for D_MI carry no gradient there)."""
        c, d, nets = self.config, self.d, self.nets
        batch = draws.of("e_g_mi")
        m = batch.m
        em = m if draws.keep is None else m * draws.keep  # E's mask
        for name in ("encoder", "g_mi"):
            h, tape_e = nets["encoder"].forward_taped(em * batch.x + (1 - em) * batch.fill, em)
            x_bar, tape_g = nets["g_mi"].forward_taped(h)
            x_hat = em * batch.x + (1 - em) * x_bar
            scores, tape_d = nets["d_mi"].forward_taped(x_hat, self.label_input(batch, x_hat))
            grad_scores = torch.zeros_like(scores)
            grad_scores[..., :d] = self._loss_g_mi_grad(scores[..., :d], em)
            grad_x_hat = nets["d_mi"].backward_taped(tape_d, grad_scores)[..., :d]
            grad_x_bar = (c.adversarial_weight * (1 - em)) * grad_x_hat
            grad_x_bar += losses.recon_loss_grad(batch.x, x_bar, m, c.alpha1)
            if name == "g_mi":
                nets["g_mi"].backward_taped(tape_g, grad_x_bar, weight_grads=True,
                                            input_grad=False)  # fmt: skip
            else:
                grad_h = nets["g_mi"].backward_taped(tape_g, grad_x_bar)
                nets["encoder"].backward_taped(tape_e, grad_h, weight_grads=True, input_grad=False)
            self.apply_gradient(name, nets[name].grad)
        # the losses of G_MI's update
        return {"g_mi": self.loss_g_mi(scores[..., :d], em),
                "recon": losses.recon_loss(batch.x, x_bar, m)}  # fmt: skip

    # --- (2) conditional generation ---------------------------------------------------------

    @torch.no_grad()
    def d_cg_updates(self, h_real, h_fake, y, penalty_only=False, reported=True) -> Record:
        """The round's D_CG updates, their input rows [h, y] (each update's n real rows, then
        its n fake ones) built in one go: D_CG is updated n_CG x n_critic times an
        iteration."""
        n, record = self.n_batch_labelled, {}
        real, fake = torch.cat([h_real, y], dim=-1), torch.cat([h_fake, y], dim=-1)
        per_step = (self.n_models, real.shape[1] // n, n, real.shape[-1])
        inputs = torch.cat([real.view(per_step), fake.view(per_step)], dim=2).unbind(1)
        for i, step_inputs in enumerate(inputs):
            last = reported and i == len(inputs) - 1
            record.update(self.d_cg_update(step_inputs, h_real.shape[-1], penalty_only, last))
        return record

    @torch.no_grad()
    def d_cg_update(self, inputs: torch.Tensor, hidden_dim: int, penalty_only=False,
                    reported=True) -> Record:  # fmt: skip
        """D_CG's update in closed form (`StackedMLP.critic_gradient`) on its input rows [h, y]:
        n real rows, then n fake ones."""
        critic, n = self.nets["d_cg"], inputs.shape[1] // 2
        grad_scores = None if penalty_only else self._critic_loss_grad(inputs, n)
        grad_penalty = None
        if self.penalised("d_cg"):
            c, one_centred = self.config, self.regularisers["d_cg"] == "wgan_gp"

            def grad_penalty(jacobian: torch.Tensor) -> torch.Tensor:
                return losses.hidden_penalty_grad(jacobian, c.cg_penalty_reduction, one_centred,
                                                  c.lambda2)  # fmt: skip

        grad, scores, jacobian = critic.critic_gradient(inputs, grad_scores, n, hidden_dim,
                                                        grad_penalty)  # fmt: skip
        self.apply_gradient("d_cg", grad)
        if not self._losses_wanted(reported):
            return {}
        loss_gp_cg = self.penalty_cg(jacobian) if self.penalised("d_cg") else self.zero()
        return {"d_cg": losses.critic_loss(scores[:, n:], scores[:, :n]), "gp_cg": loss_gp_cg}

    def _critic_loss_grad(self, inputs: torch.Tensor, n_real: int) -> torch.Tensor:
        """`losses.critic_loss_grad`, made once per shape when eager (it is a constant)."""
        n_fake = inputs.shape[1] - n_real
        if torch.compiler.is_compiling():
            return losses.critic_loss_grad(n_fake, n_real, inputs)
        key = (inputs.shape, n_real, inputs.dtype, inputs.device)
        if key not in self._score_gradients:
            self._score_gradients[key] = losses.critic_loss_grad(n_fake, n_real, inputs)
        return self._score_gradients[key]

    @torch.no_grad()
    def g_cg_step(self, z, y_c, reported=True) -> Record:
        """G_CG's update, backpropagated by hand through the taped G_CG, G_MI, D_CG, D_MI and
        C: its loss passes through five networks."""
        c, d, nets = self.config, self.d, self.nets
        h_c, tape_g_cg = nets["g_cg"].forward_taped(z, self.class_input(y_c))
        x_c, tape_g_mi = nets["g_mi"].forward_taped(h_c)
        scores_cg, tape_d_cg = nets["d_cg"].forward_taped(h_c, y_c)
        scores_mi, tape_d_mi = nets["d_mi"].forward_taped(x_c, y_c)
        logits, tape_c = nets["classifier"].forward_taped(x_c)
        # d loss / d outputs, term by term
        grad_scores_cg = losses.generator_loss_grad(scores_cg)
        grad_scores_mi = torch.zeros_like(scores_mi)
        if c.adversarial_loss == "gain":
            grad_scores_mi[..., :d] = c.alpha2 * losses.gain_generator_loss_grad(
                scores_mi[..., :d], torch.zeros_like(x_c))
        else:  # the same for every entry of a generated row
            grad_scores_mi[..., :d] = losses.g_mi_loss_grad_all_imputed(x_c.shape[1], d, c.alpha2)
        grad_logits = losses.classifier_loss_grad(logits, y_c, weight=c.alpha3)
        # back through the critics and C to x_c and h_c, then G_MI, then G_CG's weights
        grad_x_c = nets["d_mi"].backward_taped(tape_d_mi, grad_scores_mi)[..., :d]
        grad_x_c = grad_x_c + nets["classifier"].backward_taped(tape_c, grad_logits)
        grad_h_c = nets["g_mi"].backward_taped(tape_g_mi, grad_x_c)
        grad_critic = nets["d_cg"].backward_taped(tape_d_cg, grad_scores_cg)
        grad_h_c = grad_h_c + grad_critic[..., : h_c.shape[-1]]
        nets["g_cg"].backward_taped(tape_g_cg, grad_h_c, weight_grads=True, input_grad=False)
        self.apply_gradient("g_cg", nets["g_cg"].grad)
        if not self._losses_wanted(reported):
            return {}
        return {
            "g_cg": losses.generator_loss(scores_cg),
            "g_mi_c": self.loss_g_mi(scores_mi[..., :d], torch.zeros_like(x_c)),  # all imputed
            "ce_c": losses.classifier_loss(logits, y_c),
        }

    # --- (3) semi-supervised classification -------------------------------------------------

    @torch.no_grad()
    def c_step(self, draws: Draws) -> Record:
        """C's update: one taped pass of C over L_CE's rows and (if L_C applies) the unlabelled
        ones; L_C's gradient comes back through the taped D_MI's label score and C's softmax
        (the straight-through estimator passes the softmax's gradient too)."""
        c, d, n_l, nets = self.config, self.d, self.n_batch_labelled, self.nets
        batch = draws.of("c")
        x_hat, _ = self.impute(batch)
        x_ce, targets, row_weights = self.classifier_rows(draws, x_hat[:, :n_l], batch.y)
        adversarial = self.semi_supervised and c.label_adversarial != "rounded"
        n_ce, x_unlabelled = x_ce.shape[1], x_hat[:, n_l:]
        rows = torch.cat([x_ce, x_unlabelled], dim=1) if adversarial else x_ce
        logits, tape_c = nets["classifier"].forward_taped(rows)
        logits_ce = logits[:, :n_ce]
        if row_weights is None:
            row_weights = torch.ones_like(targets[..., 0])
        grad_logits = losses.classifier_loss_grad(logits_ce, targets, row_weights)
        loss_c = self.zero()
        if adversarial:
            y_pred = self.label_input(batch.select(slice(n_l, None)), x_unlabelled)
            scores, tape_d = nets["d_mi"].forward_taped(x_unlabelled, y_pred)
            loss_c = losses.label_adversarial_loss(scores[..., d])
            grad_scores = torch.zeros_like(scores)
            grad_scores[..., d] = losses.label_adversarial_loss_grad(scores[..., d], c.alpha4)
            grad_y = nets["d_mi"].backward_taped(tape_d, grad_scores)[..., d:]
            probs = torch.softmax(logits[:, n_ce:], dim=-1)  # back through the softmax
            grad_unlabelled = probs * (grad_y - (probs * grad_y).sum(-1, keepdim=True))
            grad_logits = torch.cat([grad_logits, grad_unlabelled], dim=1)
        nets["classifier"].backward_taped(tape_c, grad_logits, weight_grads=True,
                                          input_grad=False)  # fmt: skip
        self.apply_gradient("classifier", nets["classifier"].grad)
        return {"ce": losses.classifier_loss(logits_ce, targets, row_weights), "c_adv": loss_c}
