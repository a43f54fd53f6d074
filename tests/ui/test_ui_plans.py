"""The Plans view (W): pending plans from the state directory, each step's state in words (a blocked one with its
fix), cancelling one after a confirmation exactly as `batchtui plans cancel`, never under --readonly."""

from __future__ import annotations

import plans_factory as pf
import ui_factory as f
from pilots import wait_for

from batchtui import waitplans
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.array import ArrayScreen
from batchtui.ui.screens.plans import CancelPlanScreen, PlansScreen


def app_on(readonly: bool = False) -> tuple[BatchtuiApp, f.ScriptedSource]:
    source = f.reference_source(400)
    pf.write_plans(f.reference(400))
    return BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW, readonly=readonly), source


async def open_plans(app, pilot) -> PlansScreen:
    await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
    await pilot.press("W")
    await wait_for(pilot, lambda: isinstance(app.screen, PlansScreen))
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    return screen


def detail_text(screen: PlansScreen) -> str:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=200, color_system=None).print(screen.shown)
    return out.getvalue()


async def test_w_lists_every_pending_plan_and_the_steps_of_the_one_under_the_cursor():
    app, _ = app_on()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_plans(app, pilot)
        assert [p.plan_id for p in screen.plans] == [pf.OTHER, pf.THIS]  # oldest first
        assert "Waiting plans · 2 pending" in str(screen.query_one("#plans-panel").border_title)
        text = detail_text(screen)
        assert "by bob · the dashboard (pid 977 on ops-laptop)" in text
        assert "NightlyC-retry  submitted  e2f1a9b4-1c2d-4e5f-8a9b-0c1d2e3f4a5b" in text
        assert "why: refused: not submitted: SubmitJob was refused (ClientException)" in text
        await pilot.press("down")
        await pilot.pause()
        text = detail_text(screen)
        # the dashboard's round judged it on this snapshot: one of JobC's FAILED indices is not being retried
        assert "JobD-retry  blocked" in text and "FAILED after this plan was made" in text
        assert f"fix: batchtui retry {f.job_id('JobC')}:" in text and "--downstream" in text
        assert "now: waits for JobD-retry (blocked) to be submitted" in text
        await pilot.press("enter")  # opens the job the plan waits for
        await wait_for(pilot, lambda: isinstance(app.screen, ArrayScreen))
        assert app.screen.job_id == f.job_id("JobC")


async def test_ctrl_k_cancels_the_plan_under_the_cursor_after_y_and_n_keeps_it():
    app, _ = app_on()
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_plans(app, pilot)
        await pilot.press("down", "ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, CancelPlanScreen))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is screen)
        assert waitplans.load(waitplans.path_of(pf.THIS)).state == waitplans.PENDING
        await pilot.press("ctrl+k")
        await wait_for(pilot, lambda: isinstance(app.screen, CancelPlanScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: waitplans.load(waitplans.path_of(pf.THIS)).state == waitplans.CANCELLED)
        await wait_for(pilot, lambda: [p.plan_id for p in screen.plans] == [pf.OTHER])
        stored = waitplans.load(waitplans.path_of(pf.THIS))
        assert stored.note and stored.note.startswith("cancelled by ")  # as `batchtui plans cancel` writes it
        assert waitplans.load(waitplans.path_of(pf.OTHER)).state == waitplans.PENDING


async def test_under_readonly_a_plan_cannot_be_cancelled_and_ctrl_k_is_not_offered():
    app, _ = app_on(readonly=True)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_plans(app, pilot)
        assert not any(b.binding.action == "cancel_plan" for b in screen.active_bindings.values() if b.enabled)
        await pilot.press("down", "ctrl+k")
        await pilot.pause()
        assert app.screen is screen
        assert waitplans.load(waitplans.path_of(pf.THIS)).state == waitplans.PENDING
        assert "ctrl+k" not in detail_text(screen)


async def test_the_command_line_and_the_palette_open_it_and_escape_goes_back():
    app, _ = app_on()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
        home = app.screen
        app.run_command("plans")
        await wait_for(pilot, lambda: isinstance(app.screen, PlansScreen) and len(app.screen.plans) == 2)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is home)
        from batchtui.ui.app import JobCommands

        hits = [h async for h in JobCommands(app.screen).discover()]
        (plans,) = [h for h in hits if h.display == "Waiting plans"]
        plans.command()
        await wait_for(pilot, lambda: isinstance(app.screen, PlansScreen) and len(app.screen.plans) == 2)


async def test_a_plan_file_that_cannot_be_read_is_said_on_the_screen_and_no_plans_says_so(tmp_path):
    source = f.reference_source(400)
    (waitplans.plans_dir()).mkdir(parents=True)
    (waitplans.plans_dir() / "bad.json").write_text("{not json")
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await open_plans(app, pilot)
        text = detail_text(screen)
        assert "No pending plans" in text and "bad.json: not JSON" in text and "not executed" in text
