"""What the Samples page shows: generated digits, imputed images, generated table rows and how
recognisable and varied the samples are; and what a loaded shipped model says about itself.

Models work in the scaled space of the protocol (min-max per column, fitted on the training
rows). Images are mapped back to pixel intensities in [0, 1]: `scaler.inverse_transform`, then
divided by the dataset's largest pixel value (255 for MNIST, 16 for scikit-learn's digits) and
clipped. Tables are mapped back to original units with `Experiment.to_original_units`.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from hexagan_core.ensemble import TrainedModel
from hexagan_core.experiment import RunResult
from hexagan_core.pretrained import SHIPPED_KEY
from hexagan_core.protocol import Experiment
from hexagan_core.quality import SampleJudge, SampleQuality

__all__ = [
    "digit_grid",
    "generated_rows",
    "imputation_triplets",
    "is_shipped",
    "real_vs_generated",
    "sample_quality",
    "shipped_model_summary",
]

PIXEL_MAX: dict[str, float] = {"mnist": 255.0, "digits": 16.0}
"""The largest pixel value of the built-in image datasets (others: the largest value seen)."""

Triplet = tuple[np.ndarray, np.ndarray, np.ndarray]


def digit_grid(
    model: TrainedModel,
    *,
    per_class: int = 8,
    seed: int = 0,
    image_shape: tuple[int, int] = (28, 28),
    experiment: Experiment | None = None,
) -> np.ndarray:
    """Generated images, shape (n_classes, per_class, H, W), values in [0, 1].

    Row c holds `model.sample(c, per_class, seed)`: the same noise for every class, so a column
    shows one "style" written as each digit. Without `experiment` the scaled values are shown
    as they are (clipped to [0, 1]); with it they are mapped back to pixel intensities.
    """
    _require_classes(model)
    _check_count(per_class, "per_class")
    height, width = image_shape
    if height * width != model.n_features:
        raise ValueError(
            f"image_shape {tuple(image_shape)} has {height * width} pixels, but the model has "
            f"{model.n_features} features."
        )
    images = []
    for label in range(model.n_classes):
        x, _ = model.sample(label, per_class, seed=seed)
        pixels = np.clip(x, 0.0, 1.0) if experiment is None else _intensities(experiment, x)
        images.append(pixels.reshape(per_class, height, width))
    return np.stack(images)


def imputation_triplets(result: RunResult, n: int = 6, seed: int = 0) -> list[Triplet]:
    """(original, masked, imputed) images of `n` random test rows with removed pixels.

    Each is an array of the dataset's `image_shape` with intensities in [0, 1]; `masked` has NaN
    at the missing pixels (removed by the protocol or missing in the source), `imputed` fills
    them with HexaGAN's estimates. Fewer than `n` when fewer test rows have removed pixels.
    """
    _check_count(n, "n")
    experiment = result.experiment
    shape = _image_shape(experiment)
    test = experiment.test
    candidates = np.flatnonzero(test.removed.any(axis=1))
    if not len(candidates):
        raise ValueError(
            "No test row has a removed pixel (missing_rate 0?): nothing to show being imputed."
        )
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(candidates, size=min(n, len(candidates)), replace=False))
    x_input = test.x_input[rows]
    imputed = result.model.impute(x_input, seed=experiment.seed)
    original, masked, filled = (
        _intensities(experiment, x).reshape(len(rows), *shape)
        for x in (test.x_true[rows], x_input, imputed)
    )
    return [(original[i], masked[i], filled[i]) for i in range(len(rows))]


def generated_rows(result: RunResult, per_class: int = 50, seed: int = 0) -> pd.DataFrame:
    """`per_class` rows of every class from G_MI(G_CG(z, y)), in original units.

    The dataset's feature columns (categories decoded to their most likely level, whole-number
    columns rounded) and a "class" column with the class name.
    """
    _require_classes(result.model)
    _check_count(per_class, "per_class")
    experiment = result.experiment
    _check_class_column(experiment)
    frames = []
    for label, name in enumerate(experiment.dataset.class_names):
        x, _ = result.model.sample(label, per_class, seed=seed)
        frame = experiment.to_original_units(x)
        frame["class"] = name
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def real_vs_generated(
    result: RunResult, column: str, per_class: int = 200, seed: int = 0
) -> pd.DataFrame:
    """One feature of real training rows and of generated rows, in long format.

    Columns ``value`` (original units), ``class`` (name; "unknown" for a real row without a
    label) and ``source``: "real" for training rows whose `column` the model saw (not missing,
    not removed), at most `per_class` at random per class; "generated" for `per_class` rows of
    each class from `model.sample`.
    """
    _require_classes(result.model)
    _check_count(per_class, "per_class")
    experiment = result.experiment
    features = experiment.dataset.features
    if column not in features.columns:
        shown = ", ".join(repr(c) for c in list(features.columns)[:8])
        raise ValueError(
            f"Unknown column {column!r}; the dataset's columns are {shown}"
            + (", ..." if features.shape[1] > 8 else "")
        )
    names = np.array([*experiment.dataset.class_names, "unknown"], dtype=object)
    train = experiment.train

    # Real rows: the source values of the cells the model saw in training.
    seen = experiment.to_original_units(train.x_input)[column].notna().to_numpy()
    values = features[column].to_numpy()[train.rows]
    labels = names[np.where(train.y_true >= 0, train.y_true, -1)]
    rng = np.random.default_rng(seed)
    keep = []
    for name in pd.unique(labels[seen]):
        rows = np.flatnonzero(seen & (labels == name))
        keep.append(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
    keep = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    real = pd.DataFrame({"value": values[keep], "class": labels[keep], "source": "real"})

    generated = []
    for label in range(result.model.n_classes):
        x, _ = result.model.sample(label, per_class, seed=seed)
        generated.append(
            pd.DataFrame(
                {
                    "value": experiment.to_original_units(x)[column].to_numpy(),
                    "class": names[label],
                    "source": "generated",
                }
            )
        )
    return pd.concat([real, *generated], ignore_index=True)


def sample_quality(result: RunResult, per_class: int = 100, seed: int = 0) -> SampleQuality:
    """How recognisable and how varied `per_class` samples of every class are.

    The judge (`quality.SampleJudge`, a logistic regression) is fitted on the complete labelled
    rows of the training split (`x_true`: before the protocol removed entries; rows missing a
    value in the source, or without a label, are left out) and checked on those of the test
    split, which also set each class's real spread.
    """
    _require_classes(result.model)
    experiment = result.experiment
    train, test = experiment.train, experiment.test
    if train.y_true is None or test.y_true is None:
        raise ValueError("The dataset has no labels to judge the samples by.")
    judge = SampleJudge(seed=experiment.seed).fit(train.x_true, train.y_true)
    return judge.assess(result.model, test.x_true, test.y_true, per_class=per_class, seed=seed)


# --- a shipped model --------------------------------------------------------------------------

def is_shipped(result: RunResult) -> bool:
    """Whether `result` is a model shipped with the product, loaded rather than trained here."""
    return SHIPPED_KEY in result.report


def shipped_model_summary(result: RunResult) -> str | None:
    """A few sentences on a shipped model (None for a model trained here): the digits it is
    shown on (the dataset's first note), what it was trained on and for how long, and its test
    scores when it was saved (`report["metrics"]`).

    Parts whose numbers the saved metrics lack are left out, so an older or partial model still
    gets a summary.
    """
    if not is_shipped(result):
        return None
    metrics = result.report.get("metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    number = _numbers(metrics)
    notes = result.experiment.dataset.notes
    sentences = [notes[0][:1].upper() + notes[0][1:] + "." if notes else "The shipped model."]

    training = []
    if "train_images" in number:
        training.append(f"{number['train_images']:,.0f} images")
    hidden = [f"{number[key]:.0%} of the {what}" for key, what in
              (("missing_rate", "pixels"), ("label_missing_rate", "labels")) if key in number]
    if hidden:
        training.append(" and ".join(hidden) + " hidden")
    run = f"{number['iterations']:,.0f} iterations" if "iterations" in number else ""
    if isinstance(metrics.get("device"), str):
        run = f"{run} on {metrics['device']}".strip()
    if "train_seconds" in number:
        run = f"{run} in {_duration(number['train_seconds'])}".strip()
    if run:
        training.append(run)
    if training:
        sentences.append("Training: " + ", ".join(training) + ".")

    scores = []
    if "test_rmse_pixels" in number:
        rmse = f"pixel RMSE {number['test_rmse_pixels']:.3f} on the removed pixels"
        if "knn_test_rmse_pixels" in number:
            rmse += f" (kNN {number['knn_test_rmse_pixels']:.3f})"
        scores.append(rmse)
    if "test_accuracy" in number:
        scores.append(f"C's accuracy {number['test_accuracy']:.1%}")
    samples = metrics.get("samples")
    samples = _numbers(samples if isinstance(samples, dict) else {})
    if "agreement" in samples:
        chance = f" (chance {1 / result.model.n_classes:.2f})" if result.model.n_classes else ""
        scores.append(f"samples' agreement {samples['agreement']:.2f}{chance}")
    if "spread_ratio" in samples:
        scores.append(f"spread ratio {samples['spread_ratio']:.2g}")
    if scores:
        where = (f"the {number['test_images']:,.0f} official test images"
                 if "test_images" in number else "the official test images")  # fmt: skip
        sentences.append(f"Scored when saved, on {where}: " + ", ".join(scores) + ".")
    return " ".join(sentences)


def _numbers(values: dict) -> dict[str, float]:
    """The finite real numbers of `values` (bools and text left out)."""
    return {
        key: float(value)
        for key, value in values.items()
        if isinstance(value, numbers.Real) and not isinstance(value, bool)
        and np.isfinite(float(value))
    }  # fmt: skip


def _duration(seconds: float) -> str:
    """'45 s', '12 min' or '2 h 05 min'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


# --- helpers ----------------------------------------------------------------------------------


def _require_classes(model: TrainedModel) -> None:
    if model.n_classes == 0:
        raise ValueError(
            "This model was trained without labels, so it has no class-conditional generator "
            "(G_CG) to sample from."
        )


def _check_count(value: object, name: str) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"The '{name}' parameter must be an int >= 1. Got {value!r} instead.")


def _check_class_column(experiment: Experiment) -> None:
    # The class goes in a column named "class"; a feature of that name would be overwritten.
    if "class" in experiment.dataset.features.columns:
        raise ValueError(
            "The dataset has a feature named 'class', which would clash with the class column."
        )


def _image_shape(experiment: Experiment) -> tuple[int, int]:
    shape = experiment.dataset.image_shape
    if shape is None:
        raise ValueError(
            f"Dataset {experiment.dataset.name!r} is not an image dataset (no image_shape)."
        )
    if shape[0] * shape[1] != experiment.n_features:
        raise ValueError(
            f"image_shape {shape} does not match the {experiment.n_features} encoded features."
        )
    return shape


def _intensities(experiment: Experiment, x_scaled: np.ndarray) -> np.ndarray:
    """Scaled pixels to intensities in [0, 1]; NaN stays NaN."""
    pixels = experiment.scaler.inverse_transform(np.asarray(x_scaled, dtype=np.float64))
    return np.clip(pixels / _pixel_max(experiment), 0.0, 1.0)


def _pixel_max(experiment: Experiment) -> float:
    dataset = experiment.dataset
    if dataset.name in PIXEL_MAX:
        return PIXEL_MAX[dataset.name]
    largest = float(np.nanmax(dataset.features.to_numpy(dtype=np.float64)))
    return largest if largest > 0 else 1.0
