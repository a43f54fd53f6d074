"""The facts of a pipeline: what will fail (doom), each job's outlook, throughput and when it will finish (ETA).

Pure functions over a `model.Snapshot`: no I/O, no Textual, no asyncio. Everything is computed once per snapshot by
`analyze(snap)` (the last result is cached, so the UI can ask about many indices of the same snapshot cheaply); the
public functions below read from that, `job_facts` gives them typed, one record per job, `job_reports` with failure
groups and retries (what headless text reads), and `job_fields` as the headless JSON. The words – why a job or index
waits or failed, an ETA in English – are in explain.py.

Performance: per-index state is a `bytes` of Status values. Masks are computed with `bytes.translate` (one C pass),
combined as big integers (`int.from_bytes`), counted with `bytes.count` and turned into index lists with
`itertools.compress`: no Python object per index. Only the sparse `IndexDetail`s are looped over in Python (for times).

Outlook, in words the README can quote: see `OUTLOOK_DEFINITIONS` (and the constants below).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import compress

import humanize

from . import lineage
from .capacity import Waiting, diagnose_all
from .lineage import Repair
from .model import (
    Attempt,
    Cancel,
    DependencyType,
    IndexDetail,
    Job,
    Pipeline,
    Snapshot,
    Status,
    topological_order,
)
from .triage import FailureGroup, groups_of

# --- outlook --------------------------------------------------------------------------------------------------------

# The outlook of a job. OUTLOOK_DEFINITIONS below is the one source of their meaning (README: definitions_markdown()).
SUCCEEDED = "succeeded"
FAILED = "failed"
WILL_FAIL = "will fail"
AT_RISK = "at risk"
ON_TRACK = "on track"
CANCELLED = "cancelled"

OUTLOOK_DEFINITIONS: dict[str, str] = {
    SUCCEEDED: "The job has SUCCEEDED (for an array job: AWS reports the parent SUCCEEDED, i.e. every child did).",
    FAILED: "The job has FAILED (for an array job: AWS reports the parent FAILED).",
    WILL_FAIL: (
        "The job has not finished but can no longer succeed. Either it is an array with a FAILED child, or with a "
        "child that is doomed (its N_TO_N partner failed or is doomed, or an earlier index of its SEQUENTIAL array "
        "failed or is doomed, or you cancelled that index on its own); or it depends, directly or through other "
        "jobs, on a job that failed or will fail. Batch fails such a job by itself once the job it waits for has "
        "finished; it must be resubmitted. When only indices you cancelled make it fail, it says so (\"will fail: "
        "12 indices cancelled by you at 00:52\", \"with JobC (…)\" for what depends on it)."
    ),
    AT_RISK: (
        "The job can still succeed, but something on its path has already gone wrong once: the job or one of its "
        "children is being retried after a failed attempt; or one of its children has been RUNNING for more than 3 "
        "times the median run time of its siblings that succeeded (once at least 5 have); or a job it depends on, "
        "directly or through other jobs, is at risk."
    ),
    ON_TRACK: "The job has not finished and nothing known is wrong: it is neither `will fail` nor `at risk`.",
    CANCELLED: (
        "Someone cancelled or terminated the job (AWS marks it isCancelled or isTerminated, or batchtui sent the "
        "cancel and AWS accepted it), or a job it depends on, directly or through other jobs: it did not succeed, "
        "on purpose, and it is no crash. Until AWS reports it finished it is *cancelling*: its PENDING children "
        "fail only once their dependencies finish. It has no ETA."
    ),
}



def definitions_markdown() -> str:
    """The outlook definitions as a Markdown list, for the README and `--help` texts."""
    return "\n".join(f"- `{name}`: {text}" for name, text in OUTLOOK_DEFINITIONS.items())


# A child running this many times longer than its succeeded siblings' median makes its job `at risk`.
STRAGGLER_FACTOR = 3.0
STRAGGLER_MIN_SAMPLES = 5
# Throughput is measured over the finishes of this recent window when it holds enough of them.
THROUGHPUT_WINDOW_S = 600.0
THROUGHPUT_MIN_SAMPLES = 5
THROUGHPUT_COVERAGE = 0.9  # share of finished children whose stoppedAt must be known to trust the window

# --- byte tables over Status values (values 8..255 are bad data: treated like UNKNOWN) -------------------------------


def _table(ones: Iterable[int]) -> bytes:
    wanted = set(ones)
    return bytes(1 if b in wanted else 0 for b in range(256))


_T_FAILED = _table([Status.FAILED])
_T_OPEN = _table(b for b in range(256) if b not in (Status.SUCCEEDED, Status.FAILED))  # not finished
# Not started: still waiting for dependencies (or not seen yet). RUNNABLE means its dependencies are met.
_T_UNSTARTED = _table(b for b in range(256) if b not in (2, 3, 4, 5, 6))
_T_NOT_SUCCEEDED = _table(b for b in range(256) if b != Status.SUCCEEDED)
_TERMINAL = (int(Status.SUCCEEDED), int(Status.FAILED))
_T_NOT = _table([0])  # a mask's complement


def _or(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") | int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _and(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")


def _fit(mask: bytes, size: int) -> bytes:
    """An upstream's mask aligned to a dependent of another size (N_TO_N requires equal sizes; bad data must not)."""
    return mask[:size] + bytes(size - len(mask)) if len(mask) < size else mask[:size]


def _positions(mask: bytes) -> list[int]:
    return list(compress(range(len(mask)), mask))


def _status_name(value: int) -> str:
    return Status(value).name if 0 <= value <= 7 else Status.UNKNOWN.name


# --- results ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IndexCancels:
    """Indices of an array that this batchtui cancelled one by one (the job itself was not): the array will end
    FAILED, and its dependents with it – the user's act, not a crash. Recorded for a job only when every failure
    it has or will have comes from such cancels (its own indices, or an upstream's: `via`)."""

    job_id: str
    count: int  # indices cancelled (of the job itself, or of `via`)
    by: str
    at: datetime
    terminate: bool
    via: str | None = None  # a dependent: the array whose cancelled indices it fails with

    def to_json(self) -> dict[str, object]:
        return {"count": self.count, "by": self.by, "at": _iso(self.at), "terminate": self.terminate, "via": self.via}


@dataclass(frozen=True, slots=True)
class Cancelling:
    """A job cancelled by hand, or through a job it depends on: what the screens say instead of a rate and ETA
    (the words are explain.cancel_text)."""

    job_id: str
    by: str | None  # "you" (this batchtui sent it); None when only AWS's isCancelled/isTerminated say so
    at: datetime | None  # when AWS accepted the cancel, when batchtui knows
    terminate: bool
    left: int  # children (1 for a plain job) AWS still has to move to FAILED
    via: str | None = None  # the cancelled job it depends on; None when it was cancelled itself

    @property
    def done(self) -> bool:
        return self.left == 0

    def to_json(self) -> dict[str, object]:
        return {"by": self.by, "at": _iso(self.at) if self.at else None, "terminate": self.terminate,
                "remaining": self.left, "via": self.via}


@dataclass(frozen=True, slots=True)
class Throughput:
    """Children of an array finishing per minute.

    basis, in the order tried:
    "recent" – finishes seen in the last `window_s` seconds before the snapshot (or since the array started, if that
    is shorter); used when at least 5 fall in the window and a finish time is known for ≥ 90 % of finished children;
    "concurrency" – children running now divided by the median run time of one child (Little's law; `samples` is
    the number running, `window_s` the median run time);
    "average" – all finished children over the time since the array started (its startedAt or its earliest known
    child start);
    "observed" – the spread of the finish times known, when nothing better is.
    """

    per_minute: float
    basis: str
    samples: int
    window_s: float


@dataclass(frozen=True, slots=True)
class Eta:
    """When a job (or pipeline) is expected to finish. `lower_bound`: it will not finish before `at`, but how much
    later is unknown (e.g. a job not started yet whose own run time nobody has observed)."""

    at: datetime
    lower_bound: bool = False
    critical_path: tuple[str, ...] = ()  # pipelines: the chain of jobs that sets the time, root first


@dataclass(slots=True)
class Analysis:
    """Everything derived from one snapshot (internal; use the functions below)."""

    snap: Snapshot
    now_ms: int
    by_id: dict[str, Job]
    order: list[str]
    dead_mask: dict[str, bytes] = field(default_factory=dict)  # arrays: 1 = FAILED or doomed
    doomed_mask: dict[str, bytes] = field(default_factory=dict)  # arrays: 1 = not finished and doomed
    dead: dict[str, bool] = field(default_factory=dict)  # can no longer succeed (FAILED included)
    risk: dict[str, str | None] = field(default_factory=dict)  # why at risk, None if not
    outlook: dict[str, str] = field(default_factory=dict)
    throughput: dict[str, Throughput | None] = field(default_factory=dict)
    duration_s: dict[str, float | None] = field(default_factory=dict)  # median run time of one child
    finish: dict[str, tuple[int, bool] | None] = field(default_factory=dict)  # (epoch ms, lower_bound)
    binding: dict[str, str | None] = field(default_factory=dict)  # the upstream with the latest finish
    at_a_time: dict[str, int] = field(default_factory=dict)  # capacity-full arrays: children the environment holds
    cancelling: dict[str, Cancelling] = field(default_factory=dict)  # jobs cancelled, or through an upstream
    index_cancels: dict[str, IndexCancels] = field(default_factory=dict)  # failing only by indices cancelled


# --- the analysis -----------------------------------------------------------------------------------------------------

_cache: tuple[Snapshot, Analysis] | None = None


def analyze(snap: Snapshot) -> Analysis:
    """Derive everything once per snapshot; the last one is cached (snapshots are immutable)."""
    global _cache
    cached = _cache
    if cached is not None and cached[0] is snap:
        return cached[1]
    a = _analyze(snap)
    _cache = (snap, a)
    return a


def _analyze(snap: Snapshot) -> Analysis:
    by_id = {j.job_id: j for j in snap.jobs}
    a = Analysis(snap, _ms(snap.polled_at), by_id, _topo_order(snap.jobs, by_id))
    a.at_a_time = _capacity_bound(snap)
    for job_id in a.order:
        _doom(a, by_id[job_id])
    for job_id in a.order:
        job = by_id[job_id]
        _cancel(a, job)
        a.duration_s[job_id] = _median_duration(job)
        # A job being cancelled has no pace worth showing: what moves now is AWS failing its work.
        a.throughput[job_id] = (None if job_id in a.cancelling
                                else _throughput(job, a.now_ms, a.duration_s[job_id]))
        a.risk[job_id] = _risk(a, job)
        a.outlook[job_id] = _outlook(a, job)
        _estimate(a, job)
    return a


def _capacity_bound(snap: Snapshot) -> dict[str, int]:
    """Arrays whose RUNNABLE children wait for a full environment, and how many of them it runs at once."""
    if snap.capacity is None and not snap.worlds:
        return {}
    return {jid: w.at_a_time for jid, w in diagnose_all(snap).items()
            if w.cause == "capacity-full" and w.at_a_time}


def _ms(t: datetime) -> int:
    if t.tzinfo is None:  # the model promises aware UTC; be lenient with hand-made snapshots
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _topo_order(jobs: Iterable[Job], by_id: Mapping[str, Job]) -> list[str]:
    """Upstreams before downstreams; dependencies outside the snapshot are ignored; a cycle (bad data) is broken."""
    return topological_order((j.job_id for j in jobs), lambda job_id: by_id[job_id].upstream_ids)


def _ups(a: Analysis, job: Job, kind: str) -> list[Job]:
    """Upstream jobs present in the snapshot, kind "n_to_n" or "standard" (any other type with a jobId counts as
    standard: waiting for the whole job is the safe reading)."""
    n_to_n = kind == "n_to_n"
    return [a.by_id[d.job_id] for d in job.depends_on
            if d.job_id in a.by_id and d.job_id != job.job_id and (d.type == DependencyType.N_TO_N) == n_to_n]


def _doom(a: Analysis, job: Job) -> None:
    """Which indices (and whether the job) can no longer succeed. Called upstream-first."""
    std_dead = any(a.dead.get(u.job_id, False) for u in _ups(a, job, "standard"))
    ntn = _ups(a, job, "n_to_n")
    state = job.array
    if state is None:
        # No per-index state: only job-level propagation (any kind of edge: an N_TO_N dependent of a failing
        # array has a failing child, so it fails too).
        a.dead[job.job_id] = job.status is Status.FAILED or (
            job.status is not Status.SUCCEEDED and (std_dead or any(a.dead.get(u.job_id, False) for u in ntn))
        )
        dead_ups = [u for u in _ups(a, job, "standard") + ntn if a.dead.get(u.job_id, False)]
        via = next((u for u in dead_ups if u.job_id in a.index_cancels), None)
        # only through upstreams that fail by cancelled indices, and not by a run of its own
        if a.dead[job.job_id] and via is not None and all(u.job_id in a.index_cancels for u in dead_ups) \
                and not job.started_at:
            a.index_cancels[job.job_id] = _through(a.index_cancels[via.job_id], job.job_id, via.job_id)
        return
    st = state.statuses
    n = len(st)
    failed = st.translate(_T_FAILED)
    open_ = st.translate(_T_OPEN)
    mine = _cancelled_mask(a.snap.cancels, job, n)  # what this batchtui cancelled index by index fails too
    prop = _or(b"\x01" * n if std_dead else bytes(n), _and(mine, open_))
    ntn_unknown_dead = False
    for u in ntn:
        if u.job_id in a.dead_mask:
            prop = _or(prop, _fit(a.dead_mask[u.job_id], n))
        elif a.dead.get(u.job_id, False):
            ntn_unknown_dead = True  # which partners are dead is not known: the job fails, no index is named
    if job.sequential:
        k = _or(failed, _and(prop, open_)).find(1)
        if k >= 0:
            prop = _or(prop, bytes(k + 1) + b"\x01" * (n - k - 1))
    doomed = _and(prop, open_)
    dead = _or(failed, doomed)
    a.doomed_mask[job.job_id] = doomed
    a.dead_mask[job.job_id] = dead
    a.dead[job.job_id] = job.status is Status.FAILED or (
        job.status is not Status.SUCCEEDED and (std_dead or ntn_unknown_dead or dead.find(1) >= 0)
    )
    if a.dead[job.job_id]:
        _by_index_cancels(a, job, mine, dead, std_dead, ntn_unknown_dead)


def _cancelled_mask(cancels: Iterable[Cancel], job: Job, n: int) -> bytes:
    """1 where this batchtui cancelled the index on its own (not the whole job): AWS fails it (a CancelJob on
    running work lets it run on, but planning sends TerminateJobs for those)."""
    out = bytearray(n)
    for c in cancels:
        if c.job_id == job.job_id and c.indices is not None:
            for i in c.indices:
                if 0 <= i < n:
                    out[i] = 1
    return bytes(out)


def _by_index_cancels(a: Analysis, job: Job, mine: bytes, dead: bytes, std_dead: bool, ntn_unknown: bool) -> None:
    """Record the job in `a.index_cancels` when what fails in it is only indices cancelled by hand: its own
    (`mine`), or the partners of an upstream's (an N_TO_N upstream or a standard one recorded there itself)."""
    ups = _ups(a, job, "standard") + _ups(a, job, "n_to_n")
    dead_ups = [u for u in ups if a.dead.get(u.job_id, False)]
    if ntn_unknown or any(u.job_id not in a.index_cancels for u in dead_ups):
        return  # something else fails too: the ordinary words
    n = len(dead)
    explained = mine
    for u in _ups(a, job, "n_to_n"):
        if u.job_id in a.dead_mask:
            explained = _or(explained, _fit(a.dead_mask[u.job_id], n))
    if std_dead:
        explained = b"\x01" * n
    if job.sequential:  # a cancelled index stops the rest of the sequence: they fail with it
        k = dead.find(1)
        if k >= 0 and explained[k]:
            explained = _or(explained, bytes(k) + b"\x01" * (n - k))
    if _and(dead, explained.translate(_T_NOT)).find(1) >= 0:
        return  # a failure that is not a cancel's
    own = [c for c in a.snap.cancels if c.job_id == job.job_id and c.indices is not None]
    if own:
        last = own[-1]
        a.index_cancels[job.job_id] = IndexCancels(job.job_id, mine.count(1), last.by, last.at,
                                                   any(c.terminate for c in own))
    elif dead_ups:
        via = dead_ups[0]
        a.index_cancels[job.job_id] = _through(a.index_cancels[via.job_id], job.job_id, via.job_id)


def _through(up: IndexCancels, job_id: str, up_id: str) -> IndexCancels:
    return IndexCancels(job_id, up.count, up.by, up.at, up.terminate, up.via or up_id)


def _open_work(job: Job) -> int:
    """Children (1 for a plain job) not finished yet."""
    if job.array is not None:
        return job.array.statuses.translate(_T_OPEN).count(1)
    return 0 if job.status.terminal else 1


def _cancel(a: Analysis, job: Job) -> None:
    """Whether the whole job was cancelled – by this batchtui (snap.cancels), as AWS's flags say, or through an
    upstream that was. Called upstream-first. Index cancels are not the job's: it will end FAILED, outlook `will
    fail` (its cancelled indices are doomed), and `index_cancels` says why (see _by_index_cancels)."""
    if job.status is Status.SUCCEEDED:
        return
    mine = next((c for c in reversed(a.snap.cancels) if c.job_id == job.job_id and c.indices is None), None)
    if mine is not None:
        a.cancelling[job.job_id] = Cancelling(job.job_id, mine.by, mine.at, mine.terminate, _open_work(job))
    elif job.is_cancelled or job.is_terminated:
        a.cancelling[job.job_id] = Cancelling(job.job_id, None, None, job.is_terminated, _open_work(job))
    else:
        up = next((u for u in _ups(a, job, "standard") + _ups(a, job, "n_to_n") if u.job_id in a.cancelling), None)
        if up is not None:
            c = a.cancelling[up.job_id]
            a.cancelling[job.job_id] = Cancelling(job.job_id, c.by, c.at, c.terminate, _open_work(job),
                                                  c.via or up.job_id)


def _finished_details(job: Job) -> Iterable[tuple[int, IndexDetail]]:
    st = job.array.statuses if job.array else b""
    n = len(st)
    for i, d in job.array.details.items() if job.array else ():
        if 0 <= i < n and st[i] in _TERMINAL:
            yield i, d


def _median_duration(job: Job) -> float | None:
    """Median run time (s) of one child that succeeded (else of any finished one); plain jobs: earlier attempts."""
    if job.array is None:
        runs = [(t.stopped_at - t.started_at) / 1000 for t in job.attempts if t.started_at and t.stopped_at]
        return statistics.median(runs) if runs else None
    st = job.array.statuses
    ok: list[float] = []
    other: list[float] = []
    for i, d in _finished_details(job):
        if d.started_at and d.stopped_at and d.stopped_at >= d.started_at:
            (ok if st[i] == Status.SUCCEEDED else other).append((d.stopped_at - d.started_at) / 1000)
    runs = ok or other
    return statistics.median(runs) if runs else None


def _array_started_ms(job: Job) -> int | None:
    starts = [d.started_at for d in job.array.details.values() if d.started_at] if job.array else []
    if job.started_at:
        starts.append(job.started_at)
    return min(starts) if starts else None


def _throughput(job: Job, now_ms: int, median_s: float | None,
                window_s: float = THROUGHPUT_WINDOW_S) -> Throughput | None:
    """Finishes per minute, from the best evidence there is (see Throughput.basis for the order)."""
    if job.array is None:
        return None
    stops = [d.stopped_at for _, d in _finished_details(job) if d.stopped_at]
    finished = job.array.finished()
    started = _array_started_ms(job)
    # The poller may infer a child's final status without listing it (then its stoppedAt is unknown): finish times
    # only measure the pace when nearly every finished child has one.
    if finished and len(stops) >= THROUGHPUT_COVERAGE * finished:
        window_ms = window_s * 1000
        if started is not None and now_ms - started < window_ms:
            window_ms = max(now_ms - started, 1000)
        recent = sum(1 for s in stops if s > now_ms - window_ms)
        if recent >= THROUGHPUT_MIN_SAMPLES:
            return Throughput(recent / window_ms * 60_000, "recent", recent, window_ms / 1000)
    running = job.array.count(Status.RUNNING) + job.array.count(Status.STARTING)
    if running and median_s:
        return Throughput(running / median_s * 60, "concurrency", running, median_s)
    if started is not None and finished and now_ms > started:
        return Throughput(finished / (now_ms - started) * 60_000, "average", finished, (now_ms - started) / 1000)
    if len(stops) >= 2 and max(stops) > min(stops):
        span = max(stops) - min(stops)
        return Throughput((len(stops) - 1) / span * 60_000, "observed", len(stops), span / 1000)
    return None


def _risk(a: Analysis, job: Job) -> str | None:
    if job.status.terminal:
        return None
    ended = _ended(job.attempts)
    if ended:
        return f"{_name(a, job.job_id)} is being retried after {_plural(len(ended), 'failed attempt')}"
    if job.array is not None:
        st = job.array.statuses
        retried = sum(1 for i, d in job.array.details.items()
                      if 0 <= i < len(st) and st[i] not in _TERMINAL and _ended(d.attempts))
        if retried:
            return f"{_plural(retried, 'child', 'children')} of {_name(a, job.job_id)} being retried"
        slow = _stragglers(a, job)
        if slow:
            return f"{_plural(slow, 'child', 'children')} of {_name(a, job.job_id)} running far longer than the rest"
    for u in _ups(a, job, "standard") + _ups(a, job, "n_to_n"):
        if a.risk.get(u.job_id):
            return a.risk[u.job_id]
    return None


def _name(a: Analysis, job_id: str, index: int | None = None) -> str:
    job = a.by_id.get(job_id)
    name = job.job_name if job else job_id
    return name if index is None else f"{name}[{index}]"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _ended(attempts: tuple[Attempt, ...]) -> tuple[Attempt, ...]:
    """Attempts that are over (AWS lists finished attempts; be safe if a current one is listed too)."""
    return tuple(t for t in attempts if t.stopped_at or t.exit_code is not None)


def _stragglers(a: Analysis, job: Job) -> int:
    d = a.duration_s.get(job.job_id)
    if not d or job.array is None:
        return 0
    st = job.array.statuses
    samples = sum(1 for i, x in _finished_details(job) if st[i] == Status.SUCCEEDED and x.started_at and x.stopped_at)
    if samples < STRAGGLER_MIN_SAMPLES:
        return 0
    st = job.array.statuses
    limit = a.now_ms - STRAGGLER_FACTOR * d * 1000
    return sum(1 for i, x in job.array.details.items()
               if 0 <= i < len(st) and st[i] == Status.RUNNING and x.started_at and x.started_at < limit)


def _outlook(a: Analysis, job: Job) -> str:
    if job.status is Status.SUCCEEDED:
        return SUCCEEDED
    if job.job_id in a.cancelling:
        return CANCELLED
    if job.status is Status.FAILED:
        return FAILED
    if a.dead[job.job_id]:
        return WILL_FAIL
    if a.risk[job.job_id]:
        return AT_RISK
    return ON_TRACK


# --- ETA --------------------------------------------------------------------------------------------------------------

Estimate = tuple[int, bool]  # (epoch ms, lower_bound)


def _latest(*parts: Estimate | None) -> Estimate | None:
    """The later of several estimates. If any is only a lower bound, so is the result: that part may end later."""
    present = [p for p in parts if p is not None]
    if not present:
        return None
    return max(p[0] for p in present), any(p[1] for p in present)


def _estimate(a: Analysis, job: Job) -> None:
    """When `job` finishes (succeeding or failing), from its own progress and its upstreams'. Upstream-first."""
    now = a.now_ms
    jid = job.job_id
    ups = _ups(a, job, "standard") + _ups(a, job, "n_to_n")
    done = {u.job_id: f for u in ups if (f := a.finish.get(u.job_id))}
    a.binding[jid] = max(done, key=lambda u: done[u][0], default=None)
    if job.status.terminal:
        a.finish[jid] = (min(job.stopped_at or now, now), False)
        return
    missing = any(d.job_id and d.job_id not in a.by_id for d in job.depends_on)
    std = [a.finish.get(u.job_id) for u in _ups(a, job, "standard")]
    std_ready = None if (None in std or missing) else _latest((now, False), *std)
    ntn = [a.finish.get(u.job_id) for u in _ups(a, job, "n_to_n")]
    d = a.duration_s.get(jid)

    if job.array is None:
        if not job.is_array:
            a.finish[jid] = _plain_finish(a, job, std_ready, d)
        else:
            a.finish[jid] = None  # an array whose children nobody has listed yet
        return

    st = job.array.statuses
    started = st.translate(_T_UNSTARTED).count(0) > 0
    remaining = st.translate(_T_OPEN).count(1) - a.doomed_mask.get(jid, b"").count(1)
    start: Estimate | None = (now, False) if started else std_ready
    if start is None:
        a.finish[jid] = None
        return
    rate = a.throughput.get(jid)
    if remaining <= 0:
        run: Estimate = (0, False)
    elif job.sequential and d:
        run = (int(remaining * d * 1000), False)  # one at a time
    elif (per := a.at_a_time.get(jid)) and d:
        run = (int(math.ceil(remaining / per) * d * 1000), False)  # in waves of what the environment holds
    elif rate and rate.per_minute > 0:
        run = (int(remaining / rate.per_minute * 60_000), False)
    else:
        run = (0, True)  # its pace is unknown: no earlier than it can start
    own = (start[0] + run[0], start[1] or run[1])
    # N_TO_N: child i follows its partner i, so the last child cannot finish before the upstream's last child has
    # finished and one of its own children has run after it.
    # (Doomed children are not work left: they fail as soon as their failed partner is known.)
    if remaining <= 0:
        a.finish[jid] = own
        return
    if None in ntn:
        a.finish[jid] = None  # its partners' pace is unknown, and it cannot overtake them
        return
    follow = [(e[0] + int((d or 0) * 1000), e[1] or d is None) for e in ntn if e is not None]
    a.finish[jid] = _latest(own, *follow)


def _plain_finish(a: Analysis, job: Job, std_ready: Estimate | None, d: float | None) -> Estimate | None:
    now = a.now_ms
    if job.status in (Status.STARTING, Status.RUNNING):
        if d and job.started_at:
            return max(now, job.started_at + int(d * 1000)), False
        return now, True
    if std_ready is None:
        return None
    if a.dead[job.job_id]:
        return std_ready  # it fails as soon as the failing dependency finishes; it never runs
    if d:
        return std_ready[0] + int(d * 1000), std_ready[1]
    return std_ready[0], True


# --- public API -------------------------------------------------------------------------------------------------------


def doomed_indices(snap: Snapshot, job_id: str) -> list[int]:
    """Indices of an array job that have not finished but can no longer succeed: their N_TO_N partner failed or is
    doomed itself (transitively through N_TO_N chains), an earlier index of a SEQUENTIAL array failed or is doomed,
    or a standard dependency failed or will fail (then every unfinished index). [] for plain jobs and unknown ids."""
    mask = analyze(snap).doomed_mask.get(job_id)
    return _positions(mask) if mask else []


def outlook(snap: Snapshot) -> dict[str, str]:
    """job_id -> one of `succeeded`, `failed`, `will fail`, `at risk`, `on track`:

    """
    return dict(analyze(snap).outlook)


outlook.__doc__ = (outlook.__doc__ or "").rstrip() + "\n\n" + definitions_markdown()  # one source of the words


def cancelling(snap: Snapshot, job_id: str) -> Cancelling | None:
    """The job's cancel (its own, or an upstream's it shares), or None when nobody cancelled it."""
    return analyze(snap).cancelling.get(job_id)


def index_cancels(snap: Snapshot, job_id: str) -> IndexCancels | None:
    """Why the job fails when only indices this batchtui cancelled one by one make it (its own, or an upstream's);
    None otherwise – also when something else failed too."""
    return analyze(snap).index_cancels.get(job_id)


def index_cancel(snap: Snapshot, job_id: str, index: int) -> Cancelling | None:
    """The cancel that covers child `index`: the whole job's, or one batchtui sent for that index."""
    a = analyze(snap)
    whole = a.cancelling.get(job_id)
    if whole is not None:
        return whole
    mine = next((c for c in reversed(a.snap.cancels)
                 if c.job_id == job_id and c.indices is not None and index in c.indices), None)
    if mine is None:
        return None
    job = a.by_id.get(job_id)
    st = job.array.statuses[index] if job is not None and job.array is not None and index < job.array.size else None
    return Cancelling(job_id, mine.by, mine.at, mine.terminate, 0 if st in _TERMINAL else 1)


def throughput(snap: Snapshot, job_id: str) -> Throughput | None:
    """Children of an array finishing per minute, from observed stoppedAt; None for plain jobs or when unknown."""
    return analyze(snap).throughput.get(job_id)


def job_eta(snap: Snapshot, job_id: str) -> Eta | None:
    """When an unfinished job will finish; None when finished, unknown id, or it cannot be known."""
    return _eta(analyze(snap), job_id)


def _eta(a: Analysis, job_id: str) -> Eta | None:
    job = a.by_id.get(job_id)
    est = a.finish.get(job_id)
    if job is None or est is None or job.status.terminal or job_id in a.cancelling:
        return None
    at, bound = est
    if bound and at <= a.now_ms:
        return None  # "not before now" says nothing
    return Eta(_dt(max(at, a.now_ms)), bound)


def pipeline_eta(snap: Snapshot, pipeline: Pipeline | None = None) -> Eta | None:
    """When the pipeline (the first one by default) will have finished, with the critical path that sets it; None
    when it has finished or any unfinished job's finish cannot be estimated."""
    a = analyze(snap)
    p = pipeline or (snap.pipelines[0] if snap.pipelines else None)
    ids = [j for j in (p.job_ids if p else a.order) if j in a.by_id]
    if not ids or all(a.by_id[j].status.terminal for j in ids):
        return None
    if any(j in a.cancelling for j in ids):
        return None  # it will not finish as planned: cancelled work has no ETA
    if any(a.finish.get(j) is None for j in ids):
        return None
    ests = {j: f for j in ids if (f := a.finish.get(j)) is not None}
    last = max(reversed(ids), key=lambda j: ests[j][0])  # on a tie, the most downstream job ends the path
    latest = _latest(*ests.values())
    if latest is None:  # not so: ids is not empty
        return None
    at, bound = latest
    if bound and at <= a.now_ms:
        return None
    path = [last]
    while (up := a.binding.get(path[-1])) and up not in path:
        path.append(up)
    return Eta(_dt(max(at, a.now_ms)), bound, tuple(reversed(path)))


def waiting_on(snap: Snapshot, job_id: str) -> list[str]:
    """Ids of the unfinished jobs this job (or one of its children not started yet) still waits for. A FAILED
    dependency is not waited for (the job will fail: see outlook); dependencies outside the snapshot are listed
    when the job has not started, since nobody can tell whether they finished."""
    a = analyze(snap)
    job = a.by_id.get(job_id)
    if job is None or job.status.terminal or job_id in a.cancelling:
        return []  # a cancelled job waits for nothing any more: AWS only has to fail it
    out: list[str] = []
    unstarted = job.array.statuses.translate(_T_UNSTARTED) if job.array is not None else None
    if unstarted is not None:
        any_unstarted = unstarted.find(1) >= 0
    else:
        any_unstarted = job.status in (Status.SUBMITTED, Status.PENDING, Status.UNKNOWN)
    for dep in job.depends_on:
        if not dep.job_id or dep.job_id == job_id or dep.job_id in out:
            continue
        up = a.by_id.get(dep.job_id)
        if up is None:
            if any_unstarted:
                out.append(dep.job_id)
            continue
        if up.status.terminal:
            continue
        if dep.type == DependencyType.N_TO_N and unstarted is not None and up.array is not None:
            partner_open = _fit(up.array.statuses.translate(_T_NOT_SUCCEEDED), len(unstarted))
            if _and(unstarted, partner_open).find(1) >= 0:
                out.append(dep.job_id)
        elif any_unstarted:
            out.append(dep.job_id)
    return out


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What analysis knows of one job, typed: what headless JSON (job_fields) and the dashboard (ui/insight.py) read.

    `eta` is None when the job's RUNNABLE work is stuck (`waiting.stuck`): no ETA rather than a made-up one.
    `doomed_indices` is None for a plain job (its JSON key is absent, like `childCounts`)."""

    outlook: str
    eta: Eta | None
    waiting_on: tuple[str, ...]
    doomed_indices: tuple[int, ...] | None
    waiting: Waiting | None
    at_a_time: int | None = None  # capacity-full with a known pace: the ETA counts waves of this many children
    cancel: Cancelling | None = None  # outlook `cancelled`: its own cancel, or the upstream's it fails with


def job_facts(snap: Snapshot) -> dict[str, JobFacts]:
    """One JobFacts per job of the snapshot, by job id."""
    from batchtui.capacity import diagnose_in

    a = analyze(snap)
    out: dict[str, JobFacts] = {}
    for job in snap.jobs:
        eta = job_eta(snap, job.job_id)
        waiting = diagnose_in(job, snap)
        per = a.at_a_time.get(job.job_id) if a.duration_s.get(job.job_id) else None
        if waiting is not None and per and eta is not None:  # "128 of this job fit at a time → about 6 hours"
            left = humanize.naturaldelta(max(eta.at - snap.polled_at, timedelta(0)))
            waiting = replace(waiting, text=f"{waiting.text} → about {left}")
        out[job.job_id] = JobFacts(
            outlook=a.outlook[job.job_id],
            eta=None if waiting is not None and waiting.stuck else eta,
            waiting_on=tuple(waiting_on(snap, job.job_id)),
            doomed_indices=tuple(doomed_indices(snap, job.job_id)) if job.is_array or job.array is not None else None,
            waiting=waiting,
            at_a_time=per if eta is not None else None,
            cancel=a.cancelling.get(job.job_id),
        )
    return out


@dataclass(frozen=True, slots=True)
class Effective:
    """An original that batchtui retried, where counting its repairs changes its outlook (effectiveOutlook)."""

    outlook: str
    eta: Eta | None


@dataclass(frozen=True, slots=True)
class JobReport:
    """Everything headless output says of one job, typed: the text and table lines read it, job_fields writes it
    as JSON. `repair` is set on an original batchtui retried, `retry_of` on a retry (the job it re-runs)."""

    facts: JobFacts
    index_cancels: IndexCancels | None
    failure_groups: tuple[FailureGroup, ...]
    repair: Repair | None = None
    retry_of: str | None = None
    effective: Effective | None = None


def job_reports(snap: Snapshot) -> dict[str, JobReport]:
    """One JobReport per job of the snapshot, by job id: the facts computed once, retries folded in."""
    facts = job_facts(snap)
    out = {job.job_id: JobReport(facts[job.job_id], index_cancels(snap, job.job_id), tuple(groups_of(job)))
           for job in snap.jobs}
    joined = lineage.join(snap)
    if not joined.root_of:
        return out
    for retry_id, root in joined.root_of.items():
        out[retry_id] = replace(out[retry_id], retry_of=snap.job(retry_id).retry_of or root)  # type: ignore[union-attr]
    eff = lineage.effective(snap)
    e = _analyze(eff)  # not cached: `analyze` keeps the raw snapshot's analysis
    for job in eff.jobs:
        r = out[job.job_id]
        effective = None
        if e.outlook[job.job_id] != r.facts.outlook:
            effective = Effective(e.outlook[job.job_id], _eta(e, job.job_id))
        out[job.job_id] = replace(r, repair=joined.repairs.get(job.job_id), effective=effective)
    return out


def job_fields(snap: Snapshot) -> dict[str, dict]:
    """What headless JSON adds to each job, by job id: its JobReport as JSON (report_json)."""
    return {job_id: report_json(r) for job_id, r in job_reports(snap).items()}


def report_json(r: JobReport) -> dict:
    """One job's JSON fields (the README's contract; the keys in this order):

    - `outlook`: see OUTLOOK_DEFINITIONS.
    - `doomedIndices`: array jobs only (the key is absent for plain jobs, like `childCounts`): see doomed_indices.
    - `eta`: when an unfinished job is expected to finish, ISO-8601 UTC ("2026-11-25T04:40:00Z"); null when it has
      finished or cannot be known.
    - `etaLowerBound`: true when `eta` is only the earliest it can finish (its own pace is not known yet).
    - `waitingOn`: ids of the unfinished jobs it still waits for (see waiting_on).
    - `cancel`: a job whose outlook is `cancelled` – `by` ("you" when this batchtui sent it, null when only AWS's
      flags say so), `at`, `terminate`, `remaining` (work AWS still has to move to FAILED) and `via` (the cancelled
      job it depends on, null when cancelled itself).
    - `indexCancels`: a job that fails (or will) only by indices this batchtui cancelled one by one – `count`, `by`,
      `at`, `terminate`, and `via` (the array whose cancelled indices a dependent fails with, null for the array).
    - `failureGroups`: its failed work grouped by cause, largest first (see triage.py).
    - `waiting`: for a job with RUNNABLE work, why it is not moving (see capacity.py).
    - `retries`, `effectiveChildCounts`, `effectiveOutlook`, `effectiveEta`: an original job that batchtui retried –
      its retries, its indices counted by their latest attempt, and the outlook/ETA counting the repairs where they
      differ (see lineage.py); `retryOf` on a retry: the job it re-runs.
    """
    f = r.facts
    fields: dict = {
        "outlook": f.outlook,
        "eta": _iso(f.eta.at) if f.eta else None,
        "etaLowerBound": bool(f.eta and f.eta.lower_bound),
        "waitingOn": list(f.waiting_on),
    }
    if f.doomed_indices is not None:
        fields["doomedIndices"] = list(f.doomed_indices)
    if f.cancel is not None:
        fields["cancel"] = f.cancel.to_json()
    elif r.index_cancels is not None:
        fields["indexCancels"] = r.index_cancels.to_json()
    fields["failureGroups"] = [g.to_json() for g in r.failure_groups]
    if f.waiting is not None:
        fields["waiting"] = f.waiting.to_json()
    if r.retry_of is not None:
        fields["retryOf"] = r.retry_of
    if r.repair is not None:
        fields["retries"] = [x.to_json() for x in r.repair.retries]
        counts = r.repair.effective_counts()
        if counts is not None:
            fields["effectiveChildCounts"] = counts
    if r.effective is not None:
        fields["effectiveOutlook"] = r.effective.outlook
        fields["effectiveEta"] = _iso(r.effective.eta.at) if r.effective.eta else None
    return fields


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
