"""The words of analysis: why a job or index is where it is, in English, and an ETA in words.

Pure, over the facts `analysis.analyze` derived once per snapshot (doom, outlook, throughput, ETA): this module
adds no fact of its own but the chains of causes and the RUNNABLE-queue position an explanation names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import humanize

from .analysis import (  # the facts, and the byte tables and helpers they are computed with
    _T_FAILED,
    _T_NOT_SUCCEEDED,
    _T_OPEN,
    _T_UNSTARTED,
    Analysis,
    Cancelling,
    Eta,
    IndexCancels,
    _and,
    _dt,
    _ended,
    _fit,
    _name,
    _plural,
    _positions,
    _status_name,
    _ups,
    analyze,
    index_cancel,
    index_cancels,
    waiting_on,
)
from .model import DependencyType, IndexDetail, Job, Snapshot, Status

# --- results ----------------------------------------------------------------------------------------------------------

Ref = tuple[str, int | None]  # (job_id, index or None for the whole job)


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a job or index is where it is.

    kind: one of "succeeded", "failed", "will fail", "waiting", "pending" (dependencies met, not RUNNABLE yet),
    "runnable", "running" (STARTING or RUNNING), "unknown" (status not known), "not found".
    waiting_on: what it still waits for, as (job_id, index) – index None for a whole job.
    caused_by: for "failed"/"will fail" because of something upstream: the chain from the nearest cause to the root
    failure, e.g. (("C", 17), ("B", 17)) for a D[17] whose N_TO_N partner C[17] is doomed because B[17] failed.
    """

    kind: str
    summary: str
    status: str
    waiting_on: tuple[Ref, ...] = ()
    caused_by: tuple[Ref, ...] = ()
    exit_code: int | None = None
    reason: str | None = None
    since: datetime | None = None  # RUNNABLE/RUNNING since, only when known
    ahead: int | None = None  # RUNNABLE: how many RUNNABLE jobs/children in the same queue are ahead (FIFO estimate)


def describe_eta(eta: datetime | Eta | None, now: datetime, lower_bound: bool = False) -> str:
    """"about 40 minutes", "more than about 2 hours" (a lower bound), "any moment now", or "unknown"."""
    if isinstance(eta, Eta):
        lower_bound = eta.lower_bound
        eta = eta.at
    if eta is None:
        return "unknown"
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    left = eta - now
    if left <= timedelta(seconds=30):
        return "unknown" if lower_bound else "any moment now"
    text = "about " + humanize.naturaldelta(left)
    return "more than " + text if lower_bound else text


# --- explanations -----------------------------------------------------------------------------------------------------


def _ago(a: Analysis, ms: int) -> str:
    return humanize.naturaldelta(timedelta(milliseconds=max(a.now_ms - ms, 0)))


def _failure_text(exit_code: int | None, reason: str | None, status_reason: str | None) -> str | None:
    parts = []
    if exit_code is not None:
        parts.append(f"exit {exit_code}")
    if reason:
        parts.append(reason)
    elif status_reason and exit_code is not None:
        parts.append(status_reason)
    return " – ".join(parts) if parts else None


def _index_status(a: Analysis, job_id: str, index: int) -> int | None:
    job = a.by_id.get(job_id)
    if job is None or job.array is None or not 0 <= index < len(job.array.statuses):
        return None
    return job.array.statuses[index]


def _index_cause(a: Analysis, job: Job, i: int, seen: frozenset[str] = frozenset()) -> tuple[Ref, ...]:
    """Why index i of `job` can no longer succeed: the chain from the nearest dead thing to the root failure."""
    for u in _ups(a, job, "n_to_n"):
        mask = a.dead_mask.get(u.job_id)
        if mask is not None and i < len(mask) and mask[i] and u.job_id not in seen:
            return _chain(a, u, i, seen | {job.job_id})
    for u in _ups(a, job, "standard"):
        if a.dead.get(u.job_id) and u.job_id not in seen:
            return ((u.job_id, None),) + _job_cause(a, u, seen | {job.job_id})
    if job.sequential and job.job_id in a.dead_mask:
        k = a.dead_mask[job.job_id].find(1)
        if 0 <= k < i:
            return _chain(a, job, k, seen | {job.job_id})
    for u in _ups(a, job, "n_to_n"):  # no per-index state upstream: name the job
        if a.dead.get(u.job_id) and u.job_id not in seen and u.job_id not in a.dead_mask:
            return ((u.job_id, None),) + _job_cause(a, u, seen | {job.job_id})
    return ()


def _chain(a: Analysis, job: Job, i: int, seen: frozenset[str]) -> tuple[Ref, ...]:
    """(job, i) is dead: itself if it FAILED on its own, else it and its cause."""
    st = job.array.statuses[i] if job.array is not None and i < len(job.array.statuses) else None
    rest = () if st == Status.FAILED and _own_failure(job, i) else _index_cause(a, job, i, seen)
    return ((job.job_id, i),) + rest


def _own_failure(job: Job, i: int) -> bool:
    d = job.array.details.get(i) if job.array is not None else None
    return d is not None and (d.exit_code is not None or d.reason is not None or d.started_at is not None)


def _job_cause(a: Analysis, job: Job, seen: frozenset[str]) -> tuple[Ref, ...]:
    """Why a dead job cannot succeed, beyond itself: its first dead child's chain, or its dead upstream."""
    if job.status is Status.FAILED and job.array is None and (job.exit_code is not None or job.started_at):
        return ()
    mask = a.dead_mask.get(job.job_id)
    if mask is not None:
        k = mask.find(1)
        if k >= 0:
            assert job.array is not None  # only arrays have a dead mask
            failed_k = job.array.statuses.find(Status.FAILED)
            if failed_k >= 0 and _own_failure(job, failed_k):
                k = failed_k  # a child that failed by itself is the better root to name
            chain = _chain(a, job, k, seen | {job.job_id})
            return chain
    for u in _ups(a, job, "standard") + _ups(a, job, "n_to_n"):
        if a.dead.get(u.job_id) and u.job_id not in seen:
            return ((u.job_id, None),) + _job_cause(a, u, seen | {job.job_id})
    return ()


def _describe_chain(a: Analysis, chain: tuple[Ref, ...], partner: bool) -> str:
    """'its N_TO_N partner JobB[17] failed', 'JobC will fail (JobB[17] failed)'."""
    first = chain[0]
    root = chain[-1]
    lead = "its N_TO_N partner " if partner else ("dependency " if first[1] is None else "")
    verb = "failed" if _is_failed(a, first) else "will fail"
    text = f"{lead}{_name(a, *first)} {verb}"
    if len(chain) > 1 and root != first:
        text += f" ({_name(a, *root)} {'failed' if _is_failed(a, root) else 'will fail'})"
    return text


def _is_failed(a: Analysis, ref: Ref) -> bool:
    job_id, i = ref
    if i is None:
        job = a.by_id.get(job_id)
        return job is not None and job.status is Status.FAILED
    return _index_status(a, job_id, i) == Status.FAILED


def _cause_text(a: Analysis, job: Job, i: int, chain: tuple[Ref, ...]) -> str:
    first = chain[0]
    if first[0] == job.job_id and first[1] is not None:
        verb = "failed" if _is_failed(a, first) else "will fail"
        text = f"{_name(a, *first)} earlier in the sequence {verb}"
        if len(chain) > 1:
            text += f" ({_describe_chain(a, chain[1:], False)})"
        return text
    partner = first[1] is not None and job.dependency_type(first[0]) == DependencyType.N_TO_N
    return _describe_chain(a, chain, partner)


def _ms_of(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def cancel_who(c: Cancelling) -> str:
    """"terminated by you at 00:52", "cancelled (AWS: isCancelled)"."""
    verb = "terminated" if c.terminate else "cancelled"
    if c.by is None:
        return f"{verb} (AWS: {'isTerminated' if c.terminate else 'isCancelled'})"
    return f"{verb} by {c.by}" + (f" at {c.at.astimezone(UTC).strftime('%H:%M')}" if c.at else "")


def index_cancels_text(snap: Snapshot, ic: IndexCancels) -> str:
    """"12 indices cancelled by you at 00:52", or for a dependent "with JobC (12 indices cancelled by you at …)"."""
    verb = "terminated" if ic.terminate else "cancelled"
    own = f"{_plural(ic.count, 'index', 'indices')} {verb} by {ic.by} at {ic.at.astimezone(UTC).strftime('%H:%M')}"
    if ic.via is None:
        return own
    up = snap.job(ic.via)
    return f"with {up.job_name if up is not None else ic.via} ({own})"


def index_cancels_said(snap: Snapshot, job_id: str) -> str | None:
    """index_cancels_text for the job, when only indices cancelled by hand make it fail; else None."""
    ic = index_cancels(snap, job_id)
    return index_cancels_text(snap, ic) if ic is not None else None


def cancelling_text(snap: Snapshot, job_id: str) -> str | None:
    """"cancelling terminated by you at 00:52 · 877 indices AWS still has to move (PENDING children fail when
    their dependencies finish)", "cancelled with JobC (terminated by you at 00:52)"; None when not cancelled."""
    a = analyze(snap)
    c = a.cancelling.get(job_id)
    return _cancel_text(a, c) if c is not None else None


def _cancel_text(a: Analysis, c: Cancelling) -> str:
    job = a.by_id.get(c.job_id)
    who = f"with {_name(a, c.via)} ({cancel_who(c)})" if c.via else cancel_who(c)
    if c.done or job is None:
        return f"cancelled {who}" if c.via else who
    if job.array is None:
        return f"cancelling {who} · AWS has still to fail it" + (
            f" (once {_name(a, c.via)} finishes)" if c.via else "")
    text = f"cancelling {who} · {_plural(c.left, 'index', 'indices')} AWS still has to move"
    if job.array.count(Status.PENDING) or job.array.count(Status.SUBMITTED):
        text += " (PENDING children fail when their dependencies finish)"
    return text


def _index_cancel_text(a: Analysis, c: Cancelling, st: int) -> str:
    who = f"with {_name(a, c.via)} ({cancel_who(c)})" if c.via else cancel_who(c)
    if st in (Status.STARTING, Status.RUNNING):
        then = "AWS stops it" if c.terminate else "CancelJob does not stop running work: it runs to its end"
    elif st in (Status.SUBMITTED, Status.PENDING, Status.UNKNOWN):
        then = "AWS fails it when its dependencies finish"
    else:
        then = "AWS fails it shortly"
    return f"cancelling {who}: {then}"


def explain_index(snap: Snapshot, job_id: str, index: int) -> Explanation:
    """Why child `index` of array `job_id` is where it is, in one line plus structured fields."""
    a = analyze(snap)
    job = a.by_id.get(job_id)
    if job is None or job.array is None or not 0 <= index < len(job.array.statuses):
        what = f"{_name(a, job_id)} has no index {index} in this snapshot" if job else f"no job {job_id}"
        return Explanation("not found", what, Status.UNKNOWN.name)
    st = job.array.statuses[index]
    status = _status_name(st)
    detail = job.array.details.get(index) or IndexDetail(index)
    me = _name(a, job_id, index)
    if st == Status.SUCCEEDED:
        took = _took(detail.started_at, detail.stopped_at)
        return Explanation("succeeded", f"succeeded{took}", status)
    cancel = index_cancel(snap, job_id, index)
    if cancel is not None and st != Status.FAILED:  # nothing it waited for matters now
        return Explanation("cancelling", _index_cancel_text(a, cancel, st), status)
    if cancel is not None and st == Status.FAILED and job_id not in a.cancelling and cancel.at is not None \
            and not (detail.stopped_at and detail.stopped_at < _ms_of(cancel.at)):  # failed by the cancel
        return Explanation("failed", f"failed: {cancel_who(cancel)}", status, reason=detail.status_reason)
    if st == Status.FAILED:
        return _explain_failed(a, job, index, detail, status)
    if a.doomed_mask.get(job_id, b"")[index:index + 1] == b"\x01":
        chain = _index_cause(a, job, index)
        return Explanation("will fail", f"will fail: {_cause_text(a, job, index, chain)}", status, caused_by=chain)
    if st == Status.RUNNABLE:
        return _explain_runnable(a, job, index, detail)
    if st in (Status.STARTING, Status.RUNNING):
        return _explain_running(a, status, detail.started_at, _ended(detail.attempts))
    waits = _index_waits(a, job, index)
    if waits:
        refs = tuple(r for r, _ in waits)
        return Explanation("waiting", "waiting for " + " and ".join(t for _, t in waits), status, waiting_on=refs)
    if st == Status.UNKNOWN or st > 7:
        return Explanation("unknown", f"{me}: status not known yet", status)
    return Explanation("pending", f"{status}: its dependencies are met; Batch has not made it RUNNABLE yet", status)


def _index_waits(a: Analysis, job: Job, i: int) -> list[tuple[Ref, str]]:
    assert job.array is not None  # an index of an array
    waits: list[tuple[Ref, str]] = []
    for dep in job.depends_on:
        if dep.type == DependencyType.SEQUENTIAL:
            if i > 0 and job.array.statuses[i - 1] != Status.SUCCEEDED:
                prev = _status_name(job.array.statuses[i - 1])
                waits.append(((job.job_id, i - 1), f"{_name(a, job.job_id, i - 1)} ({prev})"))
            continue
        if not dep.job_id or dep.job_id == job.job_id:
            continue
        up = a.by_id.get(dep.job_id)
        if up is None:
            waits.append(((dep.job_id, None), f"{dep.job_id} (not in this snapshot)"))
        elif dep.type == DependencyType.N_TO_N:
            pst = _index_status(a, up.job_id, i)
            if pst != Status.SUCCEEDED:
                text = _status_name(pst) if pst is not None else "status unknown"
                waits.append(((up.job_id, i), f"{_name(a, up.job_id, i)} ({text})"))
        elif up.status is not Status.SUCCEEDED:
            waits.append(((up.job_id, None), _job_progress(a, up)))
    return waits


def _job_progress(a: Analysis, up: Job) -> str:
    """'JobC: 1,204 of 10,000 children not finished' or 'JobA (RUNNING)'."""
    if up.array is not None:
        left = len(up.array.statuses) - up.array.finished()
        return f"{up.job_name}: {left:,} of {len(up.array.statuses):,} children not finished"
    return f"{up.job_name} ({up.status.name})"


def _took(started: int | None, stopped: int | None) -> str:
    if started and stopped and stopped >= started:
        return " in " + humanize.naturaldelta(timedelta(milliseconds=stopped - started))
    return ""


def _explain_failed(a: Analysis, job: Job, i: int, detail: IndexDetail, status: str) -> Explanation:
    own = _failure_text(detail.exit_code, detail.reason, detail.status_reason)
    if own:
        return Explanation("failed", f"failed: {own}", status, exit_code=detail.exit_code, reason=detail.reason)
    chain = () if detail.started_at else _index_cause(a, job, i)
    if chain:
        return Explanation("failed", f"failed: {_cause_text(a, job, i, chain)}", status, caused_by=chain)
    text = detail.status_reason or "no reason known"
    return Explanation("failed", f"failed: {text}", status, reason=detail.status_reason)


def _runnable_since(a: Analysis, job: Job, i: int | None, attempts: tuple) -> int | None:
    """When it became RUNNABLE: when its last dependency finished (or it was created, or its last attempt
    stopped). Known only if every one of those times is known."""
    times = [job.created_at] if job.created_at else []
    if attempts:
        last = attempts[-1].stopped_at
        return last if last else None
    for dep in job.depends_on:
        if dep.type == DependencyType.SEQUENTIAL:
            if i:
                prev = job.array.details.get(i - 1) if job.array else None
                if not (prev and prev.stopped_at):
                    return None
                times.append(prev.stopped_at)
            continue
        up = a.by_id.get(dep.job_id or "")
        if up is None:
            return None
        if dep.type == DependencyType.N_TO_N and i is not None:
            pd = up.array.details.get(i) if up.array else None
            stop = pd.stopped_at if pd else None
        else:
            stop = up.stopped_at
        if not stop:
            return None
        times.append(stop)
    return max(times) if times else None


def _ahead(a: Analysis, job: Job, i: int | None) -> int:
    """RUNNABLE work in the same queue that a FIFO queue would start first: RUNNABLE jobs and children of jobs
    created earlier, plus lower RUNNABLE indices of the same array."""
    queue = job.queue
    created = job.created_at or 0
    n = 0
    for other in a.snap.jobs:
        if other.job_id == job.job_id or (queue and other.queue and other.queue != queue):
            continue
        if (other.created_at or 0) < created:
            n += other.array.count(Status.RUNNABLE) if other.array else int(other.status is Status.RUNNABLE)
    if i is not None and job.array is not None:
        n += job.array.statuses.count(Status.RUNNABLE, 0, i)
    return n


def _explain_runnable(a: Analysis, job: Job, i: int | None, detail: IndexDetail | None) -> Explanation:
    attempts = _ended(detail.attempts if detail is not None else job.attempts)
    since_ms = _runnable_since(a, job, i, attempts)
    ahead = _ahead(a, job, i)
    text = "RUNNABLE"
    if since_ms:
        text += f" for {_ago(a, since_ms)} (since {_dt(since_ms):%H:%M} UTC)"
    text += f", behind {_plural(ahead, 'other')}" if ahead else ", first in line"
    if attempts:
        text += f" (retry after {_plural(len(attempts), 'failed attempt')})"
    return Explanation("runnable", text, Status.RUNNABLE.name, since=_dt(since_ms) if since_ms else None, ahead=ahead)


def _explain_running(a: Analysis, status: str, started: int | None, attempts: tuple) -> Explanation:
    text = status
    if started:
        text += f" for {_ago(a, started)}"
    if attempts:
        last = attempts[-1]
        why = _failure_text(last.exit_code, last.reason, last.status_reason)
        text += f" (attempt {len(attempts) + 1}; last attempt failed" + (f": {why})" if why else ")")
    return Explanation("running", text, status, since=_dt(started) if started else None)


def explain_job(snap: Snapshot, job_id: str) -> Explanation:
    """Why a job (plain, or an array as a whole) is where it is, in one line plus structured fields."""
    a = analyze(snap)
    job = a.by_id.get(job_id)
    if job is None:
        return Explanation("not found", f"no job {job_id} in this snapshot", Status.UNKNOWN.name)
    status = job.status.name
    cancel = a.cancelling.get(job_id)
    if cancel is not None and not job.status.terminal:
        return Explanation("cancelling", _cancel_text(a, cancel), status)
    if cancel is not None and cancel.by is not None and job.status is Status.FAILED:
        return Explanation("failed", f"failed: {_cancel_text(a, cancel)}", status, reason=job.status_reason)
    ic = a.index_cancels.get(job_id)
    if ic is not None and cancel is None and (job.status is Status.FAILED or a.dead[job_id]):
        # Only indices cancelled by hand make it fail: said as the user's act, not as a crash
        kind = "failed" if job.status is Status.FAILED else "will fail"
        return Explanation(kind, f"{kind}: {index_cancels_text(a.snap, ic)}", status)
    if job.status is Status.FAILED and (job.is_cancelled or job.is_terminated):
        # By hand (on an array parent it cascades to every child): the reason someone gave says why.
        word = "cancelled" if job.is_cancelled else "terminated"
        return Explanation("failed", f"failed: {word}" + (f" – {job.status_reason}" if job.status_reason else ""),
                           status, reason=job.status_reason)
    if job.array is not None:
        return _explain_array(a, job)
    if job.status is Status.SUCCEEDED:
        return Explanation("succeeded", f"succeeded{_took(job.started_at, job.stopped_at)}", status)
    if job.status is Status.FAILED:
        own = _failure_text(job.exit_code, job.reason, job.status_reason)
        if own:
            return Explanation("failed", f"failed: {own}", status, exit_code=job.exit_code, reason=job.reason)
        chain = () if job.started_at else _job_upstream_cause(a, job)
        if chain:
            return Explanation("failed", f"failed: {_describe_chain(a, chain, False)}", status, caused_by=chain)
        return Explanation("failed", f"failed: {job.status_reason or 'no reason known'}", status,
                           reason=job.status_reason)
    if a.dead[job_id]:
        chain = _job_upstream_cause(a, job)
        text = _describe_chain(a, chain, False) if chain else "a dependency failed"
        return Explanation("will fail", f"will fail: {text}", status, caused_by=chain)
    if job.status is Status.RUNNABLE:
        return _explain_runnable(a, job, None, None)
    if job.status in (Status.STARTING, Status.RUNNING):
        return _explain_running(a, status, job.started_at, _ended(job.attempts))
    waits = _job_waits(a, job)
    if waits:
        return Explanation("waiting", "waiting for " + " and ".join(t for _, t in waits), status,
                           waiting_on=tuple(r for r, _ in waits))
    if job.status is Status.UNKNOWN:
        return Explanation("unknown", f"{job.job_name}: status not known yet", status)
    return Explanation("pending", f"{status}: its dependencies are met; Batch has not made it RUNNABLE yet", status)


def _job_upstream_cause(a: Analysis, job: Job) -> tuple[Ref, ...]:
    for u in _ups(a, job, "standard") + _ups(a, job, "n_to_n"):
        if a.dead.get(u.job_id):
            return ((u.job_id, None),) + _job_cause(a, u, frozenset({job.job_id}))
    return ()


def _job_waits(a: Analysis, job: Job) -> list[tuple[Ref, str]]:
    waits: list[tuple[Ref, str]] = []
    for up_id in waiting_on(a.snap, job.job_id):
        up = a.by_id.get(up_id)
        if up is None:
            waits.append(((up_id, None), f"{up_id} (not in this snapshot)"))
        elif job.dependency_type(up_id) == DependencyType.N_TO_N and job.array is not None and up.array is not None:
            both = _and(job.array.statuses.translate(_T_UNSTARTED),
                        _fit(up.array.statuses.translate(_T_NOT_SUCCEEDED), len(job.array.statuses)))
            waits.append(((up_id, None), f"{up.job_name} ({_plural(both.count(1), 'child', 'children')} "
                                         f"waiting for their N_TO_N partner)"))
        else:
            waits.append(((up_id, None), _job_progress(a, up)))
    return waits


def _explain_array(a: Analysis, job: Job) -> Explanation:
    assert job.array is not None  # called for arrays only
    st = job.array.statuses
    size = len(st)
    status = job.status.name
    failed = st.count(Status.FAILED)
    doomed = a.doomed_mask.get(job.job_id, b"").count(1)
    first_failed = st.find(Status.FAILED)
    if job.status is Status.SUCCEEDED:
        return Explanation("succeeded", f"succeeded: all {size:,} children"
                                        f"{_took(job.started_at, job.stopped_at)}", status)
    parts = []
    cause: tuple[Ref, ...] = ()
    example = None
    if failed:
        own_k = next((i for i in _positions(st.translate(_T_FAILED)) if _own_failure(job, i)), first_failed)
        example = explain_index(a.snap, job.job_id, own_k)
        why = example.summary.removeprefix("failed: ")
        parts.append(f"{_plural(failed, 'child', 'children')} failed ({_name(a, job.job_id, own_k)}: {why})")
        cause = example.caused_by or ((job.job_id, own_k),)
    if doomed:
        more = f"{doomed:,} more" if failed else _plural(doomed, "unfinished child", "unfinished children")
        parts.append(f"{more} will fail")
    if not failed:
        up_chain = _job_upstream_cause(a, job)
        if up_chain:
            parts.insert(0, _describe_chain(a, up_chain, False))
            cause = up_chain
    if job.status is Status.FAILED or a.dead[job.job_id]:
        kind = "failed" if job.status is Status.FAILED else "will fail"
        text = "; ".join(parts) if parts else (job.status_reason or "no reason known")
        return Explanation(kind, f"{kind}: {text}", status, caused_by=cause,
                           exit_code=example.exit_code if example else None,
                           reason=example.reason if example else None)
    waits = _job_waits(a, job)
    running = st.count(Status.RUNNING) + st.count(Status.STARTING)
    runnable = st.count(Status.RUNNABLE)
    done = size - st.translate(_T_OPEN).count(1)
    progress = f"{done:,} of {size:,} finished, {running:,} running, {runnable:,} RUNNABLE"
    if waits and not (running or runnable or done):
        return Explanation("waiting", "waiting for " + " and ".join(t for _, t in waits), status,
                           waiting_on=tuple(r for r, _ in waits))
    text = progress + ("; waiting for " + " and ".join(t for _, t in waits) if waits else "")
    kind = "running" if running or done else ("runnable" if runnable else "pending")
    if st.count(Status.UNKNOWN) == size:
        kind, text = "unknown", f"{job.job_name}: children not listed yet"
    return Explanation(kind, text, status, waiting_on=tuple(r for r, _ in waits))
