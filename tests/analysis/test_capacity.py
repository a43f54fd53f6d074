"""Why RUNNABLE work is not moving, decided from AWS-shaped answers (DescribeJobQueues, DescribeComputeEnvironments,
GetJobQueueSnapshot) in the issue's order, with the evidence in one sentence and the fix as an AWS CLI command; the
poller reads them only while work is RUNNABLE and never fails a refresh over them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from batchtui.capacity import World, diagnose
from batchtui.model import ArrayState, IndexDetail, Job, Snapshot, Status
from batchtui.shapes import container_overrides

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from reliability_http import FakeServer, dummy_env, pipeline, run  # noqa: E402

ARN = "arn:aws:batch:us-east-1:123456789012"


def queue(*envs: str, status: str = "VALID", state: str = "ENABLED", reason: str | None = None) -> dict:
    return {"jobQueueName": "ProdQueue", "jobQueueArn": f"{ARN}:job-queue/ProdQueue", "state": state,
            "status": status, "statusReason": reason, "priority": 1,
            "computeEnvironmentOrder": [{"order": n, "computeEnvironment": f"{ARN}:compute-environment/{e}"}
                                        for n, e in enumerate(envs, 1)]}


def ce(name: str, types: list[str], *, max_vcpus: int = 256, desired: int = 0, state: str = "ENABLED",
       status: str = "VALID", reason: str | None = None) -> dict:
    return {"computeEnvironmentName": name, "computeEnvironmentArn": f"{ARN}:compute-environment/{name}",
            "type": "MANAGED", "state": state, "status": status, "statusReason": reason,
            "computeResources": {"type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "desiredvCpus": desired,
                                 "instanceTypes": types}}


def job(vcpus: int = 32, memory: int = 4096, runnable: int = 5, reason: str | None = None, job_id: str = "b") -> Job:
    statuses = bytearray([Status.RUNNABLE]) * runnable + bytearray([Status.SUCCEEDED]) * 5
    details = {0: IndexDetail(0, status_reason=reason)} if reason else {}
    return Job(job_id, "JobB", Status.PENDING, array_size=len(statuses), array=ArrayState.of(statuses, details),
               container_overrides=container_overrides({
                   "resourceRequirements": [{"type": "VCPU", "value": str(vcpus)},
                                            {"type": "MEMORY", "value": str(memory)}]}))


def snap(*jobs: Job) -> Snapshot:
    from datetime import UTC, datetime

    return Snapshot("ProdQueue", datetime(2026, 12, 2, tzinfo=UTC), 1, tuple(jobs))


def test_no_instance_type_holds_the_job_says_what_it_needs_and_what_is_there():
    world = World.parse(queue("TinyCE"), [ce("TinyCE", ["c6i.4xlarge"])])
    w = diagnose(job(32, 4096), world, snap(job()))
    assert w.cause == "no-instance-fits" and w.compute_environment == "TinyCE"
    assert w.text == ("needs 32 vCPU, 4,096 MiB; the largest instance type TinyCE may launch, c6i.4xlarge, offers "
                      "16 vCPU, 31,907 MiB")
    assert w.fix.startswith("aws batch update-compute-environment --compute-environment TinyCE --compute-resources "
                            "instanceTypes=")


def test_memory_is_counted_as_aws_counts_it():
    world = World.parse(queue("CE"), [ce("CE", ["m6i.large"])])  # 8 GiB installed, about 7,950 MiB to offer
    assert diagnose(job(2, 8192), world).cause == "no-instance-fits"
    assert diagnose(job(2, 7000), world).cause == "in-line"


def test_max_vcpus_below_the_job_names_the_command_that_fixes_it():
    w = diagnose(job(64, 1024), World.parse(queue("SmallCE"), [ce("SmallCE", ["c6i"], max_vcpus=16)]))
    assert w.cause == "max-vcpus-too-small" and "may use at most 16 vCPUs" in w.text
    assert w.fix == ("aws batch update-compute-environment --compute-environment SmallCE --compute-resources "
                     "maxvCpus=64")


@pytest.mark.parametrize("env, cause", [
    (ce("CE", ["optimal"], state="DISABLED"), "ce-disabled"),
    (ce("CE", ["optimal"], status="INVALID", reason="CLIENT_ERROR - the service role cannot be assumed"),
     "ce-invalid"),
])
def test_disabled_and_invalid_environments(env, cause):
    w = diagnose(job(), World.parse(queue("CE"), [env]))
    assert w.cause == cause and w.compute_environment == "CE"
    if cause == "ce-invalid":
        assert "the service role cannot be assumed" in w.text


def test_awss_own_reason_comes_first_and_is_explained():
    reason = "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement is higher than that can be met"
    w = diagnose(job(reason=reason), None)
    assert w.cause == "no-instance-fits" and w.aws_reason == reason
    capacity = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot fulfill the capacity requested for c6i"
    assert diagnose(job(reason=capacity), None).cause == "insufficient-capacity"


def test_a_blocked_head_blocks_everything_behind_it_and_names_the_job_to_cancel():
    head = job(256, 1024, runnable=1, job_id="head",
               reason="MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) cannot meet the CPU requirement")
    behind = job(2, 1024, job_id="b")
    world = World.parse(queue("CE"), [ce("CE", ["optimal"])],
                        {"frontOfQueue": {"jobs": [{"jobArn": f"{ARN}:job/head:0"}, {"jobArn": f"{ARN}:job/b:0"}]}})
    w = diagnose(behind, world, snap(head, behind))
    assert w.cause == "blocked-behind" and w.blocked_by == "head:0"
    assert w.fix == "cancel the job blocking the queue head: batchtui cancel head:0"


def test_an_environment_at_its_max_says_how_many_fit_at_a_time():
    w = diagnose(job(32, 1024), World.parse(queue("CE"), [ce("CE", ["c6i"], max_vcpus=256, desired=256)]))
    assert w.cause == "capacity-full" and "8 of this job fit at a time" in w.text


def test_unreadable_environments_give_in_line_with_why_never_a_guess():
    w = diagnose(job(), World.parse(queue("CE"), [], missing=["no permission for batch:DescribeComputeEnvironments"]))
    assert w.cause == "in-line" and "no permission for batch:DescribeComputeEnvironments" in w.text
    assert diagnose(Job("a", "A", Status.SUCCEEDED), None) is None  # no RUNNABLE work: no diagnosis


def test_the_json_carries_waiting_with_the_contract_fields_and_reads_only_while_work_is_runnable(tmp_path):
    envs = {"computeEnvironments": [ce("TinyCE", ["c6i.4xlarge"])]}

    def answers(op: str, body: dict, answer: dict):
        if op == "describejobqueues":
            return {"jobQueues": [queue("TinyCE")]}
        if op == "describecomputeenvironments":
            return envs
        if op == "getjobqueuesnapshot":
            return (403, "AccessDeniedException", "not allowed")  # an older policy: still a diagnosis
        return None

    fb = pipeline()
    fb.jobs["b"]["container"] = {"resourceRequirements": [{"type": "VCPU", "value": "32"},
                                                          {"type": "MEMORY", "value": "4096"}]}
    with FakeServer(fb, tamper=answers) as server:
        r = run(["--queue", "ProdQueue", "--once", "--json", "--endpoint-url", server.url], dummy_env(tmp_path))
        ops = [op for op, _, _ in server.requests]
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    b = next(j for j in doc["jobs"] if j["jobName"] == "JobB")
    assert list(b["waiting"]) == ["cause", "text", "awsReason", "computeEnvironment", "blockedBy", "fix"]
    assert b["waiting"]["cause"] == "no-instance-fits" and "c6i.4xlarge" in b["waiting"]["text"]
    assert ops.count("describecomputeenvironments") == 1 and ops.count("getjobqueuesnapshot") == 1
    assert ops.count("describejobqueues") == 1  # the queue check's answer is reused
    assert all("waiting" not in j for j in doc["jobs"] if j["jobName"] != "JobB")
