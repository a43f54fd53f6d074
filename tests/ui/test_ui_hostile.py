"""Nothing AWS returns reaches the terminal raw: a cancel reason, a parameter, an environment value, a tag, a log line
holding escape sequences (retitle the terminal, wipe it, colour it, forge a line) is drawn without them on every
screen. Checked on what the screen really shows (the exported screenshot holds every drawn character)."""

from __future__ import annotations

from dataclasses import replace

import ui_factory as f

from batchtui.model import Attempt, IndexDetail, Status
from batchtui.shapes import container_overrides
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.detail import DetailScreen

HOSTILE = "\x1b]2;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\r\nfake line\x9b1mC1"
SIZE = (160, 50)


def hostile_source() -> f.ScriptedSource:
    source = f.reference_source(400)
    snap = source.snapshots[0]
    b = snap.by_name("JobB")
    assert b is not None and b.array is not None
    failed = b.array.indices(Status.FAILED)[0]
    attempt = Attempt(exit_code=1, reason=HOSTILE, status_reason=HOSTILE, log_stream=f"JobB/default/{HOSTILE}")
    detail = IndexDetail(failed, exit_code=1, reason=HOSTILE, status_reason=HOSTILE, attempts=(attempt,),
                         log_stream="JobB/default/hostile")
    later = f.with_index(snap, "JobB", failed, Status.FAILED, detail)
    e = later.by_name("JobE")
    later = f.with_job(later, e, status=Status.FAILED, status_reason=HOSTILE, parameters={"Recipient": HOSTILE},
                       tags={"team": HOSTILE},
                       container_overrides=container_overrides({"environment": [{"name": "MODE", "value": HOSTILE}]}))
    before = f.with_index(snap, "JobB", failed, Status.RUNNING)
    source.snapshots = [before, later]
    desc = source.described
    child = f"{b.job_id}:{failed}"
    desc[child] = {**desc.get(child, {}), "jobId": child, "jobName": "JobB", "status": "FAILED",
                   "statusReason": HOSTILE, "arrayProperties": {"index": failed},
                   "container": {"exitCode": 1, "reason": HOSTILE, "logStreamName": "JobB/default/hostile",
                                 "environment": [{"name": "MODE", "value": HOSTILE}]},
                   "parameters": {"Recipient": HOSTILE}, "tags": {"team": HOSTILE}, "attempts": []}
    desc[e.job_id] = {**desc.get(e.job_id, {}), "status": "FAILED", "statusReason": HOSTILE,
                      "parameters": {"Recipient": HOSTILE}, "tags": {"team": HOSTILE},
                      "container": {"environment": [{"name": "MODE", "value": HOSTILE}], "reason": HOSTILE}}
    source.logs["JobB/default/hostile"] = ["ok", HOSTILE, "done"]
    source.failed_index = failed  # type: ignore[attr-defined]
    return source


def assert_clean(app: BatchtuiApp, where: str) -> str:
    shown = app.export_screenshot()
    for raw in ("\x1b", "\x07", "\x9b", "PWNED", "[2J", "[31m"):
        assert raw not in shown, f"{where}: {raw!r} reached the screen"
    return shown.replace("&#160;", " ")


async def settle(pilot, until=lambda: True) -> None:
    for _ in range(300):
        if until() and not pilot.app.refreshing:
            break
        await pilot.pause(0.01)
    await pilot.pause()


async def test_hostile_strings_are_drawn_without_their_escapes_on_every_screen():
    source = hostile_source()
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.snap is not None)
        await pilot.press("r")  # the refresh that brings the hostile failure: events, toasts, graph, table
        await settle(pilot, lambda: source.refreshes >= 2)
        assert "RED fake line" in assert_clean(app, "pipeline")  # the event feed quotes the reason
        await pilot.press("down", "enter")  # JobB's grid
        await settle(pilot, lambda: isinstance(app.screen, ArrayScreen))
        app.screen.query_one("IndexGrid").cursor = source.failed_index  # type: ignore[attr-defined]
        await settle(pilot)
        assert "RED fake line" in assert_clean(app, "array")
        await pilot.press("enter")  # the failed index's detail: reasons, attempts, environment, log
        await settle(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen) and app.screen.index == source.failed_index
        assert "RED fake line" in assert_clean(app, "index detail")  # drawn, without its escapes
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("end", "enter")  # JobE: parameters, tags, container
        await settle(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause(0.3)
        assert isinstance(app.screen, DetailScreen) and app.screen.job_id == f.job_id("JobE")
        assert "RED fake line" in assert_clean(app, "job detail")


def test_the_jobs_table_cuts_a_long_name_to_fit():
    from batchtui.ui.widgets.jobs_table import NAME_MAX, row

    snap = f.reference(20)
    job = replace(snap.by_name("JobE"), job_name="N" * 128)
    name = row(job, None, f.NOW, {})[0]
    assert name.cell_len == NAME_MAX and name.plain.endswith("…")


async def test_a_toast_quoting_aws_is_plain_text_not_markup_and_without_escapes():
    # A statusReason anyone with batch:CancelJob writes: as markup "[/]" raised MarkupError and "[bold]" restyled.
    app = BatchtuiApp(f.ScriptedSource([f.reference()]), refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.snap is not None)
        app.notify("JobC: x[/] y [bold]loud\x1b[2J\x1b]0;owned\x07", title="Job [red]failed")
        await pilot.pause()
        (toast,) = [n for n in app._notifications if "JobC" in n.message]
        assert toast.message == "JobC: x[/] y [bold]loud" and toast.title == "Job [red]failed"
        assert not toast.markup
