"""Render docs/performance.md from the results of bench/nightly.py: one results.json per size, from the
cache, else the copy the benchmark keeps in the repository (``bench/results/<size>.json``). A size with
neither keeps its section (and its target rows) from the page as it was, marked as carried over.
"""

from __future__ import annotations

import json
from pathlib import Path

ORDER = ("100k", "1000k", "3000k")
NIGHT_EXCLUDE = ("scan", "pandas")        # measurements, not stages of the night
THREE = ("INC_DROP", "EXP_MED", "ELIG_DIBAO")
NOTES = Path(__file__).with_name("nightly_notes.md")
KEPT = Path(__file__).with_name("results")  # the benchmark's copy of each size's results.json


def _gb(b) -> str:
    return f"{b / 1e9:.2f}"


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) else str(x)


def night_total(night: dict) -> tuple[float, int, float]:
    st = {k: v for k, v in night["stages"].items() if k not in NIGHT_EXCLUDE}
    return (sum(v["seconds"] for v in st.values()), max(v["peak_rss"] for v in st.values()),
            sum(v["wall_s"] for v in st.values()))


def indicator_stage(night: dict, code: str) -> tuple[dict, dict]:
    """(the stage an indicator ran in, its own numbers): the one indicators stage and the indicator's
    part of it, or -- in results written before the benchmark ran them in one process -- its own stage."""
    own = night["stages"].get(f"indicator:{code}")
    if own is not None:
        return own, own
    stage = night["stages"].get("indicators", {})
    return stage, stage.get("parts", {}).get(code, {})


def indicator_part(night: dict, code: str, key: str) -> float:
    return indicator_stage(night, code)[1].get(key, 0)


def three_seconds(night: dict) -> float:
    return sum(indicator_part(night, c, "seconds") for c in THREE)


def scoring_seconds(night: dict) -> float | None:
    """The models' time in a night: the eligibility stage, and the triage stage's model work (``model_s``:
    without a model the stage still orders by severity). None for nights timed before it was recorded."""
    stages = night.get("stages", {})
    if "model_s" not in stages.get("triage", {}) or "eligibility" not in stages:
        return None
    return stages["eligibility"]["seconds"] + stages["triage"]["model_s"]


def load_results(cache: Path) -> list[dict]:
    out = []
    for label in ORDER:
        f = cache / label / "results.json"
        if not f.exists() and (KEPT / f"{label}.json").exists():
            f = KEPT / f"{label}.json"
        if f.exists():
            out.append(json.loads(f.read_text()))
        elif (cache / label / "run_m1" / "night").is_dir():
            out.append(_partial_single_month(cache / label, label))
    return out


def _partial_single_month(root: Path, label: str) -> dict:
    """A --single-month run that has not finished: the stages done so far, from their result files."""
    import nightly

    stages = {}
    for stage in nightly.night_stages():
        f = root / "run_m1" / "night" / f"stage_{stage.replace(':', '_')}.json"
        if f.exists():
            v = json.loads(f.read_text())
            v.setdefault("wall_s", v["seconds"])
            v.setdefault("load_before", "?")
            v.setdefault("load_after", "?")
            stages[stage] = v
    roster = int(label.rstrip("k")) * 1000
    return {"size": label, "families": roster * 2 // 5, "history_months": 0, "timed_month": 1, "partial": True,
            "generator": f"bench/ingest_bench.py build(roster={roster:,}, residents={2 * roster:,}), one month",
            "night_m1": {"month": 1, "period": "2026-09", "stages": stages, "wall_s": 0,
                         "warehouse_bytes": (root / "run_m1" / "warehouse.duckdb").stat().st_size}}


def size_section(r: dict) -> list[str]:
    H = r["history_months"]
    late = r.get(f"night_m{H + 1}")
    early = r.get("night_m2") if H + 1 != 2 else None
    lines = [f"## {r['size']} roster persons ({r['families']:,} roster families)", ""]
    mach = r.get("machine", {})
    lines.append(f"Province (pipelines.synth, seed 20261) from 2025-10, landing zone {r.get('landing_bytes', 0) / 1e9:.1f} GB "
                 f"on disk; history = months 1..{H}, timed nights = month 2 (after month 1) and month {H + 1} "
                 f"(after months 1..{H}). Finished {r.get('finished', '?')} UTC.")
    if H == 0:
        lines[-1] = (f"**One month only** ({r.get('generator', '')}; landing zone {r.get('landing_bytes', 0) / 1e9:.1f} GB): "
                     f"a setup night loads the reference feeds, then the timed night adds data month 2026-09 to an "
                     f"otherwise empty warehouse. pipelines.synth cannot build 3M × 13 months here (1M × 13 months "
                     f"peaked at 6.9 GB and took 625 s in the generator; with 2 months it fails in the event injection). So this "
                     f"shows that every stage completes at 3M and its memory, not the month-13 cost. "
                     f"Finished {r.get('finished', '?')} UTC.")
    if mach.get("cpu"):
        # sizes are re-timed on different days, and these machines are not always the same hardware
        lines[-1] += f" Timed on: {mach['cpu']}, nproc = {mach.get('nproc', '?')}, kernel {mach.get('kernel', '?')}."
    if H != 12 and H != 0:
        lines.append("")
        baseline = ("INC_DROP's 6-month baseline is full; EXP_MED rule B's 12-month history is not" if H >= 6 else
                    "the indicators' trailing windows are not all full yet; what it shows is that every stage of a "
                    "night after history completes at this size, and its memory")
        lines.append(f"**Reduced history: {H} months (not 12)** — month {H + 1}'s night is timed after {H} months "
                     f"({baseline}).")
    lines.append("")
    if not late and not early:
        return lines + ["(no timed night yet)", ""]
    if r.get("partial"):
        done = list(late["stages"])
        lines += [f"**Not finished when this page was written**: stages done: {', '.join(done)}; the next stage "
                  f"was still running. Totals below are for the finished stages only.", ""]
    ref = late or early
    scan = ref["stages"].get("scan", {}).get("scan_s") or ref["stages"].get("scan", {}).get("seconds")
    hdr = "| stage | month 2 s | month %d s | m%d / m2 | CPU s m%d | peak RSS m%d GB | rows m%d | × DuckDB scan |" % ((H + 1,) * 5)
    lines += [hdr, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for stage, v in ref["stages"].items():
        if stage in NIGHT_EXCLUDE:
            continue
        e = early["stages"].get(stage) if early else None
        ratio = f"{v['seconds'] / e['seconds']:.2f}" if e and e["seconds"] > 0 else "-"
        dist = f"{v['seconds'] / scan:,.1f}×" if scan else "-"
        cpu = f"{v['cpu_s']:.1f}" if "cpu_s" in v else "-"
        lines.append(f"| {stage} | {e['seconds']:.1f} | {v['seconds']:.1f} | {ratio} | {cpu} | {_gb(v['peak_rss'])} | "
                     f"{_n(v.get('rows', 0))} | {dist} |" if e else
                     f"| {stage} | - | {v['seconds']:.1f} | - | {cpu} | {_gb(v['peak_rss'])} | {_n(v.get('rows', 0))} | {dist} |")
        if stage == "prepare":
            for part, label in ((("checksum", "read", "type", "checks", "write"), "↳ parse (checksum, read, type, checks, stage Parquet)"),
                                (("gx",), "↳ GX validation")):
                s_late = sum(v.get("parts", {}).get(p, 0) for p in part)
                s_early = sum(e.get("parts", {}).get(p, 0) for p in part) if e else 0
                rr = f"{s_late / s_early:.2f}" if s_early else "-"
                lines.append(f"| {label} | {s_early:.1f} | {s_late:.1f} | {rr} | | (in prepare) | | "
                             f"{s_late / scan:,.1f}× |" if scan else f"| {label} | {s_early:.1f} | {s_late:.1f} | {rr} | | | | |")
        if stage == "indicators":
            for code, p in v.get("parts", {}).items():
                s_early = indicator_part(early, code, "seconds") if early else 0
                rr = f"{p['seconds'] / s_early:.2f}" if s_early else "-"
                lines.append(f"| ↳ {code} ({', '.join(p['months'])}) | {s_early:.1f} | {p['seconds']:.1f} | {rr} | "
                             f"{p['cpu_s']:.1f} | (in indicators) | {p['warnings']:,} | |")
    tot_l, rss_l, wall_l = night_total(ref)
    cpu_l = sum(v.get("cpu_s", 0) for k, v in ref["stages"].items() if k not in NIGHT_EXCLUDE)
    tot_e, rss_e, wall_e = night_total(early) if early else (0, 0, 0)
    e_txt = f"**{tot_e:.1f}**" if early else "-"
    ratio_txt = f"**{tot_l / tot_e:.2f}**" if early else "-"
    lines.append(f"| **whole night** (sum of stages) | {e_txt} | **{tot_l:.1f}** | {ratio_txt} | {cpu_l:.0f} | "
                 f"**{_gb(rss_l)}** (max of stages) | | {tot_l / scan:,.0f}× |" if scan else "")
    lines.append(f"| wall incl. child start-up ({len(ref['stages'])} processes) | {wall_e:.1f} | {wall_l:.1f} | | | | | |")
    lines.append("")
    sc = ref["stages"].get("scan")
    if sc:
        lines.append(f"DuckDB scan limit (month {ref['month']}): `count(*)` + `sum()` of every numeric column over the night's "
                     f"{sc.get('files', 0)} staged Parquet files ({sc.get('bytes', 0) / 1e6:.0f} MB, {sc.get('rows', 0):,} rows) "
                     f"in **{sc['scan_s']:.2f} s** ({sc.get('rows', 0) / max(sc['scan_s'], 1e-9) / 1e6:.0f} M rows/s). "
                     f"The landing zone of the night is {ref['stages']['prepare'].get('bytes_in', 0) / 1e6:.0f} MB.")
        lines.append("")
    lines.append(f"Warehouse after month {ref['month']}: {ref.get('warehouse_bytes', 0) / 1e9:.2f} GB; analyst DB "
                 f"{ref.get('analyst_bytes', 0) / 1e9:.2f} GB. Load average before → after the night: "
                 f"{next(iter(ref['stages'].values()))['load_before']} → {list(ref['stages'].values())[-1]['load_after']}"
                 + (f" (month 2: {next(iter(early['stages'].values()))['load_before']} → "
                    f"{list(early['stages'].values())[-1]['load_after']})" if early else "") + ".")
    lines.append("")
    pd_ = (late or {}).get("stages", {}).get("pandas")
    if pd_:
        ours = three_seconds(late)
        core = late["stages"]["core"]["seconds"]
        total = pd_["read_s"] + pd_["compute_s"]
        cpu3 = sum(indicator_part(late, c, "cpu_s") for c in THREE)
        carried = (f"The pandas stage was timed in an earlier run of this same night (same staged data; "
                   f"load {pd_.get('load_before', '?')} → {pd_.get('load_after', '?')}), the re-timed night skipped it "
                   f"(`--no-pandas`).\n\n" if pd_.get("carried_over") else "")
        lines += [f"### pandas baseline (month {late['month']}: INC_DROP, EXP_MED, ELIG_DIBAO)", "", *([carried] if carried else []),
                  "| | seconds | peak RSS GB |", "| --- | ---: | ---: |",
                  f"| pandas: read staging.* for M-12..M into DataFrames | {pd_['read_s']:.1f} | |",
                  f"| pandas: compute (13 months of households, 3 indicators) | {pd_['compute_s']:.1f} | |",
                  f"| **pandas total** | **{total:.1f}** | {_gb(pd_['peak_rss'])} |",
                  f"| ours: the 3 indicator stages | {ours:.1f} | "
                  f"{_gb(max(indicator_stage(late, c)[0]['peak_rss'] for c in THREE))}"
                  f"{'' if 'indicator:INC_DROP' in late['stages'] else ' (the indicators stage)'} |",
                  f"| ours: core (incremental) + the 3 indicator stages | {core + ours:.1f} | |", "",
                  f"Ratio ours / pandas: **{ours / total:.3f}** (indicators only; pandas is {total / ours:.0f}× slower), "
                  f"{(core + ours) / total:.3f} counting the whole core build ({total / (core + ours):.1f}×). "
                  f"Against pandas' compute alone (data already in memory): {ours / pd_['compute_s']:.3f}. "
                  f"In CPU seconds (steadier on the shared machine): ours {cpu3:.1f} s vs pandas {pd_.get('cpu_s', 0):.1f} s "
                  f"= {cpu3 / max(pd_.get('cpu_s', 0), 1e-9):.3f} ({pd_.get('cpu_s', 0) / max(cpu3, 1e-9):.0f}× less CPU).", "",
                  "| indicator | households (ours) | households (pandas) | same? |", "| --- | ---: | ---: | --- |"]
        for code, c in pd_["check"].items():
            extra = "" if c["same"] else f" only ours: {c['only_ours']}, only pandas: {c['only_pandas']}"
            lines.append(f"| {code} | {c['ours']:,} | {c['pandas']:,} | {'yes' if c['same'] else 'NO'}{extra} |")
        lines.append("")
    for key, v in r.items():
        if key.startswith("history_to_m") and "nights" in v:
            per = ", ".join(f"m{n['month']} {n['seconds']:.0f}s/{_gb(n['peak_rss'])} GB" for n in v["nights"])
            lines.append(f"- history load `{key}` ({len(v['nights'])} run_nights, {v['step']} month(s) each): "
                         f"{v['seconds']:.0f} s, peak RSS {_gb(v['peak_rss'])} GB, {v.get('rows', 0):,} rows ({per}); "
                         f"load {v['load_before']} → {v['load_after']}")
        elif key == "month1" or key.startswith("history_to_m"):
            tm = ", ".join(f"{k} {s:.0f}s" for k, s in v.get("timings", {}).items())
            lines.append(f"- history load `{key}` (one run_night): {v['seconds']:.0f} s, peak RSS {_gb(v['peak_rss'])} GB, "
                         f"{v.get('rows', 0):,} rows ({tm}); load {v['load_before']} → {v['load_after']}")
    lines.append("")
    return lines


def targets(results: list[dict]) -> list[str]:
    r = next((x for x in results if x["size"] == "1000k"), None)
    if not r:
        return []
    H = r["history_months"]
    late, early = r.get(f"night_m{H + 1}"), r.get("night_m2")
    if not late:
        return []
    tot, rss, _ = night_total(late)
    repeats = late.get("repeats", [])
    totals = ", ".join(f"{x['seconds']:.0f}" + (f" (CPU steal {x['steal']:.1%})" if x.get("steal") is not None else "")
                       for x in repeats)
    rss = max([rss] + [x["peak_rss"] for x in repeats])  # the largest stage of any of the runs
    spread = f", the median of {len(repeats)} runs one after the other ({totals} s)" if len(repeats) > 1 else ""
    lines = ["## Targets at 1,000,000 roster persons", "", "| target | reached | met? |", "| --- | --- | --- |",
             f"| whole nightly run for a new month ≤ 5 min | {tot:.0f} s ({tot / 60:.1f} min){spread} | "
             f"{'✅' if tot <= 300 else '❌'} |",
             f"| peak memory ≤ 6 GB | {rss / 1e9:.2f} GB (largest stage{' of any run' if len(repeats) > 1 else ''}) | {'✅' if rss <= 6e9 else '❌'} |"]
    scoring = scoring_seconds(late)
    if scoring is not None:
        triage = late["stages"]["triage"]
        lines.append(f"| scoring adds < 10% to the night | {scoring:.1f} s of {tot:.0f} s = {scoring / tot:.1%} (the "
                     f"eligibility stage, {late['stages']['eligibility']['seconds']:.1f} s, and the triage stage's model "
                     f"work, {triage['model_s']:.1f} s"
                     + ("; the triage stage used no model that night (its note says why)"
                        if str(triage.get("note", "")).startswith("model -:") else "") + ") | "
                     f"{'✅' if scoring < 0.1 * tot else '❌'} |")
    pd_ = late["stages"].get("pandas")
    if pd_:
        ours = three_seconds(late)
        total = pd_["read_s"] + pd_["compute_s"]
        same = all(c["same"] for c in pd_["check"].values())
        lines.append(f"| indicators ≥ 10× faster than pandas | {total / ours:.0f}× (indicators), "
                     f"{total / (ours + late['stages']['core']['seconds']):.1f}× incl. core | {'✅' if total / ours >= 10 else '❌'} |")
        lines.append(f"| same households found | {'yes' if same else 'no'} | {'✅' if same else '❌'} |")
    if early:
        te, _, _ = night_total(early)
        verdict = "✅" if tot <= 1.5 * te else "❌"
        if early.get("cpu") != late.get("cpu", (r.get("machine") or {}).get("cpu")):
            verdict = "not compared: the two nights were timed on different machines (re-time with --rerun-early)"
        if H != 12:
            verdict += f" at month {H + 1} only (see the notes)"
        lines.append(f"| month {H + 1} ≤ 1.5 × month 2 (target: month 13) | {tot:.0f} s vs {te:.0f} s = {tot / te:.2f}× | {verdict} |")
    small = next((x for x in results if x["size"] == "100k" and x.get("night_m13") and x.get("night_m2")), None)
    if small:
        t13, _, _ = night_total(small["night_m13"])
        t2, _, _ = night_total(small["night_m2"])
        lines.append(f"| (100k, 12 months of history) month 13 ≤ 1.5 × month 2 | {t13:.0f} s vs {t2:.0f} s = {t13 / t2:.2f}× | "
                     f"{'✅' if t13 <= 1.5 * t2 else '❌'} |")
    big = next((x for x in results if x["size"] == "3000k"), None)
    if big and big.get("partial"):
        t3, r3, _ = night_total(big["night_m1"])
        lines.append(f"| 3,000,000 completes without OOM | not finished in the session: {len(big['night_m1']['stages'])} stages "
                     f"done in {t3:.0f} s, peak {r3 / 1e9:.2f} GB, no OOM (see 3000k) | ❌ (incomplete) |")
    elif big and big.get(f"night_m{big['history_months'] + 1}"):
        H3 = big["history_months"]
        t3, r3, _ = night_total(big[f"night_m{H3 + 1}"])
        what = ("one month into an empty warehouse, see 3000k" if H3 == 0 else
                f"the month-{H3 + 1} night after {H3} months of history, see 3000k")
        lines.append(f"| 3,000,000 completes without OOM | {t3:.0f} s ({t3 / 60:.1f} min), peak {r3 / 1e9:.2f} GB "
                     f"({what}) | ✅{' (first month only)' if H3 == 0 else ''} |")
    else:
        lines.append("| 3,000,000 completes without OOM | not run to the end (see below) | ❌ |")
    return lines + [""]


def _invocation(r: dict) -> str:
    if r.get("single_month") or r["size"] == "3000k" and "night_m1" in r:
        return f"`--sizes {r['size']} --single-month`"
    h = r.get("history_months", 12)
    step = r.get(f"history_to_m{h}", {}).get("step")
    return (f"`--sizes {r['size']}" + ("" if h == 12 else f" --history-months {h}")
            + (f" --history-step {step}" if step else "") + "`")


def _section(page: str, heading: str) -> list[str]:
    """The lines of ``page``'s section whose heading starts with ``heading``, up to the next ``## ``."""
    lines = page.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith(heading)), None)
    if start is None:
        return []
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _carried_over(old: str, labels: list[str]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """From the page as it was: the whole section of each size in ``labels`` (its results are in
    neither the cache nor bench/results/) and the target rows that come from those sizes."""
    lines = old.splitlines()
    sections: dict[str, list[str]] = {}
    for label in labels:
        body = _section(old, f"## {label} roster persons")
        if not body:
            continue
        note = ("*Carried over from the previous rendering of this page: neither this run's cache nor "
                "bench/results/ holds results for this size, so its numbers are from the code of that run.*")
        rest = [ln for ln in body[1:] if ln != note]
        while rest and not rest[0].strip():
            rest.pop(0)
        sections[label] = body[:1] + ["", note, ""] + rest
    rows = {}
    prefixes = {"100k": "| (100k, 12 months of history)", "3000k": "| 3,000,000 completes"}
    for label in labels:
        row = next((ln for ln in lines if label in prefixes and ln.startswith(prefixes[label])), None)
        if row:
            rows[label] = row
    return sections, rows


def write(cache: Path, path: Path) -> None:
    results = load_results(cache)
    missing = [x for x in ORDER if x not in {r["size"] for r in results}]
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    kept, kept_rows = _carried_over(old, missing)
    m = next((x.get("machine") for x in results if x.get("machine")), {})
    lines = ["# Nightly performance", "",
             "Generated by `bench/nightly.py` (this page: " + ", ".join([_invocation(r) for r in results] + [f"{x} carried over" for x in kept]) + "; "
             "`--doc-only` re-renders this page from the cached results). A *night* adds exactly one data "
             "month to a warehouse that already holds the previous months, through the same calls as "
             "`pipelines.nightly.run_night`; every stage runs in its own process, so its peak RSS is its own.", "",
             "## Machine", "",
             f"- CPU: {m.get('cpu', '?')}, nproc = {m.get('nproc', '?')}; RAM {m.get('ram_gib', '?')} GiB; kernel {m.get('kernel', '?')} "
             "(each size below names the machine it was timed on)",
             f"- Python {m.get('python', '?')}; duckdb {m.get('duckdb', '?')}, great-expectations {m.get('gx', '?')}, "
             f"pandas {m.get('pandas', '?')}, pyarrow {m.get('pyarrow', '?')}",
             "- DuckDB: threads, memory_limit and temp_directory from `pipelines.config.Settings` "
             f"(this run: threads = {m.get('duckdb_threads', 2)}, memory_limit = {m.get('duckdb_memory_limit', '5GB')}, "
             "temp_directory = `<work>/duckdb_tmp`).",
             "- Load averages before and after each night are given with its table (a load above 2 means other work "
             "shared the 2 cores).", ""]
    target_lines = targets(results)
    if not target_lines and "1000k" in kept:
        target_lines = _section(old, "## Targets at 1,000,000") + [""]
    elif kept_rows:
        end = max(i for i, ln in enumerate(target_lines) if ln.startswith("|"))
        drop = ("| 3,000,000 completes",) if "3000k" in kept_rows else ()
        target_lines = ([ln for ln in target_lines[:end + 1] if not ln.startswith(drop or "\0")]
                        + [f"{row[:-1].rstrip()} (carried over) |" if not row.rstrip().endswith("(carried over) |") else row
                           for row in kept_rows.values()] + target_lines[end + 1:])
    lines += target_lines
    by_size = {r["size"]: r for r in results}
    for label in ORDER:
        if label in by_size:
            lines += size_section(by_size[label])
        elif label in kept:
            lines += kept[label] + [""]
    if NOTES.exists():
        lines += [NOTES.read_text(encoding="utf-8").rstrip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
