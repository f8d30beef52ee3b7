"""Multiple imputation: `config.n_imputations` HexaGANs that differ only in their seed, used as one.

`HexaGANEnsemble` has `HexaGANModel`'s interface, so a pipeline, a scored run, the command
line and the dashboard take either. It imputes by the mean of its members' imputations and says
how far they disagree (`impute_std`); C's probabilities are the members' mean. The members
train together as one batched program (`train.fit_ensemble`), each selected on validation as a
single model is.

Saved as one directory: config.json (the ensemble's config) and model.json at the top, and each
member saved by `HexaGANModel.save` in a folder of its own (member_0, member_1, ...).
`load_model` reads either kind of directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hexagan_core.config import HexaGANConfig
from hexagan_core.decision import DecisionRule
from hexagan_core.device import model_device
from hexagan_core.model import (
    CONFIG_FILE,
    META_FILE,
    HexaGANModel,
    read_config,
    read_header,
    write_header,
)
from hexagan_core.validation import parameter_error

__all__ = [
    "HexaGANEnsemble", "TrainedModel", "imputation_spread", "load_model", "mean_imputation",
    "member_configs", "require_ensemble",
]  # fmt: skip


def member_configs(config: HexaGANConfig) -> list[HexaGANConfig]:
    """The configs of the `config.n_imputations` models `config` stands for: single models
    (n_imputations 1), the first with `config.seed` (so that it is the model n_imputations = 1
    trains), the others with seeds derived from it; `[config]` itself when it is one model."""
    if config.n_imputations == 1:
        return [config]
    return [config.replace(n_imputations=1, seed=seed) for seed in _member_seeds(config)]


def _member_seeds(config: HexaGANConfig) -> list[int]:
    # SeedSequence spreads (seed, k) over the whole range, so that the members of neighbouring
    # seeds (runs of seeds 11 and 12, say) share no seed, as they would with `seed + k`.
    derived = [
        int(np.random.SeedSequence([config.seed, k]).generate_state(1)[0])
        for k in range(1, config.n_imputations)
    ]
    return [config.seed, *derived]


@dataclass
class HexaGANEnsemble:
    """`config.n_imputations` trained HexaGANs of one config, each from its own seed."""

    config: HexaGANConfig
    members: list[HexaGANModel]
    decision_rule: DecisionRule = field(default_factory=DecisionRule)
    """How `predict` turns the mean probabilities into classes: one rule for the ensemble
    (the members' own are not used)."""

    def __post_init__(self) -> None:
        if len(self.members) != self.config.n_imputations or len(self.members) < 2:
            raise ValueError(
                f"An ensemble of n_imputations={self.config.n_imputations} needs as many "
                f"members (at least 2). Got {len(self.members)}."
            )
        shapes = {(m.n_features, m.n_classes) for m in self.members}
        if len(shapes) > 1:
            raise ValueError(f"Members must share features and classes. Got {sorted(shapes)}.")

    @property
    def n_features(self) -> int:
        return self.members[0].n_features

    @property
    def n_classes(self) -> int:
        return self.members[0].n_classes

    @property
    def device(self) -> torch.device:
        return self.members[0].device

    @property
    def history(self) -> list[dict[str, Any]]:
        """Every member's training reports, by iteration (each holds `imputation`, its member)."""
        reports = [report for member in self.members for report in member.history]
        return sorted(reports, key=lambda report: report["iteration"])

    @property
    def notes(self) -> list[str]:
        """What training had to do that users should know, said once for all members."""
        return list(dict.fromkeys(note for member in self.members for note in member.notes))

    # --- inference ------------------------------------------------------------------------

    def member_imputations(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Each member's `impute(x, seed)`, shape (n_imputations, rows, features)."""
        return np.stack([member.impute(x, seed=seed) for member in self.members])

    def impute(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """x with every NaN replaced by the mean of the members' estimates; observed entries
        are returned unchanged."""
        return mean_imputation(self.member_imputations(x, seed), x)

    def impute_std(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Each cell's standard deviation across the members' imputations, in the scaled space
        (`imputation_spread`): 0 at observed cells and wherever the members agree."""
        return imputation_spread(self.member_imputations(x, seed), x)

    def predict_proba(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """The mean of the members' class probabilities C(x_hat) for every row."""
        probabilities = [member.predict_proba(x, seed=seed) for member in self.members]
        return np.mean(np.stack(probabilities).astype(np.float64), axis=0).astype(np.float32)

    def predict(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Each row's class: `decision_rule` applied to the mean probabilities."""
        return self.decision_rule.predict(self.predict_proba(x, seed))

    def hidden(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """The first member's hidden vectors h = E(x_tilde, m): each member has a hidden space
        of its own, and the first is the model n_imputations = 1 trains (seed `config.seed`)."""
        return self.members[0].hidden(x, seed=seed)

    def sample(self, label: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n conditional samples of class `label` from the first member (as `hidden`): rows in
        scaled space and their hidden vectors in that member's hidden space."""
        return self.members[0].sample(label, n, seed=seed)

    # --- persistence ------------------------------------------------------------------------

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None, *,
             critics: bool = True, half: bool = False) -> Path:  # fmt: skip
        """Write config.json and model.json (shapes, decision rule, member folders, `extra`),
        and each member in its folder (`HexaGANModel.save` with `critics` and `half`)."""
        directory = Path(directory)
        names = [f"member_{k}" for k in range(len(self.members))]
        for name, member in zip(names, self.members, strict=True):
            member.save(directory / name, critics=critics, half=half)
        write_header(directory, self.config, self.n_features, self.n_classes, self.decision_rule,
                     members=names, extra=extra or {})  # fmt: skip
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> tuple[HexaGANEnsemble, dict]:
        """The ensemble saved in `directory` and the `extra` dict saved with it, on `device`;
        ValueError naming the file when any part is missing, damaged or does not fit."""
        directory = Path(directory)
        config = _required_config(directory)
        if config.n_imputations == 1:
            raise ValueError(f"{directory / CONFIG_FILE}: n_imputations is 1, a single model; load "
                             "it with HexaGANModel.load.")  # fmt: skip
        meta = _read_meta(directory / META_FILE, config)
        # One device for all: a member alone would choose for one model, not for the K.
        torch_device = str(model_device(device, config, meta["n_features"]))
        members = []
        for name, expected in zip(meta["members"], member_configs(config), strict=True):
            if not (directory / name).is_dir():
                raise ValueError(f"{directory} is not a saved HexaGAN ensemble: its member "
                                 f"folder {name} is missing.")  # fmt: skip
            member, _ = HexaGANModel.load(directory / name, device=torch_device)
            if member.config != expected:
                raise ValueError(
                    f"{directory / name / CONFIG_FILE}: not the member {CONFIG_FILE} describes "
                    f"(its seed must be {expected.seed}, every other setting the same and "
                    "n_imputations 1)."
                )
            if (member.n_features, member.n_classes) != (meta["n_features"], meta["n_classes"]):
                raise ValueError(
                    f"{directory / name}: {member.n_features} features and {member.n_classes} "
                    f"classes; {directory / META_FILE} says {meta['n_features']} and "
                    f"{meta['n_classes']}."
                )
            members.append(member)
        return cls(config, members, meta["decision_rule"]), meta["extra"]


TrainedModel = HexaGANModel | HexaGANEnsemble
"""What training returns: one model, or an ensemble where `config.n_imputations` > 1."""


def require_ensemble(model: TrainedModel) -> HexaGANEnsemble:
    """`model` when it is an ensemble; ValueError for a single model, which has no spread."""
    if not isinstance(model, HexaGANEnsemble):
        raise ValueError("The spread of the imputations needs several imputation models "
                         "(n_imputations > 1); this is a single model.")  # fmt: skip
    return model


def load_model(directory: str | Path, device: str = "auto") -> tuple[TrainedModel, dict]:
    """The model or ensemble saved in `directory` (by its config's n_imputations) and the
    `extra` dict saved with it; ValueError naming the file when it is not one."""
    directory = Path(directory)
    config = _required_config(directory)
    loader = HexaGANModel if config.n_imputations == 1 else HexaGANEnsemble
    return loader.load(directory, device=device)


def mean_imputation(imputations: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The mean over axis 0 of the members' `imputations` of `x`, with x's observed entries."""
    # In float64 the mean of equal float32 values is exactly that value.
    mean = imputations.astype(np.float64).mean(axis=0).astype(np.float32)
    x = np.asarray(x, dtype=np.float32)
    return np.where(np.isnan(x), mean, x)


def imputation_spread(imputations: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The sample standard deviation over axis 0 (ddof = 1: its square is Rubin's
    between-imputation variance) of the members' `imputations` of `x`; 0 at x's observed
    entries, and exactly 0 wherever the members agree."""
    values = imputations.astype(np.float64)
    # Deviations from the exact float64 mean: agreeing members give 0, not rounding noise.
    deviations = values - values.mean(axis=0)
    spread = np.sqrt((deviations**2).sum(axis=0) / (len(values) - 1)).astype(np.float32)
    return np.where(np.isnan(np.asarray(x, dtype=np.float32)), spread, np.float32(0))


def _required_config(directory: Path) -> HexaGANConfig:
    path = directory / CONFIG_FILE
    if not path.is_file():
        raise ValueError(f"{directory} is not a saved HexaGAN model: {CONFIG_FILE} is missing.")
    return read_config(path)


def _read_meta(path: Path, config: HexaGANConfig) -> dict[str, Any]:
    """An ensemble's model.json, its entries of the right types and naming one member folder
    per imputation model of `config`."""
    if not path.is_file():
        raise ValueError(f"{path.parent} is not a saved HexaGAN model: {META_FILE} is missing.")
    meta = read_header(path)
    owner = str(path)
    expected = [f"member_{k}" for k in range(config.n_imputations)]
    if meta.get("members") != expected:
        raise parameter_error(
            "members", owner, f"the {config.n_imputations} folders {expected} "
            f"(n_imputations={config.n_imputations} in {CONFIG_FILE})", meta.get("members"),
        )  # fmt: skip
    return meta
