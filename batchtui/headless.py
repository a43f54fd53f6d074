"""Headless mode: `batchtui --queue Q --once|--watch [--json] [--until-done]`.

--once         one refresh, print it, exit 0 (exit 1 with one `batchtui: ...` line when the API cannot be read)
--watch        one snapshot per --refresh seconds, the next scheduled when the last one ended; keeps going through
               outages (a one-line stale notice, or a JSON object with "error") and recovers when the API returns
--until-done   with --watch: exit 0 when every job succeeded, 3 when the pipeline ended with failures

JSON (the README's contract): one object per snapshot, camelCase, one line each in --watch. Text: a header line,
then a line per job in dependency order. Every line is flushed as it is written, so pipes see it at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import humanize

from batchtui.analysis import JobReport, job_reports, report_json
from batchtui.aws import is_transient, open_api, safe_url
from batchtui.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, BatchtuiError
from batchtui.explain import describe_eta
from batchtui.history import LocalHistory, with_cancels
from batchtui.model import Job, Snapshot, Status
from batchtui.sanitize import printable
from batchtui.triage import FailureGroup

# The order statuses are listed in a progress line: what is moving first, what is waiting after.
PROGRESS_ORDER = (Status.RUNNING, Status.STARTING, Status.RUNNABLE, Status.PENDING, Status.SUBMITTED,
                  Status.FAILED, Status.UNKNOWN)


# --- JSON -------------------------------------------------------------------------------------------------------


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def job_json(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "jobId": job.job_id,
        "jobName": job.job_name,
        "status": job.status.name,
        "arraySize": job.array_size,
        "dependsOn": [{"jobId": d.job_id, "type": d.type} for d in job.depends_on],
    }
    if job.array is not None:
        out["childCounts"] = job.array.counts()  # from the per-index state, not AWS's lagging statusSummary
        out["failedIndices"] = job.array.indices(Status.FAILED)
    if job.gone:
        out["gone"] = True
    if job.stale_error:  # this refresh could not read the array: its counts are as of staleSince
        out["stale"] = True
        out["staleSince"] = iso(job.stale_since) if job.stale_since else None
        out["error"] = job.stale_error
    return out


def snapshot_json(snap: Snapshot, extra: Mapping[str, Mapping] | None = None) -> dict[str, Any]:
    """The README's snapshot object; `extra[jobId]` (analysis.report_json of its report) is merged into that job's
    object."""
    jobs = []
    for job in snap.jobs:
        obj = job_json(job)
        if extra and job.job_id in extra:
            obj.update(extra[job.job_id])
        jobs.append(obj)
    out: dict[str, Any] = {"queue": snap.queue, "region": snap.region, "profile": snap.profile,
                           "polledAt": iso(snap.polled_at), "apiCalls": snap.api_calls, "jobs": jobs}
    if snap.endpoint:
        out["endpoint"] = safe_url(snap.endpoint)
    if snap.log_note:  # why some failure signatures could not come from logs (a log group missing or not readable)
        out["logNote"] = snap.log_note
    if snap.error:
        out["error"] = snap.error
        out["staleSince"] = iso(snap.stale_since) if snap.stale_since else None
    return out


def error_json(queue: str, error: str, api_calls: int = 0) -> dict[str, Any]:
    """A watch tick with no snapshot yet to fall back on; `api_calls` is what the failed refresh spent."""
    return {"queue": queue, "polledAt": iso(datetime.now(UTC)), "apiCalls": api_calls, "jobs": [], "error": error,
            "staleSince": None}


# --- text -------------------------------------------------------------------------------------------------------


def header_line(snap: Snapshot) -> str:
    when = snap.polled_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    calls = f"{humanize.intcomma(snap.api_calls)} API call{'s' if snap.api_calls != 1 else ''}"
    total = f"{humanize.intcomma(snap.total_api_calls)} in all"
    throttled = f", {humanize.intcomma(snap.throttled_calls)} throttled" if snap.throttled_calls else ""
    n = len(snap.jobs)
    where = " · ".join(x for x in (snap.region, snap.profile and f"profile {snap.profile}",
                                   snap.endpoint and safe_url(snap.endpoint)) if x)
    return (f"{snap.queue} · {where + ' · ' if where else ''}{when} · {n} job{'s' if n != 1 else ''} · {calls} "
            f"({total}{throttled})")


def progress(job: Job) -> str:
    """'9,412/10,000 done · 400 RUNNING · 150 RUNNABLE · 38 FAILED' from the per-index state."""
    if job.array is None:
        return ""
    counts = job.array.counts()
    done = counts.get("SUCCEEDED", 0) + counts.get("FAILED", 0)
    parts = [f"{humanize.intcomma(done)}/{humanize.intcomma(job.array.size)} done"]
    for s in PROGRESS_ORDER:
        n = counts.get(s.name, 0)
        if n:
            parts.append(f"{humanize.intcomma(n)} {s.name}")
    return " · ".join(parts)


def duration_text(seconds: float) -> str:
    """'1 minute and 30 seconds'; seconds dropped from ten minutes on, where they are noise."""
    unit = "seconds" if seconds < 600 else "minutes"
    return humanize.precisedelta(timedelta(seconds=seconds), minimum_unit=unit, format="%0.0f")


def _took(job: Job) -> str:
    if job.array is None and job.started_at and job.stopped_at and job.stopped_at >= job.started_at:
        return "took " + duration_text((job.stopped_at - job.started_at) / 1000)
    return ""


def outlook_text(job: Job, report: JobReport | None, now: datetime) -> str:
    """'outlook on track · ETA about 40 minutes (04:40 UTC)' from analysis' report of the job, '' without one."""
    if report is None:
        return ""
    f = report.facts
    parts = [f"outlook {f.outlook}"]
    if f.eta is not None and not job.status.terminal:
        # to the second, like the JSON's `eta`: text and JSON name the same moment
        at = f.eta.at.astimezone(UTC).replace(microsecond=0)
        parts.append(f"ETA {describe_eta(at, now, f.eta.lower_bound)} ({at.strftime('%H:%M')} UTC)")
    doomed = len(f.doomed_indices or ())
    if doomed:
        parts.append(f"{humanize.intcomma(doomed)} can no longer succeed")
    return " · ".join(parts)


def group_line(g: FailureGroup) -> str:
    """A failure group on one line: '86 oom · exit 137 · … · indices 3-9, 17 → retry-more-memory'."""
    from batchtui.plan import format_indices

    parts = [f"{g.count:,} {g.cause}"]
    if g.sampled and g.exit_code is not None:  # a log line: its exit code beside it
        parts.append(f"exit {g.exit_code}")
    if g.signature:
        parts.append(g.signature + (" (from the log)" if g.sampled else ""))
    elif g.exit_code is not None:
        parts.append(f"exit {g.exit_code}")
    if g.indices:
        parts.append(f"indices {format_indices(sorted(g.indices))}")
    return " · ".join(parts) + f" → {g.repair}"


def repair_lines(snap: Snapshot, report: JobReport | None, width: int, reports: Reports) -> list[str]:
    """An original's retries, folded into it: 'retried: 9,976 succeeded + 24 retried: 20 succeeded, 4 running ·
    outlook on track', then one line per retry job, and why a retry's RUNNABLE work waits (in its own queue)."""
    if report is None or report.repair is None:
        return []
    head = f"↻ effective: {report.repair.summary()}"
    if report.effective is not None:
        head += f" · outlook {report.effective.outlook}"
    out = [head]
    for r in report.repair.retries:
        job = snap.job(r.job_id)
        if job is not None:
            out.append("↻ " + job_line(job, width, None, snap.polled_at))
            out.extend(f"  {w}" for w in waiting_lines(reports.get(r.job_id)))  # under its retry's line
    return out


def waiting_lines(report: JobReport | None) -> list[str]:
    """'⊘ cause: text – fix: …' for a job with RUNNABLE work (its `waiting`), else nothing."""
    waiting = report.facts.waiting if report is not None else None
    if waiting is None:
        return []
    fix = f" – fix: {waiting.fix}" if waiting.fix else ""
    return [f"⊘ {waiting.cause}: {waiting.text}{fix}"]


def job_line(job: Job, name_width: int, report: JobReport | None = None, now: datetime | None = None) -> str:
    parts = [job.job_name.ljust(name_width), job.status.name.ljust(9)]
    detail = progress(job) or _took(job)
    if job.array is None and job.status is Status.FAILED and (job.reason or job.status_reason):
        detail = " · ".join(p for p in (detail, job.reason or job.status_reason) if p)
    if job.gone:
        detail = (detail + " · " if detail else "") + "gone (no longer returned by AWS; last known state)"
    if job.stale_error:
        since = f" as of {iso(job.stale_since)}" if job.stale_since else ""
        detail = (detail + " · " if detail else "") + f"stale{since}: {job.stale_error}"
    outlook = outlook_text(job, report, now or datetime.now(UTC))
    if outlook:
        detail = (detail + " · " if detail else "") + outlook
    return "  ".join(parts + ([detail] if detail else [])).rstrip()


Reports = Mapping[str, JobReport]  # analysis.job_reports: by job id


def snapshot_text(snap: Snapshot, reports: Reports | None = None) -> list[str]:
    lines = [header_line(snap)]
    if snap.error:
        lines.append(stale_line(snap))
    width = max((len(j.job_name) for j in snap.jobs), default=0)
    by_id = {j.job_id: j for j in snap.jobs}
    reports = reports or {}
    for n, p in enumerate(snap.pipelines):
        if len(snap.pipelines) > 1:
            lines.append(f"pipeline {n + 1} of {len(snap.pipelines)}")
        for i in p.job_ids:
            if i in by_id:
                report = reports.get(i)
                lines.append("  " + job_line(by_id[i], width, report, snap.polled_at))
                lines.extend("      " + r for r in repair_lines(snap, report, width, reports))
                lines.extend("      ✘ " + group_line(g) for g in (report.failure_groups if report else ()))
                lines.extend("      " + w for w in waiting_lines(report))
    if not snap.jobs:
        lines.append("  (no jobs created in this queue within --since)")
    return lines


TABLE_COLUMNS = ("JOB", "STATUS", "DONE", "RUNNING", "RUNNABLE", "FAILED", "OUTLOOK", "ETA", "JOB ID")


def snapshot_table(snap: Snapshot, reports: Reports | None = None) -> list[str]:
    """`--output table`: one aligned row a job (dependency order), for eyes and for `column`-minded scripts."""
    reports = reports or {}
    rows: list[tuple[str, ...]] = [TABLE_COLUMNS]
    for job in snap.jobs:
        report = reports.get(job.job_id)
        counts = job.array.counts() if job.array is not None else {}
        size = job.array.size if job.array is not None else None
        done = counts.get("SUCCEEDED", 0) + counts.get("FAILED", 0)
        eta = report.facts.eta if report is not None and not job.status.terminal else None
        rows.append((job.job_name, job.status.name + (" (stale)" if job.stale_error else ""),
                     f"{done:,}/{size:,}" if size is not None else "-",
                     *(f"{counts.get(s, 0):,}" if size is not None else "-" for s in ("RUNNING", "RUNNABLE", "FAILED")),
                     report.facts.outlook if report is not None else "-",
                     eta.at.astimezone(UTC).strftime("%H:%M UTC") if eta is not None else "-", job.job_id))
    widths = [max(len(str(r[c])) for r in rows) for c in range(len(TABLE_COLUMNS))]
    lines = [header_line(snap)] + ([stale_line(snap)] if snap.error else [])
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def stale_line(snap: Snapshot) -> str:
    if snap.stale_since is None:
        return f"! {snap.error}"
    age = duration_text((datetime.now(UTC) - snap.stale_since).total_seconds())
    return f"! stale for {age} (last good {iso(snap.stale_since)}): {snap.error}"


# --- running ----------------------------------------------------------------------------------------------------


class Printer:
    """Writes and flushes line by line; knows whether the reader went away (a closed pipe).

    `output` is json, text or table; `query` a compiled JMESPath expression applied to each JSON document."""

    def __init__(self, as_json: bool, out: IO[str] | None = None, *, output: str | None = None,
                 query: Any = None) -> None:
        self.output = output or ("json" if as_json else "text")
        self.as_json = self.output == "json"
        self.query = query
        self.out = out or sys.stdout
        self._said: set[str] = set()  # notes said once (what log groups cannot be read)

    def line(self, text: str) -> None:
        if not self.as_json:  # text carries names and reasons from AWS; JSON escapes control characters itself
            text = printable(text)
        self.out.write(text + "\n")
        self.out.flush()

    def document(self, doc: Mapping[str, Any]) -> None:
        value = self.query.search(doc) if self.query is not None else doc
        self.line(json.dumps(value, separators=(",", ":")))

    def snapshot(self, snap: Snapshot, reports: Reports | None = None, *, full: bool = True) -> None:
        if self.as_json:  # the JSON is written from the same reports the text reads
            self.document(snapshot_json(snap, {i: report_json(r) for i, r in (reports or {}).items()}))
        elif full or not snap.error:
            for text in (snapshot_table(snap, reports) if self.output == "table" else snapshot_text(snap, reports)):
                self.line(text)
            notes = (snap.log_note, snap.capacity.sizes_note if snap.capacity is not None else None)
            for note in notes:
                if note and note not in self._said:  # said once, not on every refresh
                    self._said.add(note)
                    self.line(f"! {note}")
        else:
            self.line(f"{header_line(snap)}  {stale_line(snap)}")

    def error(self, queue: str, error: str, api_calls: int = 0) -> None:
        if self.as_json:
            self.document(error_json(queue, error, api_calls))
        else:
            self.line(f"! {error} (retrying)")


ExtraFn = Callable[[Snapshot], Reports]


def _extra_fields() -> ExtraFn:
    """What analysis says of each job (outlook, doomed indices, ETA, failure groups, retries …): its typed reports."""
    return job_reports


ONCE_TIMEOUT_S = 300.0  # --once: generous, the account answers in the end
WATCH_MIN_TIMEOUT_S = 10.0


def once_timeout(args: argparse.Namespace) -> float:
    return args.timeout if getattr(args, "timeout", None) else ONCE_TIMEOUT_S


def watch_timeout(args: argparse.Namespace) -> float:
    """A watcher wants a stale line soon rather than a late full one: a refresh tries for two intervals."""
    if getattr(args, "timeout", None):
        return args.timeout
    return max(WATCH_MIN_TIMEOUT_S, 2 * args.refresh)


async def run(args: argparse.Namespace, printer: Printer, extra: ExtraFn | None = None) -> int:
    from batchtui.poller import Poller

    async with open_api(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url,
                        max_tps=args.max_tps) as api:
        poller = Poller(api, args.queue, since_s=args.since, region=api.region, endpoint=api.endpoint_url)
        # What this machine sent: retries in other queues to follow by id, and who cancelled what.
        history = LocalHistory(args.since, endpoint=api.endpoint_url, region=api.region)
        if args.once:
            # Throttling and AWS-side errors are waited out until --timeout; only a real error ends it sooner.
            api.deadline = time.monotonic() + once_timeout(args)
            snap = await refresh(poller, history)  # errors leave as BatchtuiError: `batchtui: ...`, exit 1
            printer.snapshot(snap, extra(snap) if extra else None)
            return EXIT_OK
        return await watch(poller, args, printer, extra, history)


async def refresh(poller: Any, history: LocalHistory | None) -> Snapshot:
    """One refresh, told first what this machine sent since the last one (the retries to follow), its snapshot
    naming who cancelled what."""
    if history is None:
        return await poller.refresh()
    sent = history.read()
    poller.follow(sent.job_ids)
    return with_cancels(await poller.refresh(), sent.cancels)


async def watch(poller: Any, args: argparse.Namespace, printer: Printer, extra: ExtraFn | None = None,
                history: LocalHistory | None = None) -> int:
    """One snapshot per --refresh seconds; the next refresh is scheduled when the last one ended (no overlap)."""
    api = getattr(poller, "api", None)
    while True:
        calls0 = getattr(api, "calls", 0)
        if api is not None:
            api.deadline = time.monotonic() + watch_timeout(args)  # then a stale line, and the next refresh
        try:
            snap = await refresh(poller, history)
        except BatchtuiError as e:
            if not is_transient(e):
                raise  # unknown queue, credentials, access denied: waiting will not fix it
            # no snapshot yet: say so (with the calls it cost) and try again
            printer.error(args.queue, str(e), getattr(api, "calls", 0) - calls0)
        else:
            # A stale line keeps the analysis fields (outlook, eta, ...) of the last known state: README says every
            # job carries them, and a consumer reading `job["outlook"]` must not break during an outage.
            printer.snapshot(snap, extra(snap) if extra else None, full=not snap.error)
            if args.until_done and not snap.error and snap.done:
                return EXIT_FAILED if snap.failed else EXIT_OK
        delay = poller.next_delay(args.refresh) if hasattr(poller, "next_delay") else args.refresh
        if delay > args.refresh * 1.5 and not printer.as_json:
            printer.line(f"! AWS is throttling: next refresh in {duration_text(delay)}")
        await asyncio.sleep(delay)


async def interruptible(work: Awaitable[int], insist_after_s: float = 1.0) -> int:
    """Ctrl-C ends the run, always: it cancels the work, and if the cancellation is swallowed on its way (in Python
    3.11 a timeout firing at the same moment turns it into a TimeoutError, and a --watch would go on for ever) the
    run is interrupted anyway `insist_after_s` later."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()

    def interrupted() -> None:
        if task is not None:
            task.cancel()
            loop.call_later(insist_after_s, _insist, task)

    try:
        loop.add_signal_handler(signal.SIGINT, interrupted)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or a platform without it
        return await work
    try:
        return await work
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _insist(task: asyncio.Task) -> None:
    if not task.done():
        raise KeyboardInterrupt  # asyncio lets it out of the loop: asyncio.run ends, main() says 130


def main(args: argparse.Namespace) -> int:
    printer = Printer(args.json, output=getattr(args, "output", None), query=getattr(args, "query", None))
    try:
        return asyncio.run(interruptible(run(args, printer, _extra_fields())))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # Ctrl-C: quietly
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        try:
            sys.stdout = open("/dev/null", "w")  # noqa: SIM115
        except OSError:
            pass
        return EXIT_OK
