"""Serve a FakeBatch over HTTP (Batch restJson1 routes) from a background thread, for end-to-end CLI tests that
must not wait for, or depend on, the full simulator."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web
from fakebatch import FakeBatch

from batchtui.errors import UnknownQueue


class FakeHttp:
    def __init__(self, fb: FakeBatch) -> None:
        self.fb = fb
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FakeHttp:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v1/{op}", self._handle)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    async def _handle(self, request: web.Request) -> web.Response:
        op = request.match_info["op"]
        body = await request.json()
        fb = self.fb
        if op == "describejobqueues":
            try:
                await fb.check_queue((body.get("jobQueues") or [fb.queue])[0])  # no names: every queue
                return web.json_response({"jobQueues": [{"jobQueueName": fb.queue, "state": "ENABLED"}]})
            except UnknownQueue:
                return web.json_response({"jobQueues": []})
        if op == "listjobs":
            return web.json_response(await fb.list_jobs(**body))
        if op == "describejobs":
            return web.json_response({"jobs": await fb.describe_jobs(body["jobs"])})
        return web.json_response({"__type": "ClientException", "message": f"unsupported {op}"}, status=400,
                                 headers={"x-amzn-ErrorType": "ClientException"})
