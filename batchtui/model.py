"""The data every view reads: statuses, jobs, per-index array state, snapshots, the pipeline graph.

Pure and immutable: no I/O, no Textual. The poller builds these; headless output, analysis, actions and the UI read
them. A Snapshot is never mutated after it is made, so a view can hold one while the next refresh runs.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # capacity.py builds on this module
    from batchtui.capacity import World

class Status(IntEnum):
    """A Batch job status; the value is its byte in ArrayState.statuses, in lifecycle order."""

    SUBMITTED = 0
    PENDING = 1
    RUNNABLE = 2
    STARTING = 3
    RUNNING = 4
    SUCCEEDED = 5
    FAILED = 6
    UNKNOWN = 7  # an index not seen yet, or a status string this version does not know

    @classmethod
    def parse(cls, text: str | None) -> Status:
        """Never raises: an answer with a status we do not know must not crash a monitor."""
        try:
            return cls[text] if text else cls.UNKNOWN
        except KeyError:
            return cls.UNKNOWN

    @property
    def terminal(self) -> bool:
        return self in (Status.SUCCEEDED, Status.FAILED)

    @property
    def active(self) -> bool:
        """Holding or about to hold compute: what TerminateJob (not CancelJob) is for."""
        return self in (Status.STARTING, Status.RUNNING)


# The seven statuses AWS reports, in order: the keys of childCounts and statusSummary.
AWS_STATUSES: tuple[Status, ...] = tuple(s for s in Status if s is not Status.UNKNOWN)
TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED})


class DependencyType:
    STANDARD = None  # AWS omits `type` for a standard dependency
    N_TO_N = "N_TO_N"
    SEQUENTIAL = "SEQUENTIAL"


# Lineage: what a batchtui retry re-runs. The tag names the job it re-runs (an original or an earlier retry); the
# environment variable tells a retry's children which original index each re-runs (child i: the i-th), or, for a
# plain job re-running one index, which one. Indices are always the original's (a retry of a retry keeps them).
RETRY_OF_TAG = "batchtui:retry-of"
INDEX_ENV = "BATCHTUI_ARRAY_INDEX"
INDICES_ENV = "BATCHTUI_ARRAY_INDICES"


@dataclass(frozen=True, slots=True)
class Dependency:
    """One dependsOn entry. SEQUENTIAL entries have no job_id; a standard one has type None."""

    job_id: str | None
    type: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    exit_code: int | None = None
    reason: str | None = None  # container.reason
    status_reason: str | None = None
    started_at: int | None = None  # epoch ms, as AWS gives them
    stopped_at: int | None = None
    log_stream: str | None = None


@dataclass(frozen=True, slots=True)
class IndexDetail:
    """What is known of one array child beyond its status byte. Kept only for indices that have one."""

    index: int
    exit_code: int | None = None
    reason: str | None = None  # container.reason
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    attempts: tuple[Attempt, ...] = ()  # only once DescribeJobs was asked for this child
    log_stream: str | None = None


# --- what a resubmission carries over (SubmitJob's retryStrategy, timeout, containerOverrides) -------------------
# Each record is read by shapes.py and gives back its SubmitJob request shape with `request()`. A key AWS answers
# that this version does not know, or a known one whose value is not of its documented shape, is kept verbatim in
# `extra` and sent back as it came: a resubmission must not silently drop what the original ran with.


def plain(value: object) -> object:
    """A deep copy as plain dicts/lists (MappingProxyType and tuples are not what botocore wants)."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _empty() -> Mapping[str, object]:
    return MappingProxyType({})


def _request(known: Mapping[str, object], extra: Mapping[str, object]) -> dict[str, object]:
    """The request shape: every known field that is set (None: not given), then `extra`."""
    out = {k: v for k, v in known.items() if v is not None}
    out.update({k: plain(v) for k, v in extra.items() if k not in out})
    return out


@dataclass(frozen=True, slots=True)
class Resource:
    """One resourceRequirements entry: VCPU 2, MEMORY 4096, GPU 1."""

    type: str | None
    value: str | None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        return _request({"type": self.type, "value": self.value}, self.extra)


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str | None
    value: str | None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        return _request({"name": self.name, "value": self.value}, self.extra)


@dataclass(frozen=True, slots=True)
class ContainerSettings:
    """What a container runs with (DescribeJobs' container, or a job's containerOverrides); empty when not given."""

    resources: tuple[Resource, ...] = ()
    command: tuple[str, ...] = ()
    environment: tuple[EnvVar, ...] = ()
    vcpus: int | None = None
    memory: int | None = None  # MiB
    instance_type: str | None = None

    def __bool__(self) -> bool:
        return bool(self.resources or self.command or self.environment or self.vcpus or self.memory
                    or self.instance_type)


@dataclass(frozen=True, slots=True)
class ExitRule:
    """One retryStrategy.evaluateOnExit entry: `action` (RETRY or EXIT, any case) when all the given globs match."""

    action: str | None = None
    on_status_reason: str | None = None
    on_reason: str | None = None
    on_exit_code: str | None = None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        return _request({"action": self.action, "onStatusReason": self.on_status_reason,
                         "onReason": self.on_reason, "onExitCode": self.on_exit_code}, self.extra)


@dataclass(frozen=True, slots=True)
class RetryStrategy:
    """A job's retryStrategy: attempts (1-10) and up to 5 evaluateOnExit rules (None: not given)."""

    attempts: int | None = None
    evaluate_on_exit: tuple[ExitRule, ...] | None = None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        rules = None if self.evaluate_on_exit is None else [r.request() for r in self.evaluate_on_exit]
        return _request({"attempts": self.attempts, "evaluateOnExit": rules}, self.extra)

    def __bool__(self) -> bool:  # an empty retryStrategy is as good as none (AWS omits it)
        return bool(self.request())


@dataclass(frozen=True, slots=True)
class JobTimeout:
    """A job's timeout: attemptDurationSeconds (None: not given)."""

    attempt_duration_s: int | None = None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        return _request({"attemptDurationSeconds": self.attempt_duration_s}, self.extra)

    def __bool__(self) -> bool:
        return bool(self.request())


@dataclass(frozen=True, slots=True)
class ContainerOverrides:
    """A SubmitJob containerOverrides – or what a resubmission takes of DescribeJobs' container. Each field None
    when not given (an empty command is not an absent one); vcpus and memory (MiB) are AWS's deprecated forms of
    resourceRequirements' VCPU and MEMORY."""

    command: tuple[str, ...] | None = None
    environment: tuple[EnvVar, ...] | None = None
    resources: tuple[Resource, ...] | None = None  # resourceRequirements
    instance_type: str | None = None
    vcpus: int | None = None
    memory: int | None = None
    extra: Mapping[str, object] = field(default_factory=_empty)

    def request(self) -> dict[str, object]:
        return _request({
            "command": None if self.command is None else list(self.command),
            "environment": None if self.environment is None else [e.request() for e in self.environment],
            "resourceRequirements": None if self.resources is None else [r.request() for r in self.resources],
            "instanceType": self.instance_type, "vcpus": self.vcpus, "memory": self.memory}, self.extra)

    def env(self, name: str) -> str | None:
        """The value of the environment variable `name` (None: not set)."""
        return next((e.value for e in self.environment or () if e.name == name), None)

    def settings(self) -> ContainerSettings:
        """As the detail view shows a container."""
        return ContainerSettings(resources=self.resources or (), command=self.command or (),
                                 environment=self.environment or (), vcpus=self.vcpus or None,
                                 memory=self.memory or None, instance_type=self.instance_type)

    def __bool__(self) -> bool:
        return bool(self.request())


@dataclass(frozen=True, slots=True)
class RetryTimeout:
    """retryStrategy.attempts and timeout.attemptDurationSeconds; `has_retry`/`has_timeout`: the shape was given
    (an empty one counts as not given, as AWS omits it)."""

    has_retry: bool = False
    attempts: int | None = None
    has_timeout: bool = False
    timeout_s: int | None = None


@dataclass(frozen=True, slots=True)
class JobDescription:
    """One DescribeJobs answer, as the detail view shows it. `log_group` is the awslogs group of an awslogs
    container (None: another driver, or not named)."""

    job_id: str
    job_name: str | None
    status: Status
    status_reason: str | None = None
    job_definition: str | None = None
    queue: str | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    created_at: int | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    exit_code: int | None = None  # container.exitCode
    reason: str | None = None  # container.reason
    log_stream: str | None = None  # container.logStreamName, else the latest attempt's that has one
    log_group: str | None = None
    container: ContainerSettings = ContainerSettings()
    attempts: tuple[Attempt, ...] | None = None  # None: the answer has no `attempts` at all
    retry_timeout: RetryTimeout = RetryTimeout()


@dataclass(frozen=True, slots=True)
class LogEvent:
    timestamp: int | None  # epoch ms
    message: str


@dataclass(frozen=True, slots=True)
class LogPage:
    """One GetLogEvents page."""

    events: tuple[LogEvent, ...]
    next_token: str | None


@dataclass(frozen=True, slots=True)
class LogSample:
    """The last error line of one failed attempt's log, read once for triage (logsample.py): a finished attempt's
    log never changes. `line` is None when the log held nothing usable (empty, binary) or could not be read."""

    stream: str
    line: str | None


@dataclass(frozen=True, slots=True)
class ArrayState:
    """Per-index state of one array job: a byte per index (a Status value), plus sparse details."""

    statuses: bytes
    details: Mapping[int, IndexDetail] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, statuses: bytes | bytearray, details: Mapping[int, IndexDetail] | None = None) -> ArrayState:
        """Freeze mutable poller state into an immutable view (copies, so the poller can go on mutating)."""
        return cls(bytes(statuses), MappingProxyType(dict(details or {})))

    @property
    def size(self) -> int:
        return len(self.statuses)

    def status(self, index: int) -> Status:
        return Status(self.statuses[index])

    def count(self, status: Status) -> int:
        return self.statuses.count(status)

    def counts(self) -> dict[str, int]:
        """childCounts: every AWS status by name, zeros included (UNKNOWN only when some index is unknown)."""
        counts = {s.name: self.statuses.count(s) for s in AWS_STATUSES}
        unknown = self.statuses.count(Status.UNKNOWN)
        if unknown:
            counts[Status.UNKNOWN.name] = unknown
        return counts

    def indices(self, *statuses: Status) -> list[int]:
        wanted = {int(s) for s in statuses}
        return [i for i, b in enumerate(self.statuses) if b in wanted]

    def finished(self) -> int:
        return self.statuses.count(Status.SUCCEEDED) + self.statuses.count(Status.FAILED)


@dataclass(frozen=True, slots=True)
class Job:
    """A top-level job (plain job or array parent) as the poller last saw it."""

    job_id: str
    job_name: str
    status: Status
    queue: str | None = None  # queue ARN or name
    job_definition: str | None = None  # ARN
    created_at: int | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    status_reason: str | None = None
    exit_code: int | None = None  # plain jobs: container.exitCode
    reason: str | None = None  # plain jobs: container.reason
    array_size: int | None = None  # None for a plain job
    depends_on: tuple[Dependency, ...] = ()
    attempts: tuple[Attempt, ...] = ()
    log_stream: str | None = None
    # AWS's own (lagging) statusSummary of an array parent and when AWS last refreshed it (epoch ms)
    status_summary: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    summary_updated_at: int | None = None
    array: ArrayState | None = None  # per-index state the poller holds (array jobs only)
    # The describe-only fields actions need to resubmit a job faithfully (shapes.fields_from_detail).
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    container_overrides: ContainerOverrides | None = None
    retry_strategy: RetryStrategy | None = None
    timeout: JobTimeout | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    is_cancelled: bool = False
    is_terminated: bool = False
    gone: bool = False  # no longer returned by AWS (retention): this is its last known state
    stale_since: datetime | None = None  # set when this refresh could not read the array: `array` is as of then
    stale_error: str | None = None  # why it could not
    # Failed attempts' last log lines read so far, by index (None for a plain job): triage's signatures
    log_samples: Mapping[int | None, LogSample] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def is_array(self) -> bool:
        return self.array_size is not None

    @property
    def retry_of(self) -> str | None:
        """The job this one re-runs, when batchtui submitted it as a retry (its lineage tag)."""
        return (self.tags or {}).get(RETRY_OF_TAG) or None

    @property
    def upstream_ids(self) -> tuple[str, ...]:
        return tuple(d.job_id for d in self.depends_on if d.job_id)

    @property
    def sequential(self) -> bool:
        return any(d.type == DependencyType.SEQUENTIAL for d in self.depends_on)

    def dependency_type(self, upstream_id: str) -> str | None:
        for d in self.depends_on:
            if d.job_id == upstream_id:
                return d.type
        return None


@dataclass(frozen=True, slots=True)
class Cancel:
    """A CancelJobs/TerminateJobs that batchtui sent and AWS accepted: who asked, when, for what. AWS takes a while
    to move the work to FAILED (a PENDING child only once its dependency finishes); until then the screens say
    "cancelling" from this record instead of the outlook the statuses alone would give."""

    job_id: str
    job_name: str
    indices: tuple[int, ...] | None  # None: the whole job (an array parent cascades to its children)
    at: datetime  # when AWS accepted it
    terminate: bool  # TerminateJobs (running work is stopped) rather than CancelJobs
    by: str = "you"  # "you" when this batchtui sent it

    def __post_init__(self) -> None:
        # sorted, so one cancel reads equal whichever record it comes from (the plan's order live, the order AWS
        # answered in the audit log): merged, it is shown once
        if self.indices is not None:
            object.__setattr__(self, "indices", tuple(sorted(self.indices)))


@dataclass(frozen=True, slots=True)
class Edge:
    upstream: str  # job id
    downstream: str  # job id
    type: str | None  # None (standard) or N_TO_N


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A connected component of the dependency graph, its jobs in dependency order."""

    job_ids: tuple[str, ...]  # topological order, ties broken by createdAt then name
    edges: tuple[Edge, ...]
    depth: Mapping[str, int]  # longest path from a root: the column a graph view puts the job in


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one refresh found. `jobs` holds pipeline members in dependency order."""

    queue: str
    polled_at: datetime  # timezone-aware UTC
    api_calls: int  # calls this refresh made
    jobs: tuple[Job, ...]
    pipelines: tuple[Pipeline, ...] = ()
    region: str | None = None
    endpoint: str | None = None
    profile: str | None = None  # the AWS profile the client was opened with (or AWS_PROFILE)
    total_api_calls: int = 0  # since the poller started
    throttled_calls: int = 0  # since the poller started
    error: str | None = None  # set when this refresh failed: jobs are then the last good state
    stale_since: datetime | None = None  # when the data last was fresh, if this refresh failed
    error_kind: str | None = None  # errors.kind_of(the error): "credentials" needs the person, not a retry
    capacity: World | None = None  # the queue's compute environments and front, read while work is RUNNABLE
    loading: bool = False  # the first refresh is still reading arrays: indices not read yet are UNKNOWN
    log_note: str | None = None  # why failure signatures come from reasons only ("no permission for logs:…")
    cancels: tuple[Cancel, ...] = ()  # cancels this batchtui sent and AWS accepted (the dashboard adds them)
    # The worlds of the other queues that hold RUNNABLE work we show (a retry followed into OtherQueue, a dependency
    # in another queue), by queue name; `capacity` stays the watched queue's.
    worlds: Mapping[str, World] = field(default_factory=lambda: MappingProxyType({}))
    # lineage.effective: an original whose RUNNABLE indices all wait in a retry → that retry (as AWS has it), so
    # the effective view is diagnosed where that work waits (the retry's queue, its resources), not the original's.
    waits_in: Mapping[str, Job] = field(default_factory=lambda: MappingProxyType({}))

    def job(self, job_id: str) -> Job | None:
        return self._index().get(job_id)

    def by_name(self, name: str) -> Job | None:
        return next((j for j in self.jobs if j.job_name == name), None)

    def downstream_of(self, job_id: str) -> list[Job]:
        """Jobs that depend directly on job_id."""
        return [j for j in self.jobs if job_id in j.upstream_ids]

    def pipeline_of(self, job_id: str) -> Pipeline | None:
        return next((p for p in self.pipelines if job_id in p.job_ids), None)

    def _index(self) -> dict[str, Job]:
        # frozen+slots forbids caching on the instance; a linear map build is cheap for tens of jobs
        return {j.job_id: j for j in self.jobs}

    @property
    def done(self) -> bool:
        """Every job has reached SUCCEEDED or FAILED (and there is at least one)."""
        return bool(self.jobs) and all(j.status.terminal for j in self.jobs)

    @property
    def failed(self) -> bool:
        return any(j.status is Status.FAILED for j in self.jobs)


def retry_roots(jobs: Iterable[Job]) -> dict[str, str]:
    """Retry id → the original it re-runs in the end (through retries of retries), for the retries whose original
    is among `jobs`. A retry whose original is not there (AWS no longer returns it) is not in the map."""
    by_id = {j.job_id: j for j in jobs}
    roots: dict[str, str] = {}
    for job in by_id.values():
        seen = {job.job_id}
        up = job.retry_of
        while up is not None and up in by_id and up not in seen:  # a cycle can only be hand-made tags
            seen.add(up)
            if by_id[up].retry_of is None:
                roots[job.job_id] = up
                break
            up = by_id[up].retry_of
    return roots


def build_pipelines(jobs: Iterable[Job]) -> tuple[Pipeline, ...]:
    """Group jobs into connected components over dependsOn edges, each in dependency order.

    Dependencies on jobs not in `jobs` are ignored here (the poller follows them and includes them when it can).
    Components are ordered by their earliest createdAt, so the oldest pipeline comes first. Retries whose original
    is among `jobs` are no pipeline's members: they belong to their original's node (see lineage.py).
    """
    jobs = list(jobs)
    folded = retry_roots(jobs)
    jobs = [j for j in jobs if j.job_id not in folded]
    by_id = {j.job_id: j for j in jobs}
    parent = {j.job_id: j.job_id for j in jobs}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    edges: list[Edge] = []
    for j in jobs:
        for d in j.depends_on:
            if d.job_id and d.job_id in by_id:
                edges.append(Edge(d.job_id, j.job_id, d.type))
                parent[find(d.job_id)] = find(j.job_id)

    groups: dict[str, list[Job]] = {}
    for j in jobs:
        groups.setdefault(find(j.job_id), []).append(j)

    pipelines = [_pipeline(members, edges) for members in groups.values()]
    pipelines.sort(key=lambda p: min((by_id[j].created_at or 0) for j in p.job_ids))
    return tuple(pipelines)


def _pipeline(members: list[Job], all_edges: list[Edge]) -> Pipeline:
    ids = {j.job_id for j in members}
    edges = tuple(e for e in all_edges if e.downstream in ids)
    ups: dict[str, list[str]] = {j: [] for j in ids}
    for e in edges:
        ups[e.downstream].append(e.upstream)
    depth: dict[str, int] = {}
    for job_id in topological_order([j.job_id for j in members], ups.__getitem__):
        # An upstream without a depth yet closes a cycle (bad data: Batch has none): it does not count.
        depth[job_id] = 1 + max((depth[u] for u in ups[job_id] if u in depth), default=-1)
    order = sorted(members, key=lambda j: (depth[j.job_id], j.created_at or 0, j.job_name))
    return Pipeline(tuple(j.job_id for j in order), edges, MappingProxyType(depth))


def topological_order(ids: Iterable[str], upstreams: Callable[[str], Iterable[str]]) -> list[str]:
    """`ids` with each one after its upstreams among `ids` (other upstreams are ignored); of the ids ready at the
    same time, the earliest in `ids` comes first. O((n + e) log n): the planner, the analysis and the pipelines all
    order jobs with it.

    Batch has no cycles; one in bad data is entered where a depth-first walk from its earliest id ends: at the first
    job whose upstreams are all placed or on the walk (of A ⇄ B, A first in `ids`, B comes first: A waits for it).
    """
    ids = list(dict.fromkeys(ids))
    position = {job_id: n for n, job_id in enumerate(ids)}
    ups = {job_id: [u for u in dict.fromkeys(upstreams(job_id)) if u in position] for job_id in ids}
    waiting = {job_id: len(ups[job_id]) for job_id in ids}  # upstreams not placed yet
    downstream: dict[str, list[str]] = {job_id: [] for job_id in ids}
    for job_id in ids:
        for up in ups[job_id]:
            downstream[up].append(job_id)
    ready = [position[job_id] for job_id in ids if not waiting[job_id]]
    heapq.heapify(ready)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(ids):
        if ready:
            job_id = ids[heapq.heappop(ready)]
            if job_id in placed:  # placed early, to break a cycle
                continue
        else:
            job_id = _cycle_entry(next(j for j in ids if j not in placed), ups, placed)
        placed.add(job_id)
        order.append(job_id)
        for down in downstream[job_id]:
            waiting[down] -= 1
            if not waiting[down]:
                heapq.heappush(ready, position[down])
    return order


def _cycle_entry(start: str, ups: Mapping[str, list[str]], placed: set[str]) -> str:
    walk, current = {start}, start
    while (up := next((u for u in ups[current] if u not in placed and u not in walk), None)) is not None:
        walk.add(up)
        current = up
    return current


def ordered_jobs(pipelines: Iterable[Pipeline], jobs: Iterable[Job]) -> tuple[Job, ...]:
    """Jobs in the order the pipelines list them (what Snapshot.jobs holds), each original followed by its
    retries in the order they were submitted."""
    by_id = {j.job_id: j for j in jobs}
    retries: dict[str, list[Job]] = {}
    for retry_id, root in retry_roots(by_id.values()).items():
        retries.setdefault(root, []).append(by_id[retry_id])
    out: list[Job] = []
    for i in (i for p in pipelines for i in p.job_ids):
        out.append(by_id[i])
        out.extend(sorted(retries.get(i, ()), key=lambda j: (j.created_at or 0, j.job_name)))
    return tuple(out)


def split_child_id(job_id: str) -> tuple[str, int | None]:
    """'parent:7' -> ('parent', 7); a plain id -> (id, None). Used for JOB[:INDEX] arguments too."""
    head, sep, tail = job_id.rpartition(":")
    if sep and head and tail.isascii() and tail.isdigit():  # str.isdigit() alone accepts '²', which int() refuses
        return head, int(tail)
    return job_id, None

