"""Waiting plans: the steps of a retry that AWS cannot hold yet, kept on disk until batchtui sends them.

    $XDG_STATE_HOME/batchtui/plans/<planId>.json    (without XDG_STATE_HOME: platformdirs' user state directory)

A retry with --downstream of a pipeline still running has steps that must wait ("JobD-retry … waits for JobC's
other 9,976 indices": `plan.Waiting`). `keep` writes them, with the job ids the immediate calls returned, as one
versioned JSON file – written whole to a temporary file, fsynced and renamed over the old one, so a reader never
sees half a plan. `advance` checks each waiting step against a Snapshot the caller already has (no API call but the
SubmitJob itself) and sends it once its conditions hold.

A condition is judged on the **effective** state (lineage.py: per original index, its latest attempt across the
original and its retries). When it cannot hold now – JobC[7], not one of the indices being retried, FAILED after the
plan was made – the step is kept *blocked*, with the reason and the fix (retry JobC[7]); once that retry SUCCEEDED
the condition holds on the effective state and the step is sent, once, as any other. Only what no retry can repair
drops a step: a job its dependsOn names FAILED (an immediate retry of the plan: AWS would fail the step at once),
the job a condition is on no longer returned by AWS before it held, a step it waits for dropped, or AWS refusing
its SubmitJob for good (and a cancelled plan sends nothing).

Exactly once, across processes and crashes:
- `advance` works on a plan only while it holds an exclusive flock on `<planId>.lock`, taken without blocking: a
  process that does not get it leaves the plan to the one that has it this round. The kernel frees a flock when
  its process dies, so no lock is ever stale.
- A step is written as "submitting" before its SubmitJob; the tag that SubmitJob carries (`batchtui:plan=
  <planId>-w<N>.1`) is fixed by the plan, not by the process. A step found "submitting" – the process died between
  sending and recording, or the answer was lost – is looked for by that tag before anything is sent again.
A file that is not a plan, or of another version, is reported in one line and never executed.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from batchtui import lineage
from batchtui.aws import BatchPort
from batchtui.errors import BatchtuiError, UsageError
from batchtui.execute import LOOKUP_DELAYS_S, REGISTRY, Outcome, Recorder, Registry, execute
from batchtui.model import RETRY_OF_TAG, Job, Snapshot, Status
from batchtui.plan import (
    FAILS,
    HOLDS,
    KIND_RETRY,
    PLAN_TAG,
    SUBMIT,
    WAITS,
    Call,
    Condition,
    Plan,
    Ref,
    Verdict,
    describe_indices,
    index_runs,
    substitute,
)
from batchtui.statedir import state_dir

# 2: a step may be "blocked" (a version-1 batchtui would not know the state: it reports the file, never runs it).
# A version-1 file holds nothing version 2 reads differently, so it is read as it is.
VERSION = 2
READS = (1, 2)
DIR_NAME = "plans"
PENDING, DONE, CANCELLED = "pending", "done", "cancelled"  # a plan
WAITING, BLOCKED, SUBMITTING, SUBMITTED, DROPPED = "waiting", "blocked", "submitting", "submitted", "dropped"  # a step
STEP_STATES = (WAITING, BLOCKED, SUBMITTING, SUBMITTED, DROPPED)
OPEN = (WAITING, BLOCKED, SUBMITTING)  # still to be sent: a blocked step too, it waits for a repair
PLAN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
CANCEL_WAIT_S = 10.0  # how long `plans cancel` waits for a process that is submitting a step of the plan
# Where a step's job id is needed before it exists, the file holds {"$waitingStep": N} (1-based), like Ref.
REF_KEY = "$waitingStep"


class PlanFileError(BatchtuiError):
    """A plan file that cannot be read as a plan of this version: reported, never executed."""


class NoSuchPlan(BatchtuiError):
    """No plan with that id."""


def plans_dir() -> Path:
    return state_dir() / DIR_NAME


# --- the plan on disk ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A waiting SubmitJob: `params` may hold Ref(k, waiting=True) where step k's new job id goes."""

    name: str
    label: str
    params: Mapping[str, Any]
    conditions: tuple[Condition, ...]
    after: tuple[int, ...] = ()  # steps (0-based) that must have been submitted first
    state: str = WAITING
    job_id: str | None = None
    reason: str | None = None  # dropped or blocked: why; otherwise the last thing said about it
    fix: str | None = None  # blocked: the command that repairs what it waits for

    @property
    def open(self) -> bool:
        return self.state in OPEN

    def describe(self, steps: Sequence[Step]) -> str:
        said = [c.describe() for c in self.conditions]
        said += [f"waits for {steps[k].name} to be submitted" for k in self.after if steps[k].state != SUBMITTED]
        return "; ".join(said) or "ready"


@dataclass(frozen=True)
class StoredPlan:
    plan_id: str
    created: str
    queue: str  # where the originals run: what `--wait` polls
    user: str
    steps: tuple[Step, ...]
    state: str = PENDING
    note: str | None = None  # cancelled: by whom, when
    origin: str | None = None  # which process made it: "batchtui retry (pid 4242 on bastion-1)"

    def count(self, state: str) -> int:
        return sum(1 for s in self.steps if s.state == state)

    @property
    def waiting(self) -> int:
        """Steps still to be sent, blocked ones included."""
        return sum(1 for s in self.steps if s.open)

    @property
    def condition(self) -> str:
        """What the plan waits for now: its first open step's conditions."""
        step = next((s for s in self.steps if s.open), None)
        return f"{step.name} {step.describe(self.steps)}" if step else "nothing"

    def token(self, k: int) -> str:
        """Step k's run id: its SubmitJob's tag is `<token>.1`, the same in every process."""
        return f"{self.plan_id}-w{k + 1}"

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "planId": self.plan_id, "created": self.created, "queue": self.queue,
                "user": self.user, **({"origin": self.origin} if self.origin else {}), "state": self.state,
                **({"note": self.note} if self.note else {}),
                "waiting": self.waiting, "blocked": self.count(BLOCKED), "submitted": self.count(SUBMITTED),
                "dropped": self.count(DROPPED), "condition": self.condition,
                "steps": [_step_json(s) for s in self.steps]}

    def summary(self) -> str:
        blocked = f" ({self.count(BLOCKED)} blocked)" if self.count(BLOCKED) else ""
        return (f"{self.plan_id}  created {self.created} by {self.user}  {self.state}: {self.waiting} waiting"
                f"{blocked}, {self.count(SUBMITTED)} submitted, {self.count(DROPPED)} dropped – {self.condition}")


def _step_json(s: Step) -> dict[str, Any]:
    return {"name": s.name, "label": s.label, "state": s.state, "params": _refs_out(s.params),
            # index runs: 9,976 indices in a few numbers
            "conditions": [{"jobId": c.job_id, "jobName": c.job_name, "arraySize": c.array_size,
                            "retried": [list(r) for r in index_runs(c.retried)]} for c in s.conditions],
            "after": [k + 1 for k in s.after], **({"jobId": s.job_id} if s.job_id else {}),
            **({"reason": s.reason} if s.reason else {}), **({"fix": s.fix} if s.fix else {})}


def _refs_out(value: Any) -> Any:
    if isinstance(value, Ref):
        return {REF_KEY: value.step + 1, **({"index": value.index} if value.index is not None else {})}
    if isinstance(value, Mapping):
        return {k: _refs_out(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_refs_out(v) for v in value]
    return value


def _refs_in(value: Any) -> Any:
    if isinstance(value, dict):
        if REF_KEY in value:
            return Ref(_int(value[REF_KEY]) - 1, value.get("index"), waiting=True)
        return {k: _refs_in(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_refs_in(v) for v in value]
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _condition_in(d: Mapping[str, Any]) -> Condition:
    size = d["arraySize"]
    retried = tuple(i for a, b in d["retried"] for i in range(_int(a), _int(b) + 1))
    return Condition(str(d["jobId"]), str(d["jobName"]), None if size is None else _int(size), retried)


def _step_in(d: Mapping[str, Any], n: int) -> Step:
    if d["state"] not in STEP_STATES:
        raise ValueError(f"step {n + 1} has the state {d['state']!r}")
    params = _refs_in(d["params"])
    if not isinstance(params, dict) or not params.get("jobName") or not params.get("jobQueue"):
        raise ValueError(f"step {n + 1} is not a SubmitJob")
    after = tuple(_int(k) - 1 for k in d["after"])
    if any(not 0 <= k < n for k in after):
        raise ValueError(f"step {n + 1} waits for a step that is not before it")
    return Step(str(d["name"]), str(d["label"]), params, tuple(_condition_in(c) for c in d["conditions"]), after,
                d["state"], d.get("jobId"), d.get("reason"), d.get("fix"))


def from_json(data: Any, where: str) -> StoredPlan:
    """The plan in a file's JSON; PlanFileError (one line) for anything that is not a plan of this version."""
    if not isinstance(data, dict) or "version" not in data:
        raise PlanFileError(f"{where}: not a batchtui plan: not executed")
    if data["version"] not in READS:
        raise PlanFileError(f"{where}: a plan of version {data['version']!r}; this batchtui reads versions "
                            f"{' and '.join(map(str, READS))}: not executed (check it and delete the file, or plan the "
                            "retry anew)")
    try:
        steps = tuple(_step_in(s, n) for n, s in enumerate(data["steps"]))
        plan_id = str(data["planId"])
        if not PLAN_ID.fullmatch(plan_id) or data["state"] not in (PENDING, DONE, CANCELLED):
            raise ValueError("bad id or state")
        origin = data.get("origin")
        return StoredPlan(plan_id, str(data["created"]), str(data["queue"]), str(data["user"]), steps,
                          data["state"], data.get("note"), None if origin is None else str(origin))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise PlanFileError(f"{where}: a damaged batchtui plan ({type(e).__name__}: {e}): not executed") from None


def load(path: Path) -> StoredPlan:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NoSuchPlan(f"no plan {path.stem} (batchtui plans lists them)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise PlanFileError(f"{path}: cannot be read ({e}): not executed") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise PlanFileError(f"{path}: not JSON ({e.msg} at line {e.lineno}): not executed") from None
    return from_json(data, str(path))


def save(plan: StoredPlan, directory: Path) -> Path:
    """Atomically: the whole new file, fsynced, renamed over the old one (a crash leaves the old or the new)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{plan.plan_id}.json"
    tmp = directory / f".{plan.plan_id}.{os.getpid()}.tmp"
    data = (json.dumps(plan.to_json(), indent=1) + "\n").encode()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must survive a crash
    finally:
        os.close(dir_fd)
    return path


def keep(plan: Plan, new_jobs: Mapping[int, str], queue: str, user: str, *, plan_id: str | None = None,
         directory: Path | None = None, now: datetime | None = None, origin: str | None = None) -> StoredPlan | None:
    """Write plan's waiting steps, with the ids its immediate calls returned (`Outcome.new_jobs`), as a pending
    plan; None when it has none. `origin` names the process making it (see `made_by`)."""
    if not plan.waiting:
        return None
    steps = tuple(Step(str(w.call.params.get("jobName")), w.call.label, w.call.resolved(new_jobs), w.conditions,
                       w.after) for w in plan.waiting)
    stored = StoredPlan(plan_id or uuid.uuid4().hex[:12], _now(now), queue, user, steps, origin=origin)
    save(stored, directory or plans_dir())
    return stored


def made_by(what: str) -> str:
    """This process, for a plan's `origin`: which of several batchtuis (and hosts) made it – the one to look at."""
    import socket

    return f"{what} (pid {os.getpid()} on {socket.gethostname()})"


def _now(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def list_plans(directory: Path | None = None) -> tuple[list[StoredPlan], list[str]]:
    """Every plan in the directory, oldest first, and one line for each file that is not a readable plan."""
    directory = directory or plans_dir()
    plans: list[StoredPlan] = []
    problems: list[str] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        try:
            plans.append(load(path))
        except BatchtuiError as e:
            problems.append(str(e))
    return sorted(plans, key=lambda p: p.created), problems


def pending_originals(directory: Path | None = None) -> dict[str, str]:
    """Original job id → the pending plan with a step still waiting to re-run it (plan_retry's `pending`)."""
    out: dict[str, str] = {}
    for plan in list_plans(directory)[0]:
        if plan.state != PENDING:
            continue
        for step in plan.steps:
            original = (step.params.get("tags") or {}).get(RETRY_OF_TAG) if step.open else None
            if original:
                out.setdefault(str(original), plan.plan_id)
    return out


def submitted_ids(directory: Path | None = None, *, since: float) -> tuple[str, ...]:
    """The job ids of steps submitted by plans written since `since` (epoch s): a waiting step may have gone to
    another queue, where only its id finds it. A plan file is rewritten each time a step is sent, so its mtime
    bounds the read; a file that is not a plan has no ids to give (`batchtui plans` reports it)."""
    directory = directory or plans_dir()
    out: list[str] = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else ():
        try:
            if path.stat().st_mtime < since:
                continue
            plan = load(path)
        except (OSError, BatchtuiError):
            continue
        out += [s.job_id for s in plan.steps if s.state == SUBMITTED and s.job_id]
    return tuple(out)


def path_of(plan_id: str, directory: Path | None = None) -> Path:
    if not PLAN_ID.fullmatch(plan_id):
        raise UsageError(f"{plan_id!r} is not a plan id (batchtui plans lists them)")
    return (directory or plans_dir()) / f"{plan_id}.json"


# --- the lock --------------------------------------------------------------------------------------------------


@contextmanager
def locked(plan_id: str, directory: Path, wait_s: float = 0.0) -> Iterator[bool]:
    """Hold the plan's exclusive flock while the block runs; yields False if another process holds it (after
    waiting up to wait_s). Released when the block ends – or by the kernel when the process dies."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / f"{plan_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                got = True
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    got = False
                    break
                time.sleep(0.05)
        yield got
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def cancel(plan_id: str, user: str, directory: Path | None = None) -> StoredPlan:
    """Mark a pending plan cancelled: no step of it is sent any more (steps already sent stay sent)."""
    directory = directory or plans_dir()
    path = path_of(plan_id, directory)
    with locked(plan_id, directory, CANCEL_WAIT_S) as got:
        if not got:
            raise BatchtuiError(f"plan {plan_id} is being worked on by another batchtui for more than "
                                f"{CANCEL_WAIT_S:g} s: try again")
        plan = load(path)
        if plan.state != PENDING:
            raise BatchtuiError(f"plan {plan_id} is {plan.state} already: nothing to cancel")
        plan = replace(plan, state=CANCELLED, note=f"cancelled by {user} at {_now()}")
        save(plan, directory)
        return plan


# --- sending the steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanEvent:
    plan_id: str
    step: str  # the new job's name
    kind: str  # SUBMITTED | DROPPED | "unknown" | "error"
    text: str


@dataclass
class Sender:
    """What advance needs besides the snapshot: the client, where plans live, and the audit journal to write."""

    api: BatchPort
    directory: Path
    recorder: Recorder | None = None
    lookup_delays_s: tuple[float, ...] = LOOKUP_DELAYS_S


def concerns(plan: StoredPlan, snap: Snapshot) -> bool:
    """The snapshot shows a job the plan's open steps wait for: it can decide them."""
    return any(snap.job(c.job_id) is not None for s in plan.steps if s.open for c in s.conditions)


async def advance(sender: Sender, plan_id: str, snap: Snapshot, *, look_up: bool = True) -> list[PlanEvent]:
    """Send each step of the plan whose conditions hold in `snap` (once), block or drop those that cannot; nothing
    when another process holds the plan's lock. A step left "submitting" is first looked for by its tag – or, with
    look_up=False, left to `look_up` (the dashboard runs that apart from its refreshes). Raises PlanFileError for a
    file that is not a plan."""
    with locked(plan_id, sender.directory) as got:
        if not got:
            return []
        plan = load(path_of(plan_id, sender.directory))  # fresh: another process may have moved it on
        if plan.state != PENDING:
            return []
        events: list[PlanEvent] = []
        for k in range(len(plan.steps)):
            if plan.steps[k].state == SUBMITTING and look_up:
                plan = await _resolve(sender, plan, k, events)
            if plan.steps[k].open and plan.steps[k].state != SUBMITTING:
                plan = await _step(sender, plan, k, snap, events)
        return _finish(sender, plan, events)


def stranded(plan: StoredPlan) -> bool:
    """A step was sent and its answer never recorded (a crash, a lost answer): it needs `look_up` first."""
    return plan.state == PENDING and any(s.state == SUBMITTING for s in plan.steps)


async def look_up(sender: Sender, plan_id: str) -> list[PlanEvent]:
    """Find the jobs of the plan's "submitting" steps by their tags, under the plan's lock: found, the step is
    recorded submitted; not found, nothing was created and it waits again (the next round may send it). This is the
    slow part of resuming (ListJobs lags SubmitJob: up to 15 s of looking), which the dashboard runs in a task of its
    own; the lock keeps every other round – of this process or another – off the plan meanwhile."""
    with locked(plan_id, sender.directory) as got:
        if not got:
            return []
        plan = load(path_of(plan_id, sender.directory))
        events: list[PlanEvent] = []
        if plan.state != PENDING:
            return events
        for k in range(len(plan.steps)):
            if plan.steps[k].state == SUBMITTING:
                plan = await _resolve(sender, plan, k, events)
        return _finish(sender, plan, events)


def _finish(sender: Sender, plan: StoredPlan, events: list[PlanEvent]) -> list[PlanEvent]:
    if not any(s.open for s in plan.steps):
        save(replace(plan, state=DONE), sender.directory)
    return events


async def _resolve(sender: Sender, plan: StoredPlan, k: int, events: list[PlanEvent]) -> StoredPlan:
    """Step k was sent before and its answer never recorded: find it by its tag before anything sends it again."""
    step = plan.steps[k]
    found = await _find(sender, plan, k)
    if found:
        events.append(PlanEvent(plan.plan_id, step.name, SUBMITTED, f"{step.name} was submitted already "
                                f"(found by its tag {PLAN_TAG}={plan.token(k)}.1): {found}"))
        return _set(sender, plan, k, state=SUBMITTED, job_id=found, reason=None, fix=None)
    return _set(sender, plan, k, state=WAITING, reason=f"no job with its tag {PLAN_TAG}={plan.token(k)}.1 was "
                f"found: it was never created, so it is sent once its condition holds")


async def _step(sender: Sender, plan: StoredPlan, k: int, snap: Snapshot, events: list[PlanEvent]) -> StoredPlan:
    step = plan.steps[k]
    hold = _why_not(plan, k, snap)
    if hold is None:
        return await _submit(sender, _set(sender, plan, k, state=SUBMITTING, fix=None), k, events)
    if hold.state == FAILS:
        events.append(PlanEvent(plan.plan_id, step.name, DROPPED, f"{step.name} dropped: {hold.text}"))
        return _set(sender, plan, k, state=DROPPED, reason=hold.text, fix=None)
    if hold.state == BLOCKED:
        if step.state != BLOCKED or step.reason != hold.text:  # said once, and again only when it changes
            events.append(PlanEvent(plan.plan_id, step.name, BLOCKED, f"{step.name} blocked: {hold.text}"))
            return _set(sender, plan, k, state=BLOCKED, reason=hold.text, fix=hold.fix)
        return plan
    if step.state == BLOCKED:  # repaired (or being repaired): it waits again, now for the retry too
        events.append(PlanEvent(plan.plan_id, step.name, WAITING, f"{step.name} no longer blocked: {hold.text}"))
    if step.state != WAITING or step.reason != hold.text:
        return _set(sender, plan, k, state=WAITING, reason=hold.text, fix=None)
    return plan


@dataclass(frozen=True, slots=True)
class Hold:
    """Why a step is not sent this round: FAILS (dropped: nothing can repair it), BLOCKED (a retry can), WAITS."""

    state: str
    text: str
    fix: str | None = None


def _why_not(plan: StoredPlan, k: int, snap: Snapshot) -> Hold | None:
    """Why step k cannot be sent on `snap`; None when it can go."""
    step = plan.steps[k]
    for j in step.after:
        if plan.steps[j].state == DROPPED:
            return Hold(FAILS, f"it waits for {plan.steps[j].name}, which was dropped")
    failed_dep = _failed_dependency(step, snap)
    if failed_dep is not None:  # AWS would fail it at once; its dependsOn is fixed, so no retry repairs this plan
        return Hold(FAILS, f"it depends on {failed_dep.job_name} ({failed_dep.job_id}), which FAILED: it would fail "
                           f"at once – retry that (`batchtui retry {failed_dep.job_id} --downstream`), which plans "
                           f"{step.name} anew")
    pending = [plan.steps[j].name + (" (blocked)" if plan.steps[j].state == BLOCKED else "") for j in step.after
               if plan.steps[j].state != SUBMITTED]
    if pending:
        return Hold(WAITS, f"waits for {', '.join(pending)} to be submitted")
    # Judged on the effective state: an index that failed after planning and was retried since counts as its
    # retry. A condition on a retry itself (a plan made over a retry) is folded away there: judged as it is.
    eff = lineage.effective(snap)
    for c in step.conditions:
        on = eff if eff.job(c.job_id) is not None else snap
        verdict = c.check(on)
        job = on.job(c.job_id)
        if verdict.state != HOLDS and job is not None and job.gone:  # nothing will ever say it holds
            return Hold(FAILS, f"{c.job_name} ({c.job_id}) is no longer returned by AWS (retention) and its last "
                               f"known state does not let {step.name} go ({verdict.text}): plan the retry anew")
        if verdict.state == FAILS:
            return _blocked(c, verdict, snap)
        if verdict.state == WAITS:
            return Hold(WAITS, f"{c.describe()}: {verdict.text}")
    # No dependsOn on the retries that repaired a condition: the step is sent only once they SUCCEEDED, and a
    # dependency on a job that has SUCCEEDED adds nothing (it would only spend one of AWS's 20 dependsOn).
    return None


def _failed_dependency(step: Step, snap: Snapshot) -> Job | None:
    """A job the step's dependsOn names (an immediate retry of the plan, say) that has FAILED in `snap`."""
    for d in step.params.get("dependsOn") or ():
        job_id = d.get("jobId") if isinstance(d, Mapping) else None
        job = snap.job(job_id) if isinstance(job_id, str) else None
        if job is not None and job.status is Status.FAILED:
            return job
    return None


FIX_TARGETS = 5  # up to this many failed indices are named in the fix (JOB:7 JOB:9 …); more: the whole job


def _blocked(c: Condition, verdict: Verdict, snap: Snapshot) -> Hold:
    """The step cannot be sent now, but a retry of what failed repairs it: say what failed and the command."""
    repair = lineage.join(snap).of(c.job_id)
    failed = verdict.failed
    if c.array_size is None or not failed:
        again = repair is not None
        what, targets = c.job_name, [c.job_id]
    else:
        again = repair is not None and all(i in repair.latest for i in failed)
        what = describe_indices(c.job_name, failed)
        # `retry JOB` resubmits every FAILED index not retried yet (and through a failed retry, those it re-ran)
        targets = [f"{c.job_id}:{i}" for i in failed] if len(failed) <= FIX_TARGETS else [c.job_id]
    fix = f"batchtui retry {' '.join(targets)} --downstream"
    them = "it" if c.array_size is None or len(failed) == 1 else "them"
    how = "FAILED again (its retry FAILED)" if again else "FAILED after this plan was made"
    return Hold(BLOCKED, f"{what} {how} – retry {them} (`{fix}`, or R on it in the dashboard); this step then "
                         f"waits for that retry too", fix)


async def _submit(sender: Sender, plan: StoredPlan, k: int, events: list[PlanEvent]) -> StoredPlan:
    step = plan.steps[k]
    ids = {j: s.job_id for j, s in enumerate(plan.steps) if s.job_id}
    one = Plan(KIND_RETRY, (Call(SUBMIT, substitute(step.params, ids, waiting=True), step.label),), ())
    # A registry of its own: the fingerprint guard is per process, the plan file is what guards across them.
    outcome: Outcome = await execute(sender.api, one, registry=Registry(forbidden=REGISTRY.forbidden),
                                     recorder=sender.recorder, run_id=plan.token(k))
    result = outcome.steps[0] if outcome.steps else None
    if outcome.ok and result is not None and result.job_id:
        events.append(PlanEvent(plan.plan_id, step.name, SUBMITTED, f"{step.name} submitted: {result.job_id} "
                                f"({_said(step)})"))
        return _set(sender, plan, k, state=SUBMITTED, job_id=result.job_id, reason=None, fix=None)
    if outcome.unknown:  # left "submitting": the next round looks for it by its tag before sending again
        events.append(PlanEvent(plan.plan_id, step.name, "unknown", f"{step.name}: {outcome.error}"))
        return plan
    if result is not None and result.refused:  # the same request would be refused every round: drop it, say why
        events.append(PlanEvent(plan.plan_id, step.name, DROPPED, f"{step.name} dropped: AWS refused it "
                                f"({result.error})"))
        return _set(sender, plan, k, state=DROPPED, reason=f"refused: {result.error}")
    # Never sent (throttled past our retries, no connection): nothing was created, so a later round sends it.
    events.append(PlanEvent(plan.plan_id, step.name, "error", f"{step.name} not submitted: {outcome.error}"))
    return _set(sender, plan, k, state=WAITING, reason=f"not submitted: {outcome.error}")


def _said(step: Step) -> str:
    return ", ".join(f"{c.job_name}'s other {c.others:,} indices SUCCEEDED" if c.array_size is not None
                     else f"{c.job_name} SUCCEEDED" for c in step.conditions) or "its upstream step was submitted"


async def _find(sender: Sender, plan: StoredPlan, k: int) -> str | None:
    """The job step k's SubmitJob made, by its tag; ListJobs is eventually consistent, so look a few times."""
    params = plan.steps[k].params
    for delay in sender.lookup_delays_s:
        await asyncio.sleep(delay)
        try:
            found = await sender.api.find_job(str(params["jobQueue"]), str(params["jobName"]), PLAN_TAG,
                                              f"{plan.token(k)}.1")
        except BatchtuiError:
            continue
        if found:
            return found
    return None


def _set(sender: Sender, plan: StoredPlan, k: int, **changes: Any) -> StoredPlan:
    steps = list(plan.steps)
    steps[k] = replace(steps[k], **changes)
    new = replace(plan, steps=tuple(steps))
    save(new, sender.directory)
    return new


def progress_line(plan: StoredPlan) -> str:
    """One line for a person watching: what is sent, what still waits and for what."""
    open_steps = [s for s in plan.steps if s.open]
    head = f"plan {plan.plan_id}: {plan.count(SUBMITTED)} submitted, {len(open_steps)} waiting"
    if plan.count(BLOCKED):
        head += f" ({plan.count(BLOCKED)} blocked)"
    if plan.count(DROPPED):
        head += f", {plan.count(DROPPED)} dropped"
    if open_steps:
        s = open_steps[0]
        head += f" – {s.name}: {s.reason or s.describe(plan.steps)}"
    return head

