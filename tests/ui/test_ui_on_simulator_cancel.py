"""End to end: the screen after ctrl+k on a running job tells the truth – "cancelling" (who, when, what is left) at
once, one event instead of a storm of failure toasts and bells, outlook `cancelled` for the job and its dependents,
and nothing saying it still runs or waits (the real poller, client and simulator; frozen simulator clock)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pilots import wait_for
from test_ui_on_simulator import _open, config
from textual.widgets import DataTable

from batchtui import analysis
from batchtui.model import Status
from batchtui.sim.server import SimServer
from batchtui.ui.app import BatchtuiApp
from batchtui.ui.insight import explain_index, explain_job
from batchtui.ui.screens.action import ActionScreen
from batchtui.ui.screens.array import ArrayScreen

pytestmark = pytest.mark.usefixtures("dummy_credentials")


def _record(app: BatchtuiApp) -> tuple[list[tuple[str, str, str]], list[int]]:
    toasts: list[tuple[str, str, str]] = []
    bells: list[int] = []
    notify = app.notify

    def record(message, *, title="", severity="information", **kw):
        toasts.append((title, str(message), severity))
        return notify(message, title=title, severity=severity, **kw)

    app.notify = record  # type: ignore[method-assign]
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    return toasts, bells


async def _cancel_jobc(pilot, app: BatchtuiApp) -> ActionScreen:
    await pilot.press("down", "down", "ctrl+k")  # the table's cursor: JobA, JobB, JobC
    action = app.screen
    assert isinstance(action, ActionScreen) and action.plan is not None and action.plan.kind == "cancel"
    await pilot.press("y")
    await wait_for(pilot, lambda: action.state == "done")
    await pilot.press("escape")
    return action


async def test_ctrl_k_on_a_running_job_shows_cancelling_at_once_and_one_event_not_a_storm(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    async with SimServer(config(advance_s=16 * 60)) as sim:  # JobB, JobC mid-run, both with failures
        ids = sim.engine.reference_ids
        c, d, e = ids["JobC"], ids["JobD"], ids["JobE"]
        async with await _open(sim) as source:
            app = BatchtuiApp(source, refresh_s=3600, bell=True)
            async with app.run_test(size=(160, 50)) as pilot:
                await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
                before = app.snap.job(c)
                assert app.insights[c].outlook == "will fail"  # JobB's failures doom some of its indices
                unfinished = before.array.size - before.array.finished()
                pending = before.array.indices(Status.PENDING)
                assert pending and unfinished
                toasts, bells = _record(app)
                await _cancel_jobc(pilot, app)
                assert sim.requests_by_operation["TerminateJobs"] == 1
                assert [t for t in toasts if t[0] == "Cancel"] and "Done: all" in toasts[-1][1]
                said = [ev.text for ev in app.events if "cancelled by you" in ev.text]
                assert said == [f"JobC cancelled by you: {unfinished:,} indices; JobD, JobE with it "
                                "(they depend on it)"]

                def row(job_id):
                    return [str(x) for x in app.screen.query_one(DataTable).get_row(job_id)]

                await wait_for(pilot, lambda: not app.refreshing)
                insight = app.insights[c]
                assert insight.outlook == "cancelled" and insight.cancelling
                assert insight.rate_per_min is None and insight.eta is None and insight.waiting_on == ()
                cells = row(c)
                assert cells[2] == "⊘ CANCELLING" and cells[7] == "" and cells[8].startswith("terminated by you at ")
                assert cells[9] == "cancelled"
                for dep in (d, e):
                    assert app.insights[dep].outlook == "cancelled" and app.insights[dep].cancel_who == "with JobC"
                # A PENDING index no longer says "waiting for JobB[…]"
                still = [i for i in pending if app.snap.job(c).array.status(i) is Status.PENDING]
                assert still
                why = explain_index(app.snap, c, still[0])
                assert why.kind == "cancelling" and why.summary.startswith("cancelling terminated by you at ")
                assert "dependencies finish" in why.summary and "waiting" not in why.summary
                assert explain_job(app.snap, c).kind == "cancelling"
                # JSON: outlook `cancelled`, no ETA; and from AWS's own flags too, without this app's record
                fields = analysis.job_fields(app.snap)[c]
                assert fields["outlook"] == "cancelled" and fields["eta"] is None and fields["waitingOn"] == []
                assert fields["cancel"]["by"] == "you" and fields["cancel"]["terminate"] is True
                aws_only = analysis.job_fields(replace(app.raw, cancels=()))
                assert aws_only[c]["outlook"] == "cancelled" and aws_only[c]["cancel"]["by"] is None
                assert aws_only[d]["outlook"] == "cancelled" and aws_only[d]["cancel"]["via"] == c

                # The grid's legend says it, too
                await pilot.press("enter")  # the cursor is still on JobC
                assert isinstance(app.screen, ArrayScreen) and app.screen.job_id == c
                legend = str(app.screen.query_one("#legend").render())
                assert "⊘ cancelling terminated by you at " in legend and "can no longer succeed" not in legend
                await pilot.press("escape")

                # AWS moves the rest: JobB finishes, JobC's PENDING children fail, and so do JobD and JobE –
                # all of it the cancel's doing: no toast, no bell
                shown = len(toasts)
                sim.engine.advance(6 * 3600)
                await pilot.press("r")
                await wait_for(pilot, lambda: not app.refreshing and app.snap.job(e).status is Status.FAILED)
                assert app.snap.job(c).status is Status.FAILED
                later = toasts[shown:]
                about = [t for t in later if t[0] != "Pipeline finished"
                         and any(name in t[1] for name in ("JobC", "JobD", "JobE"))]
                assert about == [] and ("Job failed", "JobB FAILED", "error") in [(a, b[:11], c) for a, b, c in later]
                # the pipeline did fail – by JobB's own failures; the cancelled jobs are not named as failures
                assert [t[1].rsplit("(", 1)[1] for t in later if t[0] == "Pipeline finished"] == ["JobB)"]
                assert not any(ev.alert and ev.job_id in (c, d, e) for ev in app.events)
                ended = [ev.text for ev in app.events if ev.job_id == c and "cancel done" in ev.text]
                assert len(ended) == 1
                assert ended[0].startswith("JobC cancel done: AWS reports it FAILED (terminated by you at ")
                assert app.insights[c].outlook == "cancelled" and not app.insights[c].cancelling
                assert row(c)[2].endswith("FAILED")
                # JobB's own failures may ring; every bell rang for an alert, and none was about the cancelled
                assert len(bells) <= len([t for t in toasts if t[2] == "error"])



async def test_an_accepted_cancel_shows_before_any_refresh_and_a_refresh_keeps_it():
    import ui_factory as f

    from batchtui.model import Cancel

    snap = f.reference(400)
    c = snap.by_name("JobC")
    source = f.ScriptedSource([snap])
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
        assert app.insights[c.job_id].outlook != "cancelled"
        refreshes = source.refreshes
        app.cancel_accepted((Cancel(c.job_id, "JobC", None, f.NOW, terminate=True),))
        await pilot.pause()
        assert source.refreshes == refreshes  # nothing was read: the screen changed from the accepted cancel
        cells = [str(x) for x in app.screen.query_one(DataTable).get_row(c.job_id)]
        assert cells[2] == "⊘ CANCELLING" and cells[9] == "cancelled"
        assert app.insights[c.job_id].cancel_who == f"terminated by you at {f.NOW:%H:%M}"
        assert [e.text for e in app.events][-1].startswith("JobC cancelled by you: ")
        await pilot.press("r")  # AWS has not caught up (same statuses, no flags): still cancelling
        await wait_for(pilot, lambda: source.refreshes > refreshes and not app.refreshing)
        assert app.insights[c.job_id].cancelling and app.snap.cancels == app.cancels
        assert not [e for e in app.events if e.alert and e.job_id == c.job_id]


async def test_a_retry_sent_from_the_dashboard_is_in_its_original_at_once_with_the_plans_ids():
    import ui_factory as f

    from batchtui.execute import Outcome, StepResult, submitted_jobs
    from batchtui.lineage import join
    from batchtui.plan import PLAN_TAG, Selection
    from batchtui.retry_plan import plan_retry

    snap = f.reference(400)
    b = snap.by_name("JobB")
    failed = b.array.indices(Status.FAILED)
    source = f.ScriptedSource([snap])
    app = BatchtuiApp(source, refresh_s=3600, bell=False, clock=lambda: f.NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.snap is not None and not app.refreshing)
        plan = plan_retry(app.raw, [Selection(b.job_id)])
        steps = tuple(StepResult(n, c.operation, c.label, True, job_id=f"new-{n}", job_name=c.params["jobName"])
                      for n, c in enumerate(plan.calls))
        jobs = submitted_jobs(Outcome(plan, True, steps, run_id="r1"), f.ms(f.NOW))
        assert [j.tags[PLAN_TAG] for j in jobs] == [f"r1.{n + 1}" for n in range(len(plan.calls))]
        refreshes = source.refreshes
        app.retries_submitted(jobs)
        await pilot.pause()
        assert source.refreshes == refreshes
        # folded into JobB (no new pipeline), its failed indices now the retry's, not yet started
        assert [j.job_name for j in app.snap.jobs] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
        assert {r.job_id for r in join(app.raw).repairs[b.job_id].retries} == {j.job_id for j in jobs}
        shown = app.snap.job(b.job_id).array
        assert failed and all(shown.status(i) is Status.SUBMITTED for i in failed)
        assert [e.text for e in app.events][-1].endswith("retried (JobB-retry)")
        await pilot.press("r")  # the poller has not listed it yet: it stays
        await wait_for(pilot, lambda: source.refreshes > refreshes and not app.refreshing)
        assert {r.job_id for r in join(app.raw).repairs[b.job_id].retries} == {j.job_id for j in jobs}
        # once the poller lists it, the poller's version is the one shown
        listed = replace(jobs[0], status=Status.RUNNING)
        source.snapshots = [replace(snap, jobs=(*snap.jobs, listed))]
        await pilot.press("r")
        await wait_for(pilot, lambda: source.refreshes > refreshes + 1 and not app.refreshing)
        assert app.raw.job(listed.job_id).status is Status.RUNNING and listed.job_id not in app.submitted
        assert sum(1 for e in app.events if e.text.endswith("retried (JobB-retry)")) == 1
