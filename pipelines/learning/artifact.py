"""Model artifacts without pickle: the estimators in skops format, everything else in JSON.

A trained model is two files in its folder (:func:`pipelines.learning.spec.model_folder`):

- ``<name>.skops`` — ``{"classifier": HistGradientBoostingClassifier, "calibrator": IsotonicRegression
  | LogisticRegression}`` written by ``skops.io`` (a zip of JSON and arrays: loading it runs no
  code). Only the types in :data:`TRUSTED_TYPES` are accepted on load.
- ``<name>.json`` — the metadata: version, feature list, data months and counts, metrics, the
  cut-off or priority thresholds, the seed, the library versions it was trained with and the
  sha256 of the ``.skops`` file.

:func:`load_artifact` refuses, with a message saying what to do, an artifact trained with other
library versions (scikit-learn, numpy, scipy, skops), one whose file no longer matches its
metadata, one with an untrusted type inside, and one whose features are not the ones the caller
computes. The version is ``<name>-<last label month>-<fingerprint>``: the fingerprint hashes the
fitted trees and calibrator, so the same data and seed give the same version.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.atomic import atomic_write_bytes, atomic_write_text, sha256_file
from pipelines.config import ConfigError

# The libraries whose version must match between training and loading (the estimators' internals
# and the skops format change between versions).
CHECKED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "skops")
# Types skops may rebuild from an artifact beyond its defaults (numpy, builtins, sklearn estimators).
TRUSTED_TYPES = (
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "scipy.interpolate._interpolate.interp1d",
    "numpy.dtype",
    "builtins.slice",
)


class ArtifactError(ConfigError):
    """The artifact cannot be used: the message names the file and what to do."""


class ArtifactMissing(ArtifactError):
    """No trained model in the folder."""


def library_versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {lib: version(lib) for lib in CHECKED_LIBRARIES}
    out["python"] = platform.python_version()
    return out


@dataclass
class Artifact:
    name: str
    classifier: object
    calibrator: object
    calibration: str                      # "isotonic" | "sigmoid"
    features: list[str]
    meta: dict = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.meta["version"]

    def raw_proba(self, X: np.ndarray) -> np.ndarray:
        """The boosted trees' probability before calibration (``predict_proba``, on the training bins:
        :func:`pipelines.learning.trees.probability`)."""
        from pipelines.learning.trees import probability

        return probability(self.classifier, X)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=float)
        if raw.size == 0:  # (Platt's logistic regression refuses an empty array)
            return np.zeros(0)
        if self.calibration == "isotonic":
            return np.clip(self.calibrator.predict(raw), 0.0, 1.0)
        return self.calibrator.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for the rows of ``X`` (columns in :attr:`features` order)."""
        if len(X) == 0:
            return np.zeros(0)
        return self.calibrate(self.raw_proba(X))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def fit_calibrator(raw: np.ndarray, y: np.ndarray, isotonic_min_rows: int, seed: int):
    """Isotonic regression on the raw probability when there are enough rows, else Platt scaling
    (a logistic regression on its logit). Returns (method, calibrator)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    if len(raw) >= isotonic_min_rows:
        cal = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
        cal.fit(np.asarray(raw, float), np.asarray(y, float))
        _join_steps_at_midpoints(cal)
        return "isotonic", cal
    cal = LogisticRegression(C=1e6, random_state=seed)
    cal.fit(_logit(raw).reshape(-1, 1), np.asarray(y, int))
    return "sigmoid", cal


def _join_steps_at_midpoints(cal) -> None:
    """Isotonic regression is a staircase: every raw score within a step gets the same probability, so a
    cut-off that falls on a step takes or leaves all of its rows at once (at 300k one step held 40 of the
    held-back path (b) households, 16 of them below the line). Each step is replaced by one point at its
    middle and the points are joined by straight lines (centred isotonic regression): the probability
    rises with the raw score between the first and the last step's middle, keeps the steps' levels, and
    the trees' order of the households survives calibration."""
    xs, ys = np.asarray(cal.X_thresholds_, float), np.asarray(cal.y_thresholds_, float)
    if len(xs) < 2:
        return
    first = np.r_[True, np.diff(ys) != 0]          # a step is kept by its first and last point
    step = np.cumsum(first) - 1
    mid_x = np.bincount(step, weights=xs) / np.bincount(step)
    mid_y = ys[first]
    cal.X_thresholds_, cal.y_thresholds_ = mid_x, mid_y
    cal.X_min_, cal.X_max_ = mid_x[0], mid_x[-1]   # out_of_bounds="clip": the ends stay flat
    cal._build_f(mid_x, mid_y)


def fingerprint(classifier, calibrator) -> str:
    """sha256 over what the fitted model computes with: every tree's nodes, the baseline, the
    calibrator's parameters. Independent of file timestamps: same data + seed = same fingerprint."""
    h = hashlib.sha256()
    h.update(np.asarray(classifier._baseline_prediction, dtype=float).tobytes())
    for trees in classifier._predictors:
        for tree in trees:
            h.update(tree.nodes.tobytes())
            h.update(np.asarray(tree.raw_left_cat_bitsets).tobytes())
    for attr in ("X_thresholds_", "y_thresholds_", "coef_", "intercept_"):
        value = getattr(calibrator, attr, None)
        if value is not None:
            h.update(np.asarray(value, dtype=float).tobytes())
    return h.hexdigest()


def paths(folder: Path, name: str) -> tuple[Path, Path]:
    folder = Path(folder)
    return folder / f"{name}.skops", folder / f"{name}.json"


def save_artifact(folder: Path, artifact: Artifact) -> tuple[Path, Path]:
    """Write ``<name>.skops`` then ``<name>.json`` (the metadata last: a folder whose metadata does
    not match its estimators file is refused on load, never half-used)."""
    import skops.io as sio

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    est_path, meta_path = paths(folder, artifact.name)
    atomic_write_bytes(est_path, sio.dumps({"classifier": artifact.classifier, "calibrator": artifact.calibrator}))
    meta = dict(artifact.meta)
    meta.update(name=artifact.name, features=list(artifact.features), calibration=artifact.calibration,
                libraries=library_versions(), estimators_file=est_path.name, estimators_sha256=sha256_file(est_path))
    artifact.meta = meta
    atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n")
    return est_path, meta_path


def read_meta(folder: Path, name: str) -> dict | None:
    _, meta_path = paths(folder, name)
    if not meta_path.exists():
        return None
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ArtifactError(f"{meta_path}: not valid JSON ({e}); retrain with `lowincome model train --model {name}`") from None


def load_artifact(folder: Path, name: str, features: list[str] | None = None) -> Artifact:
    """The trained model ``name`` in ``folder``, checked (see the module docstring). ``features``:
    the feature columns the caller computes, which must be the artifact's, in order."""
    import skops.io as sio

    est_path, meta_path = paths(folder, name)
    meta = read_meta(folder, name)
    retrain = f"retrain with `lowincome model train --model {name}`"
    if meta is None or not est_path.exists():
        raise ArtifactMissing(f"no trained {name} model in {Path(folder)} ({retrain})")
    installed = library_versions()
    trained = meta.get("libraries") or {}
    mismatch = [f"{lib} {trained.get(lib, '?')} (installed: {installed[lib]})"
                for lib in CHECKED_LIBRARIES if trained.get(lib) != installed[lib]]
    if mismatch:
        raise ArtifactError(f"{meta_path}: the {name} model was trained with {', '.join(mismatch)}; "
                            f"it is not loaded with other library versions: {retrain}")
    digest = sha256_file(est_path)
    if digest != meta.get("estimators_sha256"):
        raise ArtifactError(f"{est_path}: does not match its metadata {meta_path.name} (sha256 {digest[:12]}…, "
                            f"expected {str(meta.get('estimators_sha256'))[:12]}…): {retrain}")
    data = est_path.read_bytes()
    untrusted = sio.get_untrusted_types(data=data)
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if unexpected:
        raise ArtifactError(f"{est_path}: holds types this pipeline does not load ({', '.join(unexpected)}): {retrain}")
    try:
        obj = sio.load(io.BytesIO(data), trusted=list(untrusted))
    except Exception as e:  # noqa: BLE001 -- any failure to rebuild the estimators is one message
        raise ArtifactError(f"{est_path}: cannot be read ({type(e).__name__}: {e}): {retrain}") from None
    art = Artifact(name=name, classifier=obj["classifier"], calibrator=obj["calibrator"],
                   calibration=meta.get("calibration", "isotonic"), features=list(meta.get("features") or []),
                   meta=meta)
    if fingerprint(art.classifier, art.calibrator) != meta.get("fingerprint"):
        raise ArtifactError(f"{est_path}: its estimators are not the ones its metadata describes: {retrain}")
    if features is not None and list(features) != art.features:
        extra = [f for f in features if f not in art.features]
        gone = [f for f in art.features if f not in features]
        raise ArtifactError(f"{meta_path}: the {name} model was trained on other features than the pipeline "
                            f"computes now (new: {', '.join(extra) or '-'}; gone: {', '.join(gone) or '-'}; "
                            f"or another order): {retrain}")
    return art
