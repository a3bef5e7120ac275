"""The learned models (pipelines/learning): features without leakage, explanations that add up,
artifacts that round-trip and refuse other library versions, deterministic training, the cut-off
gate, priorities in the extracts. The end-to-end part (a synthetic province with simulated
department answers) is in tests/test_learning_e2e.py."""

from __future__ import annotations

import dataclasses
import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipelines.core import build_core
from pipelines.learning import artifact as art_mod
from pipelines.learning import data, metrics
from pipelines.learning.common import fit, make_artifact
from pipelines.learning.explain import path_contributions, top_features
from pipelines.learning.priority import Thresholds, fixed_thresholds, learned_thresholds, level_of, model_thresholds
from pipelines.learning.spec import load_spec
from tests.warehouse_fixtures import Province, d, month_range

MONTHS = month_range("2026-01", "2026-06")
URBAN, RURAL = "330102001001", "330102001201"
FEATURE_MONTH = "2026-03"


# --- features: nothing after the month ------------------------------------------------------------

def _province(events_in: str | None):
    """A small hand-built province: a partial household off the roster (an employee, a spouse whose
    income no feed shows, a child), a roster 低保边缘 family, and -- when ``events_in`` is a month --
    one of every kind of event the features count, dated and delivered in that month."""
    con = duckdb.connect()
    p = Province(con, MONTHS)
    p.standard("3301", "urban", 1000, 1300)
    p.standard("3301", "rural", 800, 1100)
    head = p.person(None, birth="19800101", income=2600)
    spouse = p.person(None, birth="19820101", status="none", income=0)
    child = p.person(None, birth="20150101")
    if events_in is not None:
        head.by_month[events_in] = ("unemployed_registered", 0, 0, 0)   # lost the job that month
    res = p.resident_household(RURAL, [head, spouse, child])
    fhead = p.person("王五", "head", birth="19700101", income=1800)
    fam = p.family("F330102001001000009", URBAN, "edge", [fhead, p.person("赵六", "spouse", birth="19720101")])
    grid = []
    if events_in is not None:
        m = events_in
        day = d(m + "-15")
        quarter = "2026-01" if m <= "2026-03" else "2026-04"   # housing and deposits come quarterly
        for pid, hh in ((spouse.person_id, res), (fhead.person_id, fam)):
            p.add("nhsa_claims", m, settle_id=f"S{pid}{m}", person_id=pid, settle_date=day, visit_type="inpatient",
                  catastrophic=True, total_yuan=90000, fund_yuan=30000, critical_illness_yuan=10000,
                  medical_aid_yuan=0, oop_yuan=50000, reversal_of=None)
            p.add("cdpf_disability", m, person_id=pid, disability_type="physical", disability_grade=1, issued_on=day,
                  cert_status="valid")
            p.add("mem_disaster", m, disaster_id=f"D{m}", disaster_type="flood", occurred_on=day, person_id=pid,
                  region_code=hh.region_code, house_damage="collapsed", loss_yuan=60000, emergency_aid_yuan=0)
            grid.append({"visit_id": f"V{pid}{m}", "family_id": hh.family_id,
                         "hukou_no": None if hh.family_id else hh.hukou_no, "visit_date": day,
                         "visitor_role": "grid_worker", "findings": ["illness"], "note": "住院"})
            p.add("mps_vehicles", m, person_id=pid, vehicle_class="car", first_registered=day, event="register",
                  event_date=day)
            p.add("samr_business", m, credit_code=f"92{pid[:16]}", person_id=pid, role="legal_rep",
                  entity_type="individual", registered_capital_yuan=200000, status="active", event_date=day)
            p.add("mohurd_housing", quarter, as_of=day, person_id=pid, property_count=2, property_area_m2=180,
                  public_rental=False, dilapidated_level="D")
            p.add("bank_deposits", quarter, as_of=day, person_id=pid, deposits_yuan=300000, securities_yuan=0)
            p.add("mca_econ_checks", m, check_id=f"C{pid}{m}", check_date=day, reason="referral",
                  family_id=hh.family_id, hukou_no=hh.hukou_no, applicant_id=pid, region_code=hh.region_code,
                  urban_rural="rural", household_size=len(hh.members), income_basis="assessed",
                  monthly_income_yuan=9000, financial_assets_yuan=0, vehicles=0, properties=0, outcome="above_edge")
            p.add("moa_relapse_watch", m, watch_id=f"W{pid[:6]}", head_person_id=pid, hukou_no=hh.hukou_no,
                  region_code=hh.region_code, watch_type="突发严重困难户", risk_types=["因病"], household_size=3,
                  income_year=2025, net_income_per_capita_yuan=4000, transfer_income_per_capita_yuan=500,
                  identified_on=day, risk_eliminated=False)
        p.add("mps_hukou_events", m, event_id=f"E{m}", person_id=head.person_id, hukou_no=res.hukou_no,
              event_type="death", event_date=day, region_code=RURAL)
    p.load()
    if grid:
        p.deliver("grid_visits", events_in, grid)
    build_core(con)
    return con, res, fam


def _features(con) -> pd.DataFrame:
    return (data.household_features(con, FEATURE_MONTH, include_enrolled=True)
            .sort_values("household_id").reset_index(drop=True))


def test_features_of_a_month_do_not_see_anything_after_it():
    """The features of 2026-03 are the same whether or not the province later has claims,
    certificates, disasters, visits, vehicles, businesses, houses, deposits, checks, a relapse-watch
    listing, a death and a job loss (all dated and delivered in 2026-04); the same events dated in
    2026-03 do change them (so the comparison would catch a leak)."""
    base, res, fam = _province(None)
    later, _, _ = _province("2026-04")
    same_month, _, _ = _province(FEATURE_MONTH)
    f_base, f_later, f_same = _features(base), _features(later), _features(same_month)
    features = data.feature_columns(f_base)
    assert len(f_base) == 2 and set(features) == set(load_spec("eligibility").features)
    keep = ["household_id"] + features  # (person ids, hence the head's gender, differ between the provinces)
    pd.testing.assert_frame_equal(f_base[keep], f_later[keep], check_dtype=False)
    changed = {c for c in features if not np.allclose(data.matrix(f_base, [c]), data.matrix(f_same, [c]), equal_nan=True)}
    # every kind of event moved at least one feature when it happened by the month's end
    assert {"hs_catastrophic_6m", "n_severe_disabled", "severe_disasters_12m", "grid_findings_6m", "vehicles",
            "active_businesses", "properties", "assets_pc_ratio", "last_assessed_pc_ratio", "on_relapse_watch",
            "deaths_12m", "hs_new_unemployed_6m"} <= changed, sorted(changed)


def test_labels_are_joined_to_the_month_before_and_a_later_join_fails():
    con, res, fam = _province("2026-04")
    rows = data.eligibility_rows(con)
    assert len(rows) == 2 and set(rows["label_period"]) == {"2026-04"} and set(rows["period"]) == {FEATURE_MONTH}
    # the check of 2026-04 does not inform its own features (nothing is known of it in 2026-03)
    assert rows["last_assessed_pc_ratio"].isna().all()
    leaked = rows.assign(period="2026-04")
    with pytest.raises(data.LeakageError, match="own month or later"):
        data.check_no_leakage(leaked)


def _floor_province(death_on: str | None, check_on: str = "2026-02-10", counted: int = 2):
    """Two adults off the roster whose income no feed shows (observed income 0, coverage partial); an
    information-based check (check_only) on ``check_on`` found 4,000 yuan a month on record (business
    and rent) for the ``counted`` members -- 2.5x the rural 低保 standard of 800 per head for two;
    ``death_on``: one of them dies that day."""
    con = duckdb.connect()
    p = Province(con, MONTHS)
    p.standard("3301", "rural", 800, 1100)
    a = p.person(None, birth="19800101", status="none", income=0)
    b = p.person(None, birth="19820101", status="none", income=0)
    res = p.resident_household(RURAL, [a, b])
    m = check_on[:7]
    p.add("mca_econ_checks", m, check_id="C1", check_date=d(check_on), reason="application", family_id=None,
          hukou_no=res.hukou_no, applicant_id=a.person_id, region_code=RURAL, urban_rural="rural", household_size=counted,
          income_basis="check_only", monthly_income_yuan=4000, financial_assets_yuan=0, vehicles=0, properties=0,
          outcome="above_edge")
    if death_on is not None:
        p.add("mps_hukou_events", death_on[:7], event_id="E1", person_id=b.person_id, hukou_no=res.hukou_no,
              event_type="death", event_date=d(death_on), region_code=RURAL)
    p.load()
    build_core(con)
    return con


def test_registered_income_of_a_check_is_a_floor_until_the_household_changes():
    """``known_floor_pc_ratio``: an information-based check's registered income counts as income on
    record (it is part of what an assessed check would find) while no birth, death or move has
    changed the household since; after a death it says nothing any more, and a check of a later
    month is not seen."""
    def floor(con, month=FEATURE_MONTH):
        f = data.household_features(con, month)
        assert len(f) == 1 and f["cov_partial"].iloc[0] == 1.0 and f["obs_pc_ratio_3m"].iloc[0] == 0.0
        return float(f["known_floor_pc_ratio"].iloc[0])

    assert floor(_floor_province(None)) == pytest.approx(2.5)
    assert floor(_floor_province("2026-03-05")) == 0.0          # a member died after the check
    assert floor(_floor_province("2026-01-20", counted=1)) == pytest.approx(5.0)  # died before: one counted
    assert floor(_floor_province(None, check_on="2026-04-10")) == 0.0   # not known in March
    assert floor(_floor_province(None, check_on="2026-04-10"), "2026-04") == pytest.approx(2.5)


def test_no_name_id_or_gender_is_a_feature():
    con, _, _ = _province(None)
    features = data.feature_columns(_features(con))
    for banned in ("name", "person_id", "head_person_id", "family_id", "hukou_no", "gender", "head_gender",
                   "ethnicity", "region_code", "household_id"):
        assert banned not in features


# --- explanations, artifacts, determinism -----------------------------------------------------------

def _toy(seed: int = 0, n: int = 1500):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[rng.random(n) < 0.1, 2] = np.nan
    y = ((X[:, 0] + 0.5 * np.nan_to_num(X[:, 2]) + 0.3 * rng.normal(size=n)) > 0.3).astype(int)
    return X, y


TRAINING = {"max_iter": 40, "learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 10,
            "l2_regularization": 1.0, "max_features": 0.8, "isotonic_min_rows": 400}


def _toy_artifact(seed: int = 7, training: dict = TRAINING):
    X, y = _toy()
    clf, method, cal = fit(X[:1000], y[:1000], X[1000:], y[1000:], training, seed)
    features = ["obs_pc_ratio", "n_unknown_adult", "oop_3m_ratio", "urban", "head_age"]
    return make_artifact("eligibility", clf, method, cal, features, "2026-10", {"cutoff": 0.4}), X


def test_path_contributions_add_up_to_the_model_score():
    art, X = _toy_artifact()
    bias, contrib = path_contributions(art.classifier, X)
    raw = art.classifier._raw_predict(X).ravel()
    assert np.allclose(bias + contrib.sum(axis=1), raw, atol=1e-9)
    # the feature the label depends on most moves the scores most
    assert np.abs(contrib).mean(axis=0).argmax() == 0


def _walk(tree, x) -> list[int]:
    """The nodes one row passes through, root to leaf, walked by hand."""
    nodes, i, path = tree.nodes, 0, [0]
    while not nodes["is_leaf"][i]:
        v = x[nodes["feature_idx"][i]]
        left = nodes["missing_go_to_left"][i] if np.isnan(v) else v <= nodes["num_threshold"][i]
        i = int(nodes["left"][i] if left else nodes["right"][i])
        path.append(i)
    return path


def test_scoring_on_bins_is_predict_proba_and_leaves_and_paths_are_those_of_a_walk_by_hand():
    """Scoring runs the trees on the training bins (pipelines.learning.trees): bit-identical to
    scikit-learn's predict_proba on raw values, also for values on a split's edge, outside the training
    range and missing. The explanations find each row's leaf the same way and add the moves of its
    path: the same leaf and per-feature moves as a walk by hand down every tree."""
    from pipelines.learning.explain import _expected_values
    from pipelines.learning.trees import leaf_nodes, probability

    art, X = _toy_artifact()
    X = X.copy()
    X[::7, 1] = np.nan  # missing values go where the tree sends them
    for i, trees in enumerate(art.classifier._predictors):  # exactly on the edge of each tree's first split
        root = trees[0].nodes[0]
        X[i, root["feature_idx"]] = root["num_threshold"]
    X[-3:] *= 100  # far outside the training range
    assert np.array_equal(probability(art.classifier, X), art.classifier.predict_proba(X)[:, 1])
    assert np.array_equal(art.raw_proba(X), art.classifier.predict_proba(X)[:, 1])

    leaves = leaf_nodes(art.classifier, X[:25])
    bias, contrib = path_contributions(art.classifier, X[:25])
    predictors = [t[0] for t in art.classifier._predictors]
    for r, x in enumerate(X[:25]):
        expected = np.zeros(X.shape[1])
        for j, tree in enumerate(predictors):
            path, ev = _walk(tree, x), _expected_values(tree)
            assert leaves[r, j] == path[-1]
            for parent, child in zip(path, path[1:]):
                expected[tree.nodes["feature_idx"][parent]] += ev[child] - ev[parent]
        assert np.allclose(contrib[r], expected, atol=1e-12)


def test_top_features_name_groups_in_chinese_with_the_direction():
    art, X = _toy_artifact()
    spec = load_spec("eligibility")
    [items] = top_features(art, spec, X[:1], k=3)
    assert len(items) == 3 and len({i["code"] for i in items}) == 3
    for item in items:
        group = spec.groups[item["code"]]
        assert item["label_zh"] == group.label_zh
        assert item["effect_zh"] == (group.up_zh if item["delta"] >= 0 else group.down_zh)
    assert abs(items[0]["delta"]) >= abs(items[1]["delta"]) >= abs(items[2]["delta"])


def test_training_is_deterministic_for_a_seed():
    a, X = _toy_artifact(seed=7)
    b, _ = _toy_artifact(seed=7)
    c, _ = _toy_artifact(seed=8)
    assert a.version == b.version and np.array_equal(a.predict(X), b.predict(X))
    assert c.version != a.version  # max_features < 1 draws features per split from the seed


def test_artifact_round_trip(tmp_path):
    art, X = _toy_artifact()
    art_mod.save_artifact(tmp_path, art)
    meta = json.loads((tmp_path / "eligibility.json").read_text())
    assert meta["features"] == art.features and meta["libraries"]["scikit-learn"]
    assert meta["estimators_sha256"] and meta["version"] == art.version
    assert b"pickle" not in (tmp_path / "eligibility.skops").read_bytes()[:0]  # skops zip, loaded without pickle
    loaded = art_mod.load_artifact(tmp_path, "eligibility", features=art.features)
    assert loaded.version == art.version
    assert np.array_equal(loaded.predict(X), art.predict(X))


def test_loading_refuses_other_library_versions(tmp_path):
    art, _ = _toy_artifact()
    art_mod.save_artifact(tmp_path, art)
    meta_path = tmp_path / "eligibility.json"
    meta = json.loads(meta_path.read_text())
    meta["libraries"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(art_mod.ArtifactError) as e:
        art_mod.load_artifact(tmp_path, "eligibility")
    msg = str(e.value)
    assert "scikit-learn 0.24.2" in msg and "installed" in msg and "lowincome model train --model eligibility" in msg


def test_loading_refuses_a_changed_file_other_features_and_a_missing_model(tmp_path):
    art, _ = _toy_artifact()
    art_mod.save_artifact(tmp_path, art)
    with pytest.raises(art_mod.ArtifactError, match="other features"):
        art_mod.load_artifact(tmp_path, "eligibility", features=art.features[::-1])
    est = tmp_path / "eligibility.skops"
    est.write_bytes(est.read_bytes() + b"\0")
    with pytest.raises(art_mod.ArtifactError, match="does not match its metadata"):
        art_mod.load_artifact(tmp_path, "eligibility")
    with pytest.raises(art_mod.ArtifactMissing, match="no trained triage model"):
        art_mod.load_artifact(tmp_path, "triage")


# --- metrics and priorities -------------------------------------------------------------------------

def test_cutoff_for_recall_and_top_half():
    y = np.array([1, 1, 0, 1, 0, 0, 0, 1, 0, 0])
    p = np.array([.9, .8, .7, .6, .5, .4, .3, .2, .1, .05])
    c = metrics.cutoff_for_recall(y, p, 0.75)
    assert c == 0.6 and metrics.at_cutoff(y, p, c)["recall"] == 0.75
    assert metrics.share_in_top_half(y, p) == 0.75
    assert metrics.precision_at_top(y, p, 0.2) == 1.0
    assert metrics.expected_calibration_error(np.array([1, 0]), np.array([1.0, 0.0])) == 0.0


def test_the_cutoff_is_set_on_path_b_households_once_their_checks_suffice():
    """Calibration rows: 12 checks of path (b) households (partial, observed income 0.5x the standard, a new
    unemployment registration; 6 below the line) and 40 of partial households without a signal (20 below),
    plus 8 of a training month. The cut-off rows are the path (b) ones when they hold ``need`` of each
    outcome, else the partial ones, else every calibration check."""
    from pipelines.learning.eligibility import cutoff_rows

    n_b, n_p, n_t = 12, 40, 8
    rows = pd.DataFrame({"category": [None] * (n_b + n_p + n_t), "city_code": "3301",
                         "cov_partial": [1.0] * (n_b + n_p) + [0.0] * n_t,
                         "obs_pc_ratio_3m": 0.5, "hs_new_unemployed_6m": [1.0] * n_b + [0.0] * (n_p + n_t)})
    y = np.array([1, 0] * (n_b // 2) + [1, 0] * (n_p // 2) + [1] * n_t)
    calibration = np.array([True] * (n_b + n_p) + [False] * n_t)
    sel, basis = cutoff_rows(rows, calibration, y, need=6)
    assert basis == "calibration months, path (b) households" and sel.tolist() == [True] * n_b + [False] * (n_p + n_t)
    sel, basis = cutoff_rows(rows, calibration, y, need=7)
    assert basis == "calibration months, partial coverage" and sel.sum() == n_b + n_p
    sel, basis = cutoff_rows(rows, calibration, y, need=27)
    assert basis.startswith("calibration months, all checks") and (sel == calibration).all()


def test_isotonic_calibration_keeps_the_order_of_the_trees():
    """The calibrated probability rises with the raw score between the first and last step of the isotonic
    fit (no step where a cut-off takes or leaves many households at once) and stays close to the steps."""
    from sklearn.isotonic import IsotonicRegression

    from pipelines.learning.artifact import fit_calibrator

    rng = np.random.default_rng(3)
    raw = rng.random(4000)
    y = (rng.random(4000) < raw ** 2).astype(int)
    method, cal = fit_calibrator(raw, y, isotonic_min_rows=1000, seed=3)
    steps = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    inside = np.linspace(cal.X_min_, cal.X_max_, 500)[1:-1]
    assert method == "isotonic"
    assert np.all(np.diff(cal.predict(inside)) > 0)
    assert len(np.unique(steps.predict(inside))) < 100          # the plain fit is a staircase
    assert np.abs(cal.predict(raw) - steps.predict(raw)).mean() < 0.03
    assert cal.predict(np.array([-1.0, 2.0])).tolist() == [cal.predict([cal.X_min_])[0], cal.predict([cal.X_max_])[0]]


def test_no_rows_calibrate_to_no_probabilities_with_either_calibrator():
    from pipelines.learning.artifact import Artifact, fit_calibrator

    raw, y = np.linspace(0.01, 0.99, 50), np.array([0, 1] * 25)
    for min_rows in (10, 1000):   # isotonic, Platt
        method, cal = fit_calibrator(raw, y, min_rows, seed=1)
        out = Artifact("x", None, cal, method, []).calibrate(np.zeros(0))
        assert out.shape == (0,), method


def test_priority_levels():
    t = Thresholds(high=0.6, medium=0.3, rule="test")
    assert level_of(0.1, "urgent", t) == "high"            # urgent is always 高
    assert level_of(0.7, "low", t) == "high" and level_of(0.4, "high", t) == "medium"
    assert level_of(0.1, "high", t) == "low"
    assert [level_of(None, s, t) for s in ("urgent", "high", "medium", "low")] == ["high", "high", "medium", "low"]
    assert [level_of(0.9, s) for s in ("urgent", "high", "medium", "low")] == ["high", "high", "medium", "low"]


def test_priority_thresholds_are_set_by_shares_unless_fixed():
    """Departments confirm most referrals: fixed probabilities would make every row 高. Training sets the
    thresholds so that the configured shares of the calibration cases are 高 and 中; ties stay together;
    thresholds fixed in the spec win; an artifact without thresholds is refused with a message."""
    import dataclasses

    spec = load_spec("triage")
    assert fixed_thresholds(spec) is None and spec.priority["high_share"] == 0.3
    p = np.linspace(0.999, 0.7, 100)                       # every case likely confirmed
    t = learned_thresholds(p, spec)
    levels = [level_of(x, "medium", t) for x in p]
    assert levels.count("high") == 30 and levels.count("medium") == 40 and levels.count("low") == 30
    assert 0.7 <= t.medium <= t.high < 1 and "30%" in t.rule
    tied = learned_thresholds([0.9] * 50 + [0.8] * 50, spec)
    assert [level_of(x, "low", tied) for x in (0.9, 0.8)] == ["high", "medium"]  # 50 % reach 高: ties not split
    fixed = dataclasses.replace(spec, priority={**spec.priority, "high": 0.6, "medium": 0.3})
    assert model_thresholds(fixed, {"priority": {"high": 0.95, "medium": 0.9}}) == fixed_thresholds(fixed)
    assert model_thresholds(spec, {"priority": {"high": 0.95, "medium": 0.9}}).high == 0.95
    with pytest.raises(ValueError, match="retrain"):
        model_thresholds(spec, {})


def test_a_triage_model_is_in_force_only_if_it_orders_better_than_severity():
    from pipelines.learning.triage import deployable

    spec = load_spec("triage")
    worse = {"model (probability)": 0.499, "severity (the order without a model)": 0.5}
    better = {"model (probability)": 0.52, "severity (the order without a model)": 0.5}
    assert deployable(worse, spec)[0] is False and "49.9%" in deployable(worse, spec)[1]
    assert deployable(better, spec)[0] is True
    hair = {"model (probability)": 0.5004, "severity (the order without a model)": 0.5}   # better by a hair
    assert deployable(hair, spec)[0] is False and "by at least 1% of the confirmed cases" in deployable(hair, spec)[1]
    import dataclasses

    lenient = dataclasses.replace(spec, priority={**spec.priority, "require_better_than_severity": False})
    assert deployable(worse, lenient)[0] is True


def test_fairness_gap_beyond_the_bound_is_a_warning():
    rows = [{"group": "rural", "recall": 0.95, "precision": 0.5, "judged": True},
            {"group": "urban", "recall": 0.70, "precision": 0.55, "judged": True},
            {"group": "tiny", "recall": 0.0, "precision": 0.0, "judged": False}]
    [w] = metrics.fairness_gaps("urban_rural", rows, 0.15)
    assert "recall" in w and "rural 0.95" in w and "urban 0.70" in w and "tiny" not in w


# --- the gate of ELIG path (b) -----------------------------------------------------------------------

# What INCOME's path (b) reads (the contract of core.eligibility_month): a candidate fires when its
# household-month has probability >= cutoff -- or when the month has no row at all (no model).
GATE_SQL = """
select c.household_id from candidates c
where not exists (select 1 from core.eligibility_month e where e.period = c.period)
   or exists (select 1 from core.eligibility_month e where e.period = c.period
              and e.household_id = c.household_id and e.probability >= e.cutoff)
order by 1
"""


def test_the_cutoff_changes_which_path_b_warnings_fire(tmp_path):
    """Both golden households are partial. An artifact over the real feature list (trained on their
    own features, the resident household labelled below the line, the family not) scores them into
    core.eligibility_month; the gate query of the contract then lets through whoever reaches the
    cut-off in force -- both, one or none as the cut-off rises. Without rows for the month (no
    model), every candidate passes."""
    from pipelines.analyst.scrub import personal_number
    from pipelines.learning import eligibility

    con, res, fam = _province(None)
    spec = load_spec("eligibility")
    features = list(spec.features)
    frame = data.household_features(con, FEATURE_MONTH)
    X = np.vstack([data.matrix(frame, features)] * 100)
    y = np.tile((frame["household_id"] == res.household_id).to_numpy(int), 100)
    y[:10] = 1 - y[:10]  # not a perfect separation: probabilities strictly between 0 and 1
    clf, method, cal = fit(X, y, X, y, TRAINING, 7)
    real = make_artifact("eligibility", clf, method, cal, features, "2026-06", {"cutoff": 0.5})
    art_mod.save_artifact(tmp_path, real)
    con.execute("create table candidates as select period, household_id from core.household_month "
                "where period = ? and income_coverage = 'partial'", [FEATURE_MONTH])
    both = sorted([(fam.household_id,), (res.household_id,)])
    assert con.execute(GATE_SQL).fetchall() == both                       # no model: path (b) without a gate
    p = dict(zip(frame["household_id"], real.predict(data.matrix(frame, features))))
    assert p[res.household_id] > p[fam.household_id]

    def fired(cutoff: float) -> list:
        fixed = dataclasses.replace(spec, cutoff={"value": cutoff})
        summary = eligibility.score(con, tmp_path, fixed, months=[FEATURE_MONTH])
        assert summary.model == real.version and summary.scored == {FEATURE_MONTH: 2}
        # stored at the probabilities' precision: 0.20287958115183247 in a warning's evidence reads as a
        # 身份证号 to the analyst database's identifier scan, and the night's analyst build stops
        [(stored,)] = con.execute("select distinct cutoff from core.eligibility_month").fetchall()
        assert stored == round(cutoff, 6) and not personal_number(json.dumps({"cutoff": stored}))
        return con.execute(GATE_SQL).fetchall()

    low, high = p[fam.household_id], p[res.household_id]
    assert personal_number(json.dumps({"cutoff": 0.20287958115183247}))
    assert fired(low / 2) == both
    assert fired((low + high) / 2) == [(res.household_id,)]
    assert fired((high + 1) / 2) == []
    fired((low + high) / 2)
    rows = dict(con.execute("select household_id, top_features from core.eligibility_month").fetchall())
    # above the cut-off but no hardship signal (no path (b) warning can name it) and no earlier month to
    # have risen from (not on the watchlist): nobody reads its top features, none are computed
    assert rows == {fam.household_id: None, res.household_id: None}
    # off the roster with a probability that rose from 0 three months before: on the analysts' watchlist
    from pipelines.dates import shift_period

    con.execute("insert into core.eligibility_month values (?, ?, 0.0, ?, 'earlier', null)",
                [shift_period(FEATURE_MONTH, -3), res.household_id, round((low + high) / 2, 6)])
    con.execute("delete from core.eligibility_runs")                       # the same core build: score again
    fired((low + high) / 2)
    rows = dict(con.execute("select household_id, top_features from core.eligibility_month "
                            "where period = ?", [FEATURE_MONTH]).fetchall())
    assert rows[fam.household_id] is None and len(json.loads(rows[res.household_id])) == 3
    con.execute("delete from core.eligibility_month where model_version = 'earlier'")
    con.execute("insert into core.hardship_signal values (?, ?, ?, 'became_unemployed', null, null)",
                [FEATURE_MONTH, res.household_id, d(FEATURE_MONTH + "-01")])
    con.execute("delete from core.eligibility_runs")                       # the same core build: score again
    fired((low + high) / 2)
    rows = dict(con.execute("select household_id, top_features from core.eligibility_month").fetchall())
    assert rows[fam.household_id] is None                                  # below the cut-off: not explained
    top = json.loads(rows[res.household_id])                               # a path (b) candidate: explained
    assert len(top) == 3 and all({"code", "label_zh", "delta", "direction"} <= set(t) for t in top)
    assert con.execute("select distinct model_version from core.eligibility_month").fetchall() == [(real.version,)]


def test_scoring_without_a_model_or_with_a_refused_one_writes_nothing(tmp_path):
    from pipelines.learning import eligibility

    con, res, fam = _province(None)
    summary = eligibility.score(con, tmp_path)
    assert summary.model is None and "no eligibility model" in summary.note
    art, _ = _toy_artifact()  # trained on other features than the pipeline computes
    art_mod.save_artifact(tmp_path, art)
    summary = eligibility.score(con, tmp_path)
    assert summary.model is None and "other features" in summary.note
    assert con.execute("select count(*) from core.eligibility_month").fetchone()[0] == 0


# --- priorities in the extracts ----------------------------------------------------------------------

def _cases_warehouse(tmp_path):
    import datetime as dt

    from case_fixtures import add_warning, warehouse
    from pipelines.cases import update_cases

    c = warehouse(tmp_path)
    add_warning(c, "F001", "INC_DROP", "medium", "2026-01", ["MCA"])
    add_warning(c, "F002", "EXP_MED", "low", "2026-01", ["MCA"])
    add_warning(c, "F003", "EXP_MED", "medium", "2026-01", ["NHSA", "MCA"])
    add_warning(c, "HHK004", "ELIG_DIBAO", "high", "2026-01", ["MCA"])
    add_warning(c, "F003", "DISASTER", "urgent", "2026-01", ["MEM", "MCA"])
    night = dt.date(2026, 2, 7)
    update_cases(c, night)
    return c, night


def _rows(path):
    import csv

    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_without_a_model_extracts_are_ordered_by_severity_and_say_so(tmp_path):
    from openpyxl import load_workbook

    from pipelines.dispatch import write_extracts
    from pipelines.learning import triage

    con, night = _cases_warehouse(tmp_path)
    summary = triage.prioritise(con, tmp_path / "models" / "triage", night)
    assert summary.method == "severity" and "按严重程度排序" in summary.note and "0 件" in summary.note
    live = con.execute("select count(*) from mart.cases").fetchone()[0]
    assert summary.cases == live == con.execute("select count(*) from mart.case_priority").fetchone()[0]
    write_extracts(con, tmp_path / "outbox", night)
    for county in ("330102", "330103"):
        folder = tmp_path / "outbox" / "MCA" / county / night.isoformat()
        rows = _rows(folder / "cases.csv")
        expected = {cid for (cid,) in con.execute(
            "select case_id from mart.cases where county_code = ? and list_contains(departments, 'MCA')", [county]).fetchall()}
        assert {r["案件编号 case_id"] for r in rows} == expected                  # every case, none dropped
        # households in the order of their most urgent case, a household's cases together
        households = [r["低保家庭编号 family_id"] or r["户口簿号 hukou_no"] for r in rows]
        firsts = [i for i, h in enumerate(households) if h not in households[:i]]
        assert households == sorted(households, key=households.index)
        ranks = [{"高": 1, "中": 2, "低": 3}[rows[i]["优先级 priority"]] for i in firsts]
        assert ranks == sorted(ranks)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["cases"] == len(expected) and "按严重程度排序" in manifest["order"]
        guide = [c.value for c in load_workbook(folder / "cases.xlsx")["填报说明 how to answer"]["A"]]
        assert any(v and "按严重程度排序" in v for v in guide)
    mca_330103 = _rows(tmp_path / "outbox" / "MCA" / "330103" / night.isoformat() / "cases.csv")
    # urgent first, then high; a household's cases together (F003's medium EXP_MED follows its DISASTER)
    assert [r["指标代码 indicator_code"] for r in mca_330103] == ["DISASTER", "EXP_MED", "ELIG_DIBAO"]
    assert [r["优先级 priority"] for r in mca_330103] == ["高", "中", "高"]


def test_with_a_model_rows_follow_its_priority_and_urgent_stays_high(tmp_path):
    from pipelines.dispatch import write_extracts
    from pipelines.learning.priority import SEVERITY_RANK

    con, night = _cases_warehouse(tmp_path)
    cases = dict(con.execute("select indicator_code || '/' || household_id, case_id from mart.cases").fetchall())
    model = {"EXP_MED/F003": ("高", 1, 0.9), "ELIG_DIBAO/HHK004": ("低", 3, 0.05), "DISASTER/F003": ("高", 1, 0.2),
             "INC_DROP/F001": ("中", 2, 0.4), "EXP_MED/F002": ("高", 1, 0.7)}
    for key, (label, rank, p) in model.items():
        con.execute("insert into mart.case_priority (case_id, priority, priority_rank, probability, method, "
                    "model_version, note, scored_at) values (?, ?, ?, ?, 'model', 'triage-x', 'by the model', now())",
                    [cases[key], label, rank, p])
    write_extracts(con, tmp_path / "outbox", night)
    rows = _rows(tmp_path / "outbox" / "MCA" / "330103" / night.isoformat() / "cases.csv")
    assert [r["指标代码 indicator_code"] for r in rows] == ["EXP_MED", "DISASTER", "ELIG_DIBAO"]
    assert [r["优先级 priority"] for r in rows] == ["高", "高", "低"]
    # (F003's two cases: 0.9 and urgent, together at the top; the 低 ELIG_DIBAO last)
    rows = _rows(tmp_path / "outbox" / "MCA" / "330102" / night.isoformat() / "cases.csv")
    assert [r["指标代码 indicator_code"] for r in rows] == ["EXP_MED", "INC_DROP"]   # 0.7 高 before 0.4 中
    assert SEVERITY_RANK["urgent"] > SEVERITY_RANK["high"]


def test_watchlist_rising_households_off_the_roster_without_an_open_case():
    from pipelines.warehouse import sql

    con, res, fam = _province(None)
    rows = [("2026-03", res.household_id, 0.20), ("2026-06", res.household_id, 0.55),   # rose 0.35
            ("2026-03", fam.household_id, 0.10), ("2026-06", fam.household_id, 0.90)]   # on the roster
    for period, hh, p in rows:
        con.execute("insert into core.eligibility_month values (?, ?, ?, 0.5, 'eligibility-x', null)", [period, hh, p])
    got = con.execute(sql("learning/eligibility_watchlist.sql"), {"months": 3, "min_rise": 0.1, "size": 10}).fetchall()
    assert [(r[0], r[1], r[2], round(r[9], 2), r[10]) for r in got] == [("2026-06", "2026-03", res.household_id, 0.35, True)]
    con.execute("insert into mart.cases (case_id, household_id, indicator_code, severity, county_code, departments, "
                "status, opened_period, last_period, opened_at) values ('C-1', ?, 'ELIG_DIBAO', 'low', '330102', "
                "['MCA'], 'dispatched', '2026-06', '2026-06', now())", [res.household_id])
    assert con.execute(sql("learning/eligibility_watchlist.sql"), {"months": 3, "min_rise": 0.1, "size": 10}).fetchall() == []


def test_features_tokens_follow_the_core_window_and_the_feeds_the_features_read():
    """A month's features token (what its household features are made of) changes when a core month of
    its 12-month window is rebuilt or a feed the features read delivers for a month up to it -- and
    only then: the scoring stages score a month (or its cases) again exactly when it changes."""
    from pipelines.learning.data import feature_feeds, features_tokens

    con = duckdb.connect()
    con.execute("create schema core")
    con.execute("create table core.build_runs (period varchar, inputs_hash varchar)")
    con.execute("create table core.feed_month (feed_id varchar, period varchar, status varchar, "
                "delivery_id varchar, loaded_at timestamp)")
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02", "2026-03"]
    for m in months:
        con.execute("insert into core.build_runs values (?, ?)", [m, f"build-{m}"])
        con.execute("insert into core.feed_month values ('mohurd_housing', ?, 'loaded', ?, ?::date + 40)",
                    [m, f"mohurd_housing/{m}", m + "-01"])
    assert {"mohurd_housing", "bank_deposits", "mps_vehicles", "samr_business", "mem_disaster"} <= set(feature_feeds())
    assert "mca_roster" not in feature_feeds()   # read through core (person_month): its builds cover it
    before = features_tokens(con, months)

    def changed() -> set[str]:
        now = features_tokens(con, months)
        return {m for m in months if now[m] != before[m]}

    con.execute("update core.build_runs set inputs_hash = 'rebuilt' where period = '2025-03'")
    assert changed() == {m for m in months if "2025-03" <= m <= "2026-02"}   # the month and the 11 after it
    con.execute("update core.build_runs set inputs_hash = 'build-2025-03' where period = '2025-03'")
    assert changed() == set()
    # a late correction of a housing snapshot (a month the features read up to)
    con.execute("update core.feed_month set delivery_id = 'mohurd_housing/late', loaded_at = now() "
                "where period = '2025-06'")
    assert changed() == {m for m in months if m >= "2025-06"}
    con.execute("update core.feed_month set delivery_id = 'mohurd_housing/2025-06', "
                "loaded_at = '2025-06-01'::date + 40 where period = '2025-06'")
    # a delivery of a feed the features do not read themselves changes nothing here
    con.execute("insert into core.feed_month values ('mca_roster', '2025-06', 'loaded', 'mca_roster/late', now())")
    assert changed() == set()


# --- the simulated offices the models learn from -----------------------------------------------------

def _ids_without_noise(n: int) -> list[str]:
    """Case ids whose simulated answer is neither missing nor flipped by the noise (pipelines.demo)."""
    import hashlib

    out, i = [], 0
    while len(out) < n:
        cid = f"C{i:05d}"
        d = hashlib.sha256(cid.encode()).digest()
        if d[0] / 256 >= 0.08 and d[1] / 256 >= 0.15:
            out.append(cid)
        i += 1
    return out


def test_simulated_offices_answer_an_income_question_by_the_true_income():
    """An office settles ELIG_DIBAO / ELIG_EDGE / EXP_HARDSHIP by an economic check: a household with an
    injected event (say a first disability certificate) but true income above the line is not confirmed; one
    truly below is. Other indicators are confirmed by the event itself."""
    from pipelines.demo import DemoTruth, simulated_answer

    truth = DemoTruth(households={"F1", "F2"}, below_line={("F2", "2026-05")})
    confirmed = {"verified", "assisted"}
    a, b, c = _ids_without_noise(3)
    above = simulated_answer({"case_id": a, "family_id": "F1", "indicator_code": "ELIG_DIBAO", "period": "2026-05"}, truth)
    below = simulated_answer({"case_id": b, "family_id": "F2", "indicator_code": "ELIG_EDGE", "period": "2026-05"}, truth)
    event = simulated_answer({"case_id": c, "family_id": "F1", "indicator_code": "POP_DISABILITY", "period": "2026-05"}, truth)
    assert above[0] not in confirmed and below[0] in confirmed and event[0] in confirmed
    # without true incomes (no truth_income beside truth.csv) the injected events decide, as before
    assert simulated_answer({"case_id": a, "family_id": "F1", "indicator_code": "ELIG_DIBAO", "period": "2026-05"},
                            DemoTruth(households={"F1"}))[0] in confirmed


def test_the_priority_section_names_shares_or_fixed_thresholds(tmp_path):
    """No threshold is written in code: [priority] gives the shares training sets the thresholds from, or fixes
    both thresholds by hand; anything else is refused with the file named."""
    from pipelines.learning.spec import MODELS_DIR, ModelSpecError

    text = (MODELS_DIR / "triage" / "model.toml").read_text(encoding="utf-8")
    (tmp_path / "triage").mkdir()

    def spec_with(old: str, new: str):
        assert old in text
        (tmp_path / "triage" / "model.toml").write_text(text.replace(old, new), encoding="utf-8")
        return load_spec("triage", tmp_path)

    with pytest.raises(ModelSpecError, match="needs medium_share"):
        spec_with("medium_share = 0.4\n", "")
    with pytest.raises(ModelSpecError, match="fixed together"):
        spec_with("# high = 0.6\n", "high = 0.6\n")
    with pytest.raises(ModelSpecError, match="add up to at most 1"):
        spec_with("medium_share = 0.4\n", "medium_share = 0.8\n")
    fixed = spec_with("# high = 0.6\n# medium = 0.3\n", "high = 0.6\nmedium = 0.3\n")
    assert fixed_thresholds(fixed).high == 0.6
