"""The hidden space: E's hidden vectors h = E(x) of the training rows and G_CG's samples, in 2-D.

HexaGAN's conditional generator G_CG writes new rows of a class in the encoder's hidden space,
not in data space. `hidden_space_points` collects the hidden vectors of the real training rows
(labelled and unlabelled) and of generated rows of every class; `embed` projects them to two
dimensions with t-SNE or UMAP, so a page can show whether the generated points fall among the
real points of their class.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from hexagan_core.apportion import largest_remainder
from hexagan_core.experiment import RunResult
from hexagan_core.validation import Interval, check_param

__all__ = ["EMBEDDINGS", "embed", "hidden_space_points", "stratified_subsample"]

EMBEDDINGS: tuple[str, ...] = ("tsne", "umap")
MIN_POINTS = 5
"""Fewest points `embed` accepts (t-SNE's perplexity must stay below the point count)."""


def stratified_subsample(labels: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Sorted row indices of at most `max_points` rows, each group kept in proportion.

    Every distinct value of `labels` is a group (-1, "unlabelled", ... included). Group sizes are
    rounded by largest remainder; when `max_points` allows, every group keeps at least one row
    (taken from the largest quotas), so a rare class never vanishes from the picture. With no
    more rows than `max_points`, all rows are returned.
    """
    check_param(max_points, "max_points", "stratified_subsample", Interval("int", 1))
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D. Got shape {labels.shape}.")
    n = len(labels)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    _, codes = np.unique(labels, return_inverse=True)
    sizes = np.bincount(codes)
    quotas = largest_remainder(sizes, int(max_points) / n, int(max_points), rng)
    # Keep one row of every group that would vanish, taken from the largest quotas.
    for group in np.flatnonzero(quotas == 0):
        donor = int(np.argmax(quotas))
        if quotas[donor] <= 1:
            break  # more groups than points: the smallest groups go
        quotas[donor] -= 1
        quotas[group] = 1
    picked = [
        rng.choice(np.flatnonzero(codes == group), size=quota, replace=False)
        for group, quota in enumerate(quotas)
        if quota
    ]
    return np.sort(np.concatenate(picked))


def hidden_space_points(
    result: RunResult,
    *,
    n_generated_per_class: int = 100,
    max_points: int = 3000,
    seed: int = 0,
) -> pd.DataFrame:
    """Hidden vectors of the training rows and of G_CG's samples, one row per point.

    Columns ``h0..h{k-1}`` (k = the model's hidden width), ``class`` (the class name: the true
    one for unlabelled rows, "unknown" where the source has none) and ``source``: "labelled" or
    "unlabelled" (by the training labels the model saw) or "generated" (`model.sample` of each
    class, `n_generated_per_class` rows). A model trained without labels gives "observed" rows of
    class "n/a" only. Above `max_points`, a subsample stratified by (source, class) is kept.
    """
    check_param(
        n_generated_per_class, "n_generated_per_class", "hidden_space_points", Interval("int", 0)
    )
    experiment, model = result.experiment, result.model
    train = experiment.train
    hidden = [model.hidden(train.x_input, seed=seed)]
    if model.n_classes == 0:
        classes = [np.full(len(train.x_input), "n/a", dtype=object)]
        sources = [np.full(len(train.x_input), "observed", dtype=object)]
    else:
        names = np.array([*experiment.dataset.class_names, "unknown"], dtype=object)
        classes = [names[np.where(train.y_true >= 0, train.y_true, -1)]]  # -1: "unknown"
        sources = [np.where(train.y_input >= 0, "labelled", "unlabelled").astype(object)]
        for label in range(model.n_classes if n_generated_per_class else 0):
            _, h = model.sample(label, int(n_generated_per_class), seed=seed)
            hidden.append(h)
            classes.append(np.full(len(h), names[label], dtype=object))
            sources.append(np.full(len(h), "generated", dtype=object))
    h = np.concatenate(hidden)
    points = pd.DataFrame(h, columns=[f"h{i}" for i in range(h.shape[1])])
    points["class"] = np.concatenate(classes)
    points["source"] = np.concatenate(sources)
    groups = (points["source"] + "|" + points["class"].astype(str)).to_numpy()
    keep = stratified_subsample(groups, max_points, seed)
    return points.iloc[keep].reset_index(drop=True)


def embed(
    points: pd.DataFrame,
    method: str = "tsne",
    *,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> pd.DataFrame:
    """A copy of `points` with 2-D coordinates ``x`` and ``y`` of its ``h*`` columns.

    method : {"tsne", "umap"}
        "tsne": scikit-learn's TSNE with PCA initialisation and perplexity min(30, (n - 1) / 3);
        "umap": umap-learn's UMAP with n_neighbors min(15, n - 1). Both seeded with `seed` and run
        on one thread (the dashboard shares its cores).
    progress : callable, optional
        Called with 0.0 before and 1.0 after the projection.
    """
    check_param(method, "method", "embed", EMBEDDINGS)
    columns = [c for c in points.columns if isinstance(c, str) and _is_hidden_column(c)]
    if not columns:
        raise ValueError("points has no hidden-vector columns h0, h1, ...")
    n = len(points)
    if n < MIN_POINTS:
        raise ValueError(f"embed needs at least {MIN_POINTS} points. Got {n}.")
    x = points[columns].to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("points has non-finite hidden values; they cannot be embedded.")
    if np.ptp(x, axis=0).max() == 0:
        # every hidden vector is the same point (an undertrained encoder); t-SNE would crash
        raise ValueError(
            "All hidden vectors are identical, so there is nothing to project: train longer."
        )
    if progress is not None:
        progress(0.0)
    with threadpool_limits(limits=1):
        xy = _tsne(x, seed) if method == "tsne" else _umap(x, seed)
    if progress is not None:
        progress(1.0)
    out = points.copy()
    out["x"], out["y"] = xy[:, 0], xy[:, 1]
    return out


def _is_hidden_column(name: str) -> bool:
    return name.startswith("h") and name[1:].isdigit()


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(x) - 1) / 3)
    return TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(
        x
    )


def _umap(x: np.ndarray, seed: int) -> np.ndarray:
    import umap  # slow to import (numba): only when asked for

    reducer = umap.UMAP(
        n_components=2, n_neighbors=min(15, len(x) - 1), random_state=seed, n_jobs=1
    )
    return reducer.fit_transform(x)
