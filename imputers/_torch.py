"""Shared torch helpers: resolving ``device=`` and turning a numpy Generator into a torch one.

torch is imported lazily, inside the functions, so every imputer module stays importable (and
every numpy path usable) without torch installed.
"""

from __future__ import annotations

import re

import numpy as np

from imputebench.datasets.errors import ImputebenchError

_DEVICE = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")


def import_torch(who: str):
    """``torch``, or one clear error naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise ImputebenchError(f"{who}: needs torch, which is not installed; install the extra "
                               "with `pip install 'imputebench[torch]'`") from None
    return torch


def check_device(device, who: str) -> None:
    """Validate a ``device`` parameter's spelling without importing torch."""
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ImputebenchError(f"{who}: device must be 'cpu', 'auto', 'cuda' or 'cuda:N', "
                               f"got {device!r}")


def check_positive_ints(obj, names, who: str) -> None:
    """Each attribute in ``names`` must be a positive integer (not a bool)."""
    for name in names:
        v = getattr(obj, name)
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ImputebenchError(f"{who}: {name} must be a positive integer, got {v!r}")


def check_widths(value, name: str, who: str) -> None:
    """A layer-width list: non-empty, positive integers."""
    if (not isinstance(value, tuple | list) or not value
            or not all(isinstance(w, int | np.integer) and not isinstance(w, bool) and w >= 1
                       for w in value)):
        raise ImputebenchError(f"{who}: {name} must be a non-empty list of positive integers, "
                               f"got {value!r}")


def category_codes(X, columns) -> np.ndarray:
    """(n, len(columns)) int64 category codes, -1 where missing."""
    if not columns:
        return np.zeros((len(X), 0), dtype=np.int64)
    return np.stack([X[c].cat.codes.to_numpy().astype(np.int64) for c in columns], axis=1)


def masked_tensors(num: np.ndarray, codes: np.ndarray, device, who: str):
    """Numeric values (NaN = missing) and codes (-1 = missing) as four device tensors:
    values with 0 where missing, their float 0/1 mask, codes with 0 where missing, their mask."""
    torch = import_torch(who)
    m_num, m_cat = ~np.isnan(num), codes >= 0
    return (torch.as_tensor(np.nan_to_num(num), dtype=torch.float32, device=device),
            torch.as_tensor(m_num, dtype=torch.float32, device=device),
            torch.as_tensor(np.where(m_cat, codes, 0), device=device),
            torch.as_tensor(m_cat, dtype=torch.float32, device=device))


def cuda_available() -> bool:
    """Whether torch is installed and sees a CUDA device (False without torch)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def resolve_device(device: str, who: str) -> str:
    """``"cpu"`` or a concrete ``"cuda:N"``: ``auto`` takes CUDA when present, else the CPU.

    Asking for CUDA where there is none is an error, not a silent fall-back to the CPU.
    """
    check_device(device, who)
    if device == "cpu":
        return "cpu"
    if device == "auto":
        if not cuda_available():
            return "cpu"
        return f"cuda:{import_torch(who).cuda.current_device()}"  # the current CUDA device
    if not cuda_available():
        raise ImputebenchError(f"{who}: device={device!r} but no CUDA device is available "
                               "(use device='auto' to fall back to the CPU)")
    torch = import_torch(who)
    index = int(device.split(":")[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise ImputebenchError(f"{who}: device={device!r} but only "
                               f"{torch.cuda.device_count()} CUDA device(s) exist")
    return f"cuda:{index}"


def torch_generator(rng: np.random.Generator, device: str):
    """A ``torch.Generator`` on ``device`` seeded from ``rng`` (consumes one draw of ``rng``)."""
    torch = import_torch("random state")
    g = torch.Generator(device=device)
    g.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return g
