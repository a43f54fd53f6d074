"""Actions happen exactly once: SubmitJob through a fault proxy that lets the call land on the simulator and then
loses its answer (a 500, a read timeout, a dropped connection) still makes exactly one job, found by its tag; a
throttled SubmitJob is sent again; a refused one is not; when nothing can tell, the outcome is reported unknown.
Every case is checked in the audit log too, and a Ctrl-C that abandons a call in flight leaves an intent that
`batchtui audit` calls interrupted."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import pytest
from faultproxy import APPLY_THEN_500, APPLY_THEN_DROP, APPLY_THEN_HANG, REFUSE, THROTTLE, FaultProxy
from test_actions_sim import cfg, finished_reference, queue_jobs, run_cli

from batchtui import audit, aws, cli, execute
from batchtui.aws import open_api
from batchtui.model import RETRY_OF_TAG
from batchtui.plan import PLAN_TAG

SimServer = pytest.importorskip("batchtui.sim.server").SimServer


pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


@pytest.fixture(autouse=True)
def _fast(monkeypatch):
    monkeypatch.setattr(execute, "LOOKUP_DELAYS_S", (0.05, 0.1))
    monkeypatch.setattr(aws, "SUBMIT_BACKOFF_S", 0.01)
    monkeypatch.setattr(aws, "READ_TIMEOUT_S", 1.0)  # the hanging answer outlasts it


async def retries_of(api, job_id: str) -> list[dict]:
    ids = [s["jobId"] for s in await queue_jobs(api)]
    return [d for d in await api.describe_jobs(ids) if (d.get("tags") or {}).get(RETRY_OF_TAG) == job_id]


def the_action(tmp_path) -> audit.Action:
    path = tmp_path / "state" / "batchtui" / "actions.jsonl"
    (action,), bad = audit.read_actions(path.read_text().splitlines())
    assert bad == 0
    return action


@pytest.mark.parametrize("fault", [APPLY_THEN_500, APPLY_THEN_HANG, APPLY_THEN_DROP])
async def test_a_submit_whose_answer_is_lost_lands_once_and_is_found_by_its_tag(fault, tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        async with FaultProxy(sim.url, {"submitjob": [fault]}, hang_s=3.0) as proxy:
            code, out, err = await run_cli(proxy, "retry", b, "--yes")
        assert proxy.received["submitjob"] == 1 and proxy.forwarded["submitjob"] == 1  # sent once, never again
        (job,) = await retries_of(api, b)  # exactly one job landed
        assert code == 0, err
        assert f"→ new job {job['jobId']} (its answer was lost" in out and "found by its tag" in out
        action = the_action(tmp_path)
        assert action.state == audit.DONE and action.new_jobs == [job["jobId"]]
        assert job["tags"][PLAN_TAG] == f"{action.plan_id}.1"


async def test_a_throttled_submit_is_sent_again_and_lands_once(tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        async with FaultProxy(sim.url, {"submitjob": [THROTTLE, THROTTLE]}) as proxy:
            code, out, err = await run_cli(proxy, "retry", b, "--yes")
        assert code == 0, err
        assert proxy.received["submitjob"] == 3 and proxy.forwarded["submitjob"] == 1
        assert len(await retries_of(api, b)) == 1 and "Done: all 1 call succeeded." in out


async def test_a_refused_submit_is_not_sent_again_and_says_not_submitted(tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        async with FaultProxy(sim.url, {"submitjob": [REFUSE]}) as proxy:
            code, out, err = await run_cli(proxy, "retry", b, "--yes")
        assert code == 1 and proxy.received["submitjob"] == 1
        assert await retries_of(api, b) == []
        assert err.startswith("batchtui: step 1 (SubmitJob) failed: not submitted: SubmitJob was refused")
        assert the_action(tmp_path).state == audit.FAILED


async def test_a_lost_answer_nobody_can_confirm_is_reported_unknown_with_how_to_check(tmp_path, monkeypatch):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]

        async def not_visible_yet(self, queue, name, tag, value):
            return None  # ListJobs is eventually consistent: the new job does not show up in time

        monkeypatch.setattr(aws.BatchApi, "find_job", not_visible_yet)
        async with FaultProxy(sim.url, {"submitjob": [APPLY_THEN_500]}) as proxy:
            code, out, err = await run_cli(proxy, "retry", b, "--downstream", "--yes")
        assert proxy.received["submitjob"] == 1  # the later steps were not sent on an unknown first one
        assert code == 1 and len(err.splitlines()) == 1
        assert "the job may have been created" in err and "do not retry before checking" in err
        assert "aws batch list-jobs --job-queue" in err and f"{PLAN_TAG}=" in err
        assert "\nOutcome unknown at step 1 of 4: " in out and "→ OUTCOME UNKNOWN: " in out
        action = the_action(tmp_path)
        assert action.state == audit.UNKNOWN and action.calls[0]["result"] == "unknown"


async def test_a_submit_that_never_connects_is_not_submitted(tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        from batchtui.plan import Selection
        from batchtui.retry_plan import plan_retry
        from batchtui.scope import snapshot_for

        plan = plan_retry(await snapshot_for(api, [Selection(b)], "retry"), Selection(b))
    # the simulator is gone: the port refuses connections, so nothing can have been sent
    async with open_api(endpoint_url=sim.url, connect_timeout=0.5) as dead:
        outcome = await execute.execute(dead, plan, registry=execute.Registry())
    assert not outcome.ok and not outcome.unknown
    assert "not submitted: cannot reach" in outcome.error


async def test_cancel_is_idempotent_and_retried_after_a_lost_answer(tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.advance(13 * 60)
        b = sim.engine.reference_ids["JobB"]
        async with FaultProxy(sim.url, {"canceljobs": [APPLY_THEN_500], "terminatejobs": [APPLY_THEN_500]}) as proxy:
            code, out, err = await run_cli(proxy, "cancel", b, "--yes")
        assert code == 0, err
        sent = proxy.forwarded["canceljobs"] + proxy.forwarded["terminatejobs"]
        assert sent >= 2 and proxy.received["canceljobs"] + proxy.received["terminatejobs"] == sent
        (parent,) = await api.describe_jobs([b])
        assert parent["status"] == "FAILED"


async def test_ctrl_c_twice_during_a_submit_leaves_an_intent_that_audit_calls_interrupted(tmp_path):
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        await finished_reference(sim, api)
        b = sim.engine.reference_ids["JobB"]
        async with FaultProxy(sim.url, {"submitjob": [APPLY_THEN_HANG]}, hang_s=30.0) as proxy:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "batchtui.cli", "retry", b, "--yes", "--endpoint-url", proxy.url, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            for _ in range(400):  # until the SubmitJob is in flight
                if proxy.received["submitjob"]:
                    break
                await asyncio.sleep(0.05)
            assert proxy.received["submitjob"] == 1
            proc.send_signal(signal.SIGINT)
            await asyncio.sleep(0.3)
            proc.send_signal(signal.SIGINT)  # the person insists: the call in flight is abandoned
            out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 130, err.decode()
        assert b"Traceback" not in err
    action = the_action(tmp_path)
    assert action.state == audit.INTERRUPTED and action.end is not None and action.end["inFlight"] == 1
    code = cli.main(["audit", "--json"])
    assert code == 0
    audit_proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "batchtui.cli", "audit", env=env, stdout=asyncio.subprocess.PIPE)
    text = (await audit_proc.communicate())[0].decode()
    assert "retry" in text and "interrupted – outcome unknown" in text and "step 1 may have been sent" in text
    json_proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "batchtui.cli", "audit", "--json", env=env, stdout=asyncio.subprocess.PIPE)
    (shown,) = json.loads((await json_proc.communicate())[0])
    assert shown["state"] == "interrupted" and shown["inFlight"] == 1 and shown["planId"] == action.plan_id
