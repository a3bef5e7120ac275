"""The pipeline's one calendar: the timezone, the night's logical time and data-month arithmetic.

Data months are ``YYYY-MM`` strings (a delivery's ``period``, a warning's month). A night is the
date ``as_of`` the pipeline runs for; everything it writes into the warehouse is stamped with the
night's *logical* time, 02:00 Asia/Shanghai of that date, never the wall clock, so a re-run or a
replay writes identical rows. China has kept UTC+8 without daylight saving since 1991, so a fixed
offset is exact and needs no timezone database.
"""

from __future__ import annotations

import datetime as dt
import re

TIMEZONE = "Asia/Shanghai"
TZ = dt.timezone(dt.timedelta(hours=8), TIMEZONE)
NIGHT_HOUR = 2  # the nightly run's logical hour (the Airflow schedule is 02:00 Asia/Shanghai)


def night_time(as_of: dt.date) -> dt.datetime:
    """The night's logical time: 02:00 Asia/Shanghai of ``as_of``."""
    return dt.datetime.combine(as_of, dt.time(NIGHT_HOUR, 0), tzinfo=TZ)


def day_start(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of ``day`` (e.g. the moment a feedback line says it was handled)."""
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=TZ)


def today() -> dt.date:
    """Today's date in Asia/Shanghai (the default night of a CLI run)."""
    return dt.datetime.now(TZ).date()


def local_date(moment: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an aware moment (e.g. an Airflow logical date in UTC)."""
    return moment.astimezone(TZ).date()


def month_index(period: str) -> int:
    """``YYYY-MM`` -> months since year 0 (``year * 12 + month - 1``), the core tables' ``month_idx``."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def period_of_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift_period(period: str, months: int) -> str:
    """``YYYY-MM`` moved by ``months`` (negative: earlier)."""
    return period_of_index(month_index(period) + months)


def period_of(day: dt.date) -> str:
    """The data month a date falls in."""
    return f"{day.year:04d}-{day.month:02d}"


def month_start(period: str) -> dt.date:
    return dt.date(int(period[:4]), int(period[5:7]), 1)


def month_end(period: str, months: int = 1) -> dt.date:
    """The last day of ``period`` (or of the ``months``-month span starting with it)."""
    return month_start(shift_period(period, months)) - dt.timedelta(days=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` calendar months (the 31st becomes the month's last day)."""
    period = shift_period(period_of(day), months)
    return min(month_start(period).replace(day=1) + dt.timedelta(days=day.day - 1), month_end(period))


def months_between(earlier: str, later: str) -> int:
    """``later`` - ``earlier`` in months."""
    return month_index(later) - month_index(earlier)


def first_moment_after(period: str) -> dt.datetime:
    """00:00 Asia/Shanghai of the first day after ``period``: when a data month is over."""
    return day_start(month_start(shift_period(period, 1)))


DATE_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def folder_date(name: str) -> dt.date | None:
    """The date a dated folder's name gives (``YYYY-MM-DD``: a delivery, a feedback or an extract
    folder), or None when the name is no date."""
    if not DATE_FOLDER.match(name):
        return None
    try:
        return dt.date.fromisoformat(name)
    except ValueError:
        return None
