"""Failure kinds per index (SIM_FAIL_INDICES=INDEX:KIND) and the `--scenario` worlds where work sits in RUNNABLE,
through boto3 over HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sim_harness import START_MS, Sim

from batchtui.cli import sim_parser
from batchtui.sim.build import build_engine
from batchtui.sim.capacity import CE_INVALID, COMPUTE_ENVIRONMENT_MAX_RESOURCE, JOB_RESOURCE_REQUIREMENT
from batchtui.sim.engine import FAILED, SimConfig
from batchtui.sim.server import config_from_args


def attempts_of(sim: Sim, arr: str, index: int) -> list[dict[str, Any]]:
    return sim.describe(f"{arr}:{index}")["attempts"]


def test_fail_indices_take_a_kind_per_index(sim: Sim) -> None:
    env = {"SIM_FAIL_INDICES": "1:app,2:oom,3:spot,4:start,5:timeout", "SIM_DURATION_S": "30"}
    arr = sim.submit("kinds", size=6, env=env, timeout={"attemptDurationSeconds": 60})
    sim.advance(600)
    ok, app, oom, spot, start, timeout = (attempts_of(sim, arr, i)[-1] for i in range(6))
    assert ok["container"]["exitCode"] == 0
    assert (app["container"]["exitCode"], app["statusReason"]) == (1, "Essential container in task exited")
    assert oom["container"]["exitCode"] == 137
    assert oom["container"]["reason"].startswith("OutOfMemoryError: Container killed due to memory usage")
    assert spot["statusReason"].startswith("Host EC2 (instance i-") and "exitCode" not in spot["container"]
    assert start["statusReason"].startswith("CannotPullContainerError: ")
    assert "logStreamName" not in start["container"] and "exitCode" not in start["container"]
    assert timeout["statusReason"] == "Job attempt duration exceeded timeout"
    assert timeout["stoppedAt"] - timeout["startedAt"] == 60_000
    assert [sim.describe(f"{arr}:{i}")["status"] for i in range(6)] == ["SUCCEEDED"] + ["FAILED"] * 5


def test_spot_and_start_failures_are_retried_but_a_timeout_is_not(sim: Sim) -> None:
    arr = sim.submit("retried", size=3, env={"SIM_FAIL_INDICES": "0:spot,1:start,2:timeout"},
                     retryStrategy={"attempts": 3}, timeout={"attemptDurationSeconds": 60})
    sim.advance(900)
    assert [len(attempts_of(sim, arr, i)) for i in range(3)] == [3, 3, 1]
    start = sim.describe(f"{arr}:1")
    assert start["status"] == "FAILED" and "startedAt" not in start  # it never ran


def test_plain_fail_indices_still_fail_as_the_application_or_memory(sim: Sim) -> None:
    arr = sim.submit("plain", size=2, env={"SIM_FAIL_INDICES": "1, 7:bogus"})
    sim.advance(300)
    assert attempts_of(sim, arr, 1)[-1]["container"]["exitCode"] in (1, 137)
    assert sim.describe(f"{arr}:0")["status"] == "SUCCEEDED"


def scenario_sim(make_sim: Any, name: str) -> Sim:
    args = sim_parser().parse_args(["--scenario", name, "--speed", "0"])
    assert config_from_args(args).scenario == name
    return make_sim(pipeline="reference", array_size=40, scenario=name)


def first_child_reason(sim: Sim, job: str) -> str | None:
    children = sim.batch.list_jobs(arrayJobId=sim.engine.reference_ids[job], jobStatus="RUNNABLE")["jobSummaryList"]
    return next((c["statusReason"] for c in children if c.get("statusReason")), None)


@pytest.mark.parametrize(("name", "reason"), [("stuck-capacity", JOB_RESOURCE_REQUIREMENT),
                                              ("max-vcpus", COMPUTE_ENVIRONMENT_MAX_RESOURCE)])
def test_jobb_children_sit_in_runnable_with_the_reason(make_sim: Any, name: str, reason: str) -> None:
    sim = scenario_sim(make_sim, name)
    sim.advance(30 * 60)
    assert sim.status(sim.engine.reference_ids["JobA"]) == "SUCCEEDED"
    assert first_child_reason(sim, "JobB") == reason
    assert sim.batch.list_jobs(arrayJobId=sim.engine.reference_ids["JobB"], jobStatus="RUNNING")[
        "jobSummaryList"] == []


def test_blocked_head_holds_the_whole_pipeline(make_sim: Any) -> None:
    sim = scenario_sim(make_sim, "blocked-head")
    sim.advance(30 * 60)
    runnable = sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus="RUNNABLE")["jobSummaryList"]
    assert [(j["jobName"], j.get("statusReason")) for j in runnable] == [
        ("Reindex-Everything", JOB_RESOURCE_REQUIREMENT), ("JobA", None)]
    head = runnable[0]["jobId"]
    sim.batch.cancel_job(jobId=head, reason="wrong size")
    sim.advance(20)
    assert sim.status(sim.engine.reference_ids["JobA"]) == "RUNNING"


def test_invalid_ce_says_so_on_the_head(make_sim: Any) -> None:
    sim = scenario_sim(make_sim, "invalid-ce")
    sim.advance(60)
    assert sim.describe(sim.engine.reference_ids["JobA"])["statusReason"] == CE_INVALID
    ces = sim.batch.describe_compute_environments(computeEnvironments=["ProdCE", "ProdMemoryCE"])
    assert [c["status"] for c in ces["computeEnvironments"]] == ["INVALID", "INVALID"]


def test_disabled_ce_leaves_jobb_waiting_without_a_reason(make_sim: Any) -> None:
    sim = scenario_sim(make_sim, "disabled-ce")
    sim.advance(30 * 60)
    assert sim.status(sim.engine.reference_ids["JobA"]) == "SUCCEEDED"  # it fits the memory environment
    assert first_child_reason(sim, "JobB") is None
    assert len(sim.children(sim.engine.reference_ids["JobB"], "RUNNABLE")) == 40


def test_spot_storm_and_oom_wave_scenarios():
    from batchtui.sim.engine import SimConfig
    from batchtui.sim.scenarios import OOM_WAVE_EVERY

    def reclaimed_share(scenario: str | None) -> float:
        e = build_engine(SimConfig(speed=0.0, seed=11, array_size=300, scenario=scenario))
        e.advance(3 * 3600)
        attempts = [a for c in e.jobs[e.reference_ids["JobB"]].children for a in c.attempts or ()]
        reclaimed = [a for a in attempts if (a.status_reason or "").startswith("Host EC2")]
        assert all(a.exit_code is None for a in reclaimed)  # instances lost, no exit code of the job's
        return len(reclaimed) / len(attempts)

    assert reclaimed_share("spot-storm") > 0.2 > 0.05 > reclaimed_share(None)  # a storm, not the usual few
    wave = build_engine(SimConfig(speed=0.0, seed=11, array_size=60, scenario="oom-wave"))
    wave.advance(3 * 3600)
    c = wave.jobs[wave.reference_ids["JobC"]]
    ooms = {ch.index for ch in c.children if ch.attempts and (ch.attempts[-1].reason or "").startswith(
        "OutOfMemoryError")}
    assert set(range(0, 60, OOM_WAVE_EVERY)) - {i for i in range(60) if c.children[i].attempts == []} <= ooms


def failure_kinds(sim: Sim, job: str) -> Counter[str]:
    """How each FAILED child of a reference job ended, from DescribeJobs (100 ids a call)."""
    arr = sim.engine.reference_ids[job]
    ids = [c["jobId"] for c in sim.children(arr, "FAILED")]
    kinds: Counter[str] = Counter()
    for start in range(0, len(ids), 100):
        for d in sim.batch.describe_jobs(jobs=ids[start:start + 100])["jobs"]:
            last = d["attempts"][-1] if d["attempts"] else None
            if last is None:
                kinds["dependency"] += 1
            elif last["statusReason"].startswith("Host EC2 (instance i-"):
                assert "exitCode" not in last["container"]
                kinds["spot"] += 1
            elif last["container"].get("reason", "").startswith("OutOfMemoryError: Container killed"):
                assert last["container"]["exitCode"] == 137
                kinds["oom"] += 1
            else:
                assert (last["statusReason"], last["container"]["exitCode"]) == ("Essential container in task "
                                                                                   "exited", 1)
                kinds["app"] += 1
    return kinds


def test_the_reference_run_fails_with_a_realistic_mix_reproducibly(make_sim: Any) -> None:
    sim = make_sim(pipeline="reference", array_size=10_000, seed=11)
    prod = sim.batch.describe_compute_environments(computeEnvironments=["ProdCE"])["computeEnvironments"][0]
    assert prod["computeResources"]["type"] == "SPOT"
    sim.engine.run_until_idle()
    b, c = failure_kinds(sim, "JobB"), failure_kinds(sim, "JobC")
    # JobB, CPU-heavy on spot without a retryStrategy: a few reclaims (not a storm) fail their index
    assert set(b) <= {"spot", "app"} and 100 <= b["spot"] <= 300
    # JobC, memory-heavy: its own failures are nearly all OOMs; the rest are its JobB partners' failures
    assert c["dependency"] == sum(b.values()) and 30 <= c["oom"] <= 100
    assert 1 <= b["app"] + c["app"] <= 12  # a couple of application errors in 20,000 indices
    # the same seed gives the same failures; another seed others, in the same mix
    again = build_engine(SimConfig(speed=0.0, seed=11, array_size=10_000, start_ms=START_MS))
    again.run_until_idle()
    jobb = sim.engine.jobs[sim.engine.reference_ids["JobB"]]
    assert again.jobs[again.reference_ids["JobB"]].by_status[FAILED] == jobb.by_status[FAILED]
    other = build_engine(SimConfig(speed=0.0, seed=12, array_size=10_000, start_ms=START_MS))
    other.run_until_idle()
    assert other.jobs[other.reference_ids["JobB"]].by_status[FAILED] != jobb.by_status[FAILED]


def test_fail_kinds_steer_how_random_failures_fail(sim: Sim) -> None:
    arr = sim.submit("mixed", size=60, env={"SIM_FAIL_RATE": "1", "SIM_FAIL_KINDS": "spot:1, start:1, bogus:5, oom:x",
                                             "SIM_DURATION_S": "30"})
    sim.advance(900)
    ends = [attempts_of(sim, arr, i)[-1] for i in range(60)]
    spot = [a for a in ends if a["statusReason"].startswith("Host EC2")]
    start = [a for a in ends if a["statusReason"].startswith("CannotPullContainerError")]
    assert len(spot) + len(start) == 60 and 15 <= len(spot) <= 45  # half and half, unknown kinds ignored


def test_a_failure_wave_is_written_short_and_means_every_nth_index() -> None:
    from batchtui.sim.engine import fail_kinds

    assert fail_kinds("0-20/9:oom,5,7:bogus,x-y") == {0: "oom", 9: "oom", 18: "oom", 5: ""}
    assert len(fail_kinds("0-99999/1:app")) == 10_001  # never more than an array can have
