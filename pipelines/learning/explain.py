"""Why the model gave a household its probability: path contributions of the boosted trees.

For one row, every tree is walked from its root to the leaf the row falls in. Each node carries
the mean raw score (log-odds) of the training rows that reached it; each step down a split moves
that mean, and the move is credited to the split's feature (Saabas' decomposition). Summed over
the trees, ``bias + sum(contributions) == the model's raw log-odds`` exactly, so the contributions
say which features moved this household away from the average one. It costs one walk per tree
(vectorised over rows), which is why it is computed only for the rows that need an explanation.

Contributions are summed per feature group (``models/eligibility/features.toml``: a code and a
Chinese label each), and each group's effect is stated on the probability scale: the calibrated
probability minus the probability without that group's contribution. The top groups by absolute
effect are what a warning's explanation names.
"""

from __future__ import annotations

import numpy as np


def _expected_values(tree) -> np.ndarray:
    """Mean leaf value of the training rows under each node (internal nodes' stored values are
    not that mean), from the leaves up, weighted by the nodes' training counts."""
    nodes = tree.nodes
    ev = nodes["value"].astype(float).copy()
    order = np.argsort(-nodes["depth"], kind="stable")  # deepest first
    for i in order:
        if not nodes["is_leaf"][i]:
            left, right = nodes["left"][i], nodes["right"][i]
            cl, cr = float(nodes["count"][left]), float(nodes["count"][right])
            ev[i] = (cl * ev[left] + cr * ev[right]) / max(cl + cr, 1.0)
    return ev


def path_contributions(classifier, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bias per row, contributions (n_rows, n_features)) on the raw log-odds scale of a fitted
    binary ``HistGradientBoostingClassifier`` (numeric features only)."""
    X = np.asarray(X, dtype=float)
    n, k = X.shape
    contrib = np.zeros((n, k))
    bias = np.full(n, float(np.ravel(classifier._baseline_prediction)[0]))
    rows = np.arange(n)
    for trees in classifier._predictors:
        tree = trees[0]
        nodes = tree.nodes
        if nodes["is_categorical"].any():
            raise ValueError("path_contributions: categorical splits are not supported")
        ev = _expected_values(tree)
        bias += ev[0]
        node = np.zeros(n, dtype=np.int64)
        active = rows
        while active.size:
            nd = node[active]
            leaf = nodes["is_leaf"][nd].astype(bool)
            active, nd = active[~leaf], nd[~leaf]
            if not active.size:
                break
            f = nodes["feature_idx"][nd].astype(np.int64)
            x = X[active, f]
            go_left = np.where(np.isnan(x), nodes["missing_go_to_left"][nd].astype(bool),
                               x <= nodes["num_threshold"][nd])
            child = np.where(go_left, nodes["left"][nd], nodes["right"][nd]).astype(np.int64)
            contrib[active, f] += ev[child] - ev[nd]
            node[active] = child
    return bias, contrib


def group_effects(artifact, X: np.ndarray, groups: list[str]) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per row and feature group: the effect on the calibrated probability (probability minus the
    probability without that group's contribution). ``groups`` gives each feature column's group.
    Returns (effects (n_rows, n_groups), group codes, calibrated probability)."""
    bias, contrib = path_contributions(artifact.classifier, X)
    raw = bias + contrib.sum(axis=1)
    codes = sorted(set(groups))
    index = {c: i for i, c in enumerate(codes)}
    by_group = np.zeros((len(X), len(codes)))
    for j, g in enumerate(groups):
        by_group[:, index[g]] += contrib[:, j]
    p = artifact.calibrate(_sigmoid(raw))
    effects = np.empty_like(by_group)
    for i in range(len(codes)):
        effects[:, i] = p - artifact.calibrate(_sigmoid(raw - by_group[:, i]))
    return effects, codes, p


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def top_features(artifact, spec, X: np.ndarray, k: int = 3) -> list[list[dict]]:
    """For each row: the ``k`` feature groups that moved its probability most, as
    ``{code, label_zh, direction, effect_zh, delta, values}`` (``delta``: probability points that
    group added (+) or took away (-); ``values``: the group's feature values for the row)."""
    features = artifact.features
    groups = [spec.features.get(f, f) for f in features]
    effects, codes, _ = group_effects(artifact, X, groups)
    members: dict[str, list[int]] = {}
    for j, g in enumerate(groups):
        members.setdefault(g, []).append(j)
    out = []
    for r in range(len(X)):
        order = np.argsort(-np.abs(effects[r]), kind="stable")[:k]
        items = []
        for i in order:
            code = codes[i]
            delta = float(effects[r, i])
            group = spec.groups.get(code)
            values = {features[j]: round(float(X[r, j]), 3) for j in members[code] if not np.isnan(X[r, j])}
            items.append({
                "code": code,
                "label_zh": group.label_zh if group else code,
                "direction": "up" if delta >= 0 else "down",
                "effect_zh": (group.up_zh if delta >= 0 else group.down_zh) if group else code,
                "delta": round(delta, 4),
                "values": values,
            })
        out.append(items)
    return out
