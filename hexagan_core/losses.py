"""HexaGAN's loss functions, one pure function per term of the paper, plus the critic penalties.

Conventions: `mask` is 1 where an entry is observed ("real") and 0 where it was imputed ("fake"),
as m in the paper. Critic scores are raw (no sigmoid) for the Wasserstein losses. Every loss
reduces over the last two dimensions (rows, columns) only: a (B, n) batch gives a scalar, and
a stack of K models' batches, (K, B, n), gives the K models' losses, (K,).

Where the fast backend (`hexagan_core.engine`) needs a loss's gradient with respect to its
inputs, that gradient is written right below the loss as `<loss>_grad`: the gradient of the sum
of the K models' losses, i.e. each model's own gradient (tests check each against autograd).
Where a step weights the loss, the gradient takes the `weight` itself, so that the float32
arithmetic is the same in every release of the backend.

The element-wise losses average each feature over its own observed (or imputed) entries and then
average the features, as the authors' official code does (docs/hexagan.md): this estimates the
conditional expectations E[D_i | m_i = 1] and E[D_i | m_i = 0] of Theorem 1 without weighting
features by how often they are missing. A feature whose observed or imputed side is empty in a
batch is left out: its difference has no counterpart and would only push the critic's bias
without bound.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "d_mi_loss",
    "g_mi_loss",
    "label_critic_loss",
    "label_adversarial_loss",
    "recon_loss",
    "critic_loss",
    "generator_loss",
    "classifier_loss",
    "zero_centred_penalty",
    "wgan_gp_penalty",
    "hidden_penalty",
    "gain_discriminator_loss",
    "gain_generator_loss",
    "input_jacobian",
]

_EPS = 1e-8


def _column_means(scores: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-column weighted means of `scores` and the per-column weight totals."""
    totals = weights.sum(dim=-2)
    return (scores * weights).sum(dim=-2) / (totals + _EPS), totals


def _elementwise_terms(scores: torch.Tensor, mask: torch.Tensor):
    """Per-feature means over observed and over imputed entries, and which features have both."""
    mask = mask.to(scores.dtype)
    mean_observed, n_observed = _column_means(scores, mask)
    mean_imputed, n_imputed = _column_means(scores, 1.0 - mask)
    both = ((n_observed > 0) & (n_imputed > 0)).to(scores.dtype)
    return mean_observed, mean_imputed, both


def d_mi_loss(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_DMI = E[(1-m)^T D(x_hat)] - E[m^T D(x_hat)]: the critic rates observed entries high."""
    mean_observed, mean_imputed, both = _elementwise_terms(scores, mask)
    return ((mean_imputed - mean_observed) * both).sum(-1) / both.sum(-1).clamp_min(1.0)


def d_mi_loss_grad(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """d L_DMI / d scores: per feature, +1/n_imputed on imputed entries and -1/n_observed on
    observed ones, over the features that have both."""
    mask = mask.to(scores.dtype)
    n_observed, n_imputed = mask.sum(dim=-2, keepdim=True), (1 - mask).sum(dim=-2, keepdim=True)
    both = ((n_observed > 0) & (n_imputed > 0)).to(scores.dtype)
    per_feature = both / both.sum(dim=-1, keepdim=True).clamp_min(1.0)
    return per_feature * ((1 - mask) / (n_imputed + _EPS) - mask / (n_observed + _EPS))


def g_mi_loss(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_GMI = -E[(1-m)^T D(x_hat)]: the imputer wants its entries rated as observed.

    Every feature with at least one imputed entry counts (a generated row, mask all zeros, counts
    in every feature).
    """
    mask = mask.to(scores.dtype)
    mean_imputed, n_imputed = _column_means(scores, 1.0 - mask)
    has_imputed = (n_imputed > 0).to(scores.dtype)
    return -(mean_imputed * has_imputed).sum(-1) / has_imputed.sum(-1).clamp_min(1.0)


def g_mi_loss_grad(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """d L_GMI / d scores: -1/n_imputed on the imputed entries of every feature that has any."""
    mask = mask.to(scores.dtype)
    n_imputed = (1 - mask).sum(dim=-2, keepdim=True)
    has_imputed = (n_imputed > 0).to(scores.dtype)
    n_features = has_imputed.sum(-1, keepdim=True).clamp_min(1.0)
    return (mask - 1) * has_imputed / (n_features * (n_imputed + _EPS))



def g_mi_loss_grad_all_imputed(n_rows: int, n_features: int, weight: float = 1.0) -> float:
    """d (weight * L_GMI) / d scores of rows with no observed entry (generated rows): the same
    for every entry, -weight / (d (n + eps))."""
    return -weight / (n_features * (n_rows + _EPS))


def label_critic_loss(label_scores: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """L^{d+1}_DMI = E_u[D(x_u, C(x_u))_{d+1}] - E_l[D(x_l, y)_{d+1}] (label slot of D_MI).

    `label_scores` and `labelled` are (B,) or (K, B): one score per row.
    """
    labelled = labelled.to(label_scores.dtype)
    unlabelled = 1 - labelled
    mean_labelled = (label_scores * labelled).sum(-1) / labelled.sum(-1).clamp_min(_EPS)
    mean_unlabelled = (label_scores * unlabelled).sum(-1) / unlabelled.sum(-1).clamp_min(_EPS)
    return mean_unlabelled - mean_labelled


def label_critic_loss_grad(label_scores: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
    """d L^{d+1}_DMI / d label_scores: +1/n_u on unlabelled rows, -1/n_l on labelled ones."""
    labelled = labelled.to(label_scores.dtype)
    n_labelled = labelled.sum(-1, keepdim=True).clamp_min(_EPS)
    n_unlabelled = (1 - labelled).sum(-1, keepdim=True).clamp_min(_EPS)
    return ((1 - labelled) / n_unlabelled - labelled / n_labelled).expand_as(label_scores)


def label_adversarial_loss(label_scores_unlabelled: torch.Tensor) -> torch.Tensor:
    """L_C = -E_u[D(x_u, C(x_u))_{d+1}]: C wants its predicted labels rated as real ones."""
    return -label_scores_unlabelled.mean(-1)


def label_adversarial_loss_grad(
    label_scores_unlabelled: torch.Tensor, weight: float = 1.0
) -> torch.Tensor:
    """d (weight * L_C) / d label_scores: -weight/n_u on every unlabelled row."""
    return torch.full_like(label_scores_unlabelled, -weight / label_scores_unlabelled.shape[-1])


def recon_loss(x: torch.Tensor, x_bar: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_recon: squared error of G_MI's output on the entries that the mask marks observed.

    Averaged over those entries (sum m (x - x_bar)^2 / sum m), the form GAIN also uses.
    """
    mask = mask.to(x.dtype)
    return (mask * (x - x_bar) ** 2).sum((-2, -1)) / mask.sum((-2, -1)).clamp_min(1.0)


def recon_loss_grad(
    x: torch.Tensor, x_bar: torch.Tensor, mask: torch.Tensor, weight: float = 1.0
) -> torch.Tensor:
    """d (weight * L_recon) / d x_bar = -2 weight m (x - x_bar) / max(sum m, 1)."""
    mask = mask.to(x.dtype)
    scale = -2.0 * weight / mask.sum((-2, -1), keepdim=True).clamp_min(1.0)
    return scale * mask * (x - x_bar)


def critic_loss(fake_scores: torch.Tensor, real_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss, used for D_CG: L_DCG = E[D(h_fake)] - E[D(h_real)].

    Scores are (B, 1), or (K, B, 1) for a stack of models.
    """
    return fake_scores.mean((-2, -1)) - real_scores.mean((-2, -1))


def critic_loss_grad(n_fake: int, n_real: int, like: torch.Tensor) -> torch.Tensor:
    """d L_DCG / d scores of n_real real rows then n_fake fake rows, (K, n_real + n_fake, 1):
    -1/n_real on real rows, +1/n_fake on fake ones (`like` gives the dtype and device)."""
    n_models = like.shape[0]
    return torch.cat([
        like.new_full((n_models, n_real, 1), -1.0 / n_real),
        like.new_full((n_models, n_fake, 1), 1.0 / n_fake),
    ], dim=1)  # fmt: skip


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss, used for G_CG: L_GCG = -E[D(h_fake)]."""
    return -fake_scores.mean((-2, -1))


def generator_loss_grad(fake_scores: torch.Tensor) -> torch.Tensor:
    """d L_GCG / d scores: -1/n on every row."""
    return torch.full_like(fake_scores, -1.0 / fake_scores[0].numel())


def classifier_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Weighted cross-entropy L_CE with soft or one-hot `targets` (rows weighted by `weights`)."""
    per_row = -(targets * F.log_softmax(logits, dim=-1)).sum(dim=-1)
    if weights is None:
        return per_row.mean(-1)
    return (per_row * weights).sum(-1) / weights.sum(-1).clamp_min(_EPS)


def classifier_loss_grad(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None,
    weight: float = 1.0,
) -> torch.Tensor:  # fmt: skip
    """d (weight * L_CE) / d logits: weight w_r / sum(w) * (softmax * sum(t) - t) per row r
    (`weights` None: every w_r = 1)."""
    probs = torch.softmax(logits, dim=-1)
    per_row = probs * targets.sum(-1, keepdim=True) - targets
    if weights is None:
        return per_row * (weight / logits.shape[-2])
    scale = weights / weights.sum(-1, keepdim=True).clamp_min(_EPS)
    return (weight * scale)[..., None] * per_row


# --- penalties ---------------------------------------------------------------------------------


def input_jacobian(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """J[b, i, :] = d outputs[b, i] / d inputs[b], differentiable (for a penalty), (B, k, n).

    `outputs` (B, k) must have been computed row by row from `inputs` (B, n), which requires
    grad. All k vector-Jacobian products run as one batched backward pass. MLP critics use the
    cheaper closed form `StackedMLP.forward_with_input_jacobian` instead.
    """
    k = outputs.shape[1]
    basis = torch.eye(k, dtype=outputs.dtype, device=outputs.device)
    basis = basis[:, None, :].expand(k, outputs.shape[0], k)
    (grads,) = torch.autograd.grad(
        outputs, inputs, grad_outputs=basis, create_graph=True, is_grads_batched=True
    )  # (k, B, n)
    return grads.transpose(0, 1)


def zero_centred_penalty(grad_sq_norms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L_GP^MI: mean over features of E_b[m_bi ||grad_x D_i(x_b)||^2], on observed entries only.

    `grad_sq_norms[b, i]` = ||d D_i / d x_b||^2, the squared row norms of the input Jacobian.

    Zero-centred (Mescheder et al., 2018) on the real data, as the supplement's "modified ZC".
    """
    mask = mask.to(grad_sq_norms.dtype)
    per_feature, _ = _column_means(grad_sq_norms, mask)
    return per_feature.mean(-1)


def zero_centred_penalty_grad(mask: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """d (weight * L_GP^MI) / d grad_sq_norms[b, i] = weight m_bi / (n_i d): the weight of each
    entry's squared norm (n_i the observed entries of feature i). The one-centred penalty's is
    this one times (||.|| - 1) / ||.|| (`jacobian_row_coefficient`)."""
    n_observed = mask.sum(dim=-2, keepdim=True)
    return weight * mask / ((n_observed + _EPS) * mask.shape[-1])


def wgan_gp_penalty(grad_sq_norms: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """One-centred variant (Gulrajani et al., 2017) on observed entries: E[m (||grad|| - 1)^2]."""
    mask = mask.to(grad_sq_norms.dtype)
    per_feature, _ = _column_means((torch.sqrt(grad_sq_norms + _EPS) - 1.0) ** 2, mask)
    return per_feature.mean(-1)


def jacobian_row_coefficient(
    grad_sq_norms: torch.Tensor | None, weight: torch.Tensor, penalty: str
) -> torch.Tensor:
    """d loss / d J_bi = coefficient_bi * J_bi for a loss sum_bi weight_bi f(||J_bi||^2), with
    f(s) = s ('zero_centred') or (sqrt(s) - 1)^2 ('wgan_gp'; it needs `grad_sq_norms`): the
    gradient of L_GP^MI with respect to each row of D_MI's Jacobian, for
    weight = lambda1 * `zero_centred_penalty_grad`."""
    if penalty == "wgan_gp":
        norms = torch.sqrt(grad_sq_norms + _EPS)
        return 2.0 * weight * (norms - 1.0) / norms
    return 2.0 * weight


def hidden_penalty(grad: torch.Tensor, reduction: str = "mean", one_centred: bool = False):
    """L_GP^CG from D_CG's input gradients (B, h) at real hidden vectors; 'sum' as official code."""
    sq = grad.pow(2).sum(dim=-1)
    per_row = (torch.sqrt(sq + _EPS) - 1.0) ** 2 if one_centred else sq
    return per_row.sum(-1) if reduction == "sum" else per_row.mean(-1)


def hidden_penalty_grad(grad: torch.Tensor, reduction: str = "mean", one_centred: bool = False,
                        weight: float = 1.0) -> torch.Tensor:  # fmt: skip
    """d (weight * L_GP^CG) / d grad: 2 weight grad / n (or without / n for 'sum'), times
    (||.|| - 1) / ||.|| for the one-centred form."""
    factor = 2.0 * weight * (1.0 if reduction == "sum" else 1.0 / grad.shape[-2])
    if not one_centred:
        return grad * factor
    norms = torch.sqrt(grad.pow(2).sum(dim=-1, keepdim=True) + _EPS)
    return grad * (factor * (norms - 1.0) / norms)


# --- GAIN (Yoon et al., 2018): used by the 'gain' adversarial-loss option and the GAIN baseline --


def gain_discriminator_loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-E[m log D + (1-m) log(1-D)] with D = sigmoid(logits): D predicts which entries are real."""
    per_entry = F.binary_cross_entropy_with_logits(logits, mask.to(logits.dtype), reduction="none")
    return per_entry.mean((-2, -1))


def gain_discriminator_loss_grad(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """d / d logits of `gain_discriminator_loss`: (sigmoid(logits) - m) / (B d)."""
    return (torch.sigmoid(logits) - mask.to(logits.dtype)) / logits[0].numel()


def gain_generator_loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """-E[(1-m) log D], averaged over all entries as in GAIN's code: imputed entries judged real."""
    fake = 1.0 - mask.to(logits.dtype)
    return -(fake * F.logsigmoid(logits)).mean((-2, -1))


def gain_generator_loss_grad(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """d / d logits of `gain_generator_loss`: -(1 - m) sigmoid(-logits) / (B d)."""
    return (mask.to(logits.dtype) - 1) * torch.sigmoid(-logits) / logits[0].numel()


def mode_seeking_loss(x_a: torch.Tensor, x_b: torch.Tensor, z_a: torch.Tensor,
                      z_b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """L_MS (Mao et al., CVPR 2019), (K,): 1 / (eps + mean |x_a - x_b| / mean |z_a - z_b|) over
    pairs of samples of the same classes from different noise. Small when the samples differ
    as much as their noise: a generator that ignores z (mode collapse) pays the most."""
    ratio = (x_a - x_b).abs().mean(dim=(1, 2)) / (z_a - z_b).abs().mean(dim=(1, 2))
    return 1.0 / (eps + ratio)
