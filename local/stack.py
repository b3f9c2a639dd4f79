"""The local stack: moto, the template's resources, the functions and the HTTP front, in one process."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from local import REPO_ROOT
from local.dispatcher import EventDispatcher
from local.functions import FunctionRunner
from local.moto_server import MotoServer
from local.resources import create_resources
from local.schedules import ScheduleRunner
from local.template import REGION, StackDescription, describe_stack

logger = logging.getLogger(__name__)

DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
# Stage "local" names the resources that have a name property, such as the bus sms-consent-local.
DEFAULT_PARAMETERS = {"Stage": "local"}
IDLE_POLL_SECONDS = 0.05


@dataclass
class StackOptions:
    """Settings of one local stack. Port 0 picks a free port."""

    api_port: int = 3000
    moto_port: int = 0
    now: datetime | None = None
    template_path: Path = DEFAULT_TEMPLATE
    parameter_overrides: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PARAMETERS))
    log_level: str | None = None
    host: str = "127.0.0.1"


def local_environment(
    template_environment: dict[str, str], endpoint_url: str, log_level: str | None
) -> dict[str, str]:
    """Return the functions' environment: the template's variables plus the local overrides."""
    environment = dict(template_environment)
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            # moto accepts any credentials, and fixed fake ones keep boto3 from looking for real ones.
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SMS_SENDER": "outbox",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }
    )
    if log_level:
        environment["POWERTOOLS_LOG_LEVEL"] = log_level
    return environment


class LocalStack:
    """Start and stop everything the local stack runs, and serve the operations of the local routes.

    The stack changes ``os.environ`` and the shared container of this process while it runs and
    restores both on `stop`, so start at most one stack per process at a time.
    """

    def __init__(self, options: StackOptions | None = None, printer: Callable[[str], None] = print) -> None:
        self.options = options or StackOptions()
        self._print = printer
        self.description: StackDescription | None = None
        self.moto = MotoServer(self.options.moto_port, self.options.host)
        self.clock: Any = None
        self.outbox: Any = None
        self.runner: FunctionRunner | None = None
        self.dispatcher: EventDispatcher | None = None
        self.schedules: ScheduleRunner | None = None
        self.http: Any = None
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._saved_environment: dict[str, str | None] = {}
        self._restore_function_logs: Callable[[], None] | None = None
        self._running = False
        self.environment: dict[str, str] = {}

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        if self._running:
            raise RuntimeError("the local stack is already running")
        started = time.monotonic()
        description, _ = describe_stack(self.options.template_path, self.options.parameter_overrides)
        self.description = description
        self._running = True
        try:
            self._start_services(description)
        except BaseException:
            self.stop()
            raise
        logger.info("Local stack ready in %.1f s", time.monotonic() - started)
        return self

    def _start_services(self, description: StackDescription) -> None:
        import requests

        self.moto.start()
        # moto keeps its backends in module globals, so a stack started earlier in this process left state.
        requests.post(f"{self.moto.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()
        self.environment = local_environment(
            description.environment(), self.moto.endpoint_url, self.options.log_level
        )
        self._apply_environment(self.environment)
        sources = create_resources(description, self.client)

        from sms_consent import container
        from sms_consent.domain.clock import ManualClock

        from local.console import use_readable_function_logs
        from local.outbox import ClockedOutbox

        self.clock = ManualClock(self.options.now or datetime.now(UTC))
        self.outbox = ClockedOutbox(self.environment["ORIGINATION_NUMBER"], self.clock.now)
        container.configure(clock=self.clock, sender=self.outbox)

        # Metrics are disabled locally, so Powertools' warning about an empty metric set is noise.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        self.runner = FunctionRunner(description.functions, self.clock.now)
        self.runner.load()
        self._restore_function_logs = use_readable_function_logs(
            _common_prefix([function.name for function in description.functions.values()])
        )
        self.schedules = ScheduleRunner(description.schedules, self.runner, self._print)
        self.dispatcher = EventDispatcher(self.client("sqs"), self.runner, sources, self._print)
        self.dispatcher.start()

        from local.server import LocalHttpServer

        self.http = LocalHttpServer(self, self.options.host, self.options.api_port, self._print)
        self.http.start()

    def stop(self) -> None:
        """Stop the HTTP server, the dispatcher and moto, and restore the process. Later calls do nothing."""
        if not self._running:
            return
        self._running = False
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None
        self.moto.stop()
        if self._restore_function_logs is not None:
            self._restore_function_logs()
            self._restore_function_logs = None
        if self._saved_environment:
            from sms_consent import container

            container.reset()
            self._restore_environment()
        logger.info("Local stack stopped")

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _apply_environment(self, values: dict[str, str]) -> None:
        for name in [*values, "AWS_PROFILE"]:
            self._saved_environment.setdefault(name, os.environ.get(name))
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(values)

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    # Clients and addresses ------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """Return a boto3 client bound to the stack's moto server, created once per service."""
        with self._clients_lock:
            if service not in self._clients:
                import boto3

                if self._session is None:
                    self._session = boto3.session.Session(
                        aws_access_key_id="testing",
                        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
                        region_name=REGION,
                    )
                self._clients[service] = self._session.client(service, endpoint_url=self.moto.endpoint_url)
            return self._clients[service]

    @property
    def base_url(self) -> str:
        return f"http://{self.options.host}:{self.http.port}"

    # Operations of the local routes ---------------------------------------------------------

    def is_idle(self) -> bool:
        """Return True when no function runs and every event queue is empty."""
        if self.dispatcher is None or self.runner is None:
            return True
        if self.dispatcher.busy or self.runner.running:
            return False
        if self.dispatcher.pending_messages():
            return False
        return not (self.dispatcher.busy or self.runner.running)

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """Wait until `is_idle` and return True, or return False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_idle():
                return True
            time.sleep(IDLE_POLL_SECONDS)
        return self.is_idle()

    def move_clock(
        self, advance_seconds: float | None = None, now: datetime | None = None
    ) -> tuple[datetime, list[str]]:
        """Move the local clock forward by seconds or to an instant, then run the schedules it crossed."""
        before = self.clock.now()
        if now is not None:
            self.clock.set(now)
        elif advance_seconds is not None:
            self.clock.advance(advance_seconds)
        after = self.clock.now()
        self._print(f"[clock]  {before.isoformat()} -> {after.isoformat()}")
        ran = self.schedules.run_due(before, after) if self.schedules else []
        return after, ran

    def inbound_topic_arn(self) -> str:
        if not self.description or not self.description.subscriptions:
            raise LookupError("the template subscribes no function to an SNS topic")
        return self.description.subscriptions[0].topic_arn

    def publish_inbound_sms(
        self,
        from_number: str,
        body: str,
        to_number: str | None = None,
        inbound_message_id: str | None = None,
        previous_published_message_id: str | None = None,
    ) -> str:
        """Publish a reply to the inbound topic in the JSON that AWS End User Messaging publishes."""
        message: dict[str, Any] = {
            "originationNumber": from_number,
            "destinationNumber": to_number or self.environment["ORIGINATION_NUMBER"],
            "messageKeyword": (body.split() or [""])[0].upper(),
            "messageBody": body,
            "inboundMessageId": inbound_message_id or str(uuid.uuid4()),
        }
        previous = previous_published_message_id or self.outbox.last_message_id_to(from_number)
        if previous:
            message["previousPublishedMessageId"] = previous
        self.client("sns").publish(TopicArn=self.inbound_topic_arn(), Message=json.dumps(message))
        return message["inboundMessageId"]


def _common_prefix(names: list[str]) -> str:
    """Return the text before the last hyphen that all names share (``sms-consent-local-``)."""
    prefix = os.path.commonprefix(names)
    return prefix[: prefix.rfind("-") + 1] if "-" in prefix else ""
