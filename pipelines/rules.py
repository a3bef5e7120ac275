"""Indicator rules as data: ``models/indicators.toml`` plus an optional override file.

The defaults file names every key that exists. An override file (``Settings.indicator_config``,
the CLI's ``--config``) may change any of them -- a threshold, a severity, a department, the edge
multiplier of one city -- but never add one: an unknown key is an error that names it, so a typo
cannot silently leave a default in force. The override file may be the same TOML that holds the
runtime ``[settings]``; that table is ignored here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.config import MODELS_DIR

DEFAULT_RULES_FILE = MODELS_DIR / "indicators.toml"

INDICATOR_CODES = (
    "INC_DROP", "EXP_MED", "EXP_EDU", "EXP_HARDSHIP", "DISASTER", "POP_DEATH", "POP_DISABILITY",
    "POP_BIRTH", "ELIG_DIBAO", "ELIG_EDGE", "EXIT_REVIEW", "BENEFIT_AFTER_DEATH", "DUP_ENROLL",
    "REVIEW_OVERDUE",
)
SEVERITIES = ("urgent", "high", "medium", "low")
DEPARTMENTS = ("MCA", "HRSS", "NHSA", "MOE", "MOHURD", "MEM", "CDPF")

_TOP_KEYS = {"edge_multiplier", "deadlines", "cities", "indicators", "settings"}
_INDICATOR_KEYS = {"name", "enabled", "feeds", "optional_feeds", "window", "departments", "routing",
                   "severity", "params"}
_CITY_KEYS = {"edge_multiplier"}
_FEED_RE = re.compile(r"^(?P<feed>[a-z_]+)(?:@(?P<lo>-?\d+)(?:\.\.(?P<hi>-?\d+))?)?$")


class RulesError(ValueError):
    """The rules file or an override is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class FeedNeed:
    """A feed an indicator needs for months ``M+lo .. M+hi`` (offsets; 0 = the data month)."""

    feed_id: str
    lo: int = 0
    hi: int = 0

    @classmethod
    def parse(cls, text: str, where: str) -> "FeedNeed":
        m = _FEED_RE.match(text.strip())
        if not m:
            raise RulesError(f"{where}: bad feed {text!r} (expected feed, feed@-1 or feed@-2..0)")
        lo = int(m["lo"]) if m["lo"] is not None else 0
        hi = int(m["hi"]) if m["hi"] is not None else lo
        if lo > hi:
            raise RulesError(f"{where}: bad feed {text!r}: offsets must ascend")
        return cls(m["feed"], lo, hi)

    def __str__(self) -> str:
        if self.lo == self.hi == 0:
            return self.feed_id
        return f"{self.feed_id}@{self.lo}" if self.lo == self.hi else f"{self.feed_id}@{self.lo}..{self.hi}"


@dataclass(frozen=True)
class IndicatorRule:
    code: str
    name: str
    enabled: bool
    feeds: tuple[FeedNeed, ...]          # required: gate the month
    optional_feeds: tuple[FeedNeed, ...]  # used when loaded; their arrival re-evaluates the month
    window: tuple[int, int]              # month offsets whose input deliveries are hashed
    departments: tuple[str, ...]
    routing: dict[str, tuple[str, ...]]   # condition -> extra departments
    severity: dict[str, str]             # outcome -> severity
    params: dict[str, object]            # thresholds

    def fingerprint(self) -> str:
        """What a re-evaluation depends on besides the data (changed thresholds re-evaluate)."""
        return json.dumps(asdict(self), sort_keys=True, default=str)


@dataclass(frozen=True)
class CityOverride:
    city_code: str
    edge_multiplier: float | None = None


@dataclass(frozen=True)
class Rules:
    edge_multiplier: float
    deadlines: dict[str, int]
    cities: dict[str, CityOverride]
    indicators: dict[str, IndicatorRule]
    sources: tuple[str, ...] = field(default=())

    def indicator(self, code: str) -> IndicatorRule:
        return self.indicators[code]

    def edge_multiplier_for(self, city_code: str | None) -> float:
        city = self.cities.get(city_code or "")
        if city is not None and city.edge_multiplier is not None:
            return city.edge_multiplier
        return self.edge_multiplier

    def city_edge_multipliers(self) -> dict[str, float]:
        return {c: o.edge_multiplier for c, o in self.cities.items() if o.edge_multiplier is not None}


# --- loading ---------------------------------------------------------------------------------------

def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None


def _merge(base: dict, over: dict, where: str, open_keys: frozenset[str] = frozenset()) -> dict:
    """Layer ``over`` on ``base``; every key of ``over`` must exist in ``base`` (except under
    ``open_keys``, tables whose entries an override may add, e.g. cities)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        path = f"{where}.{key}" if where else key
        if key not in base:
            raise RulesError(f"unknown key {path!r} in the indicator rules override")
        if isinstance(base[key], dict) and path not in open_keys:
            if not isinstance(value, dict):
                raise RulesError(f"{path!r} must be a table")
            out[key] = _merge(base[key], value, path, open_keys)
        elif isinstance(base[key], dict):
            out[key] = {**base[key], **copy.deepcopy(value)}
        else:
            _same_kind(base[key], value, path)
            out[key] = copy.deepcopy(value)
    return out


def _same_kind(default, value, path: str) -> None:
    """An override keeps the type of the default (a number stays a number, a list a list)."""
    def kind(v):
        if isinstance(v, bool):
            return "boolean"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, list):
            return "list"
        return "string" if isinstance(v, str) else type(v).__name__
    if kind(default) != kind(value):
        raise RulesError(f"{path!r} must be a {kind(default)}, got {value!r}")


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RulesError(f"{where} must be a number, got {value!r}")
    return float(value)


def _departments(values, where: str) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise RulesError(f"{where} must be a list of department codes")
    for d in values:
        if d not in DEPARTMENTS:
            raise RulesError(f"{where}: unknown department {d!r} (known: {', '.join(DEPARTMENTS)})")
    return tuple(values)


def _build(raw: dict, sources: tuple[str, ...]) -> Rules:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise RulesError(f"unknown key {sorted(unknown)[0]!r} in the indicator rules")
    edge = _number(raw.get("edge_multiplier", 1.5), "edge_multiplier")
    deadlines = {}
    for sev, days in (raw.get("deadlines") or {}).items():
        if sev not in SEVERITIES:
            raise RulesError(f"unknown key 'deadlines.{sev}' (severities: {', '.join(SEVERITIES)})")
        deadlines[sev] = int(_number(days, f"deadlines.{sev}"))
    cities = {}
    for city, table in (raw.get("cities") or {}).items():
        if not re.fullmatch(r"\d{4}", str(city)):
            raise RulesError(f"cities.{city}: a city is a 4-digit code")
        for key in table:
            if key not in _CITY_KEYS:
                raise RulesError(f"unknown key 'cities.{city}.{key}' (known: {', '.join(sorted(_CITY_KEYS))})")
        em = table.get("edge_multiplier")
        cities[str(city)] = CityOverride(str(city), _number(em, f"cities.{city}.edge_multiplier") if em is not None else None)
    indicators = {}
    for code, table in (raw.get("indicators") or {}).items():
        where = f"indicators.{code}"
        if code not in INDICATOR_CODES:
            raise RulesError(f"unknown key {where!r} (indicators: {', '.join(INDICATOR_CODES)})")
        for key in table:
            if key not in _INDICATOR_KEYS:
                raise RulesError(f"unknown key '{where}.{key}'")
        window = table.get("window", [0, 0])
        if not (isinstance(window, list) and len(window) == 2 and window[0] <= 0 <= window[1] + 0):
            raise RulesError(f"{where}.window must be [first<=0, last>=0] month offsets, got {window!r}")
        severity = dict(table.get("severity") or {})
        for outcome, sev in severity.items():
            if sev not in SEVERITIES:
                raise RulesError(f"{where}.severity.{outcome}: unknown severity {sev!r}")
        indicators[code] = IndicatorRule(
            code=code,
            name=str(table.get("name", code)),
            enabled=bool(table.get("enabled", True)),
            feeds=tuple(FeedNeed.parse(f, f"{where}.feeds") for f in table.get("feeds", [])),
            optional_feeds=tuple(FeedNeed.parse(f, f"{where}.optional_feeds") for f in table.get("optional_feeds", [])),
            window=(int(window[0]), int(window[1])),
            departments=_departments(table.get("departments", ["MCA"]), f"{where}.departments"),
            routing={k: _departments(v, f"{where}.routing.{k}") for k, v in (table.get("routing") or {}).items()},
            severity=severity,
            params=dict(table.get("params") or {}),
        )
    missing = [c for c in INDICATOR_CODES if c not in indicators]
    if missing:
        raise RulesError(f"the indicator rules lack {', '.join(missing)}")
    return Rules(edge_multiplier=edge, deadlines=deadlines, cities=cities, indicators=indicators, sources=sources)


def load_rules(override: Path | str | None = None, defaults: Path | str | None = None) -> Rules:
    """Defaults from ``models/indicators.toml``, then ``override`` (if given) layered on top."""
    defaults = Path(defaults or DEFAULT_RULES_FILE)
    raw = _read(defaults)
    sources = [str(defaults)]
    if override is not None:
        over = _read(Path(override))
        over.pop("settings", None)  # runtime settings share the file; pipelines.config reads them
        over = _normalise(over)
        try:
            raw = _merge(raw, over, "", open_keys=frozenset({"cities"}))
        except RulesError as exc:
            raise RulesError(f"{override}: {exc}") from None
        sources.append(str(override))
    raw.pop("settings", None)
    return _build(raw, tuple(sources))


def _normalise(over: dict) -> dict:
    """``[deadlines] urgent_days = 2`` is accepted as ``urgent = 2`` (pipelines/cases.py reads both)."""
    if isinstance(over.get("deadlines"), dict):
        over = {**over, "deadlines": {str(k).removesuffix("_days"): v for k, v in over["deadlines"].items()}}
    return over


def rules_from_dict(over: dict, defaults: Path | str | None = None) -> Rules:
    """Defaults with an override given as a dict (tests, notebooks); same checks as a file."""
    raw = _merge(_read(Path(defaults or DEFAULT_RULES_FILE)), _normalise(over), "", open_keys=frozenset({"cities"}))
    return _build(raw, (str(defaults or DEFAULT_RULES_FILE), "<dict>"))


def rules_hash(rules: Rules, code: str) -> str:
    """Digest of what indicator ``code`` reads from the rules (its table and the edge multipliers)."""
    payload = rules.indicators[code].fingerprint() + json.dumps(
        {"edge": rules.edge_multiplier, "cities": rules.city_edge_multipliers()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()
