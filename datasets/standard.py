"""The standard tier's base class: checksummed files, a parser, and a typed Parquet cache.

A :class:`StandardDataset` names its :class:`~imputebench.datasets.files.RemoteFile` s and
implements :meth:`StandardDataset.parse` (raw files -> typed table, target included). Loading
fetches and verifies the files, then reads a typed Parquet cache keyed by the files' hashes, the
dataset's parameters and its ``parse_version``; a changed raw file or parser builds a new cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import ClassVar

import pandas as pd

from imputebench.datasets.base import Dataset
from imputebench.datasets.files import CACHE_ENV, RemoteFile, data_dir, fetch_file
from imputebench.datasets.schema import validate_table


class StandardDataset(Dataset):
    """A published benchmark table read from the data directory.

    Subclasses set ``files``, ``aliases`` (the names papers use), ``source``, ``licence``,
    ``citation``, ``target`` and ``description``, and implement ``parse(paths)``. Bump
    ``parse_version`` whenever ``parse`` changes what it returns.
    """

    tier = "standard"
    files: ClassVar[tuple[RemoteFile, ...]] = ()
    aliases: ClassVar[tuple[str, ...]] = ()
    parse_version: ClassVar[int] = 1

    def parse(self, paths: list[Path]) -> pd.DataFrame:
        raise NotImplementedError

    def params(self) -> dict:
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def load(self) -> pd.DataFrame:
        paths = [fetch_file(f) for f in self.files]
        cache = self._cache_path(paths[0])
        if cache is not None and cache.is_file():
            try:
                return pd.read_parquet(cache)
            except Exception:  # noqa: BLE001 - a broken cache is rebuilt, never trusted
                cache.unlink(missing_ok=True)
        df = self.parse(paths)
        validate_table(df, what=f"dataset {self.name!r}")
        if cache is not None:
            _write_atomic(df, cache)
        return df

    def _cache_path(self, first: Path) -> Path | None:
        key = json.dumps({"files": [f.sha256 for f in self.files], "params": self.params(),
                          "version": self.parse_version}, sort_keys=True, default=str)
        tag = hashlib.sha256(key.encode()).hexdigest()[:16]
        name = f"{first.name}.{self.name}.{tag}.parquet"
        env = os.environ.get(CACHE_ENV)
        folder = Path(env).expanduser() if env else first.parent / ".imputebench-cache"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        if not os.access(folder, os.W_OK):
            return None
        for stale in folder.glob(f"{first.name}.{self.name}.*.parquet"):
            if stale.name != name:
                stale.unlink(missing_ok=True)
        return folder / name


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.part")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        df.to_parquet(tmp, index=False)
        os.replace(tmp, path)
    except (OSError, ImportError, ValueError):
        tmp.unlink(missing_ok=True)  # caching is an optimisation: never fail a load on it


def github_file(repo: str, commit: str, original: str, local: str, sha256: str) -> RemoteFile:
    """A file of a public GitHub repository at a pinned commit."""
    return RemoteFile(path=local, sha256=sha256,
                      url=f"https://raw.githubusercontent.com/{repo}/{commit}/{original}")


def standard_datasets() -> list[type[StandardDataset]]:
    """Registered standard datasets, by name."""
    from imputebench.datasets.base import available_datasets, get_dataset

    out = []
    for name in available_datasets():
        ds = get_dataset(name)
        if isinstance(ds, StandardDataset):
            out.append(type(ds))
    return out


__all__ = ["StandardDataset", "data_dir", "github_file", "standard_datasets"]
