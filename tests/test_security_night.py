"""Secrets, encryption at rest and the audit trail on a whole night (``run_night``) and the feedback stage of the next
night (the department answers the cases it was sent):

- secrets: the HMAC key (from the environment) and the warehouse encryption key (from a key file
  outside the repo) appear in no log line, stdout/stderr, ledger, audit log, outbox file, report,
  work file, analyst database or warehouse file;
- encryption at rest: the night runs with ``encryption_key_file`` set; the warehouse file cannot be
  opened without the key and holds no 身份证号 or name in clear;
- audit trail: every extract folder written and every feedback file applied has a row in
  ``ops.audit_log`` with who, what, when, rows and the sha256 of what was sent / received.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import hashlib
import json
import logging
import re
import secrets
import stat
from pathlib import Path

import duckdb
import pytest

import ingest_fixtures as fx
from pipelines.config import REPO_ROOT, Settings
from pipelines.dispatch import FEEDBACK_COLUMNS
from pipelines.nightly import run_night, run_stage
from pipelines.warehouse import connect

P = "2026-01"
NIGHT1, NIGHT2 = dt.date(2026, 2, 10), dt.date(2026, 2, 12)


def _all_text(con) -> str:
    """Every value of every table in the open database, as text."""
    out = []
    for schema, table in con.execute("select schema_name, table_name from duckdb_tables() "
                                     "where database_name = current_database()").fetchall():
        for row in con.execute(f'select columns(*)::varchar from "{schema}"."{table}"').fetchall():
            out.append(repr(row))
    return "\n".join(out)


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    base = tmp_path_factory.mktemp("secure_night")
    hmac_key = secrets.token_hex(32)
    enc_key = "enc-" + secrets.token_hex(24)
    key_dir = base / "keys"  # outside the repo
    key_dir.mkdir()
    (key_dir / "warehouse.key").write_text(enc_key + "\n")
    assert REPO_ROOT not in key_dir.parents
    s = Settings(landing=base / "landing", warehouse=base / "wh" / "warehouse.duckdb", outbox=base / "outbox",
                 feedback=base / "feedback", show_progress=False, duckdb_threads=1, duckdb_memory_limit="1GB",
                 encryption_key_file=key_dir / "warehouse.key", extra={"data_docs": False})
    fx.tiny_province(s.landing, P, "2026-02-03")
    mp = pytest.MonkeyPatch()
    mp.setenv("LOWINCOME_HMAC_KEY", hmac_key)
    mp.delenv("LOWINCOME_ENCRYPTION_KEY", raising=False)
    mp.delenv("LOWINCOME_ALLOW_EPHEMERAL_HMAC_KEY", raising=False)
    log_lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            log_lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            first = run_night(s, NIGHT1)
        # an MCA office answers its cases (every line of its template; MCA: the town offices, and the
        # county office for its county acts)
        folder = sorted(s.outbox.glob(f"MCA/[0-9]*/{NIGHT1.isoformat()}"))[0]
        with open(folder / "feedback_template.csv", encoding="utf-8-sig", newline="") as f:
            answers = [r["case_id"] for r in csv.DictReader(f)]
        fb = s.feedback / "MCA" / folder.parent.name / "2026-02-11" / "feedback.csv"  # the office's own folder
        fb.parent.mkdir(parents=True)
        with open(fb, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(FEEDBACK_COLUMNS)
            for cid in answers:
                w.writerow([cid, "accepted", "入户核实", "", "2026-02-11", "王五", ""])
        # hostile "feedback": a link to the encryption key file, and a copy of the pseudonymisation key
        planted = [fb.with_name("feedback_key.csv"), fb.with_name("feedback_copy.csv")]
        planted[0].symlink_to(key_dir / "warehouse.key")
        planted[1].write_text(hmac_key + "\n" + hmac_key[:24] + ",accepted\n", encoding="utf-8")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            second = run_stage(s, "feedback", NIGHT2)  # the feedback stage of the next night, on the encrypted file
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    yield {"s": s, "hmac": hmac_key, "enc": enc_key, "logs": log_lines, "first": first, "second": second,
           "answers": answers, "feedback_file": fb, "extracts": first.extracts, "mp": mp, "planted": planted,
           "output": out.getvalue() + err.getvalue()}
    mp.undo()


def test_night_runs_encrypted_and_file_is_unreadable_without_key(nights):
    s = nights["s"]
    assert nights["first"].report and Path(nights["first"].report).exists()
    assert nights["first"].analyst_db and Path(nights["first"].analyst_db).exists()
    raw = s.warehouse.read_bytes()
    for clear in (fx.person_id(1).encode(), "张三".encode("utf-8"), fx.VILLAGE_URBAN.encode()):
        assert clear not in raw, clear
    with pytest.raises(duckdb.Error, match="(?i)encrypt"):
        duckdb.connect(str(s.warehouse), read_only=True)
    # the analyst build's pseudonym cache holds raw ids: encrypted with the same key, owner-only
    from pipelines.analyst import pseudonym_cache_path

    cache = pseudonym_cache_path(s)
    assert cache.exists() and stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert fx.person_id(1).encode() not in cache.read_bytes()
    with pytest.raises(duckdb.Error, match="(?i)encrypt"):
        duckdb.connect(str(cache), read_only=True)
    con = connect(s, read_only=True)  # with the key from the settings' key file
    try:
        assert con.execute("select count(*) from ops.deliveries where status = 'loaded'").fetchone()[0] == \
            len(fx.ALL_FEEDS)
        assert con.execute("select count(*) from staging.mca_roster").fetchone()[0] == 3
        assert con.execute("select count(*) from ops.runs").fetchone()[0] == 1
    finally:
        con.close()
    wrong = s.with_(encryption_key_file=s.encryption_key_file.parent / "wrong.key")
    wrong.encryption_key_file.write_text("not the key")
    with pytest.raises(duckdb.Error):
        connect(wrong, read_only=True).close()


def _forms(secret: str) -> list[bytes]:
    """The secret and recognisable parts of it, as they could leak."""
    b = secret.encode()
    return [b, b[:16], b[-16:], b.hex().encode()]


def test_no_secret_in_logs_ledger_outbox_report_or_databases(nights):
    s = nights["s"]
    logs = "\n".join(nights["logs"]) + nights["output"]
    assert nights["logs"], "the nights logged nothing: the scan would prove nothing"
    con = connect(s, read_only=True)
    try:
        warehouse_text = _all_text(con)
    finally:
        con.close()
    analyst = duckdb.connect(str(s.analyst_db), read_only=True)
    try:
        analyst_text = _all_text(analyst)
    finally:
        analyst.close()
    assert "ops.deliveries" not in warehouse_text  # (sanity: values, not names)
    files = [p for root in (s.outbox, s.work, s.warehouse.parent, s.feedback) for p in root.rglob("*")
             if p.is_file() and p not in nights["planted"]]  # (the planted inputs hold the keys, of course)
    assert any(p.suffix == ".html" for p in files) and any(p.name == "cases.xlsx" for p in files)
    for name in ("hmac", "enc"):
        for form in _forms(nights[name]):
            text = form.decode()
            assert text not in logs, f"{name} key in the logs"
            assert text not in warehouse_text, f"{name} key in the warehouse (ledger, audit log, runs, ...)"
            assert text not in analyst_text, f"{name} key in the analyst database"
            for p in files:
                assert form not in p.read_bytes(), f"{name} key in {p}"
            assert text not in nights["first"].render()
            assert text not in json.dumps(nights["first"].stages, default=str)
            assert text not in json.dumps(nights["second"].as_dict(), default=str)


def test_hostile_feedback_files_are_refused_without_echoing_a_key(nights):
    """The link to the key file is never opened (listed as a symbolic link); the copy of the key is
    rejected for its header without the header being echoed (the no-secret scan above covers every
    table, report and file)."""
    second = nights["second"]
    assert second.files_applied == 1 and second.files_rejected == 1
    con = connect(nights["s"], read_only=True)
    try:
        unread = con.execute("select path, kind from ops.unread_entries where area = 'feedback'").fetchall()
        header = con.execute("select value, reason from ops.feedback_rejects where field = 'header'").fetchall()
    finally:
        con.close()
    assert [(Path(p).name, k) for p, k in unread] == [("feedback_key.csv", "symlink")]
    assert len(header) == 1 and header[0][0] is None and "missing columns" in header[0][1]


def test_every_extract_and_feedback_file_is_audited(nights):
    s = nights["s"]
    extracts = nights["extracts"]
    assert extracts, "the tiny province raised no cases: nothing would be audited"
    assert nights["answers"]
    con = connect(s, read_only=True)
    try:
        rows = con.execute("""select actor, action, target, rows, sha256, detail, "at"::varchar
                              from ops.audit_log order by "at" """).fetchall()
    finally:
        con.close()
    written = {r[2]: r for r in rows if r[1] == "extract_written"}
    assert set(written) == {str(p) for p in extracts}
    for folder in extracts:
        actor, _, _, n, sha, detail, at = written[str(folder)]
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
        assert actor == "system" and at and re.match(r"\d{4}-\d{2}-\d{2} ", at)
        assert n == manifest["cases"] > 0
        assert sha == hashlib.sha256((Path(folder) / "manifest.json").read_bytes()).hexdigest()
        detail = json.loads(detail)
        assert (detail["department"], detail["office_code"]) == tuple(Path(folder).parts[-3:-1])
    fb = nights["feedback_file"]
    assert nights["second"].files_applied == 1 and nights["second"].applied == len(nights["answers"])
    (applied,) = [r for r in rows if r[1] == "feedback_applied"]
    actor, _, target, n, sha, detail, at = applied
    assert actor == "system" and at
    assert target == str(fb.resolve())
    assert n == len(nights["answers"])
    assert sha == hashlib.sha256(fb.read_bytes()).hexdigest()
    assert json.loads(detail)["department"] == "MCA"
    # nothing in the code base rewrites the audit trail (complements tests/test_dispatch.py)
    destructive = re.compile(r"(create\s+or\s+replace\s+table\s+ops\.audit_log|insert\s+or\s+replace\s+into\s+"
                             r"ops\.audit_log|alter\s+table\s+ops\.audit_log|delete\s+from\s+ops\.feedback_files|"
                             r"update\s+ops\.feedback_files)", re.I)
    sources = list((REPO_ROOT / "pipelines").rglob("*.py")) + list((REPO_ROOT / "warehouse").rglob("*.sql")) \
        + list((REPO_ROOT / "dags").rglob("*.py"))
    assert [str(p) for p in sources if destructive.search(p.read_text(encoding="utf-8"))] == []


def test_feedback_touches_only_the_departments_own_cases(tmp_path):
    """A feedback folder of an unknown department is rejected as a whole, and a department cannot
    move a case it was not sent (tests/test_feedback.py covers one department answering another's
    case line by line; this adds the unknown folder and checks nothing moved)."""
    from case_fixtures import add_warning, case_rows, warehouse
    from pipelines.cases import update_cases
    from pipelines.dispatch import write_extracts
    from pipelines.feedback import apply_feedback as apply

    night, answer = dt.date(2026, 2, 7), dt.date(2026, 2, 9)
    con = warehouse(tmp_path)
    try:
        add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
        add_warning(con, "F003", "POP_DISABILITY", "medium", "2026-01", ["CDPF"])
        update_cases(con, night)
        write_extracts(con, tmp_path / "outbox", night)
        cases = {r["household_id"]: r["case_id"] for r in case_rows(con)}
        for dept in ("XYZ", "HRSS", "CDPF"):
            folder = tmp_path / "feedback" / dept / "330102" / answer.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / "feedback.csv", "w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(FEEDBACK_COLUMNS)
                # an MCA case; the note differs per folder (identical bytes are deduplicated by hash)
                w.writerow([cases["F001"], "verified", "核实", "", answer.isoformat(), "赵六", dept])
        summary = apply(con, tmp_path / "feedback", dt.date(2026, 2, 10), work_dir=tmp_path / "work")
        assert summary.files_seen == 3 and summary.applied == 0 and summary.rejected == 2
        assert summary.files_rejected == 1
        assert {r["case_id"]: r["status"] for r in case_rows(con)} == {cases["F001"]: "dispatched",
                                                                        cases["F003"]: "dispatched"}
        rejects = con.execute("select department, field, reason from ops.feedback_rejects").fetchall()
        assert any(d == "XYZ" and "unknown department" in r for d, _, r in rejects)
        assert any(d in ("HRSS", "CDPF") and f == "case_id" and "not sent" in r for d, f, r in rejects)
    finally:
        con.close()
