"""The ``imputebench`` command: run | report | list | check.

Every user mistake ends in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imputebench.datasets.errors import ImputebenchError


def _cmd_run(args) -> int:
    from imputebench.benchmarks.config import load_config
    from imputebench.benchmarks.runner import default_paths, run_benchmark

    config = load_config(args.config)
    journal, out = default_paths(config)
    journal = Path(args.journal) if args.journal else journal
    out = Path(args.out) if args.out else out
    if args.fresh and journal.exists():
        journal.unlink()
    if (args.address or args.retries is not None) and args.executor != "ray":
        raise ImputebenchError("--address and --retries belong to --executor ray")
    summary = run_benchmark(config, journal, executor=args.executor, workers=args.workers,
                            retry_failed=args.retry_failed, progress=not args.quiet,
                            address=args.address, retries=args.retries)
    print(f"{config.name}: {summary.total} cells, {summary.skipped_done} already in "
          f"{journal}, {summary.ran} run now ({summary.failed} not ok)")
    if not args.no_report:
        _render(journal, out, config.title or f"imputebench: {config.name}", config,
                " ".join(["imputebench", *sys.argv[1:]]))
    return 0


def _render(journal: Path, out: Path, title: str, config=None, command: str = "") -> None:
    from imputebench.benchmarks.journal import load_records
    from imputebench.benchmarks.report import render_report

    records = load_records(journal)
    if config is not None:  # only this config's cells, even if the journal holds more
        from imputebench.benchmarks.runner import plan

        keys = {c.key for c in plan(config)}
        records = [r for r in records if r["key"] in keys]
        missing = len(keys) - len(records)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"journal": str(journal), "command": command}
    if config is not None:
        meta["config"] = config.summary()
        if missing:  # a partial run: say so at the top of the report
            meta["not run yet"] = (f"{missing} of the {len(keys)} cells this config plans "
                                   f"(rerun 'imputebench run' to complete them)")
        if config.published:
            meta["published"] = config.published
        if config.claims:   # checked in the report's Synthesis section
            meta["claims"] = [dict(c) for c in config.claims]
    else:
        _missing_from_plan(journal, records, meta)
    paths = render_report(records, out, title=title, meta=meta)
    copy = out / "journal.jsonl"
    if journal.resolve() != copy.resolve():
        with copy.open("w", encoding="utf-8") as fh:  # the journal the report came from
            import json

            for rec in sorted(records, key=lambda r: r["key"]):
                fh.write(json.dumps(rec, sort_keys=True) + "\n")
    print(f"report: {paths['markdown']} and {paths['html']}")


def _missing_from_plan(journal: Path, records: list[dict], meta: dict) -> None:
    """A journal whose run is unfinished (or still running): name the planned cells that have
    no record yet, from the plan the run wrote beside the journal."""
    import json

    from imputebench.benchmarks.runner import plan_path

    p = plan_path(journal)
    try:
        planned = json.loads(p.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    have = {r.get("key") for r in records}
    missing = [c["title"] for c in planned if c.get("key") not in have]
    if missing:
        meta["not run yet"] = (f"{len(missing)} of the {len(planned)} cells the run plans "
                               "(still running, or rerun 'imputebench run' to complete them)")
        meta["missing cells"] = missing


def _cmd_compare(args) -> int:
    from imputebench.benchmarks.journal import load_records
    from imputebench.benchmarks.report.comparison import compare_journals, write_comparison

    a, b = (Path(x) for x in args.compare)
    out = Path(args.out) if args.out else Path("reports") / "compare"
    comp = compare_journals(load_records(a), load_records(b), str(a), str(b))
    if not comp.cells:
        raise ImputebenchError(f"the journals {str(a)!r} and {str(b)!r} share no finished cell "
                               "with a metric value: nothing to compare")
    paths = write_comparison(comp, out)
    sig = [c for c in comp.changes if c.significant]
    print(f"{len(sig)} significant change(s) of {len(comp.changes)} (imputer, metric) pairs")
    print(f"comparison: {paths['markdown']} and {paths['html']}")
    return 0


def _cmd_report(args) -> int:
    if args.compare:
        return _cmd_compare(args)
    if not args.journal:
        raise ImputebenchError("report: give a journal, or --compare A B")
    journal = Path(args.journal)
    config = None
    if args.config:
        from imputebench.benchmarks.config import load_config

        config = load_config(args.config)
    out = Path(args.out) if args.out else (journal.parent if journal.suffix else journal)
    title = args.title or (config.title if config is not None and config.title else "")
    _render(journal if journal.suffix else journal / "journal.jsonl", out,
            title or "imputebench report", config, " ".join(["imputebench", *sys.argv[1:]]))
    return 0


def _cmd_list(args) -> int:
    from imputebench.datasets import available_datasets, available_mechanisms, get_dataset
    from imputebench.imputers import available_imputers, get_imputer_class
    from imputebench.metrics import available_metrics, get_metric

    what = args.what
    if what in ("imputers", "all"):
        print("imputers:")
        for n in available_imputers():
            doc = (get_imputer_class(n).__doc__ or "").strip().splitlines()
            print(f"  {n:22s} {doc[0] if doc else ''}")
    if what in ("metrics", "all"):
        print("metrics:")
        for n in available_metrics():
            m = get_metric(n)
            print(f"  {n:22s} [{m.goal.value}] {m.definition}")
    if what in ("datasets", "all"):
        print("datasets:")
        for n in available_datasets():
            cls = type(get_dataset(n))
            print(f"  {n:22s} [{cls.tier}] {cls.description}")
        print(f"  {'csv:PATH':22s} any CSV (or parquet:PATH) with inferred or declared kinds")
    if what in ("mechanisms", "all"):
        print("mechanisms:")
        print("  " + ", ".join(available_mechanisms()))
    return 0


def _cmd_check(args) -> int:
    from sklearn.base import clone

    from imputebench.imputers import get_imputer
    from imputebench.imputers.checks import run_checks

    imputer = get_imputer(args.name)
    imputer = clone(imputer).set_params(**type(imputer).fast_params)
    failures = 0
    for check, error in run_checks(imputer):
        print(f"{'PASS' if error is None else 'FAIL'}  {check}" + (f": {error}" if error else ""))
        failures += error is not None
    print(f"{args.name}: " + ("all checks passed" if not failures
                              else f"{failures} check(s) failed"))
    return 1 if failures else 0


def _cmd_datasets(args) -> int:
    from imputebench.datasets import get_dataset
    from imputebench.datasets.files import data_dir, fetch_file, file_status
    from imputebench.datasets.standard import standard_datasets

    if args.action == "info":
        if not args.names:
            raise ImputebenchError("datasets info needs a dataset name")
        for name in args.names:
            _print_card(get_dataset(name).card())
        return 0
    if args.action == "verify":
        classes = standard_datasets()
        if args.names:
            known = {c.name for c in classes}
            for n in args.names:
                get_dataset(n)  # unknown names: one clear error with the closest
                if n not in known:
                    raise ImputebenchError(f"dataset {n!r} is bundled, it has no file to verify")
            classes = [c for c in classes if c.name in args.names]
        root = data_dir()
        print(f"data directory: {root}")
        bad = 0
        seen: set[str] = set()
        for cls in classes:
            for f in cls.files:
                if f.path in seen:
                    continue
                seen.add(f.path)
                status = file_status(f, root)
                bad += status != "ok"
                print(f"  {status:22s} {f.path}" + ("" if status == "ok" else f"  <- {f.url}"))
        print(f"{len(seen)} file(s) of {len(classes)} dataset(s): "
              + ("all verified" if not bad else f"{bad} missing or corrupt"))
        return 1 if bad else 0
    # fetch
    names = args.names or [c.name for c in standard_datasets()]
    for name in names:
        ds = get_dataset(name)
        files = getattr(ds, "files", ())
        if not files:
            print(f"{name}: bundled, nothing to fetch")
            continue
        for f in files:
            path = fetch_file(f, download=True, force=args.force)
            print(f"{name}: {path} verified")
    return 0


def _print_card(card: dict) -> None:
    print(f"{card['name']} ({card['tier']})")
    print(f"  {card['description']}")
    if card["aliases"]:
        print(f"  known as: {', '.join(card['aliases'])}")
    print(f"  rows x columns: {card['rows']} x {card['columns']}")
    for kind, cols in sorted(card["columns_by_kind"].items()):
        shown = ", ".join(cols[:12]) + (f", ... ({len(cols)} in all)" if len(cols) > 12 else "")
        print(f"  {kind}: {shown}")
    print(f"  target: {card['target'] or 'none'} (kept out of imputation unless include_target)")
    print(f"  real missing: {card['real_missing_cells']} cells "
          f"({100 * card['real_missing_rate']:.2f} %)"
          + (f" in {card['missing_by_column']}" if card["missing_by_column"] else ""))
    for key in ("source", "licence", "citation"):
        if card[key]:
            print(f"  {key}: {card[key]}")
    for f in card["files"]:
        print(f"  file: {f['path']}  sha256 {f['sha256']}\n        {f['url']}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="imputebench", description="Benchmark tabular imputers.")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a benchmark config (resumes from its journal)")
    r.add_argument("config", help="a TOML file or the name of a shipped config (default, smoke)")
    r.add_argument("--executor", default="local",
                   help="local (worker processes) | inprocess | ray (a Ray cluster; the ray extra)")
    r.add_argument("--workers", type=int, default=None,
                   help="parallel cells (default: the config's; with ray: the cluster's CPUs)")
    r.add_argument("--address", default=None,
                   help="ray: the cluster to join ('auto', 'HOST:6379', 'ray://HOST:10001'); "
                        "default: a local Ray instance")
    r.add_argument("--retries", type=int, default=None,
                   help="ray: times a cell whose worker died is run again (default 2)")
    r.add_argument("--journal", help="journal path (default runs/<name>/journal.jsonl)")
    r.add_argument("--out", help="report folder (default reports/<name>)")
    r.add_argument("--fresh", action="store_true", help="discard the journal and start over")
    r.add_argument("--retry-failed", action="store_true", help="re-run failed and timed-out cells")
    r.add_argument("--no-report", action="store_true", help="do not render the report")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", help="render a report from a journal (never re-runs)")
    rep.add_argument("journal", nargs="?", help="journal.jsonl (or the folder holding it)")
    rep.add_argument("--compare", nargs=2, metavar=("A", "B"),
                     help="compare two journals cell by cell (B against A) instead")
    rep.add_argument("--out", help="report folder (default: the journal's folder)")
    rep.add_argument("--config", help="restrict to this config's cells and show it")
    rep.add_argument("--title")
    rep.set_defaults(func=_cmd_report)

    ls = sub.add_parser("list", help="list imputers, metrics, datasets or mechanisms")
    ls.add_argument("what", nargs="?", default="all",
                    choices=["all", "imputers", "metrics", "datasets", "mechanisms"])
    ls.set_defaults(func=_cmd_list)

    ds = sub.add_parser("datasets", help="fetch, verify or describe datasets")
    ds.add_argument("action", choices=["fetch", "verify", "info"])
    ds.add_argument("names", nargs="*", help="dataset names (default: every standard one)")
    ds.add_argument("--force", action="store_true", help="fetch: download again")
    ds.set_defaults(func=_cmd_datasets)

    ck = sub.add_parser("check", help="run the imputer contract on one imputer")
    ck.add_argument("name")
    ck.set_defaults(func=_cmd_check)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ImputebenchError as exc:
        print(f"imputebench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("imputebench: interrupted; finished cells are in the journal, rerun to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

