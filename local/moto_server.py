"""moto in server mode, inside this process, with DynamoDB requests applied one at a time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer

from local.wsgi import make_threaded_server

logger = logging.getLogger(__name__)

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedDynamoDB:
    """WSGI middleware that runs every DynamoDB request under one lock.

    moto 5.2 checks a ``ConditionExpression`` and writes the item in separate steps without a
    lock, so two concurrent conditional writes on one item can both succeed. DynamoDB applies
    each conditional write atomically; holding one lock per request restores that. The response
    body is read inside the lock because the write may happen while it is produced.
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(DYNAMODB_TARGET_PREFIX):
            return self._app(environ, start_response)
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class QuietMotoRequestHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's line per request, so the console stays readable."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class MotoServer:
    """Serve moto's AWS emulation on 127.0.0.1 from a background thread.

    Parameters
    ----------
    port
        TCP port; 0 picks a free one (read `port` after `start`).
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self._host = host
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the moto server is not started")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        app = SerializedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_threaded_server(self._host, self._requested_port, app, QuietMotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()
        logger.info("moto server started on %s", self.endpoint_url)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("moto server stopped")
        self._server = None
