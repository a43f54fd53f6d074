"""Hand-built snapshots for the analysis tests: per-index states written as one letter per index.

The letters and dependency shorthands are tests/letters.py's.
Times are given in minutes before NOW (the snapshot's polled_at).
"""

from __future__ import annotations

from datetime import datetime

from letters import LETTERS, NOW, SEQ, dep, n2n, states  # noqa: F401 - the tests import them from here

from batchtui.model import (
    ArrayState,
    Attempt,
    Dependency,
    IndexDetail,
    Job,
    Snapshot,
    Status,
    build_pipelines,
    ordered_jobs,
)

NOW_MS = int(NOW.timestamp() * 1000)


def ago(minutes: float) -> int:
    """Epoch ms `minutes` before NOW."""
    return NOW_MS - int(minutes * 60_000)


def detail(i: int, started: float | None = None, stopped: float | None = None, exit_code: int | None = None,
           reason: str | None = None, status_reason: str | None = None, attempts: int = 0) -> IndexDetail:
    """started/stopped in minutes ago; `attempts` earlier attempts that failed with exit 1."""
    tries = tuple(Attempt(exit_code=1, reason="Essential container exited", started_at=ago(90), stopped_at=ago(80))
                  for _ in range(attempts))
    return IndexDetail(i, exit_code=exit_code, reason=reason, status_reason=status_reason,
                       started_at=ago(started) if started is not None else None,
                       stopped_at=ago(stopped) if stopped is not None else None, attempts=tries)


def array(job_id: str, text: str | bytes, deps: tuple[Dependency, ...] = (), status: Status | None = None,
          details: list[IndexDetail] | None = None, name: str | None = None, created: float | None = 120,
          started: float | None = None, queue: str | None = "ProdQueue") -> Job:
    st = states(text) if isinstance(text, str) else bytes(text)
    if status is None:
        status = Status.SUCCEEDED if st and st.count(Status.SUCCEEDED) == len(st) else Status.PENDING
    return Job(job_id, name or job_id, status, queue=queue, created_at=ago(created) if created is not None else None,
               started_at=ago(started) if started is not None else None, array_size=len(st), depends_on=tuple(deps),
               array=ArrayState.of(st, {d.index: d for d in details or []}))


def plain(job_id: str, status: Status, deps: tuple[Dependency, ...] = (), name: str | None = None,
          created: float | None = 120, started: float | None = None, stopped: float | None = None,
          exit_code: int | None = None, reason: str | None = None, status_reason: str | None = None,
          attempts: tuple[Attempt, ...] = (), queue: str | None = "ProdQueue") -> Job:
    return Job(job_id, name or job_id, status, queue=queue, created_at=ago(created) if created is not None else None,
               started_at=ago(started) if started is not None else None,
               stopped_at=ago(stopped) if stopped is not None else None, exit_code=exit_code, reason=reason,
               status_reason=status_reason, depends_on=tuple(deps), attempts=attempts)


def snapshot(*jobs: Job, now: datetime = NOW) -> Snapshot:
    pipelines = build_pipelines(jobs)
    return Snapshot("ProdQueue", now, 0, ordered_jobs(pipelines, jobs), pipelines)


def reference(b: str, c: str, d: str = "", a: Status = Status.SUCCEEDED, e: Status = Status.PENDING,
              b_details: list[IndexDetail] | None = None, c_details: list[IndexDetail] | None = None,
              d_details: list[IndexDetail] | None = None) -> Snapshot:
    """The reference pipeline's shape (A → B ⇉ C → D(seq) → E) with the given per-index states."""
    d = d or "p" * 10
    return snapshot(
        plain("A", a, name="JobA", created=200, started=190 if a is not Status.PENDING else None,
              stopped=180 if a.terminal else None),
        array("B", b, (dep("A"),), name="JobB", created=199, details=b_details),
        array("C", c, (n2n("B"),), name="JobC", created=198, details=c_details),
        array("D", d, (dep("C"), SEQ), name="JobD", created=197, details=d_details),
        plain("E", e, (dep("D"),), name="JobE", created=196),
    )
