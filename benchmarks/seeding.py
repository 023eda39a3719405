"""Seeds derived from a cell's own fields, never from run order (DESIGN.md §8).

``derive_seed("mask", dataset, params, ...)`` hashes the canonical JSON of its arguments into a
``np.random.SeedSequence``, so serial, parallel, resumed and distributed runs draw the same
numbers. Changing any field changes the seed; nothing else does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def digest(*parts: Any) -> str:
    return hashlib.sha256(canonical(parts).encode()).hexdigest()


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed from the SHA-256 of ``parts`` (through ``SeedSequence``)."""
    entropy = int(digest(*parts)[:32], 16)
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])
