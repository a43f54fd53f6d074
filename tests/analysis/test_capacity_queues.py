"""The queue-level causes: `queue-invalid` (the job queue DISABLED, INVALID, or with no compute environment) and
`lower-priority` (a higher-priority queue sharing the environment takes it: its RUNNABLE/RUNNING work there is the
evidence), from worlds built through the simulator's API and read by the real poller over HTTP; fair-share queues
and environments that vanished give a sentence, never a crash."""

from __future__ import annotations

import asyncio

import pytest

from batchtui.analysis import job_fields
from batchtui.aws import open_api
from batchtui.capacity import World, diagnose, rival, rival_queues
from batchtui.model import Job, Status
from batchtui.poller import Poller
from batchtui.shapes import container_overrides

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig
boto3 = pytest.importorskip("boto3")


def batch(url: str):
    return boto3.client("batch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                        aws_secret_access_key="y")


async def jobb_waiting(sim) -> dict:
    async with open_api(endpoint_url=sim.url) as api:
        snap = await Poller(api, "ProdQueue").refresh()
    jobb = next(j for j in snap.jobs if j.job_name == "JobB")
    assert jobb.array is not None and jobb.array.count(Status.RUNNABLE) > 0
    return job_fields(snap)[jobb.job_id]["waiting"]


def reference() -> SimConfig:
    return SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=200, advance_s=0, summary_lag_s=0.0)


async def backfill_queue(sim, name: str, *, priority: int) -> None:
    """Another queue on ProdCE (through the API, as a person would make it) with a 1,000-child Backfill array."""
    def make() -> None:
        b = batch(sim.url)
        b.create_job_queue(jobQueueName=name, priority=priority,
                           computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "ProdCE"}])
        b.submit_job(jobName="Backfill", jobQueue=name, jobDefinition="JobB-CPU-Intensive-Processing:1",
                     arrayProperties={"size": 1000})

    await asyncio.to_thread(make)


async def test_a_higher_priority_queue_sharing_the_environment_is_named_with_its_work():
    async with SimServer(reference()) as sim:
        await backfill_queue(sim, "UrgentQueue", priority=100)
        sim.engine.advance(15 * 60)  # JobA done; Backfill holds ProdCE while JobB's children wait
        before = dict(sim.requests_by_operation)
        w = await jobb_waiting(sim)
        calls = {op: sim.requests_by_operation[op] - before.get(op, 0)
                 for op in ("DescribeJobQueues", "GetJobQueueSnapshot")}
    assert w["cause"] == "lower-priority" and w["computeEnvironment"] == "ProdCE"
    assert w["text"].startswith("UrgentQueue (priority 100, above ProdQueue's 10) shares ProdCE and is taking it (")
    assert "RUNNABLE" in w["text"] and "vCPUs running" in w["text"]
    assert w["fix"] == "wait for UrgentQueue's work, or raise this queue's priority: aws batch update-job-queue " \
                       "--job-queue ProdQueue --priority 101"
    # the queue check, then every queue once; our front, then the rival's
    assert calls == {"DescribeJobQueues": 2, "GetJobQueueSnapshot": 2}


async def test_a_lower_priority_queue_on_the_environment_is_no_cause():
    async with SimServer(reference()) as sim:
        await backfill_queue(sim, "MinorQueue", priority=1)
        sim.engine.advance(15 * 60)
        w = await jobb_waiting(sim)
    assert w["cause"] != "lower-priority" and "MinorQueue" not in w["text"]


async def test_a_disabled_queue_is_queue_invalid_with_the_command():
    async with SimServer(reference()) as sim:
        sim.engine.advance(15 * 60)
        await asyncio.to_thread(lambda: batch(sim.url).update_job_queue(jobQueue="ProdQueue", state="DISABLED"))
        w = await jobb_waiting(sim)
    assert w["cause"] == "queue-invalid" and w["text"].startswith("the queue ProdQueue is DISABLED")
    assert w["fix"] == "aws batch update-job-queue --job-queue ProdQueue --state ENABLED"


# --- the pure parts ------------------------------------------------------------------------------------------

def ce(name: str = "ProdCE", desired: int = 0, max_vcpus: int = 256) -> dict:
    return {"computeEnvironmentName": name, "computeEnvironmentArn": f"arn:aws:batch:us-east-1:1:compute-environment/"
            f"{name}", "state": "ENABLED", "status": "VALID", "type": "MANAGED",
            "computeResources": {"type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "desiredvCpus": desired,
                                 "instanceTypes": ["c6i"]}}


def queue(name: str, priority: int, envs: list[str], **extra: object) -> dict:
    return {"jobQueueName": name, "jobQueueArn": f"arn:aws:batch:us-east-1:1:job-queue/{name}", "state": "ENABLED",
            "status": "VALID", "priority": priority, **extra,
            "computeEnvironmentOrder": [{"order": n, "computeEnvironment": f"arn:aws:batch:us-east-1:1:"
                                         f"compute-environment/{e}"} for n, e in enumerate(envs, 1)]}


JOB = Job(job_id="j-1", job_name="Work", status=Status.RUNNABLE,
          container_overrides=container_overrides({"resourceRequirements": [{"type": "VCPU", "value": "4"},
                                                                            {"type": "MEMORY", "value": "4096"}]}))
OURS = queue("ProdQueue", 10, ["ProdCE"])


def test_only_enabled_higher_priority_queues_sharing_an_environment_are_rivals():
    others = [queue("High", 50, ["ProdCE", "X"]), queue("Higher", 90, ["OtherCE"]), queue("Low", 1, ["ProdCE"]),
              {**queue("Off", 99, ["ProdCE"]), "state": "DISABLED"}, OURS, "junk"]
    assert [q["jobQueueName"] for q in rival_queues(OURS, others)] == ["High"]


def test_an_idle_rival_takes_nothing_and_a_full_environment_held_by_our_work_is_capacity_full():
    idle = rival(OURS, queue("High", 50, ["ProdCE"]), {"frontOfQueue": {"jobs": []}, "queueUtilization": {
        "totalCapacityUsage": [{"capacityUnit": "VCPU", "quantity": 0.0}]}})
    assert not idle.busy
    w = diagnose(JOB, World.parse(OURS, [ce(desired=256)], None, rivals=[idle]))
    assert w is not None and w.cause == "capacity-full"
    busy = rival(OURS, queue("High", 50, ["ProdCE"]), {"frontOfQueue": {"jobs": [{"jobArn": "a/x"}] * 3}})
    w = diagnose(JOB, World.parse(OURS, [ce(desired=16)], None, rivals=[busy]))
    assert w is not None and w.cause == "lower-priority" and "(3 RUNNABLE)" in w.text


def test_a_rival_whose_snapshot_could_not_be_read_is_no_evidence():
    unknown = rival(OURS, queue("High", 50, ["ProdCE"]), None)
    assert unknown.runnable is None and unknown.running_vcpus is None
    w = diagnose(JOB, World.parse(OURS, [ce(desired=256)], None, rivals=[unknown]))
    assert w is not None and w.cause == "capacity-full"


def test_an_invalid_queue_and_a_queue_without_environments_are_queue_invalid():
    bad = {**OURS, "status": "INVALID", "statusReason": "CLIENT_ERROR - computeEnvironmentOrder is invalid"}
    w = diagnose(JOB, World.parse(bad, [ce()], None))
    assert w is not None and w.cause == "queue-invalid"
    assert w.text == "the queue ProdQueue is INVALID: CLIENT_ERROR - computeEnvironmentOrder is invalid"
    w = diagnose(JOB, World.parse({**OURS, "computeEnvironmentOrder": []}, [], None))
    assert w is not None and w.cause == "queue-invalid" and "has no compute environment" in w.text
    assert w.fix is not None and w.fix.startswith("aws batch update-job-queue --job-queue ProdQueue ")


def test_environments_that_vanished_and_fair_share_queues_are_said_not_crashed_on():
    w = diagnose(JOB, World.parse(OURS, [], None))
    assert w is not None and w.cause == "in-line" and w.text.startswith("unknown: ProdCE, which ProdQueue lists")
    fair = queue("ProdQueue", 10, ["ProdCE"], schedulingPolicyArn="arn:aws:batch:us-east-1:1:scheduling-policy/p")
    w = diagnose(JOB, World.parse(fair, [ce()], None))
    assert w is not None and w.cause == "in-line" and "fair-share policy" in w.text


def test_the_capacity_view_lists_the_rivals_with_their_work():
    import io
    from datetime import UTC, datetime

    from rich.console import Console

    from batchtui.model import Snapshot
    from batchtui.ui.screens.capacity import capacity_view

    busy = rival(OURS, queue("High", 50, ["ProdCE"]), {"frontOfQueue": {"jobs": [{"jobArn": "a/x"}] * 3},
                                                       "queueUtilization": {"totalCapacityUsage": [
                                                           {"capacityUnit": "VCPU", "quantity": 64.0}]}})
    snap = Snapshot(queue="ProdQueue", polled_at=datetime(2026, 12, 4, tzinfo=UTC), api_calls=0, jobs=(JOB,),
                    capacity=World.parse(OURS, [ce(desired=16)], None, rivals=[busy]))
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(capacity_view(snap))
    text = console.export_text()
    assert "High  priority 50 · shares ProdCE · 3 RUNNABLE at its front · 64 vCPUs running" in text
    assert "lower-priority" in text


# --- the capacity-aware ETA ----------------------------------------------------------------------------------

def test_how_many_fit_at_a_time_counts_instances_and_what_one_holds():
    from batchtui.capacity import Needs, at_a_time

    memory = World.parse(OURS, [{**ce(max_vcpus=2720), "computeResources": {
        "type": "EC2", "maxvCpus": 2720, "desiredvCpus": 2720,
        "instanceTypes": ["r6i.large", "r6i.xlarge", "r6i.2xlarge", "r6i.4xlarge"]}}], None).environments[0]
    assert at_a_time(memory, Needs(1, 32768)) == 510  # three to an r6i.4xlarge (16 vCPU), 170 of them
    (cpu,) = World.parse(OURS, [ce(max_vcpus=4096)], None).environments
    assert at_a_time(cpu, Needs(32, 4096)) == 128
    assert at_a_time(cpu, Needs(None, 4096)) == 0


async def test_a_capacity_full_array_gets_an_eta_in_waves_of_what_fits():
    import math
    from datetime import datetime, timedelta

    from batchtui.analysis import analyze

    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=1000, advance_s=16 * 60,
                       summary_lag_s=0.0)
    async with SimServer(config) as sim, open_api(endpoint_url=sim.url) as api:
        snap = await Poller(api, "ProdQueue").refresh()
    jobb = next(j for j in snap.jobs if j.job_name == "JobB")
    fields = job_fields(snap)[jobb.job_id]
    w = fields["waiting"]
    assert w["cause"] == "capacity-full" and "; 128 of this job fit at a time → about " in w["text"]
    a = analyze(snap)
    d = a.duration_s[jobb.job_id]
    assert d and jobb.array is not None
    remaining = sum(jobb.array.count(s) for s in (Status.RUNNABLE, Status.STARTING, Status.RUNNING, Status.PENDING))
    expected = snap.polled_at + timedelta(seconds=math.ceil(remaining / 128) * d)
    eta = datetime.fromisoformat(fields["eta"].replace("Z", "+00:00"))
    assert abs((eta - expected).total_seconds()) <= 1 and fields["etaLowerBound"] is False
