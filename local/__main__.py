"""Command line of the local stack: ``python -m local run`` and ``python -m local demo``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path

from local.console import configure_console
from local.stack import DEFAULT_TEMPLATE, LocalStack, StackOptions

logger = logging.getLogger("local")

LOCAL_ROUTES = (
    "GET /local/outbox",
    "POST /local/inbound-sms",
    "GET|POST /local/clock",
    "GET /local/idle",
    "POST /local/opt-out-list",
    "GET /local/dead-letters",
    "GET /local/health",
    "GET /local/openapi.json",
    "GET /local/swagger",
)


def _aware_datetime(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO 8601 time such as 2026-12-07T15:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no UTC offset; add one, for example Z or +00:00")
    return parsed


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0 to 65535; 0 picks a free port)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="serve the local stack until Ctrl-C or SIGTERM")
    run.add_argument(
        "--port", type=_port, default=3000, help="TCP port of the HTTP API on 127.0.0.1 (default 3000)"
    )
    run.add_argument(
        "--moto-port",
        type=_port,
        default=5000,
        help="TCP port of the moto server on 127.0.0.1 (default 5000; 0 = free)",
    )
    run.add_argument(
        "--now",
        type=_aware_datetime,
        help="start time of the local clock, ISO 8601 with offset (default: now); POST /local/clock moves it",
    )
    run.add_argument(
        "--template", type=Path, default=DEFAULT_TEMPLATE, help="SAM template to run (default template.yaml)"
    )
    run.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level of the functions (default: the template's LogLevel parameter)",
    )

    demo = commands.add_parser(
        "demo", help="run the walkthrough on a fresh local stack; exit 1 if an outcome differs"
    )
    demo.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default="WARNING",
        help="log level of the functions during the walkthrough (default WARNING)",
    )
    return parser


def run(arguments: argparse.Namespace) -> int:
    options = StackOptions(
        api_port=arguments.port,
        moto_port=arguments.moto_port,
        now=arguments.now,
        template_path=arguments.template,
        log_level=arguments.log_level,
    )
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        logger.info("Received %s; stopping", signal.Signals(signum).name)
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = LocalStack(options)
    try:
        stack.start()
    except OSError as error:
        logger.error(
            "Cannot start the local stack: %s. Choose other ports with --port and --moto-port.", error
        )
        return 1
    try:
        print(f"Local stack serving {stack.base_url} (moto at {stack.moto.endpoint_url})")
        print(f"Clock: {stack.clock.now().isoformat()}. Send X-Company-Id: <company> with every API request.")
        print(f"Local routes: {', '.join(LOCAL_ROUTES)}. Ctrl-C stops.")
        while not stop_requested.wait(0.5):
            pass
    finally:
        stack.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    configure_console()
    if arguments.command == "run":
        return run(arguments)
    from local.demo import run_demo

    return run_demo(log_level=arguments.log_level)


if __name__ == "__main__":
    sys.exit(main())
