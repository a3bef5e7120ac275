"""The priority of a case in an extract (高/中/低) and the order of the rows: one definition.

The triage stage writes ``mart.case_priority`` (:mod:`pipelines.learning.triage`); the extracts
read it through :func:`priorities`. A case without a row there (the triage stage did not run, or
the case became live after it) gets its priority from its severity, exactly as the triage stage
gives it without a model. Light on purpose (no numpy, no pandas): the extracts import it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipelines.learning.spec import ModelSpec, load_spec

SEVERITY_RANK = {"urgent": 3, "high": 2, "medium": 1, "low": 0}
LEVEL_RANK = {"high": 1, "medium": 2, "low": 3}
DEFAULT_LABELS = {"high": "高", "medium": "中", "low": "低"}
SEVERITY_NOTE = "按严重程度排序（尚无分诊模型）。 Ordered by severity (no triage model)."


THRESHOLD_DECIMALS = 6


@dataclass(frozen=True)
class Thresholds:
    """The triage probabilities at which a case is 高 (``high``) or 中 (``medium``), and where they came from."""
    high: float
    medium: float
    rule: str

    def as_dict(self) -> dict:
        return {"high": self.high, "medium": self.medium, "rule": self.rule}


def fixed_thresholds(spec: ModelSpec) -> Thresholds | None:
    """The thresholds ``models/triage/model.toml`` fixes by hand (``priority.high`` and ``medium``), if any."""
    p = spec.priority
    if "high" not in p:
        return None
    return Thresholds(float(p["high"]), float(p["medium"]), f"fixed in models/{spec.name}/model.toml")


def learned_thresholds(probabilities, spec: ModelSpec, basis: str = "the calibration months") -> Thresholds:
    """Thresholds from the probabilities of a set of cases (training: the calibration months): 高 for the
    ``high_share`` most likely confirmed, 中 for the next ``medium_share``. Each threshold is the probability of
    the last case inside its share (rounded down), so at least that share reaches it (ties can add more)."""
    high_share, medium_share = float(spec.priority["high_share"]), float(spec.priority["medium_share"])
    ranked = sorted((float(x) for x in probabilities), reverse=True)
    if not ranked:
        raise ValueError("no probabilities to set the priority thresholds from")

    def at(share: float) -> float:
        if share <= 0:
            return 1.0
        value = ranked[min(len(ranked), max(1, math.ceil(share * len(ranked)))) - 1]
        return math.floor(value * 10 ** THRESHOLD_DECIMALS) / 10 ** THRESHOLD_DECIMALS

    high = at(high_share)
    medium = min(high, at(high_share + medium_share))
    return Thresholds(high, medium, f"高 for the {high_share:.0%} most likely confirmed cases of {basis}, "
                                    f"中 for the next {medium_share:.0%} ({len(ranked):,} cases)")


def model_thresholds(spec: ModelSpec, meta: dict | None) -> Thresholds:
    """The thresholds a model is used with: fixed in the spec, else the ones its training set (its
    metadata's ``priority``)."""
    fixed = fixed_thresholds(spec)
    if fixed is not None:
        return fixed
    p = (meta or {}).get("priority") or {}
    if "high" not in p or "medium" not in p:
        raise ValueError(f"the {spec.name} model's metadata holds no priority thresholds and models/{spec.name}/"
                         "model.toml fixes none: retrain with `lowincome model train --model triage`")
    return Thresholds(float(p["high"]), float(p["medium"]), str(p.get("rule", "set by training")))


def level_of(probability: float | None, severity: str, thresholds: Thresholds | None = None) -> str:
    """high / medium / low: from the triage probability when there is one (an urgent case is always
    high: its deadline is three days whatever a model thinks), against the model's ``thresholds``;
    else from the severity (urgent and high -> high, medium -> medium, low -> low)."""
    if severity == "urgent":
        return "high"
    if probability is None or thresholds is None:
        return {"high": "high", "medium": "medium"}.get(severity, "low")
    if probability >= thresholds.high:
        return "high"
    return "medium" if probability >= thresholds.medium else "low"


def label_of(level: str, spec: ModelSpec) -> str:
    return dict(spec.priority.get("labels", DEFAULT_LABELS)).get(level, DEFAULT_LABELS[level])


@dataclass(frozen=True)
class Priority:
    label: str          # 高 / 中 / 低
    rank: int           # 1 / 2 / 3
    score: float        # within a rank, higher first: the probability, else the severity

    def sort_key(self, case_id: str) -> tuple:
        return (self.rank, -self.score, case_id)


def by_severity(severity: str, spec: ModelSpec | None = None) -> Priority:
    spec = spec or load_spec("triage")
    level = level_of(None, severity)
    return Priority(label_of(level, spec), LEVEL_RANK[level], float(SEVERITY_RANK.get(severity, 0)))


def priorities(con, case_ids: list[str], severities: dict[str, str]) -> tuple[dict[str, Priority], str]:
    """Each case's priority (``mart.case_priority``, else from ``severities``) and the sentence
    that says how tonight's rows are ordered."""
    from pipelines.warehouse import relation_exists

    spec = load_spec("triage")
    rows, note = {}, ""
    if case_ids and relation_exists(con, "mart.case_priority"):
        for cid, label, rank, prob, method, n in con.execute(
                "select case_id, priority, priority_rank, probability, method, note from mart.case_priority "
                "where case_id in (select unnest(?::varchar[]))", [sorted(set(case_ids))]).fetchall():
            score = float(prob) if prob is not None else float(SEVERITY_RANK.get(severities.get(cid, ""), 0))
            rows[cid] = Priority(label, int(rank), score)
            note = note or (n or "")
    out = {cid: rows.get(cid) or by_severity(severities.get(cid, "low"), spec) for cid in case_ids}
    return out, note or SEVERITY_NOTE
