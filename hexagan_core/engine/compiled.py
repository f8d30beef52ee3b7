"""engine='compiled': the closed-form steps as torch.compile'd programs (fused kernels, no
Python between the operations)."""

from __future__ import annotations

import functools

import torch

from hexagan_core.engine.closed_form import ClosedFormAlgorithm
from hexagan_core.engine.runtime import check_compiler

__all__ = ["compile_steps"]


def compile_steps(algorithm: ClosedFormAlgorithm) -> None:
    """Make an iteration's D_MI updates, its E and G_MI updates, each conditional-generation
    round and C's update one compiled program each, in place.

    The warm-up stays eager, as do the D_MI updates with the projected penalty (autograd) or a
    wide critic's exact one (row by row over data-dependent active units, faster than any
    batched program). Each program is compiled on its first call, again for new shapes (other
    data, batch size or number of models).
    """
    device = algorithm.device
    if device.type not in ("cpu", "cuda"):
        raise ValueError(
            f"engine='compiled' runs on the CPU or CUDA, not {device.type!r}; "
            "use engine='eager' there."
        )
    check_compiler(device)
    # Fused, loss values cost next to nothing; computing every update's keeps one program per
    # step kind rather than one with and one without them.
    algorithm.every_update_losses = True
    options = {"cpp_wrapper": True} if device.type == "cpu" else {}
    compile_program = functools.partial(torch.compile, fullgraph=True, dynamic=False,
                                        options=options)  # fmt: skip
    names = ["e_g_mi_step", "cg_round", "c_step"]
    if not (algorithm.config.penalty_projections or algorithm.penalty_by_row):
        names.append("d_mi_updates")
    programs = {name: compile_program(getattr(algorithm, name)) for name in names}
    cg_round = programs["cg_round"]

    def cg_round_every_loss(*args, reported: bool = True, **kwargs):
        # `reported` changes nothing when every update's losses are computed: a constant
        # keeps one program rather than one per value.
        return cg_round(*args, reported=True, **kwargs)

    programs["cg_round"] = cg_round_every_loss
    for name, program in programs.items():
        setattr(algorithm, name, program)
    algorithm.compiled_steps = sorted(programs)
