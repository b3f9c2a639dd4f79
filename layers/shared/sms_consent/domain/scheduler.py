"""Releasing texts that quiet hours deferred, run by the scheduled rule every few minutes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sms_consent.domain.clock import Clock
from sms_consent.domain.opt_in import OptInService, OutcomeKind
from sms_consent.domain.ports import ConsentRepository, Telemetry
from sms_consent.domain.tasks import TaskService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReleaseSummary:
    due: int
    sent: int
    deferred_again: int
    skipped: int


class SchedulerService:
    """Send the deferred opt-in requests and task messages whose quiet hours have ended."""

    def __init__(
        self,
        consents: ConsentRepository,
        opt_in: OptInService,
        tasks: TaskService,
        clock: Clock,
        telemetry: Telemetry,
    ) -> None:
        self._consents = consents
        self._opt_in = opt_in
        self._tasks = tasks
        self._clock = clock
        self._telemetry = telemetry

    def release_due(self, limit: int = 200) -> ReleaseSummary:
        """Process up to ``limit`` due items; each item is deleted only after it was handled."""
        due = self._consents.due_scheduled(self._clock.now(), limit)
        sent = deferred = skipped = 0
        for scheduled in due:
            # The same item released twice derives the same operation id, so its claim is reused.
            due_epoch = int(scheduled.due_at.timestamp())
            operation_id = f"scheduled|{scheduled.company_id}|{scheduled.schedule_key}|{due_epoch}"
            if scheduled.kind == "opt_in_request":
                outcome = self._opt_in.release_scheduled(scheduled, operation_id)
                if outcome.kind is OutcomeKind.SCHEDULED:
                    # Re-deferred under the same key with a new due time: keep that item.
                    deferred += 1
                    continue
                if outcome.kind is OutcomeKind.SENT:
                    sent += 1
                else:
                    skipped += 1
            else:
                task_outcome = self._tasks.release_scheduled_task_message(scheduled, operation_id)
                if task_outcome is not None and task_outcome.outcome == "sent":
                    sent += 1
                else:
                    skipped += 1
            self._consents.delete_scheduled(scheduled)
        summary = ReleaseSummary(len(due), sent, deferred, skipped)
        logger.info("Deferred texts released", extra=summary.__dict__)
        return summary
