"""Department extracts: layout, Chinese headers, only the office's cases and fields, formula
injection, BOM, manifest hashes, idempotent re-runs, audit log."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from case_fixtures import add_warning, case_rows, events_of, warehouse
from pipelines.cases import update_cases
from pipelines.config import REPO_ROOT
from pipelines.dispatch import FEEDBACK_COLUMNS, fields_for, write_extracts
from pipelines.spreadsheet import safe_text
from pipelines.rules import default_rules

NIGHT = dt.date(2026, 2, 7)


@pytest.fixture
def con(tmp_path):
    c = warehouse(tmp_path)
    # two counties (330102, 330103), two departments for EXP_MED (NHSA + MCA)
    add_warning(c, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(c, "F002", "EXP_MED", "high", "2026-01", ["NHSA", "MCA"])
    add_warning(c, "F003", "EXP_MED", "medium", "2026-01", ["NHSA", "MCA"])
    add_warning(c, "F003", "DISASTER", "urgent", "2026-01", ["MEM", "MOHURD"])
    add_warning(c, "HHK004", "ELIG_DIBAO", "high", "2026-01", ["MCA"],
                explanation="=cmd|' /C calc'!A0 人均收入低于低保标准")
    update_cases(c, NIGHT)
    yield c
    c.close()


def _read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_folders_per_department_and_county(con, tmp_path):
    outbox = tmp_path / "outbox"
    written = write_extracts(con, outbox, NIGHT)
    assert [p.relative_to(outbox).as_posix() for p in written] == [
        "MCA/330102/2026-02-07", "MCA/330103/2026-02-07", "MEM/330103/2026-02-07",
        "MOHURD/330103/2026-02-07", "NHSA/330102/2026-02-07", "NHSA/330103/2026-02-07"]
    for folder in written:
        assert sorted(p.name for p in folder.iterdir()) == [
            "cases.csv", "cases.xlsx", "feedback_template.csv", "feedback_template.xlsx", "manifest.json"]
    # no temp folders left behind
    assert not [p for p in outbox.rglob(".*")]


def test_xlsx_chinese_headers_and_indicator_sheet(con, tmp_path):
    (folder, *_) = write_extracts(con, tmp_path / "outbox", NIGHT)  # MCA/330102
    wb = load_workbook(folder / "cases.xlsx")
    assert wb.sheetnames[:2] == ["案件 cases", "指标说明 indicators"]
    ws = wb["案件 cases"]
    header = [c.value for c in ws[1]]
    assert header[0] == "案件编号 case_id"
    assert "指标名称 indicator_name" in header and "身份证号 id_number" in header and "反馈期限 due_date" in header
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert {r["指标代码 indicator_code"] for r in rows} == {"INC_DROP", "EXP_MED"}
    assert {r["指标名称 indicator_name"] for r in rows} == {"收入骤减 income drop", "医疗支出骤增 medical spending spike"}
    assert {r["关键人员姓名 person_name"] for r in rows} == {"张三", "李四"}
    ind = wb["指标说明 indicators"]
    assert [c.value for c in ind[1]][:5] == ["指标代码 code", "指标名称 name", "预警规则 rule",
                                            "严重程度含义 severity meaning", "反馈期限 feedback deadline"]
    ind_rows = list(ind.iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in ind_rows] == ["EXP_MED", "INC_DROP"]  # only indicators present
    assert all(r[2] and r[3] and "天" in r[4] for r in ind_rows)


def test_only_that_offices_cases_and_fields(con, tmp_path):
    outbox = tmp_path / "outbox"
    write_extracts(con, outbox, NIGHT)
    cases = {r["case_id"]: r for r in case_rows(con)}
    for folder in outbox.glob("*/*/2026-02-07"):
        dept, county = folder.parts[-3], folder.parts[-2]
        rows = _read_csv(folder / "cases.csv")
        assert rows, folder
        for r in rows:
            case = cases[r["案件编号 case_id"]]
            assert case["county_code"] == county
            assert dept in case["departments"]
        expected = {cid for cid, c in cases.items() if c["county_code"] == county and dept in c["departments"]}
        assert {r["案件编号 case_id"] for r in rows} == expected
        # never the evidence JSON of a warning (other departments' source records)
        for f in folder.iterdir():
            if f.suffix == ".csv" or f.suffix == ".json":
                assert "secret_evidence" not in f.read_text(encoding="utf-8-sig")
        header = list(rows[0].keys())
        assert [h.split()[-1] for h in header] == fields_for(dept)
    nhsa = _read_csv(outbox / "NHSA/330102/2026-02-07/cases.csv")
    assert [r["指标代码 indicator_code"] for r in nhsa] == ["EXP_MED"]
    assert "原承办部门 departments" not in nhsa[0]  # only MCA sees the routing of other offices
    mem = _read_csv(outbox / "MEM/330103/2026-02-07/cases.csv")
    assert default_rules().department("MEM").id_number == "masked"
    assert re.fullmatch(r"330103\*{8}\d{4}", mem[0]["身份证号 id_number"])
    assert _read_csv(outbox / "MCA/330103/2026-02-07/cases.csv")[0]["身份证号 id_number"].isdigit()


def test_formula_injection_neutralised(con, tmp_path):
    outbox = tmp_path / "outbox"
    write_extracts(con, outbox, NIGHT)
    folder = outbox / "MCA/330103/2026-02-07"
    rows = _read_csv(folder / "cases.csv")
    evil = next(r for r in rows if r["指标代码 indicator_code"] == "ELIG_DIBAO")
    assert evil["预警说明 explanation"].startswith("'=cmd")
    assert evil["关键人员姓名 person_name"].startswith("'=HYPERLINK")
    ws = load_workbook(folder / "cases.xlsx")["案件 cases"]
    for row in ws.iter_rows(min_row=1):
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert safe_text("-1+1") == "'-1+1" and safe_text("@SUM(A1)") == "'@SUM(A1)" and safe_text("\t=1") == "'\t=1"
    assert safe_text("正常文本") == "正常文本" and safe_text(12) == 12


def test_csv_bom_template_and_manifest(con, tmp_path):
    outbox = tmp_path / "outbox"
    write_extracts(con, outbox, NIGHT)
    folder = outbox / "NHSA/330102/2026-02-07"
    for name in ("cases.csv", "feedback_template.csv"):
        assert (folder / name).read_bytes().startswith(b"\xef\xbb\xbf")
    template = _read_csv(folder / "feedback_template.csv")
    assert list(template[0].keys()) == list(FEEDBACK_COLUMNS)
    assert [t["case_id"] for t in template] == [r["案件编号 case_id"] for r in _read_csv(folder / "cases.csv")]
    assert all(t["status"] == "" for t in template)
    wb = load_workbook(folder / "feedback_template.xlsx")
    ws = wb.active
    dvs = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert dvs and "not_verified" in dvs[0].formula1 and "B2" in str(dvs[0].sqref)
    assert ws["A2"].value == template[0]["case_id"]
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["department"], manifest["county_code"], manifest["as_of"], manifest["cases"]) == (
        "NHSA", "330102", "2026-02-07", 1)
    for f in manifest["files"]:
        assert hashlib.sha256((folder / f["name"]).read_bytes()).hexdigest() == f["sha256"]
        assert f["rows"] == 1
    assert {f["name"] for f in manifest["files"]} == {"cases.xlsx", "cases.csv", "feedback_template.csv",
                                                       "feedback_template.xlsx"}


def test_marked_dispatched_and_rerun_sends_nothing(con, tmp_path):
    outbox = tmp_path / "outbox"
    first = write_extracts(con, outbox, NIGHT)
    assert all(r["status"] == "dispatched" and r["awaiting_feedback"] for r in case_rows(con))
    cid = next(r["case_id"] for r in case_rows(con) if r["household_id"] == "F002")
    assert [e[1] for e in events_of(con, cid)] == ["opened", "dispatched", "dispatched"]  # MCA and NHSA
    sums = {p: (p / "manifest.json").read_bytes() for p in first}
    audit = con.execute("select count(*) from ops.audit_log where action = 'extract_written'").fetchone()[0]
    assert audit == len(first)
    assert write_extracts(con, outbox, NIGHT) == []
    assert {p: (p / "manifest.json").read_bytes() for p in first} == sums
    assert con.execute("select count(*) from ops.audit_log where action = 'extract_written'").fetchone()[0] == audit
    assert con.execute("select count(*) from mart.case_dispatches").fetchone()[0] == 8
    # a case arriving later the same night: that office's folder is rebuilt with both cases
    add_warning(con, "F001", "POP_DEATH", "high", "2026-01", ["MCA"])
    update_cases(con, NIGHT)
    (again,) = write_extracts(con, outbox, NIGHT)
    assert again == outbox / "MCA/330102/2026-02-07"
    ids = {r["案件编号 case_id"] for r in _read_csv(again / "cases.csv")}
    assert len(ids) == 3  # INC_DROP and EXP_MED sent earlier, POP_DEATH now
    assert json.loads((again / "manifest.json").read_text())["cases"] == 3
    row = con.execute("""select rows, sha256, detail from ops.audit_log where action = 'extract_written'
                         order by "at" desc limit 1""").fetchone()
    assert row[0] == 3 and row[1] == hashlib.sha256((again / "manifest.json").read_bytes()).hexdigest()
    assert json.loads(row[2])["new_rows"] == 1


def test_audit_log_is_append_only_in_code():
    """No code path updates or deletes ops.audit_log (or the case history)."""
    pattern = re.compile(r"(update\s+ops\.audit_log|delete\s+from\s+ops\.audit_log|truncate\s+ops\.audit_log|"
                         r"drop\s+table\s+(if\s+exists\s+)?ops\.audit_log|update\s+mart\.case_events|"
                         r"delete\s+from\s+mart\.case_events)", re.I)
    offenders = []
    for path in list((REPO_ROOT / "pipelines").rglob("*.py")) + list((REPO_ROOT / "warehouse").rglob("*.sql")):
        if pattern.search(path.read_text(encoding="utf-8")):
            offenders.append(str(path))
    assert offenders == []


def test_xlsx_cells_exact_for_awkward_text(con, tmp_path):
    """The sheets' rows are written as XML by our code, not cell by cell through openpyxl: every
    value must come back exactly as the CSV has it, read by two independent XLSX readers."""
    from python_calamine import CalamineWorkbook

    awkward = " <b>收入 & 支出</b> 下降\x07 62%\r\n请核实 \"家庭\" 'x' " + "长" * 50 + " "
    add_warning(con, "F001", "EXP_HARDSHIP", "high", "2026-01", ["MCA"], explanation=awkward)
    update_cases(con, NIGHT)
    write_extracts(con, tmp_path / "outbox", NIGHT)
    folder = tmp_path / "outbox" / "MCA/330102/2026-02-07"
    csv_rows = _read_csv(folder / "cases.csv")
    header = list(csv_rows[0])
    # the one difference: control characters XML 1.0 cannot carry are dropped from the workbook
    expected = [[re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", r[h]) or None for h in header] for r in csv_rows]
    ws = load_workbook(folder / "cases.xlsx")["案件 cases"]
    assert ws.dimensions == f"A1:{ws.cell(1, len(header)).column_letter}{len(csv_rows) + 1}"
    got = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert got == expected
    cal = CalamineWorkbook.from_path(str(folder / "cases.xlsx")).get_sheet_by_index(0).to_python()
    assert cal[0] == header and [[v if v != "" else None for v in r] for r in cal[1:]] == expected
    row = next(r for r in got if r[header.index("预警说明 explanation")].startswith(" <b>"))
    text = row[header.index("预警说明 explanation")]
    assert text == awkward.replace("\x07", "")
    k = header.index("预警说明 explanation") + 1
    cell = next(c for (c,) in ws.iter_rows(min_col=k, max_col=k) if c.value == text)
    assert cell.alignment.wrap_text and cell.data_type == "s"
    assert ws.freeze_panes == "B2" and ws["A1"].font.b
    template = load_workbook(folder / "feedback_template.xlsx").active
    assert [c.value for c in template["A"][1:]] == [r["案件编号 case_id"] for r in csv_rows]
    assert all(template.cell(r, 5).number_format == "yyyy-mm-dd" for r in range(2, len(csv_rows) + 2))


def test_recording_is_one_transaction_after_every_folder(con, tmp_path, monkeypatch):
    """A failure while recording leaves the folders in place and nothing recorded; the rerun
    writes the same bytes and records each folder once."""
    import pipelines.dispatch as dispatch

    outbox = tmp_path / "outbox"
    calls = {"n": 0}
    real = dispatch.append_audit

    def failing(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk gone")
        return real(*a, **kw)

    monkeypatch.setattr(dispatch, "append_audit", failing)
    with pytest.raises(RuntimeError):
        write_extracts(con, outbox, NIGHT)
    folders = sorted(outbox.glob("*/*/2026-02-07"))
    assert len(folders) == 6
    first = {p: {f.name: f.read_bytes() for f in p.iterdir()} for p in folders}
    assert con.execute("select count(*) from mart.case_dispatches").fetchone()[0] == 0
    assert con.execute("select count(*) from ops.audit_log where action = 'extract_written'").fetchone()[0] == 0
    assert {r["status"] for r in case_rows(con)} == {"open"}
    monkeypatch.setattr(dispatch, "append_audit", real)
    again = write_extracts(con, outbox, NIGHT)
    assert sorted(again) == folders
    assert {p: {f.name: f.read_bytes() for f in p.iterdir()} for p in folders} == first
    assert con.execute("select count(*) from ops.audit_log where action = 'extract_written'").fetchone()[0] == 6
    # events numbered 1.. per case with no gap, across the two offices of a case
    for r in case_rows(con):
        seqs = [e[0] for e in events_of(con, r["case_id"])]
        assert seqs == list(range(1, len(seqs) + 1))


def _rule_of(workbook: Path, code: str) -> str:
    ws = load_workbook(workbook, read_only=True)["指标说明 indicators"]
    rows = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == code]
    assert len(rows) == 1, f"{code} not in the indicator sheet of {workbook}"
    return rows[0][2]


def test_rule_text_states_the_threshold_in_force_for_the_offices_city(tmp_path):
    """The 指标说明 sheet is rendered from the rules in force, per office: the default 低保边缘 multiple,
    the models/ override of city 4403 (2.0) and an override given on top of models/ (city 3301: 1.8)."""
    from pipelines.rules import rules_from_dict

    rules = rules_from_dict({"cities": {"3301": {"edge_multiplier": 1.8}}})
    assert rules.edge_multiplier_for("4403") == 2.0 and rules.edge_multiplier == 1.5
    c = warehouse(tmp_path)
    try:
        add_warning(c, "F001", "ELIG_EDGE", "medium", "2026-01", ["MCA"])                    # 330102: 1.8
        add_warning(c, "F002", "ELIG_EDGE", "medium", "2026-01", ["MCA"], county="440303")   # 4403: 2.0
        add_warning(c, "F003", "ELIG_EDGE", "medium", "2026-01", ["MCA"], county="520102")   # default 1.5
        update_cases(c, NIGHT, rules)
        write_extracts(c, tmp_path / "outbox", NIGHT, rules)
    finally:
        c.close()
    folder = tmp_path / "outbox" / "MCA"
    texts = {county: _rule_of(folder / county / NIGHT.isoformat() / "cases.xlsx", "ELIG_EDGE")
             for county in ("330102", "440303", "520102")}
    assert "1.8倍" in texts["330102"] and "1.8× the standard" in texts["330102"]
    assert "2倍" in texts["440303"] and "2× the standard" in texts["440303"]
    assert "1.5倍" in texts["520102"] and "1.5× the standard" in texts["520102"]
    # the number is the only difference: the sentence itself is the one of models/indicators.toml
    assert texts["330102"].replace("1.8", "X") == texts["520102"].replace("1.5", "X")
