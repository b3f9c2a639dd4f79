"""Suite-wide checks: no log line of the whole run may carry a raw phone number or a message body."""

from __future__ import annotations

import logging

import pytest

from tests.log_audit import AUDIT, leaks

# Task messages the tests send; they must never reach a log line either.
TEST_BODIES = ("Closing is on Friday",)


def _attach(logger: logging.Logger) -> None:
    if AUDIT not in logger.handlers:
        logger.addHandler(AUDIT)


def pytest_configure(config: pytest.Config) -> None:
    # Importing observability replaces the package logger's handlers, so it must come first.
    import sms_consent.observability  # noqa: F401

    logging.getLogger().addHandler(AUDIT)
    # Powertools loggers do not propagate to the root, so attach to them directly.
    for name in ("sms-consent", "service_undefined", "sms_consent", "local"):
        _attach(logging.getLogger(name))


@pytest.fixture(autouse=True)
def _audit_new_loggers():
    yield
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and (
            name.startswith("sms_consent") or name.startswith("sms-consent")
        ):
            _attach(logger)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = leaks(AUDIT.lines, TEST_BODIES)
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"{len(found)} log lines carry a phone number or a message body, for example:", red=True
            )
            for line in found[:5]:
                reporter.write_line(f"  {line[:300]}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
