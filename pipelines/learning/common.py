"""What both models share: the time split, fitting the trees and the calibrator, the training log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.learning.artifact import Artifact, fingerprint, fit_calibrator


class NotEnoughData(RuntimeError):
    """Too few labelled rows (or months) to train: the message says how many there are and need."""


@dataclass
class Split:
    train: list[str]
    calibration: list[str]
    test: list[str]

    def as_dict(self) -> dict:
        return {"train": self.train, "calibration": self.calibration, "test": self.test}


def time_split(months: list[str], training: dict) -> Split:
    """Oldest months train the trees, the next ``calibration_months`` calibrate, the last
    ``test_months`` are held back."""
    months = sorted(set(months))
    n_test, n_cal = int(training.get("test_months", 2)), int(training.get("calibration_months", 2))
    n_min = int(training.get("min_train_months", 2))
    if len(months) < n_test + n_cal + n_min:
        raise NotEnoughData(f"{len(months)} month(s) with labels ({', '.join(months) or 'none'}); training needs "
                            f"{n_min} to train + {n_cal} to calibrate + {n_test} held back")
    test = months[len(months) - n_test:]
    cal = months[len(months) - n_test - n_cal:len(months) - n_test]
    return Split(train=months[:len(months) - n_test - n_cal], calibration=cal, test=test)


def fit(X_train, y_train, X_cal, y_cal, training: dict, seed: int):
    """The boosted trees on the training months, then the calibrator on the calibration months."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    clf = HistGradientBoostingClassifier(
        max_iter=int(training.get("max_iter", 300)), learning_rate=float(training.get("learning_rate", 0.05)),
        max_leaf_nodes=int(training.get("max_leaf_nodes", 15)),
        min_samples_leaf=int(training.get("min_samples_leaf", 20)),
        l2_regularization=float(training.get("l2_regularization", 1.0)),
        max_features=float(training.get("max_features", 1.0)),
        early_stopping=False, random_state=seed)
    X_train = np.array(X_train, dtype=float, copy=True)
    # a feature without any value in the training months (e.g. a previous check, before checks
    # began) is held constant: the trees cannot split on it, and its later values change nothing
    X_train[:, np.isnan(X_train).all(axis=0)] = 0.0
    clf.fit(X_train, y_train)
    raw = clf.predict_proba(X_cal)[:, 1]
    method, calibrator = fit_calibrator(raw, y_cal, int(training.get("isotonic_min_rows", 1000)), seed)
    return clf, method, calibrator


def make_artifact(name: str, clf, method: str, calibrator, features: list[str], last_month: str,
                  meta: dict) -> Artifact:
    fp = fingerprint(clf, calibrator)
    meta = {**meta, "fingerprint": fp, "version": f"{name}-{last_month}-{fp[:8]}"}
    return Artifact(name=name, classifier=clf, calibrator=calibrator, calibration=method, features=features,
                    meta=meta)


@dataclass
class TrainingLog:
    """Lines of a training run: printed as they come and appended to ``<folder>/training.log``."""

    echo: object = print
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if self.echo is not None:
            self.echo(line)

    def write(self, folder: Path, header: str) -> Path:
        path = Path(folder) / "training.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"--- {stamp} {header}\n")
            for line in self.lines:
                f.write(line + "\n")
        return path


def describe_rows(y: np.ndarray) -> str:
    return f"{len(y):,} rows, {int(np.sum(y)):,} positive"
