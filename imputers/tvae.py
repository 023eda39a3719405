"""TVAE (Xu et al. 2019) as an imputer: trained on incomplete rows, imputing as ``vae``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.imputers._torch import check_widths, import_torch
from imputebench.imputers.base import Capabilities, register_imputer
from imputebench.imputers.vae import VAEImputer


@register_imputer
class TVAEImputer(VAEImputer):
    """TVAE (Xu et al. 2019) trained on incomplete rows; imputes by importance sampling.

    TVAE is the tabular VAE of Xu, Skoularidou, Cuesta-Infante & Veeramachaneni (2019). (The
    acronym is shared by another model: the triplet-loss VAE of Ishfaq, Hoogi & Rubin 2018,
    which is ``vae`` with a triplet loss, not this one.)

    **As the paper and its code (sdv-dev/CTGAN's ``TVAE``).** Each numeric column is
    mode-normalised (``_mode_norm``: a Dirichlet-process Bayesian GMM with at most
    ``max_clusters`` modes, modes of weight above ``weight_threshold`` kept; a value becomes a
    scalar ``alpha`` in [-0.99, 0.99] and a one-hot mode drawn from the mixture's posterior);
    categorical and ordinal columns are one-hot. Encoder: ReLU MLP ``compress_dims`` then linear
    maps to the mean and log-variance of a ``embedding_dim``-dimensional z; decoder: ReLU MLP
    ``decompress_dims`` to ``tanh``'d alphas (Gaussian likelihood with one learned scale per
    column, initialised 0.1 and clamped to [0.01, 1] after each step) and softmax logits for the
    modes and categories. Loss: ``loss_factor`` (2) times the reconstruction negative
    log-likelihood plus KL(q(z | x) || N(0, I)), Adam with learning rate 1e-3 and weight decay
    ``l2scale`` (1e-5), batch 500, 300 epochs.

    **What imputation adds** (the paper trains on complete rows): the mode normaliser is
    fitted on each column's observed values; missing inputs are zero-filled and the encoder
    also sees one mask indicator per column; the reconstruction loss counts observed cells
    only (a numeric cell's alpha and its mode together). Early stopping as ``vae``: a
    ``val_share`` of observed cells is held out and scored after each epoch
    (``early_stopping``: their imputation error by default, or their log-likelihood),
    ``patience`` epochs without improvement stop training and the best epoch's weights are
    kept (``val_share = 0``: all epochs, as the paper). The mode of each observed
    value is drawn again, seeded, whenever rows are encoded.

    **Imputation** by self-normalised importance sampling over ``k_impute`` latent draws
    (MIWAE's estimator, Mattei & Frellsen 2019), with weights from the model's own likelihood
    (factor 1, not the training ``loss_factor``): ``transform`` gives for a numeric cell
    ``sum_l w_l sum_c p(c | z_l) (tanh-mean(z_l) * 4 sd_c + mean_c)`` and for a categorical
    cell the mode of the weighted mixture of the decoder's probabilities; ``sample`` picks a
    draw by its weight, a mode from its softmax and ``alpha ~ N(tanh-mean, sigma)`` clipped to
    [-1, 1] (CTGAN also adds the sigma noise when sampling; it takes the argmax mode).

    References
    ----------
    Xu, L., Skoularidou, M., Cuesta-Infante, A., Veeramachaneni, K. (2019). Modeling tabular
    data using conditional GAN. NeurIPS.
    Mattei, P.-A., Frellsen, J. (2019). MIWAE: deep generative modelling and imputation of
    incomplete data sets. ICML.
    """

    name = "tvae"
    capabilities = Capabilities(categorical=True, stochastic=True, torch=True, generates=True)
    fast_params = {"embedding_dim": 2, "compress_dims": (16,), "decompress_dims": (16,),
                   "max_clusters": 3, "k_impute": 8, "epochs": 3, "batch_size": 64,
                   "patience": 2, "device": "cpu", "random_state": 0}

    _int_params = ("embedding_dim", "max_clusters", "k_impute", "epochs", "batch_size",
                   "patience")
    _float_params = (("lr", 0.0, np.inf), ("l2scale", -1e-12, np.inf),
                     ("loss_factor", 0.0, np.inf), ("val_share", -1e-12, 0.5),
                     ("weight_threshold", -1e-12, 1.0))

    def __init__(self, embedding_dim: int = 128, compress_dims=(128, 128),
                 decompress_dims=(128, 128), loss_factor: float = 2.0, l2scale: float = 1e-5,
                 max_clusters: int = 10, weight_threshold: float = 0.005, k_impute: int = 100,
                 epochs: int = 300, batch_size: int = 500, lr: float = 1e-3,
                 patience: int = 20, val_share: float = 0.05, early_stopping: str = "error",
                 device: str = "auto", random_state=None) -> None:
        self.embedding_dim = embedding_dim
        self.compress_dims = compress_dims
        self.decompress_dims = decompress_dims
        self.loss_factor = loss_factor
        self.l2scale = l2scale
        self.max_clusters = max_clusters
        self.weight_threshold = weight_threshold
        self.k_impute = k_impute
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_share = val_share
        self.early_stopping = early_stopping
        self.device = device
        self.random_state = random_state

    def _check_params(self) -> None:
        super()._check_params()
        for name in ("compress_dims", "decompress_dims"):
            check_widths(getattr(self, name), name, "tvae")

    # ------------------------------------------------------------------ data <-> tensors
    def _fit_data(self, X: pd.DataFrame, rng: np.random.Generator):
        from imputebench.imputers._mode_norm import fit_columns
        from imputebench.imputers._vae_core import Layout

        self.normalizers_ = fit_columns([X[c].to_numpy(np.float64) for c in self.num_cols_],
                                        int(self.max_clusters), float(self.weight_threshold),
                                        list(rng.integers(0, 2**31 - 1, len(self.num_cols_))))
        modes = tuple(m.n_modes for m in self.normalizers_)
        return Layout(len(self.num_cols_), modes + tuple(len(c) for c in self.categories_),
                      mode_blocks=len(modes))

    def _encode(self, X: pd.DataFrame, rng: np.random.Generator):
        n = len(self.num_cols_)
        alpha = np.full((len(X), n), np.nan)
        modes = np.full((len(X), n), -1, dtype=np.int64)
        for j, (col, norm) in enumerate(zip(self.num_cols_, self.normalizers_, strict=True)):
            alpha[:, j], modes[:, j] = norm.transform(X[col].to_numpy(np.float64), rng)
        return alpha, np.concatenate([modes, self._codes(X)], axis=1)

    def _decode_num(self, num: np.ndarray) -> np.ndarray:
        return num                                 # the core returns the columns' units

    def _z_of_expected(self, num):
        return (num - num.new_tensor(self.num_mean_)) / num.new_tensor(self.num_sd_)

    def _cell_masks(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.num_cols_)
        return cells[:, :n], cells                 # mode blocks share the numeric masks

    # ------------------------------------------------------------------ model
    def _build_model(self, layout, generator):
        from imputebench.imputers._tvae_core import TVAEModel

        torch = import_torch(self.name)
        kmax = max((m.n_modes for m in self.normalizers_), default=1)
        means = np.zeros((layout.n_num, kmax))
        stds = np.ones((layout.n_num, kmax))
        for j, m in enumerate(self.normalizers_):
            means[j, :m.n_modes], stds[j, :m.n_modes] = m.means_, m.stds_
        return TVAEModel(layout, torch.as_tensor(means), torch.as_tensor(stds),
                         int(self.embedding_dim), tuple(int(w) for w in self.compress_dims),
                         tuple(int(w) for w in self.decompress_dims), generator=generator)

    def _train_config(self):
        cfg = super()._train_config()
        cfg.weight_decay = float(self.l2scale)
        return cfg

    def _step_loss(self, model, batch, generator):
        return model.tvae_loss(batch, generator, float(self.loss_factor))

    def _description(self, model) -> str:
        return (f"TVAE: mode-specific normalisation, ReLU MLPs, N(0, I) prior, loss factor "
                f"{self.loss_factor:g} (Xu, Skoularidou, Cuesta-Infante & Veeramachaneni, "
                "NeurIPS 2019)")

    def _after_step(self, model) -> None:
        model.clamp_sigma()
