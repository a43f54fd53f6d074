"""A fault proxy on 127.0.0.1 in front of a real Batch endpoint (the simulator): per operation, a queue of faults
applied to the next requests, the nastiest of which let the call land upstream and then lose its answer.

    async with FaultProxy(sim.url, {"submitjob": [APPLY_THEN_500]}) as proxy:
        ... point the client at proxy.url ...
"""

from __future__ import annotations

import asyncio
from collections import Counter

from aiohttp import web
from loopback import Proxy, aws_error

PASS = "pass"  # forwarded, answer returned
APPLY_THEN_500 = "apply-then-500"  # forwarded (so it takes effect), then a 500 InternalServerError instead
APPLY_THEN_HANG = "apply-then-hang"  # forwarded, then no answer for `hang_s` or until the proxy closes (the
# client's read timeout fires)
APPLY_THEN_DROP = "apply-then-drop"  # forwarded, then the connection is closed without an answer
THROTTLE = "throttle"  # not forwarded: 429 TooManyRequestsException
REFUSE = "refuse"  # not forwarded: 400 ClientException


class FaultProxy(Proxy):
    def __init__(self, upstream: str, faults: dict[str, list[str]] | None = None, hang_s: float = 5.0) -> None:
        super().__init__(upstream)
        self.faults = {op.lower(): list(v) for op, v in (faults or {}).items()}
        self.hang_s = hang_s
        self.received: Counter[str] = Counter()  # requests that reached the proxy, by operation
        self.forwarded: Counter[str] = Counter()  # requests that reached the upstream, by operation
        self._closing = asyncio.Event()  # ends every hang: the server's cleanup waits for its handlers

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        await super().__aexit__(*exc)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        op = request.path.rsplit("/", 1)[-1].lower()
        self.received[op] += 1
        queue = self.faults.get(op) or []
        fault = queue.pop(0) if queue else PASS
        body = await request.read()
        if fault == THROTTLE:
            return aws_error(429, "TooManyRequestsException", "Too Many Requests")
        if fault == REFUSE:
            return aws_error(400, "ClientException", "refused by the fault proxy")
        answer = await self.forward(request, body)
        self.forwarded[op] += 1
        if fault == APPLY_THEN_500:
            return aws_error(500, "InternalServerError", "applied, then failed by the fault proxy")
        if fault == APPLY_THEN_HANG:
            try:
                await asyncio.wait_for(self._closing.wait(), self.hang_s)
            except TimeoutError:
                pass
        elif fault == APPLY_THEN_DROP:
            assert request.transport is not None
            request.transport.abort()  # the call has landed upstream; its answer never leaves
            raise asyncio.CancelledError
        return answer
