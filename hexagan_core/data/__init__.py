"""Tables for HexaGAN: built-in datasets, messy-CSV reading, one-hot coding, scaling and splits.

Everything a user can get wrong raises :class:`DataError` (a ``ValueError``) with a one-line
message naming the file, column or value. Every dropped column, fallback and data source is
reported in :attr:`Dataset.notes`; nothing is changed silently.

The implementations live in private modules, one job each: `_dataset` (the `Dataset` and
`DataError` types), `_catalogue` (built-in datasets, downloads and offline fallbacks), `_csv`
(reading and typing CSV columns), `_numbers` (the one rule for numbers in a file), `_new_rows`
(a new file read by a fitted model's schema), `_encoding` (`TableEncoder`, `MinMaxScaler`) and
`_splits` (`stratified_split`).
"""

from hexagan_core.data._catalogue import BUILTIN_DATASETS, load_builtin
from hexagan_core.data._csv import read_csv
from hexagan_core.data._dataset import DataError, Dataset
from hexagan_core.data._encoding import MinMaxScaler, TableEncoder
from hexagan_core.data._new_rows import NewRows, read_new_rows
from hexagan_core.data._splits import stratified_split

__all__ = [
    "BUILTIN_DATASETS",
    "DataError",
    "Dataset",
    "MinMaxScaler",
    "NewRows",
    "TableEncoder",
    "load_builtin",
    "read_csv",
    "read_new_rows",
    "stratified_split",
]
