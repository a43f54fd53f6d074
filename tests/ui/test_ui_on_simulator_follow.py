"""End to end on the dashboard (the real poller, client and simulator): a retry sent to another queue – from the
command line before the dashboard started, or from the dashboard itself – is shown inside its original's node and
kept current, and a dashboard started after a cancel still says who made it and when (the audit log)."""

from __future__ import annotations

import io

import pytest
from pilots import wait_for
from test_ui_on_simulator import _open, config
from textual.widgets import DataTable

from batchtui import actions, cli
from batchtui.model import RETRY_OF_TAG, Status
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.screens.array import ArrayScreen

pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


async def command(sim, *argv: str) -> str:
    """A `batchtui retry|cancel … --yes` in this event loop, as another terminal would run it; its output."""
    out, err = io.StringIO(), io.StringIO()
    code = await actions.run(cli.parse([*argv, "--yes", "--endpoint-url", sim.url]), io.StringIO(), out, err)
    assert code == 0, err.getvalue() + out.getvalue()
    return out.getvalue()


async def test_a_retry_sent_to_another_queue_is_inside_its_originals_node(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config()) as sim:
        ids = sim.engine.reference_ids
        sim.engine.run_until_idle()
        out = await command(sim, "retry", ids["JobB"], "--queue", "OtherQueue")
        retry_id = out.rsplit("→ new job ", 1)[1].split()[0]
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                retry = app.raw.job(retry_id)
                assert retry is not None and retry.queue.endswith("/OtherQueue")
                assert retry.tags[RETRY_OF_TAG] == ids["JobB"]
                # folded into JobB: no sixth job on the screen, JobB's failed indices now the retry's
                table = app.screen.query_one(DataTable)
                assert [str(k.value) for k in table.rows] == [ids[n] for n in ("JobA", "JobB", "JobC", "JobD",
                                                                                 "JobE")]
                original = next(j for j in app.raw.jobs if j.job_id == ids["JobB"])
                failed = original.array.indices(Status.FAILED)
                shown = app.snap.job(ids["JobB"]).array
                assert failed and all(shown.status(i) is not Status.FAILED for i in failed)
                await pilot.press("down", "enter", "slash", *"retried", "enter")
                screen = app.screen
                assert isinstance(screen, ArrayScreen)
                assert [i for i, m in enumerate(screen._mask) if m] == failed
                screen.grid.move_to(failed[0])
                await pilot.pause()
                info = str(screen.query_one("#index-info").render())
                assert "retried as JobB-retry" in info and "first run: ✘ FAILED" in info
                # the retry runs in OtherQueue; the next refresh follows it there
                sim.engine.run_until_idle()
                await pilot.press("r")
                await wait_for(pilot, lambda: not app.refreshing and app.raw.job(retry_id).status.terminal)
                shown = app.snap.job(ids["JobB"]).array
                assert [shown.status(i) for i in failed] == [app.raw.job(retry_id).array.status(k)
                                                             for k in range(len(failed))]


async def test_a_retry_the_plan_window_sends_to_another_queue_is_followed_not_left_as_sent(tmp_path, monkeypatch):
    from textual.widgets import Input

    from batchtui.ui.screens.action import ActionScreen

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config()) as sim:
        ids = sim.engine.reference_ids
        sim.engine.run_until_idle()
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                await pilot.press("down", "R")  # JobB under the cursor
                action = app.screen
                assert isinstance(action, ActionScreen) and action.plan.kind == "retry"
                box = action.query_one("#action-changes", Input)
                box.focus()
                await pilot.pause()
                box.value = ""
                await pilot.press(*"queue=OtherQueue", "enter")  # the plan window's queue override
                await wait_for(pilot, lambda: not action.checking and action.sendable)
                (call,) = action.plan.calls
                assert call.params["jobQueue"] == "OtherQueue" and call.params["tags"][RETRY_OF_TAG] == ids["JobB"]
                await pilot.press("y")
                await wait_for(pilot, lambda: action.state == "done")
                await pilot.press("escape")
                # in JobB's node at once (as sent, or already as the poller follows it)
                (new,) = [j.job_id for j in app.raw.jobs if j.tags.get(RETRY_OF_TAG) == ids["JobB"]]
                await wait_for(pilot, lambda: not app.refreshing)
                sim.engine.run_until_idle()
                await pilot.press("r")
                # followed by id in OtherQueue: the poller's version, not the one sent, and it moves on
                await wait_for(pilot, lambda: not app.refreshing and app.raw.job(new).status.terminal)
                assert new not in app.submitted and app.raw.job(new).queue.endswith("/OtherQueue")
                assert app.snap.job(ids["JobB"]).array.count(Status.SUBMITTED) == 0


async def test_a_dashboard_started_after_a_cancel_says_who_made_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config(advance_s=16 * 60)) as sim:
        c = sim.engine.reference_ids["JobC"]
        await command(sim, "cancel", c)
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                assert app.cancels == ()  # nothing sent from this dashboard
                cells = [str(x) for x in app.screen.query_one(DataTable).get_row(c)]
                assert cells[8].startswith("terminated by you at ") and cells[9] == "cancelled"
                assert app.insights[c].cancel_who.startswith("terminated by you at ")
