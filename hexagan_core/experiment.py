"""One scored run: load data, apply the protocol's masks, train HexaGAN and the baselines on the
same splits, score every method on the test rows, and report. The CLI and the dashboard both
call `run_experiment`; the model is selected on the validation split only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from hexagan_core import data as data_module
from hexagan_core import metrics
from hexagan_core.baselines import ClassificationPipeline, make_imputer
from hexagan_core.config import HexaGANConfig, penalty_cost_note, preset
from hexagan_core.control import RunControl
from hexagan_core.device import accelerator, choose_device, resolve_device
from hexagan_core.ensemble import HexaGANEnsemble, TrainedModel, require_ensemble
from hexagan_core.estimate import estimate_duration
from hexagan_core.model import HexaGANModel
from hexagan_core.persist import Pipeline
from hexagan_core.protocol import Experiment, Split, prepare, scarcity_note
from hexagan_core.train import Callback, Validation, can_train_together, fit_ensemble

__all__ = [
    "RunOptions",
    "RunResult",
    "fit_runs",
    "load_dataset",
    "preset_for_data",
    "run_experiment",
    "run_experiments",
    "selected_iteration",
    "training_config",
]


@dataclass
class RunOptions:
    """What to run: the data, the protocol's knobs, HexaGAN's config and the baselines."""

    data: str
    label: str | None = None
    missing_rate: float = 0.2
    mechanism: str = "mcar"
    label_missing_rate: float = 0.0
    imbalance_ratio: float | None = None
    preset: str = "default"
    """The preset that trains when `config` is None ('default' on MNIST: 'mnist', see
    `preset_for_data`); else the name the report gives `config`, the preset it started from."""
    config: HexaGANConfig | None = None
    """The config to train (a dashboard form's, a benchmark's variant), or None for `preset`'s."""
    iterations: int | None = None
    """Training iterations instead of the config's (None: the config's)."""
    seed: int = 0
    """Seed of the split, of the masks and of training (it replaces the config's `seed`)."""
    device: str = "auto"
    baselines: list[str] = field(default_factory=list)
    baseline_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Constructor parameters per baseline imputer, e.g. {"mice": {"n_nearest_features": 50}}."""
    max_rows: int | None = None
    select_on: str = "auto"
    """Validation score that selects the networks: 'val_rmse', 'val_f1', 'last' (no selection)
    or 'auto' (RMSE when entries were hidden, else F1)."""
    select_classifier: str | None = "val_f1"
    """How C is chosen apart from the other networks, where the validation rows have labels:
    'val_f1' (C's network of the report with the best validation F1 on the kept networks'
    imputations; BENCHMARKS.md, "C chosen apart"), 'val_log_loss', or None (C stays with the
    networks `select_on` keeps)."""
    decision_rule: str = "argmax"
    """How C's probabilities become classes (`predict`, the report's F1 and accuracy):
    'argmax', or 'val_f1', a threshold (per-class weights with more than two classes) chosen
    for F1 on the validation rows at the end of training (`decision.choose_rule`;
    BENCHMARKS.md, "A decision threshold chosen on validation")."""


def load_dataset(
    name_or_path: str, label: str | None = None, max_rows: int | None = None, seed: int = 0
) -> data_module.Dataset:
    """A built-in dataset by name, or a CSV file by path (the label column is then optional)."""
    if name_or_path in data_module.BUILTIN_DATASETS:
        if label is not None:
            raise ValueError(f"--label applies to CSV files; {name_or_path!r} has its own labels.")
        return data_module.load_builtin(name_or_path, max_rows=max_rows, seed=seed)
    path = Path(name_or_path)
    if not path.exists():
        raise ValueError(
            f"{name_or_path!r} is neither a built-in dataset "
            f"({', '.join(data_module.BUILTIN_DATASETS)}) nor an existing file."
        )
    dataset = data_module.read_csv(path, label=label)
    if max_rows is not None and len(dataset.features) > max_rows:
        rows = np.random.default_rng(seed).choice(len(dataset.features), max_rows, replace=False)
        rows.sort()
        dataset.features = dataset.features.iloc[rows].reset_index(drop=True)
        if dataset.labels is not None:
            dataset.labels = dataset.labels[rows]
        dataset.notes.append(f"random subsample of {max_rows} rows")
    return dataset


def _scores(split: Split, imputed: np.ndarray, proba: np.ndarray | None,
            y_pred: np.ndarray | None = None) -> dict[str, Any]:  # fmt: skip
    """Every metric of the report for one method on one split (None where not applicable);
    F1 and accuracy of the classes `y_pred` (default: the argmax of `proba`)."""
    out: dict[str, Any] = dict.fromkeys(("rmse", "rmse_row", "mae", "f1", "roc_auc", "accuracy"))
    if split.removed.any():
        out.update(metrics.imputation_scores(split.x_true, imputed, split.removed))
    if proba is not None and split.y_true is not None and (split.y_true >= 0).any():
        out.update(metrics.classification_scores(split.y_true, proba, y_pred=y_pred))
    return {k: (None if v is None or not np.isfinite(v) else float(v)) for k, v in out.items()}


@dataclass
class RunResult:
    """The trained model, its experiment and the JSON-ready report."""

    experiment: Experiment
    model: TrainedModel
    report: dict[str, Any]

    def pipeline(self) -> Pipeline:
        e = self.experiment
        return Pipeline(
            self.model, e.encoder, e.scaler, e.dataset.class_names, e.dataset.label_name
        )

    def imputed_table(self) -> pd.DataFrame:
        """The dataset's real missing cells filled by HexaGAN, in original units and order."""
        e = self.experiment
        rows, x_true = self._dataset_rows()
        table = e.to_original_units(self.model.impute(x_true, seed=e.seed))
        original = e.dataset.features.iloc[rows].reset_index(drop=True)
        table = original.where(original.notna(), table)
        if e.dataset.labels is not None:
            labels = e.dataset.labels[rows]
            names = np.array(e.dataset.class_names + [""], dtype=object)
            table[self._label_column] = names[np.where(labels >= 0, labels, -1)]
        return table

    def spread_table(self) -> pd.DataFrame:
        """`imputed_table`'s shape: how far the imputation models disagree on each of its
        cells (`Pipeline.matrix_spread`: a standard deviation in the column's units, or the
        share of members that chose another category), 0 at observed cells and in the label
        column, which is never imputed. ValueError for a single model."""
        _, x_true = self._dataset_rows()
        table = self.pipeline().matrix_spread(x_true, seed=self.experiment.seed)
        if self.experiment.dataset.labels is not None:
            table[self._label_column] = 0.0
        return table

    def test_spread(self, max_rows: int = 50) -> pd.DataFrame:
        """The first `max_rows` test rows' spread across the imputation models, one column per
        encoded feature, in min-max units (comparable across columns); NaN at observed cells.
        ValueError for a single model."""
        e = self.experiment
        x_input = e.test.x_input[:max_rows]
        spread = require_ensemble(self.model).impute_std(x_input, seed=e.seed)
        return pd.DataFrame(np.where(np.isnan(x_input), spread, np.nan), columns=e.feature_names)

    @property
    def _label_column(self) -> str:
        return self.experiment.dataset.label_name or "label"

    def _dataset_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept row of the dataset in its order: their indices and scaled values with
        the real missing cells as NaN (the cells the protocol hid are filled in)."""
        e = self.experiment
        rows = np.concatenate([e.train.rows, e.val.rows, e.test.rows])
        x_true = np.concatenate([e.train.x_true, e.val.x_true, e.test.x_true])
        order = np.argsort(rows)
        return rows[order], x_true[order]

    def save(self, directory: str | Path) -> Path:
        return self.pipeline().save(directory, extra={"report": self.report})

    def summary(self) -> str:
        """A plain-text table of the test scores, one line per method."""
        columns = ("rmse", "rmse_row", "mae", "f1", "roc_auc", "accuracy", "seconds")
        lines = [f"{'method':12s}" + "".join(f"{c:>10s}" for c in columns)]
        for method, scores in self.report["results"].items():
            cells = "".join(
                f"{'-':>10s}" if scores[c] is None else f"{scores[c]:>10.4f}" for c in columns
            )
            lines.append(f"{method:12s}{cells}")
        return "\n".join(lines)


def prepare_experiment(options: RunOptions) -> Experiment:
    """The run's data, split and masks, as `run_experiment` prepares them (nothing trained)."""
    dataset = load_dataset(options.data, options.label, options.max_rows, options.seed)
    return prepare(
        dataset, missing_rate=options.missing_rate, mechanism=options.mechanism,
        label_missing_rate=options.label_missing_rate, imbalance_ratio=options.imbalance_ratio,
        seed=options.seed,
    )  # fmt: skip


def score_baselines(
    options: RunOptions,
    experiment: Experiment,
    names: list[str],
    device: str,
    control: RunControl | None = None,
) -> dict[str, dict[str, Any]]:
    """{name: test scores and seconds} of baselines fitted on the experiment's training rows:
    the imputer alone, or with labels the imputer and an MLP (`ClassificationPipeline`).
    Once `control` is stopped, the baselines not yet fitted are left out."""
    # One BLAS thread: sklearn's imputers run small matrices, and spinning BLAS threads on busy
    # cores made MICE 20x slower on breast (15 s vs 0.7 s, 2 cores).
    with threadpool_limits(limits=1):
        return {
            name: _baseline_scores(
                name, options.baseline_params.get(name, {}), experiment, options.seed, device
            )
            for name in names
            if control is None or not control.stopped  # checked before each baseline
        }


def _baseline_scores(
    name: str, params: dict[str, Any], experiment: Experiment, seed: int, device: str
) -> dict:
    train, test = experiment.train, experiment.test
    start = time.perf_counter()
    if experiment.n_classes:
        classifier = ClassificationPipeline(
            imputer=name, imputer_params=params, seed=seed, device=device
        )
        classifier.fit(train.x_input, train.y_input)
        imputed, proba = (
            classifier.imputer_.transform(test.x_input),
            classifier.predict_proba(test.x_input),
        )
    else:
        imputer = make_imputer(name, seed=seed, device=device, **params).fit(train.x_input)
        imputed, proba = imputer.transform(test.x_input), None
    scores = _scores(test, imputed, proba)
    scores["seconds"] = time.perf_counter() - start
    return scores


def run_experiment(
    options: RunOptions,
    *,
    progress: bool = False,
    callback: Callback | None = None,
    control: RunControl | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RunResult:
    """Run HexaGAN and the requested baselines under one protocol; see RunOptions.
    `on_note` gets, before training, the data's notes (what reading it dropped or changed) and
    what the user should know about its cost (e.g. the exact penalty on wide data).
    `control.stop()` ends training within one iteration and skips the baselines not yet fitted;
    the result then holds the networks trained so far."""
    (result,) = run_experiments(
        [options], progress=progress, callback=callback, control=control, on_note=on_note
    )
    return result


def run_experiments(
    runs: list[RunOptions],
    *,
    progress: bool = False,
    callback: Callback | None = None,
    control: RunControl | None = None,
    on_note: Callable[[str], None] | None = None,
) -> list[RunResult]:
    """`run_experiment` for several seeds of one setting (RunOptions equal but for `seed`).

    Each run gets its own data, split and masks, exactly as alone; HexaGAN's models train
    together when they can (`fit_runs`), and each equals the one `run_experiment` would train,
    to floating-point rounding. The callback gets each model's reports (with `member` when
    several train together).
    """
    if not runs:
        raise ValueError("runs must hold at least one RunOptions.")
    shared = {**vars(runs[0]), "seed": None}
    if any({**vars(o), "seed": None} != shared for o in runs[1:]):
        raise ValueError("run_experiments takes RunOptions that differ only in `seed`.")
    stray = sorted(set(runs[0].baseline_params) - set(runs[0].baselines))
    if stray:
        raise ValueError(
            f"baseline_params names {', '.join(map(repr, stray))}, not among the baselines "
            f"{runs[0].baselines}."
        )
    started = time.perf_counter()
    options = runs[0]
    experiments = [prepare_experiment(run) for run in runs]
    if on_note is not None:  # what reading the data dropped or changed, said before training
        for note in experiments[0].dataset.notes:
            on_note(note)
    trained = [training_config(run) for run in runs]  # one preset: the runs differ in seed
    preset_name, configs = trained[0][0], [config for _, config in trained]
    device = str(resolve_device(options.device))
    notes: list[str] = []
    if options.device == "auto" and accelerator() is not None:
        # what 'auto' chose, and why (the runs train together when they can: K models)
        choice = choose_device(configs[0], experiments[0].n_features, len(configs))
        device = str(choice.device)
        notes.append(f"device 'auto' trains on {choice.reason}")
    select_best = config_selection(experiments[0], options.select_on)

    cost_note = penalty_cost_note(configs[0], experiments[0].n_features)
    if cost_note:
        notes.append(cost_note)
    scarcity = scarcity_note(experiments[0])
    if scarcity:
        notes.append(scarcity)
    if on_note is not None:  # before the long wait, not only in the report
        for note in notes:
            on_note(note)
        if len(runs) == 1 and configs[0].engine == "eager":  # a 'compiled' probe would compile
            train = experiments[0].train
            on_note(str(estimate_duration(configs[0], train.x_input, train.y_input, device=device)))
    bar = _progress_bar(configs[0].iterations) if progress else None

    def report_progress(record: dict[str, Any]) -> None:
        if bar is not None and record.get("member", 0) == 0:
            bar.update(record["iteration"] - bar.n)
            shown = {k: f"{record[k]:.4f}" for k in ("val_rmse", "val_f1") if k in record}
            bar.set_postfix(shown, refresh=False)
        if callback is not None:
            callback(record)

    control = control or RunControl()
    models, seconds = fit_runs(
        configs, experiments, device=device, select_best=select_best,
        select_classifier=options.select_classifier, decision_rule=options.decision_rule,
        callback=report_progress, control=control,
    )  # fmt: skip
    if bar is not None:
        bar.close()
    return [
        _score_run(
            run, experiment, model, train_seconds, preset_name, device, control, started, notes
        )
        for run, experiment, model, train_seconds in zip(
            runs, experiments, models, seconds, strict=True
        )
    ]


def fit_runs(
    configs: list[HexaGANConfig],
    experiments: list[Experiment],
    *,
    device: str,
    select_best: str | None,
    select_classifier: str | None = None,
    decision_rule: str = "argmax",
    callback: Callback | None = None,
    control: RunControl | None = None,
) -> tuple[list[TrainedModel], list[float]]:
    """HexaGAN on each experiment's training rows with its config, the networks selected on its
    validation split by `select_best` (C by `select_classifier`, its decision by
    `decision_rule`, see `train.fit`); the models and each one's training seconds.

    The models train together as one batched program (`fit_ensemble`) when their training
    matrices agree in shape and labelled rows (`train.can_train_together`), else one by one. On
    small networks a batch costs little more than one model; each model's seconds is then the
    batch's time divided by its size. After a stop, the models not yet trained return at once.
    """
    together = can_train_together(
        [e.train.x_input for e in experiments], [e.train.y_input for e in experiments]
    )
    runs = list(zip(configs, experiments, strict=True))
    models: list[TrainedModel] = []
    seconds: list[float] = []
    for group in [runs] if together else [[run] for run in runs]:
        start = time.perf_counter()
        members = [experiment for _, experiment in group]
        models += fit_ensemble(
            [config for config, _ in group],
            [e.train.x_input for e in members],
            [e.train.y_input for e in members],
            validations=[
                Validation(e.val.x_input, e.val.x_true, e.val.removed, e.val.y_true)
                for e in members
            ],
            callback=callback,
            control=control,
            device=device,
            select_best=select_best,
            select_classifier=select_classifier,
            decision_rule=decision_rule,
        )
        seconds += [(time.perf_counter() - start) / len(group)] * len(group)
    return models, seconds


def _score_run(
    options: RunOptions,
    experiment: Experiment,
    model: TrainedModel,
    train_seconds: float,
    preset_name: str,
    device: str,
    control: RunControl,
    started: float,
    notes: list[str],
) -> RunResult:
    """Score HexaGAN and fit and score the baselines on one run's test split; the report.

    A stopped run returns at once with what HexaGAN learned so far: no more baselines."""
    test, val, dataset = experiment.test, experiment.val, experiment.dataset
    proba, y_pred = None, None
    if model.n_classes:
        proba = model.predict_proba(test.x_input, seed=options.seed)
        y_pred = model.decision_rule.predict(proba)
    imputed = model.impute(test.x_input, seed=options.seed)
    results = {"hexagan": _scores(test, imputed, proba, y_pred)}
    results["hexagan"]["seconds"] = train_seconds
    results.update(score_baselines(options, experiment, options.baselines, device, control))

    report = {
        "dataset": dataset.name,
        "rows": int(len(experiment.kept_rows)),
        "features": int(dataset.features.shape[1]),
        "encoded_features": int(experiment.n_features),
        "label": dataset.label_name,
        "classes": dataset.class_names,
        "missing_rate": options.missing_rate,
        "mechanism": options.mechanism,
        "label_missing_rate": options.label_missing_rate,
        "imbalance_ratio": options.imbalance_ratio,
        "seed": options.seed,
        "device": device,
        "preset": preset_name,
        "iterations": model.history[-1]["iteration"] if model.history else 0,
        **_selections(model),
        "decision_rule": model.decision_rule.to_dict(),
        "seconds": time.perf_counter() - started,
        "split_rows": {
            "train": len(experiment.train.rows),
            "val": len(val.rows),
            "test": len(test.rows),
        },
        "notes": [
            *dataset.notes,
            *notes,
            *model.notes,
            *(["stopped early: baselines skipped"] if control.stopped else []),
        ],
        "config": model.config.to_dict(),
        "results": results,
    }
    return RunResult(experiment, model, report)


def training_config(options: RunOptions) -> tuple[str, HexaGANConfig]:
    """The preset name and the config that `run_experiment(options)` trains with: `options.config`
    (or its preset's) with `options.iterations` and `options.seed` applied.

    A given config is not validated again here: training checks it, once, before it starts."""
    if options.config is None:
        preset_name = preset_for_data(options.preset, options.data)
        config = preset(preset_name)
    else:
        preset_name, config = options.preset, options.config
    changes: dict[str, Any] = {"seed": options.seed}
    if options.iterations is not None:
        changes["iterations"] = options.iterations
    return preset_name, config.replace(**changes)


def preset_for_data(preset_name: str, data: str) -> str:
    """The preset that `preset_name` stands for on `data`: 'default' on MNIST is 'mnist', the
    supplement's convnets for 28x28 images; any other name stands for itself."""
    return "mnist" if preset_name == "default" and data == "mnist" else preset_name


SELECT_ON = ("auto", "val_rmse", "val_f1", "last")


def config_selection(experiment: Experiment, select_on: str = "auto") -> str | None:
    """The validation score that selects the networks (None: keep the last ones).

    'auto' selects on validation RMSE when entries were hidden, else on F1, else not at all.
    """
    if select_on not in SELECT_ON:
        raise ValueError(f"select_on must be one of {SELECT_ON}. Got {select_on!r}.")
    if select_on == "val_f1" and not experiment.n_classes:
        raise ValueError("select_on='val_f1' needs labels; this dataset has none.")
    if select_on == "val_rmse" and not experiment.val.removed.any():
        raise ValueError("select_on='val_rmse' needs hidden validation entries (missing_rate > 0).")
    if select_on != "auto":
        return None if select_on == "last" else select_on
    if experiment.val.removed.any():
        return "val_rmse"
    if experiment.n_classes:
        return "val_f1"
    return None


def _selections(model: TrainedModel) -> dict[str, Any]:
    """The report's selected iterations: the model's, or the first imputation model's with
    `imputation_models` listing each one's seed and selections."""
    members = model.members if isinstance(model, HexaGANEnsemble) else [model]
    each = [
        {
            "seed": member.config.seed,
            "selected_iteration": selected_iteration(member),
            "selected_classifier_iteration": selected_iteration(member, "best_classifier"),
        }
        for member in members
    ]
    selections = {key: each[0][key] for key in ("selected_iteration",
                                                "selected_classifier_iteration")}  # fmt: skip
    if len(each) > 1:
        selections["imputation_models"] = each
    return selections


def selected_iteration(model: HexaGANModel, flag: str = "best") -> int | None:
    """The iteration whose networks were kept (`flag` 'best'; C's: 'best_classifier')."""
    best = [r["iteration"] for r in model.history if r.get(flag)]
    return best[-1] if best else None


def _progress_bar(total: int):
    from tqdm import tqdm  # stderr progress bar for the CLI only

    return tqdm(total=total, unit="it", desc="HexaGAN", leave=False)
