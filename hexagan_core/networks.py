"""The six networks of HexaGAN: E, G_MI, D_MI, G_CG, D_CG and C.

Tabular data use multilayer perceptrons (supplement section 2.3: three fully-connected layers of
d, d/2 and d units, ReLU hidden layers; or the official code's single hidden layer of d/2).
MNIST uses the convolutional set of the supplement's Table 2. Every network takes and returns
flat tensors, so the trainer never needs to know which set it drives.

Output activations follow the supplement except for the critics: D_MI and D_CG return raw scores
because their losses are Wasserstein losses (the official code also feeds them logits).
"""

from __future__ import annotations

import torch
from torch import nn

from hexagan_core.config import HexaGANConfig

__all__ = [
    "HexaGANNetworks", "build_networks", "state_shapes", "MLP", "NETWORK_NAMES", "anchor",
]  # fmt: skip

NETWORK_NAMES = ("encoder", "g_mi", "d_mi", "g_cg", "d_cg", "classifier")


class MLP(nn.Module):
    """Fully-connected ReLU network: in -> hidden... -> out, with an optional output activation
    (hidden layers: leaky ReLUs with `negative_slope` > 0)."""

    def __init__(self, n_in: int, hidden: list[int], n_out: int, output: nn.Module | None = None,
                 negative_slope: float = 0.0):  # fmt: skip
        super().__init__()
        widths = [n_in, *hidden, n_out]
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(nn.LeakyReLU(negative_slope) if negative_slope else nn.ReLU())
        if output is not None:
            layers.append(output)
        self.net = nn.Sequential(*layers)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat(inputs, dim=1) if len(inputs) > 1 else inputs[0])


# --- MNIST (supplement Table 2) ---------------------------------------------------------------


def _conv_stack(in_channels: int) -> nn.Sequential:
    """Conv(32, 5x5, 2) -> Conv(64, 5x5, 2) -> Conv(128, 5x5, 2), ReLU: 28x28 -> 128 x 4 x 4."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv2d(32, 64, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv2d(64, 128, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Flatten(),
    )


_MNIST_HIDDEN = 128 * 4 * 4  # E's output; G_CG's last layer, FC(2048), has the same width


class _ImageEncoder(nn.Module):
    """E for MNIST: [x_tilde, m] as two 28x28 channels -> h (2048)."""

    def __init__(self):
        super().__init__()
        self.convs = _conv_stack(2)

    def forward(self, x_tilde: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        image = torch.stack([x_tilde, mask], dim=1).view(-1, 2, 28, 28)
        return self.convs(image)


class _ImageDecoder(nn.Module):
    """G_MI for MNIST: h -> Deconv(64) -> Deconv(32) -> Deconv(1) -> FC(784), sigmoid; the last
    deconvolution through a ReLU (supplement) or linear (`linear_output`, g_mi_output=
    'mean_start', whose start `start_at_mean` sets)."""

    def __init__(self, linear_output: bool = False):
        super().__init__()
        self.deconvs = nn.Sequential(
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=0),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 5, stride=2, padding=2, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 5, stride=2, padding=2, output_padding=1),
            nn.Identity() if linear_output else nn.ReLU(),
            nn.Flatten(),
            nn.Linear(784, 784),
            nn.Sigmoid(),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.deconvs(h.view(-1, 128, 4, 4))  # 4 -> 7 -> 14 -> 28

    @torch.no_grad()
    def start_at_mean(self, pixel_means: torch.Tensor) -> None:
        """FC(784) as the identity, each pixel's bias the logit of its mean (clipped to
        [0.01, 0.99]): G_MI starts at the mean image plus the deconvolutions' own image, so its
        first gradients shape that image instead of darkening a grey one everywhere."""
        output = self.deconvs[-2]
        output.weight.copy_(torch.eye(784))
        output.bias.copy_(torch.logit(pixel_means.clamp(0.01, 0.99)))


class _ImageCritic(nn.Module):
    """D_MI or C for MNIST: three convolutions, then FC over [features, extra inputs]."""

    def __init__(self, n_extra: int, n_out: int):
        super().__init__()
        self.convs = _conv_stack(1)
        self.head = nn.Linear(_MNIST_HIDDEN + n_extra, n_out)

    def forward(self, x: torch.Tensor, *extra: torch.Tensor) -> torch.Tensor:
        features = self.convs(x.view(-1, 1, 28, 28))
        return self.head(torch.cat([features, *extra], dim=1))


class ProjectionCritic(nn.Module):
    """D_CG with the class entering by projection (Miyato & Koyama, 2018): features f(h) from
    the same fully-connected layers, score = w.f(h) + <embed(y), f(h)>. A critic that sees y
    only as a few more inputs beside thousands of hidden units can ignore it; here every class
    has its own direction in feature space."""

    def __init__(self, n_in: int, hidden: list[int], n_classes: int):
        super().__init__()
        self.features = MLP(n_in, hidden[:-1], hidden[-1], nn.ReLU())
        self.score = nn.Linear(hidden[-1], 1)
        self.embed = nn.Linear(n_classes, hidden[-1], bias=False)

    def forward(self, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        features = self.features(h)
        return self.score(features) + (self.embed(y) * features).sum(dim=1, keepdim=True)


CLASS_CODE_SEED = 0


def class_codes(n_classes: int, noise_dim: int) -> torch.Tensor:
    """G_CG's class input with `cg_condition='embed'`: one N(0, 1) code per class, as long as the
    noise z, fixed (drawn from CLASS_CODE_SEED: the same for every model, so nothing to save);
    the first layer's weights on it are what is learnt. A one-hot y beside hundreds of noise
    values is drowned: an RMSProp step (about lr per weight) moves a first-layer unit by about
    lr x sum|z| through the noise but only lr through the class, so the class's effect is
    learnt a hundred times more slowly, and can be lost (BENCHMARKS.md, Table 6)."""
    generator = torch.Generator("cpu").manual_seed(CLASS_CODE_SEED)
    return torch.randn((n_classes, noise_dim), generator=generator)


def class_input_width(config: HexaGANConfig, n_classes: int, noise_dim: int) -> int:
    """Width of G_CG's class input: K one-hot values, or a code as long as z."""
    return noise_dim if config.cg_condition == "embed" else n_classes


# --- the six networks ---------------------------------------------------------------------------


class HexaGANNetworks(nn.Module):
    """Container of the six networks, so one state_dict saves them all.

    Call signatures (flat tensors, batch first):
      encoder(x_tilde, m) -> h;  g_mi(h) -> x_bar in [0, 1];  d_mi(x_hat, y) -> scores (d [+1]);
      g_cg(z, class_input(y)) -> h;  d_cg(h, y) -> score (B, 1);  classifier(x_hat) -> logits (K).
    The conditional networks (g_cg, d_cg, classifier) are None when there are no labels.
    """

    def __init__(
        self,
        encoder: nn.Module,
        g_mi: nn.Module,
        d_mi: nn.Module,
        g_cg: nn.Module | None,
        d_cg: nn.Module | None,
        classifier: nn.Module | None,
        *,
        n_features: int,
        n_classes: int,
        hidden_dim: int,
        noise_dim: int,
        embed_classes: bool = False,
    ):
        super().__init__()
        self.encoder, self.g_mi, self.d_mi = encoder, g_mi, d_mi
        self.g_cg, self.d_cg, self.classifier = g_cg, d_cg, classifier
        self.n_features, self.n_classes = n_features, n_classes
        self.hidden_dim, self.noise_dim = hidden_dim, noise_dim
        self.class_codes: torch.Tensor | None
        codes = class_codes(n_classes, noise_dim) if n_classes and embed_classes else None
        self.register_buffer("class_codes", codes, persistent=False)  # moves with .to(device)

    def class_input(self, y: torch.Tensor) -> torch.Tensor:
        """G_CG's class input for one-hot (or soft) labels y: y, or their codes."""
        return y if self.class_codes is None else y @ self.class_codes

    def generate_hidden(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """h = G_CG(z, y) for one-hot labels y, whatever G_CG's class input and output."""
        h = self.g_cg(z, self.class_input(y))
        means = getattr(self.g_cg, "class_means", None)
        return h if means is None else anchor(h, y, means)


def anchor(h: torch.Tensor, y: torch.Tensor, class_means: torch.Tensor) -> torch.Tensor:
    """G_CG's output with `cg_anchor='class_mean'`: relu(mean_y + G_CG(z, y)), for one-hot (or
    soft) labels y and the classes' mean hidden vectors (k, h) (batched: (K, k, h))."""
    return torch.relu(h + y @ class_means)


MIN_WIDTH = 8
"""Fewest units of a hidden layer: with a handful of features, a d/2 = 3-unit ReLU bottleneck can
start dead (every unit inactive for every row), and then E and G_MI never get a gradient."""


def _tabular_widths(architecture: str, d: int, min_width: int = MIN_WIDTH) -> tuple[list[int], int]:
    """Hidden widths and hidden-vector size for d features: max(d, min_width) units in the
    wider layers and the hidden vector, half of that (never below MIN_WIDTH) in the narrower."""
    full = max(d, min_width)
    half = max(full // 2, MIN_WIDTH)
    if architecture == "official":
        return [half], half
    return [full, half], full


def build_networks(
    config: HexaGANConfig, n_features: int, n_classes: int, generator: torch.Generator | None = None
) -> HexaGANNetworks:
    """The six networks for `n_features` inputs and `n_classes` classes (0: imputation only).

    Dense and convolution weights get Xavier-uniform initialisation and zero biases (as the
    official code), drawn from `generator` so that training is reproducible without touching
    torch's global random state. They are made on the CPU whatever torch's default device (a
    CPU `generator`: one seed, the same initial weights on every device); the caller moves them.
    """
    with torch.device("cpu"):
        networks = _make_networks(config, n_features, n_classes)
        for module in networks.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight, generator=generator)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return networks


def _make_networks(config: HexaGANConfig, n_features: int, n_classes: int) -> HexaGANNetworks:
    d, k = n_features, n_classes
    label_slots = 1 if k > 0 else 0  # D_MI's (d+1)-th output judges the label
    if config.architecture == "mnist":
        if d != 784:
            raise ValueError(f"The 'mnist' architecture needs 784 features (28x28). Got {d}.")
        hidden_dim = _MNIST_HIDDEN
        noise_dim = config.noise_dim or hidden_dim
        encoder, g_mi = _ImageEncoder(), _ImageDecoder(config.g_mi_output == "mean_start")
        d_mi = _ImageCritic(k, d + label_slots)
        g_cg = None
        if k:
            anchored = config.cg_anchor == "class_mean"
            g_cg = MLP(noise_dim + class_input_width(config, k, noise_dim), [512, 1024],
                       hidden_dim, None if anchored else nn.ReLU(), config.cg_leak)  # fmt: skip
            if anchored:  # the classes' mean hidden vectors, saved with G_CG (`anchor`)
                g_cg.register_buffer("class_means", torch.zeros(k, hidden_dim))
        if not k:
            d_cg = None
        elif config.cg_critic == "projection":
            d_cg = ProjectionCritic(hidden_dim, [1024, 512], k)
        else:
            d_cg = MLP(hidden_dim + k, [1024, 512], 1)
        classifier = _ImageCritic(0, k) if k else None
    else:
        widths, hidden_dim = _tabular_widths(config.architecture, d, config.min_width)
        critic_widths, _ = _tabular_widths(config.architecture, d)  # see config.min_width
        noise_dim = config.noise_dim or hidden_dim
        encoder = MLP(2 * d, widths, hidden_dim, nn.ReLU())
        g_mi = MLP(hidden_dim, widths, d, nn.Sigmoid())
        d_mi = MLP(d + k, critic_widths, d + label_slots)
        g_cg = MLP(noise_dim + class_input_width(config, k, noise_dim), widths, hidden_dim,
                   nn.ReLU()) if k else None  # fmt: skip
        d_cg = MLP(hidden_dim + k, widths, 1) if k else None
        classifier = MLP(d, widths, k) if k else None
    return HexaGANNetworks(
        encoder,
        g_mi,
        d_mi,
        g_cg,
        d_cg,
        classifier,
        n_features=d,
        n_classes=k,
        hidden_dim=hidden_dim,
        noise_dim=noise_dim,
        embed_classes=config.cg_condition == "embed",
    )


def state_shapes(config: HexaGANConfig, n_features: int, n_classes: int) -> dict[str, tuple]:
    """{name: shape} of the state dict `build_networks(config, n_features, n_classes)` has,
    found without allocating a weight (the networks made on the meta device): a saved model's
    tensors are checked against it before its networks are built."""
    with torch.device("meta"):
        networks = _make_networks(config, n_features, n_classes)
    return {name: tuple(tensor.shape) for name, tensor in networks.state_dict().items()}
