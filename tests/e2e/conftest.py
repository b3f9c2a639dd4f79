"""One local stack for the e2e tests of a session, on free ports, driven over HTTP.

The stack runs moto in this process. While ``mock_aws`` is active it intercepts every boto3
call of the process and resets moto's backends, which the stack shares. So the stack stops
right after the last e2e test, before the integration tests that start ``mock_aws`` run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from local.stack import LocalStack, StackOptions

# A Monday, 10:00 in New York, inside the 08:00-21:00 window for 201 numbers.
WEEKDAY_MORNING = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class LocalStackClient:
    """Base URL of the running stack and helpers that every e2e test needs."""

    base_url: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def call(self, method: str, path: str, company_id: str | None, body: Any = None) -> requests.Response:
        """Send a request with ``company_id`` as the X-Company-Id header, or with no such header for None."""
        headers = {"X-Company-Id": company_id} if company_id else {}
        return requests.request(
            method, self.url(path), json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        )

    def wait_for_idle(self, timeout: float = 20.0) -> None:
        """Wait until every queued event is handled, and fail the test after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if requests.get(self.url("/local/idle"), timeout=REQUEST_TIMEOUT_SECONDS).json()["idle"]:
                return
            time.sleep(0.05)
        pytest.fail(f"the local stack still had events to handle after {timeout} s")

    def outbox(self, company_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Return the texts of one company, optionally of one kind (``opt_in_request``)."""
        entries = requests.get(self.url("/local/outbox"), timeout=REQUEST_TIMEOUT_SECONDS).json()
        return [
            entry
            for entry in entries
            if entry["company_id"] == company_id and (kind is None or entry["kind"] == kind)
        ]


E2E_DIR = Path(__file__).resolve().parent
_running_stacks: list[LocalStack] = []


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStackClient]:
    stack = LocalStack(StackOptions(api_port=0, moto_port=0, now=WEEKDAY_MORNING, log_level="WARNING"))
    stack.start()
    _running_stacks.append(stack)
    try:
        yield LocalStackClient(stack.base_url)
    finally:
        stack.stop()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the stack when the next test is not an e2e test (pytest runs this folder's files together).

    It runs last, after the test's own fixture teardowns, which may still call the stack.
    """
    if nextitem is not None and E2E_DIR in Path(nextitem.path).resolve().parents:
        return
    while _running_stacks:
        _running_stacks.pop().stop()


@pytest.fixture
def company_id() -> str:
    """A company of its own for each test, so cooldowns and outbox entries never mix."""
    return f"e2e-{uuid.uuid4().hex[:12]}"
