"""Runtime settings: defaults in the repo, overrides from a TOML file or ``LOWINCOME_*`` env.

The CLI, the Airflow DAGs and the tests all build a :class:`Settings` through
:func:`load_settings`, so a value means the same thing wherever it is read.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WAREHOUSE_SQL_DIR = REPO_ROOT / "warehouse"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
MODELS_DIR = REPO_ROOT / "models"


class ConfigError(ValueError):
    """The configuration or the environment is wrong (a missing folder, key or setting): the data
    team can fix it. The CLI prints the message on one line and exits non-zero, without a traceback."""


@dataclass(frozen=True)
class Settings:
    """Where things live and how hard DuckDB may work.

    Paths are plain ``Path`` objects; ``None`` means "not used in this run".
    """

    landing: Path = Path("landing")
    warehouse: Path = Path("warehouse.duckdb")
    outbox: Path = Path("outbox")
    feedback: Path | None = None
    # Working area for staged Parquet, GX Data Docs, reports and locks; defaults beside the warehouse.
    work_dir: Path | None = None
    # Indicator thresholds/routing overrides (TOML), layered over models/indicators.toml.
    indicator_config: Path | None = None
    # DuckDB resources: set per process, never left to DuckDB's 80%-of-RAM default.
    # The limit is DuckDB's own; a stage's Python side (GX frames, scrubbing, workbooks) comes on
    # top (~1-1.5 GB in the analyst build), so 4GB keeps a process within the 6 GB budget: the full
    # analyst rebuild at 1M roster persons x 13 months peaked at 6.34 GB with 6GB, 5.8-6.2 GB with
    # 5GB and 5.25 GB with 4GB (166 s against 144 s with 5GB); bench/nightly_notes.md.
    duckdb_threads: int = 2
    duckdb_memory_limit: str = "4GB"
    # Key for pseudonymous analyst keys (HMAC). Never stored in the repo; read from env or a file.
    hmac_key_file: Path | None = None
    # The analyst database is built incrementally (unchanged months copied from the previous build);
    # a full rebuild happens at least this often, and whenever the key or the table SQL changes.
    analyst_full_rebuild_days: int = 28
    # Optional encryption at rest of the restricted warehouse (docs/architecture.md, Security).
    encryption_key_file: Path | None = None
    # Trained models (artifacts, metadata, cards, training logs): <model_dir>/<model>/. Default
    # <work>/models -- a model belongs to the warehouse whose data trained it. The models'
    # configuration is always the repository's models/<model>/model.toml.
    model_dir: Path | None = None
    show_progress: bool = True
    # --- hostile and broken input (docs/architecture.md, Security) ------------------------------
    # A snapshot re-delivery for a period already loaded that has fewer rows than (1 - this share)
    # of the loaded one is held for a person to release (`lowincome release`), not loaded.
    hold_shrink_share: float = 0.2
    # A delivery whose rows are dated outside its declared period (widened by the tolerance) in
    # more than this share is rejected: the manifest's period is not what the file describes.
    period_outside_share: float = 0.5
    period_tolerance_days: int = 3
    # A manifest's produced_at later than the end of the night (+ tolerance) is rejected.
    future_tolerance_minutes: int = 60
    # Bounds on what is read at all: a larger manifest, or a feedback file above these limits,
    # is rejected whole with the reason (never parsed).
    manifest_max_bytes: int = 1_000_000
    feedback_max_bytes: int = 20_000_000
    feedback_max_lines: int = 50_000
    feedback_max_field_chars: int = 2_000
    extra: dict = field(default_factory=dict)

    @property
    def work(self) -> Path:
        return self.work_dir if self.work_dir is not None else self.warehouse.parent / (self.warehouse.stem + "_work")

    @property
    def temp_directory(self) -> Path:
        return self.work / "duckdb_tmp"

    @property
    def models(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.work / "models"

    @property
    def analyst_db(self) -> Path:
        return self.warehouse.parent / "analyst.duckdb"

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


_PATH_FIELDS = {"landing", "warehouse", "outbox", "feedback", "work_dir", "indicator_config",
                "hmac_key_file", "encryption_key_file", "model_dir"}
_INT_FIELDS = {"duckdb_threads", "analyst_full_rebuild_days", "period_tolerance_days", "future_tolerance_minutes",
               "manifest_max_bytes", "feedback_max_bytes", "feedback_max_lines", "feedback_max_field_chars"}
_FLOAT_FIELDS = {"hold_shrink_share", "period_outside_share"}
_BOOL_FIELDS = {"show_progress"}


def _coerce(name: str, value):
    if value is None or value == "":
        return None if name in _PATH_FIELDS else value
    if name in _PATH_FIELDS:
        return Path(value)
    if name in _INT_FIELDS:
        return int(value)
    if name in _FLOAT_FIELDS:
        return float(value)
    if name in _BOOL_FIELDS:
        return value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
    return value


def load_settings(config_file: Path | None = None, env: dict | None = None, **overrides) -> Settings:
    """Defaults, then ``[settings]`` of a TOML file, then ``LOWINCOME_<FIELD>`` env, then overrides.
    The file's other tables override the indicator rules (``indicator_config`` defaults to it).

    Overrides whose value is ``None`` are ignored, so CLI flags that were not given keep
    whatever the file or environment said.
    """
    env = os.environ if env is None else env
    values: dict = {}
    config_file = config_file or (Path(env["LOWINCOME_CONFIG"]) if env.get("LOWINCOME_CONFIG") else None)
    if config_file is not None:
        try:
            with open(config_file, "rb") as f:
                values.update(tomllib.load(f).get("settings", {}))
        except OSError as e:
            raise ConfigError(f"configuration file {config_file} cannot be read: {e.strerror or e}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"configuration file {config_file} is not valid TOML: {e}") from None
        # The same file may override the indicator rules (its tables besides [settings]).
        values.setdefault("indicator_config", config_file)
    names = {f.name for f in fields(Settings)} - {"extra"}
    for name in names:
        key = f"LOWINCOME_{name.upper()}"
        if key in env:
            values[name] = env[key]
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)} (known: {sorted(names)})")
    try:
        return Settings(**{k: _coerce(k, v) for k, v in values.items()})
    except (TypeError, ValueError) as e:
        raise ConfigError(f"bad setting: {e}") from None


HMAC_KEY_ENV = "LOWINCOME_HMAC_KEY"
ENCRYPTION_KEY_ENV = "LOWINCOME_ENCRYPTION_KEY"


def configured_secrets(settings: Settings) -> tuple[bytes, ...]:
    """The secrets configured for this run (pseudonymisation key, warehouse encryption key), for
    checks that must never echo them (e.g. a rejected feedback value); an unreadable key file is
    left out here (the stage that needs the key reports it)."""
    out = []
    for env, file in ((HMAC_KEY_ENV, settings.hmac_key_file), (ENCRYPTION_KEY_ENV, settings.encryption_key_file)):
        try:
            secret = read_secret(env, file)
        except ConfigError:
            continue
        if secret:
            out.append(secret)
    return tuple(out)


def read_secret(env_var: str, file: Path | None) -> bytes | None:
    """A secret from ``$env_var`` or from a file outside the repo; never logged, never defaulted."""
    if os.environ.get(env_var):
        return os.environ[env_var].encode()
    if file is not None:
        try:
            return Path(file).read_bytes().strip()
        except OSError as e:
            raise ConfigError(f"secret file {file} cannot be read: {e.strerror or e}") from None
    return None
