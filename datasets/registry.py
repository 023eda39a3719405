"""A registry by name, shared by datasets, imputers and metrics (one shape, DESIGN.md §4).

Entries are classes with a ``name`` class attribute. A registry discovers its entries by
importing every public module of its package (one file per method, found by folder), then the
entry points of its group, so external packages can add to it, then the modules named in its
environment variable (comma-separated; e.g. ``IMPUTEBENCH_IMPUTER_MODULES=my_imputer``: an
imputer in a file of your own on ``PYTHONPATH``, without packaging, also in the worker processes
of a cluster that inherit the variable). Discovery runs once, on first use.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import warnings
from importlib.metadata import entry_points
from typing import Any

from imputebench.datasets.errors import ImputebenchError, unknown_name


class Registry:
    """Name -> class, filled by a decorator, by folder discovery and by entry points."""

    def __init__(self, what: str, package: str, group: str | None = None, skip=(),
                 env: str | None = None) -> None:
        self.what = what
        self.env = env
        self.package = package
        self.group = group
        self.skip = set(skip)
        self._entries: dict[str, type] = {}
        self._aliases: dict[str, tuple[str, dict]] = {}
        self._discovered = False

    def register(self, cls: type) -> type:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise TypeError(f"{cls.__qualname__} needs a non-empty string class attribute 'name'")
        known = self._entries.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ImputebenchError(
                f"two {self.what}s are registered as {name!r}: "
                f"{known.__module__}.{known.__qualname__} and {cls.__module__}.{cls.__qualname__}"
            )
        self._entries[name] = cls
        return cls

    def alias(self, name: str, target: str, **defaults: Any) -> None:
        """Register ``name`` as ``target`` created with ``defaults`` (overridable params)."""
        if name in self._entries or (name in self._aliases
                                     and self._aliases[name] != (target, defaults)):
            raise ImputebenchError(f"{self.what} name {name!r} is already registered")
        self._aliases[name] = (target, dict(defaults))

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.startswith("_") or info.name in self.skip:
                continue
            importlib.import_module(f"{self.package}.{info.name}")
        if self.group:
            for ep in entry_points(group=self.group):
                try:
                    cls = ep.load()
                except Exception as exc:  # a broken plugin must not break the registry
                    warnings.warn(
                        f"{self.what} plugin {ep.name!r} failed to load: {exc}", stacklevel=2
                    )
                    continue
                if ep.name not in self._entries:
                    self.register(cls)
        for module in (os.environ.get(self.env, "") if self.env else "").split(","):
            if module.strip():
                try:
                    importlib.import_module(module.strip())
                except ImportError as exc:
                    raise ImputebenchError(f"{self.env} names the module {module.strip()!r}, "
                                           f"which cannot be imported: {exc}") from None

    def names(self) -> list[str]:
        self._discover()
        return sorted({*self._entries, *self._aliases})

    def get_class(self, name: str) -> type:
        self._discover()
        if not isinstance(name, str):
            raise ImputebenchError(f"{self.what} name must be a string, got {type(name).__name__}")
        if name in self._aliases:
            name = self._aliases[name][0]
        try:
            return self._entries[name]
        except KeyError:
            raise unknown_name(self.what, name, {**self._entries, **self._aliases}) from None

    def create(self, name: str, **params: Any) -> Any:
        cls = self.get_class(name)
        if name in self._aliases:
            params = {**self._aliases[name][1], **params}
        try:
            return cls(**params)
        except TypeError as exc:
            raise ImputebenchError(f"bad parameters for {self.what} {name!r}: {exc}") from None
