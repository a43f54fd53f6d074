"""The dashboard moves waiting plans on: a plan kept by `batchtui retry --downstream` (no --wait) mid-run is said to
be resumed by a dashboard started afterwards, and its steps are sent – once – at the refresh that shows JobC over."""

from __future__ import annotations

import asyncio
import io
from contextlib import asynccontextmanager

import pytest
import ui_factory
from pilots import wait_for
from simsteps import to_jobc_running

from batchtui import actions, cli, waitplans
from batchtui.aws import open_api
from batchtui.plan import Condition
from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.source import open_source

pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


@asynccontextmanager
async def retried_with_downstream():
    """The simulator (120 per array) with JobC running and `batchtui retry JobB --downstream` sent: its waiting plan
    kept. Yields (sim, api, ids by name, the plan)."""
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=120, summary_lag_s=0.0)
    async with SimServer(config, host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        args = cli.parse(["retry", ids["JobB"], "--downstream", "--yes", "--endpoint-url", sim.url])
        out, err = io.StringIO(), io.StringIO()
        assert await actions.run(args, io.StringIO(), out, err) == 0, err.getvalue()
        (plan,) = waitplans.list_plans()[0]
        yield sim, api, ids, plan


def texts(app) -> list[str]:
    return [e.text for e in app.events]


@pytest.mark.parametrize("readonly", [False, True])
async def test_a_dashboard_resumes_a_pending_plan_and_submits_its_steps_once_jobc_is_over(readonly):
    async with retried_with_downstream() as (sim, api, ids, plan):
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False, readonly=readonly)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                await wait_for(pilot, lambda: any("resumed pending plan" in t for t in texts(app)))
                assert not any("submitted:" in t for t in texts(app))  # JobC still runs: nothing sent
                sim.engine.run_until_idle()  # JobC ends (FAILED: its partners of JobB's failures)
                app.start_refresh()
                await pilot.pause()
                await wait_for(pilot, lambda: not app.refreshing)
                if readonly:
                    assert any("its steps are not submitted (batchtui runs with --readonly)" in t
                               for t in texts(app))
                    assert waitplans.load(waitplans.path_of(plan.plan_id)).state == waitplans.PENDING
                    return
                await wait_for(pilot, lambda: any("JobE-retry submitted" in t for t in texts(app)))
                app.start_refresh()  # another round sends nothing more
                await pilot.pause()
                await wait_for(pilot, lambda: not app.refreshing)
        for name in ("JobD-retry", "JobE-retry"):  # exactly once each
            page = await api.list_jobs(jobQueue="ProdQueue", filters=[{"name": "JOB_NAME", "values": [name]}])
            assert len(page["jobSummaryList"]) == 1, name
        stored = waitplans.load(waitplans.path_of(plan.plan_id))
        assert stored.state == waitplans.DONE and stored.count(waitplans.SUBMITTED) == 2
        d_id = stored.steps[0].job_id
        (d,) = await api.describe_jobs([d_id])
        assert d["jobName"] == "JobD-retry"


async def test_the_plan_window_keeps_its_waiting_steps_and_the_dashboard_sends_them_once_jobc_is_over():
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=120, summary_lag_s=0.0)
    async with SimServer(config, host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                for key in ("down", "enter", "slash", *"status:FAILED", "enter", "a", "R", "d"):
                    await pilot.press(key)
                    await pilot.pause()
                await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None
                               and app.screen.plan.downstream and app.screen.plan.waiting)
                await pilot.press("y")
                await wait_for(pilot, lambda: waitplans.list_plans()[0] != [] and app.actions_running == 0)
                lines = [str(t) for t in app.screen.lines]
                assert any("Kept plan" in t and "2 waiting step(s)" in t for t in lines), lines
                (stored,) = waitplans.list_plans()[0]
                assert stored.state == waitplans.PENDING and ids["JobD"]
                await pilot.press("escape")
                sim.engine.run_until_idle()
                await wait_for(pilot, lambda: not app.refreshing)
                app.start_refresh()
                await wait_for(pilot, lambda: any("JobE-retry submitted" in t for t in texts(app)))
                assert not any("resumed pending" in t for t in texts(app))  # its own plan: not "resumed"
        assert waitplans.load(waitplans.path_of(stored.plan_id)).state == waitplans.DONE


class SlowLookup:
    """The lookup by tag hangs until `release` is set (ListJobs lagging a lost SubmitJob); SubmitJob is counted."""

    region = "us-east-1"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.looking = 0
        self.submitted: list[dict] = []

    async def submit_job(self, **params):
        self.submitted.append(params)
        return {"jobId": "sent-again", "jobName": params["jobName"]}

    async def find_job(self, queue, name, tag, value):
        self.looking += 1
        await self.release.wait()
        return "found-1" if value == "stranded-w1.1" else None


def stranded_plan() -> waitplans.StoredPlan:
    """One step sent by an earlier batchtui that died before recording the answer (left "submitting")."""
    c = ui_factory.job_id("JobC")
    step = waitplans.Step("JobD-retry", "JobD-retry: whole JobD again", {"jobName": "JobD-retry",
                          "jobQueue": "ProdQueue", "jobDefinition": "JobD:1"}, (Condition(c, "JobC", 400, ()),),
                          state=waitplans.SUBMITTING)
    plan = waitplans.StoredPlan("stranded", "2026-11-25T03:40:00Z", "ProdQueue", "tester", (step,))
    waitplans.save(plan, waitplans.plans_dir())
    return plan


async def test_refreshes_go_on_while_a_stranded_steps_lookup_is_slow_and_its_result_shows_after_it():
    stranded_plan()
    source = ui_factory.reference_source(400)
    api = SlowLookup()
    source.api = api
    app = BatchtuiApp(source, refresh_s=0.05, bell=False)
    app.plan_watch.lookup_delays_s = (0.0,)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
        await pilot.pause()
        app.start_refresh()  # the scripted source answers at once: this refresh comes after the screen is up
        await wait_for(pilot, lambda: api.looking == 1)
        # the lookup hangs; the refreshes go on by their timer (a refresh that waited for it would set none)
        at = source.refreshes
        await wait_for(pilot, lambda: source.refreshes >= at + 3)
        assert api.looking == 1  # one lookup, not one per refresh
        assert waitplans.load(waitplans.path_of("stranded")).steps[0].state == waitplans.SUBMITTING
        api.release.set()
        await wait_for(pilot, lambda: any("JobD-retry was submitted already" in t for t in texts(app)))
    stored = waitplans.load(waitplans.path_of("stranded"))
    assert stored.state == waitplans.DONE and stored.steps[0].job_id == "found-1"
    assert api.submitted == []  # found, never sent again


async def test_a_blocked_step_is_repaired_from_the_dashboard_by_r_on_the_failed_partner_and_then_sent_once():
    async with retried_with_downstream() as (sim, api, ids, plan):
        retried = {i for a, b in plan.to_json()["steps"][0]["conditions"][0]["retried"] for i in range(a, b + 1)}
        kids = await api.describe_jobs([f"{ids['JobC']}:{i}" for i in range(120)])
        victim = next(int(k["jobId"].rpartition(":")[2]) for k in kids
                      if int(k["jobId"].rpartition(":")[2]) not in retried and k["status"] != "SUCCEEDED")
        await api.terminate_jobs([f"{ids['JobC']}:{victim}"], "test: a partner fails after planning")
        sim.engine.run_until_idle()  # JobC over: JobC[victim] FAILED, not one being retried
        async with open_source("ProdQueue", region="us-east-1", profile=None, endpoint_url=sim.url, max_tps=50,
                               since_s=24 * 3600) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=False)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: any("JobD-retry blocked" in t for t in texts(app)))
                assert f"JobC[{victim}] FAILED after this plan was made" in next(
                    t for t in texts(app) if "JobD-retry blocked" in t)
                app.run_command(f"job JobC:{victim}")  # its detail; R there retries that index
                await pilot.pause()
                await pilot.press("R")
                await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None)
                await pilot.press("y")
                await pilot.pause(0.3)
                await wait_for(pilot, lambda: app.actions_running == 0)
                page = await api.list_jobs(jobQueue="ProdQueue", filters=[{"name": "JOB_NAME",
                                                                           "values": ["JobC-retry"]}])
                mine = [j for j in page["jobSummaryList"] if not j.get("arrayProperties", {}).get("size")]
                assert len(mine) == 1, page  # JobC[victim] alone, as a plain job, next to the plan's array
                await pilot.press("escape")
                sim.engine.run_until_idle()  # the user's retry of JobC[victim] runs and SUCCEEDS
                for _ in range(3):
                    app.start_refresh()
                    await pilot.pause()
                    await wait_for(pilot, lambda: not app.refreshing)
                    if any("JobE-retry submitted" in t for t in texts(app)):
                        break
                await wait_for(pilot, lambda: any("JobE-retry submitted" in t for t in texts(app)))
        for name in ("JobD-retry", "JobE-retry"):  # exactly once each
            page = await api.list_jobs(jobQueue="ProdQueue", filters=[{"name": "JOB_NAME", "values": [name]}])
            assert len(page["jobSummaryList"]) == 1, name
        assert waitplans.load(waitplans.path_of(plan.plan_id)).state == waitplans.DONE
