"""Repairing from the Failures view on the real poller, client and simulator: `R` on a group opens the retry plan with
the group's repair (an OOM's memory ×1.5, checked against the queue's instance types before it can be sent; a
dependency failure's upstream with downstream), and the plan window's changes line edits it before anything is
sent."""

from __future__ import annotations

import pytest
from pilots import wait_for
from textual.widgets import DataTable, Input

from batchtui.plan import Selection
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.failures import FailuresScreen
from batchtui.ui.source import open_source

pytestmark = pytest.mark.usefixtures("dummy_credentials")


def oom_world() -> SimServer:
    """An array of 8 on ProdQueue, 2,048 MiB each, finished: indices 1 and 3 ran out of memory."""
    sim = SimServer(SimConfig(speed=0.0, seed=5, pipeline="none", summary_lag_s=0.0))
    sim.engine.register_job_definition("work", {
        "image": "busybox", "command": ["python", "-m", "work"],
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        "environment": [{"name": "SIM_DURATION_S", "value": "30"},
                        {"name": "SIM_FAIL_INDICES", "value": "1:oom,3:oom"}]})
    sim.engine.submit(name="Work", queue=sim.engine.queue("ProdQueue"), jobdef=sim.engine.jobdefs["work"][-1],
                      array_size=8)
    sim.engine.run_until_idle()
    return sim


async def open_failures(pilot, app, cause: str) -> FailuresScreen:
    await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
    await pilot.press("F")
    screen = app.screen
    assert isinstance(screen, FailuresScreen)
    row = next(n for n, (_, g) in enumerate(screen._rows) if g.cause == cause)
    screen.query_one(DataTable).move_cursor(row=row)
    return screen


async def test_r_on_an_oom_group_retries_it_with_half_again_the_memory_once_checked():
    async with oom_world() as sim, open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url,
                                               max_tps=50, since_s=24 * 3600) as source:
        app = BatchtuiApp(source, refresh_s=3600, bell=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await open_failures(pilot, app, "oom")
            await pilot.press("R")
            action = app.screen
            assert isinstance(action, ActionScreen)
            assert action.query_one("#action-changes", Input).value == "memory=x1.5"
            await wait_for(pilot, lambda: not action.checking)
            assert sim.requests_by_operation["DescribeComputeEnvironments"] >= 1  # the fit was checked
            (call,) = action.plan.calls
            asked = {r["type"]: r["value"] for r in call.params["containerOverrides"]["resourceRequirements"]}
            assert asked["MEMORY"] == "3072" and "memory 2,048 → 3,072 MiB" in call.label
            assert sim.requests_by_operation.get("SubmitJob", 0) == 0
            await pilot.press("y")
            await wait_for(pilot, lambda: action.state == "done")
            assert sim.requests_by_operation["SubmitJob"] == 1


async def test_changes_edited_in_the_plan_window_are_refused_when_nothing_holds_them():
    async with oom_world() as sim, open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url,
                                               max_tps=50, since_s=24 * 3600) as source:
        app = BatchtuiApp(source, refresh_s=3600, bell=False)
        async with app.run_test(size=(160, 50)) as pilot:
            await open_failures(pilot, app, "oom")
            await pilot.press("R")
            action = app.screen
            await wait_for(pilot, lambda: not action.checking)
            box = action.query_one("#action-changes", Input)
            box.focus()
            await pilot.pause()
            box.value = ""
            await pilot.press(*"memory=900000")
            assert not action.sendable  # edited, not applied: the plan shown is not what the line says
            await pilot.press("y")
            assert box.value == "memory=900000y"  # the key went into the line, not to the confirm
            await pilot.press("backspace", "enter")
            await wait_for(pilot, lambda: not action.checking)
            assert action.plan.refused and action.plan.empty and not action.sendable
            assert "needs 1 vCPU, 900,000 MiB; the largest instance type" in str(
                action.query_one("#action-plan").render())
            await pilot.press("y")
            await pilot.pause()
            assert sim.requests_by_operation.get("SubmitJob", 0) == 0
            box.focus()
            await pilot.pause()
            box.value = ""
            await pilot.press(*"memory=lots", "enter")
            assert "not a memory size" in str(action.query_one("#action-plan").render()) and not action.sendable


async def test_r_on_a_dependency_group_retries_the_upstream_with_downstream():
    cfg = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=60, advance_s=3 * 3600, summary_lag_s=0.0)
    async with SimServer(cfg) as sim, open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url,
                                                  max_tps=50, since_s=24 * 3600) as source:
        ids = sim.engine.reference_ids
        app = BatchtuiApp(source, refresh_s=3600, bell=False)
        async with app.run_test(size=(160, 50)) as pilot:
            failures = await open_failures(pilot, app, "dependency")
            assert app.snap.job(failures._rows[failures.query_one(DataTable).cursor_row][0]).job_name != "JobB"
            await pilot.press("R")
            action = app.screen
            assert isinstance(action, ActionScreen)
            assert action.picked == [Selection(ids["JobB"])] and action.downstream
            names = sorted(c.params["jobName"] for c in action.plan.calls)
            assert names[0] == "JobB-retry" and "JobC-retry" in names
