"""The ``lowincome`` console script. Heavy imports happen inside each command."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _settings(args, **extra):
    from pipelines.config import load_settings

    return load_settings(
        config_file=getattr(args, "config", None),
        landing=getattr(args, "landing", None),
        warehouse=getattr(args, "warehouse", None),
        outbox=getattr(args, "outbox", None),
        feedback=getattr(args, "feedback", None),
        **extra,
    )


def cmd_synth(args) -> int:
    from pipelines.synth import generate

    result = generate(out=args.out, households=args.households, months=args.months,
                      seed=args.seed, start=args.start)
    print(result.summary())
    return 0


def cmd_ingest(args) -> int:
    from pipelines.ingest import ingest, print_summary
    from pipelines.nightly import preflight

    settings = _settings(args)
    preflight(settings, skip=("analyst",))
    summary = ingest(settings, as_of=args.as_of)
    print_summary(summary)
    return 0


def cmd_run(args) -> int:
    from pipelines.dates import today
    from pipelines.nightly import run_night

    settings = _settings(args)
    summary = run_night(settings, as_of=args.as_of or today(), skip=tuple(args.skip or ()))
    print(summary.render())
    return 0


def cmd_demo(args) -> int:
    from pipelines.demo import demo

    return demo(out=args.out, households=args.households, months=args.months, seed=args.seed)


def cmd_query(args) -> int:
    from pipelines.analyst import query_cli

    settings = _settings(args)
    return query_cli(settings, args.sql, csv=args.csv, database=args.database)


def cmd_dictionary(args) -> int:
    from pipelines.analyst.dictionary import dictionary_cli

    if args.doc is None:
        return dictionary_cli(database=args.database, examples=args.examples, note=args.note)
    return dictionary_cli(doc=args.doc, database=args.database, examples=args.examples, note=args.note)


def cmd_release(args) -> int:
    import getpass

    from pipelines.ingest import release_delivery

    settings = _settings(args)
    who = args.by or getpass.getuser()
    done = release_delivery(settings, args.delivery_id, actor=who, note=args.note)
    print(f"released {done['delivery_id']} ({done['feed_id']} {done['period']}) by {who}; it was held because: "
          f"{done['held_reason']}\nthe next night loads it (lowincome run); recorded in ops.audit_log")
    return 0


def cmd_report(args) -> int:
    from pipelines.dates import today
    from pipelines.nightly import run_stage

    settings = _settings(args)
    print(run_stage(settings, "report", as_of=args.as_of or today()))
    return 0


def cmd_model_train(args) -> int:
    from pipelines.learning.train import train_models

    settings = _settings(args, model_dir=args.model_dir)
    outcomes = train_models(settings, [args.model] if args.model else None, seed=args.seed)
    print()
    for o in outcomes:
        print(o.render())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lowincome", description="低收入人口动态监测 — low-income population dynamic monitoring")
    p.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("synth", help="write a synthetic province's landing zone and ground truth")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--households", type=int, default=2000, help="roster families (non-roster households are added)")
    s.add_argument("--months", type=int, default=13)
    s.add_argument("--seed", type=int, default=20261)
    s.add_argument("--start", default="2025-10", help="first data month YYYY-MM")
    s.set_defaults(func=cmd_synth)

    def common(sp, *, outbox=False, feedback=False):
        sp.add_argument("--landing", type=Path)
        sp.add_argument("--warehouse", type=Path)
        if outbox:
            sp.add_argument("--outbox", type=Path)
        if feedback:
            sp.add_argument("--feedback", type=Path)
        sp.add_argument("--config", type=Path, help="TOML: [settings] and indicator overrides")
        sp.add_argument("--as-of", type=_date, default=None, help="the night's date (default: today)")

    s = sub.add_parser("ingest", help="discover, validate and load deliveries into the warehouse")
    common(s)
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("run", help="one night: ingest, indicators, cases, feedback, extracts, analyst DB, report")
    common(s, outbox=True, feedback=True)
    s.add_argument("--skip", action="append", choices=["ingest", "core", "eligibility", "indicators", "cases",
                                                       "feedback", "triage", "extracts", "analyst", "report"],
                   help="leave a stage out (repeatable), e.g. --skip analyst when no pseudonymisation key is set up")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("demo", help="synthesise a small province and run every night over it")
    s.add_argument("--out", type=Path, default=Path("demo_out"))
    s.add_argument("--households", type=int, default=1500)
    s.add_argument("--months", type=int, default=13)
    s.add_argument("--seed", type=int, default=20261)
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("query", help="read-only SQL against the analyst database")
    s.add_argument("sql")
    s.add_argument("--warehouse", type=Path)
    s.add_argument("--database", type=Path, help="analyst database (default: analyst.duckdb beside the warehouse)")
    s.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    s.add_argument("--config", type=Path)
    s.set_defaults(func=cmd_query)

    s = sub.add_parser("dictionary", help="regenerate the analyst data dictionary (docs/analyst.md) from the SQL")
    s.add_argument("--doc", type=Path, default=None, help="the Markdown file to update (default: docs/analyst.md)")
    s.add_argument("--database", type=Path,
                   help="take the schema from this analyst database (default: an empty one built from this checkout)")
    s.add_argument("--examples", action="store_true",
                   help="also run the worked examples on --database and record their output")
    s.add_argument("--note", help="the sentence above the examples' output (with --examples)")
    s.set_defaults(func=cmd_dictionary)

    s = sub.add_parser("release", help="release a delivery held for a person's decision (the next night loads it)")
    s.add_argument("delivery_id", help="<feed_id>/<YYYY-MM-DD>, as the report and ops.deliveries name it")
    s.add_argument("--warehouse", type=Path)
    s.add_argument("--config", type=Path)
    s.add_argument("--by", help="who releases it (default: the login name); recorded in ops.audit_log")
    s.add_argument("--note", help="why it is released, for the audit log")
    s.set_defaults(func=cmd_release)

    s = sub.add_parser("model", help="the learned models: eligibility estimate and case triage")
    msub = s.add_subparsers(dest="model_command", required=True)
    t = msub.add_parser("train", help="train on the warehouse; write the artifacts and model cards")
    t.add_argument("--model", choices=["eligibility", "triage"], help="only this model (default: both)")
    t.add_argument("--warehouse", type=Path)
    t.add_argument("--model-dir", type=Path, help="where artifacts and cards go (default: <work>/models)")
    t.add_argument("--seed", type=int, help="override the seed of models/<model>/model.toml")
    t.add_argument("--config", type=Path, help="TOML: [settings]")
    t.set_defaults(func=cmd_model_train)

    s = sub.add_parser("report", help="write the nightly HTML report")
    common(s, outbox=True)
    s.set_defaults(func=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command. An error the data team can fix (configuration, environment, a locked
    warehouse) prints one line saying what to do and exits non-zero; ``--debug`` shows the traceback."""
    args = build_parser().parse_args(argv)
    from pipelines.config import ConfigError
    from pipelines.warehouse import WarehouseLocked

    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 -- every error ends as one line unless --debug
        if args.debug:
            raise
        if isinstance(e, WarehouseLocked):
            code, message = 3, str(e)
        elif isinstance(e, ConfigError):
            code, message = 2, str(e)
        elif isinstance(e, (FileNotFoundError, NotADirectoryError, PermissionError)):
            code, message = 2, f"{e.strerror or e}: {e.filename}" if e.filename else str(e)
        else:
            code, message = 1, f"unexpected error {type(e).__name__}: {e} (run with --debug for the traceback)"
        print(f"lowincome {args.command}: {message}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
