"""The random numbers of one iteration of Algorithm 1, for K models, drawn in one go.

Each iteration draws, per model and from that model's own seeded generator: the rows of every
minibatch (with replacement, labelled rows and unlabelled ones from their own pools), the noise z
that fills E's input where an entry is missing, the denoising draws of the E/G_MI batch, and
G_CG's latent noise. Drawing everything first (a few calls per model, one row gather from one
table of all models' data) keeps an iteration's steps free of sampling calls; the steps read
their share by name (`Draws.of("d_mi")`). A run on the CPU is reproducible from its seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hexagan_core.config import HexaGANConfig

__all__ = ["Rows", "Layout", "Draws", "Sampler", "latent_noise"]


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
        # Bookkeeping made on the CPU (explicitly: torch's default device may be another); the
        # sampler moves what it needs.
        self.labelled = torch.tensor(labelled_flags, device="cpu")
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


def latent_noise(config: HexaGANConfig, n: int, noise_dim: int,
                 generator: torch.Generator, device: torch.device | str) -> torch.Tensor:
    """n draws of G_CG's noise z, of the kind `config.latent` names (for sampling a trained
    model; training draws its noise with the rest of an iteration's draws)."""
    draw = torch.randn if config.latent == "normal" else torch.rand
    return draw((n, noise_dim), generator=generator, device=device)


class Sampler:
    """The training data of K models on the device, and `draw()`, one iteration's draws.

    `xs[k]` is model k's scaled matrix (NaN = missing), `ys[k]` its labels (-1 = unlabelled) or
    None; the models must have the same numbers of labelled and unlabelled rows.
    """

    def __init__(self, configs: list[HexaGANConfig], xs: list[np.ndarray],
                 ys: list[np.ndarray | None], device: torch.device, noise_dim: int):  # fmt: skip
        self.config = config = configs[0]
        self.device, self.n_models, self.noise_dim = device, len(configs), noise_dim
        self.dtype = torch.get_default_dtype()
        self.generators = [torch.Generator(device=device).manual_seed(c.seed) for c in configs]
        self.d = xs[0].shape[1]
        self.k = 0 if ys[0] is None else int(max(y.max() for y in ys)) + 1

        # Data resident on the device for the whole run: each model's rows [x, m, one-hot y]
        # (x 0 where missing, m 1 where observed), one table, so that a minibatch of all K
        # models is one row gather (index_select: several times faster than fancy indexing).
        values = torch.from_numpy(np.stack([np.asarray(x, dtype=np.float32) for x in xs]))
        labels = torch.from_numpy(
            np.stack([np.full(len(xs[0]), -1) if y is None else np.asarray(y) for y in ys])
        ).long()
        one_hot = torch.zeros((*labels.shape, self.k), device=labels.device)
        if self.k:
            known = labels >= 0
            one_hot[known] = torch.eye(self.k, device=labels.device)[labels[known]]
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
        # Fixed classes of the synthetic rows that balance C's batch (round robin over classes).
        self.balance_y = torch.zeros((0, self.k), device=device)
        if self.k:
            classes = torch.arange(max(n_batch_labelled, self.k), device=device) % self.k
            self.balance_y = torch.eye(self.k, device=device)[classes]
        self.layout = Layout(config, n_batch_labelled, n_batch_unlabelled, len(self.balance_y))
        self.row_order = self.layout.order.to(device)
        self.row_labelled = self.layout.labelled.to(device=device, dtype=self.dtype)

    def _pools(self, rows: torch.Tensor, what: str) -> torch.Tensor:
        """(K, n) indices of each model's labelled (or unlabelled) rows; n must agree."""
        counts = rows.sum(dim=1).tolist()
        if len(set(counts)) > 1:
            raise ValueError(
                f"Models trained together need the same number of {what} rows; got {counts}."
            )
        return torch.stack([torch.nonzero(r).flatten() for r in rows]).to(self.device)

    def draw(self) -> Draws:
        """Every random draw of one iteration; model k's come from its own generator."""
        c, layout, d = self.config, self.layout, self.d
        n_labelled = layout.n_labelled_rows
        picks, directions = [], []
        n_projections, n_critic_rows = c.penalty_projections, layout.rows["d_mi"][1]
        # E's fill noise, the denoising draws and G_CG's latent noise, in one call per model
        n_fill, n_keep, n_latent, n_rates = self._uniform_sizes()
        uniform = torch.empty((self.n_models, n_fill + n_keep + n_latent + n_rates),
                              device=self.device, dtype=self.dtype)  # fmt: skip
        normal_latent: list[torch.Tensor] = []
        for k, generator in enumerate(self.generators):
            picks.append(torch.cat([
                self._pick(self.labelled_pool[k], n_labelled, generator),
                self._pick(self.unlabelled_pool[k], layout.n_rows - n_labelled, generator),
            ]))  # fmt: skip
            uniform[k].uniform_(generator=generator)
            if c.latent == "normal":  # drawn apart, so that the uniform draws stay as they were
                normal_latent.append(torch.randn((layout.n_latent * self.noise_dim,),
                                                 generator=generator, device=self.device,
                                                 dtype=self.dtype))  # fmt: skip
            if n_projections:
                signs = torch.randint(0, 2, (n_critic_rows, n_projections, d), generator=generator,
                                      device=self.device)  # fmt: skip
                directions.append(2.0 * signs.to(self.dtype) - 1.0)
        rows = torch.stack(picks)[:, self.row_order] + self.table_offsets
        table = self.row_table.index_select(0, rows.flatten()).view(*rows.shape, -1)
        # contiguous copies: element-wise steps on strided views are slower than the copies
        x, m, y = (part.contiguous() for part in table.split([d, d, self.k], dim=-1))
        fill, keep, latent, rates = uniform.split([n_fill, n_keep, n_latent, n_rates], dim=1)
        fill = fill.view(self.n_models, layout.n_rows, d)
        drawn = Rows(
            x, m, y,
            self.row_labelled.expand(self.n_models, -1),
            fill if c.noise_scale == 1.0 else c.noise_scale * fill,
        )  # fmt: skip
        keep_mask = None
        if n_keep:
            drop_rate = c.recon_drop_rate
            if n_rates:  # each row its own rate, U[0, 2 recon_drop_rate)
                drop_rate = 2 * c.recon_drop_rate * rates.view(self.n_models, -1, 1)
            keep_mask = (keep.view(self.n_models, -1, d) >= drop_rate).to(drawn.m.dtype)
        if normal_latent:
            latent = torch.stack(normal_latent)
        latent = latent.view(self.n_models, layout.n_latent, self.noise_dim)
        return Draws(drawn, keep_mask, latent, layout,
                     torch.stack(directions) if directions else None)  # fmt: skip

    def _uniform_sizes(self) -> tuple[int, int, int, int]:
        """Uniform values per model and iteration: E's fill noise, the denoising draws (0
        without denoising), G_CG's latent noise (0 where it is normal) and the rows' own
        denoising rates (0 unless recon_drop='random'); the last drawn last, so that the
        others are the same draws with or without them."""
        layout, d, c = self.layout, self.d, self.config
        n_keep = layout.batch_rows * d if c.recon_drop_rate > 0 else 0
        n_latent = layout.n_latent * self.noise_dim if c.latent == "uniform" else 0
        n_rates = layout.batch_rows if n_keep and c.recon_drop == "random" else 0
        return layout.n_rows * d, n_keep, n_latent, n_rates

    def _pick(self, pool: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
        """n rows of `pool`, drawn with replacement."""
        if n == 0:
            return pool[:0]
        return pool[torch.randint(len(pool), (n,), generator=generator, device=self.device)]
