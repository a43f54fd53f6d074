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

import aiohttp
from aiohttp import web

LOGS_TARGET = "Logs_20140328."
# What a tamper returns: an answer dict (sent as JSON), an (HTTP status, error type, message) error, or None (pass).
Tamper = Callable[[dict[str, Any]], "dict | tuple[int, str, str] | None"]


class LogProxy:
    def __init__(self, upstream: str, tamper: Tamper) -> None:
        self.upstream = upstream.rstrip("/")
        self.tamper = tamper
        self.get_log_events = 0  # GetLogEvents requests that reached the proxy
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> LogProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("X-Amz-Target") == LOGS_TARGET + "GetLogEvents":
            self.get_log_events += 1
            answer = self.tamper(json.loads(body or b"{}"))
            if isinstance(answer, tuple):
                status, code, message = answer
                return web.Response(status=status, body=json.dumps({"__type": code, "message": message}).encode(),
                                    headers={"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})
            if answer is not None:
                answer.setdefault("nextForwardToken", "f/1")
                answer.setdefault("nextBackwardToken", "b/0")
                return web.Response(status=200, body=json.dumps(answer).encode(),
                                    headers={"Content-Type": "application/x-amz-json-1.1"})
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(request.method, self.upstream + request.rel_url.raw_path_qs,
                                         data=body, headers=headers) as resp:
            data = await resp.read()
            keep = {k: v for k, v in resp.headers.items()
                    if k.lower() in ("content-type", "x-amzn-errortype", "x-amzn-requestid")}
            return web.Response(status=resp.status, body=data, headers=keep)
