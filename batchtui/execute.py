"""Runs a Plan through the client facade, one call after another, and says exactly what happened.

    outcome = await execute(api, plan, progress=on_progress)   # on_progress(Progress): plain or async function

- Cancel plans are checked first: every id they name must exist (DescribeJobs). CancelJobs/TerminateJobs report an
  unknown id as *successful*, so without this check a typo would look like a cancelled job.
- Bulk answers' `errors` are read: any error fails the step.
- The first failed step stops the run; the Outcome lists what was done, what failed and why, and what was not done.
  An action never half-happens silently.
- A plan runs at most once per process (keyed by its fingerprint): confirming twice submits once. Only a plan
  refused by the check before any change may be run again.
- Each run has its own id; every SubmitJob carries it in the tag `batchtui:plan=<run id>.<step>`. SubmitJob is
  never resent blindly: when its answer is lost (5xx, timeout, connection dropped: `OutcomeUnknown`) the job is
  looked for by name and that tag. Found: the step succeeded. Not found: the outcome is unknown, the run stops, and
  the error says how to check by hand.
- A `Recorder` (the audit journal) gets the intent before the first call, each call's result as it completes and
  the outcome – or, when the run is interrupted, what was in flight.
- `stop` (an asyncio.Event) ends the run cleanly between two calls (Ctrl-C in the CLI, a "stop" key in the UI);
  a call already sent is never abandoned halfway. `forbid_actions()` (--readonly) makes execute() refuse.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from batchtui.aws import BatchPort, BulkResult
from batchtui.errors import AccessDenied, ApiError, BatchtuiError, OutcomeUnknown, UnknownQueue
from batchtui.model import Cancel, Job
from batchtui.plan import CANCEL, KIND_CANCEL, PLAN_TAG, SUBMIT, TERMINATE, Call, Plan
from batchtui.shapes import child_status, job_id_of, job_name_of, submitted_job

MAX_LISTED_ERRORS = 10  # bulk errors named one by one in a summary
# ListJobs is eventually consistent: a job created a moment ago can take seconds to show. Waits before each lookup.
LOOKUP_DELAYS_S = (1.0, 2.0, 4.0, 8.0)


class AlreadyExecuted(BatchtuiError):
    """The same plan was executed (or is executing) already in this process."""


class ActionsDisabled(BatchtuiError):
    """Actions are forbidden in this process (`--readonly`)."""


@dataclass(frozen=True, slots=True)
class StepResult:
    step: int  # 0-based index into plan.calls
    operation: str
    label: str
    ok: bool
    job_id: str | None = None  # SubmitJob: the new job's id
    job_name: str | None = None
    successful: tuple[str, ...] = ()  # bulk calls
    errors: tuple[Mapping[str, str], ...] = ()  # bulk calls: {"jobId", "code", "message"}
    error: str | None = None  # one line: why the step failed
    unknown: bool = False  # sent, answer lost, and no lookup could tell whether it took effect
    refused: bool = False  # AWS said no for good (ApiError.refused, AccessDenied): the same again gets the same no
    note: str | None = None  # e.g. how a lost answer was recovered

    @property
    def result(self) -> str:
        return "ok" if self.ok else "unknown" if self.unknown else "error"

    def describe(self) -> str:
        head = f"{self.step + 1}. {self.operation} {self.label}"
        if self.ok:
            tail = f" ({self.note})" if self.note else ""
            if self.job_id:
                return f"{head} → new job {self.job_id}{tail}"
            done = f"ok ({len(self.successful)} accepted)" if self.operation != SUBMIT else "ok"
            return f"{head} → {done}{tail}"
        return f"{head} → {'OUTCOME UNKNOWN' if self.unknown else 'FAILED'}: {self.error}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step + 1, "operation": self.operation, "ok": self.ok,
                               "result": self.result}
        if self.job_id:
            out["jobId"] = self.job_id
            out["jobName"] = self.job_name
        if self.operation != SUBMIT:
            out["successful"] = list(self.successful)
            out["errors"] = [dict(e) for e in self.errors]
        if self.error:
            out["error"] = self.error
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True, slots=True)
class Progress:
    """Sent before and after each step (and before the existence check, with step None)."""

    done: int  # steps finished so far
    total: int
    step: int | None
    message: str
    result: StepResult | None = None  # set once the step finished


@dataclass(frozen=True)
class Outcome:
    plan: Plan
    ok: bool
    steps: tuple[StepResult, ...] = ()  # the steps attempted, in order
    error: str | None = None  # one line: the first thing that went wrong
    missing: tuple[str, ...] = ()  # ids the existence check did not find
    warnings: tuple[str, ...] = ()
    run_id: str | None = None  # this run's id (the audit's planId, the `batchtui:plan` tag)

    @property
    def unknown(self) -> bool:
        """A call was sent whose effect nobody could confirm: the caller must not simply try again."""
        return any(s.unknown for s in self.steps)

    @property
    def not_done(self) -> tuple[int, ...]:
        """Steps never attempted (0-based)."""
        return tuple(range(len(self.steps), len(self.plan.calls)))

    @property
    def changed(self) -> bool:
        """A call that changes something was sent (it may have taken effect even if its answer was an error)."""
        return bool(self.steps)

    @property
    def new_jobs(self) -> dict[int, str]:
        return {s.step: s.job_id for s in self.steps if s.job_id}

    def summary(self) -> str:
        total = len(self.plan.calls)
        if not total:
            return ("Nothing was sent now: every step of the plan waits." if self.plan.waiting
                    else "Nothing was done: the plan was empty.")
        if self.ok:
            lines = [f"Done: all {total} call{'s' if total != 1 else ''} succeeded."]
        elif not self.steps:
            lines = [f"Nothing was done: {self.error}"]
        elif self.unknown:
            lines = [f"Outcome unknown at step {len(self.steps)} of {total}: {self.error}"]
        else:
            lines = [f"Stopped at step {len(self.steps)} of {total}: {self.error}"]
        lines += [f"  {s.describe()}" for s in self.steps]
        for s in self.steps:
            for e in s.errors[:MAX_LISTED_ERRORS]:
                lines.append(f"     {e.get('jobId')}: {e.get('code')} {e.get('message')}".rstrip())
            if len(s.errors) > MAX_LISTED_ERRORS:
                lines.append(f"     … and {len(s.errors) - MAX_LISTED_ERRORS} more errors")
        if self.not_done and self.steps:
            lines.append("Not done:")
            lines += [f"  {n + 1}. {self.plan.calls[n].operation} {self.plan.calls[n].label}" for n in self.not_done]
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "result": "ok" if self.ok else "unknown" if self.unknown else "error",
            "error": self.error,
            "steps": [s.to_json() for s in self.steps],
            "notDone": [n + 1 for n in self.not_done],
            "newJobs": {str(n + 1): job_id for n, job_id in self.new_jobs.items()},
            **({"missing": list(self.missing)} if self.missing else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def accepted_cancels(outcome: Outcome, at: datetime, by: str = "you") -> tuple[Cancel, ...]:
    """What AWS accepted of a cancel plan, per job: the whole job, or the indices whose ids it called successful
    (the existence check ran first, so "successful" is not an unknown id). Nothing for a retry plan."""
    out: list[Cancel] = []
    for step in outcome.steps:
        if step.operation not in (CANCEL, TERMINATE):
            continue
        done = set(step.successful)
        for t in outcome.plan.calls[step.step].covers:
            if t.indices is None:
                if t.job_id in done:
                    out.append(Cancel(t.job_id, t.job_name, None, at, step.operation == TERMINATE, by))
                continue
            took = tuple(i for i in t.indices if f"{t.job_id}:{i}" in done)
            if took:
                out.append(Cancel(t.job_id, t.job_name, took, at, step.operation == TERMINATE, by))
    return tuple(out)


def submitted_jobs(outcome: Outcome, created_at: int) -> tuple[Job, ...]:
    """The jobs a retry's SubmitJobs made, as AWS first shows them (their dependsOn on earlier steps resolved to
    the new ids): the dashboard folds them into their originals at once, before the poller lists them."""
    ids = outcome.new_jobs
    jobs = []
    for step, job_id in ids.items():
        params = outcome.plan.calls[step].resolved(ids)
        if outcome.run_id:  # as sent: the run's tag is how the audit log and `batchtui plans` name it
            params["tags"] = {**(params.get("tags") or {}), PLAN_TAG: f"{outcome.run_id}.{step + 1}"}
        jobs.append(submitted_job(job_id, params, created_at))
    return tuple(jobs)


ProgressFn = Callable[[Progress], Awaitable[None] | None]


class Recorder(Protocol):
    """Where a run is recorded as it happens (audit.Journal). `intent` raising stops the run before any call."""

    def intent(self, run_id: str, plan: Plan) -> None: ...
    def call(self, run_id: str, result: StepResult) -> None: ...
    def outcome(self, run_id: str, outcome: Outcome | None, in_flight: int | None) -> None: ...


@dataclass
class Registry:
    """Plans executed (or executing) in this process, by fingerprint."""

    _state: dict[str, str] = field(default_factory=dict)  # fingerprint → "running" | "done"
    forbidden: str | None = None  # why no action may run at all (e.g. "batchtui runs with --readonly")

    def forbid(self, why: str) -> None:
        """From now on every execute() through this registry raises ActionsDisabled. There is no undo."""
        self.forbidden = why

    def claim(self, plan: Plan) -> None:
        if self.forbidden:
            raise ActionsDisabled(f"cannot {plan.kind}: {self.forbidden}")
        state = self._state.get(plan.fingerprint)
        if state is not None:
            what = "is running now" if state == "running" else "was executed already"
            raise AlreadyExecuted(f"this {plan.kind} plan {what}: not sent again (refresh and plan anew to act "
                                  "on what changed)")
        self._state[plan.fingerprint] = "running"

    def finish(self, plan: Plan, changed: bool) -> None:
        if changed:
            self._state[plan.fingerprint] = "done"
        else:  # refused before any change: running it again is safe
            self._state.pop(plan.fingerprint, None)


REGISTRY = Registry()


def forbid_actions(why: str = "batchtui runs with --readonly") -> None:
    """Make cancel and retry impossible in this process (the dashboard calls this under --readonly)."""
    REGISTRY.forbid(why)


async def execute(api: BatchPort, plan: Plan, progress: ProgressFn | None = None, *,
                  registry: Registry | None = None, stop: asyncio.Event | None = None,
                  recorder: Recorder | None = None, run_id: str | None = None) -> Outcome:
    """Make plan.calls in order; stop at the first failure, or before the next call once `stop` is set.

    Raises AlreadyExecuted for a plan run before, ActionsDisabled under --readonly, and whatever the recorder's
    `intent` raises (then nothing was sent). `run_id` (default: a new random one) names the run in the audit and
    in each SubmitJob's `batchtui:plan` tag; a waiting step passes its own fixed one, so the job it may have made
    before a crash can be found again (waitplans.py).
    """
    registry = registry or REGISTRY
    if plan.empty:
        if registry.forbidden:
            raise ActionsDisabled(f"cannot {plan.kind}: {registry.forbidden}")
        return Outcome(plan, ok=True)
    registry.claim(plan)  # before any await: two confirmations racing each other cannot both pass
    run = _Run(api, plan, progress, stop, run_id=run_id or uuid.uuid4().hex[:12])
    outcome: Outcome | None = None
    try:
        if recorder is not None:
            recorder.intent(run.run_id, plan)
            run.recorder = recorder
        outcome = await run.go()
        return outcome
    finally:
        # Interrupted (task cancelled) after a step was sent: keep the plan marked, it may have taken effect.
        registry.finish(plan, changed=outcome.changed if outcome is not None else bool(run.steps or run.sending))
        if run.recorder is not None:
            run.recorder.outcome(run.run_id, outcome, None if outcome is not None else run.in_flight)


@dataclass
class _Run:
    api: BatchPort
    plan: Plan
    progress: ProgressFn | None
    stop: asyncio.Event | None = None
    run_id: str = ""
    recorder: Recorder | None = None
    steps: list[StepResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sending: bool = False
    in_flight: int | None = None  # the step sent and not yet answered

    async def go(self) -> Outcome:
        total = len(self.plan.calls)
        if self.plan.kind == KIND_CANCEL:
            refused = await self._check_ids()
            if refused is not None:
                return refused
        job_ids: dict[int, str] = {}
        for n, call in enumerate(self.plan.calls):
            if self.stop is not None and self.stop.is_set():
                what = f"after step {n} of {total}" if n else "before the first call"
                return self._outcome(False, f"stopped by request {what}")
            await self._report(Progress(n, total, n, f"{n + 1}/{total} {call.operation} {call.label}"))
            self.sending, self.in_flight = True, n
            result = await self._step(n, call, job_ids)
            self.steps.append(result)
            self.in_flight = None
            if self.recorder is not None:
                self.recorder.call(self.run_id, result)
            await self._report(Progress(n + 1, total, n, result.describe(), result))
            if not result.ok:
                return self._outcome(False, f"step {n + 1} ({call.operation}) failed: {result.error}")
            if result.job_id:
                job_ids[n] = result.job_id
        return self._outcome(True)

    def _outcome(self, ok: bool, error: str | None = None, **extra: Any) -> Outcome:
        return Outcome(self.plan, ok, tuple(self.steps), error, warnings=tuple(self.warnings), run_id=self.run_id,
                       **extra)

    async def _check_ids(self) -> Outcome | None:
        """Every id a cancel plan names must exist: CancelJobs would call an unknown id a success."""
        ids = list(dict.fromkeys(i for c in self.plan.calls for i in c.job_ids))
        await self._report(Progress(0, len(self.plan.calls), None, f"checking that {len(ids):,} job ids exist"))
        try:
            found = {i: child_status(j) for j in await self.api.describe_jobs(ids) if (i := job_id_of(j))}
        except BatchtuiError as e:
            return self._outcome(False, f"could not check the job ids before cancelling: {e}")
        missing = tuple(i for i in ids if i not in found)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            return self._outcome(False, f"no such job{'s' if len(missing) != 1 else ''}: {shown} (nothing was "
                                 "cancelled)", missing=missing)
        # Moved on since the plan was made? Say what the planned call will not do, rather than change the plan.
        started = [i for c in self.plan.calls if c.operation == CANCEL for i in c.job_ids
                   if found[i].active]
        if started:
            self.warnings.append(f"{len(started)} job(s) started running after the plan was made; CancelJobs does "
                                 f"not stop them (e.g. {started[0]}): cancel again to terminate them")
        return None

    async def _step(self, n: int, call: Call, job_ids: Mapping[int, str]) -> StepResult:
        base = StepResult(n, call.operation, call.label, ok=False)  # each outcome below says what became of it
        try:
            if call.operation == SUBMIT:
                return await self._submit(base, self._tagged(call.resolved(job_ids), n))
            if call.operation in (CANCEL, TERMINATE):
                fn = self.api.cancel_jobs if call.operation == CANCEL else self.api.terminate_jobs
                return _bulk_result(base, call, await fn(list(call.job_ids), call.params["reason"]))
            return replace(base, ok=False, error=f"unknown operation {call.operation!r}")
        except BatchtuiError as e:
            return replace(base, ok=False, error=str(e))
        except Exception as e:  # noqa: BLE001 - a bug must still end in a report of what was and was not done
            return replace(base, ok=False, error=f"unexpected {type(e).__name__}: {e}")

    def _tagged(self, params: dict[str, Any], n: int) -> dict[str, Any]:
        """The SubmitJob with this run's tag: how the job is found again if the answer is lost."""
        return {**params, "tags": {**(params.get("tags") or {}), PLAN_TAG: f"{self.run_id}.{n + 1}"}}

    async def _submit(self, base: StepResult, params: dict[str, Any]) -> StepResult:
        try:
            resp = await self.api.submit_job(**params)
        except OutcomeUnknown as e:
            return await self._find_lost(base, params, e)
        except BatchtuiError as e:  # refused, throttled past our retries, or never sent: nothing was created
            refused = isinstance(e, AccessDenied | UnknownQueue) or (isinstance(e, ApiError) and e.refused)
            return replace(base, ok=False, error=f"not submitted: {e}", refused=refused)
        job_id = job_id_of(resp)
        if not job_id:
            return replace(base, ok=False, unknown=True,
                           error="SubmitJob answered without a jobId: " + self._check_hint(params))
        return replace(base, ok=True, job_id=job_id, job_name=job_name_of(resp))

    async def _find_lost(self, base: StepResult, params: dict[str, Any], lost: OutcomeUnknown) -> StepResult:
        """The SubmitJob was sent and its answer lost: never send it again, look for the job it may have made."""
        queue, name, tag = params["jobQueue"], params["jobName"], params["tags"][PLAN_TAG]
        total = len(self.plan.calls)
        failure: BatchtuiError | None = None
        for delay in LOOKUP_DELAYS_S:
            await self._report(Progress(base.step, total, None,  # a message, not the step's start or end
                                        f"the answer to SubmitJob {name} was lost; looking for the job by its tag "
                                        f"{PLAN_TAG}={tag} in {delay:g} s"))
            await asyncio.sleep(delay)
            try:
                found = await self.api.find_job(queue, name, PLAN_TAG, tag)
            except BatchtuiError as e:  # throttled, say: try again after the next wait
                failure = e
                continue
            if found:
                return replace(base, ok=True, job_id=found, job_name=name,
                               note=f"its answer was lost ({lost}), the job was found by its tag")
        why = f"the lookup failed too ({failure})" if failure else (
            f"no job with that tag showed up within {sum(LOOKUP_DELAYS_S):g} s")
        return replace(base, ok=False, unknown=True,
                       error=f"{lost}; {why}: {self._check_hint(params)}")

    @staticmethod
    def _check_hint(params: Mapping[str, Any]) -> str:
        tag = params["tags"][PLAN_TAG]
        return (f"do not retry before checking: `aws batch list-jobs --job-queue {params['jobQueue']} --filters "
                f"name=JOB_NAME,values={params['jobName']}` and look for the tag {PLAN_TAG}={tag}")

    async def _report(self, p: Progress) -> None:
        if self.progress is None:
            return
        try:
            maybe = self.progress(p)
            if inspect.isawaitable(maybe):
                await maybe
        except Exception as e:  # noqa: BLE001 - a broken progress display must not stop an action halfway
            self.warnings.append(f"progress display failed: {type(e).__name__}: {e}")


def _bulk_result(base: StepResult, call: Call, result: BulkResult) -> StepResult:
    successful = tuple(getattr(result, "successful", None) or ())
    errors = tuple(dict(e) for e in (getattr(result, "errors", None) or ()))
    unanswered = [i for i in call.job_ids if i not in successful and i not in {e.get("jobId") for e in errors}]
    errors += tuple({"jobId": i, "code": "NoAnswer", "message": "neither successful nor an error"} for i in unanswered)
    if errors:
        first = errors[0]
        error = (f"{len(errors)} of {len(call.job_ids)} job(s) refused, e.g. {first.get('jobId')}: "
                 f"{first.get('code')} {first.get('message')}".rstrip())
        return replace(base, ok=False, successful=successful, errors=errors, error=error)
    return replace(base, ok=True, successful=successful)
