"""Schedule math in the shop's timezone: send times, cron recurrences (APScheduler's
CronTrigger, DST-aware), quiet hours."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger


def to_utc(moment: datetime, tz: ZoneInfo) -> datetime:
    """An aware UTC time; a naive `moment` is read as local time in `tz` (the shop's)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


class WallClockCronTrigger(CronTrigger):
    """CronTrigger that fires once per wall-clock time, also when DST ends.

    When clocks go back, 01:30 happens twice; APScheduler 3.11 then returns the second
    01:30 again and again (its scheduler loop would spin). A campaign is meant for 01:30
    local once, so a wall time not later than the previous one is stepped over.
    """

    def get_next_fire_time(self, previous_fire_time, now):
        fire = super().get_next_fire_time(previous_fire_time, now)
        if previous_fire_time is None:
            return fire
        last_wall = previous_fire_time.astimezone(self.timezone).replace(tzinfo=None)
        for _ in range(3):
            if fire is None or fire.astimezone(self.timezone).replace(tzinfo=None) > last_wall:
                return fire
            fire = super().get_next_fire_time(None, fire + timedelta(hours=1))
        return fire


def cron_trigger(expression: str, tz: ZoneInfo, start: datetime | None = None) -> CronTrigger:
    """A trigger for a 5-field crontab (minute hour day month weekday) in `tz`; ValueError if invalid."""
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise ValueError("use five fields, e.g. '0 10 * * fri' (every Friday 10:00)")
    trigger = WallClockCronTrigger.from_crontab(expression, timezone=tz)
    if start is not None:
        trigger.start_date = start.astimezone(tz)
    return trigger


def next_fire_times(expression: str, tz: ZoneInfo, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` times a recurrence fires after `after` (aware, in `tz`)."""
    trigger = cron_trigger(expression, tz)
    times: list[datetime] = []
    previous = None
    moment = after.astimezone(tz)
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, moment)
        if fire is None:
            break
        times.append(fire)
        previous, moment = fire, fire + timedelta(microseconds=1)
    return times


def latest_fire_time(expression: str, tz: ZoneInfo, now: datetime, lookback: timedelta) -> datetime | None:
    """The most recent time the recurrence was due, within `lookback` of `now` (the run's key)."""
    last = None
    for fire in next_fire_times(expression, tz, now - lookback, count=1000):
        if fire > now:
            break
        last = fire
    return last


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """'21:00-08:00' → (21:00, 08:00); empty → None."""
    if not value:
        return None
    start, end = (part.strip() for part in value.split("-"))
    return time.fromisoformat(start), time.fromisoformat(end)


def quiet_until(value: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """When the quiet window around `now` ends (aware UTC), or None when sending is allowed."""
    window = parse_quiet_hours(value)
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    if start < end:
        inside = start <= clock < end
    else:  # across midnight, e.g. 21:00-08:00
        inside = clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    # Wall-clock end in the zone (a DST jump still yields a real instant).
    return datetime.combine(day, end, tzinfo=tz).astimezone(timezone.utc)
