"""The boundary: AWS answers (botocore dicts of Batch and CloudWatch Logs) read into the model's typed records.

Pure: no I/O. Every optional field may be missing or odd; nothing here raises on one, except an answer that cannot
be trusted at all (an array bigger than AWS allows). Everything above this module reads model types, never a dict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Required, TypedDict, TypeVar

from batchtui.errors import ApiError
from batchtui.limits import MAX_ARRAY_SIZE
from batchtui.model import (
    ArrayState,
    Attempt,
    ContainerOverrides,
    ContainerSettings,
    Dependency,
    EnvVar,
    ExitRule,
    IndexDetail,
    Job,
    JobDescription,
    JobTimeout,
    LogEvent,
    LogPage,
    Resource,
    RetryStrategy,
    RetryTimeout,
    Status,
    split_child_id,
)

# An AWS answer (or a part of one) as botocore parses it: JSON objects as dicts, any value possibly missing or odd.
Answer = Mapping[str, object]

# --- jobs and children (ListJobs summaries, DescribeJobs details) ----------------------------------------------


def _int(v: object) -> int | None:
    """A number, or a number sent as text; anything else (missing, junk, infinite) is None."""
    if not isinstance(v, int | float | str):
        return None
    try:
        return int(v)
    except (ValueError, OverflowError):
        return None


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None


def _obj(v: object) -> Answer:
    """A JSON object of an answer; a missing one, or one that is not an object, is empty."""
    return v if isinstance(v, Mapping) else _NONE


_NONE: Answer = MappingProxyType({})


def _text_map(v: object) -> Mapping[str, str]:
    """parameters, tags: a string to string map (what SubmitJob takes back); a null value is not one."""
    return MappingProxyType({str(k): str(x) for k, x in _obj(v).items() if x is not None})


def summaries(page: Answer) -> list[Answer]:
    """A ListJobs page's job summaries (entries that are not objects left out)."""
    return [s for s in _list(page.get("jobSummaryList")) if isinstance(s, Mapping)]


def next_token(page: Answer) -> object:
    """A ListJobs page's nextToken as it came (the caller tells a token that does not advance)."""
    return page.get("nextToken")


def job_id_of(d: Answer) -> str | None:
    """The jobId of a summary or a DescribeJobs entry (None: none, or empty)."""
    value = d.get("jobId")
    return str(value) if value else None


def job_name_of(d: Answer) -> str | None:
    return _str(d.get("jobName"))


def is_child(s: Answer) -> bool:
    """An array child rather than a job of its own: it has an array index, or a child's id (`parent:3`)."""
    return _obj(s.get("arrayProperties")).get("index") is not None or \
        split_child_id(str(s.get("jobId")))[1] is not None


def lists_status_summary(s: Answer) -> bool:
    """The summary carries its array's statusSummary (optional in a JobSummary: moto leaves it out)."""
    return isinstance(_obj(s.get("arrayProperties")).get("statusSummary"), Mapping)


def tag_value(d: Answer, name: str) -> str | None:
    """The value of the tag `name` of a DescribeJobs entry."""
    tags = d.get("tags")
    value = tags.get(name) if isinstance(tags, Mapping) else None
    return value if isinstance(value, str) else None


def child_index(summary: Answer) -> int | None:
    index = _int(_obj(summary.get("arrayProperties")).get("index"))
    if index is None:
        _, index = split_child_id(str(summary.get("jobId") or ""))
    return index


def child_status(summary: Answer) -> Status:
    """A child's status as its JobSummary says (UNKNOWN: none, or one this version does not know)."""
    return Status.parse(_str(summary.get("status")))


def has_detail(s: Answer) -> bool:
    c = _obj(s.get("container"))
    return bool(s.get("startedAt") or s.get("stoppedAt") or s.get("statusReason") or c.get("exitCode") is not None
                or c.get("reason") or c.get("logStreamName"))


def detail_from_summary(index: int, s: Answer, old: IndexDetail | None) -> IndexDetail:
    """An IndexDetail from a child's JobSummary, keeping what an earlier answer told us that this one lacks."""
    c = _obj(s.get("container"))
    keep = old or IndexDetail(index)
    return IndexDetail(
        index=index,
        exit_code=_int(c.get("exitCode")) if c.get("exitCode") is not None else keep.exit_code,
        reason=_str(c.get("reason")) or keep.reason,
        status_reason=_str(s.get("statusReason")) or keep.status_reason,
        started_at=_int(s.get("startedAt")) or keep.started_at,
        stopped_at=_int(s.get("stoppedAt")) or keep.stopped_at,
        attempts=keep.attempts,
        log_stream=_str(c.get("logStreamName")) or keep.log_stream,
    )


def _attempts(raw: object) -> tuple[Attempt, ...]:
    out = []
    for a in _list(raw):
        if not isinstance(a, Mapping):
            continue
        c = _obj(a.get("container"))
        out.append(Attempt(exit_code=_int(c.get("exitCode")), reason=_str(c.get("reason")),
                           status_reason=_str(a.get("statusReason")), started_at=_int(a.get("startedAt")),
                           stopped_at=_int(a.get("stoppedAt")), log_stream=_str(c.get("logStreamName"))))
    return tuple(out)


def _summary_counts(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): n for k, v in raw.items() if (n := _int(v)) is not None}


class JobFields(TypedDict, total=False):
    """The Job fields one answer gives (Job's own names and types): `Job(job_id, **fields)`. A key absent: the
    answer does not carry it (a JobSummary has no dependencies), which is not the same as AWS saying None."""

    job_name: Required[str]
    status: Required[Status]
    status_reason: str | None
    created_at: int | None
    started_at: int | None
    stopped_at: int | None
    exit_code: int | None
    reason: str | None
    job_definition: str | None
    array_size: int
    status_summary: Mapping[str, int]
    summary_updated_at: int | None
    is_cancelled: bool
    is_terminated: bool
    # DescribeJobs only
    queue: str | None
    depends_on: tuple[Dependency, ...]
    attempts: tuple[Attempt, ...]
    log_stream: str | None
    parameters: Mapping[str, str]
    container_overrides: ContainerOverrides | None
    retry_strategy: RetryStrategy | None
    timeout: JobTimeout | None
    tags: Mapping[str, str]


def fields_from_summary(s: Answer) -> JobFields:
    """Job fields a ListJobs JobSummary carries (the cheap ones)."""
    c = _obj(s.get("container"))
    ap = _obj(s.get("arrayProperties"))
    out: JobFields = {
        "job_name": _str(s.get("jobName")) or str(s.get("jobId")),
        "status": Status.parse(_str(s.get("status"))),
        "status_reason": _str(s.get("statusReason")),
        "created_at": _int(s.get("createdAt")),
        "started_at": _int(s.get("startedAt")),
        "stopped_at": _int(s.get("stoppedAt")),
        "exit_code": _int(c.get("exitCode")),
        "reason": _str(c.get("reason")),
    }
    if s.get("jobDefinition"):
        out["job_definition"] = _str(s.get("jobDefinition"))
    size = _int(ap.get("size"))
    if size is not None and not 1 <= size <= MAX_ARRAY_SIZE:
        raise ApiError(f"job {s.get('jobId')} reports an array size of {size:,}; AWS allows up to "
                       f"{MAX_ARRAY_SIZE:,} (the answer is not to be trusted)")
    if size is not None:
        out["array_size"] = size
        out["status_summary"] = MappingProxyType(_summary_counts(ap.get("statusSummary")))
        out["summary_updated_at"] = _int(ap.get("statusSummaryLastUpdatedAt"))
    if "isCancelled" in s:
        out["is_cancelled"] = bool(s.get("isCancelled"))
    if "isTerminated" in s:
        out["is_terminated"] = bool(s.get("isTerminated"))
    return out


def fields_from_detail(d: Answer) -> JobFields:
    """Everything DescribeJobs adds: dependencies and the shapes a faithful resubmit needs."""
    out = fields_from_summary(d)
    c = _obj(d.get("container"))
    deps = []
    for dep in _list(d.get("dependsOn")):
        if isinstance(dep, Mapping):
            deps.append(Dependency(_str(dep.get("jobId")), _str(dep.get("type"))))
    # What a resubmission carries of the container: the rest of it (image, vcpus, memory …) is the definition's.
    overrides = {k: c[k] for k in ("command", "environment", "resourceRequirements") if c.get(k) is not None}
    out.update({
        "queue": _str(d.get("jobQueue")),
        "depends_on": tuple(deps),
        "attempts": _attempts(d.get("attempts")),
        "log_stream": _str(c.get("logStreamName")),
        "parameters": _text_map(d.get("parameters")),
        "container_overrides": container_overrides(overrides) if overrides else None,
        "retry_strategy": retry_strategy(d.get("retryStrategy")),
        "timeout": job_timeout(d.get("timeout")),
        "tags": _text_map(d.get("tags")),
        "is_cancelled": bool(d.get("isCancelled")),
        "is_terminated": bool(d.get("isTerminated")),
    })
    return out


# --- what a resubmission carries over (retryStrategy, timeout, containerOverrides) ------------------------------


def retries_possible(retry: RetryStrategy | None) -> bool:
    """AWS retries a failed attempt at all: more than one attempt."""
    return retry is not None and (retry.attempts or 1) > 1


def retry_strategy(raw: object) -> RetryStrategy | None:
    """A retryStrategy (DescribeJobs' or a SubmitJob request's); None when there is none."""
    if not isinstance(raw, Mapping):
        return None
    read, extra = _split(raw, {"attempts": _count, "evaluateOnExit": _exit_rules})
    return RetryStrategy(_as(read, "attempts", int), _as(read, "evaluateOnExit", tuple), extra)


def _exit_rules(raw: object) -> tuple[ExitRule, ...] | None:
    if not isinstance(raw, list | tuple) or not all(isinstance(r, Mapping) for r in raw):
        return None
    rules = []
    for r in raw:
        read, extra = _split(r, dict.fromkeys(("action", "onStatusReason", "onReason", "onExitCode"), _string))
        rules.append(ExitRule(_as(read, "action", str), _as(read, "onStatusReason", str), _as(read, "onReason", str),
                              _as(read, "onExitCode", str), extra))
    return tuple(rules)


def job_timeout(raw: object) -> JobTimeout | None:
    """A job's timeout (DescribeJobs' or a request's); None when there is none."""
    if not isinstance(raw, Mapping):
        return None
    read, extra = _split(raw, {"attemptDurationSeconds": _count})
    return JobTimeout(_as(read, "attemptDurationSeconds", int), extra)


def container_overrides(raw: object) -> ContainerOverrides | None:
    """A containerOverrides (a request's, or the part of DescribeJobs' container fields_from_detail keeps)."""
    if not isinstance(raw, Mapping):
        return None
    read, extra = _split(raw, {"command": _strings, "environment": _env_vars, "resourceRequirements": _resources,
                               "instanceType": _string, "vcpus": _count, "memory": _count})
    return ContainerOverrides(command=_as(read, "command", tuple), environment=_as(read, "environment", tuple),
                              resources=_as(read, "resourceRequirements", tuple),
                              instance_type=_as(read, "instanceType", str), vcpus=_as(read, "vcpus", int),
                              memory=_as(read, "memory", int), extra=extra)


def _env_vars(raw: object) -> tuple[EnvVar, ...] | None:
    pairs = _pairs(raw, "name", "value")
    return None if pairs is None else tuple(EnvVar(a, b, extra) for a, b, extra in pairs)


def _resources(raw: object) -> tuple[Resource, ...] | None:
    pairs = _pairs(raw, "type", "value")
    return None if pairs is None else tuple(Resource(a, b, extra) for a, b, extra in pairs)


def _pairs(raw: object, first: str, second: str) -> list[tuple[str | None, str | None, Mapping[str, object]]] | None:
    """A list of two-string records (KeyValuePair, ResourceRequirement); None when it is not one. A number as the
    value is read as its text: AWS wants strings there ("4096")."""
    if not isinstance(raw, list | tuple) or not all(isinstance(r, Mapping) for r in raw):
        return None
    out = []
    for r in raw:
        read, extra = _split(r, {first: _string, second: _scalar_text})
        out.append((_as(read, first, str), _as(read, second, str), extra))
    return out


def _split(raw: Answer, readers: Mapping[str, Callable[[object], object]]) -> tuple[dict[str, object],
                                                                                      Mapping[str, object]]:
    """The known keys, each read by its reader; everything else – a key this version does not know, or a known one
    its reader could not read – kept verbatim in `extra`, to go back into the request as it came. A key whose value
    is null is not given (botocore would refuse to send a null)."""
    read: dict[str, object] = {}
    extra: dict[str, object] = {}
    for k, v in raw.items():
        if v is None:
            continue
        reader = readers.get(k)
        value = reader(v) if reader is not None else None
        if value is None:
            extra[str(k)] = _frozen(v)
        else:
            read[k] = value
    return read, MappingProxyType(extra)


T = TypeVar("T")


def _as(read: Mapping[str, object], key: str, kind: type[T]) -> T | None:
    """A value _split read, as the type its reader gives (None: not read)."""
    value = read.get(key)
    return value if isinstance(value, kind) else None


def _frozen(v: object) -> object:
    """An AWS value made immutable (a Snapshot is never mutated): dicts as MappingProxyType, lists as tuples."""
    if isinstance(v, Mapping):
        return MappingProxyType({str(k): _frozen(x) for k, x in v.items()})
    if isinstance(v, list | tuple):
        return tuple(_frozen(x) for x in v)
    return v


def _count(v: object) -> int | None:
    """An integer field (attempts, seconds, vCPUs, MiB); a number sent as text is read too, a bool is not one."""
    return None if isinstance(v, bool) else _int(v)


def _string(v: object) -> str | None:
    return v if isinstance(v, str) else None


def _scalar_text(v: object) -> str | None:
    return v if isinstance(v, str) else str(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _strings(v: object) -> tuple[str, ...] | None:
    return tuple(v) if isinstance(v, list | tuple) and all(isinstance(x, str) for x in v) else None


# --- what the detail view shows (DescribeJobs, GetLogEvents) ---------------------------------------------------


def container_settings(c: object) -> ContainerSettings:
    """A DescribeJobs container or a job's containerOverrides: resources, command, environment, vCPUs, memory."""
    if not isinstance(c, Mapping):
        return ContainerSettings()
    return ContainerSettings(
        resources=tuple(Resource(_text(r.get("type")), _text(r.get("value")))
                        for r in _list(c.get("resourceRequirements")) if isinstance(r, Mapping)),
        command=tuple(str(x) for x in _list(c.get("command"))),
        environment=tuple(EnvVar(_text(e.get("name")), _text(e.get("value")))
                          for e in _list(c.get("environment")) if isinstance(e, Mapping)),
        vcpus=_int(c.get("vcpus")) or None,
        memory=_int(c.get("memory")) or None,
        instance_type=_str(c.get("instanceType")),
    )


def job_description(d: Answer) -> JobDescription:
    """One DescribeJobs entry, whole: what the detail view shows of a job or child."""
    c = _obj(d.get("container"))
    attempts = _attempts(d.get("attempts")) if d.get("attempts") is not None else None
    return JobDescription(
        job_id=str(d.get("jobId") or ""),
        job_name=_str(d.get("jobName")),
        status=Status.parse(_str(d.get("status"))),
        status_reason=_str(d.get("statusReason")),
        job_definition=_str(d.get("jobDefinition")),
        queue=_str(d.get("jobQueue")),
        parameters=_text_map(d.get("parameters")),
        created_at=_int(d.get("createdAt")),
        started_at=_int(d.get("startedAt")),
        stopped_at=_int(d.get("stoppedAt")),
        exit_code=_int(c.get("exitCode")),
        reason=_str(c.get("reason")),
        log_stream=_str(c.get("logStreamName")) or next(
            (a.log_stream for a in reversed(attempts or ()) if a.log_stream), None),
        log_group=_awslogs_group(c.get("logConfiguration")),
        container=container_settings(c),
        attempts=attempts,
        retry_timeout=retry_timeout(retry_strategy(d.get("retryStrategy")), job_timeout(d.get("timeout"))),
    )


def retry_timeout(retry: RetryStrategy | None, timeout: JobTimeout | None) -> RetryTimeout:
    """A retryStrategy and a timeout (DescribeJobs', or the ones a Job keeps for a resubmit), as shown."""
    return RetryTimeout(has_retry=bool(retry), attempts=retry.attempts if retry else None,
                        has_timeout=bool(timeout), timeout_s=timeout.attempt_duration_s if timeout else None)


def _awslogs_group(conf: object) -> str | None:
    """The awslogs-group of an awslogs log configuration (the driver AWS assumes when none is named)."""
    if not isinstance(conf, Mapping) or conf.get("logDriver", "awslogs") != "awslogs":
        return None
    options = conf.get("options")
    return _str(options.get("awslogs-group")) if isinstance(options, Mapping) else None


def log_page(resp: Answer) -> LogPage:
    """One GetLogEvents answer: its events (a timestamp that is not a number is None) and nextForwardToken."""
    events = tuple(
        LogEvent(int(e["timestamp"]) if isinstance(e.get("timestamp"), int | float) else None,
                 "" if e.get("message") is None else str(e["message"]))
        for e in _list(resp.get("events")) if isinstance(e, Mapping))
    return LogPage(events, _str(resp.get("nextForwardToken")))


def _list(v: object) -> list[object] | tuple[object, ...]:
    return v if isinstance(v, list | tuple) else ()


def _text(v: object) -> str | None:
    return None if v is None else str(v)


def submitted_job(job_id: str, params: Answer, created_at: int) -> Job:
    """A job SubmitJob has just accepted, from the request that made it (`params`, its references resolved), as
    DescribeJobs first shows it: SUBMITTED, nothing run. The dashboard shows it until the poller lists the job."""
    overrides = _obj(params.get("containerOverrides"))
    size = _int(_obj(params.get("arrayProperties")).get("size"))
    d = {"jobId": job_id, "jobName": params.get("jobName"), "status": "SUBMITTED", "createdAt": created_at,
         "jobQueue": params.get("jobQueue"), "jobDefinition": params.get("jobDefinition"),
         "dependsOn": params.get("dependsOn"), "container": overrides, "parameters": params.get("parameters"),
         "retryStrategy": params.get("retryStrategy"), "timeout": params.get("timeout"), "tags": params.get("tags"),
         **({"arrayProperties": {"size": size}} if size is not None else {})}
    fields = fields_from_detail(d)
    # Its children are spawned later; until then they are as submitted as the job (the grid says "SUBMITTED").
    array = ArrayState.of(bytes([Status.SUBMITTED]) * size) if size is not None else None
    return Job(job_id, array=array, **fields)
