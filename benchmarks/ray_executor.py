"""The Ray executor: every cell a Ray task on a cluster, the same cells, seeds and journal.

``imputebench run CONFIG --executor ray [--address ADDR]`` (DESIGN.md §8). Ray is the optional
extra ``imputebench[ray]``; without it the run stops with one line naming the extra.

* **Cluster.** ``address`` is passed to ``ray.init`` (``"auto"``: the cluster this machine
  joined with ``ray start``; ``"ray://host:10001"``: a remote head through Ray Client). Without
  an address and with no Ray running in the process, a local Ray instance is started with
  ``workers`` CPUs (all of them by default) and shut down at the end.
* **Tasks.** Each cell is one task running :func:`~imputebench.benchmarks.cell.execute`, the
  function the local executor runs, with the cell's own derived seeds: serial, local and Ray runs
  give identical numbers. Each dataset and each mask go to the object store once and are shared
  by the tasks that read them. The driver alone appends to the journal (append, flush, fsync, by
  :class:`~imputebench.benchmarks.journal.Journal`) as results arrive.
* **Resources** (:func:`cell_resources`): a CPU per thread of the cell (the config's
  ``threads``, default 1); a torch imputer whose ``device`` is
  not ``"cpu"`` also asks for ``GPU_FRACTION`` (a quarter) of a GPU when the cluster has GPUs, so
  four small models share one device; a config's ``[resources.<imputer>]`` table
  (``num_cpus``, ``num_gpus``) overrides both. The driver keeps in flight only what the cluster
  can hold by its own count (the CPUs and GPUs of the running cells); a cell that asks more than
  the whole cluster has is recorded as failed at once (Ray would keep it pending forever).
* **Failures.** An exception inside a cell is a ``failed`` record made by ``execute`` itself,
  as in the local executor. A worker process that dies (killed, out of memory, segfault, node
  lost) is retried by Ray up to ``retries`` times (default :data:`RETRIES`); then the cell is
  recorded as ``failed`` with Ray's reason. A cell running past the config's ``timeout`` is
  cancelled, its worker killed (``ray.cancel(force=True)``), and recorded as ``timeout``; the
  time counts from the moment the task starts (it tells a small actor, polled by the driver
  twice a second), not from its submission, because starting a worker process can take
  seconds; a retried cell's clock keeps running from its first start. An interrupted driver
  cancels what it had in flight; the journal keeps every finished cell and a rerun does only
  the rest.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterator

from imputebench.datasets.errors import ImputebenchError, require

GPU_FRACTION = 0.25         # of one GPU per torch cell, by default: four cells share a device
RETRIES = 2                 # times a cell whose worker died is run again
RESOURCE_KEYS = ("num_cpus", "num_gpus")


def import_ray():
    """``ray``, or :class:`MissingPackage` naming the extra (one line on the command line)."""
    return require("ray", "the ray executor (--executor ray)", "ray")


def check_resources(resources: dict, imputers: list[str]) -> dict[str, dict[str, float]]:
    """Validate a config's ``[resources]`` table: imputer name -> {num_cpus, num_gpus}."""
    if not isinstance(resources, dict):
        raise ImputebenchError("config section 'resources' must be a table of "
                               "[resources.<imputer>] tables")
    out = {}
    for name, spec in resources.items():
        if name not in imputers:
            raise ImputebenchError(f"[resources.{name}]: {name!r} is not an imputer of this "
                                   f"config ({', '.join(sorted(set(imputers)))})")
        if not isinstance(spec, dict):
            raise ImputebenchError(f"[resources.{name}] must be a table with num_cpus and / or "
                                   "num_gpus")
        bad = sorted(set(spec) - set(RESOURCE_KEYS))
        if bad:
            raise ImputebenchError(f"[resources.{name}]: unknown key(s) {bad}; known: "
                                   f"{', '.join(RESOURCE_KEYS)}")
        for key, v in spec.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or (
                    key == "num_cpus" and v == 0) or (v > 1 and v != int(v)):
                raise ImputebenchError(f"[resources.{name}] {key} must be a number > 0 (a "
                                       "fraction below 1 or a whole number; num_gpus may be "
                                       f"0), got {v!r}")
        out[name] = {k: float(v) for k, v in spec.items()}
    return out


def cell_resources(cell, overrides: dict, cluster_gpus: float, threads: int | None = 1
                   ) -> dict[str, float]:
    """What one cell asks of the cluster (module docstring, Resources)."""
    from imputebench.imputers import get_imputer_class

    res = {"num_cpus": float(threads or 1), "num_gpus": 0.0}
    name = cell.imputer.name
    try:
        torch_model = get_imputer_class(name).capabilities.torch
    except ImputebenchError:        # the holdout pseudo-generator, an unknown name
        torch_model = False
    if torch_model and cluster_gpus > 0 and cell.imputer.kwargs.get("device", "auto") != "cpu":
        res["num_gpus"] = GPU_FRACTION
    res.update(overrides.get(name, {}))
    return res


class _Starts:
    """A Ray actor (no CPU) where each task notes that it started: the driver's timeout counts
    from there, not from the submission (a worker process may take seconds to start)."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def start(self, key: str) -> None:
        self.started.append(key)

    def since(self, n: int) -> list[str]:
        return self.started[n:]


def _run_cell(cell, truth, mask, metrics, n_draws, starts=None, threads=None) -> dict:
    """The body of one Ray task (a module function, so workers import it, not unpickle it)."""
    from imputebench.benchmarks.cell import execute

    if starts is not None:
        starts.start.remote(cell.key)
    rec = execute(cell, truth, mask, metrics, n_draws, threads)
    rec["host"] = platform.node()
    rec["executor"] = "ray"
    return rec


def _ray_reason(exc: Exception, retries: int) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return (f"worker died and was retried {retries} time(s) ({type(exc).__name__}"
            f"{': ' + first[:300] if first else ''})")


def run_ray(tasks, metrics, n_draws, timeout, workers: int | None = None,
            address: str | None = None, retries: int = RETRIES,
            resources: dict | None = None, threads: int | None = None) -> Iterator[dict]:
    """Run ``tasks`` (``runner.Task``) as Ray tasks; yield each journal record as it arrives."""
    from imputebench.benchmarks.runner import _timeout_record

    ray = import_ray()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ImputebenchError(f"--retries must be a whole number >= 0, got {retries!r}")
    started_here = not ray.is_initialized()
    if started_here:
        kwargs = {"address": address} if address else {"num_cpus": workers or os.cpu_count()}
        try:
            ray.init(**kwargs, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except ConnectionError as exc:
            raise ImputebenchError(f"could not connect to the Ray cluster at {address!r}: "
                                   f"{exc}") from None
    running: dict = {}          # ref -> (task, submitted, resources)
    try:
        total = ray.cluster_resources()
        cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
        remote = ray.remote(_run_cell)
        board = ray.remote(num_cpus=0)(_Starts).remote()
        seen = 0
        started_at: dict[str, float] = {}       # cell key -> driver's clock when it started
        stored: dict[int, object] = {}      # id(table or mask) -> object ref

        def put(obj):
            if id(obj) not in stored:
                stored[id(obj)] = ray.put(obj)
            return stored[id(obj)]

        pending = list(reversed(tasks))
        limit = workers or max(int(cpus), 1)
        used = {"num_cpus": 0.0, "num_gpus": 0.0}
        while pending or running:
            while pending and len(running) < limit:
                task = pending[-1]
                res = cell_resources(task.cell, resources or {}, gpus, threads)
                if res["num_cpus"] > cpus or res["num_gpus"] > gpus:
                    pending.pop()
                    yield _timeout_record(task, f"asks {res['num_cpus']:g} CPU and "
                                          f"{res['num_gpus']:g} GPU; the Ray cluster has "
                                          f"{cpus:g} CPU and {gpus:g} GPU", "failed")
                    continue
                if running and any(used[k] + res[k] > {"num_cpus": cpus,
                                                       "num_gpus": gpus}[k] + 1e-9
                                   for k in used):
                    break               # wait for room: started cells keep their timeout fair
                pending.pop()
                ref = remote.options(num_cpus=res["num_cpus"], num_gpus=res["num_gpus"],
                                     max_retries=retries, retry_exceptions=False).remote(
                    task.cell, put(task.truth), put(task.mask), tuple(metrics), n_draws, board,
                    threads)
                running[ref] = (task, time.monotonic(), res)
                for k in used:
                    used[k] += res[k]
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for ref in ready:
                task, _, res = running.pop(ref)
                for k in used:
                    used[k] -= res[k]
                try:
                    rec = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    rec = _timeout_record(task, _ray_reason(exc, retries), "failed")
                yield rec
            new = ray.get(board.since.remote(seen))
            seen += len(new)
            now = time.monotonic()
            for key in new:
                started_at.setdefault(key, now)
            for ref, (task, _submitted, res) in list(running.items()):
                if now - started_at.get(task.cell.key, now) > timeout:
                    ray.cancel(ref, force=True)
                    del running[ref]
                    for k in used:
                        used[k] -= res[k]
                    yield _timeout_record(task, f"timed out after {timeout:g} s", "timeout")
    finally:
        for ref in running:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - best effort while unwinding
                pass
        if started_here:
            ray.shutdown()
