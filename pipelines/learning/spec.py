"""What the business owns about the learned models, read in one place: ``models/<model>/``.

``models/eligibility/model.toml`` and ``models/triage/model.toml`` hold the training settings,
the cut-off policy, the priority thresholds, the fairness bounds and the watchlist size;
``models/eligibility/features.toml`` names every feature in words (a code and a Chinese label per
group). Trained artifacts and their cards are written by training into the model folder of the
settings (:func:`model_folder`); the configuration is always the repository's.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.config import MODELS_DIR, ConfigError, Settings

MODEL_NAMES = ("eligibility", "triage")


class ModelSpecError(ConfigError):
    """A model's configuration in models/<model>/ is malformed; the message names the file and key."""


@dataclass(frozen=True)
class FeatureGroup:
    code: str
    label_zh: str
    up_zh: str
    down_zh: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    name_zh: str
    name_en: str
    training: dict
    cutoff: dict = field(default_factory=dict)
    scoring: dict = field(default_factory=dict)
    priority: dict = field(default_factory=dict)
    fairness: dict = field(default_factory=dict)
    watchlist: dict = field(default_factory=dict)
    features: dict[str, str] = field(default_factory=dict)        # feature column -> group code
    groups: dict[str, FeatureGroup] = field(default_factory=dict)
    source: Path | None = None

    @property
    def seed(self) -> int:
        return int(self.training.get("seed", 0))

    def group_of(self, feature: str) -> FeatureGroup:
        code = self.features.get(feature)
        if code is None:
            return FeatureGroup(feature, feature, feature, feature)
        return self.groups[code]


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ModelSpecError(f"{path}: cannot be read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ModelSpecError(f"{path}: not valid TOML: {e}") from None


_KEYS = {"name_zh", "name_en", "training", "cutoff", "scoring", "priority", "fairness", "watchlist"}


@functools.lru_cache(maxsize=8)
def load_spec(name: str, models_dir: Path = MODELS_DIR) -> ModelSpec:
    """The configuration of model ``name`` (``models/<name>/model.toml`` and, where present,
    ``features.toml``)."""
    if name not in MODEL_NAMES:
        raise ModelSpecError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})")
    path = Path(models_dir) / name / "model.toml"
    raw = _read(path)
    unknown = set(raw) - _KEYS
    if unknown:
        raise ModelSpecError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})")
    for key in ("name_zh", "name_en", "training"):
        if key not in raw:
            raise ModelSpecError(f"{path}: missing {key}")
    cutoff = raw.get("cutoff", {})
    if "value" in cutoff and not 0 < float(cutoff["value"]) < 1:
        raise ModelSpecError(f"{path}: cutoff.value must be between 0 and 1, got {cutoff['value']!r}")
    priority = raw.get("priority", {})
    if ("high" in priority) != ("medium" in priority):
        raise ModelSpecError(f"{path}: priority.high and priority.medium are fixed together (or both left to training)")
    if "high" in priority and not 0 <= float(priority["medium"]) <= float(priority["high"]) <= 1:
        raise ModelSpecError(f"{path}: priority thresholds must satisfy 0 <= medium <= high <= 1")
    if priority and "high" not in priority:
        missing = [k for k in ("high_share", "medium_share") if k not in priority]
        if missing:
            raise ModelSpecError(f"{path}: [priority] needs {' and '.join(missing)} (training sets the thresholds from "
                                 "them) or fixed high and medium thresholds")
    shares = [float(priority.get(k, 0)) for k in ("high_share", "medium_share")]
    if min(shares) < 0 or sum(shares) > 1:
        raise ModelSpecError(f"{path}: priority.high_share and medium_share must be >= 0 and add up to at most 1")
    features, groups = {}, {}
    fpath = Path(models_dir) / name / "features.toml"
    if fpath.exists():
        fraw = _read(fpath)
        for code, g in (fraw.get("groups") or {}).items():
            missing = [k for k in ("label_zh", "up_zh", "down_zh") if k not in g]
            if missing:
                raise ModelSpecError(f"{fpath}: [groups.{code}] lacks {', '.join(missing)}")
            groups[code] = FeatureGroup(code, g["label_zh"], g["up_zh"], g["down_zh"])
        for feature, code in (fraw.get("features") or {}).items():
            if code not in groups:
                raise ModelSpecError(f"{fpath}: feature {feature} names group {code!r}, which [groups] does not define")
            features[feature] = code
    return ModelSpec(name=name, name_zh=raw["name_zh"], name_en=raw["name_en"], training=dict(raw["training"]),
                     cutoff=dict(cutoff), scoring=dict(raw.get("scoring", {})), priority=dict(priority),
                     fairness=dict(raw.get("fairness", {})), watchlist=dict(raw.get("watchlist", {})),
                     features=features, groups=groups, source=path)


def model_folder(settings: Settings, name: str) -> Path:
    """Where model ``name``'s artifact, metadata, card and training log live for these settings:
    ``<model_dir>/<name>/`` (``model_dir`` defaults to ``<work>/models``: a model belongs to the
    warehouse whose data trained it)."""
    return Path(settings.models) / name
