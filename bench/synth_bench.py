"""Benchmark the synthetic province generator at full scale and record the result.

    uv run python bench/synth_bench.py                 # 40,000 roster families (~100k roster persons), 13 months
    uv run python bench/synth_bench.py --households 2000 --months 13 --no-write-doc
    uv run python bench/synth_bench.py --catalog v1    # the catalog v1 layouts (default: v2)

Generates into a temporary directory (removed afterwards unless ``--keep``), reports wall seconds,
peak RSS, rows and bytes per feed, and writes docs/benchmarks/synth.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class PeakRSS:
    """Samples this process's RSS (psutil) every 50 ms; ``ru_maxrss`` is the kernel's own peak."""

    def __init__(self):
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=40_000)
    ap.add_argument("--months", type=int, default=13)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--start", default="2025-10")
    ap.add_argument("--catalog", default="v2", choices=("v1", "v2"),
                    help="the delivery catalog (v2: daily mem_disaster, cdpf/grid layout v2)")
    ap.add_argument("--keep", action="store_true", help="keep the generated province")
    ap.add_argument("--no-write-doc", action="store_true")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "benchmarks" / "synth.md")
    args = ap.parse_args(argv)

    import numpy as np
    import pyarrow as pa

    from pipelines.synth import generate

    tmp = Path(tempfile.mkdtemp(prefix="synth_bench_"))
    try:
        with PeakRSS() as rss:
            t0 = time.perf_counter()
            result = generate(out=tmp / "province", households=args.households, months=args.months,
                              seed=args.seed, start=args.start, catalog=args.catalog)
            seconds = time.perf_counter() - t0
        maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sampled_mb = rss.peak / 2**20
        truth_rows = sum(a + b for a, b in result.truth_counts.values())
        required = sum(a for a, _ in result.truth_counts.values())
        lines = [
            "# Synthetic province generator — benchmark",
            "",
            f"`uv run python bench/synth_bench.py --households {args.households} --months {args.months} "
            f"--seed {args.seed} --catalog {args.catalog}` (run {dt.date.today().isoformat()}).",
            "",
            f"Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}, numpy {np.__version__}, "
            f"pyarrow {pa.__version__}, {platform.system()} {platform.machine()}.",
            "",
            "| measure | value |",
            "| --- | --- |",
            f"| roster families (`households`) | {result.households:,} |",
            f"| roster persons | {result.roster_persons:,} |",
            f"| other hukou households | {result.hukou_households:,} |",
            f"| residents in all | {result.persons:,} |",
            f"| months | {result.months} (from {result.start}) |",
            f"| **wall time** | **{seconds:.1f} s** |",
            f"| phases | " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()) + " |",
            f"| **peak RSS** | **{maxrss_mb:,.0f} MB** (ru_maxrss; psutil sampling {sampled_mb:,.0f} MB) |",
            f"| delivery folders | {sum(result.deliveries.values()):,} |",
            f"| bytes written | {sum(result.bytes.values()) / 1e6:,.1f} MB |",
            f"| truth rows | {truth_rows:,} ({required:,} required) |",
            f"| events | {sum(result.events.values()):,} |",
            f"| nights | {len(result.nights)} |",
            f"| self-check issues | {len(result.issues)} |",
            f"| truth_income.parquet | {result.truth_income.stat().st_size / 1e6:,.1f} MB |",
            "",
            "Income coverage and today's income rules on hidden income (the generator's summary):",
            "",
            "```",
            *[x.strip() for x in result.income_lines()],
            "```",
            "",
            "Rows per feed count the valid deliveries only (corrupt and unfinished folders excluded;",
            "a re-delivered period counts twice).",
            "",
            "| feed | deliveries | rows | MB |",
            "| --- | ---: | ---: | ---: |",
        ]
        for feed in sorted(result.bytes):
            lines.append(f"| {feed} | {result.deliveries.get(feed, 0)} | {result.rows.get(feed, 0):,} | "
                         f"{result.bytes[feed] / 1e6:,.1f} |")
        lines += ["", "Events injected: " + ", ".join(f"{k} {v}" for k, v in sorted(result.events.items())) + ".",
                  "",
                  "Scale: `households` = roster families; about 2.5 roster persons per family, and twice as many",
                  "persons again in non-roster hukou households (about 3 persons each). `households=40000` gives",
                  "~100,000 roster persons and ~300,000 residents.", ""]
        report = "\n".join(lines)
        print(report)
        if not args.no_write_doc:
            args.doc.parent.mkdir(parents=True, exist_ok=True)
            args.doc.write_text(report, encoding="utf-8")
            print(f"written {args.doc}")
        if args.keep:
            print(f"kept {tmp / 'province'}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
