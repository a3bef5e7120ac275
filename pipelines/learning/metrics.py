"""What a model card reports: ranking, the cut-off, calibration, and the same by group."""

from __future__ import annotations

import math

import numpy as np


def _arrays(y, p):
    return np.asarray(y, dtype=int), np.asarray(p, dtype=float)


def roc_auc(y, p) -> float | None:
    """ROC-AUC, or None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    y, p = _arrays(y, p)
    if len(y) == 0 or y.min() == y.max():
        return None
    return float(roc_auc_score(y, p))


def at_cutoff(y, p, cutoff: float) -> dict:
    """Precision and recall of "probability >= cutoff", with the counts behind them."""
    y, p = _arrays(y, p)
    flagged = p >= cutoff
    tp = int((flagged & (y == 1)).sum())
    return {"flagged": int(flagged.sum()), "true_positives": tp, "positives": int(y.sum()), "rows": len(y),
            "precision": tp / flagged.sum() if flagged.sum() else None,
            "recall": tp / y.sum() if y.sum() else None}


def of_flags(y, flagged) -> dict:
    """Precision and recall of a given yes/no decision (the rule baseline)."""
    y = np.asarray(y, dtype=int)
    flagged = np.asarray(flagged, dtype=bool)
    tp = int((flagged & (y == 1)).sum())
    return {"flagged": int(flagged.sum()), "true_positives": tp, "positives": int(y.sum()), "rows": len(y),
            "precision": tp / flagged.sum() if flagged.sum() else None,
            "recall": tp / y.sum() if y.sum() else None}


def precision_at_top(y, p, share: float) -> float | None:
    """Precision among the top ``share`` of rows by probability (at least one row)."""
    y, p = _arrays(y, p)
    if len(y) == 0:
        return None
    k = max(1, int(math.ceil(share * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    return float(y[top].mean())


def share_in_top_half(y, order_score) -> float | None:
    """Share of the positives that fall in the top half of the order (highest score first; ties
    broken by row order)."""
    y = np.asarray(y, dtype=int)
    if y.sum() == 0:
        return None
    order = np.argsort(-np.asarray(order_score, dtype=float), kind="stable")
    half = int(math.ceil(len(y) / 2))
    return float(y[order[:half]].sum() / y.sum())


def cutoff_for_recall(y, p, target_recall: float) -> float | None:
    """The highest cut-off at which "probability >= cutoff" still finds ``target_recall`` of the
    positives."""
    y, p = _arrays(y, p)
    if y.sum() == 0:
        return None
    order = np.argsort(-p, kind="stable")
    tp = np.cumsum(y[order])
    k = int(np.searchsorted(tp, math.ceil(target_recall * y.sum() - 1e-9)))
    return float(p[order][min(k, len(p) - 1)])


def calibration_bins(y, p, bins: int = 10) -> list[dict]:
    """Rows per equal-width probability bin: how many, the mean probability, the observed rate."""
    y, p = _arrays(y, p)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        n = int(sel.sum())
        out.append({"bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "rows": n,
                    "mean_probability": float(p[sel].mean()) if n else None,
                    "observed_rate": float(y[sel].mean()) if n else None})
    return out


def expected_calibration_error(y, p, bins: int = 10) -> float | None:
    """Weighted mean |observed rate - mean probability| over equal-width bins (ECE)."""
    y, p = _arrays(y, p)
    if len(y) == 0:
        return None
    return float(sum(b["rows"] * abs(b["observed_rate"] - b["mean_probability"])
                     for b in calibration_bins(y, p, bins) if b["rows"]) / len(y))


def brier(y, p) -> float | None:
    y, p = _arrays(y, p)
    return float(np.mean((p - y) ** 2)) if len(y) else None


def summary(y, p, cutoff: float | None) -> dict:
    """The card's headline numbers for one set of rows."""
    y, p = _arrays(y, p)
    out = {"rows": len(y), "positives": int(y.sum()), "base_rate": float(y.mean()) if len(y) else None,
           "roc_auc": roc_auc(y, p), "precision_top_5pct": precision_at_top(y, p, 0.05),
           "precision_top_10pct": precision_at_top(y, p, 0.10), "brier": brier(y, p),
           "calibration_error": expected_calibration_error(y, p)}
    if cutoff is not None:
        out["at_cutoff"] = at_cutoff(y, p, cutoff)
    return out


def by_group(groups, y, p, cutoff: float, min_rows: int, min_positives: int) -> list[dict]:
    """The same numbers for each value of ``groups`` (urban/rural, city, ...)."""
    groups = np.asarray(groups, dtype=object)
    y, p = _arrays(y, p)
    out = []
    for g in sorted({str(v) for v in groups}):
        sel = np.array([str(v) == g for v in groups])
        ys, ps = y[sel], p[sel]
        c = at_cutoff(ys, ps, cutoff)
        out.append({"group": g, "rows": int(sel.sum()), "positives": int(ys.sum()),
                    "roc_auc": roc_auc(ys, ps), "precision": c["precision"], "recall": c["recall"],
                    "flagged": c["flagged"], "mean_probability": float(ps.mean()) if len(ps) else None,
                    "observed_rate": float(ys.mean()) if len(ys) else None,
                    "judged": bool(sel.sum() >= min_rows and ys.sum() >= min_positives)})
    return out


def fairness_gaps(name: str, rows: list[dict], max_gap: float) -> list[str]:
    """Warnings for a grouping whose judged groups differ in recall or precision at the cut-off by
    more than ``max_gap``."""
    warnings = []
    judged = [r for r in rows if r["judged"]]
    for metric in ("recall", "precision"):
        values = [(r[metric], r["group"]) for r in judged if r[metric] is not None]
        if len(values) < 2:
            continue
        (lo, g_lo), (hi, g_hi) = min(values), max(values)
        if hi - lo > max_gap:
            warnings.append(f"fairness: {metric} at the cut-off differs by {hi - lo:.2f} across {name} "
                            f"({g_lo} {lo:.2f}, {g_hi} {hi:.2f}), more than the bound {max_gap:.2f}")
    return warnings
