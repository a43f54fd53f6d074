"""One job or one array index: timeline, attempts, definition, parameters, overrides, dependencies, and its log.

What the snapshot knows is shown at once; DescribeJobs (attempts, overrides, the log stream and log group) and
GetLogEvents are loaded in workers. An error from either is shown in place, never raised. `f` follows the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Footer, Log, Static

from batchtui.errors import BatchtuiError
from batchtui.lineage import Run, join
from batchtui.model import Attempt, ContainerSettings, IndexDetail, Job, JobDescription, LogEvent, RetryTimeout, Status
from batchtui.sanitize import printable as clean
from batchtui.shapes import retry_timeout
from batchtui.ui import format as fmt
from batchtui.ui import palette as pal
from batchtui.ui.events import failure_text
from batchtui.ui.insight import explain_index, explain_job
from batchtui.ui.palette import Role
from batchtui.ui.partners import downstream, upstream
from batchtui.ui.screens.base import DashboardScreen
from batchtui.ui.widgets.status_bar import StatusBar

DEFAULT_LOG_GROUP = "/aws/batch/job"
MAX_LOG_PAGES = 50  # one load reads at most this many GetLogEvents pages (10,000 events each at most)


class DetailScreen(DashboardScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("f", "follow", "Follow log", id="detail.follow"),
        Binding("home", "log_top", "Log top", show=False, id="detail.log_top"),
        Binding("end", "log_end", "Log end", show=False, id="detail.log_end"),
    ]

    def __init__(self, job_id: str, index: int | None = None) -> None:
        super().__init__()
        self.job_id = job_id
        self.index = index
        self.described: JobDescription | None = None  # the DescribeJobs answer, once loaded
        self.describe_error: str | None = None
        self.follow = False
        self._token: str | None = None
        self._log_lines = 0
        self._log_target: tuple[str, str] | None = None
        self._loaded_once = False
        self._described_at: Status | None = None  # the snapshot's status when DescribeJobs was last asked

    @property
    def child_id(self) -> str:
        """What DescribeJobs and the log are read for: the index's latest run (a retry's child once retried)."""
        runs = self._runs()
        if runs:
            return runs[-1].child_id
        return f"{self.job_id}:{self.index}" if self.index is not None else self.job_id

    @property
    def job(self) -> Job | None:
        snap = self.dash.snap
        return snap.job(self.job_id) if snap else None

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield Static(id="detail-title")
        with VerticalScroll(id="info-panel", classes="panel"):
            yield Static(id="info")
        with Vertical(id="log-panel", classes="panel"):
            yield Log(id="log", highlight=False, auto_scroll=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#info-panel").border_title = "Details"
        job = self.job
        status = self._status(job)
        self.follow = status in (Status.RUNNING, Status.STARTING)
        self._log_titles()
        self.load_details()
        self.set_interval(self.dash.refresh_s, self._poll_log)

    def snapshot_changed(self) -> None:
        self._render_info()
        if self._described_at is not None and self._status(self.job) != self._described_at:
            # It moved on (started, failed, succeeded) since DescribeJobs answered: its attempts, exit code and log
            # stream are stale ("Attempts: none yet" under FAILED exit 137; `f` had no log to follow). Once per
            # status change.
            self.load_details()
        super().snapshot_changed()

    # --- what we know ----------------------------------------------------------------------------------------

    def _detail(self, job: Job | None) -> IndexDetail | None:
        if job is None or job.array is None or self.index is None:
            return None
        return job.array.details.get(self.index) or IndexDetail(self.index)

    def _status(self, job: Job | None) -> Status:
        if job is None:
            return self.described.status if self.described else Status.UNKNOWN
        if self.index is not None and job.array is not None and 0 <= self.index < job.array.size:
            return job.array.status(self.index)
        return job.status

    def _render_info(self) -> None:
        job = self.job
        snap = self.dash.snap
        status = self._status(job)
        desc = self.described
        name = (job.job_name if job else (desc.job_name if desc else None) or self.job_id) + (
            f"[{self.index}]" if self.index is not None else "")
        title = Text()
        title.append(f" {clean(name)} ", Style(color=pal.color(Role.BRIGHT), bold=True, reverse=True))
        title.append("  ")
        title.append_text(fmt.status_text(status))
        exit_code = self._exit_code(job)
        if exit_code is not None:
            title.append(f"   exit {exit_code}", Style(color=fmt.status_color(Status.FAILED) if exit_code else
                                                    pal.color(Role.BRIGHT), bold=True))
        title.append(f"   {self.child_id}", pal.style(Role.FAINT))
        self.query_one("#detail-title", Static).update(title)

        rows = Table.grid(padding=(0, 2))
        rows.add_column(style=pal.style(Role.KEY, bold=True), no_wrap=True)
        rows.add_column(ratio=1)
        why = None
        if snap is not None:
            why = explain_index(snap, self.job_id, self.index) if self.index is not None else \
                explain_job(snap, self.job_id)
        if why is not None:
            rows.add_row("Why", Text(clean(why.summary), pal.style(Role.TEXT)))
        insight = self.dash.insights.get(self.job_id)
        if insight is not None and insight.waiting_text and status is Status.RUNNABLE:
            capacity = Text(clean(insight.waiting_text), pal.style(Role.TEXT))
            if insight.waiting_fix:
                capacity.append("\nfix: ", pal.style(Role.MUTED))
                capacity.append(clean(insight.waiting_fix), pal.style(Role.TEXT))
            rows.add_row("Capacity", capacity)
        failure = self._failure(job)
        if failure:
            rows.add_row("Reason", Text(clean(failure), pal.status_style(Status.FAILED)))
        rows.add_row("Timeline", self._timeline(job))
        runs = self._runs()
        if runs:
            rows.add_row("Runs", _runs_text(runs))
        attempts = self._attempts(job)
        rows.add_row("Attempts", _attempts_table(attempts) if attempts else Text("none yet", pal.style(Role.MUTED)))
        definition = (desc.job_definition if desc else None) or (job.job_definition if job else None)
        rows.add_row("Definition", Text(clean(_short_arn(definition) or "–"), pal.style(Role.TEXT)))
        queue = (desc.queue if desc else None) or (job.queue if job else None)
        if queue:
            rows.add_row("Queue", Text(clean(_short_arn(queue) or ""), pal.style(Role.TEXT)))
        params = (desc.parameters if desc else None) or (job.parameters if job else {})
        rows.add_row("Parameters", _mapping(params))
        if desc is not None and desc.container:  # what DescribeJobs says it ran with (definition + overrides)
            rows.add_row("Container", _settings(desc.container, CONTAINER_ORDER))
        else:
            kept = job.container_overrides if job else None
            rows.add_row("Overrides", _settings(kept.settings() if kept else ContainerSettings(), OVERRIDES_ORDER))
        retry_timeout = self._retry_timeout(job)
        if retry_timeout:
            rows.add_row("Retry/timeout", Text(retry_timeout, pal.style(Role.TEXT)))
        if job is not None and snap is not None:
            ups, downs = upstream(snap, job, self.index), downstream(snap, job, self.index)
            rows.add_row("Depends on", _partners(ups) if ups else Text("nothing", pal.style(Role.MUTED)))
            rows.add_row("Feeds", _partners(downs) if downs else Text("nothing", pal.style(Role.MUTED)))
        if self.describe_error:
            rows.add_row("DescribeJobs", Text(clean(self.describe_error), pal.style(Role.WARNING)))
        elif desc is None:
            rows.add_row("", Text("loading DescribeJobs…", pal.style(Role.MUTED)))
        self.query_one("#info", Static).update(Group(rows))

    def _runs(self) -> tuple[Run, ...]:
        """An original index re-run by a batchtui retry: where it ran first and where it runs now."""
        raw = self.dash.raw
        repair = join(raw).of(self.job_id) if raw is not None and self.index is not None else None
        return repair.runs(self.index) if repair is not None and self.index is not None else ()

    def _retry_timeout(self, job: Job | None) -> str:
        """"attempts 3, timeout 600s": DescribeJobs' retryStrategy and timeout, each else the snapshot's."""
        desc = self.described.retry_timeout if self.described else RetryTimeout()
        kept = retry_timeout(job.retry_strategy, job.timeout) if job else RetryTimeout()
        retry = desc if desc.has_retry else kept
        timeout = desc if desc.has_timeout else kept
        return ", ".join(filter(None, [f"attempts {retry.attempts}" if retry.has_retry else "",
                                       f"timeout {timeout.timeout_s}s" if timeout.has_timeout else ""]))

    def _exit_code(self, job: Job | None) -> int | None:
        if self.described is not None and self.described.exit_code is not None:
            return self.described.exit_code
        d = self._detail(job)
        if d is not None:
            return d.exit_code
        return job.exit_code if job else None

    def _failure(self, job: Job | None) -> str | None:
        desc = self.described
        if desc is not None and desc.status is Status.FAILED:
            return failure_text(None, desc.reason, desc.status_reason)
        if self._status(job) is Status.SUCCEEDED:
            # AWS gives a succeeded job a statusReason too ("Essential container in task exited"): shown as a red
            # "Reason" it read like a failure.
            return None
        d = self._detail(job)
        if d is not None:
            if d.reason or d.status_reason:
                return failure_text(None, d.reason, d.status_reason)
            return None
        if job is not None and job.status is Status.FAILED:
            return failure_text(None, job.reason, job.status_reason)
        return None

    def _timeline(self, job: Job | None) -> Text:
        desc = self.described
        d = self._detail(job)
        created = (desc.created_at if desc else None) or (job.created_at if job else None)
        started = (desc.started_at if desc else None) or (d.started_at if d else (job.started_at if job else None))
        stopped = (desc.stopped_at if desc else None) or (d.stopped_at if d else (job.stopped_at if job else None))
        t = Text()
        for label, value in (("created", created), ("started", started), ("stopped", stopped)):
            t.append(f"{label} ", pal.style(Role.MUTED))
            t.append(fmt.clock_time(value) if value else "–", pal.style(Role.TEXT))
            t.append("   ")
        if started:
            end = stopped or int(self.dash.data_now().timestamp() * 1000)
            t.append("ran " if stopped else "running for ", pal.style(Role.MUTED))
            t.append(fmt.duration((end - started) / 1000), pal.style(Role.TEXT))
        if created and started:
            t.append("   waited ", pal.style(Role.MUTED))
            t.append(fmt.duration((started - created) / 1000), pal.style(Role.TEXT))
        return t

    def _attempts(self, job: Job | None) -> list[Attempt]:
        if self.described is not None and self.described.attempts is not None:
            return list(self.described.attempts)
        d = self._detail(job)
        if d is not None:
            return list(d.attempts)
        return list(job.attempts) if job else []

    # --- loading ---------------------------------------------------------------------------------------------

    @work(exclusive=True, group="describe")
    async def load_details(self) -> None:
        try:
            await self._load_details()
        except NoMatches:  # the screen was closed while DescribeJobs was on its way
            pass

    async def _load_details(self) -> None:
        self._described_at = self._status(self.job)
        self._render_info()
        try:
            found = await self.dash.source.describe([self.child_id])
            self.described = found[0] if found else None
            self.describe_error = None if found else "AWS does not know this job any more (retention)"
        except BatchtuiError as e:
            self.describe_error = str(e)
        except Exception as e:  # noqa: BLE001 - a detail view must never take the app down
            self.describe_error = f"unexpected error: {type(e).__name__}: {e}"
        self._render_info()
        target = self._find_log()
        if self._log_target is not None and target != self._log_target:
            # Another attempt, another stream: read it from its start, not from the old stream's token.
            self.query_one(Log).clear()
            self._token, self._log_lines, self._loaded_once = None, 0, False
        self._log_target = target
        self._log_titles()
        if self._log_lines == 0:
            # Only our own notes so far ("no log stream yet", a warning): `r` loads again, and would repeat them.
            self.query_one(Log).clear()
        if self._log_target is None:
            self.query_one(Log).write_line("no log stream yet: the job has not started a container")
            return
        self.load_log()

    def _find_log(self) -> tuple[str, str] | None:
        desc = self.described
        stream = desc.log_stream if desc else None
        if not stream:
            job = self.job
            d = self._detail(job)
            stream = (d.log_stream if d else None) or (job.log_stream if job and self.index is None else None)
        if not stream:
            return None
        return (desc.log_group if desc else None) or DEFAULT_LOG_GROUP, stream

    @work(exclusive=True, group="log")
    async def load_log(self) -> None:
        try:
            await self._load_log()
        except NoMatches:  # closed meanwhile
            pass

    async def _load_log(self) -> None:
        if self._log_target is None:
            return
        group, stream = self._log_target
        log = self.query_one(Log)
        try:
            for _ in range(MAX_LOG_PAGES):
                page = await self.dash.source.log_page(group, stream, next_token=self._token, start_from_head=True)
                events = page.events
                if events:
                    log.write_lines([_log_line(e) for e in events])
                    self._log_lines += len(events)
                token = page.next_token
                done = not events or token == self._token
                self._token = token or self._token
                if done:
                    break
            if self._log_lines == 0 and self._token is None:
                log.write_line("(the log stream is empty)")
        except BatchtuiError as e:
            log.write_line(clean(f"⚠ {e}"))
        except Exception as e:  # noqa: BLE001
            log.write_line(clean(f"⚠ could not read the log: {type(e).__name__}: {e}"))
        first = not self._loaded_once
        self._loaded_once = True
        self._log_titles()
        if self.follow or first:  # the end of a log is where the error is
            log.scroll_end(animate=False)

    def _poll_log(self) -> None:
        if self.follow and self._log_target is not None:
            self.load_log()

    def _log_titles(self) -> None:
        panel = self.query_one("#log-panel")
        if self._log_target is None:
            panel.border_title = "Log"
        else:
            group, stream = self._log_target
            panel.border_title = clean(f"Log · {group} · {stream} · {self._log_lines:,} lines")
        panel.border_subtitle = ("following (f to stop)" if self.follow else "f to follow") + " · Home/End"

    # --- keys ------------------------------------------------------------------------------------------------

    def picked_targets(self):
        from batchtui.plan import Selection

        job = self.job
        if job is None:
            return None
        name = job.job_name + (f"[{self.index}]" if self.index is not None else "")
        return [Selection(self.job_id, frozenset({self.index}) if self.index is not None else None)], name

    def action_back(self) -> None:
        self.dismiss()

    def action_follow(self) -> None:
        self.follow = not self.follow
        log = self.query_one(Log)
        log.auto_scroll = self.follow
        if self.follow:
            log.scroll_end(animate=False)
            self._poll_log()
        self._log_titles()

    def action_log_top(self) -> None:
        self.query_one(Log).scroll_home(animate=False)

    def action_log_end(self) -> None:
        self.query_one(Log).scroll_end(animate=False)


def _log_line(event: LogEvent) -> str:
    stamp = fmt.clock_time(event.timestamp) if event.timestamp is not None else "        "
    return f"{stamp}  {clean(event.message.rstrip())}"


def _runs_text(runs: tuple[Run, ...]) -> Text:
    """`1. JobB[283]  FAILED  exit 137 OutOfMemoryError…` then `2. JobB-retry[3]  RUNNING (now)`."""
    t = Text()
    for n, r in enumerate(runs, 1):
        where = f"[{r.child}]" if r.child is not None else ""
        t.append(f"{n}. {clean(r.job_name)}{where}  ", pal.style(Role.TEXT))
        t.append_text(fmt.status_text(r.status))
        d = r.detail
        if d is not None and r.status is Status.FAILED:
            t.append("  " + clean(fmt.truncate(failure_text(d.exit_code, d.reason, d.status_reason), 70)),
                     pal.style(Role.MUTED))
        t.append(f"  {r.child_id}" + ("  (now: the attempts and log below)" if n == len(runs) else "") + "\n",
                 pal.style(Role.FAINT))
    t.rstrip()
    return t


def _attempts_table(attempts: list[Attempt]) -> Table:
    t = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, header_style=pal.style(Role.MUTED))
    # Narrow screens: numbers and times keep their width, the reason and the long stream name wrap.
    t.add_column("#", no_wrap=True, min_width=1)
    t.add_column("exit", no_wrap=True, min_width=4)
    t.add_column("reason", ratio=2, min_width=12)
    for col, width in (("started", 8), ("stopped", 8), ("took", 6)):
        t.add_column(col, no_wrap=True, min_width=width)
    t.add_column("log stream", ratio=1, overflow="fold", min_width=12)
    for n, a in enumerate(attempts, 1):
        took = fmt.duration((a.stopped_at - a.started_at) / 1000) if a.started_at and a.stopped_at else "–"
        code = Text("–" if a.exit_code is None else str(a.exit_code),
                    Style(color=fmt.status_color(Status.FAILED) if a.exit_code else pal.color(Role.TEXT), bold=True))
        t.add_row(str(n), code, clean(a.reason or a.status_reason or ""), fmt.clock_time(a.started_at),
                  fmt.clock_time(a.stopped_at), took, clean(a.log_stream or "–"))
    return t


def _mapping(values: Mapping[str, Any] | None) -> Text:
    if not values:
        return Text("none", pal.style(Role.MUTED))
    t = Text()
    for i, (k, v) in enumerate(values.items()):
        if i:
            t.append("\n")
        t.append(clean(f"{k}"), pal.style(Role.TEXT))
        t.append(" = ", pal.style(Role.MUTED))
        t.append(clean(str(v)), pal.style(Role.TEXT))
    return t


# The fields of a container shown, in the order shown: DescribeJobs' container (what it ran with), and the
# overrides the snapshot holds (fields_from_detail keeps command, environment, resourceRequirements).
CONTAINER_ORDER = ("resourceRequirements", "command", "environment", "vcpus", "memory", "instanceType")
OVERRIDES_ORDER = ("command", "environment", "resourceRequirements")


def _settings(c: ContainerSettings, order: tuple[str, ...]) -> Text:
    """`resourceRequirements: VCPU 2 · MEMORY 4096` / `command: …` / `environment: A=1, DB_PASSWORD=••••`."""
    shown = {
        "resourceRequirements": " · ".join(f"{r.type} {r.value}" for r in c.resources),
        "command": " ".join(c.command),
        "environment": ", ".join(f"{e.name}={_env_value(e.name, e.value)}" for e in c.environment),
        "vcpus": "" if c.vcpus is None else str(c.vcpus),
        "memory": "" if c.memory is None else str(c.memory),
        "instanceType": c.instance_type or "",
    }
    lines = [(k, shown[k]) for k in order if shown[k]]
    if not lines:
        return Text("none", pal.style(Role.MUTED))
    t = Text()
    for i, (k, v) in enumerate(lines):
        if i:
            t.append("\n")
        t.append(clean(f"{k}: "), pal.style(Role.MUTED))
        t.append(clean(v), pal.style(Role.TEXT))
    return t


def _partners(partners: list) -> Text:
    t = Text()
    for i, p in enumerate(partners):
        if i:
            t.append("   ")
        t.append(f"{clean(p.name)} ", pal.style(Role.TEXT))
        t.append_text(fmt.status_text(p.status, bold=False))
        t.append(f" ({p.relation})", pal.style(Role.MUTED))
    return t


def _env_value(name: str | None, value: str | None) -> str:
    """A container variable's value as shown: masked when its name says it is a secret (DB_PASSWORD, API_KEY…),
    as in the audit log – a screen can be shared or screenshotted."""
    from batchtui.audit import MASK, SECRET_NAME

    return MASK if SECRET_NAME.search(name or "") else str(value)


def _short_arn(arn: str | None) -> str | None:
    if not arn:
        return arn
    return arn.rsplit("/", 1)[-1] if arn.startswith("arn:") else arn
