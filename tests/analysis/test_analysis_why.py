"""Why a job or index waits or failed, in words and in structured fields."""

from datetime import timedelta

from analysis_factory import NOW, SEQ, ago, array, dep, detail, n2n, plain, reference, snapshot

from batchtui import explain as words
from batchtui.model import Attempt, Status


def test_index_waits_for_its_n_to_n_partner_by_name_and_status():
    s = reference("S" * 17 + "R" + "S" * 2, "S" * 17 + "p" + "S" * 2)
    e = words.explain_index(s, "C", 17)
    assert e.kind == "waiting"
    assert e.summary == "waiting for JobB[17] (RUNNING)"
    assert e.waiting_on == (("B", 17),)


def test_index_waits_for_a_whole_array_with_how_many_children_remain():
    s = reference("S" * 10, "SSSSSSSRRF", d="p" * 10)
    e = words.explain_index(s, "D", 0)
    assert e.summary.startswith("will fail")  # C has a failed child, so D can no longer run
    s = reference("S" * 10, "SSSSSSSRRr", d="p" * 10)
    e = words.explain_index(s, "D", 0)
    assert e.summary == "waiting for JobC: 3 of 10 children not finished"
    assert e.waiting_on == (("C", None),)


def test_sequential_index_waits_for_its_predecessor():
    s = snapshot(array("D", "SRpp", (SEQ,), name="JobD"))
    assert words.explain_index(s, "D", 2).summary == "waiting for JobD[1] (RUNNING)"
    assert words.explain_index(s, "D", 2).waiting_on == (("D", 1),)


def test_plain_job_waits_for_its_dependency():
    s = snapshot(plain("A", Status.RUNNING, name="JobA", started=3), plain("E", Status.PENDING, (dep("A"),)))
    e = words.explain_job(s, "E")
    assert (e.kind, e.summary, e.waiting_on) == ("waiting", "waiting for JobA (RUNNING)", (("A", None),))


def test_pending_with_every_dependency_met_says_so():
    s = snapshot(plain("A", Status.SUCCEEDED), plain("E", Status.PENDING, (dep("A"),)))
    assert words.explain_job(s, "E").kind == "pending"


def test_runnable_index_counts_who_is_ahead_in_fifo_order():
    # X was created earlier in the same queue: its 3 RUNNABLE children are ahead; so are B's RUNNABLE indices < 4.
    s = snapshot(array("X", "rrrS", created=300), array("B", "rrRSrr", created=100, name="JobB"),
                 array("Y", "rrrr", created=300, queue="OtherQueue"), array("Z", "rrrr", created=50))
    e = words.explain_index(s, "B", 4)
    assert e.kind == "runnable" and e.ahead == 3 + 2
    assert "behind 5 others" in e.summary
    assert words.explain_index(s, "X", 0).ahead == 0 and "first in line" in words.explain_index(s, "X", 0).summary


def test_runnable_since_is_said_only_when_known():
    # A finished 12 minutes ago; B was created before that: B's children became RUNNABLE when A finished.
    s = snapshot(plain("A", Status.SUCCEEDED, started=30, stopped=12), array("B", "rr", (dep("A"),), created=60))
    e = words.explain_index(s, "B", 0)
    assert e.since == NOW - timedelta(minutes=12)
    assert "RUNNABLE for 12 minutes (since 03:48 UTC)" in e.summary
    unknown = snapshot(plain("A", Status.SUCCEEDED), array("B", "rr", (dep("A"),), created=60))  # A: no stoppedAt
    e = words.explain_index(unknown, "B", 0)
    assert e.since is None and "since" not in e.summary and e.summary.startswith("RUNNABLE")


def test_runnable_n_to_n_child_since_its_partner_finished():
    s = snapshot(array("B", "SS", details=[detail(1, started=20, stopped=7)], created=60),
                 array("C", "rr", (n2n("B"),), created=60))
    assert "RUNNABLE for 7 minutes" in words.explain_index(s, "C", 1).summary
    assert words.explain_index(s, "C", 0).since is None  # B[0] finish time unknown


def test_failed_index_names_exit_code_and_reason():
    oom = detail(1, 10, 5, exit_code=137, reason="OutOfMemoryError: Container killed")
    s = reference("SFS", "SpS", b_details=[oom])
    e = words.explain_index(s, "B", 1)
    assert e.summary == "failed: exit 137 – OutOfMemoryError: Container killed"
    assert (e.kind, e.exit_code, e.reason) == ("failed", 137, "OutOfMemoryError: Container killed")


def test_failed_because_the_n_to_n_partner_failed():
    s = reference("SFS", "SFS", b_details=[detail(1, 10, 5, exit_code=1)])
    e = words.explain_index(s, "C", 1)
    assert e.summary == "failed: its N_TO_N partner JobB[1] failed"
    assert e.caused_by == (("B", 1),)


def test_will_fail_because_the_n_to_n_partner_failed():
    s = reference("SFS", "SpS", b_details=[detail(1, 10, 5, exit_code=1)])
    e = words.explain_index(s, "C", 1)
    assert (e.kind, e.summary) == ("will fail", "will fail: its N_TO_N partner JobB[1] failed")


def test_will_fail_through_a_chain_names_the_root_failure():
    s = snapshot(array("B", "SFS", name="JobB", details=[detail(1, 10, 5, exit_code=1)]),
                 array("C", "SpS", (n2n("B"),), name="JobC"), array("D", "ppp", (n2n("C"),), name="JobD"))
    e = words.explain_index(s, "D", 1)
    assert e.summary == "will fail: its N_TO_N partner JobC[1] will fail (JobB[1] failed)"
    assert e.caused_by == (("C", 1), ("B", 1))


def test_sequential_will_fail_names_the_earlier_index():
    s = snapshot(array("D", "SFpp", (SEQ,), name="JobD", details=[detail(1, 10, 5, exit_code=3)]))
    e = words.explain_index(s, "D", 3)
    assert e.summary == "will fail: JobD[1] earlier in the sequence failed"
    assert e.caused_by == (("D", 1),)


def test_whole_pipeline_downstream_of_a_failed_child_says_why():
    s = reference("SFS", "SpS", d="ppp", b_details=[detail(1, 10, 5, exit_code=137, reason="OOM")])
    b = words.explain_job(s, "B")
    assert b.kind == "will fail" and b.summary == "will fail: 1 child failed (JobB[1]: exit 137 – OOM)"
    d = words.explain_job(s, "D")
    assert d.summary.startswith("will fail: dependency JobC will fail (JobB[1] failed)")
    e = words.explain_job(s, "E")
    assert e.summary == "will fail: dependency JobD will fail (JobB[1] failed)"
    assert e.caused_by[0] == ("D", None) and e.caused_by[-1] == ("B", 1)


def test_failed_plain_job_with_reason_and_failed_by_dependency():
    s = snapshot(plain("A", Status.FAILED, name="JobA", started=9, stopped=2, exit_code=1, reason="bad input"),
                 plain("E", Status.FAILED, (dep("A"),), name="JobE", status_reason="Dependent Job failed"))
    assert words.explain_job(s, "A").summary == "failed: exit 1 – bad input"
    e = words.explain_job(s, "E")
    assert e.summary == "failed: dependency JobA failed" and e.caused_by == (("A", None),)


def test_running_job_says_for_how_long_and_which_attempt():
    tried = Attempt(exit_code=1, reason="Essential container exited", started_at=ago(30), stopped_at=ago(20))
    s = snapshot(plain("A", Status.RUNNING, started=5, attempts=(tried,)))
    e = words.explain_job(s, "A")
    assert e.summary == "RUNNING for 5 minutes (attempt 2; last attempt failed: exit 1 – Essential container exited)"


def test_array_progress_summary_and_n_to_n_wait():
    s = reference("SSSRRr", "SSRppp")
    e = words.explain_job(s, "C")
    assert e.kind == "running"
    assert e.summary == ("2 of 6 finished, 1 running, 0 RUNNABLE; waiting for JobB (3 children waiting for their "
                         "N_TO_N partner)")
    assert e.waiting_on == (("B", None),)


def test_waiting_array_and_succeeded_array():
    s = reference("pppp", "pppp", a=Status.RUNNING)
    assert words.explain_job(s, "B").summary == "waiting for JobA (RUNNING)"
    done = snapshot(array("B", "SSSS", name="JobB"))
    assert words.explain_job(done, "B").summary == "succeeded: all 4 children"


def test_cancelled_job_says_so_with_the_reason_given():
    from dataclasses import replace

    job = replace(plain("A", Status.FAILED, status_reason="wrong input bucket"), is_cancelled=True)
    assert words.explain_job(snapshot(job), "A").summary == "failed: cancelled – wrong input bucket"
