"""Missingness mechanisms: determinism, source NaN, rates, the published definitions, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from imputebench.datasets import (
    ImputebenchError,
    MaskSpec,
    available_mechanisms,
    load_dataset,
    make_mask,
    make_typed,
)
from imputebench.datasets.masking import achieved_rate

MECHANISMS = ["mcar", "full_mcar", "mar", "mnar_logistic", "mnar_self_logistic", "mnar_quantile"]
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """10,000 cells: 7 numeric and 3 categorical columns, no source NaN."""
    return load_dataset("synthetic", n_rows=1000, n_numeric=7, n_categorical=3, seed=0)


@pytest.fixture(scope="module")
def numeric() -> pd.DataFrame:
    return load_dataset("synthetic", n_rows=2000, n_numeric=6, n_categorical=0, seed=0)


@pytest.fixture(scope="module")
def holey(table) -> pd.DataFrame:
    """The 10,000-cell table with 10 % of its cells missing in the source."""
    hide = np.random.default_rng(7).random(table.shape) < 0.1
    return table.mask(hide)


def _standardized(df: pd.DataFrame) -> np.ndarray:
    x = df.to_numpy(dtype=np.float64)
    return (x - x.mean(axis=0)) / x.std(axis=0)


def _r2_on(z: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(z)), z])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return 1.0 - ((y - design @ beta) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_available_mechanisms():
    assert available_mechanisms() == sorted(MECHANISMS)


# --------------------------------------------------------------------------------------------
# every mechanism


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_same_seed_same_mask_other_seed_other_mask(table, mechanism):
    spec = MaskSpec(mechanism, 0.3)
    mask = make_mask(table, spec, 11)
    assert mask.shape == table.shape and mask.dtype == np.bool_
    assert mask.any()
    np.testing.assert_array_equal(mask, make_mask(table, spec, 11))
    np.testing.assert_array_equal(mask, make_mask(table, spec, np.random.default_rng(11)))
    assert (mask != make_mask(table, spec, 12)).any()


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_source_nan_is_never_hidden(table, holey, mechanism):
    penguins = load_dataset("penguins", include_target=True)
    for df in (penguins, holey):
        for seed in SEEDS:
            mask = make_mask(df, MaskSpec(mechanism, 0.5), seed)
            assert mask.shape == df.shape and mask.dtype == np.bool_
            assert not (mask & df.isna().to_numpy()).any()
            assert mask.any()


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("rate", [0.1, 0.9])
def test_constant_column_and_empty_row_raise_no_warning(mechanism, rate):
    rng = np.random.default_rng(0)
    raw = pd.DataFrame({"x": rng.normal(size=60), "const": 4.0,
                        "c": rng.choice(["a", "b"], 60), "o": rng.choice(["1", "2", "3"], 60)})
    df = make_typed(raw, {"o": "ordinal"})
    df.iloc[5] = np.nan                      # a row with no observed cell
    df.iloc[6, [0, 2, 3]] = np.nan           # a row with only the constant observed
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for spec in (MaskSpec(mechanism, rate), MaskSpec(mechanism, rate, p_params=0.9,
                                                         exclude_inputs=False, cut="lower")):
            mask = make_mask(df, spec, 3)
            assert not mask[5].any()
            assert not (mask & df.isna().to_numpy()).any()
            assert 0.0 <= achieved_rate(df, mask) <= 1.0
    if mechanism == "full_mcar":
        assert not mask[6].any()  # its one observed cell must stay


# --------------------------------------------------------------------------------------------
# rates


@pytest.mark.parametrize(("mechanism", "params"), [
    ("mcar", {}), ("full_mcar", {}), ("mnar_logistic", {}),
    ("mnar_logistic", {"exclude_inputs": False}), ("mnar_self_logistic", {}),
    ("mar", {"scope": "table"}),
])
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5])
def test_table_rate_within_one_point(table, mechanism, params, rate):
    for seed in SEEDS:
        mask = make_mask(table, MaskSpec(mechanism, rate, **params), seed)
        assert abs(achieved_rate(table, mask) - rate) < 0.01, seed


@pytest.mark.parametrize("p_obs", [0.1, 0.3, 0.5])
def test_mar_columns_scope_rate_and_inputs(table, p_obs):
    d = table.shape[1]
    d_obs = max(int(p_obs * d), 1)
    for seed in SEEDS:
        mask = make_mask(table, MaskSpec("mar", 0.3, p_obs=p_obs), seed)
        observed_cols = ~mask.any(axis=0)
        assert observed_cols.sum() == d_obs
        assert abs(mask[:, ~observed_cols].mean() - 0.3) < 0.015
        # the table loses rate * d_na / d of its cells
        assert achieved_rate(table, mask) == pytest.approx(0.3 * (d - d_obs) / d, abs=0.015)


def test_mar_prefers_complete_columns_as_inputs():
    df = load_dataset("penguins")  # only island and year have no source NaN
    for seed in SEEDS:
        mask = make_mask(df, MaskSpec("mar", 0.3), seed)
        assert df.columns[~mask.any(axis=0)].tolist() == ["island", "year"]


@pytest.mark.parametrize("exclude_inputs", [True, False])
def test_mnar_logistic_column_rates_and_dependence(numeric, exclude_inputs):
    z = _standardized(numeric)
    d = z.shape[1]
    for seed in SEEDS:
        mask = make_mask(numeric, MaskSpec("mnar_logistic", 0.3, exclude_inputs=exclude_inputs),
                         seed)
        assert (np.abs(mask.mean(axis=0) - 0.3) < 0.04).all()  # every column at the rate
        # How much of each column's mask the *other* columns' values explain: the inputs
        # (max(int(0.3 * 6), 1) = 1 column) are hidden MCAR, the others by a logistic of them.
        r2 = np.array([_r2_on(np.delete(z, j, axis=1), mask[:, j].astype(float))
                       for j in range(d)])
        if exclude_inputs:
            assert (r2 < 0.01).sum() == 1 and (r2 > 0.03).sum() == d - 1
        else:  # every column is an input of every column's score, its own included
            assert (r2 > 0.03).all()


def test_full_mcar_keeps_a_cell_in_every_row():
    rng = np.random.default_rng(0)
    df = make_typed(pd.DataFrame(rng.normal(size=(3000, 3)), columns=["a", "b", "c"]))
    mask = make_mask(df, MaskSpec("full_mcar", 0.9), 0)
    assert not mask.all(axis=1).any()
    # kNNxKDE's definition: each row is Bernoulli(0.9)^3 redrawn while all three are hidden,
    # so E[hidden per row] = (2.7 - 3 * 0.9**3) / (1 - 0.9**3) cells.
    expected = (2.7 - 3 * 0.9**3) / (1 - 0.9**3) / 3
    assert achieved_rate(df, mask) == pytest.approx(expected, abs=0.015)
    plain = make_mask(df, MaskSpec("mcar", 0.9), 0)
    assert plain.all(axis=1).sum() > 1500  # plain MCAR does hide whole rows


def test_full_mcar_counts_only_observed_cells():
    df = make_typed(pd.DataFrame({"a": [1.0, np.nan] * 200, "b": [np.nan, 2.0] * 200,
                                  "c": [3.0] * 400}))
    mask = make_mask(df, MaskSpec("full_mcar", 0.8), 1)
    kept = (~mask & df.notna().to_numpy()).sum(axis=1)
    assert (kept >= 1).all()


# --------------------------------------------------------------------------------------------
# the published definitions


@pytest.mark.parametrize("cut", ["upper", "lower", "both"])
@pytest.mark.parametrize("q", [0.75, 0.9])
def test_mnar_quantile_hides_only_beyond_the_quantiles(table, cut, q):
    spec = MaskSpec("mnar_quantile", 0.5, q=q, cut=cut, p_params=0.3)
    mask = make_mask(table, spec, 4)
    hit = np.flatnonzero(mask.any(axis=0))
    assert len(hit) == max(int(0.3 * table.shape[1]), 1)
    n_hidden = n_beyond = 0
    for j in hit:
        x = table.iloc[:, j].to_numpy()
        assert table.dtypes.iloc[j] == np.float64  # never a nominal column
        lo, hi = np.quantile(x, 1 - q), np.quantile(x, q)
        hidden = x[mask[:, j]]
        beyond = {"upper": x >= hi, "lower": x <= lo, "both": (x <= lo) | (x >= hi)}[cut]
        assert beyond[mask[:, j]].all()
        if cut == "upper":
            assert hidden.min() >= hi
        elif cut == "lower":
            assert hidden.max() <= lo
        n_hidden, n_beyond = n_hidden + mask[:, j].sum(), n_beyond + beyond.sum()
    # within the tails, values are hidden with probability rate (>= 300 tail cells: sd < 0.03)
    assert n_hidden / n_beyond == pytest.approx(0.5, abs=0.08)


def test_mnar_quantile_on_ordinal_and_refuses_nominal_only():
    df = load_dataset("penguins", include_target=True)
    mask = make_mask(df, MaskSpec("mnar_quantile", 0.5, p_params=0.99, cut="upper"), 0)
    nominal = [df.columns.get_loc(c) for c in ("species", "island", "sex")]
    assert not mask[:, nominal].any()
    year = df["year"].to_numpy()[mask[:, df.columns.get_loc("year")]]
    assert len(year) > 0 and set(year) == {"2009"}  # the top quartile of 2007 < 2008 < 2009
    cats = make_typed(pd.DataFrame({"a": list("xyz") * 5, "b": list("uv") * 7 + ["u"]}))
    with pytest.raises(ImputebenchError, match="numeric or ordinal"):
        make_mask(cats, MaskSpec("mnar_quantile", 0.3), 0)


def test_mnar_quantile_skips_a_column_with_no_observed_value():
    rng = np.random.default_rng(0)
    df = make_typed(pd.DataFrame({"empty": np.nan, "x": rng.normal(size=200)}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an all-NaN quantile would warn
        for seed in SEEDS:
            mask = make_mask(df, MaskSpec("mnar_quantile", 0.5, cut="upper"), seed)
            assert mask[:, 1].sum() > 10 and not mask[:, 0].any()


def _hidden_minus_observed(z: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.array([z[mask[:, j], j].mean() - z[~mask[:, j], j].mean()
                     for j in range(z.shape[1])])


@pytest.mark.parametrize("seed", SEEDS)
def test_self_masking_is_mnar_and_mcar_is_not(numeric, seed):
    z = _standardized(numeric)
    self_gap = _hidden_minus_observed(z, make_mask(numeric, MaskSpec("mnar_self_logistic", 0.3),
                                                   seed))
    mcar_gap = _hidden_minus_observed(z, make_mask(numeric, MaskSpec("mcar", 0.3), seed))
    # unit-variance logistic score on the column itself: hidden values are shifted by > 0.5 sd
    # in every column; under MCAR the shift is noise (sd about 0.05 here).
    assert (np.abs(self_gap) > 0.5).all()
    assert (np.abs(mcar_gap) < 0.2).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_mar_missingness_follows_the_inputs(numeric, seed):
    z = _standardized(numeric)
    mask = make_mask(numeric, MaskSpec("mar", 0.3, p_obs=0.34), seed)
    inputs = np.flatnonzero(~mask.any(axis=0))
    assert len(inputs) == 2
    masked = [j for j in range(z.shape[1]) if j not in inputs]
    mcar = make_mask(numeric, MaskSpec("mcar", 0.3), seed)
    for j in masked:
        # a linear probability fit on the inputs explains the mask (the logistic score is a
        # linear function of them) and explains nothing of an MCAR mask
        assert _r2_on(z[:, inputs], mask[:, j].astype(float)) > 0.05
        assert _r2_on(z[:, inputs], mcar[:, j].astype(float)) < 0.01
        assert abs(mask[:, j].mean() - 0.3) < 0.03  # the paper's rate, column by column


# --------------------------------------------------------------------------------------------
# MaskSpec


@pytest.mark.parametrize("rate", [0, 1, -0.1, 1.5, "0.3", True, None, float("nan")])
def test_bad_rate_is_named(rate):
    with pytest.raises(ImputebenchError, match="rate"):
        MaskSpec("mcar", rate)


def test_numpy_rates_are_plain_floats():
    spec = MaskSpec("mcar", np.float64(0.25), p_obs=np.float32(0.5))
    assert type(spec.rate) is float and type(spec.p_obs) is float
    assert spec.to_dict() == MaskSpec("mcar", 0.25).to_dict()


@pytest.mark.parametrize(("params", "match"), [
    ({"mechanism": "mcr"}, "unknown missingness mechanism 'mcr'.*'mcar'"),
    ({"mechanism": "mnar_logstic"}, "'mnar_logistic'"),
    ({"mechanism": 3}, "unknown missingness mechanism"),
    ({"p_obs": 1.0}, "p_obs"), ({"p_params": 0}, "p_params"), ({"q": 0.25}, "q"),
    ({"cut": "middle"}, "cut"), ({"scope": "rows"}, "scope"),
    ({"exclude_inputs": "yes"}, "exclude_inputs"),
])
def test_bad_spec_fields_are_named(params, match):
    with pytest.raises(ImputebenchError, match=match):
        MaskSpec(**{"mechanism": "mar", **params})


def test_from_dict_round_trip_and_unknown_key():
    spec = MaskSpec("mnar_quantile", 0.4, q=0.9, cut="upper")
    assert MaskSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ImputebenchError, match="unknown mask parameter 'rat'.*'rate'"):
        MaskSpec.from_dict({"mechanism": "mcar", "rat": 0.3})


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_to_dict_holds_only_used_parameters(table, mechanism):
    used = {"mcar": set(), "full_mcar": set(), "mar": {"p_obs", "scope"},
            "mnar_logistic": {"p_params", "exclude_inputs"}, "mnar_self_logistic": set(),
            "mnar_quantile": {"p_params", "q", "cut"}}[mechanism]
    base = MaskSpec(mechanism, 0.3)
    assert set(base.to_dict()) == {"mechanism", "rate"} | used
    unused = {k: v for k, v in {"p_obs": 0.6, "p_params": 0.6, "q": 0.9, "cut": "lower",
                                "scope": "table", "exclude_inputs": False}.items()
              if k not in used}
    other = MaskSpec(mechanism, 0.3, **unused)
    assert other.to_dict() == base.to_dict()
    # ... so unused parameters must not change the mask either
    np.testing.assert_array_equal(make_mask(table, other, 5), make_mask(table, base, 5))


def test_label_names_non_default_parameters():
    assert MaskSpec("mcar", 0.3).label() == "mcar(0.3)"
    assert MaskSpec("mar", 0.3, p_obs=0.3, q=0.9).label() == "mar(0.3)"
    assert MaskSpec("mar", 0.3, scope="table").label() == "mar(0.3,scope=table)"


# --------------------------------------------------------------------------------------------
# bad tables


def test_mar_table_scope_that_cannot_reach_the_rate(table):
    # 3 of 10 columns stay observed: a table rate of 0.8 needs 0.8 * 10 / 7 > 1 elsewhere
    with pytest.raises(ImputebenchError, match="cannot reach a table rate of 0.8"):
        make_mask(table, MaskSpec("mar", 0.8, scope="table"), 0)
    mask = make_mask(table, MaskSpec("mar", 0.65, scope="table"), 0)  # 0.93 per column: fine
    assert abs(achieved_rate(table, mask) - 0.65) < 0.01


@pytest.mark.parametrize("mechanism", ["mar", "mnar_logistic"])
def test_single_column_table_for_logistic_inputs(mechanism):
    df = make_typed(pd.DataFrame({"a": np.arange(10.0)}))
    with pytest.raises(ImputebenchError, match="needs at least 2 columns.*has 1"):
        make_mask(df, MaskSpec(mechanism, 0.3), 0)


def test_table_with_no_observed_cell():
    df = make_typed(pd.DataFrame({"a": [np.nan] * 4, "b": [np.nan] * 4}))
    for mechanism in MECHANISMS:
        with pytest.raises(ImputebenchError, match="no observed cell"):
            make_mask(df, MaskSpec(mechanism, 0.3), 0)
    with pytest.raises(ImputebenchError, match="no observed cell"):
        achieved_rate(df, np.zeros(df.shape, dtype=bool))


def test_bad_arguments_to_make_mask_and_achieved_rate(table):
    with pytest.raises(ImputebenchError, match="MaskSpec"):
        make_mask(table, {"mechanism": "mcar", "rate": 0.3}, 0)
    with pytest.raises(ImputebenchError, match="DataFrame"):
        make_mask(table.to_numpy(), MaskSpec("mcar", 0.3), 0)
    dup = pd.concat([table[["x0"]], table[["x0"]]], axis=1)
    with pytest.raises(ImputebenchError, match="duplicate"):
        make_mask(dup, MaskSpec("mnar_self_logistic", 0.3), 0)
    with pytest.raises(ImputebenchError, match="shape"):
        achieved_rate(table, np.zeros((3, 3), dtype=bool))


def test_achieved_rate_known_answer():
    df = make_typed(pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, 3.0, 4.0]}))
    mask = np.array([[True, False], [False, True], [False, False], [False, False]])
    assert achieved_rate(df, mask) == pytest.approx(2 / 7)
