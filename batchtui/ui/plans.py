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
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from batchtui import audit, waitplans
from batchtui.errors import BatchtuiError
from batchtui.execute import LOOKUP_DELAYS_S, Outcome
from batchtui.plan import Plan, os_user
from batchtui.ui.events import BAD, GOOD, INFO, WARN, Event

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
                                directory=self._dir())
        if stored is not None:
            self.mine.add(stored.plan_id)
            self.said.add(stored.plan_id)
        return stored

    async def round(self, api: BatchPort, snap: Snapshot, at: datetime, forbidden: str | None) -> list[Event]:
        """Move on every pending plan `snap` can decide; the events to show."""
        plans, problems = waitplans.list_plans(self._dir())
        events = self._looked_up(at)
        events += [self._once(p, Event(at, WARN, p, kind="info")) for p in problems]
        for plan in plans:
            if plan.state != waitplans.PENDING or not waitplans.concerns(plan, snap):
                continue
            if plan.plan_id not in self.mine:
                line = f"resumed pending {waitplans.progress_line(plan)}"
                events.append(self._once(plan.plan_id, Event(at, INFO, line, kind="job")))
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
            done = await waitplans.advance(waitplans.Sender(api, self._dir(), journal), plan_id, snap, look_up=False)
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
            sender = waitplans.Sender(api, self._dir(), journal, lookup_delays_s=self.lookup_delays_s)
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

    def _dir(self) -> Path:
        return self.directory or waitplans.plans_dir()


def _journal(api: BatchPort) -> audit.Journal:
    return audit.Journal(None, audit.who(profile=getattr(api, "profile", None), region=getattr(api, "region", None),
                                         endpoint=getattr(api, "endpoint_url", None)))


def _events(done: list[waitplans.PlanEvent], journal: audit.Journal, at: datetime) -> list[Event]:
    out = [Event(at, LEVELS.get(e.kind, WARN), e.text, alert=e.kind not in QUIET, kind="job") for e in done]
    if journal.error is not None:
        out.append(Event(at, WARN, str(journal.error), alert=True))
    return out
