"""On screen, stalled work says why: the graph node and the jobs table show a short cause instead of a made-up ETA,
and the array screen's why-panel gives the evidence and the fix for a RUNNABLE index."""

from __future__ import annotations

from dataclasses import replace

import ui_factory as f
from pilots import ready

from batchtui.model import Status
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.array import ArrayScreen


async def test_a_job_no_instance_can_hold_shows_stuck_with_the_evidence_and_the_fix():
    snap = replace(f.reference(400), capacity=f.tiny_world())
    app = BatchtuiApp(f.ScriptedSource([snap]), refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert app.insights[f.job_id("JobB")].waiting == "no-instance-fits"
        shown = app.export_screenshot().replace("&#160;", " ")
        assert shown.count("⊘ no instance fits") == 4  # JobB and JobC (32 GiB on a 31,907 MiB box): node + table
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ArrayScreen)
        job = app.snap.by_name("JobB")
        app.screen.query_one("IndexGrid").cursor = job.array.indices(Status.RUNNABLE)[0]
        await pilot.pause(0.2)
        from textual.widgets import Static

        info = " ".join(str(app.screen.query_one("#index-info", Static).render()).split())
        assert "capacity: needs 32 vCPU, 4,096 MiB" in info and "c6i.4xlarge" in info
        assert "fix: aws batch update-compute-environment --compute-environment TinyCE" in info


async def test_the_capacity_view_shows_the_queue_its_environments_the_front_and_why():
    from textual.widgets import Static

    from batchtui.ui.screens.capacity import CapacityScreen

    snap = replace(f.reference(400), capacity=f.tiny_world(f"{f.job_id('JobB')}:7"))
    app = BatchtuiApp(f.ScriptedSource([snap]), refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CapacityScreen)
        from io import StringIO

        from rich.console import Console

        from batchtui.ui.screens.capacity import capacity_view

        console = Console(file=StringIO(), width=150, record=True)
        console.print(capacity_view(app.snap))
        body = " ".join(console.export_text().split())
        assert app.screen.query_one("#capacity-body", Static) is not None
        assert "Queue ProdQueue" in body and "first in, first out" in body, body
        assert "TinyCE" in body and "c6i.4xlarge" in body and "0 / 256" in body
        assert "1. JobB[7]" in body and "JobB: no-instance-fits – needs 32 vCPU" in body
        await pilot.press("escape")
        assert not isinstance(app.screen, CapacityScreen)
        app.run_command("capacity")
        await pilot.pause()
        assert isinstance(app.screen, CapacityScreen)


async def test_the_capacity_view_offers_the_usual_cancel_of_the_queue_head():
    from batchtui.ui.screens.action import ActionScreen

    snap = replace(f.reference(400), capacity=f.tiny_world(f"{f.job_id('JobB')}:7"))
    app = BatchtuiApp(f.ScriptedSource([snap]), refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await ready(pilot)
        await pilot.press("c", "ctrl+k")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ActionScreen) and screen.kind == "cancel" and screen.what == "JobB[7]"
        assert screen.plan is not None and screen.state == "plan"  # shown, nothing sent before `y`
