"""The world a RUNNABLE job lives in, through boto3 over HTTP: compute environments, placement on one instance,
head-of-line blocking and its reasons, queue states and priorities, and the operations that manage them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from sim_harness import Sim

from batchtui.sim.capacity import (
    CE_INVALID,
    COMPUTE_ENVIRONMENT_MAX_RESOURCE,
    JOB_RESOURCE_REQUIREMENT,
)

CE_READY_S = 31  # CREATING/UPDATING → VALID takes 30 simulated seconds


def error_of(call: Any, **kw: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kw)
    err = info.value.response["Error"]
    return err["Code"], err["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


def environment(sim: Sim, name: str, types: list[str] | None = None, max_vcpus: int = 256, kind: str = "EC2",
                **extra: Any) -> str:
    resources: dict[str, Any] = {"type": kind, "maxvCpus": max_vcpus, "subnets": ["subnet-1"],
                                 "securityGroupIds": ["sg-1"], **extra}
    if types is not None:
        resources["instanceTypes"] = types
    return sim.batch.create_compute_environment(computeEnvironmentName=name, type="MANAGED",
                                                computeResources=resources)["computeEnvironmentArn"]


def queue(sim: Sim, name: str, *ces: str, priority: int = 1, **extra: Any) -> str:
    order = [{"order": i, "computeEnvironment": ce} for i, ce in enumerate(ces, 1)]
    return sim.batch.create_job_queue(jobQueueName=name, priority=priority, computeEnvironmentOrder=order,
                                      **extra)["jobQueueArn"]


def world(sim: Sim, types: list[str] | None, max_vcpus: int = 256, name: str = "Q", **kw: Any) -> str:
    """A queue on one new environment, ready for work."""
    environment(sim, f"{name}CE", types, max_vcpus, **kw)
    queue(sim, name, f"{name}CE")
    sim.advance(CE_READY_S)
    return name


def sized(vcpus: str, memory: str, gpus: str | None = None) -> dict[str, Any]:
    req = [{"type": "VCPU", "value": vcpus}, {"type": "MEMORY", "value": memory}]
    if gpus:
        req.append({"type": "GPU", "value": gpus})
    return {"containerOverrides": {"resourceRequirements": req}}


def runnable_summary(sim: Sim, q: str, job_id: str) -> dict[str, Any]:
    listed = sim.batch.list_jobs(jobQueue=q, jobStatus="RUNNABLE")["jobSummaryList"]
    return next(s for s in listed if s["jobId"] == job_id)


# --- placement on one instance -----------------------------------------------------------------------------


def test_a_job_bigger_than_every_instance_type_stays_runnable_with_the_reason(sim: Sim) -> None:
    q = world(sim, ["c6i"], max_vcpus=4096)  # c6i.32xlarge has 128 vCPUs; the family has thousands in total
    big = sim.submit("big", queue=q, **sized("200", "4096"))
    sim.advance(600)
    job = sim.describe(big)
    assert job["status"] == "RUNNABLE" and job["statusReason"] == JOB_RESOURCE_REQUIREMENT
    assert runnable_summary(sim, q, big)["statusReason"] == JOB_RESOURCE_REQUIREMENT


def test_a_job_the_largest_instance_holds_runs(sim: Sim) -> None:
    q = world(sim, ["c6i"], max_vcpus=4096)
    job = sim.submit("fits", queue=q, **sized("128", "200000"))
    sim.advance(20)
    assert sim.status(job) == "RUNNING"


def test_memory_is_counted_as_what_the_instance_offers_not_its_nominal_size(sim: Sim) -> None:
    q = world(sim, ["m6i.large"])  # 8 GiB installed: about 7,950 MiB for jobs
    fits = sim.submit("fits", queue=q, **sized("1", "7900"))
    sim.advance(20)
    assert sim.status(fits) == "RUNNING"
    too_big = sim.submit("too-big", queue=q, **sized("1", "8192"))
    sim.advance(20)
    job = sim.describe(too_big)
    assert job["status"] == "RUNNABLE" and job["statusReason"] == JOB_RESOURCE_REQUIREMENT


def test_max_vcpus_below_the_job_blocks_with_its_own_reason(sim: Sim) -> None:
    q = world(sim, ["c6i"], max_vcpus=16)
    job = sim.submit("wide", queue=q, **sized("32", "4096"))
    sim.advance(60)
    assert sim.describe(job)["statusReason"] == COMPUTE_ENVIRONMENT_MAX_RESOURCE
    assert sim.status(job) == "RUNNABLE"


def test_max_vcpus_bounds_what_runs_at_once(sim: Sim) -> None:
    q = world(sim, ["c6i.xlarge"], max_vcpus=8)  # two 4-vCPU instances
    jobs = [sim.submit(f"j{i}", queue=q, **sized("4", "4096")) for i in range(3)]
    sim.advance(20)
    assert sorted(sim.status(j) for j in jobs) == ["RUNNABLE", "RUNNING", "RUNNING"]
    waiting = next(j for j in jobs if sim.status(j) == "RUNNABLE")
    assert "statusReason" not in sim.describe(waiting)  # only waiting for room: not blocked
    ce = sim.batch.describe_compute_environments(computeEnvironments=["QCE"])["computeEnvironments"][0]
    assert ce["computeResources"]["desiredvCpus"] == 8
    sim.advance(200)
    assert [sim.status(j) for j in jobs] == ["SUCCEEDED"] * 3
    ce = sim.batch.describe_compute_environments(computeEnvironments=["QCE"])["computeEnvironments"][0]
    assert ce["computeResources"]["desiredvCpus"] == 0  # scaled in when the work is done


def test_gpu_jobs_run_only_on_gpu_instances(sim: Sim) -> None:
    cpu = world(sim, ["c6i"], name="Cpu")
    gpu = world(sim, ["g5"], name="Gpu")
    on_cpu = sim.submit("g", queue=cpu, **sized("4", "8192", gpus="1"))
    on_gpu = sim.submit("g", queue=gpu, **sized("4", "8192", gpus="1"))
    eight = sim.submit("g8", queue=gpu, **sized("4", "8192", gpus="8"))  # only g5.48xlarge has 8
    sim.advance(20)
    assert sim.describe(on_cpu)["statusReason"] == JOB_RESOURCE_REQUIREMENT
    assert sim.status(on_gpu) == "RUNNING" and sim.status(eight) == "RUNNING"


def fargate_definition(sim: Sim) -> None:
    sim.batch.register_job_definition(
        jobDefinitionName="tiny", type="container", platformCapabilities=["FARGATE"],
        containerProperties={"image": "busybox", "executionRoleArn": "arn:aws:iam::123456789012:role/x",
                             "resourceRequirements": [{"type": "VCPU", "value": "0.25"},
                                                      {"type": "MEMORY", "value": "512"}]})


def test_fargate_jobs_run_on_fargate_environments_with_fargate_sizes(sim: Sim) -> None:
    fargate_definition(sim)
    q = world(sim, None, max_vcpus=4, kind="FARGATE", name="Serverless")
    ok = sim.submit("ok", queue=q, jobDefinition="tiny")
    odd = sim.submit("odd", queue=q, jobDefinition="tiny", **sized("1", "1024"))  # 1 vCPU takes 2–8 GiB
    sim.advance(20)
    assert sim.status(ok) == "RUNNING"
    assert sim.describe(odd)["statusReason"] == JOB_RESOURCE_REQUIREMENT
    ec2 = world(sim, ["m6i"], name="Ec2")
    stray = sim.submit("stray", queue=ec2, jobDefinition="tiny")
    sim.advance(20)
    assert sim.describe(stray)["statusReason"] == JOB_RESOURCE_REQUIREMENT


def test_the_queue_tries_its_environments_in_order(sim: Sim) -> None:
    environment(sim, "Small", ["c6i.large"], max_vcpus=2)
    environment(sim, "Spill", ["c6i.large"], max_vcpus=2)
    queue(sim, "Q", "Small", "Spill")
    sim.advance(CE_READY_S)
    first, second = (sim.submit(f"j{i}", queue="Q", **sized("2", "2048")) for i in range(2))
    sim.advance(60)
    where = [sim.describe(j)["attempts"][0]["container"]["containerInstanceArn"] for j in (first, second)]
    assert sorted(arn.split("/")[1] for arn in where) == ["Small", "Spill"]


# --- head-of-line blocking ---------------------------------------------------------------------------------


def test_an_unplaceable_head_blocks_the_jobs_behind_it_until_cancelled(sim: Sim) -> None:
    q = world(sim, ["m6i"])
    head = sim.submit("head", queue=q, **sized("500", "2048"))
    sim.advance(5)
    behind = sim.submit("behind", queue=q)
    sim.advance(120)
    assert sim.describe(head)["statusReason"] == JOB_RESOURCE_REQUIREMENT
    assert sim.status(behind) == "RUNNABLE" and "statusReason" not in sim.describe(behind)
    sim.batch.cancel_jobs(jobs=[head], reason="too big")
    sim.advance(20)
    assert sim.status(behind) == "RUNNING"
    gone = sim.describe(head)
    assert (gone["status"], gone["statusReason"], gone["isCancelled"]) == ("FAILED", "too big", True)


def test_the_reason_goes_away_when_the_environment_can_hold_the_job(sim: Sim) -> None:
    q = world(sim, ["c6i"], max_vcpus=4096)
    job = sim.submit("wide", queue=q, **sized("150", "4096"))
    sim.advance(20)
    assert sim.describe(job)["statusReason"] == JOB_RESOURCE_REQUIREMENT
    sim.batch.update_compute_environment(computeEnvironment="QCE",
                                         computeResources={"instanceTypes": ["c6i", "c7i"]})
    ce = sim.batch.describe_compute_environments(computeEnvironments=["QCE"])["computeEnvironments"][0]
    assert ce["status"] == "UPDATING" and ce["computeResources"]["instanceTypes"] == ["c6i", "c7i"]
    sim.advance(20)  # c7i.48xlarge has 192 vCPUs
    detail = sim.describe(job)
    assert detail["status"] == "RUNNING" and "statusReason" not in detail
    sim.advance(CE_READY_S)
    ce = sim.batch.describe_compute_environments(computeEnvironments=["QCE"])["computeEnvironments"][0]
    assert ce["status"] == "VALID"


def test_jobs_in_a_queue_whose_environments_are_all_invalid_say_so(sim: Sim) -> None:
    q = world(sim, ["m6i"])
    sim.engine.invalidate_compute_environment("QCE", "CLIENT_ERROR - the service role is missing")
    job = sim.submit("j", queue=q)
    sim.advance(20)
    detail = sim.describe(job)
    assert (detail["status"], detail["statusReason"]) == ("RUNNABLE", CE_INVALID)
    ce = sim.batch.describe_compute_environments(computeEnvironments=["QCE"])["computeEnvironments"][0]
    assert (ce["status"], ce["statusReason"]) == ("INVALID", "CLIENT_ERROR - the service role is missing")
    sim.batch.update_compute_environment(computeEnvironment="QCE", computeResources={"maxvCpus": 512})  # the fix
    sim.advance(20)
    detail = sim.describe(job)
    assert detail["status"] == "RUNNING" and "statusReason" not in detail


def test_a_time_limit_action_cancels_a_blocked_head(sim: Sim) -> None:
    environment(sim, "CE", ["m6i"])
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"
    queue(sim, "Q", "CE", jobStateTimeLimitActions=[
        {"reason": reason, "state": "RUNNABLE", "maxTimeSeconds": 600, "action": "CANCEL"}])
    sim.advance(CE_READY_S)
    head = sim.submit("head", queue="Q", **sized("500", "2048"))
    behind = sim.submit("behind", queue="Q")
    sim.advance(500)
    assert sim.status(head) == "RUNNABLE" and sim.status(behind) == "RUNNABLE"
    sim.advance(120)
    detail = sim.describe(head)
    assert detail["status"] == "FAILED"
    assert detail["statusReason"] == f"Canceled by JobStateTimeLimit action due to reason: {reason}"
    sim.advance(20)
    assert sim.status(behind) == "RUNNING"


# --- environment and queue states --------------------------------------------------------------------------


def test_a_new_environment_is_creating_then_valid(sim: Sim) -> None:
    environment(sim, "CE", ["m6i"])
    queue(sim, "Q", "CE")
    job = sim.submit("early", queue="Q")
    ce = sim.batch.describe_compute_environments(computeEnvironments=["CE"])["computeEnvironments"][0]
    assert ce["status"] == "CREATING"
    sim.advance(20)
    assert sim.status(job) == "RUNNABLE"
    sim.advance(20)
    ce = sim.batch.describe_compute_environments(computeEnvironments=["CE"])["computeEnvironments"][0]
    assert ce["status"] == "VALID" and ce["state"] == "ENABLED"
    assert sim.status(job) in ("STARTING", "RUNNING")


def test_a_disabled_environment_places_nothing_new_but_lets_running_work_finish(sim: Sim) -> None:
    q = world(sim, ["m6i"])
    running = sim.submit("running", queue=q)
    sim.advance(20)
    sim.batch.update_compute_environment(computeEnvironment="QCE", state="DISABLED")
    waiting = sim.submit("waiting", queue=q)
    sim.advance(120)
    assert sim.status(running) == "SUCCEEDED"
    assert sim.status(waiting) == "RUNNABLE" and "statusReason" not in sim.describe(waiting)
    sim.batch.update_compute_environment(computeEnvironment="QCE", state="ENABLED")
    sim.advance(20)
    assert sim.status(waiting) == "RUNNING"


def test_a_disabled_queue_refuses_new_jobs_and_finishes_what_it_holds(sim: Sim) -> None:
    q = world(sim, ["m6i"])
    held = sim.submit("held", queue=q)
    sim.batch.update_job_queue(jobQueue=q, state="DISABLED")
    code, message, status = error_of(sim.batch.submit_job, jobName="late", jobQueue=q, jobDefinition="sim-work")
    assert (code, status) == ("ClientException", 400) and "DISABLED" in message
    sim.advance(200)
    assert sim.status(held) == "SUCCEEDED"
    assert sim.batch.describe_job_queues(jobQueues=[q])["jobQueues"][0]["state"] == "DISABLED"


def test_the_higher_priority_queue_is_served_first_on_a_shared_environment(sim: Sim) -> None:
    environment(sim, "Shared", ["c6i.large"], max_vcpus=2)  # one job at a time
    queue(sim, "Low", "Shared", priority=1)
    queue(sim, "High", "Shared", priority=10)
    sim.advance(CE_READY_S)
    blocker = sim.submit("blocker", queue="Low", **sized("2", "2048"))
    sim.advance(10)
    low = sim.submit("low", queue="Low", **sized("2", "2048"))
    sim.advance(5)
    high = sim.submit("high", queue="High", **sized("2", "2048"))
    sim.advance(5)
    assert sim.status(blocker) == "RUNNING" and sim.status(low) == sim.status(high) == "RUNNABLE"
    sim.advance(90)  # the blocker ends within 45–75 s of starting
    assert sim.status(blocker) == "SUCCEEDED"
    assert sim.status(high) in ("STARTING", "RUNNING") and sim.status(low) == "RUNNABLE"


def test_spot_environments_lose_instances_and_the_attempt_is_retried(make_sim: Any) -> None:
    sim = make_sim(spot_interruption_rate=1.0)
    q = world(sim, ["m6i"], kind="SPOT", allocationStrategy="SPOT_CAPACITY_OPTIMIZED")
    job = sim.submit("spot", queue=q, retryStrategy={"attempts": 2, "evaluateOnExit": [
        {"onStatusReason": "Host EC2*", "action": "RETRY"}]})
    sim.advance(600)
    detail = sim.describe(job)
    assert detail["status"] == "FAILED" and len(detail["attempts"]) == 2
    for attempt in detail["attempts"]:
        assert attempt["statusReason"].startswith("Host EC2 (instance i-")
        assert attempt["statusReason"].endswith(") terminated.")
        assert "exitCode" not in attempt["container"]


# --- the operations and their errors -----------------------------------------------------------------------


def test_describe_environments_and_queues_page_through_everything(sim: Sim) -> None:
    for i in range(5):
        environment(sim, f"CE{i}", ["m6i"])
        queue(sim, f"Q{i}", f"CE{i}")
    pages = list(sim.batch.get_paginator("describe_compute_environments").paginate(
        PaginationConfig={"PageSize": 2}))
    names = [c["computeEnvironmentName"] for p in pages for c in p["computeEnvironments"]]
    assert len(pages) == 4 and names == ["ProdCE", "ProdMemoryCE", "OtherCE"] + [f"CE{i}" for i in range(5)]
    pages = list(sim.batch.get_paginator("describe_job_queues").paginate(PaginationConfig={"PageSize": 3}))
    names = [q["jobQueueName"] for p in pages for q in p["jobQueues"]]
    assert len(pages) == 3 and names == ["ProdQueue", "OtherQueue"] + [f"Q{i}" for i in range(5)]
    code, _, status = error_of(sim.batch.describe_job_queues, maxResults=101)
    assert (code, status) == ("ClientException", 400)


def test_descriptions_have_the_shapes_aws_gives(sim: Sim) -> None:
    environment(sim, "CE", ["m6i", "c6i.large"], max_vcpus=64, minvCpus=4)
    queue(sim, "Q", "CE", priority=5, tags={"team": "data"})
    ce = sim.batch.describe_compute_environments(computeEnvironments=["CE"])["computeEnvironments"][0]
    assert "tags" not in ce  # an empty tags map is left out
    assert ce["computeResources"] == {
        "type": "EC2", "allocationStrategy": "BEST_FIT_PROGRESSIVE", "minvCpus": 4, "maxvCpus": 64,
        "desiredvCpus": 4, "instanceTypes": ["m6i", "c6i.large"], "subnets": ["subnet-1"],
        "securityGroupIds": ["sg-1"]}
    q = sim.batch.describe_job_queues(jobQueues=["Q"])["jobQueues"][0]
    assert (q["priority"], q["tags"], q["state"], q["status"]) == (5, {"team": "data"}, "ENABLED", "VALID")
    assert q["computeEnvironmentOrder"] == [{"order": 1, "computeEnvironment": ce["computeEnvironmentArn"]}]
    job = sim.submit("untagged")
    assert "tags" not in sim.describe(job)


@pytest.mark.parametrize(("call", "kw", "needle"), [
    ("create_job_queue", {"jobQueueName": "Q", "priority": 1,
                          "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "Nope"}]}, "Nope"),
    ("create_job_queue", {"jobQueueName": "Q", "priority": 1}, "computeEnvironmentOrder"),
    ("create_job_queue", {"jobQueueName": "Q", "priority": 1, "computeEnvironmentOrder": [
        {"order": i, "computeEnvironment": c} for i, c in enumerate(["ProdCE", "ProdMemoryCE", "OtherCE", "X"])]},
     "at most 3"),
    ("create_job_queue", {"jobQueueName": "ProdQueue", "priority": 1,
                          "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "ProdCE"}]},
     "already exists"),
    ("create_compute_environment", {"computeEnvironmentName": "CE", "type": "MANAGED",
                                    "computeResources": {"type": "EC2", "maxvCpus": 4, "minvCpus": 8,
                                                         "instanceTypes": ["m6i"], "subnets": []}}, "minvCpus"),
    ("create_compute_environment", {"computeEnvironmentName": "CE", "type": "MANAGED",
                                    "computeResources": {"type": "EC2", "maxvCpus": 4, "instanceTypes": ["x9z.huge"],
                                                         "subnets": []}}, "x9z.huge"),
    ("create_compute_environment", {"computeEnvironmentName": "CE", "type": "MANAGED"}, "computeResources"),
    ("update_compute_environment", {"computeEnvironment": "Nope", "state": "DISABLED"}, "Nope"),
    ("update_compute_environment", {"computeEnvironment": "ProdCE", "computeResources": {"maxvCpus": -1}},
     "maxvCpus"),
    ("update_job_queue", {"jobQueue": "Nope", "state": "DISABLED"}, "Nope"),
    ("delete_compute_environment", {"computeEnvironment": "ProdCE"}, "DISABLED"),
    ("delete_job_queue", {"jobQueue": "ProdQueue"}, "DISABLED"),
    ("get_job_queue_snapshot", {"jobQueue": "Nope"}, "Nope"),
    ("deregister_job_definition", {"jobDefinition": "nope:1"}, "nope:1"),
])
def test_bad_requests_are_client_exceptions_naming_the_problem(sim: Sim, call: str, kw: dict[str, Any],
                                                               needle: str) -> None:
    code, message, status = error_of(getattr(sim.batch, call), **kw)
    assert (code, status) == ("ClientException", 400) and needle in message


def test_an_environment_in_use_cannot_be_deleted_until_its_queue_is_gone(sim: Sim) -> None:
    sim.batch.update_compute_environment(computeEnvironment="OtherCE", state="DISABLED")
    code, message, _ = error_of(sim.batch.delete_compute_environment, computeEnvironment="OtherCE")
    assert code == "ClientException" and "OtherQueue" in message
    sim.batch.update_job_queue(jobQueue="OtherQueue", state="DISABLED")
    sim.batch.delete_job_queue(jobQueue="OtherQueue")
    sim.batch.delete_compute_environment(computeEnvironment="OtherCE")
    assert sim.batch.describe_job_queues(jobQueues=["OtherQueue"])["jobQueues"] == []
    assert sim.batch.describe_compute_environments(computeEnvironments=["OtherCE"])["computeEnvironments"] == []


def test_a_deregistered_revision_is_inactive_and_cannot_be_submitted(sim: Sim) -> None:
    sim.batch.deregister_job_definition(jobDefinition="sim-work:1")
    described = sim.batch.describe_job_definitions(jobDefinitions=["sim-work:1"])["jobDefinitions"]
    assert [d["status"] for d in described] == ["INACTIVE"]
    code, message, _ = error_of(sim.batch.submit_job, jobName="x", jobQueue="ProdQueue", jobDefinition="sim-work:1")
    assert code == "ClientException" and "sim-work:1" in message


def test_the_queue_snapshot_shows_the_front_in_dispatch_order_and_what_runs(sim: Sim) -> None:
    q = world(sim, ["c6i.xlarge"], max_vcpus=4)
    jobs = [sim.submit(f"j{i}", queue=q, **sized("4", "4096")) for i in range(4)]
    sim.advance(20)
    snap = sim.batch.get_job_queue_snapshot(jobQueue=q)
    running = [j for j in jobs if sim.status(j) == "RUNNING"]
    front = snap["frontOfQueue"]["jobs"]
    order = [f["jobArn"].rsplit("/", 1)[1] for f in front]
    assert len(running) == 1 and sorted(order) == sorted(set(jobs) - set(running))
    times = [f["earliestTimeAtPosition"] for f in front]
    assert times == sorted(times)
    assert all(f["earliestTimeAtPosition"] <= sim.engine.now_ms for f in front)
    assert snap["frontOfQueue"]["lastUpdatedAt"] == sim.engine.now_ms
    assert snap["queueUtilization"]["totalCapacityUsage"] == [{"capacityUnit": "VCPU", "quantity": 4.0}]
    summary = sim.batch.list_jobs(jobQueue=q, jobStatus="RUNNING")["jobSummaryList"][0]
    assert summary["capacityUsage"] == [{"capacityUnit": "VCPU", "quantity": 4.0}]
    while sim.status(running[0]) == "RUNNING":
        sim.advance(1)
    sim.advance(1)
    assert sim.status(order[0]) in ("STARTING", "RUNNING")  # the front is what goes next
    assert [sim.status(j) for j in order[1:]] == ["RUNNABLE", "RUNNABLE"]


def test_the_reference_environments_hold_the_reference_jobs(make_sim: Any) -> None:
    sim = make_sim(pipeline="reference", array_size=20)
    sim.advance(45 * 60)
    ids = sim.engine.reference_ids
    for name in ("JobA", "JobB", "JobC"):
        job = sim.describe(ids[name])
        assert job["status"] in ("SUCCEEDED", "FAILED", "PENDING"), name
        assert job.get("statusReason") not in (JOB_RESOURCE_REQUIREMENT, COMPUTE_ENVIRONMENT_MAX_RESOURCE)
    sim.engine.run_until_idle()
    assert sim.status(ids["JobA"]) == "SUCCEEDED"
    assert sim.describe(ids["JobB"])["arrayProperties"]["statusSummary"]["SUCCEEDED"] > 0


@pytest.mark.parametrize(("call", "kw"), [
    ("create_compute_environment", {"computeEnvironmentName": "C", "type": "MANAGED",
                                    "computeResources": {"type": "EC2", "maxvCpus": "lots", "instanceTypes": ["m6i"]}}),
    ("create_compute_environment", {"computeEnvironmentName": "C", "type": "MANAGED",
                                    "computeResources": {"type": "EC2", "maxvCpus": 4, "instanceTypes": [7]}}),
    ("create_job_queue", {"jobQueueName": "Q", "priority": 1, "computeEnvironmentOrder": [{"order": "first"}]}),
    ("create_job_queue", {"jobQueueName": "Q", "priority": 1, "computeEnvironmentOrder": [
        {"order": 1, "computeEnvironment": "ProdCE"}, {"order": 1, "computeEnvironment": "OtherCE"}]}),
    ("update_job_queue", {"jobQueue": "ProdQueue", "jobStateTimeLimitActions": [{"reason": "r"}]}),
    ("update_job_queue", {"jobQueue": "ProdQueue", "state": "PAUSED"}),
    ("describe_compute_environments", {"nextToken": "not-a-token"}),
])
def test_malformed_requests_are_400s_not_500s(sim: Sim, call: str, kw: dict[str, Any]) -> None:
    code, _, status = error_of(getattr(sim.raw, call), **kw)  # raw: botocore does not validate first
    assert (code, status) == ("ClientException", 400)


def test_an_unmanaged_environment_holds_work_without_a_reason(sim: Sim) -> None:
    sim.batch.create_compute_environment(computeEnvironmentName="Mine", type="UNMANAGED", unmanagedvCpus=16)
    queue(sim, "Q", "Mine")
    sim.advance(CE_READY_S)
    job = sim.submit("j", queue="Q")
    sim.advance(120)
    detail = sim.describe(job)
    assert detail["status"] == "RUNNABLE" and "statusReason" not in detail  # Batch cannot know what you will add
    ce = sim.batch.describe_compute_environments(computeEnvironments=["Mine"])["computeEnvironments"][0]
    assert (ce["type"], ce["unmanagedvCpus"], "computeResources" in ce) == ("UNMANAGED", 16, False)


def test_a_queue_cannot_mix_fargate_and_ec2_environments(sim: Sim) -> None:
    environment(sim, "Serverless", None, max_vcpus=4, kind="FARGATE")
    code, message, _ = error_of(sim.batch.create_job_queue, jobQueueName="Q", priority=1, computeEnvironmentOrder=[
        {"order": 1, "computeEnvironment": "Serverless"}, {"order": 2, "computeEnvironment": "ProdCE"}])
    assert code == "ClientException" and "FARGATE" in message


def test_lifecycle_limits_are_refused_as_aws_refuses_them(sim: Sim) -> None:
    from botocore.exceptions import ClientError

    batch = sim.batch
    container = {"image": "busybox", "resourceRequirements": [{"type": "VCPU", "value": "1"},
                                                              {"type": "MEMORY", "value": "512"}]}
    rule = {"onExitCode": "1", "action": "RETRY"}
    for bad in ({"evaluateOnExit": [rule]}, {"attempts": 3, "evaluateOnExit": [rule] * 6}):
        with pytest.raises(ClientError) as e:
            batch.register_job_definition(jobDefinitionName="r", type="container", containerProperties=container,
                                          retryStrategy=bad)
        assert e.value.response["Error"]["Code"] == "ClientException"
    batch.register_job_definition(jobDefinitionName="ok", type="container", containerProperties=container)
    with pytest.raises(ClientError, match="between 0 and 9999"):
        batch.submit_job(jobName="p", jobQueue="ProdQueue", jobDefinition="ok", schedulingPriorityOverride=10000)
    with pytest.raises(ClientError, match="evaluateOnExit requires attempts"):
        batch.submit_job(jobName="p", jobQueue="ProdQueue", jobDefinition="ok",
                         retryStrategy={"evaluateOnExit": [rule]})
    batch.register_job_definition(jobDefinitionName="mnp", type="multinode", nodeProperties={
        "numNodes": 2, "mainNode": 0, "nodeRangeProperties": [{"targetNodes": "0:", "container": container}]})
    with pytest.raises(ClientError, match="does not run multi-node parallel jobs"):
        batch.submit_job(jobName="m", jobQueue="ProdQueue", jobDefinition="mnp")
