"""A fault proxy on 127.0.0.1 in front of a real Batch endpoint (the simulator): per operation, a queue of faults
applied to the next requests, the nastiest of which let the call land upstream and then lose its answer.

    async with FaultProxy(sim.url, {"submitjob": [APPLY_THEN_500]}) as proxy:
        ... point the client at proxy.url ...
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import aiohttp
from aiohttp import web

PASS = "pass"  # forwarded, answer returned
APPLY_THEN_500 = "apply-then-500"  # forwarded (so it takes effect), then a 500 InternalServerError instead
APPLY_THEN_HANG = "apply-then-hang"  # forwarded, then no answer for `hang_s` or until the proxy closes (the
# client's read timeout fires)
APPLY_THEN_DROP = "apply-then-drop"  # forwarded, then the connection is closed without an answer
THROTTLE = "throttle"  # not forwarded: 429 TooManyRequestsException
REFUSE = "refuse"  # not forwarded: 400 ClientException


class FaultProxy:
    def __init__(self, upstream: str, faults: dict[str, list[str]] | None = None, hang_s: float = 5.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.faults = {op.lower(): list(v) for op, v in (faults or {}).items()}
        self.hang_s = hang_s
        self.received: Counter[str] = Counter()  # requests that reached the proxy, by operation
        self.forwarded: Counter[str] = Counter()  # requests that reached the upstream, by operation
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()  # ends every hang: the server's cleanup waits for its handlers

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None and self._session is not None
        self._closing.set()
        await self._runner.cleanup()
        await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        op = request.path.rsplit("/", 1)[-1].lower()
        self.received[op] += 1
        queue = self.faults.get(op) or []
        fault = queue.pop(0) if queue else PASS
        body = await request.read()
        if fault == THROTTLE:
            return _error(429, "TooManyRequestsException", "Too Many Requests")
        if fault == REFUSE:
            return _error(400, "ClientException", "refused by the fault proxy")
        status, headers, answer = await self._forward(request, body)
        self.forwarded[op] += 1
        if fault == APPLY_THEN_500:
            return _error(500, "InternalServerError", "applied, then failed by the fault proxy")
        if fault == APPLY_THEN_HANG:
            try:
                await asyncio.wait_for(self._closing.wait(), self.hang_s)
            except TimeoutError:
                pass
        elif fault == APPLY_THEN_DROP:
            assert request.transport is not None
            request.transport.abort()  # the call has landed upstream; its answer never leaves
            raise asyncio.CancelledError
        return web.Response(status=status, body=answer, headers=headers)

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        keep = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-amz-target")}
        async with self._session.request(request.method, self.upstream + request.path_qs, data=body,
                                         headers=keep) as resp:
            answer = await resp.read()
            headers = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "x-amzn-errortype")}
            return resp.status, headers, answer


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(status=status, content_type="application/json", headers={"x-amzn-ErrorType": code},
                        text=json.dumps({"__type": code, "message": message}))
