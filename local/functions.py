"""Load the functions' entry points and invoke them as Lambda would, one invocation at a time."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

from local.template import FunctionSpec

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

# Lambda retries a failed asynchronous invocation twice (MaximumRetryAttempts defaults to 2),
# about 1 and then 2 minutes later. The local waits are short, so a failing test ends quickly.
ASYNC_RETRY_ATTEMPTS = 2
RETRY_DELAYS_SECONDS = (0.1, 0.5)


class LambdaContext:
    """The attributes and method of the Lambda context object that Powertools reads."""

    def __init__(self, function: FunctionSpec) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_module(function: FunctionSpec) -> ModuleType:
    """Import a function's source file under a module name of its own.

    Every function's file is ``app.py``, so importing them by name would return the first one
    for all of them.
    """
    module_name = f"local_function_{function.logical_id}"
    spec = importlib.util.spec_from_file_location(module_name, function.source_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function.source_file} for {function.logical_id}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class DeadLetter:
    """An event whose handler failed on every attempt."""

    function_id: str
    source: str
    event_id: str
    error_type: str
    error: str
    attempts: int
    failed_at: str
    event: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "function": self.function_id,
            "source": self.source,
            "event_id": self.event_id,
            "error_type": self.error_type,
            "error": self.error,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "event": self.event,
        }


class FunctionRunner:
    """Call the functions' handlers, one invocation at a time across the whole process.

    One Lambda execution environment runs one invocation at a time, and the shared code relies
    on that. Powertools' HTTP resolver keeps the current request in a class attribute
    (``BaseRouter.current_event`` in aws-lambda-powertools 3.37), and the Logger and Metrics
    objects are module-level singletons. Two handlers running at once in one process would read
    each other's request, so every invocation takes `_invocation_lock`.
    """

    def __init__(self, functions: dict[str, FunctionSpec], clock_now: Callable[[], datetime]) -> None:
        self.functions = functions
        self._clock_now = clock_now
        self._handlers: dict[str, Handler] = {}
        self._invocation_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._running = 0
        self.dead_letters: list[DeadLetter] = []

    def load(self) -> None:
        for logical_id, function in self.functions.items():
            module = load_module(function)
            self._handlers[logical_id] = getattr(module, function.handler_name)

    @property
    def running(self) -> int:
        with self._state_lock:
            return self._running

    def invoke(self, function_id: str, event: Any) -> Any:
        """Run one invocation of the function's handler and return its result or raise its error."""
        handler = self._handlers[function_id]
        context = LambdaContext(self.functions[function_id])
        with self._state_lock:
            self._running += 1
        try:
            with self._invocation_lock:
                return handler(event, context)
        finally:
            with self._state_lock:
                self._running -= 1

    def invoke_async(self, function_id: str, event: Any, source: str, event_id: str) -> bool:
        """Invoke like Lambda's asynchronous invocation: retry twice, then keep the event as a dead letter.

        Returns True when an attempt succeeded.
        """
        attempts = 1 + ASYNC_RETRY_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self.invoke(function_id, event)
                return True
            except Exception as error:  # noqa: BLE001 - any handler error is a failed invocation
                if attempt < attempts:
                    logger.warning(
                        "%s failed on attempt %d of %d (%s); retrying event %s",
                        function_id,
                        attempt,
                        attempts,
                        type(error).__name__,
                        event_id,
                    )
                    time.sleep(RETRY_DELAYS_SECONDS[attempt - 1])
                    continue
                logger.error(
                    "%s failed %d times on event %s (%s: %s); kept in GET /local/dead-letters",
                    function_id,
                    attempts,
                    event_id,
                    type(error).__name__,
                    error,
                )
                with self._state_lock:
                    self.dead_letters.append(
                        DeadLetter(
                            function_id=function_id,
                            source=source,
                            event_id=event_id,
                            error_type=type(error).__name__,
                            error=str(error),
                            attempts=attempts,
                            failed_at=self._clock_now().isoformat(),
                            event=event,
                        )
                    )
        return False
