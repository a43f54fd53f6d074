"""The Batch API over the engine: request validation and answers shaped as botocore's model expects them.

Pure (no HTTP): `BatchService(engine).call("ListJobs", body)` returns the response body or raises SimError, which
the server turns into a restJson1 error answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from batchtui import instance_types
from batchtui.limits import MAX_ARRAY_SIZE, MIN_ARRAY_SIZE
from batchtui.sim.capacity import (
    ALLOCATION_STRATEGIES,
    CE_TYPES,
    CR_TYPES,
    MAX_ENVIRONMENTS_PER_QUEUE,
    STATES,
    ComputeEnvironment,
    ComputeResources,
    Queue,
    TimeLimitAction,
    name_of,
)
from batchtui.sim.engine import (
    ACCOUNT,
    FAILED,
    REGION,
    RUNNING,
    STARTING,
    STATUS_CODES,
    STATUS_NAMES,
    SUCCEEDED,
    Engine,
    Job,
    JobDefinition,
    SimError,
    Unit,
)

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
MAX_DESCRIBE = 100
MAX_BULK = 50
MAX_REASON = 1024
LIST_MAX_WITH_STATUS = 1000
LIST_MAX_WITH_FILTER = 100
# no LIST_DEFAULT: without maxResults a ListJobs page is as large as allowed (1000, or 100 with filters)
FILTER_NAMES = ("JOB_NAME", "JOB_DEFINITION", "BEFORE_CREATED_AT", "AFTER_CREATED_AT", "SHARE_IDENTIFIER")
# botocore's ContainerOverrides members; anything else in a raw body is not part of the shape and is ignored
OVERRIDE_MEMBERS = ("vcpus", "memory", "command", "instanceType", "environment", "resourceRequirements")


# --- request field readers: a wrong type is a ClientException naming the field, never a 500 -----------------


def _get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
    value = body.get(key)
    if value is None:
        if required:
            raise SimError(f"{key} is required")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SimError(f"{key} has the wrong type")
    return value


def _str_list(body: dict[str, Any], key: str, required: bool = False) -> list[str]:
    value = _get(body, key, list, required)
    if value is None:
        return []
    if not all(isinstance(v, str) for v in value):
        raise SimError(f"{key} must be a list of strings")
    return value


def _str_map(body: dict[str, Any], key: str) -> dict[str, str]:
    value = _get(body, key, dict) or {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SimError(f"{key} must map strings to strings")
    return value


def _state(body: dict[str, Any]) -> str | None:
    state = _get(body, "state", str)
    if state is not None and state not in STATES:
        raise SimError(f"state must be ENABLED or DISABLED; got {state!r}")
    return state


def _instance_types(spec: dict[str, Any]) -> list[str]:
    names = _str_list(spec, "instanceTypes")
    unknown = [n for n in names if not instance_types.is_known(n)]
    if unknown:
        raise SimError(f"Unknown instance type(s) {', '.join(unknown)}: batchtui sim knows the families "
                       f"{', '.join(sorted(instance_types.FAMILIES))}, their sizes, optimal and default_x86_64")
    return names


def _check_vcpus(min_vcpus: int, max_vcpus: int, desired: int | None) -> None:
    if min_vcpus < 0:
        raise SimError(f"minvCpus must be 0 or more; got {min_vcpus}")
    if max_vcpus < min_vcpus:
        raise SimError(f"maxvCpus ({max_vcpus}) must not be less than minvCpus ({min_vcpus})")
    if desired is not None and not min_vcpus <= desired <= max_vcpus:
        raise SimError(f"desiredvCpus ({desired}) must be between minvCpus ({min_vcpus}) and maxvCpus ({max_vcpus})")


# computeResources members the simulator keeps only to describe them back
_ECHOED = ("subnets", "securityGroupIds", "instanceRole", "ec2KeyPair", "imageId", "bidPercentage",
           "spotIamFleetRole", "placementGroup", "launchTemplate", "ec2Configuration", "tags")


def _compute_resources(spec: dict[str, Any]) -> ComputeResources:
    kind = _get(spec, "type", str, required=True)
    if kind not in CR_TYPES:
        raise SimError(f"computeResources type must be one of {', '.join(CR_TYPES)}; got {kind!r}")
    max_vcpus = _get(spec, "maxvCpus", int, required=True)
    min_vcpus = _get(spec, "minvCpus", int) or 0
    _check_vcpus(min_vcpus, max_vcpus, _get(spec, "desiredvCpus", int))
    fargate = kind in ("FARGATE", "FARGATE_SPOT")
    types = _instance_types(spec)
    if fargate and types:
        raise SimError("A FARGATE compute environment takes no instanceTypes")
    if not fargate and not types:
        raise SimError("instanceTypes is required for an EC2 or SPOT compute environment")
    strategy = _get(spec, "allocationStrategy", str) or "BEST_FIT_PROGRESSIVE"
    if strategy not in ALLOCATION_STRATEGIES:
        raise SimError(f"allocationStrategy must be one of {', '.join(ALLOCATION_STRATEGIES)}; got {strategy!r}")
    extra = {k: spec[k] for k in _ECHOED if spec.get(k) is not None}
    return ComputeResources(kind, max_vcpus, min_vcpus, types, strategy, extra)


def _resource_changes(current: ComputeResources, spec: dict[str, Any]) -> dict[str, Any]:
    """UpdateComputeEnvironment's computeResources as changes to ComputeResources' fields."""
    changes: dict[str, Any] = {}
    for key, attr in (("minvCpus", "min_vcpus"), ("maxvCpus", "max_vcpus")):
        value = _get(spec, key, int)
        if value is not None:
            changes[attr] = value
    _check_vcpus(changes.get("min_vcpus", current.min_vcpus), changes.get("max_vcpus", current.max_vcpus),
                 _get(spec, "desiredvCpus", int))
    if spec.get("instanceTypes") is not None:
        if current.fargate:
            raise SimError("A FARGATE compute environment takes no instanceTypes")
        changes["instance_types"] = _instance_types(spec)
        if not changes["instance_types"]:
            raise SimError("instanceTypes must name at least one instance type")
    strategy = _get(spec, "allocationStrategy", str)
    if strategy is not None:
        if strategy not in ALLOCATION_STRATEGIES:
            raise SimError(f"allocationStrategy must be one of {', '.join(ALLOCATION_STRATEGIES)}")
        changes["allocation_strategy"] = strategy
    echoed = {k: spec[k] for k in _ECHOED if spec.get(k) is not None}
    if echoed:
        changes["extra"] = {**current.extra, **echoed}
    return changes


def _time_limit_actions(body: dict[str, Any]) -> list[TimeLimitAction] | None:
    entries = _get(body, "jobStateTimeLimitActions", list)
    if entries is None:
        return None
    actions = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise SimError("jobStateTimeLimitActions entries need reason, state, maxTimeSeconds and action")
        reason = _get(entry, "reason", str, required=True)
        state = _get(entry, "state", str, required=True)
        seconds = _get(entry, "maxTimeSeconds", int, required=True)
        action = _get(entry, "action", str, required=True)
        if state != "RUNNABLE" or action != "CANCEL":
            raise SimError("jobStateTimeLimitActions support state RUNNABLE and action CANCEL only")
        if not 600 <= seconds <= 86400:
            raise SimError(f"maxTimeSeconds must be between 600 and 86,400; got {seconds}")
        actions.append(TimeLimitAction(reason, state, seconds, action))
    return actions


def _reason(body: dict[str, Any]) -> str:
    reason = _get(body, "reason", str)
    if reason is None:
        raise SimError("reason is required: say why the job is being stopped")
    if len(reason) > MAX_REASON:
        raise SimError(f"reason is {len(reason):,} characters long; the limit is {MAX_REASON:,}")
    return reason


# --- opaque pagination tokens: the listing's key and a cursor (not an offset, so a page never repeats) -------


def _encode_token(key: int, cursor: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key, "c": cursor}, separators=(",", ":")).encode()).decode()


def _decode_token(token: Any, key: int) -> int | None:
    if token in (None, ""):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if data["k"] == key and isinstance(data["c"], int):
            return data["c"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise SimError("Invalid nextToken: it does not belong to this listing")


def _listing_key(*parts: Any) -> int:
    return zlib.crc32(json.dumps(parts, sort_keys=True, default=str).encode())


class BatchService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._ops: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "SubmitJob": self.submit_job,
            "ListJobs": self.list_jobs,
            "DescribeJobs": self.describe_jobs,
            "CancelJob": lambda b: self._stop_one(b, terminate=False),
            "TerminateJob": lambda b: self._stop_one(b, terminate=True),
            "CancelJobs": lambda b: self._stop_many(b, terminate=False),
            "TerminateJobs": lambda b: self._stop_many(b, terminate=True),
            "DescribeJobQueues": self.describe_job_queues,
            "DescribeComputeEnvironments": self.describe_compute_environments,
            "CreateComputeEnvironment": self.create_compute_environment,
            "UpdateComputeEnvironment": self.update_compute_environment,
            "DeleteComputeEnvironment": self.delete_compute_environment,
            "CreateJobQueue": self.create_job_queue,
            "UpdateJobQueue": self.update_job_queue,
            "DeleteJobQueue": self.delete_job_queue,
            "GetJobQueueSnapshot": self.get_job_queue_snapshot,
            "RegisterJobDefinition": self.register_job_definition,
            "DeregisterJobDefinition": self.deregister_job_definition,
            "DescribeJobDefinitions": self.describe_job_definitions,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(self._ops)

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        op = self._ops.get(operation)
        if op is None:
            raise SimError(f"Operation {operation} is not supported by batchtui sim", status=404)
        if not isinstance(body, dict):
            raise SimError("The request body must be a JSON object")
        return op(body)

    # --- SubmitJob -------------------------------------------------------------------------------------------

    def submit_job(self, body: dict[str, Any]) -> dict[str, Any]:
        e = self.engine
        name = _get(body, "jobName", str, required=True)
        if not NAME_RE.fullmatch(name):
            raise SimError(f"jobName {name!r} is not valid: up to 128 letters, numbers, hyphens and underscores, "
                           "starting with a letter or number")
        queue_ref = _get(body, "jobQueue", str, required=True)
        queue = e.queue(queue_ref)
        if queue is None:
            raise SimError(f"Job queue {queue_ref} does not exist")
        if queue.state != "ENABLED":
            raise SimError(f"Job queue {queue.name} is DISABLED: it accepts no new jobs")
        jd_ref = _get(body, "jobDefinition", str, required=True)
        jobdef = e.job_definition(jd_ref)
        if jobdef is None or jobdef.status != "ACTIVE":
            raise SimError(f"Job definition {jd_ref} does not exist or is not ACTIVE")
        size = 0
        array = _get(body, "arrayProperties", dict)
        if array:
            size = _get(array, "size", int)
            if size is None or not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
                raise SimError(f"Array size must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE:,}; got {size}")
        depends_on = _get(body, "dependsOn", list) or []
        e.validate_dependencies(depends_on, size)
        overrides = _get(body, "containerOverrides", dict) or {}
        # JSON null means absent, and members outside the shape never reach AWS: keep only set, modelled ones
        overrides = {k: overrides[k] for k in OVERRIDE_MEMBERS if overrides.get(k) is not None}
        self._check_container(overrides)
        if jobdef.type == "multinode":
            raise SimError(f"Job definition {jd_ref} is a multi-node parallel one: batchtui sim does not run "
                           "multi-node parallel jobs (it would not run them as one container either)")
        retry = _get(body, "retryStrategy", dict)
        if retry is not None:
            _check_retry(retry)
        priority = _get(body, "schedulingPriorityOverride", int)
        if priority is not None and not 0 <= priority <= 9999:
            raise SimError(f"schedulingPriorityOverride must be between 0 and 9999; got {priority}")
        timeout = _get(body, "timeout", dict)
        if timeout is not None:
            seconds = _get(timeout, "attemptDurationSeconds", int)
            if seconds is not None and seconds < 60:
                raise SimError(f"timeout attemptDurationSeconds must be at least 60; got {seconds}")
        tags = _str_map(body, "tags")
        if len(tags) > 50:
            raise SimError(f"At most 50 tags per job; got {len(tags)}")
        job = e.submit(name=name, queue=queue, jobdef=jobdef, array_size=size, depends_on=depends_on,
                       parameters=_str_map(body, "parameters"), container_overrides=overrides,
                       retry_strategy=retry, timeout=timeout, tags=tags,
                       propagate_tags=_get(body, "propagateTags", bool),
                       share_identifier=_get(body, "shareIdentifier", str),
                       scheduling_priority=_get(body, "schedulingPriorityOverride", int))
        return {"jobArn": job.arn, "jobName": job.name, "jobId": job.job_id}

    @staticmethod
    def _check_container(container: dict[str, Any]) -> None:
        """Types of the container fields the engine reads (overrides or containerProperties), so a malformed raw
        request is a ClientException naming the field rather than a 500 from deep inside the engine."""
        env = _get(container, "environment", list) or []
        for item in env:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise SimError("environment entries need a name")
            if not isinstance(item.get("value", ""), str):
                raise SimError(f"Environment variable {item['name']} value must be a string")
            if item["name"].startswith("AWS_BATCH"):
                raise SimError(f"Environment variable {item['name']} is not allowed: names starting with AWS_BATCH "
                               "are reserved")
        for req in _get(container, "resourceRequirements", list) or []:
            if not isinstance(req, dict) or req.get("type") not in ("VCPU", "MEMORY", "GPU"):
                raise SimError("resourceRequirements entries need a type of VCPU, MEMORY or GPU")
            try:
                if not isinstance(req.get("value"), str):  # a String in the model, even for numbers
                    raise TypeError
                value = float(req["value"])
                if not math.isfinite(value) or value <= 0:  # "nan" and "inf" parse as floats too
                    raise ValueError
            except (TypeError, ValueError):
                raise SimError(f"resourceRequirements {req['type']} value must be a positive number") from None
        _str_list(container, "command")
        for key in ("vcpus", "memory"):
            _get(container, key, int)
        _get(container, "instanceType", str)
        log_config = _get(container, "logConfiguration", dict)
        if log_config is not None:
            _get(log_config, "logDriver", str, required=True)
            _str_map(log_config, "options")

    # --- ListJobs -----------------------------------------------------------------------------------------

    def list_jobs(self, body: dict[str, Any]) -> dict[str, Any]:
        queue_ref = _get(body, "jobQueue", str)
        array_id = _get(body, "arrayJobId", str)
        mnp_id = _get(body, "multiNodeJobId", str)
        given = [v for v in (queue_ref, array_id, mnp_id) if v]
        if len(given) != 1:
            raise SimError("Exactly one of jobQueue, arrayJobId or multiNodeJobId must be specified")
        status_name = _get(body, "jobStatus", str)
        if status_name is not None and status_name not in STATUS_CODES:
            raise SimError(f"jobStatus {status_name!r} is not one of {', '.join(STATUS_NAMES)}")
        filters = _get(body, "filters", list) or []
        flt = self._filter(filters)
        limit_max = LIST_MAX_WITH_FILTER if (flt and flt[0] != "SHARE_IDENTIFIER") else LIST_MAX_WITH_STATUS
        limit = _get(body, "maxResults", int)
        if limit is None:  # AWS: "If neither parameter is used, then ListJobs returns up to 1000 results"
            limit = limit_max
        if not 1 <= limit <= limit_max:
            raise SimError(f"maxResults must be between 1 and {limit_max:,}"
                           + (" when filters are given" if limit_max == LIST_MAX_WITH_FILTER else ""))
        token = body.get("nextToken")
        if mnp_id:
            return {"jobSummaryList": []}
        if array_id:
            # filters don't apply to array children; no status means RUNNING
            status = STATUS_CODES[status_name] if status_name else RUNNING
            return self._list_children(array_id, status, limit, token)
        queue = self.engine.queue(queue_ref)
        if queue is None:
            raise SimError(f"Job queue {queue_ref} does not exist")
        if flt and flt[0] != "SHARE_IDENTIFIER":
            return self._list_filtered(queue, flt, limit, token)
        status = STATUS_CODES[status_name] if status_name else RUNNING
        return self._list_queue(queue, status, flt, limit, token)

    @staticmethod
    def _filter(filters: list[Any]) -> tuple[str, str] | None:
        if not filters:
            return None
        if len(filters) > 1:
            raise SimError("Only one filter can be given at a time")
        f = filters[0]
        if not isinstance(f, dict) or f.get("name") not in FILTER_NAMES:
            raise SimError(f"Filter name must be one of {', '.join(FILTER_NAMES)}")
        values = f.get("values")
        if not isinstance(values, list) or len(values) != 1 or not isinstance(values[0], str) or not values[0]:
            raise SimError(f"Filter {f['name']} needs exactly one value")
        name, value = f["name"], values[0]
        if name in ("BEFORE_CREATED_AT", "AFTER_CREATED_AT") and not value.removeprefix("-").isdigit():
            raise SimError(f"Filter {name} needs a time in milliseconds since the epoch; got {value!r}")
        return name, value

    def _list_children(self, array_id: str, status: int, limit: int, token: Any) -> dict[str, Any]:
        key = _listing_key("array", array_id, status)
        after = _decode_token(token, key)
        job, child = self.engine.lookup(array_id)
        if job is None or child is not None or not job.size:
            return {"jobSummaryList": []}
        members = job.by_status[status]
        if after is not None:
            candidates = sorted(i for i in members if i > after)
        else:
            candidates = sorted(members)
        page = candidates[:limit]
        out: dict[str, Any] = {"jobSummaryList": [child_summary(self.engine, job, job.children[i]) for i in page]}
        if len(candidates) > limit:
            out["nextToken"] = _encode_token(key, page[-1])
        return out

    def _list_queue(self, queue: Queue, status: int, flt: tuple[str, str] | None, limit: int,
                    token: Any) -> dict[str, Any]:
        key = _listing_key("queue", queue.name, status, flt)
        after = _decode_token(token, key)
        share = flt[1] if flt else None
        import bisect

        start = 0 if after is None else bisect.bisect_right(queue.seqs, after)
        return self._job_page(queue.jobs[start:], lambda job: job.status == status and (
            share is None or job.share_identifier == share), limit, key)

    def _list_filtered(self, queue: Queue, flt: tuple[str, str], limit: int, token: Any) -> dict[str, Any]:
        """Every status; newest first (createdAt descending, submission order breaking ties)."""
        key = _listing_key("filtered", queue.name, flt)
        before = _decode_token(token, key)
        match = self._matcher(*flt)
        return self._job_page(reversed(queue.jobs), lambda job: (before is None or job.seq < before) and match(job),
                              limit, key)

    def _job_page(self, jobs: Iterable[Job], keep: Callable[[Job], bool], limit: int, key: int) -> dict[str, Any]:
        """One ListJobs page: the first `limit` of `jobs` that `keep` takes, and a token when more follow."""
        page: list[Job] = []
        more = False
        for job in jobs:
            if not keep(job):
                continue
            if len(page) == limit:
                more = True
                break
            page.append(job)
        out: dict[str, Any] = {"jobSummaryList": [job_summary(self.engine, j) for j in page]}
        if more:
            out["nextToken"] = _encode_token(key, page[-1].seq)
        return out

    def _matcher(self, name: str, value: str) -> Callable[[Job], bool]:
        if name == "JOB_NAME":
            return _name_matcher(value, lambda j: j.name)
        if name == "JOB_DEFINITION":
            ref = value.rsplit("/", 1)[-1] if value.startswith("arn:") else value
            if ":" in ref and not ref.endswith("*"):
                return lambda j: f"{j.jobdef.name}:{j.jobdef.revision}" == ref
            # unlike JOB_NAME, AWS documents this filter as case sensitive ("jd1 matches only jd1")
            return _name_matcher(ref, lambda j: j.jobdef.name, case_sensitive=True)
        moment = int(value)
        if name == "BEFORE_CREATED_AT":
            return lambda j: j.created_at < moment
        return lambda j: j.created_at > moment

    # --- DescribeJobs ----------------------------------------------------------------------------------------

    def describe_jobs(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = _str_list(body, "jobs", required=True)
        if len(ids) > MAX_DESCRIBE:
            raise SimError(f"DescribeJobs takes at most {MAX_DESCRIBE} job IDs; {len(ids)} were given")
        out = []
        seen: set[str] = set()
        for job_id in ids:
            job, child = self.engine.lookup(job_id)
            if job is None:
                continue  # unknown ids are left out, as AWS does
            detail = job_detail(self.engine, job, child)
            if detail["jobId"] not in seen:
                seen.add(detail["jobId"])
                out.append(detail)
        return {"jobs": out}

    # --- cancel and terminate ------------------------------------------------------------------------------

    def _stop_one(self, body: dict[str, Any], terminate: bool) -> dict[str, Any]:
        job_id = _get(body, "jobId", str, required=True)
        reason = _reason(body)
        self.engine.cancel(job_id, reason, terminate=terminate)
        return {}

    def _stop_many(self, body: dict[str, Any], terminate: bool) -> dict[str, Any]:
        ids = _get(body, "jobs", list, required=True)
        reason = _reason(body)
        if not ids:
            raise SimError("jobs must name at least one job")
        if len(ids) > MAX_BULK:
            raise SimError(f"At most {MAX_BULK} job IDs per call; {len(ids)} were given")
        successful: list[str] = []
        errors: list[dict[str, str]] = []
        for job_id in ids:
            if not isinstance(job_id, str) or not job_id.strip():
                errors.append({"job": str(job_id), "code": "ValidationException",
                               "message": "The job ID is malformed"})
                continue
            self.engine.cancel(job_id, reason, terminate=terminate)  # unknown ids count as successful
            successful.append(job_id)
        return {"successful": successful, "errors": errors}

    # --- queues, compute environments, job definitions ---------------------------------------------------

    def _page(self, body: dict[str, Any], items: list[Any], listing: str) -> tuple[list[Any], str | None]:
        """maxResults (1..100, all when absent and no nextToken, as AWS answers) and an opaque nextToken."""
        limit = _get(body, "maxResults", int)
        if limit is not None and not 1 <= limit <= MAX_DESCRIBE:
            raise SimError(f"maxResults must be between 1 and {MAX_DESCRIBE}")
        key = _listing_key(listing)
        start = _decode_token(body.get("nextToken"), key) or 0
        if limit is None:
            limit = MAX_DESCRIBE
        page = items[start:start + limit]
        return page, (_encode_token(key, start + limit) if start + limit < len(items) else None)

    def describe_job_queues(self, body: dict[str, Any]) -> dict[str, Any]:
        refs = _str_list(body, "jobQueues")
        queues: Iterable[Queue | None] = (
            (self.engine.queue(r) for r in refs) if refs else self.engine.queues.values())
        found: dict[str, Queue] = {q.name: q for q in queues if q is not None}
        page, token = self._page(body, list(found.values()), "queues")
        out: dict[str, Any] = {"jobQueues": [queue_detail(q) for q in page]}
        if token:
            out["nextToken"] = token
        return out

    def describe_compute_environments(self, body: dict[str, Any]) -> dict[str, Any]:
        refs = _str_list(body, "computeEnvironments")
        ces = self.engine.compute_environments
        chosen = [ces.get(name_of(r)) for r in dict.fromkeys(refs)] if refs else list(ces.values())
        page, token = self._page(body, [c for c in chosen if c is not None], "environments")
        out: dict[str, Any] = {"computeEnvironments": [ce_detail(c) for c in page]}
        if token:
            out["nextToken"] = token
        return out

    # --- compute environments: create, update, delete ------------------------------------------------------

    def _environment(self, ref: Any) -> ComputeEnvironment:
        ce = self.engine.compute_environment(ref) if isinstance(ref, str) else None
        if ce is None:
            raise SimError(f"Compute environment {ref} does not exist")
        return ce

    def create_compute_environment(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _get(body, "computeEnvironmentName", str, required=True)
        if not NAME_RE.fullmatch(name):
            raise SimError(f"computeEnvironmentName {name!r} is not valid: up to 128 letters, numbers, hyphens and "
                           "underscores")
        kind = _get(body, "type", str, required=True)
        if kind not in CE_TYPES:
            raise SimError(f"type must be MANAGED or UNMANAGED; got {kind!r}")
        state = _state(body)
        spec = _get(body, "computeResources", dict)
        resources = None
        if kind == "MANAGED":
            if spec is None:
                raise SimError("A MANAGED compute environment needs computeResources")
            resources = _compute_resources(spec)
        elif spec is not None:
            raise SimError("An UNMANAGED compute environment takes no computeResources")
        ce = ComputeEnvironment(name, kind, resources, state=state or "ENABLED",
                                service_role=_get(body, "serviceRole", str), tags=_str_map(body, "tags"),
                                unmanaged_vcpus=_get(body, "unmanagedvCpus", int))
        self.engine.create_compute_environment(ce)
        return {"computeEnvironmentName": ce.name, "computeEnvironmentArn": ce.arn}

    def update_compute_environment(self, body: dict[str, Any]) -> dict[str, Any]:
        ce = self._environment(_get(body, "computeEnvironment", str, required=True))
        state = _state(body)
        spec = _get(body, "computeResources", dict)
        changes: dict[str, Any] = {}
        if spec:
            if ce.resources is None:
                raise SimError(f"Compute environment {ce.name} is UNMANAGED: it has no computeResources to update")
            changes = _resource_changes(ce.resources, spec)
        self.engine.update_compute_environment(ce, state=state, changes=changes)
        return {"computeEnvironmentName": ce.name, "computeEnvironmentArn": ce.arn}

    def delete_compute_environment(self, body: dict[str, Any]) -> dict[str, Any]:
        self.engine.delete_compute_environment(self._environment(_get(body, "computeEnvironment", str,
                                                                      required=True)))
        return {}

    # --- job queues: create, update, delete, snapshot ------------------------------------------------------

    def _queue(self, ref: Any) -> Queue:
        queue = self.engine.queue(ref) if isinstance(ref, str) else None
        if queue is None:
            raise SimError(f"Job queue {ref} does not exist")
        return queue

    def _order(self, body: dict[str, Any], required: bool) -> list[ComputeEnvironment] | None:
        entries = _get(body, "computeEnvironmentOrder", list, required)
        if entries is None:
            return None
        if not entries:
            raise SimError("computeEnvironmentOrder must name at least one compute environment")
        if len(entries) > MAX_ENVIRONMENTS_PER_QUEUE:
            raise SimError(f"A job queue can use at most {MAX_ENVIRONMENTS_PER_QUEUE} compute environments; "
                           f"{len(entries)} were given")
        pairs = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise SimError("computeEnvironmentOrder entries need order and computeEnvironment")
            order = _get(entry, "order", int, required=True)
            pairs.append((order, self._environment(_get(entry, "computeEnvironment", str, required=True))))
        if len({o for o, _ in pairs}) != len(pairs) or len({c.name for _, c in pairs}) != len(pairs):
            raise SimError("computeEnvironmentOrder has a repeated order or compute environment")
        ces = [ce for _, ce in sorted(pairs, key=lambda p: p[0])]
        if len({ce.fargate for ce in ces}) > 1:
            raise SimError("A job queue cannot mix FARGATE and EC2 compute environments")
        return ces

    def create_job_queue(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _get(body, "jobQueueName", str, required=True)
        if not NAME_RE.fullmatch(name):
            raise SimError(f"jobQueueName {name!r} is not valid: up to 128 letters, numbers, hyphens and underscores")
        priority = _get(body, "priority", int, required=True)
        order = self._order(body, required=True)
        assert order is not None
        queue = Queue(name, order, priority=priority, state=_state(body) or "ENABLED", tags=_str_map(body, "tags"),
                      time_limit_actions=_time_limit_actions(body) or [],
                      scheduling_policy_arn=_get(body, "schedulingPolicyArn", str))
        self.engine.create_job_queue(queue)
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def update_job_queue(self, body: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(_get(body, "jobQueue", str, required=True))
        self.engine.update_job_queue(queue, state=_state(body), priority=_get(body, "priority", int),
                                     order=self._order(body, required=False),
                                     time_limit_actions=_time_limit_actions(body))
        return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}

    def delete_job_queue(self, body: dict[str, Any]) -> dict[str, Any]:
        self.engine.delete_job_queue(self._queue(_get(body, "jobQueue", str, required=True)))
        return {}

    def get_job_queue_snapshot(self, body: dict[str, Any]) -> dict[str, Any]:
        queue = self._queue(_get(body, "jobQueue", str, required=True))
        now = self.engine.now_ms
        front = [{"jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{u.job_id}", "earliestTimeAtPosition": u.runnable_at}
                 for u in self.engine.front_of_queue(queue)]
        in_use = sum(u.job.demand.vcpus for job in queue.jobs if job.status not in (SUCCEEDED, FAILED)
                     for u in _running_units(job))
        return {"frontOfQueue": {"jobs": front, "lastUpdatedAt": now},
                "queueUtilization": {"totalCapacityUsage": [{"capacityUnit": "VCPU", "quantity": float(in_use)}],
                                     "lastUpdatedAt": now}}

    def deregister_job_definition(self, body: dict[str, Any]) -> dict[str, Any]:
        self.engine.deregister_job_definition(_get(body, "jobDefinition", str, required=True))
        return {}

    def register_job_definition(self, body: dict[str, Any]) -> dict[str, Any]:
        name = _get(body, "jobDefinitionName", str, required=True)
        if not NAME_RE.fullmatch(name):
            raise SimError(f"jobDefinitionName {name!r} is not valid: up to 128 letters, numbers, hyphens and "
                           "underscores")
        kind = _get(body, "type", str, required=True)
        if kind not in ("container", "multinode"):
            raise SimError(f"type must be container or multinode; got {kind!r}")
        container = _get(body, "containerProperties", dict)
        if kind == "container" and container is None and not body.get("ecsProperties") \
                and not body.get("eksProperties"):
            raise SimError("A container job definition needs containerProperties")
        container = {k: v for k, v in (container or {}).items() if v is not None}  # JSON null means absent
        self._check_container(container)
        retry = _get(body, "retryStrategy", dict)
        if retry is not None:
            _check_retry(retry)
        jd = self.engine.register_job_definition(
            name, container, type_=kind, parameters=_str_map(body, "parameters"), retry_strategy=retry,
            timeout=_get(body, "timeout", dict), tags=_str_map(body, "tags"),
            propagate_tags=bool(_get(body, "propagateTags", bool)),
            platform_capabilities=_str_list(body, "platformCapabilities") or None)
        return {"jobDefinitionName": jd.name, "jobDefinitionArn": jd.arn, "revision": jd.revision}

    def describe_job_definitions(self, body: dict[str, Any]) -> dict[str, Any]:
        refs = _str_list(body, "jobDefinitions")
        name = _get(body, "jobDefinitionName", str)
        status = _get(body, "status", str)
        limit = _get(body, "maxResults", int) or 100
        if not 1 <= limit <= 100:
            raise SimError("maxResults must be between 1 and 100")
        defs: list[JobDefinition] = []
        if refs:
            for ref in refs:
                if ":" in ref.rsplit("/", 1)[-1]:
                    jd = self.engine.job_definition(ref)
                    defs.extend([jd] if jd else [])
                else:
                    defs.extend(self.engine.jobdefs.get(ref.rsplit("/", 1)[-1], []))
        else:
            for revisions in self.engine.jobdefs.values():
                defs.extend(revisions)
        defs = [d for d in defs if (name is None or d.name == name) and (status is None or d.status == status)]
        key = _listing_key("jobdefs", refs, name, status)
        start = _decode_token(body.get("nextToken"), key) or 0
        page = defs[start:start + limit]
        out: dict[str, Any] = {"jobDefinitions": [jobdef_detail(d) for d in page]}
        if start + limit < len(defs):
            out["nextToken"] = _encode_token(key, start + limit)
        return out

    # --- tags -------------------------------------------------------------------------------------------------

    def _tags_of(self, resource_arn: str) -> dict[str, str]:
        if not resource_arn.startswith(f"arn:aws:batch:{REGION}:{ACCOUNT}:"):
            raise SimError(f"Resource {resource_arn} is not a Batch ARN of this account")
        kind, _, name = resource_arn.split(":", 5)[5].partition("/")
        if kind == "job":
            job, child = self.engine.lookup(name)
            if job is not None and child is None:
                return job.tags
        elif kind == "job-queue":
            queue = self.engine.queue(name)
            if queue is not None:
                return queue.tags
        elif kind == "job-definition":
            jd = self.engine.job_definition(name)
            if jd is not None:
                return jd.tags
        raise SimError(f"Resource {resource_arn} does not exist")

    def tag_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(_get(body, "resourceArn", str, required=True))
        new = _str_map(body, "tags")
        if not new:
            raise SimError("tags is required")
        if len({**tags, **new}) > 50:
            raise SimError("A resource can have at most 50 tags")
        tags.update(new)
        return {}

    def untag_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        tags = self._tags_of(_get(body, "resourceArn", str, required=True))
        for key in _str_list(body, "tagKeys", required=True):
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"tags": dict(self._tags_of(_get(body, "resourceArn", str, required=True)))}


def _name_matcher(pattern: str, get: Callable[[Job], str], case_sensitive: bool = False) -> Callable[[Job], bool]:
    fold: Callable[[str], str] = (lambda s: s) if case_sensitive else str.lower
    pattern = fold(pattern)
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return lambda j: fold(get(j)).startswith(prefix)
    return lambda j: fold(get(j)) == pattern


# --- answers ------------------------------------------------------------------------------------------------


def _running_units(job: Job) -> Iterable[Unit]:
    return (u for u in job.units() if u.status in (STARTING, RUNNING))


def _tags(tags: dict[str, str]) -> dict[str, Any]:
    """AWS leaves an empty tags map out of its answers."""
    return {"tags": dict(tags)} if tags else {}


def queue_detail(q: Queue) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobQueueName": q.name, "jobQueueArn": q.arn, "state": q.state, "status": q.status,
        "statusReason": q.status_reason, "priority": q.priority, "jobQueueType": "ECS",
        "computeEnvironmentOrder": [{"order": i, "computeEnvironment": ce.arn} for i, ce in enumerate(q.order, 1)],
        **_tags(q.tags),
        "jobStateTimeLimitActions": [{"reason": a.reason, "state": a.state, "maxTimeSeconds": a.max_time_seconds,
                                      "action": a.action} for a in q.time_limit_actions],
    }
    if q.scheduling_policy_arn:
        out["schedulingPolicyArn"] = q.scheduling_policy_arn
    return out


def ce_detail(ce: ComputeEnvironment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "computeEnvironmentName": ce.name, "computeEnvironmentArn": ce.arn,
        "ecsClusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{ce.name}", **_tags(ce.tags), "type": ce.type,
        "state": ce.state, "status": ce.status, "statusReason": ce.status_reason,
        "containerOrchestrationType": "ECS",
    }
    if ce.resources is not None:
        r = ce.resources
        resources: dict[str, Any] = {"type": r.type, "allocationStrategy": r.allocation_strategy,
                                     "minvCpus": r.min_vcpus, "maxvCpus": r.max_vcpus,
                                     "desiredvCpus": ce.desired_vcpus}
        if not r.fargate:
            resources["instanceTypes"] = list(r.instance_types)
        resources.update({"subnets": [], "securityGroupIds": [], **r.extra})
        out["computeResources"] = resources
    if ce.unmanaged_vcpus is not None:
        out["unmanagedvCpus"] = ce.unmanaged_vcpus
    if ce.service_role:
        out["serviceRole"] = ce.service_role
    return out


def _array_properties(engine: Engine, job: Job) -> dict[str, Any]:
    summary, at = engine.summary(job)
    return {"size": job.size, "statusSummary": dict(summary), "statusSummaryLastUpdatedAt": at}


def _container_summary(u: Unit) -> dict[str, Any] | None:
    if not u.attempts:
        return None
    att = u.attempts[-1]
    out: dict[str, Any] = {}
    if att.exit_code is not None:
        out["exitCode"] = att.exit_code
    if att.reason:
        out["reason"] = att.reason
    return out or None


def _summary(job: Job, job_id: str, status: int, reason: str | None, started: int | None, stopped: int | None,
             cancelled: bool, terminated: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}", "jobId": job_id,
                           "jobName": job.name, "createdAt": job.created_at, "status": STATUS_NAMES[status]}
    if reason:
        out["statusReason"] = reason
    if started is not None:
        out["startedAt"] = started
    if stopped is not None:
        out["stoppedAt"] = stopped
    out["jobDefinition"] = job.jobdef.arn
    out["isCancelled"] = cancelled
    out["isTerminated"] = terminated
    if job.share_identifier:
        out["shareIdentifier"] = job.share_identifier
    if status in (STARTING, RUNNING):  # parents are never STARTING or RUNNING
        out["capacityUsage"] = [{"capacityUnit": "VCPU", "quantity": float(job.demand.vcpus)}]
    return out


def job_summary(engine: Engine, job: Job) -> dict[str, Any]:
    """A top-level job's JobSummary: no attempts, dependsOn, tags or logStreamName."""
    if job.size:
        out = _summary(job, job.job_id, job.status, job.status_reason, job.started_at, job.stopped_at,
                       job.is_cancelled, job.is_terminated)
        out["arrayProperties"] = _array_properties(engine, job)
        return out
    u = job.unit
    assert u is not None
    out = _summary(job, job.job_id, u.status, u.status_reason, u.started_at, u.stopped_at, u.is_cancelled,
                   u.is_terminated)
    container = _container_summary(u)
    if container:
        out["container"] = container
    return out


def child_summary(engine: Engine, job: Job, u: Unit) -> dict[str, Any]:
    out = _summary(job, u.job_id, u.status, u.status_reason, u.started_at, u.stopped_at, u.is_cancelled,
                   u.is_terminated)
    container = _container_summary(u)
    if container:
        out["container"] = container
    out["arrayProperties"] = {"index": u.index}
    return out


def _attempt_detail(att: Any, job: Job) -> dict[str, Any]:
    container: dict[str, Any] = {
        "containerInstanceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{att.instance.ce.name}/"
                                f"{att.task_id[:32]}",
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{att.instance.ce.name}/{att.task_id[::-1][:32]}",
        "networkInterfaces": [],
    }
    if att.log_stream:  # a container that never started has none
        container["logStreamName"] = att.log_stream
    if att.exit_code is not None:
        container["exitCode"] = att.exit_code
    if att.reason:
        container["reason"] = att.reason
    out: dict[str, Any] = {"container": container, "startedAt": att.started_at}
    if att.stopped_at is not None:
        out["stoppedAt"] = att.stopped_at
    if att.status_reason:
        out["statusReason"] = att.status_reason
    return out


def _child_depends_on(engine: Engine, job: Job, index: int) -> list[dict[str, str]]:
    """A child's dependencies as per-index ids: N_TO_N names the partner child, SEQUENTIAL the previous one."""
    out = []
    for dep in job.depends_on:
        kind = dep.get("type")
        if kind == "N_TO_N":
            out.append({"jobId": f"{dep['jobId']}:{index}", "type": "N_TO_N"})
        elif kind == "SEQUENTIAL":
            if index > 0:
                out.append({"jobId": f"{job.job_id}:{index - 1}", "type": "SEQUENTIAL"})
        else:
            out.append(dict(dep))
    return out


def job_detail(engine: Engine, job: Job, child: Unit | None) -> dict[str, Any]:
    """DescribeJobs' JobDetail for a plain job, an array parent or one child."""
    u = child if child is not None else job.unit
    if u is not None:
        job_id, status, reason = u.job_id, u.status, u.status_reason
        started, stopped, cancelled, terminated = u.started_at, u.stopped_at, u.is_cancelled, u.is_terminated
    else:
        job_id, status, reason = job.job_id, job.status, job.status_reason
        started, stopped, cancelled, terminated = job.started_at, job.stopped_at, job.is_cancelled, job.is_terminated
    out: dict[str, Any] = {
        "jobArn": f"arn:aws:batch:{REGION}:{ACCOUNT}:job/{job_id}", "jobName": job.name, "jobId": job_id,
        "jobQueue": job.queue.arn, "status": STATUS_NAMES[status],
    }
    if reason:
        out["statusReason"] = reason
    out["attempts"] = [_attempt_detail(a, job) for a in (u.attempts or [])] if u is not None else []
    out["createdAt"] = job.created_at
    if job.retry_strategy is not None:
        out["retryStrategy"] = job.retry_strategy
    if started is not None:
        out["startedAt"] = started
    if stopped is not None:
        out["stoppedAt"] = stopped
    out["dependsOn"] = (_child_depends_on(engine, job, child.index)  # type: ignore[arg-type]
                        if child is not None else [dict(d) for d in job.depends_on])
    out["jobDefinition"] = job.jobdef.arn
    out["parameters"] = dict(job.parameters)
    container = {k: v for k, v in job.container.items()}
    if u is not None and u.attempts:
        last = _attempt_detail(u.attempts[-1], job)["container"]
        container.update(last)
    out["container"] = container
    if job.size:
        out["arrayProperties"] = ({"index": child.index} if child is not None
                                  else _array_properties(engine, job))
    if job.timeout is not None:
        out["timeout"] = job.timeout
    out.update(_tags(job.tags))
    out["propagateTags"] = job.propagate_tags
    out["platformCapabilities"] = list(job.jobdef.platform_capabilities)
    out["isCancelled"] = cancelled
    out["isTerminated"] = terminated
    if job.share_identifier:
        out["shareIdentifier"] = job.share_identifier
    if job.scheduling_priority is not None:
        out["schedulingPriority"] = job.scheduling_priority
    return out


def jobdef_detail(jd: JobDefinition) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobDefinitionName": jd.name, "jobDefinitionArn": jd.arn, "revision": jd.revision, "status": jd.status,
        "type": jd.type, "parameters": dict(jd.parameters), "containerProperties": jd.container,
        **_tags(jd.tags), "propagateTags": jd.propagate_tags,
        "platformCapabilities": list(jd.platform_capabilities), "containerOrchestrationType": "ECS",
    }
    if jd.retry_strategy is not None:
        out["retryStrategy"] = jd.retry_strategy
    if jd.timeout is not None:
        out["timeout"] = jd.timeout
    return out


__all__ = ["BatchService", "FAILED", "job_detail", "job_summary", "child_summary"]


def _check_retry(retry: dict[str, Any]) -> None:
    """retryStrategy as the model documents it: attempts 1–10, and evaluateOnExit (at most 5 rules) only with
    attempts."""
    attempts = _get(retry, "attempts", int)
    if attempts is not None and not 1 <= attempts <= 10:
        raise SimError(f"retryStrategy attempts must be between 1 and 10; got {attempts}")
    rules = _get(retry, "evaluateOnExit", list)
    if rules is not None:
        if attempts is None:
            raise SimError("retryStrategy evaluateOnExit requires attempts")
        if len(rules) > 5:
            raise SimError(f"retryStrategy evaluateOnExit takes at most 5 rules; got {len(rules)}")
