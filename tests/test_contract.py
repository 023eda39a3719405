"""The imputer contract over every registered imputer (a new imputer file needs no new test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from imputebench.datasets.errors import MissingPackage
from imputebench.imputers import (
    Capabilities,
    Imputer,
    available_imputers,
    get_imputer,
    get_imputer_class,
)
from imputebench.imputers.checks import ALL_CHECKS, parametrize_with_checks, run_checks

IMPUTERS = [get_imputer(name, **get_imputer(name).fast_params) for name in available_imputers()]


@parametrize_with_checks(IMPUTERS)
def test_contract(imputer, check):
    try:
        check(imputer.name, clone(imputer))
    except MissingPackage as exc:   # a reference synthesizer whose optional package is absent
        pytest.skip(str(exc))


def test_every_registered_imputer_is_covered():
    names = available_imputers()            # aliases (triplet_vae) run with their defaults
    assert len(IMPUTERS) == len(names)
    assert {imp.name for imp in IMPUTERS} == {get_imputer_class(n).name for n in names}
    assert get_imputer("triplet_vae").get_params()["triplet_weight"] == 1.0
    assert {"mean", "knn"} <= set(available_imputers())


class _Broken(Imputer):
    """Leaves NaN and overwrites observed cells: the contract must catch both."""

    name = "broken_for_test"
    capabilities = Capabilities()

    def __init__(self, mode: str = "nan") -> None:
        self.mode = mode

    def _fit(self, X, kinds, rng):
        pass

    def _impute(self, X, rng):
        if self.mode == "nan":
            return X
        out = X.copy()
        out["a"] = 0.0
        return out


def test_base_class_refuses_nan_output():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    with pytest.raises(RuntimeError, match="left NaN"):
        _Broken("nan").fit(X).transform(X)


def test_base_class_restores_observed_cells():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0]})
    out = _Broken("overwrite").fit(X).transform(X)
    assert out["a"].tolist() == [1.0, 0.0, 3.0]


def test_checks_report_a_broken_imputer():
    results = dict(run_checks(_Broken("nan")))
    assert results["check_transform_contract"] is not None
    assert "NaN" in results["check_transform_contract"]
    assert len(results) == len(ALL_CHECKS)


def test_entry_point_plugins_register(monkeypatch):
    from imputebench.datasets import registry as reg_mod
    from imputebench.datasets.registry import Registry

    class _Plugin(_Broken):
        name = "plugin_for_test"

    class _EP:
        name = "plugin_for_test"

        def load(self):
            return _Plugin

    class _BadEP:
        name = "broken_plugin"

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(reg_mod, "entry_points",
                        lambda group: [_EP(), _BadEP()] if group == "g" else [])
    reg = Registry("imputer", "imputebench.imputers", group="g", skip={"base", "checks"})
    with pytest.warns(UserWarning, match="broken_plugin"):
        names = reg.names()
    assert "plugin_for_test" in names and "broken_plugin" not in names
    assert reg.get_class("plugin_for_test") is _Plugin
