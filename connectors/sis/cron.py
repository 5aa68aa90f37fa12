"""Cron schedules (five fields: minute hour day-of-month month day-of-week), in UTC.

Each field is `*`, a number, a range `a-b`, a list `a,b`, or a step `*/n` or `a-b/n`;
day of week runs 0-6 from Sunday (7 is Sunday too). As in cron, when both day fields
are restricted, a day matches either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_SEARCH_DAYS = 366 * 5


class CronError(ValueError):
    """Raised for a schedule that is not five valid cron fields."""


def _field(text: str, low: int, high: int, name: str) -> frozenset[int]:
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if (step_text and not step_text.isdigit()) or step < 1:
            raise CronError(f"{name}: bad step in {part!r}")
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            if not (a.isdigit() and b.isdigit()):
                raise CronError(f"{name}: bad range {body!r}")
            start, end = int(a), int(b)
        elif body.isdigit():
            start = int(body)
            end = start if not step_text else high
        else:
            raise CronError(f"{name}: {part!r} is not a number, range, list or step")
        if not low <= start <= end <= high:
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        found.update(range(start, end + 1, step))
    return frozenset(found)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != len(_BOUNDS):
            raise CronError(f"{text!r}: a schedule has five fields (minute hour day month weekday)")
        fields = [
            _field(p, lo, hi, n) for p, (lo, hi), n in zip(parts, _BOUNDS, _NAMES, strict=True)
        ]
        weekdays = frozenset(d % 7 for d in fields[4])
        return cls(
            fields[0], fields[1], fields[2], fields[3], weekdays, parts[2] == "*", parts[4] == "*"
        )

    def _day_matches(self, moment: datetime) -> bool:
        day = moment.day in self.days
        weekday = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day and weekday
        return day or weekday

    def next_after(self, after: datetime) -> datetime:
        """The first minute strictly after `after` that the schedule names."""
        moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = after + timedelta(days=_SEARCH_DAYS)
        while moment <= limit:
            if moment.month not in self.months or not self._day_matches(moment):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif moment.hour not in self.hours:
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif moment.minute not in self.minutes:
                moment += timedelta(minutes=1)
            else:
                return moment
        raise CronError("the schedule names no time in the next five years")
