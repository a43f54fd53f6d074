"""The retry planner: what is resubmitted, how it is wired, and what is never touched."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from actions_factory import QUEUE, SEQ, array, dep, jd, n2n, overrides, plain, reference, snapshot

from batchtui.model import INDEX_ENV, INDICES_ENV, RETRY_OF_TAG, ArrayState, IndexDetail, Status
from batchtui.overrides import Overrides
from batchtui.plan import SUBMIT, Ref, Selection
from batchtui.retry_plan import plan_retry
from batchtui.shapes import container_overrides, job_timeout, retry_strategy


def env(call) -> dict[str, str]:
    return {e["name"]: e["value"] for e in (call.params.get("containerOverrides") or {}).get("environment", [])}


def by_name(plan):
    return {c.params["jobName"]: c for c in plan.calls}


def test_failed_indices_of_an_array_become_one_array_over_them_with_the_indices_variable():
    snap = snapshot(array("B", "SFSSFRF", name="JobB"))
    plan = plan_retry(snap, Selection("B"))
    (call,) = plan.calls
    assert call.operation == SUBMIT
    assert call.params["jobName"] == "JobB-retry"
    assert call.params["arrayProperties"] == {"size": 3}
    assert env(call) == {INDICES_ENV: "1,4,6"}
    assert call.params["tags"] == {RETRY_OF_TAG: "B"}
    assert "JobB indices 1, 4, 6 (3 indices)" in plan.summary()


def test_one_failed_index_becomes_a_plain_job_with_the_index_variable():
    plan = plan_retry(snapshot(array("B", "SSFS", name="JobB")), Selection("B"))
    (call,) = plan.calls
    assert "arrayProperties" not in call.params
    assert env(call) == {INDEX_ENV: "2"}
    assert "plain job re-running JobB[2]" in plan.summary()


def test_running_waiting_and_succeeded_indices_are_never_resubmitted_and_are_reported():
    snap = snapshot(array("B", "upprtRSF", name="JobB"))
    plan = plan_retry(snap, Selection("B", frozenset(range(8))))
    (call,) = plan.calls
    assert env(call) == {INDEX_ENV: "7"}
    reasons = {s.indices: s.reason for s in plan.skipped}
    assert reasons[(6,)].startswith("SUCCEEDED: not resubmitted")
    assert reasons[(5,)].startswith("RUNNING: not resubmitted")
    assert reasons[(1, 2)].startswith("PENDING")


def test_copies_queue_definition_revision_parameters_overrides_retry_strategy_timeout_and_tags():
    job = array("B", "FF", name="JobB", parameters=MappingProxyType({"Bucket": "s3://x"}),
                container_overrides=overrides({"AWS_BATCH_JOB_ID": "B", "AWS_BATCH_JQ_NAME": "q", "MODE": "fast"},
                                              command=["run.sh", "Ref::Bucket"],
                                              resourceRequirements=[{"type": "VCPU", "value": "32"}]),
                retry_strategy=retry_strategy({"attempts": 3}),
                timeout=job_timeout({"attemptDurationSeconds": 600}),
                tags=MappingProxyType({"team": "genomics", "aws:batch:x": "y"}))
    (call,) = plan_retry(snapshot(job), Selection("B")).calls
    p = call.params
    assert p["jobQueue"] == QUEUE and p["jobDefinition"] == jd("JobB")
    assert p["parameters"] == {"Bucket": "s3://x"}
    assert p["containerOverrides"]["command"] == ["run.sh", "Ref::Bucket"]
    assert p["containerOverrides"]["resourceRequirements"] == [{"type": "VCPU", "value": "32"}]
    assert p["retryStrategy"] == {"attempts": 3} and p["timeout"] == {"attemptDurationSeconds": 600}
    assert p["tags"] == {"team": "genomics", RETRY_OF_TAG: "B"}  # aws: tags cannot be set
    assert env(call) == {"MODE": "fast"}  # whole array again: no index variable, AWS_BATCH_* stripped
    assert p["arrayProperties"] == {"size": 2}


def test_aws_batch_variables_are_stripped_from_an_index_retry():
    job = array("B", "FSF", container_overrides=overrides({"AWS_BATCH_JOB_ARRAY_INDEX": "0", "X": "1"}))
    (call,) = plan_retry(snapshot(job), Selection("B")).calls
    assert env(call) == {"X": "1", INDICES_ENV: "0,2"}
    assert not any(k.startswith("AWS_BATCH") for k in env(call))


def test_succeeded_upstream_is_dropped_and_a_running_one_kept():
    snap = snapshot(plain("A", Status.SUCCEEDED, name="JobA"), plain("R", Status.RUNNING, name="JobR"),
                    array("B", "FF", (dep("A"), dep("R")), name="JobB"))
    (call,) = plan_retry(snap, Selection("B")).calls
    assert call.params["dependsOn"] == [{"jobId": "R"}]


def test_a_job_waiting_on_a_failed_upstream_that_is_not_retried_is_not_resubmitted():
    snap = snapshot(plain("A", Status.FAILED, name="JobA"), plain("E", Status.FAILED, (dep("A"),), name="JobE"))
    plan = plan_retry(snap, Selection("E"))
    assert plan.empty
    assert "JobA, which FAILED and is not being retried" in plan.summary()


def test_upstream_retried_in_the_same_plan_is_replaced_by_its_new_job():
    snap = snapshot(plain("A", Status.FAILED, name="JobA"), plain("E", Status.FAILED, (dep("A"),), name="JobE"))
    plan = plan_retry(snap, [Selection("E"), Selection("A")])
    assert [c.params["jobName"] for c in plan.calls] == ["JobA-retry", "JobE-retry"]  # upstream first
    assert plan.calls[1].params["dependsOn"] == [{"jobId": Ref(0)}]


def test_downstream_chain_n_to_n_then_sequential_whole_then_standard():
    snap = reference("SSSFSFFSSS", "SSSFSFFSSS")  # C failed exactly where B did; D, E failed after
    plan = plan_retry(snap, Selection("B"), downstream=True)
    calls = by_name(plan)
    assert list(calls) == ["JobB-retry", "JobC-retry", "JobD-retry", "JobE-retry"]
    b, c, d, e = plan.calls
    assert env(b) == env(c) == {INDICES_ENV: "3,5,6"}
    assert b.params["arrayProperties"] == c.params["arrayProperties"] == {"size": 3}
    assert "dependsOn" not in b.params  # JobA succeeded
    assert c.params["dependsOn"] == [{"jobId": Ref(0), "type": "N_TO_N"}]
    assert d.params["arrayProperties"] == {"size": 10} and env(d) == {}
    assert d.params["dependsOn"] == [{"jobId": Ref(1)}, {"type": "SEQUENTIAL"}]
    assert e.params["dependsOn"] == [{"jobId": Ref(2)}]
    assert e.params["parameters"] == {"Recipient": "ops@example.com"}
    text = plan.summary()
    assert "N_TO_N on step 1 (JobB-retry)" in text and "whole JobD again (array of 10)" in text


def test_downstream_with_one_failed_index_chains_two_plain_jobs_with_a_standard_dependency():
    snap = reference("SSSFSSSSSS", "SSSFSSSSSS")
    b, c, d, e = plan_retry(snap, Selection("B"), downstream=True).calls
    assert env(b) == env(c) == {INDEX_ENV: "3"}
    assert "arrayProperties" not in b.params and "arrayProperties" not in c.params
    assert c.params["dependsOn"] == [{"jobId": Ref(0)}]
    assert d.params["dependsOn"] == [{"jobId": Ref(1)}, {"type": "SEQUENTIAL"}]


def test_downstream_includes_indices_that_failed_on_their_own_as_a_separate_job():
    snap = reference("SSSFSFSSSS", "SFSFSFSSSS")  # C[1] failed though B[1] succeeded
    plan = plan_retry(snap, Selection("B"), downstream=True)
    calls = by_name(plan)
    assert env(calls["JobC-retry"]) == {INDICES_ENV: "3,5"}
    assert calls["JobC-retry"].params["dependsOn"] == [{"jobId": Ref(0), "type": "N_TO_N"}]
    assert env(calls["JobC-retry2"]) == {INDEX_ENV: "1"} and "dependsOn" not in calls["JobC-retry2"].params
    assert calls["JobD-retry"].params["dependsOn"] == [{"jobId": Ref(1)}, {"jobId": Ref(2)}, {"type": "SEQUENTIAL"}]
    assert "JobC[1] failed on its own" in plan.summary()


def test_downstream_job_still_pending_is_reported_not_resubmitted():
    snap = reference("SSSFSFSSSS", "SSSFSFSSSS", "p" * 10, e=Status.PENDING)
    plan = plan_retry(snap, Selection("B"), downstream=True)
    assert [c.params["jobName"] for c in plan.calls] == ["JobB-retry", "JobC-retry"]
    (d_skip,) = [s for s in plan.skipped if s.job_id == "D"]
    assert "still PENDING" in d_skip.reason and "only FAILED jobs are resubmitted" in d_skip.reason


def test_without_downstream_only_the_selection_is_resubmitted():
    plan = plan_retry(reference("SSSFSFSSSS", "SSSFSFSSSS"), Selection("B"))
    assert [c.params["jobName"] for c in plan.calls] == ["JobB-retry"]


def test_n_to_n_dependent_not_failed_everywhere_waits_for_the_whole_retry():
    # C[5] is still PENDING (it will fail); C's retry over [3] cannot pair index by index with B's retry of [3, 5]
    snap = snapshot(array("B", "SSSFSF", name="JobB"),
                    array("C", "SSSFSp", (n2n("B"),), name="JobC", status=Status.FAILED))
    plan = plan_retry(snap, Selection("B"), downstream=True)
    b, c = plan.calls
    assert c.params["dependsOn"] == [{"jobId": Ref(0)}]
    assert "not index by index" in plan.summary()


def test_selected_plain_job_that_did_not_fail_is_skipped():
    plan = plan_retry(snapshot(plain("A", Status.SUCCEEDED, name="JobA")), Selection("A"))
    assert plan.empty and "JobA: is SUCCEEDED: not resubmitted" in plan.summary()


def test_work_already_resubmitted_by_batchtui_is_not_resubmitted_again():
    original = array("B", "SFSFF", name="JobB")
    earlier = array("R1", "SS", name="JobB-retry", created=2000, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                    container_overrides=overrides({INDICES_ENV: "1,3"}))
    plan = plan_retry(snapshot(original, earlier), Selection("B"))
    (call,) = plan.calls
    assert env(call) == {INDEX_ENV: "4"}
    assert "JobB indices 1, 3 (2 indices): already resubmitted as JobB-retry (R1)" in plan.summary()


def test_a_second_retry_with_downstream_points_at_the_first_retries_and_submits_nothing_new():
    snap = reference("SSSFSFFSSS", "SSSFSFFSSS")
    first = plan_retry(snap, Selection("B"), downstream=True)
    made = []  # turn the first plan's calls into jobs, as if they had been submitted
    for n, c in enumerate(first.calls):
        p = c.params
        size = (p.get("arrayProperties") or {}).get("size")
        deps = tuple(dep(made[d["jobId"].step].job_id, d.get("type")) if "jobId" in d else SEQ
                     for d in p.get("dependsOn", []))
        kw = dict(name=p["jobName"], created=100 + n, tags=MappingProxyType(p["tags"]),
                  container_overrides=container_overrides(p.get("containerOverrides", {})))
        made.append(array(f"N{n}", "R" * size, deps, **kw) if size else plain(f"N{n}", Status.RUNNING, deps, **kw))
    second = plan_retry(snapshot(*snap.jobs, *made), Selection("B"), downstream=True)
    assert second.empty
    assert "JobB indices 3, 5, 6 (3 indices): already resubmitted as JobB-retry (N0)" in second.summary()


def test_retry_of_a_retry_maps_indices_back_to_the_original():
    retry = array("R", "SFF", name="JobB-retry", tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                  container_overrides=overrides({INDICES_ENV: "10,17,42"}))
    (call,) = plan_retry(snapshot(retry), Selection("R")).calls
    assert call.params["jobName"] == "JobB-retry"
    assert env(call) == {INDICES_ENV: "17,42"}
    assert call.params["tags"] == {RETRY_OF_TAG: "R"}


def test_sequential_array_retry_keeps_the_sequence_over_the_failed_indices():
    snap = snapshot(array("D", "SSSSFFFFFF", (SEQ,), name="JobD"))
    (call,) = plan_retry(snap, Selection("D")).calls
    assert call.params["dependsOn"] == [{"type": "SEQUENTIAL"}]
    assert env(call) == {INDICES_ENV: "4,5,6,7,8,9"}


def test_a_job_not_described_yet_cannot_be_resubmitted_and_says_why():
    plan = plan_retry(snapshot(array("B", "FF", queue=None)), Selection("B"))
    assert plan.empty and "not described yet" in plan.summary()


def test_plan_is_deterministic_for_the_same_snapshot():
    snap = reference("SSSFSFFSSF", "SSSFSFFSSF")
    assert plan_retry(snap, Selection("B"), downstream=True) == plan_retry(snap, Selection("B"), downstream=True)


def test_resolved_params_substitute_new_job_ids():
    b, c, *_ = plan_retry(reference("SSSFSFFSSS", "SSSFSFFSSS"), Selection("B"), downstream=True).calls
    assert c.resolved({0: "new-b"})["dependsOn"] == [{"jobId": "new-b", "type": "N_TO_N"}]
    assert c.to_json()["params"]["dependsOn"] == [{"jobId": "${step 1}", "type": "N_TO_N"}]


def _reference_with_earlier_retry(letters: str):
    snap = reference("SSSFSFSSSS", "SSSFSFSSSS")
    earlier = array("R1", letters, name="JobB-retry", created=100, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                    container_overrides=overrides({INDICES_ENV: "3,5"}))
    return snapshot(*snap.jobs, earlier)


def test_downstream_after_an_earlier_retry_that_succeeded_waits_for_nothing():
    plan = plan_retry(_reference_with_earlier_retry("SS"), Selection("B"), downstream=True)
    calls = by_name(plan)
    assert list(calls) == ["JobC-retry", "JobD-retry", "JobE-retry"]
    assert "dependsOn" not in calls["JobC-retry"].params  # JobB's failed indices are done, by JobB-retry
    assert "already resubmitted as JobB-retry (R1)" in plan.summary()


def test_downstream_after_an_earlier_retry_that_is_running_waits_for_it_index_by_index():
    plan = plan_retry(_reference_with_earlier_retry("RR"), Selection("B"), downstream=True)
    assert by_name(plan)["JobC-retry"].params["dependsOn"] == [{"jobId": "R1", "type": "N_TO_N"}]


def test_downstream_never_waits_for_an_earlier_retry_that_failed():
    plan = plan_retry(_reference_with_earlier_retry("SF"), Selection("B"), downstream=True)
    c = by_name(plan)["JobC-retry"]
    assert env(c) == {INDEX_ENV: "3"} and "dependsOn" not in c.params  # R1's child for index 3 succeeded
    assert "JobC[5]: waits for JobB-retry (R1), an earlier retry that FAILED" in plan.summary()
    assert "JobD-retry" not in by_name(plan)  # JobD needs all of JobC, and JobC[5] cannot be repaired yet


def test_a_long_index_list_is_split_so_container_overrides_stay_within_the_aws_limit():
    import json

    from batchtui.plan import OVERRIDES_BUDGET

    failed = set(range(1, 10_000, 3))  # 3,333 scattered failures: one list would be ~16,000 characters
    letters = "".join("F" if i in failed else "S" for i in range(10_000))
    plan = plan_retry(reference(letters, letters), Selection("B"), downstream=True)
    calls = list(plan.calls)
    b_parts = [c for c in calls if c.covers[0].job_id == "B"]
    c_parts = [c for c in calls if c.covers[0].job_id == "C"]
    assert len(b_parts) == len(c_parts) >= 3
    for part in b_parts + c_parts:
        assert len(json.dumps(part.params["containerOverrides"], separators=(",", ":"))) <= OVERRIDES_BUDGET
    covered = [i for part in b_parts for i in part.covers[0].indices]
    assert sorted(covered) == sorted(failed) and len(covered) == len(set(covered))
    for b, c in zip(b_parts, c_parts, strict=True):  # each JobC part pairs with its JobB part
        assert c.covers[0].indices == b.covers[0].indices
        assert c.params["dependsOn"] == [{"jobId": Ref(calls.index(b)), "type": "N_TO_N"}]
    d = by_name(plan)["JobD-retry"]
    assert [x.get("jobId") for x in d.params["dependsOn"]] == [Ref(calls.index(c)) for c in c_parts] + [None]
    assert "arrays: one index list that long would make the job fail at start" in plan.summary()


def test_n_to_n_dependents_of_unretried_failures_are_reported_in_one_line_not_one_per_index():
    snap = reference("SFSFSFSSSS", "SFSFSFSSSS")  # C[1], C[3], C[5] failed because B[1], B[3], B[5] did
    plan = plan_retry(snap, Selection("C"))  # C alone: its upstream partners stay FAILED
    assert plan.empty
    lines = [line for line in plan.summary().splitlines() if "N_TO_N partner in JobB FAILED" in line]
    assert len(lines) == 1 and "1, 3, 5" in lines[0], plan.summary()


def test_an_environment_too_big_for_an_index_list_is_left_alone_not_split_into_a_job_per_index():
    big = overrides({"PAYLOAD": "x" * 7300})
    snap = snapshot(array("B", "FSFSF", name="JobB", container_overrides=big))
    plan = plan_retry(snap, [Selection("B")])
    assert plan.empty
    (skip,) = [s for s in plan.skipped if s.indices == (0, 2, 4)]
    assert "container overrides are already 7," in skip.reason and "8,192" in skip.reason


def test_downstream_now_the_failed_partners_of_a_running_n_to_n_dependent_are_resubmitted_at_once():
    # JobB is done with 3 and 5 FAILED; JobC runs on: its partners 3 and 5 failed already, 8 and 9 not started.
    snap = reference("SSSFSFSSSS", "SSSFSFSRpp", "p" * 10, e=Status.PENDING)
    assert snap.job("C").status is Status.PENDING
    plan = plan_retry(snap, Selection("B"), downstream=True)
    b, c = plan.calls
    assert c.params["jobName"] == "JobC-retry" and c.params["arrayProperties"] == {"size": 2}
    assert c.params["dependsOn"] == [{"jobId": Ref(0), "type": "N_TO_N"}]
    assert env(c)[INDICES_ENV] == "3,5"
    assert "JobC indices 3, 5 (2 indices) failed while JobC runs on: resubmitted now" in plan.summary()
    # JobD waits for all of JobC, which AWS cannot say without the retried indices: a waiting step (test_plan_waiting)
    assert [w.call.params["jobName"] for w in plan.waiting] == ["JobD-retry", "JobE-retry"]
    assert not [s for s in plan.skipped if s.job_id == "D"]


def test_a_running_dependent_by_a_standard_dependency_is_not_resubmitted_early():
    snap = snapshot(array("B", "SFS", name="JobB"), array("C", "SFp", (dep("B"),), name="JobC"))
    plan = plan_retry(snap, Selection("B"), downstream=True)
    assert [c.params["jobName"] for c in plan.calls] == ["JobB-retry"]


def test_an_index_whose_retry_failed_is_retried_through_that_retry():
    original = array("B", "SFSFF", name="JobB")
    earlier = array("R1", "SF", name="JobB-retry", created=2000, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                    container_overrides=overrides({INDICES_ENV: "1,3"}))
    plan = plan_retry(snapshot(original, earlier), Selection("B"))
    by_tag = {c.params["tags"][RETRY_OF_TAG]: c for c in plan.calls}
    assert env(by_tag["B"]) == {INDEX_ENV: "4"}  # never resubmitted before
    assert env(by_tag["R1"]) == {INDEX_ENV: "3"}  # R1's child 1 re-ran index 3 and failed: the original index, again
    assert "already resubmitted as JobB-retry (R1), which failed: retried through it" in plan.summary()


def test_a_retry_of_a_retry_that_failed_too_is_followed_to_the_latest():
    original = array("B", "SFSF", name="JobB")
    r1 = array("R1", "FF", name="JobB-retry", created=2000, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
               container_overrides=overrides({INDICES_ENV: "1,3"}))
    r2 = plain("R2", Status.FAILED, name="JobB-retry", created=3000, tags=MappingProxyType({RETRY_OF_TAG: "R1"}),
               container_overrides=overrides({INDEX_ENV: "3"}))
    plan = plan_retry(snapshot(original, r1, r2), Selection("B"))
    by_tag = {c.params["tags"][RETRY_OF_TAG]: c for c in plan.calls}
    assert set(by_tag) == {"R1", "R2"}
    assert env(by_tag["R1"]) == {INDEX_ENV: "1"}  # R1's index 1 had no retry of its own
    assert env(by_tag["R2"]) == {INDEX_ENV: "3"}  # index 3 failed in R1 and again in R2: retried through R2
    # and once those are running, asking again submits nothing
    running = [plain(f"N{n}", Status.RUNNING, name=c.params["jobName"], created=4000 + n,
                     tags=MappingProxyType(c.params["tags"]),
                     container_overrides=container_overrides(c.params["containerOverrides"]))
               for n, c in enumerate(plan.calls)]
    assert plan_retry(snapshot(original, r1, r2, *running), Selection("B")).empty


def test_a_running_retry_is_not_resubmitted_and_says_so():
    original = array("B", "SF", name="JobB")
    earlier = array("R1", "R", name="JobB-retry", created=2000, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                    container_overrides=overrides({INDEX_ENV: "1"}))
    plan = plan_retry(snapshot(original, plain("R1", Status.RUNNING, name="JobB-retry", created=2000,
                                                tags=earlier.tags, container_overrides=earlier.container_overrides)),
                      Selection("B"))
    assert plan.empty and "not resubmitted again while that has not failed" in plan.summary()


def test_a_dependent_of_a_doomed_job_left_alone_is_left_alone_too_not_chained_to_it():
    # JobB[7] FAILED too but only 3 and 5 are retried: JobC[7] is left alone, so JobD (all of JobC) cannot be
    # repaired and will fail – a JobE retry after the original JobD would only fail with it.
    snap = reference("SSSFSFSFSS", "SSSFSFSFpp", "p" * 10, e=Status.PENDING)
    plan = plan_retry(snap, Selection("B", frozenset({3, 5})), downstream=True)
    assert [c.params["jobName"] for c in plan.calls] == ["JobB-retry", "JobC-retry"]
    assert not plan.waiting
    skipped = {s.job_id: s.reason for s in plan.skipped}
    assert "neither SUCCEEDED nor being retried" in skipped["D"]
    assert skipped["E"] == "waits for JobD, which will fail and is left alone in this plan (see JobD)"


def _oom(*indices: int) -> dict:
    return {i: IndexDetail(i, 137, "OutOfMemoryError: Container killed due to memory usage",
                           "Essential container in task exited") for i in indices}


def test_a_downstream_retry_of_out_of_memory_failures_with_the_same_memory_says_they_will_fail_again():
    snap = reference("SSSFSFSSSS", "SSSFSFSFpp", "p" * 10, e=Status.PENDING)
    c = snap.job("C")
    c = dataclasses.replace(c, array=ArrayState.of(c.array.statuses, _oom(7)))
    snap = dataclasses.replace(snap, jobs=tuple(c if j.job_id == "C" else j for j in snap.jobs))
    plan = plan_retry(snap, Selection("B"), downstream=True)
    (note,) = [n for n in plan.notes if "out of memory" in n]
    assert note.startswith("JobC[7] ran out of memory and is resubmitted with the same memory: expect the same "
                           "failure – give JobC's oom group its repair (retry-more-memory: memory=x1.5")
    # picked with more memory: nothing to warn about
    more = plan_retry(snap, Selection("C", frozenset({7})), changes=Overrides.parse("memory=6144"))
    assert more.calls and not more.refused
    assert not [n for n in more.notes if "out of memory" in n]
