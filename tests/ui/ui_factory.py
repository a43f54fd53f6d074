"""Hand-built, deterministic Snapshots for the UI tests (no simulator, no I/O), and a scripted data source.

`reference()` is the reference pipeline half-way through a run: JobA SUCCEEDED, JobB (an array) with a mix of
SUCCEEDED/RUNNING/RUNNABLE/FAILED children, JobC following it N_TO_N, JobD SEQUENTIAL of 10, JobE plain. The same
arguments always give the same snapshot, so snapshot tests (SVG) are stable.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from batchtui.aws import read_job_descriptions, read_log_page
from batchtui.model import (
    ArrayState,
    Attempt,
    Dependency,
    IndexDetail,
    Job,
    JobDescription,
    LogPage,
    Snapshot,
    Status,
    build_pipelines,
    ordered_jobs,
)
from batchtui.shapes import container_overrides, retry_strategy

T0 = datetime(2026, 11, 25, 3, 0, 0, tzinfo=UTC)
POLLED_AT = T0 + timedelta(minutes=52)
NOW = POLLED_AT + timedelta(seconds=3)  # the frozen clock of every test: "updated 3s ago"
QUEUE = "ProdQueue"
REGION = "us-east-1"

OOM = "OutOfMemoryError: Container killed due to memory usage"
ESSENTIAL = "Essential container in task exited"
DEP_FAILED = "Dependent Job failed"


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def at(minutes: float) -> int:
    """Epoch ms `minutes` after T0."""
    return ms(T0 + timedelta(minutes=minutes))


def job_id(name: str) -> str:
    # Stable, realistic-looking ids: tests and SVGs must not change from run to run.
    return {"JobA": "5f1c0e2a-0a0a-4a6e-9d1e-aaaaaaaa0001", "JobB": "7b2d1f3b-1b1b-4b7f-8e2f-bbbbbbbb0002",
            "JobC": "9c3e2a4c-2c2c-4c80-9f30-cccccccc0003", "JobD": "ad4f3b5d-3d3d-4d91-a041-dddddddd0004",
            "JobE": "be504c6e-4e4e-4ea2-b152-eeeeeeee0005"}.get(name, f"00000000-0000-4000-8000-{name:0>12}"[-36:])


def definition(name: str, title: str) -> str:
    return f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}-{title}:1"


def plain(name: str, status: Status, *, depends: Sequence[Dependency] = (), created: float = 0.0,
          started: float | None = None, stopped: float | None = None, exit_code: int | None = None,
          reason: str | None = None, status_reason: str | None = None, **extra) -> Job:
    return Job(job_id=job_id(name), job_name=name, status=status, queue=QUEUE,
               job_definition=definition(name, "task"), created_at=at(created),
               started_at=at(started) if started is not None else None,
               stopped_at=at(stopped) if stopped is not None else None, exit_code=exit_code, reason=reason,
               status_reason=status_reason, depends_on=tuple(depends),
               log_stream=f"{name}-task/default/{job_id(name)[:8]}" if started is not None else None, **extra)


def _b_statuses(size: int, rng: random.Random) -> tuple[bytearray, dict[int, IndexDetail]]:
    """JobB: lower indices done, a running band, a RUNNABLE tail; a few failures, mostly OOM (exit 137)."""
    statuses = bytearray([Status.RUNNABLE]) * size
    details: dict[int, IndexDetail] = {}
    done_until = int(size * 0.78)
    running_until = int(size * 0.85)
    for i in range(size):
        r = rng.random()
        if i < done_until:
            st = Status.RUNNING if r < 0.01 else Status.SUCCEEDED
        elif i < running_until:
            st = Status.SUCCEEDED if r < 0.25 else (Status.STARTING if r < 0.28 else Status.RUNNING)
        else:
            st = Status.RUNNING if r < 0.02 else Status.RUNNABLE
        statuses[i] = st
        start = 7 + 40 * i / size + rng.random() * 2
        if st is Status.SUCCEEDED and i % 7 == 0:  # the poller only holds details it described
            details[i] = IndexDetail(i, exit_code=0, started_at=at(start), stopped_at=at(start + 3 + rng.random()),
                                     log_stream=f"JobB/default/{i:05d}")
        elif st is Status.RUNNING:
            details[i] = IndexDetail(i, started_at=at(start), log_stream=f"JobB/default/{i:05d}")
    failures = rng.sample(range(running_until), max(2, size // 270))
    for n, i in enumerate(sorted(failures)):
        statuses[i] = Status.FAILED
        start = 7 + 40 * i / size
        exit_code, reason = (137, OOM) if n % 4 else (1, ESSENTIAL)
        details[i] = IndexDetail(i, exit_code=exit_code, reason=reason, status_reason=ESSENTIAL,
                                 started_at=at(start), stopped_at=at(start + 2.5), log_stream=f"JobB/default/{i:05d}",
                                 attempts=(Attempt(exit_code, reason, ESSENTIAL, at(start), at(start + 2.5),
                                                   f"JobB/default/{i:05d}"),))
    return statuses, details


def _c_statuses(b: bytearray, rng: random.Random) -> tuple[bytearray, dict[int, IndexDetail]]:
    """JobC follows JobB N_TO_N: child i runs once B:i succeeded; fails at once when B:i failed."""
    size = len(b)
    statuses = bytearray([Status.PENDING]) * size
    details: dict[int, IndexDetail] = {}
    for i, sb in enumerate(b):
        if sb == Status.FAILED:
            statuses[i] = Status.FAILED
            details[i] = IndexDetail(i, status_reason=DEP_FAILED)
        elif sb == Status.SUCCEEDED:
            r = rng.random()
            statuses[i] = Status.SUCCEEDED if (i < size * 0.5 and r < 0.9) else (
                Status.RUNNING if r < 0.95 else Status.RUNNABLE)
            if statuses[i] == Status.RUNNING:
                details[i] = IndexDetail(i, started_at=at(30 + 20 * i / size), log_stream=f"JobC/default/{i:05d}")
    return statuses, details


def reference(size: int = 10_000, *, seed: int = 7, polled_at: datetime = POLLED_AT, api_calls: int = 14,
              total_api_calls: int = 1_203, throttled: int = 0, error: str | None = None,
              endpoint: str | None = None) -> Snapshot:
    """The reference pipeline 52 minutes into its run."""
    rng = random.Random(seed)
    a = plain("JobA", Status.SUCCEEDED, created=0, started=1, stopped=6, exit_code=0)
    b_st, b_det = _b_statuses(size, rng)
    c_st, c_det = _c_statuses(b_st, rng)
    b = Job(job_id=job_id("JobB"), job_name="JobB", status=Status.PENDING, queue=QUEUE,
            job_definition=definition("JobB", "CPU-Intensive-Processing"), created_at=at(0.1), started_at=at(7),
            array_size=size, depends_on=(Dependency(job_id("JobA")),), array=ArrayState.of(b_st, b_det),
            container_overrides=container_overrides({"resourceRequirements": [{"type": "MEMORY", "value": "4096"},
                                                                              {"type": "VCPU", "value": "32"}]}),
            retry_strategy=retry_strategy({"attempts": 1}))
    c = Job(job_id=job_id("JobC"), job_name="JobC", status=Status.PENDING, queue=QUEUE,
            job_definition=definition("JobC", "Memory-Intensive-Processing"), created_at=at(0.2), started_at=at(31),
            array_size=size, depends_on=(Dependency(job_id("JobB"), "N_TO_N"),), array=ArrayState.of(c_st, c_det),
            container_overrides=container_overrides({"resourceRequirements": [{"type": "MEMORY", "value": "32768"},
                                                                              {"type": "VCPU", "value": "1"}]}))
    d = Job(job_id=job_id("JobD"), job_name="JobD", status=Status.PENDING, queue=QUEUE,
            job_definition=definition("JobD", "Sequential-Validation"), created_at=at(0.3), array_size=10,
            depends_on=(Dependency(job_id("JobC")), Dependency(None, "SEQUENTIAL")),
            array=ArrayState.of(bytearray([Status.PENDING]) * 10, {}))
    e = plain("JobE", Status.PENDING, created=0.4, depends=(Dependency(job_id("JobD")),),
              parameters={"SourceBucket": "s3://JobD-Output-Bucket",
                          "Recipient": "pipeline-notifications@mycompany.com"})
    return snapshot([a, b, c, d, e], polled_at=polled_at, api_calls=api_calls, total_api_calls=total_api_calls,
                    throttled=throttled, error=error, endpoint=endpoint)


def snapshot(jobs: Iterable[Job], *, polled_at: datetime = POLLED_AT, api_calls: int = 3, total_api_calls: int = 40,
             throttled: int = 0, error: str | None = None, endpoint: str | None = None,
             stale_since: datetime | None = None) -> Snapshot:
    jobs = list(jobs)
    pipelines = build_pipelines(jobs)
    return Snapshot(queue=QUEUE, polled_at=polled_at, api_calls=api_calls, jobs=ordered_jobs(pipelines, jobs),
                    pipelines=pipelines, region=REGION, endpoint=endpoint, total_api_calls=total_api_calls,
                    throttled_calls=throttled, error=error, stale_since=stale_since)


def with_job(snap: Snapshot, job: Job, **changes) -> Snapshot:
    """snap with one job changed (a later refresh)."""
    jobs = [replace(j, **changes) if j.job_id == job.job_id else j for j in snap.jobs]
    return replace(snap, jobs=tuple(jobs), pipelines=build_pipelines(jobs))


def with_index(snap: Snapshot, name: str, index: int, status: Status, detail: IndexDetail | None = None,
               **changes) -> Snapshot:
    job = snap.by_name(name)
    assert job is not None and job.array is not None
    statuses = bytearray(job.array.statuses)
    statuses[index] = status
    details = dict(job.array.details)
    if detail is not None:
        details[index] = detail
    return with_job(snap, job, array=ArrayState.of(statuses, details), **changes)


def finished(snap: Snapshot, *, failed: bool) -> Snapshot:
    """Every job terminal: the pipeline is done."""
    jobs = []
    for j in snap.jobs:
        status = Status.FAILED if failed and j.job_name != "JobA" else Status.SUCCEEDED
        array = None
        if j.array is not None:
            array = ArrayState.of(bytearray([status]) * j.array.size, j.array.details)
        jobs.append(replace(j, status=status, array=array, stopped_at=at(90)))
    return replace(snap, jobs=tuple(jobs), polled_at=snap.polled_at + timedelta(minutes=40))


# --- other shapes: any pipeline a queue holds must render ----------------------------------------------------------


def fan_in() -> Snapshot:
    """Two roots feeding one job, and a second, separate two-job pipeline below."""
    jobs = [
        plain("Extract1", Status.SUCCEEDED, started=1, stopped=4, exit_code=0),
        plain("Extract2", Status.RUNNING, created=0.1, started=2),
        plain("Merge", Status.PENDING, created=0.2,
              depends=(Dependency(job_id("Extract1")), Dependency(job_id("Extract2")))),
        plain("Report", Status.PENDING, created=0.3, depends=(Dependency(job_id("Merge")),)),
        plain("Nightly", Status.FAILED, created=5, started=6, stopped=9, exit_code=2, reason="bad input"),
        plain("NightlyPost", Status.FAILED, created=5.1, depends=(Dependency(job_id("Nightly")),),
              status_reason=DEP_FAILED),
    ]
    return snapshot(jobs)


def plain_only(n: int = 4) -> Snapshot:
    """Independent plain jobs (no dependencies): n one-job pipelines."""
    states = [Status.SUCCEEDED, Status.RUNNING, Status.RUNNABLE, Status.FAILED, Status.SUBMITTED]
    jobs = [plain(f"Task{i}", states[i % len(states)], created=i, started=i + 1 if i % 5 in (0, 1, 3) else None,
                  stopped=i + 2 if i % 5 in (0, 3) else None, exit_code=0 if i % 5 == 0 else None) for i in range(n)]
    return snapshot(jobs)


def wide_chain(n: int = 12) -> Snapshot:
    """A chain longer than any terminal is wide: the graph must scroll or compress, never crash."""
    jobs = []
    for i in range(n):
        deps = (Dependency(job_id(f"Step{i - 1:02d}")),) if i else ()
        status = Status.SUCCEEDED if i < 3 else (Status.RUNNING if i == 3 else Status.PENDING)
        jobs.append(plain(f"Step{i:02d}", status, created=i * 0.1, depends=deps,
                          started=i + 1 if i <= 3 else None, stopped=i + 2 if i < 3 else None))
    return snapshot(jobs)


def empty() -> Snapshot:
    return snapshot([])


class ScriptedSource:
    """A data source that hands out prepared snapshots in order (the last one again once they run out).

    Implements the app's `Source` protocol without I/O; logs and descriptions come from dicts given to it.
    """

    def __init__(self, snapshots: Sequence[Snapshot | Exception], *, logs: dict[str, list[str]] | None = None,
                 described: dict[str, dict] | None = None) -> None:
        self.snapshots = list(snapshots)
        self.logs = logs or {}
        self.described = described or {}
        self.queue = QUEUE
        self.where = f"{REGION}"
        self.max_tps: float | None = 10.0
        self.refreshes = 0
        self.log_calls: list[tuple[str, str, str | None]] = []
        self.queues_asked: list[str] = []
        self.api = self  # the plan window reads the target queue's capacity through `source.api`
        self.capacity_reads: list[str] = []

    async def refresh(self) -> Snapshot:
        item = self.snapshots[min(self.refreshes, len(self.snapshots) - 1)]
        self.refreshes += 1
        if isinstance(item, Exception):
            raise item
        return replace(item, queue=self.queue)

    async def switch_queue(self, queue: str) -> None:
        self.queues_asked.append(queue)
        if queue == "NoSuchQueue":
            from batchtui.errors import UnknownQueue

            raise UnknownQueue(f"no job queue named {queue!r} in us-east-1")
        self.queue = queue

    async def check_queue(self, queue: str) -> dict:
        self.capacity_reads.append(f"queue {queue}")
        return {**PROD_QUEUE, "jobQueueName": queue, "jobQueueArn": f"{ARN}:job-queue/{queue}"}

    async def describe_compute_environments(self, refs: Sequence[str]) -> list[dict]:
        self.capacity_reads.append("environments " + ",".join(refs))
        return [PROD_CE, PROD_MEMORY_CE]

    async def describe_jobs(self, ids: Sequence[str]) -> list[dict]:
        return [self.described[i] for i in ids if i in self.described]

    # The Source's typed reads, over this double's raw answers as the real source reads AWS's (aws.read_*)
    async def describe(self, ids: Sequence[str]) -> list[JobDescription]:
        return await read_job_descriptions(self, ids)

    async def log_page(self, group: str, stream: str, next_token: str | None = None,
                       start_from_head: bool = True) -> LogPage:
        return await read_log_page(self, group, stream, next_token, start_from_head)

    async def get_log_events(self, group: str, stream: str, next_token: str | None = None,
                             start_from_head: bool = True) -> dict:
        self.log_calls.append((group, stream, next_token))
        lines = self.logs.get(stream)
        if lines is None:
            from batchtui.aws import LogStreamNotFound

            raise LogStreamNotFound(f"no log stream {stream!r} in {group!r} (not written yet, or expired)")
        start = int(next_token or 0)
        events = [{"timestamp": at(10) + n * 1000, "message": line} for n, line in enumerate(lines[start:], start)]
        return {"events": events, "nextForwardToken": str(len(lines))}


LOG_GROUP = "/aws/batch/prod-pipeline"


def described(snap: Snapshot) -> dict[str, dict]:
    """DescribeJobs answers (raw AWS shape) for the plain jobs and the FAILED indices of each array."""
    out: dict[str, dict] = {}
    for job in snap.jobs:
        base = {"jobQueue": f"arn:aws:batch:us-east-1:123456789012:job-queue/{QUEUE}",
                "jobDefinition": job.job_definition, "createdAt": job.created_at,
                "parameters": dict(job.parameters), "retryStrategy": {"attempts": 1}}
        if job.array is None:
            out[job.job_id] = {**base, "jobId": job.job_id, "jobName": job.job_name, "status": job.status.name,
                               "startedAt": job.started_at, "stoppedAt": job.stopped_at,
                               "container": {"exitCode": job.exit_code, "logStreamName": job.log_stream,
                                             "logConfiguration": {"logDriver": "awslogs",
                                                                  "options": {"awslogs-group": LOG_GROUP}}},
                               "attempts": []}
            continue
        for i in job.array.indices(Status.FAILED):
            d = job.array.details.get(i) or IndexDetail(i)
            out[f"{job.job_id}:{i}"] = {
                **base, "jobId": f"{job.job_id}:{i}", "jobName": job.job_name, "status": "FAILED",
                "statusReason": d.status_reason, "startedAt": d.started_at, "stoppedAt": d.stopped_at,
                "arrayProperties": {"index": i},
                "container": {"exitCode": d.exit_code, "reason": d.reason, "logStreamName": d.log_stream,
                              "resourceRequirements": job.container_overrides.request().get("resourceRequirements")
                              if job.container_overrides else None,
                              "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": LOG_GROUP}}},
                "attempts": [{"container": {"exitCode": a.exit_code, "reason": a.reason,
                                            "logStreamName": a.log_stream},
                              "startedAt": a.started_at, "stoppedAt": a.stopped_at, "statusReason": a.status_reason}
                             for a in d.attempts],
            }
    return out


def log_lines(stream: str, n: int = 40) -> list[str]:
    return [f"processing object {k} of s3://input/{stream.rsplit('/', 1)[-1]}" for k in range(n)] + [
        "Traceback (most recent call last):", '  File "/app/run.py", line 12, in <module>',
        "MemoryError: could not allocate 2147483648 bytes"]


def reference_source(size: int = 10_000, snapshots: Sequence[Snapshot | Exception] | None = None) -> ScriptedSource:
    """The reference snapshot with its DescribeJobs answers and a log for every failed index."""
    snap = reference(size)
    desc = described(snap)
    logs = {d["container"]["logStreamName"]: log_lines(d["container"]["logStreamName"])
            for d in desc.values() if d["container"].get("logStreamName")}
    return ScriptedSource(list(snapshots) if snapshots is not None else [snap], logs=logs, described=desc)


ARN = "arn:aws:batch:us-east-1:123456789012"
TINY_QUEUE = {"jobQueueName": QUEUE, "jobQueueArn": f"{ARN}:job-queue/{QUEUE}", "state": "ENABLED", "status": "VALID",
              "priority": 1,
              "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": f"{ARN}:compute-environment/TinyCE"}]}
TINY_CE = {"computeEnvironmentName": "TinyCE", "computeEnvironmentArn": f"{ARN}:compute-environment/TinyCE",
           "type": "MANAGED", "state": "ENABLED", "status": "VALID",
           "computeResources": {"type": "EC2", "minvCpus": 0, "maxvCpus": 256, "desiredvCpus": 0,
                                "instanceTypes": ["c6i.4xlarge"]}}


def tiny_world(*front: str):
    """ProdQueue on one environment that may launch only c6i.4xlarge (16 vCPU): JobB (32) and JobC (32 GiB) are
    stuck; `front` job ids (JOB or JOB:INDEX) head the queue."""
    from batchtui.capacity import World

    snapshot = {"frontOfQueue": {"jobs": [{"jobArn": f"{ARN}:job/{j}"} for j in front]}}
    return World.parse(TINY_QUEUE, [TINY_CE], snapshot)


def _environment(name: str, instance_types: list[str], max_vcpus: int) -> dict:
    return {"computeEnvironmentName": name, "computeEnvironmentArn": f"{ARN}:compute-environment/{name}",
            "type": "MANAGED", "state": "ENABLED", "status": "VALID",
            "computeResources": {"type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "desiredvCpus": 0,
                                 "instanceTypes": instance_types}}


# ProdQueue as the scripted source describes it: compute-optimised first, then memory-optimised instances
PROD_CE = _environment("ProdCE", ["c6i"], 256)
PROD_MEMORY_CE = _environment("ProdMemoryCE", ["r6i"], 512)
PROD_QUEUE = {"jobQueueName": QUEUE, "jobQueueArn": f"{ARN}:job-queue/{QUEUE}", "state": "ENABLED", "status": "VALID",
              "priority": 1, "computeEnvironmentOrder": [
                  {"order": 1, "computeEnvironment": PROD_CE["computeEnvironmentArn"]},
                  {"order": 2, "computeEnvironment": PROD_MEMORY_CE["computeEnvironmentArn"]}]}
