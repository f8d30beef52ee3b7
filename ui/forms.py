"""Widgets in, plain values out: the training form returns a HexaGANConfig and nothing else.

Option catalogues are module-level data (`FIELD_GROUPS`, `CHOICES` from the core). Help texts
are the field docstrings of `HexaGANConfig`, which name each value's symbol in the paper. Each
widget is keyed per page and seeded from the remembered value, so a page switch keeps it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Sequence
from typing import Any

import streamlit as st
import torch

from hexagan_core.baselines import IMPUTERS
from hexagan_core.config import CHOICES, NUMERIC_CONSTRAINTS, HexaGANConfig, field_help
from hexagan_core.masks import MECHANISMS
from hexagan_core.study import METHODS, StudyOptions
from ui import state
from ui.state import DataChoice

__all__ = [
    "FIELD_GROUPS",
    "available_devices",
    "baselines_select",
    "config_form",
    "device_select",
    "protocol_form",
    "study_form",
]

# Every HexaGANConfig field but `seed` (set on the Data page: it also seeds the split and masks).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "Schedule": (
        "iterations", "batch_size", "n_critic", "n_cg", "pretrain_iterations", "update_order",
        "eval_every", "n_imputations",
    ),
    "Loss weights": (
        "alpha1", "adversarial_weight", "alpha2", "alpha3", "alpha4", "lambda1", "lambda2",
        "penalty", "penalty_projections", "cg_penalty", "clip_value", "cg_penalty_reduction",
        "adversarial_loss", "label_adversarial", "mode_seeking", "mode_seeking_from",
        "recon_drop_rate", "recon_drop", "noise_scale", "classifier_balance",
    ),
    "Optimisation": (
        "optimizer", "lr", "lr_cg", "lr_c", "lr_decay", "lr_schedule", "ema_decay",
        "c_weight_decay",
    ),
    "Networks": (
        "architecture", "min_width", "engine", "latent", "noise_dim", "cg_critic", "cg_condition",
        "cg_anchor", "cg_leak", "g_mi_output",
    ),
}  # fmt: skip

# Shown in scientific notation (learning rates and small weights).
_SCIENTIFIC = frozenset({"lr", "lr_cg", "lr_c", "c_weight_decay", "clip_value", "alpha3"})

MECHANISM_HELP = {
    "mcar": "MCAR: missing completely at random (every observed cell equally likely).",
    "mar": "MAR: missing at random (depends on other, observed columns).",
    "mnar": "MNAR: missing not at random (depends on the hidden value itself).",
}


_DEFAULTS = HexaGANConfig()
_FIELD_TYPES = {f.name: str(f.type) for f in dataclasses.fields(HexaGANConfig)}


def _bounds(name: str) -> tuple[float | None, float | None]:
    if name not in NUMERIC_CONSTRAINTS:
        return None, None
    rule = NUMERIC_CONSTRAINTS[name]
    return rule.low, rule.high


def _index(options: Sequence[Any], value: Any, default: int = 0) -> int:
    """The position of `value` in `options` (for a widget's initial selection)."""
    options = list(options)
    return options.index(value) if value in options else default


def _field_widget(name: str, value: Any, page: str, disabled: bool) -> Any:
    key = state.widget_key(page, name)
    label = name
    help_text = field_help().get(name, "")
    if name in CHOICES:
        options = CHOICES[name]
        return st.selectbox(
            label, options, index=_index(options, value), key=key, help=help_text,
            disabled=disabled,
        )  # fmt: skip
    low, high = _bounds(name)
    if _FIELD_TYPES[name] == "int":
        return int(
            st.number_input(
                label,
                min_value=None if low is None else int(low),
                max_value=None if high is None else int(high),
                value=int(value),
                step=1,
                key=key,
                help=help_text,
                disabled=disabled,
            )
        )
    number_format = "%.2e" if name in _SCIENTIFIC else "%.4g"
    reference = float(getattr(_DEFAULTS, name)) or 0.1  # fixed per field: a stable widget
    step = 10 ** math.floor(math.log10(abs(reference))) / 10
    return float(
        st.number_input(
            label,
            min_value=None if low is None else float(low),
            max_value=None if high is None else float(high),
            value=float(value),
            step=float(step),
            format=number_format,
            key=key,
            help=help_text,
            disabled=disabled,
        )
    )


def config_form(
    base: HexaGANConfig, *, page: str = "train", disabled: bool = False
) -> HexaGANConfig:
    """Every hyperparameter, grouped; returns the validated config (ValueError if out of range)."""
    values: dict[str, Any] = {}
    groups = list(FIELD_GROUPS.items())
    columns = st.columns(2)
    for index, (group, names) in enumerate(groups):
        with columns[index % 2], st.expander(group, expanded=group == "Schedule"):
            for name in names:
                values[name] = _field_widget(name, getattr(base, name), page, disabled)
    known = {f.name for f in dataclasses.fields(HexaGANConfig)}
    return base.replace(**{k: v for k, v in values.items() if k in known}).validate()


def available_devices() -> list[str]:
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def device_select(page: str, current: str, disabled: bool = False) -> str:
    key = state.widget_key(page, "device")
    devices = available_devices()
    return st.selectbox(
        "Device",
        devices,
        index=_index(devices, current),
        key=key,
        disabled=disabled,
        help="'auto' takes the faster device for the model: a GPU for the MNIST convnets and for "
        "wide or many models, the CPU for small tabular networks (the page says which, and "
        "why). Only devices found here are listed.",
    )


def baselines_select(page: str, current: Sequence[str], disabled: bool = False) -> tuple[str, ...]:
    key = state.widget_key(page, "baselines")
    chosen = st.multiselect(
        "Baselines to compare with",
        IMPUTERS,
        default=[b for b in current if b in IMPUTERS],
        key=key,
        disabled=disabled,
        help="Each baseline imputes the same training rows; for labelled data a fixed classifier "
        "(an MLP shaped like C) is trained on its imputed rows. GAIN and MissForest are slower.",
    )
    return tuple(chosen)


def protocol_form(choice: DataChoice, *, has_labels: bool, n_rows: int | None) -> DataChoice:
    """The protocol's knobs: missing rate, mechanism, label-missing rate, imbalance, rows, seed."""
    page = "data"
    keys = {name: state.widget_key(page, name) for name in (
        "missing_rate", "mechanism", "label_missing_rate", "imbalance", "imbalance_ratio",
        "seed",
    )}  # fmt: skip
    # The row budget belongs to the dataset: a new dataset starts from its own default.
    scope = hashlib.sha256(choice.source.encode()).hexdigest()[:10]
    keys["subsample"] = state.widget_key(page, f"subsample.{scope}")
    keys["max_rows"] = state.widget_key(page, f"max_rows.{scope}")
    left, right = st.columns(2)
    with left:
        missing = st.slider(
            "Missing rate (%)", 0, 90, int(round(choice.missing_rate * 100)), step=5,
            key=keys["missing_rate"],
            help="Share of the observed cells hidden on top of the real missing ones. Hidden "
            "cells keep their true value, so imputation can be scored (RMSE).",
        )  # fmt: skip
        mechanism = st.selectbox(
            "Mechanism", MECHANISMS, index=_index(MECHANISMS, choice.mechanism),
            key=keys["mechanism"],
            format_func=lambda m: MECHANISM_HELP[m].split(":")[0],
            help=" ".join(MECHANISM_HELP.values()),
        )  # fmt: skip
        label_missing = st.slider(
            "Label-missing rate (%)", 0, 95, int(round(choice.label_missing_rate * 100)), step=5,
            key=keys["label_missing_rate"],
            disabled=not has_labels,
            help="Share of the training labels hidden: C learns from these unlabelled rows "
            "through D_MI (the semi-supervised part of HexaGAN)."
            + ("" if has_labels else " Needs a label column."),
        )  # fmt: skip
    with right:
        imbalance = st.toggle(
            "Make the classes imbalanced", value=choice.imbalance_ratio is not None,
            key=keys["imbalance"], disabled=not has_labels,
            help="Subsample the minority class so the largest class is this many times larger; "
            "G_CG then generates minority rows to rebalance C's training.",
        )  # fmt: skip
        ratio = st.number_input(
            "Imbalance ratio (largest class : minority class)", min_value=1.0, max_value=100.0,
            value=float(choice.imbalance_ratio or 5.0), step=1.0, key=keys["imbalance_ratio"],
            disabled=not (imbalance and has_labels),
        )  # fmt: skip
        subsample = st.toggle(
            "Use a random subsample of the rows", value=choice.max_rows is not None,
            key=keys["subsample"],
            help="Faster training on large tables (class-stratified for built-in datasets).",
        )  # fmt: skip
        max_rows = st.number_input(
            "Rows to keep", min_value=10, max_value=max(10, n_rows or 10_000_000),
            value=int(choice.max_rows or min(n_rows or 5000, 5000)), step=500,
            key=keys["max_rows"], disabled=not subsample,
        )  # fmt: skip
        seed = st.number_input(
            "Seed", min_value=0, max_value=2**31 - 1, value=int(choice.seed), step=1,
            key=keys["seed"],
            help="Seeds the split, the hidden cells and training (the same seed gives the same "
            "run on the CPU).",
        )  # fmt: skip
    return choice.with_(
        missing_rate=missing / 100,
        mechanism=mechanism,
        label_missing_rate=label_missing / 100 if has_labels else 0.0,
        imbalance_ratio=float(ratio) if imbalance and has_labels else None,
        max_rows=int(max_rows) if subsample else None,
        seed=int(seed),
    )


# Large built-in datasets start subsampled on the Data page (the user can switch it off).
DEFAULT_ROWS: dict[str, int] = {"mnist": 5000, "credit": 5000}

_STUDY_RATES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def study_form(choice: DataChoice, *, disabled: bool = False) -> StudyOptions:
    """The sweep: rates, methods, seeds and budgets, on the data chosen on the Data page."""
    page = "study"
    last = state.study_options()
    keys = {name: state.widget_key(page, name) for name in (
        "rates", "methods", "seeds", "iterations", "gain_iterations", "max_rows",
    )}  # fmt: skip
    left, right = st.columns(2)
    with left:
        rates = st.multiselect(
            "Missing rates", _STUDY_RATES, default=[r for r in last.rates if r in _STUDY_RATES],
            key=keys["rates"], disabled=disabled, format_func=lambda r: f"{r:.0%}",
            help="Each rate hides that share of the cells.",
        )  # fmt: skip
        methods = st.multiselect(
            "Methods", METHODS, default=[m for m in last.methods if m in METHODS],
            key=keys["methods"], disabled=disabled,
            help="HexaGAN against GAIN (a GAN imputer), MICE (chained regressions), "
            "k-nearest neighbours and the column mean.",
        )  # fmt: skip
        seeds = st.slider(
            "Seeds per point", 1, 5, len(last.seeds), key=keys["seeds"], disabled=disabled,
            help="Each (rate, method) is run with this many seeds; error bars show their spread.",
        )  # fmt: skip
    with right:
        iterations = st.number_input(
            "HexaGAN iterations per run", min_value=10, max_value=20000, value=last.iterations,
            step=50, key=keys["iterations"], disabled=disabled,
        )  # fmt: skip
        gain_iterations = st.number_input(
            "GAIN iterations per run", min_value=10, max_value=20000,
            value=last.gain_iterations, step=100, key=keys["gain_iterations"], disabled=disabled,
        )  # fmt: skip
        max_rows = st.number_input(
            "Rows (random subsample of larger tables)", min_value=10, max_value=100000,
            value=last.max_rows or 2000, step=500, key=keys["max_rows"], disabled=disabled,
        )  # fmt: skip
        device = device_select(page, last.device, disabled=disabled)
    options = StudyOptions(
        data=choice.source,
        label=choice.label,
        rates=tuple(sorted(rates)),
        methods=tuple(methods),
        seeds=tuple(range(int(seeds))),
        mechanism=choice.mechanism,
        iterations=int(iterations),
        gain_iterations=int(gain_iterations),
        device=device,
        max_rows=int(max_rows),
    )
    state.set_study_options(options)
    return options
