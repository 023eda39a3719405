"""Packaging and layering rules of DESIGN.md §2, enforced."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("datasets", "imputers", "metrics", "benchmarks")
# what each layer may import from the project (imports go one way)
ALLOWED = {
    "datasets": {"datasets"},
    "imputers": {"datasets", "imputers"},
    "metrics": {"datasets", "metrics"},
    "benchmarks": {"datasets", "imputers", "metrics", "benchmarks"},
}


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import (absolute imports only)"
            names = [node.module or ""]
        for n in names:
            parts = n.split(".")
            if parts[0] == "imputebench" and len(parts) > 1:
                found.add(parts[1])
            assert parts[0] not in FOLDERS, f"{path}: bare import of {n!r}; use imputebench.{n}"
    return found


@pytest.mark.parametrize("folder", FOLDERS)
def test_imports_go_one_way(folder):
    for path in (ROOT / folder).rglob("*.py"):
        if "perf" in path.parts:
            continue
        bad = _project_imports(path) - ALLOWED[folder]
        assert not bad, f"{path.relative_to(ROOT)} imports imputebench.{sorted(bad)}"


def test_every_subpackage_is_listed():
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(conf["tool"]["setuptools"]["packages"])
    mapping = conf["tool"]["setuptools"]["package-dir"]
    found = set()
    for folder in FOLDERS:
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix()
            found.add("imputebench." + rel.replace("/", "."))
    assert found == listed
    for pkg in listed:
        assert (ROOT / mapping[pkg] / "__init__.py").is_file()


def test_package_imports_from_install_not_repo_root():
    import imputebench.imputers

    assert Path(imputebench.imputers.__file__).parent == ROOT / "imputers"
    import sys

    assert str(ROOT) not in sys.path and "" not in sys.path
