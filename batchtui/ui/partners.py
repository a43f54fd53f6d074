"""Who an index waits for and who waits for it (pure): N_TO_N partners, SEQUENTIAL neighbours, whole-job edges."""

from __future__ import annotations

from dataclasses import dataclass

from batchtui.model import DependencyType, Job, Snapshot, Status


@dataclass(frozen=True, slots=True)
class Partner:
    job_id: str
    name: str  # "JobB[17]" or "JobA"
    index: int | None  # None: the whole job
    status: Status
    relation: str  # "N:N", "sequential", "whole job"


def _status_of(job: Job, index: int | None) -> Status:
    if index is None or job.array is None:
        return job.status
    return job.array.status(index) if 0 <= index < job.array.size else Status.UNKNOWN


def _partner(job: Job, index: int | None, relation: str) -> Partner:
    name = f"{job.job_name}[{index}]" if index is not None else job.job_name
    return Partner(job.job_id, name, index, _status_of(job, index), relation)


def upstream(snap: Snapshot, job: Job, index: int | None) -> list[Partner]:
    out: list[Partner] = []
    for dep in job.depends_on:
        if dep.type == DependencyType.SEQUENTIAL and not dep.job_id:
            if index is not None and index > 0:
                out.append(_partner(job, index - 1, "sequential"))
            continue
        up = snap.job(dep.job_id) if dep.job_id else None
        if up is None:
            continue
        if dep.type == DependencyType.N_TO_N and index is not None and up.is_array:
            out.append(_partner(up, index, "N:N"))
        else:
            out.append(_partner(up, None, "whole job"))
    return out


def downstream(snap: Snapshot, job: Job, index: int | None) -> list[Partner]:
    out: list[Partner] = []
    if index is not None and job.sequential and job.array is not None and index + 1 < job.array.size:
        out.append(_partner(job, index + 1, "sequential"))
    for down in snap.downstream_of(job.job_id):
        if down.dependency_type(job.job_id) == DependencyType.N_TO_N and index is not None and down.is_array:
            out.append(_partner(down, index, "N:N"))
        else:
            out.append(_partner(down, None, "whole job"))
    return out
