"""SDV's ``CTGANSynthesizer`` as a generator of whole rows (a reference synthesizer)."""

from __future__ import annotations

from typing import Any

from imputebench.datasets.errors import ImputebenchError
from imputebench.imputers._sdv import SDVGenerator
from imputebench.imputers.base import Capabilities, register_imputer


@register_imputer
class SDVCTGAN(SDVGenerator):
    """CTGAN (Xu et al. 2019) as SDV 2 runs it (``CTGANSynthesizer``, the ``ctgan`` package's
    ``CTGAN``), adapted.

    The conditional tabular GAN of Xu, Skoularidou, Cuesta-Infante & Veeramachaneni (2019):
    numeric columns mode-normalised by a Bayesian Gaussian mixture, categorical columns one-hot;
    a residual-MLP generator (``generator_dim``) from ``embedding_dim`` noise plus a conditional
    vector (one category of one discrete column, training-by-sampling with log frequencies), an
    MLP critic (``discriminator_dim``) over packs of ``pac`` rows, WGAN-GP loss, Adam (lr 2e-4).
    It generates whole rows only: ``transform`` and ``sample`` refuse a table with missing cells
    (capability ``imputes=False``).

    Choices, all stated:

    * SDV's defaults are kept for everything not exposed (learning rates and decays,
      ``discriminator_steps`` 1, ``log_frequency``, ``enforce_min_max_values`` and
      ``enforce_rounding`` on); the exposed parameters default to SDV's values (300 epochs,
      batch 500, embedding 128, generator and critic (256, 256), pac 10). ``batch_size`` must be
      a multiple of ``pac`` and even (ctgan asserts both).
    * ``device`` maps to SDV's ``enable_gpu`` (``"cpu"`` -> False; ``"auto"`` / ``"cuda[:N]"``
      -> True on the resolved device, kept in ``device_``).
    * The metadata is built from our declared kinds, never SDV's auto-detection; missing
      training cells are first completed by a seeded hot deck (each a uniform draw from its
      column's observed values, using ``fit``'s ``rng``); see ``imputers/_sdv.py``.
    * Seeding: SDV has no seed for training, so ``fit`` and ``sample_rows`` run with the global
      numpy / python / torch generators seeded from our ``rng`` and restored afterwards (the
      process's global random state is unchanged). Same ``random_state`` -> same fit on the
      CPU; on CUDA up to the nondeterminism of its kernels.

    Parameters
    ----------
    epochs : int
        Training epochs (SDV default 300).
    batch_size : int
        Rows per step (SDV default 500); a multiple of ``pac``, and even.
    embedding_dim : int
        Noise dimension of the generator (SDV default 128).
    generator_dim, discriminator_dim : sequence of int
        Hidden widths of the generator's residual layers and of the critic (SDV (256, 256)).
    pac : int
        Rows per critic pack (PacGAN; SDV default 10).
    device : {"auto", "cpu", "cuda", "cuda:N"}
    random_state : None, int or numpy Generator
        Seeds the hot deck and the training; ``sample_rows`` takes its own.

    Attributes
    ----------
    synthesizer_ : sdv.single_table.CTGANSynthesizer
    device_ : str
        The device used ("cpu" or "cuda:N").
    diagnostics_ : dict
        Package, version, synthesizer, budget, hot-decked cells, last epoch's losses.

    References
    ----------
    Xu, L., Skoularidou, M., Cuesta-Infante, A., Veeramachaneni, K. (2019). Modeling tabular
    data using conditional GAN. NeurIPS 32.
    Patki, N., Wedge, R., Veeramachaneni, K. (2016). The Synthetic Data Vault. IEEE DSAA.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset
    >>> gen = SDVCTGAN(epochs=5, device="cpu", random_state=0)  # needs sdv
    >>> gen.fit(load_dataset("penguins")).sample_rows(50, random_state=1).shape
    (50, 7)
    """

    name = "sdv_ctgan"
    capabilities = Capabilities(categorical=True, stochastic=True, torch=True, generates=True,
                                imputes=False)
    fast_params = {"epochs": 2, "batch_size": 20, "embedding_dim": 8, "generator_dim": (16,),
                   "discriminator_dim": (16,), "device": "cpu", "random_state": 0}
    _synthesizer = "CTGANSynthesizer"
    _int_params = ("epochs", "batch_size", "embedding_dim", "pac")
    _width_params = ("generator_dim", "discriminator_dim")

    def __init__(self, epochs: int = 300, batch_size: int = 500, embedding_dim: int = 128,
                 generator_dim=(256, 256), discriminator_dim=(256, 256), pac: int = 10,
                 device: str = "auto", random_state=None) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.generator_dim = generator_dim
        self.discriminator_dim = discriminator_dim
        self.pac = pac
        self.device = device
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        if self.batch_size % self.pac or self.batch_size % 2:
            raise ImputebenchError(f"{self.name}: batch_size must be even and a multiple of "
                                   f"pac={self.pac}, got {self.batch_size}")

    def _sdv_kwargs(self) -> dict[str, Any]:
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size),
                "embedding_dim": int(self.embedding_dim),
                "generator_dim": tuple(int(w) for w in self.generator_dim),
                "discriminator_dim": tuple(int(w) for w in self.discriminator_dim),
                "pac": int(self.pac)}
