"""Retries joined back to what they re-run (pure: a Snapshot in, records out).

A batchtui retry is a new job tagged `batchtui:retry-of=<the job it re-runs>`; an array retry's children re-run the
original indices listed in its BATCHTUI_ARRAY_INDICES (child i: the i-th), a plain retry of one index names it in
BATCHTUI_ARRAY_INDEX (model.py has the names). Retries of retries keep the original's indices, so every retry maps
straight onto its original. Joined, each original has an **effective** state: per index, the latest attempt across
the original and its retries. `effective(snap)` is the snapshot as the person repairing it needs to see it – each
original with its effective state, the retries folded into it – and the analysis of that snapshot is the outlook
and ETA that count repairs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from batchtui.model import (
    INDEX_ENV,
    INDICES_ENV,
    ArrayState,
    IndexDetail,
    Job,
    Snapshot,
    Status,
    retry_roots,
)

_ACTIVE_ORDER = (Status.RUNNING, Status.STARTING, Status.RUNNABLE, Status.PENDING, Status.SUBMITTED)


@dataclass(frozen=True, slots=True)
class Retry:
    """One resubmission of an original job (or of an earlier retry of it)."""

    job_id: str
    job_name: str
    of: str  # the job it re-runs directly: the original, or an earlier retry
    generation: int  # 1: a retry of the original, 2: a retry of a retry …
    indices: tuple[int, ...] | None  # the original's indices it re-runs (child i: the i-th); None: a plain original
    status: Status

    def to_json(self) -> dict[str, Any]:
        return {"jobId": self.job_id, "indices": list(self.indices) if self.indices is not None else None}


@dataclass(frozen=True, slots=True)
class Latest:
    """Where an original index's latest attempt is: which retry, and which of its children (None: a plain job)."""

    job_id: str
    child: int | None


@dataclass(frozen=True, slots=True)
class Run:
    """One place an original index ran: the original itself, or the retry (and its child) that re-ran it."""

    job_id: str
    job_name: str
    child: int | None  # the index in that job (None: a plain retry of one index)
    status: Status
    detail: IndexDetail | None

    @property
    def child_id(self) -> str:
        return f"{self.job_id}:{self.child}" if self.child is not None else self.job_id


@dataclass(frozen=True, slots=True)
class Repair:
    """An original job with its retries: its effective state, and for each retried index its latest attempt."""

    original: Job
    retries: tuple[Retry, ...]
    effective: Job
    latest: Mapping[int, Latest]  # arrays: retried original index → its latest attempt

    @property
    def retried(self) -> list[int]:
        return sorted(self.latest)

    def runs(self, index: int) -> tuple[Run, ...]:
        """Where original index `index` ran: first the original, then its latest retry; () when never retried."""
        latest = self.latest.get(index)
        if latest is None or self.original.array is None or self.effective.array is None:
            return ()
        names = {r.job_id: r.job_name for r in self.retries}
        first = Run(self.original.job_id, self.original.job_name, index, self.original.array.status(index),
                    self.original.array.details.get(index))
        now = Run(latest.job_id, names.get(latest.job_id, latest.job_id), latest.child,
                  self.effective.array.status(index), self.effective.array.details.get(index))
        return first, now

    def runnable_in(self) -> str | None:
        """The retry whose RUNNABLE work is all the effective original has RUNNABLE (where its waiting is to be
        diagnosed); None when the original's own indices wait too, or nothing retried is RUNNABLE."""
        if self.effective.array is None or self.original.array is None:
            last = self.retries[-1] if self.retries else None
            return last.job_id if last is not None and self.effective.status is Status.RUNNABLE else None
        statuses = self.effective.array.statuses
        if statuses.count(Status.RUNNABLE) == 0:  # the usual case, without a Python loop over 10,000 indices
            return None
        waiting = [i for i, s in enumerate(statuses) if s == Status.RUNNABLE]
        holders = [self.latest[i].job_id for i in waiting if i in self.latest]
        if not holders or len(holders) < len(waiting):
            return None  # nothing retried waits, or the original's own indices wait in its own queue
        return holders[0]

    def effective_counts(self) -> dict[str, int] | None:
        """effectiveChildCounts: the original's indices counted by their effective status (None: a plain job)."""
        return self.effective.array.counts() if self.effective.array is not None else None

    def summary(self) -> str:
        """'9,976 succeeded + 24 retried: 20 succeeded, 4 running' (arrays) or 'retried: RUNNING' (plain jobs)."""
        if self.effective.array is None or self.original.array is None:
            return f"retried {len(self.retries)}× · now {self.effective.status.name.lower()}"
        retried = set(self.latest)
        own = [s for i, s in enumerate(self.original.array.statuses) if i not in retried]
        now = _counts_text([self.effective.array.statuses[i] for i in self.retried])
        if not own:
            return f"all {len(retried):,} retried: {now}"
        return f"{_counts_text(own)} + {len(retried):,} retried: {now}"


@dataclass(frozen=True, slots=True)
class Lineage:
    repairs: Mapping[str, Repair]  # original id → its repair (only originals that have retries)
    root_of: Mapping[str, str]  # retry id → its original
    unjoined: tuple[str, ...] = ()  # retries that cannot be mapped onto their original's indices (why: notes)
    notes: tuple[str, ...] = ()

    def of(self, job_id: str) -> Repair | None:
        """The repair of an original, or of the original a retry belongs to."""
        return self.repairs.get(self.root_of.get(job_id, job_id))


# --- joining ---------------------------------------------------------------------------------------------------------

_cache: tuple[Snapshot, Lineage, Snapshot] | None = None


def join(snap: Snapshot) -> Lineage:
    return _joined(snap)[0]


def effective(snap: Snapshot) -> Snapshot:
    """The snapshot with each original in its effective state and its retries folded into it (same object when
    nothing was retried)."""
    return _joined(snap)[1]


def _joined(snap: Snapshot) -> tuple[Lineage, Snapshot]:
    global _cache
    cached = _cache
    if cached is not None and cached[0] is snap:
        return cached[1], cached[2]
    lineage = _join(snap.jobs)
    if not lineage.root_of:
        eff = snap
    else:
        jobs = tuple(lineage.repairs[j.job_id].effective if j.job_id in lineage.repairs else j
                     for j in snap.jobs if j.job_id not in lineage.root_of)
        by_id = {j.job_id: j for j in snap.jobs}
        waits = {root: by_id[retry] for root, repair in lineage.repairs.items()
                 if (retry := repair.runnable_in()) is not None}
        eff = dataclasses.replace(snap, jobs=jobs, waits_in=MappingProxyType(waits))
    _cache = (snap, lineage, eff)
    return lineage, eff


def _join(jobs: Sequence[Job]) -> Lineage:
    by_id = {j.job_id: j for j in jobs}
    roots = retry_roots(jobs)
    chains: dict[str, list[Retry]] = {}
    unjoined: list[str] = []
    notes: list[str] = []
    # oldest first, so that a later attempt of an index overrides an earlier one
    for retry_id in sorted(roots, key=lambda r: (by_id[r].created_at or 0, r)):
        job, root = by_id[retry_id], by_id[roots[retry_id]]
        indices = _original_indices(job, root, by_id)
        if root.is_array and indices is None:
            unjoined.append(retry_id)
            notes.append(f"{job.job_name} is tagged as a retry of {root.job_name} but does not say which of its "
                         f"indices it re-runs ({INDICES_ENV} missing or malformed): not counted as a repair")
            continue
        chains.setdefault(root.job_id, []).append(
            Retry(job.job_id, job.job_name, job.retry_of or root.job_id, _generation(job, by_id), indices, job.status))
    repairs = {root_id: _repair(by_id[root_id], tuple(rs), by_id) for root_id, rs in chains.items()}
    root_of = {r: roots[r] for r in roots if r not in unjoined}
    return Lineage(MappingProxyType(repairs), MappingProxyType(root_of), tuple(unjoined), tuple(notes))


def _generation(job: Job, by_id: Mapping[str, Job]) -> int:
    n, up, seen = 0, job.retry_of, {job.job_id}
    while up is not None and up in by_id and up not in seen:
        n, seen = n + 1, seen | {up}
        up = by_id[up].retry_of
    return n


def env_value(job: Job, name: str) -> str | None:
    return job.container_overrides.env(name) if job.container_overrides else None


def index_list(job: Job) -> list[int] | None:
    """For an array that is itself a batchtui retry: the original index each child re-runs (else None)."""
    text = env_value(job, INDICES_ENV)
    if not text or not job.is_array:
        return None
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        return None
    return values if len(values) == job.array_size else None


def _original_indices(job: Job, root: Job, by_id: Mapping[str, Job]) -> tuple[int, ...] | None:
    """The root's indices `job` re-runs, in child order; None when the root is a plain job or it cannot be told."""
    if not root.is_array:
        return None
    if job.is_array:
        values: list[int] | None = index_list(job)
        if values is None and env_value(job, INDICES_ENV) is None:
            # a whole resubmission: the same indices as the job it re-runs
            up = by_id.get(job.retry_of or "")
            if up is None or up is root:
                values = list(range(job.array_size or 0)) if job.array_size == root.array_size else None
            else:
                parent = _original_indices(up, root, by_id) if up.retry_of is not None else None
                values = list(parent) if parent is not None and len(parent) == job.array_size else None
    else:
        text = env_value(job, INDEX_ENV)
        values = [int(text)] if text is not None and text.isascii() and text.isdigit() else None
    if values is None or not all(0 <= v < (root.array_size or 0) for v in values):
        return None
    return tuple(values)


# --- the effective state ---------------------------------------------------------------------------------------------


def _repair(original: Job, retries: tuple[Retry, ...], by_id: Mapping[str, Job]) -> Repair:
    if original.array is None or not original.is_array:
        return Repair(original, retries, _plain_effective(original, [by_id[r.job_id] for r in retries]), {})
    statuses = bytearray(original.array.statuses)
    details = dict(original.array.details)
    latest: dict[int, Latest] = {}
    stops = [original.stopped_at]
    for r in retries:
        job = by_id[r.job_id]
        stops.append(job.stopped_at)
        for k, i in enumerate(r.indices or ()):
            if i >= len(statuses):
                continue
            status, detail = _child_state(job, k)
            statuses[i] = status
            if detail is not None:
                details[i] = dataclasses.replace(detail, index=i)
            else:
                details.pop(i, None)  # the old attempt's failure is not this index's state any more
            latest[i] = Latest(job.job_id, k if job.is_array else None)
    array = ArrayState.of(statuses, details)
    status = _array_status(array.statuses, original.status)
    eff = dataclasses.replace(original, array=array, status=status,
                              stopped_at=max((s for s in stops if s), default=None) if status.terminal else None)
    return Repair(original, retries, eff, MappingProxyType(latest))


def _child_state(job: Job, k: int) -> tuple[Status, IndexDetail | None]:
    """The state of a retry's k-th child (a plain retry: the job itself)."""
    if not job.is_array:
        detail = IndexDetail(0, job.exit_code, job.reason, job.status_reason, job.started_at, job.stopped_at,
                             job.attempts, job.log_stream)
        return job.status, detail
    if job.array is not None and k < job.array.size:
        return job.array.status(k), job.array.details.get(k)
    # not read yet: its children are where the parent is (a parent is SUBMITTED/PENDING until children start)
    return (job.status if job.status is not Status.RUNNING else Status.UNKNOWN), None


def _array_status(statuses: bytes, original: Status) -> Status:
    """An array's status from its children, as AWS derives a parent's: FAILED once all ended and any failed,
    SUCCEEDED when all did; otherwise the most advanced state any child is in."""
    present = set(statuses)
    if present <= {Status.SUCCEEDED, Status.FAILED}:
        return Status.FAILED if Status.FAILED in present else Status.SUCCEEDED
    for s in _ACTIVE_ORDER:
        if s in present:
            return s
    return original if not original.terminal else Status.UNKNOWN


def _plain_effective(original: Job, retries: list[Job]) -> Job:
    last = retries[-1]
    return dataclasses.replace(
        original, status=last.status, exit_code=last.exit_code, reason=last.reason,
        status_reason=last.status_reason, stopped_at=last.stopped_at,
        attempts=original.attempts + tuple(a for r in retries for a in r.attempts), log_stream=last.log_stream)


def _counts_text(statuses: Sequence[int]) -> str:
    order = (Status.SUCCEEDED, Status.FAILED, Status.RUNNING, Status.STARTING, Status.RUNNABLE, Status.PENDING,
             Status.SUBMITTED, Status.UNKNOWN)
    parts = []
    for s in order:
        n = sum(1 for b in statuses if b == s)
        if n:
            parts.append(f"{n:,} {s.name.lower()}")
    return ", ".join(parts)
