"""Headless command line: the same engine the dashboard uses.

  python -m hexagan_core fit DATA [options]            train, score on the test split, report
  python -m hexagan_core transform MODEL_DIR IN.csv --output OUT.csv [--output-std STD.csv]
                                   [--device D]
  python -m hexagan_core predict MODEL_DIR IN.csv --output OUT.csv [--device D]
  python -m hexagan_core datasets                      list the built-in datasets

Bad input ends with exit status 2 and one line on stderr naming the problem, never a traceback;
running out of memory ends with exit status 1 and one line saying how much was asked for.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hexagan_core import data as data_module
from hexagan_core.baselines import IMPUTERS
from hexagan_core.config import CHOICES, PRESETS, HexaGANConfig, preset
from hexagan_core.decision import DECISION_RULES
from hexagan_core.device import DEVICE_NAME, is_device_name, out_of_memory_message
from hexagan_core.experiment import RunOptions, preset_for_data, run_experiment
from hexagan_core.masks import MECHANISMS
from hexagan_core.outputs import check_destination, written_directory, written_file
from hexagan_core.persist import load_pipeline

__all__ = ["main"]


class UsageError(Exception):
    """Bad command-line input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2, like every other bad input
        raise UsageError(message)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"rate must be in [0, 1), got {value:g}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _device(text: str) -> str:
    if not is_device_name(text):
        raise argparse.ArgumentTypeError(f"device must be {DEVICE_NAME}, got {text!r}")
    return text


_DEVICE_HELP = (
    "auto (default): the faster device for the model, by a rule in hexagan_core.device; cpu, "
    "cuda, cuda:N or mps. A seed reproduces a run on the same device type only"
)


_OUTPUT_STD_HELP = (
    "each imputed cell's spread across the imputation models (CSV, the imputed table's shape): "
    "a standard deviation in the column's units, or for a category the share of models that "
    "chose another; 0 at observed cells. Needs n_imputations > 1 (--set n_imputations=5)"
)
_NEEDS_IMPUTATIONS = (
    "--output-std needs n_imputations > 1 (it writes how far several imputation models disagree)"
)

_FIELD_TYPES: dict[str, type] = typing.get_type_hints(HexaGANConfig)
_FIELDS_WITH_OPTIONS = {"iterations": "--iterations", "seed": "--seed", "engine": "--engine"}
"""Config fields that have options of their own; --set refuses them, so that no value is
silently overridden (--seed also seeds the split and the masks)."""


def _setting(text: str) -> tuple[str, Any]:
    """FIELD=VALUE as (field, value parsed by the field's type); the range is checked with the
    whole config."""
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    if name in _FIELDS_WITH_OPTIONS:
        raise argparse.ArgumentTypeError(f"set {name} with {_FIELDS_WITH_OPTIONS[name]}")
    if name not in _FIELD_TYPES:
        raise argparse.ArgumentTypeError(
            f"unknown HexaGANConfig field {name!r}; the fields are {', '.join(_FIELD_TYPES)}"
        )
    kind = _FIELD_TYPES[name]
    try:
        return name, kind(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{name} takes {'an' if kind is int else 'a'} {kind.__name__}, got {value!r}"
        ) from None


def _baselines(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in IMPUTERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown baseline {unknown[0]!r}; choose from {','.join(IMPUTERS)}"
        )
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m hexagan_core", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fit = commands.add_parser("fit", help="train on a built-in dataset or a CSV and score it")
    fit.add_argument(
        "data", help=f"built-in name ({', '.join(data_module.BUILTIN_DATASETS)}) or a CSV path"
    )
    fit.add_argument("--label", help="label column of a CSV (optional)")
    fit.add_argument(
        "--missing-rate",
        type=_rate,
        default=0.2,
        help="fraction of observed entries hidden for scoring (default 0.2)",
    )
    fit.add_argument("--mechanism", choices=MECHANISMS, default="mcar")
    fit.add_argument(
        "--label-missing-rate",
        type=_rate,
        default=0.0,
        help="fraction of training labels hidden (semi-supervised)",
    )
    fit.add_argument(
        "--imbalance-ratio",
        type=float,
        default=None,
        help="subsample the minority class to majority:minority = X",
    )
    fit.add_argument("--preset", choices=sorted(PRESETS), default="default")
    fit.add_argument(
        "--iterations",
        type=_positive_int,
        default=None,
        help="outer iterations of Algorithm 1 (default: the preset's)",
    )
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--device", type=_device, default="auto", help=_DEVICE_HELP)
    fit.add_argument(
        "--engine",
        choices=CHOICES["engine"],
        default=None,
        help="'compiled': torch.compile'd training steps, about 2x faster per iteration on "
        "narrow data after a one-off compilation of about a minute, less once torch's on-disk "
        "cache holds it (default: the preset's, eager)",
    )
    fit.add_argument(
        "--baselines", type=_baselines, default=[], help="comma-separated: " + ",".join(IMPUTERS)
    )
    fit.add_argument(
        "--max-rows",
        type=_positive_int,
        default=None,
        help="class-stratified subsample of large datasets",
    )
    fit.add_argument(
        "--decision-rule",
        choices=DECISION_RULES,
        default=RunOptions.decision_rule,
        help="how C's probabilities become classes (predictions, F1, accuracy): 'val_f1', a "
        "threshold (per-class weights with 3+ classes) chosen for F1 on the validation rows, "
        "kept with the saved model (default: %(default)s)",
    )
    fit.add_argument("--output", type=Path, help="imputed table (CSV, original units)")
    fit.add_argument("--output-std", type=Path, help=_OUTPUT_STD_HELP)
    fit.add_argument("--report", type=Path, help="JSON report of every method's scores")
    fit.add_argument("--save", type=Path, help="directory for the trained model")
    fit.add_argument(
        "--set",
        dest="settings",
        type=_setting,
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="any HexaGANConfig field, on top of the preset (repeatable), e.g. --set "
        "penalty_projections=4 --set lr=5e-4",
    )
    fit.add_argument("--quiet", action="store_true", help="no progress bar")

    for name, what in (
        ("transform", "impute a CSV with a saved model"),
        ("predict", "predict the class of each row of a CSV"),
    ):
        sub = commands.add_parser(name, help=what)
        sub.add_argument("model_dir", type=Path)
        sub.add_argument("input", type=Path)
        sub.add_argument("--output", type=Path, required=True)
        if name == "transform":
            sub.add_argument("--output-std", type=Path, help=_OUTPUT_STD_HELP)
        sub.add_argument("--device", type=_device, default="auto", help=_DEVICE_HELP)

    commands.add_parser("datasets", help="list the built-in datasets")
    return parser


def _fit(args: argparse.Namespace) -> None:
    preset_name = preset_for_data(args.preset, args.data)
    config = _config(preset_name, args)
    if args.output_std and (config or preset(preset_name)).n_imputations == 1:
        raise UsageError(f"{_NEEDS_IMPUTATIONS}; add --set n_imputations=5, for instance")
    options = RunOptions(
        data=args.data,
        label=args.label,
        missing_rate=args.missing_rate,
        mechanism=args.mechanism,
        label_missing_rate=args.label_missing_rate,
        imbalance_ratio=args.imbalance_ratio,
        preset=preset_name,
        config=config,
        iterations=args.iterations,
        seed=args.seed,
        device=args.device,
        baselines=args.baselines,
        max_rows=args.max_rows,
        decision_rule=args.decision_rule,
    )
    result = run_experiment(options, progress=not args.quiet, on_note=_print_note)
    if args.output:
        with written_file(args.output) as path:
            result.imputed_table().to_csv(path, index=False)
    if args.output_std:
        with written_file(args.output_std) as path:
            result.spread_table().to_csv(path, index=False)
    if args.save:
        with written_directory(args.save) as directory:
            result.save(directory)
    if args.report:
        with written_file(args.report) as path:
            path.write_text(json.dumps(result.report, indent=2) + "\n", encoding="utf-8")
    print(result.summary())


def _config(preset_name: str, args: argparse.Namespace) -> HexaGANConfig | None:
    """The preset with --engine and every --set applied (validated); None: the preset as is."""
    changes = dict(args.settings)
    if args.engine is not None:
        changes["engine"] = args.engine
    return preset(preset_name, **changes) if changes else None


def _print_note(text: str) -> None:
    print(f"note: {text}", file=sys.stderr)


def _apply(args: argparse.Namespace) -> None:
    pipeline = load_pipeline(args.model_dir, device=args.device)
    output_std = getattr(args, "output_std", None)
    if output_std and pipeline.model.config.n_imputations == 1:
        raise UsageError(f"{_NEEDS_IMPUTATIONS}; {args.model_dir} holds a single model (train "
                         "one with fit --set n_imputations=5, for instance)")  # fmt: skip
    # Typed by the model's schema, every row kept; the columns it does not use pass through.
    rows = data_module.read_new_rows(args.input, pipeline.encoder)
    for note in rows.notes:
        _print_note(note)
    if args.command == "transform":
        out = rows.filled(pipeline.impute_table(rows.features))
    else:
        out = rows.beside(pipeline.predict_table(rows.features))
    with written_file(args.output) as path:
        out.to_csv(path, index=False)
    print(f"wrote {len(out)} rows to {args.output}")
    if output_std:
        with written_file(output_std) as path:
            rows.spread(pipeline.spread_table(rows.features)).to_csv(path, index=False)
        print(f"wrote the spread of {len(out)} rows to {output_std}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _check_destinations(args)
        with _summarised_warnings():
            if args.command == "fit":
                _fit(args)
            elif args.command == "datasets":
                for name, description in data_module.BUILTIN_DATASETS.items():
                    print(f"{name:10s} {description}")
            else:
                _apply(args)
    except (UsageError, ValueError, OSError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2
    except RuntimeError as error:  # torch.OutOfMemoryError is one
        message = out_of_memory_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


_HIDDEN_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


@contextmanager
def _summarised_warnings() -> Iterator[None]:
    """Warnings raised during the block, said at its end as one `note:` line per kind (category
    and module) with a count and the first message: scikit-learn's MICE and MLP baselines raise
    a ConvergenceWarning per fit, which flooded stderr."""
    kinds: dict[tuple[str, str], list] = {}  # (category, module): [count, first message]

    def count(message, category, filename, lineno, file=None, line=None) -> None:
        kind = kinds.setdefault((category.__name__, _module_name(filename)), [0, message])
        kind[0] += 1

    with warnings.catch_warnings():
        warnings.simplefilter("always")  # every occurrence reaches `count`, to be counted
        for meant_for_developers in _HIDDEN_WARNINGS:  # hidden as by Python's default filters
            warnings.simplefilter("ignore", meant_for_developers)
        warnings.showwarning = count
        try:
            yield
        finally:
            for (category, module), (n, message) in kinds.items():
                times = "" if n == 1 else f", {n:,} times; the first"
                _print_note(f"{category} from {module}{times}: {_one_line(message)}")


def _module_name(filename: str) -> str:
    """'sklearn.neural_network._multilayer_perceptron' for that module's file path."""
    parts = Path(filename).with_suffix("").parts
    packages = [i for i, part in enumerate(parts) if part in ("site-packages", "dist-packages")]
    return ".".join(parts[packages[-1] + 1 :] if packages else parts[-1:])


def _check_destinations(args: argparse.Namespace) -> None:
    """Fail before any work, naming the path, where an output could not be written: not after
    the whole training."""
    for name in ("output", "output_std", "report", "save"):
        path = getattr(args, name, None)
        if path is not None:
            check_destination(path, directory=name == "save")


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, FileNotFoundError) and error.filename:
        text = f"file not found: {error.filename}"
    return " ".join(text.split())
