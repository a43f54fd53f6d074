"""Retries joined back to their originals: effective state per original index, through retries of retries, at
10,000 indices, and the retries that cannot be joined (no original, no index list)."""

from __future__ import annotations

from types import MappingProxyType

from actions_factory import array, n2n, overrides, plain, reference, snapshot

from batchtui import analysis, lineage
from batchtui.model import INDEX_ENV, INDICES_ENV, RETRY_OF_TAG, Status


def retry(job_id: str, of: str, text: str, env: dict[str, str] | None, created: int, name: str = "JobB-retry",
          deps=()):
    return array(job_id, text, deps, name=name, created=created, tags=MappingProxyType({RETRY_OF_TAG: of}),
                 container_overrides=overrides(env) if env is not None else None)


def test_a_retry_is_folded_into_its_original_with_the_latest_state_per_index():
    base = reference("SSFSFS", "SSpSpS", d="p" * 10, e=Status.PENDING)
    r1 = retry("R1", "B", "SR", {INDICES_ENV: "2,4"}, created=10)
    snap = snapshot(*base.jobs, r1)
    assert [p.job_ids for p in snap.pipelines] == [("A", "B", "C", "D", "E")]  # no separate retry pipeline
    assert [j.job_id for j in snap.jobs] == ["A", "B", "R1", "C", "D", "E"]
    repair = lineage.join(snap).of("B")
    assert repair is not None and repair.retried == [2, 4]
    assert repair.effective.array.statuses == bytes([Status.SUCCEEDED, Status.SUCCEEDED, Status.SUCCEEDED,
                                                     Status.SUCCEEDED, Status.RUNNING, Status.SUCCEEDED])
    assert repair.effective.status is Status.RUNNING
    assert repair.summary() == "4 succeeded + 2 retried: 1 succeeded, 1 running"
    assert lineage.join(snap).of("R1") is repair
    eff = lineage.effective(snap)
    assert [j.job_id for j in eff.jobs] == ["A", "B", "C", "D", "E"]


def test_two_generations_map_onto_the_original_indices():
    base = snapshot(array("B", "FSFFS", name="JobB"))
    r1 = retry("R1", "B", "FSF", {INDICES_ENV: "0,2,3"}, created=10)
    r2 = retry("R2", "R1", "SR", {INDICES_ENV: "0,3"}, created=20, name="JobB-retry")  # a retry of the retry
    snap = snapshot(*base.jobs, r1, r2)
    repair = lineage.join(snap).of("B")
    assert [(r.job_id, r.generation, r.indices) for r in repair.retries] == [("R1", 1, (0, 2, 3)), ("R2", 2, (0, 3))]
    assert repair.effective.array.statuses == bytes([Status.SUCCEEDED, Status.SUCCEEDED, Status.SUCCEEDED,
                                                     Status.RUNNING, Status.SUCCEEDED])
    assert repair.latest[2].job_id == "R1" and repair.latest[3] == lineage.Latest("R2", 1)
    fields = analysis.job_fields(snap)
    assert fields["B"]["retries"] == [{"jobId": "R1", "indices": [0, 2, 3]}, {"jobId": "R2", "indices": [0, 3]}]
    assert fields["B"]["effectiveChildCounts"]["SUCCEEDED"] == 4
    assert fields["B"]["effectiveChildCounts"]["RUNNING"] == 1
    assert fields["B"]["outlook"] == "failed" and fields["B"]["effectiveOutlook"] == "on track"
    assert fields["R2"]["retryOf"] == "R1" and fields["R1"]["retryOf"] == "B"


def test_a_plain_retry_of_one_index_and_a_whole_resubmission():
    base = snapshot(array("B", "FSF", name="JobB"))
    one = plain("P", Status.SUCCEEDED, name="JobB-retry", created=10, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
                container_overrides=overrides({INDEX_ENV: "2"}))
    whole = retry("W", "B", "SSR", None, created=20, name="JobB-retry2")
    repair = lineage.join(snapshot(*base.jobs, one)).of("B")
    assert repair.retried == [2] and repair.latest[2] == lineage.Latest("P", None)
    assert repair.effective.array.status(2) is Status.SUCCEEDED and repair.effective.status is Status.FAILED
    repair = lineage.join(snapshot(*base.jobs, one, whole)).of("B")
    assert repair.retried == [0, 1, 2] and repair.effective.array.status(2) is Status.RUNNING


def test_downstream_repairs_put_the_pipeline_back_on_track():
    base = reference("SSFS", "SSFS", d="F" * 10, e=Status.FAILED)
    rb = plain("RB", Status.SUCCEEDED, name="JobB-retry", created=10, tags=MappingProxyType({RETRY_OF_TAG: "B"}),
               container_overrides=overrides({INDEX_ENV: "2"}))
    rc = plain("RC", Status.RUNNING, (n2n("RB"),), name="JobC-retry", created=11,
               tags=MappingProxyType({RETRY_OF_TAG: "C"}), container_overrides=overrides({INDEX_ENV: "2"}))
    rd = retry("RD", "D", "p" * 10, None, created=12, name="JobD-retry")
    re_ = plain("RE", Status.PENDING, name="JobE-retry", created=13, tags=MappingProxyType({RETRY_OF_TAG: "E"}))
    snap = snapshot(*base.jobs, rb, rc, rd, re_)
    fields = analysis.job_fields(snap)
    assert {j: fields[j]["outlook"] for j in "BCDE"} == dict.fromkeys("BCDE", "failed")
    assert {j: fields[j].get("effectiveOutlook") for j in "BCDE"} == {
        "B": "succeeded", "C": "on track", "D": "on track", "E": "on track"}


def test_ten_thousand_indices_join_in_one_pass():
    n = 10_000
    original = "F" * 24 + "S" * (n - 24)
    failed = list(range(24))
    r1 = retry("R1", "B", "S" * 20 + "R" * 4, {INDICES_ENV: ",".join(map(str, failed))}, created=10)
    snap = snapshot(array("B", original, name="JobB"), r1)
    repair = lineage.join(snap).of("B")
    assert repair.summary() == "9,976 succeeded + 24 retried: 20 succeeded, 4 running"
    assert repair.effective_counts()["SUCCEEDED"] == 9_996


def test_retries_that_cannot_be_joined_stay_visible_jobs_and_say_why():
    base = snapshot(array("B", "FSF", name="JobB"))
    no_list = retry("X", "B", "SS", {"OTHER": "1"}, created=10)  # lineage variable removed by hand
    orphan = retry("O", "GONE", "SS", {INDICES_ENV: "0,2"}, created=11)  # its original AWS no longer returns
    snap = snapshot(*base.jobs, no_list, orphan)
    joined = lineage.join(snap)
    assert joined.of("B") is None and joined.unjoined == ("X",)
    assert "does not say which of its indices it re-runs" in joined.notes[0]
    assert {j.job_id for j in lineage.effective(snap).jobs} >= {"B", "O"}
    assert analysis.job_fields(snap)["B"].get("effectiveOutlook") is None
