"""Snapshot tests (pytest-textual-snapshot): the visual contract of every screen, on hand-built data with a frozen
clock. Update after an intended change with `pytest tests/ui/test_ui_snapshots.py --snapshot-update`, and look at
the report (or screenshots/) before committing the new SVGs.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import ui_factory as f
from pilots import ready
from textual.pilot import Pilot
from textual.widgets import Input

from batchtui.errors import EndpointUnreachable
from batchtui.model import Status
from batchtui.ui.app import BatchtuiApp

SIZE = (160, 50)
SMALL = (100, 30)


def app_on(source: f.ScriptedSource, **kw) -> BatchtuiApp:
    kw.setdefault("clock", lambda: f.NOW)
    return BatchtuiApp(source, refresh_s=3600, bell=False, **kw)


def steps(*keys: str, refreshes: int = 1, wait: float = 0.0):
    """A run_before: wait for the first refresh(es), press keys, let workers (DescribeJobs, logs) finish."""

    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await ready(pilot, refreshes, tries=300)
        for key in keys:
            if key == "_":
                await pilot.pause(0.1)
            else:
                await pilot.press(key)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1 + wait)  # let layout settle (resizes re-render the grid and the status bar)
        for box in app.screen.query(Input):
            box.cursor_blink = False

    return run_before


def test_pipeline_screen(snap_compare):
    """Home on the reference pipeline at 10,000: graph (→, ⇒ N:N, ↻ seq), jobs table, feed, status bar."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps())


def test_pipeline_screen_small_terminal(snap_compare):
    """At 100×30 the graph scrolls sideways and the table still shows every job."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SMALL, run_before=steps())


def _light(app: BatchtuiApp, theme: str = "textual-light") -> BatchtuiApp:
    app.theme = theme
    return app


def test_pipeline_screen_light_theme(snap_compare):
    """textual-light: every colour is the theme's (ui/palette.py), so text, counts and boxes read on light."""
    assert snap_compare(_light(app_on(f.reference_source())), terminal_size=SIZE, run_before=steps())


def test_pipeline_screen_in_another_dark_theme(snap_compare):
    """nord: the statuses take the theme's own success, error, primary and warning colours."""
    assert snap_compare(_light(app_on(f.reference_source()), "nord"), terminal_size=SIZE, run_before=steps())


def test_array_screen_light_theme(snap_compare):
    """catppuccin-latte: the grid's cells, the legend and the side panel on a light background."""
    assert snap_compare(_light(app_on(f.reference_source()), "catppuccin-latte"), terminal_size=SIZE,
                        run_before=steps("down", "enter"))


def test_failures_view_light_theme(snap_compare):
    """solarized-light: the failure groups' causes and counts on a light background."""
    assert snap_compare(_light(app_on(f.reference_source()), "solarized-light"), terminal_size=SIZE,
                        run_before=steps("F"))


def test_capacity_view_light_theme(snap_compare):
    assert snap_compare(_light(app_on(_stuck())), terminal_size=SIZE, run_before=steps("c"))


def test_array_screen_light_theme_at_80x24(snap_compare):
    """The grid and its legend at 80×24 in a light theme."""
    assert snap_compare(_light(app_on(f.reference_source(2000))), terminal_size=(80, 24),
                        run_before=steps("down", "enter"))


def test_retry_window_at_80x24_keeps_its_keys_on_screen(snap_compare):
    """The plan scrolls; `y · d · Esc` stays visible on a small terminal."""
    assert snap_compare(app_on(f.reference_source(400)), terminal_size=(80, 24), run_before=steps("down", "R"))


def test_retry_window_at_100x30_keeps_its_keys_on_screen(snap_compare):
    """At 100×30 too: the plan scrolls, `y · d · Tab · Esc` stays visible."""
    assert snap_compare(app_on(f.reference_source(400)), terminal_size=SMALL, run_before=steps("down", "R"))


def test_pipeline_screen_at_80x24(snap_compare):
    """At 80×24 the jobs table keeps Status, Progress and Outlook (low-value columns give way first)."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=(80, 24), run_before=steps())


def _stuck() -> f.ScriptedSource:
    source = f.reference_source()
    world = f.tiny_world(f"{f.job_id('JobB')}:1500")
    source.snapshots = [replace(s, capacity=world) for s in source.snapshots]
    return source


def test_capacity_view_of_a_stuck_queue(snap_compare):
    """`c`: the queue, its environment (c6i.4xlarge only), the front of the queue and why JobB/JobC wait."""
    assert snap_compare(app_on(_stuck()), terminal_size=SIZE, run_before=steps("c"))


def test_failures_view(snap_compare):
    """`F`: the failure groups across the queue (oom, app by signature, dependency …), largest first."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps("F"))


def test_pipeline_screen_after_a_cancel_says_cancelling_not_running(snap_compare):
    """JobC terminated by you (AWS accepted it, has not caught up): ⊘ CANCELLING in the graph and the table, outlook
    cancelled for it and what depends on it, no rate or ETA, one event line."""
    from batchtui.model import Cancel

    app = app_on(f.reference_source())

    async def cancel(pilot: Pilot) -> None:
        await steps()(pilot)
        c = app.snap.by_name("JobC")
        app.cancel_accepted((Cancel(c.job_id, "JobC", None, f.NOW, terminate=True),))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=cancel)


def test_pipeline_screen_with_stuck_work(snap_compare):
    """Stalled arrays say why on the graph and in the jobs table (⊘ no instance fits) instead of an ETA."""
    assert snap_compare(app_on(_stuck()), terminal_size=SIZE, run_before=steps())


def test_array_screen_all_ten_thousand_indices(snap_compare):
    """JobB: 10,000 half-block cells on one screen, legend with counts by status, index 0 selected."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps("down", "enter"))


def test_array_screen_filtered_on_failures(snap_compare):
    """`/status:FAILED`: the rest dimmed, the cursor on the first failure with its reason and partners."""
    keys = ("down", "enter", "slash", *"status:FAILED", "enter")
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps(*keys))


def test_array_screen_small_terminal(snap_compare):
    """At 100×30 the grid scrolls; the side panel stays readable."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SMALL, run_before=steps("down", "enter"))


def test_sequential_array_as_numbered_tiles(snap_compare):
    """JobD (SEQUENTIAL, 10): small arrays get one numbered tile per index; partners are index±1."""
    keys = ("down", "down", "down", "enter", "right", "right", "right")
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps(*keys))


def test_detail_of_a_failed_index_with_its_log(snap_compare):
    """A failed JobB index: why, reason, timeline, attempts, definition, overrides, partners, log tail."""
    keys = ("down", "enter", "slash", *"status:FAILED", "enter", "enter")
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps(*keys, wait=0.2))


def test_detail_of_a_plain_job(snap_compare):
    """JobE: parameters, dependencies, no log stream yet."""
    keys = ("down", "down", "down", "down", "enter")
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps(*keys, wait=0.2))


def test_help_screen(snap_compare):
    """`?` lists every key, the : commands and the filter syntax."""
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps("question_mark"))


def test_command_line(snap_compare):
    """`:` opens a k9s-style prompt at the bottom, with completion."""
    keys = ("colon", *"que")
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps(*keys))


def test_stale_after_a_failed_refresh(snap_compare):
    """The last good state stays, the status bar says STALE with the error; the feed says it too."""
    snap = f.reference()
    err = EndpointUnreachable("cannot reach http://127.0.0.1:4566: connection failed (check --endpoint-url)")
    source = f.ScriptedSource([snap, err])
    # a clock that moves 12 s per refresh, deterministically: the data is 12 s old when the refresh fails
    clock = lambda: f.NOW + timedelta(seconds=12 * source.refreshes)  # noqa: E731
    assert snap_compare(app_on(source, clock=clock), terminal_size=SIZE, run_before=steps("r", refreshes=2))


def test_failures_arriving_show_in_the_feed_and_as_toasts(snap_compare):
    """A refresh that brings new failures and a finished job: feed lines and toasts."""
    snap = f.reference(2_000)
    later = snap
    running = snap.by_name("JobB").array.indices(Status.RUNNING)[:2]
    for i in running:
        later = f.with_index(later, "JobB", i, Status.FAILED,
                             f.IndexDetail(i, exit_code=137, reason=f.OOM, status_reason=f.ESSENTIAL))
    later = replace(later, polled_at=f.NOW)
    assert snap_compare(app_on(f.ScriptedSource([snap, later])), terminal_size=SIZE,
                        run_before=steps("r", refreshes=2))


def test_fan_in_and_two_pipelines(snap_compare):
    """Two roots into one job, and a second pipeline under the first."""
    assert snap_compare(app_on(f.ScriptedSource([f.fan_in()])), terminal_size=SIZE, run_before=steps())


def test_independent_plain_jobs(snap_compare):
    """A queue of plain jobs without dependencies: one row of boxes."""
    assert snap_compare(app_on(f.ScriptedSource([f.plain_only(4)])), terminal_size=SIZE, run_before=steps())


def test_chain_wider_than_the_screen(snap_compare):
    """Twelve jobs in a chain: the graph scrolls to the selected job."""
    keys = ("end",)
    assert snap_compare(app_on(f.ScriptedSource([f.wide_chain(12)])), terminal_size=SIZE, run_before=steps(*keys))


def test_empty_queue(snap_compare):
    """No jobs in the window: an empty graph and table, the feed says so."""
    assert snap_compare(app_on(f.ScriptedSource([f.empty()])), terminal_size=SIZE, run_before=steps())


def test_plans_screen_with_a_blocked_step_and_its_fix(snap_compare):
    """W: the pending plans (one made by `batchtui retry` for this pipeline, one by another dashboard for another
    queue), and the steps of the one under the cursor: JobD-retry blocked (a JobC index FAILED after planning) with
    the command that repairs it, JobE-retry waiting for it."""
    import plans_factory

    plans_factory.write_plans(f.reference())
    assert snap_compare(app_on(f.reference_source()), terminal_size=SIZE, run_before=steps("W", "_", "down"))


def test_plans_screen_light_theme_at_100x30(snap_compare):
    """The same in textual-light at 100×30: the table scrolls sideways, the steps wrap indented."""
    import plans_factory

    plans_factory.write_plans(f.reference())
    assert snap_compare(_light(app_on(f.reference_source())), terminal_size=SMALL,
                        run_before=steps("W", "_", "down"))


def _without_failures(snap):
    """The reference pipeline with every FAILED index of JobB and JobC succeeded instead: nothing else fails."""
    from batchtui.model import ArrayState

    for name in ("JobB", "JobC"):
        j = snap.by_name(name)
        st = bytearray(Status.SUCCEEDED if b == Status.FAILED else b for b in j.array.statuses)
        snap = f.with_job(snap, j, array=ArrayState.of(st, {i: d for i, d in j.array.details.items()
                                                            if st[i] != Status.SUCCEEDED}))
    return snap


def test_pipeline_screen_after_cancelling_some_indices_says_why_it_will_fail(snap_compare):
    """12 of JobC's PENDING indices cancelled by you: JobC, JobD and JobE `will fail`, and where the ETA goes the
    table says why – your cancel, not a crash; one event line, no toast."""
    from batchtui.model import Cancel

    app = app_on(f.ScriptedSource([_without_failures(f.reference())]))

    async def cancel(pilot: Pilot) -> None:
        await steps()(pilot)
        c = app.snap.by_name("JobC")
        pending = [i for i in range(c.array.size) if c.array.status(i) is Status.PENDING][:12]
        app.cancel_accepted((Cancel(c.job_id, "JobC", tuple(pending), f.NOW, terminate=False),))
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=cancel)
