"""Due dates in working days, with China's public holidays and make-up working days."""

from __future__ import annotations

import logging
import warnings
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["add_working_days", "day_start", "is_workday", "today_local"]

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


def is_workday(day: date) -> bool:
    """Official working day: holidays off, make-up weekend days (调休) on.

    Uses chinesecalendar, which knows the State Council's schedule up to its release year;
    for a later year it falls back to Monday-Friday and says so once.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("No holiday calendar for %s: counting Monday-Friday.", day.year)
        return day.weekday() < 5


def add_working_days(start: datetime, days: int, tz: str = "Asia/Shanghai") -> datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``'s local date.

    A message sent on a holiday starts counting on the next working day; ``days=0`` means
    the end of the day it was sent (or of the next working day if sent on a day off).
    """
    zone = ZoneInfo(tz)
    day = start.astimezone(zone).date()
    if days == 0:
        while not is_workday(day):
            day += timedelta(days=1)
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def today_local(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """Midnight of a local day, in UTC."""
    return datetime.combine(day, time(), ZoneInfo(tz)).astimezone(UTC)
