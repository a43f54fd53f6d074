"""The tests' HTTP doubles on 127.0.0.1: one way to start and stop an aiohttp server on a free port, and what the
proxies in front of the simulator share (forwarding a request, an AWS error answer).

    async with serve(handler) as url: ...                 # in the test's event loop
    with InThread(handler) as url: ...                    # from a thread of its own (for subprocesses and sync code)
    class MyProxy(Proxy): async def handle(self, request): ... return await self.forward(request, body)

Only 127.0.0.1, port 0 (the OS picks a free one), so parallel workers never collide and nothing listens outside.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Self

import aiohttp
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HOST = "127.0.0.1"
# Request headers not passed on: the upstream's own connection sets them.
HOP_BY_HOP = frozenset({"host", "content-length", "transfer-encoding", "connection"})
# Answer headers passed back: what botocore reads of an AWS answer.
ANSWER_HEADERS = frozenset({"content-type", "x-amzn-errortype", "x-amzn-requestid"})


@asynccontextmanager
async def serve(handler: Handler, *, client_max_size: int = 1024**2) -> AsyncIterator[str]:
    """Every method and path answered by `handler`, on 127.0.0.1 at a free port: yields the base URL."""
    app = web.Application(client_max_size=client_max_size)
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, 0).start()
        port = runner.addresses[0][1]
        yield f"http://{HOST}:{port}"
    finally:
        await runner.cleanup()


def aws_error(status: int, code: str, message: str, content_type: str = "application/json") -> web.Response:
    """An AWS JSON error answer (Batch's restJson1 by default; CloudWatch Logs uses application/x-amz-json-1.1)."""
    return web.Response(status=status, content_type=content_type, headers={"x-amzn-ErrorType": code},
                        text=json.dumps({"__type": code, "message": message}))


class Proxy:
    """A server on 127.0.0.1 in front of `upstream` (the simulator): a subclass answers `handle`, passing on what it
    does not change with `forward`. Used as `async with`; `url` is where the client under test points."""

    client_max_size = 1024**2

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self._stack = AsyncExitStack()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = await self._stack.enter_async_context(aiohttp.ClientSession())
        self.url = await self._stack.enter_async_context(serve(self.handle, client_max_size=self.client_max_size))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()  # the server first (its handlers finish), then the session they forward with

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return await self.forward(request, await request.read())

    async def forward(self, request: web.Request, body: bytes) -> web.Response:
        """The request, as it came (signature and all), sent upstream; its answer as the upstream gave it."""
        assert self._session is not None, "a Proxy is used as `async with`"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(request.method, self.upstream + request.rel_url.raw_path_qs, data=body,
                                         headers=headers) as resp:
            answer = await resp.read()
            keep = {k: v for k, v in resp.headers.items() if k.lower() in ANSWER_HEADERS}
            return web.Response(status=resp.status, body=answer, headers=keep)


class InThread:
    """`serve(handler)` in an event loop of its own, on a background thread: for a server that a subprocess or
    synchronous code talks to. `with InThread(handler) as url:`; the handler runs on that thread's loop."""

    def __init__(self, handler: Handler, *, client_max_size: int = 1024**2) -> None:
        self.handler, self.client_max_size = handler, client_max_size
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="loopback-server")

    def __enter__(self) -> str:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start within 10 s")
        if self._failed is not None:
            raise RuntimeError(f"the loopback server did not start: {self._failed!r}") from self._failed
        return self.url

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as e:  # noqa: BLE001 - said by __enter__ in the test's thread, not lost in this one
            self._failed = e
            self._ready.set()

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with serve(self.handler, client_max_size=self.client_max_size) as url:
            self.url = url
            self._ready.set()
            await self._stop.wait()
