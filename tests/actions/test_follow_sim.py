"""Retries sent to another queue, joined back on the simulator over HTTP with the real poller: `batchtui retry …
--queue OtherQueue`, then `batchtui --queue ProdQueue --once --json` shows JobB's `retries` with that job and
`effectiveChildCounts` counting it – through two generations – while a retry of a job that is not ours is not shown;
and a restarted headless run still says who cancelled what (the audit log), not only AWS's flags."""

from __future__ import annotations

import io
import json

import pytest
from test_actions_sim import cfg, run_cli

from batchtui import cli, headless
from batchtui.analysis import job_reports
from batchtui.aws import open_api

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")


async def once(sim, *more: str) -> dict:
    """`batchtui --queue ProdQueue --once --json` in this event loop; its JSON document."""
    args = cli.parse(["--queue", "ProdQueue", "--once", "--json", "--endpoint-url", sim.url, *more])
    out = io.StringIO()
    assert await headless.run(args, headless.Printer(True, out), job_reports) == 0
    return json.loads(out.getvalue())


def by_name(doc: dict) -> dict[str, dict]:
    return {j["jobName"]: j for j in doc["jobs"]}


async def retry(sim, job_id: str, *more: str) -> str:
    """`batchtui retry JOB --queue OtherQueue --yes`; the new job's id."""
    code, out, err = await run_cli(sim, "retry", job_id, "--queue", "OtherQueue", "--yes", *more)
    assert code == 0, err + out
    return out.rsplit("→ new job ", 1)[1].split()[0]


async def failed_of(api, job_id: str) -> list[int]:
    page = await api.list_jobs(arrayJobId=job_id, jobStatus="FAILED", maxResults=1000)
    return sorted(s["arrayProperties"]["index"] for s in page["jobSummaryList"])


async def test_a_retry_in_another_queue_joins_its_original_through_two_generations():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        failed = await failed_of(api, b)
        assert len(failed) >= 2, "this seed must fail some of JobB's indices"
        # the first retry fails its first index again (the simulator's SIM_FAIL_INDICES means original indices)
        r1 = await retry(sim, b, "--env", f"SIM_FAIL_INDICES={failed[0]}")
        (r1_desc,) = await api.describe_jobs([r1])
        assert r1_desc["jobQueue"].endswith("/OtherQueue")
        jobs = by_name(await once(sim))
        assert jobs["JobB"]["retries"] == [{"jobId": r1, "indices": failed}]
        assert jobs["JobB-retry"]["retryOf"] == b
        counts = jobs["JobB"]["effectiveChildCounts"]
        assert counts["FAILED"] == 0 and counts["SUCCEEDED"] == jobs["JobB"]["childCounts"]["SUCCEEDED"]
        assert sum(counts[s] for s in ("SUBMITTED", "PENDING", "RUNNABLE")) == len(failed)

        sim.engine.run_until_idle()
        jobs = by_name(await once(sim))
        assert jobs["JobB"]["effectiveChildCounts"]["FAILED"] == 1  # the index the first retry failed again
        assert jobs["JobB-retry"]["failedIndices"] == [0]

        r2 = await retry(sim, r1, "--env", "SIM_FAIL_INDICES=")  # a retry of the retry, into OtherQueue too
        sim.engine.run_until_idle()
        doc = await once(sim)
        jobb = by_name(doc)["JobB"]
        assert jobb["retries"] == [{"jobId": r1, "indices": failed}, {"jobId": r2, "indices": [failed[0]]}]
        assert jobb["effectiveChildCounts"]["SUCCEEDED"] == jobb["arraySize"]  # whole again
        assert jobb["effectiveOutlook"] == "succeeded" and jobb["outlook"] == "failed"
        retried = {j["jobId"]: j for j in doc["jobs"] if j.get("retryOf")}
        assert set(retried) == {r1, r2} and retried[r2]["retryOf"] == r1


async def test_a_retry_whose_original_is_not_ours_is_not_shown():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.run_until_idle()
        other = await api.submit_job(jobName="Elsewhere", jobQueue="OtherQueue",
                                     jobDefinition="JobB-CPU-Intensive-Processing:1",
                                     containerOverrides={"environment": [{"name": "SIM_FAIL_RATE", "value": "1"}]})
        sim.engine.run_until_idle()
        assert (await api.describe_jobs([other["jobId"]]))[0]["status"] == "FAILED"
        mine = await retry(sim, sim.engine.reference_ids["JobB"])
        foreign = await retry(sim, other["jobId"])  # in the audit log too, but a retry of a job of OtherQueue's
        doc = await once(sim)
        ids = {j["jobId"] for j in doc["jobs"]}
        assert mine in ids and foreign not in ids and other["jobId"] not in ids
        assert {j["jobName"] for j in doc["jobs"]} == {"JobA", "JobB", "JobB-retry", "JobC", "JobD", "JobE"}


async def test_a_restarted_headless_run_says_who_cancelled_from_the_audit_log(monkeypatch, tmp_path):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        sim.engine.advance(14 * 60 + 30)  # JobB running, JobC waiting for it
        c = sim.engine.reference_ids["JobC"]
        code, out, err = await run_cli(sim, "cancel", c, "--yes")
        assert code == 0, err + out
        jobc = by_name(await once(sim))["JobC"]  # a new process: only the audit log knows who sent it
        cancel = jobc["cancel"]
        assert cancel["by"] == "you" and cancel["at"] is not None and cancel["terminate"] is False
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "another-machine"))
        assert by_name(await once(sim))["JobC"]["cancel"]["by"] is None  # AWS's flags alone: no author


async def test_a_second_retry_sees_the_first_in_the_other_queue_and_resubmits_nothing(monkeypatch):
    from batchtui import execute

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        first = await retry(sim, b)
        monkeypatch.setattr(execute, "REGISTRY", execute.Registry())  # another process: only AWS and the log know
        sent = sim.requests_by_operation["SubmitJob"]
        code, out, err = await run_cli(sim, "retry", b, "--queue", "OtherQueue", "--yes")
        assert code == 0, err + out
        assert f"already resubmitted as JobB-retry ({first})" in out and "nothing to do" in out
        assert sim.requests_by_operation["SubmitJob"] == sent


async def test_watch_joins_a_retry_sent_to_another_queue_while_it_runs():
    import asyncio

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        args = cli.parse(["--queue", "ProdQueue", "--watch", "--json", "--refresh", "0.05", "--endpoint-url",
                          sim.url])
        out = io.StringIO()
        watching = asyncio.create_task(headless.run(args, headless.Printer(True, out), job_reports))
        try:
            while not out.getvalue():
                await asyncio.sleep(0.05)
            assert "retries" not in by_name(json.loads(out.getvalue().splitlines()[0]))["JobB"]
            new = await retry(sim, b)  # from another terminal: the watch reads what the audit log gained
            for _ in range(200):
                await asyncio.sleep(0.05)
                jobb = by_name(json.loads(out.getvalue().splitlines()[-1]))["JobB"]
                if jobb.get("retries"):
                    break
            assert [r["jobId"] for r in jobb["retries"]] == [new]
        finally:
            watching.cancel()


async def test_retry_wait_counts_a_blocking_partners_retry_sent_to_another_queue():
    import asyncio

    from test_actions_sim import SIZE, children
    from test_waitplans_sim import by_name as queue_by_name
    from test_waitplans_sim import run_cli as wait_cli
    from test_waitplans_sim import to_jobc_running

    from batchtui import waitplans

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        ids = await to_jobc_running(sim, api)
        task = asyncio.create_task(wait_cli(sim, "retry", ids["JobB"], "--downstream", "--wait", "--yes"))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if waitplans.list_plans()[0]:
                break
        (stored,) = waitplans.list_plans()[0]
        retried = {i for a, b in stored.to_json()["steps"][0]["conditions"][0]["retried"] for i in range(a, b + 1)}
        kids = await children(api, ids["JobC"], SIZE)
        victim = next(i for i, d in sorted(kids.items()) if i not in retried and d["status"] != "SUCCEEDED")
        await api.terminate_jobs([f"{ids['JobC']}:{victim}"], "test: a partner fails after planning")
        sim.engine.run_until_idle()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if waitplans.load(waitplans.path_of(stored.plan_id)).steps[0].state == waitplans.BLOCKED:
                break
        assert not task.done(), task.result()
        # the fix, its retry sent to OtherQueue: only its id (in the audit log) lets the waiting process see it
        code, out, err = await run_cli(sim, "retry", f"{ids['JobC']}:{victim}", "--downstream", "--queue",
                                       "OtherQueue", "--yes")
        assert code == 0, err + out
        for _ in range(400):
            if task.done():
                break
            sim.engine.advance(120)
            await asyncio.sleep(0.05)
        assert task.done(), "the wait never saw the partner's retry in OtherQueue"
        code, out, err = task.result()
        assert code == 0, err + out
        assert "JobD-retry submitted" in out and "JobE-retry submitted" in out
        jobs = await queue_by_name(api)
        assert len(jobs["JobD-retry"]) == 1 and len(jobs["JobE-retry"]) == 1
