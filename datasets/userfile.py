"""Any user table: ``csv:PATH`` or ``parquet:PATH`` with declared or inferred column kinds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from imputebench.datasets.base import Dataset
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed


class UserFile(Dataset):
    """A CSV or Parquet file from disk.

    Parameters
    ----------
    path : str
        The file. ``.parquet`` / ``.pq`` files are read as Parquet, anything else as CSV.
    kinds : dict, optional
        ``{column: "numeric" | "categorical" | "ordinal"}``; undeclared columns are inferred
        (all values parse as numbers -> numeric, else categorical).
    target : str, optional
        A column to keep out of imputation (dropped unless ``include_target``).
    na_values : list of str, optional
        Extra strings that mean missing (``?`` is common), added to pandas' defaults.
    sep : str
        CSV separator (default ``,``).
    """

    name = "csv"
    tier = "user"

    def __init__(self, path: str, kinds: dict | None = None, target: str | None = None,
                 na_values: list | None = None, sep: str = ",") -> None:
        self.path = path
        self.kinds = kinds
        self.target = target
        self.na_values = na_values
        self.sep = sep

    def load(self) -> pd.DataFrame:
        path = Path(self.path).expanduser()
        if not path.is_file():
            raise ImputebenchError(f"no such file: {str(path)!r}")
        try:
            if path.suffix.lower() in (".parquet", ".pq"):
                raw = pd.read_parquet(path)
            else:
                raw = pd.read_csv(path, sep=self.sep, na_values=self.na_values,
                                  skipinitialspace=True)
        except ImportError as exc:
            raise ImputebenchError(f"cannot read {str(path)!r}: {exc}") from None
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImputebenchError(f"cannot read {str(path)!r} as a table: {msg}") from None
        if raw.shape[1] == 0 or raw.shape[0] == 0:
            raise ImputebenchError(f"{str(path)!r} holds no table (no rows or no columns)")
        if self.target is not None and self.target not in raw.columns:
            raise ImputebenchError(f"target {self.target!r} is not a column of {str(path)!r}")
        raw.columns = [str(c) for c in raw.columns]
        return make_typed(raw, self.kinds)
