"""``lowincome demo``: synthesise a small province and run every night over it.

The demo replays history: a delivery is visible to a night only if its folder date is on or
before that night. After each night, simulated department offices (town and county) answer the
extracts they got (feedback files written for the next night), so the whole loop — warning, case, extract,
feedback, confirmation rate — shows in one command.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import load_settings


def demo_nights(nights: list[dt.date]) -> list[dt.date]:
    """One night per calendar month (the last delivery night of that month) — enough to see
    every delivery in order, including late ones, without re-running the same month six times."""
    last: dict[tuple[int, int], dt.date] = {}
    for n in sorted(nights):
        last[(n.year, n.month)] = n
    return sorted(last.values())


@dataclass
class DemoTruth:
    """What the simulated departments know that the pipeline does not: the generator's injected
    events (``truth.csv``) and true incomes (``truth_income.parquet``), against each household's line."""

    households: set[str] = field(default_factory=set)         # family_id / hukou_no with an injected event
    below_line: set[tuple[str, str]] = field(default_factory=set)  # (household_id, period) truly below the edge line

    @classmethod
    def load(cls, truth: Path, settings=None) -> "DemoTruth":
        """``truth.csv`` and, beside it, ``truth_income.parquet`` against the standards of the
        warehouse of ``settings`` (when both exist)."""
        out = cls(households=_truth_households(truth))
        truth_income = Path(truth).with_name("truth_income.parquet")
        if truth_income.exists() and settings is not None and Path(settings.warehouse).exists():
            from pipelines.rules import default_rules
            from pipelines.warehouse import connect

            rules = default_rules()
            con = connect(settings, read_only=True)
            try:
                rows = con.execute(
                    "select t.household_id, t.period, h.city_code, t.true_income_yuan / t.size / h.dibao_std_yuan "
                    "from read_parquet(?) t join core.household_month h using (household_id, period) "
                    "where t.size > 0 and h.dibao_std_yuan > 0", [str(truth_income)]).fetchall()
            finally:
                con.close()
            out.below_line = {(hh, period) for hh, period, city, ratio in rows
                              if ratio is not None and float(ratio) < rules.edge_multiplier_for(city)}
        return out


# Indicators that ask whether a household's income is too low (for the others only an injected event
# makes a case real: an exit review or an overdue review of a 低保 family is not confirmed by its
# income being low).
INCOME_QUESTIONS = frozenset({"ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP", "INC_DROP", "EXP_MED", "EXP_EDU",
                              "TEKUN_CANDIDATE"})
# Of those, the ones an office answers with an economic check (核对): whether the household's true income is
# below the line decides, whatever else happened to it -- a first disability certificate does not make a
# household above the line eligible for 低保 (the income rules' own question, scored the same way by
# pipelines.evaluate.income_rule_report).
CHECKED_BY_INCOME = frozenset({"ELIG_DIBAO", "ELIG_EDGE", "EXP_HARDSHIP"})


def simulated_answer(case: dict, truth: DemoTruth) -> tuple[str, bool] | None:
    """How a department answers one case of its extract: ``(status, late)``, or None (never answered).

    Like a real office: a case on a household really in trouble (an injected event of the
    generator) or, for an income question (:data:`INCOME_QUESTIONS`), really below the line (true
    per-capita income of the case's month below the 低保边缘 line) is mostly confirmed (``verified`` or
    ``assisted``) -- a case an office settles by an economic check (:data:`CHECKED_BY_INCOME`) only when
    the household is really below the line --, the others mostly not
    (``not_verified`` or ``ineligible``); 15% of answers go the other way (noise), about 8% of cases
    are never answered, and 12% of the answers come one night late. Deterministic per case id."""
    digest = hashlib.sha256(case["case_id"].encode()).digest()
    u = [b / 256 for b in digest[:4]]
    if u[0] < 0.08:
        return None
    household = _case_household(case)
    below = (household, case.get("period")) in truth.below_line
    if case.get("indicator_code") in CHECKED_BY_INCOME and truth.below_line:
        real = below
    else:
        real = any(k and k in truth.households for k in (case.get("family_id"), case.get("hukou_no"))) \
            or (case.get("indicator_code") in INCOME_QUESTIONS and below)
    confirmed = real if u[1] >= 0.15 else not real
    if confirmed:
        status = "assisted" if u[2] < 0.45 else "verified"
    else:
        status = "ineligible" if u[2] < 0.3 else "not_verified"
    return status, u[3] < 0.12


def _case_fields(row: dict) -> dict:
    """A row of cases.csv by its English codes (the headers are 「中文 code」)."""
    return {k.split()[-1] if k else k: v for k, v in row.items()}


def simulate_feedback(outbox: Path, feedback_dir: Path, night: dt.date, answer_on: dt.date,
                      truth: DemoTruth | set[str], answered: list[dict] | None = None) -> int:
    """The offices answer this night's extracts (:func:`simulated_answer`), each in its own folder (the
    extract's: a civil-affairs town office, or a county office), and the late answers to the previous
    extract night's. A few civil-affairs town offices stay silent, so escalation shows too: their
    overdue cases go to the county civil-affairs office, which answers them. Returns the number of
    feedback files written; ``answered``, when given, receives the cases answered (their extract fields)."""
    if not isinstance(truth, DemoTruth):
        truth = DemoTruth(households=set(truth))
    written = 0
    earlier = sorted({t.parts[-2] for t in outbox.glob("*/*/*/feedback_template.csv") if t.parts[-2] < night.isoformat()})
    templates = [(t, False) for t in sorted(outbox.glob(f"*/*/{night.isoformat()}/feedback_template.csv"))]
    if earlier:
        templates += [(t, True) for t in sorted(outbox.glob(f"*/*/{earlier[-1]}/feedback_template.csv"))]
    for template, late_pass in templates:
        dept, office = template.parts[-4], template.parts[-3]
        if dept == "MCA" and len(office) == 9 and office.endswith("2"):
            continue  # these town offices never answer: their cases are escalated to the county office
        with open(template, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(f))
        cases_file = template.with_name("cases.csv")
        case_of = {}
        if cases_file.exists():
            with open(cases_file, encoding="utf-8-sig", newline="") as f:
                for r in csv.DictReader(f):
                    fields = _case_fields(r)
                    case_of[fields.get("case_id")] = fields
        out_rows = []
        for r in rows:
            cid = r["case_id"]
            answer = simulated_answer(case_of.get(cid) or {"case_id": cid}, truth)
            if answer is None or answer[1] != late_pass:
                continue  # not answered (yet)
            r.update(status=answer[0],
                     action="入户核实 home visit", amount_yuan="", handled_on=answer_on.isoformat(),
                     handler=f"{dept}-{office}-经办人", note="")
            out_rows.append(r)
            if answered is not None:
                answered.append(case_of.get(cid) or {"case_id": cid})
        if not out_rows:
            continue
        # each office answers in its own folder (the extract's folder name: the office code)
        target = feedback_dir / dept / office / answer_on.isoformat() / "feedback.csv"
        if target.exists():
            target = target.with_name(f"feedback_{night.isoformat()}{'_late' if late_pass else ''}.csv")
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8-sig", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
            w.writeheader()
            w.writerows(out_rows)
        written += 1
    return written


def simulate_checks(landing: Path, book: Path, answered: list[dict], night: dt.date, checked_on: dt.date) -> int:
    """The economic checks behind this night's answers: an office settles a case of an income question
    (:data:`CHECKED_BY_INCOME`: is the household below the line?) by asking the check centre for an
    assessed check (转介核对), which reports it in its monthly delivery (``mca_econ_checks``) like any
    other check -- so the pipeline sees the verified income the office saw. The check is dated
    ``checked_on`` (the answer's date) and reports what the generator's check book
    (:func:`pipelines.synth.checks.build_check_book`) holds for the household that month; it is added to
    every delivery of that month not yet visible to ``night`` (the manifest's row counts and digests
    follow). One check per household and date; none for a household absent that month or a month
    without a delivery still to come. Returns the checks added."""
    households = sorted({_case_household(c) for c in answered if c.get("indicator_code") in CHECKED_BY_INCOME} - {""})
    if not households or not book.exists():
        return 0
    import pyarrow.parquet as pq

    from pipelines.synth.writers import sha256_bytes, write_manifest

    period = checked_on.strftime("%Y-%m")
    folders = []
    for manifest in sorted((landing / "mca_econ_checks").glob("*/manifest.json")):
        folder_date = dt.date.fromisoformat(manifest.parent.name)
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if meta.get("period") == period and folder_date > night:
            folders.append((manifest, meta))
    if not folders:
        return 0
    rows = pq.read_table(book, filters=[("period", "=", period), ("household_id", "in", households)]).to_pylist()
    if not rows:
        return 0
    ym = period.replace("-", "")
    added = 0
    for manifest, meta in folders:
        checks_file = manifest.with_name(f"checks_{ym}.csv")
        members_file = manifest.with_name(f"check_members_{ym}.csv")
        if not (checks_file.exists() and members_file.exists()):
            continue
        text = checks_file.read_text(encoding="utf-8-sig")
        header = text.splitlines()[0].split(",")
        taken = {line.split(",", 1)[0] for line in text.splitlines()[1:]}
        lines, member_lines = [], []
        serial = 0
        for row in rows:
            serial += 1
            check_id = f"HR{checked_on.strftime('%Y%m%d')}{serial:04d}"
            while check_id in taken:
                serial += 1
                check_id = f"HR{checked_on.strftime('%Y%m%d')}{serial:04d}"
            row = dict(row, check_id=check_id, check_date=checked_on.isoformat())
            lines.append(",".join(str(row[k] if row[k] is not None else "") for k in header))
            member_lines += [f"{check_id},{person}" for person in row["members"]]
        _append_lines(checks_file, lines)
        _append_lines(members_file, member_lines)
        for entry in meta.get("files", []):
            path = manifest.with_name(entry["name"])
            if path in (checks_file, members_file):
                entry["rows"] = int(entry["rows"]) + (len(lines) if path == checks_file else len(member_lines))
                entry["sha256"] = sha256_bytes(path.read_bytes())
        write_manifest(manifest.parent, meta)
        added = max(added, len(lines))
    return added


def _case_household(case: dict) -> str:
    """The warehouse's household id of an extract row: its family id, else H + its hukou number."""
    return case.get("family_id") or ("H" + case["hukou_no"] if case.get("hukou_no") else "")


def _append_lines(path: Path, lines: list[str]) -> None:
    if not lines:
        return
    data = path.read_bytes()
    sep = b"" if data.endswith(b"\n") else b"\n"
    path.write_bytes(data + sep + ("\n".join(lines) + "\n").encode("utf-8"))


def replay(settings, nights: list[dt.date], truth: Path, echo=None):
    """Run one night per month over a synthetic province, and after each night let the
    offices answer (:func:`simulate_feedback`, read by the next night) and the check centre report the
    economic checks their answers rest on (:func:`simulate_checks`, when the province has a check book).
    Returns the last night's :class:`~pipelines.nightly.NightSummary`. The demo and the end-to-end test
    both call this."""
    from pipelines import nightly

    nights = demo_nights(nights)
    last = None
    for i, night in enumerate(nights):
        summary = nightly.run_night(settings, night)
        if echo is not None:
            ind = summary.stages.get("indicators", {})
            ing = summary.stages.get("ingest", {})
            echo(f"  night {night}: loaded={ing.get('loaded', '?')} rejected={ing.get('rejected', '?')} "
                 f"new warnings={ind.get('new_warnings', ind.get('warnings', '?'))} extracts={len(summary.extracts)} "
                 f"({sum(summary.timings.values()):.1f}s)")
        answer_on = nights[i + 1] - dt.timedelta(days=1) if i + 1 < len(nights) else night + dt.timedelta(days=5)
        answered: list[dict] = []
        simulate_feedback(settings.outbox, settings.feedback, night, answer_on, DemoTruth.load(truth, settings),
                          answered=answered)
        simulate_checks(settings.landing, Path(truth).with_name("check_book.parquet"), answered, night, answer_on)
        last = summary
    return last


def demo(out: Path = Path("demo_out"), households: int = 1500, months: int = 13, seed: int = 20261) -> int:
    from pipelines.synth import generate

    out = Path(out).resolve()
    print(f"[1/3] synthesising a province of {households} roster families over {months} months into {out}")
    result = generate(out=out / "province", households=households, months=months, seed=seed)
    print(result.summary())

    settings = load_settings(
        landing=result.landing,
        warehouse=out / "warehouse" / "warehouse.duckdb",
        outbox=out / "outbox",
        feedback=out / "feedback",
        show_progress=False,
    )
    if settings.hmac_key_file is None and not os.environ.get("LOWINCOME_HMAC_KEY"):
        # No key configured: the demo's pseudonymisation key is random, made once into the demo's
        # work dir (mode 0600; the default demo_out/ is git-ignored) and reused by every night of it.
        settings = settings.with_(extra={**settings.extra, "allow_ephemeral_hmac_key": True})
    nights = demo_nights(result.nights)
    print(f"[2/3] running {len(nights)} nights, {nights[0]} .. {nights[-1]}")
    last = replay(settings, result.nights, result.truth, echo=print)
    print("[3/3] done. Last night:")
    print(last.render())
    _print_detection(settings, result)
    print()
    print(f"warehouse : {settings.warehouse}   (duckdb; `select * from warnings`)")
    print(f"analyst db: {settings.analyst_db}   (lowincome query --warehouse {settings.warehouse} \"select * from warnings_by_indicator_county_month limit 10\")")
    print(f"extracts  : {settings.outbox}/<DEPT>/<office>/<date>/  (office: MCA town, 9 digits, or county, 6)")
    print(f"report    : {last.report}")
    print(f"truth     : {result.truth}")
    return 0


def _truth_households(truth: Path) -> set[str]:
    with open(truth, encoding="utf-8", newline="") as f:
        out = set()
        for r in csv.DictReader(f):
            out.update(x for x in (r.get("family_id"), r.get("hukou_no")) if x)
        return out


def _print_detection(settings, result) -> None:
    """Recall, precision and alert load against the generator's truth; the income rules scored
    against true income on partial and full households."""
    from pipelines.evaluate import detection_report, income_rule_report, latency_report, render_income_rules
    from pipelines.warehouse import connect

    con = connect(settings, read_only=True)
    try:
        print(detection_report(con, result.truth).render())
        print(latency_report(con, result.truth).render())
        rows = income_rule_report(con, result.truth_income)
        n, partial = con.execute(
            "select count(*), count(*) filter (where observed_coverage = 'partial') from core.household_month "
            "join read_parquet(?) using (household_id, period)", [str(result.truth_income)]).fetchone()
        print()
        print(render_income_rules(rows, {"households": result.households, "months": result.months, "seed": result.seed,
                                         "household_months": n, "partial_share": partial / n if n else 0.0}))
    finally:
        con.close()


if __name__ == "__main__":
    sys.exit(demo())
