"""The data-file layer: verified download from a local HTTP server, offline errors, the cache.

No real network: every download goes to a ThreadingHTTPServer on 127.0.0.1 (port 0).
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from imputebench.datasets.errors import ImputebenchError
from imputebench.datasets.files import RemoteFile, data_dir, fetch_file, file_status
from imputebench.datasets.standard import StandardDataset

GOOD = b"a,b\n1,2\n3,4\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        srv = self.server
        srv.hits.append(self.path)
        kind, arg = srv.routes.get(self.path, ("status", 404))
        if kind == "status":
            self.send_error(arg)
        elif kind == "hang":
            srv.release.wait(10)
        else:
            self.send_response(200)
            extra = 1000 if kind == "truncate" else 0  # announce more than is sent
            self.send_header("Content-Length", str(len(arg) + extra))
            self.end_headers()
            self.wfile.write(arg)
            self.wfile.flush()
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    srv.routes, srv.hits, srv.release = {}, [], threading.Event()
    srv.url = f"http://127.0.0.1:{srv.server_port}"
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.release.set()
    srv.shutdown()
    srv.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """A fresh data directory and cache folder, downloads on, no proxy in the way."""
    root = tmp_path / "data"
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(root))
    monkeypatch.setenv("IMPUTEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("IMPUTEBENCH_OFFLINE", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    return root


def served(server, name: str, body: bytes, declared: bytes | None = None,
           kind: str = "ok") -> RemoteFile:
    """Serve ``body`` at /name; the RemoteFile declares the hash of ``declared`` (or body)."""
    server.routes[f"/{name}"] = (kind, body)
    return RemoteFile(path=f"sub/{name}", sha256=sha(body if declared is None else declared),
                      url=f"{server.url}/{name}")


def files_under(root: Path) -> list[str]:
    """Every file below root, dot files (temporary ``.*.part``) included."""
    return sorted(os.path.relpath(os.path.join(d, n), root).replace(os.sep, "/")
                  for d, _, names in os.walk(root) for n in names)


def test_good_download_lands_verified_and_is_not_fetched_again(server, env):
    rf = served(server, "good.csv", GOOD)
    path = fetch_file(rf)
    assert path == env / "sub" / "good.csv" and path.read_bytes() == GOOD
    assert files_under(env) == ["sub/good.csv"]  # no .part temporary left
    assert fetch_file(rf) == path and server.hits == ["/good.csv"]
    assert file_status(rf) == "ok"


def test_wrong_hash_saves_nothing(server, env):
    rf = served(server, "other.csv", b"another file\n", declared=GOOD)
    with pytest.raises(ImputebenchError) as info:
        fetch_file(rf)
    assert rf.url in str(info.value) and "nothing was saved" in str(info.value)
    assert files_under(env) == []


def test_truncated_transfer_saves_nothing(server, env):
    rf = served(server, "cut.csv", GOOD, kind="truncate")
    with pytest.raises(ImputebenchError, match="cut short") as info:
        fetch_file(rf)
    assert rf.url in str(info.value)
    assert files_under(env) == []


@pytest.mark.parametrize("code", [500, 404])
def test_http_error_names_status_and_destination(server, env, code):
    rf = served(server, "err.csv", b"", declared=GOOD)
    server.routes["/err.csv"] = ("status", code)
    with pytest.raises(ImputebenchError) as info:
        fetch_file(rf)
    msg = str(info.value)
    assert f"HTTP {code}" in msg and str(env / "sub" / "err.csv") in msg and rf.url in msg
    assert files_under(env) == []


def test_unreachable_server_is_one_clear_error(env):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rf = RemoteFile("sub/x.csv", sha(GOOD), f"http://127.0.0.1:{port}/x.csv")
    with pytest.raises(ImputebenchError, match="cannot download"):
        fetch_file(rf, timeout=2)
    assert files_under(env) == []


def test_server_that_never_answers_times_out(server, env):
    rf = served(server, "slow.csv", b"", declared=GOOD, kind="hang")
    start = time.monotonic()
    with pytest.raises(ImputebenchError) as info:
        fetch_file(rf, timeout=0.5)
    assert time.monotonic() - start < 5
    assert rf.url in str(info.value) and "timed out" in str(info.value)
    assert files_under(env) == []


def test_offline_missing_file_says_what_to_put_where(server, env, monkeypatch):
    monkeypatch.setenv("IMPUTEBENCH_OFFLINE", "1")
    rf = served(server, "good.csv", GOOD)
    with pytest.raises(ImputebenchError) as info:
        fetch_file(rf)
    msg = str(info.value)
    assert "\n" not in msg
    assert rf.path in msg and rf.url in msg and str(env / "sub" / "good.csv") in msg
    assert server.hits == [] and files_under(env) == []
    with pytest.raises(ImputebenchError, match="download=False"):  # the explicit switch too
        fetch_file(rf, download=False)
    assert server.hits == []


def test_bad_local_copy_is_reported_and_only_replaced_by_a_verified_file(server, env):
    rf = served(server, "good.csv", b"a different file\n", declared=GOOD)
    target = env / "sub" / "good.csv"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"corrupt")
    with pytest.raises(ImputebenchError) as info:
        fetch_file(rf)
    assert str(target) in str(info.value) and "expected" in str(info.value)
    assert target.read_bytes() == b"corrupt" and server.hits == []
    # force=True and the server holds another file: the error says so and the old (bad) copy
    # stays untouched, no temporary left; it is still reported as bad, never trusted
    with pytest.raises(ImputebenchError, match="nothing was saved"):
        fetch_file(rf, force=True)
    assert target.read_bytes() == b"corrupt" and files_under(env) == ["sub/good.csv"]
    assert file_status(rf).startswith("bad hash")
    server.routes["/good.csv"] = ("ok", GOOD)  # now the right bytes: replaced, verified
    assert fetch_file(rf, force=True).read_bytes() == GOOD
    assert files_under(env) == ["sub/good.csv"] and len(server.hits) == 2


def test_file_status(env):
    rf = RemoteFile("sub/s.csv", sha(GOOD), "http://127.0.0.1:9/s.csv")
    assert file_status(rf) == "missing"
    (env / "sub").mkdir(parents=True)
    (env / "sub" / "s.csv").write_bytes(GOOD)
    assert file_status(rf) == "ok"
    (env / "sub" / "s.csv").write_bytes(b"x")
    assert file_status(rf) == f"bad hash {sha(b'x')[:12]}"
    assert file_status(rf, root=env / "elsewhere") == "missing"


@pytest.mark.parametrize("path, digest", [
    ("a.csv", "g" * 64), ("a.csv", "a" * 63), ("a.csv", "A" * 64), ("a.csv", None),
    ("/abs/a.csv", "a" * 64), ("../a.csv", "a" * 64), ("sub/../../a.csv", "a" * 64),
    ("", "a" * 64), (".", "a" * 64),
])
def test_remote_file_validation(path, digest):
    with pytest.raises(ValueError):
        RemoteFile(path, digest, "http://127.0.0.1/a.csv")


def test_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("IMPUTEBENCH_DATA", str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    monkeypatch.delenv("IMPUTEBENCH_DATA")
    assert data_dir() == tmp_path / "xdg" / "imputebench" / "data"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: ignore relative
    assert data_dir() == tmp_path / "home" / ".cache" / "imputebench" / "data"


# -- the typed Parquet cache of a StandardDataset --------------------------------------------

COLOURS = ["red", "green", "blue", "never-seen"]


def tiny_dataset(rf: RemoteFile, version: int = 1):
    """An unregistered StandardDataset over ``rf`` (lines ``colour,size,x``)."""

    class Tiny(StandardDataset):
        name = "tiny-test"
        files = (rf,)
        parse_version = version
        calls = 0

        def parse(self, paths):
            type(self).calls += 1
            rows = [line.split(",") for line in paths[0].read_text().split()]
            df = pd.DataFrame({
                "colour": pd.Categorical([r[0] for r in rows], categories=COLOURS, ordered=True),
                "size": pd.Categorical([int(r[1]) for r in rows], categories=[3, 2, 1, 9]),
                "x": [float(r[2]) if r[2] else float("nan") for r in rows],
            })
            df.index = df.index + 100  # the cache keeps no index: both loads must agree
            return df

    return Tiny


RAW = b"red,1,0.5\nblue,2,\ngreen,1,2.25\n"


def cached(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []


def test_cache_round_trip_keeps_types_and_skips_parse(server, env, tmp_path):
    Tiny = tiny_dataset(served(server, "tiny.csv", RAW))
    first = Tiny().load()  # downloaded from the local server, parsed, cached
    assert Tiny.calls == 1 and len(cached(tmp_path / "cache")) == 1
    second = Tiny().load()
    assert Tiny.calls == 1 and server.hits == ["/tiny.csv"]
    assert_frame_equal(first, second)
    assert second["colour"].dtype == pd.CategoricalDtype(COLOURS, ordered=True)
    assert second["size"].cat.categories.tolist() == [3, 2, 1, 9]  # integer categories
    assert not second["size"].cat.ordered and second["x"].isna().sum() == 1


def test_cache_follows_raw_hash_and_parse_version(env, tmp_path):
    raw = env / "sub" / "tiny.csv"
    raw.parent.mkdir(parents=True)
    raw.write_bytes(RAW)
    url = "http://127.0.0.1:9/tiny.csv"
    Tiny = tiny_dataset(RemoteFile("sub/tiny.csv", sha(RAW), url))
    Tiny().load()
    old = cached(tmp_path / "cache")
    new_raw = RAW + b"never-seen,9,7\n"
    raw.write_bytes(new_raw)
    with pytest.raises(ImputebenchError):  # the old declaration no longer verifies
        Tiny().load()
    Tiny2 = tiny_dataset(RemoteFile("sub/tiny.csv", sha(new_raw), url))
    df = Tiny2().load()
    assert Tiny2.calls == 1 and len(df) == 4
    now = cached(tmp_path / "cache")
    assert len(now) == 1 and now != old  # the stale cache is gone
    Tiny3 = tiny_dataset(RemoteFile("sub/tiny.csv", sha(new_raw), url), version=2)
    assert_frame_equal(Tiny3().load(), df)
    assert Tiny3.calls == 1
    assert len(cached(tmp_path / "cache")) == 1 and cached(tmp_path / "cache") != now


def test_corrupt_cache_is_rebuilt(env, tmp_path):
    (env / "sub").mkdir(parents=True)
    (env / "sub" / "tiny.csv").write_bytes(RAW)
    Tiny = tiny_dataset(RemoteFile("sub/tiny.csv", sha(RAW), "http://127.0.0.1:9/t"))
    good = Tiny().load()
    [name] = cached(tmp_path / "cache")
    (tmp_path / "cache" / name).write_bytes(b"PAR1 garbage, not parquet")
    assert_frame_equal(Tiny().load(), good)
    assert Tiny.calls == 2
    assert_frame_equal(Tiny().load(), good)  # the rebuilt cache is read
    assert Tiny.calls == 2


@pytest.mark.parametrize("how", ["under-a-file", "read-only"])
def test_unwritable_cache_folder_still_loads(env, tmp_path, monkeypatch, how):
    (env / "sub").mkdir(parents=True)
    (env / "sub" / "tiny.csv").write_bytes(RAW)
    if how == "under-a-file":
        (tmp_path / "plain").write_text("a file, not a folder")
        folder = tmp_path / "plain" / "cache"
    else:
        if os.geteuid() == 0:
            pytest.skip("root ignores file permissions")
        folder = tmp_path / "ro"
        folder.mkdir(mode=0o500)
    monkeypatch.setenv("IMPUTEBENCH_CACHE", str(folder))
    Tiny = tiny_dataset(RemoteFile("sub/tiny.csv", sha(RAW), "http://127.0.0.1:9/t"))
    try:
        assert_frame_equal(Tiny().load(), Tiny().load())
    finally:
        if how == "read-only":
            folder.chmod(0o700)
    assert Tiny.calls == 2 and cached(folder) == []


def test_default_cache_sits_next_to_the_raw_file(env, tmp_path, monkeypatch):
    monkeypatch.delenv("IMPUTEBENCH_CACHE")
    (env / "sub").mkdir(parents=True)
    (env / "sub" / "tiny.csv").write_bytes(RAW)
    Tiny = tiny_dataset(RemoteFile("sub/tiny.csv", sha(RAW), "http://127.0.0.1:9/t"))
    Tiny().load()
    [name] = cached(env / "sub" / ".imputebench-cache")
    assert name.startswith("tiny.csv.tiny-test.") and not (tmp_path / "cache").exists()
    Tiny().load()
    assert Tiny.calls == 1
