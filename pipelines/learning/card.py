"""Model cards: ``<folder>/card.md`` and ``<folder>/calibration.png``, written by every training.

The card says what the model predicts and from what, on which months and how many rows it learned,
how it does on the held-back months (ROC-AUC, precision and recall at the cut-off, precision at
the top 5% / 10%, calibration error and plot), against the rule it replaces, and the same numbers
by urban/rural, city, the head's gender and age band -- with a warning line for every gap beyond
the bound of ``models/<model>/model.toml``. Everything comes from the artifact's metadata, so the
card and the model cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.atomic import atomic_write_bytes, atomic_write_text

GROUP_TITLES = {"urban_rural": "urban / rural (城乡)", "city": "city (地市)", "head_gender": "head's gender (户主性别)",
                "head_age_band": "head's age band (户主年龄段)", "indicator": "indicator (指标)"}


# the triage model's own features (pipelines/learning/triage.py): the case as first sent
CASE_GROUPS = {"case_indicator": "案件的预警指标 the case's indicator (one column each)",
               "case": "案件与预警证据 the case, its severity and departments, its warning's evidence"}


# how the card names a calibration method (pipelines/learning/artifact.py: fit_calibrator)
_CALIBRATION = {"isotonic": "isotonic (steps joined at their midpoints)", "sigmoid": "Platt (sigmoid)"}


def pct(x) -> str:
    return "–" if x is None else f"{x:.1%}"


def _num(x, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def calibration_png(bins_by_label: dict[str, list[dict]], title: str) -> bytes:
    """A reliability diagram: mean predicted probability against the observed rate per bin."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 5.0), dpi=100)
    ax.plot([0, 1], [0, 1], linestyle="--", color="#888888", linewidth=1, label="perfect calibration")
    for (label, bins), marker in zip(bins_by_label.items(), ("o", "s", "^", "D")):
        pts = [(b["mean_probability"], b["observed_rate"], b["rows"]) for b in bins if b["rows"]]
        if not pts:
            continue
        xs, ys, ns = zip(*pts)
        ax.plot(xs, ys, marker=marker, linewidth=1.5, label=f"{label} ({sum(ns):,} rows)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed rate")
    ax.set_title(title, fontsize=10)
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _summary_rows(name: str, s: dict) -> list[str]:
    c = s.get("at_cutoff") or {}
    return [f"| {name} | {s['rows']:,} | {s['positives']:,} | {pct(s.get('base_rate'))} | {_num(s.get('roc_auc'))} | "
            f"{pct(c.get('precision'))} | {pct(c.get('recall'))} | {c.get('flagged', 0):,} | "
            f"{pct(s.get('precision_top_5pct'))} | {pct(s.get('precision_top_10pct'))} | "
            f"{_num(s.get('calibration_error'))} | {_num(s.get('brier'))} |"]


def render(spec, meta: dict) -> str:
    name = meta["model"]
    lines = [f"# Model card: {name} ({spec.name_zh}, {spec.name_en})", "",
             "Written by `lowincome model train` from the artifact's metadata "
             f"(`{name}.json`); do not edit by hand.", "",
             f"- **version** `{meta['version']}` (trained {meta.get('trained_on', '?')}, seed {meta.get('seed')})",
             f"- **predicts** {meta.get('label', '')}",
             f"- **model** scikit-learn HistGradientBoostingClassifier, "
             f"{_CALIBRATION.get(meta.get('calibration'), meta.get('calibration'))} calibration; "
             f"artifact `{name}.skops` (skops, no pickle) + `{name}.json`",
             ]
    if "cutoff" in meta:
        lines.append(f"- **cut-off** {meta['cutoff']:.3f}: {meta.get('cutoff_rule', '')}")
    if "priority" in meta:
        p = meta["priority"]
        rule = f" ({p['rule']})" if p.get("rule") else ""
        lines.append(f"- **priority** 高 ≥ {p['high']:.3f}, 中 ≥ {p['medium']:.3f}, else 低{rule}; urgent cases always 高")
    if "in_force" in meta:
        lines.append(f"- **in force** {'yes' if meta['in_force'] else 'no: the nights keep the severity order'} "
                     f"({meta.get('in_force_reason', '')})")
    lines.append(f"- **explanations** {meta.get('explanation_method', '–')}")
    lib = meta.get("libraries", {})
    lines.append("- **libraries** " + ", ".join(f"{k} {v}" for k, v in sorted(lib.items())))
    lines += ["", "## Data", "",
              "Months are label months (" + meta.get("month_kind", "the month of the check") + "). "
              "The trees learn from the oldest months, the calibration months set the probabilities"
              + (" and the cut-off" if "cutoff" in meta else "") + ", the last months are held back for this card.", "",
              "| part | months | rows | positive |" + (" partial coverage rows |" if name == "eligibility" else ""),
              "| --- | --- | ---: | ---: |" + (" ---: |" if name == "eligibility" else "")]
    for part in ("train", "calibration", "test"):
        c = meta["counts"][part]
        extra = f" {c.get('partial_rows', 0):,} |" if name == "eligibility" else ""
        lines.append(f"| {part} | {', '.join(meta['months'][part])} | {c['rows']:,} | {c['positives']:,} |{extra}")
    if meta.get("reasons"):
        lines += ["", "Rows by reason of the check: " + "; ".join(
            f"{part}: " + ", ".join(f"{r} {n:,}" for r, n in reasons.items()) for part, reasons in meta["reasons"].items())]
    lines += ["", f"Features: {len(meta['features'])} (by group, with the words an explanation uses):", "",
              "| group | label (中文) | features |", "| --- | --- | --- |"]
    named, groups = spec.features, spec.groups
    if not named:  # the triage model: its household features are the eligibility model's, named there
        from pipelines.learning.spec import load_spec

        household = load_spec("eligibility")
        named, groups = household.features, household.groups
    by_group: dict[str, list[str]] = {}
    for f in meta["features"]:
        code = named.get(f) or ("case_indicator" if f.startswith("ind_") else "case" if name == "triage" else f)
        by_group.setdefault(code, []).append(f)
    for code, feats in by_group.items():
        g = groups.get(code)
        label = g.label_zh if g else CASE_GROUPS.get(code, code)
        lines.append(f"| {code} | {label} | {', '.join(feats)} |")
    lines += ["", "No name, person id, ethnicity or gender is a feature; the head's gender is used only for the "
                  "fairness table below.", "",
              "## Held-back months: " + ", ".join(meta["months"]["test"]), "",
              "| rows | n | positive | base rate | ROC-AUC | precision at cut-off | recall at cut-off | flagged | "
              "precision top 5% | precision top 10% | calibration error (ECE) | Brier |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, ev in meta["evaluation"].items():
        lines += _summary_rows(label, ev["model"])
    lines += ["", "![calibration](calibration.png)", ""]
    lines += ["## Against the rule", ""]
    baseline_words = meta.get("baseline_words", "")
    if baseline_words:
        lines += [baseline_words, ""]
    lines += ["| rows | model precision | model recall | rule precision | rule recall | model flags | rule flags |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, ev in meta["evaluation"].items():
        m, r = ev["model"].get("at_cutoff") or {}, ev.get("rule_baseline") or {}
        lines.append(f"| {label} | {pct(m.get('precision'))} | {pct(m.get('recall'))} | {pct(r.get('precision'))} | "
                     f"{pct(r.get('recall'))} | {m.get('flagged', 0):,} | {r.get('flagged', 0):,} |")
    if meta.get("ordering"):
        lines += ["", "| order | share of confirmed cases in the top half |", "| --- | ---: |"]
        for label, v in meta["ordering"].items():
            lines.append(f"| {label} | {pct(v)} |")
    if meta.get("levels"):
        lines += ["", "What a priority meant on the held-back months (urgent cases are 高 whatever their probability):", "",
                  "| priority | cases | share | confirmed |", "| --- | ---: | ---: | ---: |"]
        for lv in meta["levels"]:
            lines.append(f"| {lv['label']} | {lv['cases']:,} | {pct(lv['share'])} | {pct(lv['confirmed'])} |")
    lines += ["", "## By group (held-back months, at the cut-off)", "",
              f"A gap in precision or recall larger than {meta.get('fairness_bound', 0.15):.2f} between judged groups is "
              "a warning (groups with too few rows or positives are listed, not judged).", ""]
    for grouping, rows in meta["groups"].items():
        lines += [f"### {GROUP_TITLES.get(grouping, grouping)}", "",
                  "| group | rows | positive | ROC-AUC | precision | recall | flagged | mean probability | observed rate | judged |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
        for r in rows:
            lines.append(f"| {r['group']} | {r['rows']:,} | {r['positives']:,} | {_num(r['roc_auc'])} | {pct(r['precision'])} | "
                         f"{pct(r['recall'])} | {r['flagged']:,} | {pct(r['mean_probability'])} | "
                         f"{pct(r['observed_rate'])} | {'yes' if r['judged'] else 'no'} |")
        lines.append("")
    lines += ["## Warnings", ""]
    lines += [f"- ⚠ {w}" for w in meta.get("warnings", [])] or ["- none: no gap beyond the bound, nothing else to report"]
    if meta.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in meta["notes"]]
    return "\n".join(lines) + "\n"


def write_card(folder: Path, spec, meta: dict) -> Path:
    """Write ``card.md`` and ``calibration.png`` into ``folder``; return the card's path."""
    folder = Path(folder)
    bins = {label: ev["calibration_bins"] for label, ev in meta["evaluation"].items()}
    atomic_write_bytes(folder / "calibration.png",
                       calibration_png(bins, f"{meta['model']} {meta['version']}: held-back months "
                                             f"{', '.join(meta['months']['test'])}"))
    path = folder / "card.md"
    atomic_write_text(path, render(spec, meta))
    return path
