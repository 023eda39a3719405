"""Errors that name the problem.

Every user-facing mistake (unknown name, bad rate, unreadable file, ...) raises
:class:`ImputebenchError`, a ``ValueError``; the command line prints its message on one line and
exits with status 2, never a traceback. It lives in the bottom layer so every package can use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ImputebenchError(ValueError):
    """A problem with the user's input: its message names the problem and how to fix it."""


class MissingPackage(ImputebenchError):
    """An optional package a method needs is not installed: the message names the package and
    the extra that installs it. The harness records the cell as skipped with that line."""

    def __init__(self, who: str, package: str, extra: str) -> None:
        self.package, self.extra = package, extra
        super().__init__(f"{who} needs the optional package {package!r}, which is not "
                         f"installed; install it with `pip install 'imputebench[{extra}]'`")


def require(package: str, who: str, extra: str):
    """Import and return ``package``, or raise :class:`MissingPackage`."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError:
        raise MissingPackage(who, package, extra) from None


def unknown_name(what: str, name: str, choices: Iterable[str]) -> ImputebenchError:
    """Build the error for an unknown ``what`` (imputer, dataset, ...), with the closest names."""
    choices = sorted(choices)
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = ", ".join(choices) if len(choices) <= 30 else ", ".join(choices[:30]) + ", ..."
    return ImputebenchError(f"unknown {what} {name!r}{hint} (known: {listing})")
