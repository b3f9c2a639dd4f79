"""Threaded werkzeug servers for moto and the HTTP front."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


def make_threaded_server(
    host: str, port: int, app: Any, request_handler: type[WSGIRequestHandler]
) -> BaseWSGIServer:
    """Bind a threaded WSGI server to ``host:port``. Port 0 picks a free port.

    werkzeug prints the reason and calls ``sys.exit(1)`` when it cannot bind (werkzeug 3.1), which
    would end the process from a library call. This raises `OSError` instead, so the caller can
    clean up and report it.
    """
    try:
        return make_server(host, port, app, threaded=True, request_handler=request_handler)
    except SystemExit:
        raise OSError(
            f"cannot listen on {host}:{port}, because the port is in use or not allowed "
            "(werkzeug printed the system error on stderr)"
        ) from None
