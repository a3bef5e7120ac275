"""The assistance chain in words: what a household received in the last 12 months, in one cell.

Every department extract row carries the household's assistance of the 12 data months ending with
the row's data month (``近12个月救助``), e.g. ``低保 12月 共 8,160 元；医疗救助 2次 3,420 元``, read from
``core.assistance_month`` (the chain, one row per household, month and kind). Which kinds an office
sees is models/departments.toml ``assistance`` (:meth:`pipelines.rules.Rules.assistance_shown`):
civil affairs, which coordinates assistance across departments, sees every kind; the other offices
see the roster benefits (the status their own assistance depends on) and what they pay themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from pipelines.dates import shift_period
from pipelines.rules import Rules
from pipelines.warehouse import registered

MONTHS = 12  # the window of the extract cell: the row's data month and the 11 before it
NONE_TEXT = "无 none"


@dataclass(frozen=True)
class Received:
    """One kind of assistance over the window: months paid or times, and the yuan received."""

    payments: int
    amount_yuan: Decimal


def received(con: duckdb.DuckDBPyConnection, households: dict[str, tuple[str, str]]) -> dict[str, dict[str, Received]]:
    """key -> kind -> :class:`Received` over the 12 data months ending with the key's month, for
    ``households``: key -> (household_id, data month). One query for every key."""
    if not households:
        return {}
    keys = sorted(households)
    table = pa.table({
        "k": pa.array(keys, pa.string()),
        "household_id": pa.array([households[k][0] for k in keys], pa.string()),
        "lo": pa.array([shift_period(households[k][1], 1 - MONTHS) for k in keys], pa.string()),
        "hi": pa.array([households[k][1] for k in keys], pa.string()),
    })
    with registered(con, "assistance_wanted", table):
        rows = con.execute("""
            select w.k, a.kind, sum(a.payments), sum(a.amount_yuan)
            from assistance_wanted w
            join core.assistance_month a on a.household_id = w.household_id and a.period between w.lo and w.hi
            group by all""").fetchall()
    out: dict[str, dict[str, Received]] = {}
    for key, kind, payments, amount in rows:
        out.setdefault(key, {})[kind] = Received(int(payments), Decimal(amount))
    return out


def yuan_text(amount: Decimal) -> str:
    """``8,160`` (whole yuan) or ``1,234.50``."""
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def cell_text(kinds: dict[str, Received], shown: tuple[str, ...], rules: Rules) -> str:
    """The 近12个月救助 cell: the kinds in ``shown`` (in the order of models/departments.toml) the
    household received, ``低保 12月 共 8,160 元；医疗救助 2次 3,420 元``; ``无 none`` without any."""
    parts = []
    for code in shown:
        got = kinds.get(code)
        if got is None or (got.payments == 0 and got.amount_yuan == 0):
            continue
        kind = rules.assistance_kinds[code]
        if kind.counts == "months":
            parts.append(f"{kind.name_zh} {got.payments}月 共 {yuan_text(got.amount_yuan)} 元")
        else:
            parts.append(f"{kind.name_zh} {got.payments}次 {yuan_text(got.amount_yuan)} 元")
    return "；".join(parts) or NONE_TEXT
