"""Scrubbing free text: names, ids and phone numbers out of explanations, evidence and case details.

A :class:`Scrubber` replaces roster names by ``[姓名]``, ids (any number of 15 or more digits) by
``[证件号]``, mobile numbers by ``[电话]`` — also as people format them: spaces, dashes or dots
between digit groups, full-width digits, a +86 / 0086 country code (:func:`scrub_numbers`) — and
known household / person / case / warning ids by their pseudonymous keys; in JSON it also drops the
keys that hold raw record ids, names or handlers. :func:`mentions` lists every
string of a text the Scrubber could look up as an id, so a build keys exactly those.
"""

from __future__ import annotations

import json
import re
from typing import Iterable, Iterator

NAME_MASK = "[姓名]"
ID_MASK = "[证件号]"
PHONE_MASK = "[电话]"

# A 身份证号 or a mobile number as people write them in a note: digits ASCII or full-width
# (０-９, an input method's), in groups divided by one or two separators of the kinds people type
# (spaces of any width, hyphens and dashes, dots, a middle dot), a mobile number with a country code
# (+86, 0086, (86)). An id is 15 or more digits written as groups of at least 3 (the last may be
# shorter, an X may close it): 330102 19800101 0018, 3301-0219-8001-0100-18, a bank card; dates and
# amounts are groups of 2 (2026-01-31, 1350.00) and stay. The identifier scan
# (pipelines/analyst/scan.py) decides with these same expressions (:func:`personal_number`): what the
# Scrubber leaves, the scan does not find, and what it would mask, the scan does.
DIGIT = "[0-9\uff10-\uff19]"
DIGITS = re.compile(DIGIT)
SEPARATOR = ("[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000\\-\u2010-\u2015\u2212\ufe63\uff0d"
             ".\uff0e\u00b7\u30fb]")
_CHECK_X = "[Xx\uff38\uff58]"
ID_MIN_DIGITS = 15
ID_RUN = re.compile(f"(?<!{DIGIT}){DIGIT}{{3,}}(?:{SEPARATOR}{{1,2}}{DIGIT}{{3,}})*(?:{SEPARATOR}{{1,2}}{DIGIT}{{1,2}})?"
                    f"(?:{SEPARATOR}{{0,2}}{_CHECK_X})?(?!{DIGIT})|[0-9]{{17}}[0-9Xx]")
_PHONE_PREFIX = (f"(?:(?:\\+|\uff0b|00|\uff10\uff10)?{SEPARATOR}?(?:86|\uff18\uff16){SEPARATOR}{{0,2}}"
                 f"|[(\uff08]{SEPARATOR}?(?:\\+|\uff0b)?(?:86|\uff18\uff16){SEPARATOR}?[)\uff09]{SEPARATOR}{{0,2}})")
PHONE = re.compile(f"(?<!{DIGIT}){_PHONE_PREFIX}?[1\uff11][3-9\uff13-\uff19](?:{SEPARATOR}{{0,2}}{DIGIT}){{9}}"
                   f"(?!{DIGIT})")


def _id_or_number(m: re.Match) -> str:
    """The mask for a run of digit groups long enough to be an id (or a card), else the run as it is."""
    return ID_MASK if len(DIGITS.findall(m.group(0))) >= ID_MIN_DIGITS else m.group(0)


def scrub_numbers(text: str) -> str:
    """``text`` with ids (and any longer number written in groups) and mobile numbers masked."""
    return PHONE.sub(PHONE_MASK, ID_RUN.sub(_id_or_number, text))


def personal_number(text: str) -> bool:
    """Whether ``text`` holds something :func:`scrub_numbers` masks (the scan's verdict)."""
    return scrub_numbers(text) != text


TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{3,}")

# Evidence / detail keys that hold raw record ids or people's names: dropped, except person and
# household ids, which become pseudonymous keys.
_PERSON_KEYS = {"person_id", "person", "deceased_person_id", "head_person_id", "member_id"}
_HOUSEHOLD_KEYS = {"family_id", "hukou_no", "household_id"}
_DROP_KEY = re.compile(r"(^|_)(id|ids|no|nos|name|names|handler|handlers|actor|visitor|contact|phone|mobile|address|birth_date|credit_code)$")
_PERSON_LIST_KEYS = {"person_ids", "member_ids", "student_person_ids", "members"}
_HOUSEHOLD_LIST_KEYS = {"family_ids", "household_ids", "hukou_nos"}


class NameMatcher:
    """Finds full names of a roster in text: longest match first, O(len(text) × name lengths)."""

    def __init__(self, names: Iterable[str | None]):
        self.names = {n.strip() for n in names if n and len(n.strip()) >= 2}
        self.first = {n[0] for n in self.names}
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)
        # A name starts with one of a few hundred surnames' characters, rare in the texts: the regex
        # engine finds the next such character, Python only looks at those (8x faster than a Python
        # loop over every character of an explanation).
        self._next_first = re.compile("[" + "".join(re.escape(c) for c in sorted(self.first)) + "]").search \
            if self.first else None

    def __bool__(self) -> bool:
        return bool(self.names)

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each roster name in ``text``: leftmost first, the longest name at a position,
        not overlapping."""
        search, names, lengths = self._next_first, self.names, self.lengths
        if search is None:
            return
        pos = 0
        while (m := search(text, pos)) is not None:
            i = m.start()
            for length in lengths:
                if text[i:i + length] in names:
                    yield i, i + length
                    pos = i + length
                    break
            else:
                pos = i + 1

    def scrub(self, text: str) -> str:
        parts, last = [], 0
        for a, b in self.spans(text):
            parts.append(text[last:a])
            parts.append(NAME_MASK)
            last = b
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    def found(self, text: str) -> list[str]:
        return [text[a:b] for a, b in self.spans(text)]


class Scrubber:
    """Removes names and ids from free text and JSON; known household ids become their keys."""

    def __init__(self, names: NameMatcher, household_keys: dict[str, str], person_keys: dict[str, str],
                 other_keys: dict[str, str] | None = None):
        self.names = names
        self.household_keys = household_keys
        self.person_keys = person_keys  # upper-cased 身份证号 -> key
        self.other_keys = other_keys or {}  # case and warning ids -> keys
        self._clean: dict[str, str] = {}  # short text -> scrubbed: JSON values repeat (labels, months, amounts)

    def _household_key(self, raw: str) -> str | None:
        return self.household_keys.get(raw) or self.household_keys.get("H" + raw)

    def _token(self, m: re.Match) -> str:
        t = m.group(0)
        hk = self._household_key(t)
        if hk:
            return hk
        return self.person_keys.get(t.upper()) or self.other_keys.get(t) or t

    def text(self, s: str | None) -> str | None:
        if s is None:
            return None
        clean = self._clean.get(s)
        if clean is None:
            clean = TOKEN.sub(self._token, s)
            clean = scrub_numbers(clean)
            clean = self.names.scrub(clean) if self.names else clean
            if len(s) <= 64:  # the values that repeat; long texts (explanations) are unique
                self._clean[s] = clean
        return clean

    def value(self, v, key: str | None = None):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, dict):
            return self._object(v)
        if isinstance(v, list):
            return [self.value(x, key) for x in v]
        return v

    def _object(self, v: dict) -> dict:
        out = {}
        classified = [(kk, vv, _key_action(kk)) for kk, vv in v.items()]
        # One household key per object: household_id, else family_id, else hukou_no (a roster
        # family's hukou household is another household, so they must not overwrite each other).
        household = {kl: vv for _, vv, (kl, _a, _d) in classified if kl in _HOUSEHOLD_KEYS}
        for hk in ("household_id", "family_id", "hukou_no"):
            raw = household.get(hk)
            if isinstance(raw, str) and raw.strip():
                out["household_key"] = self._household_key(raw.strip()) or ID_MASK
                break
        for kk, vv, (kl, action, drop) in classified:
            if action == _HOUSEHOLD:
                continue
            if action == _PERSON and isinstance(vv, str):
                out[_rename(kl, "person_key")] = self.person_keys.get(vv.strip().upper()) or ID_MASK
            elif action == _WARNING and isinstance(vv, str):
                out[kl.replace("_id", "_key")] = self.other_keys.get(vv) or ID_MASK
            elif action == _CASE and isinstance(vv, str):
                out["case_key"] = self.other_keys.get(vv) or ID_MASK
            elif action == _PERSON_LIST and isinstance(vv, list):
                out[_rename(kl, "person_keys")] = [
                    (self.person_keys.get(x.strip().upper()) or ID_MASK) if isinstance(x, str) else self.value(x)
                    for x in vv]
            elif action == _HOUSEHOLD_LIST and isinstance(vv, list):
                out["household_keys"] = [
                    (self._household_key(x.strip()) or ID_MASK) if isinstance(x, str) else self.value(x) for x in vv]
            elif drop:
                continue  # raw evidence ids (settle_id, event_id, ...), names, handlers
            else:
                out[kk] = self.value(vv, kl)
        return out

    def json_text(self, raw: str | None) -> str | None:
        if raw is None:
            return None
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            return json.dumps(self.text(raw), ensure_ascii=False)
        return json.dumps(self.value(parsed), ensure_ascii=False, sort_keys=True)


def _rename(key: str, kind: str) -> str:
    """person_id -> person_key, deceased_person_id -> deceased_person_key, student_person_ids -> student_person_keys."""
    if key in {"person_id", "family_id", "hukou_no", "household_id", "person_ids", "member_ids"}:
        return kind
    if key == "members":
        return "member_keys"
    return re.sub(r"_(id|no)s?$", "", key) + ("_keys" if kind.endswith("s") else "_key")


# What the Scrubber does with an object's key (by its lower-cased form): the JSON of a night repeats
# a few dozen keys, so each is classified once.
_OTHER, _HOUSEHOLD, _PERSON, _WARNING, _CASE, _PERSON_LIST, _HOUSEHOLD_LIST = range(7)
_KEY_ACTIONS: dict = {}


def _key_action(key) -> tuple[str, int, bool]:
    """(lower-cased key, what to do with its value, whether a value not of the expected type is dropped)."""
    found = _KEY_ACTIONS.get(key)
    if found is None:
        kl = str(key).lower()
        if kl in _HOUSEHOLD_KEYS:
            action = _HOUSEHOLD
        elif kl in _PERSON_KEYS:
            action = _PERSON
        elif kl in ("warning_id", "last_warning_id"):
            action = _WARNING
        elif kl == "case_id":
            action = _CASE
        elif kl in _PERSON_LIST_KEYS:
            action = _PERSON_LIST
        elif kl in _HOUSEHOLD_LIST_KEYS:
            action = _HOUSEHOLD_LIST
        else:
            action = _OTHER
        found = (kl, action, bool(_DROP_KEY.search(kl)))
        if isinstance(key, str) and len(_KEY_ACTIONS) < 10_000:
            _KEY_ACTIONS[key] = found
    return found


def _json_strings(v) -> list[str]:
    """Every string value in a parsed JSON document, in no particular order (a stack, not nested
    generators: ~8 million generator frames a night at 1M)."""
    out, stack = [], [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return out


def mentions(texts: list[str], jsons: list[str]) -> set[str]:
    """Every string the Scrubber could look up as an id in these texts: their tokens, and each JSON
    string value as a whole."""
    out: set[str] = set()
    for t in texts:
        out.update(TOKEN.findall(t))
    for raw in jsons:
        try:
            parsed = json.loads(raw)
        except (TypeError, ValueError):
            out.update(TOKEN.findall(raw))
            continue
        for v in _json_strings(parsed):
            out.add(v.strip())
            out.update(TOKEN.findall(v))
    return out
