"""Failure triage: every failed job and index in exactly one group, by how its last attempt failed, with the repair
that group needs (pure: a Snapshot in, groups out).

    groups = failure_groups(snap)[job_id]     # [FailureGroup(cause="oom", count=86, repair="retry-more-memory", …)]

Causes, decided from the strings AWS gives (aws-batch-facts.md, "How attempts fail": prefixes, never whole strings),
in this order: `cancelled` (cancelled or terminated by someone: a reason of theirs and no exit code), `oom`, `spot`
(instance reclaimed or lost), `timeout`, `start` (failed to start: image pull, resource initialisation …),
`dependency` (failed because what it depends on failed: no attempt of its own), `app` (the job's own code).
`app` splits further by signature – exit code and reason with numbers, ids, paths and times masked – and then by the
log's last error line, normalised the same way, so "KeyError: 'checksum' in shard 1344" and "… shard 2281" are one
group. Logs are read for a bounded sample only (`sample_wanted` says which; logsample.py reads them and hands the
lines over as `Job.log_samples`): SAMPLE_PER_GROUP logs per exit code and reason, spread over its indices, and up to
SAMPLE_MIXED while the lines read disagree. When every line read agrees, the whole group takes it as its signature;
when they disagree, the failures whose logs were read form a group per line and the rest keep the exit-code
signature. A group whose signature came from a log says so (`sampled`).
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from batchtui.model import ArrayState, IndexDetail, Job, LogSample, Snapshot, Status
from batchtui.sanitize import printable

CANCELLED, OOM, SPOT, TIMEOUT, START, DEPENDENCY, APP = (
    "cancelled", "oom", "spot", "timeout", "start", "dependency", "app")
CAUSES = (OOM, SPOT, TIMEOUT, START, DEPENDENCY, CANCELLED, APP)
REPAIRS = {OOM: "retry-more-memory", SPOT: "retry", TIMEOUT: "retry-longer-timeout", START: "retry",
           DEPENDENCY: "retry-upstream", CANCELLED: "none", APP: "fix-first"}

OOM_PREFIX = "OutOfMemoryError"
SPOT_PREFIX = "Host EC2"
TIMEOUT_TEXT = "Job attempt duration exceeded timeout"
START_PREFIXES = ("CannotPullContainerError", "ResourceInitializationError", "CannotStartContainerError",
                  "CannotInspectContainerError", "Task failed to start", "CannotCreateContainerError")
DEPENDENCY_PREFIX = "Dependent Job failed"
APP_STATUS = "Essential container in task exited"  # AWS's statusReason for a container that exited on its own

# What a signature masks so that one bug reads as one group: ids, paths, numbers, times (most specific first).
_MASKS = (
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\bi-[0-9a-f]{8,17}\b"), "<instance>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"(?:s3://|/)[\w.\-/]+"), "<path>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
)
MAX_SIGNATURE = 160

SAMPLE_PER_GROUP = 5  # logs read per app group (exit code and reason) while the lines read agree
SAMPLE_MIXED = 12  # … and up to this many while they disagree, to find the group's other errors
LOG_TAIL = 25  # the last events of a log that are read (GetLogEvents limit)
MAX_LINE = 1000  # characters of a log line kept (a log line can be 256 KB)

# What an error line looks like, read from the end of a log; stack frames are skipped (the error is above or below).
_ERROR_LINE = re.compile(
    r"\b\w*(?:Error|Exception|Exit)\b|\b(?:error|exception|fatal|panic|killed|fail(?:ed|ure)?|abort(?:ed)?|"
    r"segmentation fault|denied|cannot|unable|not found|no such)\b", re.IGNORECASE)
_FRAME = re.compile(r"^(?:at |File \"|\.\.\. \d+ more|Traceback \(most recent call last\))")


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed job or index, as its last attempt ended."""

    job_id: str
    index: int | None
    exit_code: int | None
    reason: str | None  # container.reason
    status_reason: str | None
    stopped_at: int | None  # epoch ms
    attempted: bool  # it ran (or tried to): an exit code, a container reason, a start time or attempts
    cancelled: bool = False  # isCancelled / isTerminated, where AWS says so


@dataclass
class FailureGroup:
    cause: str
    signature: str
    exit_code: int | None
    count: int = 0
    indices: list[int] = field(default_factory=list)  # arrays; empty for a plain job
    example: str = ""  # a job id or JOB:INDEX
    first_ms: int | None = None
    last_ms: int | None = None
    sampled: bool = False  # the signature came from the log of `logs_read` of its failures
    logs_read: int = 0
    note: str = ""  # said beside the signature: the rest of a group whose logs read disagreed were not read
    _codes: set[int | None] = field(default_factory=set, repr=False)

    @property
    def repair(self) -> str:
        return REPAIRS[self.cause]

    @property
    def label(self) -> str:
        """The signature as shown to a person: a log line keeps its exit code beside it."""
        if self.sampled and self.exit_code is not None:
            return f"exit {self.exit_code} · {self.signature}"
        return " · ".join(p for p in (self.signature, self.note) if p)

    def add(self, f: Failure) -> None:
        self.count += 1
        if f.index is not None:
            self.indices.append(f.index)
        if not self.example:
            self.example = f.job_id if f.index is None else f"{f.job_id}:{f.index}"
        self._codes.add(f.exit_code)
        self.exit_code = f.exit_code if len(self._codes) == 1 else None
        if f.stopped_at is not None:
            self.first_ms = f.stopped_at if self.first_ms is None else min(self.first_ms, f.stopped_at)
            self.last_ms = f.stopped_at if self.last_ms is None else max(self.last_ms, f.stopped_at)

    def to_json(self) -> dict:
        return {"cause": self.cause, "signature": self.signature, "exitCode": self.exit_code, "count": self.count,
                "indices": sorted(self.indices), "example": self.example, "firstAt": _iso(self.first_ms),
                "lastAt": _iso(self.last_ms), "repair": self.repair, "sampled": self.sampled}


def classify(f: Failure) -> str:
    reason, status = f.reason or "", f.status_reason or ""
    if f.cancelled or (f.exit_code is None and not reason and status and not _known(status)):
        return CANCELLED  # someone's own reason, no exit code of the job's own
    if reason.startswith(OOM_PREFIX) or status.startswith(OOM_PREFIX):
        return OOM
    if status.startswith(SPOT_PREFIX) or reason.startswith(SPOT_PREFIX):
        return SPOT
    if TIMEOUT_TEXT in status or TIMEOUT_TEXT in reason:
        return TIMEOUT
    if any(reason.startswith(p) or status.startswith(p) for p in START_PREFIXES):
        return START
    if status.startswith(DEPENDENCY_PREFIX) or not f.attempted:
        return DEPENDENCY
    return APP


def _known(status: str) -> bool:
    """A statusReason AWS itself writes (as opposed to a reason a person gave when cancelling)."""
    return status.startswith((APP_STATUS, OOM_PREFIX, SPOT_PREFIX, DEPENDENCY_PREFIX, TIMEOUT_TEXT, *START_PREFIXES))


def signature(f: Failure, cause: str) -> str:
    """What tells one group of this cause from another: for `app` the exit code and the reason, normalised."""
    if cause in (DEPENDENCY, CANCELLED, SPOT, TIMEOUT):
        return normalise(f.status_reason or "") if cause == CANCELLED else ""
    text = f.reason or ("" if (f.status_reason or "").startswith(APP_STATUS) else f.status_reason) or ""
    head = f"exit {f.exit_code}" if f.exit_code is not None and cause == APP else ""
    body = normalise(text)
    return " · ".join(p for p in (head, body) if p)


def normalise(text: str) -> str:
    # Escape sequences out first: masking their digits would leave fragments no sanitiser recognises ("[<n>J").
    text = " ".join(printable(text).split())
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text if len(text) <= MAX_SIGNATURE else text[:MAX_SIGNATURE - 1] + "…"


def failures(job: Job) -> Iterable[Failure]:
    """The job's failed indices (an array) or the job itself (a plain job that FAILED)."""
    if job.array is not None:
        cancelled = job.is_cancelled or job.is_terminated
        for i in job.array.indices(Status.FAILED):
            yield _child(job.job_id, i, job.array.details.get(i), cancelled)
        return
    if job.status is Status.FAILED:
        last = job.attempts[-1] if job.attempts else None
        exit_code = job.exit_code if job.exit_code is not None else (last.exit_code if last else None)
        yield Failure(job.job_id, None, exit_code,
                      job.reason or (last.reason if last else None), job.status_reason, job.stopped_at,
                      attempted=bool(job.attempts or job.exit_code is not None or job.reason or job.started_at),
                      cancelled=job.is_cancelled or job.is_terminated)


def causes_of(array: ArrayState, cancelled: bool = False) -> dict[int, str]:
    """The cause of every FAILED index (the grid's `group:` filter)."""
    return {i: classify(_child("", i, array.details.get(i), cancelled)) for i in array.indices(Status.FAILED)}


def _child(job_id: str, i: int, d: IndexDetail | None, cancelled: bool) -> Failure:
    if d is None:  # a failed child seen only by status: nothing says it ran
        return Failure(job_id, i, None, None, None, None, attempted=False, cancelled=cancelled)
    last = d.attempts[-1] if d.attempts else None
    return Failure(job_id, i, d.exit_code if d.exit_code is not None else (last.exit_code if last else None),
                   d.reason or (last.reason if last else None),
                   d.status_reason or (last.status_reason if last else None), d.stopped_at,
                   attempted=bool(d.attempts or d.exit_code is not None or d.reason or d.started_at),
                   cancelled=cancelled and d.exit_code is None)


def groups_of(job: Job) -> list[FailureGroup]:
    """The job's failures grouped, largest group first."""
    by_key: dict[tuple[str, str], list[Failure]] = {}
    for f in failures(job):
        cause = classify(f)
        by_key.setdefault((cause, signature(f, cause)), []).append(f)
    groups = [g for (cause, sig), members in by_key.items() for g in _by_log(cause, sig, members, job.log_samples)]
    return sorted(groups, key=lambda g: (-g.count, g.cause, g.signature))


def _by_log(cause: str, sig: str, members: list[Failure],
            samples: Mapping[int | None, LogSample]) -> list[FailureGroup]:
    """One group of a cause and signature, split by the log lines read of its members (app only)."""
    lines = _lines(members, samples) if cause == APP and samples else {}
    distinct = set(lines.values())
    if len(distinct) == 1:  # every log read agrees: the group is that error
        group = FailureGroup(cause, distinct.pop(), None, sampled=True, logs_read=len(lines))
        for f in sorted(members, key=lambda f: f.index not in lines):  # a member whose log was read is the example
            group.add(f)
        return [group]
    by_line: dict[str, FailureGroup] = {}
    rest = FailureGroup(cause, sig, None)
    for f in members:
        line = lines.get(f.index)
        if line is None:
            rest.add(f)
            continue
        group = by_line.setdefault(line, FailureGroup(cause, line, None, sampled=True))
        group.logs_read += 1
        group.add(f)
    if by_line:
        read = sum(g.logs_read for g in by_line.values())
        rest.note = f"logs not read (the {read} read show {len(by_line)} different errors)"
    return [*by_line.values(), *([rest] if rest.count else [])]


def _lines(members: Iterable[Failure], samples: Mapping[int | None, LogSample]) -> dict[int | None, str]:
    out = {}
    for f in members:
        sample = samples.get(f.index)
        line = normalise(sample.line) if sample is not None and sample.line else ""
        if line:
            out[f.index] = line
    return out


def sample_wanted(job: Job, tried: Container[int | None]) -> list[int | None]:
    """Whose logs to read next (indices, None for a plain job): per app group (exit code and reason),
    SAMPLE_PER_GROUP spread over its indices, up to SAMPLE_MIXED while the lines read disagree. Failures in
    `tried` count as read (whatever came of it), so the number read per group never passes SAMPLE_MIXED."""
    by_key: dict[str, list[Failure]] = {}
    for f in failures(job):
        cause = classify(f)
        if cause == APP:
            by_key.setdefault(signature(f, cause), []).append(f)
    out: list[int | None] = []
    for members in by_key.values():
        done = [f for f in members if f.index in tried]
        want = SAMPLE_MIXED if len(set(_lines(done, job.log_samples).values())) > 1 else SAMPLE_PER_GROUP
        need = min(want, len(members)) - len(done)
        if need > 0:
            out.extend(_spread([f.index for f in members if f.index not in tried], need))
    return out


def _spread(keys: Sequence[int | None], n: int) -> list[int | None]:
    """n of the keys spread evenly over them (different shards often fail differently)."""
    picks = [keys[(2 * j + 1) * len(keys) // (2 * n)] for j in range(min(n, len(keys)))]
    return list(dict.fromkeys(picks))


def last_error_line(messages: Sequence[str]) -> str | None:
    """The line of a log's tail that says what went wrong: the last one that reads like an error, else the last
    readable one; None for a log with nothing readable (empty, binary). Printable, at most MAX_LINE characters."""
    fallback = None
    for message in reversed(messages):
        for raw in reversed(str(message).splitlines() or [""]):
            line = _readable(raw)
            if line is None or _FRAME.match(line):
                continue
            if _ERROR_LINE.search(line):
                return line
            fallback = fallback or line
    return fallback


def _readable(raw: str) -> str | None:
    """A log line fit to show, or None: blank, or mostly bytes that are not text (escape sequences are removed,
    not counted against it)."""
    raw = raw[:4 * MAX_LINE].strip()
    odd = sum(1 for c in raw if c == "\ufffd" or (not c.isprintable() and c not in "\t\x1b"))
    text = printable(raw).strip()
    if not text or odd > len(raw) // 10 or not any(c.isalpha() for c in text):
        return None
    return text[:MAX_LINE]


def failure_groups(snap: Snapshot) -> dict[str, list[FailureGroup]]:
    return {job.job_id: groups_of(job) for job in snap.jobs}


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
