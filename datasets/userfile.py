"""Any user table: ``csv:PATH`` or ``parquet:PATH`` with declared or inferred column kinds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from imputebench.datasets.base import Dataset
from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import make_typed

_PARQUET_SUFFIXES = (".parquet", ".pq")


class UserFile(Dataset):
    """A CSV or Parquet file from disk.

    Parameters
    ----------
    path : str
        The file. ``.parquet`` / ``.pq`` files are read as Parquet, anything else as CSV
        (unless ``file_format`` says otherwise).
    kinds : dict, optional
        ``{column: "numeric" | "categorical" | "ordinal"}``; undeclared columns are inferred
        (all values parse as numbers -> numeric, else categorical).
    target : str, optional
        A column to keep out of imputation (dropped unless ``include_target``).
    na_values : list of str, optional
        Extra strings that mean missing (``?`` is common), added to pandas' defaults.
    sep : str
        CSV separator (default ``,``).
    file_format : {"csv", "parquet"}, optional
        Force the reader; ``parquet:PATH`` sets ``"parquet"``. Default: from the suffix.
    """

    name = "csv"
    tier = "user"

    def __init__(self, path: str, kinds: dict | None = None, target: str | None = None,
                 na_values: list | None = None, sep: str = ",",
                 file_format: str | None = None) -> None:
        self.path = path
        self.kinds = kinds
        self.target = target
        self.na_values = na_values
        self.sep = sep
        self.file_format = file_format

    def load(self) -> pd.DataFrame:
        path = Path(self.path).expanduser()
        if not path.is_file():
            raise ImputebenchError(f"no such file: {str(path)!r}")
        if self.kinds is not None and not isinstance(self.kinds, Mapping):
            raise ImputebenchError(f"kinds must map column names to kinds, got {self.kinds!r}")
        fmt = self.file_format
        if fmt is None:
            fmt = "parquet" if path.suffix.lower() in _PARQUET_SUFFIXES else "csv"
        if fmt not in ("csv", "parquet"):
            raise ImputebenchError(f"file_format must be 'csv' or 'parquet', got {fmt!r}")
        try:
            if fmt == "parquet":
                raw = pd.read_parquet(path)
            else:
                with path.open("rb") as fh:
                    head = fh.read(8192)
                # pandas parses NUL-laden bytes into a nonsense table rather than failing.
                if b"\x00" in head:
                    raise ImputebenchError(
                        f"cannot read {str(path)!r} as CSV: it looks like a binary file "
                        "(it holds NUL bytes)")
                raw = pd.read_csv(path, sep=self.sep, na_values=self.na_values,
                                  skipinitialspace=True)
        except ImportError:
            # pandas' message spans several lines; the command line prints one.
            raise ImputebenchError(f"cannot read {str(path)!r}: reading Parquet needs pyarrow "
                                   "(pip install pyarrow)") from None
        except ImputebenchError:
            raise
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImputebenchError(f"cannot read {str(path)!r} as a table: {msg}") from None
        if raw.shape[1] == 0 or raw.shape[0] == 0:
            raise ImputebenchError(f"{str(path)!r} holds no table (no rows or no columns)")
        raw.columns = [str(c) for c in raw.columns]
        if self.target is not None and self.target not in raw.columns:
            raise ImputebenchError(f"target {self.target!r} is not a column of {str(path)!r}")
        return make_typed(raw, self.kinds)
