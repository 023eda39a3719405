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
