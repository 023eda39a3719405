"""Append-only journal of finished cells (``journal.jsonl``), the store runs resume from.

One JSON object per line, appended with flush + fsync, so a killed run loses at most the cell
being written. Reading skips a torn last line. When a key appears twice (a retried cell), the
later record wins.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from imputebench.datasets.errors import ImputebenchError

FINISHED = ("ok", "failed", "skipped", "timeout")


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def records(self) -> list[dict]:
        """Every record, in file order (torn or corrupt lines are skipped with a warning)."""
        if not self.path.exists():
            return []
        out, bad = [], 0
        with self.path.open("r", encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    bad += 1
                    continue
                if isinstance(rec, dict) and "key" in rec:
                    out.append(rec)
                else:
                    bad += 1
        if bad:
            warnings.warn(f"{self.path}: skipped {bad} unreadable line(s)", stacklevel=2)
        return out

    def latest(self) -> dict[str, dict]:
        """Key -> the last record written for it."""
        return {rec["key"]: rec for rec in self.records()}

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, sort_keys=True, allow_nan=True, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            if fh.tell() > 0 and not _ends_with_newline(self.path):
                fh.write("\n")  # a torn last line must not swallow this record
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def load_records(path: str | Path) -> list[dict]:
    """Latest record per cell of a journal file; a clear error when it is missing or empty."""
    p = Path(path)
    if p.is_dir():
        p = p / "journal.jsonl"
    if not p.is_file():
        raise ImputebenchError(f"no journal at {str(p)!r}")
    recs = list(Journal(p).latest().values())
    if not recs:
        raise ImputebenchError(f"journal {str(p)!r} holds no readable record")
    return recs
