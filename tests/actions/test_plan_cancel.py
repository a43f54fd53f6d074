"""The cancel planner: which ids get CancelJobs, which TerminateJobs, what is left alone, and how it is told."""

from __future__ import annotations

import pytest
from actions_factory import array, dep, plain, reference, snapshot

from batchtui.errors import UnknownJob, UsageError
from batchtui.model import Status
from batchtui.plan import (
    CANCEL,
    REASON_MAX,
    TERMINATE,
    Selection,
    check_reason,
    default_reason,
    describe_indices,
    format_indices,
    plan_cancel,
    select_pipeline,
)

REASON = "cancelled by batchtui (user tester)"


def ids(plan, op):
    return [i for c in plan.calls if c.operation == op for i in c.params["jobs"]]


def test_indices_split_by_status_running_terminated_waiting_cancelled_finished_skipped():
    snap = snapshot(array("B", "upprtRSF"))
    plan = plan_cancel(snap, Selection("B", frozenset(range(8))), REASON)
    assert ids(plan, TERMINATE) == ["B:4", "B:5"]
    assert ids(plan, CANCEL) == ["B:0", "B:1", "B:2", "B:3"]
    skipped = {s.reason.split(":")[0]: s.indices for s in plan.skipped}
    assert skipped == {"SUCCEEDED": (6,), "FAILED": (7,)}
    assert all(c.params["reason"] == REASON for c in plan.calls)


def test_waiting_work_is_cancelled_before_running_work_is_terminated():
    # the other way round, the capacity freed by terminating lets a RUNNABLE child start before it is cancelled
    plan = plan_cancel(snapshot(array("B", "pR")), Selection("B", frozenset({0, 1})), REASON)
    assert [c.operation for c in plan.calls] == [CANCEL, TERMINATE]


def test_bulk_calls_hold_at_most_50_ids_and_cover_every_id_once():
    snap = snapshot(array("B", "R" * 120 + "r" * 51))
    plan = plan_cancel(snap, Selection("B", frozenset(range(171))), REASON)
    sizes = [(c.operation, len(c.params["jobs"])) for c in plan.calls]
    assert sizes == [(CANCEL, 50), (CANCEL, 1), (TERMINATE, 50), (TERMINATE, 50), (TERMINATE, 20)]
    every = ids(plan, TERMINATE) + ids(plan, CANCEL)
    assert sorted(every) == sorted(f"B:{i}" for i in range(171))


def test_whole_array_is_one_call_on_the_parent_terminate_when_any_child_runs():
    plan = plan_cancel(snapshot(array("B", "SSRppF")), Selection("B"), REASON)
    assert [(c.operation, c.params["jobs"]) for c in plan.calls] == [(TERMINATE, ["B"])]
    assert "cascades to its 3 unfinished children" in plan.summary()
    assert "1 child STARTING or RUNNING" in plan.summary()


def test_whole_array_without_running_children_is_cancelled_on_the_parent():
    plan = plan_cancel(snapshot(array("B", "SSrppF")), Selection("B"), REASON)
    assert [(c.operation, c.params["jobs"]) for c in plan.calls] == [(CANCEL, ["B"])]
    assert "none is running" in plan.summary()


def test_whole_array_with_unknown_children_is_terminated_to_be_safe():
    plan = plan_cancel(snapshot(array("B", "pp??")), Selection("B"), REASON)
    assert plan.calls[0].operation == TERMINATE


def test_finished_jobs_are_skipped_and_reported():
    snap = snapshot(plain("A", Status.SUCCEEDED, name="JobA"), array("B", "SF", (dep("A"),), name="JobB"),
                    plain("E", Status.RUNNING, name="JobE"))
    plan = plan_cancel(snap, [Selection("A"), Selection("B"), Selection("E")], REASON)
    assert [(c.operation, c.params["jobs"]) for c in plan.calls] == [(TERMINATE, ["E"])]
    assert {s.job_name: s.reason for s in plan.skipped} == {
        "JobA": "is SUCCEEDED: already finished", "JobB": "is FAILED: already finished"}
    assert "JobA: is SUCCEEDED: already finished" in plan.summary()


def test_plain_jobs_waiting_are_cancelled_running_terminated():
    snap = snapshot(plain("P", Status.PENDING), plain("S", Status.STARTING), plain("U", Status.SUBMITTED))
    plan = plan_cancel(snap, [Selection("P"), Selection("S"), Selection("U")], REASON)
    assert ids(plan, TERMINATE) == ["S"]
    assert sorted(ids(plan, CANCEL)) == ["P", "U"]


def test_selecting_a_whole_job_and_some_of_its_indices_is_the_whole_job():
    plan = plan_cancel(snapshot(array("B", "RRpp")), [Selection("B", frozenset({1})), Selection("B")], REASON)
    assert [(c.operation, c.params["jobs"]) for c in plan.calls] == [(TERMINATE, ["B"])]


def test_pipeline_selection_cancels_every_unfinished_job_of_it():
    snap = reference("SSRRF", "SSppF", "p" * 10, e=Status.PENDING)
    plan = plan_cancel(snap, select_pipeline(snap, "C"), REASON)
    touched = {i for c in plan.calls for i in c.params["jobs"]}
    assert touched == {"B", "C", "D", "E"}  # A succeeded
    assert [s.job_id for s in plan.skipped] == ["A"]


def test_unknown_job_is_an_error_naming_it():
    with pytest.raises(UnknownJob, match="nope"):
        plan_cancel(snapshot(array("B", "RR")), Selection("nope"), REASON)


def test_index_out_of_range_or_on_a_plain_job_is_an_unknown_job():
    snap = snapshot(array("B", "RR"), plain("A", Status.RUNNING))
    with pytest.raises(UnknownJob, match="no job B:5: B .B. has indices 0–1"):
        plan_cancel(snap, Selection("B", frozenset({5})), REASON)
    with pytest.raises(UnknownJob, match="not an array job"):
        plan_cancel(snap, Selection("A", frozenset({0})), REASON)


def test_reason_is_required_and_at_most_1024_characters():
    with pytest.raises(UsageError, match="empty"):
        check_reason("   ")
    with pytest.raises(UsageError, match="at most 1,024"):
        plan_cancel(snapshot(array("B", "RR")), Selection("B"), "x" * (REASON_MAX + 1))
    assert check_reason("x" * REASON_MAX) == "x" * REASON_MAX


def test_default_reason_names_batchtui_and_the_user():
    assert default_reason("alice") == "cancelled by batchtui (user alice)"
    assert default_reason().startswith("cancelled by batchtui (user ")


def test_summary_names_the_indices_with_ranges_and_the_reason():
    snap = snapshot(array("B", "R" * 10 + "p" * 200, name="JobB"))
    chosen = frozenset({3, 7, *range(100, 200)})
    plan = plan_cancel(snap, Selection("B", chosen), REASON)
    text = plan.summary()
    assert "terminate JobB indices 3, 7 (2 indices)" in text
    assert "cancel JobB indices 100–149 (50 indices)" in text
    assert "cancel JobB indices 150–199 (50 indices)" in text
    assert f"Reason: {REASON!r}" in text


def test_empty_plan_says_nothing_to_do():
    plan = plan_cancel(snapshot(array("B", "SS")), Selection("B"), REASON)
    assert plan.empty and "nothing to do" in plan.summary()


def test_same_input_gives_equal_plans_with_equal_fingerprints():
    snap = snapshot(array("B", "RRppSF"))
    a = plan_cancel(snap, [Selection("B", frozenset({0, 2, 4}))], REASON)
    b = plan_cancel(snap, [Selection("B", frozenset({4, 2, 0}))], REASON)
    assert a == b and hash(a) == hash(b) and a.fingerprint == b.fingerprint
    c = plan_cancel(snap, [Selection("B", frozenset({0, 2}))], REASON)
    assert c != a and c.fingerprint != a.fingerprint


def test_index_formatting_compresses_runs_and_truncates_long_lists():
    assert format_indices([3, 17, *range(100, 200)]) == "3, 17, 100–199"
    assert format_indices([1, 2]) == "1, 2"
    assert describe_indices("JobB", [17]) == "JobB[17]"
    assert describe_indices("JobB", [3, 17, *range(100, 200)]) == "JobB indices 3, 17, 100–199 (102 indices)"
    many = format_indices(range(0, 100, 2), max_runs=3)
    assert many == "0, 2, 4, … and 47 more"
