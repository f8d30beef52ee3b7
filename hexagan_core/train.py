"""Training: `fit` and `fit_ensemble` run Algorithm 1 (`hexagan_core.algorithm`) for the
configured iterations, on the backend `engine.build_algorithm` chooses; they report to a
callback every `eval_every` iterations (losses, validation scores), obey a `RunControl` (stop,
pause), and keep the networks of the best validation report when asked.

K models (seeds, missing rates) train as one batched program (`fit_ensemble`), and so do the
members of a config with n_imputations > 1 (`ensemble.HexaGANEnsemble`). The loop never
synchronises with the device except when it reports.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hexagan_core import metrics
from hexagan_core.algorithm import Algorithm
from hexagan_core.config import HexaGANConfig
from hexagan_core.control import RunControl
from hexagan_core.decision import DECISION_RULES, DecisionRule, choose_rule
from hexagan_core.device import model_device
from hexagan_core.engine import build_algorithm
from hexagan_core.engine.runtime import cpu_threads, release_freed_heap
from hexagan_core.ensemble import HexaGANEnsemble, TrainedModel, member_configs
from hexagan_core.model import HexaGANModel

__all__ = ["fit", "fit_ensemble", "can_train_together", "Validation", "Callback"]

Callback = Callable[[dict[str, Any]], None]


@dataclass
class Validation:
    """Held-out rows to report on: inputs with NaN, ground truth, the scored entries, labels."""

    x_input: np.ndarray
    x_true: np.ndarray | None = None
    removed: np.ndarray | None = None
    y_true: np.ndarray | None = None


def _evaluate(model: HexaGANModel, validation: Validation | None, seed: int) -> dict[str, float]:
    """Validation RMSE on the scored entries and F1/AUC of C, when the data allow them."""
    if validation is None:
        return {}
    out: dict[str, float] = {}
    if validation.x_true is not None and validation.removed is not None:
        imputed = model.impute(validation.x_input, seed=seed)
        out.update(
            {
                f"val_{k}": v
                for k, v in metrics.imputation_scores(
                    validation.x_true, imputed, validation.removed
                ).items()
            }
        )
    if model.n_classes and validation.y_true is not None and (validation.y_true >= 0).any():
        proba = model.predict_proba(validation.x_input, seed=seed)
        out.update(
            {
                f"val_{k}": v
                for k, v in metrics.classification_scores(validation.y_true, proba).items()
            }
        )
    return out


def check_training_data(
    x: np.ndarray, y: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate the scaled matrix and labels; raise ValueError naming the problem."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x must be a 2-D matrix with at least 2 rows. Got shape {x.shape}.")
    if np.isinf(x).any():
        raise ValueError("x contains infinite values; use NaN for missing entries.")
    if np.isnan(x).all(axis=0).any():
        bad = int(np.flatnonzero(np.isnan(x).all(axis=0))[0])
        raise ValueError(f"Feature {bad} has no observed value; drop it before training.")
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have one label per row: x has {x.shape[0]} rows, y {y.shape}.")
    y = np.where(np.isnan(y.astype(np.float64)), -1, y).astype(np.int64)
    classes = np.unique(y[y >= 0])
    if len(classes) < 2:
        raise ValueError(f"Labelled rows must cover at least 2 classes. Got {classes.tolist()}.")
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise ValueError(f"Class codes must be 0..K-1 (and -1 for unlabelled). Got {classes}.")
    return x, y


def fit(
    config: HexaGANConfig,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    validation: Validation | None = None,
    callback: Callback | None = None,
    control: RunControl | None = None,
    device: str = "auto",
    select_best: str | None = None,
    select_classifier: str | None = None,
    decision_rule: str = "argmax",
) -> TrainedModel:
    """Train HexaGAN on `x` (min-max scaled, NaN = missing) and labels `y` (-1 = unlabelled):
    one `HexaGANModel`, or with `config.n_imputations` > 1 a `HexaGANEnsemble` of that many,
    trained together, each selected on validation as a single model is.

    Every `config.eval_every` iterations (and at the end) `callback` receives a dict with
    `iteration`, `seconds`, `losses` (each component's mean loss since the last report) and the
    validation scores (`val_rmse`, `val_f1`, ...). `control.stop()` ends training within one
    iteration; while `control` is paused, training waits. `select_best` ('val_rmse' or
    'val_f1') keeps the networks of the best validation report instead of the last ones.
    `select_classifier` ('val_log_loss' or 'val_f1'), where the validation rows have labels,
    then chooses C on its own: among C's networks at every report, the one with the lowest
    validation log-loss (or the best F1; ties: ROC-AUC, then the later) on the imputations of
    the networks kept, so that C is not frozen at an early imputation checkpoint.
    `decision_rule` 'val_f1' ends training by choosing how the model turns C's probabilities
    into classes (`decision.choose_rule`: a threshold, or per-class weights, with the best F1 on
    the labelled validation rows, from C's probabilities on the kept networks' imputations of
    them); 'argmax', or validation rows without enough labels, keep argmax.

    A loss that stops being finite ends training at the next report; the networks of the last
    report whose losses were finite are kept (the initial ones if there was none), and the
    model's `notes` say so.
    """
    (model,) = fit_ensemble(
        [config], [x], [y], validations=[validation], callback=callback, control=control,
        device=device, select_best=select_best, select_classifier=select_classifier,
        decision_rule=decision_rule,
    )  # fmt: skip
    return model


def can_train_together(xs: list[np.ndarray], ys: list[np.ndarray | None]) -> bool:
    """Whether `fit_ensemble` accepts these data: one matrix shape, and the same numbers of
    labelled and unlabelled rows (or no labels at all)."""
    if len({np.shape(x) for x in xs}) > 1 or len({y is None for y in ys}) > 1:
        return False
    return len({None if y is None else int((np.asarray(y) >= 0).sum()) for y in ys}) == 1


def fit_ensemble(
    configs: list[HexaGANConfig],
    xs: list[np.ndarray],
    ys: list[np.ndarray | None],
    *,
    validations: list[Validation | None] | None = None,
    callback: Callback | None = None,
    control: RunControl | None = None,
    device: str = "auto",
    select_best: str | None = None,
    select_classifier: str | None = None,
    decision_rule: str = "argmax",
) -> list[TrainedModel]:
    """Train K independent HexaGANs as one batched program; model k equals `fit(configs[k],
    xs[k], ys[k], ...)` up to floating-point rounding.

    The configs may differ only in `seed`; the matrices must have one shape (different masks or
    missing rates are fine) and the same numbers of labelled and unlabelled rows. Reports reach
    `callback` as in `fit`, with `member` (k) added when K > 1. MLP architectures only for K > 1.
    With n_imputations = M > 1 each config's M members (`ensemble.member_configs`) train in the
    same program, on its data and validation rows, and model k is their `HexaGANEnsemble`; their
    reports hold `imputation` (the member, 0 to M - 1) besides `member`.
    """
    if not configs or not (len(configs) == len(xs) == len(ys)):
        raise ValueError("configs, xs and ys must be non-empty lists of one length.")
    validations = validations or [None] * len(configs)
    if len(validations) != len(configs):
        raise ValueError(f"Expected {len(configs)} validations, got {len(validations)}.")
    configs = [c.validate() for c in configs]
    shared = {**configs[0].to_dict(), "seed": None}
    for c in configs[1:]:
        if {**c.to_dict(), "seed": None} != shared:
            raise ValueError("Models trained together must share every setting but `seed`.")
    checked = [check_training_data(x, y) for x, y in zip(xs, ys, strict=True)]
    if len({x.shape for x, _ in checked}) > 1 or len({y is None for _, y in checked}) > 1:
        raise ValueError("Models trained together need matrices of one shape, all with labels "
                         "or all without.")  # fmt: skip
    if select_best not in (None, "val_rmse", "val_f1"):
        raise ValueError(f"select_best must be None, 'val_rmse' or 'val_f1'. Got {select_best!r}.")
    if select_classifier not in (None, "val_log_loss", "val_f1"):
        raise ValueError("select_classifier must be None, 'val_log_loss' or 'val_f1'. "
                         f"Got {select_classifier!r}.")  # fmt: skip
    if decision_rule not in DECISION_RULES:
        raise ValueError(f"decision_rule must be one of {DECISION_RULES}. Got {decision_rule!r}.")
    # Config k stands for its n_imputations members (the model itself where that is 1), which
    # train on its data and are selected on its validation rows.
    slots = [(k, j) for k, config in enumerate(configs) for j in range(config.n_imputations)]
    members = [member for config in configs for member in member_configs(config)]
    torch_device = model_device(device, members[0], checked[0][0].shape[1], len(members))
    with cpu_threads(torch_device, configs[0]):
        algorithm = build_algorithm(members, [checked[k][0] for k, _ in slots],
                                    [checked[k][1] for k, _ in slots], torch_device)  # fmt: skip
        member_validations = [validations[k] for k, _ in slots]
        checkpoints = [_Checkpoints(select_best, select_classifier, validation)
                       for validation in member_validations]  # fmt: skip
        tags = [_report_tags(k, j, configs) for k, j in slots]
        models = iter(_train(algorithm, member_validations, callback, control or RunControl(),
                             checkpoints, tags))  # fmt: skip
        groups = [[next(models) for _ in range(config.n_imputations)] for config in configs]
        trained = [
            group[0] if len(group) == 1 else HexaGANEnsemble(config, group)
            for config, group in zip(configs, groups, strict=True)
        ]
        if decision_rule == "val_f1":  # on the threads C was chosen on: the same probabilities
            for model, validation in zip(trained, validations, strict=True):
                model.decision_rule = _validation_rule(model, validation)
    return trained


def _validation_rule(model: TrainedModel, validation: Validation | None) -> DecisionRule:
    """`decision.choose_rule` on the labelled validation rows and C's probabilities on the
    kept networks' imputations of them (an ensemble's mean; the rows and seed `select_classifier`
    scores C on); argmax without labelled validation rows."""
    if not model.n_classes or validation is None or validation.y_true is None:
        return DecisionRule()
    proba = model.predict_proba(validation.x_input, seed=model.config.seed)
    return choose_rule(validation.y_true, proba)


def _report_tags(k: int, j: int, configs: list[HexaGANConfig]) -> dict[str, int]:
    """What the reports of config k's member j say of it: `member` k when there are several
    configs, `imputation` j when config k has several members."""
    tags = {"member": k} if len(configs) > 1 else {}
    if configs[k].n_imputations > 1:
        tags["imputation"] = j
    return tags


class _Checkpoints:
    """What a run keeps of one model besides its last networks: those of its best validation
    report on `select_best`, C's at every report (when C is chosen apart) and those of the last
    report whose losses were finite."""

    def __init__(self, select_best: str | None, select_classifier: str | None,
                 validation: Validation | None):  # fmt: skip
        self.select_best, self.select_classifier = select_best, select_classifier
        self.classifier_apart = (
            select_classifier is not None and validation is not None
            and validation.y_true is not None and bool((validation.y_true >= 0).any())
        )  # fmt: skip
        self.validation = validation
        self.best_score = math.inf
        self.best_state: dict | None = None
        self.classifiers: list[tuple[dict[str, Any], dict]] = []  # (report, C's state)
        self.finite_state: dict | None = None

    def keep(self, model: HexaGANModel, report: dict[str, Any]) -> None:
        """Called at each report whose losses are finite."""
        self.finite_state = copy.deepcopy(model.networks.state_dict())
        if self.select_best in report:
            score = report[self.select_best] * (1 if self.select_best == "val_rmse" else -1)
            if score < self.best_score:
                self.best_score, self.best_state = score, self.finite_state
                report["best"] = True
        if self.classifier_apart:
            self.classifiers.append((report, copy.deepcopy(model.networks.classifier.state_dict())))

    def restore(self, model: HexaGANModel, diverged: bool) -> None:
        """Load the networks to keep into `model` once training has ended."""
        if diverged and self.finite_state is not None:
            model.networks.load_state_dict(self.finite_state)
        if self.best_state is not None:
            model.networks.load_state_dict(self.best_state)
        if self.classifiers:
            self._choose_classifier(model)

    def _choose_classifier(self, model: HexaGANModel) -> None:
        """C's network with the lowest validation log-loss, or the best F1 (then ROC-AUC), on
        the imputations of the networks kept; ties go to the later."""
        validation = self.validation
        labelled = validation.y_true >= 0
        best_key, best = None, None
        for report, state in self.classifiers:
            model.networks.classifier.load_state_dict(state)
            proba = model.predict_proba(validation.x_input, seed=model.config.seed)
            if self.select_classifier == "val_log_loss":
                key = (-metrics.log_loss(validation.y_true[labelled], proba[labelled]),
                       report["iteration"])  # fmt: skip
            else:
                scores = metrics.classification_scores(validation.y_true, proba)
                key = (scores["f1"], scores["roc_auc"], report["iteration"])
            if best_key is None or key > best_key:
                best_key, best = key, (report, state)
        report, state = best
        model.networks.classifier.load_state_dict(state)
        report["best_classifier"] = True


def _diverged_note(iteration: int, names: list[str], kept: int | None) -> str:
    kept_text = f"the networks of iteration {kept}" if kept else "the initial networks"
    return (
        f"training stopped at iteration {iteration}: the loss {', '.join(names)} is no longer "
        f"finite (diverged); kept {kept_text}. Try a lower learning rate."
    )


def _train(algorithm: Algorithm, validations: list[Validation | None], callback: Callback | None,
           control: RunControl, checkpoints: list[_Checkpoints],
           tags: list[dict[str, int]]) -> list[HexaGANModel]:  # fmt: skip
    config = algorithm.config
    models = [
        HexaGANModel(c, m, algorithm.device)
        for c, m in zip(algorithm.configs, algorithm.members, strict=True)
    ]
    loss_sums: dict[str, torch.Tensor] = {}
    since_report, diverged = 0, False
    start, paused_before = time.perf_counter(), control.paused_seconds

    last = config.pretrain_iterations + config.iterations
    for it in range(1, last + 1):
        control.wait_while_paused()
        if control.stopped or diverged:
            break
        warm_up = it <= config.pretrain_iterations
        algorithm.schedule(max(0, it - config.pretrain_iterations - 1))
        record = algorithm.iteration(algorithm.draw(), warm_up)
        if warm_up:
            continue
        algorithm.average()  # ema_decay > 0: the weights evaluated, selected and saved
        # Accumulate on the device: no host synchronisation between reports.
        for name, value in record.items():
            loss_sums[name] = loss_sums.get(name, 0.0) + value.detach()
        since_report += 1
        step = it - config.pretrain_iterations
        if step % config.eval_every and step != config.iterations:
            continue
        algorithm.sync_members()
        seconds = time.perf_counter() - start - (control.paused_seconds - paused_before)
        means = {name: (total / since_report).tolist() for name, total in loss_sums.items()}
        for k, (model, kept) in enumerate(zip(models, checkpoints, strict=True)):
            report: dict[str, Any] = {
                "iteration": step,
                "seconds": seconds,
                "backend": algorithm.name,
                "losses": {name: values[k] for name, values in means.items()},
                **tags[k],  # which model and member the report is of
            }
            not_finite = sorted(name for name, value in report["losses"].items()
                                if not math.isfinite(value))  # fmt: skip
            if not_finite:  # stop all K models: they train as one program
                diverged = True
                kept_at = model.history[-1]["iteration"] if model.history else None
                model.notes.append(_diverged_note(step, not_finite, kept_at))
            else:
                report.update(_evaluate(model, validations[k], model.config.seed))
                kept.keep(model, report)
            model.history.append(report)
            if callback is not None:
                callback(report)
        loss_sums, since_report = {}, 0

    algorithm.sync_members()
    if algorithm.device.type == "cpu":
        release_freed_heap()
    for model, kept in zip(models, checkpoints, strict=True):
        kept.restore(model, diverged)  # all K stopped; a member that stayed finite keeps its own
    return models
