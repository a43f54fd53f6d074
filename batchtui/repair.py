"""A failure group's repair as the inputs of a retry plan (pure): what to select, whether downstream comes along,
what changes – the Failures view's `R` opens the usual plan window with these, for a person to check and send.

    r = repair_of(snap, job_id, group)   # Repair(selections=[Selection("C", {1, 4})], changes=memory ×1.5, …)
    plan = plan_retry(raw, r.selections, downstream=r.downstream, changes=r.changes, worlds=…)

The repairs (triage.REPAIRS): an OOM is retried with memory ×1.5; a timeout with twice its attempt timeout; a spot
reclaim or a failed start as it was; a dependency failure by retrying what failed upstream, with its downstream; an
application error is retried only if the person insists (the plan says it will fail again until the code is fixed);
cancelled work as it was, if someone wants it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from batchtui.model import Job, Snapshot, Status
from batchtui.overrides import Memory, Overrides
from batchtui.plan import Selection
from batchtui.triage import FailureGroup, groups_of

MORE_MEMORY = 1.5
LONGER_TIMEOUT = 2


@dataclass(frozen=True)
class Repair:
    selections: tuple[Selection, ...]
    downstream: bool = False
    changes: Overrides = Overrides()
    warning: str | None = None  # said above the plan: why this retry may not help


def repair_of(snap: Snapshot, job_id: str, group: FailureGroup) -> Repair | None:
    """None when there is nothing a retry could repair (the job is gone, no upstream failed)."""
    job = snap.job(job_id)
    if job is None:
        return None
    own = (Selection(job_id, frozenset(group.indices) if job.is_array and group.indices else None),)
    if group.repair == "retry-upstream":
        ups = tuple(Selection(u.job_id) for u in _failed_upstreams(snap, job))
        return Repair(ups, downstream=True) if ups else None
    if group.repair == "retry-more-memory":
        return Repair(own, changes=Overrides(memory=Memory(factor=MORE_MEMORY)))
    if group.repair == "retry-longer-timeout":
        limit = job.timeout.attempt_duration_s if job.timeout else None
        changes = Overrides(timeout_s=limit * LONGER_TIMEOUT) if limit is not None and limit > 0 else Overrides()
        return Repair(own, changes=changes)
    if group.repair == "fix-first":
        return Repair(own, warning=f"{group.label}: the job's own code failed; retrying the same code fails again "
                                   "– fix it first, unless the cause was outside it")
    return Repair(own)


def _failed_upstreams(snap: Snapshot, job: Job) -> list[Job]:
    """The jobs this one depends on (transitively, through ones that failed only by dependency) that failed on
    their own: where a retry with downstream starts."""
    out: list[Job] = []
    seen: set[str] = set()
    todo = [d.job_id for d in job.depends_on if d.job_id]
    while todo:
        up = snap.job(todo.pop(0).split(":", 1)[0])
        if up is None or up.job_id in seen:
            continue
        seen.add(up.job_id)
        groups = groups_of(up)
        if any(g.cause != "dependency" for g in groups) or (not groups and up.status is Status.FAILED):
            out.append(up)
        elif groups:
            todo.extend(d.job_id for d in up.depends_on if d.job_id)
    return out
