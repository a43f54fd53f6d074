"""What this machine sent that AWS cannot be asked for cheaply, for the poller's composition roots (headless.py and
ui/source.py): the jobs its retries made – in the audit log and the waiting plans – for the poller to follow by id
(a retry sent to another queue is in no listing of the watched one, and ListJobs gives no tags to find it by), and
the cancels AWS accepted, with who sent them and when (after a restart AWS's flags say only *that* a job was
cancelled). Read at start for the --since window, then only what changed, at every refresh."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from batchtui import audit, waitplans
from batchtui.model import Cancel, Snapshot


@dataclass(frozen=True, slots=True)
class Sent:
    job_ids: tuple[str, ...]  # jobs this machine's SubmitJobs made within the window (retries, waiting steps)
    cancels: tuple[Cancel, ...]  # cancels AWS accepted within the window, oldest first


class LocalHistory:
    """The audit log (audit.HistoryReader: the window, then what was appended) and the plan files' submitted steps
    (read again only when the plans directory changed: a plan is saved by renaming a new file over it)."""

    def __init__(self, since_s: float, *, endpoint: str | None, region: str | None, audit_file: Path | None = None,
                 plans: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self._audit = audit.HistoryReader(audit_file, since_s=since_s, endpoint=endpoint, region=region, clock=clock)
        self._plans = plans
        self._since_s = since_s
        self._clock = clock
        self._plans_seen: float | None = None
        self._plan_ids: tuple[str, ...] = ()

    def read(self) -> Sent:
        history = self._audit.read()
        return Sent(tuple(dict.fromkeys((*history.job_ids, *self._plan_jobs()))), history.cancels)

    def _plan_jobs(self) -> tuple[str, ...]:
        directory = self._plans or waitplans.plans_dir()
        try:
            changed = directory.stat().st_mtime
        except OSError:
            return ()
        if changed != self._plans_seen:
            self._plans_seen = changed
            self._plan_ids = waitplans.submitted_ids(directory, since=self._clock() - self._since_s)
        return self._plan_ids


def with_cancels(snap: Snapshot, cancels: Iterable[Cancel]) -> Snapshot:
    """The snapshot with these cancels beside its own (each once: the live record, sent from this process, and the
    audit log's of the same call say the same thing)."""
    merged = merge_cancels(snap.cancels, cancels)
    return snap if merged == snap.cancels else dataclasses.replace(snap, cancels=merged)


def merge_cancels(first: Iterable[Cancel], then: Iterable[Cancel]) -> tuple[Cancel, ...]:
    out: dict[tuple, Cancel] = {}
    for c in (*first, *then):
        out.setdefault((c.job_id, c.indices, c.terminate), c)
    return tuple(sorted(out.values(), key=lambda c: c.at))
