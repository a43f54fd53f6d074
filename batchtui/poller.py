"""The poller: finds a queue's pipelines and keeps every index of every array current, for as few calls as it can.

One `refresh()`:
1. (first time) DescribeJobQueues – an unknown queue is a clear error;
2. ListJobs on the queue with AFTER_CREATED_AT=now−since (every status; parents carry statusSummary and its time);
3. DescribeJobs for top-level jobs not described yet or whose status moved, for dependencies in other queues
   (followed transitively), for jobs that dropped out of the listing (not describable any more → `gone`) and for
   the retries this machine is known to have sent (`follow`: the queue listing cannot see a retry sent to another
   queue, and AWS cannot list by tag across queues, so they are followed by id);
4. per array, a sync of its per-index state (`ArrayTracker`) – only when the parent's status or statusSummary
   changed since the last sync, an upstream job had news (JobA succeeded; N_TO_N partners finished), or the last
   sync left doubts;
5. (when something failed) the logs of a bounded sample of failed attempts, for triage's signatures
   (logsample.py: spare tokens of the same budget, after the status reads, a few a refresh);
6. an immutable Snapshot.

How an array sync stays cheap and correct (the reasoning is in tracker.py's `ArrayTracker`):
- indices seen SUCCEEDED or FAILED are final and never looked at again; statuses no open index can reach are not
  listed; the costliest status (usually SUCCEEDED, or RUNNABLE/PENDING early on) is never listed – its members are
  the open indices seen nowhere else;
- listings go in lifecycle order, so a child moving forward between two listings is seen twice (the more advanced
  status wins) rather than missed;
- when AWS refreshed the summary since our last sync, more buckets are skipped on trust (empty ones, final ones with
  no newcomers, the second costliest) and an unseen index is given the least advanced status it can have reached.
  Every wrong guess is then behind the truth, so wrong guesses cannot cancel out in the counts: the result is
  accepted only when it matches the summary's counts, otherwise the skipped buckets are listed, cheapest first,
  until it does. A summary that is merely late (it matches a state we held before) is trusted for the costly
  bucket only, without retries;
- anything that leaves a doubt (movement, a child seen twice, an inference not yet seen twice) makes the next
  refresh sync that array again, exactly, so the state converges even when the summary stops changing.
What cannot be helped: AWS refreshes statusSummary only now and then (30 s in the simulator); an array whose summary,
status and upstream did not change is not listed, so between two summary refreshes the state may lag by that much.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from batchtui.aws import BatchPort, ServerError
from batchtui.capacity import (
    Rival,
    World,
    diagnose,
    ec2_request,
    environment_refs,
    has_runnable_work,
    name_of,
    parse_instance_types,
    queue_name,
    rival,
    rival_queues,
)
from batchtui.errors import OTHER, AccessDenied, ApiError, BatchtuiError, kind_of
from batchtui.instance_types import InstanceType
from batchtui.limits import CHILD_PAGE, FILTER_PAGE  # tests shrink CHILD_PAGE here
from batchtui.logsample import LogSampler
from batchtui.model import (
    Job,
    Snapshot,
    Status,
    build_pipelines,
    ordered_jobs,
    split_child_id,
)
from batchtui.shapes import (
    Answer,
    JobFields,
    fields_from_detail,
    fields_from_summary,
    is_child,
    job_id_of,
    lists_status_summary,
    next_token,
    retries_possible,
    summaries,
)
from batchtui.tracker import ArrayTracker, Observations

MAX_PAGES = 10_000  # a listing longer than this is an API gone wrong (a queue of a million jobs), not data
FOLLOW_ROUNDS = 5  # how deep dependsOn is followed into other queues
RECHECK_EVERY = 20  # refreshes between checks that a finished job that left the listing still exists
MAX_SLOWDOWN = 8.0  # the most the refresh interval is stretched while throttled


# --- the poller ------------------------------------------------------------------------------------------------


async def list_pages(api: BatchPort, kwargs: dict[str, Any]) -> AsyncIterator[Answer]:
    """ListJobs pages, following nextToken; a token that comes back again would loop forever: an error."""
    seen: set[str] = set()
    while True:
        page = await api.list_jobs(**kwargs)
        yield page
        token = next_token(page)
        if not token:
            return
        if not isinstance(token, str) or token in seen or len(seen) >= MAX_PAGES:
            raise ServerError("ListJobs pagination does not advance (a nextToken came back again); "
                              "the answer is not to be trusted")
        seen.add(token)
        kwargs["nextToken"] = token


CAPACITY_EVERY_S = 60.0  # how often the queue's environments and front are read while work is RUNNABLE
OTHER_QUEUES_MAX = 3  # other queues whose worlds are read (a followed retry's, a dependency's): a bound on calls
PARTIAL_EVERY_S = 0.5  # the first refresh's partial snapshots, at most this often


@dataclass
class _Tracked:
    """What the poller holds for one top-level job between refreshes."""

    job: Job  # without `array` (attached when a snapshot is made)
    described_status: Status | None = None  # status when last described (None: never)
    foreign: bool = False  # reached through dependsOn, not through our queue listing
    listed: bool = False  # in this refresh's queue listing
    summary_listed: bool = False  # that listing carried arrayProperties.statusSummary
    array: ArrayTracker | None = None
    synced_at: datetime | None = None  # when the array's state was last read in full
    sync_error: str | None = None  # why this refresh could not read it (its state is then as of synced_at)
    # Handed in by id (Poller.follow), not found by listing or dependsOn: shown only once its retry-of chain is
    # known to end at a job that is ours (`accepted`); until then it is in no snapshot, sync or dependency walk.
    followed: bool = False
    accepted: bool = False

    @property
    def visible(self) -> bool:
        return not self.followed or self.accepted


class Poller:
    """Keeps a queue's pipelines current; `await refresh()` returns a Snapshot. Never call refresh concurrently."""

    def __init__(self, api: BatchPort, queue: str, since_s: float = 24 * 3600.0, region: str | None = None,
                 endpoint: str | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.queue = queue
        self.since_s = since_s
        self.region = region if region is not None else getattr(api, "region", None)
        self.endpoint = endpoint if endpoint is not None else getattr(api, "endpoint_url", None)
        self._clock = clock  # epoch seconds: the data's time (--since, and the snapshots' stamps)
        self._jobs: dict[str, _Tracked] = {}
        self._queue_checked = False
        self._missing: set[str] = set()
        self._follow: set[str] = set()  # ids to describe and follow (Poller.follow), until they are tracked
        self._dropped: set[str] = set()  # followed ids whose retry-of root is not ours: never asked again
        self._last_good: Snapshot | None = None
        self._busy = False
        self.refreshes = 0
        self.syncs = 0  # array syncs done in total (the rest were skipped)
        self.slowdown = 1.0  # >1 while AWS throttles us: the factor to stretch the refresh interval by
        self._world: World | None = None  # the capacity read last (None while nothing is RUNNABLE)
        self._world_at = 0.0
        # The other queues holding RUNNABLE work we show (a followed retry's OtherQueue), each on the same cadence.
        self._worlds: dict[str, World] = {}
        self._worlds_at: dict[str, float] = {}
        self._queue_desc: Any = None  # DescribeJobQueues' answer from this refresh's queue check, if it made one
        # EC2's instance sizes, asked once per session for what the environments may launch (names and family
        # patterns asked go in _asked); after a refusal the table sizes them and EC2 is not asked again.
        self._sizes: dict[str, InstanceType] = {}
        self._asked: set[str] = set()
        self._sizes_note: str | None = None
        # Called with each partial snapshot of the first refresh (the dashboard draws them); None: none made.
        self.on_partial: Callable[[Snapshot], None] | None = None
        self._partial_at = 0.0
        self._calls0 = 0
        # Failed attempts' last log lines (triage's signatures); only where the API can read logs.
        self.sampler: LogSampler | None = LogSampler(api) if hasattr(api, "tail_log") else None

    def follow(self, ids: Iterable[str]) -> None:
        """Follow these jobs by id from the next refresh on: retries this machine submitted (the audit log, the
        waiting plans, what the dashboard just sent), which another queue's listing would be needed to see. Each is
        described (100 a call, within the budget), kept only when its `batchtui:retry-of` chain ends at a job this
        poller shows, then tracked like a dependency in another queue (re-described while unfinished, its array
        synced by arrayJobId); one whose chain ends elsewhere, or that AWS does not return, is left out quietly."""
        for job_id in ids:
            if (job_id and split_child_id(job_id)[1] is None and job_id not in self._jobs
                    and job_id not in self._dropped):
                self._follow.add(job_id)

    @property
    def followed(self) -> int:
        """Jobs followed by id and shown (their lineage joins them to ours)."""
        return sum(1 for t in self._jobs.values() if t.followed and t.accepted)

    @property
    def last_good(self) -> Snapshot | None:
        return self._last_good

    async def refresh(self) -> Snapshot:
        if self._busy:
            raise RuntimeError("Poller.refresh called while a refresh is running (polls must not overlap)")
        self._busy = True
        calls0, throttled0 = self.api.calls, self.api.throttled
        self._calls0 = calls0
        try:
            try:
                await self._refresh()
            except BatchtuiError as e:
                if self._last_good is None:
                    raise
                return self._stale(str(e), calls0, kind_of(e))
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
                # A malformed or unexpected answer must not kill a monitor: report it and keep the last state.
                error = ApiError(f"unexpected answer from the Batch API ({type(e).__name__}: {e})")
                if self._last_good is None:
                    raise error from e
                return self._stale(str(error), calls0)
            snap = self._snapshot(calls0)
            self._last_good = snap
            return snap
        finally:
            self.refreshes += 1
            self._busy = False
            # Throttled answers (even ones our retries rode out) mean the account's quota is short: poll less often
            # until they stop, then come back gradually.
            if self.api.throttled > throttled0:
                self.slowdown = min(MAX_SLOWDOWN, self.slowdown * 2)
            else:
                self.slowdown = max(1.0, self.slowdown / 2)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def next_delay(self, refresh_s: float) -> float:
        """Seconds to wait before the next refresh: the configured interval, stretched (with jitter) while
        throttled, so several batchtui instances that were throttled together do not come back in step."""
        if self.slowdown <= 1.0:
            return refresh_s
        return refresh_s * self.slowdown * random.uniform(0.8, 1.2)

    def _stale(self, error: str, calls0: int, kind: str = OTHER) -> Snapshot:
        last = self._last_good
        assert last is not None
        return dataclasses.replace(
            last, polled_at=self._now(), api_calls=self.api.calls - calls0,
            total_api_calls=self.api.calls, throttled_calls=self.api.throttled, error=error, error_kind=kind,
            stale_since=last.stale_since or last.polled_at)

    # -- one refresh -----------------------------------------------------------------------------------------

    def _publish_partial(self, calls0: int, *, every_s: float = 0.0) -> None:
        """The first refresh shows what it already knows – the queue's jobs and graph after the first listing,
        then the arrays as their pages arrive – instead of a blank screen for as long as the slowest array takes.
        Later refreshes have the last good snapshot on screen and publish only when done."""
        if self.on_partial is None or self._last_good is not None:
            return
        now = time.monotonic()
        if now - self._partial_at < every_s:
            return
        self._partial_at = now
        try:
            self.on_partial(dataclasses.replace(self._snapshot(calls0), loading=True))
        except Exception:  # noqa: BLE001 - a display hook must never break the refresh
            pass

    async def _refresh(self) -> None:
        if not self._queue_checked:
            self._queue_desc = await self.api.check_queue(self.queue)  # the first capacity read reuses it
            self._queue_checked = True
        listed = await self._list_queue()
        for t in self._jobs.values():
            t.listed = False
        for s in listed:
            self._update(s, fields_from_summary(s), listed=True)
        await self._describe_round(listed_ids={str(s["jobId"]) for s in listed})
        self._publish_partial(self._calls0)
        # Arrays sync side by side (the budget still paces the calls). A sync commits only when complete, so one
        # that fails leaves its array as it was, marked stale, while the others go on: a refresh that loses some
        # calls still publishes what it learned. Failures are caught inside each task, so none cancels the others
        # (and Python 3.11's TaskGroup leaves no stray cancel request behind to turn Ctrl-C into a traceback).
        failures: list[BaseException] = []
        async with asyncio.TaskGroup() as tg:
            for job_id, t in list(self._jobs.items()):
                if t.array is not None and t.visible:
                    tg.create_task(self._sync_or_keep(job_id, t, failures))
        for e in failures:
            if not isinstance(e, BatchtuiError):
                raise e  # a malformed answer: refresh() reports it
        if failures and self._last_good is None:
            raise failures[0]  # nothing known yet to fall back on
        await self._read_capacity()
        if self.sampler is not None:
            await self.sampler.step(self._job_view(t) for t in self._jobs.values() if not t.job.gone and t.visible)

    def _in_queue(self) -> dict[str, list[_Tracked]]:
        """The jobs we show, by the name of the queue they are in (a job listed without its queue is in ours)."""
        home = name_of(self.queue)
        out: dict[str, list[_Tracked]] = {}
        for t in self._jobs.values():
            if not t.job.gone and t.visible:
                out.setdefault(name_of(t.job.queue) if t.job.queue else home, []).append(t)
        return out

    async def _read_capacity(self) -> None:
        """While work is RUNNABLE, now and then: the queue, its compute environments and its front (3 calls at most,
        on their own slower cadence); then the same for each other queue holding RUNNABLE work we show. A queue
        with no RUNNABLE work costs nothing; what cannot be read (no IAM permission, an endpoint without the
        operation) is noted in the World, never a failed refresh."""
        by_queue = self._in_queue()
        home = name_of(self.queue)
        await self._read_home(by_queue.get(home, []))
        await self._read_others({q: ts for q, ts in by_queue.items() if q != home})

    async def _read_home(self, jobs: list[_Tracked]) -> None:
        now = time.monotonic()
        if self._world is not None and now - self._world_at < CAPACITY_EVERY_S:
            return  # not due: no job views built, nothing read (a job no longer RUNNABLE gets no diagnosis anyway)
        if not any(has_runnable_work(self._job_view(t)) for t in jobs):
            self._world = None
            return
        self._world_at = now
        missing: list[str] = []
        queue, self._queue_desc = self._queue_desc, None
        if queue is None:
            queue = await self._capacity_call("DescribeJobQueues", "check_queue", missing, self.queue)
        self._world = await self._read_world(self.queue, queue, jobs, missing)

    async def _read_others(self, by_queue: dict[str, list[_Tracked]]) -> None:
        """Each other queue's world on the same cadence (its jobs diagnosed against it, not against ours): their
        DescribeJobQueues in one call, then environments and front per queue; at most OTHER_QUEUES_MAX queues."""
        now = time.monotonic()
        for q in [q for q in self._worlds if q not in by_queue]:
            self._forget(q)  # nothing of ours is in that queue any more
        due = [q for q in sorted(by_queue)
               if q not in self._worlds or now - self._worlds_at.get(q, 0.0) >= CAPACITY_EVERY_S]
        want = []
        for q in due:
            if any(has_runnable_work(self._job_view(t)) for t in by_queue[q]):
                want.append(q)
            else:
                self._forget(q)
        held = [q for q in self._worlds if q not in due]  # read recently: still counted against the bound
        want = want[:max(0, OTHER_QUEUES_MAX - len(held))]
        if not want:
            return
        missing: list[str] = []
        found = await self._capacity_call("DescribeJobQueues", "describe_job_queues", missing, want)
        descs = {queue_name(d): d for d in found or () if isinstance(d, Mapping)}
        for q in want:
            own = list(missing) + ([] if q in descs or found is None else [f"DescribeJobQueues did not return {q}"])
            self._worlds[q] = await self._read_world(q, descs.get(q), by_queue[q], own)
            self._worlds_at[q] = now

    def _forget(self, queue: str) -> None:
        self._worlds.pop(queue, None)
        self._worlds_at.pop(queue, None)

    async def _read_world(self, name: str, queue: Any, jobs: list[_Tracked], missing: list[str]) -> World:
        """One queue's world from its DescribeJobQueues entry: its environments, its front, EC2's sizes, and the
        higher-priority queues sharing its environments when its own work has no cause of its own."""
        refs = environment_refs(queue)
        envs = await self._capacity_call("DescribeComputeEnvironments", "describe_compute_environments", missing,
                                         refs) if refs else []
        front = await self._capacity_call("GetJobQueueSnapshot", "get_job_queue_snapshot", missing, name)
        await self._read_sizes(envs or [])
        world = World.parse(queue, envs or [], front, missing, self._sizes, self._sizes_note)
        rivals = await self._read_rivals(queue, missing) if self._may_be_taken(world, jobs) else []
        return World.parse(queue, envs or [], front, list(dict.fromkeys(missing)), self._sizes, self._sizes_note,
                           rivals)

    def _may_be_taken(self, world: World, jobs: list[_Tracked]) -> bool:
        """Some RUNNABLE work has no cause of its own (capacity-full or in-line): only then can a higher-priority
        queue sharing the environment be what holds it, so only then are the other queues worth their calls."""
        views = (self._job_view(t) for t in jobs)
        return any(w is not None and w.cause in ("capacity-full", "in-line") for w in (diagnose(j, world)
                                                                                      for j in views))

    async def _read_rivals(self, queue: Any, missing: list[str]) -> list[Rival]:
        """Every queue in one call (the first 100), then the front and use of each higher-priority one sharing an
        environment with ours (at most 3; none shares it: no further call)."""
        if not isinstance(queue, Mapping):
            return []
        queues = await self._capacity_call("DescribeJobQueues", "describe_job_queues", missing, [])
        rivals = []
        for other in rival_queues(queue, queues or ()):
            snap = await self._capacity_call("GetJobQueueSnapshot", "get_job_queue_snapshot", missing,
                                             queue_name(other))
            rivals.append(rival(queue, other, snap))
        return rivals

    async def _read_sizes(self, envs: list[Any]) -> None:
        """EC2's sizes for instance types not asked about yet; any failure falls back to the table for the session
        (noted once in the World, never a failed refresh, never asked again)."""
        call = getattr(self.api, "describe_instance_types", None)
        want = ec2_request(envs, self._asked)
        if call is None or self._sizes_note is not None or not want:
            return
        try:
            answer = await call(want.names, want.patterns)
        except AccessDenied:
            self._sizes_note = "no permission for ec2:DescribeInstanceTypes: instance sizes from batchtui's table"
        except BatchtuiError as e:
            self._sizes_note = f"DescribeInstanceTypes failed ({e}): instance sizes from batchtui's table"
        else:
            self._sizes.update(parse_instance_types(answer))
            self._asked.update(want.names + want.patterns)

    async def _capacity_call(self, op: str, method: str, missing: list[str], *args: Any) -> Any:
        call = getattr(self.api, method, None)
        if call is None:
            missing.append(f"{op} is not available here")
            return None
        try:
            return await call(*args)
        except AccessDenied:
            missing.append(f"no permission for batch:{op}")
        except BatchtuiError as e:  # an endpoint without the operation (moto), throttling past the deadline …
            missing.append(f"{op} failed: {e}")
        return None

    async def _sync_or_keep(self, job_id: str, t: _Tracked, failures: list[BaseException]) -> None:
        try:
            await self._sync(job_id, t)
        except Exception as e:  # noqa: BLE001 - kept for refresh(); see _refresh
            failures.append(e)
            t.sync_error = str(e) if isinstance(e, BatchtuiError) else f"{type(e).__name__}: {e}"
            return
        t.sync_error = None
        t.synced_at = self._now()
        self._publish_partial(self._calls0, every_s=PARTIAL_EVERY_S)

    async def _list_queue(self) -> list[Mapping]:
        after = str(int((self._clock() - self.since_s) * 1000))
        kwargs: dict[str, Any] = {"jobQueue": self.queue, "maxResults": FILTER_PAGE,
                                  "filters": [{"name": "AFTER_CREATED_AT", "values": [after]}]}
        out: list[Mapping] = []
        async for page in list_pages(self.api, kwargs):
            for s in summaries(page):
                # Queue listings hold top-level jobs only; a child id here (bad data) must not become a "job".
                if job_id_of(s) and not is_child(s):
                    out.append(s)
        return out

    def _update(self, raw: Mapping, fields: JobFields, *, listed: bool = False, described: bool = False) -> None:
        job_id = str(raw["jobId"])
        t = self._jobs.get(job_id)
        if t is None:
            t = _Tracked(Job(job_id, fields["job_name"] or job_id, fields["status"]))
            self._jobs[job_id] = t
        # A summary leaves out what only DescribeJobs knows; never let a missing field wipe a known one.
        known: dict[str, Any] = {k: v for k, v in fields.items() if v is not None or described}
        t.job = dataclasses.replace(t.job, gone=False, **known)
        if listed:
            t.listed = True
            t.foreign = False
            t.followed = False  # in our queue after all: ours, whatever its lineage
            # statusSummary is optional in a JobSummary (moto leaves arrayProperties out of listings). A summary
            # an earlier DescribeJobs gave must not stand for the current one – the sync would take "unchanged"
            # for "nothing moved" while the parent stays PENDING – so forget it; DescribeJobs asks for a new one.
            t.summary_listed = lists_status_summary(raw)
            if not t.summary_listed and (t.job.status_summary or t.job.summary_updated_at is not None):
                t.job = dataclasses.replace(t.job, status_summary=MappingProxyType({}), summary_updated_at=None)
        if described:
            t.described_status = t.job.status
        size = t.job.array_size
        if size is not None and size >= 1 and (t.array is None or t.array.size != size):
            t.array = ArrayTracker(size, retries_possible(t.job.retry_strategy))
        elif t.array is not None and described:
            t.array.retries = retries_possible(t.job.retry_strategy)

    async def _describe_round(self, listed_ids: set[str]) -> None:
        recheck = self.refreshes % RECHECK_EVERY == 0
        wanted: set[str] = set()
        for job_id, t in self._jobs.items():
            if t.job.gone:
                continue
            if t.listed:
                if t.described_status is None or t.described_status != t.job.status:
                    wanted.add(job_id)  # new, or moved: dependsOn/attempts/log stream may have changed
                elif t.array is not None and not t.summary_listed and not t.job.status.terminal:
                    wanted.add(job_id)  # an unfinished array listed without its statusSummary: describe for it
            elif not t.job.status.terminal or recheck or t.described_status is None:
                wanted.add(job_id)  # a dependency in another queue, a followed retry, or a job that left the listing
        wanted |= self._unknown_dependencies(recheck) | self._to_follow(recheck)
        asked: set[str] = set()
        for _ in range(FOLLOW_ROUNDS):
            todo = sorted(wanted - asked)
            if not todo:
                break
            found = await self.api.describe_jobs(todo)
            asked |= set(todo)
            got: set[str] = set()
            for d in found:
                found_id = job_id_of(d) if isinstance(d, Mapping) else None
                if found_id and not is_child(d):
                    new = found_id not in self._jobs
                    self._update(d, fields_from_detail(d), listed=found_id in listed_ids, described=True)
                    got.add(found_id)
                    t = self._jobs[found_id]
                    if found_id not in listed_ids and not t.listed:
                        t.foreign = True
                        t.followed = t.followed or (new and found_id in self._follow)
                    self._follow.discard(found_id)
                    self._missing.discard(found_id)
            for job_id in set(todo) - got:
                known = self._jobs.get(job_id)
                if known is None:
                    self._missing.add(job_id)  # a dependency AWS no longer knows: asked again only now and then
                elif known.followed:
                    self._drop(job_id)  # a followed retry AWS no longer returns: left out quietly
                elif not known.listed:
                    known.job = dataclasses.replace(known.job, gone=True)  # AWS does not know it any more
            self._settle_followed()
            wanted = self._unknown_dependencies() | self._to_follow()

    def _to_follow(self, recheck: bool = False) -> set[str]:
        """Followed ids not described yet; one AWS did not return is asked again only now and then (a retry just
        submitted may not be describable at once)."""
        self._follow -= self._jobs.keys()
        return {i for i in self._follow if recheck or i not in self._missing}

    def _settle_followed(self) -> None:
        """Followed jobs are shown once their retry-of chain reaches a job of ours, dropped (for good) when it ends
        anywhere else; an earlier link not known yet (a retry of a retry sent from elsewhere) is followed too."""
        for job_id, t in list(self._jobs.items()):
            if not t.followed or t.accepted:
                continue
            verdict = self._lineage_of(t)
            if verdict is True:
                t.accepted = True
            elif verdict is False:
                self._drop(job_id)
            else:
                self._follow.add(verdict)

    def _lineage_of(self, t: _Tracked) -> bool | str:
        """True: the chain ends at a job of ours; False: it cannot (no retry, a cycle, an unknown or foreign root);
        a job id: the next link, to be described first."""
        seen = {t.job.job_id}
        up = t.job.retry_of
        while up is not None:
            if up in seen:
                return False  # only hand-made tags make a cycle
            seen.add(up)
            u = self._jobs.get(up)
            if u is None:
                return False if up in self._missing or up in self._dropped else up
            if not u.followed or u.accepted:
                return True
            up = u.job.retry_of
        return False  # no retry, or a chain ending at a followed job that is no retry: not a pipeline we show

    def _drop(self, job_id: str) -> None:
        self._jobs.pop(job_id, None)
        self._follow.discard(job_id)
        self._dropped.add(job_id)

    def _unknown_dependencies(self, recheck: bool = False) -> set[str]:
        out: set[str] = set()
        for t in self._jobs.values():
            if not t.visible:
                continue  # an undecided followed job's dependencies are nothing of ours yet
            for up in t.job.upstream_ids:
                if up not in self._jobs and split_child_id(up)[1] is None and (recheck or up not in self._missing):
                    out.add(up)
        return out

    def _upstream_signature(self, job: Job) -> tuple:
        out = []
        for up in job.upstream_ids:
            t = self._jobs.get(up)
            if t is not None:
                done = t.array.statuses.count(Status.SUCCEEDED) + t.array.statuses.count(Status.FAILED) \
                    if t.array is not None and job.dependency_type(up) == "N_TO_N" else None
                out.append((up, t.job.status, done))
        return tuple(out)

    async def _sync(self, job_id: str, t: _Tracked) -> None:
        tracker = t.array
        job = t.job
        if tracker is None or job.gone:
            return
        summary = job.status_summary or None
        # Without retries every move is forward, so any move changes the summary's counts: the counts are the key.
        # With retries moves can cancel out (RUNNING→RUNNABLE→…→RUNNING), so the summary's time joins the key.
        key = (job.status, tuple(sorted((job.status_summary or {}).items())),
               job.summary_updated_at if tracker.retries else None)
        if job.status is Status.SUCCEEDED:
            tracker.mark_all(Status.SUCCEEDED, key)  # a parent succeeds only when every child did
            return
        fresh = key != tracker.synced_key
        # AWS refreshes the summary only now and then; what we saw happen upstream is news it does not have yet
        # (JobA succeeding starts JobB's children; B:i finishing moves C:i on an N_TO_N edge).
        upstream = self._upstream_signature(job)
        moved_upstream = upstream != tracker.synced_upstream
        if not fresh and not moved_upstream and not tracker.dirty and (summary is not None or job.status.terminal):
            return  # nothing moved since the last clean sync
        previous_upstream, tracker.synced_upstream = tracker.synced_upstream, upstream
        # Guesses are checked against the summary, so only a summary AWS refreshed since our last sync will do
        # (a parent that changed status under an old summary is news the summary does not have).
        # Nor when an upstream job changed status: its news (JobA succeeded) may be newer than the summary.
        # (An N_TO_N partner's steady progress is not such news: C's summary keeps up with it as well as B's.)
        summary_sig = (key[1], job.summary_updated_at)
        upstream_status_moved = [u[:2] for u in upstream] != [u[:2] for u in (previous_upstream or ())]
        speculate = summary is not None and summary_sig != tracker.synced_summary and not upstream_status_moved
        tracker.synced_summary = summary_sig
        plan = tracker.plan(summary, speculate, page=CHILD_PAGE)  # this module's CHILD_PAGE: tests shrink it
        obs = Observations(tracker.size)
        for status in plan.listed:
            await self._list_children(job_id, status, obs)
        result = tracker.resolve(obs, plan, summary)
        if not plan.exact and not result.counts_agree:
            # The summary does not back what we inferred on trust: list what was skipped, one bucket at a time
            # (which, and in what order: ArrayTracker.rechecks), until the counts agree.
            more, kept = tracker.rechecks(plan, summary)
            listed = list(plan.listed)
            while more and not result.counts_agree:
                status = more.pop(0)
                await self._list_children(job_id, status, obs)
                listed.append(status)
                plan = plan.relisted(listed, more + ([kept] if kept is not None else []))
                result = tracker.resolve(obs, plan, summary)
            if kept is not None and not result.counts_agree:
                # Accepted on a late summary: the costly bucket's unseen members are where they were.
                result = tracker.resolve(obs, plan, summary, stay=True)
        tracker.commit(result, obs, key, plan)
        self.syncs += 1

    async def _list_children(self, job_id: str, status: Status, obs: Observations) -> None:
        kwargs: dict[str, Any] = {"arrayJobId": job_id, "jobStatus": status.name, "maxResults": CHILD_PAGE}
        async for page in list_pages(self.api, kwargs):
            for s in summaries(page):
                obs.add(s, status)

    # -- snapshots -------------------------------------------------------------------------------------------

    def _snapshot(self, calls0: int) -> Snapshot:
        jobs = [self._job_view(t) for t in self._jobs.values() if t.visible]
        pipelines = build_pipelines(jobs)
        return Snapshot(capacity=self._world, worlds=MappingProxyType(dict(self._worlds)),
            queue=self.queue, polled_at=self._now(), api_calls=self.api.calls - calls0,
            jobs=ordered_jobs(pipelines, jobs), pipelines=pipelines, region=self.region, endpoint=self.endpoint,
            profile=getattr(self.api, "profile", None) or os.environ.get("AWS_PROFILE"),
            total_api_calls=self.api.calls, throttled_calls=self.api.throttled,
            log_note=self.sampler.note if self.sampler is not None else None)

    def _job_view(self, t: _Tracked) -> Job:
        # ArrayTracker.state() reuses its frozen copy while the array is unchanged: big arrays are not copied
        # on every refresh.
        job = t.job
        return dataclasses.replace(
            job, array=t.array.state() if t.array else None,
            stale_since=t.synced_at if t.sync_error else job.stale_since,
            stale_error=t.sync_error if t.sync_error else job.stale_error,
            log_samples=self.sampler.samples(job.job_id) if self.sampler is not None else job.log_samples)

