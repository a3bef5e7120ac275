"""The priority of a case in an extract (高/中/低) and the order of the rows: one definition.

The triage stage writes ``mart.case_priority`` (:mod:`pipelines.learning.triage`); the extracts
read it through :func:`priorities`. A case without a row there (the triage stage did not run, or
the case became live after it) gets its priority from its severity, exactly as the triage stage
gives it without a model. Light on purpose (no numpy, no pandas): the extracts import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.learning.spec import ModelSpec, load_spec

SEVERITY_RANK = {"urgent": 3, "high": 2, "medium": 1, "low": 0}
LEVEL_RANK = {"high": 1, "medium": 2, "low": 3}
DEFAULT_LABELS = {"high": "高", "medium": "中", "low": "低"}
SEVERITY_NOTE = "按严重程度排序（尚无分诊模型）。 Ordered by severity (no triage model)."


def level_of(probability: float | None, severity: str, spec: ModelSpec) -> str:
    """high / medium / low: from the triage probability when there is one (an urgent case is always
    high: its deadline is three days whatever a model thinks), else from the severity (urgent and
    high -> high, medium -> medium, low -> low)."""
    if severity == "urgent":
        return "high"
    if probability is None:
        return {"high": "high", "medium": "medium"}.get(severity, "low")
    if probability >= float(spec.priority.get("high", 0.6)):
        return "high"
    return "medium" if probability >= float(spec.priority.get("medium", 0.3)) else "low"


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
    level = level_of(None, severity, spec)
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
