"""Run the template's ``rate(...)`` schedules when the local clock moves past their boundaries.

The local clock moves only through ``POST /local/clock``, so a schedule runs when a move
crosses one of its boundaries, counted from the Unix epoch: every 5-minute mark of the hour for
``rate(5 minutes)``, midnight UTC for ``rate(1 day)``. A move across many boundaries runs the
function once, as a late scheduler run would query everything that became due.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from local.functions import FunctionRunner
from local.template import ACCOUNT_ID, REGION, Schedule

logger = logging.getLogger(__name__)


def boundaries_crossed(schedule: Schedule, before: datetime, after: datetime) -> int:
    """Return how many boundaries of the schedule lie in the interval (before, after]."""
    interval = schedule.interval.total_seconds()
    return max(0, int(after.timestamp() // interval) - int(before.timestamp() // interval))


def scheduled_event(schedule: Schedule, fired_at: datetime) -> dict[str, Any]:
    """Build the ``Scheduled Event`` envelope that a schedule passes to its function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [
            f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{schedule.function_id}-{schedule.event_name}"
        ],
        "detail": {},
    }


class ScheduleRunner:
    """Invoke scheduled functions for the boundaries that a clock move crossed."""

    def __init__(
        self, schedules: list[Schedule], runner: FunctionRunner, printer: Callable[[str], None] = print
    ) -> None:
        self._schedules = schedules
        self._runner = runner
        self._print = printer

    def run_due(self, before: datetime, after: datetime) -> list[str]:
        """Run each schedule whose boundary the move crossed, once, and return the functions that ran."""
        ran = []
        for schedule in self._schedules:
            if boundaries_crossed(schedule, before, after) == 0:
                continue
            interval = schedule.interval.total_seconds()
            fired_at = datetime.fromtimestamp((after.timestamp() // interval) * interval, UTC)
            event = scheduled_event(schedule, fired_at)
            self._print(
                f"[schedule] {schedule.expression} -> {schedule.function_id} (at {fired_at.isoformat()})"
            )
            self._runner.invoke_async(schedule.function_id, event, source="schedule", event_id=event["id"])
            ran.append(schedule.function_id)
        return ran
