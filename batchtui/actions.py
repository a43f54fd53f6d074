"""`batchtui cancel` and `batchtui retry`: fetch what the targets need, plan, show, confirm, execute, record.

    batchtui cancel JOB_ID[:INDEX]... [--reason TEXT] [--dry-run] [--yes]
    batchtui retry JOB_ID[:INDEX]... [--downstream] [--memory MIB|xFACTOR] [--vcpus N] [--timeout DURATION]
                   [--queue QUEUE] [--env KEY=VALUE]... [--wait] [--dry-run] [--yes]
    batchtui plans [--json] | batchtui plans cancel ID [--json] | batchtui plans wait ID

The plan goes to stdout before anything happens; `--dry-run` stops there. A retry that changes resources first
reads the target queue's compute environments (two calls) so that a change no instance type could hold is refused
(exit 2) instead of sent. Without `--yes` the command asks
"Proceed? [y/N]" on the terminal. Exit codes (errors.py): 0 done (or nothing to do, or a dry run); 1 a runtime
error – AWS, an unknown job id, a failed call, the audit log not written – or the question answered no;
2 a usage error, including asking for confirmation with no terminal to ask on (pass --yes in scripts).

A retry whose steps must wait for work still running (plan.Waiting) keeps them as a pending plan (waitplans.py);
`--wait` (and `batchtui plans wait ID`) stays, polling the originals' queue, until each is submitted or dropped.

The dashboard uses the same pieces: `plan.plan_cancel/plan_retry` on its snapshot, then `perform` below.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from batchtui import audit, waitplans
from batchtui.capacity import World, environment_refs
from batchtui.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME,
    AccessDenied,
    BatchtuiError,
    OutputClosed,
    UsageError,
)
from batchtui.execute import Outcome, Progress, ProgressFn, Registry, execute
from batchtui.history import LocalHistory
from batchtui.overrides import Overrides, merge_env
from batchtui.plan import KIND_CANCEL, KIND_RETRY, Plan, Selection, check_reason, default_reason, os_user, plan_cancel
from batchtui.retry_plan import plan_retry, queues_to_check
from batchtui.sanitize import printable, printable_lines
from batchtui.shapes import Answer

if TYPE_CHECKING:  # the client itself is opened in main(), only when an action runs
    from batchtui.aws import BatchPort
    from batchtui.model import Snapshot


# How far back `batchtui retry` looks in the audit log for earlier retries it sent to another queue (unless --since
# says): a week, longer than AWS is sure to keep finished jobs; what it no longer returns costs one call per 100.
FOLLOW_WINDOW_S = 7 * 24 * 3600.0


async def perform(api: BatchPort, plan: Plan, progress: ProgressFn | None = None, *, profile: str | None = None,
                  audit_path: Path | None = None, registry: Registry | None = None,
                  stop: asyncio.Event | None = None) -> tuple[Outcome, audit.AuditError | None]:
    """execute() with the audit journal: the intent is on disk before the first call, each call's result after it.
    Raises AlreadyExecuted for a plan run before (ActionsDisabled under --readonly), AuditError when the intent
    cannot be written (then nothing was sent); a later record that could not be written comes back as the error to
    show (the action itself has happened by then). The profile is the client's unless given."""
    if plan.empty:
        return await execute(api, plan, progress, registry=registry, stop=stop), None
    journal = audit.Journal(audit_path, audit.who(profile=profile or getattr(api, "profile", None),
                                                  region=getattr(api, "region", None),
                                                  endpoint=getattr(api, "endpoint_url", None)))
    outcome = await execute(api, plan, progress, registry=registry, stop=stop, recorder=journal)
    return outcome, journal.error


def main(args: argparse.Namespace) -> int:
    return asyncio.run(run(args))


async def run(args: argparse.Namespace, stdin: TextIO | None = None, out: TextIO | None = None,
              err: TextIO | None = None) -> int:
    """The command inside a running event loop; BatchtuiError propagates (the CLI prints it, one line)."""
    return await _run(args, stdin or sys.stdin, out or sys.stdout, err or sys.stderr)


async def _run(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> int:
    from batchtui.aws import open_api
    from batchtui.scope import snapshot_for

    kind = args.command
    selections = [Selection.parse(t) for t in args.targets]
    reason = None
    if kind == KIND_CANCEL:
        reason = check_reason(args.reason) if args.reason is not None else default_reason()
    async with open_api(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url,
                        max_tps=args.max_tps) as api:
        # Earlier retries this machine sent to another queue, which no listing of the targets' queue shows: a second
        # retry must see them (by id) so as not to resubmit what they re-run.
        follow = LocalHistory(getattr(args, "since", None) or FOLLOW_WINDOW_S, endpoint=api.endpoint_url,
                              region=api.region).read().job_ids if kind == KIND_RETRY else ()
        snap = await snapshot_for(api, selections, kind, region=api.region, endpoint=args.endpoint_url,
                                  follow=follow)
        if kind == KIND_CANCEL:
            plan = plan_cancel(snap, selections, reason or default_reason())
        else:
            changes = changes_from(args)
            worlds = await read_worlds(api, queues_to_check(snap, selections, changes))
            plan = plan_retry(snap, selections, downstream=bool(getattr(args, "downstream", False)),
                              changes=changes, worlds=worlds, pending=waitplans.pending_originals())
        try:
            print(printable_lines(plan.summary()), file=out, flush=True)
        except BrokenPipeError:
            # The reader went away (`| head -1`). A dry run (or nothing to do) has done its job; anything else must
            # not act on a plan nobody could read, and must say so on stderr rather than end quietly.
            if args.dry_run or plan.empty:
                raise
            raise OutputClosed(f"output closed before the plan was shown: nothing was {_done(kind)}") from None
        if plan.refused:
            raise UsageError(f"the changes were refused: nothing was {_done(kind)}")
        if plan.empty:
            return EXIT_OK
        if args.dry_run:
            print("Dry run: nothing was changed.", file=out, flush=True)
            return EXIT_OK
        if not args.yes:
            answer = ask("Proceed? [y/N] ", stdin, err)
            if answer is None:
                raise UsageError(f"no terminal to ask for confirmation: nothing was {_done(kind)}; pass --yes to "
                                 "act without asking (or --dry-run to only see the plan)")
            if not answer:
                print(f"batchtui: not confirmed: nothing was {_done(kind)}", file=err)
                return EXIT_RUNTIME
        # Progress lines only on a terminal: in scripts stderr stays the one line that says what went wrong.
        progress = _printer(err) if _isatty(err) else None
        with _stop_on_interrupt(err) as stop:
            outcome, audit_error = await perform(api, plan, progress, profile=args.profile, stop=stop)
            code = _report(outcome, audit_error, out, err)
            stored = _keep(plan, snap, outcome, out, err)
            if stored is not None and getattr(args, "wait", False):
                code = max(code, await wait_plan(api, stored.plan_id, out=out, err=err, stop=stop,
                                                 interval_s=float(getattr(args, "refresh", None) or 5.0),
                                                 profile=args.profile))
    return code


def _report(outcome: Outcome, audit_error: audit.AuditError | None, out: TextIO, err: TextIO) -> int:
    summary = printable_lines(outcome.summary())  # AWS's own error messages are in it
    try:
        print(summary, file=out, flush=True)
    except BrokenPipeError:
        # The calls have been made by now: what happened must reach someone, so stderr gets it instead.
        print(summary, file=err, flush=True)
        if out is sys.stdout:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no second complaint when Python flushes at exit
    code = EXIT_OK
    if not outcome.ok:
        print(f"batchtui: {printable(outcome.error or 'the action failed')}", file=err)
        code = EXIT_RUNTIME
    if audit_error is not None:
        print(f"batchtui: {audit_error}", file=err)
        code = EXIT_RUNTIME
    return code


def _keep(plan: Plan, snap: Snapshot, outcome: Outcome, out: TextIO, err: TextIO) -> waitplans.StoredPlan | None:
    """The plan's waiting steps, written as a pending plan once every call they build on was made."""
    if not plan.waiting:
        return None
    if not outcome.ok:
        print(f"batchtui: the {len(plan.waiting)} waiting step(s) were not kept: not every call before them was "
              "made", file=err)
        return None
    stored = waitplans.keep(plan, outcome.new_jobs, waiting_queue(plan, snap), os_user(), plan_id=outcome.run_id,
                            origin=waitplans.made_by("batchtui retry"))
    if stored is not None:
        print(f"Kept plan {stored.plan_id} with {len(stored.steps)} waiting step(s) in {waitplans.plans_dir()}: "
              f"batchtui submits each once its condition holds – the dashboard while it runs, or `batchtui plans "
              f"wait {stored.plan_id}` (batchtui plans lists pending plans)", file=out, flush=True)
    return stored


def waiting_queue(plan: Plan, snap: Snapshot) -> str:
    """The queue the waiting steps' conditions are decided in: their originals' (what --wait polls)."""
    for w in plan.waiting:
        for c in w.conditions:
            job = snap.job(c.job_id)
            if job is not None and job.queue:
                return job.queue
    return str(plan.waiting[0].call.params.get("jobQueue") or snap.queue)


async def wait_plan(api: BatchPort, plan_id: str, *, out: TextIO, err: TextIO, stop: asyncio.Event,
                    interval_s: float, profile: str | None = None, directory: Path | None = None) -> int:
    """Poll the plan's queue and send its steps as their conditions hold, until none waits (0; 1 if one was
    dropped) or Ctrl-C (130: the plan stays pending, and the line says so)."""
    from batchtui.poller import Poller

    directory = directory or waitplans.plans_dir()
    path = waitplans.path_of(plan_id, directory)
    stored = waitplans.load(path)
    if stored.state != waitplans.PENDING:
        raise BatchtuiError(f"plan {plan_id} is {stored.state}: nothing to wait for")
    journal = audit.Journal(None, audit.who(profile=profile or getattr(api, "profile", None),
                                            region=getattr(api, "region", None),
                                            endpoint=getattr(api, "endpoint_url", None)))
    sender = waitplans.Sender(api, directory, journal)
    poller = Poller(api, stored.queue)
    # A step is judged on the effective state: a retry of a blocking index sent to another queue counts once the
    # poller follows it (by id, from the audit log: what this machine sent, read again at every round).
    history = LocalHistory(poller.since_s, endpoint=getattr(api, "endpoint_url", None), region=getattr(api, "region",
                                                                                                        None))
    shown = None
    while True:
        poller.follow((await asyncio.to_thread(history.read)).job_ids)
        snap = await poller.refresh()
        for event in await waitplans.advance(sender, plan_id, snap):
            print(printable(event.text), file=out, flush=True)
        stored = waitplans.load(path)
        line = printable(waitplans.progress_line(stored))  # a step's reason may quote AWS's error message
        if line != shown:
            print(f"  {line}", file=err, flush=True)
            shown = line
        if stored.state != waitplans.PENDING:
            return _waited(stored, journal, out, err)
        try:
            await asyncio.wait_for(stop.wait(), interval_s)
        except TimeoutError:
            continue
        print(f"batchtui: stopped waiting: plan {plan_id} stays pending ({line}); the dashboard submits its steps "
              f"while it runs, or `batchtui plans wait {plan_id}`", file=err, flush=True)
        return EXIT_INTERRUPTED


def _waited(stored: waitplans.StoredPlan, journal: audit.Journal, out: TextIO, err: TextIO) -> int:
    dropped = stored.count(waitplans.DROPPED)
    print(f"Plan {stored.plan_id} {stored.state}: {stored.count(waitplans.SUBMITTED)} submitted, {dropped} dropped",
          file=out, flush=True)
    code = EXIT_OK
    if dropped:
        why = next(s.reason for s in stored.steps if s.state == waitplans.DROPPED)
        print(f"batchtui: plan {stored.plan_id}: {dropped} step(s) dropped ({printable(why or '')})", file=err)
        code = EXIT_RUNTIME
    if journal.error is not None:
        print(f"batchtui: {journal.error}", file=err)
        code = EXIT_RUNTIME
    return code


def plans_main(args: argparse.Namespace) -> int:
    """`batchtui plans`: list pending plans, cancel one, or wait for one here."""
    if args.verb == "list":
        if args.plan_id:
            raise UsageError("batchtui plans takes no plan id (cancel ID or wait ID)")
        return _list_plans(args.json, sys.stdout)
    if not args.plan_id:
        raise UsageError(f"batchtui plans {args.verb} needs a plan id (batchtui plans lists them)")
    if args.verb == "cancel":
        plan = waitplans.cancel(args.plan_id, os_user())
        text = f"Plan {plan.plan_id} cancelled: {plan.waiting} step(s) will not be submitted " \
               f"({plan.count(waitplans.SUBMITTED)} were already)"
        print(json.dumps(plan.to_json()) if args.json else text)
        return EXIT_OK
    return asyncio.run(_wait_main(args))


def _list_plans(as_json: bool, out: TextIO) -> int:
    plans, problems = waitplans.list_plans()
    pending = [p for p in plans if p.state == waitplans.PENDING]
    for problem in problems:  # never executed, and said every time it is seen
        print(f"batchtui: {printable(problem)}", file=sys.stderr)
    if as_json:
        print(json.dumps({"plans": [p.to_json() for p in pending], "problems": problems}))
    elif not pending:
        print(f"No pending plans (in {waitplans.plans_dir()}).")
    else:
        for p in pending:
            print(printable(p.summary()))
    return EXIT_RUNTIME if problems else EXIT_OK


async def _wait_main(args: argparse.Namespace) -> int:
    from batchtui.aws import open_api

    waitplans.load(waitplans.path_of(args.plan_id))  # a bad id or file: said before any connection is made
    async with open_api(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url,
                        max_tps=args.max_tps) as api:
        with _stop_on_interrupt(sys.stderr) as stop:
            return await wait_plan(api, args.plan_id, out=sys.stdout, err=sys.stderr, stop=stop,
                                   interval_s=float(getattr(args, "refresh", None) or 5.0), profile=args.profile)


def changes_from(args: argparse.Namespace) -> Overrides:
    return Overrides(memory=getattr(args, "memory", None), vcpus=getattr(args, "vcpus", None),
                     timeout_s=getattr(args, "timeout", None), queue=getattr(args, "retry_queue", None),
                     env=merge_env((), list(getattr(args, "env", None) or ())))


async def read_worlds(api: BatchPort, queues: list[str]) -> dict[str, World]:
    """Each queue's compute environments, as the capacity checks read them; what cannot be read (no permission, an
    endpoint without the operation) is named in the World, and the plan says the fit was not checked. A queue AWS
    does not know is an error (UnknownQueue): nothing could be submitted to it."""
    out: dict[str, World] = {}
    for queue in queues:
        q = await api.check_queue(queue)
        refs = environment_refs(q)
        missing: list[str] = []
        envs: list[Answer] = []
        try:
            envs = await api.describe_compute_environments(refs) if refs else []
        except AccessDenied:
            missing.append("no permission for batch:DescribeComputeEnvironments")
        except BatchtuiError as e:
            missing.append(f"DescribeComputeEnvironments failed: {e}")
        out[queue] = World.parse(q, envs, None, missing)
    return out


@contextmanager
def _stop_on_interrupt(err: TextIO) -> Iterator[asyncio.Event]:
    """Ctrl-C while calls are being made: finish the call in flight, make no more, report and record it all."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        if stop.is_set():  # a second Ctrl-C: the person insists
            raise KeyboardInterrupt
        print("batchtui: stopping after the call in flight (Ctrl-C again to abandon it)", file=err, flush=True)
        stop.set()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or a platform without it
        yield stop
        return
    try:
        yield stop
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _done(kind: str) -> str:
    return "cancelled" if kind == KIND_CANCEL else "submitted" if kind == KIND_RETRY else "changed"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def ask(prompt: str, stdin: TextIO, err: TextIO) -> bool | None:
    """True/False for the answer; None when there is no terminal to ask on (never guess a yes)."""
    if not _isatty(stdin):
        return None
    err.write(prompt)
    err.flush()
    with _ctrl_c_interrupts():
        line = stdin.readline()
    return line.strip().lower() in ("y", "yes")


@contextmanager
def _ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt at once (the CLI exits 130), even inside a blocking read.

    asyncio.run turns the first Ctrl-C into a cancellation of its task, which cannot land while a blocking readline
    holds the loop: Ctrl-C at "Proceed? [y/N]" did nothing until Enter was pressed."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _printer(err: TextIO) -> ProgressFn:
    def show(p: Progress) -> None:
        if p.result is None and p.step is not None:
            return  # the line after the step says it all
        print(f"  [{p.done}/{p.total}] {printable(p.message)}", file=err, flush=True)

    return show
