"""What the business owns, read in one place: ``models/indicators.toml`` and ``models/departments.toml``.

Every module that needs an indicator's name, rule, thresholds, severities, routing or deadlines, or
a department's name, office level or data rights, asks the :class:`Rules` loaded here; none keeps a
copy. Department-facing rule text is rendered from the values in force (:meth:`Rules.rule_text`,
per city), so an extract never states a threshold the pipeline does not apply.

The indicator defaults file names every key that exists. An override file (``Settings.indicator_config``,
the CLI's ``--config``) may change any of them -- a threshold, a severity, a department, a deadline,
the edge multiplier of one city -- but never add one: an unknown key is an error that names it, so a
typo cannot silently leave a default in force. The override file may be the same TOML that holds
the runtime ``[settings]``; that table is ignored here. Departments are not overridable.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import string
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pipelines.config import MODELS_DIR, ConfigError

DEFAULT_RULES_FILE = MODELS_DIR / "indicators.toml"
DEPARTMENTS_FILE = MODELS_DIR / "departments.toml"

_TOP_KEYS = {"edge_multiplier", "severities", "deadlines", "cases", "cities", "indicators", "settings"}
_INDICATOR_KEYS = {"name_zh", "name_en", "rule", "enabled", "arrival", "dated_event", "feeds", "optional_feeds",
                   "path_feeds", "window", "departments", "routing", "severity", "outcomes", "conditions", "purpose",
                   "params"}
_CASES_KEYS = {"cooldown_months"}
# Display texts: what staff read, and what the case life cycle reads (dated_event). They do not change
# what an indicator computes, so they are not part of the fingerprint that decides re-evaluation.
_TEXT_KEYS = ("name_zh", "name_en", "rule", "outcomes", "conditions", "purpose", "dated_event")
_CITY_KEYS = {"edge_multiplier"}
_DEPARTMENT_KEYS = {"name_zh", "name_en", "receives_cases", "office_level", "county_indicators", "id_number",
                    "person_name", "sees_departments", "assistance"}
_ASSISTANCE_KEYS = {"name_zh", "name_en", "department", "feed", "counts"}
ASSISTANCE_POLICIES = ("all", "own", "none")
OFFICE_LEVELS = {"county": 6, "town": 9}  # office level -> digits of the region code that name the office
_FEED_RE = re.compile(r"^(?P<feed>[a-z_]+)(?:@(?P<lo>-?\d+)(?:\.\.(?P<hi>-?\d+))?)?$")


class RulesError(ConfigError):
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
    name_zh: str
    name_en: str
    rule: str                             # template of the rule sentence (see Rules.rule_text)
    enabled: bool
    feeds: tuple[FeedNeed, ...]          # required: gate the month
    optional_feeds: tuple[FeedNeed, ...]  # used when loaded; their arrival re-evaluates the month
    window: tuple[int, int]              # month offsets whose input deliveries are hashed
    departments: tuple[str, ...]
    routing: dict[str, tuple[str, ...]]   # condition -> extra departments
    severity: dict[str, str]             # outcome -> severity
    outcomes: dict[str, str]             # outcome -> what it means, in words
    conditions: dict[str, str]           # routing condition -> in words
    purpose: dict[str, str]              # department -> what it is asked for
    params: dict[str, object]            # thresholds
    # urgent evidence evaluated the night it arrives (principle 9): the household composition is the
    # newest month with roster and hukou members loaded, and the event feed need not be complete
    arrival: bool = False
    # each warning is about a dated event of its data month (a disaster, a death, a visit): after its
    # case was closed, a warning of a later month is a new event and re-alerts at once (principle 3)
    dated_event: bool = False
    # path -> feeds one path of the rule reads (ELIG's path b: the checks since the signal): the path
    # judges a household only over the run of loaded months ending at M (pipelines.indicators.path_bounds)
    path_feeds: dict[str, tuple[FeedNeed, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.name_zh

    @property
    def label(self) -> str:
        """``<name_zh> <name_en>``: how extracts and reports name the indicator."""
        return f"{self.name_zh} {self.name_en}"

    @property
    def severities(self) -> tuple[str, ...]:
        """The severities this indicator can raise, in the order of its [severity] table."""
        return tuple(dict.fromkeys(self.severity.values()))

    def fingerprint(self) -> str:
        """What a re-evaluation depends on besides the data (changed thresholds re-evaluate; a
        reworded text does not)."""
        return json.dumps({k: v for k, v in asdict(self).items() if k not in _TEXT_KEYS}, sort_keys=True, default=str)


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str
    receives_cases: bool = False
    office_level: str = "county"
    # indicators whose cases this department handles at the county office although its office level
    # is the town (county acts, e.g. MCA's DUP_ENROLL and BENEFIT_AFTER_DEATH)
    county_indicators: tuple[str, ...] = ()
    id_number: str = "masked"       # full | masked
    person_name: bool = True
    sees_departments: bool = False
    assistance: str = "none"        # all | own | none: the extract's 近12个月救助 cell

    @property
    def label(self) -> str:
        """``民政 civil affairs``."""
        return f"{self.name_zh} {self.name_en}"

    def office_level_for(self, indicator_code: str | None = None) -> str:
        """``town`` or ``county``: the level of this department's office that acts on a case of
        ``indicator_code`` (principle 10: the town office, except the county acts)."""
        if self.office_level != "county" and indicator_code in self.county_indicators:
            return "county"
        return self.office_level

    def office_of(self, region_code: str | None, indicator_code: str | None = None) -> str:
        """The code of the office of this department responsible for ``region_code``: its first 9
        digits for a town office, 6 for a county office. A region too short to name a town (no
        12-digit region known, only the county) gives the county office."""
        region = region_code or "000000"
        digits = OFFICE_LEVELS[self.office_level_for(indicator_code)]
        return region[:digits] if len(region) >= digits else region[:6]


@dataclass(frozen=True)
class AssistanceKind:
    """A kind of assistance of the household chain (一户一条救助链), models/departments.toml."""

    code: str
    name_zh: str
    name_en: str
    department: str
    feed: str
    counts: str                     # months | times

    @property
    def roster(self) -> bool:
        """A roster benefit (paid to the roster family by civil affairs from the roster feed)."""
        return self.feed == "mca_roster"


@dataclass(frozen=True)
class CityOverride:
    city_code: str
    edge_multiplier: float | None = None


class _TextFormatter(string.Formatter):
    """``str.format`` with one extra spec for rule sentences: ``times`` renders a multiple as
    nothing when it is 1 (``家庭人数×月低保标准``) and as ``1.5×`` otherwise."""

    def format_field(self, value, format_spec):
        if format_spec == "times":
            return "" if float(value) == 1 else f"{float(value):g}×"
        return super().format_field(value, format_spec)


_FORMATTER = _TextFormatter()


@dataclass(frozen=True)
class Rules:
    edge_multiplier: float
    severities: dict[str, str]                 # severity -> Chinese label, most urgent first
    deadlines: dict[str, int]                  # severity -> days from dispatch to the feedback deadline
    cities: dict[str, CityOverride]
    indicators: dict[str, IndicatorRule]
    departments: dict[str, Department]
    escalation_department: str = "MCA"
    sources: tuple[str, ...] = field(default=())
    assistance_kinds: dict[str, AssistanceKind] = field(default_factory=dict)
    delivery_due_day: int = 6
    cooldown_months: int = 6                   # a closed case's unchanged condition re-alerts after this

    def office_of(self, department: str, region_code: str | None, indicator_code: str | None = None) -> str:
        """The office of ``department`` that acts on a case of ``indicator_code`` in ``region_code``."""
        return self.departments[department].office_of(region_code, indicator_code)

    def escalation_office(self, region_code: str | None) -> str:
        """The county office of the escalation department for ``region_code`` (overdue cases)."""
        return (region_code or "000000")[:6]

    # --- indicators ---------------------------------------------------------------------------
    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.indicators)

    def indicator(self, code: str) -> IndicatorRule:
        return self.indicators[code]

    def income_window(self, code: str) -> int:
        """k of the months M-k..M an income rule averages income over (its ``months`` or
        ``window_months`` param): what scoring a warning against true income must average too."""
        params = self.indicators[code].params
        return int(params.get("months", params.get("window_months"))) - 1

    def indicator_label(self, code: str) -> str:
        rule = self.indicators.get(code)
        return rule.label if rule else code

    def edge_multiplier_for(self, city_code: str | None) -> float:
        city = self.cities.get(city_code or "")
        if city is not None and city.edge_multiplier is not None:
            return city.edge_multiplier
        return self.edge_multiplier

    def city_edge_multipliers(self) -> dict[str, float]:
        return {c: o.edge_multiplier for c, o in self.cities.items() if o.edge_multiplier is not None}

    def bound_params(self, code: str) -> dict:
        """The thresholds indicator ``code`` computes with: its own ``params`` and, when its
        ``params.uses_params_of`` names another indicator (ELIG_DIBAO applies EXIT_REVIEW's asset
        tests), that indicator's params as ``<code>_<key>`` (``exit_review_assets_std_multiple``): a
        threshold stays in one place."""
        rule = self.indicators[code]
        out = dict(rule.params)
        other = rule.params.get("uses_params_of")
        if other:
            out.update({f"{other.lower()}_{k}": v for k, v in self.indicators[other].params.items()})
        return out

    def model_gate_signal_months(self) -> int:
        """The longest hardship-signal window (``signal_months``) of the enabled rules the eligibility
        model gates (``params.model_gate``: ELIG path (b)); 0 when none is gated. The households the gate
        can let through have a signal in it: the scoring explains those."""
        return max((int(r.params.get("signal_months", 0)) for r in self.indicators.values()
                    if r.enabled and r.params.get("model_gate")), default=0)

    def values_in_force(self, code: str, city_code: str | None = None) -> dict:
        """The thresholds of ``code`` as they apply in ``city_code`` (the rule text's fill)."""
        return {**self.indicators[code].params, "edge_multiplier": self.edge_multiplier_for(city_code)}

    def rule_text(self, code: str, city_code: str | None = None) -> str:
        """The rule of ``code`` in one bilingual sentence, with the values in force in ``city_code``."""
        rule = self.indicators[code]
        try:
            return _FORMATTER.vformat(rule.rule, (), self.values_in_force(code, city_code))
        except (KeyError, IndexError, ValueError) as e:
            raise RulesError(f"indicators.{code}.rule: cannot fill {rule.rule!r}: {e}") from None

    def severity_text(self, code: str) -> str:
        """``高 high：新的人均收入低于低保标准；中 medium：其他。``"""
        rule = self.indicators[code]
        if len(rule.severity) == 1:
            return f"{self.severity_label(next(iter(rule.severity.values())))}。"
        values = self.values_in_force(code)
        parts = [f"{self.severity_label(sev)}：{_FORMATTER.vformat(rule.outcomes.get(o, o), (), values)}"
                 for o, sev in rule.severity.items()]
        return "；".join(parts) + "。"

    def routing_text(self, code: str) -> str:
        """``医保 NHSA（医疗救助）；民政 MCA（临时救助）``, then ``<condition>时另送<department>``."""
        rule = self.indicators[code]
        parts = []
        for d in rule.departments:
            purpose = rule.purpose.get(d)
            parts.append(f"{self.departments[d].name_zh} {d}" + (f"（{purpose}）" if purpose else ""))
        for condition, depts in rule.routing.items():
            names = "、".join(f"{self.departments[d].name_zh} {d}" for d in depts)
            parts.append(f"{rule.conditions.get(condition, condition)}时另送{names}")
        return "；".join(parts)

    # --- severities and deadlines ---------------------------------------------------------------
    def severity_rank(self, severity: str | None) -> int:
        """low = 1 ... urgent = 4; 0 for anything else."""
        order = list(self.severities)
        s = (severity or "").lower()
        return len(order) - order.index(s) if s in order else 0

    def severity_label(self, severity: str) -> str:
        """``高 high``."""
        return f"{self.severities.get(severity, '')} {severity}".strip()

    # --- departments ------------------------------------------------------------------------------
    def department(self, code: str) -> Department:
        return self.departments[code]

    def department_label(self, code: str) -> str:
        d = self.departments.get(code)
        return d.label if d else code

    @property
    def case_departments(self) -> tuple[str, ...]:
        """Departments that receive cases (extracts) and return feedback."""
        return tuple(c for c, d in self.departments.items() if d.receives_cases)

    def assistance_shown(self, department: str) -> tuple[str, ...]:
        """The assistance kinds an office of ``department`` sees in its extract (models/departments.toml
        ``assistance``): every kind, the roster benefits and the kinds it pays, or none."""
        policy = self.departments[department].assistance
        if policy == "all":
            return tuple(self.assistance_kinds)
        if policy == "own":
            return tuple(c for c, k in self.assistance_kinds.items() if k.roster or k.department == department)
        return ()


# --- loading ---------------------------------------------------------------------------------------

def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read: {exc.strerror or exc}") from None


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


@dataclass(frozen=True)
class _DepartmentsFile:
    departments: dict[str, Department]
    escalation: str
    assistance: dict[str, AssistanceKind]
    delivery_due_day: int


def _load_departments(path: Path) -> _DepartmentsFile:
    raw = _read(path)
    out = {}
    for code, table in (raw.get("departments") or {}).items():
        unknown = set(table) - _DEPARTMENT_KEYS
        if unknown:
            raise RulesError(f"{path}: unknown key 'departments.{code}.{sorted(unknown)[0]}'")
        level = table.get("office_level", "county")
        if level not in OFFICE_LEVELS:
            raise RulesError(f"{path}: departments.{code}.office_level must be one of {sorted(OFFICE_LEVELS)}")
        county_codes = table.get("county_indicators", [])
        if not isinstance(county_codes, list) or not all(isinstance(c, str) for c in county_codes):
            raise RulesError(f"{path}: departments.{code}.county_indicators must be a list of indicator codes")
        table = {**table, "county_indicators": tuple(county_codes)}
        if table.get("id_number", "masked") not in ("full", "masked"):
            raise RulesError(f"{path}: departments.{code}.id_number must be 'full' or 'masked'")
        if table.get("assistance", "none") not in ASSISTANCE_POLICIES:
            raise RulesError(f"{path}: departments.{code}.assistance must be one of {', '.join(ASSISTANCE_POLICIES)}")
        out[code] = Department(code=code, **table)
    escalation = raw.get("escalation_department", "MCA")
    if escalation not in out or not out[escalation].receives_cases:
        raise RulesError(f"{path}: escalation_department {escalation!r} must be a department that receives cases")
    kinds = {}
    for code, table in (raw.get("assistance") or {}).items():
        unknown = set(table) - _ASSISTANCE_KEYS
        missing = _ASSISTANCE_KEYS - set(table)
        if unknown or missing:
            raise RulesError(f"{path}: assistance.{code}: "
                             + (f"unknown key {sorted(unknown)[0]!r}" if unknown else f"lacks {sorted(missing)[0]!r}"))
        if table["department"] not in out:
            raise RulesError(f"{path}: assistance.{code}.department: unknown department {table['department']!r}")
        if table["counts"] not in ("months", "times"):
            raise RulesError(f"{path}: assistance.{code}.counts must be 'months' or 'times'")
        kinds[code] = AssistanceKind(code=code, **table)
    due_day = raw.get("delivery_due_day", 6)
    if isinstance(due_day, bool) or not isinstance(due_day, int) or not 1 <= due_day <= 28:
        raise RulesError(f"{path}: delivery_due_day must be a day of the month 1..28, got {due_day!r}")
    return _DepartmentsFile(out, escalation, kinds, due_day)


def assistance_kind_rows() -> tuple[list[str], list[tuple]]:
    """The rows of ``mart.assistance_kinds`` (pipelines.warehouse.migrate keeps them in step)."""
    kinds = _load_departments(DEPARTMENTS_FILE).assistance
    return (["kind", "name_zh", "name_en", "department", "feed_id", "counts", "sort_order"],
            [(k.code, k.name_zh, k.name_en, k.department, k.feed, k.counts, i) for i, k in enumerate(kinds.values())])


def _departments(values, where: str, departments: dict[str, Department]) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise RulesError(f"{where} must be a list of department codes")
    known = [c for c, d in departments.items() if d.receives_cases]
    for d in values:
        if d not in known:
            raise RulesError(f"{where}: unknown department {d!r} (departments that receive cases: {', '.join(known)})")
    return tuple(values)


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise RulesError(f"{where} must be true or false, got {value!r}")
    return value


def _texts(table, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise RulesError(f"{where} must be a table of texts")
    return dict(table)


def _build(raw: dict, sources: tuple[str, ...], dfile: _DepartmentsFile, defaults_order: tuple[str, ...]) -> Rules:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise RulesError(f"unknown key {sorted(unknown)[0]!r} in the indicator rules")
    departments = dfile.departments
    edge = _number(raw.get("edge_multiplier", 1.5), "edge_multiplier")
    severities = _texts(raw.get("severities") or {}, "severities")
    if not severities:
        raise RulesError("the indicator rules lack [severities]")
    deadlines = {}
    for sev, days in (raw.get("deadlines") or {}).items():
        if sev not in severities:
            raise RulesError(f"unknown key 'deadlines.{sev}' (severities: {', '.join(severities)})")
        deadlines[sev] = int(_number(days, f"deadlines.{sev}"))
        if deadlines[sev] < 0:
            raise RulesError(f"deadlines.{sev} must be >= 0 days, got {days!r}")
    missing = [s for s in severities if s not in deadlines]
    if missing:
        raise RulesError(f"[deadlines] lacks {', '.join(missing)}")
    cases = raw.get("cases") or {}
    for key in cases:
        if key not in _CASES_KEYS:
            raise RulesError(f"unknown key 'cases.{key}' (known: {', '.join(sorted(_CASES_KEYS))})")
    cooldown = cases.get("cooldown_months", 6)
    if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
        raise RulesError(f"cases.cooldown_months must be a whole number of months >= 0, got {cooldown!r}")
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
        if code not in defaults_order:
            raise RulesError(f"unknown key {where!r} (indicators: {', '.join(defaults_order)})")
        for key in table:
            if key not in _INDICATOR_KEYS:
                raise RulesError(f"unknown key '{where}.{key}'")
        window = table.get("window", [0, 0])
        if not (isinstance(window, list) and len(window) == 2 and window[0] <= 0 <= window[1] + 0):
            raise RulesError(f"{where}.window must be [first<=0, last>=0] month offsets, got {window!r}")
        severity = dict(table.get("severity") or {})
        for outcome, sev in severity.items():
            if sev not in severities:
                raise RulesError(f"{where}.severity.{outcome}: unknown severity {sev!r}")
        routing = {k: _departments(v, f"{where}.routing.{k}", departments)
                   for k, v in (table.get("routing") or {}).items()}
        purpose = _texts(table.get("purpose") or {}, f"{where}.purpose")
        for d in purpose:
            if d not in departments:
                raise RulesError(f"{where}.purpose: unknown department {d!r}")
        indicators[code] = IndicatorRule(
            code=code,
            name_zh=str(table.get("name_zh", code)),
            name_en=str(table.get("name_en", "")),
            rule=str(table.get("rule", "")),
            enabled=bool(table.get("enabled", True)),
            feeds=tuple(FeedNeed.parse(f, f"{where}.feeds") for f in table.get("feeds", [])),
            optional_feeds=tuple(FeedNeed.parse(f, f"{where}.optional_feeds") for f in table.get("optional_feeds", [])),
            window=(int(window[0]), int(window[1])),
            departments=_departments(table.get("departments", ["MCA"]), f"{where}.departments", departments),
            routing=routing,
            severity=severity,
            outcomes=_texts(table.get("outcomes") or {}, f"{where}.outcomes"),
            conditions=_texts(table.get("conditions") or {}, f"{where}.conditions"),
            purpose=purpose,
            params=dict(table.get("params") or {}),
            arrival=_flag(table.get("arrival", False), f"{where}.arrival"),
            dated_event=_flag(table.get("dated_event", False), f"{where}.dated_event"),
            path_feeds={str(path): tuple(FeedNeed.parse(f, f"{where}.path_feeds.{path}") for f in needs)
                        for path, needs in (table.get("path_feeds") or {}).items()},
        )
    missing = [c for c in defaults_order if c not in indicators]
    if missing:
        raise RulesError(f"the indicator rules lack {', '.join(missing)}")
    for code, rule in indicators.items():
        other = rule.params.get("uses_params_of")
        if other is not None and (not isinstance(other, str) or other not in indicators or other == code):
            raise RulesError(f"indicators.{code}.params.uses_params_of: {other!r} is not another indicator")
    for d in departments.values():
        unknown = [c for c in d.county_indicators if c not in indicators]
        if unknown:
            raise RulesError(f"departments.{d.code}.county_indicators: unknown indicator {unknown[0]!r}")
    rules = Rules(edge_multiplier=edge, severities=severities, deadlines=deadlines, cities=cities,
                  indicators={c: indicators[c] for c in defaults_order}, departments=departments,
                  escalation_department=dfile.escalation, sources=sources, assistance_kinds=dfile.assistance,
                  delivery_due_day=dfile.delivery_due_day, cooldown_months=cooldown)
    for code in rules.codes:
        rules.rule_text(code)  # a template that does not fill is an error now, not in an extract
    return rules


def load_rules(override: Path | str | None = None, defaults: Path | str | None = None) -> Rules:
    """Defaults from ``models/indicators.toml``, then ``override`` (if given) layered on top."""
    defaults = Path(defaults or DEFAULT_RULES_FILE)
    raw = _read(defaults)
    order = tuple(raw.get("indicators") or ())
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
    try:
        return _build(raw, tuple(sources), _load_departments(DEPARTMENTS_FILE), order)
    except RulesError as exc:
        raise RulesError(f"{sources[-1]}: {exc}") from None


def _normalise(over: dict) -> dict:
    """``[deadlines] urgent_days = 2`` is accepted as ``urgent = 2``."""
    if isinstance(over.get("deadlines"), dict):
        over = {**over, "deadlines": {str(k).removesuffix("_days"): v for k, v in over["deadlines"].items()}}
    return over


def rules_from_dict(over: dict, defaults: Path | str | None = None) -> Rules:
    """Defaults with an override given as a dict (tests, notebooks); same checks as a file."""
    base = _read(Path(defaults or DEFAULT_RULES_FILE))
    raw = _merge(base, _normalise(over), "", open_keys=frozenset({"cities"}))
    return _build(raw, (str(defaults or DEFAULT_RULES_FILE), "<dict>"), _load_departments(DEPARTMENTS_FILE),
                  tuple(base.get("indicators") or ()))


@functools.lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The rules of ``models/`` without overrides (labels, and code that is given no override)."""
    return load_rules()


def rules_hash(rules: Rules, code: str) -> str:
    """Digest of what indicator ``code`` reads from the rules (its table and the edge multipliers)."""
    payload = rules.indicators[code].fingerprint() + json.dumps(
        {"edge": rules.edge_multiplier, "cities": rules.city_edge_multipliers(), "params": rules.bound_params(code)},
        sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
