"""The dashboard's side of waiting plans (waitplans.py): after each refresh, the pending plans its snapshot can
decide are moved on – steps sent once their conditions hold, dropped when they never can – with no API call but
the SubmitJobs. A plan this dashboard did not make (an earlier batchtui, `batchtui retry` without --wait) is said
to be resumed once; a plan file that cannot be read is said once, and never executed. No Textual here.

A step found "submitting" (sent, its answer never recorded) is looked for by its tag – up to 15 s, ListJobs lags –
in a task of its own (`waitplans.look_up`, under the plan's lock, as ever), so it holds neither a refresh nor the
other plans; what it found is said at the next round."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from batchtui import audit, waitplans
from batchtui.errors import BatchtuiError
from batchtui.execute import LOOKUP_DELAYS_S, Outcome
from batchtui.plan import Plan, os_user
from batchtui.sanitize import printable as clean
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.events import BAD, GOOD, INFO, WARN, Event
from batchtui.ui.palette import Role

if TYPE_CHECKING:
    from batchtui.aws import BatchPort
    from batchtui.model import Snapshot

log = logging.getLogger(__name__)
LEVELS = {waitplans.SUBMITTED: GOOD, waitplans.DROPPED: BAD, waitplans.BLOCKED: WARN, waitplans.WAITING: INFO}
QUIET = (waitplans.SUBMITTED, waitplans.WAITING)  # no toast or bell: good news, or a blocked step waiting again


@dataclass
class PlanWatch:
    directory: Path | None = None  # None: waitplans.plans_dir(), read when used (tests set XDG_STATE_HOME)
    mine: set[str] = field(default_factory=set)  # plans kept by this dashboard
    said: set[str] = field(default_factory=set)  # plan ids (and problems) already announced
    lookups: dict[str, asyncio.Task[list[Event]]] = field(default_factory=dict)  # plan id → its tag lookup
    lookup_delays_s: tuple[float, ...] = LOOKUP_DELAYS_S  # the waits before each look (tests shorten them)

    def keep(self, plan: Plan, outcome: Outcome, queue: str) -> waitplans.StoredPlan | None:
        """The plan's waiting steps, once every call before them was made; None when there are none to keep."""
        if not plan.waiting or not outcome.ok:
            return None
        stored = waitplans.keep(plan, outcome.new_jobs, queue, os_user(), plan_id=outcome.run_id,
                                directory=self.where(), origin=waitplans.made_by("the dashboard"))
        if stored is not None:
            self.mine.add(stored.plan_id)
            self.said.add(stored.plan_id)
        return stored

    async def round(self, api: BatchPort, snap: Snapshot, at: datetime, forbidden: str | None) -> list[Event]:
        """Move on every pending plan `snap` can decide; the events to show."""
        plans, problems = waitplans.list_plans(self.where())
        events = self._looked_up(at)
        events += [self._once(p, Event(at, WARN, p, kind="info")) for p in problems]
        for plan in plans:
            if plan.state != waitplans.PENDING or not waitplans.concerns(plan, snap):
                continue
            if plan.plan_id not in self.mine:
                line = f"resumed pending {waitplans.progress_line(plan)}"
                events.append(self._once(plan.plan_id, Event(at, INFO, line, kind="plan")))
            if forbidden:
                events.append(self._once(f"{plan.plan_id}/ro", Event(
                    at, WARN, f"plan {plan.plan_id} is pending: its steps are not submitted ({forbidden})")))
                continue
            if waitplans.stranded(plan):
                self._look_up(api, plan.plan_id, at)
                continue
            events.extend(await self._advance(api, plan.plan_id, snap, at))
        return [e for e in events if e is not None]

    async def _advance(self, api: BatchPort, plan_id: str, snap: Snapshot, at: datetime) -> list[Event | None]:
        journal = _journal(api)
        try:
            done = await waitplans.advance(waitplans.Sender(api, self.where(), journal), plan_id, snap, look_up=False)
        except BatchtuiError as e:
            return [self._once(str(e), Event(at, WARN, str(e)))]
        return list(_events(done, journal, at))

    def _look_up(self, api: BatchPort, plan_id: str, at: datetime) -> None:
        """Start the plan's tag lookup unless it runs already (one per plan: the lock would turn a second away)."""
        running = self.lookups.get(plan_id)
        if running is not None and not running.done():
            return
        journal = _journal(api)

        async def look() -> list[Event]:
            sender = waitplans.Sender(api, self.where(), journal, lookup_delays_s=self.lookup_delays_s)
            return list(_events(await waitplans.look_up(sender, plan_id), journal, at))

        self.lookups[plan_id] = asyncio.create_task(look(), name=f"batchtui plan {plan_id} lookup")

    def _looked_up(self, at: datetime) -> list[Event | None]:
        """What the lookups that ended since the last round found (or why they could not look)."""
        out: list[Event | None] = []
        for plan_id, task in list(self.lookups.items()):
            if not task.done():
                continue
            del self.lookups[plan_id]
            if task.cancelled():
                continue
            error = task.exception()
            if error is None:
                out.extend(task.result())
            elif isinstance(error, BatchtuiError):
                out.append(self._once(str(error), Event(at, WARN, str(error))))
            else:  # a bug: logged with its traceback, said in one line
                log.error("plan %s lookup", plan_id, exc_info=error)
                out.append(Event(at, WARN, f"plan {plan_id}: the lookup failed: {type(error).__name__}: {error}"))
        return out

    def _once(self, key: str, event: Event) -> Event | None:
        if key in self.said:
            return None
        self.said.add(key)
        return event

    def where(self) -> Path:
        return self.directory or waitplans.plans_dir()


def _journal(api: BatchPort) -> audit.Journal:
    return audit.Journal(None, audit.who(profile=getattr(api, "profile", None), region=getattr(api, "region", None),
                                         endpoint=getattr(api, "endpoint_url", None)))


def _events(done: list[waitplans.PlanEvent], journal: audit.Journal, at: datetime) -> list[Event]:
    out = [Event(at, LEVELS.get(e.kind, WARN), e.text, alert=e.kind not in QUIET, kind="plan") for e in done]
    if journal.error is not None:
        out.append(Event(at, WARN, str(journal.error), alert=True))
    return out


# --- what the plans screen shows (pure: a plan in, Rich text out) --------------------------------------------------

STEP_ROLE = {waitplans.WAITING: Role.PENDING, waitplans.BLOCKED: Role.WARNING, waitplans.SUBMITTING: Role.RUNNING,
             waitplans.SUBMITTED: Role.SUCCEEDED, waitplans.DROPPED: Role.FAILED}


def created_at(plan: waitplans.StoredPlan) -> datetime | None:
    try:
        return datetime.fromisoformat(plan.created.replace("Z", "+00:00"))
    except ValueError:
        return None


def created_text(plan: waitplans.StoredPlan, now: datetime) -> str:
    """'03:40 UTC · 12m 05s ago' (the date too when it is not today's)."""
    at = created_at(plan)
    if at is None:
        return clean(plan.created)
    day = "" if at.date() == now.astimezone(UTC).date() else at.strftime("%Y-%m-%d ")
    return f"{day}{fmt.clock_time(at, seconds=False)} UTC · {fmt.age((now - at).total_seconds())}"


def steps_text(plan: waitplans.StoredPlan) -> Text:
    """'2 waiting (1 blocked) · 1 submitted · 1 dropped', each count in its state's colour."""
    parts = [(plan.waiting, "waiting", Role.PENDING), (plan.count(waitplans.BLOCKED), "blocked", Role.WARNING),
             (plan.count(waitplans.SUBMITTED), "submitted", Role.SUCCEEDED),
             (plan.count(waitplans.DROPPED), "dropped", Role.FAILED)]
    out = Text()
    for n, word, role in parts:
        if n or word == "waiting":
            if out:
                out.append(" · ", pal.style(Role.MUTED))
            out.append(f"{n} {word}", pal.style(role, bold=word == "blocked"))
    return out


def waits_for(plan: waitplans.StoredPlan) -> Text:
    """What the first step still to be sent waits for (or is blocked by)."""
    step = next((s for s in plan.steps if s.open), None)
    if step is None:
        return Text("nothing", pal.style(Role.MUTED))
    role = Role.WARNING if step.state == waitplans.BLOCKED else Role.TEXT
    return Text(clean(f"{step.name}: {step.reason or step.describe(plan.steps)}"), pal.style(role))


def plan_detail(plan: waitplans.StoredPlan, now: datetime) -> Group:
    """The plan under the cursor: where it came from, then each step – state, what it re-runs, what it waits for,
    what was last said about it (a blocked step's reason and fix, a dropped one's why, a submitted one's job id)."""
    head = Text()
    head.append(f"Plan {plan.plan_id}", pal.style(Role.BRIGHT, bold=True))
    head.append(f"  created {created_text(plan, now)} by {clean(plan.user)}", pal.style(Role.SOFT))
    if plan.origin:
        head.append(f" · {clean(plan.origin)}", pal.style(Role.MUTED))
    head.append(f"\nconditions checked on queue {clean(plan.queue)} · from a shell: `batchtui plans cancel "
                f"{plan.plan_id}`", pal.style(Role.MUTED))
    steps = Table.grid(padding=(0, 1))
    steps.add_column(width=3, no_wrap=True)  # W1: the wrapped lines of a step stay indented under its name
    steps.add_column(ratio=1)
    for k, step in enumerate(plan.steps):
        steps.add_row("", "")
        steps.add_row(Text(f"W{k + 1}", pal.style(Role.KEY, bold=True)), _step_head(step))
        for line in _step_lines(plan, step):
            steps.add_row("", line)
    return Group(head, steps)


def _step_head(step: waitplans.Step) -> Text:
    t = Text(clean(step.name), pal.style(Role.TEXT, bold=True))
    t.append(f"  {step.state}", pal.style(STEP_ROLE.get(step.state, Role.TEXT), bold=True))
    if step.job_id:
        t.append(f"  {clean(step.job_id)}", pal.style(Role.FAINT))
    return t


def _step_lines(plan: waitplans.StoredPlan, step: waitplans.Step) -> list[Text]:
    _, _, shape = step.label.partition(": ")
    lines = [Text(clean(shape or step.label), pal.style(Role.SOFT))]
    if step.reason:  # what the last round said: it names the condition and how far it is
        role = {waitplans.BLOCKED: Role.WARNING, waitplans.DROPPED: Role.FAILED}.get(step.state, Role.MUTED)
        lines.append(Text(("why: " if step.state == waitplans.DROPPED else "now: ") + clean(step.reason),
                          pal.style(role)))
    elif step.open:
        lines.append(Text(clean(step.describe(plan.steps)), pal.style(Role.MUTED)))
    if step.fix:
        lines.append(Text.assemble(("fix: ", pal.style(Role.KEY, bold=True)),
                                   (clean(step.fix), pal.style(Role.BRIGHT))))
    return lines
