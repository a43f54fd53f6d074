"""Where RUNNABLE work can go: compute environments, the instances they launch, and why a queue is blocked.

Pure (no clock, no I/O); the engine owns time and the state machine. The rules are aws-batch-facts.md's "Compute
environments, queues and why work sits in RUNNABLE":
- A job is placed on ONE instance of a type its compute environment may launch, with room for its vCPUs, memory
  (counted as `instance_types.usable_memory_mib`) and GPUs. Instances already running are filled first; otherwise a
  new one is launched if the environment's maxvCpus allows it. The type launched is BEST_FIT's: the one that fits
  the job and holds the waiting jobs of its shape for the fewest vCPUs each (one small job gets a small instance,
  ten thousand get large ones), smaller breaking ties. An instance is terminated when its last job leaves.
- FARGATE environments run each task on its own: the job's (vCPU, memory) must be a Fargate combination, and the
  vCPUs in use stay within maxvCpus.
- A job that no environment of its queue could ever hold gets a documented "Job queue blocked" reason and, at the
  head of the queue, blocks the jobs behind it.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from batchtui import instance_types as it

if TYPE_CHECKING:
    from batchtui.sim.engine import Job, Unit

REGION = "us-east-1"
ACCOUNT = "123456789012"

# The "Job queue blocked" reasons, as AWS writes them into the head job's statusReason.
JOB_RESOURCE_REQUIREMENT = ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement "
                            "(vCPU/memory/GPU) is higher than that can be met by the CE(s) attached to the job queue.")
COMPUTE_ENVIRONMENT_MAX_RESOURCE = ("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the "
                                    "job queue cannot meet the CPU requirement of the job.")
CE_INVALID = "ACTION_REQUIRED - CE(s) associated with the job queue are invalid."
BLOCKED_REASONS = (JOB_RESOURCE_REQUIREMENT, COMPUTE_ENVIRONMENT_MAX_RESOURCE, CE_INVALID)
TIME_LIMIT_REASON = "Canceled by JobStateTimeLimit action due to reason: {}"

CE_TYPES = ("MANAGED", "UNMANAGED")
CR_TYPES = ("EC2", "SPOT", "FARGATE", "FARGATE_SPOT")
FARGATE_TYPES = ("FARGATE", "FARGATE_SPOT")
ALLOCATION_STRATEGIES = ("BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED")
STATES = ("ENABLED", "DISABLED")
MAX_ENVIRONMENTS_PER_QUEUE = 3


def arn(kind: str, name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:{kind}/{name}"


def name_of(name_or_arn: str) -> str:
    return name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


class Demand(NamedTuple):
    """What one job asks of an instance (its resourceRequirements) and which platform it runs on. A NamedTuple,
    not a dataclass: it keys the queue's lines and is hashed on every placement."""

    vcpus: float
    memory: int
    gpus: int = 0
    fargate: bool = False


@dataclass
class ComputeResources:
    """A MANAGED environment's computeResources; desiredvCpus is derived from what runs (see ComputeEnvironment)."""

    type: str
    max_vcpus: int
    min_vcpus: int = 0
    instance_types: list[str] = field(default_factory=list)
    allocation_strategy: str = "BEST_FIT_PROGRESSIVE"
    extra: dict[str, Any] = field(default_factory=dict)  # subnets, securityGroupIds, … echoed back, not used

    @property
    def fargate(self) -> bool:
        return self.type in FARGATE_TYPES


class Instance:
    """One launched EC2 instance (or, on Fargate, one task's own capacity) and what is left on it."""

    __slots__ = ("id", "type", "ce", "vcpus", "free_vcpus", "free_memory", "free_gpus", "jobs")

    def __init__(self, ce: ComputeEnvironment, type_: it.InstanceType | None, demand: Demand, number: int) -> None:
        self.id = f"i-{zlib.crc32(ce.name.encode()):08x}{number:09x}"  # 17 hex digits, the same every run
        self.type, self.ce = type_, ce
        if type_ is None:  # a Fargate task: exactly its own size
            self.vcpus: float = demand.vcpus
            self.free_vcpus, self.free_memory, self.free_gpus = demand.vcpus, demand.memory, 0
        else:
            self.vcpus = type_.vcpus
            self.free_vcpus, self.free_memory, self.free_gpus = (type_.vcpus, it.usable_memory_mib(type_),
                                                                 type_.gpus)
        self.jobs = 0

    def holds(self, d: Demand) -> bool:
        return d.vcpus <= self.free_vcpus and d.memory <= self.free_memory and d.gpus <= self.free_gpus

    def take(self, d: Demand) -> None:
        self.free_vcpus -= d.vcpus
        self.free_memory -= d.memory
        self.free_gpus -= d.gpus
        self.jobs += 1

    def give_back(self, d: Demand) -> None:
        self.free_vcpus += d.vcpus
        self.free_memory += d.memory
        self.free_gpus += d.gpus
        self.jobs -= 1


def _per_instance(t: it.InstanceType, d: Demand) -> int:
    """How many jobs like d one instance of type t holds at once."""
    n = min(int(t.vcpus // d.vcpus), it.usable_memory_mib(t) // d.memory)
    return min(n, t.gpus // d.gpus) if d.gpus else n


@dataclass
class ComputeEnvironment:
    """A compute environment and the instances it runs. An UNMANAGED one has no computeResources: its instances are
    the user's own and the simulator registers none, so its work waits (with no blocked reason: Batch cannot tell
    what the user will add)."""

    name: str
    type: str = "MANAGED"
    resources: ComputeResources | None = None
    state: str = "ENABLED"
    status: str = "VALID"
    status_reason: str = "ComputeEnvironment Healthy"
    service_role: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    unmanaged_vcpus: int | None = None
    instances: dict[str, Instance] = field(default_factory=dict)  # running instances, by id
    # The running instances that may take more work, filled first. One that could not take another job like the
    # last it took leaves this set until a job leaves it: the scheduler scans this on every placement.
    open: dict[str, Instance] = field(default_factory=dict)
    vcpus_in_use: float = 0.0  # the vCPUs of the running instances (of the running tasks on Fargate)
    launched: int = 0  # instances launched so far (numbers their ids)
    types: tuple[it.InstanceType, ...] = ()
    fargate: bool = False  # from computeResources.type, kept as a field: the scheduler asks on every placement
    spot: bool = False
    spot_reclaim_rate: float | None = None  # the share of attempts whose SPOT instance is reclaimed (None: the default)
    _fitting: dict[Demand, list[it.InstanceType]] = field(default_factory=dict, repr=False)
    _full_for: set[Demand] = field(default_factory=set, repr=False)  # shapes that found no room since a release

    def __post_init__(self) -> None:
        self.refresh_types()

    def refresh_types(self) -> None:
        """After computeResources change: the allowed types, and nothing cached from before."""
        self.types = it.expand(self.resources.instance_types) if self.resources else ()
        self.fargate = self.resources is not None and self.resources.fargate
        self.spot = self.resources is not None and self.resources.type in ("SPOT", "FARGATE_SPOT")
        self._fitting.clear()
        self._full_for.clear()

    @property
    def arn(self) -> str:
        return arn("compute-environment", self.name)

    def reclaim_rate(self, default: float) -> float:
        return default if self.spot_reclaim_rate is None else self.spot_reclaim_rate

    @property
    def desired_vcpus(self) -> int:
        """Batch moves desiredvCpus between minvCpus and maxvCpus with demand: here, what is running."""
        floor = self.resources.min_vcpus if self.resources else 0
        return max(floor, int(round(self.vcpus_in_use)))

    def takes_new_work(self) -> bool:
        """DISABLED or not (yet) VALID: nothing new is placed; what runs goes on."""
        return self.state == "ENABLED" and self.status in ("VALID", "UPDATING") and self.resources is not None

    def serves(self, d: Demand) -> bool:
        return self.fargate == d.fargate  # an UNMANAGED environment is EC2

    # --- could this job ever run here, and does it fit now --------------------------------------------------

    def fitting_types(self, d: Demand) -> list[it.InstanceType]:
        found = self._fitting.get(d)
        if found is None:
            found = self._fitting[d] = [t for t in self.types if it.fits(t, d.vcpus, d.memory, d.gpus)]
        return found

    def ever_fits(self, d: Demand) -> bool:
        """An instance type (or Fargate size) that holds the job, ignoring maxvCpus."""
        if self.resources is None:
            return True
        if self.fargate:
            return it.fargate_valid(d.vcpus, d.memory) and not d.gpus
        return bool(self.fitting_types(d))

    def within_max(self, d: Demand) -> bool:
        """The smallest instance that holds the job fits inside maxvCpus."""
        if self.resources is None:
            return True
        if self.fargate:
            return d.vcpus <= self.resources.max_vcpus
        return min(t.vcpus for t in self.fitting_types(d)) <= self.resources.max_vcpus

    def place(self, d: Demand, waiting: int) -> Instance | None:
        """An instance with room for the job, launching one if maxvCpus allows; None when it must wait."""
        if d in self._full_for or not (self.fargate or self.fitting_types(d)):
            return None
        inst = self._find_room(d, waiting)
        if inst is None:
            self._full_for.add(d)
        return inst

    def _find_room(self, d: Demand, waiting: int) -> Instance | None:
        for inst in self.open.values():
            if inst.holds(d):
                return self._take(inst, d)
        assert self.resources is not None
        room = self.resources.max_vcpus - self.vcpus_in_use
        if self.fargate:
            if d.vcpus > room or not it.fargate_valid(d.vcpus, d.memory) or d.gpus:
                return None
            return self._launch(None, d)
        best: tuple[float, int, it.InstanceType] | None = None
        for t in self.fitting_types(d):
            if t.vcpus > room:
                continue
            cost = t.vcpus / min(_per_instance(t, d), max(1, waiting))  # vCPUs launched per job it will hold
            if best is None or (cost, t.vcpus) < best[:2]:
                best = (cost, t.vcpus, t)
        return None if best is None else self._launch(best[2], d)

    def _launch(self, t: it.InstanceType | None, d: Demand) -> Instance:
        self.launched += 1
        inst = Instance(self, t, d, self.launched)
        self.instances[inst.id] = inst
        self.open[inst.id] = inst
        self.vcpus_in_use += inst.vcpus
        return self._take(inst, d)

    def _take(self, inst: Instance, d: Demand) -> Instance:
        inst.take(d)
        if not inst.holds(d):
            self.open.pop(inst.id, None)
        return inst

    def release(self, inst: Instance, d: Demand) -> None:
        """The job left the instance; an empty instance is terminated (scale-in)."""
        inst.give_back(d)
        self._full_for.clear()
        if inst.jobs:
            self.open[inst.id] = inst
            return
        self.open.pop(inst.id, None)
        if self.instances.pop(inst.id, None) is not None:
            self.vcpus_in_use -= inst.vcpus


@dataclass(frozen=True)
class TimeLimitAction:
    reason: str
    state: str
    max_time_seconds: int
    action: str


@dataclass
class Queue:
    name: str
    order: list[ComputeEnvironment]  # computeEnvironmentOrder, tried first to last
    priority: int = 1
    state: str = "ENABLED"
    status: str = "VALID"
    status_reason: str = "JobQueue Healthy"
    tags: dict[str, str] = field(default_factory=dict)
    time_limit_actions: list[TimeLimitAction] = field(default_factory=list)
    scheduling_policy_arn: str | None = None
    jobs: list[Job] = field(default_factory=list)  # top-level jobs in submission (seq) order
    seqs: list[int] = field(default_factory=list)
    waiting: dict[Demand, deque[Unit]] = field(default_factory=dict)  # RUNNABLE work per shape, FIFO
    _reasons: dict[Demand, str | None] = field(default_factory=dict, repr=False)  # cleared when the world changes

    @property
    def arn(self) -> str:
        return arn("job-queue", self.name)

    def blocked_reason(self, d: Demand) -> str | None:
        """Why no environment of this queue could ever run the job (None: it can, once there is room)."""
        if d not in self._reasons:
            self._reasons[d] = self._blocked_reason(d)
        return self._reasons[d]

    def forget(self) -> None:
        """An environment or this queue changed: the reasons must be worked out again."""
        self._reasons.clear()

    def _blocked_reason(self, d: Demand) -> str | None:
        if self.order and all(ce.status == "INVALID" for ce in self.order):
            return CE_INVALID
        candidates = [ce for ce in self.order if ce.status != "INVALID" and ce.serves(d)]
        fitting = [ce for ce in candidates if ce.ever_fits(d)]
        if not fitting:
            return JOB_RESOURCE_REQUIREMENT
        if not any(ce.within_max(d) for ce in fitting):
            return COMPUTE_ENVIRONMENT_MAX_RESOURCE
        return None

    def place(self, d: Demand, waiting: int) -> Instance | None:
        for ce in self.order:
            if ce.takes_new_work() and ce.serves(d):
                inst = ce.place(d, waiting)
                if inst is not None:
                    return inst
        return None
