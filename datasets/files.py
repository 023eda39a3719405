"""Where the bytes of the standard tables come from (DESIGN.md §6).

The project commits no data file. A standard dataset names its files by a path relative to the
data directory, the full SHA-256 of each and a public URL. :func:`fetch_file` returns the local
copy after checking its hash; when the file is absent and downloads are allowed, it downloads to a
temporary file in the same folder, checks the hash and only then moves it into place, so an
interrupted or corrupted download never leaves a bad file behind. Offline, one line says which
file to put where.

Environment
-----------
``IMPUTEBENCH_DATA``
    The data directory (default: ``$XDG_CACHE_HOME/imputebench/data``, else
    ``~/.cache/imputebench/data``). ``../shared/datasets`` has this layout.
``IMPUTEBENCH_OFFLINE=1``
    Never download; a missing file is an error naming its URL and destination.
``IMPUTEBENCH_CACHE``
    Where typed Parquet caches go. Unset: next to the raw file, or nowhere when that folder is
    not writable.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from imputebench.datasets.errors import ImputebenchError

DATA_ENV = "IMPUTEBENCH_DATA"
OFFLINE_ENV = "IMPUTEBENCH_OFFLINE"
CACHE_ENV = "IMPUTEBENCH_CACHE"
_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class RemoteFile:
    """One data file: its place in the data directory, its SHA-256 and its public URL."""

    path: str
    sha256: str
    url: str

    def __post_init__(self) -> None:
        if not isinstance(self.path, str) or not isinstance(self.url, str) or not self.url:
            raise ValueError(f"{self.path!r}: path and url must be non-empty strings")
        sha = self.sha256
        if not isinstance(sha, str) or len(sha) != 64 or any(c not in _HEX for c in sha):
            raise ValueError(f"{self.path}: sha256 must be 64 lowercase hex digits, got {sha!r}")
        parts = Path(self.path).parts
        if (not parts or Path(self.path).is_absolute() or ".." in parts or "\\" in self.path
                or self.path.endswith("/")):
            raise ValueError(f"{self.path!r}: path must name a file inside the data directory "
                             "(relative, no '..')")


def data_dir() -> Path:
    """The data directory: ``IMPUTEBENCH_DATA`` or a per-user cache folder."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # the XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "imputebench" / "data"


def downloads_allowed() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def local_path(f: RemoteFile, root: Path | None = None) -> Path:
    return (root or data_dir()) / f.path


def file_status(f: RemoteFile, root: Path | None = None) -> str:
    """``"ok"``, ``"missing"``, ``"unreadable"`` or ``"bad hash <12 hex>"`` for ``f``'s copy."""
    p = local_path(f, root)
    if not p.is_file():
        return "missing"
    try:
        digest = sha256_of(p)
    except OSError:
        return "unreadable"
    return "ok" if digest == f.sha256 else f"bad hash {digest[:12]}"


def fetch_file(f: RemoteFile, download: bool | None = None, root: Path | None = None,
               force: bool = False, timeout: float = 60.0) -> Path:
    """The verified local copy of ``f``, downloading it when absent and allowed.

    Parameters
    ----------
    f : RemoteFile
    download : bool, optional
        Allow a download; default: unless ``IMPUTEBENCH_OFFLINE`` is set.
    root : Path, optional
        Data directory (default :func:`data_dir`).
    force : bool
        Download again even if a local copy exists (it is replaced only by a verified file).
    """
    root = root or data_dir()
    target = local_path(f, root)
    allowed = downloads_allowed() if download is None else download
    off = f"{OFFLINE_ENV} is set" if download is None else "download=False"
    if target.exists() and not target.is_file():
        raise ImputebenchError(f"{target} should be the data file {f.path} but is a folder or "
                               "special file; move it away")
    if target.is_file() and not force:
        try:
            digest = sha256_of(target)
        except OSError as exc:
            raise ImputebenchError(f"cannot read data file {target}: {exc.strerror or exc}") \
                from None
        if digest == f.sha256:
            return target
        raise ImputebenchError(
            f"{target} has sha256 {digest[:12]}..., expected {f.sha256[:12]}...: it is corrupt "
            f"or another version; delete it and run 'imputebench datasets fetch' to download "
            f"{f.url}")
    if not allowed:
        if target.is_file():  # force=True offline
            raise ImputebenchError(f"cannot download {f.url} again into {target}: downloads are "
                                   f"off ({off})")
        raise ImputebenchError(
            f"data file {f.path} is not in the data directory {root}: download {f.url} and put "
            f"it at {target} (or point {DATA_ENV} at a folder holding it; downloads are off: "
            f"{off})")
    _download(f, target, timeout)
    return target


def _download(f: RemoteFile, target: Path, timeout: float) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                        dir=target.parent)
    except OSError as exc:
        raise ImputebenchError(f"cannot write into {target.parent}: {exc.strerror or exc}") \
            from None
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            req = urllib.request.Request(f.url, headers={"User-Agent": "imputebench"})
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                expected = resp.headers.get("Content-Length")
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    h.update(chunk)
                    size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise ImputebenchError(f"download of {f.url} was cut short ({size} of {expected} "
                                   "bytes); nothing was saved, try again")
        if h.hexdigest() != f.sha256:
            raise ImputebenchError(
                f"download of {f.url} has sha256 {h.hexdigest()[:12]}..., expected "
                f"{f.sha256[:12]}...; nothing was saved (the server holds another file)")
        os.replace(tmp, target)
    except ImputebenchError:
        raise
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ImputebenchError(f"cannot download {f.url}: HTTP {exc.code} {exc.reason}; put the "
                               f"file at {target} by hand") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ImputebenchError(f"cannot download {f.url}: {reason}; put the file at {target} "
                               "by hand") from None
    finally:
        tmp.unlink(missing_ok=True)
