"""Train the learned models on a replayed synthetic province and check them against its truth.

    uv run python scripts/model_targets.py --province DIR --warehouse FILE --model-dir DIR [--out FILE]
                                           [--no-train] [--referral-estimate]

DIR is what ``lowincome synth`` wrote (``truth_income.parquet`` is read); FILE a warehouse the
province's nights ran into with the demo's simulated department answers (``pipelines.demo.replay``).
Prints (and with ``--out`` writes) a Markdown report: training time and memory per model, the
eligibility target on households with partial coverage and a hardship signal (pipelines/learning/
targets.py), the triage target from the triage card, and what scoring one month costs against the
night it belongs to (``ops.runs``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--province", type=Path, required=True)
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--model-dir", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--no-train", action="store_true", help="use the artifacts already in --model-dir")
    ap.add_argument("--referral-estimate", action="store_true",
                    help="also estimate what checks of the pipeline's own referrals would teach the eligibility model "
                         "(for a province whose offices bring no checks; pipelines/learning/targets.py)")
    args = ap.parse_args(argv)

    import numpy as np

    from pipelines.config import load_settings
    from pipelines.learning import data, targets
    from pipelines.learning.artifact import load_artifact
    from pipelines.learning.eligibility import PROBABILITY_DECIMALS, ExplainScope, explained_rows
    from pipelines.learning.explain import top_features
    from pipelines.learning.spec import load_spec, model_folder
    from pipelines.learning.train import train_models
    from pipelines.nightly import open_warehouse

    settings = load_settings(env={}, warehouse=args.warehouse, model_dir=args.model_dir, show_progress=False)
    lines = [f"# Learned models against the synthetic province ({args.province.name})", "",
             f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
             f"warehouse {args.warehouse.stat().st_size / 1e9:.2f} GB.", ""]
    timings = {}
    if not args.no_train:
        for name in ("eligibility", "triage"):
            t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            [outcome] = train_models(settings, [name], echo=print)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            timings[name] = {"seconds": time.perf_counter() - t0, "cpu": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
                             "trained": outcome.trained, "reason": outcome.reason}
        lines += ["## Training", "", "| model | trained | wall s | CPU s |", "| --- | --- | ---: | ---: |"]
        for name, t in timings.items():
            lines.append(f"| {name} | {'yes' if t['trained'] else 'no: ' + t['reason']} | {t['seconds']:.1f} | {t['cpu']:.1f} |")
        lines += [f"", f"Peak RSS of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB.", ""]

    spec = load_spec("eligibility")
    with open_warehouse(settings, read_only=True) as con:
        art = load_artifact(model_folder(settings, "eligibility"), "eligibility")
        meta = art.meta
        cutoff = float(spec.cutoff["value"]) if "value" in spec.cutoff else float(meta["cutoff"])
        result = targets.eligibility_targets(con, art, cutoff, args.province / "truth_income.parquet",
                                             meta["months"]["test"], oracle_months=meta["months"]["train"],
                                             seed=spec.seed, training=spec.training)
        lines += ["## Eligibility against true income", "", targets.render(result, cutoff), ""]
        if args.referral_estimate:
            t0 = time.perf_counter()
            est = targets.referral_check_estimate(con, art, args.province / "truth_income.parquet", spec.training,
                                                  spec.seed, float(spec.cutoff.get("target_recall", 0.9)))
            lines += ["## Estimate: with checks of the pipeline's own referrals", "",
                      "The province's offices bring no checks; what the eligibility model would learn if each path (b) "
                      "candidate of the training and calibration months had been checked (its true income against the "
                      "line; pipelines/learning/targets.py: referral_check_estimate). An estimate, not the loop itself.",
                      "", targets.render_estimate(est), "", f"({time.perf_counter() - t0:.0f} s)", ""]
        # what the nightly stage costs for the newest month (features, probabilities, explanations)
        newest = data.data_months(con)[-1]
        t0 = time.perf_counter()
        frame = data.household_features(con, newest, partial_only=True)
        t1 = time.perf_counter()
        p = art.predict(data.matrix(frame, art.features))
        t2 = time.perf_counter()
        above = frame[p >= cutoff]
        explain = explained_rows(con, frame, np.round(p, PROBABILITY_DECIMALS), cutoff, newest, ExplainScope.of(spec))
        top_features(art, spec, data.matrix(frame.iloc[explain], art.features), 3)
        t3 = time.perf_counter()
        runs = con.execute("select as_of, timings from ops.runs order by as_of desc limit 1").fetchone()
        night = sum(json.loads(runs[1]).values()) if runs else None
        households = con.execute("select count(*) from core.household_month where period = ?", [newest]).fetchone()[0]
        roster_persons = con.execute("select count(*) from core.person_month where period = ? and on_roster",
                                     [newest]).fetchone()[0]
        persons = con.execute("select count(*) from core.person_month where period = ?", [newest]).fetchone()[0]
    score = t3 - t0
    lines += ["## Scoring one month (the eligibility stage of a night)", "",
              f"Month {newest}: {households:,} households ({persons:,} persons, {roster_persons:,} on the roster); "
              f"{len(frame):,} scored (partial coverage, not 低保/特困), {len(above):,} at or above the cut-off, "
              f"{len(explain):,} of them explained (path (b) candidates and the watchlist's risers).", "",
              "| step | seconds |", "| --- | ---: |",
              f"| features (warehouse/learning/household_features.sql) | {t1 - t0:.2f} |",
              f"| probabilities | {t2 - t1:.2f} |", f"| explanations (top 3 groups) | {t3 - t2:.2f} |",
              f"| **total** | **{score:.2f}** |", ""]
    if night:
        lines += [f"The province's last night (ops.runs, {runs[0]}) took {night:.1f} s over its stages: scoring adds "
                  f"{score / night:.1%} to it.", ""]
    tri = model_folder(settings, "triage") / "triage.json"
    if tri.exists():
        tmeta = json.loads(tri.read_text(encoding="utf-8"))
        m = tmeta["evaluation"]["held-back cases"]["model"]
        lines += ["## Triage on the held-back months", "",
                  f"Months {', '.join(tmeta['months']['test'])}: {m['rows']:,} answered cases, {m['positives']:,} confirmed; "
                  f"ROC-AUC {m['roc_auc']:.3f}, calibration error (ECE) {m['calibration_error']:.3f}.", "",
                  "| order | confirmed cases in the top half |", "| --- | ---: |"]
        lines += [f"| {k} | {v:.1%} |" for k, v in tmeta["ordering"].items()]
        lines.append("")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
