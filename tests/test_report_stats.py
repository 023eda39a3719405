"""Known answers of the report's statistics (Friedman, Iman–Davenport, Nemenyi, Wilcoxon-Holm)."""

from __future__ import annotations

import numpy as np
import pytest

from imputebench.benchmarks.report import stats as st

# A textbook Friedman example (pulse rates of 7 subjects before, immediately after and five
# minutes after exercise): rank sums 10, 21, 11, chi2 = 12/(7*3*4) * 662 - 3*7*4 = 10.571.
PULSE = {"before": [72, 96, 88, 92, 74, 76, 82],
         "after": [120, 120, 132, 120, 101, 96, 112],
         "five_min": [76, 95, 104, 96, 84, 72, 76]}


def _means(table: dict[str, list[float]]) -> dict[tuple, dict[str, float]]:
    n = len(next(iter(table.values())))
    return {(i,): {lb: float(v[i]) for lb, v in table.items()} for i in range(n)}


def test_textbook_friedman_example():
    s = st.compare_blocks("pulse", _means(PULSE), minimize=True)
    assert s.n_blocks == 7 and s.labels == ["after", "before", "five_min"]
    assert s.chi2 == pytest.approx(10.5714286, rel=1e-6)
    assert s.p_chi2 == pytest.approx(np.exp(-10.5714286 / 2), rel=1e-6)    # chi2 with 2 df
    assert s.avg_ranks == pytest.approx({"before": 10 / 7, "after": 3.0, "five_min": 11 / 7})
    # Iman–Davenport: F = (N-1) chi2 / (N (k-1) - chi2) on (2, 12) degrees of freedom
    assert s.f_stat == pytest.approx(6 * 10.5714286 / (14 - 10.5714286), rel=1e-6)
    assert s.significant is True
    # "higher is better" mirrors the ranks and leaves the statistic alone
    hi = st.compare_blocks("pulse", _means(PULSE), minimize=False)
    assert hi.chi2 == pytest.approx(s.chi2) and hi.avg_ranks["after"] == 1.0


@pytest.mark.parametrize("k, q", [(2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (6, 2.850),
                                  (7, 2.949), (8, 3.031), (9, 3.102), (10, 3.164)])
def test_nemenyi_q_matches_demsar_table_5(k, q):
    assert st.nemenyi_q(k) == pytest.approx(q, abs=1.5e-3)


def test_nemenyi_cd_of_demsars_example():
    # Demšar (2006), section 3.2.4: four classifiers on 14 data sets, CD = 1.25 at alpha 0.05
    assert st.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.005)


def test_holm_step_down():
    assert st.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert st.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def test_identical_imputers_are_never_significantly_different():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        a = rng.normal(size=12)
        table = {"a": a, "a_copy": a.copy(), "b": rng.normal(size=12), "c": rng.normal(size=12)}
        s = st.compare_blocks("m", _means(table), minimize=True)
        p = s.pair("a", "a_copy")
        assert (p.wins, p.ties, p.losses) == (0, 12, 0)
        assert p.p == 1.0 and not p.significant and not p.nemenyi


def test_a_clearly_better_imputer_is_always_significant():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        others = {lb: rng.uniform(1, 2, size=12) for lb in ("b", "c", "d")}
        table = {"best": rng.uniform(0, 0.9, size=12), **others}
        s = st.compare_blocks("m", _means(table), minimize=True)
        assert s.avg_ranks["best"] == 1.0 and s.significant
        for lb in others:
            p = s.pair("best", lb)
            assert (p.wins, p.losses) == (12, 0) and p.significant
            assert p.p == pytest.approx(2 / 2 ** 12)          # exact: all 12 signs agree
        assert all("best" not in g for g in s.groups())


def test_too_few_blocks_is_said_plainly():
    s = st.compare_blocks("m", _means({"a": [1, 2], "b": [2, 3], "c": [3, 1]}), minimize=True)
    assert s.p_f is None and s.cd is None and "too few blocks" in s.reason
    assert "No Friedman test" in st.describe(s)
    five = st.compare_blocks("m", _means({"a": [1, 2, 3, 4, 5], "b": [2, 3, 4, 5, 6],
                                          "c": [3, 4, 5, 6, 7]}), minimize=True)
    assert five.p_f is not None and "no pairwise Wilcoxon test can reach" in five.reason
    assert all(not p.significant for p in five.pairs)


def test_imputers_missing_blocks_are_left_out_and_named():
    means = _means({"a": [1, 2, 3, 4], "b": [2, 3, 4, 5], "c": [3, 4, 5, 6]})
    means[(0,)].pop("c")
    s = st.compare_blocks("m", means, minimize=True)
    assert s.labels == ["a", "b"] and s.left_out == ["c"] and s.n_blocks == 4
    assert "left out" in st.describe(s)


def test_an_imputer_missing_some_blocks_is_kept_when_enough_blocks_remain():
    rng = np.random.default_rng(0)
    means = _means({lb: rng.normal(size=12) for lb in ("a", "b", "numeric_only")})
    for i in range(4):                          # say, four blocks of a mixed-type table
        means[(i,)].pop("numeric_only")
    s = st.compare_blocks("m", means, minimize=True)
    assert s.labels == ["a", "b", "numeric_only"] and s.n_blocks == 8 and s.left_out == []
    for i in range(4, 7):                       # now only 5 blocks have all three: too few
        means[(i,)].pop("numeric_only")
    s = st.compare_blocks("m", means, minimize=True)
    assert s.labels == ["a", "b"] and s.n_blocks == 12 and s.left_out == ["numeric_only"]


def test_groups_are_the_cliques_within_cd():
    s = st.MetricStats("m", True, ["a", "b", "c", "d"], 10, cd=1.0,
                       avg_ranks={"a": 1.0, "b": 1.5, "c": 2.2, "d": 3.9})
    assert s.groups() == [("a", "b"), ("b", "c")]


def test_pareto_front_keeps_only_undominated_points():
    from imputebench.benchmarks.report.plots import pareto_front

    pts = {"a": (1.0, 3.0), "b": (2.0, 2.0), "c": (3.0, 3.0), "d": (0.5, 5.0), "e": (2.0, 2.0)}
    # c is dominated by b; b and e tie exactly, so neither dominates the other
    assert pareto_front(pts) == ["d", "a", "b", "e"]


def test_clean_svg_rounds_coordinates_and_keeps_only_referenced_ids():
    from imputebench.benchmarks.report.figures import clean_svg

    raw = ('<?xml version="1.0"?>\n<svg>\n  <defs>\n   <path id="m1" d="M 1.23456 -0.04 \n'
           'L 10.96 2 "/>\n  </defs>\n  <g id="figure_1">\n   <use href="#m1" x="3.14159" '
           'y="0.001"/>\n   <text x="1.25" transform="rotate(-0 1.25 2)">0.12345</text>\n'
           '  </g>\n</svg>\n')
    out = clean_svg(raw, "f0-")
    assert 'd="M 1.2 0 L 11 2 "' in out and 'x="3.1" y="0"' in out
    assert 'id="f0-m1"' in out and 'href="#f0-m1"' in out and "figure_1" not in out
    assert ">0.12345</text>" in out and "rotate" not in out and "<?xml" not in out
