"""Readable console output of the local stack, with phone numbers masked.

The functions log Powertools JSON, one object per line, which suits CloudWatch and not a
terminal. Locally each record becomes one line: the function, the level, the message and the
extra keys. Every console line passes through `mask_phone_numbers`; the outbox's own lines are
printed by `LocalOutbox` and keep the masked destination and the body.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from typing import Any

# E.164 numbers (+ and 7 to 15 digits). Masking hides all but the last four digits.
_PHONE = re.compile(r"\+\d{3,11}(\d{4})\b")

# Keys of every Powertools record that add nothing on a local console.
_QUIET_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
    "xray_trace_id",
    "sampling_rate",
    "name",
    "exception",
    "exception_name",
    "exception_notes",
    "stack_trace",
}


def mask_phone_numbers(text: str) -> str:
    """Replace each E.164 number in ``text`` with ``***`` and its last four digits."""
    return _PHONE.sub(lambda match: "***" + match.group(1), text)


class MaskingFormatter(logging.Formatter):
    """A plain one-line formatter that masks phone numbers in the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phone_numbers(super().format(record))


def configure_console(level: int = logging.INFO) -> None:
    """Send the local stack's own log records (logger ``local``) to stdout as short lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(MaskingFormatter("[%(levelname)s] %(message)s"))
    local_logger = logging.getLogger("local")
    local_logger.handlers = [handler]
    local_logger.setLevel(level)
    local_logger.propagate = False


def powertools_line(log: dict[str, Any], name_prefix: str = "") -> str:
    """Format one Powertools log record as ``[fn name] LEVEL message | key=value ...``."""
    function = str(log.get("function_name", "")).removeprefix(name_prefix) or "function"
    extras = " ".join(f"{key}={value}" for key, value in log.items() if key not in _QUIET_KEYS)
    line = f"[fn {function}] {log.get('level', 'INFO')} {log.get('message', '')}"
    if extras:
        line = f"{line} | {extras}"
    if log.get("exception"):
        line = f"{line}\n{log['exception']}"
    return mask_phone_numbers(line)


def use_readable_function_logs(name_prefix: str = "") -> Callable[[], None]:
    """Make the functions' Powertools logger print `powertools_line` lines instead of JSON.

    ``name_prefix`` is cut from function names (``sms-consent-local-api`` becomes ``api``). The
    ``sms_consent`` loggers share the Powertools handler (``copy_config_to_registered_loggers``),
    so replacing the serializer of that handler's formatter covers them too. Returns a function
    that restores the JSON serializer.
    """
    from sms_consent.observability import logger as function_logger

    formatter = function_logger.registered_formatter
    json_serializer = formatter.json_serializer  # type: ignore[attr-defined]
    formatter.json_serializer = lambda log: powertools_line(log, name_prefix)  # type: ignore[attr-defined]

    def restore() -> None:
        formatter.json_serializer = json_serializer  # type: ignore[attr-defined]

    return restore
