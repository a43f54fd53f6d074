"""Why RUNNABLE work is not moving: the queue's compute environments, instance fit and the queue head (pure).

    world = World.parse(queue_dict, [ce_dicts...], snapshot_dict)   # the AWS answers, read here only
    waiting = diagnose(job, world, snap)                              # Waiting(cause="no-instance-fits", …)

The evidence is weighed in the order on-call engineers check it (aws-batch-facts.md, "Compute environments, queues
and why work sits in RUNNABLE"): AWS's own statusReason on the job (the blocked-queue codes); the queue itself
INVALID or DISABLED; its environments DISABLED or INVALID; no instance type they may launch holds the job (memory
counted as AWS counts it); every maxvCpus below the job's vCPUs; an unplaceable job at the head of the queue
blocking the rest; the environments at maxvCpus with running work, or a higher-priority queue sharing them taking
them (its RUNNABLE work, or its running work on a full environment: lower-priority); else it is simply in line.
Instance sizes come from EC2 DescribeInstanceTypes where the credentials allow it (`parse_instance_types`,
`ec2_request`), else from the table batchtui ships (`instance_types`, shared with the simulator); a type neither
sizes is named as unknown, never guessed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchtui import instance_types as it
from batchtui.model import ContainerOverrides, Job, Snapshot, Status

CAUSES = ("no-instance-fits", "max-vcpus-too-small", "ce-disabled", "ce-invalid", "queue-invalid",
          "insufficient-capacity", "service-role", "blocked-behind", "capacity-full", "lower-priority", "in-line")
# AWS's blocked-queue statusReason codes (prefixes), and the cause each means.
AWS_REASONS = (
    ("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", "no-instance-fits"),
    ("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", "max-vcpus-too-small"),
    ("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", "insufficient-capacity"),
    ("MISCONFIGURATION:SERVICE_ROLE_PERMISSIONS", "service-role"),
    ("ACTION_REQUIRED", "ce-invalid"),
)

FRONT_MAX = 100  # GetJobQueueSnapshot's frontOfQueue holds the first 100 RUNNABLE jobs
TABLE_SOURCE = "batchtui's instance-type table"
EC2_SOURCE = "EC2 DescribeInstanceTypes"


@dataclass(frozen=True, slots=True)
class ComputeEnv:
    name: str
    arn: str
    state: str  # ENABLED | DISABLED
    status: str  # VALID | INVALID | CREATING | UPDATING | …
    status_reason: str | None
    kind: str  # MANAGED | UNMANAGED
    resources: str | None  # EC2 | SPOT | FARGATE | FARGATE_SPOT (MANAGED only)
    min_vcpus: int | None = None
    max_vcpus: int | None = None
    desired_vcpus: int | None = None
    instance_types: tuple[str, ...] = ()  # as the environment names them (sizes, families, `optimal`)
    types: tuple[it.InstanceType, ...] = ()  # what they stand for, sized (EC2's answer, else the table)
    unsized: tuple[str, ...] = ()  # names neither EC2 nor the table could size

    @property
    def fargate(self) -> bool:
        return (self.resources or "").startswith("FARGATE")

    @property
    def usable(self) -> bool:
        return self.state == "ENABLED" and self.status == "VALID"

    def unknown_types(self) -> list[str]:
        return list(self.unsized)

    def largest(self) -> it.InstanceType | None:
        return max(self.types, key=lambda t: (t.vcpus, it.usable_memory_mib(t)), default=None)


@dataclass(frozen=True, slots=True)
class QueueInfo:
    name: str
    arn: str
    state: str
    status: str
    status_reason: str | None
    priority: int | None
    environments: tuple[str, ...]  # computeEnvironmentOrder, in order (ARNs or names as AWS gave them)
    fair_share: bool = False


@dataclass(frozen=True, slots=True)
class Rival:
    """A higher-priority queue sharing an environment with ours (Batch places its work first), and its work."""

    name: str
    priority: int
    shared: tuple[str, ...]  # the environments (names) both queues use
    runnable: int | None  # its RUNNABLE jobs at the front of its queue (GetJobQueueSnapshot: 100 at most)
    running_vcpus: float | None  # vCPUs its running work holds (queueUtilization)

    @property
    def busy(self) -> bool:
        return bool(self.runnable) or bool(self.running_vcpus)


@dataclass(frozen=True)
class World:
    """What batchtui learned about a queue's capacity on its last capacity read (None fields: not readable)."""

    queue: QueueInfo | None
    environments: tuple[ComputeEnv, ...] = ()
    front: tuple[str, ...] = ()  # job ids at the front of the queue, in dispatch order (GetJobQueueSnapshot)
    missing: tuple[str, ...] = ()  # what could not be read and why ("batch:DescribeComputeEnvironments denied")
    sizes_from: str = TABLE_SOURCE  # where the instance sizes came from (said in the view)
    sizes_note: str | None = None  # why EC2 could not size them ("no permission for ec2:DescribeInstanceTypes")
    rivals: tuple[Rival, ...] = ()  # higher-priority queues sharing our environments (`rival_queues`, `rival`)

    @classmethod
    def parse(cls, queue: Mapping | None, environments: Iterable[Mapping] = (), snapshot: Mapping | None = None,
              missing: Sequence[str] = (), sizes: Mapping[str, it.InstanceType] | None = None,
              sizes_note: str | None = None, rivals: Iterable[Rival] = ()) -> World:
        """`sizes`: EC2's sizes by name (`parse_instance_types`); without them the table sizes what it knows."""
        q = _queue(queue) if isinstance(queue, Mapping) else None
        envs = tuple(_environment(e, sizes or {}) for e in environments if isinstance(e, Mapping))
        if q is not None:  # in the queue's order
            rank = {ref: n for n, ref in enumerate(q.environments)}
            envs = tuple(sorted(envs, key=lambda e: rank.get(e.arn, rank.get(e.name, len(rank)))))
        front = tuple(_job_id(j.get("jobArn")) for j in ((snapshot or {}).get("frontOfQueue") or {}).get("jobs") or ()
                      if isinstance(j, Mapping) and j.get("jobArn"))
        return cls(q, envs, front, tuple(missing), EC2_SOURCE if sizes else TABLE_SOURCE, sizes_note,
                   tuple(rivals))


def _name_of(ref: Any) -> str:
    """A compute environment or queue by name, whether AWS gave its ARN or its name."""
    return str(ref).rsplit("/", 1)[-1]


def name_of(ref: str) -> str:
    """A queue (or environment) by name: Job.queue is an ARN when DescribeJobs gave it, --queue may be either."""
    return _name_of(ref)


def _order_refs(queue: Mapping) -> set[str]:
    return {_name_of(o.get("computeEnvironment")) for o in queue.get("computeEnvironmentOrder") or ()
            if isinstance(o, Mapping) and o.get("computeEnvironment")}


def environment_refs(queue: object) -> list[str]:
    """The compute environments a DescribeJobQueues entry names (computeEnvironmentOrder), as AWS gave them."""
    if not isinstance(queue, Mapping):
        return []
    return [str(o.get("computeEnvironment")) for o in queue.get("computeEnvironmentOrder") or ()
            if isinstance(o, Mapping) and o.get("computeEnvironment")]


def queue_name(queue: Mapping) -> str:
    return str(queue.get("jobQueueName"))


def rival_queues(ours: Mapping, queues: Iterable[Any], limit: int = 3) -> list[Mapping]:
    """From DescribeJobQueues' list of every queue: the ENABLED ones of higher priority that share a compute
    environment with ours, highest first (the ones whose GetJobQueueSnapshot is worth a call; at most `limit`)."""
    mine, name, priority = _order_refs(ours), ours.get("jobQueueName"), _int(ours.get("priority")) or 0
    found = [q for q in queues if isinstance(q, Mapping) and q.get("jobQueueName") != name
             and q.get("state") == "ENABLED" and (_int(q.get("priority")) or 0) > priority and _order_refs(q) & mine]
    return sorted(found, key=lambda q: -(_int(q.get("priority")) or 0))[:limit]


def rival(ours: Mapping, queue: Mapping, snapshot: Mapping | None) -> Rival:
    """A rival queue with its GetJobQueueSnapshot (None: not readable, so its work is unknown)."""
    shared = tuple(sorted(_order_refs(queue) & _order_refs(ours)))
    if not isinstance(snapshot, Mapping):
        return Rival(str(queue.get("jobQueueName") or ""), _int(queue.get("priority")) or 0, shared, None, None)
    front = snapshot.get("frontOfQueue")
    jobs = front.get("jobs") if isinstance(front, Mapping) else None
    usage = snapshot.get("queueUtilization")
    total = usage.get("totalCapacityUsage") if isinstance(usage, Mapping) else None
    vcpus = sum(_float(u.get("quantity")) or 0.0 for u in total or () if isinstance(u, Mapping)
                and u.get("capacityUnit") == "VCPU") if isinstance(total, list) else None
    return Rival(str(queue.get("jobQueueName") or ""), _int(queue.get("priority")) or 0, shared,
                 len(jobs) if isinstance(jobs, list) else None, vcpus)


def resolve_types(names: Iterable[str], ec2: Mapping[str, it.InstanceType]) -> tuple[tuple[it.InstanceType, ...],
                                                                                    tuple[str, ...]]:
    """The instance types an environment's instanceTypes stand for, smallest first, and the names nobody could
    size. EC2's answer wins over the table (it is the account's truth); a family is every size either knows."""
    chosen: dict[str, it.InstanceType] = {}
    unsized: list[str] = []
    for name in names:
        families = it.DEFAULT_FAMILIES if name in it.ALIASES else (name,) if "." not in name else ()
        if families:
            found = {t.name: t for t in it.expand(families)}
            found.update({n: t for n, t in ec2.items() if t.family in families})
        else:
            sized = ec2.get(name) or it.lookup(name)
            found = {name: sized} if sized is not None else {}
        if not found:
            unsized.append(name)
        chosen.update({n: ec2.get(n, t) for n, t in found.items()})
    ordered = sorted(chosen.values(), key=lambda t: (t.vcpus, t.memory_mib, t.gpus, t.name))
    return tuple(ordered), tuple(dict.fromkeys(unsized))


@dataclass(frozen=True, slots=True)
class Ec2Request:
    """What to ask DescribeInstanceTypes for: sizes by name (a family the table knows as its sizes, so the usual
    ask is one call), and families the table lacks as `instance-type` filter patterns."""

    names: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.patterns)


def ec2_request(environments: Iterable[Mapping], asked: Iterable[str] = ()) -> Ec2Request:
    """The instance types the environments may launch that were not asked about yet (`asked`: names and patterns
    asked before in this session), read from raw DescribeComputeEnvironments entries."""
    done = set(asked)
    names: dict[str, None] = {}
    patterns: dict[str, None] = {}
    for e in environments:
        if not isinstance(e, Mapping):
            continue
        r = e.get("computeResources")
        for name in (r.get("instanceTypes") or () if isinstance(r, Mapping) else ()):
            name = str(name)
            if "." in name:
                names[name] = None
            elif name in it.ALIASES or name in it.FAMILIES:  # the table's sizes of it, by name: one call for all
                names.update((t.name, None) for t in it.expand([name]))
            else:  # a family the table lacks: EC2's wildcard finds its sizes
                patterns[f"{name}.*"] = None
    return Ec2Request(tuple(n for n in names if n not in done), tuple(p for p in patterns if p not in done))


def parse_instance_types(answer: Iterable[Any]) -> dict[str, it.InstanceType]:
    """DescribeInstanceTypes' InstanceTypes entries as sizes by name; an entry without vCPUs or memory is left
    out (that type stays unsized rather than guessed)."""
    out: dict[str, it.InstanceType] = {}
    for d in answer:
        if not isinstance(d, Mapping) or not d.get("InstanceType"):
            continue
        vcpus = _int((d.get("VCpuInfo") or {}).get("DefaultVCpus") if isinstance(d.get("VCpuInfo"), Mapping) else None)
        memory = _int((d.get("MemoryInfo") or {}).get("SizeInMiB") if isinstance(d.get("MemoryInfo"), Mapping)
                      else None)
        if not vcpus or not memory or vcpus < 0 or memory < 0:
            continue
        gpu_info = d.get("GpuInfo")
        gpus = sum(_int(g.get("Count")) or 0 for g in (gpu_info.get("Gpus") or () if isinstance(gpu_info, Mapping)
                                                          else ()) if isinstance(g, Mapping))
        name = str(d["InstanceType"])
        out[name] = it.InstanceType(name, vcpus, memory, gpus)
    return out


def _queue(d: Mapping) -> QueueInfo:
    order = sorted((o for o in d.get("computeEnvironmentOrder") or () if isinstance(o, Mapping)),
                   key=lambda o: o.get("order") or 0)
    return QueueInfo(str(d.get("jobQueueName") or ""), str(d.get("jobQueueArn") or ""), str(d.get("state") or ""),
                     str(d.get("status") or ""), _str(d.get("statusReason")), _int(d.get("priority")),
                     tuple(str(o.get("computeEnvironment")) for o in order if o.get("computeEnvironment")),
                     fair_share=bool(d.get("schedulingPolicyArn")))


def _environment(d: Mapping, sizes: Mapping[str, it.InstanceType]) -> ComputeEnv:
    r = d.get("computeResources")
    r = r if isinstance(r, Mapping) else {}
    names = tuple(str(t) for t in r.get("instanceTypes") or ())
    types, unsized = resolve_types(names, sizes)
    return ComputeEnv(str(d.get("computeEnvironmentName") or ""), str(d.get("computeEnvironmentArn") or ""),
                      str(d.get("state") or ""), str(d.get("status") or ""), _str(d.get("statusReason")),
                      str(d.get("type") or ""), _str(r.get("type")), _int(r.get("minvCpus")), _int(r.get("maxvCpus")),
                      _int(r.get("desiredvCpus")), names, types, unsized)


def _job_id(arn: Any) -> str:
    return str(arn).rsplit("/", 1)[-1]


def _str(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


# --- what a job needs -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Needs:
    vcpus: float | None
    memory_mib: int | None
    gpus: int = 0

    def text(self) -> str:
        parts = []
        if self.vcpus is not None:
            parts.append(f"{self.vcpus:g} vCPU")
        if self.memory_mib is not None:
            parts.append(f"{self.memory_mib:,} MiB")
        if self.gpus:
            parts.append(f"{self.gpus} GPU")
        return ", ".join(parts) or "unknown resources"


def needs(job: Job) -> Needs:
    """From the job's container (DescribeJobs: resourceRequirements, or the older vcpus/memory fields)."""
    c = job.container_overrides or ContainerOverrides()
    found = {r.type.upper(): r.value for r in c.resources or () if r.type and r.value is not None}
    vcpus = _float(found.get("VCPU", c.vcpus))
    memory = _int(found.get("MEMORY", c.memory))
    return Needs(vcpus, memory, _int(found.get("GPU")) or 0)


def _float(v: Any) -> float | None:
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


# --- the diagnosis ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    cause: str
    text: str
    aws_reason: str | None = None
    compute_environment: str | None = None
    blocked_by: str | None = None
    fix: str | None = None
    at_a_time: int | None = None  # capacity-full: how many of this job the environment holds at once (the ETA's pace)

    @property
    def stuck(self) -> bool:
        """Nothing will move until someone changes something (as opposed to waiting its turn)."""
        return self.cause not in ("in-line", "capacity-full", "lower-priority", "insufficient-capacity")

    def to_json(self) -> dict[str, Any]:
        return {"cause": self.cause, "text": self.text, "awsReason": self.aws_reason,
                "computeEnvironment": self.compute_environment, "blockedBy": self.blocked_by, "fix": self.fix}


def has_runnable_work(job: Job) -> bool:
    if job.array is not None:
        return job.array.count(Status.RUNNABLE) > 0
    return job.status is Status.RUNNABLE


def _runnable_reason(job: Job) -> str | None:
    """AWS's statusReason on the RUNNABLE job or the first RUNNABLE child that has one."""
    if job.array is None:
        return job.status_reason if job.status is Status.RUNNABLE else None
    for i, d in job.array.details.items():
        if d.status_reason and job.array.statuses[i] == Status.RUNNABLE:
            return d.status_reason
    return job.status_reason if job.status is Status.RUNNABLE else None


def diagnose(job: Job, world: World | None, snap: Snapshot | None = None) -> Waiting | None:
    """Why the job's RUNNABLE work waits; None for a job with none."""
    if not has_runnable_work(job):
        return None
    reason = _runnable_reason(job)
    for prefix, cause in AWS_REASONS:
        if reason and reason.startswith(prefix):
            return _from_aws(cause, reason, job, world)
    if world is None or world.queue is None:
        return Waiting("in-line", "waiting for capacity (the queue's compute environments could not be read"
                       + (f": {'; '.join(world.missing)})" if world and world.missing else ")"), reason)
    q = world.queue
    if q.status == "INVALID" or q.state == "DISABLED" or not q.environments:
        return _queue_invalid(q, reason)
    envs = world.environments
    if not envs and world.missing:
        return Waiting("in-line", f"waiting in {q.name} (its compute environments could not be read: "
                       f"{'; '.join(world.missing)})", reason)
    if not envs:  # the queue names environments DescribeComputeEnvironments no longer returns
        return Waiting("in-line", f"unknown: {', '.join(_name_of(r) for r in q.environments)}, which {q.name} "
                       "lists, no longer exist(s) (deleted between calls?)", reason)
    invalid = [e for e in envs if e.status == "INVALID"]
    disabled = [e for e in envs if e.state == "DISABLED"]
    usable = [e for e in envs if e.usable]
    if not usable and invalid:
        return _invalid(invalid[0], reason)
    if not usable and disabled:
        return _disabled(disabled[0], reason)
    # Some environment is usable, but only an unusable one could hold this job: that one is the cause.
    if usable and (invalid or disabled) and not any(_holds(e, needs(job)) for e in usable):
        for e in invalid + disabled:
            if _holds(e, needs(job)):
                return _invalid(e, reason) if e.status == "INVALID" else _disabled(e, reason)
    found = (_fit(needs(job), usable or list(envs), reason) or _head(job, world, snap, reason)
             or _taken(job, q, world.rivals, usable, snap, reason) or Waiting("in-line", _in_line(q), reason,
                                                                    usable[0].name if usable else None))
    return _unknown_sizes(found, needs(job), usable or list(envs))


def _unknown_sizes(found: Waiting, need: Needs, envs: Sequence[ComputeEnv]) -> Waiting:
    """Waiting its turn, but whether it can ever be placed rests on instance types nobody could size: say so."""
    if found.cause not in ("in-line", "capacity-full"):
        return found
    vcpus, memory = need.vcpus or 0, need.memory_mib or 0
    if any(it.fits(t, vcpus, memory, need.gpus) for e in envs if not e.fargate for t in e.types) \
            or any(e.fargate and _holds(e, need) for e in envs):
        return found
    unsized = [n for e in envs for n in e.unsized]
    if not unsized:
        return found
    names = ", ".join(unsized)
    return dataclasses.replace(found, text=f"{found.text}; whether it fits at all is unknown: instance type "
                               f"{names} {'is' if len(unsized) == 1 else 'are'} unknown (EC2 did not size "
                               f"{'it' if len(unsized) == 1 else 'them'} and batchtui's table does not have "
                               f"{'it' if len(unsized) == 1 else 'them'})")


def _queue_invalid(q: QueueInfo, reason: str | None) -> Waiting:
    """The job queue itself cannot dispatch: INVALID, DISABLED, or with no compute environment at all."""
    why = f": {q.status_reason}" if q.status_reason else ""
    if not q.environments:
        return Waiting("queue-invalid", f"the queue {q.name} has no compute environment: nothing can run{why}",
                       reason, fix=f"aws batch update-job-queue --job-queue {q.name} --compute-environment-order "
                       "order=1,computeEnvironment=CE_NAME")
    if q.status == "INVALID":
        return Waiting("queue-invalid", f"the queue {q.name} is INVALID{why}", reason,
                       fix=f"fix what {q.name}'s statusReason says (often its compute environments), then: aws batch "
                       f"update-job-queue --job-queue {q.name} --state ENABLED")
    return Waiting("queue-invalid", f"the queue {q.name} is DISABLED{why}: it takes no new jobs and its RUNNABLE "
                   "work waits", reason, fix=f"aws batch update-job-queue --job-queue {q.name} --state ENABLED")


def _invalid(e: ComputeEnv, reason: str | None) -> Waiting:
    return Waiting("ce-invalid", f"{e.name} is INVALID" + (f": {e.status_reason}" if e.status_reason else ""),
                   reason, e.name, fix=f"fix what {e.name}'s statusReason says, then: aws batch "
                   f"update-compute-environment --compute-environment {e.name} --state ENABLED")


def _disabled(e: ComputeEnv, reason: str | None) -> Waiting:
    return Waiting("ce-disabled", f"{e.name} is DISABLED: it places nothing new", reason, e.name,
                   fix=f"aws batch update-compute-environment --compute-environment {e.name} --state ENABLED")


def _holds(e: ComputeEnv, need: Needs) -> bool:
    """One instance type the environment may launch holds the job (unknown needs: assume it does)."""
    if need.vcpus is None and need.memory_mib is None:
        return True
    vcpus, memory = need.vcpus or 0, need.memory_mib or 0
    if e.max_vcpus is not None and not e.fargate and e.max_vcpus < vcpus:
        return False
    if e.fargate:
        return it.fargate_valid(vcpus, memory)
    return bool(e.unknown_types()) or any(it.fits(t, vcpus, memory, need.gpus) for t in e.types)


def _from_aws(cause: str, reason: str, job: Job, world: World | None) -> Waiting:
    """AWS said why: explain it in words, with the evidence batchtui has."""
    every = list(world.environments if world else ())
    if cause == "ce-invalid" and any(e.status == "INVALID" for e in every):
        return _invalid(next(e for e in every if e.status == "INVALID"), reason)
    envs = [e for e in every if e.usable] or every
    found = _fit(needs(job), envs, reason) if cause in ("no-instance-fits", "max-vcpus-too-small") and envs else None
    if found is not None and found.cause == cause:
        return found
    queue = f"{world.queue.name}'s" if world is not None and world.queue is not None else "the queue's"
    text = {"no-instance-fits": f"needs {needs(job).text()}: no instance type {queue} environments may launch "
                                "holds it (AWS: job resource requirement)",
            "max-vcpus-too-small": f"needs {needs(job).text()}: more vCPUs than the environments' maxvCpus",
            "insufficient-capacity": "AWS cannot get the instances it needs right now (insufficient capacity)",
            "service-role": "the compute environment's service role lacks permissions",
            "ce-invalid": f"{queue} compute environments are INVALID"}[cause]
    return Waiting(cause, text, reason, envs[0].name if envs else None)


def _fit(need: Needs, envs: Sequence[ComputeEnv], reason: str | None) -> Waiting | None:
    """no-instance-fits / max-vcpus-too-small, when no environment can hold the job and the evidence says why."""
    if need.vcpus is None and need.memory_mib is None or not envs or any(_holds(e, need) for e in envs):
        return None
    vcpus, memory = need.vcpus or 0, need.memory_mib or 0
    ec2 = [e for e in envs if not e.fargate]
    if not ec2 or any(e.unknown_types() for e in ec2):
        return None  # a type batchtui cannot size: say nothing rather than guess
    by_instance = [e for e in ec2 if any(it.fits(t, vcpus, memory, need.gpus) for t in e.types)]
    if by_instance:  # an instance would hold it, but the environment may not grow that far
        e = max(by_instance, key=lambda e: e.max_vcpus or 0)
        return Waiting("max-vcpus-too-small", f"needs {need.text()}; {e.name} may use at most {e.max_vcpus} vCPUs",
                       reason, e.name, fix=f"aws batch update-compute-environment --compute-environment {e.name} "
                       f"--compute-resources maxvCpus={_at_least(vcpus)}")
    e = max(ec2, key=lambda e: t.vcpus if (t := e.largest()) else 0)
    big = e.largest()
    has = (f"the largest instance type {e.name} may launch, {big.name}, offers {big.vcpus} vCPU, "
           f"{it.usable_memory_mib(big):,} MiB" + (f", {big.gpus} GPU" if big.gpus else "")) if big else \
        f"{e.name} may launch no instance type batchtui knows"
    bigger = it.smallest_fit(it.expand(["optimal", "g5"]), vcpus, memory, need.gpus)
    fix = (f"aws batch update-compute-environment --compute-environment {e.name} --compute-resources "
           f"instanceTypes={bigger.name} (or ask for less memory/vCPUs in the job)" if bigger else None)
    return Waiting("no-instance-fits", f"needs {need.text()}; {has}", reason, e.name, fix=fix)


def fit_problem(need: Needs, world: World) -> str | None:
    """Why a job needing this could never run in the world's queue (a resubmission with changed resources, before
    it is sent); None when it could, or when batchtui cannot tell (unknown needs or instance types)."""
    q = world.queue
    if q is not None and (q.state == "DISABLED" or q.status == "INVALID"):
        return f"the queue {q.name} is {'DISABLED: it accepts no new jobs' if q.state == 'DISABLED' else 'INVALID'}"
    envs = [e for e in world.environments if e.usable] or list(world.environments)
    if not envs:
        return None if world.missing else f"the queue {q.name if q else '?'} has no compute environment"
    if need.vcpus is not None and need.vcpus < 1 and not any(e.fargate for e in envs):
        return f"needs {need.text()}: a job on EC2 needs at least 1 vCPU"
    found = _fit(need, envs, None)
    if found is None and all(e.fargate for e in envs) and need.vcpus is not None and need.memory_mib is not None \
            and not it.fargate_valid(need.vcpus, need.memory_mib):
        return f"needs {need.text()}: not a size Fargate runs"
    return found.text if found is not None else None


def _at_least(vcpus: float) -> int:
    n = int(vcpus) if vcpus == int(vcpus) else int(vcpus) + 1
    return max(n, 1)


def _head(job: Job, world: World, snap: Snapshot | None, reason: str | None) -> Waiting | None:
    """The queue's head is an unplaceable job (AWS wrote a blocked-queue reason on it): everything behind waits."""
    if not world.front or snap is None or world.queue is None or world.queue.fair_share:
        return None
    head_id = world.front[0]
    if head_id == job.job_id or head_id.startswith(job.job_id + ":"):
        return None
    head = _find(snap, head_id)
    head_reason = _reason_of(snap, head_id)
    if head_reason and any(head_reason.startswith(p) for p, _ in AWS_REASONS):
        name = head.job_name if head else head_id
        return Waiting("blocked-behind", f"behind {name} at the head of {world.queue.name}, which cannot be placed "
                       f"({head_reason.split(' - ')[0]})", reason, blocked_by=head_id,
                       fix=f"cancel the job blocking the queue head: batchtui cancel {head_id}")
    return None


def _find(snap: Snapshot, job_id: str) -> Job | None:
    parent = job_id.split(":", 1)[0]
    return snap.job(parent)


def _reason_of(snap: Snapshot, job_id: str) -> str | None:
    parent, _, index = job_id.partition(":")
    job = snap.job(parent)
    if job is None:
        return None
    if index.isdigit() and job.array is not None:
        d = job.array.details.get(int(index))
        return d.status_reason if d else None
    return job.status_reason


def _full(job: Job, envs: Sequence[ComputeEnv], snap: Snapshot | None, reason: str | None,
          world_queue: str | None = None) -> Waiting | None:
    """The environments are at maxvCpus with running work: how many of this job fit at a time."""
    ec2 = [e for e in envs if e.max_vcpus and not e.fargate]
    if not ec2:
        return None
    e = ec2[0]
    need = needs(job)
    if e.desired_vcpus is None or e.max_vcpus is None or e.desired_vcpus < e.max_vcpus:
        return None
    running = _running_vcpus(snap, world_queue) if snap is not None else None
    at_once = at_a_time(e, need)
    per = f"; {at_once:,} of this job fit at a time" if at_once else ""
    used = f" ({running:g} vCPUs held by running work batchtui sees)" if running else ""
    return Waiting("capacity-full", f"{e.name} is at its maxvCpus ({e.desired_vcpus}/{e.max_vcpus} vCPUs){used}"
                   f"{per}", reason, e.name, fix=f"aws batch update-compute-environment --compute-environment "
                   f"{e.name} --compute-resources maxvCpus={e.max_vcpus * 2} (if the account's limits allow)",
                   at_a_time=at_once or None)


def at_a_time(e: ComputeEnv, need: Needs) -> int:
    """How many jobs of this size the environment runs at once at its maxvCpus: instances of the best type that
    fit in maxvCpus, times the jobs one holds (by vCPUs, memory and GPUs: a 32 GiB job goes three to an
    r6i.4xlarge). Without a sized type that holds it, by vCPUs alone; 0 when the needs are unknown."""
    if not need.vcpus or not e.max_vcpus:
        return 0
    best = 0
    for t in e.types:
        if not it.fits(t, need.vcpus, need.memory_mib or 0, need.gpus):
            continue
        per_instance = int(t.vcpus // need.vcpus)
        if need.memory_mib:
            per_instance = min(per_instance, it.usable_memory_mib(t) // need.memory_mib)
        if need.gpus:
            per_instance = min(per_instance, t.gpus // need.gpus)
        best = max(best, (e.max_vcpus // t.vcpus) * per_instance)
    return best or int(e.max_vcpus // need.vcpus)


def _taken(job: Job, q: QueueInfo, rivals: Sequence[Rival], usable: Sequence[ComputeEnv], snap: Snapshot | None,
           reason: str | None) -> Waiting | None:
    """The environment at maxvCpus (capacity-full), or a higher-priority queue sharing it taking it
    (lower-priority): full with a busy rival on it, or not full while the rival has RUNNABLE work Batch places
    first. Full with only our own work is capacity-full."""
    full = _full(job, usable, snap, reason, q.name)
    names = {e.name for e in usable}
    taking = [r for r in rivals if set(r.shared) & names and (r.busy if full else r.runnable)]
    if not taking:
        return full
    r = taking[0]
    more = "+" if r.runnable and r.runnable >= FRONT_MAX else ""  # the snapshot shows the first 100 only
    work = [f"{r.runnable:,}{more} RUNNABLE" if r.runnable else "", f"{r.running_vcpus:g} vCPUs running"
            if r.running_vcpus else ""]
    full_text = f"; {full.text}" if full is not None else ""
    return Waiting("lower-priority", f"{r.name} (priority {r.priority}, above {q.name}'s {q.priority}) shares "
                   f"{', '.join(r.shared)} and is taking it ({' and '.join(w for w in work if w)}){full_text}",
                   reason, r.shared[0], fix=f"wait for {r.name}'s work, or raise this queue's priority: aws batch "
                   f"update-job-queue --job-queue {q.name} --priority {r.priority + 1}")


def _running_vcpus(snap: Snapshot, queue: str | None) -> float:
    """vCPUs held by the running work batchtui sees in `queue` (None: every job of the snapshot)."""
    total = 0.0
    for j in snap.jobs:
        if queue is not None and name_of(j.queue or snap.queue) != queue:
            continue  # another queue's work holds another queue's environments
        n = needs(j).vcpus or 0
        count = j.array.count(Status.RUNNING) + j.array.count(Status.STARTING) if j.array is not None else \
            int(j.status in (Status.RUNNING, Status.STARTING))
        total += n * count
    return total


def _in_line(q: QueueInfo) -> str:
    order = "ordering follows the queue's fair-share policy" if q.fair_share else "first in, first out"
    return f"in line in {q.name} ({order}); its environments have room for it"


def world_for(snap: Snapshot, job: Job) -> World | None:
    """The world of the queue the job is in: the watched queue's (`capacity`; a job listed without its queue is
    in it), another queue's from `worlds` (None while it was not read)."""
    queue = name_of(job.queue) if job.queue else None
    if queue is None or queue == name_of(snap.queue):
        return snap.capacity
    return snap.worlds.get(queue)


def waits_where(job: Job, snap: Snapshot) -> str:
    """The name of the queue whose world `diagnose_in` weighs the job's RUNNABLE work against."""
    job = snap.waits_in.get(job.job_id, job)
    return name_of(job.queue) if job.queue else name_of(snap.queue)


def diagnose_in(job: Job, snap: Snapshot) -> Waiting | None:
    """Why the job's RUNNABLE work waits, against its own queue's world. An (effective) original whose RUNNABLE
    indices all wait in a retry is diagnosed as that retry – its queue, its resources – and says so."""
    retry = snap.waits_in.get(job.job_id)
    if retry is None or not has_runnable_work(job):
        return _in_queue(job, snap, diagnose(job, world_for(snap, job), snap))
    found = diagnose(retry, world_for(snap, retry), snap)
    if found is None:
        return diagnose(job, world_for(snap, job), snap)
    queue = name_of(retry.queue) if retry.queue else name_of(snap.queue)
    where = "" if queue == name_of(snap.queue) or queue in found.text else f" in {queue}"
    return dataclasses.replace(found, text=f"retried{where} as {retry.job_name}: {found.text}")


def _in_queue(job: Job, snap: Snapshot, found: Waiting | None) -> Waiting | None:
    """A job waiting in another queue than the watched one: the text names that queue (unless it already does)."""
    if found is None or not job.queue:
        return found
    queue = name_of(job.queue)
    if queue == name_of(snap.queue) or queue in found.text:
        return found
    if queue not in snap.worlds and found.cause == "in-line":  # past the poller's bound on other queues read
        return dataclasses.replace(found, text=f"waiting in {queue}, whose compute environments batchtui did not "
                                   f"read (it reads a few other queues only): batchtui --queue {queue} diagnoses it")
    return dataclasses.replace(found, text=f"in {queue}: {found.text}")


def diagnose_all(snap: Snapshot) -> dict[str, Waiting]:
    """Every job's diagnosis, each against its own queue's world (`diagnose_in`)."""
    out: dict[str, Waiting] = {}
    for job in snap.jobs:
        w = diagnose_in(job, snap)
        if w is not None:
            out[job.job_id] = w
    return out
