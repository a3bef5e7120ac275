"""Synthetic province generator (合成省份): a landing zone of departmental deliveries exactly as
docs/feeds.md describes, with injected life events, delivery faults and the ground truth
of which warnings the pipeline must raise (docs/architecture.md, "Synthetic province contract").

    from pipelines.synth import generate
    result = generate(out=Path("province"), households=2000, months=13, seed=20261, start="2025-10",
                      catalog="v2")
    print(result.summary())

Writes ``out/landing/<feed>/<date>/`` (manifest last) in the layouts of catalog ``v1`` or ``v2``,
``out/truth.csv``, ``out/truth_income.parquet`` (per household and month: true, observed and hidden
income, what an assessed check finds, coverage), ``out/check_book.parquet`` (per household and month from
2026-01: the check an office's referral would bring, for a replay to deliver), ``out/faults.csv``, ``out/nights.txt``, ``out/superseded/`` (the first version of a
folder rewritten in place) and, for inspection, ``out/near_misses.csv`` (ordinary households with
something that looks alarming but must raise nothing). Same seed, same bytes.

Scale: ``households`` is the number of roster families (~2.5 persons each); about twice as many
persons again live in non-roster hukou households (~3 persons each). ``households=40_000`` gives
~100,000 roster persons and ~300,000 residents (see docs/benchmarks/synth.md).

Modules, in the order ``generate()`` runs them:

* ``regions``    — region tree (4 cities, 12 counties, 36 towns, 216 villages) and 低保/特困 standards;
* ``population`` — households, persons, 身份证号, incomes (on record in hrss, and hidden), roster
  administration, assets;
* ``activity``   — routine monthly records: small claims, school terms, vehicles, businesses, minor
  disasters, grade 三/四 certificates, hukou moves, grid visits;
* ``truth``      — the indicator rules evaluated on the generated values: cleans the baseline (every
  ordinary household >= 20% from every threshold where its observed income is its true income), then
  derives the truth rows;
* ``events``     — life events at known months and near misses;
* ``income``     — hidden income, income coverage (known / unknown / verified), ``truth_income``;
* ``checks``     — catalog v2's economic checks, the check centre's book, and the relapse watch;
* ``deliveries`` / ``writers`` — each department's files in its own format;
* ``faults``     — the delivery calendar, re-deliveries, corrupt/unfinished/late deliveries.

Truth rows: ``required = 1`` when the rule fires in exactly that data month under the nominal
thresholds, thresholds moved by +-3%, and both readings of "window average per capita"; otherwise
``required = 0`` (a consequence the pipeline may raise). One deliberate ``required = 0`` case: a
newborn is in the hukou extract a month before the roster adds it, so a pipeline may briefly see it as
a one-person hukou household (``H<hukou_no>``) — rows for that household are listed so this is not
counted as a false alarm.
"""

from pipelines.synth.generate import SynthResult, generate

__all__ = ["generate", "SynthResult"]
