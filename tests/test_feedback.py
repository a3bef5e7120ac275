"""Feedback intake: template round trip, forward-only statuses, line-by-line rejections,
apply-once, confirmation rate."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from case_fixtures import add_warning, case_rows, events_of, warehouse
from pipelines.cases import update_cases
from pipelines.dispatch import FEEDBACK_COLUMNS, write_extracts
from pipelines.feedback import apply_feedback

NIGHT = dt.date(2026, 2, 7)
ANSWER = dt.date(2026, 2, 9)
NEXT = dt.date(2026, 2, 10)


@pytest.fixture
def setup(tmp_path):
    con = warehouse(tmp_path)
    add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(con, "F002", "EXP_MED", "high", "2026-01", ["NHSA", "MCA"])
    add_warning(con, "F003", "POP_DISABILITY", "medium", "2026-01", ["CDPF"])
    add_warning(con, "HHK004", "ELIG_DIBAO", "high", "2026-01", ["MCA"])
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    yield con, tmp_path
    con.close()


def _case(con, household: str) -> str:
    return case_rows(con, f"household_id = '{household}'")[0]["case_id"]


def _template(tmp_path: Path, dept: str, county: str) -> list[dict]:
    with open(tmp_path / "outbox" / dept / county / NIGHT.isoformat() / "feedback_template.csv",
              encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write(tmp_path: Path, dept: str, day: dt.date, rows: list[dict], name: str = "feedback.csv",
           encoding: str = "utf-8-sig", header: list[str] | None = None, office: str | None = "330102") -> Path:
    """A feedback file in the office's folder feedback/<DEPT>/<office>/<date>/ (``office`` None:
    the old place feedback/<DEPT>/<date>/)."""
    path = tmp_path / "feedback" / dept / (office or "") / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header or list(FEEDBACK_COLUMNS))
        for r in rows:
            w.writerow([r.get(c, "") for c in FEEDBACK_COLUMNS])
    return path


def _status(con, case_id: str, department: str | None = None) -> str:
    """The case's status, or one department's status on it (case life cycle v2)."""
    if department is None:
        return con.execute("select status from mart.cases where case_id = ?", [case_id]).fetchone()[0]
    return con.execute("select s.status from (select unnest(department_status) as s from mart.cases "
                       "where case_id = ?) where s.department = ?", [case_id, department]).fetchone()[0]


def test_round_trip_template_to_forward_statuses(setup):
    con, tmp = setup
    rows = _template(tmp, "MCA", "330102")
    assert {r["case_id"] for r in rows} == {_case(con, "F001"), _case(con, "F002")}
    filled = []
    for r in rows:
        status = "verified" if r["case_id"] == _case(con, "F001") else "accepted"
        filled.append({**r, "status": status, "action": "入户核实 home visit", "handled_on": ANSWER.isoformat(),
                       "handler": "刘洋", "note": "=1+1 备注"})
    _write(tmp, "MCA", ANSWER, filled)
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_applied, s.lines, s.applied, s.rejected) == (1, 2, 2, 0)
    f001, f002 = _case(con, "F001"), _case(con, "F002")
    assert _status(con, f001) == "verified" and _status(con, f002, "MCA") == "accepted"
    assert _status(con, f002) == "dispatched"  # NHSA, its other department, has not answered yet
    ev = events_of(con, f001)
    assert [e[1] for e in ev] == ["opened", "dispatched", "accepted", "verified"]
    assert ev[-1][4] == "刘洋@MCA"
    detail = json.loads(con.execute(
        "select detail from mart.case_events where case_id = ? and action = 'accepted'", [f001]).fetchone()[0])
    assert detail["implied"] is True and detail["handled_on"] == "2026-02-09" and detail["action"] == "入户核实 home visit"
    at = con.execute("""select (timezone('Asia/Shanghai', "at"))::date from mart.case_events
                        where case_id = ? and action = 'verified'""", [f001]).fetchone()[0]
    assert at == ANSWER
    # applied once: the same file (even copied elsewhere) is skipped
    s2 = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s2.files_already_applied, s2.applied) == (1, 0)
    # later feedback moves the case further: verified -> assisted with an amount
    _write(tmp, "MCA", dt.date(2026, 2, 12), [{"case_id": f001, "status": "assisted", "amount_yuan": "1,200.50",
                                               "handled_on": "2026/2/12", "handler": "刘洋", "action": "临时救助"}])
    s3 = apply_feedback(con, tmp / "feedback", dt.date(2026, 2, 13), work_dir=tmp / "work")
    assert s3.applied == 1 and _status(con, f001) == "assisted"
    closed = con.execute("select closed_at is not null, awaiting_feedback from mart.cases where case_id = ?",
                         [f001]).fetchone()
    assert closed == (True, False)
    amount = json.loads(con.execute("select detail from mart.case_events where case_id = ? and action = 'assisted'",
                                    [f001]).fetchone()[0])["amount_yuan"]
    assert amount == "1200.50"
    audit = con.execute("select count(*) from ops.audit_log where action = 'feedback_applied'").fetchone()[0]
    assert audit == 2


def test_xlsx_template_saved_as_csv_without_bom(setup):
    """A department fills feedback_template.xlsx (bilingual headers) and saves it as plain CSV."""
    con, tmp = setup
    wb = load_workbook(tmp / "outbox/CDPF/330103/2026-02-07/feedback_template.xlsx")
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header[1] == "状态 status"
    cid = ws["A2"].value
    _write(tmp, "CDPF", ANSWER, [{"case_id": cid, "status": "核实属实", "handled_on": "2026-02-09 00:00:00",
                                  "handler": "赵"}], encoding="utf-8", header=header, office="330103")
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert s.applied == 1 and _status(con, cid) == "verified"
    enc = con.execute("select encoding from ops.feedback_files").fetchone()[0]
    assert enc == "utf-8"


def test_gb18030_and_transferred(setup):
    """转办: the note names the target office; the case goes to that office in the next extract, and
    only that office answers it from then on."""
    con, tmp = setup
    cid = _case(con, "F002")
    _write(tmp, "NHSA", ANSWER, [{"case_id": cid, "status": "transferred", "handled_on": "2026-02-09",
                                  "handler": "陈", "note": "转至市医保局 to the city office"}], encoding="gb18030")
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.applied, s.rejected) == (0, 1)  # no office named: rejected, with the reason
    field, reason = con.execute("select field, reason from ops.feedback_rejects").fetchone()
    assert field == "note" and "must name the target office" in reason
    _write(tmp, "NHSA", ANSWER, [{"case_id": cid, "status": "transferred", "handled_on": "2026-02-09",
                                  "handler": "陈", "note": "转至 330103 医保局 to office 330103"}], encoding="gb18030",
           name="feedback_2.csv")
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert s.applied == 1
    assert _status(con, cid, "NHSA") == "accepted"  # transferred is an event; it implies accepted
    assert [e[1] for e in events_of(con, cid)][-2:] == ["accepted", "transferred"]
    assert con.execute("select encoding from ops.feedback_files where status = 'applied'").fetchone()[0] == "gb18030"
    # the next extract carries the case to the office the note named, marked 转办
    written = write_extracts(con, tmp / "outbox", NEXT)
    assert [p.relative_to(tmp / "outbox").as_posix() for p in written] == ["NHSA/330103/2026-02-10"]
    text = (tmp / "outbox/NHSA/330103/2026-02-10/cases.csv").read_text(encoding="utf-8-sig")
    assert cid in text and "转办 transferred" in text
    assert con.execute("select kind, dispatch_round from mart.case_dispatches where case_id = ? and county_code = "
                       "'330103'", [cid]).fetchall() == [("transfer", 1)]
    # the office that handed it on answers no more; the new office does
    day = dt.date(2026, 2, 12)
    _write(tmp, "NHSA", day, [{"case_id": cid, "status": "verified", "handled_on": "2026-02-11", "handler": "陈"}])
    _write(tmp, "NHSA", day, [{"case_id": cid, "status": "assisted", "amount_yuan": "1,200", "handled_on": "2026-02-11",
                               "handler": "周"}], office="330103")
    s = apply_feedback(con, tmp / "feedback", day, work_dir=tmp / "work")
    assert (s.applied, s.rejected) == (1, 1)
    assert "transferred to office 330103" in con.execute(
        "select reason from ops.feedback_rejects where office = '330102' and as_of = ?", [day]).fetchone()[0]
    assert _status(con, cid, "NHSA") == "assisted" and _status(con, cid) == "dispatched"  # MCA not yet
    assert con.execute("select encoding from ops.feedback_files").fetchone()[0] == "gb18030"


def test_rejections_line_by_line(setup):
    con, tmp = setup
    f001, f002, f003, h004 = (_case(con, h) for h in ("F001", "F002", "F003", "HHK004"))
    # first make F002 verified, so "accepted" afterwards is a move back
    _write(tmp, "MCA", ANSWER, [{"case_id": f002, "status": "verified", "handled_on": "2026-02-09", "handler": "刘"}])
    apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    day = dt.date(2026, 2, 11)
    rows_330102 = [
        {"case_id": "C-330102-ffffffffff", "status": "accepted", "handled_on": "2026-02-10", "handler": "刘"},  # 2 unknown
        {"case_id": f003, "status": "accepted", "handled_on": "2026-02-10", "handler": "刘"},  # 3 CDPF's case
        {"case_id": f002, "status": "accepted", "handled_on": "2026-02-10", "handler": "刘"},  # 4 backward
        {"case_id": f001, "status": "not_verified", "handled_on": "2026-02-10", "handler": "刘"},  # 5 good
        {"case_id": f001, "status": "verified", "handled_on": "2026-02-10", "handler": "刘"},  # 6 after final
        {"case_id": h004, "status": "accepted", "handled_on": "2026-02-10", "handler": "刘"},  # 7 the other office's
    ]
    rows_330103 = [
        {"case_id": h004, "status": "approved", "handled_on": "2026-02-10", "handler": "刘"},  # 2 bad status
        {"case_id": h004, "status": "assisted", "amount_yuan": "-5", "handled_on": "2026-02-10", "handler": "刘"},  # 3
        {"case_id": h004, "status": "accepted", "handled_on": "2026-13-45", "handler": "刘"},  # 4 bad date
        {"case_id": h004, "status": "accepted", "handled_on": "2026-02-01", "handler": "刘"},  # 5 before dispatch
        {"case_id": h004, "status": "accepted", "handled_on": "2026-02-10", "handler": ""},  # 6 no handler
        {"case_id": h004},  # 7 blank template line: not an answer yet
        {"case_id": h004, "status": "not verified", "handled_on": "2026-02-10", "handler": "刘"},  # 8 not one code
        {"case_id": h004, "status": "verified 核实属实", "handled_on": "2026-02-10", "handler": "刘"},  # 9 two forms
        {"case_id": h004, "status": "Accepted\u3000", "handled_on": "2026-02-10", "handler": "刘"},  # 10 good (trimmed)
    ]
    path = _write(tmp, "MCA", day, rows_330102)
    _write(tmp, "MCA", day, rows_330103, office="330103")
    s = apply_feedback(con, tmp / "feedback", dt.date(2026, 2, 12), work_dir=tmp / "work")
    assert (s.lines, s.applied, s.rejected, s.blank) == (15, 2, 12, 1)
    assert _status(con, f001) == "not_verified" and _status(con, f002, "MCA") == "verified"
    assert _status(con, h004) == "accepted"
    rejects = con.execute("select office, line, field, reason from ops.feedback_rejects order by office, line").fetchall()
    by_line = {(office, line): (field, reason) for office, line, field, reason in rejects}
    assert len(by_line) == len(rejects) == 12
    a, b = "330102", "330103"
    assert by_line[a, 2][0] == "case_id" and "unknown case_id" in by_line[a, 2][1]
    assert by_line[a, 3][0] == "case_id" and "not sent to MCA" in by_line[a, 3][1] and "CDPF" in by_line[a, 3][1]
    assert by_line[a, 4][0] == "status" and "cannot move from verified to accepted" in by_line[a, 4][1]
    assert by_line[a, 6][0] == "status" and "already final" in by_line[a, 6][1]
    assert by_line[a, 7][0] == "case_id" and "not sent to office 330102 of MCA (sent to MCA 330103)" in by_line[a, 7][1]
    assert by_line[b, 2][0] == "status" and "exactly one code" in by_line[b, 2][1]
    assert by_line[b, 3][0] == "amount_yuan"
    assert by_line[b, 4][0] == "handled_on" and "not a date" in by_line[b, 4][1]
    assert by_line[b, 5][0] == "handled_on" and "before the case was sent" in by_line[b, 5][1]
    assert by_line[b, 6][0] == "handler"
    assert by_line[b, 8][0] == "status" and by_line[b, 9][0] == "status"
    assert (a, 5) not in by_line and (b, 7) not in by_line and (b, 10) not in by_line
    # the report: CSV (BOM) + JSON naming file, line, field, reason
    report_dir = tmp / "work/feedback_reports/MCA/2026-02-11"
    csv_report = (report_dir / "feedback_rejects.csv").read_bytes()
    assert csv_report.startswith(b"\xef\xbb\xbf")
    with open(report_dir / "feedback_rejects.csv", encoding="utf-8-sig", newline="") as f:
        report_rows = list(csv.DictReader(f))
    assert report_rows and report_rows[0]["文件 file"] == path.name
    js = json.loads((report_dir / "feedback_report.json").read_text(encoding="utf-8"))
    assert js["office"] in (a, b) and js["rejected"] == len(js["rejects"])
    assert {r["line"] for r in js["rejects"]} == {line for (o, line) in by_line if o == js["office"]}


def test_bad_header_rejects_file_and_future_folder_waits(setup):
    con, tmp = setup
    bad = tmp / "feedback/MCA/330102/2026-02-09/feedback.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("id,result\nx,y\n", encoding="utf-8-sig")
    _write(tmp, "MCA", dt.date(2026, 3, 1), [{"case_id": _case(con, "F001"), "status": "accepted",
                                              "handled_on": "2026-03-01", "handler": "刘"}])
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_rejected, s.files_not_yet_visible, s.applied) == (1, 1, 0)
    assert con.execute("select field from ops.feedback_rejects").fetchall() == [("header",)]
    assert con.execute("select status from ops.feedback_files").fetchall() == [("rejected",)]
    s2 = apply_feedback(con, tmp / "feedback", dt.date(2026, 3, 2), work_dir=tmp / "work")
    assert (s2.files_already_applied, s2.files_applied, s2.applied) == (1, 1, 1)


def test_confirmation_rate_and_feedback_answers_stop_escalation(setup):
    con, tmp = setup
    f001, f002, h004 = _case(con, "F001"), _case(con, "F002"), _case(con, "HHK004")
    _write(tmp, "MCA", ANSWER, [
        {"case_id": f001, "status": "verified", "handled_on": "2026-02-09", "handler": "刘"},
        {"case_id": f002, "status": "not_verified", "handled_on": "2026-02-09", "handler": "刘"},
    ])
    _write(tmp, "MCA", ANSWER, [
        {"case_id": h004, "status": "assisted", "amount_yuan": "800", "handled_on": "2026-02-09", "handler": "刘"},
    ], office="330103")
    apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    # weeks later: the CDPF case (no feedback) escalates to the county MCA office, and so does F002,
    # whose other department (NHSA) never answered
    written = write_extracts(con, tmp / "outbox", dt.date(2026, 3, 1))
    assert [p.relative_to(tmp / "outbox").as_posix() for p in written] == ["MCA/330102/2026-03-01",
                                                                           "MCA/330103/2026-03-01"]
    assert con.execute("select case_id from mart.case_dispatches where kind = 'escalation' and county_code = "
                       "'330102'").fetchall() == [(f002,)]
    stats = {(r[0], r[1]): r[2:] for r in con.execute("""
        select indicator_code, county_code, cases, answered, verified, not_verified, confirmation_rate, overdue
        from mart.feedback_stats""").fetchall()}
    assert stats[("INC_DROP", "330102")] == (1, 1, 1, 0, 1.0, 0)
    assert stats[("EXP_MED", "330102")] == (1, 1, 0, 1, 0.0, 1)  # NHSA never answered: escalated
    assert stats[("ELIG_DIBAO", "330103")] == (1, 1, 1, 0, 1.0, 0)  # assisted implies verified
    assert stats[("POP_DISABILITY", "330103")] == (1, 0, 0, 0, None, 1)
    overview = dict(con.execute("select case_id, stage from mart.case_overview").fetchall())
    assert overview[_case(con, "F003")] == "逾期升级 escalated"
    assert overview[f001] == "办理中 in_progress" and overview[f002] == "逾期升级 escalated"  # NHSA silent


def test_file_rejected_in_a_wrong_folder_still_applies_in_the_right_one(setup):
    """The same bytes first dropped into an unknown department's folder (rejected whole), then into
    the right one: applied there once; re-running or copying it again applies nothing more."""
    con, tmp = setup
    rows = [{"case_id": _case(con, "F001"), "status": "accepted", "handled_on": "2026-02-09", "handler": "刘"}]
    wrong = _write(tmp, "XYZ", ANSWER, rows)
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_rejected, s.applied) == (1, 0)
    right = _write(tmp, "MCA", ANSWER, rows)
    assert right.read_bytes() == wrong.read_bytes()
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_already_applied, s.files_applied, s.applied) == (1, 1, 1)
    assert _status(con, rows[0]["case_id"]) == "accepted"
    _write(tmp, "MCA", dt.date(2026, 2, 10), rows)  # a copy in a later folder
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_already_applied, s.files_applied, s.applied) == (3, 0, 0)
    assert sorted(con.execute("select department, status from ops.feedback_files").fetchall()) == \
        [("MCA", "applied"), ("XYZ", "rejected")]


# --- office folders -------------------------------------------------------------------------------

def test_an_office_answers_only_its_own_cases_and_the_old_place_is_rejected_whole(setup):
    """MCA office 330102 may answer the cases sent to 330102, not those of 330103; a file in the old
    place feedback/MCA/<date>/ is rejected whole, unread, saying where the office's folder is, and
    applies once moved there."""
    con, tmp = setup
    f001, h004 = _case(con, "F001"), _case(con, "HHK004")
    old = _write(tmp, "MCA", ANSWER, [{"case_id": f001, "status": "accepted", "handled_on": "2026-02-09",
                                       "handler": "刘"}], office=None)
    _write(tmp, "MCA", ANSWER, [{"case_id": h004, "status": "verified", "handled_on": "2026-02-09", "handler": "孙"}],
           name="feedback_other.csv")  # 330102 answering 330103's case
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_seen, s.files_rejected, s.applied, s.rejected) == (2, 1, 0, 1)
    assert _status(con, f001) == "dispatched" and _status(con, h004) == "dispatched"
    (reason,) = con.execute("select reason from ops.feedback_rejects where office = '330102'").fetchone()
    assert "not sent to office 330102 of MCA (sent to MCA 330103)" in reason
    (kind, where) = con.execute("select kind, reason from ops.unread_entries where area = 'feedback'").fetchone()
    assert kind == "old_place" and "feedback/MCA/<office_code>/2026-02-09/feedback.csv" in where
    report = json.loads((tmp / "work/feedback_reports/MCA/2026-02-09/feedback_report.json").read_text(encoding="utf-8"))
    assert report["status"] == "rejected" and report["rejects"][0]["field"] == "folder"
    audited = dict(con.execute("select action, count(*) from ops.audit_log group by 1").fetchall())
    assert (audited["feedback_file_rejected"], audited["feedback_applied"]) == (1, 1)
    # the next night does not reject it again; moved into the office's folder it applies
    assert apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work").files_rejected == 0
    moved = tmp / "feedback/MCA/330102/2026-02-09/feedback.csv"
    old.rename(moved)
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.files_applied, s.applied) == (1, 1) and _status(con, f001) == "accepted"
    # the extract's manifest says where the office answers
    manifest = json.loads((tmp / "outbox/MCA/330102/2026-02-07/manifest.json").read_text(encoding="utf-8"))
    assert manifest["feedback"]["path"] == "feedback/MCA/330102/<YYYY-MM-DD>/feedback.csv"


def test_the_county_mca_office_answers_the_escalations_it_received(setup):
    con, tmp = setup
    f003 = _case(con, "F003")  # CDPF's case in 330103, never answered
    write_extracts(con, tmp / "outbox", dt.date(2026, 3, 1))  # overdue: escalated to MCA 330103
    day = dt.date(2026, 3, 2)
    _write(tmp, "MCA", day, [{"case_id": f003, "status": "accepted", "handled_on": "2026-03-02", "handler": "周"}],
           office="330102")
    s = apply_feedback(con, tmp / "feedback", dt.date(2026, 3, 3), work_dir=tmp / "work")
    assert (s.applied, s.rejected) == (0, 1)
    # (other bytes: a file is read once per department, whichever office's folder it is in)
    _write(tmp, "MCA", day, [{"case_id": f003, "status": "accepted", "handled_on": "2026-03-02", "handler": "吴"}],
           office="330103")
    s = apply_feedback(con, tmp / "feedback", dt.date(2026, 3, 3), work_dir=tmp / "work")
    assert s.applied == 1 and _status(con, f003) == "accepted"


# --- symbolic links and secrets -------------------------------------------------------------------

SECRET = "hmac-secret-5f1c9a7e3b2d4c6a8e0f1b3d5c7a9e2f"


def _all_ops_text(con) -> str:
    return "\n".join(repr(r) for t in ("ops.feedback_rejects", "ops.feedback_files", "ops.audit_log",
                                       "ops.unread_entries")
                     for r in con.execute(f"select columns(*)::varchar from {t}").fetchall())


def test_links_are_never_followed_and_secrets_never_echoed(setup):
    con, tmp = setup
    f001 = _case(con, "F001")
    key = tmp / "keys" / "hmac.key"
    key.parent.mkdir()
    key.write_text(SECRET + "\n")
    folder = tmp / "feedback/MCA/330102/2026-02-09"
    folder.mkdir(parents=True)
    (folder / "feedback.csv").symlink_to(key)  # a "feedback file" that is a link to a key file
    (tmp / "feedback/MCA/330103").symlink_to(tmp / "keys")  # an office folder that is a link
    # a real copy of the key as a feedback file: its header (the key) must not be echoed either
    (folder / "feedback_copy.csv").write_text(SECRET + "\n" + SECRET[:20] + ",x\n", encoding="utf-8")
    # a line whose rejected value carries the key
    _write(tmp, "MCA", ANSWER, [{"case_id": f001, "status": SECRET, "handled_on": "2026-02-09", "handler": "刘"},
                                {"case_id": f001 + SECRET[5:30], "status": "accepted", "handled_on": "2026-02-09",
                                 "handler": "刘"}], name="feedback_lines.csv")
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work", secrets=[SECRET.encode()])
    assert s.files_seen == 2 and s.applied == 0 and s.rejected == 2
    unread = dict(con.execute("select path, kind from ops.unread_entries").fetchall())
    assert unread == {"MCA/330102/2026-02-09/feedback.csv": "symlink", "MCA/330103": "symlink"}
    header = con.execute("select value, reason from ops.feedback_rejects where field = 'header'").fetchone()
    assert header[0] is None and "missing columns" in header[1]
    values = [v for (v,) in con.execute("select value from ops.feedback_rejects "
                                        "where field in ('status', 'case_id')").fetchall()]
    assert "[已隐去 withheld]" in values
    texts = [_all_ops_text(con)] + [p.read_text(encoding="utf-8-sig") for p in (tmp / "work").rglob("*") if p.is_file()]
    for text in texts:
        for i in range(0, len(SECRET) - 8):
            assert SECRET[i:i + 8] not in text


# --- huge, long and many ----------------------------------------------------------------------------

def test_a_huge_field_rejects_its_line_and_huge_files_are_rejected_whole(setup):
    from pipelines.feedback import FeedbackLimits

    con, tmp = setup
    f001, f002 = _case(con, "F001"), _case(con, "F002")
    _write(tmp, "MCA", ANSWER, [
        {"case_id": f001, "status": "accepted", "handled_on": "2026-02-09", "handler": "刘", "note": "长" * 200_000},
        {"case_id": f002, "status": "accepted", "handled_on": "2026-02-09", "handler": "刘", "note": "ok"},
    ])
    s = apply_feedback(con, tmp / "feedback", NEXT, work_dir=tmp / "work")
    assert (s.applied, s.rejected) == (1, 1) and _status(con, f002, "MCA") == "accepted"
    assert _status(con, f001) == "dispatched"
    field, value, reason = con.execute("select field, value, reason from ops.feedback_rejects").fetchone()
    assert field == "note" and len(value) <= 65 and "200,000 characters" in reason
    # too many lines, too many bytes: rejected whole, with the reason, nothing applied
    rows = [{"case_id": f001, "status": "verified", "handled_on": "2026-02-10", "handler": "刘"}] * 30
    _write(tmp, "MCA", dt.date(2026, 2, 10), rows, name="feedback_many.csv")
    _write(tmp, "MCA", dt.date(2026, 2, 10), rows[:1] + [{"case_id": f001, "note": "x" * 5000}], name="feedback_big.csv")
    limits = FeedbackLimits(max_bytes=4_000, max_lines=20, max_field_chars=2_000)
    s = apply_feedback(con, tmp / "feedback", dt.date(2026, 2, 11), work_dir=tmp / "work", limits=limits)
    assert (s.files_rejected, s.applied) == (2, 0) and _status(con, f001) == "dispatched"
    reasons = sorted(r for (r,) in con.execute("select reason from ops.feedback_rejects where field = 'file'").fetchall())
    assert "more than 20 lines" in reasons[1] and "larger than 4,000 bytes" in reasons[0]


def test_rejects_of_a_20000_line_file_are_recorded_in_bounded_memory(tmp_path):
    """20,000 rejected lines: one Arrow insert, the intake's peak memory grows by little (measured in
    a child process: peak RSS after the intake minus before it; a generous bound, not a timing)."""
    import subprocess
    import sys

    script = tmp_path / "intake.py"
    script.write_text(f"""
import csv, datetime as dt, resource, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from case_fixtures import add_warning, warehouse
from pipelines.cases import update_cases
from pipelines.dispatch import FEEDBACK_COLUMNS, write_extracts
from pipelines.feedback import apply_feedback
tmp = __import__("pathlib").Path({str(tmp_path)!r})
con = warehouse(tmp)
add_warning(con, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
update_cases(con, dt.date(2026, 2, 7))
write_extracts(con, tmp / "outbox", dt.date(2026, 2, 7))
path = tmp / "feedback/MCA/330102/2026-02-09/feedback.csv"
path.parent.mkdir(parents=True)
with open(path, "w", encoding="utf-8-sig", newline="") as f:
    w = csv.writer(f)
    w.writerow(FEEDBACK_COLUMNS)
    for i in range(20_000):
        w.writerow([f"C-330102-{{i:010d}}", "verified 核实属实", "", "-5", "2026-13-45", "", "备注" * 20])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = apply_feedback(con, tmp / "feedback", dt.date(2026, 2, 10), work_dir=tmp / "work")
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = con.execute("select count(*) from ops.feedback_rejects").fetchone()[0]
print(s.lines, s.rejected, n, (after - before) // 1024)
""")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    lines, rejected, records, grew_mb = map(int, out.stdout.split())
    assert (lines, rejected) == (20_000, 20_000) and records >= 20_000 * 4  # case, status, date, amount, handler
    print(f"intake of 20,000 rejected lines: peak memory grew by {grew_mb} MB")
    assert grew_mb < 400, f"the intake's peak memory grew by {grew_mb} MB"
