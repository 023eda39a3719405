"""SDV's ``CopulaGANSynthesizer`` as a generator of whole rows (a reference synthesizer)."""

from __future__ import annotations

from typing import Any

from imputebench.imputers.base import register_imputer
from imputebench.imputers.sdv_ctgan import SDVCTGAN


@register_imputer
class SDVCopulaGAN(SDVCTGAN):
    """CopulaGAN as SDV 2 runs it (``CopulaGANSynthesizer``), adapted.

    CopulaGAN is SDV's variant of CTGAN (Xu et al. 2019), described in SDV's documentation (it
    has no paper of its own): every numeric column is first mapped to normal scores through a
    fitted parametric marginal (RDT's ``GaussianNormalizer``: ``Phi^-1(F(x))`` with ``F`` of
    family ``default_distribution``), CTGAN is trained on the transformed table, and generated
    values are mapped back through ``F^-1(Phi(.))``. Categorical columns go to CTGAN unchanged,
    so on an all-categorical table it returns exactly CTGAN's table (measured,
    notes/pmse-and-synthesis-facts.md). It generates whole rows only: ``transform`` and
    ``sample`` refuse a table with missing cells (capability ``imputes=False``).

    Choices, all stated: as ``sdv_ctgan`` (SDV's defaults kept for everything not exposed;
    ``device`` -> ``enable_gpu``; metadata from our declared kinds; missing training cells
    completed by a seeded hot deck from each column's observed values; global numpy / python /
    torch generators seeded from our ``rng`` around ``fit`` and ``sample_rows`` and restored
    after), plus ``default_distribution`` with SDV's default ``"beta"``.

    Parameters
    ----------
    epochs, batch_size, embedding_dim, generator_dim, discriminator_dim, pac, device
        As ``sdv_ctgan`` (SDV's defaults: 300, 500, 128, (256, 256), (256, 256), 10).
    default_distribution : {"beta", "norm", "truncnorm", "uniform", "gamma", "gaussian_kde"}
        The marginal family of every numeric column (SDV's default ``"beta"``).
    random_state : None, int or numpy Generator
        Seeds the hot deck and the training; ``sample_rows`` takes its own.

    Attributes
    ----------
    synthesizer_ : sdv.single_table.CopulaGANSynthesizer
    device_ : str
    diagnostics_ : dict

    References
    ----------
    Patki, N., Wedge, R., Veeramachaneni, K. (2016). The Synthetic Data Vault. IEEE
    International Conference on Data Science and Advanced Analytics (DSAA).
    Xu, L., Skoularidou, M., Cuesta-Infante, A., Veeramachaneni, K. (2019). Modeling tabular
    data using conditional GAN. NeurIPS 32.
    SDV documentation, "CopulaGANSynthesizer", https://docs.sdv.dev/sdv (single table
    synthesizers).

    Examples
    --------
    >>> from imputebench.datasets import load_dataset
    >>> gen = SDVCopulaGAN(epochs=5, device="cpu", random_state=0)  # needs sdv
    >>> gen.fit(load_dataset("penguins")).sample_rows(50, random_state=1).shape
    (50, 7)
    """

    name = "sdv_copulagan"
    _synthesizer = "CopulaGANSynthesizer"

    def __init__(self, epochs: int = 300, batch_size: int = 500, embedding_dim: int = 128,
                 generator_dim=(256, 256), discriminator_dim=(256, 256), pac: int = 10,
                 default_distribution: str = "beta", device: str = "auto",
                 random_state=None) -> None:
        super().__init__(epochs=epochs, batch_size=batch_size, embedding_dim=embedding_dim,
                         generator_dim=generator_dim, discriminator_dim=discriminator_dim,
                         pac=pac, device=device, random_state=random_state)
        self.default_distribution = default_distribution

    def _sdv_kwargs(self) -> dict[str, Any]:
        return {**super()._sdv_kwargs(), "default_distribution": self.default_distribution}
