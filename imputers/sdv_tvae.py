"""SDV's ``TVAESynthesizer`` as a generator of whole rows (a reference synthesizer)."""

from __future__ import annotations

from typing import Any

from imputebench.imputers._sdv import SDVGenerator
from imputebench.imputers.base import Capabilities, register_imputer


@register_imputer
class SDVTVAE(SDVGenerator):
    """TVAE (Xu et al. 2019) as SDV 2 runs it (``TVAESynthesizer``, the ``ctgan`` package's
    ``TVAE``), adapted.

    TVAE is the tabular variational autoencoder of Xu, Skoularidou, Cuesta-Infante &
    Veeramachaneni (2019): numeric columns mode-normalised by a Bayesian Gaussian mixture,
    categorical columns one-hot, an MLP encoder (``compress_dims``) to an ``embedding_dim``-
    dimensional Gaussian latent and an MLP decoder (``decompress_dims``); rows are decoded from
    ``z ~ N(0, I)``. The acronym is shared with another model, the triplet-loss VAE of Ishfaq,
    Hoogi & Rubin (2018), a different model (``triplet_vae`` here). Our own ``tvae`` is this
    model written for imputation; this adapter runs SDV's code unchanged, as a reference. It
    generates whole rows only: ``transform`` and ``sample`` refuse a table with missing cells
    (capability ``imputes=False``).

    Choices, all stated:

    * SDV's defaults are kept for everything not exposed (loss_factor 2, l2scale 1e-5,
      ``enforce_min_max_values`` and ``enforce_rounding`` on); the exposed parameters default to
      SDV's values (300 epochs, batch 500, embedding 128, layers (128, 128)).
    * ``device`` maps to SDV's ``enable_gpu`` (``"cpu"`` -> False; ``"auto"`` / ``"cuda[:N]"``
      -> True on the resolved device, kept in ``device_``).
    * The metadata is built from our declared kinds, never SDV's auto-detection; missing
      training cells are first completed by a seeded hot deck (each a uniform draw from its
      column's observed values, using ``fit``'s ``rng``); see ``imputers/_sdv.py``.
    * Seeding: SDV has no seed for training, so ``fit`` and ``sample_rows`` run with the global
      numpy / python / torch generators seeded from our ``rng`` and restored afterwards (the
      process's global random state is unchanged). Same ``random_state`` -> same fit on the
      CPU; on CUDA up to the nondeterminism of its kernels.

    Known behaviour (measured, notes/pmse-and-synthesis-facts.md): at 50 epochs on 5,000 adult
    rows TVAE collapses (one category in ``workclass``); budgets decide rankings: state them.

    Parameters
    ----------
    epochs : int
        Training epochs (SDV default 300).
    batch_size : int
        Rows per step (SDV default 500).
    embedding_dim : int
        Latent dimension (SDV default 128).
    compress_dims, decompress_dims : sequence of int
        Hidden layer widths of the encoder and the decoder (SDV default (128, 128)).
    device : {"auto", "cpu", "cuda", "cuda:N"}
    random_state : None, int or numpy Generator
        Seeds the hot deck and the training; ``sample_rows`` takes its own.

    Attributes
    ----------
    synthesizer_ : sdv.single_table.TVAESynthesizer
    device_ : str
        The device used ("cpu" or "cuda:N").
    diagnostics_ : dict
        Package, version, synthesizer, budget, hot-decked cells, last epoch's mean loss.

    References
    ----------
    Xu, L., Skoularidou, M., Cuesta-Infante, A., Veeramachaneni, K. (2019). Modeling tabular
    data using conditional GAN. NeurIPS 32.
    Patki, N., Wedge, R., Veeramachaneni, K. (2016). The Synthetic Data Vault. IEEE DSAA.
    Ishfaq, H., Hoogi, A., Rubin, D. (2018). TVAE: Triplet-based variational autoencoder using
    metric learning. ICLR workshop (the other TVAE, not this model).

    Examples
    --------
    >>> from imputebench.datasets import load_dataset
    >>> gen = SDVTVAE(epochs=5, device="cpu", random_state=0)  # needs sdv
    >>> gen.fit(load_dataset("penguins")).sample_rows(50, random_state=1).shape
    (50, 7)
    """

    name = "sdv_tvae"
    capabilities = Capabilities(categorical=True, stochastic=True, torch=True, generates=True,
                                imputes=False)
    fast_params = {"epochs": 3, "batch_size": 40, "embedding_dim": 4, "compress_dims": (16,),
                   "decompress_dims": (16,), "device": "cpu", "random_state": 0}
    _synthesizer = "TVAESynthesizer"
    _int_params = ("epochs", "batch_size", "embedding_dim")
    _width_params = ("compress_dims", "decompress_dims")

    def __init__(self, epochs: int = 300, batch_size: int = 500, embedding_dim: int = 128,
                 compress_dims=(128, 128), decompress_dims=(128, 128), device: str = "auto",
                 random_state=None) -> None:
        self.epochs = epochs
        self.batch_size = batch_size
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.device = device
        self.random_state = random_state

    def _sdv_kwargs(self) -> dict[str, Any]:
        return {"epochs": int(self.epochs), "batch_size": int(self.batch_size),
                "embedding_dim": int(self.embedding_dim),
                "compress_dims": tuple(int(w) for w in self.compress_dims),
                "decompress_dims": tuple(int(w) for w in self.decompress_dims)}
