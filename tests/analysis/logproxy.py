"""A proxy on 127.0.0.1 in front of the simulator that passes everything through except the CloudWatch Logs
GetLogEvents answers it is told to replace – a log that is empty, huge, binary or full of escape sequences, a
stream or group that does not exist, a caller without permission – so the real poller meets bad logs over HTTP.

    async with LogProxy(sim.url, lambda body: {"events": []}) as proxy:   # every log empty
        ... point the client at proxy.url ...
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web
from loopback import Proxy, aws_error

LOGS_TARGET = "Logs_20140328."
# What a tamper returns: an answer dict (sent as JSON), an (HTTP status, error type, message) error, or None (pass).
Tamper = Callable[[dict[str, Any]], "dict | tuple[int, str, str] | None"]


class LogProxy(Proxy):
    client_max_size = 64 * 1024 * 1024

    def __init__(self, upstream: str, tamper: Tamper) -> None:
        super().__init__(upstream)
        self.tamper = tamper
        self.get_log_events = 0  # GetLogEvents requests that reached the proxy

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.headers.get("X-Amz-Target") == LOGS_TARGET + "GetLogEvents":
            self.get_log_events += 1
            answer = self.tamper(json.loads(body or b"{}"))
            if isinstance(answer, tuple):
                status, code, message = answer
                return aws_error(status, code, message, content_type="application/x-amz-json-1.1")
            if answer is not None:
                answer.setdefault("nextForwardToken", "f/1")
                answer.setdefault("nextBackwardToken", "b/0")
                return web.Response(status=200, body=json.dumps(answer).encode(),
                                    headers={"Content-Type": "application/x-amz-json-1.1"})
        return await self.forward(request, body)
