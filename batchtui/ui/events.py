"""What changed between two snapshots, as feed entries: an index failed, a job finished, the pipeline is done.

Pure (no Textual): the pipeline screen's feed shows these, and the app turns the ones marked `alert` into a toast and
the terminal bell. Many failures in one refresh become one entry grouped by exit code, so a cancelled 10,000-child
array is one line, not 10,000.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from batchtui import analysis, triage
from batchtui.explain import cancel_who, index_cancels_said
from batchtui.lineage import join
from batchtui.model import Cancel, Job, Snapshot, Status
from batchtui.sanitize import printable
from batchtui.ui import format as fmt

LIST_UP_TO = 3  # failures listed one by one up to this many per job and refresh; more are grouped

INFO, GOOD, WARN, BAD = "info", "good", "warn", "bad"


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    level: str  # info / good / warn / bad
    text: str
    alert: bool = False  # worth a toast and the bell
    job_id: str | None = None
    index: int | None = None
    kind: str = "info"  # pipeline / job (or plan) / index / info: toasts go in that order when there are many

    def __post_init__(self) -> None:
        # Events quote reasons AWS returned (anyone with batch:CancelJob writes one): never an escape sequence
        # into the feed or a toast.
        object.__setattr__(self, "text", printable(self.text))


TOAST_ORDER = {"pipeline": 0, "job": 1, "plan": 1, "index": 2, "info": 3}


def diff(prev: Snapshot | None, cur: Snapshot) -> list[Event]:
    """Entries for what `cur` shows that `prev` did not (a first snapshot gets one summary line)."""
    at = cur.polled_at
    if prev is None:
        return [_summary(cur)]
    events: list[Event] = []
    if cur.error and cur.error != prev.error:
        events.append(Event(at, WARN, f"refresh failed: {cur.error} (showing the last good state)"))
    elif prev.error and not cur.error:
        events.append(Event(at, GOOD, "refresh works again: data is current"))
    if cur.error:  # a failed refresh carries the last good jobs: nothing else can have changed
        return events
    if prev.queue != cur.queue:
        return [Event(at, INFO, f"now watching {cur.queue}"), _summary(cur)]
    before = {j.job_id: j for j in prev.jobs}
    for job in cur.jobs:
        old = before.get(job.job_id)
        if old is None:
            events.append(Event(at, INFO, f"new job {job.job_name} ({job.status.name})", job_id=job.job_id))
            continue
        cancel = analysis.cancelling(cur, job.job_id)
        if cancel is None:
            events.extend(_index_failures(old, job, at, _cancelled_indices(cur, job.job_id)))
            events.extend(_job_change(old, job, at, index_cancels_said(cur, job.job_id)))
        else:
            events.extend(_cancel_progress(old, job, at, cancel))
    events.extend(_pipelines_done(prev, cur, at))
    return events


def retries_seen(prev: Snapshot, cur: Snapshot) -> list[Event]:
    """One line per retry that `cur` (as AWS has it) shows and `prev` did not: "JobB: 24 indices retried (JobB-retry)"
    – the retry itself is folded into its original on screen, so this is where it is said."""
    known = set(join(prev).root_of)
    lineage = join(cur)
    events = []
    for retry_id, original_id in lineage.root_of.items():
        repair = lineage.repairs.get(original_id)
        retry = next((r for r in repair.retries if r.job_id == retry_id), None) if repair else None
        if retry_id in known or repair is None or retry is None:
            continue
        what = (f"{len(retry.indices):,} ind{'ex' if len(retry.indices) == 1 else 'ices'}" if retry.indices is not None
                else "the job")
        events.append(Event(cur.polled_at, INFO, f"{repair.original.job_name}: {what} retried ({retry.job_name})",
                            job_id=original_id, kind="job"))
    return events


def cancels_accepted(snap: Snapshot, cancels: tuple[Cancel, ...]) -> list[Event]:
    """The one line a cancel gets once AWS accepted it ("JobC cancelled by you: 877 indices; JobD, JobE with it"):
    the failures it causes after that are its doing, not news – they get no line, toast or bell of their own."""
    events = []
    at = max((c.at for c in cancels), default=snap.polled_at)
    for c in cancels:
        job = snap.job(c.job_id)
        if job is None:
            continue
        what = _cancelled_work(job, c)
        verb = "terminated" if c.terminate and c.indices is not None else "cancelled"
        text = f"{job.job_name} {verb} by {c.by}: {what}"
        if c.indices is None:
            with_it = [j.job_name for j in snap.jobs if (x := analysis.cancelling(snap, j.job_id)) is not None
                       and x.via == c.job_id and not j.status.terminal]
            if with_it:
                text += f"; {', '.join(with_it)} with it (they depend on it)"
        events.append(Event(at, INFO, text, job_id=c.job_id, kind="job"))
    return events


def _cancelled_work(job: Job, c: Cancel) -> str:
    if c.indices is not None:
        n = len(c.indices)
    elif job.array is not None:
        n = job.array.size - job.array.finished()
    else:
        return "the job"
    return f"{n:,} ind{'ex' if n == 1 else 'ices'}"


def _cancelled_indices(snap: Snapshot, job_id: str) -> frozenset[int]:
    """Indices of `job_id` this batchtui cancelled one by one (a whole-job cancel is analysis.cancelling)."""
    return frozenset(i for c in snap.cancels if c.job_id == job_id and c.indices is not None for i in c.indices)


def _cancel_progress(old: Job, job: Job, at: datetime, cancel: analysis.Cancelling) -> list[Event]:
    """A cancelled job's failures are expected: none is an alert. A cancel this batchtui sent was said when it was
    accepted, so only its end is; someone else's cancel (AWS's flags) is said once per refresh that shows more."""
    if old.status is not job.status and job.status.terminal:
        word = "cancel done" if cancel.by is not None else "cancelled"
        return [Event(at, INFO, f"{job.job_name} {word}: AWS reports it {job.status.name} ({cancel_who(cancel)})",
                      job_id=job.job_id, kind="job")]
    new = _newly_failed(old, job)
    if not new or cancel.by is not None or cancel.via is not None:
        return []
    return [Event(at, WARN, f"{job.job_name}: {len(new):,} more indices failed: {cancel_who(cancel)}",
                  job_id=job.job_id, index=new[0], kind="index")]


def _summary(snap: Snapshot) -> Event:
    n, p = len(snap.jobs), len(snap.pipelines)
    failed = sum(j.array.count(Status.FAILED) for j in snap.jobs if j.array is not None)
    failed_jobs = sum(1 for j in snap.jobs if j.status is Status.FAILED)
    text = f"watching {snap.queue}: {n} job{'s' * (n != 1)} in {p} pipeline{'s' * (p != 1)}"
    if failed or failed_jobs:
        text += f"; so far {failed:,} failed ind{'ex' if failed == 1 else 'ices'}, {failed_jobs} failed job" + \
            ("s" * (failed_jobs != 1))
    level = BAD if failed or failed_jobs else INFO
    return Event(snap.polled_at, level, text)


def failure_text(exit_code: int | None, reason: str | None, status_reason: str | None) -> str:
    parts = []
    if exit_code is not None:
        parts.append(f"exit {exit_code}")
    if reason or status_reason:
        parts.append(reason or status_reason or "")
    return " · ".join(parts) if parts else "no reason given"


def _newly_failed(old: Job, job: Job) -> list[int]:
    if job.array is None:
        return []
    cur = job.array.statuses
    prev = old.array.statuses if old.array is not None else b""
    if cur == prev:
        return []
    out, i = [], cur.find(Status.FAILED)
    while i >= 0:
        if i >= len(prev) or prev[i] != Status.FAILED:
            out.append(i)
        i = cur.find(Status.FAILED, i + 1)
    return out


def _index_failures(old: Job, job: Job, at: datetime, cancelled: frozenset[int] = frozenset()) -> list[Event]:
    """New failures, spoken of by cause (triage.py): "JobC: 86 oom (exit 137), 212 dependency". A failure that only
    follows an upstream one is a warning, never an alert: it is not a crash of its own. Indices batchtui cancelled
    (`cancelled`) were said when the cancel was accepted."""
    new = [i for i in _newly_failed(old, job) if i not in cancelled]
    if not new or job.array is None:
        return []
    fresh = set(new)
    causes = {f.index: (triage.classify(f), f) for f in triage.failures(job) if f.index in fresh}
    if len(new) <= LIST_UP_TO:
        out = []
        for i in new:
            cause, f = causes.get(i, (triage.DEPENDENCY, None))
            if cause == triage.DEPENDENCY:
                out.append(Event(at, WARN, f"{job.job_name}[{i}] failed: what it depends on failed (dependency)",
                                 job_id=job.job_id, index=i, kind="index"))
                continue
            why = failure_text(f.exit_code, f.reason, f.status_reason) if f else "no reason known yet"
            out.append(Event(at, BAD, f"{job.job_name}[{i}] failed ({cause}): {why}", alert=True, job_id=job.job_id,
                             index=i, kind="index"))
        return out
    counts = Counter(cause for cause, _ in causes.values())
    codes = {c: Counter(f.exit_code for cause, f in causes.values() if cause == c) for c in counts}
    parts = []
    for cause, n in counts.most_common():
        code, k = codes[cause].most_common(1)[0]
        parts.append(f"{n:,} {cause}" + (f" (exit {code})" if code is not None and k == n else ""))
    own = any(c != triage.DEPENDENCY for c in counts)
    sample = ", ".join(str(i) for i in new[:5]) + ("…" if len(new) > 5 else "")
    return [Event(at, BAD if own else WARN, f"{job.job_name}: {len(new):,} more indices failed: {', '.join(parts)}; "
                  f"e.g. [{sample}]", alert=own, job_id=job.job_id, index=new[0], kind="index")]


def _job_change(old: Job, job: Job, at: datetime, by_cancels: str | None = None) -> list[Event]:
    """A job's new status; `by_cancels`: only indices cancelled by hand made it fail (the user's act: no alert)."""
    out: list[Event] = []
    if job.gone and not old.gone:
        out.append(Event(at, WARN, f"{job.job_name} is no longer returned by AWS (retention): last state kept",
                         job_id=job.job_id))
    if old.status is job.status:
        return out
    name = job.job_name
    took = ""
    if job.started_at and job.stopped_at:
        took = f" in {fmt.duration((job.stopped_at - job.started_at) / 1000)}"
    if job.status is Status.FAILED and by_cancels is not None:
        out.append(Event(at, INFO, f"{name} FAILED{took}: {by_cancels}", job_id=job.job_id, kind="job"))
    elif job.status is Status.FAILED:
        if job.array is not None:
            n = job.array.count(Status.FAILED)
            why = f"{n:,} of {job.array.size:,} indices failed"
        else:
            why = failure_text(job.exit_code, job.reason, job.status_reason)
        out.append(Event(at, BAD, f"{name} FAILED{took}: {why}", alert=True, job_id=job.job_id, kind="job"))
    elif job.status is Status.SUCCEEDED:
        out.append(Event(at, GOOD, f"{name} SUCCEEDED{took}", job_id=job.job_id))
    elif job.status is Status.RUNNING or (job.array is not None and job.status is Status.PENDING
                                          and old.status is Status.SUBMITTED):
        out.append(Event(at, INFO, f"{name} started ({job.status.name})", job_id=job.job_id))
    return out


def _pipelines_done(prev: Snapshot, cur: Snapshot, at: datetime) -> list[Event]:
    out = []
    before = {j.job_id: j for j in prev.jobs}
    by_id = {j.job_id: j for j in cur.jobs}
    for p in cur.pipelines:
        jobs = [by_id[i] for i in p.job_ids if i in by_id]
        if len(jobs) < 2 or not all(j.status.terminal for j in jobs):
            continue  # one-job "pipelines" already got their job event
        if all(before.get(j.job_id) and before[j.job_id].status.terminal for j in jobs):
            continue
        names = " → ".join(j.job_name for j in jobs)
        cancelled = [j.job_name for j in jobs if j.status is Status.FAILED and (
            analysis.cancelling(cur, j.job_id) or analysis.index_cancels(cur, j.job_id))]
        failed = [j.job_name for j in jobs if j.status is Status.FAILED and j.job_name not in cancelled]
        if cancelled and not failed:  # what someone meant to happen: no toast, no bell
            why = next((f"{j.job_name}: {index_cancels_said(cur, j.job_id)}" for j in jobs
                        if (ic := analysis.index_cancels(cur, j.job_id)) is not None and ic.via is None), None)
            out.append(Event(at, INFO, f"pipeline {names} ended: cancelled ({', '.join(cancelled)}"
                                       f"{'; ' + why if why else ''})", kind="pipeline"))
        elif failed:
            out.append(Event(at, BAD, f"pipeline {names} finished with failures ({', '.join(failed)})", alert=True,
                             kind="pipeline"))
        else:
            out.append(Event(at, GOOD, f"pipeline {names} finished: every job SUCCEEDED", alert=True,
                             kind="pipeline"))
    return out
