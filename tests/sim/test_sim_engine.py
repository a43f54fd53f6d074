"""The engine's rules, without HTTP: dependencies, ordering, capacity, retries, cancel/terminate, determinism."""

from __future__ import annotations

from typing import Any

from batchtui.sim.api import BatchService
from batchtui.sim.build import build_engine
from batchtui.sim.engine import (
    DEPENDENCY_FAILED,
    FAILED,
    PENDING,
    RUNNABLE,
    RUNNING,
    STATUS_NAMES,
    SUCCEEDED,
    Engine,
    SimConfig,
)

START_MS = 1_790_000_000_000


def engine(**fields: Any) -> Engine:
    fields.setdefault("speed", 0.0)
    fields.setdefault("pipeline", "none")
    fields.setdefault("start_ms", START_MS)
    e = build_engine(SimConfig(**fields))
    e.register_job_definition("work", {
        "image": "busybox",
        "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        "environment": [{"name": "SIM_DURATION_S", "value": "60"}],
    })
    return e


def submit(e: Engine, name: str = "work", size: int = 0, env: dict[str, str] | None = None, **body: Any) -> str:
    request: dict[str, Any] = {"jobName": name, "jobQueue": "ProdQueue", "jobDefinition": "work", **body}
    if size:
        request["arrayProperties"] = {"size": size}
    if env:
        request["containerOverrides"] = {"environment": [{"name": k, "value": v} for k, v in env.items()]}
    return BatchService(e).call("SubmitJob", request)["jobId"]


def status(e: Engine, job_id: str) -> str:
    job, child = e.lookup(job_id)
    assert job is not None
    return STATUS_NAMES[(child or job).status]


def statuses(e: Engine, job_id: str) -> list[str]:
    job = e.jobs[job_id]
    return [STATUS_NAMES[u.status] for u in job.children]


# --- the reference pipeline --------------------------------------------------------------------------------


def test_reference_run_statuses_move_forward_and_parents_keep_to_their_four() -> None:
    e = engine(pipeline="reference", array_size=40, seed=3)
    seen_parent: set[str] = set()
    last: dict[str, int] = {}
    attempts_seen: dict[str, int] = {}
    for _ in range(400):
        e.advance(30)
        for job in e.job_list:
            if job.size:
                seen_parent.add(STATUS_NAMES[job.status])
            for u in job.units():
                before = last.get(u.job_id, 0)
                n = len(u.attempts or ())
                went_back = u.status < before
                # the only way back: a failed attempt (RUNNING → RUNNABLE) with attempts[] growing
                assert not went_back or (u.status == RUNNABLE and n > attempts_seen.get(u.job_id, 0)), u.job_id
                last[u.job_id], attempts_seen[u.job_id] = u.status, n
    assert seen_parent <= {"SUBMITTED", "PENDING", "SUCCEEDED", "FAILED"}
    assert {"PENDING"} <= seen_parent and seen_parent & {"SUCCEEDED", "FAILED"}
    assert all(e.jobs[i].status in (SUCCEEDED, FAILED) for i in e.reference_ids.values())


def test_n_to_n_child_starts_after_its_partner_and_follows_index_by_index() -> None:
    e = engine(pipeline="reference", array_size=300, seed=5)
    e.run_until_idle()
    b, c = e.jobs[e.reference_ids["JobB"]], e.jobs[e.reference_ids["JobC"]]
    pairs = [(bu, cu) for bu, cu in zip(b.children, c.children, strict=True)
             if bu.status == SUCCEEDED and cu.started_at is not None]
    assert len(pairs) > 250
    assert all(cu.started_at >= bu.stopped_at for bu, cu in pairs)
    # JobC does not wait for the whole of JobB: most of it starts before JobB's last child ends
    assert sum(cu.started_at < b.stopped_at for _, cu in pairs) > len(pairs) // 2


def test_scenario_seed_11_at_40m_shows_failed_jobb_indices_whose_jobc_partners_failed_with_them() -> None:
    e = engine(pipeline="reference", array_size=2000, seed=11, advance_s=40 * 60)
    b, c = e.jobs[e.reference_ids["JobB"]], e.jobs[e.reference_ids["JobC"]]
    failed = sorted(b.by_status[FAILED])
    assert failed, "JobB has failed indices by 40 minutes"
    assert b.status == c.status == PENDING  # both arrays are still going
    for i in failed:  # each partner failed the moment its JobB index did, not when JobB ends
        cu = c.children[i]
        assert (cu.status, cu.status_reason, cu.attempts) == (FAILED, DEPENDENCY_FAILED, None)
        assert cu.stopped_at == b.children[i].stopped_at
    assert len(b.by_status[RUNNABLE]) > 100  # capacity-bound: JobB children wait in RUNNABLE
    assert len(c.by_status[SUCCEEDED]) > 100  # JobC follows behind JobB


def test_jobb_children_wait_for_capacity() -> None:
    e = engine(pipeline="reference", array_size=600, seed=1, advance_s=20 * 60)
    b = e.jobs[e.reference_ids["JobB"]]
    running = len(b.by_status[RUNNING]) + len(b.by_status[3])
    assert 0 < running <= 4096 // 32  # 32-vCPU children in a 4,096-vCPU pool
    assert len(b.by_status[RUNNABLE]) > 0


# --- failure propagation ---------------------------------------------------------------------------------------


def small_pipeline(e: Engine, fail_b: str = "", fail_d: str = "", size: int = 6) -> dict[str, str]:
    ids: dict[str, str] = {}
    ids["A"] = submit(e, "A", env={"SIM_DURATION_S": "30"})
    ids["B"] = submit(e, "B", size=size, env={"SIM_FAIL_INDICES": fail_b}, dependsOn=[{"jobId": ids["A"]}])
    ids["C"] = submit(e, "C", size=size, dependsOn=[{"jobId": ids["B"], "type": "N_TO_N"}])
    ids["D"] = submit(e, "D", size=4, env={"SIM_FAIL_INDICES": fail_d},
                      dependsOn=[{"jobId": ids["C"]}, {"type": "SEQUENTIAL"}])
    ids["E"] = submit(e, "E", dependsOn=[{"jobId": ids["D"]}])
    return ids


def test_a_failed_index_fails_its_partner_then_the_arrays_and_everything_downstream() -> None:
    e = engine()
    ids = small_pipeline(e, fail_b="3")
    e.run_until_idle()
    assert statuses(e, ids["B"]) == ["SUCCEEDED"] * 3 + ["FAILED"] + ["SUCCEEDED"] * 2
    assert statuses(e, ids["C"]) == ["SUCCEEDED"] * 3 + ["FAILED"] + ["SUCCEEDED"] * 2
    assert e.jobs[ids["C"]].children[3].status_reason == DEPENDENCY_FAILED
    assert e.jobs[ids["C"]].children[3].attempts is None  # never ran
    assert status(e, ids["B"]) == status(e, ids["C"]) == "FAILED"
    assert statuses(e, ids["D"]) == ["FAILED"] * 4 and status(e, ids["D"]) == "FAILED"
    assert status(e, ids["E"]) == "FAILED"
    assert e.jobs[ids["E"]].unit.status_reason == DEPENDENCY_FAILED  # type: ignore[union-attr]


def test_sequential_failure_stops_the_rest_of_the_sequence() -> None:
    e = engine()
    ids = small_pipeline(e, fail_d="1")
    e.run_until_idle()
    assert statuses(e, ids["D"]) == ["SUCCEEDED", "FAILED", "FAILED", "FAILED"]
    d = e.jobs[ids["D"]]
    assert d.children[1].attempts and d.children[1].attempts[-1].exit_code not in (None, 0)
    assert d.children[2].status_reason == DEPENDENCY_FAILED and d.children[2].attempts is None
    assert status(e, ids["E"]) == "FAILED"


def test_a_clean_run_succeeds_end_to_end_with_sequential_children_one_after_another() -> None:
    e = engine()
    ids = small_pipeline(e)
    e.run_until_idle()
    assert {name: status(e, i) for name, i in ids.items()} == dict.fromkeys(ids, "SUCCEEDED")
    kids = e.jobs[ids["D"]].children
    assert all(kids[i].started_at >= kids[i - 1].stopped_at for i in range(1, len(kids)))  # type: ignore[operator]
    assert e.jobs[ids["E"]].unit.started_at >= e.jobs[ids["D"]].stopped_at  # type: ignore[union-attr,operator]


def test_dependency_on_an_already_failed_job_fails_after_pending() -> None:
    e = engine()
    bad = submit(e, "bad", env={"SIM_FAIL_RATE": "1"})
    e.run_until_idle()
    late = submit(e, "late", dependsOn=[{"jobId": bad}])
    e.advance(10)
    assert status(e, late) == "FAILED"


# --- retries and timeouts -----------------------------------------------------------------------------------------


def test_retry_strategy_goes_back_to_runnable_and_attempts_grow() -> None:
    e = engine()
    job_id = submit(e, "flaky", env={"SIM_FAIL_RATE": "1"}, retryStrategy={"attempts": 3})
    seen = []
    for _ in range(200):
        e.advance(5)
        seen.append((status(e, job_id), len(e.jobs[job_id].unit.attempts or ())))  # type: ignore[union-attr]
    assert ("RUNNABLE", 1) in seen and ("RUNNABLE", 2) in seen
    u = e.jobs[job_id].unit
    assert u is not None and u.status == FAILED and len(u.attempts or ()) == 3
    assert all(a.exit_code in (1, 137) for a in u.attempts or ())


def test_evaluate_on_exit_exit_rule_stops_retries() -> None:
    e = engine()
    job_id = submit(e, "noretry", env={"SIM_FAIL_RATE": "1"},
                    retryStrategy={"attempts": 5, "evaluateOnExit": [{"onExitCode": "*", "action": "EXIT"}]})
    e.run_until_idle()
    assert len(e.jobs[job_id].unit.attempts or ()) == 1  # type: ignore[union-attr]


def test_attempt_timeout_fails_the_attempt() -> None:
    e = engine()
    job_id = submit(e, "slow", env={"SIM_DURATION_S": "600"}, timeout={"attemptDurationSeconds": 60})
    e.run_until_idle()
    u = e.jobs[job_id].unit
    assert u is not None and u.status == FAILED and u.status_reason == "Job attempt duration exceeded timeout"
    assert u.stopped_at - u.started_at == 60_000  # type: ignore[operator]


# --- steering and determinism -------------------------------------------------------------------------------


def test_same_seed_same_run_and_another_seed_another() -> None:
    def fingerprint(seed: int) -> list[tuple[str, int, int | None, int | None]]:
        e = engine(pipeline="reference", array_size=200, seed=seed, advance_s=50 * 60)
        return [(u.job_id, u.status, u.started_at, u.stopped_at) for job in e.job_list for u in job.units()]

    assert fingerprint(7) == fingerprint(7)
    assert fingerprint(7) != fingerprint(8)


def test_client_jobs_default_to_about_a_minute_and_never_fail() -> None:
    e = engine()
    ids = [submit(e, f"j{i}") for i in range(20)]
    e.run_until_idle()
    units = [e.jobs[i].unit for i in ids]
    assert all(u is not None and u.status == SUCCEEDED for u in units)
    durations = [(u.stopped_at - u.started_at) / 1000 for u in units]  # type: ignore[union-attr,operator]
    assert all(40 <= d <= 80 for d in durations)


def test_batchtui_array_index_makes_a_plain_job_that_original_index() -> None:
    e = engine()
    five = submit(e, "B", env={"SIM_FAIL_INDICES": "5", "BATCHTUI_ARRAY_INDEX": "5"})
    four = submit(e, "B", env={"SIM_FAIL_INDICES": "5", "BATCHTUI_ARRAY_INDEX": "4"})
    e.run_until_idle()
    assert (status(e, five), status(e, four)) == ("FAILED", "SUCCEEDED")


def test_batchtui_array_indices_maps_child_i_to_the_ith_original_index() -> None:
    e = engine()
    job = submit(e, "B", size=3, env={"SIM_FAIL_INDICES": "5", "BATCHTUI_ARRAY_INDICES": "7,5,9"})
    e.run_until_idle()
    assert statuses(e, job) == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert [u.orig_index for u in e.jobs[job].children] == [7, 5, 9]


def test_a_resubmitted_index_draws_afresh_so_random_failures_can_succeed_on_retry() -> None:
    e = engine(seed=4)
    first = submit(e, "B", size=60, env={"SIM_FAIL_RATE": "0.5"})
    e.run_until_idle()
    failed = sorted(e.jobs[first].by_status[FAILED])
    assert 10 < len(failed) < 50
    retry = submit(e, "B", size=len(failed),
                   env={"SIM_FAIL_RATE": "0.5", "BATCHTUI_ARRAY_INDICES": ",".join(map(str, failed))})
    e.run_until_idle()
    again = e.jobs[retry]
    assert 0 < len(again.by_status[SUCCEEDED]) < len(failed)


def test_summary_is_refreshed_with_a_lag() -> None:
    e = engine(summary_lag_s=30)
    job_id = submit(e, "arr", size=10)
    job = e.jobs[job_id]
    e.advance(5)  # settled: children RUNNABLE/STARTING, but the summary still shows the submit-time counts
    assert job.counts()["SUBMITTED"] == 0 and e.summary(job)[0]["SUBMITTED"] == 10
    e.advance(30)
    summary, at = e.summary(job)
    assert summary["SUBMITTED"] == 0 and at == START_MS + 30_000
    e.run_until_idle()
    assert e.summary(job)[0]["SUCCEEDED"] == 10


# --- cancel and terminate -------------------------------------------------------------------------------------


def test_cancel_fails_runnable_but_not_running_work() -> None:
    e = engine()
    running = submit(e, "r")
    e.advance(30)
    assert status(e, running) == "RUNNING"
    e.cancel(running, "stop please")
    assert status(e, running) == "RUNNING"
    e.run_until_idle()
    assert status(e, running) == "SUCCEEDED"
    blocked = submit(e, "huge", containerOverrides={"resourceRequirements": [{"type": "VCPU", "value": "100000"}]})
    e.advance(10)
    assert status(e, blocked) == "RUNNABLE"  # fits nowhere: waits for ever, as a blocked queue does
    e.cancel(blocked, "no capacity")
    u = e.jobs[blocked].unit
    assert u is not None and u.status == FAILED and u.status_reason == "no capacity" and u.is_cancelled


def test_cancel_of_a_pending_job_happens_when_its_dependencies_complete() -> None:
    e = engine()
    first = submit(e, "first")
    second = submit(e, "second", dependsOn=[{"jobId": first}])
    e.advance(10)
    assert status(e, second) == "PENDING"
    e.cancel(second, "not needed")
    assert status(e, second) == "PENDING"
    e.run_until_idle()
    assert status(e, first) == "SUCCEEDED"
    u = e.jobs[second].unit
    assert u is not None and u.status == FAILED and u.status_reason == "not needed" and u.attempts is None


def test_terminate_stops_running_work_and_it_is_not_retried() -> None:
    e = engine()
    job_id = submit(e, "t", retryStrategy={"attempts": 3})
    e.advance(30)
    e.cancel(job_id, "terminated by test", terminate=True)
    u = e.jobs[job_id].unit
    assert u is not None and u.status == FAILED and u.is_terminated and u.status_reason == "terminated by test"
    e.run_until_idle()
    assert u.status == FAILED and len(u.attempts or ()) == 1 and u.attempts[0].stopped_at == START_MS + 30_000


def test_cancelling_a_parent_cascades_to_every_child() -> None:
    e = engine()
    dep = submit(e, "dep")
    arr = submit(e, "arr", size=8, dependsOn=[{"jobId": dep}])
    e.advance(10)
    e.cancel(arr, "whole array")
    e.run_until_idle()
    assert statuses(e, arr) == ["FAILED"] * 8
    assert all(u.status_reason == "whole array" for u in e.jobs[arr].children)
    assert status(e, arr) == "FAILED" and e.jobs[arr].is_cancelled


def test_terminating_one_child_lets_the_others_finish_and_fails_the_parent() -> None:
    e = engine()
    arr = submit(e, "arr", size=5)
    e.advance(30)
    e.cancel(f"{arr}:2", "just this one", terminate=True)
    e.run_until_idle()
    assert statuses(e, arr) == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"]
    assert status(e, arr) == "FAILED"
