"""What the adapters of SDV's synthesizers share (``sdv_gaussian_copula``, ``sdv_tvae``,
``sdv_ctgan``, ``sdv_copulagan``): the SDV 2.0 API lives here, once.

* **Import.** ``sdv`` is imported inside ``fit`` through :func:`require`, so a missing package is
  a :class:`MissingPackage` (a skipped cell naming the ``synth`` extra), never an import error
  when the registry scans this folder.
* **Table.** Missing training cells are completed by a seeded hot deck (each missing cell a
  uniform draw from its own column's observed values): SDV would otherwise model missingness
  itself (an extra null indicator per column) and could generate NaN. Columns are renamed
  ``c0, c1, ...`` (SDV keys columns by name; positional names avoid any name it dislikes), numeric
  columns stay float64 and categorical / ordinal columns become object columns of their level
  codes ``"L0", "L1", ...`` (SDV refuses pandas ``category`` columns in CTGAN / TVAE, and codes
  cannot be read back as numbers whatever the labels look like).
* **Metadata** from our declared kinds, never SDV's auto-detection: numeric -> sdtype
  ``numerical``; categorical and ordinal -> ``categorical`` (SDV's own ``ordinal`` sdtype is not
  used by these synthesizers' defaults either).
* **Back.** Generated rows become float64 numeric columns and pandas Categoricals with the
  fitted categories (``dtypes_``), in the fitted column order.
* **Seeding.** SDV 2.0 has no seed for ``fit``: its models draw from the global numpy and torch
  generators (and ctgan's sampler from the global numpy one). So each ``fit`` and each
  ``sample_rows`` runs inside :func:`seeded_globals`, which saves the global numpy, python
  ``random`` and torch (CPU and the CUDA device in use) states, seeds them from one integer
  drawn from our ``rng`` and restores them afterwards: the process's global state is unchanged.
  For sampling, the synthesizer's own sampling state is also reset (``reset_sampling``) and seeded
  with that integer (``_set_random_state``, the only seeding hook SDV 2.0 has; without it every
  first ``sample`` after ``fit`` uses SDV's fixed seed 73251), so ``sample_rows(n, s)`` is a
  function of the fitted model and ``s`` alone.
"""

from __future__ import annotations

import contextlib
import importlib
import random
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError, require
from imputebench.datasets.schema import NUMERIC
from imputebench.imputers._torch import check_device, check_positive_ints, check_widths
from imputebench.imputers.base import Imputer

TABLE = "imputebench"           # the one table name of the SDV metadata
_SEED_HIGH = 2**31 - 1          # numpy RandomState and ctgan take seeds below 2**32
DISTRIBUTIONS = ("norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde")


def hot_deck(X: pd.DataFrame, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], int]:
    """Each column as an array with every missing cell drawn uniformly from the column's observed
    values: float64 for numeric columns, int64 category codes for the others. Returns the arrays
    and the number of cells filled."""
    out, filled = {}, 0
    for col in X.columns:
        s = X[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            x = s.cat.codes.to_numpy().astype(np.int64)
            miss = x < 0
        else:
            x = s.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
            miss = np.isnan(x)
        if miss.any():
            observed = x[~miss]
            x[miss] = observed[rng.integers(0, len(observed), int(miss.sum()))]
            filled += int(miss.sum())
        out[col] = x
    return out, filled


def sdv_name(j: int) -> str:
    return f"c{j}"


def level_name(code: int) -> str:
    return f"L{code}"


def to_sdv(arrays: dict[str, np.ndarray], kinds: dict[str, str]) -> pd.DataFrame:
    """The complete table as SDV gets it (module docstring: names, dtypes)."""
    cols = {}
    for j, (col, x) in enumerate(arrays.items()):
        if kinds[col] == NUMERIC:
            cols[sdv_name(j)] = x
        else:
            cols[sdv_name(j)] = np.array([level_name(int(c)) for c in x], dtype=object)
    return pd.DataFrame(cols)


def metadata_dict(columns: list[str], kinds: dict[str, str]) -> dict:
    """SDV metadata (V2 spec) built from our declared kinds."""
    spec = {sdv_name(j): ({"sdtype": "numerical"}
                          if kinds[col] == NUMERIC else {"sdtype": "categorical"})
            for j, col in enumerate(columns)}
    return {"METADATA_SPEC_VERSION": "V2", "tables": {TABLE: {"columns": spec}},
            "relationships": []}


def from_sdv(out: pd.DataFrame, columns: list[str], dtypes: pd.Series, who: str) -> pd.DataFrame:
    """SDV's generated rows back in our columns, dtypes and categories."""
    result = {}
    for j, col in enumerate(columns):
        values = out[sdv_name(j)]
        dtype = dtypes[col]
        if isinstance(dtype, pd.CategoricalDtype):
            names = pd.Index([level_name(k) for k in range(len(dtype.categories))])
            codes = names.get_indexer(np.asarray(values, dtype=object))
            if (codes < 0).any():
                raise RuntimeError(f"{who}: SDV generated a level outside the fitted categories "
                                   f"in column {col!r}")
            result[col] = pd.Categorical.from_codes(codes, dtype=dtype)
        else:
            result[col] = np.asarray(values, dtype=np.float64)
    return pd.DataFrame(result)


def _cuda_index(device: str) -> int | None:
    if not device.startswith("cuda"):
        return None
    return int(device.split(":")[1]) if ":" in device else 0


@contextlib.contextmanager
def seeded_globals(seed: int, device: str):
    """Seed the global numpy, python ``random`` and torch generators (CPU, and the CUDA device of
    ``device``) from ``seed`` for the block, and give every one its earlier state back after.
    On a CUDA device the block also runs with that device current, so SDV's ``enable_gpu``
    (which asks torch for ``"cuda"``) lands on it."""
    try:
        import torch
    except ImportError:
        torch = None
    index = _cuda_index(device)
    # the global numpy state is what SDV / ctgan / copulas draw from: saved, seeded, restored
    np_state = np.random.get_state()  # noqa: NPY002
    py_state = random.getstate()
    with contextlib.ExitStack() as stack:
        if torch is not None:
            stack.enter_context(torch.random.fork_rng(devices=[] if index is None else [index]))
            torch.random.default_generator.manual_seed(seed)
            if index is not None:
                stack.enter_context(torch.cuda.device(index))
                torch.cuda.manual_seed(seed)       # the current device only
        try:
            np.random.set_state(np.random.RandomState(seed).get_state())  # noqa: NPY002
            random.setstate(random.Random(seed).getstate())
            yield
        finally:
            np.random.set_state(np_state)  # noqa: NPY002
            random.setstate(py_state)


class SDVGenerator(Imputer):
    """Shared body of the SDV adapters (module docstring); not registered itself.

    Subclasses set ``name``, ``capabilities``, ``fast_params``, ``_synthesizer`` (the class name
    in ``sdv.single_table``) and implement ``_sdv_kwargs()`` (the synthesizer's arguments after
    the metadata) and, for their own parameters, ``_check_params()``.
    """

    _synthesizer: ClassVar[str]
    _int_params: ClassVar[tuple[str, ...]] = ()
    _width_params: ClassVar[tuple[str, ...]] = ()

    def _check_params(self) -> None:
        check_positive_ints(self, self._int_params, self.name)
        for pname in self._width_params:
            check_widths(getattr(self, pname), pname, self.name)
        if hasattr(self, "default_distribution") and self.default_distribution not in \
                DISTRIBUTIONS:
            raise ImputebenchError(f"{self.name}: default_distribution must be one of "
                                   f"{list(DISTRIBUTIONS)}, got {self.default_distribution!r}")
        if self.capabilities.torch:
            check_device(self.device, self.name)

    def _sdv_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        sdv = require("sdv", self.name, "synth")
        from sdv.metadata import Metadata

        if self.capabilities.torch:
            from imputebench.imputers._torch import resolve_device

            self.device_ = resolve_device(self.device, self.name)
        device = getattr(self, "device_", "cpu")
        hot_seed, fit_seed = (int(s) for s in rng.integers(0, _SEED_HIGH, 2))
        arrays, filled = hot_deck(X, np.random.default_rng(hot_seed))
        table = to_sdv(arrays, kinds)
        metadata = Metadata.load_from_dict(metadata_dict(self.columns_, kinds))
        cls = getattr(importlib.import_module("sdv.single_table"), self._synthesizer)
        kwargs = self._sdv_kwargs()
        if self.capabilities.torch:
            kwargs["enable_gpu"] = device != "cpu"
        synth = cls(metadata, **kwargs)
        with seeded_globals(fit_seed, device):
            synth.fit({TABLE: table})
        self.synthesizer_ = synth
        self.diagnostics_ = {"package": "sdv", "version": sdv.__version__,
                             "synthesizer": self._synthesizer, "hot_deck_cells": filled,
                             **{k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in kwargs.items()}}
        if hasattr(synth, "get_loss_values"):      # CTGAN, TVAE, CopulaGAN: the last epoch's
            losses = synth.get_loss_values()        # mean loss (TVAE logs one row per batch)
            if len(losses):
                last = losses[losses["Epoch"] == losses["Epoch"].max()]
                self.diagnostics_["final_loss"] = {
                    str(k): float(pd.to_numeric(last[k]).mean())
                    for k in last.columns if k not in ("Epoch", "Batch")}

    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        seed = int(rng.integers(0, _SEED_HIGH))
        synth = self.synthesizer_
        with seeded_globals(seed, getattr(self, "device_", "cpu")):
            synth.reset_sampling()
            synth._set_random_state(seed)   # SDV 2.0's only sampling seed (module docstring)
            out = synth.sample(num_rows=n)[TABLE]
        if len(out) != n:
            raise RuntimeError(f"{self.name}: SDV returned {len(out)} rows, not {n}")
        return from_sdv(out.reset_index(drop=True), self.columns_, self.dtypes_, self.name)

