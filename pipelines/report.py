"""The nightly report: one self-contained static HTML file, aggregates only.

No external assets (no CDN, no fonts, no libraries): the charts are inline SVG drawn here in
Python, the styles are inline, and a few lines of inline script only record that the charts
rendered (``<html data-render="ok">``, used by the headless-browser test). Labels are Chinese
with the English codes beside them. The report carries counts per indicator, county,
department and feed — never a 身份证号, a name or any household-level row.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.atomic import atomic_write_text
from pipelines.dates import night_time
from pipelines.rules import Rules, default_rules
from pipelines.warehouse import relation_exists

# A qualitative palette with 14+ distinguishable colours (one per indicator).
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#17becf", "#8c564b", "#bcbd22", "#7f7f7f", "#d62728"]
STATUS_STYLE = {
    "ok": ("正常", "#1b5e20", "#e8f5e9"),
    "stale": ("滞后", "#8a5300", "#fff3e0"),
    "rejected": ("被拒", "#b71c1c", "#ffebee"),
    "waiting": ("等待", "#0d47a1", "#e3f2fd"),
    "missing": ("缺失", "#424242", "#eeeeee"),
    "not_started": ("未开始", "#37474f", "#f5f5f5"),
    "held": ("待放行", "#ffffff", "#b71c1c"),
}
# Statuses that do not count as a feed problem (a feed before its first period is not missing).
FEED_OK = ("ok", "not_started")
KIND_NOTE = {
    "mid_term": "最新学期为期中交付（资助已发放） latest term: the mid-term delivery (aid granted)",
    "start_of_term": "最新学期为学期初交付，期中交付未到 latest term: start of term, mid-term delivery not in yet",
}
OPEN_EXCLUDED = ("assisted", "ineligible", "closed")


def _esc(s) -> str:
    return html.escape("" if s is None else str(s), quote=True)


# --- data -----------------------------------------------------------------------------------


@dataclass
class ReportData:
    as_of: dt.date
    periods: list[str] = field(default_factory=list)
    trend: dict[str, dict[str, int]] = field(default_factory=dict)  # indicator -> period -> n
    counties: list[tuple[str, str | None, int, int]] = field(default_factory=list)  # code, name, total, latest
    # dept, open, overdue, escalated, town offices, county offices (with open cases of the department)
    departments: list[tuple[str, int, int, int, int, int]] = field(default_factory=list)
    confirmation: list[tuple[str, int, int, int]] = field(default_factory=list)  # indicator, confirmed, rejected, cases
    feeds: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # warehouse relations not there yet
    held: list[dict] = field(default_factory=list)    # deliveries held for a person's release (or released)
    unread: list[dict] = field(default_factory=list)  # landing / feedback entries not read, seen on the night
    stats: dict = field(default_factory=dict)  # 民政统计 of the latest complete data month (_statistics)
    quality: list[dict] = field(default_factory=list)  # data quality per department and month (_quality)


def collect(con: duckdb.DuckDBPyConnection, as_of: dt.date, months: int = 13, rules: Rules | None = None) -> ReportData:
    """The aggregates the report shows, read from the restricted warehouse (counts only)."""
    d = ReportData(as_of=as_of)
    d.missing = [q for q in ("mart.warnings", "mart.cases", "mart.case_events", "ops.deliveries", "staging.ref_regions")
                 if not relation_exists(con, q)]
    as_of_month = f"{as_of:%Y-%m}"
    ref = night_time(as_of)

    if "mart.warnings" not in d.missing:
        d.periods = [r[0] for r in con.execute(
            "select distinct period from mart.warnings where period <= ? order by period desc limit ?",
            [as_of_month, months]).fetchall()][::-1]
        if d.periods:
            first = d.periods[0]
            for code, period, n in con.execute(
                """with w as (select indicator_code, period from mart.warnings where period between ? and ?)
                   select indicator_code, period, count(*) from w group by all order by all""",
                    [first, d.periods[-1]]).fetchall():
                d.trend.setdefault(code, {})[period] = n
            names_sql = ("""select left(region_code, 6) as county_code, arg_max(name, period) as county_name
                            from staging.ref_regions where level = 'county' group by 1"""
                         if "staging.ref_regions" not in d.missing else
                         "select null::varchar as county_code, null::varchar as county_name where false")
            d.counties = con.execute(
                f"""with w as (select county_code, period from mart.warnings where period between ? and ?),
                        names as ({names_sql}),
                        per_county as (
                            select county_code, count(*) as total, count(*) filter (where period = ?) as latest
                            from w group by county_code)
                    select p.county_code, n.county_name, p.total, p.latest
                    from per_county p left join names n using (county_code)
                    order by p.total desc, p.county_code""",
                [first, d.periods[-1], d.periods[-1]]).fetchall()

    if "mart.cases" not in d.missing:
        # a warehouse from before the per-department status (read-only here: not migrated) has none
        has_parts = con.execute("select count(*) from information_schema.columns where table_schema = 'mart' "
                                "and table_name = 'cases' and column_name = 'department_status'").fetchone()[0]
        parts = "department_status" if has_parts else "null"
        d.departments = con.execute(
            f"""with parts as (
                        select c.* exclude (status, p), p.department, p.office_code, p.status
                        from (select *, unnest(coalesce({parts}, list_transform(departments, x -> {{
                                  'department': x, 'office_code': county_code, 'status': status,
                                  'awaiting_feedback': awaiting_feedback,
                                  'last_feedback_on': last_feedback_on}}))) as p
                              from mart.cases) c),
                    open_cases as (
                        select * from parts
                        where closed_at is null and status not in {OPEN_EXCLUDED} and status <> 'not_verified')
                select department, count(*) as open_cases,
                       count(*) filter (where status in ('dispatched', 'accepted') and due_at < ?) as overdue,
                       count(*) filter (where escalated) as escalated,
                       count(distinct office_code) filter (where length(office_code) = 9) as town_offices,
                       count(distinct office_code) filter (where length(office_code) = 6) as county_offices
                from open_cases group by department
                order by overdue desc, open_cases desc, department""", [ref]).fetchall()
        events = ("""select case_id, bool_or(to_status in ('verified', 'assisted')) as ok,
                            bool_or(to_status in ('not_verified', 'ineligible')) as no
                     from mart.case_events group by case_id"""
                  if "mart.case_events" not in d.missing else
                  "select null::varchar as case_id, false as ok, false as no where false")
        d.confirmation = con.execute(
            f"""with outcomes as ({events}),
                    judged as (
                        select c.indicator_code,
                               coalesce(o.ok, false) or c.status in ('verified', 'assisted') as confirmed,
                               coalesce(o.no, false) or c.status in ('not_verified', 'ineligible') as rejected
                        from mart.cases c left join outcomes o using (case_id))
                select indicator_code, count(*) filter (where confirmed),
                       count(*) filter (where rejected and not confirmed), count(*)
                from judged group by indicator_code order by indicator_code""").fetchall()

    d.feeds = _feed_status(con, as_of, has_ledger="ops.deliveries" not in d.missing)
    if "ops.deliveries" not in d.missing:
        # every column as text (*: a ledger from before the hold columns; timestamps need no pytz)
        cur = con.execute("""select columns(*)::varchar from ops.deliveries
                             where status in ('held', 'released') and delivery_date <= ? order by delivery_id""",
                          [as_of])
        d.held = [{k: r.get(k) for k in ("delivery_id", "feed_id", "period", "status", "held_reason", "released_by")}
                  for r in (dict(zip([c[0] for c in cur.description], row)) for row in cur.fetchall())]
    if relation_exists(con, "ops.unread_entries"):
        cur = con.execute("""select area, path, kind, reason, first_seen_as_of from ops.unread_entries
                             where first_seen_as_of <= ? and last_seen_as_of >= ? order by area, path""",
                          [as_of, as_of])
        d.unread = [dict(zip([c[0] for c in cur.description], r)) for r in cur.fetchall()]
    d.stats = _statistics(con, as_of, rules)
    d.quality = _quality(con, rules)
    return d


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    """Rows as dicts; a warehouse without the statistics' relations yet (or with a table of an older
    shape) gives none: the report always renders."""
    try:
        cur = con.execute(sql, params)
    except duckdb.Error:
        return []
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _statistics(con: duckdb.DuckDBPyConnection, as_of: dt.date, rules: Rules | None) -> dict:
    """民政统计 for the report: the latest complete data month's roster by category and by city, the
    warnings by department, and 处置率 / overdue per department at the night (the definitions of
    pipelines.statistics, i.e. the mart views)."""
    from pipelines import statistics

    try:
        month = statistics.latest_complete_month(con, as_of)
    except duckdb.Error:
        month = None
    out: dict = {"month": month, "roster": [], "cities": [], "warnings": [], "disposal": []}
    if month:
        out["roster"] = _query(con, """select category, households, persons, benefit_yuan from mart.roster_statistics
                                       where period = ? and level = 'province' and urban_rural = 'all'""", [month])
        out["cities"] = _query(con, """select region_code, region_name, households, persons, benefit_yuan
                                       from mart.roster_statistics where period = ? and level = 'city'
                                       and category = 'all' and urban_rural = 'all' order by region_code""", [month])
        out["warnings"] = _query(con, """select department, warnings, households, cases_opened from mart.warning_statistics
                                         where period = ? and level in ('department', 'total')""", [month])
    out["disposal"] = _query(con, """select department, sent, due, disposed, disposal_rate, overdue, in_progress
                                     from mart.case_disposal(?) where level in ('department', 'total')""",
                             [night_time(as_of)])
    depts = list((rules or default_rules()).departments)
    order = {c: i for i, c in enumerate(statistics.CATEGORY_ORDER)}
    out["roster"].sort(key=lambda r: order.get(r["category"], 99))
    for key in ("warnings", "disposal"):
        out[key].sort(key=lambda r: (r["department"] == "all", depts.index(r["department"]) if r["department"] in depts
                                     else 99, r["department"]))
    return out


def _quality(con: duckdb.DuckDBPyConnection, rules: Rules | None, months: int = 3) -> list[dict]:
    """Deliveries on time, late, rejected and the share of rows warned, per department, for the last
    ``months`` data months with deliveries (mart.delivery_quality)."""
    rules = rules or default_rules()
    rows = _query(con, "select * from mart.delivery_quality(?) where department <> 'all'", [rules.delivery_due_day])
    periods = sorted({r["period"] for r in rows})[-months:]
    depts = list(rules.departments)
    return sorted((r for r in rows if r["period"] in periods),
                  key=lambda r: (depts.index(r["department"]) if r["department"] in depts else 99, r["department"],
                                 r["period"]))


def _feed_status(con: duckdb.DuckDBPyConnection, as_of: dt.date, has_ledger: bool) -> list[dict]:
    """Per feed: last loaded period, last delivery, latest status and freshness, for the deliveries
    visible on ``as_of`` -- the warehouse's one definition, ``ops.feed_status(as_of)``."""
    if not has_ledger:
        return []
    cur = con.execute("select * from ops.feed_status(?) order by feed_id", [as_of])
    names = [c[0] for c in cur.description]
    out = []
    for row in cur.fetchall():
        r = dict(zip(names, row))
        out.append({"feed_id": r["feed_id"], "department": r["department"], "name_zh": r["feed_name"],
                    "cadence": r["cadence"], "last_loaded_period": r["last_loaded_period"],
                    "last_delivery_date": r["last_delivery_date"], "latest_delivery_id": r["latest_delivery_id"],
                    "latest_status": r["latest_status"], "latest_errors": r["latest_error_count"],
                    "rejected": r["rejected"], "deliveries": r["deliveries"], "months_behind": r["months_behind"],
                    "status": r["freshness_status"], "notes": _feed_notes(r)})
    return out


def _feed_notes(r: dict) -> list[str]:
    """What the catalog says about a feed beyond its cadence: its first period, a switch to daily
    deliveries, layouts by period, several files per delivery, the kind of the latest term delivery."""
    notes = []
    if r.get("since"):
        notes.append(f"自 {r['since']} 起交付 delivered from {r['since']}")
    if r.get("daily_since"):
        notes.append(f"{r['daily_since']} 起逐日交付、记录累加更正 daily from {r['daily_since']}, records added and corrected")
    if r.get("layouts") and " from " in r["layouts"]:
        notes.append(f"版式 layouts: {r['layouts']}")
    tables = list(r.get("tables") or [])
    if len(tables) > 1:
        notes.append(f"每次交付 {len(tables)} 个文件 {len(tables)} files per delivery: {', '.join(tables)}")
    if r.get("latest_loaded_kind") in KIND_NOTE:
        notes.append(KIND_NOTE[r["latest_loaded_kind"]])
    return notes


# --- SVG charts ------------------------------------------------------------------------------


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1
    import math

    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _no_data(width: int, height: int, chart: str) -> str:
    return (f'<svg class="chart-svg" data-chart="{chart}" data-empty="1" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><rect x="0" y="0" width="{width}" height="{height}" fill="#fafafa" '
            f'stroke="#ddd"/><text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888">暂无数据 No data</text></svg>')


def stacked_bars_svg(periods: list[str], series: dict[str, dict[str, int]], colors: dict[str, str],
                     width: int = 1100, height: int = 340, chart: str = "trend",
                     names: dict[str, str] | None = None) -> str:
    """Stacked vertical bars: one bar per month, one segment per series."""
    totals = [sum(series[s].get(p, 0) for s in series) for p in periods]
    if not periods or not any(totals):
        return _no_data(width, height, chart)
    left, right, top, bottom = 48, 12, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = _nice_max(max(totals))
    if max(totals) <= 20:  # small counts: whole-number ticks
        ymax = max(4, -(-max(totals) // 4) * 4)
    slot = plot_w / len(periods)
    bar_w = max(4.0, slot * 0.68)
    parts = [f'<svg class="chart-svg" data-chart="{chart}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for k in range(5):
        v = ymax * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{v:g}</text>')
    for i, p in enumerate(periods):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for s in series:
            n = series[s].get(p, 0)
            if not n:
                continue
            h = plot_h * n / ymax
            y -= h
            zh = (names or {}).get(s, s)
            parts.append(f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{colors[s]}"><title>{_esc(p)} {_esc(zh)} {_esc(s)}: {n}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" class="val">{totals[i]}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 18}" text-anchor="middle" class="tick">{_esc(p)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def hbars_svg(rows: list[tuple[str, list[float]]], series: list[tuple[str, str]], *, width: int = 1100,
              chart: str, fmt=lambda v: f"{v:g}", xmax: float | None = None, notes: list[str] | None = None) -> str:
    """Grouped horizontal bars: one group per row label, one bar per series (label, colour)."""
    if not rows or not any(v for _, vals in rows for v in vals if v):
        return _no_data(width, 120, chart)
    label_w, right, top = 260, (260 if notes else 90), 8
    bar_h, gap = 16, 12
    group_h = bar_h * len(series) + gap
    height = top + group_h * len(rows) + 8
    plot_w = width - label_w - right
    vmax = xmax or _nice_max(max(v for _, vals in rows for v in vals if v is not None))
    parts = [f'<svg class="chart-svg" data-chart="{chart}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    for i, (label, vals) in enumerate(rows):
        y0 = top + i * group_h
        parts.append(f'<text x="{label_w - 8}" y="{y0 + bar_h * len(series) / 2 + 4:.1f}" text-anchor="end" class="lbl">'
                     f'{_esc(label)}</text>')
        for j, ((sname, color), v) in enumerate(zip(series, vals)):
            if v is None:
                if notes and j == 0 and notes[i]:
                    parts.append(f'<text x="{label_w + 5}" y="{y0 + j * bar_h + bar_h - 5}" class="val">{_esc(notes[i])}</text>')
                continue
            w = plot_w * v / vmax if vmax else 0
            y = y0 + j * bar_h
            parts.append(f'<rect class="mark" x="{label_w}" y="{y}" width="{max(w, 1.5 if v else 0):.1f}" height="{bar_h - 2}" '
                         f'fill="{color}"><title>{_esc(label)} — {_esc(sname)}: {_esc(fmt(v))}</title></rect>')
            note = f" {notes[i]}" if notes and j == 0 and notes[i] else ""
            parts.append(f'<text x="{label_w + w + 5:.1f}" y="{y + bar_h - 5}" class="val">{_esc(fmt(v))}{_esc(note)}</text>')
    parts.append(f'<line x1="{label_w}" y1="{top}" x2="{label_w}" y2="{height - 8}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(items: list[tuple[str, str]]) -> str:
    return '<div class="legend">' + "".join(
        f'<span><i style="background:{c}"></i>{_esc(label)}</span>' for label, c in items) + "</div>"


# --- page -----------------------------------------------------------------------------------

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;
     background:#fff;color:#222}
header{background:#1f3b57;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:6px 0 0;opacity:.85;font-size:13px}
main{padding:8px 28px 28px;max-width:1160px}
section{margin:22px 0} h2{font-size:17px;margin:0 0 8px;border-left:4px solid #1f3b57;padding-left:8px}
h2 small,th small{color:#666;font-weight:normal}
.kpis{display:flex;gap:14px;flex-wrap:wrap}
.kpi{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:200px}
.kpi b{display:block;font-size:26px} .kpi span{font-size:12px;color:#555}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:6px 0}
.legend i{display:inline-block;width:11px;height:11px;margin-right:4px;vertical-align:-1px}
svg .tick{font-size:11px;fill:#555} svg .val{font-size:11px;fill:#333} svg .lbl{font-size:12px;fill:#222}
table{border-collapse:collapse;font-size:13px;width:100%} th,td{border:1px solid #ddd;padding:5px 8px;text-align:left}
th{background:#f3f5f7} td.num{text-align:right}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:bold;font-size:12px}
.note{font-size:12px;color:#666} footer{font-size:12px;color:#666;padding:0 28px 24px}
section.alert{border:3px solid #b71c1c;background:#ffebee;padding:10px 14px;border-radius:6px}
section.alert h2{border-left-color:#b71c1c;color:#b71c1c}
h3{font-size:15px;margin:14px 0 6px} section table{margin-bottom:10px}
"""

# Records that the charts drew (non-empty SVGs with marks and a real size); the headless test
# reads data-render and data-chart-rects from the DOM. Errors flip data-render to "error".
CHECK_SCRIPT = """
(function () {
  var root = document.documentElement;
  window.addEventListener('error', function (e) { root.setAttribute('data-render', 'error: ' + e.message); });
  try {
    var rects = {}, drawn = 0, charts = document.querySelectorAll('svg.chart-svg');
    var expected = document.querySelectorAll('svg.chart-svg:not([data-empty])').length;
    charts.forEach(function (svg) {
      var r = svg.getBoundingClientRect(), marks = svg.querySelectorAll('.mark').length;
      rects[svg.getAttribute('data-chart')] = {x: Math.round(r.left + window.scrollX), y: Math.round(r.top + window.scrollY),
        w: Math.round(r.width), h: Math.round(r.height), marks: marks};
      if (marks > 0 && r.width > 0 && r.height > 0) { drawn += 1; }
    });
    root.setAttribute('data-chart-rects', JSON.stringify(rects));
    root.setAttribute('data-charts-drawn', String(drawn));
    if (root.getAttribute('data-render') === null) {
      root.setAttribute('data-render', drawn === expected ? 'ok' : 'incomplete');
    }
  } catch (e) {
    root.setAttribute('data-render', 'error: ' + e.message);
  }
})();
"""


def _data_docs_link(data_docs_dir: Path | None, feed_id: str, report_dir: Path) -> str | None:
    """Relative link to the night's GX Data Docs page of a feed (else the Data Docs index)."""
    if data_docs_dir is None or not Path(data_docs_dir).exists():
        return None
    root = Path(data_docs_dir)
    pages = sorted((p for p in root.rglob("*.html") if feed_id in p.relative_to(root).as_posix()),
                   key=lambda p: (len(p.parts), p.as_posix()))
    target = pages[0] if pages else (root / "index.html" if (root / "index.html").exists() else root)
    return Path(os.path.relpath(target.resolve(), report_dir.resolve())).as_posix()


def render_html(d: ReportData, data_docs_dir: Path | None, report_dir: Path, rules: Rules | None = None) -> str:
    rules = rules or default_rules()
    order = list(rules.codes)
    indicators = sorted(d.trend, key=lambda c: (order.index(c) if c in order else 99, c))
    names = {c: r.name_zh for c, r in rules.indicators.items()}
    colors = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(indicators)}
    latest = d.periods[-1] if d.periods else None
    latest_n = sum(v.get(latest, 0) for v in d.trend.values()) if latest else 0
    open_cases = sum(r[1] for r in d.departments)
    overdue = sum(r[2] for r in d.departments)
    bad_feeds = sum(1 for f in d.feeds if f["status"] not in FEED_OK)

    def ind_label(c: str) -> str:
        return f"{names.get(c, c)} {c}"

    def dept_name(c: str) -> str:
        return rules.departments[c].name_zh if c in rules.departments else c

    def dept_label(c: str) -> str:
        return f"{dept_name(c)} {c}"

    trend_svg = stacked_bars_svg(d.periods, {c: d.trend[c] for c in indicators}, colors, names=names)
    county_series = [(f"近{len(d.periods)}个月合计 total, last {len(d.periods)} months", "#4e79a7"),
                     (f"{latest or ''} 当月 latest month", "#f28e2b")]
    county_svg = hbars_svg(
        [((f"{name} {code}" if name else code), [total, latest_n_]) for code, name, total, latest_n_ in d.counties],
        county_series, chart="county") + (_legend(county_series) if d.counties else "")
    dept_series = [("在办 open", "#76b7b2"), ("逾期未反馈 overdue", "#e15759")]
    dept_svg = hbars_svg(
        [(dept_label(dep), [n_open, n_over]) for dep, n_open, n_over, *_ in d.departments],
        dept_series, chart="overdue",
        notes=[f"(办公室 offices: 乡镇 town {towns}, 区县 county {counties})"
               for *_, towns, counties in d.departments]) + (_legend(dept_series) if d.departments else "")
    conf_rows = [(ind_label(c), [ok / (ok + no) * 100 if (ok + no) else None]) for c, ok, no, n in d.confirmation]
    conf_notes = [f"({ok}/{ok + no}, 共{n}案 cases)" if (ok + no) else f"(待核实 pending, {n})" for c, ok, no, n in d.confirmation]
    conf_svg = hbars_svg(conf_rows, [("属实率 confirmation rate", "#59a14f")], chart="confirmation",
                         fmt=lambda v: f"{v:.0f}%", xmax=100, notes=conf_notes)

    stats_html = _statistics_html(d, report_dir, dept_label)
    quality_html = _quality_html(d.quality, dept_label, rules)

    feed_rows = []
    for f in d.feeds:
        label, fg, bg = STATUS_STYLE.get(f["status"], (f["status"], "#222", "#fff"))
        link = _data_docs_link(data_docs_dir, f["feed_id"], report_dir)
        docs = f'<a href="{_esc(link)}">校验报告 Data Docs</a>' if link else '<span class="note">—</span>'
        feed_rows.append(
            f'<tr data-status="{_esc(f["status"])}"><td>{_esc(f["name_zh"])} <code>{_esc(f["feed_id"])}</code></td>'
            f'<td>{_esc(dept_name(f["department"]))} {_esc(f["department"])}</td>'
            f'<td>{_esc(f["cadence"])}</td><td class="note">{"<br>".join(_esc(n) for n in f.get("notes") or []) or "—"}</td>'
            f'<td>{_esc(f.get("last_loaded_period") or "—")}</td>'
            f'<td>{_esc(f.get("last_delivery_date") or "—")}</td><td>{_esc(f.get("latest_status") or "—")}</td>'
            f'<td class="num">{_esc(f.get("latest_errors") if f.get("latest_errors") is not None else "—")}</td>'
            f'<td class="num">{_esc(f.get("rejected", 0))}</td>'
            f'<td><span class="badge" style="color:{fg};background:{bg}">{_esc(label)} {_esc(f["status"])}</span></td>'
            f"<td>{docs}</td></tr>")
    missing = (f'<p class="note">尚无数据表 Not in the warehouse yet: {_esc(", ".join(d.missing))}</p>'
               if d.missing else "")
    held = ""
    if d.held:
        def release(h: dict) -> str:
            if h["status"] == "released":
                return f"已放行，下一夜入库 released by {_esc(h['released_by'])}, loads next night"
            return f"<code>lowincome release {_esc(h['delivery_id'])}</code>"

        rows = "".join(
            f'<tr data-status="{_esc(h["status"])}"><td><code>{_esc(h["delivery_id"])}</code></td>'
            f'<td>{_esc(h["period"])}</td><td>{_esc(h["held_reason"])}</td><td>{release(h)}</td></tr>'
            for h in d.held)
        held = f"""<section id="held" class="alert">
<h2>暂停入库，待人工放行 <small>Held deliveries: nothing of them is loaded, the previous data is kept</small></h2>
<p>这些交付会缩减或清空已入库的数据，或重复此前的逐日交付。请核实后放行（或请部门重新交付）。
These deliveries would shrink or empty loaded data, or repeat an earlier daily delivery. Check them, then release
(or ask the department to deliver again).</p>
<table><thead><tr><th>交付 <small>delivery</small></th><th>所属期 <small>period</small></th><th>原因 <small>why</small></th>
<th>放行 <small>release</small></th></tr></thead><tbody>{rows}</tbody></table>
</section>"""
    unread = ""
    if d.unread:
        rows = "".join(f'<tr><td>{_esc(u["area"])}</td><td><code>{_esc(u["path"])}</code></td><td>{_esc(u["kind"])}</td>'
                       f'<td>{_esc(u["reason"])}</td><td>{_esc(u["first_seen_as_of"])}</td></tr>' for u in d.unread)
        unread = f"""<section id="unread">
<h2>未读取的文件夹 <small>Unknown folders: found in the landing zone or the feedback folder, not read</small></h2>
<table><thead><tr><th>区域 <small>area</small></th><th>路径 <small>path</small></th><th>类型 <small>kind</small></th>
<th>原因 <small>reason</small></th><th>首次发现 <small>first seen</small></th></tr></thead><tbody>{rows}</tbody></table>
</section>"""
    title = f"低收入人口动态监测 夜间报告 Nightly report {d.as_of.isoformat()}"
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>低收入人口动态监测 · 夜间报告 <small>Low-income population monitoring — nightly report</small></h1>
<p>数据截至 As of {_esc(d.as_of.isoformat())} · 最新预警数据月 Latest warning month: {_esc(latest or "—")}
 · 仅含汇总数据 Aggregates only</p>
</header>
<main>
{missing}
{held}
<section class="kpis">
<div class="kpi"><b>{latest_n}</b><span>最新数据月预警 Warnings, latest month</span></div>
<div class="kpi"><b>{open_cases}</b><span>在办个案（按部门计） Open cases (per department)</span></div>
<div class="kpi"><b>{overdue}</b><span>逾期未反馈 Overdue feedback</span></div>
<div class="kpi"><b>{bad_feeds}</b><span>异常数据源 Feeds not OK</span></div>
<div class="kpi"><b>{len(d.held)}</b><span>待放行交付 Deliveries held</span></div>
</section>
<section id="trend">
<h2>各指标月度预警 <small>Warnings per indicator per data month</small></h2>
{trend_svg}
{_legend([(ind_label(c), colors[c]) for c in indicators])}
</section>
<section id="county">
<h2>各县预警 <small>Warnings by county</small></h2>
{county_svg}
</section>
<section id="overdue">
<h2>各部门在办与逾期个案 <small>Open and overdue cases by department (as of {_esc(night_time(d.as_of).isoformat())})</small></h2>
{dept_svg}
<p class="note">逾期 = 已派发或已受理、超过反馈期限仍无核实结果。Overdue = dispatched or accepted, past the due date, no verification result. A case routed to two departments counts for each, with that department's own
status. 办公室 = 有在办个案的办公室数：民政在乡镇（街道），其区县事项（重复救助、死亡后仍享受待遇）及其他部门在区县。 Offices =
offices holding open cases: civil affairs at the town office (乡镇/街道), its county acts and every other department at the
county office.</p>
</section>
<section id="confirmation">
<h2>各指标核实属实率 <small>Confirmation rate per indicator</small></h2>
{conf_svg}
<p class="note">属实率 = 属实 / (属实 + 不属实)。Confirmed (verified or assisted) / answered (confirmed + not verified or ineligible).</p>
</section>
{stats_html}
{quality_html}
<section id="feeds">
<h2>数据源新鲜度与校验 <small>Feed freshness and validation status</small></h2>
<table>
<thead><tr><th>数据源 <small>feed</small></th><th>部门 <small>dept</small></th><th>频率 <small>cadence</small></th>
<th>说明 <small>notes</small></th>
<th>最新入库月份 <small>last loaded period</small></th><th>最近交付 <small>last delivery</small></th>
<th>最近交付状态 <small>latest status</small></th><th>错误数 <small>errors</small></th><th>被拒次数 <small>rejected</small></th>
<th>状态 <small>status</small></th><th>校验报告 <small>GX Data Docs</small></th></tr></thead>
<tbody>
{"".join(feed_rows)}
</tbody>
</table>
</section>
{unread}
</main>
<footer>本报告仅含汇总数据，不含身份证号、姓名或家庭明细。This report holds aggregates only: no 身份证号, no names, no household rows.
Household-level questions: the analyst database (<code>lowincome query</code>).</footer>
<script>{CHECK_SCRIPT}</script>
</body>
</html>
"""


def _n(v) -> str:
    return "—" if v is None else f"{v:,}"


def _yuan(v) -> str:
    return "—" if v is None else f"{float(v):,.0f}"


def _pct(v) -> str:
    return "—" if v is None else f"{float(v) * 100:.1f}%"


def _statistics_html(d: ReportData, report_dir: Path, dept_label) -> str:
    """民政统计: the roster by category and city, warnings by department, 处置率 and overdue per
    department, and a link to the 月报 workbook when the statistics stage wrote it beside the report."""
    from pipelines.statistics import AREA_ZH, CATEGORY_ZH, monthly_report_path

    st = d.stats or {}
    month = st.get("month")
    disposal = st.get("disposal") or []
    rows = [r for r in disposal if r["department"] != "all"]
    series = [("处置率 disposal rate", "#59a14f")]
    chart = hbars_svg([(dept_label(r["department"]), [float(r["disposal_rate"]) * 100 if r["disposal_rate"] is not None
                                                      else None]) for r in rows],
                      series, chart="disposal", fmt=lambda v: f"{v:.0f}%", xmax=100,
                      notes=[f"({r['disposed']}/{r['due']}, 逾期 overdue {r['overdue']})" if r["due"]
                             else f"(未到期 none due, {r['sent']})" for r in rows])
    total = next((r for r in disposal if r["department"] == "all"), None)
    head = (f"<p>处置率 = 已办结 ÷ 到期（截至 {_esc(night_time(d.as_of).isoformat())}）：合计 "
            f"{_n(total['disposed']) if total else '—'} / {_n(total['due']) if total else '—'} = "
            f"{_pct(total['disposal_rate']) if total else '—'}，逾期 overdue {_n(total['overdue']) if total else '—'}。"
            " Disposal rate = cases due with a final answer / cases due (sent, deadline passed); overdue = due, not"
            " final, no feedback from the office since its dispatch.</p>")
    if not month:
        body = '<p class="note">暂无完整数据月 No complete data month yet (every feed of a month loaded).</p>'
    else:
        roster = "".join(
            f"<tr><td>{_esc(CATEGORY_ZH.get(r['category'], r['category']))} <code>{_esc(r['category'])}</code></td>"
            f"<td class=\"num\">{_n(r['households'])}</td><td class=\"num\">{_n(r['persons'])}</td>"
            f"<td class=\"num\">{_yuan(r['benefit_yuan'])}</td></tr>" for r in st.get("roster") or [])
        cities = "".join(
            f"<tr><td>{_esc(r['region_name'] or '')} <code>{_esc(r['region_code'])}</code></td>"
            f"<td class=\"num\">{_n(r['households'])}</td><td class=\"num\">{_n(r['persons'])}</td>"
            f"<td class=\"num\">{_yuan(r['benefit_yuan'])}</td></tr>" for r in st.get("cities") or [])
        warned = "".join(
            f"<tr><td>{_esc(dept_label(r['department']) if r['department'] != 'all' else '合计 all')}</td>"
            f"<td class=\"num\">{_n(r['warnings'])}</td><td class=\"num\">{_n(r['households'])}</td>"
            f"<td class=\"num\">{_n(r['cases_opened'])}</td></tr>" for r in st.get("warnings") or [])
        xlsx = monthly_report_path(report_dir.parent.parent, d.as_of, month)
        link = (f'<p>月报 workbook: <a href="{_esc(xlsx.name)}">{_esc(xlsx.name)}</a></p>' if xlsx.exists() else "")
        body = f"""<p>数据月份 Data month {_esc(month)}（最近一个各数据源均已入库的月份 the latest month with every feed
loaded）。{_esc(AREA_ZH['all'])}，按类别 by category; 市 by city:</p>
<table><thead><tr><th>类别 <small>category</small></th><th>户数 <small>households</small></th>
<th>人数 <small>persons</small></th><th>发放金额(元) <small>benefit, yuan</small></th></tr></thead>
<tbody>{roster}</tbody></table>
<table><thead><tr><th>市 <small>city</small></th><th>户数 <small>households</small></th>
<th>人数 <small>persons</small></th><th>发放金额(元) <small>benefit, yuan</small></th></tr></thead>
<tbody>{cities}</tbody></table>
<table><thead><tr><th>部门 <small>department</small></th><th>预警数 <small>warnings</small></th>
<th>涉及户数 <small>households</small></th><th>立案数 <small>cases opened</small></th></tr></thead>
<tbody>{warned}</tbody></table>
{link}"""
    return f"""<section id="statistics">
<h2>民政统计 <small>Monthly statistics{(' ' + _esc(month)) if month else ''}</small></h2>
{body}
<h3>各部门处置率 <small>Disposal rate by department</small></h3>
{head}
{chart}
</section>"""


def _quality_html(rows: list[dict], dept_label, rules: Rules) -> str:
    """数据质量: per department and data month, deliveries on time, late, rejected, share of rows warned."""
    if not rows:
        table = '<p class="note">暂无交付 No deliveries yet.</p>'
    else:
        body = "".join(
            f"<tr><td>{_esc(dept_label(r['department']))}</td><td>{_esc(r['period'])}</td>"
            f"<td class=\"num\">{_n(r['deliveries'])}</td><td class=\"num\">{_n(r['on_time'])}</td>"
            f"<td class=\"num\">{_n(r['late'])}</td><td class=\"num\">{_n(r['rejected'])}</td>"
            f"<td class=\"num\">{_n(r['rows_loaded'])}</td><td class=\"num\">{_pct(r['warned_share'])}</td></tr>"
            for r in rows)
        table = f"""<table><thead><tr><th>部门 <small>department</small></th><th>数据月份 <small>period</small></th>
<th>交付 <small>deliveries</small></th><th>按时 <small>on time</small></th><th>迟交 <small>late</small></th>
<th>被拒 <small>rejected</small></th><th>入库行数 <small>rows loaded</small></th>
<th>警告行占比 <small>rows warned</small></th></tr></thead><tbody>{body}</tbody></table>"""
    return f"""<section id="quality">
<h2>各部门数据质量 <small>Data quality by department</small></h2>
{table}
<p class="note">按时 = 交付文件夹日期不晚于数据月份次月 {rules.delivery_due_day} 日；被拒 = 因数据被拒（不含系统原因的重试）；
每次被拒或有警告的交付，当晚在该部门 outbox 的 quality 文件夹中发出核查通报。 On time = delivered by day
{rules.delivery_due_day} of the month after the data month; each rejected or warned delivery gets a notice in the
department's outbox quality folder that night.</p>
</section>"""


def report_path(out_dir: Path, as_of: dt.date) -> Path:
    return Path(out_dir) / "report" / as_of.isoformat() / "report.html"


def write_report(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                 data_docs_dir: Path | None = None, rules: Rules | None = None) -> Path:
    """Write ``out_dir/report/<as_of>/report.html`` atomically and return its path. Reads the
    warehouse only (a read-only connection will do)."""
    target = report_path(out_dir, as_of)
    data = collect(con, as_of, rules=rules)
    atomic_write_text(target, render_html(data, Path(data_docs_dir) if data_docs_dir else None, target.parent, rules))
    return target
