"""Short labels of imputer configurations: only the parameters that tell them apart.

A config's full label names every parameter (``vae(batch_size=128, beta=0.5, epochs=60,
prior="mog", triplet_weight=1.0)``); where the configurations of one imputer sit side by side
(the latent pictures, the ablation section) the parameters they share are noise. The short
label keeps only the parameters that vary across that imputer's configurations in the report:
``vae(beta=0.5, prior=mog, triplet_weight=1)``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from imputebench.benchmarks.report.tables import Row, canonical


def param_text(v: Any) -> str:
    """A parameter value as a short label shows it: strings bare, ``1.0`` as ``1``.

    >>> param_text("mog"), param_text(1.0), param_text(0.5), param_text(None), param_text(True)
    ('mog', '1', '0.5', 'null', 'true')
    """
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or v is None:
        return canonical(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float) and math.isfinite(v):
        return f"{v:g}"
    return canonical(v)


def value_key(v: Any) -> str:
    """A grouping key under which equal values meet: ``1`` and ``1.0`` are one value."""
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return canonical(float(v))
    return canonical(v)


def imputer_name(r: Row) -> str:
    """The registered imputer name of a row (from its label when the record lacks one)."""
    return r.imputer or r.label.split("(")[0]


def varying_params(configs: list[dict]) -> list[str]:
    """The parameter names (sorted) whose values are not the same in all ``configs``; a
    parameter one config leaves out counts as a value of its own."""
    keys = sorted({k for p in configs for k in p})
    return [k for k in keys
            if len({value_key(p[k]) if k in p else "<absent>" for p in configs}) > 1]


def short_labels(rows: list[Row], bare_single: bool = True) -> dict[str, str]:
    """Label -> short label, for every label of ``rows``.

    Per imputer name, the parameters that vary across its configurations (distinct labels)
    in ``rows``; an imputer with one configuration is its bare name (``bare_single``) or keeps
    its full label. Labels whose short forms
    would coincide (e.g. two configs with the same params but different labels, or records
    without params) keep their full label.

    >>> from imputebench.benchmarks.report.tables import normalize_records
    >>> recs = [{"imputer": "vae", "label": f"vae(beta={b}, epochs=60)",
    ...          "params": {"beta": b, "epochs": 60}} for b in (0.5, 1.0)]
    >>> sorted(short_labels(normalize_records(recs)).values())
    ['vae(beta=0.5)', 'vae(beta=1)']
    """
    per: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in rows:
        per[imputer_name(r)].setdefault(r.label, r.params)
    short: dict[str, str] = {}
    for name, configs in per.items():
        if len(configs) == 1 and not bare_single:
            short.update({lb: lb for lb in configs})
            continue
        varying = varying_params(list(configs.values()))
        for label, params in configs.items():
            inner = ", ".join(f"{k}={param_text(params[k])}" for k in varying if k in params)
            short[label] = f"{name}({inner})" if inner else name
    count: dict[str, int] = defaultdict(int)
    for s in short.values():
        count[s] += 1
    return {lb: (s if count[s] == 1 else lb) for lb, s in sorted(short.items())}
