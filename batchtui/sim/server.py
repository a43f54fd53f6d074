"""`batchtui sim`: the engine behind an aiohttp server speaking AWS Batch's restJson1 and CloudWatch Logs' awsJson1_1.

One port serves both, so one `--endpoint-url` does for every client. Faults can be injected for resilience tests:
throttling (429 TooManyRequestsException beyond a token bucket), latency, a random share of 500 ServerException,
and outage windows during which every request gets 503.

The engine is advanced on each request (to real time × speed) before the request is answered, and requests are
answered one at a time on the event loop, so every answer sees one consistent state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from batchtui.budget import TokenBucket
from batchtui.sim.api import BatchService
from batchtui.sim.build import build_engine
from batchtui.sim.engine import Engine, SimConfig, SimError
from batchtui.sim.logs import LogsService

log = logging.getLogger(__name__)

LOGS_TARGET_PREFIX = "Logs_20140328."
TAGS_PREFIX = "/v1/tags/"
MAX_BODY = 16 * 1024 * 1024


class SimServer:
    """`async with SimServer(config) as sim:` serves on sim.url until the block ends."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0,
                 engine: Engine | None = None) -> None:
        self.config = config or SimConfig()
        self.host, self.port = host, port
        self.engine = engine if engine is not None else build_engine(self.config)
        self.batch = BatchService(self.engine)
        self.logs = LogsService(self.engine)
        self._batch_routes = {op.lower(): op for op in self.batch.operations}
        self.request_count = 0
        self.requests_by_operation: Counter[str] = Counter()
        self.throttled_count = 0
        self.injected_errors = 0
        # AWS's throttle: a second's worth of burst above the rate, then TooManyRequests.
        rate = self.config.throttle_tps
        self._bucket = TokenBucket(rate, burst=max(1.0, rate)) if rate else None
        self._faults = random.Random(self.config.seed ^ 0x5EED)
        self._runner: web.AppRunner | None = None
        self._t0 = time.monotonic()
        self._sim0 = self.engine.now_ms

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> SimServer:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server  # the bound socket tells the port when 0 was asked for
        if server is not None and server.sockets:  # type: ignore[attr-defined]
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._t0 = time.monotonic()
        self._sim0 = self.engine.now_ms
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- one request ----------------------------------------------------------------------------------------

    def _sync_clock(self) -> None:
        if self.config.speed > 0:
            target = self._sim0 + int((time.monotonic() - self._t0) * self.config.speed * 1000)
            self.engine.advance_to(target)

    def _in_outage(self) -> bool:
        elapsed = time.monotonic() - self._t0
        return any(start <= elapsed < start + length for start, length in self.config.outages)

    def _route(self, request: web.Request) -> tuple[str, str, str | None]:
        """(service "batch"|"logs"|"", operation, resource ARN for tag calls)."""
        target = request.headers.get("X-Amz-Target", "")
        if target.startswith(LOGS_TARGET_PREFIX):
            return "logs", target[len(LOGS_TARGET_PREFIX):], None
        raw = request.rel_url.raw_path
        if raw.startswith(TAGS_PREFIX):
            op = {"GET": "ListTagsForResource", "POST": "TagResource", "DELETE": "UntagResource"}.get(request.method)
            return ("batch", op, unquote(raw[len(TAGS_PREFIX):])) if op else ("", "", None)
        if request.method == "POST" and raw.startswith("/v1/"):
            op = self._batch_routes.get(raw[4:].rstrip("/").lower())
            if op:
                return "batch", op, None
        return "", "", None

    async def _handle(self, request: web.Request) -> web.Response:
        self.request_count += 1
        # EC2's query protocol: a form POSTed to / with no X-Amz-Target (CloudWatch Logs posts JSON there with one)
        if request.method == "POST" and request.rel_url.raw_path == "/" and "X-Amz-Target" not in request.headers \
                and request.content_type == "application/x-www-form-urlencoded":
            return await self._ec2(request)
        service, op, resource = self._route(request)
        self.requests_by_operation[op or "Unknown"] += 1
        if self.config.latency_ms > 0:
            await asyncio.sleep(self.config.latency_ms / 1000)
        if not service:
            return _error("batch", SimError(f"No such operation: {request.method} {request.rel_url.path}",
                                            "UnknownOperationException", 404))
        if self._in_outage():
            return _error(service, _unavailable(service))
        if self._bucket is not None and not self._bucket.try_take():
            self.throttled_count += 1
            return _error(service, _throttled(service))
        if self.config.error_rate > 0 and self._faults.random() < self.config.error_rate:
            self.injected_errors += 1
            return _error(service, _server_error(service))
        try:
            body = await _json_body(request, service)
            if resource is not None:
                body["resourceArn"] = resource
                if op == "UntagResource":
                    body["tagKeys"] = request.rel_url.query.getall("tagKeys", [])
            self._sync_clock()
            answer = (self.batch if service == "batch" else self.logs).call(op, body)
        except SimError as e:
            return _error(service, e)
        except Exception as e:  # a simulator bug must still answer like AWS: a 500 with a JSON body, no traceback
            log.exception("batchtui sim: internal error in %s", op)
            return _error(service, SimError(f"Internal simulator error: {type(e).__name__}", "ServerException", 500))
        content_type = "application/json" if service == "batch" else "application/x-amz-json-1.1"
        return web.Response(body=json.dumps(answer, separators=(",", ":")).encode(), status=200,
                            headers={"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())})


    async def _ec2(self, request: web.Request) -> web.Response:
        """EC2's query protocol: DescribeInstanceTypes only (sim/ec2.py)."""
        from batchtui.sim import ec2

        form = dict(await request.post())
        self.requests_by_operation[str(form.get("Action") or "Unknown")] += 1
        try:
            text, status = ec2.handle({k: str(v) for k, v in form.items()}), 200
        except ec2.Ec2Error as e:
            text, status = ec2.error_xml(e), e.status
        return web.Response(text=text, status=status, content_type="text/xml")


async def _json_body(request: web.Request, service: str) -> dict[str, Any]:
    code = "ClientException" if service == "batch" else "SerializationException"
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:  # the client's fault: a 400 naming it, not a 500
        raise SimError(f"The request body is larger than {MAX_BODY:,} bytes", code, 400) from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise SimError("The request body is not valid JSON", code, 400) from None
    if not isinstance(body, dict):
        raise SimError("The request body must be a JSON object", code, 400)
    return body


def _unavailable(service: str) -> SimError:
    code = "ServerException" if service == "batch" else "ServiceUnavailableException"
    return SimError("Service Unavailable (simulated outage)", code, 503)


def _throttled(service: str) -> SimError:
    if service == "batch":
        return SimError("Too Many Requests", "TooManyRequestsException", 429)
    return SimError("Rate exceeded", "ThrottlingException", 400)


def _server_error(service: str) -> SimError:
    code = "ServerException" if service == "batch" else "ServiceUnavailableException"
    return SimError("Internal server error (simulated)", code, 500)


def _error(service: str, e: SimError) -> web.Response:
    """restJson1 errors carry x-amzn-ErrorType; awsJson1_1 ones the body's __type. Both get both."""
    content_type = "application/json" if service == "batch" else "application/x-amz-json-1.1"
    headers = {"Content-Type": content_type, "x-amzn-ErrorType": e.code, "x-amzn-RequestId": str(uuid.uuid4())}
    body = json.dumps({"__type": e.code, "message": e.message}).encode()
    return web.Response(body=body, status=e.status, headers=headers)


# --- the simulator on its own thread (for the TUI's --demo) ----------------------------------------------------


class ThreadedSim:
    """A SimServer running in a background thread with its own event loop. Talk to it over HTTP; the engine
    belongs to that thread (read it from elsewhere only when the clock is frozen)."""

    def __init__(self, config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self._config, self._host, self._port = config, host, port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self.sim: SimServer | None = None
        self._thread = threading.Thread(target=self._run, name="batchtui-sim", daemon=True)

    def start(self) -> ThreadedSim:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        try:
            async with SimServer(self._config, self._host, self._port) as sim:
                self.sim = sim
                self._ready.set()
                await self._stop_event.wait()
        except BaseException as e:  # noqa: BLE001 - handed to the starting thread
            self._error = e
            self._ready.set()

    @property
    def url(self) -> str:
        assert self.sim is not None
        return self.sim.url

    @property
    def engine(self) -> Engine:
        assert self.sim is not None
        return self.sim.engine

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop_event is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop_event.set)
            except RuntimeError:
                pass  # the loop already ended
        self._thread.join(timeout)


def run_in_thread(config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> ThreadedSim:
    """Start a simulator on its own thread; returns a handle with .url, .engine and .stop()."""
    return ThreadedSim(config, host, port).start()


# --- `batchtui sim` ------------------------------------------------------------------------------------------


def parse_outage(text: str) -> tuple[float, float]:
    """`60s+30s` → (60.0, 30.0): an outage starting 60 s after start, lasting 30 s."""
    from batchtui.durations import parse_window

    try:
        return parse_window(text)
    except ValueError as e:
        raise ValueError(f"bad --outage: {e}") from None


def config_from_args(args: argparse.Namespace) -> SimConfig:
    return SimConfig(
        speed=args.speed, seed=args.seed, pipeline=args.pipeline, array_size=args.array_size,
        advance_s=args.advance, throttle_tps=args.throttle_tps, latency_ms=args.latency_ms,
        error_rate=args.error_rate / 100.0, outages=[parse_outage(o) for o in args.outage],
        scenario=getattr(args, "scenario", None),
        world=_world(getattr(args, "world", None)),
    )


def _world(path: str | None) -> dict | None:
    if not path:
        return None
    from batchtui.sim import world

    return world.load(path)


def main(args: argparse.Namespace) -> int:
    from batchtui.errors import BatchtuiError, UsageError

    try:
        config = config_from_args(args)
        engine = build_engine(config)  # a world file the API refuses is a usage error, before anything is served
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        return asyncio.run(_serve(config, args.host, args.port, engine))
    except OSError as e:
        raise BatchtuiError(f"cannot serve on {args.host}:{args.port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        return 0


async def _serve(config: SimConfig, host: str, port: int, engine: Engine | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not on this platform: Ctrl-C raises KeyboardInterrupt
            pass
    async with SimServer(config, host, port, engine=engine) as sim:
        jobs = len(sim.engine.job_list) + sum(j.size for j in sim.engine.job_list)
        parts = [f"pipeline {config.pipeline}", f"{jobs:,} jobs", f"speed {config.speed:g}x", f"seed {config.seed}"]
        if config.throttle_tps:
            parts.append(f"throttle {config.throttle_tps:g}/s")
        print(f"batchtui sim: serving AWS Batch on {sim.url} ({', '.join(parts)})", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"batchtui sim: warning: listening on {host}, reachable from other machines", file=sys.stderr,
                  flush=True)
        await stop.wait()
    return 0
