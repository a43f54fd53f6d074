"""The durable waiting plan on the simulator over HTTP, with the real poller: `batchtui retry --downstream --wait`
mid-run submits JobD's and JobE's retries exactly once, and only after JobC's other indices have finished."""

from __future__ import annotations

import asyncio
import json

import pytest
from simsteps import to_jobc_running
from test_actions_sim import cfg, queue_jobs
from test_actions_sim import run_cli as actions_cli

from batchtui import waitplans
from batchtui.aws import open_api

SimServer = pytest.importorskip("batchtui.sim.server").SimServer

pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


async def run_cli(sim, *argv: str) -> tuple[int, str, str]:
    return await actions_cli(sim, "--refresh", "0.05", *argv)  # a --wait reads the simulator every 50 ms


async def by_name(api) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for j in await queue_jobs(api):
        out.setdefault(j["jobName"], []).append(j)
    return out


async def test_retry_downstream_wait_submits_the_waiting_steps_once_after_the_upstream_finishes():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        task = asyncio.create_task(run_cli(sim, "retry", ids["JobB"], "--downstream", "--wait", "--yes"))
        for _ in range(200):  # planned, the immediate calls made, the first rounds of waiting
            await asyncio.sleep(0.05)
            jobs = await by_name(api)
            if "JobC-retry" in jobs or task.done():
                break
        await asyncio.sleep(0.5)
        assert not task.done(), task.result()
        assert "JobC-retry" in jobs and "JobD-retry" not in jobs
        (c,) = await api.describe_jobs([ids["JobC"]])
        assert c["status"] not in ("SUCCEEDED", "FAILED")
        while not task.done():  # JobC runs on to its end; the waiting loop sees it through the poller
            sim.engine.advance(120)
            await asyncio.sleep(0.1)
        code, out, err = task.result()
        assert code == 0, err + out
        assert "W1. SubmitJob JobD-retry" in out and "waits for JobC's other" in out
        assert "JobD-retry submitted" in out and "JobE-retry submitted" in out
        jobs = await by_name(api)
        assert len(jobs["JobD-retry"]) == 1 and len(jobs["JobE-retry"]) == 1  # exactly once
        c, d_retry, e_retry = await api.describe_jobs([ids["JobC"], jobs["JobD-retry"][0]["jobId"],
                                                      jobs["JobE-retry"][0]["jobId"]])
        assert c["status"] == "FAILED" and d_retry["createdAt"] >= c["stoppedAt"]  # only once JobC had ended
        assert d_retry["dependsOn"] == [{"jobId": jobs["JobC-retry"][0]["jobId"]}, {"type": "SEQUENTIAL"}]
        assert e_retry["dependsOn"] == [{"jobId": d_retry["jobId"]}]
        (stored,) = waitplans.list_plans()[0]
        assert stored.state == waitplans.DONE and stored.count(waitplans.SUBMITTED) == 2
        sim.engine.run_until_idle()
        d_retry, e_retry = await api.describe_jobs([d_retry["jobId"], e_retry["jobId"]])
        assert (d_retry["status"], e_retry["status"]) == ("SUCCEEDED", "SUCCEEDED")


async def test_without_wait_the_plan_is_kept_pending_and_listed():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        code, out, err = await run_cli(sim, "retry", ids["JobB"], "--downstream", "--yes")
        assert code == 0, err + out
        assert "Kept plan" in out and "batchtui plans wait" in out
        (stored,) = waitplans.list_plans()[0]
        assert stored.state == waitplans.PENDING and [s.name for s in stored.steps] == ["JobD-retry", "JobE-retry"]
        assert "JobD-retry" not in await by_name(api)
        assert json.loads(json.dumps(stored.to_json()))["waiting"] == 2


async def cli_process(sim, tmp_path, *argv: str) -> asyncio.subprocess.Process:
    """The installed command as its own process, against the simulator this test serves."""
    import os
    import sys

    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "batchtui.cli", "--refresh", "0.2", *argv, "--endpoint-url", sim.url, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
async def test_a_waiting_process_stopped_or_killed_leaves_the_plan_pending_and_another_resumes_it(tmp_path, how):
    import signal

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        proc = await cli_process(sim, tmp_path, "retry", ids["JobB"], "--downstream", "--wait", "--yes")
        for _ in range(600):  # until the plan is kept and the process waits on it
            await asyncio.sleep(0.05)
            if waitplans.list_plans()[0]:
                break
        await asyncio.sleep(0.6)
        assert proc.returncode is None
        proc.send_signal(getattr(signal, how))
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        (stored,) = waitplans.list_plans()[0]
        assert stored.state == waitplans.PENDING and stored.count(waitplans.SUBMITTED) == 0
        if how == "SIGINT":
            assert proc.returncode == 130 and b"Traceback" not in err
            assert b"stays pending" in err and f"batchtui plans wait {stored.plan_id}".encode() in err
        sim.engine.run_until_idle()  # JobC over while nobody waits
        again = await cli_process(sim, tmp_path, "plans", "wait", stored.plan_id)
        out, err = await asyncio.wait_for(again.communicate(), 120)
        assert again.returncode == 0, (out + err).decode()
        assert b"JobD-retry submitted" in out and b"JobE-retry submitted" in out
        jobs = await by_name(api)
        assert len(jobs["JobD-retry"]) == 1 and len(jobs["JobE-retry"]) == 1
        assert waitplans.list_plans()[0][0].state == waitplans.DONE


async def test_a_second_retry_while_a_plan_is_pending_does_not_double_its_steps():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        assert (await run_cli(sim, "retry", ids["JobB"], "--downstream", "--yes"))[0] == 0
        code, out, err = await run_cli(sim, "retry", ids["JobB"], "--downstream", "--yes")
        assert code == 0, err + out
        assert "not planned again" in out and "Kept plan" not in out
        assert len(waitplans.list_plans()[0]) == 1


async def test_a_partner_failing_after_planning_blocks_the_wait_until_its_retry_succeeds_then_sends_once():
    from test_actions_sim import SIZE, children

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        task = asyncio.create_task(run_cli(sim, "retry", ids["JobB"], "--downstream", "--wait", "--yes"))
        for _ in range(200):  # planned, the immediate calls made
            await asyncio.sleep(0.05)
            if waitplans.list_plans()[0]:
                break
        (stored,) = waitplans.list_plans()[0]
        retried = set(i for a, b in stored.to_json()["steps"][0]["conditions"][0]["retried"] for i in range(a, b + 1))
        kids = await children(api, ids["JobC"], SIZE)
        victim = next(i for i, d in sorted(kids.items()) if i not in retried and d["status"] != "SUCCEEDED")
        # JobC[victim] fails after the plan was made (terminated here: any failure of a partner not being retried)
        await api.terminate_jobs([f"{ids['JobC']}:{victim}"], "test: a partner fails after planning")
        while (await children(api, ids["JobC"], SIZE))[victim]["status"] != "FAILED":
            sim.engine.advance(30)
            await asyncio.sleep(0.05)
        sim.engine.run_until_idle()  # JobC over: its other indices are done, JobC[victim] FAILED
        for _ in range(200):
            await asyncio.sleep(0.05)
            if waitplans.load(waitplans.path_of(stored.plan_id)).steps[0].state == waitplans.BLOCKED:
                break
        await asyncio.sleep(0.5)  # a few more rounds of waiting: still blocked, said once
        assert not task.done(), task.result()
        blocked = waitplans.load(waitplans.path_of(stored.plan_id))
        assert blocked.state == waitplans.PENDING and blocked.steps[0].state == waitplans.BLOCKED
        fix = f"batchtui retry {ids['JobC']}:{victim} --downstream"
        assert blocked.steps[0].fix == fix and "JobD-retry" not in await by_name(api)
        # the fix, run by the user: JobD's and JobE's retries are not planned again (the plan waits to send them)
        code, out, err = await run_cli(sim, *fix.split()[1:], "--yes")
        assert code == 0, err + out
        assert "not planned again" in out
        while not task.done():  # the user's retry runs, and then the waiting plan sends its steps
            sim.engine.advance(120)
            await asyncio.sleep(0.1)
        code, out, err = task.result()
        assert code == 0, err + out
        assert out.count("JobD-retry blocked: ") == 1 and f"`{fix}`" in out
        assert "JobD-retry submitted" in out and "JobE-retry submitted" in out
        jobs = await by_name(api)
        assert len(jobs["JobD-retry"]) == 1 and len(jobs["JobE-retry"]) == 1  # exactly once
        (d_retry,) = await api.describe_jobs([jobs["JobD-retry"][0]["jobId"]])
        (mine,) = [j for j in await api.describe_jobs([j["jobId"] for j in jobs["JobC-retry"]])
                   if not j.get("arrayProperties", {}).get("size")]  # the user's plain retry of JobC[victim]
        assert mine["status"] == "SUCCEEDED" and d_retry["createdAt"] >= mine["stoppedAt"]
        sim.engine.run_until_idle()
        (d_retry,) = await api.describe_jobs([d_retry["jobId"]])
        assert d_retry["status"] == "SUCCEEDED"
