"""The data dictionary of the analyst database: docs/analyst.md's generated sections.

The "Schema" section is generated from the ``COMMENT ON``s of an analyst database
(:func:`schema_markdown`), the "Ten worked questions" section by running :data:`EXAMPLES` on one
(:func:`examples_markdown`). ``lowincome dictionary`` rewrites them (:func:`dictionary_cli`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import sys
import tempfile
from pathlib import Path

import duckdb

from pipelines.analyst.query import cell_text, connect_analyst, run_query
from pipelines.analyst.scan import relations
from pipelines.config import REPO_ROOT

DOC = REPO_ROOT / "docs" / "analyst.md"


def _md(s: str | None) -> str:
    return (s or "").replace("|", "\\|").replace("\n", " ")


def schema_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """The data dictionary of an analyst database, generated from its COMMENT ONs."""
    comments = dict(con.execute(
        """select table_name, comment from duckdb_tables() where database_name = current_database()
           union all select view_name, comment from duckdb_views() where database_name = current_database()
           and not internal""").fetchall())
    lines: list[str] = []
    for kind_title, kind in (("Tables", "table"), ("Views", "view")):
        lines.append(f"### {kind_title}\n")
        for rel, k in relations(con):
            if k != kind:
                continue
            lines.append(f"#### `{rel}` ({kind})\n")
            lines.append(f"{_md(comments.get(rel))}\n")
            lines.append("| column | type | description |")
            lines.append("| --- | --- | --- |")
            for col, typ, com in con.execute(
                "select column_name, data_type, comment from duckdb_columns() where database_name = current_database() "
                "and schema_name = 'main' and table_name = ? order by column_index", [rel]).fetchall():
                lines.append(f"| `{col}` | {_md(typ)} | {_md(com)} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


# The worked examples in docs/analyst.md: (question, SQL). Keep them runnable: the tests run
# every one against a fixture analyst database.
EXAMPLES: list[tuple[str, str]] = [
    (
        "最近一个数据月，各县各指标的预警有多少？ How many warnings did each indicator raise per county in the latest data month?",
        """select indicator_code, indicator_name, county_code, warnings, households, urgent + high as urgent_or_high
from warnings_by_indicator_county_month
where period = (select max(period) from warnings)
order by warnings desc, indicator_code, county_code""",
    ),
    (
        "各指标每月预警趋势 Monthly trend of warnings per indicator (all counties)",
        """select period, indicator_code, sum(warnings) as warnings
from warnings_by_indicator_county_month
group by all
order by period, indicator_code""",
    ),
    (
        "预警负荷：每千户预警数 Alert load: warnings per 1,000 monitored households by county and month",
        """select period, county_code, monitored_households, warnings, warnings_per_1000
from alert_load
order by period, county_code""",
    ),
    (
        "各部门在办个案和逾期反馈 Open cases and overdue feedback per department",
        """select department, department_name, sum(open_cases) as open_cases,
       sum(overdue_feedback) as overdue_feedback, sum(escalated) as escalated
from open_cases_by_department
group by all
order by overdue_feedback desc, open_cases desc""",
    ),
    (
        "各指标核实属实率 Confirmation rate per indicator (all counties)",
        """select indicator_code, indicator_name, sum(cases) as cases, sum(confirmed) as confirmed,
       sum(not_confirmed) as not_confirmed, sum(pending) as pending,
       round(sum(confirmed) / nullif(sum(confirmed) + sum(not_confirmed), 0), 3) as confirmation_rate
from confirmation_rate
group by all
order by indicator_code""",
    ),
    (
        "各部门从派发到首次反馈用了多少天？ How many days from dispatch to first feedback, per department?",
        """with routed as (
    select case_key, unnest(departments) as department from cases
),
dispatched as (
    select case_key, min(event_at) as dispatched_at from case_events where action = 'dispatched' group by case_key
),
answered as (
    select case_key, min(event_at) as answered_at from case_events where source = 'feedback' group by case_key
)
select r.department, count(*) as answered_cases,
       round(median(date_diff('hour', d.dispatched_at, a.answered_at) / 24.0), 1) as median_days,
       round(max(date_diff('hour', d.dispatched_at, a.answered_at) / 24.0), 1) as max_days
from routed r join dispatched d using (case_key) join answered a using (case_key)
group by all
order by department""",
    ),
    (
        "在册规模和进出（按类别、月份） Roster size and flows in/out by category and month",
        """select period, category, households, persons, households_in, households_out
from roster_flows
order by period, category""",
    ),
    (
        "哪些数据源滞后或被拒？ Which feeds are stale, rejected or missing?",
        """select feed_id, department, feed_name, last_loaded_period, last_delivery_date,
       latest_status, rejected, months_behind, freshness_status
from feed_status
order by freshness_status = 'ok', department, feed_id""",
    ),
    (
        "一户的救助链：预警最多的家庭 The history of one household (the one with the most warnings)",
        """select event_at, kind, period, indicator_code, severity, to_status, action
from household_history
where household_key = (select household_key from warnings group by 1 order by count(*) desc, 1 limit 1)
order by event_at, kind desc, seq""",
    ),
    (
        "INC_DROP 预警家庭的成员年龄结构 Age groups of the members of households warned for INC_DROP",
        """with warned as (
    select distinct household_key, period from warnings where indicator_code = 'INC_DROP'
)
select case when age < 18 then '0-17' when age < 60 then '18-59' else '60+' end as age_group,
       count(*) as persons, count(distinct household_key) as households
from person_month join warned using (household_key, period)
group by all
order by age_group""",
    ),
]

SCHEMA_START, SCHEMA_END = "<!-- schema:start -->", "<!-- schema:end -->"
EXAMPLES_START, EXAMPLES_END = "<!-- examples:start -->", "<!-- examples:end -->"


def _markdown_table(columns: list[str], rows: list[tuple], limit: int = 15) -> str:
    if not columns:
        return "_(no result set)_"
    lines = ["| " + " | ".join(_md(c) for c in columns) + " |", "|" + " --- |" * len(columns)]
    for r in rows[:limit]:
        lines.append("| " + " | ".join(_md(cell_text(v)) for v in r) + " |")
    if len(rows) > limit:
        lines.append(f"\n_… {len(rows) - limit} more row(s)_")
    if not rows:
        lines.append("| " + " | ".join("" for _ in columns) + " |")
    return "\n".join(lines)


def examples_markdown(con: duckdb.DuckDBPyConnection, note: str = "") -> str:
    parts = [note.strip() + "\n"] if note else []
    for i, (question, sql) in enumerate(EXAMPLES, 1):
        columns, rows = run_query(con, sql)
        parts.append(f"### {i}. {question}\n\n```sql\n{sql}\n```\n\n{_markdown_table(columns, rows)}\n")
    return "\n".join(parts).rstrip() + "\n"


def _replace_section(text: str, start: str, end: str, body: str) -> str:
    a, b = text.find(start), text.find(end)
    if a < 0 or b < a:
        raise ValueError(f"markers {start} … {end} not found")
    return text[:a + len(start)] + "\n" + body + text[b:]


def update_doc(doc: Path, con: duckdb.DuckDBPyConnection, examples_note: str | None = None) -> None:
    """Regenerate the schema (and, when ``examples_note`` is given, the examples) section of docs/analyst.md."""
    from pipelines.atomic import atomic_write_text

    text = doc.read_text(encoding="utf-8")
    text = _replace_section(text, SCHEMA_START, SCHEMA_END, schema_markdown(con))
    if examples_note is not None:
        text = _replace_section(text, EXAMPLES_START, EXAMPLES_END, examples_markdown(con, examples_note))
    atomic_write_text(doc, text)


def schema_only_database(folder: Path) -> Path:
    """An empty analyst database written into ``folder`` by this checkout's code and SQL: built from
    an empty warehouse migrated in memory, with a throwaway random key. Its COMMENT ONs are the data
    dictionary; it holds no data."""
    from pipelines.analyst.build import build_analyst_db
    from pipelines.analyst.keys import HmacKey
    from pipelines.config import Settings
    from pipelines.warehouse import migrate

    settings = Settings(warehouse=folder / "warehouse.duckdb", work_dir=folder / "work", duckdb_threads=1)
    con = duckdb.connect(":memory:")
    try:
        migrate(con)
        key = HmacKey(secrets.token_bytes(32), ephemeral=True, source="throwaway key of the data dictionary")
        return build_analyst_db(settings, con, key=key, as_of=dt.date(2000, 1, 1), target=folder / "analyst.duckdb",
                                full=True)
    finally:
        con.close()


def dictionary_cli(doc: Path = DOC, database: Path | None = None, examples: bool = False,
                   note: str | None = None, out=None) -> int:
    """``lowincome dictionary``: rewrite the schema section of ``doc`` from this checkout's SQL (or
    from ``database``); with ``examples``, also run the worked examples on ``database`` (a real
    analyst database) and record their output under ``note``."""
    from pipelines.config import ConfigError

    out = out or sys.stdout
    if examples and database is None:
        raise ConfigError("--examples runs the worked examples on data: give the analyst database with --database")
    with tempfile.TemporaryDirectory(prefix="lowincome-dictionary-") as folder:
        path = Path(database) if database is not None else schema_only_database(Path(folder))
        if not path.exists():
            raise ConfigError(f"analyst database {path} not found")
        con = connect_analyst(path)
        try:
            update_doc(Path(doc), con, (note or "Outputs below come from the analyst database given to "
                                               "`lowincome dictionary --database`.") if examples else None)
        finally:
            con.close()
    print(f"{doc}: data dictionary regenerated{' with the examples' if examples else ''}", file=out)
    return 0
