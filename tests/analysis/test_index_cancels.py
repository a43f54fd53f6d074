"""Indices cancelled one by one by this batchtui (not the whole job): the array will end FAILED – its outlook is
`will fail` from the moment AWS accepts, and says why ("will fail: 3 indices cancelled by you at 03:59") – and so
will its dependents ("with JobC (…)"); a failed cancelled index reads "cancelled by you at HH:MM"; what fails for
another reason too keeps the ordinary words."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from analysis_factory import NOW, detail, reference

from batchtui import analysis, explain
from batchtui.model import Cancel, Status
from batchtui.ui.events import cancels_accepted, diff

AT = NOW - timedelta(minutes=1)


def cancelled(snap, indices=(5, 6, 7), terminate=False):
    c = next(j for j in snap.jobs if j.job_name == "JobC")
    return replace(snap, cancels=(Cancel(c.job_id, "JobC", tuple(indices), AT, terminate),))


def test_cancelled_indices_doom_the_array_and_its_dependents_and_the_outlook_says_why():
    snap = cancelled(reference("SSSSSSSSSS", "SSSSRppppp"))
    outlook = analysis.analyze(snap).outlook
    assert (outlook["C"], outlook["D"], outlook["E"]) == ("will fail", "will fail", "will fail")
    assert explain.explain_job(snap, "C").summary == "will fail: 3 indices cancelled by you at 03:59"
    assert explain.explain_job(snap, "D").summary == "will fail: with JobC (3 indices cancelled by you at 03:59)"
    assert explain.explain_job(snap, "E").summary == "will fail: with JobC (3 indices cancelled by you at 03:59)"
    assert analysis.index_cancels(snap, "C").to_json() == {"count": 3, "by": "you", "at": "2026-11-25T03:59:00Z",
                                                          "terminate": False, "via": None}
    assert analysis.analyze(snap).doomed_mask["C"][5:8] == b"\x01\x01\x01"
    assert analysis.analyze(snap).doomed_mask["C"][8] == 0  # the indices not cancelled go on


def test_a_cancelled_index_that_failed_reads_as_the_users_act_and_one_that_failed_before_as_its_own():
    snap = cancelled(reference("SSSSSSSSSS", "SSSSSFFppp", c_details=[
        detail(5, status_reason="cancelled by batchtui (alice)", stopped=0.5),
        detail(6, started=20, stopped=10, exit_code=1, reason="Essential container exited")]))
    assert explain.explain_index(snap, "C", 5).summary == "failed: cancelled by you at 03:59"
    assert explain.explain_index(snap, "C", 6).summary.startswith("failed: exit 1")  # before the cancel: its own
    assert explain.explain_index(snap, "C", 7).summary.startswith("cancelling cancelled by you at 03:59")


def test_another_failure_keeps_the_ordinary_words():
    snap = cancelled(reference("SSSSSSSSFS", "SSSSRpppFp"))  # JobB[8] failed: JobC[8] with it
    assert analysis.index_cancels(snap, "C") is None and analysis.index_cancels(snap, "D") is None
    assert "JobB[8] failed" in explain.explain_job(snap, "C").summary


def test_the_cancel_is_one_event_and_what_fails_by_it_raises_no_alert():
    before = cancelled(reference("SSSSSSSSSS", "SSSSSRRRSS"))
    assert [e.text for e in cancels_accepted(before, before.cancels)] == ["JobC cancelled by you: 3 indices"]
    failing = cancelled(reference("SSSSSSSSSS", "SSSSSFFFSS"))
    assert diff(before, failing) == []  # the cancelled indices failing: said when the cancel was accepted
    over = cancelled(reference("SSSSSSSSSS", "SSSSSFFFSS", "FFFFFFFFFF", e=Status.FAILED))
    over = replace(over, jobs=tuple(replace(j, status=Status.FAILED) if j.job_name in ("JobC", "JobD") else j
                                    for j in over.jobs))
    events = diff(failing, over)
    assert not any(e.alert for e in events), [(e.text, e.alert) for e in events]
    texts = [e.text for e in events]
    assert "JobC FAILED: 3 indices cancelled by you at 03:59" in texts
    assert "JobE FAILED: with JobC (3 indices cancelled by you at 03:59)" in texts
    assert any(t.startswith("pipeline JobA → JobB → JobC → JobD → JobE ended: cancelled (JobC, JobD, JobE; JobC: "
                            "3 indices cancelled by you") for t in texts)


def test_without_index_cancels_a_failure_still_alerts():
    failing = reference("SSSSSSSSSS", "SSSSSSSSSR")
    over = reference("SSSSSSSSSS", "SSSSSSSSSF", c_details=[detail(9, started=5, stopped=1, exit_code=1)])
    over = replace(over, jobs=tuple(replace(j, status=Status.FAILED) if j.job_name == "JobC" else j
                                    for j in over.jobs))
    assert any(e.alert and e.text.startswith("JobC FAILED") for e in diff(failing, over))


def test_the_json_of_a_job_failing_by_index_cancels_says_so():
    snap = cancelled(reference("SSSSSSSSSS", "SSSSRppppp"), terminate=True)
    fields = analysis.job_fields(snap)
    assert fields["C"]["outlook"] == "will fail" and "cancel" not in fields["C"]
    assert fields["C"]["indexCancels"] == {"count": 3, "by": "you", "at": "2026-11-25T03:59:00Z", "terminate": True,
                                           "via": None}
    assert fields["E"]["indexCancels"]["via"] == "C" and "indexCancels" not in fields["B"]
