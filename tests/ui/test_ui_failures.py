"""The Failures view: every failure group across the queue, largest first, with its repair; Enter opens the grid
filtered to the group."""

from __future__ import annotations

import ui_factory as f
from pilots import ready
from textual.widgets import DataTable

from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.failures import FailuresScreen, failure_rows


async def test_the_failures_view_lists_groups_and_opens_the_grid_filtered_to_one():
    source = f.reference_source(2000)
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        rows = failure_rows(app.snap)
        assert rows and [g.count for _, g in rows] == sorted((g.count for _, g in rows), reverse=True)
        total_failed = sum(j.array.counts()["FAILED"] for j in app.snap.jobs if j.array is not None)
        assert sum(g.count for _, g in rows) == total_failed  # every failed index in exactly one group
        await pilot.press("F")
        await pilot.pause()
        assert isinstance(app.screen, FailuresScreen)
        assert app.screen.query_one("#failures-box").border_title.startswith(f"Failures · {total_failed:,} in ")
        job_id, first = rows[0]
        await pilot.press("enter")
        for _ in range(100):
            if isinstance(app.screen, ArrayScreen) and app.screen._filter is not None:
                break
            await pilot.pause(0.02)
        screen = app.screen
        assert isinstance(screen, ArrayScreen) and screen.job_id == job_id
        assert screen._filter.text == f"group:{first.cause}"
        assert set(first.indices) <= set(screen._matches)


async def _open_oom_retry(app, pilot):
    await ready(pilot)
    await pilot.press("F")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, FailuresScreen)
    row = next(n for n, (_, g) in enumerate(screen._rows) if g.cause == "oom")
    screen.query_one(DataTable).move_cursor(row=row)
    await pilot.press("R")
    action = app.screen
    assert isinstance(action, ActionScreen)
    for _ in range(200):
        if not action.checking and action.plan is not None:
            break
        await pilot.pause(0.02)
    return action


async def test_r_on_the_oom_group_checks_the_raised_memory_against_the_queues_instances():
    source = f.reference_source(2000)
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        action = await _open_oom_retry(app, pilot)
        assert source.capacity_reads == ["queue ProdQueue", "environments " + ",".join(
            (f.PROD_CE["computeEnvironmentArn"], f.PROD_MEMORY_CE["computeEnvironmentArn"]))]
        assert action.plan.calls and "could not be checked" not in action.plan.summary()
        assert "memory 4,096 → 6,144 MiB" in action.plan.summary()


async def test_a_source_that_cannot_read_capacity_leaves_the_fit_unchecked_instead_of_hanging():
    source = f.reference_source(2000)
    source.api = object()  # a source with no capacity reads at all
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        action = await _open_oom_retry(app, pilot)
        assert not action.checking
        summary = action.plan.summary()
        assert "could not be checked" in summary and "not readable from this source (AttributeError)" in summary
