"""Benchmark configuration: TOML files turned into frozen dataclasses (DESIGN.md §8).

A config names datasets, masks, imputers and metrics; any list value inside ``params`` (and the
mask fields) expands into a cartesian product. Unknown keys, names and parameters are errors
that name the culprit, raised before any cell runs.

Example::

    name = "default"            # journal runs/<name>/journal.jsonl, report reports/<name>/
    repetitions = 3
    metrics = ["rmse_minmax", "accuracy"]

    [[datasets]]
    name = "synthetic"
    params = { n_rows = [500, 2000] }       # two datasets

    [[masks]]
    mechanism = ["mcar", "mar"]
    rate = [0.1, 0.3]                       # four masks

    [[imputers]]
    name = "knn"
    params = { n_neighbors = [5, 10] }      # two imputers

``task = "synthesis"`` makes it a comparison of generators (``benchmarks/synthesis.py``): no
``[[masks]]``; ``[split] holdout = 0.5`` sets the train / holdout split; ``[[imputers]]`` lists
generators (``holdout`` is the real-rows baseline) and every metric must be table-level.
``[[claims]]`` (synthesis only) are published findings the report checks (its Synthesis
section), each ``{text, better, worse, metrics}``: ``better`` and ``worse`` list imputer names
or full labels (``["*"]``: every other generator but ``holdout``), ``metrics`` metric names::

    [[claims]]
    text = "CART beats the Gaussian copula"
    better = ["cart"]
    worse = ["gaussian_copula", "sdv_gaussian_copula"]
    metrics = ["pmse", "pmse_cart", "cluster_log"]
"""

from __future__ import annotations

import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from imputebench.benchmarks.ray_executor import check_resources
from imputebench.benchmarks.synthesis import HOLDOUT, TASKS, SplitSpec, check_metrics
from imputebench.datasets import MaskSpec, get_dataset
from imputebench.datasets.base import LOADER_PARAMS
from imputebench.datasets.errors import ImputebenchError, unknown_name
from imputebench.imputers import get_imputer
from imputebench.metrics import available_metrics, get_metric

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

_TOP_KEYS = {"name", "title", "description", "repetitions", "timeout", "workers", "metrics",
             "n_draws", "threads", "datasets", "masks", "imputers", "published", "task", "split",
             "claims", "resources"}
CLAIM_KEYS = {"text", "better", "worse", "metrics"}
ANY_OTHER = "*"     # a claim's side: every generator of the run but the other side and holdout


def _freeze(params: dict) -> str:
    """Parameters as canonical JSON: hashable, and nested tables (e.g. ``kinds``) allowed."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class NamedSpec:
    """A registry name with its parameters (canonical JSON, so the spec is hashable)."""

    name: str
    params: str = "{}"

    @property
    def kwargs(self) -> dict:
        return json.loads(self.params)

    def label(self) -> str:
        return _label(self.name, self.kwargs)


class DatasetSpec(NamedSpec):
    """A dataset of the config, e.g. ``synthetic`` with ``{"n_rows": 500}``."""


class ImputerSpec(NamedSpec):
    """An imputer of the config, e.g. ``knn`` with ``{"n_neighbors": 5}``."""


def _label(name: str, params: dict) -> str:
    if not params:
        return name
    inner = ", ".join(f"{k}={json.dumps(v, sort_keys=True)}" for k, v in sorted(params.items()))
    return f"{name}({inner})"


@dataclass(frozen=True)
class BenchmarkConfig:
    name: str
    datasets: tuple[DatasetSpec, ...]
    masks: tuple[MaskSpec, ...]
    imputers: tuple[ImputerSpec, ...]
    metrics: tuple[str, ...]
    repetitions: int = 3
    timeout: float = 600.0
    workers: int = 2
    n_draws: int = 10
    threads: int = 1            # per cell: every thread pool its code uses (cell.thread_limit)
    title: str = ""
    description: str = ""
    published: dict = field(default_factory=dict, compare=False)
    source: dict = field(default_factory=dict, compare=False)
    task: str = "imputation"
    claims: tuple = field(default=(), compare=False)     # ({text, better, worse, metrics}, ...)
    # imputer name -> {num_cpus, num_gpus} for the Ray executor (benchmarks/ray_executor.py)
    resources: dict = field(default_factory=dict, compare=False)

    def summary(self) -> dict:
        return {
            "name": self.name, "task": self.task, "repetitions": self.repetitions,
            "timeout": self.timeout,
            "workers": self.workers, "threads": self.threads, "n_draws": self.n_draws,
            "metrics": list(self.metrics),
            "datasets": [d.label() for d in self.datasets],
            "masks": [m.label() for m in self.masks],
            "imputers": [i.label() for i in self.imputers],
        }


def resolve_config_path(path_or_name: str | Path) -> Path:
    """A file path, or the name of a config shipped in ``benchmarks/configs``."""
    p = Path(path_or_name)
    if p.is_file():
        return p
    shipped = CONFIG_DIR / f"{path_or_name}.toml"
    if shipped.is_file():
        return shipped
    names = sorted(f.stem for f in CONFIG_DIR.glob("*.toml"))
    raise ImputebenchError(f"no config file {str(path_or_name)!r} (shipped configs: "
                           f"{', '.join(names)})")


def load_config(path_or_name: str | Path) -> BenchmarkConfig:
    path = resolve_config_path(path_or_name)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ImputebenchError(f"{path}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImputebenchError(f"cannot read config {path}: {exc}") from None
    return parse_config(raw, default_name=path.stem)


def expand(params: dict) -> list[dict]:
    """Cartesian product over the list-valued entries of ``params``."""
    keys = sorted(params)
    values = [params[k] if isinstance(params[k], list) else [params[k]] for k in keys]
    for k, v in zip(keys, values, strict=True):
        if not v:
            raise ImputebenchError(f"parameter {k!r} has an empty list of values")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def _check_keys(section: str, entry: dict, allowed: set[str]) -> None:
    if not isinstance(entry, dict):
        raise ImputebenchError(f"[{section}] entries must be tables, got {entry!r}")
    for key in entry:
        if key not in allowed:
            raise unknown_name(f"key in [{section}]", key, allowed)


def _entries(raw: dict, section: str) -> list[dict]:
    value = raw.get(section)
    if value is None:
        raise ImputebenchError(f"config needs a [[{section}]] section")
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list) or not items:
        raise ImputebenchError(f"config section {section!r} must be a table or a list of tables")
    return items


def _positive_int(raw: dict, key: str, default: int) -> int:
    v = raw.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ImputebenchError(f"config key {key!r} must be a positive integer, got {v!r}")
    return v


def _members(i: int, key: str, value) -> list[str]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v for v in value)):
        raise ImputebenchError(f"[[claims]] entry {i + 1}: {key!r} must be a non-empty list of "
                               f"imputer names or labels, got {value!r}")
    if ANY_OTHER in value and len(value) > 1:
        raise ImputebenchError(f"[[claims]] entry {i + 1}: {key!r} is either [\"{ANY_OTHER}\"] "
                               f"(every other generator) or a list of names, got {value!r}")
    return list(value)


def parse_claims(raw: dict, task: str, measured: list[str]) -> tuple[dict, ...]:
    """The config's ``[[claims]]``: each a table of ``text``, ``better``, ``worse`` (lists of
    imputer names or labels, or ``["*"]``) and ``metrics`` (names among ``measured``, the
    config's metrics), all required."""
    value = raw.get("claims")
    if value is None:
        return ()
    if task != "synthesis":
        raise ImputebenchError("[[claims]] belong to synthesis configs (task = 'synthesis'): "
                               "the report checks them in its Synthesis section")
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise ImputebenchError("config section 'claims' must be a list of tables ([[claims]])")
    claims = []
    for i, entry in enumerate(items):
        _check_keys("claims", entry, CLAIM_KEYS)
        missing = sorted(CLAIM_KEYS - set(entry))
        if missing:
            raise ImputebenchError(f"[[claims]] entry {i + 1} lacks {', '.join(missing)} (each "
                                   f"claim needs {', '.join(sorted(CLAIM_KEYS))})")
        text = entry["text"]
        if not isinstance(text, str) or not text.strip():
            raise ImputebenchError(f"[[claims]] entry {i + 1}: 'text' must be a non-empty "
                                   f"string, got {text!r}")
        better, worse = _members(i, "better", entry["better"]), _members(i, "worse",
                                                                        entry["worse"])
        if ANY_OTHER in better and ANY_OTHER in worse:
            raise ImputebenchError(f"[[claims]] entry {i + 1}: only one side can be "
                                   f"[\"{ANY_OTHER}\"]")
        if set(better) & set(worse):
            raise ImputebenchError(f"[[claims]] entry {i + 1}: {sorted(set(better) & set(worse))}"
                                   " on both sides")
        metrics = entry["metrics"]
        if isinstance(metrics, str):
            metrics = [metrics]
        if (not isinstance(metrics, list) or not metrics
                or not all(isinstance(m, str) for m in metrics)):
            raise ImputebenchError(f"[[claims]] entry {i + 1}: 'metrics' must be a non-empty "
                                   f"list of metric names, got {metrics!r}")
        for m in metrics:
            get_metric(m)
            if m not in measured:
                raise ImputebenchError(f"[[claims]] entry {i + 1}: metric {m!r} is not among "
                                       f"the config's metrics ({', '.join(measured)})")
        claims.append({"text": text.strip(), "better": better, "worse": worse,
                       "metrics": list(metrics)})
    return tuple(claims)


def parse_config(raw: dict, default_name: str = "benchmark") -> BenchmarkConfig:
    for key in raw:
        if key not in _TOP_KEYS:
            raise unknown_name("config key", key, _TOP_KEYS)
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name or "/" in name:
        raise ImputebenchError(f"config name must be a non-empty string without '/', got {name!r}")

    datasets = []
    for entry in _entries(raw, "datasets"):
        _check_keys("datasets", entry, {"name", "params"})
        if "name" not in entry:
            raise ImputebenchError("every [[datasets]] entry needs a name")
        for params in expand(entry.get("params", {})):
            get_dataset(entry["name"], **{k: v for k, v in params.items()
                                          if k not in LOADER_PARAMS})
            datasets.append(DatasetSpec(entry["name"], _freeze(params)))

    task = raw.get("task", "imputation")
    if task not in TASKS:
        raise unknown_name("task", task, TASKS)
    masks = []
    if task == "synthesis":
        if "masks" in raw:
            raise ImputebenchError("a synthesis config has no [[masks]]: its cells split each "
                                   "table into train and holdout rows ([split] holdout = share)")
        split = raw.get("split", {})
        _check_keys("split", split, {"holdout", "impute_rate"})
        masks.append(SplitSpec(split.get("holdout", 0.5),
                               impute_rate=split.get("impute_rate")))
    else:
        if "split" in raw:
            raise ImputebenchError("[split] belongs to synthesis configs (task = 'synthesis')")
        mask_keys = set(MaskSpec.__dataclass_fields__)
        for entry in _entries(raw, "masks"):
            _check_keys("masks", entry, mask_keys)
            for params in expand(entry):
                masks.append(MaskSpec.from_dict(params))

    imputers = []
    for entry in _entries(raw, "imputers"):
        _check_keys("imputers", entry, {"name", "params"})
        if "name" not in entry:
            raise ImputebenchError("every [[imputers]] entry needs a name")
        for params in expand(entry.get("params", {})):
            if task == "synthesis" and entry["name"] == HOLDOUT:
                if params:
                    raise ImputebenchError(f"the {HOLDOUT!r} baseline takes no params")
            else:
                get_imputer(entry["name"], **params)
            imputers.append(ImputerSpec(entry["name"], _freeze(params)))

    metrics = raw.get("metrics", available_metrics())
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, list) or not metrics:
        raise ImputebenchError("config key 'metrics' must be a non-empty list of metric names")
    for m in metrics:
        get_metric(m)
    if task == "synthesis":
        check_metrics(metrics)

    timeout = raw.get("timeout", 600.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ImputebenchError(f"config key 'timeout' must be a positive number of seconds, "
                               f"got {timeout!r}")
    for what, items in (("datasets", datasets), ("masks", masks), ("imputers", imputers)):
        if len(set(items)) != len(items):
            raise ImputebenchError(f"config lists the same entry twice in {what!r}")
    published = raw.get("published", {})
    if published:
        _check_keys("published", published, {"file", "metric", "dataset_prefix", "methods",
                                              "source"})
        from imputebench.benchmarks.report.published import load_published

        if "file" not in published:
            raise ImputebenchError("[published] needs a 'file'")
        load_published(published["file"])
        get_metric(published.get("metric", "rmse_minmax"))
    return BenchmarkConfig(
        name=name, datasets=tuple(datasets), masks=tuple(masks), imputers=tuple(imputers),
        metrics=tuple(metrics), repetitions=_positive_int(raw, "repetitions", 3),
        timeout=float(timeout), workers=_positive_int(raw, "workers", 2),
        n_draws=_positive_int(raw, "n_draws", 10), threads=_positive_int(raw, "threads", 1),
        title=str(raw.get("title", "")),
        description=str(raw.get("description", "")), published=dict(published), source=raw,
        task=task, claims=parse_claims(raw, task, list(metrics)),
        resources=check_resources(raw.get("resources", {}), [i.name for i in imputers]),
    )
