"""Retries with changed resources: parsing the changes (flags and the plan window's line), resolving them per job
(a factor of what it had, rounded to what an instance gives), refusing what no instance type of the target queue
holds, and the SubmitJob the planner makes from them."""

from __future__ import annotations

import pytest
from actions_factory import QUEUE, array, dep, n2n, overrides, snapshot

from batchtui.capacity import World
from batchtui.model import Job, Status
from batchtui.overrides import Memory, Overrides, Refused, parse_env, parse_memory, parse_timeout, resolve
from batchtui.plan import Selection
from batchtui.retry_plan import plan_retry, queues_to_check
from batchtui.shapes import job_timeout

ARN = "arn:aws:batch:us-east-1:123456789012"


def queue(*envs: str, state: str = "ENABLED") -> dict:
    return {"jobQueueName": "ProdQueue", "jobQueueArn": QUEUE, "state": state, "status": "VALID", "priority": 1,
            "computeEnvironmentOrder": [{"order": n, "computeEnvironment": f"{ARN}:compute-environment/{e}"}
                                        for n, e in enumerate(envs, 1)]}


def ce(name: str, types: list[str], kind: str = "EC2", max_vcpus: int = 256) -> dict:
    return {"computeEnvironmentName": name, "computeEnvironmentArn": f"{ARN}:compute-environment/{name}",
            "type": "MANAGED", "state": "ENABLED", "status": "VALID",
            "computeResources": {"type": kind, "minvCpus": 0, "maxvCpus": max_vcpus, "instanceTypes": types}}


MEMORY_CE = World.parse(queue("Mem"), [ce("Mem", ["r6i.large", "r6i.xlarge", "r6i.2xlarge", "r6i.4xlarge"])])
PROD = World.parse(queue("Cpu", "Mem"), [ce("Cpu", ["c6i"]), ce("Mem", ["r6i.large", "r6i.4xlarge"])])


def resources(vcpus: int, memory: int, env: dict | None = None):
    return overrides(env, resourceRequirements=[{"type": "VCPU", "value": str(vcpus)},
                                                {"type": "MEMORY", "value": str(memory)}])


def oom_job(memory: int = 32768, **fields) -> Job:
    return array("C", "SFFSS", name="JobC", container_overrides=resources(1, memory, {"STAGE": "c"}), **fields)


def requirements(call) -> dict[str, str]:
    return {r["type"]: r["value"] for r in call.params["containerOverrides"]["resourceRequirements"]}


# --- parsing -------------------------------------------------------------------------------------------------------


def test_memory_is_mib_or_a_factor_and_nonsense_is_named():
    assert parse_memory("8192") == Memory(mib=8192)
    assert parse_memory("x1.5") == Memory(factor=1.5) == parse_memory("1.5x") == parse_memory("×1.5")
    for bad, says in (("lots", "not a memory size"), ("x0", "above 0"), ("x100", "at most 16"), ("2", "at least 4"),
                      ("-5", "not a memory size"), ("xabc", "not a memory factor")):
        with pytest.raises(ValueError, match=says):
            parse_memory(bad)


def test_timeout_and_env_are_checked_as_aws_would():
    assert parse_timeout("2h") == 7200 and parse_timeout("90") == 90
    with pytest.raises(ValueError, match="at least 60s"):
        parse_timeout("30s")
    assert parse_env("LOG_LEVEL=debug=1") == ("LOG_LEVEL", "debug=1")
    for bad, says in (("NOVALUE", "not KEY=VALUE"), ("1X=2", "not KEY=VALUE"), ("AWS_BATCH_JOB_ID=1", "sets"),
                      ("BATCHTUI_ARRAY_INDICES=1,2", "original indices")):
        with pytest.raises(ValueError, match=says):
            parse_env(bad)


def test_the_plan_window_line_reads_back_what_it_writes():
    changes = Overrides.parse("memory=x1.5 vcpus=4 timeout=2h queue=BigQueue 'env=NOTE=two words' env=A=1 env=A=2")
    assert changes == Overrides(Memory(factor=1.5), 4.0, 7200, "BigQueue", (("NOTE", "two words"), ("A", "2")))
    assert Overrides.parse(changes.text()) == changes
    assert Overrides.parse("") == Overrides() and Overrides().empty
    for bad, says in (("memory", "not a change"), ("colour=red", "not a change"), ("memory=1024 memory=2048", "twice"),
                      ("queue=bad/name", "not a job queue"), ("env='unclosed", "cannot read")):
        with pytest.raises(ValueError, match=says):
            Overrides.parse(bad)


# --- one job -------------------------------------------------------------------------------------------------------


def test_a_factor_multiplies_what_the_job_had_and_rounds_up_to_whole_256_mib():
    got = resolve(Overrides(Memory(factor=1.5)), oom_job(4000), MEMORY_CE)
    assert got.memory_mib == 6144  # 6,000 → the next 256 MiB
    assert got.said == ("memory 4,000 → 6,144 MiB",)


def test_a_factor_past_the_largest_instance_takes_the_most_an_instance_gives():
    got = resolve(Overrides(Memory(factor=1.5)), oom_job(100_000), MEMORY_CE)
    assert got.memory_mib == 127_724  # r6i.4xlarge's 128 GiB less the ECS overhead and the AMI's 32 MiB reserve


def test_memory_no_instance_holds_is_refused_naming_the_largest_instance():
    with pytest.raises(Refused) as e:
        resolve(Overrides(Memory(mib=300_000)), oom_job(), MEMORY_CE)
    assert str(e.value) == ("JobC's retry would never run: needs 1 vCPU, 300,000 MiB; the largest instance type Mem "
                            "may launch, r6i.4xlarge, offers 16 vCPU, 127,724 MiB")


def test_vcpus_beyond_the_environments_max_are_refused():
    world = World.parse(queue("Small"), [ce("Small", ["c6i"], max_vcpus=16)])
    with pytest.raises(Refused, match="Small may use at most 16 vCPUs"):
        resolve(Overrides(vcpus=32), oom_job(4096), world)


def test_fargate_rounds_up_to_its_next_size_and_refuses_sizes_it_does_not_run():
    world = World.parse(queue("F"), [ce("F", [], kind="FARGATE")])
    job = array("C", "SF", name="JobC", container_overrides=resources(1, 2048))
    assert resolve(Overrides(Memory(factor=1.3)), job, world).memory_mib == 3072
    with pytest.raises(Refused, match="not a size Fargate runs"):
        resolve(Overrides(Memory(mib=9000)), job, world)


def test_a_disabled_target_queue_is_refused():
    world = World.parse(queue("Mem", state="DISABLED"), MEMORY_CE.environments and [ce("Mem", ["r6i"])])
    with pytest.raises(Refused, match="DISABLED: it accepts no new jobs"):
        resolve(Overrides(Memory(factor=1.5)), oom_job(), world)


def test_a_factor_of_unknown_memory_is_refused_and_an_unreadable_queue_is_said():
    with pytest.raises(Refused, match="memory is not known"):
        resolve(Overrides(Memory(factor=2)), array("C", "F", name="JobC"), MEMORY_CE)
    got = resolve(Overrides(Memory(mib=8192)), oom_job(), World(None, missing=("no permission for x",)))
    assert got.memory_mib == 8192 and "could not be checked" in got.unchecked and "no permission for x" in got.unchecked


# --- the plan ------------------------------------------------------------------------------------------------------


def test_the_retry_gets_the_changed_resources_timeout_queue_and_env():
    snap = snapshot(oom_job(timeout=job_timeout({"attemptDurationSeconds": 3600})))
    changes = Overrides(Memory(factor=1.5), timeout_s=7200, env=(("STAGE", "c2"), ("DEBUG", "1")))
    plan = plan_retry(snap, Selection("C"), changes=changes, worlds={QUEUE: MEMORY_CE})
    (call,) = plan.calls
    assert requirements(call) == {"VCPU": "1", "MEMORY": "49152"}
    assert call.params["timeout"] == {"attemptDurationSeconds": 7200}
    env = {e["name"]: e["value"] for e in call.params["containerOverrides"]["environment"]}
    assert env == {"STAGE": "c2", "DEBUG": "1", "BATCHTUI_ARRAY_INDICES": "1,2"}
    assert "with memory 32,768 → 49,152 MiB, timeout 1h → 2h, env STAGE=c2, env DEBUG=1" in call.label
    assert plan.to_json()["changes"] == changes.text()


def test_a_queue_change_submits_there_and_says_the_dashboard_will_not_see_it():
    plan = plan_retry(snapshot(oom_job()), Selection("C"), changes=Overrides(queue="BigQueue"),
                      worlds={"BigQueue": MEMORY_CE})
    assert plan.calls[0].params["jobQueue"] == "BigQueue"
    assert any("batchtui --queue BigQueue" in n for n in plan.notes)
    assert queues_to_check(snapshot(oom_job()), [Selection("C")], Overrides(queue="BigQueue")) == ["BigQueue"]
    assert queues_to_check(snapshot(oom_job()), [Selection("C")], Overrides(Memory(mib=8192))) == [QUEUE]
    assert queues_to_check(snapshot(oom_job()), [Selection("C")], Overrides(timeout_s=600)) == []


def test_changes_apply_to_the_picked_job_and_downstream_keeps_its_own():
    b = array("B", "SFFSS", (dep("A"),), name="JobB", container_overrides=resources(32, 4096))
    c = array("C", "SFFSS", (n2n("B"),), name="JobC", container_overrides=resources(1, 32768))
    a = array("A", "S", name="JobA", status=Status.SUCCEEDED)
    plan = plan_retry(snapshot(a, b, c), Selection("B"), downstream=True, changes=Overrides(Memory(mib=8192)),
                      worlds={QUEUE: PROD})
    by_name = {c.params["jobName"]: c for c in plan.calls}
    assert requirements(by_name["JobB-retry"])["MEMORY"] == "8192"
    assert requirements(by_name["JobC-retry"])["MEMORY"] == "32768"
    assert any("keeps its own resources" in n and "JobC" in n for n in plan.notes)


def test_a_refused_change_sends_nothing_at_all_and_the_summary_says_why():
    b = array("B", "SFFSS", (dep("A"),), name="JobB", container_overrides=resources(32, 4096))
    c = array("C", "SFFSS", (n2n("B"),), name="JobC", container_overrides=resources(1, 32768))
    a = array("A", "S", name="JobA", status=Status.SUCCEEDED)
    plan = plan_retry(snapshot(a, b, c), Selection("B"), downstream=True, changes=Overrides(vcpus=256),
                      worlds={QUEUE: PROD})
    assert plan.empty and plan.refused
    text = plan.summary()
    assert text.startswith("Retry refused: nothing will be sent (changes: vcpus=256)")
    assert "JobB's retry would never run: needs 256 vCPU, 4,096 MiB; the largest instance type Cpu may launch, " \
           "c6i.32xlarge, offers 128 vCPU" in text


def test_a_factor_is_sized_for_the_new_vcpus_when_they_change_too():
    world = World.parse(queue("F"), [ce("F", [], kind="FARGATE")])
    job = array("C", "SF", name="JobC", container_overrides=resources(1, 2048))
    got = resolve(Overrides(Memory(factor=1.5), vcpus=2), job, world)
    assert (got.vcpus, got.memory_mib) == (2, 4096)  # 3,072 is no Fargate size with 2 vCPU: the next one is
