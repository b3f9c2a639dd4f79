"""One lazily created boto3 session and its clients, shared by all adapters of a process.

No client exists at import time: a client created before moto's mock starts would talk to real
AWS, and every client costs cold-start time.
"""

from __future__ import annotations

import threading
from typing import Any


class AwsClients:
    """Create each boto3 client once, on first use.

    Parameters
    ----------
    region
        AWS region of every client.
    endpoint_url
        Endpoint of the local stack's moto server; None on AWS.
    """

    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                import boto3
                from botocore.config import Config

                if self._session is None:
                    self._session = boto3.session.Session(region_name=self.region)
                self._clients[service] = self._session.client(
                    service,
                    endpoint_url=self.endpoint_url,
                    config=Config(
                        retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10
                    ),
                )
            return self._clients[service]
