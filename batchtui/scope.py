"""The Snapshot an action needs, fetched with targeted calls (cheaper than polling the whole queue).

For `batchtui cancel|retry` (the dashboard plans from the poller's snapshot instead):
- DescribeJobs the targets (an id AWS does not know is UnknownJob: exit 1, one line);
- retry: also the jobs of the targets' queue created since the oldest target (ListJobs AFTER_CREATED_AT, then
  DescribeJobs for dependsOn and tags): the dependents `--downstream` follows, and earlier batchtui retries that
  must not be repeated – those sent to another queue by id (`follow`: what this machine's audit log says it
  submitted), kept when their retry-of chain ends at one of those jobs; and the targets' upstream jobs (whether
  they SUCCEEDED decides what the retry waits for);
- per-index state of the arrays concerned: a few ids → DescribeJobs them; otherwise ListJobs arrayJobId+jobStatus
  (a finished parent needs only its FAILED children listed: every other child SUCCEEDED).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from batchtui.aws import BatchPort
from batchtui.errors import UnknownJob
from batchtui.limits import CHILD_PAGE, FILTER_PAGE
from batchtui.model import (
    AWS_STATUSES,
    ArrayState,
    Job,
    Snapshot,
    Status,
    build_pipelines,
    ordered_jobs,
    retry_roots,
    split_child_id,
)
from batchtui.plan import KIND_RETRY, Selection
from batchtui.poller import list_pages
from batchtui.shapes import Answer, child_index, child_status, fields_from_detail, job_id_of, summaries

MAX_QUEUE_PAGES = 50  # 5,000 top-level jobs created since the target: more is not a pipeline
DESCRIBE_CHILDREN_UP_TO = 100  # fewer selected indices than this: DescribeJobs them instead of listing
UPSTREAM_ROUNDS = 4


async def snapshot_for(api: BatchPort, selections: Sequence[Selection], kind: str, *,
                       region: str | None = None, endpoint: str | None = None,
                       follow: Sequence[str] = ()) -> Snapshot:
    calls0 = getattr(api, "calls", 0)
    jobs: dict[str, Job] = {}
    targets = list(dict.fromkeys(s.job_id for s in selections))
    await _describe_into(api, targets, jobs)
    missing = [t for t in targets if t not in jobs]
    if missing:
        where = f" at {endpoint}" if endpoint else f" in {region}" if region else ""
        raise UnknownJob(f"no job {missing[0]!r}{where}" + (f" (nor {len(missing) - 1} more)" if len(missing) > 1
                                                             else "") + " (check the id, --region and --profile)")
    if kind == KIND_RETRY:
        await _related(api, [jobs[t] for t in targets], jobs)
        await _followed(api, follow, jobs)
    await _upstreams(api, jobs)
    arrays = _arrays_concerned(jobs, targets, kind)
    children = await _children(api, jobs, arrays, selections)
    views = [dataclasses.replace(j, array=children.get(j.job_id)) for j in jobs.values()]
    pipelines = build_pipelines(views)
    queue = next((jobs[t].queue for t in targets if jobs[t].queue), None) or ""
    return Snapshot(queue=queue, polled_at=datetime.now(UTC), api_calls=getattr(api, "calls", 0) - calls0,
                    jobs=ordered_jobs(pipelines, views), pipelines=pipelines, region=region, endpoint=endpoint)


def job_from_detail(d: Answer) -> Job:
    return Job(job_id=str(d["jobId"]), **fields_from_detail(d))


async def _describe_into(api: BatchPort, ids: Iterable[str], jobs: dict[str, Job]) -> None:
    wanted = [i for i in dict.fromkeys(ids) if i not in jobs]
    if not wanted:
        return
    for d in await api.describe_jobs(wanted):
        found = job_id_of(d) if isinstance(d, Mapping) else None
        if found:
            jobs[found] = job_from_detail(d)


async def _related(api: BatchPort, targets: list[Job], jobs: dict[str, Job]) -> None:
    """Top-level jobs of the targets' queues created since the oldest target: dependents and earlier retries."""
    by_queue: dict[str, int] = {}
    for t in targets:
        if t.queue and t.created_at is not None:
            by_queue[t.queue] = min(by_queue.get(t.queue, t.created_at), t.created_at)
    found: list[str] = []
    for queue, since in by_queue.items():
        kwargs: dict[str, Any] = {"jobQueue": queue, "maxResults": FILTER_PAGE,
                                  "filters": [{"name": "AFTER_CREATED_AT", "values": [str(since - 1)]}]}
        pages = 0
        async for page in list_pages(api, kwargs):
            # Top-level jobs only: a child here (moto lists them with their parents) is no job of its own.
            found += [i for s in summaries(page) if (i := job_id_of(s)) and child_index(s) is None]
            pages += 1
            if pages >= MAX_QUEUE_PAGES:
                break
    await _describe_into(api, found, jobs)


async def _followed(api: BatchPort, ids: Sequence[str], jobs: dict[str, Job]) -> None:
    """Retries this machine sent that no listing found (another queue): kept only when their retry-of chain ends at
    a job found otherwise, so a second `batchtui retry` sees the first one wherever it went."""
    wanted = [i for i in dict.fromkeys(ids) if i not in jobs and split_child_id(i)[1] is None]
    if not wanted:
        return
    ours = set(jobs)
    await _describe_into(api, wanted, jobs)
    roots = retry_roots(jobs.values())
    for i in wanted:
        if i in jobs and roots.get(i) not in ours:
            del jobs[i]


async def _upstreams(api: BatchPort, jobs: dict[str, Job]) -> None:
    """Describe the jobs our jobs depend on (their status decides whether a retry still waits for them)."""
    for _ in range(UPSTREAM_ROUNDS):
        unknown = {split_child_id(u)[0] for j in jobs.values() for u in j.upstream_ids} - set(jobs)
        if not unknown:
            return
        before = len(jobs)
        await _describe_into(api, sorted(unknown), jobs)
        if len(jobs) == before:  # gone (retention) or in another account: the planner says so
            return


def _arrays_concerned(jobs: Mapping[str, Job], targets: list[str], kind: str) -> list[str]:
    """Arrays whose per-index state the plan reads: the targets; for retry also their pipeline's arrays and the
    batchtui retries of those (a failed retry's children are what a new retry re-runs)."""
    out = [t for t in targets if jobs[t].is_array]
    if kind == KIND_RETRY:
        pipelines = build_pipelines(jobs.values())
        members = {j for p in pipelines if any(t in p.job_ids for t in targets) for j in p.job_ids}
        members |= {r for r, root in retry_roots(jobs.values()).items() if root in members or root in targets}
        out += [j for j in sorted(members) if jobs[j].is_array and j not in out]
    return out


async def _children(api: BatchPort, jobs: Mapping[str, Job], arrays: list[str],
                    selections: Sequence[Selection]) -> dict[str, ArrayState]:
    picked: dict[str, set[int] | None] = {}
    for s in selections:
        old = picked.get(s.job_id, set())
        picked[s.job_id] = None if s.indices is None or old is None else old | set(s.indices)
    out: dict[str, ArrayState] = {}
    for job_id in arrays:
        job = jobs[job_id]
        size = job.array_size or 0
        if size < 1:
            continue
        few = picked.get(job_id)
        if job.status is Status.SUCCEEDED:  # a parent succeeds only when every child did
            out[job_id] = ArrayState.of(bytes([Status.SUCCEEDED]) * size)
        elif few is not None and len(few) <= DESCRIBE_CHILDREN_UP_TO:
            out[job_id] = await _describe_children(api, job_id, size, sorted(few))
        else:
            out[job_id] = await _list_children(api, job, size)
    return out


async def _describe_children(api: BatchPort, job_id: str, size: int, indices: list[int]) -> ArrayState:
    states = bytearray([Status.UNKNOWN]) * size
    wanted = [f"{job_id}:{i}" for i in indices if 0 <= i < size]
    for d in await api.describe_jobs(wanted):
        i = child_index(d)
        if i is not None and 0 <= i < size:
            states[i] = child_status(d)
    return ArrayState.of(states)


async def _list_children(api: BatchPort, job: Job, size: int) -> ArrayState:
    # A finished parent has only finished children: list the FAILED ones, the rest SUCCEEDED.
    finished = job.status is Status.FAILED
    states = bytearray([Status.SUCCEEDED if finished else Status.UNKNOWN]) * size
    for status in ([Status.FAILED] if finished else AWS_STATUSES):
        kwargs: dict[str, Any] = {"arrayJobId": job.job_id, "jobStatus": status.name, "maxResults": CHILD_PAGE}
        async for page in list_pages(api, kwargs):
            for s in summaries(page):
                i = child_index(s)
                if i is not None and 0 <= i < size:
                    states[i] = status
    return ArrayState.of(states)
