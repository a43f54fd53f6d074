"""The simulator's engine: AWS Batch's job state machine on a virtual clock. Pure: no asyncio, no HTTP.

Model (each choice is what aws-batch-facts.md says, or the simplest reading of it where AWS does not say):
- Jobs are SUBMITTED, then after a moment evaluated: PENDING while a dependency is unmet, else RUNNABLE.
- RUNNABLE work waits in its queue, first in, first out (queues by priority, higher first), until one instance of a
  compute environment in the queue's computeEnvironmentOrder can hold it (capacity.py: placement, scaling, and the
  "Job queue blocked" reasons). A head job no environment could ever hold blocks the queue; a head that only waits
  for room lets smaller work behind it start. Then STARTING for a few seconds, RUNNING, SUCCEEDED or FAILED; a failed
  attempt with attempts left goes back to RUNNABLE. Spot environments lose an instance now and then.
- Array parents are only SUBMITTED, PENDING, SUCCEEDED or FAILED; children are `parent:index`.
- N_TO_N: child i waits for child i of the dependency, and goes PENDING → FAILED as soon as that partner fails (the
  user guide: a dependent job fails "automatically" when its dependency fails; for N_TO_N the dependency is the
  partner index, not the whole array). SEQUENTIAL: child i waits for i-1; a failure fails the rest at once.
- Work is steered by container environment: SIM_DURATION_S, SIM_FAIL_RATE (with SIM_FAIL_KINDS, `spot:97,app:3`:
  how those attempts fail, by weight; without it app or oom, mostly oom for memory-heavy work), SIM_FAIL_INDICES
  (`3,7:oom,9:spot`, or a wave `0-9999/9:oom`: indices whose every attempt fails, as KIND app|oom|spot|start|timeout
  or, with no kind, as SIM_FAIL_RATE's failures do), SIM_MEMORY_NEEDED_MIB (what the work really needs: an attempt
  given at least that much memory does not die of it; default 1.25 × the job definition's memory, so a retry with
  ×1.5 survives), and
  the retry markers BATCHTUI_ARRAY_INDEX / BATCHTUI_ARRAY_INDICES (a resubmitted index behaves as that original index).

Every random choice is a hash of (seed, job name, original index, generation, attempt), so the same seed gives the same
run, and a resubmission of an index (next generation) draws afresh, as a re-run would.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import time
import uuid
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from batchtui.limits import MAX_DEPENDS_ON
from batchtui.sim.capacity import (
    ACCOUNT,  # noqa: F401 (re-exported: api and logs build ARNs with it)
    BLOCKED_REASONS,
    REGION,  # noqa: F401
    TIME_LIMIT_REASON,
    ComputeEnvironment,
    ComputeResources,
    Demand,
    Instance,
    Queue,
    TimeLimitAction,
    arn,
    name_of,
)

SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED = range(7)
STATUS_NAMES = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED", "FAILED")
STATUS_CODES = {name: code for code, name in enumerate(STATUS_NAMES)}
TERMINAL = (SUCCEEDED, FAILED)

DEPENDENCY_FAILED = "Dependent Job failed"
CHILD_FAILED = "Array Child Job failed"
CONTAINER_EXITED = "Essential container in task exited"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
TIMEOUT_REASON = "Job attempt duration exceeded timeout"
HOST_TERMINATED = "Host EC2 (instance {}) terminated."
# The documented rule (SubmitJob/RegisterJobDefinition propagateTags): "If the total number of combined tags from the
# job and job definition is over 50, the job is moved to the FAILED state". The statusReason wording is not
# documented; this one says what happened.
MAX_PROPAGATED_TAGS = 50
TOO_MANY_TAGS = ("Task failed to start: {} tags to propagate from the job and its job definition, more than the "
                 "50 a task can have")
CANNOT_PULL = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {}: "
               "not found")
FAIL_KINDS = ("app", "oom", "spot", "start", "timeout")

DEFAULT_DURATION_S = 60.0
DEFAULT_VCPUS = 1
DEFAULT_MEMORY_MIB = 2048

_EV_SETTLE, _EV_RUNNING, _EV_END, _EV_SUMMARY, _EV_REQUEUE, _EV_CE_READY, _EV_TIME_LIMIT = range(7)
RETRY_DELAY_MS = 10_000  # a retried attempt waits in RUNNABLE for the scheduler's next look
CE_TRANSITION_MS = 30_000  # CREATING or UPDATING until VALID


class SimError(Exception):
    """An answer AWS would give as an error: code (the x-amzn-ErrorType), message and HTTP status."""

    def __init__(self, message: str, code: str = "ClientException", status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


@dataclass
class SimConfig:
    speed: float = 1.0  # simulated seconds per real second; 0 freezes the clock
    seed: int = 0
    pipeline: str = "reference"  # "reference" or "none"
    array_size: int = 10_000
    advance_s: float = 0.0  # run the clock this far before serving
    throttle_tps: float | None = None
    latency_ms: float = 0.0
    summary_lag_s: float = 30.0  # arrays' statusSummary is refreshed this often (0: always current)
    error_rate: float = 0.0  # fraction 0..1 of requests answered 500 ServerException
    outages: Sequence[tuple[float, float]] = ()  # (start_s, length_s) real seconds after start: every request 503
    start_ms: int | None = None  # the simulated clock at start (default: real now − advance_s, so it ends at now)
    scenario: str | None = None  # scenarios.SCENARIOS: the default environments with something wrong
    world: Mapping[str, Any] | None = None  # world.load(--world FILE): declared environments, queues, jobs
    spot_interruption_rate: float = 0.05  # fraction of attempts on SPOT environments whose instance is reclaimed


# --- deterministic draws ------------------------------------------------------------------------------------

_M64 = (1 << 64) - 1


def _mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def hash64(*keys: int) -> int:
    h = 0
    for k in keys:
        h = _mix(h ^ (k & _M64))
    return h


def draw(*keys: int) -> float:
    """A number in [0, 1) fixed by the keys."""
    return hash64(*keys) / 2.0**64


def name_key(name: str) -> int:
    return zlib.crc32(name.encode())


# --- the objects ------------------------------------------------------------------------------------------


@dataclass
class JobDefinition:
    name: str
    revision: int
    type: str
    container: dict[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    retry_strategy: dict[str, Any] | None = None
    timeout: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    propagate_tags: bool = False
    platform_capabilities: list[str] = field(default_factory=lambda: ["EC2"])
    status: str = "ACTIVE"

    @property
    def arn(self) -> str:
        return arn("job-definition", f"{self.name}:{self.revision}")


class Attempt:
    __slots__ = ("started_at", "stopped_at", "exit_code", "reason", "status_reason", "log_stream", "task_id",
                 "planned_end", "outcome", "instance")

    def __init__(self, started_at: int, log_stream: str, task_id: str, instance: Instance) -> None:
        self.instance = instance
        self.started_at = started_at
        self.stopped_at: int | None = None
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.status_reason: str | None = None
        self.log_stream = log_stream
        self.task_id = task_id
        self.planned_end = started_at
        self.outcome = "ok"  # ok | exit1 | oom | timeout | spot | start | terminated


class Unit:
    """What actually runs: a plain job's single unit, or one array child. Compact: 10,000 per array."""

    __slots__ = ("job", "index", "status", "waiting", "dep_failed", "attempts", "started_at", "stopped_at",
                 "status_reason", "cancel_reason", "cancel_is_terminate", "is_cancelled", "is_terminated", "rseq",
                 "token", "orig_index", "generation", "instance", "runnable_at")

    def __init__(self, job: Job, index: int | None, orig_index: int, generation: int) -> None:
        self.job = job
        self.index = index
        self.status = SUBMITTED
        self.waiting = 0  # unmet per-unit dependencies (N_TO_N partners, SEQUENTIAL predecessor)
        self.dep_failed = False
        self.attempts: list[Attempt] | None = None
        self.started_at: int | None = None
        self.stopped_at: int | None = None
        self.status_reason: str | None = None
        self.cancel_reason: str | None = None  # set by CancelJob on a PENDING unit: fails when it would leave PENDING
        self.cancel_is_terminate = False
        self.is_cancelled = False
        self.is_terminated = False
        self.rseq = 0
        self.token = 0  # bumped to invalidate scheduled events (terminate)
        self.orig_index = orig_index
        self.generation = generation
        self.instance: Instance | None = None  # where it is placed while STARTING or RUNNING
        self.runnable_at = 0  # when it last joined its queue's line (GetJobQueueSnapshot's earliestTimeAtPosition)

    @property
    def job_id(self) -> str:
        return self.job.job_id if self.index is None else f"{self.job.job_id}:{self.index}"


class Job:
    """A top-level job: plain (one Unit) or an array parent (children Units)."""

    def __init__(self, engine: Engine, job_id: str, name: str, queue: Queue, jobdef: JobDefinition, seq: int) -> None:
        self.job_id, self.name, self.queue, self.jobdef, self.seq = job_id, name, queue, jobdef, seq
        self.created_at = engine.now_ms
        self.depends_on: list[dict[str, str]] = []
        self.parameters: dict[str, str] = {}
        self.container: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self.vcpus, self.memory = DEFAULT_VCPUS, DEFAULT_MEMORY_MIB
        self.memory_needed = 0  # MiB the work needs: an OOM happens only to attempts given less (SIM_MEMORY_NEEDED_MIB)
        self.demand = Demand(DEFAULT_VCPUS, DEFAULT_MEMORY_MIB)
        self.retry_strategy: dict[str, Any] | None = None
        self.timeout: dict[str, Any] | None = None
        self.tags: dict[str, str] = {}
        self.propagate_tags = False
        self.propagated_tags = 0  # tags its tasks would carry (job's and job definition's, aws: ones not counted)
        self.share_identifier: str | None = None
        self.scheduling_priority: int | None = None
        self.size = 0  # 0: plain job
        self.unit: Unit | None = None
        self.children: list[Unit] = []
        self.status = SUBMITTED
        self.status_reason: str | None = None
        self.started_at: int | None = None
        self.stopped_at: int | None = None
        self.cancel_reason: str | None = None
        self.is_cancelled = False
        self.is_terminated = False
        self.waiting = 0  # unmet job-level (standard) dependencies
        self.dep_failed = False
        self.watchers: list[Job] = []  # jobs with a standard dependency on this one
        self.child_watchers: dict[int, list[Job]] = {}  # jobs with a standard dependency on one child
        self.n2n_watchers: list[Job] = []  # arrays depending N_TO_N on this array
        self.sequential = False
        self.by_status: list[set[int]] = []
        self.done_count = 0
        self.summary: dict[str, int] = {}
        self.summary_at = self.created_at
        # work steering
        self.name_key = name_key(name)
        self.duration_ms = int(DEFAULT_DURATION_S * 1000)
        self.fail_rate = 0.0
        self.fail_mix: tuple[tuple[str, float], ...] = ()  # SIM_FAIL_KINDS as (kind, cumulative share)
        self.fail_indices: dict[int, str] = {}  # original index → failure kind ("": app or oom at random)
        self.log_group = "/aws/batch/job"

    @property
    def arn(self) -> str:
        return arn("job", self.job_id)

    @property
    def is_array(self) -> bool:
        return self.size > 0

    def units(self) -> Iterable[Unit]:
        return self.children if self.size else (self.unit,)  # type: ignore[return-value]

    def counts(self) -> dict[str, int]:
        return {name: len(self.by_status[code]) for code, name in enumerate(STATUS_NAMES)}


# --- the engine -------------------------------------------------------------------------------------------


class Engine:
    """The whole simulated Batch account: queues, job definitions, jobs, the clock and the scheduler."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        start = self.config.start_ms
        if start is None:
            start = int(time.time() * 1000 - self.config.advance_s * 1000)
        self.now_ms: int = start
        self.start_ms: int = start
        self.seed = self.config.seed
        self._rng = random.Random(self.seed)
        self._heap: list[tuple[int, int, int, Any, int]] = []
        self._evseq = 0
        self._work_events = 0  # events other than summary refreshes: 0 means the run is over
        self._rseq = 0
        self._jobseq = 0
        self._dirty = False
        self._done: deque[Unit] = deque()
        self.jobs: dict[str, Job] = {}
        self.job_list: list[Job] = []
        self.log_groups: set[str] = {"/aws/batch/job"}  # every group a job logs to (kept, not scanned for per call)
        self.queues: dict[str, Queue] = {}
        self.jobdefs: dict[str, list[JobDefinition]] = {}
        self.log_streams: dict[str, tuple[Unit, int]] = {}  # stream name -> (unit, attempt number 1-based)
        self.generations: dict[tuple[int, int], int] = {}
        self.reference_ids: dict[str, str] = {}
        self._install_queues()  # the default account; a scenario, world file or pipeline is sim/build.py's job

    def _install_queues(self) -> None:
        """The default account, sized so the reference pipeline runs as it always has: ProdQueue tries a
        compute-optimised SPOT environment (JobB's 32-vCPU children, 128 at a time, now and then reclaimed) and then
        an on-demand memory-optimised one whose instances are too small for JobB (JobC's 32 GiB children, three an
        r6i.4xlarge, 510 at a time)."""
        self.compute_environments: dict[str, ComputeEnvironment] = {}
        memory_types = ["r6i.large", "r6i.xlarge", "r6i.2xlarge", "r6i.4xlarge"]
        for name, kind, types, max_vcpus in (("ProdCE", "SPOT", ["c6i"], 4096),
                                             ("ProdMemoryCE", "EC2", memory_types, 2720),
                                             ("OtherCE", "EC2", ["m6i"], 256)):
            strategy = "SPOT_PRICE_CAPACITY_OPTIMIZED" if kind == "SPOT" else "BEST_FIT_PROGRESSIVE"
            self.compute_environments[name] = ComputeEnvironment(
                name, resources=ComputeResources(kind, max_vcpus, instance_types=types, allocation_strategy=strategy))
        # ProdCE's reclaims are steered by the reference job definitions (JobB's SIM_FAIL_KINDS), not drawn for
        # every attempt: a job of your own on ProdQueue, or a retry, runs as on demand, so runs stay comparable.
        self.compute_environments["ProdCE"].spot_reclaim_rate = 0.0
        ces = self.compute_environments
        self.queues["ProdQueue"] = Queue("ProdQueue", [ces["ProdCE"], ces["ProdMemoryCE"]], priority=10)
        self.queues["OtherQueue"] = Queue("OtherQueue", [ces["OtherCE"]], priority=1)

    # --- ids and lookups ------------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def queue(self, name_or_arn: str) -> Queue | None:
        return self.queues.get(name_of(name_or_arn))

    def compute_environment(self, name_or_arn: str) -> ComputeEnvironment | None:
        return self.compute_environments.get(name_of(name_or_arn))

    def job_definition(self, ref: str) -> JobDefinition | None:
        """`name`, `name:revision` or an ARN; a bare name means the latest ACTIVE revision."""
        if ref.startswith("arn:"):
            ref = ref.rsplit("/", 1)[-1]
        name, _, rev = ref.partition(":")
        revisions = self.jobdefs.get(name, [])
        if rev:
            if not rev.isdigit():
                return None
            return next((d for d in revisions if d.revision == int(rev)), None)
        active = [d for d in revisions if d.status == "ACTIVE"]
        return active[-1] if active else None

    def lookup(self, job_id: str) -> tuple[Job | None, Unit | None]:
        """(job, None) for a top-level id, (parent, child) for `parent:index`, (None, None) when unknown."""
        if job_id.startswith("arn:"):
            job_id = job_id.rsplit("/", 1)[-1]
        job = self.jobs.get(job_id)
        if job is not None:
            return job, None
        parent_id, sep, index = job_id.rpartition(":")
        if sep and index.isdigit():
            parent = self.jobs.get(parent_id)
            if parent is not None and parent.size and int(index) < parent.size:
                return parent, parent.children[int(index)]
        return None, None

    # --- the clock --------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.advance_to(self.now_ms + int(round(seconds * 1000)))

    def advance_to(self, target_ms: int) -> None:
        """Process every event up to target_ms in time order; the clock never goes back."""
        heap = self._heap
        while heap and heap[0][0] <= target_ms:
            t = heap[0][0]
            self.now_ms = max(self.now_ms, t)
            while heap and heap[0][0] == t:
                _, _, kind, obj, token = heapq.heappop(heap)
                if kind != _EV_SUMMARY:
                    self._work_events -= 1
                self._dispatch(kind, obj, token)
            self._drain()
            if self._dirty:
                self._schedule()
        if target_ms > self.now_ms:
            self.now_ms = target_ms

    def run_until_idle(self, limit_s: float = 30 * 86400) -> None:
        """Advance until nothing is left to happen (or limit_s of simulated time): a whole run."""
        end = self.now_ms + int(limit_s * 1000)
        while self._work_events and self._heap[0][0] <= end:
            self.advance_to(self._heap[0][0])
        if self._heap and self.config.summary_lag_s > 0:  # let the arrays' last summary refresh land
            self.advance(self.config.summary_lag_s)

    def _at(self, when_ms: int, kind: int, obj: Any, token: int = 0) -> None:
        self._evseq += 1
        if kind != _EV_SUMMARY:
            self._work_events += 1
        heapq.heappush(self._heap, (when_ms, self._evseq, kind, obj, token))

    def _dispatch(self, kind: int, obj: Any, token: int) -> None:
        if kind == _EV_SETTLE:
            self._settle(obj)
        elif kind == _EV_SUMMARY:
            self._refresh_summary(obj)
        elif kind == _EV_CE_READY:
            self._ce_ready(obj)
        elif obj.token == token:  # a unit event not cancelled by TerminateJob
            if kind == _EV_RUNNING:
                self._running(obj)
            elif kind == _EV_REQUEUE:
                if obj.status == RUNNABLE:
                    self._enqueue(obj)
            elif kind == _EV_TIME_LIMIT:
                self._time_limit(obj)
            else:
                self._end_attempt(obj)

    # --- job definitions ---------------------------------------------------------------------------------

    def register_job_definition(self, name: str, container: dict[str, Any], *, type_: str = "container",
                                parameters: dict[str, str] | None = None,
                                retry_strategy: dict[str, Any] | None = None, timeout: dict[str, Any] | None = None,
                                tags: dict[str, str] | None = None, propagate_tags: bool = False,
                                platform_capabilities: list[str] | None = None) -> JobDefinition:
        revisions = self.jobdefs.setdefault(name, [])
        jd = JobDefinition(name, len(revisions) + 1, type_, container, dict(parameters or {}), retry_strategy,
                           timeout, dict(tags or {}), propagate_tags, list(platform_capabilities or ["EC2"]))
        revisions.append(jd)
        return jd

    def deregister_job_definition(self, ref: str) -> None:
        """The revision becomes INACTIVE: it is still described, but no longer submittable."""
        if ":" not in name_of(ref):
            raise SimError(f"Job definition {ref} names no revision (name:revision or an ARN)")
        jd = self.job_definition(ref)
        if jd is None:
            raise SimError(f"Job definition {ref} does not exist")
        jd.status = "INACTIVE"

    # --- compute environments and queues (requests validated by the API layer) ------------------------

    def create_compute_environment(self, ce: ComputeEnvironment) -> None:
        """A new environment is CREATING for a moment, then VALID."""
        if ce.name in self.compute_environments:
            raise SimError(f"Compute environment {ce.name} already exists")
        ce.status, ce.status_reason = "CREATING", "ComputeEnvironment is being created"
        self.compute_environments[ce.name] = ce
        self._at(self.now_ms + CE_TRANSITION_MS, _EV_CE_READY, ce)

    def update_compute_environment(self, ce: ComputeEnvironment, *, state: str | None = None,
                                   changes: dict[str, Any] | None = None) -> None:
        """state applies at once; computeResources changes make it UPDATING until they are in place (an INVALID
        one too: the update is taken as the fix)."""
        if state is not None:
            ce.state = state
        if changes:
            assert ce.resources is not None
            for key, value in changes.items():
                setattr(ce.resources, key, value)
            ce.refresh_types()
            ce.status, ce.status_reason = "UPDATING", "ComputeEnvironment is being updated"
            self._at(self.now_ms + CE_TRANSITION_MS, _EV_CE_READY, ce)
        self._world_changed()

    def invalidate_compute_environment(self, name: str, reason: str) -> None:
        """Make an environment INVALID (a broken service role, a deleted subnet…): it places nothing new."""
        ce = self.compute_environments[name]
        ce.status, ce.status_reason = "INVALID", reason
        self._world_changed()

    def _ce_ready(self, ce: ComputeEnvironment) -> None:
        if ce.status in ("CREATING", "UPDATING"):
            ce.status, ce.status_reason = "VALID", "ComputeEnvironment Healthy"
            self._world_changed(schedule=False)  # advance_to schedules after the event

    def delete_compute_environment(self, ce: ComputeEnvironment) -> None:
        if ce.state != "DISABLED":
            raise SimError(f"Compute environment {ce.name} must be DISABLED before it can be deleted")
        users = [q.name for q in self.queues.values() if ce in q.order]
        if users:
            raise SimError(f"Compute environment {ce.name} is still used by job queue(s) {', '.join(users)}")
        del self.compute_environments[ce.name]
        self._world_changed()

    def create_job_queue(self, queue: Queue) -> None:
        if queue.name in self.queues:
            raise SimError(f"Job queue {queue.name} already exists")
        self.queues[queue.name] = queue

    def update_job_queue(self, queue: Queue, *, state: str | None = None, priority: int | None = None,
                         order: list[ComputeEnvironment] | None = None,
                         time_limit_actions: list[TimeLimitAction] | None = None) -> None:
        if state is not None:
            queue.state = state
        if priority is not None:
            queue.priority = priority
        if order is not None:
            queue.order = order
        if time_limit_actions is not None:
            queue.time_limit_actions = time_limit_actions
        self._world_changed()

    def _world_changed(self, schedule: bool = True) -> None:
        """An environment or a queue changed: reasons are worked out afresh and waiting work gets another look."""
        for queue in self.queues.values():
            queue.forget()
        self._dirty = True
        if schedule:
            self._schedule()

    def delete_job_queue(self, queue: Queue) -> None:
        """Only a DISABLED queue; the jobs it still holds are terminated, as AWS does."""
        if queue.state != "DISABLED":
            raise SimError(f"Job queue {queue.name} must be DISABLED before it can be deleted")
        for job in queue.jobs:
            if job.status not in TERMINAL:
                self.cancel(job.job_id, "Job queue deleted", terminate=True)
        del self.queues[queue.name]

    def front_of_queue(self, queue: Queue, limit: int = 100) -> list[Unit]:
        """The first RUNNABLE jobs in dispatch order (what GetJobQueueSnapshot's frontOfQueue shows)."""
        lines = ((u for u in line if u.status == RUNNABLE) for line in queue.waiting.values())
        return list(itertools.islice(heapq.merge(*lines, key=lambda u: u.rseq), limit))

    # --- submitting --------------------------------------------------------------------------------------

    def submit(self, *, name: str, queue: Queue, jobdef: JobDefinition, array_size: int = 0,
               depends_on: Sequence[dict[str, str]] = (), parameters: dict[str, str] | None = None,
               container_overrides: dict[str, Any] | None = None, retry_strategy: dict[str, Any] | None = None,
               timeout: dict[str, Any] | None = None, tags: dict[str, str] | None = None,
               propagate_tags: bool | None = None, share_identifier: str | None = None,
               scheduling_priority: int | None = None) -> Job:
        """Create a job whose request is already validated (see validate_dependencies); returns it SUBMITTED."""
        self._jobseq += 1
        job = Job(self, self.new_id(), name, queue, jobdef, self._jobseq)
        job.depends_on = [dict(d) for d in depends_on]
        job.parameters = {**jobdef.parameters, **(parameters or {})}
        job.container = merge_container(jobdef.container, container_overrides or {})
        job.env = {e["name"]: e.get("value", "") for e in job.container.get("environment", [])}
        job.vcpus, job.memory = resources(job.container)
        job.demand = demand(job.container, jobdef.platform_capabilities)
        job.retry_strategy = retry_strategy if retry_strategy is not None else jobdef.retry_strategy
        job.timeout = timeout if timeout is not None else jobdef.timeout
        job.tags = {**(jobdef.tags if (propagate_tags or jobdef.propagate_tags) else {}), **(tags or {})}
        job.propagate_tags = bool(propagate_tags if propagate_tags is not None else jobdef.propagate_tags)
        if job.propagate_tags:
            job.propagated_tags = _counted_tags({**jobdef.tags, **(tags or {})})
        job.share_identifier, job.scheduling_priority = share_identifier, scheduling_priority
        log_options = (job.container.get("logConfiguration") or {}).get("options") or {}
        job.log_group = log_options.get("awslogs-group", "/aws/batch/job")
        self.log_groups.add(job.log_group)
        self._steer(job)
        self._make_units(job, array_size)
        self._wire_dependencies(job)
        self.jobs[job.job_id] = job
        self.job_list.append(job)
        queue.jobs.append(job)
        queue.seqs.append(job.seq)
        settle = 1000 + int(2000 * draw(self.seed, job.name_key, job.seq, 7))
        self._at(self.now_ms + settle, _EV_SETTLE, job)
        if job.size and self.config.summary_lag_s > 0:
            self._at(self.now_ms + int(self.config.summary_lag_s * 1000), _EV_SUMMARY, job)
        return job

    def _steer(self, job: Job) -> None:
        env = job.env
        try:
            job.duration_ms = max(1000, int(float(env.get("SIM_DURATION_S", DEFAULT_DURATION_S)) * 1000))
        except ValueError:
            pass
        try:
            job.fail_rate = min(1.0, max(0.0, float(env.get("SIM_FAIL_RATE", 0.0))))
        except ValueError:
            pass
        job.fail_mix = fail_mix(env.get("SIM_FAIL_KINDS", ""))
        job.fail_indices = fail_kinds(env.get("SIM_FAIL_INDICES", ""))
        needed = 1.25 * resources(job.jobdef.container)[1]
        try:
            needed = float(env.get("SIM_MEMORY_NEEDED_MIB", needed))
        except ValueError:
            pass
        job.memory_needed = int(needed)

    def _make_units(self, job: Job, size: int) -> None:
        gens = self.generations
        if size:
            job.size = size
            origins = _ints(job.env.get("BATCHTUI_ARRAY_INDICES", ""))
            if len(origins) != size:
                origins = list(range(size))
            children = []
            for i, orig in enumerate(origins):
                key = (job.name_key, orig)
                gen = gens.get(key, 0)
                gens[key] = gen + 1
                children.append(Unit(job, i, orig, gen))
            job.children = children
            job.by_status = [set(range(size)), set(), set(), set(), set(), set(), set()]
            job.summary = job.counts()
        else:
            marked = _ints(job.env.get("BATCHTUI_ARRAY_INDEX", ""))
            orig = marked[0] if marked else -1
            key = (job.name_key, orig)
            gen = gens.get(key, 0)
            gens[key] = gen + 1
            job.unit = Unit(job, None, orig, gen)

    def _wire_dependencies(self, job: Job) -> None:
        for dep in job.depends_on:
            kind = dep.get("type")
            if kind == "SEQUENTIAL":
                job.sequential = True
                for u in job.children[1:]:
                    u.waiting += 1
                continue
            target, child = self.lookup(dep["jobId"])
            assert target is not None  # validated before submit
            if kind == "N_TO_N":
                target.n2n_watchers.append(job)
                for u, partner in zip(job.children, target.children, strict=True):
                    if partner.status == SUCCEEDED:
                        continue
                    if partner.status == FAILED:
                        u.dep_failed = True
                    else:
                        u.waiting += 1
                continue
            status = child.status if child is not None else target.status
            if status == SUCCEEDED:
                continue
            if status == FAILED:
                job.dep_failed = True
                continue
            job.waiting += 1
            if child is not None:
                target.child_watchers.setdefault(child.index, []).append(job)  # type: ignore[arg-type]
            else:
                target.watchers.append(job)

    def validate_dependencies(self, depends_on: Sequence[dict[str, Any]], array_size: int) -> None:
        """Raise SimError naming the problem, as SubmitJob does."""
        if len(depends_on) > MAX_DEPENDS_ON:
            raise SimError(f"A job can depend on at most {MAX_DEPENDS_ON} jobs; {len(depends_on)} were given")
        for dep in depends_on:
            if not isinstance(dep, dict):
                raise SimError("dependsOn entries must be objects with jobId and/or type")
            kind, dep_id = dep.get("type"), dep.get("jobId")
            if not isinstance(dep_id, (str, type(None))) or not isinstance(kind, (str, type(None))):
                raise SimError("dependsOn jobId and type must be strings")  # a raw body can hold anything
            if kind not in (None, "N_TO_N", "SEQUENTIAL"):
                raise SimError(f"Unknown dependency type {kind!r} (N_TO_N or SEQUENTIAL)")
            if kind == "SEQUENTIAL":
                if not array_size:
                    raise SimError("A SEQUENTIAL dependency is only valid for an array job")
                if dep_id:
                    raise SimError("A SEQUENTIAL dependency takes no jobId")
                continue
            if not dep_id:
                raise SimError("A dependency needs a jobId (only SEQUENTIAL ones have none)")
            target, child = self.lookup(dep_id)
            if target is None:
                raise SimError(f"Dependency job {dep_id} does not exist")
            if kind == "N_TO_N":
                if not array_size:
                    raise SimError(f"An N_TO_N dependency is only valid for an array job (on {dep_id})")
                if child is not None or not target.size:
                    raise SimError(f"An N_TO_N dependency must name an array job; {dep_id} is not one")
                if target.size != array_size:
                    raise SimError(f"An N_TO_N dependency needs arrays of the same size: {dep_id} has size "
                                   f"{target.size:,}, this job {array_size:,}")

    # --- transitions ---------------------------------------------------------------------------------

    def _set(self, u: Unit, status: int) -> None:
        job = u.job
        if u.index is None:
            job.status = status
        else:
            job.by_status[u.status].discard(u.index)
            job.by_status[status].add(u.index)
        u.status = status

    def _settle(self, job: Job) -> None:
        """SUBMITTED → PENDING (dependencies unmet) or RUNNABLE: the scheduler's first look at the job."""
        if not job.size:
            u = job.unit
            assert u is not None
            if u.status == SUBMITTED:
                if job.dep_failed:
                    self._set(u, PENDING)
                    self._fail_dependent(u)
                elif job.waiting:
                    self._set(u, PENDING)
                else:
                    self._ready(u)
            return
        if job.status != SUBMITTED:
            return
        job.status = PENDING
        for u in job.children:
            if u.status != SUBMITTED:
                continue
            if job.dep_failed or u.dep_failed:
                self._set(u, PENDING)
                self._fail_dependent(u)
            elif job.waiting or u.waiting:
                self._set(u, PENDING)
            else:
                self._ready(u)

    def _ready(self, u: Unit) -> None:
        if u.cancel_reason is not None:
            self._fail(u, u.cancel_reason, cancelled=not u.cancel_is_terminate, terminated=u.cancel_is_terminate)
            return
        self._set(u, RUNNABLE)
        self._enqueue(u)

    def _maybe_ready(self, u: Unit) -> None:
        if u.status == PENDING and not u.waiting and not u.job.waiting and not u.dep_failed and not u.job.dep_failed:
            self._ready(u)

    def _enqueue(self, u: Unit) -> None:
        self._rseq += 1
        u.rseq = self._rseq
        u.runnable_at = self.now_ms
        job = u.job
        job.queue.waiting.setdefault(job.demand, deque()).append(u)
        self._dirty = True

    def _fail(self, u: Unit, reason: str, *, cancelled: bool = False, terminated: bool = False) -> None:
        u.status_reason = reason
        u.is_cancelled = u.is_cancelled or cancelled
        u.is_terminated = u.is_terminated or terminated
        u.stopped_at = self.now_ms
        self._set(u, FAILED)
        self._done.append(u)

    def _fail_dependent(self, u: Unit) -> None:
        """A dependency failed: PENDING → FAILED (with the user's reason if it was cancelled meanwhile)."""
        if u.cancel_reason is not None:
            self._fail(u, u.cancel_reason, cancelled=not u.cancel_is_terminate, terminated=u.cancel_is_terminate)
        else:
            self._fail(u, DEPENDENCY_FAILED)

    # --- running ----------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        while True:
            self._dirty = False
            for queue in sorted(self.queues.values(), key=lambda q: -q.priority):  # higher priority places first
                self._schedule_queue(queue)
            if not self._done:  # a job can fail as it is placed (too many tags): follow that through too
                return
            self._drain()
            if not self._dirty:
                return

    def _schedule_queue(self, queue: Queue) -> None:
        """Start RUNNABLE work in FIFO order while it can be placed. Each shape's line is FIFO, so only the heads
        of the lines compete: the oldest that fits starts. A head that waits for room lets the next line go
        (backfill); the queue's head that can never be placed blocks everything behind it."""
        lines = queue.waiting
        while True:
            heads: list[tuple[int, Demand, deque[Unit]]] = []
            for d, line in lines.items():
                while line and line[0].status != RUNNABLE:
                    line.popleft()  # cancelled while waiting
                if line:
                    heads.append((line[0].rseq, d, line))
            heads.sort(key=lambda h: h[0])
            for n, (_, d, line) in enumerate(heads):
                inst = queue.place(d, len(line))
                if inst is not None:
                    self._start(line.popleft(), inst)
                    break
                if n == 0 and self._block(queue, line[0]):
                    return
            else:
                return

    def _block(self, queue: Queue, u: Unit) -> bool:
        """The queue's head cannot be placed now: if it never can, it says why and blocks the queue."""
        reason = queue.blocked_reason(u.job.demand)
        if reason is None:
            if u.status_reason in BLOCKED_REASONS:
                u.status_reason = None  # unblocked (say an environment grew) but waiting for room
            return False
        if u.status_reason != reason:
            u.status_reason = reason
            for action in queue.time_limit_actions:
                if action.state == "RUNNABLE" and reason.startswith(action.reason):
                    self._at(self.now_ms + action.max_time_seconds * 1000, _EV_TIME_LIMIT, u, u.token)
        return True

    def _time_limit(self, u: Unit) -> None:
        """jobStateTimeLimitActions: a job still blocked at the head for maxTimeSeconds is cancelled."""
        if u.status != RUNNABLE or u.status_reason not in BLOCKED_REASONS:
            return
        for action in u.job.queue.time_limit_actions:
            if action.action == "CANCEL" and u.status_reason.startswith(action.reason):
                self._fail(u, TIME_LIMIT_REASON.format(action.reason), cancelled=True)
                self._dirty = True
                return

    def _start(self, u: Unit, inst: Instance) -> None:
        job = u.job
        if u.status_reason in BLOCKED_REASONS:
            u.status_reason = None  # the reason goes away when the job moves
        if job.propagated_tags > MAX_PROPAGATED_TAGS:  # tags reach the task as it is created: it never is
            inst.ce.release(inst, job.demand)
            self._fail(u, TOO_MANY_TAGS.format(job.propagated_tags))
            return
        u.instance = inst
        self._set(u, STARTING)
        attempt_no = len(u.attempts or ()) + 1
        starting = 3000 + int(9000 * draw(self.seed, job.name_key, u.orig_index, u.generation, attempt_no, 5))
        self._at(self.now_ms + starting, _EV_RUNNING, u, u.token)

    def _running(self, u: Unit) -> None:
        """STARTING → RUNNING: the attempt begins (or, for a container that cannot start, fails at once)."""
        job = u.job
        attempts = u.attempts if u.attempts is not None else []
        u.attempts = attempts
        n = len(attempts) + 1
        keys = (self.seed, job.name_key, u.orig_index, u.generation, n)
        stream_id = f"{hash64(*keys, 11):016x}{hash64(*keys, 12):016x}"
        stream = f"{job.jobdef.name}/default/{stream_id}"
        assert u.instance is not None
        att = Attempt(self.now_ms, stream, f"{hash64(*keys, 13):016x}{hash64(*keys, 14):016x}", u.instance)
        attempts.append(att)
        kind = job.fail_indices.get(u.orig_index)
        if kind is None and draw(*keys, 1) < job.fail_rate:
            kind = ""
        if kind == "":
            kind = self._random_kind(job, keys)
        if kind == "oom" and job.memory >= job.memory_needed:
            kind = None  # given the memory it needs (a retry with more): it does not die of it
        if kind == "start":  # the container never ran: no log stream, the attempt ends at once
            att.log_stream, att.outcome = "", "start"
            self._end_attempt(u)
            return
        self._set(u, RUNNING)
        if u.started_at is None:
            u.started_at = self.now_ms
        if job.started_at is None:
            job.started_at = self.now_ms
        self.log_streams[stream] = (u, n)
        duration = job.duration_ms * (0.75 + 0.5 * draw(*keys, 2))
        limit = (job.timeout or {}).get("attemptDurationSeconds")
        if kind == "timeout":
            duration = max(duration, limit * 1000 + 1) if limit else duration
            att.outcome = "timeout"
        elif kind is not None:
            duration *= 0.2 + 0.7 * draw(*keys, 3)
            att.outcome = {"app": "exit1", "oom": "oom", "spot": "spot"}[kind]
        if limit and duration > limit * 1000:
            duration, att.outcome = limit * 1000, "timeout"
        if u.instance.ce.spot and draw(*keys, 6) < u.instance.ce.reclaim_rate(self.config.spot_interruption_rate):
            duration, att.outcome = duration * draw(*keys, 8), "spot"  # reclaimed part way through
        att.planned_end = self.now_ms + max(1000, int(duration))
        self._at(att.planned_end, _EV_END, u, u.token)

    @staticmethod
    def _random_kind(job: Job, keys: tuple[int, ...]) -> str:
        """How a randomly failing attempt fails: by SIM_FAIL_KINDS, else app or oom by the memory it asks."""
        x = draw(*keys, 4)
        for kind, upto in job.fail_mix:
            if x < upto:
                return kind
        if job.fail_mix:
            return job.fail_mix[-1][0]
        oom_share = 0.8 if job.memory >= 16384 else 0.25  # memory-heavy work mostly dies of memory
        return "oom" if x < oom_share else "app"

    def _release(self, u: Unit) -> None:
        inst = u.instance
        if inst is not None:
            inst.ce.release(inst, u.job.demand)
            u.instance = None
        self._dirty = True

    def _end_attempt(self, u: Unit) -> None:
        self._release(u)
        assert u.attempts
        att = u.attempts[-1]
        att.stopped_at = self.now_ms
        if att.outcome == "ok":
            att.exit_code = 0
            att.status_reason = CONTAINER_EXITED
            u.stopped_at = self.now_ms
            u.status_reason = CONTAINER_EXITED
            self._set(u, SUCCEEDED)
            self._done.append(u)
            return
        if att.outcome == "timeout":
            att.status_reason = TIMEOUT_REASON
            self._fail(u, TIMEOUT_REASON)  # a timed-out job is not retried (SubmitJob's timeout)
            return
        if att.outcome == "start":
            att.status_reason = CANNOT_PULL.format(u.job.container.get("image", "image"))
        elif att.outcome == "spot":
            att.status_reason = HOST_TERMINATED.format(att.instance.id)  # no exit code: the host went away
        else:
            att.exit_code = 137 if att.outcome == "oom" else 1
            att.reason = OOM_REASON if att.outcome == "oom" else None
            att.status_reason = CONTAINER_EXITED
        if self._retry(u, att):
            self._set(u, RUNNABLE)
            self._at(self.now_ms + RETRY_DELAY_MS, _EV_REQUEUE, u, u.token)
            return
        self._fail(u, att.status_reason)

    def _retry(self, u: Unit, att: Attempt) -> bool:
        """retryStrategy: attempts left, and evaluateOnExit's first matching rule (none matching: retry)."""
        rs = u.job.retry_strategy or {}
        if len(u.attempts or ()) >= int(rs.get("attempts") or 1):
            return False
        for rule in rs.get("evaluateOnExit") or ():
            checks = ((rule.get("onStatusReason"), att.status_reason), (rule.get("onReason"), att.reason),
                      (rule.get("onExitCode"), None if att.exit_code is None else str(att.exit_code)))
            if all(pattern is None or (value is not None and fnmatchcase(value, pattern)) for pattern, value in checks):
                return str(rule.get("action", "")).upper() == "RETRY"
        return True

    # --- consequences --------------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Follow every finished unit's consequences, iteratively (a SEQUENTIAL cascade is 10,000 deep)."""
        done = self._done
        while done:
            self._unit_done(done.popleft())

    def _unit_done(self, u: Unit) -> None:
        job = u.job
        ok = u.status == SUCCEEDED
        if u.index is None:
            job.started_at, job.stopped_at = u.started_at, u.stopped_at
            job.status_reason = u.status_reason
            job.is_cancelled, job.is_terminated = u.is_cancelled, u.is_terminated
            self._job_done(job, ok)
            return
        i = u.index
        for w in job.child_watchers.get(i, ()):
            self._dependency_result(w, ok)
        for c in job.n2n_watchers:
            cu = c.children[i]
            if ok:
                cu.waiting -= 1
                self._maybe_ready(cu)
            else:  # the partner failed: this index fails now, not when the whole upstream array ends
                cu.dep_failed = True
                if cu.status == PENDING:
                    self._fail_dependent(cu)
        if job.sequential and i + 1 < job.size:
            nxt = job.children[i + 1]
            if ok:
                nxt.waiting -= 1
                self._maybe_ready(nxt)
            else:
                nxt.dep_failed = True
                if nxt.status == PENDING:
                    self._fail_dependent(nxt)
        job.done_count += 1
        if job.done_count == job.size:
            self._finish_parent(job)

    def _finish_parent(self, job: Job) -> None:
        failed = job.by_status[FAILED]
        job.status = FAILED if failed else SUCCEEDED
        job.stopped_at = self.now_ms
        if failed:
            job.status_reason = job.cancel_reason or (DEPENDENCY_FAILED if job.dep_failed else CHILD_FAILED)
        if self.config.summary_lag_s <= 0:
            job.summary, job.summary_at = job.counts(), self.now_ms
        self._job_done(job, not failed)

    def _job_done(self, job: Job, ok: bool) -> None:
        for w in job.watchers:
            self._dependency_result(w, ok)

    def _dependency_result(self, w: Job, ok: bool) -> None:
        if ok:
            w.waiting -= 1
            if not w.waiting:
                for u in w.units():
                    self._maybe_ready(u)
            return
        w.dep_failed = True
        for u in w.units():
            if u.status == PENDING:
                self._fail_dependent(u)

    def _refresh_summary(self, job: Job) -> None:
        final = job.status in TERMINAL and job.summary == job.counts()
        if final:
            return
        job.summary, job.summary_at = job.counts(), self.now_ms
        self._at(self.now_ms + int(self.config.summary_lag_s * 1000), _EV_SUMMARY, job)

    def summary(self, job: Job) -> tuple[dict[str, int], int]:
        if self.config.summary_lag_s <= 0:
            return job.counts(), self.now_ms
        return job.summary, job.summary_at

    # --- cancel and terminate ----------------------------------------------------------------------------

    def cancel(self, job_id: str, reason: str, *, terminate: bool = False) -> bool:
        """CancelJob / TerminateJob. False when the id is unknown (the API still answers success)."""
        job, child = self.lookup(job_id)
        if job is None:
            return False
        if child is None and job.size:
            if job.status not in TERMINAL:
                job.cancel_reason = reason
                job.is_cancelled = job.is_cancelled or not terminate
                job.is_terminated = job.is_terminated or terminate
                for u in job.children:
                    self._cancel_unit(u, reason, terminate)
        else:
            self._cancel_unit(child or job.unit, reason, terminate)  # type: ignore[arg-type]
        self._drain()
        if self._dirty:
            self._schedule()
        return True

    def _cancel_unit(self, u: Unit, reason: str, terminate: bool) -> None:
        st = u.status
        if st in (SUBMITTED, RUNNABLE):
            self._fail(u, reason, cancelled=not terminate, terminated=terminate)
            self._dirty = self._dirty or st == RUNNABLE  # it may have been blocking its queue's head
        elif st == PENDING:
            if u.cancel_reason is None:
                u.cancel_reason, u.cancel_is_terminate = reason, terminate
        elif st in (STARTING, RUNNING) and terminate:
            u.token += 1  # its RUNNING/END events no longer apply
            self._release(u)
            if st == RUNNING and u.attempts:
                att = u.attempts[-1]
                att.stopped_at, att.status_reason, att.outcome = self.now_ms, reason, "terminated"
            self._fail(u, reason, terminated=True)


# --- container properties -----------------------------------------------------------------------------------


def merge_container(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The job definition's containerProperties with containerOverrides applied, as DescribeJobs shows them:
    environment merged by name, resourceRequirements by type, other keys replaced."""
    merged = dict(base)
    for key, value in overrides.items():
        if key == "environment":
            env = {e["name"]: e for e in base.get("environment", [])}
            env.update({e["name"]: e for e in value})
            merged["environment"] = list(env.values())
        elif key == "resourceRequirements":
            req = {r["type"]: r for r in base.get("resourceRequirements", [])}
            req.update({r["type"]: r for r in value})
            merged["resourceRequirements"] = list(req.values())
        else:
            merged[key] = value
    return merged


def demand(container: dict[str, Any], platform_capabilities: Sequence[str]) -> Demand:
    """What one attempt asks of an instance: vCPUs (fractional on Fargate), MiB, GPUs, and the platform."""
    vcpus, memory = resources(container)
    exact: float = vcpus
    gpus = 0
    for r in container.get("resourceRequirements", []):
        if r.get("type") == "VCPU":
            exact = float(r["value"])
        elif r.get("type") == "GPU":
            gpus = int(float(r["value"]))
    fargate = "FARGATE" in platform_capabilities
    return Demand(exact if fargate else vcpus, memory, gpus, fargate)


def resources(container: dict[str, Any]) -> tuple[int, int]:
    """(vCPUs, MiB) from resourceRequirements, falling back to the legacy vcpus/memory keys."""
    vcpus: float = container.get("vcpus") or DEFAULT_VCPUS
    memory: float = container.get("memory") or DEFAULT_MEMORY_MIB
    for r in container.get("resourceRequirements", []):
        if r.get("type") == "VCPU":
            vcpus = float(r["value"])
        elif r.get("type") == "MEMORY":
            memory = float(r["value"])
    return max(1, int(round(vcpus))), max(1, int(memory))


def fail_kinds(text: str) -> dict[int, str]:
    """SIM_FAIL_INDICES: `3,7:oom` → {3: "", 7: "oom"}; `0-9999/9:oom` is every 9th index from 0 to 9,999 (a wave
    stays short: a retry copies the job's environment into its overrides, which AWS limits to 8,192 characters);
    unknown kinds and stray text are ignored."""
    out: dict[int, str] = {}
    for part in str(text).replace(" ", "").split(","):
        where, _, kind = part.partition(":")
        if kind and kind not in FAIL_KINDS:
            continue
        if where.lstrip("-").isdigit():
            out[int(where)] = kind
        elif m := _WAVE.fullmatch(where):
            start, end, step = int(m[1]), int(m[2]), int(m[3] or 1)
            out.update((i, kind) for i in range(start, min(end, MAX_WAVE_INDEX) + 1, max(step, 1)))
    return out


_WAVE = re.compile(r"(\d+)-(\d+)(?:/(\d+))?")
MAX_WAVE_INDEX = 10_000  # the largest array AWS runs has 10,000 children


def fail_mix(text: str) -> tuple[tuple[str, float], ...]:
    """SIM_FAIL_KINDS: `spot:97,app:3` → (("spot", 0.97), ("app", 1.0)), cumulative; unknown kinds and stray text
    are ignored."""
    weights: list[tuple[str, float]] = []
    for part in str(text).replace(" ", "").split(","):
        kind, _, weight = part.partition(":")
        try:
            w = float(weight)
        except ValueError:
            continue
        if kind in FAIL_KINDS and w > 0 and w != float("inf"):
            weights.append((kind, w))
    total = sum(w for _, w in weights)
    out, acc = [], 0.0
    for kind, w in weights:
        acc += w / total
        out.append((kind, acc))
    return tuple(out)


def _counted_tags(tags: Mapping[str, str]) -> int:
    """Tags that count against a resource's 50: those with the reserved aws: prefix do not."""
    return sum(not k.lower().startswith("aws:") for k in tags)


def _ints(text: str) -> list[int]:
    out = []
    for part in str(text).replace(" ", "").split(","):
        if part.lstrip("-").isdigit():
            out.append(int(part))
    return out
