"""Compare the night loop of two revisions on one fixed synthetic province.

Behaviour check for refactorings: ``mart.warnings``, ``mart.cases``, ``mart.case_events`` and every
file under the outbox must be identical between the two revisions, except for print and layout
settings of the Excel extracts.

Usage, from the repository root::

    uv run python scripts/compare_revisions.py --base main                   # main vs this working tree
    uv run python scripts/compare_revisions.py --base HEAD                   # self-check: must exit 0
    uv run python scripts/compare_revisions.py --base v1 --head v2 --households 300 --months 8 --keep out/

Options: ``--base REV`` (required), ``--head REV|worktree`` (default ``worktree``: this checkout,
uncommitted changes included), ``--households N`` (300), ``--months M`` (8), ``--seed S`` (20261),
``--generator base|head`` (base), ``--venv shared|own`` (shared), ``--keep DIR`` (keep the
province, both runs and their warehouses in DIR), ``--recompare DIR`` (only compare again the runs
kept in DIR), ``-v`` (list every outbox file). Exit code 0 = equal (layout-only differences
allowed), 1 = differences, 2 = a run failed. At the defaults a comparison takes about 100 s on
2 cores (two night loops of ~50 s each, sequential).

How it works:

1. A git revision is checked out as a temporary detached ``git worktree`` (removed at the end);
   ``--head worktree`` uses this checkout as it is.
2. ONE province (landing zone, ``truth.csv``, ``nights.txt``) is generated once, by default with the
   BASE revision's generator (``--generator head`` to use the head's), and the same files are fed to
   both revisions: the comparison is of the night loop on identical inputs, even if the generator
   changes between the revisions. Each run reads its own copy of it (``<run>/province``): the replay's
   offices add the economic checks their answers rest on to the landing.
3. Each revision runs in its own subprocess (no module mixing): ``pipelines.config.load_settings``
   and ``pipelines.demo.replay`` (one night per month, simulated department feedback), with fresh
   warehouse/outbox/feedback dirs, a fixed ``LOWINCOME_HMAC_KEY``, no other ``LOWINCOME_*``
   variable, ``show_progress=False``. With ``--venv shared`` (default) the subprocess uses this
   environment's Python with the revision's tree first on ``sys.path``; the runner checks and prints
   ``pipelines.__file__`` so the revision's code, SQL and ``models/`` are the ones used. Use
   ``--venv own`` (``uv sync --locked`` in each tree) when the revisions' dependencies differ; the
   script warns when their ``uv.lock`` files differ.
4. Comparison, after replacing each run's root dir by ``<RUN>`` and each revision's source tree by
   ``<SRC>`` in every string (JSON values included):

   * tables, matched by key (``warning_id``; ``case_id``; ``case_id, seq``), every column. None of
     the three holds wall clock: ``raised_at``, ``opened_at``, ``dispatched_at``, ``updated_at``,
     case event ``at`` ... are the night's logical time and must match (``WALL_CLOCK`` lists
     columns to leave out, empty today). JSON columns are compared parsed.
   * outbox: the same set of file paths; files byte-identical after path replacement. ``.xlsx``:
     same zip members, each byte-identical, except worksheet parts compared without print and
     layout settings (``pageSetup``, ``printOptions``, ``pageMargins``, ``headerFooter``,
     ``rowBreaks``/``colBreaks``, ``sheetPr/pageSetUpPr``, ``sheetViews`` with frozen panes, ``cols``
     widths, row heights and cells' format index -- their values and types still count -- with
     ``xl/styles.xml``) and ``xl/workbook.xml`` without ``_xlnm.Print_Titles``/``_xlnm.Print_Area`` names.
     Such files are "layout only" and the differing settings are listed. ``manifest.json`` is
     compared as JSON; the ``sha256``/``bytes`` of a layout-only workbook may differ (each run's
     manifest is checked against its own files instead).
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

HMAC_KEY = "compare-revisions-fixed-hmac-key-0123456789abcdef"

# Tables compared and their keys.
TABLES: dict[str, tuple[str, ...]] = {
    "mart.warnings": ("warning_id",),
    "mart.cases": ("case_id",),
    "mart.case_events": ("case_id", "seq"),
}
# Wall-clock columns left out per table: none today (every timestamp of these tables is logical).
WALL_CLOCK: dict[str, set[str]] = {name: set() for name in TABLES}

MAX_SHOWN = 5  # differences shown per table / per file

# The per-revision runner: run with the revision's tree as cwd and first on sys.path.
RUNNER = r'''
import datetime as dt, inspect, sys, time
from pathlib import Path

mode, tree = sys.argv[1], Path(sys.argv[2]).resolve()
import pipelines
where = Path(pipelines.__file__).resolve()
if tree not in where.parents:
    sys.exit(f"pipelines imported from {where}, not from {tree}")
print(f"pipelines imported from {where}", flush=True)
t0 = time.perf_counter()
if mode == "generate":
    from pipelines.synth import generate
    out, households, months, seed = Path(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    generate(out=out, households=households, months=months, seed=seed)
    print(f"generated in {time.perf_counter() - t0:.1f}s", flush=True)
else:
    from pipelines.config import load_settings
    from pipelines.demo import replay
    province, run = Path(sys.argv[3]), Path(sys.argv[4])
    nights = [dt.date.fromisoformat(x) for x in (province / "nights.txt").read_text().split()]
    settings = load_settings(landing=province / "landing", warehouse=run / "warehouse" / "warehouse.duckdb",
                             outbox=run / "outbox", feedback=run / "feedback", show_progress=False)
    kw = {"echo": print} if "echo" in inspect.signature(replay).parameters else {}
    replay(settings, nights, province / "truth.csv", **kw)
    print(f"replayed in {time.perf_counter() - t0:.1f}s", flush=True)
'''


# --- normalisation (imported by tests/test_compare_revisions.py) ---------------------------------

def normalise_paths(value, roots: dict[str, str]):
    """``value`` with every occurrence of each root (path string -> placeholder) replaced, recursively
    through dicts, lists and tuples; longer roots first so nested roots are handled."""
    order = sorted(roots.items(), key=lambda kv: len(kv[0]), reverse=True)

    def walk(v):
        if isinstance(v, str):
            for root, placeholder in order:
                if root:
                    v = v.replace(root, placeholder)
            return v
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return type(v)(walk(x) for x in v)
        return v

    return walk(value)


def root_variants(path: Path, placeholder: str) -> dict[str, str]:
    """A root as given and resolved (symlinked temp dirs), both mapped to ``placeholder``."""
    return {str(path): placeholder, str(Path(path).resolve()): placeholder}


# Worksheet children that are print or layout settings, grouped by the name reported.
SHEET_LAYOUT = {
    "pageSetup": "print", "printOptions": "print", "pageMargins": "print", "headerFooter": "print",
    "rowBreaks": "print", "colBreaks": "print", "pageSetUpPr": "print",
    "sheetViews": "frozen panes/sheet view", "cols": "column widths",
    "rowHeights": "row heights", "cellFormats": "cell formats (alignment, wrap)", "styles": "cell formats (alignment, wrap)",
}
PRINT_NAMES = {"_xlnm.Print_Titles", "_xlnm.Print_Area"}
COL_WIDTH_ATTRS = ("width", "customWidth", "bestFit")


def _parse(xml: bytes):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.fromstring(xml, parser)


def _c14n(el) -> bytes:
    from lxml import etree

    return etree.tostring(el, method="c14n")


def strip_sheet_layout(xml: bytes) -> tuple[bytes, dict[str, bytes]]:
    """A worksheet part without print/layout settings (canonical XML), and the removed settings
    (element name -> canonical XML) so two sides can say which settings differ."""
    root = _parse(xml)
    removed: dict[str, bytes] = {}
    for child in list(root):
        name = _local(child.tag)
        if name == "cols":  # widths only: a column's style, hidden flag or outline level still counts
            removed[name] = _c14n(child)
            for col in list(child):
                for attr in COL_WIDTH_ATTRS:
                    col.attrib.pop(attr, None)
                if set(col.attrib) <= {"min", "max"}:
                    child.remove(col)
            if len(child) == 0:
                root.remove(child)
        elif name in SHEET_LAYOUT:
            removed[name] = removed.get(name, b"") + _c14n(child)
            root.remove(child)
        elif name == "sheetData":  # row heights and cell formats (alignment, wrap) are layout; values are not
            for row in child:
                if row.attrib.pop("ht", None) is not None or row.attrib.pop("customHeight", None) is not None:
                    removed["rowHeights"] = b"differs"
                row.attrib.pop("customHeight", None)
                for cell in row:
                    if cell.attrib.pop("s", None) is not None:
                        removed["cellFormats"] = b"differs"
        elif name == "sheetPr":
            for sub in list(child):
                if _local(sub.tag) == "pageSetUpPr":  # fitToPage / autoPageBreaks flags
                    removed["pageSetUpPr"] = _c14n(sub)
                    child.remove(sub)
            if len(child) == 0 and not child.attrib:
                root.remove(child)
    return _c14n(root), removed


def strip_workbook_print_names(xml: bytes) -> tuple[bytes, dict[str, bytes]]:
    """``xl/workbook.xml`` without print-title/print-area defined names (and without an emptied
    ``definedNames``), canonical XML; plus what was removed."""
    root = _parse(xml)
    removed: dict[str, bytes] = {}
    for names in [c for c in root if _local(c.tag) == "definedNames"]:
        for dn in list(names):
            if dn.get("name") in PRINT_NAMES:
                removed[dn.get("name")] = removed.get(dn.get("name"), b"") + _c14n(dn)
                names.remove(dn)
        if len(names) == 0:
            root.remove(names)
    return _c14n(root), removed


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _is_sheet(member: str) -> bool:
    return member.startswith("xl/worksheets/sheet") and member.endswith(".xml")


@dataclass
class FileResult:
    status: str  # "identical" | "layout" | "DIFFERS"
    notes: list[str] = field(default_factory=list)
    settings: set[str] = field(default_factory=set)  # layout only: "<category>: <element>" that differ


def compare_xlsx(a: bytes, b: bytes) -> FileResult:
    """Two workbooks: identical bytes; or every member equal except print/layout settings
    ("layout", with the settings that differ); or "DIFFERS" with what differs."""
    if a == b:
        return FileResult("identical")
    try:
        za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
    except zipfile.BadZipFile as e:
        return FileResult("DIFFERS", [f"not a zip: {e}"])
    ia, ib = {i.filename: i for i in za.infolist()}, {i.filename: i for i in zb.infolist()}
    diffs, layout, settings = [], [], set()
    if set(ia) != set(ib):
        diffs.append(f"members only in base {sorted(set(ia) - set(ib))}, only in head {sorted(set(ib) - set(ia))}")
    for name in sorted(set(ia) & set(ib)):
        if ia[name].date_time != ib[name].date_time:
            diffs.append(f"{name}: zip timestamp {ia[name].date_time} vs {ib[name].date_time}")
        da, db = za.read(name), zb.read(name)
        if da == db:
            continue
        if name == "xl/styles.xml":  # the cell formats the sheets refer to: layout (values are compared in the sheets)
            settings.add("cell formats (alignment, wrap): styles")
            layout.append(f"{name}: styles (cell formats)")
            continue
        strip = strip_sheet_layout if _is_sheet(name) else \
            strip_workbook_print_names if name == "xl/workbook.xml" else None
        if strip is None:
            diffs.append(f"{name}: {_first_difference(da, db)}")
            continue
        (na, ra), (nb, rb) = strip(da), strip(db)
        if na != nb:
            diffs.append(f"{name} (print/layout settings left out): {_first_difference(na, nb)}")
            continue
        changed = sorted(k for k in set(ra) | set(rb) if ra.get(k) != rb.get(k))
        settings.update(f"{SHEET_LAYOUT.get(k, 'print')}: {k}" for k in changed)
        layout.append(f"{name}: " + ", ".join(f"{k} ({SHEET_LAYOUT.get(k, 'print')})" for k in changed))
    if diffs:
        return FileResult("DIFFERS", diffs)
    if not layout:  # same member contents and stamps: only the zip container (compression) differs
        return FileResult("DIFFERS", ["zip container differs, member contents identical"])
    return FileResult("layout", layout, settings)


def _first_difference(a: bytes | str, b: bytes | str, width: int = 160) -> str:
    """Where two texts first differ, with a little context on each side."""
    if isinstance(a, bytes):
        a = a.decode("utf-8", "replace")
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    if "\n" in a or "\n" in b:
        lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "base", "head", n=0, lineterm=""))
        return " | ".join(x[:width] for x in lines[2:8])
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, i - 40)
    return f"at char {i}: base …{a[lo:i + width // 2]!r}… head …{b[lo:i + width // 2]!r}…"


def json_differences(a, b, path: str = "$", limit: int = MAX_SHOWN) -> list[str]:
    """Paths where two parsed JSON values differ (at most ``limit``)."""
    out: list[str] = []

    def walk(x, y, p):
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                if k not in x or k not in y:
                    out.append(f"{p}.{k}: {'missing' if k not in x else _short(x[k])} vs "
                               f"{'missing' if k not in y else _short(y[k])}")
                else:
                    walk(x[k], y[k], f"{p}.{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{p}[{i}]")
        elif x != y:
            out.append(f"{p}: {_short(x)} vs {_short(y)}")

    walk(a, b, path)
    return out


def _short(v, n: int = 120) -> str:
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
    s = s[:n] + ("…" if len(s) > n else "")
    return repr(s) if isinstance(v, str) else s


# --- outbox ---------------------------------------------------------------------------------------

def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _manifest_self_check(folder: Path, manifest: dict) -> list[str]:
    import hashlib

    bad = []
    for f in manifest.get("files", []):
        p = folder / f.get("name", "")
        if not p.is_file():
            bad.append(f"{f.get('name')}: listed, missing")
        elif hashlib.sha256(p.read_bytes()).hexdigest() != f.get("sha256") or p.stat().st_size != f.get("bytes"):
            bad.append(f"{f.get('name')}: sha256/bytes do not match the file")
    return bad


def compare_outbox(base: Path, head: Path, roots_a: dict, roots_b: dict) -> tuple[dict[str, FileResult], list[str]]:
    fa, fb = _files(base), _files(head)
    problems = []
    if set(fa) != set(fb):
        only_a, only_b = sorted(set(fa) - set(fb)), sorted(set(fb) - set(fa))
        problems.append(f"file sets differ: {len(only_a)} only in base {only_a[:MAX_SHOWN]}, "
                        f"{len(only_b)} only in head {only_b[:MAX_SHOWN]}")
    results: dict[str, FileResult] = {}
    common = sorted(set(fa) & set(fb))
    for rel in [r for r in common if r.endswith(".xlsx")]:
        results[rel] = compare_xlsx(fa[rel].read_bytes(), fb[rel].read_bytes())
    for rel in [r for r in common if not r.endswith(".xlsx")]:
        a, b = fa[rel].read_bytes(), fb[rel].read_bytes()
        if a == b:
            results[rel] = FileResult("identical")
        elif rel.endswith("manifest.json"):
            results[rel] = _compare_manifest(rel, fa[rel], fb[rel], roots_a, roots_b, results)
        else:
            na = normalise_paths(a.decode("utf-8", "replace"), roots_a)
            nb = normalise_paths(b.decode("utf-8", "replace"), roots_b)
            results[rel] = FileResult("identical", ["equal after path replacement"]) if na == nb \
                else FileResult("DIFFERS", [_first_difference(na, nb)])
    return results, problems


def _compare_manifest(rel, pa: Path, pb: Path, roots_a, roots_b, results) -> FileResult:
    ma, mb = json.loads(pa.read_text("utf-8")), json.loads(pb.read_text("utf-8"))
    folder = rel.rsplit("/", 1)[0]
    layout_files = {f["name"] for f in ma.get("files", [])
                    if results.get(f"{folder}/{f.get('name')}", FileResult("")).status == "layout"}

    def strip(m):
        m = json.loads(json.dumps(m))
        for f in m.get("files", []):
            if f.get("name") in layout_files:
                f.pop("sha256", None)
                f.pop("bytes", None)
        return m

    na, nb = normalise_paths(strip(ma), roots_a), normalise_paths(strip(mb), roots_b)
    if na != nb:
        return FileResult("DIFFERS", json_differences(na, nb))
    bad = [f"base {x}" for x in _manifest_self_check(pa.parent, ma)] + \
          [f"head {x}" for x in _manifest_self_check(pb.parent, mb)]
    if bad:
        return FileResult("DIFFERS", bad)
    if normalise_paths(ma, roots_a) == normalise_paths(mb, roots_b):
        return FileResult("identical", ["equal after path replacement"])
    return FileResult("layout", [f"sha256/bytes of layout-only {sorted(layout_files)}; each matches its file"],
                      {"manifest: sha256/bytes of layout-only workbooks"})


# --- tables ---------------------------------------------------------------------------------------

def read_table(db: Path, table: str, roots: dict) -> tuple[list[str], dict[str, str], list[dict]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        schema, name = table.split(".")
        cols = con.execute("select column_name, data_type from information_schema.columns "
                           "where table_schema = ? and table_name = ? order by ordinal_position",
                           [schema, name]).fetchall()
        if not cols:
            raise RuntimeError(f"{table} not found in {db}")
        types = {c: t for c, t in cols if c not in WALL_CLOCK[table]}
        # timestamps as text (UTC): no tz-library dependency, exact to the microsecond
        select = ", ".join(f'cast("{c}" as varchar)' if "TIME" in t.upper() else f'"{c}"' for c, t in types.items())
        rows = con.execute(f"select {select} from {table}").fetchall()
    finally:
        con.close()
    out = []
    for r in rows:
        d = {}
        for (c, t), v in zip(types.items(), r):
            if t.upper() == "JSON" and isinstance(v, str):
                v = json.loads(v)
            d[c] = normalise_paths(v, roots)
        out.append(d)
    return list(types), types, out


@dataclass
class TableResult:
    name: str
    rows_base: int
    rows_head: int
    differences: list[str]


def compare_table(table: str, db_a: Path, db_b: Path, roots_a: dict, roots_b: dict) -> TableResult:
    cols_a, types_a, rows_a = read_table(db_a, table, roots_a)
    cols_b, types_b, rows_b = read_table(db_b, table, roots_b)
    diffs: list[str] = []
    if cols_a != cols_b:
        diffs.append(f"columns differ: only base {sorted(set(cols_a) - set(cols_b))}, "
                     f"only head {sorted(set(cols_b) - set(cols_a))}, order base {cols_a} head {cols_b}")
    for c in sorted(set(types_a) & set(types_b)):
        if types_a[c] != types_b[c]:
            diffs.append(f"column {c}: type {types_a[c]} vs {types_b[c]}")
    key = TABLES[table]
    by_a, by_b = _by_key(rows_a, key, diffs, "base"), _by_key(rows_b, key, diffs, "head")
    only_a, only_b = sorted(set(by_a) - set(by_b), key=str), sorted(set(by_b) - set(by_a), key=str)
    if only_a:
        diffs.append(f"{len(only_a)} row(s) only in base, e.g. {[_key_text(k) for k in only_a[:MAX_SHOWN]]}")
    if only_b:
        diffs.append(f"{len(only_b)} row(s) only in head, e.g. {[_key_text(k) for k in only_b[:MAX_SHOWN]]}")
    changed = 0
    common_cols = [c for c in cols_a if c in set(cols_b)]
    for k in sorted(set(by_a) & set(by_b), key=str):
        ra, rb = by_a[k], by_b[k]
        cols = [c for c in common_cols if ra[c] != rb[c]]
        if not cols:
            continue
        changed += 1
        if changed <= MAX_SHOWN:
            for c in cols:
                if isinstance(ra[c], (dict, list)) and isinstance(rb[c], (dict, list)):
                    for d in json_differences(ra[c], rb[c], path=c):
                        diffs.append(f"{_key_text(k)}: {d}")
                else:
                    diffs.append(f"{_key_text(k)}: {c}: {_short(ra[c])} vs {_short(rb[c])}")
    if changed:
        diffs.append(f"{changed} row(s) with the same key differ")
    return TableResult(table, len(rows_a), len(rows_b), diffs)


def _by_key(rows: list[dict], key: tuple[str, ...], diffs: list[str], side: str) -> dict:
    out: dict = {}
    for r in rows:
        k = tuple(r.get(c) for c in key)
        if k in out:
            diffs.append(f"{side}: duplicate key {_key_text(k)}")
        out[k] = r
    return out


def _key_text(k: tuple) -> str:
    return "/".join(str(x) for x in k)


# --- running revisions ----------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Revision:
    label: str       # "base" / "head"
    spec: str        # as given
    tree: Path       # source tree the runner imports
    commit: str
    python: str = sys.executable
    worktree: bool = False  # a temporary git worktree to remove


def checkout(repo: Path, label: str, spec: str, scratch: Path) -> Revision:
    if spec == "worktree":
        dirty = bool(_git(repo, "status", "--porcelain", "--untracked-files=no"))
        return Revision(label, spec, repo, _git(repo, "rev-parse", "--short", "HEAD") + (" + uncommitted" if dirty else ""))
    commit = _git(repo, "rev-parse", "--verify", f"{spec}^{{commit}}")
    tree = scratch / f"src-{label}"
    _git(repo, "worktree", "add", "--detach", str(tree), commit)
    return Revision(label, spec, tree, commit[:10], worktree=True)


def remove_checkout(repo: Path, rev: Revision) -> None:
    if rev.worktree:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(rev.tree)],
                       capture_output=True, text=True)
        shutil.rmtree(rev.tree, ignore_errors=True)
        subprocess.run(["git", "-C", str(repo), "worktree", "prune"], capture_output=True, text=True)


def own_venv(rev: Revision) -> None:
    """``uv sync --locked`` in the revision's tree and use its interpreter."""
    subprocess.run(["uv", "sync", "--locked", "--quiet", "--directory", str(rev.tree)], check=True,
                   env={k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}})
    rev.python = str(rev.tree / ".venv" / "bin" / "python")


def child_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOWINCOME_")}
    env.update(LOWINCOME_HMAC_KEY=HMAC_KEY, PYTHONPATH=str(tree), GX_ANALYTICS_ENABLED="false",
               PYTHONUNBUFFERED="1")
    env.pop("PYTHONSAFEPATH", None)
    return env


def run_child(rev: Revision, args: list[str], log: Path) -> float:
    t0 = time.perf_counter()
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.run([rev.python, "-c", RUNNER, args[0], str(rev.tree), *args[1:]], cwd=rev.tree,
                              env=child_env(rev.tree), stdout=f, stderr=subprocess.STDOUT)
    text = log.read_text("utf-8", "replace")
    first = next((line for line in text.splitlines() if line.startswith("pipelines imported from")), "")
    print(f"  [{rev.label}] {first or 'pipelines import not confirmed'}")
    if proc.returncode != 0:
        print(f"  [{rev.label}] {args[0]} FAILED (exit {proc.returncode}); last lines of {log}:")
        print("\n".join("    " + x for x in text.splitlines()[-25:]))
        raise SystemExit(2)
    return time.perf_counter() - t0


# --- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="git revision of the reference run (required unless --recompare)")
    ap.add_argument("--head", default="worktree", help="git revision, or 'worktree' (default): this checkout")
    ap.add_argument("--households", type=int, default=300)
    ap.add_argument("--months", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261)
    ap.add_argument("--generator", choices=("base", "head"), default="base",
                    help="whose synth generator writes the province (default base)")
    ap.add_argument("--venv", choices=("shared", "own"), default="shared",
                    help="shared: this environment's Python for both; own: uv sync --locked in each tree")
    ap.add_argument("--keep", type=Path, help="keep province, runs and warehouses in this (new or empty) dir")
    ap.add_argument("--recompare", type=Path, metavar="DIR",
                    help="only compare the two runs kept in DIR by an earlier --keep DIR")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every outbox file")
    args = ap.parse_args(argv)
    if args.recompare:
        work = args.recompare.resolve()
        roots = json.loads((work / "roots.json").read_text("utf-8"))
        return 1 if report(work / "run-base", work / "run-head", roots["base"], roots["head"], args.verbose) else 0
    if not args.base:
        ap.error("--base is required")

    t_start = time.perf_counter()
    repo = Path(_git(Path(__file__).resolve().parent, "rev-parse", "--show-toplevel"))
    if args.keep:
        work = args.keep.resolve()
        if work.exists() and any(work.iterdir()):
            ap.error(f"--keep {work}: not empty")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="compare_revisions_")).resolve()
    scratch = Path(tempfile.mkdtemp(prefix="compare_revisions_src_")).resolve()
    revs: list[Revision] = []
    try:
        base = checkout(repo, "base", args.base, scratch)
        revs.append(base)
        head = checkout(repo, "head", args.head, scratch)
        revs.append(head)
        print(f"base {args.base} = {base.commit}   head {args.head} = {head.commit}")
        if args.venv == "own":
            for rev in revs:
                own_venv(rev)
        elif (base.tree / "uv.lock").read_bytes() != (head.tree / "uv.lock").read_bytes():
            print("  WARNING: uv.lock differs between the revisions; consider --venv own")

        gen = base if args.generator == "base" else head
        province = work / "province"
        print(f"province: {args.households} households x {args.months} months, seed {args.seed}, "
              f"generated by the {gen.label} revision's generator into {province}")
        t = run_child(gen, ["generate", str(province), str(args.households), str(args.months), str(args.seed)],
                      work / "generate.log")
        print(f"  generated in {t:.1f}s")

        runs = {}
        for rev in revs:
            run = work / f"run-{rev.label}"
            run.mkdir()
            # each run its own copy: the replay's offices add the economic checks their answers rest on to
            # the landing (pipelines.demo.simulate_checks)
            shutil.copytree(province, run / "province")
            t = run_child(rev, ["replay", str(run / "province"), str(run)], work / f"replay-{rev.label}.log")
            print(f"  [{rev.label}] night loop in {t:.1f}s (log {work / f'replay-{rev.label}.log'})")
            runs[rev.label] = run

        roots = {rev.label: {**root_variants(runs[rev.label], "<RUN>"), **root_variants(rev.tree, "<SRC>")}
                 for rev in revs}
        (work / "roots.json").write_text(json.dumps(roots, indent=2), encoding="utf-8")
        failed = report(runs["base"], runs["head"], roots["base"], roots["head"], args.verbose)
        print(f"total {time.perf_counter() - t_start:.1f}s; outputs "
              + (f"kept in {work}" if args.keep else "removed (use --keep DIR to keep them)"))
        return 1 if failed else 0
    finally:
        for rev in revs:
            remove_checkout(repo, rev)
        shutil.rmtree(scratch, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def report(run_a: Path, run_b: Path, roots_a: dict, roots_b: dict, verbose: bool) -> bool:
    """Print the comparison of two runs; True when they differ beyond print/layout settings."""
    failed = False
    print("\ntables")
    for table in TABLES:
        r = compare_table(table, run_a / "warehouse" / "warehouse.duckdb", run_b / "warehouse" / "warehouse.duckdb",
                          roots_a, roots_b)
        state = "identical" if not r.differences else "DIFFERS"
        print(f"  {table:18} {r.rows_base} rows base, {r.rows_head} rows head: {state}")
        for d in r.differences[:4 * MAX_SHOWN]:
            print(f"      {d}")
        failed |= bool(r.differences)

    results, problems = compare_outbox(run_a / "outbox", run_b / "outbox", roots_a, roots_b)
    by_status = {s: [rel for rel, r in results.items() if r.status == s] for s in ("identical", "layout", "DIFFERS")}
    print(f"\noutbox: {len(results)} files in both; identical {len(by_status['identical'])}, "
          f"layout only {len(by_status['layout'])}, DIFFERS {len(by_status['DIFFERS'])}")
    for p in problems:
        print(f"  DIFFERS: {p}")
    failed |= bool(problems) or bool(by_status["DIFFERS"])
    for rel in by_status["DIFFERS"]:
        print(f"  DIFFERS   {rel}")
        for n in results[rel].notes[:MAX_SHOWN]:
            print(f"              {n}")
    settings: set[str] = set()
    groups: dict[tuple, list[str]] = {}
    for rel in by_status["layout"]:
        settings |= results[rel].settings
        groups.setdefault(tuple(sorted(results[rel].settings)), []).append(rel)
    for key, files in groups.items():
        print(f"  layout    {len(files)} file(s) differ only in: {'; '.join(key)}")
        print(f"              e.g. {', '.join(files[:3])}")
    if verbose:
        for rel, r in results.items():
            print(f"  {r.status:9} {rel}" + (f"  ({'; '.join(r.notes)})" if r.notes else ""))
    if failed:
        print("\nRESULT: DIFFERENT")
    else:
        print("\nRESULT: equal" + (f" ({len(by_status['layout'])} file(s) differ only in print/layout settings: "
                                   f"{', '.join(sorted({s.split(':')[0] for s in settings}))})"
                                   if by_status["layout"] else ""))
    return failed


if __name__ == "__main__":
    sys.exit(main())
