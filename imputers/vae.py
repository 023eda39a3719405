"""VAE imputer with selectable priors, trained on incomplete mixed-type rows (MIWAE bound)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.schema import NUMERIC
from imputebench.imputers._torch import (
    category_codes,
    check_device,
    check_positive_ints,
    import_torch,
    masked_tensors,
    resolve_device,
)
from imputebench.imputers.base import (
    Capabilities,
    Imputer,
    register_imputer,
    register_imputer_alias,
)

PRIOR_NAMES = ("standard", "mog", "vamp", "flow", "gtm", "gtm_vamp")
TRIPLET_MINING = ("auto", "label", "neighbours")
# |log-likelihood| of a cell under an uninformed reference: N(0, 1) on a z-scored column
_NORMAL_ENTROPY = 0.5 * np.log(2 * np.pi * np.e)


@register_imputer
class VAEImputer(Imputer):
    """A VAE trained directly on incomplete rows; imputes by importance sampling.

    **Model.** Numeric columns are z-scored with the mean and sd of their observed cells;
    categorical and ordinal columns are one-hot. The encoder (an MLP with SiLU) sees the
    values with missing ones zero-filled plus one mask indicator per column and outputs a
    diagonal Gaussian q(z | x_obs). The decoder maps z to a Gaussian with learned
    (heteroscedastic) scale per numeric column and a softmax per categorical column, as HI-VAE
    (Nazábal et al. 2020) does for mixed types; the likelihood counts observed cells only.

    **Training** maximises the importance-weighted bound with ``k_train`` samples (MIWAE,
    Mattei & Frellsen 2019; ``k_train = 1`` is the ELBO) by Adam on minibatches, with the data
    resident on the device. A random ``val_share`` of the observed cells is held out (removed
    from the inputs and the loss); after each epoch a score on those cells decides early
    stopping (``patience`` epochs), and the best epoch's weights are kept. The held-out cells
    are inputs again at imputation time. ``early_stopping="error"`` (default) scores the
    imputation of the held-out cells: the mean over them of the squared error of
    ``E[x | x_train]`` in z-units (numeric) and of ``1 - p(true category | x_train)``
    (categorical). ``"loglik"`` scores the importance-sampling estimate of
    ``-log p(x_val | x_train)``; it is the density criterion, but on zero-inflated columns
    (adult's capital_gain) a few held-out non-zero cells under a shrinking Gaussian scale
    dominate it and it stops at the first epoch (measured: best epoch 0 of 9 on adult), so it
    is not the default.

    **Imputation.** For each row, ``k_impute`` draws ``z_l ~ q(z | x_obs)`` with weights
    ``w_l ∝ p(x_obs | z_l) p(z_l) / q(z_l | x_obs)``, self-normalised. ``transform`` gives the
    weighted mean of the decoder's means (numeric) and the mode of the weighted mixture of
    the decoder's category probabilities (categorical); ``sample`` resamples a ``z_l`` by its
    weight for each draw (sampling-importance-resampling) and draws ``x_mis ~ p(x | z_l)``.

    **Priors** (``prior=``; see ``_vae_priors``): ``standard`` N(0, I); ``mog`` a mixture of
    ``n_components`` learnable Gaussians; ``vamp`` the VampPrior over ``n_components``
    pseudo-inputs (Tomczak & Welling 2018); ``flow`` a RealNVP flow; ``gtm`` a GTM grid mapped to
    mixture means; ``gtm_vamp`` pseudo-inputs produced from a GTM grid (Tomczak 2022, ch. 4).
    Pseudo-inputs start from random training rows' inputs.

    **Weighted ELBO.** ``beta`` weighs the latent term (beta-VAE, Higgins et al. 2017) and
    ``column_weights`` each column's reconstruction log-likelihood, as multimodal VAEs weigh
    their modalities (the "DMVAE" ELBO ``-alpha KL + sum_i beta_i log p(x_i | z)``; Wu &
    Goodman 2018's lambda_i; a column is a modality here). Inside the importance-weighted
    bound each sample's log weight becomes ``sum_i beta_i log p(x_i | z) + beta (log p(z) -
    log q(z | x))``; for ``k_train = 1`` that is exactly the weighted ELBO, for ``k_train > 1``
    it is our extension (the papers use one sample). ``column_weights="balanced"`` divides each
    column's log-likelihood by its magnitude under an uninformed reference, the standard normal
    for a z-scored numeric column (``0.5 log(2 pi e)`` = 1.419 nats) and the uniform law over a
    categorical column's K categories (``log K`` nats, K at least 2), then rescales the weights
    to mean 1 so the latent term keeps its balance with the reconstruction; a dict
    ``{column: weight}`` sets weights (>= 0, the others 1) as given. Both shape training only:
    the early-stopping score and the importance weights of imputation use the model's own,
    unweighted likelihood and prior. ``beta = 1`` and ``column_weights = None`` (the defaults)
    are the plain bound, bit for bit.

    **Triplet loss** (Ishfaq, Hoogi & Rubin 2018, "TVAE: triplet-based variational
    autoencoder using metric learning"; not ``tvae``, Xu et al.'s tabular VAE, which shares the
    acronym; alias ``triplet_vae``). With ``triplet_weight`` lambda > 0 the loss adds lambda
    times the mean over the minibatch's triplets of ``max(0, |mu_a - mu_p| - |mu_a - mu_n| +
    triplet_margin)``, distances between the encoder's means. ``triplet_mining`` picks one
    triplet per anchor inside each minibatch (``_vae_triplet``): ``label`` by the table's
    declared categorical target (in the table when the dataset is loaded with
    ``include_target``; rows whose target is missing take no part), ``neighbours`` by
    nan-aware distance on observed cells (positive: the nearest row; negative: a random row
    beyond the anchor's median distance), ``auto`` (default) ``label`` when the table carries a
    categorical target and ``neighbours`` otherwise. The paper trains on MNIST with class
    labels; on tables the neighbour rule is our choice.

    Parameters
    ----------
    prior : str
        One of ``standard``, ``mog``, ``vamp``, ``flow``, ``gtm``, ``gtm_vamp``.
    latent_dim, hidden, n_layers : int
        Latent size; width and depth of the encoder and decoder MLPs.
    n_components : int
        Mixture components or pseudo-inputs (``mog``, ``vamp``); the GTM grid is
        ``grid_size`` x ``grid_size``.
    k_train, k_impute : int
        Importance samples in the training bound and at imputation.
    epochs, batch_size, lr, patience, val_share :
        Training budget, Adam learning rate, early stopping and the held-out share of observed
        cells (0 disables early stopping: all epochs run).
    early_stopping : {"error", "loglik"}
        The held-out score, as above.
    beta : float
        Weight (> 0) of the latent term; 1 is the ELBO / MIWAE bound.
    column_weights : None, "balanced" or dict
        Per-column weights of the reconstruction log-likelihood, as above.
    triplet_weight, triplet_margin : float
        lambda (>= 0; 0 = no triplet term) and the margin m of the triplet term.
    triplet_mining : {"auto", "label", "neighbours"}
        How triplets are picked, as above.
    device : {"auto", "cpu", "cuda", "cuda:N"}
        ``auto`` takes a CUDA GPU when there is one (bf16 autocast there).
    random_state : None, int or numpy Generator
        Seeds initialisation, minibatches and the latent draws of ``transform``; ``sample`` uses
        its own ``random_state``.

    Attributes
    ----------
    history_ : dict
        Per-epoch training loss and validation score, best epoch, epochs run, seconds.
    diagnostics_ : dict
        Posterior collapse and the prior's "hole", measured after training
        (``_vae_core.diagnostics``): KL per latent dimension, active units, total KL, the
        prior's log density at encoded means and at its samples, the hole score and the 2-D
        latent picture (``latent_map``, ``_vae_latent``: encoded means, coloured by the target
        when the table has a categorical one, over the prior's density). The runner records it
        in the journal.

    References
    ----------
    Kingma, D. P., Welling, M. (2014). Auto-encoding variational Bayes. ICLR.
    Mattei, P.-A., Frellsen, J. (2019). MIWAE: deep generative modelling and imputation of
    incomplete data sets. ICML.
    Nazábal, A., Olmos, P. M., Ghahramani, Z., Valera, I. (2020). Handling incomplete
    heterogeneous data using VAEs. Pattern Recognition 107.
    Tomczak, J. M., Welling, M. (2018). VAE with a VampPrior. AISTATS.
    Tomczak, J. M. (2022). Deep Generative Modeling, ch. 4. Springer.
    Higgins, I. et al. (2017). beta-VAE: learning basic visual concepts with a constrained
    variational framework. ICLR.
    Wu, M., Goodman, N. (2018). Multimodal generative models for scalable weakly-supervised
    learning. NeurIPS.
    Ishfaq, H., Hoogi, A., Rubin, D. (2018). TVAE: Triplet-based variational autoencoder using
    metric learning. arXiv:1802.04403.

    Examples
    --------
    >>> from imputebench.datasets import load_dataset, MaskSpec, make_mask
    >>> df = load_dataset("iris", include_target=True)
    >>> hidden = df.mask(make_mask(df, MaskSpec("mcar", 0.2), 0))
    >>> imp = VAEImputer(prior="mog", epochs=5, device="cpu", random_state=0).fit(hidden)
    >>> imp.transform(hidden).isna().any().any()
    np.False_
    """

    name = "vae"
    capabilities = Capabilities(categorical=True, stochastic=True, torch=True, generates=True)
    fast_params = {"latent_dim": 2, "hidden": 16, "n_layers": 1, "n_components": 4,
                   "grid_size": 2, "k_train": 2, "k_impute": 8, "epochs": 3, "batch_size": 64,
                   "patience": 2, "device": "cpu", "random_state": 0}

    def __init__(self, prior: str = "standard", latent_dim: int = 8, hidden: int = 128,
                 n_layers: int = 2, n_components: int = 16, grid_size: int = 4,
                 k_train: int = 5, k_impute: int = 100, epochs: int = 300,
                 batch_size: int = 256, lr: float = 1e-3, patience: int = 20,
                 val_share: float = 0.05, early_stopping: str = "error", beta: float = 1.0,
                 column_weights=None, triplet_weight: float = 0.0, triplet_margin: float = 1.0,
                 triplet_mining: str = "auto", device: str = "auto",
                 random_state=None) -> None:
        self.prior = prior
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.n_layers = n_layers
        self.n_components = n_components
        self.grid_size = grid_size
        self.k_train = k_train
        self.k_impute = k_impute
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_share = val_share
        self.early_stopping = early_stopping
        self.beta = beta
        self.column_weights = column_weights
        self.triplet_weight = triplet_weight
        self.triplet_margin = triplet_margin
        self.triplet_mining = triplet_mining
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ checks
    _int_params = ("latent_dim", "hidden", "n_layers", "n_components", "grid_size", "k_train",
                   "k_impute", "epochs", "batch_size", "patience")
    _float_params = (("lr", 0.0, np.inf), ("val_share", -1e-12, 0.5))

    def _check_params(self) -> None:
        if getattr(self, "prior", "standard") not in PRIOR_NAMES:
            raise ImputebenchError(f"{self.name}: prior must be one of {PRIOR_NAMES}, "
                                   f"got {self.prior!r}")
        check_positive_ints(self, self._int_params, self.name)
        for name, lo, hi in self._float_params:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo < v < hi:
                raise ImputebenchError(f"{self.name}: {name} must be a number in "
                                       f"({lo:g}, {hi:g}), got {v!r}")
        if self.early_stopping not in ("error", "loglik"):
            raise ImputebenchError(f"{self.name}: early_stopping must be 'error' or 'loglik', "
                                   f"got {self.early_stopping!r}")
        check_device(self.device, self.name)
        for name, lo, strict in (("beta", 0.0, True), ("triplet_weight", 0.0, False),
                                 ("triplet_margin", 0.0, False)):
            v = getattr(self, name, 1.0)
            if (isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v)
                    or v < lo or (strict and v == lo)):
                raise ImputebenchError(f"{self.name}: {name} must be a finite number "
                                       f"{'>' if strict else '>='} {lo:g}, got {v!r}")
        if getattr(self, "triplet_mining", "auto") not in TRIPLET_MINING:
            raise ImputebenchError(f"{self.name}: triplet_mining must be one of "
                                   f"{TRIPLET_MINING}, got {self.triplet_mining!r}")
        w = getattr(self, "column_weights", None)
        if not (w is None or w == "balanced" or isinstance(w, dict)):
            raise ImputebenchError(f"{self.name}: column_weights must be None, 'balanced' or a "
                                   f"dict {{column: weight}}, got {w!r}")

    # ------------------------------------------------------------------ data <-> tensors
    def _fit_data(self, X: pd.DataFrame, rng: np.random.Generator):
        """Learn the encoding of the rows; return the model's ``Layout``."""
        from imputebench.imputers._vae_core import Layout

        return Layout(len(self.num_cols_), tuple(len(c) for c in self.categories_))

    def _codes(self, X: pd.DataFrame) -> np.ndarray:
        return category_codes(X, self.cat_cols_)

    def _encode(self, X: pd.DataFrame, rng: np.random.Generator):
        """numpy (numeric inputs with NaN, codes with -1) in the fitted column order."""
        num = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        return (num - self.num_mean_) / self.num_sd_, self._codes(X)

    def _decode_num(self, num: np.ndarray) -> np.ndarray:
        return num * self.num_sd_ + self.num_mean_

    def _z_of_expected(self, num):
        """The model's E[x_num | x_obs] (a tensor) as z-scores of the columns."""
        return num

    def _cell_masks(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Masks of the model's numeric and categorical inputs from a mask of table cells
        (numeric columns first)."""
        n = len(self.num_cols_)
        return cells[:, :n], cells[:, n:]

    def _batch(self, num: np.ndarray, codes: np.ndarray):
        from imputebench.imputers._vae_core import Batch

        return Batch(*masked_tensors(num, codes, self.device_, self.name))

    # ------------------------------------------------------------------ model
    def _build_model(self, layout, generator):
        from imputebench.imputers._vae_core import TabularVAE

        return TabularVAE(layout, self.latent_dim, self.hidden, self.n_layers, self.prior,
                          {"n_components": self.n_components, "grid_size": self.grid_size,
                           "hidden": self.hidden}, generator=generator)

    def _train_config(self):
        from imputebench.imputers import _torch_train as tt

        return tt.TrainConfig(epochs=int(self.epochs), batch_size=int(self.batch_size),
                              lr=float(self.lr), patience=int(self.patience))

    def _step_loss(self, model, batch, generator):
        lam = float(self.triplet_weight)
        out = model.miwae_loss(batch, int(self.k_train), generator, beta=float(self.beta),
                               weights=self.ll_weights_, return_means=lam > 0)
        if lam == 0:
            return out
        from imputebench.imputers import _vae_triplet as tri

        loss, mu = out
        if self.triplet_rule_ == "label":
            j = self.label_index_
            labels = batch.codes[:, j].masked_fill(batch.m_cat[:, j] == 0, -1)
            a, p, n = tri.mine_by_label(labels, generator)
        else:
            with import_torch(self.name).no_grad():
                dist = tri.nan_distances(batch.x_num, batch.m_num, batch.codes, batch.m_cat,
                                         model.layout.cat_sizes)
            a, p, n = tri.mine_by_neighbours(dist, generator)
        if len(a) == 0:
            return loss
        return loss + lam * tri.triplet_hinge(mu[a], mu[p], mu[n],
                                              float(self.triplet_margin)).mean()

    def _label_codes(self, full, n_mode: int):
        """The target's category codes per row (-1 where missing), or None without one."""
        if self.label_index_ is None:
            return None
        j = n_mode + self.label_index_
        return full.codes[:, j].masked_fill(full.m_cat[:, j] == 0, -1)

    def _name_labels(self, picture: dict | None) -> None:
        """Category names in place of the latent picture's codes."""
        if picture is None or picture.get("labels") is None:
            return
        names = self.categories_[self.label_index_]
        picture["labels"] = [str(names[c]) if c >= 0 else None for c in picture["labels"]]
        picture["label_column"] = self.label_column_

    # ------------------------------------------------------------------ options of the ELBO
    def _resolve_objective(self, X: pd.DataFrame, torch) -> None:
        """Fix the column weights (``ll_weights_``), the triplet rule (``triplet_rule_``) and
        the target's categorical index (``label_index_``, also used by the latent picture)."""
        target = X.attrs.get("target")
        self.label_column_ = target if target in self.cat_cols_ else None
        self.label_index_ = (self.cat_cols_.index(target) if self.label_column_ is not None
                             else None)
        mining = getattr(self, "triplet_mining", "auto")
        if mining == "label" and self.label_column_ is None:
            why = (f"its target {target!r} is numeric" if target in self.num_cols_
                   else "the table carries no declared target (load the dataset with "
                        "include_target=True)")
            raise ImputebenchError(f"{self.name}: triplet_mining='label' needs a categorical "
                                   f"target column, but {why}")
        self.triplet_rule_ = ("label" if mining == "label"
                              or (mining == "auto" and self.label_column_ is not None)
                              else "neighbours")
        w = getattr(self, "column_weights", None)
        if w is None:
            self.ll_weights_ = None
            return
        if w == "balanced":
            w_num = np.full(len(self.num_cols_), 1.0 / _NORMAL_ENTROPY)
            w_cat = np.array([1.0 / np.log(max(len(c), 2)) for c in self.categories_])
        else:
            unknown = sorted(set(map(str, w)) - set(map(str, X.columns)))
            if unknown:
                raise ImputebenchError(f"{self.name}: column_weights names unknown column(s) "
                                       f"{unknown}; the table has {list(X.columns)}")
            bad = {c: v for c, v in w.items() if isinstance(v, bool)
                   or not isinstance(v, int | float) or not np.isfinite(v) or v < 0}
            if bad:
                raise ImputebenchError(f"{self.name}: column_weights must be finite numbers "
                                       f">= 0, got {bad}")
            w_num = np.array([float(w.get(c, 1.0)) for c in self.num_cols_])
            w_cat = np.array([float(w.get(c, 1.0)) for c in self.cat_cols_])
        total = np.concatenate([w_num, w_cat])
        if not total.sum() > 0:
            raise ImputebenchError(f"{self.name}: column_weights are all zero; nothing would "
                                   "be learned")
        if w == "balanced":                         # mean weight 1: the KL keeps its balance
            w_num, w_cat = w_num / total.mean(), w_cat / total.mean()
        self.ll_weights_ = tuple(torch.as_tensor(v, dtype=torch.float32, device=self.device_)
                                 for v in (w_num, w_cat))

    def _description(self, model) -> str:
        """One line for the report: the model and its citation."""
        return "vae with the " + model.prior.describe()

    def _after_step(self, model) -> None:
        """Called after every optimiser step (nothing for ``vae``)."""

    # ------------------------------------------------------------------ fit
    def _fit(self, X: pd.DataFrame, kinds: dict[str, str], rng: np.random.Generator) -> None:
        self._check_params()
        torch = import_torch(self.name)
        from imputebench.imputers import _torch_train as tt
        from imputebench.imputers._vae_core import diagnostics

        self.device_ = resolve_device(self.device, self.name)
        self.num_cols_ = [c for c, k in kinds.items() if k == NUMERIC]
        self.cat_cols_ = [c for c, k in kinds.items() if k != NUMERIC]
        self.categories_ = [X[c].cat.categories for c in self.cat_cols_]
        raw = X[self.num_cols_].to_numpy(dtype=np.float64, na_value=np.nan)
        self.num_mean_ = np.nanmean(raw, axis=0) if raw.shape[1] else np.zeros(0)
        sd = np.nanstd(raw, axis=0) if raw.shape[1] else np.zeros(0)
        self.num_sd_ = np.where(sd > 0, sd, 1.0)
        self._resolve_objective(X, torch)
        seeds = rng.integers(0, 2**63 - 1, size=5)
        layout = self._fit_data(X, np.random.default_rng(seeds[4]))
        torch_rng = torch.Generator().manual_seed(int(seeds[0]))  # CPU: initial weights
        model = self._build_model(layout, torch_rng).to(self.device_)
        num, codes = self._encode(X, np.random.default_rng(seeds[4]))
        full = self._batch(num, codes)
        g = tt.generator_for(int(seeds[1]), self.device_)
        # hold out a share of the observed table cells for early stopping
        cells = np.concatenate([~np.isnan(num[:, :len(self.num_cols_)]),
                                codes[:, codes.shape[1] - len(self.cat_cols_):] >= 0], axis=1)
        val = cells & (rng.random(cells.shape) < self.val_share)
        m_num, m_cat = self._cell_masks(cells & ~val)
        m_num_t = torch.as_tensor(m_num, dtype=torch.float32, device=self.device_)
        m_cat_t = torch.as_tensor(m_cat, dtype=torch.float32, device=self.device_)
        train = model.with_inputs(full.with_masks(m_num_t, m_cat_t))
        if hasattr(model.prior, "init_pseudo_inputs"):
            pick = torch.as_tensor(rng.permutation(len(X)), device=self.device_)
            model.prior.init_pseudo_inputs(model.inputs(train.rows(pick)), generator=torch_rng)
        val_rows = torch.as_tensor(np.flatnonzero(val.any(axis=1)), device=self.device_)
        k_val = max(int(getattr(self, "k_train", 1)), 10)

        def step(idx):
            with tt.autocast(self.device_):
                return self._step_loss(model, train.rows(idx), g)

        n_mode = codes.shape[1] - len(self.cat_cols_)     # TVAE's mode blocks come first
        z_true = torch.as_tensor(np.nan_to_num((raw - self.num_mean_) / self.num_sd_),
                                 dtype=torch.float32, device=self.device_)
        v_num = full.m_num - m_num_t
        v_cat = full.m_cat[:, n_mode:] - m_cat_t[:, n_mode:]

        def validate():
            total = torch.zeros((), device=self.device_)
            n_cells = torch.zeros((), device=self.device_)
            for s in range(0, len(val_rows), 4096):
                r = val_rows[s:s + 4096]
                with tt.autocast(self.device_):
                    if self.early_stopping == "loglik":
                        ll, n = model.heldout_loglik(full.rows(r), m_num_t[r], m_cat_t[r],
                                                     k_val, g)
                        total, n_cells = total - ll.sum(), n_cells + n.sum()
                        continue
                    num_hat, probs = model.expected(train.rows(r), k_val, g)
                err = (self._z_of_expected(num_hat.float()) - z_true[r]) ** 2
                p_true = torch.gather(probs.float(), -1,
                                      full.codes[r, n_mode:].unsqueeze(-1)).squeeze(-1)
                total = total + (err * v_num[r]).sum() + ((1 - p_true) * v_cat[r]).sum()
                n_cells = n_cells + v_num[r].sum() + v_cat[r].sum()
            return float(total / n_cells.clamp(min=1))

        self.history_ = tt.fit(model, step, len(X), self._train_config(), g,
                               validate if len(val_rows) else None,
                               after_step=lambda: self._after_step(model)).as_dict()
        self.model_ = model
        self._seed_impute = int(seeds[2])
        self.diagnostics_ = {"prior": getattr(self, "prior", "standard"),
                             "description": self._description(model),
                             "fit_seconds": self.history_["seconds"],
                             "epochs_run": self.history_["epochs_run"],
                             "best_epoch": self.history_["best_epoch"],
                             **diagnostics(model, full, tt.generator_for(int(seeds[3]),
                                                                         self.device_),
                                           labels=self._label_codes(full, n_mode))}
        self._name_labels(self.diagnostics_.get("latent_map"))

    # ------------------------------------------------------------------ impute
    def _chunks(self, X: pd.DataFrame, rows_per_chunk: int, rng: np.random.Generator):
        num, codes = self._encode(X, rng)
        for s in range(0, len(X), rows_per_chunk):
            yield self._batch(num[s:s + rows_per_chunk], codes[s:s + rows_per_chunk])

    def _rows_per_chunk(self, k: int) -> int:
        layout = self.model_.layout
        width = max(p.shape[0] for p in self.model_.decoder.parameters())
        per_row = k * (layout.output_dim + max(layout.cat_sizes, default=1) * 4 + width) * 4
        return int(max(1, min(4096, (256 * 2**20) // max(per_row, 1))))

    def _table(self, X: pd.DataFrame, num: np.ndarray, codes: np.ndarray) -> pd.DataFrame:
        out = X.copy()
        if self.num_cols_:
            out[self.num_cols_] = self._decode_num(num)
        for j, col in enumerate(self.cat_cols_):
            out[col] = pd.Categorical.from_codes(codes[:, j], categories=self.categories_[j])
        return out

    def _impute(self, X: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        from imputebench.imputers import _torch_train as tt

        torch = import_torch(self.name)
        g = tt.generator_for(self._seed_impute, self.device_)
        k = int(self.k_impute)
        nums, codes = [], []
        with torch.no_grad():
            for b in self._chunks(X, self._rows_per_chunk(k),
                                     np.random.default_rng(self._seed_impute)):
                with tt.autocast(self.device_):
                    n, p = self.model_.expected(b, k, g)
                nums.append(n.float().cpu().numpy())
                codes.append(p.argmax(-1).cpu().numpy())
        return self._table(X, np.concatenate(nums).astype(np.float64), np.concatenate(codes))

    def _sample_rows(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        """Whole rows from the prior through the decoder (``TabularVAE.generate``)."""
        from imputebench.imputers import _torch_train as tt

        torch = import_torch(self.name)
        g = tt.generator_for(int(rng.integers(0, 2**63 - 1)), self.device_)
        nums, codes = [], []
        with torch.no_grad():
            for s in range(0, n, 8192):
                with tt.autocast(self.device_):
                    num, c = self.model_.generate(min(8192, n - s), g)
                nums.append(num.float().cpu().numpy())
                codes.append(c.cpu().numpy())
        blank = pd.DataFrame({c: np.zeros(n) for c in self.columns_})
        return self._table(blank, np.concatenate(nums).astype(np.float64),
                           np.concatenate(codes))

    def _sample(self, X: pd.DataFrame, n_draws: int, rng: np.random.Generator
                ) -> list[pd.DataFrame]:
        from imputebench.imputers import _torch_train as tt

        torch = import_torch(self.name)
        g = tt.generator_for(int(rng.integers(0, 2**63 - 1)), self.device_)
        k = int(self.k_impute)
        nums, codes = [], []
        with torch.no_grad():
            for b in self._chunks(X, max(1, self._rows_per_chunk(k + n_draws)), rng):
                with tt.autocast(self.device_):
                    n, c = self.model_.draws(b, k, n_draws, g)
                nums.append(n.float().cpu().numpy())
                codes.append(c.cpu().numpy())
        num, cat = np.concatenate(nums, axis=1), np.concatenate(codes, axis=1)
        return [self._table(X, num[t].astype(np.float64), cat[t]) for t in range(n_draws)]


# Ishfaq, Hoogi & Rubin's triplet-loss VAE: ``vae`` with the triplet term on (lambda = 1).
register_imputer_alias("triplet_vae", "vae", triplet_weight=1.0)
