"""A trained HexaGAN: imputation, class probabilities, hidden vectors, samples, save and load.

Everything here works in the scaled space the model was trained in (min-max, NaN = missing);
`estimators.py` and the CLI translate to and from original units.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hexagan_core.config import SAVED_BEFORE_THE_FIELD, HexaGANConfig
from hexagan_core.decision import DecisionRule
from hexagan_core.device import model_device, resolve_device
from hexagan_core.draws import latent_noise
from hexagan_core.networks import NETWORK_NAMES, HexaGANNetworks, build_networks, state_shapes
from hexagan_core.validation import Interval, check_param, parameter_error

# resolve_device lives in device.py; it stays importable from here for the modules that did.
__all__ = [
    "CONFIG_FILE", "META_FILE", "HexaGANModel", "read_config", "read_header", "read_json",
    "resolve_device", "write_header",
]  # fmt: skip

_WEIGHTS = "weights.pt"
CONFIG_FILE = "config.json"
META_FILE = "model.json"
CRITICS = ("d_mi", "d_cg")
_MAX_WIDTH = 1_000_000
"""Most features or classes a saved model may claim: beyond any trainable model (E alone would
have 10^12 weights), and far from overflowing the arithmetic of the shape check."""


@dataclass
class HexaGANModel:
    """The six trained networks with the config that built them and the training history."""

    config: HexaGANConfig
    networks: HexaGANNetworks
    device: torch.device
    history: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what training had to do that users should know
    decision_rule: DecisionRule = field(default_factory=DecisionRule)
    """How `predict` turns C's probabilities into classes (`decision.choose_rule`)."""
    batch_size: int = 4096  # rows per forward pass at inference

    @property
    def n_features(self) -> int:
        return self.networks.n_features

    @property
    def n_classes(self) -> int:
        return self.networks.n_classes

    # --- inference ------------------------------------------------------------------------

    def _check_matrix(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"Expected a matrix with {self.n_features} columns, got shape {tuple(x.shape)}."
            )
        return x

    @torch.no_grad()
    def _forward_chunks(self, x: np.ndarray, seed: int, fn) -> np.ndarray:
        """Apply fn(x_hat, h) to imputed chunks; the fill noise comes from `seed` (reproducible)."""
        x = self._check_matrix(x)
        generator = torch.Generator(device=self.device).manual_seed(seed)
        self.networks.eval()
        outputs = []
        for start in range(0, len(x), self.batch_size):
            chunk = torch.from_numpy(x[start : start + self.batch_size]).to(self.device)
            mask = (~torch.isnan(chunk)).float()
            values = torch.nan_to_num(chunk)
            noise = self.config.noise_scale * torch.rand(
                values.shape, generator=generator, device=self.device
            )
            h = self.networks.encoder(mask * values + (1 - mask) * noise, mask)
            x_hat = mask * values + (1 - mask) * self.networks.g_mi(h)
            outputs.append(fn(x_hat, h).cpu().numpy())
        self.networks.train()
        if not outputs:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(outputs)

    def impute(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """x with every NaN replaced by G_MI's estimate; observed entries are returned unchanged."""
        x = self._check_matrix(x)
        imputed = self._forward_chunks(x, seed, lambda x_hat, h: x_hat)
        return np.where(np.isnan(x), imputed, x) if len(x) else x.copy()

    def hidden(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Hidden vectors h = E(x_tilde, m) (the space where G_CG generates)."""
        return self._forward_chunks(x, seed, lambda x_hat, h: h)

    def predict_proba(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Class probabilities C(x_hat) of every row (rows need no label)."""
        self._require_classes()
        return self._forward_chunks(
            x, seed, lambda x_hat, h: torch.softmax(self.networks.classifier(x_hat), dim=1)
        )

    def predict(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Each row's class: `decision_rule` applied to `predict_proba`."""
        return self.decision_rule.predict(self.predict_proba(x, seed))

    @torch.no_grad()
    def sample(self, label: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """n conditional samples of class `label`: (G_MI(G_CG(z, y)) in scaled space, h)."""
        self._require_classes()
        if not 0 <= int(label) < self.n_classes:
            raise ValueError(f"label must be in [0, {self.n_classes - 1}]. Got {label!r}.")
        if n < 1:
            raise ValueError(f"n must be a positive int. Got {n!r}.")
        generator = torch.Generator(device=self.device).manual_seed(seed)
        z = latent_noise(self.config, n, self.networks.noise_dim, generator, self.device)
        y = torch.zeros((n, self.n_classes), device=self.device)
        y[:, int(label)] = 1.0
        self.networks.eval()
        h = self.networks.generate_hidden(z, y)
        x = self.networks.g_mi(h)
        self.networks.train()
        return x.cpu().numpy(), h.cpu().numpy()

    def _require_classes(self) -> None:
        if self.n_classes == 0:
            raise ValueError("This model was trained without labels: it has no classifier or G_CG.")

    # --- persistence (JSON + tensors only; loading never unpickles) ------------------------

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None, *,
             critics: bool = True, half: bool = False) -> Path:  # fmt: skip
        """Write config.json, model.json (shapes, decision rule, history, `extra`) and weights.pt.

        `critics=False` leaves D_MI and D_CG out: the model still imputes, classifies and
        samples (the critics only train). `half`: weights stored as float16, half the size,
        loaded back as float32. Both make a model small enough to ship with the product.
        """
        directory = Path(directory)
        saved = [n for n in NETWORK_NAMES if critics or n not in CRITICS]
        write_header(directory, self.config, self.n_features, self.n_classes, self.decision_rule,
                     networks=saved, history=self.history, extra=extra or {})  # fmt: skip
        dtype = torch.float16 if half else None
        state = {
            name: value.detach().cpu().to(dtype or value.dtype)
            for name, value in self.networks.state_dict().items()
            if name.split(".")[0] in saved
        }
        torch.save(state, directory / _WEIGHTS)
        return directory

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto") -> tuple[HexaGANModel, dict]:
        """The model saved in `directory` and the `extra` dict saved with it, on `device`
        ('auto': where 'auto' would train it, `device.choose_device`)."""
        directory = Path(directory)
        for name in (CONFIG_FILE, META_FILE, _WEIGHTS):
            if not (directory / name).is_file():
                raise ValueError(f"{directory} is not a saved HexaGAN model: {name} is missing.")
        config = read_config(directory / CONFIG_FILE)
        if config.n_imputations > 1:
            raise ValueError(
                f"{directory / CONFIG_FILE}: n_imputations is {config.n_imputations}, an "
                "ensemble of models; load it with hexagan_core.ensemble.load_model."
            )
        meta = _read_meta(directory / META_FILE)
        state = _read_weights(directory / _WEIGHTS, config, meta)
        torch_device = model_device(device, config, meta["n_features"])
        networks = build_networks(config, meta["n_features"], meta["n_classes"])
        networks.load_state_dict(state, strict=False)  # _read_weights checked the names
        model = cls(config, networks.to(torch_device), torch_device, meta.get("history", []),
                    decision_rule=meta["decision_rule"])  # fmt: skip
        return model, meta.get("extra", {})


# --- reading a saved model: every file checked before a network is built ----------------------


def read_json(path: Path) -> Any:
    """The JSON value in `path`; ValueError naming the file when it holds no JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # not JSON, not UTF-8, or absurdly nested
        reason = " ".join(str(error).split())
        raise ValueError(f"{path}: not valid JSON ({reason}).") from None


def read_config(path: Path) -> HexaGANConfig:
    """The validated config in `path`; ValueError naming the file when it is not one. A field
    the file lacks was added after it was saved: it takes the value that model was trained with
    (`SAVED_BEFORE_THE_FIELD`), not today's default."""
    values = read_json(path)
    try:
        if isinstance(values, dict):
            values = {**SAVED_BEFORE_THE_FIELD, **values}
        return HexaGANConfig.from_dict(values)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def write_header(directory: Path, config: HexaGANConfig, n_features: int, n_classes: int,
                 decision_rule: DecisionRule, **entries: Any) -> None:  # fmt: skip
    """config.json, and model.json with the shapes, the decision rule and `entries`, in
    `directory` (created if missing): what a saved model and a saved ensemble share
    (`read_header`)."""
    directory.mkdir(parents=True, exist_ok=True)
    config.to_json(directory / CONFIG_FILE)
    meta = {"format": 1, "n_features": n_features, "n_classes": n_classes,
            "decision_rule": decision_rule.to_dict(), **entries}  # fmt: skip
    (directory / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")


def read_header(path: Path) -> dict[str, Any]:
    """model.json, with the entries a saved model and a saved ensemble share checked: its
    format, the shapes in range, `extra` an object, and `decision_rule` read as a
    `DecisionRule` (argmax for a model saved before models kept one)."""
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: expected a JSON object. Got {type(meta).__name__}.")
    owner = str(path)
    check_param(meta.get("format"), "format", owner, (1,))
    check_param(meta.get("n_features"), "n_features", owner, Interval("int", 1, _MAX_WIDTH))
    if check_param(meta.get("n_classes"), "n_classes", owner, Interval("int", 0, _MAX_WIDTH)) == 1:
        raise parameter_error("n_classes", owner, "0 (no labels) or at least 2", 1)
    if not isinstance(meta.setdefault("extra", {}), dict):
        raise parameter_error("extra", owner, "an object", meta["extra"])
    saved_rule = meta.get("decision_rule", DecisionRule().to_dict())
    meta["decision_rule"] = DecisionRule.from_dict(saved_rule, meta["n_classes"], owner)
    return meta


def _read_meta(path: Path) -> dict[str, Any]:
    """model.json, its entries of the right types and in range."""
    meta = read_header(path)
    owner = str(path)
    history = meta.get("history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise parameter_error("history", owner, "a list of report objects", history)
    everything = list(NETWORK_NAMES)
    saved = meta.setdefault("networks", everything)
    without_critics = [n for n in NETWORK_NAMES if n not in CRITICS]
    if saved not in (everything, without_critics):
        raise parameter_error("networks", owner, f"{everything} or {without_critics}", saved)
    return meta


def _read_weights(path: Path, config: HexaGANConfig, meta: dict[str, Any]) -> dict:
    """The state dict in `path`, refused unless it holds exactly the finite floating-point
    tensors, of the shapes, that the networks of `config` and `meta` have."""
    try:
        # Memory-mapped: the tensors stay on disk until read, so a file claiming huge tensors
        # costs nothing before their shapes are checked.
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:
        # torch's own message suggests weights_only=False: running whatever the file holds.
        raise ValueError(
            f"{path}: holds objects other than tensors, refused (loading them could run code)."
        ) from None
    except Exception as error:  # a damaged file fails in torch's zip and pickle readers alike
        raise ValueError(
            f"{path}: not a readable PyTorch weights file ({type(error).__name__})."
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected named tensors. Got {type(state).__name__}.")
    n_features, n_classes = meta["n_features"], meta["n_classes"]
    expected = {
        name: shape
        for name, shape in state_shapes(config, n_features, n_classes).items()
        if name.split(".")[0] in meta["networks"]
    }
    described = f"config.json and model.json ({n_features} features, {n_classes} classes)"
    # Names and shapes first, finiteness after: reading values pages the tensors in.
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(str(name) for name in set(state) - set(expected))
    if missing or unexpected:
        which = f"lacks {missing[0]}," if missing else f"holds {unexpected[0]}, not"
        raise ValueError(f"{path} {which} a tensor of the networks {described} describe.")
    for name, shape in expected.items():
        tensor = state[name]
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise ValueError(f"{path}: {name} is not a floating-point tensor.")
        if tuple(tensor.shape) != shape:
            raise ValueError(
                f"{path}: {name} has shape {tuple(tensor.shape)}; {described} call for {shape}."
            )
    for name, tensor in state.items():
        if not torch.isfinite(tensor).all():
            raise ValueError(f"{path}: {name} holds NaN or infinite weights.")
    return state
