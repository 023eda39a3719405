"""SDV's ``GaussianCopulaSynthesizer`` as a generator of whole rows (a reference synthesizer)."""

from __future__ import annotations

from typing import Any

from imputebench.imputers._sdv import SDVGenerator
from imputebench.imputers.base import Capabilities, register_imputer


@register_imputer
class SDVGaussianCopula(SDVGenerator):
    """SDV 2's Gaussian copula synthesizer (``GaussianCopulaSynthesizer``), adapted.

    The model of the Synthetic Data Vault (Patki, Wedge & Veeramachaneni 2016) for one table,
    run by SDV itself: each column is mapped to a number by SDV's default transformers (numeric:
    ``FloatFormatter``; categorical and ordinal: ``UniformEncoder``, a level becoming a uniform
    draw inside its frequency interval of [0, 1]), each transformed column gets a parametric
    marginal (``default_distribution``) and their dependence is a Gaussian copula
    (``copulas.multivariate.GaussianMultivariate``). Rows are drawn from the copula and mapped
    back. It generates whole rows only: ``transform`` and ``sample`` refuse a table with missing
    cells (capability ``imputes=False``), and the imputation task skips it. Our
    ``gaussian_copula`` is the same model family with empirical marginals and an EM fit.

    Choices, all stated:

    * SDV's defaults are kept (``enforce_min_max_values`` and ``enforce_rounding`` on: generated
      numbers are clipped to the training range and rounded to the training precision), except
      ``default_distribution``, exposed, whose default is SDV's own, ``"beta"``.
    * The metadata is built from our declared kinds (numeric -> ``numerical``; categorical and
      ordinal -> ``categorical``), never from SDV's auto-detection; columns and levels are
      renamed for SDV and renamed back (``imputers/_sdv.py``).
    * Missing training cells are first completed by a seeded hot deck: each one a uniform draw
      from its column's observed values, using the ``rng`` of ``fit``.
    * Seeding: ``fit`` and ``sample_rows`` run with the global numpy / python / torch generators
      seeded from ``random_state`` (resp. ``sample_rows``' own), and restored after, so the
      process's global random state is unchanged; the same seeds give the same rows. SDV's
      copula fit is itself deterministic (RDT seeds its transformers from the column names and
      first rows), so on a complete table ``random_state`` changes nothing; it seeds the hot
      deck. The rows depend on ``sample_rows``' ``random_state`` only.

    Known behaviour (measured, notes/pmse-and-synthesis-facts.md): point masses are lost (92 %
    zeros of adult's ``capital-gain`` came out as 1-49 %), because the marginals are
    continuous parametric distributions.

    Parameters
    ----------
    default_distribution : {"beta", "norm", "truncnorm", "uniform", "gamma", "gaussian_kde"}
        The marginal of every column (SDV's ``default_distribution``; SDV's default ``"beta"``).
    random_state : None, int or numpy Generator
        Seeds the hot deck (the fit is deterministic); ``sample_rows`` takes its own.

    Attributes
    ----------
    synthesizer_ : sdv.single_table.GaussianCopulaSynthesizer
        The fitted SDV synthesizer (columns ``c0, c1, ...``, levels ``L0, L1, ...``).
    diagnostics_ : dict
        Package, version, synthesizer class, its arguments, the number of hot-decked cells.

    References
    ----------
    Patki, N., Wedge, R., Veeramachaneni, K. (2016). The Synthetic Data Vault. IEEE
    International Conference on Data Science and Advanced Analytics (DSAA), 399-410.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset
    >>> gen = SDVGaussianCopula(random_state=0).fit(load_dataset("penguins"))  # needs sdv
    >>> gen.sample_rows(100, random_state=1).shape
    (100, 7)
    """

    name = "sdv_gaussian_copula"
    capabilities = Capabilities(categorical=True, stochastic=True, torch=False, generates=True,
                                imputes=False)
    fast_params = {"random_state": 0}
    _synthesizer = "GaussianCopulaSynthesizer"

    def __init__(self, default_distribution: str = "beta", random_state=None) -> None:
        self.default_distribution = default_distribution
        self.random_state = random_state

    def _sdv_kwargs(self) -> dict[str, Any]:
        return {"default_distribution": self.default_distribution}
