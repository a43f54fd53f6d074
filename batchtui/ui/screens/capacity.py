"""The Capacity view (`c`, `:capacity`): why work is not moving – the queue, its compute environments in the order
it tries them (state, status, vCPUs desired/max, instance types), the front of the queue, and each waiting job's
cause with its fix. batchtui changes no environment or queue itself (infrastructure code usually owns them): it
shows the command; cancelling a blocking head is the usual planned, confirmed, audited cancel (`:job ID`, ctrl+k).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import cached_property, partial

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from batchtui.capacity import World, diagnose_in, waits_where
from batchtui.model import Job, Snapshot
from batchtui.sanitize import printable as clean
from batchtui.ui import palette as pal
from batchtui.ui.dashboard import Dashboard, dashboard
from batchtui.ui.palette import Role

FRONT_SHOWN = 10


def capacity_view(snap: Snapshot | None) -> Group:
    """Everything the view shows, as one renderable (pure: a Snapshot in): the watched queue, then a section for
    each other queue holding RUNNABLE work we show (a retry followed into OtherQueue)."""
    none = Text("No RUNNABLE work in this queue: nothing waits for capacity (compute environments are read only "
                "while something does).", pal.style(Role.MUTED))
    if snap is None:
        return Group(none)
    if snap.worlds:  # what the screens show as RUNNABLE here waits in the queues below
        none = Text("No RUNNABLE work in this queue itself: what waits is in the other queue(s) below.",
                    pal.style(Role.MUTED))
    parts: list = [none] if snap.capacity is None else _section(snap, snap.capacity, lambda q: q not in snap.worlds)
    for name, other in sorted(snap.worlds.items()):
        parts += [Text(""), Text(f"── {clean(name)}: another queue holding RUNNABLE work shown here ──",
                                 pal.style(Role.ACCENT, bold=True)), Text("")]
        parts += _section(snap, other, partial(operator.eq, name))
    return Group(*parts)


def _section(snap: Snapshot, world: World, here: Callable[[str], bool]) -> list:
    """One queue's world; `here`: whether a job diagnosed in the queue of that name belongs in this section."""
    parts: list = [_queue(world), Text(""), _environments(world), Text(""), _front(world, snap), Text(""),
                   _waiting(snap, here)]
    if world.rivals:
        parts += [Text(""), _rivals(world)]
    parts += [Text(""), Text(f"Instance sizes from {world.sizes_from}.", pal.style(Role.MUTED))]
    if world.sizes_note:
        parts.append(Text(clean(world.sizes_note), pal.style(Role.WARNING, bold=True)))
    if world.missing:
        parts += [Text(""), Text("Could not read: " + "; ".join(world.missing), pal.style(Role.WARNING, bold=True))]
    return parts


def _rivals(world: World) -> Text:
    """Higher-priority queues sharing the environments: Batch places their work first."""
    t = Text("Higher-priority queues sharing its environments (placed first)\n", pal.style(Role.ACCENT, bold=True))
    for r in world.rivals:
        work = "work unknown" if r.runnable is None and r.running_vcpus is None else \
            f"{r.runnable or 0:,} RUNNABLE at its front · {r.running_vcpus or 0:g} vCPUs running"
        t.append(f"  {clean(r.name)}", pal.style(Role.TEXT))
        t.append(f"  priority {r.priority} · shares {clean(', '.join(r.shared))} · {work}\n", pal.style(Role.MUTED))
    return t


def _state(value: str, good: str) -> Text:
    return Text(value or "?", pal.style(Role.SUCCEEDED if value == good else Role.FAILED, bold=True))


def _queue(world: World) -> Text:
    q = world.queue
    if q is None:
        return Text("The queue could not be described.", pal.style(Role.WARNING, bold=True))
    t = Text("Queue ", pal.style(Role.ACCENT, bold=True))
    t.append(clean(q.name), pal.style(Role.TEXT))
    t.append("  ")
    t.append_text(_state(q.state, "ENABLED"))
    t.append(" · ")
    t.append_text(_state(q.status, "VALID"))
    t.append(f" · priority {q.priority}" if q.priority is not None else "", pal.style(Role.MUTED))
    t.append(" · fair share" if q.fair_share else " · first in, first out", pal.style(Role.MUTED))
    if q.status_reason:
        t.append(f"\n  {clean(q.status_reason)}", pal.style(Role.WARNING, bold=True))
    return t


def _environments(world: World) -> Table:
    t = Table(title="Compute environments, in the order the queue tries them", title_justify="left",
              title_style=pal.style(Role.ACCENT, bold=True), box=None, padding=(0, 2, 0, 0),
              header_style=pal.style(Role.MUTED))
    for col in ("#", "name", "kind", "state", "status", "vCPUs desired / max", "instance types"):
        t.add_column(col, overflow="fold")
    for n, e in enumerate(world.environments, 1):
        kind = f"{e.kind} {e.resources or ''}".strip()
        vcpus = f"{e.desired_vcpus if e.desired_vcpus is not None else '?'} / " \
                f"{e.max_vcpus if e.max_vcpus is not None else '?'}" if e.kind == "MANAGED" else "–"
        types = ", ".join(f"{n} (unknown size)" if n in e.unsized else n for n in e.instance_types) or "–"
        status = _state(e.status, "VALID")
        if e.status_reason:
            status.append(f" ({clean(e.status_reason)})", pal.style(Role.WARNING, bold=True))
        t.add_row(str(n), clean(e.name), kind, _state(e.state, "ENABLED"), status, vcpus, clean(types))
    if not world.environments:
        t.add_row("", Text("none could be read", pal.style(Role.MUTED)), "", "", "", "", "")
    return t


def _front(world: World, snap: Snapshot) -> Text:
    t = Text("Front of the queue (GetJobQueueSnapshot)\n", pal.style(Role.ACCENT, bold=True))
    if not world.front:
        t.append("  empty, or not readable\n", pal.style(Role.MUTED))
        return t
    for n, job_id in enumerate(world.front[:FRONT_SHOWN], 1):
        parent, _, index = job_id.partition(":")
        job = _job(snap, parent)
        name = (job.job_name if job else parent) + (f"[{index}]" if index else "")
        reason = None
        if job is not None and index.isdigit() and job.array is not None:
            d = job.array.details.get(int(index))
            reason = d.status_reason if d else None
        elif job is not None:
            reason = job.status_reason
        t.append(f"  {n}. {clean(name)}", pal.style(Role.TEXT))
        t.append(f"  {job_id}", pal.style(Role.MUTED))
        if reason:
            t.append(f"  {clean(reason)}", pal.style(Role.WARNING, bold=True))
        t.append("\n")
    if len(world.front) > FRONT_SHOWN:
        t.append(f"  … and {len(world.front) - FRONT_SHOWN} more\n", pal.style(Role.MUTED))
    return t


def _job(snap: Snapshot, job_id: str) -> Job | None:
    """A job of the snapshot, or a retry folded into its original (the effective view) that a queue's front names."""
    return snap.job(job_id) or next((r for r in snap.waits_in.values() if r.job_id == job_id), None)


def _waiting(snap: Snapshot, here: Callable[[str], bool]) -> Text:
    t = Text("Why work waits\n", pal.style(Role.ACCENT, bold=True))
    found = False
    for job in snap.jobs:
        w = diagnose_in(job, snap) if here(waits_where(job, snap)) else None
        if w is None:
            continue
        found = True
        t.append(f"  {clean(job.job_name)}: ", pal.style(Role.TEXT))
        t.append(w.cause, pal.style(Role.WARNING, bold=True))
        t.append(f" – {clean(w.text)}\n", pal.style(Role.TEXT))
        if w.fix:
            t.append(f"    fix: {clean(w.fix)}\n", pal.style(Role.MUTED))
    if not found:
        t.append("  nothing\n", pal.style(Role.MUTED))
    return t


class CapacityScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,c", "dismiss", "Close", id="capacity.close"),
                Binding("ctrl+k", "cancel_head", "Cancel the queue's head", id="capacity.cancel_head")]

    @cached_property
    def dash(self) -> Dashboard:
        return dashboard(self.app)

    def compose(self) -> ComposeResult:
        with Vertical(id="capacity-box"):
            with VerticalScroll():
                yield Static(capacity_view(self.dash.snap), id="capacity-body")
            yield Static(Text("Esc closes · ctrl+k cancels the job at the head of the queue (planned, confirmed, "
                              "audited) · batchtui changes no environment itself: it shows the command",
                              pal.style(Role.MUTED)),
                         id="capacity-foot")

    def on_mount(self) -> None:
        self.query_one("#capacity-box").border_title = "Capacity"

    def recolor(self) -> None:
        """The theme changed while open: the view again, in its colours."""
        if self.is_mounted:
            self.query_one("#capacity-body", Static).update(capacity_view(self.dash.snap))

    def action_cancel_head(self) -> None:
        """The usual cancel of the job blocking the queue: its plan window, confirmation and audit (not in
        --readonly, where the plan window refuses it)."""
        from batchtui.plan import Selection
        from batchtui.ui.screens.action import ActionScreen

        dash = self.dash
        snap = dash.snap
        world = snap.capacity if snap is not None else None
        if dash.readonly:
            dash.notify("read-only: batchtui sends no cancel", severity="warning")
            return
        if snap is None or world is None or not world.front:
            dash.notify("the front of the queue is not known", severity="warning")
            return
        head = world.front[0]
        parent, _, index = head.partition(":")
        job = snap.job(parent)
        what = (job.job_name if job else parent) + (f"[{index}]" if index else "")
        self.dismiss()
        self.app.push_screen(ActionScreen("cancel", [Selection.parse(head)], what))
