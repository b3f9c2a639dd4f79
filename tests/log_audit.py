"""Collect every log record of the test run and find raw phone numbers and message bodies in them."""

from __future__ import annotations

import json
import logging
import re
import threading

# A phone number in E.164 form, or in the North American national form "(201) 555-0101" or
# "201-555-0101". Masked numbers (***0101), dates and hex ids do not match.
PHONE = re.compile(r"\+\d{8,15}\b|(?<!\d)\(?\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}(?!\d)")
# Fragments of texts the service sends; none may appear in a log line.
BODY_FRAGMENTS = ("Reply YES to receive texts", "You are unsubscribed from", "You are subscribed to texts")


class AuditHandler(logging.Handler):
    """Keep each record's message and extra fields as one JSON line."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        fields = {
            key: value
            for key, value in record.__dict__.items()
            if key not in logging.LogRecord("", 0, "", 0, "", (), None).__dict__ and not key.startswith("_")
        }
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        line = json.dumps({"logger": record.name, "message": message, **fields}, default=str)
        with self._guard:
            self.lines.append(line)


def leaks(lines: list[str], extra_bodies: tuple[str, ...] = ()) -> list[str]:
    """Return the lines that contain a phone number or a message body."""
    found = []
    for line in lines:
        if PHONE.search(line) or any(fragment in line for fragment in (*BODY_FRAGMENTS, *extra_bodies)):
            found.append(line)
    return found


# One handler for the whole run, shared by conftest and by tests that inspect it.
AUDIT = AuditHandler()
