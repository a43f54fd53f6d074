"""Pure planning of cancel and retry: a selection over a Snapshot → a Plan, the exact API calls and why (the retry
planner is retry_plan.py, over the types here).

No I/O here: the dashboard and `batchtui cancel|retry` show `Plan.summary()` before anything happens, and
`batchtui.execute.execute` makes exactly `Plan.calls`, in order. A SubmitJob that needs the id of a job submitted
earlier in the same plan holds a `Ref(step)` placeholder; the executor substitutes the real id.

    plan = plan_cancel(snapshot, [Selection("jobB", frozenset({3, 17}))], reason=default_reason())
    plan = retry_plan.plan_retry(snapshot, [Selection("jobB")], downstream=True)  # jobB's FAILED indices, and after

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from batchtui.errors import UnknownJob, UsageError
from batchtui.limits import BULK_CHUNK
from batchtui.model import (
    Job,
    Snapshot,
    Status,
    split_child_id,
)

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


def merge_selections(snap: Snapshot, selection: Selection | Iterable[Selection]) -> dict[str, frozenset[int] | None]:
    """job id → indices (None: whole), in snapshot order; checks ids and index ranges."""
    sels = [selection] if isinstance(selection, Selection) else list(selection)
    merged: dict[str, frozenset[int] | None] = {}
    for s in sels:
        job = job_of(snap, s.job_id)
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


def job_of(snap: Snapshot, job_id: str) -> Job:
    job = snap.job(job_id)
    if job is None:
        raise UnknownJob(f"no job {job_id!r} in what batchtui sees (check the id, the region and the profile)")
    return job


def index_statuses(job: Job, indices: Iterable[int]) -> dict[int, Status]:
    if job.array is None:  # per-index state not known
        if job.status is Status.SUCCEEDED:  # a parent succeeds only when every child did
            return dict.fromkeys(indices, Status.SUCCEEDED)
        return dict.fromkeys(indices, Status.UNKNOWN)
    return {i: job.array.status(i) for i in indices}


def by_status(statuses: Mapping[int, Status]) -> dict[Status, list[int]]:
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
    for job_id, indices in merge_selections(snap, selection).items():
        job = job_of(snap, job_id)
        if indices is None:
            _cancel_whole(job, terminate, cancel, skipped, notes)
        else:
            _cancel_indices(job, sorted(indices), terminate, cancel, skipped)
    # Cancel the waiting work first: terminating running work first frees capacity, and a RUNNABLE job that
    # starts in that moment is no longer stopped by the CancelJobs that follows.
    calls = [*_bulk_calls(CANCEL, cancel, reason), *_bulk_calls(TERMINATE, terminate, reason)]
    targets = merge_targets([t for _, t in terminate + cancel])
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
    for status, idx in by_status(index_statuses(job, indices)).items():
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
        covers = merge_targets([t for _, t in chunk])
        label = f"({len(chunk)} id{'s' if len(chunk) != 1 else ''}): {verb} " + "; ".join(
            t.describe() for t in covers)
        calls.append(Call(op, {"jobs": [job_id for job_id, _ in chunk], "reason": reason}, label, covers))
    return calls


def merge_targets(targets: Iterable[Target]) -> tuple[Target, ...]:
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
