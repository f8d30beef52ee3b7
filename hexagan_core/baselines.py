"""The baselines HexaGAN is compared with: five imputers, GAIN, SMOTE and self-training.

Every imputer takes a min-max-scaled float matrix with NaN marking missing entries and follows one
contract, written once in `_BaseImputer`: `fit(X)` learns from X, `transform(X)` fills every NaN of
new or old rows using only what `fit` stored, and observed entries come back unchanged.
`make_imputer(name)` builds one by its name in `IMPUTERS`:

- "mean": each column's observed mean; "zero": 0 everywhere.
- "knn": scikit-learn's `KNNImputer` with 5 neighbours; the rows seen by `fit` are the donors.
- "mice": scikit-learn's `IterativeImputer` with `BayesianRidge`, 10 rounds, no posterior sampling.
- "missforest": `IterativeImputer` with `ExtraTreesRegressor` (50 trees, depth at most 10, half
  the columns per split, one job) and 5 rounds, a fast stand-in for missForest (Stekhoven &
  Buehlmann, 2012).
- "gain": GAIN (Yoon, Jordon & van der Schaar, ICML 2018), trained in PyTorch.

`ClassificationPipeline` chains an imputer, optional SMOTE and optional self-training in front of
a fixed classifier (an MLP shaped like HexaGAN's C, or logistic regression).
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import torch
from imblearn.over_sampling import SMOTE
from sklearn import config_context
from sklearn import impute as skimpute
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (adds IterativeImputer)
from sklearn.linear_model import BayesianRidge, LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.semi_supervised import SelfTrainingClassifier
from sklearn.utils.validation import check_is_fitted
from torch import nn

from hexagan_core.device import DEVICE_NAME, resolve_device
from hexagan_core.losses import gain_discriminator_loss, gain_generator_loss, recon_loss
from hexagan_core.validation import Interval, Rule, check_params

__all__ = [
    "IMPUTERS",
    "ClassificationPipeline",
    "GAINImputer",
    "KNNImputer",
    "MICEImputer",
    "MeanImputer",
    "MissForestImputer",
    "ZeroImputer",
    "make_imputer",
]

UNLABELLED = -1
KNN_WORKING_MEMORY_MB = 64
"""The distance matrix's chunk size for the kNN imputer (see `KNNImputer._impute`)."""
"""The label that marks an unlabelled row in `ClassificationPipeline.fit`."""

# --- parameter and input validation ----------------------------------------------------------


_SEED = Interval("int", 0, 2**32 - 1)


def _check_matrix(X: Any, n_features: int | None = None) -> np.ndarray:
    """X as a 2-D float64 array with at least one row; NaN marks missing, infinities are refused."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a 2-D array with at least one row. Got shape {X.shape}.")
    if np.isinf(X).any():
        raise ValueError("X contains infinite values; only NaN may mark a missing entry.")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but fit saw {n_features}.")
    return X


# --- imputers ----------------------------------------------------------------------------------


class _BaseImputer(TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """The shared contract: validate, learn in `_fit`, estimate in `_impute`, keep observed."""

    _parameter_constraints: ClassVar[dict[str, Rule]] = {}

    def fit(self, X: Any, y: Any = None) -> Self:
        """Learn from X (NaN = missing). `y` is ignored; it is there for scikit-learn pipelines."""
        check_params(self, self._parameter_constraints)
        X = _check_matrix(X)
        self.n_features_in_ = X.shape[1]
        self._fit(X)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """X with every NaN filled from what `fit` learned; observed entries are returned as is."""
        check_is_fitted(self)
        X = _check_matrix(X, self.n_features_in_)
        # Whatever the algorithm estimated for an observed entry, the observed value wins.
        return np.where(np.isnan(X), self._impute(X), X)

    @abstractmethod
    def _fit(self, X: np.ndarray) -> None:
        """Store what `_impute` needs, in attributes ending in an underscore."""

    @abstractmethod
    def _impute(self, X: np.ndarray) -> np.ndarray:
        """An estimate for every entry of X (only the missing ones are used)."""


class MeanImputer(_BaseImputer):
    """Fills each column with the mean of its observed entries in the rows given to `fit`.

    A column with no observed entry at fit time is filled with 0, like the zero baseline.

    Attributes
    ----------
    statistics_ : ndarray of shape (n_features,)
        The fill value of each column.
    """

    def _fit(self, X: np.ndarray) -> None:
        observed = ~np.isnan(X)
        counts = observed.sum(axis=0)
        sums = np.where(observed, X, 0.0).sum(axis=0)
        self.statistics_ = np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.statistics_, X.shape)


class ZeroImputer(MeanImputer):
    """Fills every missing entry with 0 (the minimum of a min-max-scaled column)."""

    def _fit(self, X: np.ndarray) -> None:
        self.statistics_ = np.zeros(X.shape[1])


class _SklearnImputer(_BaseImputer):
    """An imputer that delegates to the scikit-learn imputer built by `_make_estimator`.

    Columns missing everywhere at fit time are kept and filled with 0 (`keep_empty_features`).
    """

    @abstractmethod
    def _make_estimator(self) -> BaseEstimator:
        """A fresh, unfitted scikit-learn imputer configured from this object's parameters."""

    def _fit(self, X: np.ndarray) -> None:
        self.estimator_ = self._make_estimator().fit(X)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.transform(X)


class KNNImputer(_SklearnImputer):
    """Mean of the `n_neighbors` nearest rows seen by `fit` (nan-Euclidean distance).

    Parameters
    ----------
    n_neighbors : int, default=5
        Donor rows averaged for each missing entry. The data is already min-max scaled, so the
        distances weigh the columns equally.
    """

    _parameter_constraints: ClassVar[dict[str, Rule]] = {"n_neighbors": Interval("int", 1)}

    def __init__(self, *, n_neighbors: int = 5) -> None:
        self.n_neighbors = n_neighbors

    def _make_estimator(self) -> BaseEstimator:
        return skimpute.KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        # scikit-learn computes the distances to the donors in chunks of `working_memory` MB
        # (1024 by default), and the nan-Euclidean distance holds several temporaries of a
        # chunk's size: the CLI's peak RSS on a 20,000-row table (13,000 donors) was 2.7 GB
        # with kNN, 0.5-1.0 GB without. With 64 MB chunks it is 0.66 GB, and no slower.
        with config_context(working_memory=KNN_WORKING_MEMORY_MB):
            return self.estimator_.transform(X)


class MICEImputer(_SklearnImputer):
    """Chained equations: each column regressed on the others in turn, `max_iter` rounds.

    Parameters
    ----------
    max_iter : int, default=10
        Rounds over all columns. The point estimate is used (no posterior sampling).
    n_nearest_features : int or None, default=None
        Regress each column on this many others only, drawn with probability proportional to
        their absolute correlation with it (scikit-learn's option for wide tables: on 500
        columns the full regressions take hours). None: all other columns.
    seed : int, default=0
        Seed of the column order's random tie-breaking, of the drawn columns and of the
        regressor.
    """

    _parameter_constraints: ClassVar[dict[str, Rule]] = {
        "max_iter": Interval("int", 1),
        "n_nearest_features": Interval("int", 1, allow_none=True),
        "seed": _SEED,
    }

    def __init__(
        self, *, max_iter: int = 10, n_nearest_features: int | None = None, seed: int = 0
    ) -> None:
        self.max_iter = max_iter
        self.n_nearest_features = n_nearest_features
        self.seed = seed

    def _regressor(self) -> BaseEstimator:
        return BayesianRidge()

    def _make_estimator(self) -> BaseEstimator:
        return skimpute.IterativeImputer(
            estimator=self._regressor(),
            max_iter=self.max_iter,
            n_nearest_features=self.n_nearest_features,
            sample_posterior=False,
            random_state=self.seed,
            keep_empty_features=True,
        )


class MissForestImputer(MICEImputer):
    """MICE with randomised trees as the per-column regressor, a fast take on missForest.

    missForest grows 100 full random-forest trees per column and repeats until the imputations
    stop improving (up to 10 rounds). The defaults here (5 rounds of 50 extra-trees of depth at
    most 10, each split drawn from half the columns, one job) impute breast cancer (569 x 30,
    20 % missing) in about 10 s on one core; using every column at each split doubles that for
    an RMSE about 2 % lower.

    Parameters
    ----------
    max_iter : int, default=5
        Rounds over all columns.
    n_estimators : int, default=50
        Trees of each `ExtraTreesRegressor`.
    max_depth : int, default=10
        Depth limit of each tree.
    max_features : float, default=0.5
        Share of the other columns drawn as split candidates at each node.
    n_nearest_features : int or None, default=None
        As `MICEImputer`'s.
    seed : int, default=0
        Seed of the trees and of the imputation order.
    """

    _parameter_constraints: ClassVar[dict[str, Rule]] = {
        **MICEImputer._parameter_constraints,
        "n_estimators": Interval("int", 1),
        "max_depth": Interval("int", 1),
        "max_features": Interval("float", 1e-6, 1),
    }

    def __init__(
        self,
        *,
        max_iter: int = 5,
        n_estimators: int = 50,
        max_depth: int = 10,
        max_features: float = 0.5,
        n_nearest_features: int | None = None,
        seed: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_features = max_features
        self.n_nearest_features = n_nearest_features
        self.seed = seed

    def _regressor(self) -> BaseEstimator:
        return ExtraTreesRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            max_features=float(self.max_features),
            n_jobs=1,
            random_state=self.seed,
        )


# --- GAIN ---------------------------------------------------------------------------------------


def _resolve_device(name: str) -> torch.device:
    """The torch device for a `device` option (a DEVICE_NAME); 'auto' prefers CUDA, then MPS."""
    try:
        return resolve_device(name)
    except ValueError:  # the name was checked, so the device is not available here
        raise ValueError(
            f"The 'device' parameter is {name!r}, but that device is not available here; "
            "use 'cpu' or 'auto'."
        ) from None


def _gain_mlp(n_inputs: int, width: int, rng: torch.Generator, device: torch.device) -> nn.Module:
    """Three linear layers of `width` units with ReLU between them; Xavier weights, zero biases.

    The layers are created uninitialised and then initialised from `rng`, so building a network
    leaves torch's global random state alone.
    """
    layers = [
        nn.utils.skip_init(nn.Linear, n_in, width, device=device)
        for n_in in (n_inputs, width, width)
    ]
    for layer in layers:
        nn.init.xavier_normal_(layer.weight, generator=rng)
        nn.init.zeros_(layer.bias)
    return nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])


class GAINImputer(_BaseImputer):
    """GAIN: a generator imputes, a discriminator guesses which entries were observed.

    G sees the row with its missing entries replaced by U[0, 0.01) noise, and the mask m; its
    sigmoid output fills the missing entries. D sees the imputed row and a hint: the mask with a
    random (1 - hint_rate) share of its entries replaced by 0.5, so D must still guess those.
    D minimises the cross-entropy of its guesses; G minimises D's success on the imputed entries
    plus `alpha` times its squared error on the observed ones. Both are three-layer MLPs as wide
    as the data, trained with Adam on random batches.

    The input is expected to be min-max scaled already (GAIN's own code scales it first).

    Parameters
    ----------
    iterations : int, default=3000
        Training steps, each one D update then one G update on the same batch.
    batch_size : int, default=128
        Rows per step, drawn without replacement (all rows when there are fewer).
    alpha : float, default=100.0
        Weight of the reconstruction loss in G's objective (GAIN's default).
    hint_rate : float, default=0.9
        Probability that D is told an entry's mask value; otherwise the hint is 0.5.
    lr : float, default=1e-3
        Adam's learning rate, for both networks.
    seed : int, default=0
        Seed of the weights, batches, noise and hints; on the CPU the result is reproducible.
    device : {"cpu", "cuda", "cuda:N", "mps", "auto"}, default="cpu"
        Where the data and the networks live; "auto" takes CUDA, then MPS, then the CPU.

    Attributes
    ----------
    generator_ : torch.nn.Module
        The trained G, mapping [x_tilde, m] to a full row in (0, 1).
    device_ : torch.device
        The device G lives on.

    References
    ----------
    J. Yoon, J. Jordon and M. van der Schaar, "GAIN: Missing Data Imputation using Generative
    Adversarial Nets", ICML 2018.
    """

    _parameter_constraints: ClassVar[dict[str, Rule]] = {
        "iterations": Interval("int", 1),
        "batch_size": Interval("int", 1),
        "alpha": Interval("float", 0),
        "hint_rate": Interval("float", 0, 1),
        "lr": Interval("float", 1e-12, 1),
        "seed": _SEED,
        "device": DEVICE_NAME,
    }

    _NOISE_SCALE = 0.01

    def __init__(
        self,
        *,
        iterations: int = 3000,
        batch_size: int = 128,
        alpha: float = 100.0,
        hint_rate: float = 0.9,
        lr: float = 1e-3,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.iterations = iterations
        self.batch_size = batch_size
        self.alpha = alpha
        self.hint_rate = hint_rate
        self.lr = lr
        self.seed = seed
        self.device = device

    def _fit(self, X: np.ndarray) -> None:
        self.device_ = _resolve_device(self.device)
        rng = torch.Generator(device=self.device_).manual_seed(self.seed)
        data, mask = self._to_tensors(X)
        n_rows, n_features = data.shape
        # G ends in a sigmoid (values in (0, 1)); D returns logits, the losses apply the sigmoid.
        generator = nn.Sequential(
            _gain_mlp(2 * n_features, n_features, rng, self.device_), nn.Sigmoid()
        )
        discriminator = _gain_mlp(2 * n_features, n_features, rng, self.device_)
        opt_g = torch.optim.Adam(generator.parameters(), lr=self.lr)
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=self.lr)

        def impute(x: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """G's output x_bar and the imputed row x_hat = m * x + (1 - m) * x_bar."""
            x_bar = generator(torch.cat([self._with_noise(x, m, rng), m], dim=1))
            return x_bar, m * x + (1 - m) * x_bar

        for _ in range(self.iterations):
            rows = torch.randperm(n_rows, generator=rng, device=self.device_)[: self.batch_size]
            x, m = data[rows], mask[rows]
            keep = torch.rand(m.shape, generator=rng, device=self.device_) < self.hint_rate
            hint = torch.where(keep, m, 0.5)

            # Discriminator step: guess which entries were observed, G held fixed.
            with torch.no_grad():
                _, x_hat = impute(x, m)
            d_loss = gain_discriminator_loss(discriminator(torch.cat([x_hat, hint], dim=1)), m)
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()

            # Generator step: pass the imputed entries off as observed, reproduce the observed.
            x_bar, x_hat = impute(x, m)
            adversarial = gain_generator_loss(discriminator(torch.cat([x_hat, hint], dim=1)), m)
            g_loss = adversarial + self.alpha * recon_loss(x, x_bar, m)
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()

        self.generator_ = generator.requires_grad_(False)

    def _impute(self, X: np.ndarray) -> np.ndarray:
        # The noise is drawn from a generator seeded afresh, so transform is deterministic.
        rng = torch.Generator(device=self.device_).manual_seed(self.seed)
        data, mask = self._to_tensors(X)
        x_tilde = self._with_noise(data, mask, rng)
        x_bar = self.generator_(torch.cat([x_tilde, mask], dim=1))
        return x_bar.cpu().numpy().astype(np.float64)

    def _to_tensors(self, X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The data (0 where missing) and the mask m (1 = observed) as float32 on the device."""
        observed = ~np.isnan(X)
        data = torch.as_tensor(np.where(observed, X, 0.0), dtype=torch.float32, device=self.device_)
        return data, torch.as_tensor(observed, dtype=torch.float32, device=self.device_)

    def _with_noise(self, x: torch.Tensor, m: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """x_tilde: the observed entries of x, and U[0, 0.01) noise where m = 0."""
        noise = torch.rand(x.shape, generator=rng, device=x.device) * self._NOISE_SCALE
        return m * x + (1 - m) * noise


# --- the registry ----------------------------------------------------------------------------

_IMPUTER_CLASSES: dict[str, type[_BaseImputer]] = {
    "mean": MeanImputer,
    "zero": ZeroImputer,
    "knn": KNNImputer,
    "mice": MICEImputer,
    "missforest": MissForestImputer,
    "gain": GAINImputer,
}

IMPUTERS: tuple[str, ...] = tuple(_IMPUTER_CLASSES)


def make_imputer(name: str, *, seed: int = 0, device: str = "cpu", **params: Any) -> _BaseImputer:
    """The imputer called `name` (one of IMPUTERS), unfitted.

    `seed` goes to the imputers that draw random numbers (mice, missforest, gain) and `device` to
    GAIN, the only one that runs on torch; the others ignore them. `params` are passed on to the
    imputer's constructor (for example `iterations=1000` for GAIN).
    """
    if name not in _IMPUTER_CLASSES:
        raise ValueError(
            f"Unknown imputer {name!r}; choose one of {', '.join(repr(n) for n in IMPUTERS)}."
        )
    cls = _IMPUTER_CLASSES[name]
    accepted = cls._get_param_names()
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(
            f"Unknown parameter(s) {', '.join(unknown)} for the {name!r} imputer; "
            f"it accepts {', '.join(accepted) or 'none'}."
        )
    shared = {key: value for key, value in (("seed", seed), ("device", device)) if key in accepted}
    return cls(**shared, **params)


# --- classification --------------------------------------------------------------------------


class ClassificationPipeline(ClassifierMixin, BaseEstimator):
    """Imputer, then optional SMOTE, then optional self-training around a fixed classifier.

    Parameters
    ----------
    imputer : str, default="mean"
        One of IMPUTERS; fitted on all rows given to `fit`, labelled or not.
    imputer_params : dict or None, default=None
        Constructor parameters of the imputer (as `make_imputer`'s), e.g.
        {"n_nearest_features": 50} for MICE on a wide table.
    balance : {"none", "smote"}, default="none"
        "smote" oversamples the minority classes of the labelled rows with SMOTE
        (k_neighbors = min(5, smallest class count - 1)).
    semi_supervised : {"none", "self_training"}, default="none"
        "self_training" wraps the classifier in scikit-learn's SelfTrainingClassifier (threshold
        0.8), which also learns from the unlabelled rows; "none" uses the labelled rows only.
    classifier : {"mlp", "logreg"}, default="mlp"
        "mlp": two hidden ReLU layers of d and max(d // 2, 2) units for d features, comparable to
        HexaGAN's classifier C; "logreg": logistic regression.
    seed : int, default=0
        Seed of the imputer, SMOTE and the MLP.
    device : {"cpu", "cuda", "cuda:N", "mps", "auto"}, default="cpu"
        Device of the GAIN imputer; the other steps run on the CPU.

    Attributes
    ----------
    imputer_ : fitted imputer
    classifier_ : fitted classifier (a SelfTrainingClassifier with self-training)
    classes_ : ndarray of the labels seen among the labelled rows
    """

    _parameter_constraints: ClassVar[dict[str, Rule]] = {
        "imputer": IMPUTERS,
        "balance": ("none", "smote"),
        "semi_supervised": ("none", "self_training"),
        "classifier": ("mlp", "logreg"),
        "seed": _SEED,
        "device": DEVICE_NAME,
    }

    SELF_TRAINING_THRESHOLD = 0.8

    def __init__(
        self,
        *,
        imputer: str = "mean",
        imputer_params: dict[str, Any] | None = None,
        balance: str = "none",
        semi_supervised: str = "none",
        classifier: str = "mlp",
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.imputer = imputer
        self.imputer_params = imputer_params
        self.balance = balance
        self.semi_supervised = semi_supervised
        self.classifier = classifier
        self.seed = seed
        self.device = device

    def fit(self, X: Any, y: Any) -> Self:
        """Fit on X (scaled, NaN = missing) and integer labels y (-1 = unlabelled row)."""
        check_params(self, self._parameter_constraints)
        X = _check_matrix(X)
        y = self._check_labels(y, X.shape[0])
        labelled = y != UNLABELLED

        self.imputer_ = make_imputer(
            self.imputer, seed=self.seed, device=self.device, **(self.imputer_params or {})
        ).fit(X)
        X_filled = self.imputer_.transform(X)
        X_train, y_train = X_filled[labelled], y[labelled]
        if self.balance == "smote":
            X_train, y_train = self._smote(X_train, y_train)

        classifier = self._make_classifier(X.shape[1])
        if self.semi_supervised == "self_training":
            X_train = np.vstack([X_train, X_filled[~labelled]])
            y_train = np.concatenate([y_train, y[~labelled]])
            classifier = SelfTrainingClassifier(
                estimator=classifier, threshold=self.SELF_TRAINING_THRESHOLD
            )
        self.classifier_ = classifier.fit(X_train, y_train)
        self.classes_ = self.classifier_.classes_
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_rows, n_classes), columns in the order of `classes_`."""
        check_is_fitted(self)
        return self.classifier_.predict_proba(self.imputer_.transform(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable label of each row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    @staticmethod
    def _check_labels(y: Any, n_rows: int) -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != n_rows:
            raise ValueError(
                f"y must be 1-D with one label per row of X ({n_rows}). Got shape {y.shape}."
            )
        if y.dtype.kind not in "iuf" or not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"y must hold integer labels (-1 = unlabelled). Got {y.dtype} values.")
        y = y.astype(np.int64)
        classes = np.unique(y[y != UNLABELLED])
        if classes.size < 2 or classes[0] < 0:
            raise ValueError(
                "y must hold at least 2 classes of labels >= 0 among its labelled rows "
                f"(-1 = unlabelled). Got classes {classes.tolist()}."
            )
        return y

    def _smote(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SMOTE on the labelled rows, with as many neighbours as the smallest class allows."""
        classes, counts = np.unique(y, return_counts=True)
        smallest = counts.min()
        if smallest < 2:
            raise ValueError(
                "balance='smote' needs at least 2 labelled rows in every class. "
                f"Got {smallest} in class {classes[counts.argmin()]}."
            )
        smote = SMOTE(random_state=self.seed, k_neighbors=min(5, smallest - 1))
        return smote.fit_resample(X, y)

    def _make_classifier(self, n_features: int) -> BaseEstimator:
        if self.classifier == "logreg":
            return LogisticRegression(max_iter=2000)
        return MLPClassifier(
            hidden_layer_sizes=(n_features, max(n_features // 2, 2)),
            max_iter=500,
            early_stopping=False,
            random_state=self.seed,
        )
