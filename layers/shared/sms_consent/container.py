"""Wiring: builds the domain services with their adapters once per process, lazily.

Handlers call `get_container()`; tests and the local stack replace parts (clock, SMS sender,
clients) with `configure()` before the first request.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import cached_property
from typing import Any

from sms_consent.domain.clock import Clock, SystemClock
from sms_consent.domain.directory import DirectoryService
from sms_consent.domain.inbound import InboundService
from sms_consent.domain.lifecycle import LifecycleService
from sms_consent.domain.opt_in import ConsentPolicy, OptInService
from sms_consent.domain.ports import EventPublisher, SmsSender, Telemetry
from sms_consent.domain.scheduler import SchedulerService
from sms_consent.domain.tasks import TaskService
from sms_consent.settings import Settings


class Container:
    """Build adapters and services on first use; every property is created once."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        sender: SmsSender | None = None,
        publisher: EventPublisher | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._sender = sender
        self._publisher = publisher
        self._telemetry = telemetry

    # Adapters -------------------------------------------------------------------------------------

    @cached_property
    def aws(self) -> Any:
        from sms_consent.adapters.aws import AwsClients

        return AwsClients(self.settings.aws_region, self.settings.aws_endpoint_url)

    @cached_property
    def dynamo_config(self) -> Any:
        from sms_consent.adapters.dynamodb import DynamoConfig

        return DynamoConfig(
            consent_table=self.settings.consent_table_name,
            ledger_table=self.settings.ledger_table_name,
            region=self.settings.aws_region,
            endpoint_url=self.settings.aws_endpoint_url,
        )

    @cached_property
    def directory_repository(self) -> Any:
        from sms_consent.adapters.dynamodb import DynamoDirectoryRepository

        return DynamoDirectoryRepository(self.dynamo_config)

    @cached_property
    def consent_repository(self) -> Any:
        from sms_consent.adapters.dynamodb import DynamoConsentRepository

        return DynamoConsentRepository(self.dynamo_config)

    @cached_property
    def sender(self) -> SmsSender:
        if self._sender is not None:
            return self._sender
        if self.settings.sms_sender == "outbox":
            from sms_consent.adapters.sms import LocalOutbox

            return LocalOutbox(self.settings.origination_number)
        from sms_consent.adapters.sms import EndUserMessagingSender

        return EndUserMessagingSender(
            lambda: self.aws.client("pinpoint-sms-voice-v2"),
            self.settings.sending_identity,
            self.settings.origination_number,
            self.settings.opt_out_list_name,
        )

    @cached_property
    def publisher(self) -> EventPublisher:
        if self._publisher is not None:
            return self._publisher
        from sms_consent.adapters.events import EventBridgePublisher

        return EventBridgePublisher(lambda: self.aws.client("events"), self.settings.event_bus_name)

    @cached_property
    def telemetry(self) -> Telemetry:
        if self._telemetry is not None:
            return self._telemetry
        from sms_consent.observability import PowertoolsTelemetry

        return PowertoolsTelemetry()

    @cached_property
    def idempotency_store(self) -> Any:
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(
            table_name=self.settings.idempotency_table_name, boto3_client=self.aws.client("dynamodb")
        )

    # Services -------------------------------------------------------------------------------------

    @cached_property
    def policy(self) -> ConsentPolicy:
        return ConsentPolicy(
            cooldown=timedelta(hours=self.settings.cooldown_hours),
            origination_number=self.settings.origination_number,
            default_region=self.settings.default_country,
            quiet_hours=self.settings.quiet_hours_enabled,
            display_time_zone=self.settings.display_time_zone,
        )

    @cached_property
    def directory(self) -> DirectoryService:
        return DirectoryService(
            self.directory_repository,
            self.publisher,
            self.clock,
            self.settings.default_country,
            own_numbers=frozenset({self.settings.origination_number}),
        )

    @cached_property
    def opt_in(self) -> OptInService:
        return OptInService(
            self.directory_repository,
            self.consent_repository,
            self.sender,
            self.publisher,
            self.clock,
            self.policy,
            self.telemetry,
        )

    @cached_property
    def lifecycle(self) -> LifecycleService:
        return LifecycleService(self.directory_repository, self.opt_in)

    @cached_property
    def inbound(self) -> InboundService:
        return InboundService(
            self.directory_repository,
            self.consent_repository,
            self.sender,
            self.publisher,
            self.clock,
            self.telemetry,
            self.settings.default_country,
            reply_repeat_window=self.policy.reply_repeat_window,
        )

    @cached_property
    def tasks(self) -> TaskService:
        return TaskService(
            self.directory_repository,
            self.consent_repository,
            self.sender,
            self.publisher,
            self.clock,
            self.policy,
            self.telemetry,
        )

    @cached_property
    def scheduler(self) -> SchedulerService:
        return SchedulerService(self.consent_repository, self.opt_in, self.tasks, self.clock, self.telemetry)


_container: Container | None = None
_overrides: dict[str, Any] = {}
_lock = threading.Lock()


def get_container() -> Container:
    """Return the process-wide container, building it from the environment on first use."""
    global _container
    with _lock:
        if _container is None:
            _container = Container(Settings.from_env(), **_overrides)
        return _container


def configure(**overrides: Any) -> None:
    """Replace the clock, sender, publisher or telemetry of the next container, and drop the current one."""
    global _container
    with _lock:
        _overrides.clear()
        _overrides.update(overrides)
        _container = None


def reset() -> None:
    """Forget the container and any overrides (tests call this between cases)."""
    configure()
