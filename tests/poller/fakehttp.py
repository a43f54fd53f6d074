"""Serve a FakeBatch over HTTP (Batch restJson1 routes) from a background thread, for end-to-end CLI tests that
must not wait for, or depend on, the full simulator."""

from __future__ import annotations

from aiohttp import web
from fakebatch import FakeBatch
from loopback import InThread

from batchtui.errors import UnknownQueue


class FakeHttp:
    def __init__(self, fb: FakeBatch) -> None:
        self.fb = fb
        self.url = ""
        self._server = InThread(self._handle)

    def __enter__(self) -> FakeHttp:
        self.url = self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method != "POST" or not request.path.startswith("/v1/"):  # Batch's routes only
            raise web.HTTPNotFound()
        op = request.path.removeprefix("/v1/")
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
