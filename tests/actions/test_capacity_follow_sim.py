"""A retry followed into another queue is diagnosed against that queue's compute environments, on the simulator
over HTTP with the real poller: `batchtui retry JobB --queue OtherQueue`, then OtherCE made unable to hold it
(instance types too small, or maxvCpus 0). `--once --json` gives the retry OtherQueue's real cause (not "in line in
ProdQueue"), the text output prints it, JobB's effective view (what the dashboard shows) says the retry's queue, and
OtherQueue's world is read on the capacity cadence, counted in apiCalls."""

from __future__ import annotations

import io

import pytest
from test_actions_sim import cfg
from test_follow_sim import by_name, once, retry

from batchtui import cli, headless, lineage
from batchtui import poller as poller_module
from batchtui.analysis import job_facts, job_fields, job_reports
from batchtui.aws import open_api
from batchtui.poller import Poller

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
pytestmark = pytest.mark.usefixtures("dummy_credentials", "fresh_registry")

TOO_SMALL = {"instanceTypes": ["m6i.large"]}  # 2 vCPU: JobB's children need 32
NO_VCPUS = {"maxvCpus": 0}


async def retried_into_other_queue(sim, resources: dict) -> str:
    """JobB's failed indices retried into OtherQueue (which fits them when planned), then OtherCE changed through
    the simulator's API so that it cannot place them: the retry waits RUNNABLE there. The retry's id."""
    sim.engine.run_until_idle()
    new = await retry(sim, sim.engine.reference_ids["JobB"])
    sim.batch.update_compute_environment({"computeEnvironment": "OtherCE", "computeResources": resources})
    sim.engine.advance(60)
    return new


@pytest.mark.parametrize(("resources", "cause", "words"), [
    (TOO_SMALL, "no-instance-fits", "the largest instance type OtherCE may launch, m6i.large, offers 2 vCPU"),
    (NO_VCPUS, "max-vcpus-too-small", "OtherCE may use at most 0 vCPUs"),
])
async def test_a_followed_retry_waits_for_other_queues_real_cause(resources, cause, words):
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        await retried_into_other_queue(sim, resources)
        jobs = by_name(await once(sim))
        waiting = jobs["JobB-retry"]["waiting"]
        assert waiting["cause"] == cause and waiting["computeEnvironment"] == "OtherCE"
        assert waiting["text"].startswith("in OtherQueue: needs 32 vCPU") and words in waiting["text"]
        assert "--compute-environment OtherCE" in waiting["fix"]
        assert "ProdQueue" not in waiting["text"] and "ProdCE" not in waiting["text"]
        assert set(waiting) == {"cause", "text", "awsReason", "computeEnvironment", "blockedBy", "fix"}


async def test_the_text_output_prints_other_queues_cause():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim:
        await retried_into_other_queue(sim, TOO_SMALL)
        args = cli.parse(["--queue", "ProdQueue", "--once", "--endpoint-url", sim.url])
        out = io.StringIO()
        assert await headless.run(args, headless.Printer(False, out), job_reports) == 0
        lines = [line.strip() for line in out.getvalue().splitlines()]
        assert any("⊘ no-instance-fits: in OtherQueue: needs 32 vCPU" in line for line in lines), lines
        assert not any("in line in ProdQueue" in line for line in lines)


async def test_jobbs_effective_view_says_the_retrys_queue_and_other_queue_is_read_on_the_capacity_cadence():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        new = await retried_into_other_queue(sim, TOO_SMALL)
        poller = Poller(api, "ProdQueue")
        poller.follow([new])
        before = dict(sim.requests_by_operation)
        snap = await poller.refresh()
        assert set(snap.worlds) == {"OtherQueue"} and snap.capacity is None  # ProdQueue has nothing RUNNABLE
        other = snap.worlds["OtherQueue"]
        assert other.queue is not None and [e.name for e in other.environments] == ["OtherCE"]
        # the dashboard's view: JobB in its effective state, the retry folded into it
        eff = lineage.effective(snap)
        jobb = next(j for j in eff.jobs if j.job_name == "JobB")
        waiting = job_facts(eff)[jobb.job_id].waiting
        assert waiting is not None and waiting.cause == "no-instance-fits"
        assert waiting.text.startswith("retried in OtherQueue as JobB-retry: needs 32 vCPU")
        assert waiting.compute_environment == "OtherCE"
        ops = {op: n - before.get(op, 0) for op, n in sim.requests_by_operation.items()}
        assert ops["GetJobQueueSnapshot"] == 1 and ops["DescribeComputeEnvironments"] == 1
        # not due again within CAPACITY_EVERY_S: the next refresh reads no queue, environment or front
        again = dict(sim.requests_by_operation)
        snap2 = await poller.refresh()
        assert sim.requests_by_operation["GetJobQueueSnapshot"] == again["GetJobQueueSnapshot"]
        assert sim.requests_by_operation["DescribeComputeEnvironments"] == again["DescribeComputeEnvironments"]
        assert snap2.worlds["OtherQueue"] is other
        # a minute later it is read again, and those calls are in the refresh's apiCalls
        poller._worlds_at["OtherQueue"] -= poller_module.CAPACITY_EVERY_S
        calls = sum(sim.requests_by_operation.values())
        snap3 = await poller.refresh()
        assert sim.requests_by_operation["GetJobQueueSnapshot"] == again["GetJobQueueSnapshot"] + 1
        assert snap3.api_calls == sum(sim.requests_by_operation.values()) - calls


async def test_once_the_retry_can_run_other_queues_world_is_no_longer_read():
    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        new = await retried_into_other_queue(sim, TOO_SMALL)
        poller = Poller(api, "ProdQueue")
        poller.follow([new])
        assert "OtherQueue" in (await poller.refresh()).worlds
        sim.batch.update_compute_environment({"computeEnvironment": "OtherCE",
                                              "computeResources": {"instanceTypes": ["m6i"]}})
        sim.engine.run_until_idle()
        poller._worlds_at["OtherQueue"] -= poller_module.CAPACITY_EVERY_S
        before = sim.requests_by_operation["GetJobQueueSnapshot"]
        snap = await poller.refresh()
        assert snap.job(new).status.name == "SUCCEEDED"
        assert snap.worlds == {} and sim.requests_by_operation["GetJobQueueSnapshot"] == before


async def test_at_most_three_other_queues_are_read():
    from test_follow_sim import failed_of

    from batchtui.model import INDEX_ENV, RETRY_OF_TAG

    async with SimServer(cfg(), host="127.0.0.1", port=0) as sim, open_api(endpoint_url=sim.url) as api:
        sim.engine.run_until_idle()
        b = sim.engine.reference_ids["JobB"]
        failed = await failed_of(api, b)
        sim.batch.update_compute_environment({"computeEnvironment": "OtherCE", "computeResources": TOO_SMALL})
        ids = {}
        for n, queue in enumerate(("Q1", "Q2", "Q3", "Q4")):
            sim.batch.create_job_queue({"jobQueueName": queue, "priority": 1, "computeEnvironmentOrder": [
                {"order": 1, "computeEnvironment": "OtherCE"}]})
            ids[queue] = sim.batch.submit_job({
                "jobName": f"JobB-retry-{queue}", "jobQueue": queue, "jobDefinition": "JobB-CPU-Intensive-Processing:1",
                "tags": {RETRY_OF_TAG: b},
                "containerOverrides": {"environment": [{"name": INDEX_ENV, "value": str(failed[n % len(failed)])}]},
            })["jobId"]
        sim.engine.advance(60)
        poller = Poller(api, "ProdQueue")
        poller.follow(ids.values())
        before = sim.requests_by_operation["GetJobQueueSnapshot"]
        snap = await poller.refresh()
        assert sorted(snap.worlds) == ["Q1", "Q2", "Q3"]
        assert sim.requests_by_operation["GetJobQueueSnapshot"] - before == 3
        fields = job_fields(snap)
        assert fields[ids["Q1"]]["waiting"]["cause"] == "no-instance-fits"
        # Q4's world is not read; AWS's own reason on the job still gives the cause, in Q4's name
        q4 = fields[ids["Q4"]]["waiting"]
        assert q4["awsReason"].startswith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT")
        assert q4["cause"] == "no-instance-fits" and q4["text"].startswith("in Q4: needs 32 vCPU")
