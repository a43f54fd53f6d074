"""What the dashboard shows from `batchtui.analysis`: rate, ETA, outlook and the "why" of a job or index.

A thin guard around the analysis module: a bug or an odd snapshot there must never take the dashboard down, so every
call here returns None (and logs) rather than raising. The UI computes no rate or ETA of its own: an empty slot is
better than a made-up number.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from batchtui.model import Snapshot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobInsight:
    outlook: str | None = None  # succeeded / failed / will fail / at risk / on track
    rate_per_min: float | None = None  # children finishing per minute
    eta: datetime | None = None
    eta_lower_bound: bool = False
    waiting_on: tuple[str, ...] = ()
    doomed: int = 0  # unfinished indices that can no longer succeed
    waiting: str | None = None  # capacity.py's cause for its RUNNABLE work
    waiting_text: str | None = None
    waiting_fix: str | None = None
    at_a_time: int | None = None  # capacity-full: its ETA is in waves of this many ("8 at a time → 6h")
    # A cancelled job (by hand, or through a job it depends on): said instead of a rate, ETA or "waiting".
    cancel: str | None = None  # "cancelling terminated by you at 00:52 · 877 indices AWS still has to move …"
    cancel_who: str | None = None  # "terminated by you at 00:52" (with JobC's, for a dependent: "with JobC")
    cancel_left: int = 0  # work AWS still has to move to FAILED
    # Indices cancelled one by one are the only thing it fails by: "12 indices cancelled by you at 00:52"
    index_cancels: str | None = None

    @property
    def cancelling(self) -> bool:
        """Cancelled, and AWS has not failed all of it yet."""
        return self.cancel is not None and self.cancel_left > 0

    @property
    def stalled(self) -> str | None:
        """A short label when RUNNABLE work cannot move as things are ("no instance fits"), else None; work at a
        full environment whose pace is known moves (`paced`) rather than stalls."""
        return None if self.paced else STALLED.get(self.waiting or "")

    @property
    def paced(self) -> bool:
        return self.waiting == "capacity-full" and bool(self.at_a_time) and self.eta is not None


# Short enough for a graph box (about 20 cells), after a "⊘ ". Not `capacity-full` or `in-line`: such work moves,
# at the pace the environment allows, and its ETA means something.
STALLED = {"no-instance-fits": "no instance fits", "max-vcpus-too-small": "maxvCpus too small",
           "ce-disabled": "CE disabled", "ce-invalid": "CE invalid", "queue-invalid": "queue invalid",
           "service-role": "CE service role", "insufficient-capacity": "no EC2 capacity",
           "blocked-behind": "queue head blocked", "capacity-full": "CE at maxvCpus"}


@dataclass(frozen=True, slots=True)
class Why:
    kind: str
    summary: str


def _analysis():  # imported lazily: the dashboard starts even if analysis is broken
    from batchtui import analysis

    return analysis


def _explain():  # the same
    from batchtui import explain

    return explain


def job_insights(snap: Snapshot) -> dict[str, JobInsight]:
    try:
        an, words = _analysis(), _explain()
        facts = an.job_facts(snap)
        out: dict[str, JobInsight] = {}
        for job in snap.jobs:
            f = facts[job.job_id]
            tp = an.throughput(snap, job.job_id) if job.array is not None else None
            eta = an.job_eta(snap, job.job_id)  # not cleared when stuck, unlike the JSON's eta
            cancel = f.cancel
            via = snap.job(cancel.via) if cancel is not None and cancel.via else None
            out[job.job_id] = JobInsight(
                cancel=words.cancelling_text(snap, job.job_id),
                cancel_who=(f"with {via.job_name}" if via is not None else words.cancel_who(cancel)) if cancel
                else None,
                cancel_left=cancel.left if cancel is not None else 0,
                index_cancels=words.index_cancels_said(snap, job.job_id) if cancel is None else None,
                outlook=f.outlook,
                rate_per_min=tp.per_minute if tp is not None else None,
                eta=eta.at if eta else None,
                eta_lower_bound=bool(eta and eta.lower_bound),
                waiting_on=f.waiting_on,
                doomed=len(f.doomed_indices or ()),
                waiting=f.waiting.cause if f.waiting else None,
                waiting_text=f.waiting.text if f.waiting else None,
                waiting_fix=f.waiting.fix if f.waiting else None,
                at_a_time=f.at_a_time,
            )
        return out
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("analysis failed on this snapshot")
        return {}


def pipeline_eta(snap: Snapshot, index: int) -> tuple[datetime, bool, tuple[str, ...]] | None:
    """(when, only a lower bound?, critical path of job ids) for the index-th pipeline, or None."""
    try:
        pipelines = snap.pipelines
        eta = _analysis().pipeline_eta(snap, pipelines[index]) if index < len(pipelines) else None
        return (eta.at, eta.lower_bound, tuple(eta.critical_path)) if eta else None
    except Exception:  # noqa: BLE001
        log.exception("pipeline ETA failed")
        return None


def describe_eta(at: datetime | None, now: datetime, lower_bound: bool) -> str:
    if at is None:
        return "–"
    seconds = (at - now).total_seconds()
    if seconds <= 30:
        return "unknown" if lower_bound else "any moment"
    from batchtui.ui.format import duration

    return (">" if lower_bound else "") + duration(seconds)


def explain_job(snap: Snapshot, job_id: str) -> Why | None:
    try:
        e = _explain().explain_job(snap, job_id)
        return Why(e.kind, e.summary)
    except Exception:  # noqa: BLE001
        log.exception("explain_job failed")
        return None


def explain_index(snap: Snapshot, job_id: str, index: int) -> Why | None:
    try:
        e = _explain().explain_index(snap, job_id, index)
        return Why(e.kind, e.summary)
    except Exception:  # noqa: BLE001
        log.exception("explain_index failed")
        return None
