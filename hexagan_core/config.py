"""Every HexaGAN hyperparameter in one frozen dataclass, its validation, presets and JSON form.

Field docstrings name the symbol of the paper (Hwang, Jung & Yoon, ICML 2019, and its supplement)
that each value stands for. Presets are deltas from the defaults, like nanoGPT's config files.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hexagan_core.validation import Interval, check_params

__all__ = [
    "HexaGANConfig", "PRESETS", "preset", "CHOICES", "NUMERIC_CONSTRAINTS", "field_help",
    "penalty_cost_note",
]  # fmt: skip

# Allowed values of the string options; the dashboard reads this table for its select boxes.
CHOICES: dict[str, tuple[str, ...]] = {
    "architecture": ("paper", "official", "mnist"),
    "penalty": ("zero_centred", "wgan_gp", "weight_clip", "none"),
    "cg_penalty": ("same", "zero_centred", "wgan_gp", "weight_clip", "none"),
    "adversarial_loss": ("hexagan", "gain"),
    "label_adversarial": ("soft", "straight_through", "rounded"),
    "optimizer": ("rmsprop", "adam"),
    "update_order": ("paper", "official"),
    "cg_penalty_reduction": ("mean", "sum"),
    "classifier_balance": ("synthetic", "none"),
    "engine": ("eager", "compiled"),
    "latent": ("uniform", "normal"),
    "cg_critic": ("concat", "projection"),
    "cg_condition": ("onehot", "embed"),
    "cg_anchor": ("none", "class_mean"),
    "g_mi_output": ("relu", "mean_start"),
    "recon_drop": ("fixed", "random"),
    "lr_schedule": ("constant", "cosine"),
}


@dataclass(frozen=True)
class HexaGANConfig:
    """Hyperparameters of HexaGAN training (Algorithm 1 of the supplement)."""

    # --- schedule ---------------------------------------------------------------------------
    iterations: int = 10000
    """Outer iterations of Algorithm 1 (each: n_critic D_MI steps, E, G_MI, n_CG rounds, C)."""
    batch_size: int = 64
    """Labelled rows per minibatch; unlabelled rows are added in proportion (at most as many)."""
    n_critic: int = 1
    """n_critic: critic updates (D_MI, D_CG) per generator update."""
    n_cg: int = 1
    """n_CG: conditional-generation rounds (D_CG then G_CG) per outer iteration."""
    pretrain_iterations: int = 0
    """Warm-up iterations in which D_MI and D_CG minimise only their penalties (official)."""
    update_order: str = "paper"
    """'paper': D_MI first (Algorithm 1); 'official': G_CG/D_CG, E, G_MI, then D_MI, then C."""

    # --- loss weights ------------------------------------------------------------------------
    alpha1: float = 10.0
    """alpha_1: weight of L_recon in the E and G_MI updates."""
    adversarial_weight: float = 1.0
    """Weight of L_GMI in the E and G_MI updates (1 in the paper; 0 is the "without D_MI's
    adversarial loss" ablation: E and G_MI then learn from L_recon alone)."""
    alpha2: float = 1.0
    """alpha_2: weight of L_GMI on generated rows G_MI(G_CG(z, y)) in the G_CG update."""
    alpha3: float = 3.0
    """alpha_3: weight of C's cross-entropy on generated rows, L_CE(x_c, y_c), for G_CG (paper:
    0.01, with which credit's samples were not recognisable as their class)."""
    classifier_balance: str = "synthetic"
    """How C's batch is balanced: 'synthetic' tops each class up with G_MI(G_CG(z, y)) rows
    (paper); 'none' trains C on the labelled rows alone (the "without G_CG/D_CG" ablation)."""
    alpha4: float = 0.1
    """alpha_4: weight of the label-adversarial loss L_C in the C update."""
    lambda1: float = 10.0
    """lambda_1: weight of D_MI's gradient penalty L_GP^MI."""
    lambda2: float = 10.0
    """lambda_2: weight of D_CG's gradient penalty L_GP^CG."""
    penalty: str = "zero_centred"
    """Critic regulariser: zero-centred penalty (paper), WGAN-GP (one-centred), weight clipping."""
    penalty_projections: int = 0
    """L_GP^MI's per-row input gradients: 0 = exact (per-sample Jacobian, O(B d^3) per D_MI
    update); P > 0 = an unbiased estimate from P random +-1 projections per row (O(P B d^2)),
    for many features. Zero-centred penalty only."""
    cg_penalty: str = "same"
    """D_CG's regulariser when it should differ from D_MI's: 'same' (= penalty) or one of
    penalty's options. D_CG's penalty is cheap (one score of the hidden vector) even where
    D_MI's is not (a 785 x 784 Jacobian per MNIST image)."""
    clip_value: float = 0.01
    """Bound for weight clipping (penalty or cg_penalty 'weight_clip')."""
    cg_penalty_reduction: str = "mean"
    """L_GP^CG over the batch: 'mean' (paper) or 'sum' (official code)."""
    adversarial_loss: str = "hexagan"
    """'hexagan': Wasserstein element-wise loss L_DMI/L_GMI; 'gain': GAIN's cross-entropy loss."""
    label_adversarial: str = "soft"
    """How C(x_u) enters D_MI: 'soft' probabilities (gradient reaches C), 'straight_through'
    (one-hot forward, soft gradient), 'rounded' (one-hot, no gradient: the official code)."""
    recon_drop_rate: float = 0.4
    """Denoising L_recon: fraction of observed entries also hidden from E and reconstructed (0 in
    the paper)."""
    recon_drop: str = "fixed"
    """How that fraction is drawn: 'fixed', recon_drop_rate for every row, or 'random', each
    row's own from U[0, 2 recon_drop_rate), so that E trains on rows as complete and as sparse
    as those it will impute."""
    noise_scale: float = 0.01
    """Missing entries of E's input are filled with z ~ U[0, noise_scale) (official code: 1)."""
    latent: str = "normal"
    """G_CG's noise z: 'uniform' U[0, 1) (official code) or 'normal' N(0, 1). Zero-centred noise
    keeps an optimiser step on G_CG's first layer from shifting every unit's input the same way:
    with thousands of positive inputs, RMSProp's first steps switch most ReLUs off for every z."""
    cg_critic: str = "concat"
    """How D_CG sees the class: 'concat', [h, y] as its input (paper), or 'projection', a
    learnt direction per class in its last features ('mnist' architecture only)."""
    cg_condition: str = "embed"
    """How G_CG sees the class: 'onehot', [z, y] as its input (paper), or 'embed', [z, code(y)]
    with a fixed N(0, 1) code per class as long as z, so that the class weighs as much as the
    noise in G_CG's first layer and its effect is learnt as fast."""
    cg_anchor: str = "none"
    """What G_CG's output is: 'none', G_CG(z, y) itself (paper), or 'class_mean', relu(mean_y +
    G_CG(z, y)), where mean_y is a running mean of E's hidden vectors of the labelled rows of
    class y: G_CG learns only how a sample departs from its class's mean, so G_MI decodes a
    digit of the class from the first iterations ('mnist' architecture only)."""
    mode_seeking: float = 0.0
    """Weight of the mode-seeking term L_MS in the G_CG update (0 in the paper): it rewards a
    class's samples for differing as their noise does ('mnist' architecture only)."""
    mode_seeking_from: int = 0
    """Iterations run without L_MS before it switches on (0: on from the first), so that G_CG
    first learns each class from C's cross-entropy and then spreads its samples."""
    cg_leak: float = 0.0
    """Negative slope of G_CG's hidden activations: 0, ReLUs (paper); > 0, leaky ReLUs, which
    cannot switch off for good ('mnist' architecture only)."""
    noise_dim: int = 0
    """Size of G_CG's noise z; 0: the size of E's hidden vector (official code)."""

    # --- optimisation ------------------------------------------------------------------------
    optimizer: str = "rmsprop"
    """'rmsprop' (preferred by the supplement, section 3.1) or 'adam'."""
    lr: float = 1e-3
    """Learning rate of E, G_MI and D_MI."""
    lr_cg: float = 1e-3
    """Learning rate of G_CG and D_CG."""
    lr_c: float = 1e-3
    """Learning rate of C."""
    lr_decay: float = 1.0
    """Multiplicative learning-rate decay per outer iteration (official: 0.99999)."""
    lr_schedule: str = "constant"
    """'constant': the learning rates stay (times lr_decay's factor); 'cosine': they follow half
    a cosine from their value at iteration 0 down to 5 % of it at the last iteration, lr(t) =
    lr (0.05 + 0.95 (1 + cos(pi t / iterations)) / 2), times lr_decay's factor. The 5 % floor
    keeps the last iterations learning: at 0 the critics would stop following the generators."""
    ema_decay: float = 0.0
    """Weight averaging: 0, off; > 0, E, G_MI, G_CG and C are also kept as an exponential
    moving average of their weights over the iterations (decay per iteration, bias-corrected:
    no weight on the initial networks), and the averages are what is evaluated, selected and
    saved while the trained weights go on learning. 0.999 averages about the last 1000
    iterations."""
    c_weight_decay: float = 0.0
    """L2 weight decay on C (official: 1e-3)."""

    # --- networks ----------------------------------------------------------------------------
    architecture: str = "paper"
    """'paper': FC layers of d, d/2, d; 'official': one hidden layer of d/2; 'mnist': convnets."""
    g_mi_output: str = "relu"
    """How G_MI's image ends ('mnist' architecture only): 'relu', its last deconvolution
    through a ReLU into FC(784), Xavier-initialised (supplement); 'mean_start', that
    deconvolution linear and FC(784) starting as the identity with each pixel's bias at the
    logit of its mean in the training data. G_MI then starts at the mean digit: with 'relu' it
    starts at grey (0.5), the first steps darken everything through E, whose hidden units go
    quiet, and G_MI writes the mean digit for every input for 100-300 iterations."""
    min_width: int = 128
    """Fewest units of the wider hidden layers of the tabular E, G_MI, G_CG, D_CG and C, and of
    E's hidden vector: max(d, min_width), the narrower layer half of it (8: the paper's d and
    d/2, on all but tiny tables). D_MI keeps the paper's widths: its element-wise penalty costs
    grow with its width. 128 imputed 3-13 % better than 8 on validation (README, "Why this
    default")."""
    engine: str = "eager"
    """'compiled': the critics' and G_CG's updates run as kernels made by torch.compile (MLP
    networks with RMSProp; a C++ compiler on a CPU, Triton on CUDA): the same computation up to
    float rounding, iterations about twice as fast on narrow data after a one-off compilation
    of about a minute (less with torch's on-disk cache). Pays off for long runs; 'eager' starts
    at once. At d = 500 compiling gained nothing measurable on the CPU: there, from about 128
    features, D_MI's exact penalty runs row by row, eagerly in both engines. On a GPU it is
    always the batched Jacobian, K x batch x d x d values (a warning says when that may not fit
    the GPU's memory)."""

    # --- multiple imputation -----------------------------------------------------------------
    n_imputations: int = 1
    """Models trained together, each from its own seed (the first from `seed`), that impute and
    classify as one: the imputation is their mean, each cell's spread their standard deviation,
    C's probabilities their mean (multiple imputation; 1: a single model). Training costs grow
    with the count, less than in proportion (the models run as one stacked program), which the
    'mnist' convnets cannot be: 1 there."""

    # --- bookkeeping -------------------------------------------------------------------------
    eval_every: int = 50
    """Iterations between validation evaluations (and callback calls)."""
    seed: int = 0
    """Seed of every random draw of training (torch and numpy). It reproduces a run on the same
    device type; a GPU draws from another generator, so it gives other numbers than the CPU."""

    def validate(self) -> HexaGANConfig:
        """Check every field; raise ValueError naming the parameter, the rule and the bad value."""
        check_params(self, {**NUMERIC_CONSTRAINTS, **CHOICES})
        if self.penalty_projections and self.penalty != "zero_centred":
            raise ValueError(
                "penalty_projections estimates the zero-centred penalty only (the one-centred "
                f"one is not linear in the squared norms). Got penalty={self.penalty!r}."
            )
        compilable = self.architecture != "mnist" and self.optimizer == "rmsprop"
        if self.engine == "compiled" and not compilable:
            raise ValueError(
                "engine='compiled' needs MLP networks trained with RMSProp (the compiled steps "
                "are the hand-written MLP updates). Got architecture="
                f"{self.architecture!r}, optimizer={self.optimizer!r}; use engine='eager'."
            )
        mnist_only = (
            self.cg_critic != "concat" or self.cg_leak or self.mode_seeking
            or self.cg_anchor != "none" or self.g_mi_output != "relu"
        )  # fmt: skip
        if self.architecture != "mnist" and mnist_only:
            raise ValueError(
                "cg_critic='projection', cg_leak > 0, mode_seeking > 0, cg_anchor="
                "'class_mean' and g_mi_output='mean_start' are built for the 'mnist' networks "
                f"only. Got architecture={self.architecture!r} with cg_critic="
                f"{self.cg_critic!r}, cg_leak={self.cg_leak!r}, mode_seeking="
                f"{self.mode_seeking!r}, cg_anchor={self.cg_anchor!r}, g_mi_output="
                f"{self.g_mi_output!r}."
            )
        if self.recon_drop == "random" and not 0 < self.recon_drop_rate <= 0.5:
            raise ValueError(
                "recon_drop='random' draws each row's rate from U[0, 2 recon_drop_rate), so it "
                f"needs 0 < recon_drop_rate <= 0.5; got recon_drop_rate={self.recon_drop_rate!r}."
            )
        if self.n_imputations > 1 and self.architecture == "mnist":
            raise ValueError(
                "n_imputations > 1 trains its models as one stacked program, which the 'mnist' "
                f"convnets cannot be. Got architecture={self.architecture!r} with "
                f"n_imputations={self.n_imputations!r}; use n_imputations=1."
            )
        if self.penalty_projections and self.architecture == "mnist":
            raise ValueError(
                "penalty_projections needs an MLP critic; the 'mnist' D_MI is a convnet."
            )
        return self

    def replace(self, **changes: Any) -> HexaGANConfig:
        """A copy with `changes` applied; unknown names raise ValueError."""
        unknown = sorted(set(changes) - set(field_names()))
        if unknown:
            raise ValueError(f"Unknown HexaGANConfig parameter(s): {', '.join(unknown)}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in field_names()}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HexaGANConfig:
        if not isinstance(values, dict):
            raise ValueError(f"A HexaGANConfig must be a JSON object. Got {type(values).__name__}.")
        return cls().replace(**values).validate()

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> HexaGANConfig:
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))


# Closed ranges: "int" values must be ints, "float" ones may be ints or floats (finite).
NUMERIC_CONSTRAINTS: dict[str, Interval] = {
    "iterations": Interval("int", 1, 10_000_000),
    "batch_size": Interval("int", 2, 1_000_000),
    "n_critic": Interval("int", 1, 100),
    "n_cg": Interval("int", 0, 100),
    "pretrain_iterations": Interval("int", 0, 10_000_000),
    "alpha1": Interval("float", 0.0, 1e6),
    "adversarial_weight": Interval("float", 0.0, 1e6),
    "alpha2": Interval("float", 0.0, 1e6),
    "alpha3": Interval("float", 0.0, 1e6),
    "alpha4": Interval("float", 0.0, 1e6),
    "lambda1": Interval("float", 0.0, 1e6),
    "lambda2": Interval("float", 0.0, 1e6),
    "penalty_projections": Interval("int", 0, 1000),
    "clip_value": Interval("float", 1e-8, 1e3),
    "recon_drop_rate": Interval("float", 0.0, 0.9),
    "noise_scale": Interval("float", 0.0, 10.0),
    "noise_dim": Interval("int", 0, 100_000),
    "min_width": Interval("int", 8, 4096),
    "cg_leak": Interval("float", 0.0, 1.0),
    "mode_seeking": Interval("float", 0.0, 1e6),
    "mode_seeking_from": Interval("int", 0, 10_000_000),
    "lr": Interval("float", 1e-8, 1.0),
    "lr_cg": Interval("float", 1e-8, 1.0),
    "lr_c": Interval("float", 1e-8, 1.0),
    "lr_decay": Interval("float", 0.5, 1.0),
    "ema_decay": Interval("float", 0.0, 0.9999),
    "c_weight_decay": Interval("float", 0.0, 1.0),
    "n_imputations": Interval("int", 1, 32),
    "eval_every": Interval("int", 1, 10_000_000),
    "seed": Interval("int", 0, 2**32 - 1),
}


@functools.cache
def field_help() -> dict[str, str]:
    """{field: its docstring} read from HexaGANConfig's source, for help texts in the dashboard."""
    body = ast.parse(textwrap.dedent(inspect.getsource(HexaGANConfig))).body[0].body
    docs: dict[str, str] = {}
    for node, following in zip(body, body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def field_names() -> list[str]:
    return [f.name for f in dataclasses.fields(HexaGANConfig) if f.init]


# 28x28 images: the convolutional networks of the supplement's Table 2 with weight clipping
# for D_MI instead of its penalty (its exact Jacobian would be 785 x 784 per image), as the
# authors did for MNIST, and four measured fixes of the conditional generator, which
# otherwise collapses to one image (BENCHMARKS.md, Table 6): zero-centred noise of 128
# values, a projection D_CG with the cheap zero-centred penalty, and C's cross-entropy on
# the samples weighted 1 instead of 0.01. G_CG sees the class one-hot, as the shipped model
# (hexagan_core/pretrained/mnist) was trained.
_MNIST: dict[str, Any] = {
    "architecture": "mnist",
    "penalty": "weight_clip",
    "clip_value": 0.01,
    "cg_penalty": "zero_centred",
    "latent": "normal",
    "noise_dim": 128,
    "cg_critic": "projection",
    "cg_condition": "onehot",
    "alpha3": 1.0,
    "iterations": 2500,
    "eval_every": 250,
}

SAVED_BEFORE_THE_FIELD: dict[str, Any] = {
    "latent": "uniform",
    "cg_condition": "onehot",
    "min_width": 8,
}
"""How a model saved before these fields existed was trained (their defaults differ since)."""

# The paper's conditional generation: G_CG's noise U[0, 1) beside a one-hot class, and C's
# cross-entropy on its samples weighted 0.01 (the defaults' changes: README, "Why this default").
_PAPER_CONDITIONING: dict[str, Any] = {
    "alpha3": 0.01,
    "latent": "uniform",
    "cg_condition": "onehot",
}

# Presets are deltas from the defaults, each with its reason.
PRESETS: dict[str, dict[str, Any]] = {
    # The measured-best settings for tabular data on a CPU budget (see README, "Presets").
    "default": {},
    # The supplement's values: n_critic 5, n_CG 10, RMSProp, zero-centred penalty, alpha/lambda
    # as in Table 3 and section 2.2. Learning rates and the fill noise are not given there: we
    # use the official code's.
    "paper": {
        **_PAPER_CONDITIONING,
        "iterations": 3000,
        "n_critic": 5,
        "n_cg": 10,
        "lr": 2e-4,
        "lr_cg": 2e-5,
        "lr_c": 2e-3,
        "recon_drop_rate": 0.0,
        "label_adversarial": "soft",
        "architecture": "paper",
        "min_width": 8,
        "noise_scale": 1.0,
    },
    # The official TF code's deviations (docs/hexagan.md section 7): one critic step after the
    # generators, two-layer d/2 networks, decayed learning rates, GP-only warm-up, rounded labels.
    "official": {
        **_PAPER_CONDITIONING,
        "iterations": 3000,
        "n_critic": 1,
        "n_cg": 10,
        "update_order": "official",
        "architecture": "official",
        "min_width": 8,
        "lr": 2e-4,
        "lr_cg": 2e-5,
        "lr_c": 2e-3,
        "lr_decay": 0.99999,
        "c_weight_decay": 1e-3,
        "pretrain_iterations": 300,
        "label_adversarial": "rounded",
        "cg_penalty_reduction": "sum",
        "noise_scale": 1.0,
        "recon_drop_rate": 0.0,
    },
    "mnist": _MNIST,
    # The same, short enough for a CPU: about 5 minutes on two cores (BENCHMARKS.md, Table 6).
    # In 450 steps G_CG learns neither the class from a one-hot input nor, unaided, a class's
    # variety: the class as a code, samples around the class's mean hidden vector, a little
    # mode seeking, and weight averaging against the samples' swings between checks. G_MI
    # starts at the mean digit (else the first 100-300 steps teach nothing), and G_CG is not
    # scored by D_MI (alpha2 = 0), which with that start drags samples into other digits.
    "mnist_quick": {
        **_MNIST,
        "g_mi_output": "mean_start",
        "cg_condition": "embed",
        "cg_anchor": "class_mean",
        "alpha2": 0.0,
        "mode_seeking": 0.01,
        "ema_decay": 0.98,
        "iterations": 450,
        "eval_every": 50,
    },
    # The supplement's settings as they are (the conditional generator collapses).
    "mnist_paper": {
        **_PAPER_CONDITIONING,
        "architecture": "mnist",
        "penalty": "weight_clip",
        "clip_value": 0.01,
        "iterations": 1000,
        "eval_every": 100,
    },
}


def preset(name: str, **overrides: Any) -> HexaGANConfig:
    """The named preset with `overrides` applied, validated."""
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset {name!r}; choose one of {', '.join(repr(p) for p in PRESETS)}."
        )
    return HexaGANConfig().replace(**{**PRESETS[name], **overrides}).validate()


WIDE_FEATURES = 200
"""From this many (encoded) features on, D_MI's exact penalty takes most of an iteration: 17 % of
a 'paper' iteration on breast (d = 30), 56 % at d = 500 (BENCHMARKS.md, Speed)."""


def penalty_cost_note(config: HexaGANConfig, n_features: int) -> str | None:
    """A note for wide data trained with D_MI's exact gradient penalty, pointing to the unbiased
    projected estimate; None where the penalty is cheap, estimated already, or not a Jacobian's."""
    exact = config.penalty in ("zero_centred", "wgan_gp") and not config.penalty_projections
    if not exact or config.architecture == "mnist" or n_features < WIDE_FEATURES:
        return None
    requires = " with penalty = 'zero_centred'" if config.penalty != "zero_centred" else ""
    return (
        f"{n_features} features: D_MI's exact gradient penalty differentiates each of its "
        f"outputs with respect to each input (O(d^3) arithmetic per row and D_MI update) and is "
        f"likely to take most of the training time. penalty_projections = 4{requires} replaces "
        f"it by an unbiased estimate (the same value and gradient in expectation) at O(P d^2) "
        f"per row."
    )
