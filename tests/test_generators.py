"""Whole-row synthesis (``sample_rows``) of cart (synthpop's CART), gaussian_copula and the
independent baseline: known answers on a table with a known dependence."""

from __future__ import annotations

import numpy as np
import pytest

from imputebench.datasets.errors import ImputebenchError
from imputebench.imputers import available_imputers, get_imputer, get_imputer_class


def _agree(rows):
    return np.mean((rows["x"] > 0).to_numpy() == (rows["g"] == "pos").to_numpy())


@pytest.fixture(scope="module")
def table(gaussian_table):
    truth, _, _, _ = gaussian_table(n=1500)
    return truth


def test_the_generators_declare_it():
    gens = {n for n in available_imputers() if get_imputer_class(n).capabilities.generates}
    assert {"cart", "gaussian_copula", "independent", "tabddpm", "tvae", "vae"} <= gens
    with pytest.raises(ImputebenchError, match="does not generate"):
        get_imputer("knn").fit(_small()).sample_rows(3)


def _small():
    from imputebench.datasets import load_dataset

    return load_dataset("iris")


def test_cart_synthesis_keeps_the_dependence_and_the_donor_values(table):
    imp = get_imputer("cart", random_state=0).fit(table)
    rows = imp.sample_rows(3000, random_state=1)
    assert np.corrcoef(rows["x"], rows["y"])[0, 1] > 0.7                # data: 0.8
    assert _agree(rows) > 0.95                                           # data: 1
    assert np.isin(rows["x"], table["x"]).all()          # first column: drawn from its values
    assert np.isin(rows["y"], table["y"]).all()          # next ones: leaf donors
    assert abs(rows["x"].mean() - table["x"].mean()) < 0.1
    assert rows.equals(imp.sample_rows(3000, random_state=1))


def test_cart_synthesis_completes_a_table_with_missing_cells_first(gaussian_table):
    _, hidden, _, _ = gaussian_table(n=800)
    rows = get_imputer("cart", random_state=0).fit(hidden).sample_rows(800, random_state=0)
    assert not rows.isna().any().any()
    assert np.corrcoef(rows["x"], rows["y"])[0, 1] > 0.6


def test_gaussian_copula_synthesis_keeps_marginals_and_dependence(table):
    imp = get_imputer("gaussian_copula").fit(table)
    rows = imp.sample_rows(4000, random_state=0)
    from scipy.stats import spearmanr

    assert spearmanr(rows["x"], rows["y"]).statistic > 0.7              # data: 0.79
    assert _agree(rows) > 0.85
    q = np.quantile(rows["y"], [0.1, 0.5, 0.9])
    assert np.allclose(q, np.quantile(table["y"], [0.1, 0.5, 0.9]), atol=0.12)
    assert (rows["x"] >= table["x"].min()).all() and (rows["x"] <= table["x"].max()).all()


def test_independent_keeps_marginals_and_no_dependence(table):
    imp = get_imputer("independent", random_state=0).fit(table)
    rows = imp.sample_rows(6000, random_state=0)
    assert abs(np.corrcoef(rows["x"], rows["y"])[0, 1]) < 0.05
    assert abs(_agree(rows) - 0.5) < 0.03
    assert np.isin(rows["x"], table["x"]).all()
    assert abs((rows["g"] == "pos").mean() - (table["g"] == "pos").mean()) < 0.03


def test_independent_imputes_by_a_seeded_hot_deck(gaussian_table):
    _, hidden, hide_y, _ = gaussian_table(n=500)
    imp = get_imputer("independent", random_state=0).fit(hidden)
    out = imp.transform(hidden)
    assert out.equals(imp.transform(hidden))
    assert np.isin(out.loc[hide_y, "y"], hidden["y"].dropna()).all()
    assert out.loc[hide_y, "y"].nunique() > 20          # draws, not one fill value
