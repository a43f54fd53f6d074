"""Pure planning of cancel and retry: a selection over a Snapshot → a Plan, the exact API calls and why.

No I/O here: the dashboard and `batchtui cancel|retry` show `Plan.summary()` before anything happens, and
`batchtui.execute.execute` makes exactly `Plan.calls`, in order. A SubmitJob that needs the id of a job submitted
earlier in the same plan holds a `Ref(step)` placeholder; the executor substitutes the real id.

    plan = plan_cancel(snapshot, [Selection("jobB", frozenset({3, 17}))], reason=default_reason())
    plan = plan_retry(snapshot, [Selection("jobB")], downstream=True)   # every FAILED index of jobB, and after

Rules (AWS Batch facts in shared/aws-batch-facts.md):
- Cancel: SUBMITTED/PENDING/RUNNABLE → CancelJobs, STARTING/RUNNING (or not known) → TerminateJobs, ≤50 ids a call;
  the CancelJobs calls come first (see plan_cancel).
  A whole array parent is one call on the parent id (it cascades): Terminate when any child may be running.
  Finished jobs and indices are left alone and reported.
- Retry: only FAILED work is resubmitted, as new jobs copying the original's queue, job definition revision,
  parameters, container overrides (minus AWS_BATCH_* variables), retryStrategy, timeout and tags, plus the tag
  `batchtui:retry-of=<original id>`. Failed indices of an array become one array over those indices carrying
  BATCHTUI_ARRAY_INDICES (child i re-runs the i-th original index), one index a plain job with BATCHTUI_ARRAY_INDEX.
  Succeeded upstreams are dropped from dependsOn; upstreams retried in the same plan are replaced by their new jobs.
- Downstream (`downstream=True`): dependents of retried jobs are resubmitted too, transitively, but only those that
  have FAILED already – and, of an N_TO_N dependent still running, its FAILED indices at once (the partners of
  failed indices fail promptly; the rest of the array goes on). A job still PENDING on all of such a running
  dependent (JobD after JobC, then JobE after JobD) will fail when it ends; AWS cannot wait for "JobC except the
  indices being retried", so its retry is a waiting step (`Plan.waiting`: a `Waiting` with its `Condition`s) that
  batchtui sends itself once JobC's other indices SUCCEEDED (waitplans.py keeps and sends them). A dependent of an
  upstream that has ended already is resubmitted only once it has FAILED itself (it does so promptly).
  Every FAILED index of such a dependent is resubmitted – also ones that failed on their own –
  because the jobs after it wait for all of it. N_TO_N dependents are chained N_TO_N to the retry over the same indices.
- Work already resubmitted by batchtui (a job in the snapshot tagged `batchtui:retry-of=<id>` covering it) is not
  resubmitted again – running `retry` twice submits once; downstream retries wait for those earlier retries.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchtui.capacity import World
from batchtui.errors import UnknownJob, UsageError
from batchtui.limits import BULK_CHUNK, MAX_DEPENDS_ON, MIN_ARRAY_SIZE
from batchtui.lineage import env_value, index_list
from batchtui.model import (
    INDEX_ENV,
    INDICES_ENV,
    RETRY_OF_TAG,
    DependencyType,
    Job,
    Snapshot,
    Status,
    split_child_id,
    topological_order,
)
from batchtui.overrides import Overrides, Refused, Resolved, resolve
from batchtui.triage import OOM, REPAIRS, TIMEOUT, classify, failures

CANCEL, TERMINATE, SUBMIT = "CancelJobs", "TerminateJobs", "SubmitJob"
KIND_CANCEL, KIND_RETRY = "cancel", "retry"
REASON_MAX = 1024  # AWS limit on the reason of CancelJob/TerminateJob
PLAN_TAG = "batchtui:plan"  # "<run id>.<step>", added when the SubmitJob is sent (execute.py), not part of the plan
RESERVED_ENV_PREFIX = "AWS_BATCH"  # SubmitJob refuses environment names starting with this
RESERVED_TAG_PREFIX = "aws:"  # tags users may not set
NAME_MAX = 128
# AWS Batch accepts a SubmitJob whose containerOverrides are longer than 8,192 characters, and the job then FAILS at
# start ("Container Overrides length must be at most 8192"; Batch adds its own AWS_BATCH_* variables to them). A
# retry over many scattered indices is therefore split into arrays whose overrides stay within this budget.
OVERRIDES_BUDGET = 7 * 1024
NONE: frozenset[int] = frozenset()
SUMMARY_RUNS = 12  # index runs named in a summary line before "… and N more"


# --- the plan --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """The jobId SubmitJob returns at plan step `step` (0-based), or that job's child `index`; with `waiting`, the
    step is one of the plan's waiting steps (`Plan.waiting[step]`), submitted later."""

    step: int
    index: int | None = None
    waiting: bool = False

    def __str__(self) -> str:
        child = f":{self.index}" if self.index is not None else ""
        return f"${{{'waiting step W' if self.waiting else 'step '}{self.step + 1}}}{child}"


@dataclass(frozen=True, slots=True)
class Selection:
    """What a person picked: a whole job (for retry: its FAILED indices), or some indices of an array job."""

    job_id: str
    indices: frozenset[int] | None = None

    @classmethod
    def parse(cls, text: str) -> Selection:
        """`JOB_ID` or `JOB_ID:INDEX` (the CLI's targets)."""
        job_id, index = split_child_id(text.strip())
        return cls(job_id, frozenset({index}) if index is not None else None)


@dataclass(frozen=True, slots=True)
class Target:
    """A job, or some of its indices, that a call acts on (cancel) or re-runs (retry)."""

    job_id: str
    job_name: str
    indices: tuple[int, ...] | None = None  # None: the whole job

    def describe(self) -> str:
        return describe_indices(self.job_name, self.indices)


@dataclass(frozen=True, slots=True)
class Skip:
    """Work that was selected (or reached downstream) and is deliberately left alone."""

    job_id: str
    job_name: str
    indices: tuple[int, ...] | None
    reason: str

    def describe(self) -> str:
        return f"{describe_indices(self.job_name, self.indices)}: {self.reason}"


@dataclass(frozen=True)
class Call:
    """One API call: `operation` with `params` (botocore kwargs; may hold `Ref`s). Never mutate params."""

    operation: str
    params: Mapping[str, Any]
    label: str  # for people: what this call does to what
    covers: tuple[Target, ...] = ()

    @property
    def job_ids(self) -> tuple[str, ...]:
        """The ids a CancelJobs/TerminateJobs call names."""
        return tuple(self.params.get("jobs") or ()) if self.operation in (CANCEL, TERMINATE) else ()

    def resolved(self, job_ids: Mapping[int, str]) -> dict[str, Any]:
        """params with every Ref replaced by the job id step `ref.step` returned (KeyError if it has none)."""
        return substitute(self.params, job_ids)

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "params": _jsonable(self.params), "label": self.label}


@dataclass(frozen=True, slots=True)
class Condition:
    """What must hold before a waiting step is sent: every index of an original upstream array except those being
    retried SUCCEEDED (`retried` empty and `array_size` None: the whole plain job SUCCEEDED). AWS cannot express
    "wait for JobC except the indices being retried", so batchtui waits for it itself."""

    job_id: str
    job_name: str
    array_size: int | None
    retried: tuple[int, ...] = ()

    @property
    def others(self) -> int:
        return (self.array_size or 0) - len(self.retried) if self.array_size is not None else 1

    def describe(self) -> str:
        if self.array_size is None:
            return f"waits for {self.job_name} to succeed"
        return f"waits for {self.job_name}'s other {self.others:,} ind{'ex' if self.others == 1 else 'ices'}"

    def check(self, snap: Snapshot) -> Verdict:
        """Holds (every index it waits for SUCCEEDED), fails (one of them FAILED) or waits still, with progress."""
        job = snap.job(self.job_id)
        if job is None:
            return Verdict(WAITS, f"{self.job_name} ({self.job_id}) is not in what batchtui sees yet")
        if self.array_size is None or job.array is None:
            if job.status is Status.SUCCEEDED:
                return Verdict(HOLDS, f"{self.job_name} SUCCEEDED")
            if job.status is Status.FAILED and self.array_size is None:
                return Verdict(FAILS, f"{self.job_name} FAILED")
            return Verdict(WAITS, f"{self.job_name} is {job.status.name}")
        # Counted over the status bytes (every refresh checks each pending plan): Python loops only over the
        # retried indices and the failed ones.
        skip = set(self.retried)
        arr = job.array
        failed = [i for i in arr.indices(Status.FAILED) if i not in skip]
        if failed:
            return Verdict(FAILS, f"{describe_indices(self.job_name, failed)} FAILED and "
                                  f"{'is' if len(failed) == 1 else 'are'} not being retried", tuple(failed))
        others = arr.size - sum(1 for i in skip if 0 <= i < arr.size)
        done = arr.count(Status.SUCCEEDED) - sum(1 for i in skip if 0 <= i < arr.size and arr.status(i) is
                                                 Status.SUCCEEDED)
        if done == others:
            return Verdict(HOLDS, f"{self.job_name}'s other {others:,} indices SUCCEEDED")
        return Verdict(WAITS, f"{done:,} of {self.job_name}'s other {others:,} indices SUCCEEDED")


HOLDS, WAITS, FAILS = "holds", "waits", "fails"


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str  # HOLDS | WAITS | FAILS
    text: str
    failed: tuple[int, ...] = ()  # FAILS on an array: the indices it waits for that FAILED


@dataclass(frozen=True)
class Waiting:
    """A SubmitJob that cannot be sent yet: sent (once) when every condition holds and the waiting steps it names
    (`after`, 0-based into Plan.waiting) have been sent; dropped when a condition fails."""

    call: Call
    conditions: tuple[Condition, ...]
    after: tuple[int, ...] = ()

    def describe(self, names: Sequence[str] = ()) -> str:
        said = [c.describe() for c in self.conditions]
        said += [f"waits for {names[k] if k < len(names) else f'W{k + 1}'} to be submitted" for k in self.after]
        return "; ".join(said)

    def to_json(self) -> dict[str, Any]:
        return {**self.call.to_json(), "conditions": [condition_json(c) for c in self.conditions],
                "after": [k + 1 for k in self.after]}


def condition_json(c: Condition) -> dict[str, Any]:
    return {"jobId": c.job_id, "jobName": c.job_name, "arraySize": c.array_size,
            "retried": [list(r) for r in index_runs(c.retried)]}


@dataclass(frozen=True)
class Plan:
    kind: str  # "cancel" or "retry"
    calls: tuple[Call, ...]
    targets: tuple[Target, ...]  # what the calls act on / re-run
    skipped: tuple[Skip, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None  # cancel
    downstream: bool = False  # retry
    changes: str | None = None  # retry: the overrides asked for (`Overrides.text()`)
    refused: tuple[str, ...] = ()  # retry: why the changes cannot be applied; then there are no calls
    waiting: tuple[Waiting, ...] = ()  # retry: SubmitJobs sent later, when their conditions hold (waitplans.py)

    # Equal plans hash equal, so a UI can key on a plan; `fingerprint` is stable across processes too.
    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @property
    def empty(self) -> bool:
        return not self.calls and not self.waiting

    @property
    def fingerprint(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "calls": [c.to_json() for c in self.calls],
            "targets": [_target_json(t) for t in self.targets],
            "skipped": [{**_target_json(s), "reason": s.reason} for s in self.skipped],
            "notes": list(self.notes),
            **({"reason": self.reason} if self.reason is not None else {}),
            **({"downstream": True} if self.downstream else {}),
            **({"changes": self.changes} if self.changes else {}),
            **({"refused": list(self.refused)} if self.refused else {}),
            **({"waiting": [w.to_json() for w in self.waiting]} if self.waiting else {}),
        }

    def summary(self) -> str:
        """What will happen, naming jobs and indices, for a person to confirm."""
        n = len(self.calls)
        if self.kind == KIND_CANCEL:
            head = f"Cancel: {n} API call{'s' if n != 1 else ''}"
        else:
            head = (f"Retry{' with downstream' if self.downstream else ''}: {n} new job{'s' if n != 1 else ''} "
                    f"(SubmitJob){f' now, {len(self.waiting)} waiting' if self.waiting else ''}")
        if self.refused:
            head = f"Retry refused: nothing will be sent (changes: {self.changes})"
        lines = [head]
        lines.extend(f"  ✘ {r}" for r in self.refused)
        for i, c in enumerate(self.calls, 1):
            lines.append(f"  {i}. {c.operation} {c.label}")
        if not self.calls and not self.refused and not self.waiting:
            lines.append("  nothing to do")
        if self.waiting:
            lines.append("Waiting (kept as a durable plan; batchtui submits each once its condition holds – the "
                         "dashboard while it runs, or `batchtui retry … --wait`):")
            lines.extend(f"  W{k}. {w.call.operation} {w.call.label}" for k, w in enumerate(self.waiting, 1))
        if self.skipped:
            lines.append("Left alone:")
            lines.extend(f"  - {s.describe()}" for s in self.skipped)
        if self.notes:
            lines.append("Notes:")
            lines.extend(f"  - {note}" for note in self.notes)
        if self.reason is not None:
            lines.append(f"Reason: {self.reason!r}")
        return "\n".join(lines)


def _target_json(t: Target | Skip) -> dict[str, Any]:
    out: dict[str, Any] = {"jobId": t.job_id, "jobName": t.job_name}
    if t.indices is not None:
        out["indices"] = list(t.indices)
    return out


def substitute(value: Any, job_ids: Mapping[int, str], *, waiting: bool = False) -> Any:
    """`value` with each Ref replaced by the id its step's SubmitJob returned. A waiting step's id is known only
    once it is sent: its Refs stay unless `waiting` (waitplans fills them from the plan file's submitted steps)."""
    if isinstance(value, Ref) and (waiting or not value.waiting):
        job_id = job_ids[value.step]
        return f"{job_id}:{value.index}" if value.index is not None else job_id
    if isinstance(value, Mapping):
        return {k: substitute(v, job_ids, waiting=waiting) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, job_ids, waiting=waiting) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Ref):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# --- formatting indices ----------------------------------------------------------------------------------------


def index_runs(indices: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in sorted(set(indices)):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def format_indices(indices: Iterable[int], max_runs: int = SUMMARY_RUNS) -> str:
    """'3, 17, 100–199' (ranges compressed; after max_runs runs, '… and N more indices')."""
    runs = index_runs(indices)
    parts = [str(a) if a == b else f"{a}, {b}" if b == a + 1 else f"{a}–{b}" for a, b in runs[:max_runs]]
    text = ", ".join(parts)
    if len(runs) > max_runs:
        rest = sum(b - a + 1 for a, b in runs[max_runs:])
        text += f", … and {rest:,} more"
    return text


def describe_indices(name: str, indices: Sequence[int] | None) -> str:
    """'JobB', 'JobB[17]' or 'JobB indices 3, 17, 100–199 (102 indices)'."""
    if indices is None:
        return name
    if len(indices) == 1:
        return f"{name}[{indices[0]}]"
    return f"{name} indices {format_indices(indices)} ({len(indices):,} indices)"


# --- selections ------------------------------------------------------------------------------------------------


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no login name in some containers
        return "unknown"


def default_reason(user: str | None = None) -> str:
    return check_reason(f"cancelled by batchtui (user {user or os_user()})")


def check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("the cancel reason is empty (AWS requires one; leave out --reason for the default)")
    if len(reason) > REASON_MAX:
        raise UsageError(f"the cancel reason is {len(reason):,} characters; AWS takes at most {REASON_MAX:,}")
    return reason


def select_pipeline(snap: Snapshot, job_id: str) -> list[Selection]:
    """Every job of the pipeline job_id belongs to, each whole."""
    pipeline = snap.pipeline_of(job_id)
    ids = pipeline.job_ids if pipeline else (job_id,)
    return [Selection(j) for j in ids]


def _merge(snap: Snapshot, selection: Selection | Iterable[Selection]) -> dict[str, frozenset[int] | None]:
    """job id → indices (None: whole), in snapshot order; checks ids and index ranges."""
    sels = [selection] if isinstance(selection, Selection) else list(selection)
    merged: dict[str, frozenset[int] | None] = {}
    for s in sels:
        job = _job(snap, s.job_id)
        if s.indices is not None:  # JOB:INDEX names a child job: one that does not exist is an unknown id
            if not job.is_array:
                raise UnknownJob(f"no job {job.job_id}:{min(s.indices)}: {job.job_name} ({job.job_id}) is not an "
                                 "array job")
            bad = sorted(i for i in s.indices if not 0 <= i < (job.array_size or 0))
            if bad:
                raise UnknownJob(f"no job {job.job_id}:{bad[0]}: {job.job_name} ({job.job_id}) has indices "
                                 f"0–{(job.array_size or 0) - 1}")
        if s.job_id in merged:
            old = merged[s.job_id]
            merged[s.job_id] = None if old is None or s.indices is None else old | s.indices
        else:
            merged[s.job_id] = s.indices
    order = {j.job_id: n for n, j in enumerate(snap.jobs)}
    return dict(sorted(merged.items(), key=lambda kv: order[kv[0]]))


def _job(snap: Snapshot, job_id: str) -> Job:
    job = snap.job(job_id)
    if job is None:
        raise UnknownJob(f"no job {job_id!r} in what batchtui sees (check the id, the region and the profile)")
    return job


def _statuses(job: Job, indices: Iterable[int]) -> dict[int, Status]:
    if job.array is None:  # per-index state not known
        if job.status is Status.SUCCEEDED:  # a parent succeeds only when every child did
            return dict.fromkeys(indices, Status.SUCCEEDED)
        return dict.fromkeys(indices, Status.UNKNOWN)
    return {i: job.array.status(i) for i in indices}


def _by_status(statuses: Mapping[int, Status]) -> dict[Status, list[int]]:
    out: dict[Status, list[int]] = {}
    for i, s in sorted(statuses.items()):
        out.setdefault(s, []).append(i)
    return dict(sorted(out.items()))


# --- cancel ----------------------------------------------------------------------------------------------------


def plan_cancel(snap: Snapshot, selection: Selection | Iterable[Selection], reason: str) -> Plan:
    """Cancel (or terminate, when running) every selected unfinished job or index; finished ones are skipped."""
    reason = check_reason(reason)
    terminate: list[tuple[str, Target]] = []  # (id to call on, what it covers)
    cancel: list[tuple[str, Target]] = []
    skipped: list[Skip] = []
    notes: list[str] = []
    for job_id, indices in _merge(snap, selection).items():
        job = _job(snap, job_id)
        if indices is None:
            _cancel_whole(job, terminate, cancel, skipped, notes)
        else:
            _cancel_indices(job, sorted(indices), terminate, cancel, skipped)
    # Cancel the waiting work first: terminating running work first frees capacity, and a RUNNABLE job that
    # starts in that moment is no longer stopped by the CancelJobs that follows.
    calls = [*_bulk_calls(CANCEL, cancel, reason), *_bulk_calls(TERMINATE, terminate, reason)]
    targets = _merge_targets([t for _, t in terminate + cancel])
    return Plan(KIND_CANCEL, tuple(calls), targets, tuple(skipped), tuple(notes), reason=reason)


def _cancel_whole(job: Job, terminate: list, cancel: list, skipped: list[Skip], notes: list[str]) -> None:
    if job.status.terminal:
        skipped.append(Skip(job.job_id, job.job_name, None, f"is {job.status.name}: already finished"))
        return
    target = Target(job.job_id, job.job_name, None)
    if not job.is_array:
        running = job.status.active or job.status is Status.UNKNOWN
        (terminate if running else cancel).append((job.job_id, target))
        if job.status is Status.UNKNOWN:
            notes.append(f"{job.job_name}: status not known, so TerminateJobs (it also cancels a job not started)")
        return
    active = len(job.array.indices(Status.STARTING, Status.RUNNING)) if job.array is not None else 0
    unknown = job.array.count(Status.UNKNOWN) if job.array is not None else job.array_size or 0
    unfinished = (job.array.size - job.array.finished()) if job.array is not None else None
    if active or unknown:
        terminate.append((job.job_id, target))
        why = f"{_children(active)} STARTING or RUNNING" if active else "children's states not known"
        reach = (f"its {_children(unfinished, 'unfinished ')}" if unfinished is not None
                 else "all its unfinished children")
        notes.append(f"{job.job_name} (array of {job.array_size:,}): one TerminateJobs on the parent, which cascades "
                     f"to {reach} ({why}; TerminateJobs stops running ones and cancels the rest)")
    else:
        cancel.append((job.job_id, target))
        notes.append(f"{job.job_name} (array of {job.array_size:,}): one CancelJobs on the parent, which cascades "
                     f"to its {_children(unfinished or 0, 'unfinished ')} (none is running)")


def _children(n: int, adjective: str = "") -> str:
    return f"{n:,} {adjective}child{'ren' if n != 1 else ''}"


def _cancel_indices(job: Job, indices: list[int], terminate: list, cancel: list, skipped: list[Skip]) -> None:
    for status, idx in _by_status(_statuses(job, indices)).items():
        if status.terminal:
            skipped.append(Skip(job.job_id, job.job_name, tuple(idx), f"{status.name}: already finished"))
            continue
        dest = terminate if status.active or status is Status.UNKNOWN else cancel
        for i in idx:
            dest.append((f"{job.job_id}:{i}", Target(job.job_id, job.job_name, (i,))))


def _bulk_calls(op: str, items: list[tuple[str, Target]], reason: str) -> list[Call]:
    verb = "terminate" if op == TERMINATE else "cancel"
    calls = []
    for start in range(0, len(items), BULK_CHUNK):
        chunk = items[start:start + BULK_CHUNK]
        covers = _merge_targets([t for _, t in chunk])
        label = f"({len(chunk)} id{'s' if len(chunk) != 1 else ''}): {verb} " + "; ".join(
            t.describe() for t in covers)
        calls.append(Call(op, {"jobs": [job_id for job_id, _ in chunk], "reason": reason}, label, covers))
    return calls


def _merge_targets(targets: Iterable[Target]) -> tuple[Target, ...]:
    """One Target per job: whole, or the union of its indices (ascending)."""
    merged: dict[str, Target] = {}
    for t in targets:
        old = merged.get(t.job_id)
        if old is None:
            merged[t.job_id] = t
        elif old.indices is not None and t.indices is not None:
            merged[t.job_id] = Target(t.job_id, t.job_name, tuple(sorted({*old.indices, *t.indices})))
        else:
            merged[t.job_id] = Target(t.job_id, t.job_name, None)
    return tuple(merged.values())


# --- retry -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Provider:
    """A job (planned: ref is a Ref; submitted earlier: a job id) that re-runs `indices` of an original job."""

    ref: Ref | str
    name: str
    indices: tuple[int, ...] | None  # the original's own indices it re-runs, in child order; None: a plain original
    plain: bool  # the provider itself is a plain job

    def show(self) -> str:
        if isinstance(self.ref, Ref):
            return f"{'waiting step W' if self.ref.waiting else 'step '}{self.ref.step + 1} ({self.name})"
        return f"{self.name} ({self.ref})"


def plan_retry(snap: Snapshot, selection: Selection | Iterable[Selection], *, downstream: bool = False,
               changes: Overrides | None = None, worlds: Mapping[str, World] | None = None,
               pending: Mapping[str, str] | None = None) -> Plan:
    """Resubmit the FAILED work of the selection (and, with downstream, what failed after it) as new jobs; the
    picked jobs' retries with `changes`, checked against `worlds` (queue → its capacity, see `queues_to_check`).
    `pending`: original job id → the pending plan whose waiting step re-runs it (waitplans.pending_originals), so
    that a second retry never plans that step twice."""
    planner = _RetryPlanner(snap, downstream, changes or Overrides(), dict(worlds or {}), pending=dict(pending or {}))
    return planner.plan(_merge(snap, selection))


def queues_to_check(snap: Snapshot, selection: Selection | Iterable[Selection], changes: Overrides) -> list[str]:
    """The queues whose capacity decides whether the changed retries can run (none when no resources change)."""
    if not changes.resources:
        return []
    if changes.queue is not None:
        return [changes.queue]
    picked = [selection] if isinstance(selection, Selection) else list(selection)
    return list(dict.fromkeys(q for s in picked if (j := snap.job(s.job_id)) is not None and (q := j.queue)))


@dataclass
class _Group:
    indices: list[int]
    deps: tuple[_Dep, ...]  # what the new job waits for: indices with the same deps share one new job


# What a new job waits for (the planner's typed decisions; `_depends_on` turns them into SubmitJob's dependsOn).
@dataclass(frozen=True, slots=True)
class _After:
    """All of a job: a retry (planned or earlier), a planned retry's child (a Ref with its index), or an original
    job or child id still running."""

    on: Provider | Ref | str

    @property
    def ref(self) -> Ref | str:
        return self.on.ref if isinstance(self.on, Provider) else self.on


@dataclass(frozen=True, slots=True)
class _Partner:
    """A retry array's index partner (N_TO_N when the new job re-runs the same indices)."""

    on: Provider

    @property
    def ref(self) -> Ref | str:
        return self.on.ref


@dataclass(frozen=True, slots=True)
class _WaitFor:
    """What AWS cannot express, so batchtui waits for it itself: the step becomes a waiting step."""

    condition: Condition


@dataclass(frozen=True, slots=True)
class _Blocked:
    """The work cannot be resubmitted: why (shown as the Skip's reason)."""

    reason: str


_Dep = _After | _Partner | _WaitFor


@dataclass
class _RetryPlanner:
    snap: Snapshot
    downstream: bool
    changes: Overrides
    worlds: dict[str, World]
    calls: list[Call] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    providers: dict[str, list[Provider]] = field(default_factory=dict)  # original id → jobs re-running it
    existing: dict[str, list[Job]] = field(default_factory=dict)  # original id → earlier batchtui retries
    # Caches for 10,000-index arrays (an upstream's providers are final before its dependents are planned).
    _by_index: dict[str, dict[int, Provider]] = field(default_factory=dict)
    _std: dict[str, list[_Dep] | _Blocked] = field(default_factory=dict)
    picked: set[str] = field(default_factory=set)  # the jobs the person named: the changes apply to them
    redirected: set[str] = field(default_factory=set)  # earlier retries that failed, retried in their originals' stead
    resolved: dict[str, Resolved] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    # Still-running dependents (whole-job) of an upstream that will fail: resubmitted as waiting steps.
    doomed: set[str] = field(default_factory=set)
    waiting: list[Waiting] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # original id → pending plan already waiting to re-run it

    def plan(self, selected: dict[str, frozenset[int] | None]) -> Plan:
        for job in self.snap.jobs:
            orig = job.tags.get(RETRY_OF_TAG) if job.tags else None
            if orig:
                self.existing.setdefault(orig, []).append(job)
        include = dict(selected)
        self._redirect(include)
        self.picked = set(include)  # a failed retry taken over stands for the original the person picked
        if self.downstream:
            self._walk_downstream(include)
        for job_id in self._topological(include):
            self._retry(self.snap.job(job_id), include[job_id])  # type: ignore[arg-type]
        if any(INDEX_ENV in c.label or INDICES_ENV in c.label for c in self.calls):
            self.notes.append(f"a retry of some indices tells its children which original index each re-runs in "
                              f"{INDICES_ENV} (child i re-runs the i-th; a plain job: {INDEX_ENV}); the job's "
                              "code must read it (see the README)")
        self._note_changes(include)
        order = {j.job_id: n for n, j in enumerate(self.snap.jobs)}
        skipped = sorted(self.skipped, key=lambda s: (order.get(s.job_id, len(order)), (s.indices or (-1,))[0]))
        changes = self.changes.text() or None
        if self.refused:  # all or nothing: a repair missing the job it was for would chain to the wrong thing
            return Plan(KIND_RETRY, (), (), tuple(skipped), tuple(dict.fromkeys(self.notes)),
                        downstream=self.downstream, changes=changes, refused=tuple(self.refused))
        return Plan(KIND_RETRY, tuple(self.calls), _merge_targets(self.targets), tuple(skipped),
                    tuple(dict.fromkeys(self.notes)), downstream=self.downstream, changes=changes,
                    waiting=tuple(self.waiting))

    def _note_changes(self, include: Mapping[str, Any]) -> None:
        if self.changes.empty:
            return
        others = [self._name(j) for j in include if j not in self.picked]
        if others:
            picked = ", ".join(self._name(j) for j in self.picked)
            self.notes.append(f"the changes ({self.changes.text()}) apply to what you picked ({picked}); what is "
                              f"resubmitted downstream ({', '.join(others)}) keeps its own resources")
        self.notes.extend(r.unchecked for r in self.resolved.values() if r.unchecked)
        if self.changes.queue is not None:
            self.notes.append(f"the retries run in {self.changes.queue}: batchtui on this machine follows them by id "
                              f"(its audit log) and shows them in their originals; elsewhere, watch "
                              f"{self.changes.queue} (batchtui --queue {self.changes.queue})")

    def _change(self, job: Job) -> bool:
        """Resolve the changes for a picked job; False (and the reason kept) when they cannot be applied."""
        if job.job_id not in self.picked or self.changes.empty:
            return True
        try:
            world = self.worlds.get(self.changes.queue or job.queue or "")
            self.resolved[job.job_id] = resolve(self.changes, job, world)
        except Refused as e:
            self.refused.append(str(e))
            return False
        return True

    # -- which jobs -------------------------------------------------------------------------------------------

    def _walk_downstream(self, include: dict[str, frozenset[int] | None]) -> None:
        queue = list(include)
        seen = set(include)
        while queue:
            up = queue.pop(0)
            for dep in self.snap.downstream_of(up):
                if dep.job_id in seen:
                    continue
                seen.add(dep.job_id)
                if dep.status is Status.FAILED:
                    include[dep.job_id] = None
                    queue.append(dep.job_id)
                elif (failed := self._failed_partners(dep, up)) is not None:
                    # Still running, but its failed indices are final: repaired now, index by index, instead of
                    # hours later when the whole array has ended.
                    include[dep.job_id] = failed
                    queue.append(dep.job_id)
                    self.notes.append(f"{describe_indices(dep.job_name, sorted(failed))} failed while "
                                      f"{dep.job_name} runs on: resubmitted now, N_TO_N on the new "
                                      f"{self._name(up)}; {dep.job_name}'s other indices go on as they are")
                elif self._will_fail(dep, up, include):
                    # It fails once all of `up` has ended; AWS cannot wait for "up except the indices being
                    # retried", so its retry is planned as a waiting step that batchtui sends itself.
                    include[dep.job_id] = None
                    self.doomed.add(dep.job_id)
                    queue.append(dep.job_id)
                elif dep.status.terminal:
                    self._skip(dep, None, f"downstream of {self._name(up)} but {dep.status.name}: not resubmitted")
                else:
                    self._skip(dep, None, f"downstream of {self._name(up)} but still {dep.status.name}: only FAILED "
                                          "jobs are resubmitted (if it fails, retry it then; its retry will wait "
                                          "for these new jobs)")

    def _redirect(self, include: dict[str, frozenset[int] | None]) -> None:
        """An index whose earlier retry FAILED is retried through that retry (a retry of the retry: its tag names
        the retry, its index variable the original indices), again for a retry of that – so asking for the original
        twice never needs the person to find the retry."""
        todo = list(include)
        while todo:
            job = self.snap.job(todo.pop())
            if job is None:
                continue
            wanted = include[job.job_id]
            for r in self.existing.get(job.job_id, ()):
                children = self._failed_children(job, r, wanted)
                if children == NONE:
                    continue
                before = include.get(r.job_id, frozenset())
                include[r.job_id] = None if children is None or before is None else before | children
                self.redirected.add(r.job_id)
                todo.append(r.job_id)

    def _failed_children(self, job: Job, r: Job, wanted: frozenset[int] | None) -> frozenset[int] | None:
        """Which children of job's earlier retry r FAILED while re-running wanted indices of job: a set of r's own
        indices, None for the whole of r (a plain retry), NONE (empty) for none."""
        p = _existing_provider(job, r)
        if p is None:
            return NONE
        if not r.is_array:
            hit = wanted is None or p.indices is None or bool(set(p.indices) & wanted)
            return None if hit and r.status is Status.FAILED else NONE
        if r.array is None or p.indices is None or len(p.indices) != (r.array_size or 0):
            return NONE  # children not known, or lineage that does not line up child for child
        return frozenset(k for k, i in enumerate(p.indices)
                         if (wanted is None or i in wanted) and r.array.status(k) is Status.FAILED)

    def _will_fail(self, dep: Job, up: str, include: Mapping[str, Any]) -> bool:
        """dep waits for all of `up` (a standard dependency), and `up` – still running, or itself doomed – has work
        that FAILED and is retried in this plan: dep will fail when up ends."""
        upstream = self.snap.job(up)
        if dep.status.terminal or upstream is None or up not in include:
            return False
        whole = any(d.job_id == up and d.type != DependencyType.N_TO_N for d in dep.depends_on)
        return whole and (up in self.doomed or (not upstream.status.terminal and upstream.array is not None
                                                 and upstream.array.count(Status.FAILED) > 0))

    def _failed_partners(self, dep: Job, up: str) -> frozenset[int] | None:
        """The FAILED indices of a still-running array that depends on `up` index by index (N_TO_N); None if it is
        not one, or none of its indices failed."""
        n2n = any(d.job_id == up and d.type == DependencyType.N_TO_N for d in dep.depends_on)
        if not n2n or dep.array is None or dep.status.terminal:
            return None
        failed = dep.array.indices(Status.FAILED)
        return frozenset(failed) if failed else None

    def _topological(self, include: Mapping[str, Any]) -> list[str]:
        """Upstreams first; otherwise in the snapshot's order."""
        order = {j.job_id: n for n, j in enumerate(self.snap.jobs)}
        return topological_order(sorted(include, key=order.__getitem__), self._upstream_ids)

    def _upstream_ids(self, job_id: str) -> tuple[str, ...]:
        job = self.snap.job(job_id)
        return job.upstream_ids if job else ()

    def _name(self, job_id: str) -> str:
        job = self.snap.job(job_id)
        return job.job_name if job else job_id

    def _skip(self, job: Job, indices: Sequence[int] | None, reason: str) -> None:
        self.skipped.append(Skip(job.job_id, job.job_name, tuple(indices) if indices is not None else None, reason))

    # -- one job ----------------------------------------------------------------------------------------------

    def _retry(self, job: Job, requested: frozenset[int] | None) -> None:
        earlier = [p for r in self.existing.get(job.job_id, ()) if (p := _existing_provider(job, r))]
        self.providers[job.job_id] = list(earlier)
        if not job.queue or not job.job_definition:
            self._skip(job, None, "its queue or job definition is not known (not described yet): cannot resubmit")
            return
        # Whether it is still doomed or has FAILED since: its retry is that plan's to send (a blocked step too)
        if job.job_id in self.pending:
            self._skip(job, None, f"its retry waits already in plan {self.pending[job.job_id]} (batchtui plans): "
                                  "not planned again")
            return
        if not self._change(job):
            return
        if not job.is_array:
            self._retry_plain(job, earlier)
            return
        statuses = _statuses(job, sorted(requested) if requested is not None else range(job.array_size or 0))
        failed = []
        for status, idx in _by_status(statuses).items():
            if status is Status.FAILED or (job.job_id in self.doomed and status is not Status.SUCCEEDED):
                failed = idx
            elif status is Status.UNKNOWN:
                self._skip(job, idx, "state not known yet: not resubmitted")
            else:
                self._skip(job, idx, f"{status.name}: not resubmitted (only FAILED indices are)")
        covered: dict[int, Provider] = {}
        for p in earlier:
            for i in p.indices or ():
                covered.setdefault(i, p)
        for p in dict.fromkeys(covered[i] for i in failed if i in covered):
            idx = [i for i in failed if covered.get(i) == p]
            self._skip(job, idx, self._covered(p))
        remaining = [i for i in failed if i not in covered]
        if remaining:
            self._submit_groups(job, remaining)

    def _covered(self, p: Provider) -> str:
        if p.ref in self.redirected:
            return f"already resubmitted as {p.show()}, which failed: retried through it (its failed indices)"
        return f"already resubmitted as {p.show()}: not resubmitted again while that has not failed"

    def _retry_plain(self, job: Job, earlier: list[Provider]) -> None:
        if job.status is not Status.FAILED and job.job_id not in self.doomed:
            self._skip(job, None, f"is {job.status.name}: not resubmitted (only FAILED jobs are)")
            return
        if earlier:
            self._skip(job, None, self._covered(earlier[0]))
            return
        deps = self._deps(job, None)
        if isinstance(deps, _Blocked):
            self._skip(job, None, deps.reason)
            return
        self._submit_groups(job, [], plain_deps=deps)

    def _submit_groups(self, job: Job, failed: list[int], plain_deps: tuple[_Dep, ...] | None = None) -> None:
        if plain_deps is not None:
            groups = [_Group([], plain_deps)]
        else:
            groups = []
            by_key: dict[tuple[_Dep, ...], _Group] = {}
            for i in failed:
                deps = self._deps(job, i)
                if isinstance(deps, _Blocked):
                    self._skip(job, [i], deps.reason)
                    continue
                if deps not in by_key:
                    by_key[deps] = _Group([], deps)
                    groups.append(by_key[deps])
                by_key[deps].indices.append(i)
            # the group chained to the upstream retry comes first (and gets the plain "-retry" name)
            groups.sort(key=lambda g: not any(isinstance(d, _Partner) for d in g.deps))
            # skips were added one index at a time: regroup them by reason for the summary
            self._regroup_skips(job)
            groups = [part for g in groups for part in self._fit(job, g)]
        for n, group in enumerate(groups, 1):
            self._submit(job, group, n, len(groups))

    def _fit(self, job: Job, group: _Group) -> list[_Group]:
        """The group split so that each new job's containerOverrides (with its index list) stays in budget."""
        if len(group.indices) < 2 or group.indices == list(range(job.array_size or 0)):
            return [group]
        mapping = index_list(job)
        changed = self.resolved.get(job.job_id)
        base = _overrides_size(_overrides(job, group.indices[:2], False, changed)) - len(
            ",".join(str(mapping[i] if mapping else i) for i in group.indices[:2]))
        if base + len(str(max(mapping or group.indices))) + 1 > OVERRIDES_BUDGET:
            self._skip(job, group.indices, f"its container overrides are already {base:,} characters (its command "
                                           f"and environment): with the list of indices a retry re-runs they would "
                                           f"pass AWS Batch's 8,192, and the job would fail at start")
            return []
        parts: list[list[int]] = [[]]
        used = base
        for i in group.indices:
            cost = len(str(mapping[i] if mapping else i)) + 1
            if parts[-1] and used + cost > OVERRIDES_BUDGET:
                parts.append([])
                used = base
            parts[-1].append(i)
            used += cost
        if len(parts) > 1:
            self.notes.append(f"{describe_indices(job.job_name, group.indices)} are resubmitted as {len(parts)} "
                              f"arrays: one index list that long would make the job fail at start (AWS Batch allows "
                              f"8,192 characters of container overrides)")
        return [_Group(part, group.deps) for part in parts]

    def _regroup_skips(self, job: Job) -> None:
        mine = [s for s in self.skipped if s.job_id == job.job_id and s.indices is not None and len(s.indices) == 1]
        if len(mine) < 2:
            return
        others = [s for s in self.skipped if s not in mine]
        by_reason: dict[str, list[int]] = {}
        for s in mine:
            by_reason.setdefault(s.reason, []).extend(s.indices or ())
        whole = list(range(job.array_size or 0))
        self.skipped = others + [Skip(job.job_id, job.job_name, None if sorted(ix) == whole else tuple(sorted(ix)), r)
                                 for r, ix in by_reason.items()]

    # -- dependencies -----------------------------------------------------------------------------------------

    def _deps(self, job: Job, index: int | None) -> tuple[_Dep, ...] | _Blocked:
        """What the new job re-running `index` of job (None: a plain job) waits for, or why it cannot be sent."""
        key: list[_Dep] = []
        for d in job.depends_on:
            if not d.job_id:
                continue  # SEQUENTIAL: added when the new job is an array
            parent, child = split_child_id(d.job_id)
            up = self.snap.job(parent)
            if up is None:
                self.notes.append(f"{job.job_name} depends on {d.job_id}, which batchtui does not see: the "
                                  "dependency is kept as it was")
                key.append(_After(d.job_id))
                continue
            if child is not None:
                entry = self._child_dep(up, child, d.job_id)
            elif d.type == DependencyType.N_TO_N and index is not None and up.is_array:
                entry = self._n2n_dep(up, index)
            else:
                entries = self._std_dep(up)
                if isinstance(entries, _Blocked):
                    return entries
                key.extend(entries)
                continue
            if isinstance(entry, _Blocked):
                return entry
            if entry is not None:
                key.append(entry)
        return tuple(dict.fromkeys(key))

    def _provider_of(self, up: Job, index: int) -> Provider | None:
        if up.job_id not in self._by_index:
            cover: dict[int, Provider] = {}
            for p in self.providers.get(up.job_id, ()):
                for i in p.indices or ():
                    cover.setdefault(i, p)
            self._by_index[up.job_id] = cover
        return self._by_index[up.job_id].get(index)

    def _earlier(self, p: Provider, index: int | None = None) -> Status | None:
        """The status of an earlier retry (or of its child re-running `index`); None for one in this plan."""
        if isinstance(p.ref, Ref):
            return None
        job = self.snap.job(p.ref)
        if job is None:
            return None
        if index is not None and job.array is not None and p.indices is not None and index in p.indices:
            return job.array.status(p.indices.index(index))
        return job.status

    def _via(self, p: Provider, index: int | None = None, *, partner: bool = False) -> _Dep | None | _Blocked:
        """Wait for provider p (as an index partner, or for all of it) – unless it is an earlier retry that already
        SUCCEEDED (nothing to wait for) or FAILED (the new job would fail at once)."""
        status = self._earlier(p, index)
        if status is Status.SUCCEEDED:
            return None
        if status is Status.FAILED:
            return _Blocked(f"waits for {p.show()}, an earlier retry that FAILED: retry that job first "
                            "(with --downstream)")
        return _Partner(p) if partner else _After(p)

    def _n2n_dep(self, up: Job, index: int) -> _Dep | None | _Blocked:
        p = self._provider_of(up, index)
        if p is not None:
            return self._via(p, index, partner=True)
        status = _statuses(up, [index])[index]
        if status is Status.SUCCEEDED:
            return None  # done: nothing to wait for
        # No index in these reasons: the skips of many indices share them and show as one line, not one per index.
        if status is Status.FAILED:
            return _Blocked(f"the N_TO_N partner in {up.job_name} FAILED and is not being retried (retry "
                            f"{up.job_name} with --downstream)")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return _Blocked(f"the N_TO_N partner in {up.job_name} is {status.name}: cannot be resubmitted before it ends")

    def _left_doomed(self, up: Job) -> str:
        """Why work after `up` is left alone: up will fail, and this plan could not resubmit it (its own line says
        why); chaining a retry to it would only fail with it."""
        return f"waits for {up.job_name}, which will fail and is left alone in this plan (see {up.job_name})"

    def _std_dep(self, up: Job) -> list[_Dep] | _Blocked:
        if up.job_id not in self._std:
            self._std[up.job_id] = self._std_dep_uncached(up)
        return self._std[up.job_id]

    def _std_dep_uncached(self, up: Job) -> list[_Dep] | _Blocked:
        providers = self.providers.get(up.job_id) or []
        if providers:
            wait: list[_Dep] = []
            if up.is_array:
                statuses = _statuses(up, range(up.array_size or 0))
                missing = [i for i, s in statuses.items() if s is not Status.SUCCEEDED
                           and self._provider_of(up, i) is None]
                if missing and all(statuses[i] is not Status.FAILED for i in missing):
                    # Still running: wait for them (batchtui does, AWS cannot), then for the retries.
                    retried = tuple(i for i in range(up.array_size or 0) if self._provider_of(up, i) is not None)
                    wait = [_WaitFor(Condition(up.job_id, up.job_name, up.array_size, retried))]
                elif missing:
                    return _Blocked(f"waits for all of {up.job_name}, but {describe_indices(up.job_name, missing)} "
                                    f"{'is' if len(missing) == 1 else 'are'} neither SUCCEEDED nor being retried")
            entries = [self._via(p) for p in providers]
            blocked = next((e for e in entries if isinstance(e, _Blocked)), None)
            return blocked if blocked is not None else wait + [e for e in entries if isinstance(e, _After)]
        if up.status is Status.SUCCEEDED:
            return []
        if up.status is Status.FAILED:
            return _Blocked(f"waits for {up.job_name}, which FAILED and is not being retried (retry it with "
                            "--downstream)")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return [_After(up.job_id)]  # not finished yet: keep waiting for it

    def _child_dep(self, up: Job, child: int, raw: str) -> _Dep | None | _Blocked:
        p = self._provider_of(up, child)
        if p is not None and p.indices is not None:
            via = self._via(p, child)
            if not isinstance(via, _After):
                return via
            return _After(p.ref if p.plain else _child_of(p.ref, p.indices.index(child)))
        status = _statuses(up, [child])[child]
        if status is Status.SUCCEEDED:
            return None
        if status is Status.FAILED:
            return _Blocked(f"waits for {up.job_name}[{child}], which FAILED and is not being retried")
        if up.job_id in self.doomed:
            return _Blocked(self._left_doomed(up))
        return _After(raw)

    # -- the SubmitJob ----------------------------------------------------------------------------------------

    def _submit(self, job: Job, group: _Group, n: int, total: int) -> None:
        step = len(self.calls)
        is_array = job.is_array and len(group.indices) >= MIN_ARRAY_SIZE
        whole = job.is_array and group.indices == list(range(job.array_size or 0))
        depends_on, dep_text = self._depends_on(job, group, is_array)
        if len(depends_on) > MAX_DEPENDS_ON:
            self._skip(job, group.indices or None, f"would need {len(depends_on)} dependencies (AWS allows "
                                                   f"{MAX_DEPENDS_ON}): not resubmitted")
            return
        name = _retry_name(job.job_name, n)
        changed = self.resolved.get(job.job_id)
        params: dict[str, Any] = {"jobName": name, "jobQueue": (changed and changed.queue) or job.queue,
                                  "jobDefinition": job.job_definition}
        if is_array:
            params["arrayProperties"] = {"size": len(group.indices)}
        if depends_on:
            params["dependsOn"] = depends_on
        if job.parameters:
            params["parameters"] = dict(job.parameters)
        overrides = _overrides(job, group.indices if job.is_array else None, whole, changed)
        if overrides:
            params["containerOverrides"] = overrides
        if job.retry_strategy:
            params["retryStrategy"] = job.retry_strategy.request()
        if changed and changed.timeout_s is not None:
            params["timeout"] = {"attemptDurationSeconds": changed.timeout_s}
        elif job.timeout:
            params["timeout"] = job.timeout.request()
        params["tags"] = {**{k: v for k, v in (job.tags or {}).items() if not k.startswith(RESERVED_TAG_PREFIX)},
                          RETRY_OF_TAG: job.job_id}
        covers = Target(job.job_id, job.job_name, tuple(group.indices) if job.is_array else None)
        conditions = tuple(d.condition for d in group.deps if isinstance(d, _WaitFor))
        # a job waiting for a waiting step is itself sent later, once that step has its job id
        after = tuple(dict.fromkeys(d.ref.step for d in group.deps if isinstance(d, _After | _Partner)
                                    and isinstance(d.ref, Ref) and d.ref.waiting))
        if whole:
            shape = f"whole {job.job_name} again (array of {job.array_size:,})"
        elif is_array:
            shape = f"array of {len(group.indices):,} re-running {covers.describe()} via {INDICES_ENV}"
        elif job.is_array:
            shape = f"plain job re-running {covers.describe()} via {INDEX_ENV}"
        else:
            shape = f"{job.job_name} again"
        own = "" if total == 1 else f" [part {n} of {total}]"
        if changed and changed.said:
            own += f" with {', '.join(changed.said)}"
        if self._own_failures(job, group):
            self.notes.append(f"{covers.describe()} failed on {'their' if len(group.indices) > 1 else 'its'} own "
                              f"(the N_TO_N upstream's indices SUCCEEDED): resubmitted too, without waiting, since "
                              f"what runs after {job.job_name} needs all of it")
        self.notes.extend(_repeats(job, group.indices, changed))
        call = Call(SUBMIT, params, f"{name}: {shape}{own}; {dep_text}", (covers,))
        indices = tuple(group.indices) if job.is_array else None
        if conditions or after:  # sent later, by batchtui, once they hold
            ref = Ref(len(self.waiting), waiting=True)
            self.waiting.append(Waiting(call, conditions, after))
        else:
            ref = Ref(step)
            self.calls.append(call)
            self.targets.append(covers)
        self.providers[job.job_id].append(Provider(ref, name, indices, plain=not is_array))

    def _own_failures(self, job: Job, group: _Group) -> bool:
        """An N_TO_N dependent's indices whose upstream indices SUCCEEDED the first time."""
        found = [self.snap.job(d.job_id) for d in job.depends_on if d.type == DependencyType.N_TO_N and d.job_id]
        ups = [u for u in found if u is not None and u.is_array]
        return bool(ups and group.indices) and all(
            s is Status.SUCCEEDED for u in ups for s in _statuses(u, group.indices).values())

    def _depends_on(self, job: Job, group: _Group, is_array: bool) -> tuple[list[dict], str]:
        out: list[dict] = []
        said: list[str] = []
        for d in group.deps:
            if isinstance(d, _WaitFor):
                said.append(d.condition.describe())
                continue
            what, ref = d.on, d.ref
            shown = (what.show() if isinstance(what, Provider) else str(what) if isinstance(what, Ref)
                     else self._name(split_child_id(what)[0]))
            if isinstance(d, _Partner):
                if is_array and not d.on.plain and list(d.on.indices or ()) == group.indices:
                    out.append({"jobId": ref, "type": DependencyType.N_TO_N})
                    said.append(f"N_TO_N on {shown}")
                    continue
                if not is_array and d.on.plain:
                    said.append(f"after {shown}")
                else:
                    said.append(f"after all of {shown}")
                    self.notes.append(f"{job.job_name}'s retry waits for all of {shown}, not index by index: "
                                      "N_TO_N needs two arrays over the same indices")
            else:
                said.append(f"after {shown}")
            out.append({"jobId": ref})
        if is_array and job.sequential:
            out.append({"type": DependencyType.SEQUENTIAL})
            said.append("SEQUENTIAL")
        out = list({_dep_key(d): d for d in out}.values())
        dropped = [self._name(u) for u in job.upstream_ids
                   if (up := self.snap.job(split_child_id(u)[0])) is not None and up.status is Status.SUCCEEDED
                   and not self.providers.get(up.job_id)]
        text = ", ".join(said) if said else "no dependencies"
        if dropped:
            text += f" ({', '.join(dict.fromkeys(dropped))} SUCCEEDED: not waited for)"
        return out, text


# What a retry as it was would only repeat, and the change that repairs it (triage's repair for the cause).
_REPEATS = ((OOM, "ran out of memory", "the same memory", "memory=x1.5"),
            (TIMEOUT, "ran over the attempt timeout", "the same timeout", "timeout=2h"))


def _repeats(job: Job, indices: Sequence[int], changed: Resolved | None) -> list[str]:
    """Notes for resubmitted failures that will fail the same way again: out of memory with unchanged memory, over
    the timeout with an unchanged timeout (a downstream job keeps its resources: its own failure group repairs it)."""
    wanted = set(indices)
    causes = {f.index: classify(f) for f in failures(job) if f.index is None or f.index in wanted}
    kept = {OOM: changed is None or changed.memory_mib is None, TIMEOUT: changed is None or changed.timeout_s is None}
    out = []
    for cause, what, same, fix in _REPEATS:
        hit = [i for i, c in causes.items() if c == cause]
        if not kept[cause] or not hit:
            continue
        shown = None if job.array is None else sorted(i for i in hit if i is not None)
        who = describe_indices(job.job_name, shown)
        out.append(f"{who} {what} and {'are' if len(hit) > 1 else 'is'} resubmitted with {same}: expect the same "
                   f"failure – give {job.job_name}'s {cause} group its repair ({REPAIRS[cause]}: {fix} in the "
                   f"changes, or R on it in the Failures view)")
    return out


def _dep_key(d: Mapping) -> tuple:
    ref = d.get("jobId")
    return (str(ref) if ref is not None else None, d.get("type"))


def _child_of(ref: Ref | str, k: int) -> Ref | str:
    return Ref(ref.step, k, ref.waiting) if isinstance(ref, Ref) else f"{ref}:{k}"


def _retry_name(name: str, n: int) -> str:
    base = re.sub(r"-retry\d*$", "", name)
    suffix = "-retry" if n == 1 else f"-retry{n}"
    return base[:NAME_MAX - len(suffix)] + suffix


def _env(job: Job) -> list[dict]:
    return [e.request() for e in job.container_overrides.environment or ()] if job.container_overrides else []


def _overrides(job: Job, indices: list[int] | None, whole: bool, changed: Resolved | None = None) -> dict[str, Any]:
    """containerOverrides for the new job: the original's, minus AWS_BATCH_*, with the batchtui index variable and
    the changes asked for."""
    src = job.container_overrides.request() if job.container_overrides else {}
    out: dict[str, Any] = {k: v for k, v in src.items() if k != "environment" and v}
    if changed is not None:
        resources = _resources(out.get("resourceRequirements") or [], changed)
        if resources:
            out["resourceRequirements"] = resources
    env = [e for e in _env(job) if not str(e.get("name", "")).startswith(RESERVED_ENV_PREFIX)]
    if changed is not None and changed.env:
        names = {k for k, _ in changed.env}
        env = [e for e in env if e.get("name") not in names] + [{"name": k, "value": v} for k, v in changed.env]
    if indices is not None and not whole:
        mapping = index_list(job)
        original = [mapping[i] if mapping else i for i in indices]
        env = [e for e in env if e.get("name") not in (INDEX_ENV, INDICES_ENV)]
        if len(original) == 1:
            env.append({"name": INDEX_ENV, "value": str(original[0])})
        else:
            env.append({"name": INDICES_ENV, "value": ",".join(map(str, original))})
    if env:
        out["environment"] = env
    return out


def _resources(have: list[dict], changed: Resolved) -> list[dict]:
    """resourceRequirements with VCPU/MEMORY replaced (as AWS wants them: strings), other types kept."""
    new = {"VCPU": f"{changed.vcpus:g}" if changed.vcpus is not None else None,
           "MEMORY": str(changed.memory_mib) if changed.memory_mib is not None else None}
    out = [dict(r, value=new[str(r.get("type"))]) if new.get(str(r.get("type"))) else dict(r) for r in have]
    out += [{"type": t, "value": v} for t, v in new.items() if v and not any(r.get("type") == t for r in have)]
    return out


def _overrides_size(overrides: Mapping[str, Any]) -> int:
    return len(json.dumps(overrides, separators=(",", ":")))


def _existing_provider(orig: Job, retry: Job) -> Provider | None:
    """What an earlier batchtui retry of `orig` re-runs, in orig's own indices."""
    if not orig.is_array:
        return Provider(retry.job_id, retry.job_name, None, plain=not retry.is_array)
    own = index_list(orig)
    if retry.is_array:
        theirs = index_list(retry)
        if theirs is None:  # a whole resubmission
            indices = list(range(retry.array_size or 0))
        else:
            indices = [own.index(v) if own else v for v in theirs if own is None or v in own]
    else:
        text = env_value(retry, INDEX_ENV)
        if text is None or not text.isdigit():
            return None
        v = int(text)
        indices = [own.index(v)] if own and v in own else [] if own else [v]
    indices = [i for i in indices if 0 <= i < (orig.array_size or 0)]
    if not indices:
        return None
    return Provider(retry.job_id, retry.job_name, tuple(indices), plain=not retry.is_array)
