"""Shared helpers for the synthetic province: the month calendar, random streams, columnar tables
and vectorised string formatting (dates, money, ids).

Months are handled as integers ("absolute month" = year * 12 + month - 1) so that month arithmetic
is plain integer arithmetic on numpy arrays; ``t`` always means the data-month index 0..T-1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.dates import month_end, month_index, month_start, period_of_index

NEVER = 10_000  # month index meaning "not within the generated months"


# Absolute month indexes (year * 12 + month - 1) and their periods: the pipeline's one calendar.
parse_month = month_index
month_str = period_of_index


def month_first(m: int) -> dt.date:
    return month_start(period_of_index(m))


def month_last(m: int) -> dt.date:
    return month_end(period_of_index(m))


def days_in_month(m: int) -> int:
    return (month_first(m + 1) - month_first(m)).days


@dataclass(frozen=True)
class Calendar:
    """The generated data months: ``start`` (absolute month) and ``T`` months."""

    start: int
    T: int

    def abs(self, t: int) -> int:
        return self.start + t

    def period(self, t: int) -> str:
        return month_str(self.start + t)

    def year(self, t: int) -> int:
        return (self.start + t) // 12

    @property
    def years(self) -> list[int]:
        first = min(self.start, self.first_snapshot_month(3), self.first_snapshot_month(6)) // 12
        return list(range(first, (self.start + self.T - 1) // 12 + 1))

    def first_snapshot_month(self, every: int) -> int:
        """Latest month <= start whose calendar month is a multiple of ``every`` months from March
        (quarterly: 03/06/09/12; terms: 03/09)."""
        m = self.start
        while (m % 12 + 1 - 3) % every != 0:
            m -= 1
        return m

    def snapshot_months(self, every: int) -> list[int]:
        """Snapshot (or term-start) months covering the data months, oldest first."""
        m = self.first_snapshot_month(every)
        out = []
        while m <= self.start + self.T - 1:
            out.append(m)
            m += every
        return out

    @property
    def quarter_months(self) -> list[int]:
        return self.snapshot_months(3)

    @property
    def term_months(self) -> list[int]:
        return self.snapshot_months(6)

    def t_of(self, m: int) -> int:
        return m - self.start

    def first_day(self, t: int) -> np.datetime64:
        return np.datetime64(month_first(self.start + t), "D")

    def last_day(self, t: int) -> np.datetime64:
        return np.datetime64(month_last(self.start + t), "D")

    def ndays(self, t: int) -> int:
        return days_in_month(self.start + t)


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent, reproducible random stream per purpose (adding a draw in one module does not
    shift the numbers of another)."""
    key = [seed & 0xFFFFFFFF] + [ord(c) for c in name]
    return np.random.default_rng(np.random.SeedSequence(key))


# --- columnar tables --------------------------------------------------------------------------------

class Cols(dict):
    """A tiny columnar table: ``dict[name, np.ndarray]`` with equal-length columns."""

    def __len__(self) -> int:  # number of rows
        for v in self.values():
            return len(v)
        return 0

    def take(self, idx) -> "Cols":
        return Cols({k: v[idx] for k, v in self.items()})

    @staticmethod
    def concat(parts: list["Cols"]) -> "Cols":
        parts = [p for p in parts if p is not None and len(p.keys())]
        if not parts:
            return Cols()
        keys = list(parts[0].keys())
        return Cols({k: np.concatenate([p[k] for p in parts]) for k in keys})


# --- formatting (vectorised) -----------------------------------------------------------------------

def fmt_dates(days: np.ndarray, fmt: str = "%Y-%m-%d") -> pa.Array:
    """datetime64[D] -> ``YYYY-MM-DD`` (or ``YYYYMMDD`` with fmt ``"%Y%m%d"``) strings; NaT -> null.

    Formats each distinct date once (dates repeat a lot), then gathers."""
    d = np.asarray(days, dtype="datetime64[D]")
    if len(d) == 0:
        return pa.array([], pa.string())
    nat = np.isnat(d)
    u, inv = np.unique(d.astype(np.int64), return_inverse=True)
    s = np.datetime_as_string(u.astype("datetime64[D]"), unit="D")
    if fmt == "%Y%m%d":
        s = np.char.replace(s, "-", "")
    elif fmt != "%Y-%m-%d":
        raise ValueError(fmt)
    idx = pa.array(inv.astype(np.int32), mask=nat if nat.any() else None)
    return pc.take(pa.array(s.tolist(), pa.string()), idx)


def fmt_money(cents: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """Integer cents -> ``"1234.50"`` strings (exact, no float formatting)."""
    cents = np.asarray(cents, dtype=np.int64)
    neg = cents < 0
    a = np.abs(cents)
    whole = pa.array(a // 100).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(a % 100).cast(pa.string()), 2, "0")
    s = pc.binary_join_element_wise(whole, frac, ".")
    if neg.any():
        s = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", s, ""), s)
    if null_mask is not None and null_mask.any():
        s = pc.if_else(pa.array(null_mask), pa.scalar(None, pa.string()), s)
    return s


def decimal_cents(cents: np.ndarray, precision: int = 14) -> pa.Array:
    """Integer cents -> ``decimal(precision, 2)`` yuan, exactly (the cents are the unscaled value)."""
    c = np.ascontiguousarray(np.asarray(cents, dtype=np.int64))
    words = np.empty((len(c), 2), np.int64)            # 128-bit little-endian two's complement
    words[:, 0] = c
    words[:, 1] = c >> 63
    return pa.Array.from_buffers(pa.decimal128(precision, 2), len(c), [None, pa.py_buffer(words.tobytes())])


def fmt_int(values: np.ndarray, width: int = 0) -> pa.Array:
    s = pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())
    return pc.utf8_lpad(s, width, "0") if width else s


def join_str(*parts) -> pa.Array:
    """Element-wise concatenation of string arrays / scalars."""
    return pc.binary_join_element_wise(*parts, "")


def label(codes: np.ndarray, labels: list[str] | tuple[str, ...]) -> pa.Array:
    """Small-int codes -> their string labels."""
    return pa.array(np.asarray(labels, dtype=object)[np.asarray(codes)].tolist(), type=pa.string()) \
        if len(codes) < 64 else pc.take(pa.array(list(labels), pa.string()), pa.array(np.asarray(codes, np.int64)))


def round_yuan_cents(yuan: np.ndarray) -> np.ndarray:
    """Yuan (float) -> whole-yuan amounts in cents."""
    return (np.rint(np.asarray(yuan, dtype=np.float64)) * 100).astype(np.int64)


def rank_within(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each element among equal keys, in the order given (stable)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.ones(n, dtype=bool)
    start[1:] = sk[1:] != sk[:-1]
    grp_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - grp_start
    return rank
