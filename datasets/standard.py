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
import re
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
        cache = self._cache_path(paths[0]) if paths else None
        if cache is not None and cache.is_file():
            try:
                return validate_table(_read_cache(cache))
            except Exception:  # noqa: BLE001 - a broken cache is rebuilt, never trusted
                _unlink_quietly(cache)
        df = self.parse(paths)
        validate_table(df, what=f"dataset {self.name!r}")
        df = df.reset_index(drop=True)  # the cache keeps no index: give the same frame uncached
        if cache is not None:
            _write_atomic(df, cache)
        return df

    def _cache_path(self, first: Path) -> Path | None:
        """The cache file for this dataset and these parameters; stale versions are removed.

        Its name is ``<raw file>.<dataset>.<parameters tag>.<content tag>.parquet``: the content
        tag follows the files' hashes and ``parse_version``; another content tag with the same
        prefix is stale. Returns ``None`` when no cache folder can be written.
        """
        params = json.dumps(self.params(), sort_keys=True, default=str)
        content = json.dumps({"files": [f.sha256 for f in self.files],
                              "version": self.parse_version, "format": _CACHE_FORMAT},
                             sort_keys=True)
        prefix = f"{first.name}.{self.name}.{_tag(params, 8)}."
        name = f"{prefix}{_tag(content, 16)}.parquet"
        env = os.environ.get(CACHE_ENV)
        folder = Path(env).expanduser() if env else first.parent / ".imputebench-cache"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not folder.is_dir() or not os.access(folder, os.W_OK):
                return None
            for stale in folder.iterdir():
                rest = stale.name[len(prefix):]
                if (stale.name.startswith(prefix) and stale.name != name
                        and re.fullmatch(r"[0-9a-f]{16}\.parquet", rest)):
                    _unlink_quietly(stale)
        except OSError:
            return None
        return folder / name


_CACHE_FORMAT = 2  # bump when the cache layout below changes
_META_KEY = b"imputebench"


def _tag(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _write_atomic(df: pd.DataFrame, path: Path) -> None:
    """Write the Parquet cache of ``df`` through a temporary file; never fail a load on it.

    Categorical columns are stored as their integer codes, their categories (unused ones and
    their order included), their dtype and the ordered flag in the file's metadata: Parquet alone
    brings back only string categories and turns integer or float ones into plain numbers.
    """
    tmp: Path | None = None
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not all(isinstance(c, str) for c in df.columns):
            return  # Parquet column names are strings: such a table is not cached
        plain, cats = {}, {}
        for col in df.columns:
            s = df[col]
            if isinstance(s.dtype, pd.CategoricalDtype):
                cats[col] = {"categories": s.cat.categories.tolist(),
                             "dtype": str(s.cat.categories.dtype), "ordered": bool(s.cat.ordered)}
                plain[col] = s.cat.codes.to_numpy(dtype="int32")
            else:
                plain[col] = s.to_numpy(dtype="float64")
        meta = json.dumps({"columns": list(df.columns), "categorical": cats})
        for col, spec in cats.items():  # store only what comes back exactly
            back, cats_now = _categories(spec), df[col].cat.categories
            if back.dtype != cats_now.dtype or not back.equals(cats_now):
                return
        table = pa.table(plain).replace_schema_metadata({_META_KEY: meta.encode()})
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - caching is an optimisation
        pass
    finally:
        if tmp is not None:
            _unlink_quietly(tmp)


def _categories(spec: dict) -> pd.Index:
    return pd.Index(spec["categories"], dtype=spec["dtype"])


def _read_cache(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[_META_KEY])
    cols = {}
    for col in meta["columns"]:
        values = table.column(col).to_numpy()
        spec = meta["categorical"].get(col)
        if spec is None:
            cols[col] = pd.Series(values, dtype="float64")
        else:
            dtype = pd.CategoricalDtype(_categories(spec), ordered=spec["ordered"])
            cols[col] = pd.Categorical.from_codes(values, dtype=dtype)
    return pd.DataFrame(cols)


def github_file(repo: str, commit: str, original: str, local: str, sha256: str) -> RemoteFile:
    """A file of a public GitHub repository at a pinned commit."""
    return RemoteFile(path=local, sha256=sha256,
                      url=f"https://raw.githubusercontent.com/{repo}/{commit}/{original}")


def standard_datasets() -> list[type[StandardDataset]]:
    """Registered standard datasets, by name."""
    from imputebench.datasets.base import _REGISTRY, available_datasets

    out = []
    for name in available_datasets():
        cls = _REGISTRY.get_class(name)  # the class: building an instance may need parameters
        if isinstance(cls, type) and issubclass(cls, StandardDataset):
            out.append(cls)
    return out


__all__ = ["StandardDataset", "data_dir", "github_file", "standard_datasets"]
