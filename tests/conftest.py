"""Shared test setup: markers, the data directory, and small typed tables."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def pytest_configure(config):
    if "IMPUTEBENCH_DATA" not in os.environ and SHARED_DATA.is_dir():
        os.environ["IMPUTEBENCH_DATA"] = str(SHARED_DATA)
    # Tests never download, and never write typed caches into the shared data directory.
    os.environ["IMPUTEBENCH_OFFLINE"] = "1"
    if "IMPUTEBENCH_CACHE" not in os.environ:
        os.environ["IMPUTEBENCH_CACHE"] = tempfile.mkdtemp(prefix="imputebench-cache-")


def pytest_collection_modifyitems(config, items):
    network = os.environ.get("IMPUTEBENCH_NETWORK") == "1"
    require_gpu = os.environ.get("IMPUTEBENCH_REQUIRE_GPU") == "1"
    has_gpu = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch

            has_gpu = torch.cuda.is_available()
        except ImportError:
            has_gpu = False
    for item in items:
        if "network" in item.keywords and not network:
            item.add_marker(pytest.mark.skip(reason="needs network: set IMPUTEBENCH_NETWORK=1"))
        if "gpu" in item.keywords and not has_gpu and not require_gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


@pytest.fixture
def data_dir() -> Path:
    path = Path(os.environ.get("IMPUTEBENCH_DATA", SHARED_DATA))
    if not path.is_dir():
        pytest.skip(f"data directory {path} is absent")
    return path


def _gaussian_table(n: int = 1500, seed: int = 0, rate: float = 0.3, rho: float = 0.8):
    """x ~ N(0, 1), y = rho x + sqrt(1 - rho^2) noise, g = the sign of x (categorical); y and g
    hidden completely at random with probability ``rate``. Returns (truth, hidden, hide_y,
    hide_g)."""
    import math

    import numpy as np
    import pandas as pd

    from imputebench.datasets.schema import make_typed

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)
    g = np.where(x > 0, "pos", "neg")
    df = make_typed(pd.DataFrame({"x": x, "y": y, "g": g}), {"g": "categorical"})
    hide_y, hide_g = rng.random(n) < rate, rng.random(n) < rate
    hidden = df.copy()
    hidden.loc[hide_y, "y"] = np.nan
    hidden.loc[hide_g, "g"] = np.nan
    return df, hidden, hide_y, hide_g


@pytest.fixture(scope="session")
def gaussian_table():
    """The known-answer table of the latent and diffusion imputers' tests (a function)."""
    return _gaussian_table
