"""Bad input never crashes the night: property-based tests feed every reader in
``pipelines.feeds.FEEDS`` malformed deliveries and check the outcome the rules say is right.

Two levels:

- ``test_night_survives_bad_deliveries``: one hypothesis example = one whole ``ingest()`` night in
  which **every feed** gets one bad delivery (the fault class rotates per feed, so each
  parametrised rotation gives every feed a different class and the rotations together give every
  feed every class), plus good deliveries of two other feeds. Each bad delivery must end as the
  rules in docs/feeds.md and expectations/*.json say:

  ========================  =====================================================================
  fault                     outcome
  ========================  =====================================================================
  truncated                 rejected ``checksum`` (file, field ``sha256``); if the manifest was
                            re-hashed over the cut file: rejected naming the file, or loaded with
                            exactly the manifest's row count (a cut that only dropped the last
                            newline is still the whole file)
  encoding                  UTF-8 / UTF-8 with BOM everywhere, GB18030 too for HRSS (documented
                            switch) -> loaded; anything else (GB18030 in a UTF-8 feed, UTF-16)
                            -> rejected naming the file (and row + field of the first bad value)
  columns                   dropped / renamed / duplicated column -> rejected ``columns`` naming
                            the column; an added (unannounced) column -> loaded with an
                            ``extra_column`` warning naming it (the column is ignored)
  text_in_typed             text in a numeric/date/boolean field -> rejected ``parse`` (row, field)
  empty                     0 bytes -> rejected (JSON lines: no objects = loaded, 0 rows); header
                            only -> rejected for snapshot feeds (suite: row count >= 1), loaded
                            with 0 rows for event feeds (a month without events)
  huge                      a number beyond the staging type -> rejected ``parse``; a very long
                            value in a checked key column -> rejected (row, field)
  implausible               above a suite's warning bound but representable -> loaded with a
                            warning naming row and field
  nul                       NUL / C0 control character in a value -> rejected
                            ``control_character`` (row, field)
  duplicate_key             per suite: critical unique (settle_id, event_id, visit_id, HRSS
                            person, roster family+person, region code, standard key) -> rejected;
                            warning unique -> loaded with a warning; samr_business and
                            mps_vehicles have no documented key: an exact duplicate loads
  dates                     outside the impossible bounds -> rejected; outside the period but
                            possible (late reporting) -> loaded with a warning
  manifest_lies             rows / sha256 / bytes / missing or unsafe file names / feed_id /
                            period / not JSON / no files / listed twice -> rejected naming the
                            manifest field
  ========================  =====================================================================

  A feed whose delivery holds several files (``mca_econ_checks``: checks + check members) gets the
  fault in its first file and a good, consistent companion file for each other part.

  and for every bad delivery: no ``internal_error`` (an exception caught by the safety net would be
  retried every night), its files untouched, nothing of it in ``raw``/``staging``, a rejection report
  written; the good deliveries of the same night load.

- ``test_reader_survives_byte_damage``: many cheap examples per feed straight at the reader and the
  typing SQL (byte flips, cuts, insertions): either a ``FeedFormatError`` naming the file or a
  string table that types without an exception.

Counts: run with ``-s`` to see the number of cases tried per feed and fault class.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

import ingest_fixtures as fx
from pipelines.config import Settings
from pipelines.feeds import FEEDS, FeedFormatError
from pipelines.ingest import ingest, type_batch
from pipelines.validate import load_suite_json

P = "2026-01"            # period of every bad delivery
REF_P = "2026-02"        # bad reference deliveries apply from February: January's region list stays in force
DAY = "2026-02-03"       # folder date of every bad delivery
NIGHT = dt.date(2026, 2, 4)
PERIOD_START, PERIOD_END = dt.date(2026, 1, 1), dt.date(2026, 1, 31)
LOOKBACK_START = PERIOD_START - dt.timedelta(days=366)
DELIVERY_DATE = dt.date.fromisoformat(DAY)
COMPANIONS = ("mps_vehicles", "bank_deposits")  # good deliveries (period 2025-12) in every night

# One fault per delivery, most found before Great Expectations runs (cheap): rotated over the feeds.
FAULTS = ("truncated", "encoding", "columns", "text_in_typed", "empty", "huge", "nul", "manifest_lies")
# Found by the GX suites (~0.5 s per delivery validated): combined per delivery, in distinct rows, one
# delivery with the critical variants and one with the warning-level ones, each fault named on its own.
GX_FAULTS = ("duplicate_key", "dates", "implausible")
ALL_FAULTS = FAULTS + GX_FAULTS
# Bounded example counts (the suite's time budget); raise them for a deeper run, e.g.
# FUZZ_NIGHTS=10 FUZZ_GX_NIGHTS=5 FUZZ_READER_EXAMPLES=500 uv run pytest tests/test_fuzz_readers.py -s
NIGHTS_PER_ROTATION = int(os.environ.get("FUZZ_NIGHTS", 2))   # examples per rotation (1 night, 15 feeds x 2)
GX_NIGHTS = int(os.environ.get("FUZZ_GX_NIGHTS", 1))          # examples of the GX-level night (~28 deliveries)
READER_EXAMPLES = int(os.environ.get("FUZZ_READER_EXAMPLES", 60))  # per feed, byte damage at the reader

# database=None keeps no example database; Hypothesis still caches constants and Unicode tables in its
# home directory, which would be ./.hypothesis in the repo: keep that in the system temp dir instead.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "lowincome-hypothesis")

SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

# A night costs seconds: report the failing example as drawn (its notes name every plan) instead of
# shrinking it for minutes.
NIGHT_SETTINGS = dict(SETTINGS, phases=(Phase.explicit, Phase.reuse, Phase.generate))

TRIED: collections.Counter = collections.Counter()         # (feed, fault) -> cases through ingest()
READER_TRIED: collections.Counter = collections.Counter()  # feed -> cases straight at the reader


# --- one delivery as a table of department headers and values ----------------------------------

def _ext(spec) -> str:
    return {"csv": "csv", "parquet": "parquet", "xlsx": "xlsx", "jsonl": "jsonl"}[spec.file_format]


def _native_encoding(feed_id: str) -> str:
    return "gb18030" if feed_id == "hrss_employment" else "utf-8"


N_ROWS = 6


def base_rows(feed_id: str, period: str) -> list[dict]:
    n = N_ROWS
    if feed_id == "mca_econ_checks":
        return fx.econ_check_rows(period, n=n)[0]
    if feed_id == "ref_standards":
        return [{"city_code": city, "year": period[:4], "urban_rural": ur, "dibao_monthly_yuan": "1300",
                 "tekun_monthly_yuan": "1950"} for city in ("4401", "4402", "4403") for ur in ("urban", "rural")]
    return {"mca_roster": lambda: fx.roster_rows(period, n=n),
            "hrss_employment": lambda: fx.hrss_rows(period, n=n),
            "nhsa_claims": lambda: fx.nhsa_rows(period, n=n),
            "cdpf_disability": lambda: fx.cdpf_rows(n=n),
            "mem_disaster": lambda: fx.disaster_rows(period, n=n)}.get(
        feed_id, lambda: fx.feed_rows(feed_id, period, n=n))()


@dataclass
class Sheet:
    """What a department wrote: header names as delivered, one list of values per data row."""

    feed_id: str
    header: list[str]
    records: list[list]
    encoding: str = "utf-8"
    nul_cell: tuple[int, int, str] | None = None   # xlsx only: (record, column, char) patched into the XML
    columns: list[str] = field(default_factory=list)  # English raw names of the layout, as first written

    @classmethod
    def of(cls, feed_id: str, period: str) -> "Sheet":
        spec = FEEDS[feed_id]
        cols = list(spec.layout_for(period).columns)  # the layout the period calls for
        rows = base_rows(feed_id, period)
        return cls(feed_id, [spec.header_of(c) for c in cols], [[r.get(c) for c in cols] for r in rows],
                   _native_encoding(feed_id), columns=cols)

    def col(self, raw_column: str) -> int:
        return self.header.index(FEEDS[self.feed_id].header_of(raw_column))

    def companions(self, period: str) -> dict[str, tuple[bytes, int]]:
        """Good files of the feed's other parts, consistent with this sheet's records (the check
        members of the checks as they now are: ``household_size`` members per check_id)."""
        if self.feed_id != "mca_econ_checks" or "check_id" not in self.header:
            return {} if self.feed_id != "mca_econ_checks" else _members_file(period, [])
        j, k = self.col("check_id"), (self.col("household_size") if "household_size" in self.header else None)
        members, seen = [], set()
        for r in self.records:
            cid = r[j] if j < len(r) else None
            if not isinstance(cid, str) or cid in seen:
                continue
            seen.add(cid)
            try:
                size = min(max(int(r[k]), 1), 50) if k is not None else 1
            except (TypeError, ValueError):
                size = 1
            members += [{"check_id": cid, "person_id": fx.person_id(500 + 7 * len(members) + m)} for m in range(size)]
        return _members_file(period, members)

    def to_bytes(self) -> bytes:
        fmt = FEEDS[self.feed_id].file_format
        if fmt == "csv":
            return fx.csv_bytes(self.header, self.records, encoding=self.encoding)
        if fmt == "jsonl":
            return "".join(json.dumps(dict(zip(self.header, r)), ensure_ascii=False) + "\n"
                           for r in self.records).encode("utf-8")
        if fmt == "parquet":
            return _parquet_bytes(self.header, self.records)
        return _xlsx_bytes(self)


_PARQUET_TYPES = {"settle_date": pa.date32(), "catastrophic": pa.bool_(), "total_fen": pa.int64(),
                  "fund_fen": pa.int64(), "critical_illness_fen": pa.int64(), "medical_aid_fen": pa.int64(),
                  "oop_fen": pa.int64()}


def _members_file(period: str, members: list[dict]) -> dict[str, tuple[bytes, int]]:
    name = f"check_members_{period.replace('-', '')}.csv"
    return {name: (fx.csv_bytes(["check_id", "person_id"], [[m["check_id"], m["person_id"]] for m in members], bom=True),
                   len(members))}


def file_name(feed_id: str, period: str) -> str:
    """The delivered file's name: the feed's first part decides it where the parts go by name."""
    spec = FEEDS[feed_id]
    if feed_id == "mca_econ_checks":
        return f"checks_{period.replace('-', '')}.csv"
    return f"{feed_id}_{period.replace('-', '')}.{_ext(spec)}"


def _parquet_bytes(header: list[str], records: list[list]) -> bytes:
    arrays = []
    for j, name in enumerate(header):
        values = [r[j] for r in records]
        try:
            arr = pa.array(values, _PARQUET_TYPES.get(name, pa.string()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            # the export wrote this column as text (a type change is one of the faults)
            arr = pa.array([None if v is None else str(v) for v in values], pa.string())
        arrays.append(arr)
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(arrays, names=header), buf)
    return buf.getvalue()


NUL_TOKEN = "QQNULQQ"


def _xlsx_bytes(sheet: Sheet) -> bytes:
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(sheet.header)
    for i, r in enumerate(sheet.records):
        out = []
        for j, v in enumerate(r):
            if sheet.nul_cell and sheet.nul_cell[:2] == (i, j):
                v = f"{v or ''}{NUL_TOKEN}"
            elif isinstance(v, str) and j < len(sheet.header) and sheet.header[j] == "发证日期":
                try:
                    v = dt.datetime.fromisoformat(v)  # a real date cell, as the department's Excel has
                except ValueError:
                    pass
            out.append(v)
        ws.append(out)
    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if not sheet.nul_cell:
        return data
    # openpyxl refuses control characters; a damaged export has them in the sheet XML anyway
    src, dst = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            z.writestr(item, src.read(item).replace(NUL_TOKEN.encode(), sheet.nul_cell[2].encode()))
    return dst.getvalue()


# --- expectations --------------------------------------------------------------------------------

@dataclass
class Expect:
    """The outcome a fault must have. For ``rejected`` an error, for ``loaded`` with ``warn`` a
    warning, must match every given attribute; ``either`` = rejected naming ``file`` or loaded
    with exactly the manifest's row count."""

    status: str
    file: str | None = None
    rows: set | None = None          # acceptable 1-based row numbers (None = row not meaningful)
    fields: set | None = None
    checks: set | None = None
    warn: bool = False
    loaded_rows: int | None = None
    why: str = ""

    def matches(self, rec: dict) -> bool:
        return ((self.file is None or rec.get("file") == self.file)
                and (self.rows is None or rec.get("row") in self.rows)
                and (self.fields is None or rec.get("field") in self.fields)
                and (self.checks is None or rec.get("check") in self.checks))


@dataclass
class Plan:
    feed_id: str
    fault: str
    name: str
    data: bytes
    rows: int
    expect: Expect
    manifest: dict | None = None         # replaces the manifest (dict) ...
    manifest_bytes: bytes | None = None  # ... or its raw bytes
    file_patch: dict = field(default_factory=dict)
    manifest_patch: dict = field(default_factory=dict)
    cut_to: bytes | None = None          # write these bytes after the manifest (truncated in transit)
    also: list = field(default_factory=list)  # further records (Expect) that must each be present
    day: str = DAY                       # folder date
    extra: dict = field(default_factory=dict)  # good files of the feed's other parts: name -> (bytes, rows)

    @property
    def extra_rows(self) -> int:
        return sum(rows for _, rows in self.extra.values())


def _suite(feed_id: str) -> list[dict]:
    return load_suite_json(feed_id)["expectations"]


def needs_rows(feed_id: str) -> bool:
    return any(e["type"] == "expect_table_row_count_to_be_between" and e["meta"].get("severity") == "critical"
               and (e["kwargs"].get("min_value") or 0) >= 1 for e in _suite(feed_id))


def unique_rule(feed_id: str) -> str | None:
    """Severity of the suite's uniqueness rule over its key, or None (no documented key)."""
    sev = [e["meta"].get("severity") for e in _suite(feed_id)
           if e["type"] in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")]
    return "critical" if "critical" in sev else ("warning" if sev else None)


def warn_bounds(feed_id: str) -> list[tuple[str, float]]:
    """(staging field, max) of warning-level range checks on fields parsed from one raw column."""
    parsed = {f.name for f in FEEDS[feed_id].fields if f.source}
    out = []
    for e in _suite(feed_id):
        kw = e["kwargs"]
        if (e["type"] == "expect_column_values_to_be_between" and e["meta"].get("severity") == "warning"
                and kw.get("column") in parsed and isinstance(kw.get("max_value"), (int, float))):
            out.append((kw["column"], kw["max_value"]))
    return out


def _field(feed_id: str, name: str):
    return next(f for f in FEEDS[feed_id].fields if f.name == name)


def _names(feed_id: str, raw_column: str) -> set:
    """Every way an error may name a raw column: English raw name, delivered header, staging fields."""
    spec = FEEDS[feed_id]
    out = {raw_column, spec.header_of(raw_column)}
    out |= {f.name for f in spec.fields if f.source == raw_column or f.name == raw_column}
    return out


KEY_COLUMN = {"grid_visits": "family_id", "ref_regions": "region_code", "ref_standards": "city_code",
              "mca_econ_checks": "applicant_id", "moa_relapse_watch": "head_person_id"}
NUMERIC = ("decimal", "integer")

# (raw column, format, critical ranges, warning ranges); ranges are (first, last) dates
_FAR_PAST = (dt.date(1901, 1, 1), LOOKBACK_START - dt.timedelta(days=1))
_FUTURE = (DELIVERY_DATE + dt.timedelta(days=1), dt.date(2099, 12, 31))
_NEAR = (LOOKBACK_START + dt.timedelta(days=1), PERIOD_START - dt.timedelta(days=1))
DATES = {
    "mca_roster": ("birth_date", "iso", [_FUTURE], [("enrolled_date", "iso", (PERIOD_END + dt.timedelta(days=1),
                                                                              dt.date(2099, 12, 31)))]),
    "hrss_employment": ("month", "yyyymm", [(dt.date(1990, 1, 1), dt.date(2025, 12, 31)),
                                            (dt.date(2026, 2, 1), dt.date(2099, 12, 1))], []),
    "nhsa_claims": ("settle_date", "date", [_FAR_PAST, _FUTURE], [("settle_date", "date", _NEAR)]),
    "moe_students": ("term", "term", [(dt.date(2000, 1, 1), dt.date(2025, 12, 31)),
                                      (dt.date(2026, 8, 1), dt.date(2099, 12, 31))], []),
    "mohurd_housing": ("as_of", "iso", [_FAR_PAST, _FUTURE], [("as_of", "iso", _NEAR)]),
    "samr_business": ("event_date", "iso", [_FAR_PAST, _FUTURE], [("event_date", "iso", _NEAR)]),
    "mps_hukou_events": ("event_date", "ymd", [_FAR_PAST, _FUTURE], [("event_date", "ymd", _NEAR)]),
    "mps_hukou_members": ("as_of", "ymd", [_FAR_PAST, _FUTURE], [("as_of", "ymd", _NEAR)]),
    "mps_vehicles": ("event_date", "iso", [_FAR_PAST, _FUTURE], [("event_date", "iso", _NEAR)]),
    "cdpf_disability": ("issued_on", "iso", [_FUTURE], [("issued_on", "iso", (dt.date(1901, 1, 1),
                                                                              dt.date(1979, 12, 31)))]),
    "mem_disaster": ("occurred_on", "iso", [_FAR_PAST, _FUTURE], [("occurred_on", "iso", _NEAR)]),
    "bank_deposits": ("as_of", "iso", [_FAR_PAST, _FUTURE], [("as_of", "iso", _NEAR)]),
    "grid_visits": ("visit_date", "iso", [_FAR_PAST, _FUTURE], [("visit_date", "iso", _NEAR)]),
    "mca_econ_checks": ("check_date", "iso", [_FAR_PAST, _FUTURE], [("check_date", "iso", _NEAR)]),
    "moa_relapse_watch": ("identified_on", "iso", [(dt.date(1901, 1, 1), dt.date(1999, 12, 31)), _FUTURE], []),
    "ref_standards": ("year", "year", [(dt.date(1900, 1, 1), dt.date(1999, 12, 31))], []),
}


def _fmt_date(d: dt.date, fmt: str):
    return {"iso": d.isoformat(), "ymd": d.strftime("%Y%m%d"), "yyyymm": d.strftime("%Y%m"), "date": d,
            "term": f"{d.year}-{1 if d.month <= 7 else 2}", "year": str(d.year)}[fmt]


def applicable(feed_id: str, fault: str) -> bool:
    spec = FEEDS[feed_id]
    if fault == "encoding":
        return spec.file_format in ("csv", "jsonl")
    if fault == "implausible":
        return bool(warn_bounds(feed_id))
    if fault == "dates":
        return feed_id in DATES
    return True


NOT_APPLICABLE = {
    ("nhsa_claims", "encoding"): "Parquet: strings are UTF-8 by the format's definition",
    ("cdpf_disability", "encoding"): "XLSX: the zip/XML container fixes the encoding",
    ("ref_regions", "dates"): "no date column",
}


# --- building one faulty delivery ---------------------------------------------------------------

_TEXT = st.text(alphabet="abcdefxyzABC中文错误值 -", min_size=0, max_size=12)


# Two bad deliveries per feed and night, in different periods (two loaded ones of one period would
# supersede each other): (period, folder date, period of the reference feeds).
SLOTS = ((P, DAY, REF_P), ("2025-12", "2026-02-01", "2026-03"))
COMPANION_PERIOD, COMPANION_DAY = "2025-11", "2026-01-06"


def plan_fault(draw, feed_id: str, fault: str, slot: int = 0) -> Plan:
    spec = FEEDS[feed_id]
    period_, day, ref_period = SLOTS[slot]
    period = ref_period if spec.is_reference else period_
    sheet = Sheet.of(feed_id, period)
    name = file_name(feed_id, period)
    n = len(sheet.records)
    row = draw(st.integers(0, n - 1))

    def done(expect: Expect, data: bytes | None = None, rows: int | None = None, **kw) -> Plan:
        data = sheet.to_bytes() if data is None else data
        return Plan(feed_id, fault, name, data, n if rows is None else rows, expect, day=day,
                    extra=sheet.companions(period), **kw)

    if fault == "truncated":
        good = sheet.to_bytes()
        cut = good[:draw(st.integers(0, len(good) - 1))]
        if draw(st.booleans()):
            # the manifest was computed over the cut file (the department's export itself was cut short)
            return done(Expect("either", file=name, loaded_rows=n, why="re-hashed cut file"), data=cut)
        return done(Expect("rejected", file=name, fields={"sha256"}, checks={"checksum"}), data=good, cut_to=cut)

    if fault == "encoding":
        native = sheet.to_bytes()
        text = native.decode(sheet.encoding if spec.file_format == "csv" else "utf-8")
        target = draw(st.sampled_from(["gb18030", "utf-8", "utf-8-sig", "utf-16", "utf-16-be"]))
        data = text.encode(target)
        accepted = {"utf-8", "utf-8-sig"} | ({"gb18030"} if feed_id == "hrss_employment" else set())
        if data == native or target in accepted:
            return done(Expect("loaded", loaded_rows=n, why=f"{target} is accepted"), data=data)
        exp = Expect("rejected", file=name, why=f"{target} is not {sorted(accepted)}")
        if any(not h.isascii() for h in sheet.header) and spec.file_format == "csv":
            # Chinese headers that are not UTF-8: the header line itself cannot be read
            exp = Expect("rejected", file=name, checks={"encoding"}, why=f"{target} header")
        elif target == "gb18030" and spec.file_format == "csv":
            # the first value that is not UTF-8 is named with its row and column
            first = next(((i, j) for i, r in enumerate(sheet.records) for j, v in enumerate(r)
                          if isinstance(v, str) and not v.isascii()), None)
            if first:
                raw_col = sheet.columns[first[1]]
                exp = Expect("rejected", file=name, rows={first[0] + 1}, fields=_names(feed_id, raw_col),
                             checks={"parse"})
        return done(exp, data=data)

    if fault == "columns":
        ops = ["add", "drop", "rename"] + (["duplicate"] if spec.file_format != "jsonl" else [])
        op = draw(st.sampled_from(ops))
        j = draw(st.integers(0, len(sheet.header) - 1))
        taken = set(sheet.header) | set(spec.raw_columns) | {spec.header_of(c) for c in spec.raw_columns}
        new = draw(st.text(alphabet="abxyz_019工资备注列", min_size=1, max_size=10).filter(lambda x: x not in taken))
        old = sheet.header[j]
        if op == "add":
            # an unannounced column: loads, ignored, with a warning naming it
            sheet.header.insert(j, new)
            for r in sheet.records:
                r.insert(j, draw(_TEXT))
            return done(Expect("loaded", file=name, fields={new}, checks={"extra_column"}, warn=True, loaded_rows=n,
                               why="unannounced column"))
        if op == "drop":
            del sheet.header[j]
            for r in sheet.records:
                del r[j]
            names = _names(feed_id, sheet.columns[j]) | {old}
        elif op == "rename":
            sheet.header[j] = new
            names = _names(feed_id, sheet.columns[j]) | {old, new}
        else:
            sheet.header.append(old)
            for r in sheet.records:
                r.append(r[j])
            names = _names(feed_id, sheet.columns[j]) | {old}
        return done(Expect("rejected", file=name, fields=names, checks={"columns", "parse"}, why=op))

    if fault == "text_in_typed":
        parsed = [f for f in spec.fields if f.source in sheet.columns]  # parsed fields of the period's layout
        if not parsed:  # ref_regions: all text; a code column has a format rule instead
            j = sheet.col("region_code")
            sheet.records[row][j] = "x" + draw(_TEXT)
            return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, "region_code")))
        f = draw(st.sampled_from(parsed))
        sheet.records[row][sheet.col(f.source)] = "x" + draw(_TEXT)
        return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, f.source),
                           checks={"parse"}))

    if fault == "empty":
        if draw(st.booleans()) or spec.file_format == "jsonl":
            if spec.file_format == "jsonl":
                return done(Expect("loaded", loaded_rows=0, why="JSON lines without objects: no events"),
                            data=b"", rows=0)
            return done(Expect("rejected", file=name), data=b"", rows=0)
        sheet.records = []
        if needs_rows(feed_id):
            return done(Expect("rejected", file=name, checks={"row_count"}), rows=0)
        return done(Expect("loaded", loaded_rows=0, why="an event feed may have no events"), rows=0)

    if fault == "huge":
        numeric = [f for f in spec.fields if f.source in sheet.columns and f.type.startswith(NUMERIC)]
        if numeric and draw(st.booleans()):
            f = draw(st.sampled_from(numeric))
            value = draw(st.one_of(
                st.integers(16, 400).map(lambda k: "9" * k),
                st.integers(16, 300).map(lambda k: "-1" + "0" * k + ".5"),
                st.sampled_from(["1e308", "1e999", "-1e400", "inf", "NaN"])))
            sheet.records[row][sheet.col(f.source)] = value
            return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, f.source),
                               checks={"parse"}, why=f"huge {value[:20]}"))
        col = KEY_COLUMN.get(feed_id, "person_id")
        value = draw(st.sampled_from(["4", "X", "中", "a"])) * draw(st.integers(19, 30_000))
        sheet.records[row][sheet.col(col)] = value
        return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, col),
                           why=f"long value ({len(value)} chars)"))

    if fault == "nul":
        j = draw(st.integers(0, len(sheet.header) - 1))
        ch = draw(st.sampled_from(["\x00", "\x01", "\x0b", "\x1b", "\x1f"]))
        raw_col = sheet.columns[j]
        if spec.file_format == "xlsx":
            sheet.nul_cell = (row, j, ch)  # appended to the cell's text
            if ch.isspace():  # VT, US: trailing whitespace of a cell is trimmed; the clean value loads
                return done(Expect("loaded", loaded_rows=n, why=f"{ch!r} trimmed as whitespace"))
            return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, raw_col),
                               checks={"control_character"}, why="control character in the sheet XML"))
        v = sheet.records[row][j]
        v = "" if v is None else (v.isoformat() if hasattr(v, "isoformat") else str(v))
        k = draw(st.integers(0, len(v)))
        sheet.records[row][j] = v[:k] + ch + v[k:]
        return done(Expect("rejected", file=name, rows={row + 1}, fields=_names(feed_id, raw_col),
                           checks={"control_character"}))

    assert fault == "manifest_lies", fault
    data = sheet.to_bytes()
    sha = hashlib.sha256(data).hexdigest()
    lie = draw(st.sampled_from(["rows", "rows_type", "sha256", "bytes", "missing_file", "unsafe", "feed_id",
                                "period", "not_json", "no_files", "listed_twice"]))
    entry = {"name": name, "rows": n, "sha256": sha}
    extra = sheet.companions(period)
    others = [{"name": k, "rows": r, "sha256": hashlib.sha256(b).hexdigest()} for k, (b, r) in extra.items()]
    m = {"feed_id": feed_id, "period": period, "produced_at": f"{day}T01:00:00+08:00", "files": [entry] + others}
    exp = Expect("rejected", why=lie)
    if lie == "rows":
        entry["rows"] = draw(st.integers(0, 10 ** 12).filter(lambda k: k != n))
        exp = Expect("rejected", file=name, fields={"rows"}, checks={"row_count"})
    elif lie == "rows_type":
        entry["rows"] = draw(st.sampled_from([-1, "3", 2.5, True, None]))
        exp = Expect("rejected", file=name, fields={"rows"}, checks={"manifest"})
    elif lie == "sha256":
        other = draw(st.binary(min_size=32, max_size=32)).hex()
        entry["sha256"] = other if other != sha else "0" * 64
        exp = Expect("rejected", file=name, fields={"sha256"}, checks={"checksum"})
    elif lie == "bytes":
        entry["bytes"] = len(data) + draw(st.integers(1, 10 ** 6))
        exp = Expect("rejected", file=name, fields={"bytes"}, checks={"checksum"})
    elif lie == "missing_file":
        entry["name"] = "other_" + name
        exp = Expect("rejected", file=entry["name"], fields={"name"}, checks={"missing_file"})
    elif lie == "unsafe":
        entry["name"] = draw(st.sampled_from([f"../{name}", f"/etc/{name}", f"sub/{name}", "..", f"..\\{name}",
                                              f"C:\\{name}", f"../../{feed_id}/{day}/{name}", "manifest.json"]))
        exp = Expect("rejected", file=entry["name"], fields={"name"}, checks={"unsafe_file_name"})
    elif lie == "feed_id":
        m["feed_id"] = draw(st.sampled_from([f for f in FEEDS if f != feed_id] + [None, 7, "'; drop table x; --"]))
        exp = Expect("rejected", file="manifest.json", fields={"feed_id"}, checks={"manifest"})
    elif lie == "period":
        m["period"] = draw(st.sampled_from(["2026-13", "202601", "2026-1", "", None, 202601, "2026-01'; --"]))
        exp = Expect("rejected", file="manifest.json", fields={"period"}, checks={"manifest"})
    elif lie == "not_json":
        raw = json.dumps(m).encode()
        bad = draw(st.sampled_from([raw[: len(raw) // 2], b"[1, 2]", b"\xff\xfe{", b"", b"null"]))
        return Plan(feed_id, fault, name, data, n, Expect("rejected", file="manifest.json", checks={"manifest"}),
                    manifest_bytes=bad, day=day, extra=extra)
    elif lie == "no_files":
        m["files"] = draw(st.sampled_from([[], None, "x.csv", {}]))
        exp = Expect("rejected", file="manifest.json", fields={"files"}, checks={"manifest"})
    elif lie == "listed_twice":
        m["files"] = [entry, dict(entry)] + others
        exp = Expect("rejected", file=name, fields={"name"}, checks={"manifest"})
    return Plan(feed_id, fault, name, data, n, exp, manifest=m, day=day, extra=extra)


DAY_WARN = "2026-02-02"  # folder date of the warning-level GX delivery of each feed


def plan_gx(draw, feed_id: str, level: str) -> Plan | None:
    """One delivery of ``feed_id`` carrying every GX-level fault of ``level`` ("critical" or "warning")
    that applies to the feed, each in its own rows; each must be named by its own error/warning."""
    spec = FEEDS[feed_id]
    period = REF_P if spec.is_reference else P
    sheet = Sheet.of(feed_id, period)
    name = file_name(feed_id, period)
    n = len(sheet.records)
    free = list(draw(st.permutations(range(n))))
    warn = level == "warning"
    expects, faults = [], []
    rule = unique_rule(feed_id)
    if (rule == "critical") == (level == "critical"):
        src, dst = free.pop(), free.pop()
        sheet.records[dst] = copy.deepcopy(sheet.records[src])
        if rule:
            expects.append(Expect("", file=name, rows={src + 1, dst + 1}, checks={"unique"}, warn=warn,
                                  why=f"rows {src + 1} and {dst + 1} the same"))
        faults.append("duplicate_key")  # rule None: no documented key, an exact duplicate event loads
    if feed_id in DATES:
        col, fmt, crit, warn_ranges = DATES[feed_id]
        rng = None
        if not warn:
            rng = draw(st.sampled_from(crit))
        elif warn_ranges:
            col, fmt, rng = draw(st.sampled_from(warn_ranges))
        if rng is not None:
            r = free.pop()
            day = draw(st.dates(*rng))
            if fmt == "term" and _fmt_date(day, fmt) == "2026-1":
                day = dt.date(2025, 9, 1)
            sheet.records[r][sheet.col(col)] = _fmt_date(day, fmt)
            expects.append(Expect("", file=name, rows={r + 1}, fields=_names(feed_id, col), warn=warn,
                                  why=f"{col}={day}"))
            faults.append("dates")
    if warn and warn_bounds(feed_id):
        fname, hi = draw(st.sampled_from(warn_bounds(feed_id)))
        f = _field(feed_id, fname)
        value = hi * draw(st.integers(2, 40)) * (100 if f.source.endswith("_fen") else 1)
        r = free.pop()
        sheet.records[r][sheet.col(f.source)] = int(value) if spec.file_format in ("parquet", "jsonl") \
            else str(int(value))
        expects.append(Expect("", file=name, rows={r + 1}, fields={fname}, warn=True, why=f"{fname}={value}"))
        faults.append("implausible")
    if not faults:
        return None
    status = "loaded" if warn else "rejected"
    return Plan(feed_id, "+".join(faults), name, sheet.to_bytes(), n,
                Expect(status, file=None if warn else name, loaded_rows=n, why=level), also=expects,
                day=DAY_WARN if warn else DAY, extra=sheet.companions(period))


def write_plan(landing: Path, plan: Plan) -> Path:
    period = "n/a"  # the manifest is written below from the plan (or by fx.deliver with this period)
    for period_, day, ref_period in SLOTS:
        if day == plan.day:
            period = ref_period if FEEDS[plan.feed_id].is_reference else period_
    if plan.day == DAY_WARN:
        period = REF_P if FEEDS[plan.feed_id].is_reference else P
    folder = fx.deliver(landing, plan.feed_id, plan.day, period, {plan.name: (plan.data, plan.rows), **plan.extra},
                        manifest=plan.manifest is None and plan.manifest_bytes is None)
    if plan.manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(plan.manifest, ensure_ascii=False), encoding="utf-8")
    elif plan.manifest_bytes is not None:
        (folder / "manifest.json").write_bytes(plan.manifest_bytes)
    if plan.cut_to is not None:
        (folder / plan.name).write_bytes(plan.cut_to)  # cut in transit, after the manifest was written
    return folder


# --- the night ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A warehouse with January's reference data loaded (region codes are checked for real)."""
    base = tmp_path_factory.mktemp("fuzz_template")
    s = Settings(landing=base / "landing", warehouse=base / "wh.duckdb", show_progress=False, duckdb_threads=1,
                 duckdb_memory_limit="512MB", extra={"data_docs": False})
    fx.deliver_references(s.landing, "2025-12-20", P)
    summary = ingest(s, as_of=dt.date(2026, 1, 5))
    assert summary.total("loaded") == 2, summary.deliveries
    yield s


@pytest.fixture(scope="module", autouse=True)
def _count_cases():
    """Print how many cases were tried (visible with ``-s``), for the issue note."""
    yield
    total = sum(TRIED.values())
    if not total and not READER_TRIED:
        return
    lines = [f"fuzz: {total} fault cases through ingest() ({ROTATIONS} rotations x {NIGHTS_PER_ROTATION} "
             f"night(s) x {len(FEEDS)} feeds x {len(SLOTS)}, + {GX_NIGHTS} GX-level night(s) x {len(FEEDS)} feeds x "
             f"{len(GX_FAULTS)} classes where they apply)"]
    for feed_id in FEEDS:
        per = {f: TRIED[(feed_id, f)] for f in ALL_FAULTS if TRIED[(feed_id, f)]}
        lines.append(f"  {feed_id:<18} {sum(per.values()):>3}  {per}")
    if READER_TRIED:
        lines.append(f"fuzz: {sum(READER_TRIED.values())} damaged files straight at the readers: {dict(READER_TRIED)}")
    print("\n" + "\n".join(lines))


def _snapshot(folder: Path) -> dict:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def _ledger(con) -> dict[str, dict]:
    cur = con.execute("select delivery_id, status, rows, errors, warnings, coalesce(retry, false) from ops.deliveries")
    return {r[0]: {"status": r[1], "rows": r[2], "errors": json.loads(r[3] or "[]"),
                   "warnings": json.loads(r[4] or "[]"), "retry": r[5]} for r in cur.fetchall()}


def check_outcome(plan: Plan, d: dict, s: Settings, con) -> None:
    exp = plan.expect
    did = f"{plan.feed_id}/{plan.day}"
    assert not d["retry"] and not [e for e in d["errors"] if e.get("check") == "internal_error"], \
        f"{did}: the reader or ingest crashed on {plan.fault}: {d['errors'][:2]}"
    tables = FEEDS[plan.feed_id].tables  # every part of the delivery
    staged = sum(con.execute(f"select count(*) from staging.{t} where delivery_id = ?", [did]).fetchone()[0]
                 for t in tables)
    raw = sum(con.execute(f"select count(*) from raw.{t} where delivery_id = ?", [did]).fetchone()[0] for t in tables)
    status = d["status"]
    if exp.status == "either":
        assert status in ("rejected", "loaded"), status
        if status == "rejected":
            assert any(e.get("file") == exp.file for e in d["errors"]), d["errors"][:3]
        else:
            assert d["rows"] == staged == exp.loaded_rows + plan.extra_rows
        return
    assert status == exp.status, f"{did} ({plan.fault}, {exp.why}): expected {exp.status}, got {status}: " \
                                 f"errors {d['errors'][:3]} warnings {d['warnings'][:3]}"
    if status == "rejected":
        assert staged == 0 and raw == 0
        assert any(exp.matches(e) for e in d["errors"]), \
            f"{did} ({plan.fault}, {exp.why}): no error matches {exp}: {d['errors'][:5]}"
        report = s.work / "reports" / NIGHT.isoformat() / f"{plan.feed_id}__{plan.day}.json"
        assert json.loads(report.read_text(encoding="utf-8"))["errors"] == d["errors"]
        assert report.with_suffix(".md").exists()
    else:
        assert d["errors"] == []
        assert staged == raw == d["rows"] == exp.loaded_rows + plan.extra_rows
        if exp.warn:
            assert any(exp.matches(w) for w in d["warnings"]), \
                f"{did} ({plan.fault}, {exp.why}): no warning matches {exp}: {d['warnings'][:5]}"
    for extra in plan.also:
        records = d["warnings"] if extra.warn else d["errors"]
        assert any(extra.matches(r) for r in records), \
            f"{did} ({plan.fault}, {extra.why}): nothing matches {extra}: {records[:6]}"


ROTATIONS = len(FAULTS) // len(SLOTS)


def fault_for(feed_id: str, rotation: int, slot: int = 0) -> str:
    k = list(FEEDS).index(feed_id)
    fault = FAULTS[(len(SLOTS) * rotation + slot + k) % len(FAULTS)]
    if not applicable(feed_id, fault):
        # the class does not exist for this format: give that night's slot to the manifest
        fault = "manifest_lies"
    return fault


def run_night(template: Settings, plans: list[Plan], companion: str) -> None:
    """Write the plans and one good delivery of ``companion`` into a fresh landing zone over a copy of
    the template warehouse, run ``ingest()`` and check every outcome."""
    with tempfile.TemporaryDirectory(dir=template.warehouse.parent) as tmp:
        tmp = Path(tmp)
        shutil.copy(template.warehouse, tmp / "wh.duckdb")
        s = template.with_(landing=tmp / "landing", warehouse=tmp / "wh.duckdb")
        folders = [write_plan(s.landing, p) for p in plans]
        fx.deliver_feed(s.landing, companion, COMPANION_DAY, COMPANION_PERIOD)
        before = [_snapshot(folder) for folder in folders]
        summary = ingest(s, as_of=NIGHT)  # must not raise
        assert [_snapshot(folder) for folder in folders] == before  # delivered files untouched
        con = duckdb.connect(str(s.warehouse), read_only=True)
        try:
            led = _ledger(con)
            good = led[f"{companion}/{COMPANION_DAY}"]  # the good delivery of the same night loads normally
            assert good["status"] == "loaded" and good["rows"] == 3 and good["errors"] == [], good
            for p in plans:
                check_outcome(p, led[f"{p.feed_id}/{p.day}"], s, con)
            # January's reference data is intact whatever the night brought
            assert con.execute("select count(*) from staging.ref_regions where period = ?", [P]).fetchone()[0] \
                == len(fx.REGIONS)
        finally:
            con.close()
        assert summary.total("loaded") >= 1
    for p in plans:
        for fault in p.fault.split("+"):
            TRIED[(p.feed_id, fault)] += 1
        if os.environ.get("FUZZ_VERBOSE"):
            print(f"  {p.feed_id}/{p.day} {p.fault}: {p.expect.status} {p.expect.why} "
                  f"{[(e.why, e.rows) for e in p.also]}")


@pytest.mark.parametrize("rotation", range(ROTATIONS))
def test_night_survives_bad_deliveries(template, rotation):
    """Two fault classes per feed and night (rotating), most of them found before GX runs."""
    @settings(max_examples=NIGHTS_PER_ROTATION, **NIGHT_SETTINGS)
    @given(data=st.data())
    def night(data):
        plans = [data.draw(st.composite(lambda draw, f=f, k=k: plan_fault(draw, f, fault_for(f, rotation, k), k))(),
                           label=f"{f}/{k}") for f in FEEDS for k in range(len(SLOTS))]
        for p in plans:
            note(f"{p.feed_id}: {p.fault} -> {p.expect}")
        run_night(template, plans, COMPANIONS[rotation % 2])

    night()


def test_night_survives_gx_level_faults(template):
    """Duplicate keys, dates out of period and implausible values (found by the GX suites): per feed
    one delivery with the critical variants (rejected, each named) and one with the warning-level
    ones (loaded, each warned about), all in the same night."""
    @settings(max_examples=GX_NIGHTS, **NIGHT_SETTINGS)
    @given(data=st.data())
    def night(data):
        plans = []
        for f in FEEDS:
            for level in ("critical", "warning"):
                p = data.draw(st.composite(lambda draw, f=f, level=level: plan_gx(draw, f, level))(),
                              label=f"{f}/{level}")
                if p is not None:
                    note(f"{p.feed_id}/{level}: {p.fault} -> {p.also}")
                    plans.append(p)
        assert len(plans) >= 2 * len(FEEDS) - 3
        run_night(template, plans, COMPANIONS[0])

    night()


def test_every_fault_class_applies_or_is_documented():
    """Every (feed, fault class) pair is exercised by one of the night tests or has a stated reason."""
    exercised = {(f, fault_for(f, r, k)) for f in FEEDS for r in range(ROTATIONS) for k in range(len(SLOTS))}
    exercised |= {(f, "duplicate_key") for f in FEEDS}
    exercised |= {(f, "dates") for f in DATES} | {(f, "implausible") for f in FEEDS if warn_bounds(f)}
    for feed_id in FEEDS:
        for fault in ALL_FAULTS:
            assert (feed_id, fault) in exercised or (feed_id, fault) in NOT_APPLICABLE \
                or (fault == "implausible" and not warn_bounds(feed_id)), (feed_id, fault)


# --- straight at the readers: many cheap byte-level examples -------------------------------------

def _damage(draw, data: bytes) -> bytes:
    op = draw(st.sampled_from(["cut", "flip", "insert", "delete", "splice"]))
    i = draw(st.integers(0, max(len(data) - 1, 0)))
    if op == "cut":
        return data[:i]
    if op == "flip":
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:] if data else data
    if op == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    if op == "delete":
        return data[:i] + data[i + draw(st.integers(1, 64)):]
    j = draw(st.integers(0, max(len(data) - 1, 0)))
    return data[:i] + data[j:j + draw(st.integers(1, 200))] + data[i:]


@pytest.mark.parametrize("feed_id", list(FEEDS))
def test_reader_survives_byte_damage(feed_id, tmp_path):
    spec = FEEDS[feed_id]
    good = Sheet.of(feed_id, P).to_bytes()  # the feed's first part (the file a fault would hit)
    path = tmp_path / f"{feed_id}.{_ext(spec)}"
    con = duckdb.connect(":memory:", config={"threads": 1})

    @settings(max_examples=READER_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def damaged(data):
        blob = data.draw(st.composite(lambda draw: _damage(draw, good))())
        path.write_bytes(blob)
        if os.environ.get("FUZZ_KEEP_LAST"):
            Path(os.environ["FUZZ_KEEP_LAST"]).write_bytes(blob)
        READER_TRIED[feed_id] += 1
        try:
            table = spec.read(path, P)
        except FeedFormatError as e:
            assert e.file == path.name and e.check
            return
        assert table.column_names == list(spec.raw_columns) + ["_file", "_row"]
        assert all(pa.types.is_string(table.schema.field(c).type) for c in spec.raw_columns)
        n = table.num_rows
        table = table.replace_schema_metadata(None)
        table = table.append_column("delivery_id", pa.array([f"{feed_id}/x"] * n, pa.string()))
        table = table.append_column("period", pa.array([P] * n, pa.string()))
        con.register("raw_batch", table)
        try:
            _, errors = type_batch(con, spec)  # must not raise
        finally:
            con.unregister("raw_batch")
        for e in errors:
            assert e["file"] == path.name and e["row"] and e["field"]

    try:
        damaged()
    finally:
        con.close()


# --- feed content never reaches SQL as text ----------------------------------------------------

def test_sql_payloads_in_feed_content_are_plain_data(template, tmp_path):
    """String fields, a header and a file name holding SQL: loaded verbatim as data (or rejected by
    validation where the field has a format); every table and row of the warehouse is intact and no
    statement in a payload ran (the COPY target is never written)."""
    pwned = tmp_path / "pwned.csv"
    payloads = ["'); drop table staging.mca_roster; --",
                "'||(select string_agg(person_id, ',') from staging.mca_roster)||'",
                f"x'; copy (select 42) to '{pwned}'; --",
                "\"; drop schema ops cascade; --"]
    s = template.with_(landing=tmp_path / "landing", warehouse=tmp_path / "wh.duckdb")
    shutil.copy(template.warehouse, s.warehouse)

    def tables() -> dict:
        con = duckdb.connect(str(s.warehouse), read_only=True)
        try:
            names = [r[0] for r in con.execute("select schema_name || '.' || table_name from duckdb_tables() "
                                               "where schema_name in ('raw', 'staging', 'ops') order by 1").fetchall()]
            return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in names}
        finally:
            con.close()

    before = tables()
    roster = fx.roster_rows(P, n=len(payloads))
    for r, text in zip(roster, payloads):
        r["name"] = text
    fx.deliver_feed(s.landing, "mca_roster", DAY, P, roster)
    visits = fx.feed_rows("grid_visits", P, n=len(payloads))
    for r, text in zip(visits, payloads):
        r["note"] = text
    fx.deliver_feed(s.landing, "grid_visits", DAY, P, visits)
    disasters = fx.disaster_rows(P, n=2)
    disasters[0]["disaster_id"] = payloads[0]
    jsonl_name = "mem'); drop table staging.mem_disaster; --.jsonl"  # a legal file name, quotes and all
    fx.deliver_feed(s.landing, "mem_disaster", DAY, P, disasters, name=jsonl_name)
    hrss = fx.hrss_rows(P, n=2)
    hrss[1]["person_id"] = payloads[1]  # an id column has a format: rejected by validation, as data
    fx.deliver_feed(s.landing, "hrss_employment", DAY, P, hrss)
    data, n = fx.csv_bytes(list(FEEDS["bank_deposits"].raw_columns) + [payloads[3]],
                           [[r[c] for c in FEEDS["bank_deposits"].raw_columns] + ["1"]
                            for r in fx.feed_rows("bank_deposits", P)]), 3
    fx.deliver(s.landing, "bank_deposits", DAY, P, {"bank.csv": (data, n)})

    ingest(s, as_of=NIGHT)
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        led = _ledger(con)
        assert led[f"mca_roster/{DAY}"]["status"] == "loaded"
        assert [r[0] for r in con.execute("select name from staging.mca_roster order by _row").fetchall()] == payloads
        assert led[f"grid_visits/{DAY}"]["status"] == "loaded"
        assert [r[0] for r in con.execute("select note from staging.grid_visits order by _row").fetchall()] == payloads
        assert led[f"mem_disaster/{DAY}"]["status"] == "loaded"
        assert con.execute("select disaster_id, _file from staging.mem_disaster where _row = 1").fetchone() == \
            (payloads[0], jsonl_name)
        hr = led[f"hrss_employment/{DAY}"]
        assert hr["status"] == "rejected" and any(e["row"] == 2 and e["field"] == "person_id" for e in hr["errors"])
        bank = led[f"bank_deposits/{DAY}"]  # an unannounced column named with SQL: ignored, named, never run
        assert bank["status"] == "loaded" and bank["errors"] == []
        (w,) = [w for w in bank["warnings"] if w["check"] == "extra_column"]
        assert w["field"] == payloads[3] and payloads[3] in w["message"]
    finally:
        con.close()
    after = tables()
    assert set(after) == set(before)  # nothing dropped
    grown = {t for t in after if after[t] != before[t]}
    assert grown <= {"ops.deliveries", "raw.mca_roster", "staging.mca_roster", "raw.grid_visits",
                     "staging.grid_visits", "raw.mem_disaster", "staging.mem_disaster", "raw.bank_deposits",
                     "staging.bank_deposits"}, grown
    assert after["staging.ref_regions"] == before["staging.ref_regions"] == len(fx.REGIONS)
    assert not pwned.exists()


def test_no_feed_derived_sql_text_in_the_pipeline():
    """The only SQL built with f-strings from something other than code constants was the JSON-lines
    reader's file path (now a prepared parameter). Guard: no reader interpolates a path into SQL."""
    import inspect
    import re

    from pipelines.feeds import _readers

    src = inspect.getsource(_readers.read_jsonl_strings)
    assert "execute(" in src and not re.search(r"\{src\}|\{path|\{str\(path", src), "a path is interpolated into SQL"


# --- hostile shapes: deep nesting, huge fields, many lines, symbolic links, Unicode variants -------

HOSTILE_EXAMPLES = int(os.environ.get("FUZZ_HOSTILE_EXAMPLES", 12))


def _manifest_shape(draw) -> tuple[bytes, str]:
    """A manifest.json that must end as a reason: (bytes, what the error must say)."""
    shape = draw(st.sampled_from(["deep_array", "deep_object", "deep_mixed", "huge_string", "huge_list",
                                  "future", "unicode_keys"]))
    depth = draw(st.sampled_from([9, 64, 1_000, 100_000]))
    if shape == "deep_array":
        return ("[" * depth + "]" * depth).encode(), "nested deeper"
    if shape == "deep_object":
        return ('{"a":' * depth + "null" + "}" * depth).encode(), "nested deeper"
    if shape == "deep_mixed":
        return ('{"files": ' + '[{"x":' * depth + "1" + "}]" * depth + "}").encode(), "nested deeper"
    if shape == "huge_string":
        n = draw(st.sampled_from([1_000_001, 3_000_000]))
        return ('{"feed_id": "mps_vehicles", "period": "' + "9" * n + '"}').encode(), "more than the 1,000,000"
    if shape == "huge_list":
        n = draw(st.integers(1_001, 20_000))
        files = [{"name": f"f{i}.csv", "rows": 1, "sha256": "0" * 64} for i in range(n)]
        return json.dumps({"feed_id": "mps_vehicles", "period": P, "files": files}).encode(), "files"
    if shape == "future":
        days = draw(st.integers(2, 20_000))
        when = (NIGHT + dt.timedelta(days=days)).isoformat() + "T00:00:00+08:00"
        return json.dumps({"feed_id": "mps_vehicles", "period": P, "produced_at": when,
                           "files": [{"name": "v.csv", "rows": 3, "sha256": "0" * 64}]}).encode(), "produced_at"
    key = draw(st.sampled_from(["\ufefffeed_id", "feed_id\u00a0", "ｆｅｅｄ_ｉｄ", "feed\u200b_id"]))
    return json.dumps({key: "mps_vehicles", "period": P, "files": []}).encode(), "feed_id"


def test_hostile_manifests_end_as_a_reason(tmp_path):
    """Deep nesting (up to 100,000 levels), huge strings and lists, a produced_at in the future,
    Unicode look-alike keys: discovery and preparation never raise, the delivery is rejected with a
    reason naming the manifest, and nothing is staged."""
    from pipelines.ingest import discover, prepare_delivery

    counter = iter(range(10 ** 6))

    @settings(max_examples=HOSTILE_EXAMPLES, **SETTINGS)
    @given(data=st.data())
    def manifest(data):
        raw, says = data.draw(st.composite(_manifest_shape)())
        base = tmp_path / f"m{next(counter)}"
        s = Settings(landing=base / "landing", warehouse=base / "wh.duckdb", show_progress=False,
                     duckdb_threads=1, duckdb_memory_limit="256MB", extra={"data_docs": False})
        folder = fx.deliver_feed(s.landing, "mps_vehicles", DAY, P)
        (folder / "manifest.json").write_bytes(raw)
        (ref,) = discover(s, as_of=NIGHT)
        p = prepare_delivery(s, ref)
        assert p.status == "rejected" and not p.retry, p.errors[:2]
        assert any(e["file"] == "manifest.json" and (says in e["message"] or says == e.get("field") or
                                                     says == e["check"]) for e in p.errors), p.errors[:3]
        assert all(len(json.dumps(e, ensure_ascii=False)) < 2_000 for e in p.errors)  # messages stay short
        shutil.rmtree(base)

    manifest()


def _feedback_line(draw, case_ids: list[str]) -> list[str]:
    variants = ["accepted", "ACCEPTED", " verified ", "\ufeffverified", "verified\u00a0", "\u3000已受理\u3000",
                "not verified", "not_verified", "verified 核实属实", "核实属实", "ｖｅｒｉｆｉｅｄ", "verified\u200b",
                "assisted;verified", "", "转办", "transferred"]
    status = draw(st.sampled_from(variants) | st.text(max_size=12))
    note = draw(st.sampled_from(["", "备注", "长" * 3_000, "x" * 250_000]) | st.text(max_size=40))
    case_id = draw(st.sampled_from(case_ids + ["", "C-000000-0000000000", "'" + case_ids[0]]) |
                   st.text(max_size=30))
    return [case_id, status, draw(st.text(max_size=10)), draw(st.sampled_from(["", "100", "-5", "1e9999", "１００"])),
            draw(st.sampled_from(["2026-02-09", "2026/2/9", "", "2026-13-45", "20260209"])), "经办人", note]


def test_hostile_feedback_files_end_as_reasons(tmp_path):
    """Many lines, huge fields, Unicode variants of the statuses (BOM, NBSP, ideographic and
    zero-width spaces, full-width letters, two forms at once), random bytes: the intake never raises,
    a status is applied only when it is exactly one code or label, and no echoed value is long."""
    from case_fixtures import add_warning, warehouse
    from pipelines.cases import FEEDBACK_STATUSES, update_cases
    from pipelines.dispatch import FEEDBACK_COLUMNS, write_extracts
    from pipelines.feedback import FeedbackLimits, apply_feedback, parse_status, trim

    con = warehouse(tmp_path)
    for h, ind in (("F001", "INC_DROP"), ("F002", "EXP_MED")):
        add_warning(con, h, ind, "medium", "2026-01", ["MCA"])
    update_cases(con, dt.date(2026, 2, 7))
    write_extracts(con, tmp_path / "outbox", dt.date(2026, 2, 7))
    case_ids = [r[0] for r in con.execute("select case_id from mart.cases order by 1").fetchall()]
    limits = FeedbackLimits(max_bytes=2_000_000, max_lines=2_000, max_field_chars=2_000)
    days = iter(dt.date(2026, 2, 9) + dt.timedelta(days=i) for i in range(10 ** 5))

    @settings(max_examples=HOSTILE_EXAMPLES * 2, **SETTINGS)
    @given(data=st.data())
    def intake(data):
        day = next(days)
        folder = tmp_path / "feedback" / "MCA" / "330102" / day.isoformat()
        folder.mkdir(parents=True)
        shape = data.draw(st.sampled_from(["lines", "many", "bytes"]))
        if shape == "bytes":
            (folder / "feedback.csv").write_bytes(data.draw(st.binary(max_size=3_000)))
        else:
            n = data.draw(st.integers(1, 8)) if shape == "lines" else data.draw(st.integers(1_990, 2_010))
            lines = [data.draw(st.composite(lambda draw: _feedback_line(draw, case_ids))()) for _ in range(min(n, 8))]
            buf = io.StringIO()
            w = __import__("csv").writer(buf)
            w.writerow(FEEDBACK_COLUMNS)
            for i in range(n):
                w.writerow(lines[i % len(lines)])
            bom = data.draw(st.booleans())
            (folder / "feedback.csv").write_bytes(("\ufeff" if bom else "").encode() + buf.getvalue().encode("utf-8"))
        apply_feedback(con, tmp_path / "feedback", day, work_dir=tmp_path / "work", limits=limits)  # never raises
        longest = con.execute("select coalesce(max(length(value)), 0), coalesce(max(length(case_id)), 0) "
                              "from ops.feedback_rejects").fetchone()
        assert max(longest) <= 65
        applied = {r[0] for r in con.execute("select json_extract_string(detail, '$.feedback_status') "
                                             "from mart.case_events where source = 'feedback'").fetchall()}
        assert applied <= set(FEEDBACK_STATUSES)

    intake()
    con.close()

    @settings(max_examples=200, **SETTINGS)
    @given(st.text(max_size=20))
    def status(text):
        code = parse_status(text)
        exact = trim(text).lower() in FEEDBACK_STATUSES or trim(text) in FEEDBACK_STATUSES.values()
        assert (code not in (None, "?")) == exact

    status()


_FORMULA_ALPHABET = "=+-@＝＋－＠﹦﹢﹣−\t\r\n \u00a0\u3000\u2003\ufeff\u200b\u200d\u2060\u00adab1中'"


def test_spreadsheet_cells_never_start_a_formula():
    """Any text of formula signs (ASCII, full-width, small), whitespace variants, BOM and zero-width
    characters: written through pipelines.spreadsheet, a cell either starts with the apostrophe or
    its first visible character is no formula sign; reading the CSV back gives exactly that cell."""
    import csv as csv_module
    import unicodedata

    from pipelines.spreadsheet import csv_bytes, safe_text

    def visible(text: str) -> str:
        return next((ch for ch in text if not (ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc"))), "")

    @settings(max_examples=400, **SETTINGS)
    @given(st.text(alphabet=_FORMULA_ALPHABET, max_size=8))
    def cell(text):
        out = safe_text(text)
        if not out.startswith("'"):
            assert out == text and not text.startswith(("\t", "\r"))
            ch = visible(text)
            assert ch not in "=+-@\u2212" or ch == "", repr(text)
            assert unicodedata.normalize("NFKC", ch) not in ("=", "+", "-", "@") or ch == "", repr(text)
        back = list(csv_module.reader(io.StringIO(csv_bytes(["h"], [[text]]).decode("utf-8-sig"), newline="")))
        assert back[1] == [out]

    cell()


def test_symbolic_links_anywhere_are_never_followed(template, tmp_path):
    """A link at any place of the landing zone or the feedback folder, to a secret or to a valid
    delivery elsewhere: nothing is read through it, the secret reaches no table or report, and the
    rest of the night loads."""
    from pipelines.feedback import apply_feedback

    secret = "LINK-TARGET-SECRET-" + "7" * 24
    places = ["feed_folder", "delivery_folder", "manifest", "data_file", "unlisted_file",
              "fb_department", "fb_office", "fb_date", "fb_file"]
    counter = iter(range(10 ** 6))

    @settings(max_examples=len(places), **SETTINGS)
    @given(place=st.sampled_from(places))
    def link(place):
        base = tmp_path / f"l{next(counter)}"
        outside = base / "outside"
        outside.mkdir(parents=True)
        (outside / "secret.txt").write_text(secret)
        elsewhere = fx.deliver_feed(outside / "zone", "mps_vehicles", DAY, P)
        s = template.with_(landing=base / "landing", warehouse=base / "wh.duckdb", feedback=base / "feedback")
        shutil.copy(template.warehouse, s.warehouse)
        fx.deliver_feed(s.landing, "bank_deposits", DAY, P)  # the rest of the night
        if place == "feed_folder":
            (s.landing / "mps_vehicles").symlink_to(elsewhere.parent)
        elif place == "delivery_folder":
            (s.landing / "mps_vehicles").mkdir()
            (s.landing / "mps_vehicles" / DAY).symlink_to(elsewhere)
        elif not place.startswith("fb_"):
            d = fx.deliver_feed(s.landing, "mps_vehicles", DAY, P)
            if place == "manifest":
                (d / "manifest.json").unlink()
                (d / "manifest.json").symlink_to(outside / "secret.txt")
            elif place == "data_file":
                f = next(p for p in d.iterdir() if p.suffix == ".csv")
                f.unlink()
                f.symlink_to(outside / "secret.txt")
            elif place == "unlisted_file":
                (d / "extra.csv").symlink_to(outside / "secret.txt")
        fb = s.feedback / "MCA" / "330102" / "2026-02-03"
        target = {"fb_department": s.feedback / "MCA", "fb_office": s.feedback / "MCA" / "330102",
                  "fb_date": fb, "fb_file": fb / "feedback.csv"}.get(place)
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(outside if place != "fb_file" else outside / "secret.txt")
        ingest(s, as_of=NIGHT)
        con = duckdb.connect(str(s.warehouse))
        try:
            apply_feedback(con, s.feedback, NIGHT, work_dir=s.work)
            led = _ledger(con)
            assert led[f"bank_deposits/{DAY}"]["status"] == "loaded"
            assert con.execute("select count(*) from staging.mps_vehicles").fetchone()[0] == 0
            text = json.dumps(led) + repr(con.execute("select columns(*)::varchar from ops.unread_entries").fetchall()) \
                + repr(con.execute("select columns(*)::varchar from ops.feedback_rejects").fetchall())
            refused = [d for d, v in led.items() if d.startswith("mps_vehicles") and v["status"] == "rejected"]
            unread = con.execute("select kind from ops.unread_entries").fetchall()
            assert refused or ("symlink",) in unread, (place, led, unread)
        finally:
            con.close()
        assert secret not in text
        for p in s.work.rglob("*"):
            if p.is_file():
                assert secret.encode() not in p.read_bytes(), p
        shutil.rmtree(base)

    link()


def _formatted(draw, digits: str, phone: bool) -> str:
    """``digits`` as a person may type them: in groups (of 3 or more, the last maybe shorter),
    separated by one or two of the separators people use, some digits full-width; a mobile
    number maybe with its country code."""
    seps = [" ", "-", ".", "\u00a0", "\u3000", "－", "—", "·", "  ", " - "[:2]]
    out, i = [], 0
    while i < len(digits):
        size = draw(st.integers(3, 8))
        out.append(digits[i:i + size])
        i += size
    text = ""
    for k, group in enumerate(out):
        if k:
            text += draw(st.sampled_from(seps))
        text += "".join(chr(ord(c) - ord("0") + 0xFF10) if c.isdigit() and draw(st.booleans()) else c for c in group)
    if phone:
        text = draw(st.sampled_from(["", "+86 ", "+86", "0086-", "(86)", "（+86）", "＋86 "])) + text
    return text


def test_formatted_ids_and_phones_are_scrubbed_and_found_by_the_scan():
    """Ids and mobile numbers with spaces, dashes, dots, full-width digits and country codes, inside
    Chinese text: the Scrubber masks every one, the scan's verdict (personal_number) finds every
    one; dates and amounts written in groups of two stay as they are."""
    from pipelines.analyst.scrub import NameMatcher, Scrubber, personal_number

    scrubber = Scrubber(NameMatcher([]), {}, {})
    to_ascii = str.maketrans("０１２３４５６７８９", "0123456789")

    @settings(max_examples=300, **SETTINGS)
    @given(data=st.data())
    def formatted(data):
        phone = data.draw(st.booleans())
        if phone:
            digits = "1" + data.draw(st.sampled_from("3456789")) + data.draw(st.text("0123456789", min_size=9, max_size=9))
        else:
            digits = fx.person_id(data.draw(st.integers(1, 999)), birth=data.draw(st.sampled_from(
                ["19800101", "19571231", "20100615"])))
        text = data.draw(st.sampled_from(["", "电话", "身份证：", "联系人 "])) + _formatted(data.draw, digits, phone) + \
            data.draw(st.sampled_from(["", "。", " 已核实", "，备注"]))
        assert personal_number(text), text
        clean = scrubber.text(text)
        squeezed = "".join(ch for ch in clean.translate(to_ascii) if ch.isdigit())
        assert digits[:11] not in squeezed and digits[-7:] not in squeezed, (text, clean)

    formatted()

    @settings(max_examples=100, **SETTINGS)
    @given(st.lists(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=6),
           st.sampled_from([" ", "、", "，", " 至 "]))
    def dates(days, sep):
        text = sep.join(d.isoformat() for d in days)
        assert scrubber.text(text) == text and not personal_number(text)

    dates()
