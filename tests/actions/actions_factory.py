"""Hand-built snapshots for the action tests: per-index states as one letter per index.

The letters and dependency shorthands are tests/letters.py's.
Jobs carry the describe-only fields a faithful resubmit needs (queue, job definition ARN, overrides, tags...).
"""

from __future__ import annotations

from types import MappingProxyType

from letters import LETTERS, NOW, SEQ, dep, n2n, states  # noqa: F401 - the tests import them from here

from batchtui.model import (
    ArrayState,
    ContainerOverrides,
    Dependency,
    Job,
    Snapshot,
    Status,
    build_pipelines,
    ordered_jobs,
)
from batchtui.shapes import container_overrides

QUEUE = "arn:aws:batch:us-east-1:123456789012:job-queue/ProdQueue"


def jd(name: str) -> str:
    return f"arn:aws:batch:us-east-1:123456789012:job-definition/{name}:3"


def parent_status(st: bytes) -> Status:
    if st and st.count(Status.SUCCEEDED) == len(st):
        return Status.SUCCEEDED
    if all(Status(b).terminal for b in st):
        return Status.FAILED
    return Status.PENDING


def overrides(env: dict[str, str] | None = None, **extra) -> ContainerOverrides | None:
    """A job's containerOverrides, read from its AWS shape (`extra`: the other keys, camelCase)."""
    out = dict(extra)
    if env is not None:
        out["environment"] = [{"name": k, "value": v} for k, v in env.items()]
    return container_overrides(out)


def array(job_id: str, text: str | bytes, deps: tuple[Dependency, ...] = (), status: Status | None = None,
          name: str | None = None, created: int = 1000, **fields) -> Job:
    st = states(text) if isinstance(text, str) else bytes(text)
    fields.setdefault("queue", QUEUE)
    fields.setdefault("job_definition", jd(name or job_id))
    return Job(job_id, name or job_id, status if status is not None else parent_status(st), created_at=created,
               array_size=len(st), depends_on=tuple(deps), array=ArrayState.of(st), **fields)


def plain(job_id: str, status: Status, deps: tuple[Dependency, ...] = (), name: str | None = None,
          created: int = 1000, **fields) -> Job:
    fields.setdefault("queue", QUEUE)
    fields.setdefault("job_definition", jd(name or job_id))
    return Job(job_id, name or job_id, status, created_at=created, depends_on=tuple(deps), **fields)


def snapshot(*jobs: Job) -> Snapshot:
    pipelines = build_pipelines(jobs)
    return Snapshot("ProdQueue", NOW, 0, ordered_jobs(pipelines, jobs), pipelines)


def reference(b: str, c: str, d: str = "", a: Status = Status.SUCCEEDED, e: Status = Status.FAILED,
              **b_fields) -> Snapshot:
    """The reference pipeline's shape (A → B ⇉ C → D(seq) → E) with the given per-index states."""
    d = d or "F" * 10
    return snapshot(
        plain("A", a, name="JobA", created=1),
        array("B", b, (dep("A"),), name="JobB", created=2, **b_fields),
        array("C", c, (n2n("B"),), name="JobC", created=3),
        array("D", d, (dep("C"), SEQ), name="JobD", created=4),
        plain("E", e, (dep("D"),), name="JobE", created=5,
              parameters=MappingProxyType({"Recipient": "ops@example.com"})),
    )
