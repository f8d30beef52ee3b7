"""Networks and optimisers of the training engine: K models of one shape as one program.

The engine trains K independent HexaGANs at once (K = 1 for a plain fit; K > 1 for seed sweeps
and the missing-rate study). Each network is held in one of two forms:

- `StackedMLP`: the K models' copies of one MLP, each weight stacked into a (K, out, in)
  tensor; every layer is one batched matrix product, so K models cost about the calls of one.
- `SingleNetwork`: one `nn.Module` (the MNIST convnets, K = 1), called on (1, B, n) tensors.

Both keep their parameters as views of one flat buffer, so that the optimiser (`FlatOptimizer`,
RMSProp or Adam with torch's exact update rules) updates a whole network in a handful of tensor
operations instead of a loop over its small layers. Gradients are taken with
`torch.autograd.grad` with respect to `params` and flattened into that layout.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from hexagan_core import losses
from hexagan_core.networks import MLP

__all__ = ["StackedMLP", "SingleNetwork", "FlatOptimizer", "stack_network"]

_ACTIVATIONS = {nn.ReLU: torch.relu, nn.Sigmoid: torch.sigmoid}
ROW_BY_ROW_MIN_WIDTH = 64
"""From this narrowest hidden width on, D_MI's exact penalty gradient is taken row by row
(`StackedMLP.jacobian_penalty_gradient_by_row`). Per update, batch 64, one CPU core, hidden
widths d and d/2, batched vs row by row: d = 96 6.2 vs 10.7 ms, d = 128 14.9 vs 12.1, d = 200
54 vs 21, d = 500 696 vs 117 (measured)."""


def relu_gate(values: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    """`values` where the ReLU output `activation` is positive, else 0 (broadcasting): a product
    with the ReLU's derivative in one call (`h > 0` and a product with it take two, each
    slower on a bool tensor), differentiable in `values`."""
    return torch.ops.aten.threshold_backward(values, activation, 0)


def _add_to_block(target: torch.Tensor, rows: torch.Tensor, columns: torch.Tensor,
                  update: torch.Tensor) -> None:  # fmt: skip
    """target[rows][:, columns] += update (indices unique), as two index_add_ calls: 3.6x faster
    than index_put_ with accumulate on a 250 x 250 block of a 500 x 500 matrix (measured)."""
    spread = update.new_zeros(len(rows), target.shape[1])
    spread.index_add_(1, columns, update)
    target.index_add_(0, rows, spread)


@dataclass
class Tape:
    """What a forward pass of a `StackedMLP` keeps for its closed-form backward pass."""

    layer_inputs: list[torch.Tensor]  # the input of each linear layer: x, then hidden ReLUs
    output: torch.Tensor

    @property
    def hidden(self) -> list[torch.Tensor]:
        """Each hidden layer's ReLU output (its positive entries are where it passes gradient)."""
        return self.layer_inputs[1:]


class _FlatNetwork:
    """Parameters that are views of one flat buffer (`flat`); `params` are autograd leaves."""

    flat: torch.Tensor
    params: list[torch.Tensor]

    def flat_gradient(self, loss: torch.Tensor) -> torch.Tensor:
        """d loss / d params, in the flat buffer's layout (zeros where the loss does not reach)."""
        grads = torch.autograd.grad(loss, self.params, allow_unused=True, materialize_grads=True)
        return torch.cat([g.reshape(-1) for g in grads])


class StackedMLP(_FlatNetwork):
    """K copies of one ReLU MLP (`networks.MLP`), evaluated as one batched program.

    Inputs and outputs are (K, B, n): model k sees only its own rows. Weight i is (K, out, in),
    bias i is (K, 1, out); all are views of `flat`.
    """

    def __init__(self, members: list[MLP]):
        linears = [[m for m in mlp.net if isinstance(m, nn.Linear)] for mlp in members]
        self.n_models = len(members)
        self.activation = None
        last = members[0].net[-1]
        if not isinstance(last, nn.Linear):
            if type(last) not in _ACTIVATIONS:
                raise TypeError(f"No stacked form for output layer {type(last).__name__}.")
            self.activation = _ACTIVATIONS[type(last)]
        shapes = [(lin.out_features, lin.in_features) for lin in linears[0]]
        sizes = [self.n_models * (o * i + o) for o, i in shapes]
        reference = linears[0][0].weight
        self.flat = torch.zeros(sum(sizes), dtype=reference.dtype, device=reference.device)
        self._weights: list[torch.Tensor] = []
        self._biases: list[torch.Tensor] = []
        offset = 0
        for layer, (n_out, n_in) in enumerate(shapes):
            k = self.n_models
            weight = self.flat[offset : offset + k * n_out * n_in].view(k, n_out, n_in)
            offset += k * n_out * n_in
            bias = self.flat[offset : offset + k * n_out].view(k, 1, n_out)
            offset += k * n_out
            for member, lin in enumerate(linears):
                weight[member].copy_(lin[layer].weight.detach())
                bias[member, 0].copy_(lin[layer].bias.detach())
            self._weights.append(weight.requires_grad_(True))
            self._biases.append(bias.requires_grad_(True))
        self.params = [p for pair in zip(self._weights, self._biases, strict=True) for p in pair]
        # (K, in, out) views, made once: every layer of every call multiplies by W^T.
        self._weights_t = [w.transpose(1, 2) for w in self._weights]
        self._shapes = shapes
        # The hand-written gradients are written here, through views made once.
        self.grad = torch.zeros_like(self.flat)
        self._cached_views = {
            "flat": (self._weights, self._biases), "grad": self._views(self.grad)
        }

    def _views(self, flat: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Weight and bias views of a buffer laid out like `flat` (e.g. a gradient)."""
        weights, biases, offset, k = [], [], 0, self.n_models
        for n_out, n_in in self._shapes:
            weights.append(flat[offset : offset + k * n_out * n_in].view(k, n_out, n_in))
            offset += k * n_out * n_in
            biases.append(flat[offset : offset + k * n_out].view(k, 1, n_out))
            offset += k * n_out
        return weights, biases

    def _layer_views(self, buffer: str, part: int) -> list[torch.Tensor]:
        """Weight (part 0) or bias (part 1) views of the buffer `flat` or `grad`: made once when
        eager; afresh inside a compiled program, which must see each buffer as one input
        (torch.compile refuses inputs that alias one storage through different bases)."""
        if torch.compiler.is_compiling():
            return self._views(getattr(self, buffer))[part]
        return self._cached_views[buffer][part]

    # Each layer's weight (K, out, in) and bias (K, 1, out), and their gradient buffer's views.
    weights = property(lambda self: self._layer_views("flat", 0))
    biases = property(lambda self: self._layer_views("flat", 1))
    grad_weights = property(lambda self: self._layer_views("grad", 0))
    grad_biases = property(lambda self: self._layer_views("grad", 1))

    @property
    def weights_t(self) -> list[torch.Tensor]:
        """W^T of every layer. Without autograd, views made once; with it, fresh ones: a view
        made once loses its autograd link to the weight when the optimiser updates the flat
        buffer in place, and would pass no gradient."""
        if torch.is_grad_enabled() or torch.compiler.is_compiling():
            return [w.transpose(1, 2) for w in self.weights]
        return self._weights_t

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self._run(inputs, taped=False)[0]

    def forward_taped(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, Tape]:
        """Outputs (K, B, out) and what `backward_taped` needs (no autograd graph)."""
        return self._run(inputs, taped=True)

    def _run(self, inputs: tuple[torch.Tensor, ...], taped: bool):
        """The layers; with `taped`, each layer's input is kept."""
        h = torch.cat(inputs, dim=-1) if len(inputs) > 1 else inputs[0]
        tape = Tape([h], h) if taped else None
        last = len(self.weights) - 1
        for i, (weight_t, bias) in enumerate(zip(self.weights_t, self.biases, strict=True)):
            h = torch.baddbmm(bias, h, weight_t)
            if i < last:
                h = torch.relu(h)
                if tape is not None:
                    tape.layer_inputs.append(h)
        if self.activation is not None:
            h = self.activation(h)
        if tape is not None:
            tape.output = h
        return h, tape

    def backward_taped(
        self, tape: Tape, grad_output: torch.Tensor, weight_grads: bool = False,
        input_grad: bool = True,
    ) -> torch.Tensor | None:  # fmt: skip
        """Backpropagate d loss / d output through the taped pass. With `weight_grads`, write
        d loss / d weights into `self.grad` (overwriting it); with `input_grad`, return
        d loss / d input (of the inputs concatenated)."""
        grad = grad_output
        if self.activation is torch.sigmoid:
            grad = grad * tape.output * (1 - tape.output)
        elif self.activation is torch.relu:
            grad = relu_gate(grad, tape.output)
        for i in reversed(range(len(self.weights))):
            if weight_grads:
                torch.bmm(grad.transpose(1, 2), tape.layer_inputs[i], out=self.grad_weights[i])
                torch.sum(grad, 1, keepdim=True, out=self.grad_biases[i])
            if i == 0 and not input_grad:
                return None
            grad = torch.bmm(grad, self.weights[i])
            if i:
                grad = relu_gate(grad, tape.layer_inputs[i])
        return grad

    def forward_with_input_jacobian(self, *inputs: torch.Tensor):
        """Outputs (K, B, out) and each row's Jacobian d out / d inputs[0], (K, B, out, n_0).

        Closed form for a ReLU network with a linear output layer: J_b = W_L D_{L-1,b} ... W_2
        D_{1,b} W_1[:, :n_0], with D the ReLU derivative at row b. It is an ordinary
        differentiable expression of the weights, so a gradient penalty needs no double
        backward pass and no loop over outputs. The product runs from the narrower end (from
        the output for D_CG's one score, from the input for D_MI's d + 1 scores of d inputs),
        and every product is one batched matrix product over all rows: masks are applied to
        the running product, never to copies of a weight per row.
        """
        if self.activation is not None:
            raise TypeError("The closed-form Jacobian needs a linear output layer.")
        n_out, n_0 = self.weights[-1].shape[1], inputs[0].shape[-1]
        if n_out >= n_0:  # columns of J, growing from the input to `out`
            h, jacobian, _, _ = self.input_jacobian_taped(*inputs, n_rows=n_out)
            return h, jacobian.permute(0, 2, 1, 3)
        h, tape = self.forward_taped(*inputs)  # rows of J: (K, B, out, width), shrinking to n_0
        n_models, batch, _ = h.shape
        weights = [self.weights[0][..., :n_0], *self.weights[1:]]
        jacobian = weights[-1][:, None].expand(-1, batch, -1, -1)
        for weight, hidden in zip(reversed(weights[:-1]), reversed(tape.hidden), strict=True):
            rows = relu_gate(jacobian, hidden[:, :, None, :]).reshape(n_models, batch * n_out, -1)
            jacobian = torch.bmm(rows, weight).view(n_models, batch, n_out, -1)
        return h, jacobian

    def forward_with_projected_jacobian(self, *inputs: torch.Tensor, directions: torch.Tensor):
        """Outputs (K, B, out) and J_b v for each row's P directions v, (K, B, P, out).

        Forward-mode: the tangent v (on inputs[0] only) goes through the same layers and ReLU
        masks. With E[v v^T] = I (random signs), E[(J_b v)_i^2] = ||d out_i / d x_b||^2, so the
        mean of the P squares is an unbiased estimate of each squared row norm of J_b, at P
        extra forward passes instead of a d x d Jacobian per row. `directions`: (K, B, P, n_0).
        """
        h, tape = self.forward_taped(*inputs)
        hidden = tape.hidden
        n_models, batch, n_projections, n_0 = directions.shape
        tangent = directions.reshape(n_models, batch * n_projections, n_0)
        for i, weight_t in enumerate(self.weights_t):
            w_t = weight_t[:, :n_0] if i == 0 else weight_t
            tangent = torch.bmm(tangent, w_t)
            if i < len(hidden):
                width = tangent.shape[-1]
                tangent = relu_gate(
                    tangent.view(n_models, batch, n_projections, width), hidden[i][:, :, None, :]
                ).view(n_models, batch * n_projections, width)
        return h, tangent.view(n_models, batch, n_projections, -1)

    def input_jacobian_taped(self, *inputs: torch.Tensor, n_rows: int):
        """Outputs (K, B, out), the Jacobian of the first `n_rows` outputs with respect to
        inputs[0] in column layout (K, n_rows, B, n_0), and the tape and partial products that
        `input_jacobian_backward` needs.

        The product runs from the input (D_MI: d + 1 outputs of d inputs): P_2 = W_2 D_1 W_1[:,
        :n_0], C_l = D_l P_l, P_{l+1} = W_{l+1} C_l, J = P_L (W_L's first `n_rows` rows). P_2 is
        taken as A W_1[:, :n_0] with A_b = W_2 D_{1,b} (W_2's columns gated per row): A is
        width_2 x width_1 per row where D_1 W_1 would be width_1 x n_0, so the largest
        intermediate is half as large for D_MI (and the products keep long inner dimensions).
        """
        scores, tape = self.forward_taped(*inputs)
        n_models, batch, _ = scores.shape
        n_0, last = inputs[0].shape[-1], len(self.weights) - 1
        second = self.weights[1][:, self._jacobian_rows(1, n_rows)]
        gated_second = relu_gate(second[:, :, None, :], tape.hidden[0][:, None])  # A
        width = gated_second.shape[1]
        product = torch.bmm(gated_second.view(n_models, width * batch, -1),
                            self.weights[0][..., :n_0]).view(n_models, width, -1)  # fmt: skip
        columns = [gated_second]
        for i in range(1, last):
            width = product.shape[1]
            columns.append(
                relu_gate(product.view(n_models, width, batch, n_0), self._column_gate(tape, i))
            )
            weight = self.weights[i + 1][:, self._jacobian_rows(i + 1, n_rows)]
            product = torch.bmm(weight, columns[-1].view(n_models, width, -1))
        return scores, product.view(n_models, n_rows, batch, n_0), tape, columns

    def _jacobian_rows(self, layer: int, n_rows: int) -> slice:
        """The rows of layer `layer`'s weight that a Jacobian of the first `n_rows` outputs
        uses: all of a hidden layer's, the first `n_rows` of the output layer's."""
        return slice(n_rows) if layer == len(self.weights) - 1 else slice(None)

    @staticmethod
    def _column_gate(tape: Tape, layer: int) -> torch.Tensor:
        """Hidden layer `layer`'s ReLU output as (K, width, B, 1), to gate column products."""
        return tape.hidden[layer].transpose(1, 2).contiguous()[..., None]

    @torch.no_grad()
    def input_jacobian_backward(
        self, tape: Tape, columns: list[torch.Tensor], grad_jacobian: torch.Tensor
    ) -> None:
        """Add d loss / d weights of a loss on `input_jacobian_taped`'s Jacobian into
        `self.grad`, given d loss / d J in the same (K, n_rows, B, n_0) layout."""
        n_models, n_rows, batch, n_0 = grad_jacobian.shape
        grad_product = grad_jacobian.reshape(n_models, n_rows, batch * n_0)  # d loss / d P_L
        last = len(self.weights) - 1
        for i in range(last - 1, 0, -1):  # P_{i+1} = W_{i+1} C_i and C_i = D_i P_i
            rows = self._jacobian_rows(i + 1, n_rows)
            flat_columns = columns[i].flatten(2)
            self.grad_weights[i + 1][:, rows].baddbmm_(grad_product, flat_columns.transpose(1, 2))
            grad_columns = torch.bmm(self.weights_t[i + 1][..., rows], grad_product)
            grad_product = relu_gate(
                grad_columns.view(columns[i].shape), self._column_gate(tape, i)
            ).flatten(2)
        # P_2 = A W_1[:, :n_0] with A_b = W_2 D_{1,b} (W_2's first n_rows rows if it is W_L)
        gated_second = columns[0]
        width, width_1 = gated_second.shape[1], gated_second.shape[-1]
        flat_second = gated_second.view(n_models, width * batch, width_1)
        grad_product = grad_product.reshape(n_models, width * batch, n_0)
        self.grad_weights[0][..., :n_0].baddbmm_(flat_second.transpose(1, 2), grad_product)
        grad_second = torch.bmm(grad_product, self.weights_t[0][:, :n_0])
        grad_second = relu_gate(grad_second.view(gated_second.shape), tape.hidden[0][:, None])
        self.grad_weights[1][:, self._jacobian_rows(1, n_rows)].add_(grad_second.sum(dim=2))

    def jacobian_by_row_pays(self) -> bool:
        """Whether `jacobian_penalty_gradient_by_row` beats the batched Jacobian: for wide
        hidden layers on the CPU (a GPU runs the batched form in parallel, and each row's
        active units would cost a device synchronisation)."""
        narrowest = min(weight.shape[1] for weight in self.weights[:-1])
        return self.flat.device.type == "cpu" and narrowest >= ROW_BY_ROW_MIN_WIDTH

    @torch.no_grad()
    def jacobian_penalty_gradient_by_row(
        self, tape: Tape, n_0: int, weight: torch.Tensor, penalty: str
    ) -> torch.Tensor:
        """Add d loss / d weights of loss = sum_bi weight_bi f(||J_bi||^2) into `self.grad`, J_b
        the Jacobian of the first n_rows outputs of row b with respect to its first n_0 inputs
        and f as in `losses.jacobian_row_coefficient`; returns the squared norms (K, B, n_rows).

        Exact, row by row over each row's active units only. With a_l the ReLUs of layer l on at
        row b, J_b = W_L[:n_rows, a_{L-1}] ... W_2[a_2, a_1] W_1[a_1, :n_0], and only the row
        norms of J_b matter, so J_b is never formed: ||J_bi||^2 = w_i G w_i^T, w_i the i-th row
        of W_L's block and G the Gram matrix of the rest, G_1 = S[a_1, a_1] with S = W_1 W_1^T
        (once per update), G_l = W_l[a_l, a_{l-1}] G_{l-1} W_l[a_l, a_{l-1}]^T. For D_MI with
        half the units on, 7.4x fewer multiply-adds than the batched Jacobian.
        """
        n_models, batch, n_rows = weight.shape
        sq_norms = weight.new_empty(n_models, batch, n_rows)
        on = [hidden > 0 for hidden in tape.hidden]
        first = self.weights[0][..., :n_0]
        gram_first = torch.bmm(first, first.transpose(1, 2))  # S, (K, h_1, h_1)
        grad_gram_first = torch.zeros_like(gram_first)
        for k, b in itertools.product(range(n_models), range(batch)):
            active = [torch.nonzero(layer_on[k, b]).flatten() for layer_on in on]
            grams = [gram_first[k].index_select(0, active[0]).index_select(1, active[0])]
            blocks = []
            for layer in range(1, len(active)):
                block = self.weights[layer][k].index_select(0, active[layer])
                blocks.append(block.index_select(1, active[layer - 1]))
                grams.append(blocks[-1] @ grams[-1] @ blocks[-1].T)
            last = self.weights[-1][k, :n_rows].index_select(1, active[-1])
            projected = last @ grams[-1]
            sq_norms[k, b] = (projected * last).sum(dim=-1)
            # d loss / d J_bi = c_i J_bi, so d loss / d w_i = c_i w_i G and d loss / d G =
            # W^T diag(c) W / 2; through G_l = B G_{l-1} B^T (G, d loss / d G symmetric):
            # d loss / d B = 2 dG B G_{l-1}, d loss / d G_{l-1} = B^T dG B.
            coefficient = losses.jacobian_row_coefficient(sq_norms[k, b], weight[k, b], penalty)
            self.grad_weights[-1][k, :n_rows].index_add_(
                1, active[-1], coefficient[:, None] * projected
            )
            grad_gram = 0.5 * last.T @ (coefficient[:, None] * last)
            for layer in range(len(active) - 1, 0, -1):
                block = blocks[layer - 1]
                _add_to_block(self.grad_weights[layer][k], active[layer], active[layer - 1],
                              2.0 * grad_gram @ block @ grams[layer - 1])  # fmt: skip
                grad_gram = block.T @ grad_gram @ block
            _add_to_block(grad_gram_first[k], active[0], active[0], grad_gram)
        # S = W_1 W_1^T and d loss / d S symmetric: d loss / d W_1 = 2 (d loss / d S) W_1
        self.grad_weights[0][..., :n_0].add_(torch.bmm(grad_gram_first, first), alpha=2.0)
        return sq_norms

    @torch.no_grad()
    def critic_gradient(
        self, inputs: torch.Tensor, grad_scores: torch.Tensor | None, n_real: int,
        n_penalised: int, grad_penalty: Callable[[torch.Tensor], torch.Tensor] | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
        """d loss / d weights of a one-output critic's loss (no autograd graph), into
        `self.grad` (overwritten by the next call); returns (gradient, scores, J).

        `inputs` (K, R, n) holds n_real real rows, then fake ones. The loss is a function of the
        scores, with d loss / d scores `grad_scores` (None: no such term), plus a penalty on
        J, each real row's input gradient d D / d inputs[:n_penalised], (K, n_real,
        n_penalised), with d penalty / d J = `grad_penalty(J)` (None: no penalty). For D_CG,
        updated n_CG x n_critic times per iteration: about a third of autograd's calls, and on
        small networks each call's overhead dominates.
        """
        weights = self.weights
        scores, tape = self.forward_taped(inputs)  # (K, R, 1)
        # Jacobian rows of the real rows, from the output: u_{L-1} = W_L D_{L-1}, then
        # u_{l-1} = (u_l W_l) D_{l-1}, and J = u_1 W_1[:, :n_penalised].
        real_hidden = [h[:, :n_real] for h in tape.hidden]
        rows = [relu_gate(weights[-1], real_hidden[-1])]
        for w, h in zip(reversed(weights[1:-1]), reversed(real_hidden[:-1]), strict=True):
            rows.append(relu_gate(torch.bmm(rows[-1], w), h))
        # The Jacobian over all of W_1's columns, the unpenalised ones (y) then given zero
        # gradient: whole, contiguous weights make each product one batched call (a column
        # slice would make torch loop over the K models).
        jacobian_all = torch.bmm(rows[-1], weights[0])
        jacobian = jacobian_all[..., :n_penalised]
        # The scores' path first (it writes every entry), then the penalty's, accumulated.
        if grad_scores is not None:
            self.backward_taped(tape, grad_scores, weight_grads=True, input_grad=False)
        else:
            self.grad.zero_()
        if grad_penalty is None:
            return self.grad, scores, jacobian
        n_unpenalised = jacobian_all.shape[-1] - n_penalised
        grad_jacobian = torch.nn.functional.pad(grad_penalty(jacobian), (0, n_unpenalised))
        grad_weights = self.grad_weights
        grad_weights[0].baddbmm_(rows[-1].transpose(1, 2), grad_jacobian)
        grad_row = torch.bmm(grad_jacobian, self.weights_t[0])
        layers = zip(self.weights_t[1:-1], real_hidden[:-1], strict=True)
        for i, (w_t, h) in enumerate(layers, start=1):
            grad_pre = relu_gate(grad_row, h)
            grad_weights[i].baddbmm_(rows[-1 - i].transpose(1, 2), grad_pre)
            grad_row = torch.bmm(grad_pre, w_t)
        grad_weights[-1].add_(relu_gate(grad_row, real_hidden[-1]).sum(1, keepdim=True))
        return self.grad, scores, jacobian

    @torch.no_grad()
    def copy_to(self, member: int, mlp: MLP, flat: torch.Tensor | None = None) -> None:
        """Write model `member`'s weights into `mlp` (for inference and saving): the trained
        ones, or those of `flat`, a buffer laid out like them (e.g. their average)."""
        linears = [m for m in mlp.net if isinstance(m, nn.Linear)]
        weights, biases = (self.weights, self.biases) if flat is None else self._views(flat)
        for lin, weight, bias in zip(linears, weights, biases, strict=True):
            lin.weight.copy_(weight[member])
            lin.bias.copy_(bias[member, 0])


class SingleNetwork(_FlatNetwork):
    """One `nn.Module` (K = 1) behind the engine's (1, B, n) calling convention.

    Its parameters are re-pointed at views of one flat buffer. It trains the model's own network
    (nothing to copy back), or with `averaged` a copy of it, so that the model's network can
    hold the average of the trained weights instead (ema_decay > 0; `copy_to`).
    """

    def __init__(self, module: nn.Module, averaged: bool = False):
        self.module, self.n_models = (copy.deepcopy(module) if averaged else module), 1
        params = list(self.module.parameters())
        self.flat = torch.cat([p.detach().reshape(-1) for p in params])
        offset = 0
        for p in params:
            p.data = self.flat[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
        self.params = params

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.module(*(x[0] for x in inputs))[None]

    def forward_with_input_jacobian(self, *inputs: torch.Tensor):
        x = inputs[0][0].detach().requires_grad_(True)  # convnets: batched VJPs
        scores = self.module(x, *(extra[0] for extra in inputs[1:]))
        return scores[None], losses.input_jacobian(scores, x)[None]

    def copy_to(self, member: int, module: nn.Module, flat: torch.Tensor | None = None) -> None:
        """Write the trained weights, or those of `flat` (laid out like them, e.g. their
        average), into `module`: the model's network, when it is not the one trained."""
        if module is self.module:
            if flat is not None:
                raise ValueError("This network is trained in place; build it with averaged=True "
                                 "to hold averages.")  # fmt: skip
            return
        module.load_state_dict(self.module.state_dict())  # buffers, if any, too
        if flat is not None:
            with torch.no_grad():
                offset = 0
                for p in module.parameters():
                    p.copy_(flat[offset : offset + p.numel()].view_as(p))
                    offset += p.numel()


def stack_network(members: list[nn.Module], averaged: bool = False) -> StackedMLP | SingleNetwork:
    """The engine's form of one network of K members: stacked MLPs, or one module (K = 1).
    `averaged`: the members will hold averaged weights (stacked MLPs always copy them)."""
    if all(isinstance(m, MLP) for m in members):
        return StackedMLP(members)
    if len(members) != 1:
        raise ValueError(
            f"Only MLP networks can be trained as a stack of models; got {len(members)} "
            f"{type(members[0]).__name__} networks (train convnets one model at a time)."
        )
    return SingleNetwork(members[0], averaged)


class FlatOptimizer:
    """RMSProp or Adam over a network's flat buffer, with torch.optim's exact update rules.

    rmsprop (torch.optim.RMSprop, no momentum): v = a v + (1 - a) g^2; p -= lr g / (sqrt(v) + eps)
    adam (torch.optim.Adam): bias-corrected first and second moments.
    L2 weight decay adds weight_decay * p to the gradient first, as torch.optim does.
    """

    def __init__(self, network: _FlatNetwork, kind: str, lr: float, weight_decay: float = 0.0,
                 alpha: float = 0.9, betas: tuple[float, float] = (0.5, 0.9),
                 eps: float = 1e-8):  # fmt: skip
        if kind not in ("rmsprop", "adam"):
            raise ValueError(f"optimizer must be 'rmsprop' or 'adam'. Got {kind!r}.")
        self.network, self.kind = network, kind
        # A compiled step reads the learning rate from a tensor: a Python float would be baked
        # into the kernels, and a decaying one would recompile them every iteration.
        self._lr_tensor = torch.tensor(lr, dtype=network.flat.dtype, device=network.flat.device)
        self.lr, self.weight_decay, self.alpha, self.betas, self.eps = (
            lr, weight_decay, alpha, betas, eps,
        )  # fmt: skip
        self.steps = 0  # Adam's bias correction (RMSProp needs no count: none for compiled steps)
        self.square_avg = torch.zeros_like(network.flat)
        self.exp_avg = torch.zeros_like(network.flat) if kind == "adam" else None

    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        if value != getattr(self, "_lr", None):
            self._lr = value
            self._lr_tensor.fill_(value)

    @torch.no_grad()
    def step(self, grad: torch.Tensor) -> None:
        params = self.network.flat
        if self.weight_decay:
            grad = grad.add(params, alpha=self.weight_decay)
        if self.kind == "rmsprop":
            self.square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
            denom = self.square_avg.sqrt().add_(self.eps)
            if torch.compiler.is_compiling():
                params.sub_(grad.div(denom).mul_(self._lr_tensor))
            else:
                params.addcdiv_(grad, denom, value=-self.lr)
            return
        self.steps += 1
        beta1, beta2 = self.betas
        self.exp_avg.lerp_(grad, 1 - beta1)
        self.square_avg.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step_size = self.lr / (1 - beta1**self.steps)
        denom = (self.square_avg.sqrt() / math.sqrt(1 - beta2**self.steps)).add_(self.eps)
        params.addcdiv_(self.exp_avg, denom, value=-step_size)
