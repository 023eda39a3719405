"""Dataset base class and the dataset registry (DESIGN.md §6)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.registry import Registry
from imputebench.datasets.schema import validate_table

_REGISTRY = Registry("dataset", "imputebench.datasets", skip={"base", "errors", "registry",
                                                              "schema", "masking"})


class Dataset:
    """A named table. Subclasses set the class attributes and implement :meth:`load`.

    ``load`` returns the full typed table (target included); :func:`load_dataset` drops the
    target unless asked, so that it is kept out of imputation by default.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    source: ClassVar[str] = ""
    citation: ClassVar[str] = ""
    licence: ClassVar[str] = ""
    tier: ClassVar[str] = "bundled"
    target: ClassVar[str | None] = None

    def load(self) -> pd.DataFrame:
        raise NotImplementedError

    def card(self) -> dict:
        """What ``imputebench datasets info`` shows: provenance and the loaded table's shape."""
        from imputebench.datasets.schema import column_kinds

        df = self.load()
        kinds = column_kinds(df)
        by_kind: dict[str, list[str]] = {}
        for col, kind in kinds.items():
            by_kind.setdefault(kind, []).append(col)
        files = [{"path": f.path, "sha256": f.sha256, "url": f.url}
                 for f in getattr(self, "files", ())]
        return {
            "name": self.name, "description": self.description,
            "aliases": list(getattr(self, "aliases", ())), "tier": self.tier,
            "rows": int(df.shape[0]), "columns": int(df.shape[1]), "columns_by_kind": by_kind,
            "target": self.target, "real_missing_cells": int(df.isna().to_numpy().sum()),
            "real_missing_rate": float(df.isna().to_numpy().mean()),
            "missing_by_column": {c: int(n) for c, n in df.isna().sum().items() if n},
            "source": self.source, "licence": self.licence, "citation": self.citation,
            "files": files,
        }


def register_dataset(cls: type[Dataset]) -> type[Dataset]:
    """Class decorator: add a :class:`Dataset` subclass to the registry under ``cls.name``."""
    return _REGISTRY.register(cls)


def available_datasets() -> list[str]:
    """Names of the registered datasets (``csv:PATH`` loads any user file besides these)."""
    return _REGISTRY.names()


def get_dataset(name: str, **params) -> Dataset:
    if isinstance(name, str) and (name.startswith("csv:") or name.startswith("parquet:")):
        from imputebench.datasets.userfile import UserFile

        fmt, path = name.split(":", 1)
        if fmt == "parquet":
            params.setdefault("file_format", "parquet")
        try:
            return UserFile(path=path, **params)
        except TypeError as exc:  # an unknown keyword: same error as for registered datasets
            raise ImputebenchError(f"bad parameters for dataset {name!r}: {exc}") from None
    return _REGISTRY.create(name, **params)


LOADER_PARAMS = ("include_target", "max_rows")   # handled here, not by the dataset classes


def load_dataset(name: str, include_target: bool = False, max_rows: int | None = None,
                 **params) -> pd.DataFrame:
    """Load a typed table by name.

    Parameters
    ----------
    name : str
        A registered name (see :func:`available_datasets`) or ``csv:PATH`` / ``parquet:PATH``.
    include_target : bool
        Keep the dataset's declared target column (dropped by default); its name is then in
        ``df.attrs["target"]``.
    max_rows : int, optional
        Keep a uniform random subset of at most ``max_rows`` rows, drawn with
        ``default_rng(0)`` (the same rows in every run and repetition), in their original
        order. Default: every row.
    **params
        Passed to the dataset (e.g. ``n_rows`` and ``seed`` of ``synthetic``; ``kinds`` of a
        user file).
    """
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int)
                                 or max_rows < 2):
        raise ImputebenchError(f"dataset {name!r}: max_rows must be an integer >= 2, got "
                               f"{max_rows!r}")
    ds = get_dataset(name, **params)
    df = ds.load()
    validate_table(df, what=f"dataset {name!r}")
    if max_rows is not None and len(df) > max_rows:
        keep = np.sort(np.random.default_rng(0).choice(len(df), max_rows, replace=False))
        attrs = dict(df.attrs)
        df = df.iloc[keep].reset_index(drop=True)
        df.attrs = attrs
    if ds.target is not None and not include_target and ds.target in df.columns:
        df = df.drop(columns=[ds.target])
    elif ds.target is not None and ds.target in df.columns:
        df.attrs["target"] = ds.target  # downstream-utility metrics predict it
    empty = [c for c in df.columns if df[c].isna().all()]
    if empty:
        raise ImputebenchError(f"dataset {name!r}: column(s) {empty} have no observed value")
    return df
