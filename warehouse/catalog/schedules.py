"""Collections re-processed on a clock: a collection's ``schedule`` (cron or interval) queues a batch of its source
buckets' objects whenever it is due. Whoever runs batches ticks it — the API server's scheduler thread
(``orchestrator=inline``) or the ``collection_schedules`` sensor under Dagster; a tick locks the collection's row, so
two tickers never queue the same run twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy.orm import Session

from warehouse.catalog.batches import trigger_collection
from warehouse.catalog.db import lock_row
from warehouse.catalog.models import Batch, Collection
from warehouse.errors import WarehouseError

#: the shortest interval a schedule may have: re-processing a collection more often is a sensor's job
MIN_INTERVAL_S = 60


def _refuse(where: str, message: str) -> WarehouseError:
    return WarehouseError(422, f"{where}: {message}", {"location": where})


def check_schedule(raw: Any) -> dict[str, Any]:
    """The stored form of a ``schedule`` (``{trigger_type: cron, schedule_config: {cron_expression, timezone}}`` or
    ``{trigger_type: interval, schedule_config: {interval_seconds, start_immediately}}``, with ``description``);
    a 422 naming the field otherwise."""
    if not isinstance(raw, dict):
        raise _refuse("schedule", "must be {trigger_type, schedule_config}")
    unknown = sorted(set(raw) - {"trigger_type", "schedule_config", "description"})
    if unknown:
        raise _refuse(f"schedule.{unknown[0]}", "unknown key; a schedule is {trigger_type, schedule_config, description}")
    kind, config = raw.get("trigger_type"), raw.get("schedule_config")
    if kind not in ("cron", "interval"):
        raise _refuse("schedule.trigger_type", "must be 'cron' or 'interval'")
    if not isinstance(config, dict):
        raise _refuse("schedule.schedule_config", "must be an object")
    if kind == "cron":
        unknown = sorted(set(config) - {"cron_expression", "timezone"})
        if unknown:
            raise _refuse(f"schedule.schedule_config.{unknown[0]}", "unknown key; a cron schedule takes "
                          "cron_expression and timezone")
        expr, tz = config.get("cron_expression"), config.get("timezone") or "UTC"
        if not isinstance(expr, str) or not croniter.is_valid(expr):
            raise _refuse("schedule.schedule_config.cron_expression", f"{expr!r} is not a cron expression "
                          "(five fields, e.g. '0 3 * * *')")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise _refuse("schedule.schedule_config.timezone", f"{tz!r} is not a time zone (e.g. 'Europe/Paris')") from None
        config = {"cron_expression": expr, "timezone": tz}
    else:
        unknown = sorted(set(config) - {"interval_seconds", "start_immediately"})
        if unknown:
            raise _refuse(f"schedule.schedule_config.{unknown[0]}", "unknown key; an interval schedule takes "
                          "interval_seconds and start_immediately")
        seconds = config.get("interval_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < MIN_INTERVAL_S:
            raise _refuse("schedule.schedule_config.interval_seconds", f"must be an integer ≥ {MIN_INTERVAL_S}")
        start = config.get("start_immediately", False)
        if not isinstance(start, bool):
            raise _refuse("schedule.schedule_config.start_immediately", "must be true or false")
        config = {"interval_seconds": seconds, "start_immediately": start}
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise _refuse("schedule.description", "must be a string")
    return {"trigger_type": kind, "schedule_config": config, "description": description}


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def next_run(schedule: dict[str, Any], created_at: datetime) -> datetime:
    """When ``schedule`` is next due: after its last run, or (never run) after ``created_at`` — at once for an
    interval schedule that starts immediately."""
    config = schedule["schedule_config"]
    last = schedule.get("last_triggered_at")
    since = _aware(datetime.fromisoformat(last)) if last else _aware(created_at)
    if schedule["trigger_type"] == "interval":
        if last is None and config.get("start_immediately"):
            return since
        return since + timedelta(seconds=config["interval_seconds"])
    local = since.astimezone(ZoneInfo(config.get("timezone") or "UTC"))
    return croniter(config["cron_expression"], local).get_next(datetime).astimezone(UTC)


def run_due(s: Session, now: datetime | None = None) -> list[Batch]:
    """Queue a batch of every due collection's source objects (for that collection alone) and record the run;
    returns the batches queued. A collection with no objects yet is recorded as run too (nothing to queue)."""
    now = _aware(now or datetime.now(UTC))
    due = [c.collection_id for c in s.query(Collection)
           if c.schedule and c.enabled and (c.source or {}).get("type", "bucket") == "bucket"
           and next_run(c.schedule, c.created_at) <= now]
    queued = []
    for collection_id in due:
        c = lock_row(s, Collection, collection_id)  # a second ticker waits here, then sees the run recorded
        if not c.schedule or next_run(c.schedule, c.created_at) > now:
            continue
        queued += trigger_collection(s, c)
        c.schedule = {**c.schedule, "last_triggered_at": now.isoformat()}
    return queued
