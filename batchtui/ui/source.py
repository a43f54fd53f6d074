"""Where the dashboard's snapshots come from: a small protocol, and its real implementation over the poller.

The app only knows `Source`: tests feed it prepared snapshots (tests/ui/factory.py), `--queue` gives it the poller
on an aiobotocore client, `--demo` the same on the embedded simulator. Opening (credentials, region, queue check)
happens before the app starts, so a bad profile or an unknown queue is one line on stderr, not a broken screen.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from batchtui.model import JobDescription, LogPage, Snapshot

if TYPE_CHECKING:
    from batchtui.aws import BatchPort

DEMO_QUEUE = "ProdQueue"
DEMO_SEED = 11


class Source(Protocol):
    queue: str
    where: str  # "us-east-1 · profile prod", or the endpoint: shown in the status bar
    max_tps: float | None
    api: BatchPort  # the client retry and cancel are sent through (and the capacity checks of a changed retry read)
    # Set by the app: the first refresh's partial snapshots, as they fill in (a source without it draws at the end).
    on_partial: Callable[[Snapshot], None] | None

    async def refresh(self) -> Snapshot: ...

    async def switch_queue(self, queue: str) -> None: ...

    async def describe(self, ids: Sequence[str]) -> list[JobDescription]: ...  # DescribeJobs, read

    async def log_page(self, group: str, stream: str, next_token: str | None = None,
                       start_from_head: bool = True) -> LogPage: ...  # GetLogEvents, read

    def follow(self, ids: Sequence[str]) -> None: ...  # jobs just submitted: followed by id, in any queue


class PollerSource:
    """The poller over one client; `switch_queue` checks the queue exists, then starts a new poller on it."""

    def __init__(self, api: BatchPort, queue: str, *, since_s: float, where: str, region: str | None,
                 endpoint: str | None, max_tps: float | None, clock: Callable[[], datetime] | None = None) -> None:
        self.api = api
        self.queue = queue
        self.where = where
        self.max_tps = max_tps
        self._since_s = since_s
        self._region, self._endpoint = region, endpoint
        self._clock = clock
        self._last_polled: datetime | None = None
        self._poller = self._new_poller(queue)
        from batchtui.history import LocalHistory

        # What this machine sent (the audit log, the waiting plans): retries in other queues are followed by id,
        # and a cancel made before this dashboard started still says who made it and when.
        # Keyed by the client's own endpoint, as every audit record is (botocore names AWS's too: with no
        # --endpoint-url it is https://batch.<region>.amazonaws.com, not None).
        self._history = LocalHistory(since_s, endpoint=getattr(api, "endpoint_url", None) or endpoint, region=region)

    def _new_poller(self, queue: str) -> Any:
        from batchtui.poller import Poller

        kw: dict[str, Any] = {}
        if self._clock is not None:
            clock = self._clock
            kw["clock"] = lambda: clock().timestamp()
        return Poller(self.api, queue=queue, since_s=self._since_s, region=self._region, endpoint=self._endpoint, **kw)

    on_partial: Callable[[Snapshot], None] | None = None  # set by the app: the first refresh's partial snapshots

    def _partial(self, snap: Snapshot) -> None:
        if self.on_partial is not None:
            self.on_partial(replace(snap, polled_at=self._clock()) if self._clock is not None else snap)

    async def refresh(self) -> Snapshot:
        from batchtui.history import with_cancels

        self._poller.on_partial = self._partial
        # The first read takes the audit log's --since window (about 0.17 s for 24 h of a busy 10 MB log): off the
        # event loop, so the screen keeps drawing. Later reads take only what was appended.
        sent = await asyncio.to_thread(self._history.read)
        self._poller.follow(sent.job_ids)
        snap = with_cancels(await self._poller.refresh(), sent.cancels)
        if self._clock is None:
            return snap
        # The poller stamps snapshots with the wall clock; on a fast simulator the data's own clock is ahead, and
        # analysis (rates, ETAs) measures against polled_at: stamp them with the data's clock.
        if snap.error:
            return replace(snap, polled_at=self._clock(), stale_since=self._last_polled or snap.stale_since)
        snap = replace(snap, polled_at=self._clock())
        self._last_polled = snap.polled_at
        return snap

    def next_delay(self, refresh_s: float) -> float:
        return self._poller.next_delay(refresh_s)

    @property
    def slowdown(self) -> float:
        return self._poller.slowdown

    async def switch_queue(self, queue: str) -> None:
        await self.api.check_queue(queue)
        self._poller = self._new_poller(queue)
        self.queue = queue

    async def describe(self, ids: Sequence[str]) -> list[JobDescription]:
        from batchtui.aws import read_job_descriptions

        return await read_job_descriptions(self.api, ids)

    async def log_page(self, group: str, stream: str, next_token: str | None = None,
                       start_from_head: bool = True) -> LogPage:
        from batchtui.aws import read_log_page

        return await read_log_page(self.api, group, stream, next_token, start_from_head)

    def follow(self, ids: Sequence[str]) -> None:
        """Jobs just submitted from this dashboard: followed from the next refresh on, whatever queue they went to."""
        self._poller.follow(ids)


def where_label(region: str | None, profile: str | None, endpoint: str | None) -> str:
    if endpoint:
        from batchtui.aws import safe_url

        return f"endpoint {safe_url(endpoint)}"
    parts = [region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "default region"]
    profile = profile or os.environ.get("AWS_PROFILE")
    if profile:
        parts.append(f"profile {profile}")
    return " · ".join(parts)


@asynccontextmanager
async def open_source(queue: str, *, region: str | None, profile: str | None, endpoint_url: str | None,
                      max_tps: float, since_s: float, where: str | None = None,
                      clock: Callable[[], datetime] | None = None) -> AsyncIterator[PollerSource]:
    """One client for the app's lifetime, closed on exit; raises batchtui errors (unknown queue, credentials)."""
    from batchtui.aws import open_api

    async with open_api(region=region, profile=profile, endpoint_url=endpoint_url, max_tps=max_tps) as api:
        await api.check_queue(queue)
        yield PollerSource(api, queue, since_s=since_s, where=where or where_label(api.region or region, profile,
                                                                                     endpoint_url),
                           region=api.region or region, endpoint=endpoint_url, max_tps=max_tps, clock=clock)


@contextmanager
def demo_simulator(args: argparse.Namespace) -> Iterator[Any]:
    """The simulator on its own thread with the reference pipeline, and dummy credentials for this process only."""
    from batchtui.sim.engine import SimConfig
    from batchtui.sim.server import run_in_thread

    # The demo talks to 127.0.0.1 only: it must not pick up (or need) the user's real AWS profile.
    os.environ.pop("AWS_PROFILE", None)
    os.environ.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_DEFAULT_REGION="us-east-1",
                      AWS_REGION="us-east-1")
    config = SimConfig(speed=args.speed, array_size=args.array_size, pipeline="reference", seed=DEMO_SEED,
                       scenario=getattr(args, "scenario", None))
    handle = run_in_thread(config, host="127.0.0.1", port=0)
    try:
        yield handle
    finally:
        handle.stop()


def sim_clock(sim_now_ms: int, speed: float) -> Callable[[], datetime]:
    """The simulator's clock seen from this process: it runs `speed` times faster than the wall clock from the
    moment it was read (the simulator advances its own clock the same way on every request)."""
    t0 = time.monotonic()

    def now() -> datetime:
        return datetime.fromtimestamp((sim_now_ms + (time.monotonic() - t0) * speed * 1000) / 1000, tz=UTC)

    return now
