"""Runs a Plan through the client facade, one call after another, and says exactly what happened.

    outcome = await execute(api, plan, progress=on_progress)   # on_progress(Progress): plain or async function

- Cancel plans are checked first: every id they name must exist (DescribeJobs). CancelJobs/TerminateJobs report an
  unknown id as *successful*, so without this check a typo would look like a cancelled job.
- Bulk answers' `errors` are read: any error fails the step.
- The first failed step stops the run; the Outcome lists what was done, what failed and why, and what was not done.
  An action never half-happens silently.
- A plan runs at most once per process (keyed by its fingerprint): confirming twice submits once. Only a plan
  refused by the check before any change may be run again.
- `stop` (an asyncio.Event) ends the run cleanly between two calls (Ctrl-C in the CLI, a "stop" key in the UI);
  a call already sent is never abandoned halfway. `forbid_actions()` (--readonly) makes execute() refuse.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from batchtui.errors import BatchtuiError
from batchtui.model import Status
from batchtui.plan import CANCEL, KIND_CANCEL, SUBMIT, TERMINATE, Call, Plan

MAX_LISTED_ERRORS = 10  # bulk errors named one by one in a summary


class Api(Protocol):  # the part of batchtui.aws.BatchApi this module uses
    async def describe_jobs(self, ids: Sequence[str]) -> list[dict]: ...
    async def submit_job(self, **kwargs: Any) -> dict: ...
    async def cancel_jobs(self, ids: Sequence[str], reason: str) -> Any: ...
    async def terminate_jobs(self, ids: Sequence[str], reason: str) -> Any: ...


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

    def describe(self) -> str:
        head = f"{self.step + 1}. {self.operation} {self.label}"
        if self.ok:
            if self.job_id:
                return f"{head} → new job {self.job_id}"
            return f"{head} → ok ({len(self.successful)} accepted)" if self.operation != SUBMIT else f"{head} → ok"
        return f"{head} → FAILED: {self.error}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step + 1, "operation": self.operation, "ok": self.ok}
        if self.job_id:
            out["jobId"] = self.job_id
            out["jobName"] = self.job_name
        if self.operation != SUBMIT:
            out["successful"] = list(self.successful)
            out["errors"] = [dict(e) for e in self.errors]
        if self.error:
            out["error"] = self.error
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
            return "Nothing was done: the plan was empty."
        if self.ok:
            lines = [f"Done: all {total} call{'s' if total != 1 else ''} succeeded."]
        elif not self.steps:
            lines = [f"Nothing was done: {self.error}"]
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
            "error": self.error,
            "steps": [s.to_json() for s in self.steps],
            "notDone": [n + 1 for n in self.not_done],
            "newJobs": {str(n + 1): job_id for n, job_id in self.new_jobs.items()},
            **({"missing": list(self.missing)} if self.missing else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


ProgressFn = Callable[[Progress], Awaitable[None] | None]


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

    def executed(self, plan: Plan) -> bool:
        return plan.fingerprint in self._state


REGISTRY = Registry()


def forbid_actions(why: str = "batchtui runs with --readonly") -> None:
    """Make cancel and retry impossible in this process (the dashboard calls this under --readonly)."""
    REGISTRY.forbid(why)


async def execute(api: Api, plan: Plan, progress: ProgressFn | None = None, *,
                  registry: Registry | None = None, stop: asyncio.Event | None = None) -> Outcome:
    """Make plan.calls in order; stop at the first failure, or before the next call once `stop` is set.

    Raises AlreadyExecuted for a plan run before, ActionsDisabled under --readonly.
    """
    registry = registry or REGISTRY
    if plan.empty:
        if registry.forbidden:
            raise ActionsDisabled(f"cannot {plan.kind}: {registry.forbidden}")
        return Outcome(plan, ok=True)
    registry.claim(plan)  # before any await: two confirmations racing each other cannot both pass
    run = _Run(api, plan, progress, stop)
    outcome: Outcome | None = None
    try:
        outcome = await run.go()
        return outcome
    finally:
        # Interrupted (task cancelled) after a step was sent: keep the plan marked, it may have taken effect.
        registry.finish(plan, changed=outcome.changed if outcome is not None else bool(run.steps or run.sending))


@dataclass
class _Run:
    api: Api
    plan: Plan
    progress: ProgressFn | None
    stop: asyncio.Event | None = None
    steps: list[StepResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sending: bool = False

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
                return Outcome(self.plan, False, tuple(self.steps), f"stopped by request {what}",
                               warnings=tuple(self.warnings))
            await self._report(Progress(n, total, n, f"{n + 1}/{total} {call.operation} {call.label}"))
            self.sending = True
            result = await self._step(n, call, job_ids)
            self.steps.append(result)
            await self._report(Progress(n + 1, total, n, result.describe(), result))
            if not result.ok:
                return Outcome(self.plan, False, tuple(self.steps), f"step {n + 1} ({call.operation}) failed: "
                               f"{result.error}", warnings=tuple(self.warnings))
            if result.job_id:
                job_ids[n] = result.job_id
        return Outcome(self.plan, True, tuple(self.steps), warnings=tuple(self.warnings))

    async def _check_ids(self) -> Outcome | None:
        """Every id a cancel plan names must exist: CancelJobs would call an unknown id a success."""
        ids = list(dict.fromkeys(i for c in self.plan.calls for i in c.job_ids))
        await self._report(Progress(0, len(self.plan.calls), None, f"checking that {len(ids):,} job ids exist"))
        try:
            found = {str(j.get("jobId")): j for j in await self.api.describe_jobs(ids)}
        except BatchtuiError as e:
            return Outcome(self.plan, False, error=f"could not check the job ids before cancelling: {e}")
        missing = tuple(i for i in ids if i not in found)
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            return Outcome(self.plan, False, missing=missing,
                           error=f"no such job{'s' if len(missing) != 1 else ''}: {shown} (nothing was cancelled)")
        # Moved on since the plan was made? Say what the planned call will not do, rather than change the plan.
        started = [i for c in self.plan.calls if c.operation == CANCEL for i in c.job_ids
                   if Status.parse(found[i].get("status")).active]
        if started:
            self.warnings.append(f"{len(started)} job(s) started running after the plan was made; CancelJobs does "
                                 f"not stop them (e.g. {started[0]}): cancel again to terminate them")
        return None

    async def _step(self, n: int, call: Call, job_ids: Mapping[int, str]) -> StepResult:
        base = {"step": n, "operation": call.operation, "label": call.label}
        try:
            if call.operation == SUBMIT:
                resp = await self.api.submit_job(**call.resolved(job_ids))
                job_id = resp.get("jobId")
                if not job_id:
                    return StepResult(**base, ok=False, error="SubmitJob answered without a jobId")
                return StepResult(**base, ok=True, job_id=job_id, job_name=resp.get("jobName"))
            if call.operation in (CANCEL, TERMINATE):
                fn = self.api.cancel_jobs if call.operation == CANCEL else self.api.terminate_jobs
                return _bulk_result(base, call, await fn(list(call.job_ids), call.params["reason"]))
            return StepResult(**base, ok=False, error=f"unknown operation {call.operation!r}")
        except BatchtuiError as e:
            return StepResult(**base, ok=False, error=str(e))
        except Exception as e:  # noqa: BLE001 - a bug must still end in a report of what was and was not done
            return StepResult(**base, ok=False, error=f"unexpected {type(e).__name__}: {e}")

    async def _report(self, p: Progress) -> None:
        if self.progress is None:
            return
        try:
            maybe = self.progress(p)
            if inspect.isawaitable(maybe):
                await maybe
        except Exception as e:  # noqa: BLE001 - a broken progress display must not stop an action halfway
            self.warnings.append(f"progress display failed: {type(e).__name__}: {e}")


def _bulk_result(base: dict, call: Call, result: Any) -> StepResult:
    successful = tuple(getattr(result, "successful", None) or ())
    errors = tuple(dict(e) for e in (getattr(result, "errors", None) or ()))
    unanswered = [i for i in call.job_ids if i not in successful and i not in {e.get("jobId") for e in errors}]
    errors += tuple({"jobId": i, "code": "NoAnswer", "message": "neither successful nor an error"} for i in unanswered)
    if errors:
        first = errors[0]
        error = (f"{len(errors)} of {len(call.job_ids)} job(s) refused, e.g. {first.get('jobId')}: "
                 f"{first.get('code')} {first.get('message')}".rstrip())
        return StepResult(**base, ok=False, successful=successful, errors=errors, error=error)
    return StepResult(**base, ok=True, successful=successful)
