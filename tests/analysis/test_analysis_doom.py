"""What will fail: doomed indices and the outlook of each job, on hand-built snapshots."""

from datetime import datetime

from analysis_factory import NOW, SEQ, ago, array, dep, detail, n2n, plain, reference, snapshot, states
from hypothesis import given, settings
from hypothesis import strategies as st

from batchtui import analysis as an
from batchtui import explain as words
from batchtui.model import ArrayState, Attempt, Job, Snapshot, Status


def test_n_to_n_partners_of_failed_indices_are_doomed_until_they_fail():
    s = reference("SFSFFR", "SpSpFr")
    # B[1] and B[3] failed: C[1] and C[3] have not finished, so they are doomed; C[4] already failed.
    assert an.doomed_indices(s, "C") == [1, 3]
    assert an.doomed_indices(s, "B") == []


def test_a_partner_that_already_succeeded_is_not_doomed():
    s = reference("FFS", "SFS")  # inconsistent but possible while polling: never report a finished index as doomed
    assert an.doomed_indices(s, "C") == []


def test_doom_follows_n_to_n_chains_transitively():
    s = snapshot(array("B", "SFSRS"), array("C", "SpSpp", (n2n("B"),)), array("D", "ppppp", (n2n("C"),)),
                 array("X", "ppppp", (n2n("D"),)))
    assert an.doomed_indices(s, "C") == [1]
    assert an.doomed_indices(s, "D") == [1]
    assert an.doomed_indices(s, "X") == [1]


def test_sequential_array_stops_after_a_failed_index():
    s = snapshot(array("D", "SSFpppp", (SEQ,)))
    assert an.doomed_indices(s, "D") == [3, 4, 5, 6]
    assert an.outlook(s)["D"] == an.WILL_FAIL


def test_sequential_array_after_a_doomed_index_is_doomed_from_there():
    s = snapshot(array("B", "SSSFSS"), array("D", "SSpppp", (n2n("B"), SEQ)))
    assert an.doomed_indices(s, "D") == [3, 4, 5]


def test_standard_dependency_on_a_failing_array_dooms_every_unfinished_child():
    s = reference("SSFS", "SSpS", d="pppp")
    assert an.doomed_indices(s, "D") == [0, 1, 2, 3]
    o = an.outlook(s)
    assert (o["A"], o["B"], o["C"], o["D"], o["E"]) == ("succeeded", "will fail", "will fail", "will fail",
                                                         "will fail")


def test_array_waiting_on_a_failed_plain_job_is_doomed_whole():
    s = snapshot(plain("A", Status.FAILED, exit_code=1), array("B", "pppp", (dep("A"),)))
    assert an.doomed_indices(s, "B") == [0, 1, 2, 3]
    assert an.outlook(s) == {"A": "failed", "B": "will fail"}


def test_fan_in_job_fails_if_any_branch_fails():
    s = snapshot(plain("A", Status.SUCCEEDED), array("B", "SSSS", (dep("A"),)), array("C", "SFRR", (dep("A"),)),
                 plain("E", Status.PENDING, (dep("B"), dep("C"))))
    assert an.outlook(s) == {"A": "succeeded", "B": "succeeded", "C": "will fail", "E": "will fail"}
    assert an.job_fields(s)["E"]["waitingOn"] == ["C"]


def test_plain_only_pipeline_outlooks():
    failed = snapshot(plain("A", Status.FAILED, exit_code=2), plain("B", Status.PENDING, (dep("A"),)),
                      plain("C", Status.PENDING, (dep("B"),)))
    assert an.outlook(failed) == {"A": "failed", "B": "will fail", "C": "will fail"}
    running = snapshot(plain("A", Status.RUNNING, started=5), plain("B", Status.PENDING, (dep("A"),)),
                       plain("C", Status.PENDING, (dep("B"),)))
    assert an.outlook(running) == {"A": "on track", "B": "on track", "C": "on track"}
    fields = an.job_fields(running)
    assert [fields[j]["waitingOn"] for j in "ABC"] == [[], ["A"], ["B"]]
    assert "doomedIndices" not in fields["A"]  # plain jobs carry no doomedIndices, like childCounts


def test_outlook_succeeded_and_failed_follow_the_job_status():
    s = snapshot(array("B", "SSSS", status=Status.SUCCEEDED), array("C", "SFSS", (n2n("B"),), status=Status.FAILED))
    assert an.outlook(s) == {"B": "succeeded", "C": "failed"}


def test_retrying_child_puts_its_job_and_everything_downstream_at_risk():
    s = reference("SRSS", "SpSS", b_details=[detail(1, started=3, attempts=1)])
    o = an.outlook(s)
    assert (o["B"], o["C"], o["D"], o["E"]) == ("at risk", "at risk", "at risk", "at risk")


def test_current_attempt_without_an_end_is_not_a_retry():
    running = Attempt(started_at=ago(3))
    s = snapshot(plain("A", Status.RUNNING, started=3, attempts=(running,)))
    assert an.outlook(s)["A"] == "on track"


def test_straggler_child_puts_its_array_at_risk():
    done = [detail(i, started=20, stopped=18) for i in range(5)]  # 2 minutes each
    slow = detail(5, started=30)  # running 30 minutes: far beyond 3 × 2 minutes
    s = snapshot(array("B", "SSSSSRR", details=done + [slow, detail(6, started=1)]))
    assert an.outlook(s)["B"] == "at risk"
    quick = snapshot(array("B", "SSSSSRR", details=done + [detail(5, started=4), detail(6, started=1)]))
    assert an.outlook(quick)["B"] == "on track"


def test_unknown_statuses_bad_bytes_and_missing_fields_never_crash():
    weird = bytes([Status.UNKNOWN, 200, Status.FAILED, 9, Status.PENDING])
    s = snapshot(
        Job("A", "A", Status.UNKNOWN),  # no times, no queue, nothing
        Job("B", "B", Status.PENDING, array_size=5, depends_on=(n2n("A"),), array=ArrayState.of(weird)),
        Job("C", "C", Status.PENDING, array_size=5, depends_on=(n2n("B"), dep("gone-id"), SEQ)),  # no array state
        Job("D", "D", Status.PENDING, array_size=5, depends_on=(n2n("B"),), array=ArrayState.of(states("?????"))),
    )
    fields = an.job_fields(s)
    assert fields["B"]["outlook"] == "will fail"
    assert fields["C"]["outlook"] == "will fail" and fields["C"]["doomedIndices"] == []
    assert fields["D"]["doomedIndices"] == [2]
    assert "gone-id" in fields["C"]["waitingOn"]
    for job_id in "ABCD":
        assert words.explain_job(s, job_id).summary
    for i in range(5):
        assert words.explain_index(s, "B", i).summary
        assert words.explain_index(s, "D", i).summary
    assert words.explain_index(s, "C", 0).kind == "not found"
    assert words.explain_job(s, "nope").kind == "not found"


def test_a_dependency_cycle_in_bad_data_does_not_hang():
    s = Snapshot("q", NOW, 0, (plain("A", Status.PENDING, (dep("B"),)), plain("B", Status.FAILED, (dep("A"),))))
    assert an.outlook(s) == {"A": "will fail", "B": "failed"}
    assert words.explain_job(s, "A").kind == "will fail"


def test_naive_polled_at_is_read_as_utc():
    s = Snapshot("q", datetime(2026, 11, 25, 4, 0), 0, (plain("A", Status.RUNNABLE, created=10),))
    assert an.job_fields(s)["A"]["outlook"] == "on track"


def test_outlook_definitions_cover_every_outlook_value():
    s = reference("SFRRS", "pppRp", a=Status.SUCCEEDED)
    assert set(an.outlook(s).values()) <= set(an.OUTLOOK_DEFINITIONS)
    assert set(an.OUTLOOK_DEFINITIONS) == {"succeeded", "failed", "will fail", "at risk", "on track", "cancelled"}


# --- properties ---------------------------------------------------------------------------------------------------

LETTERS = "upr tRSF?".replace(" ", "")
status_text = st.integers(min_value=2, max_value=40).flatmap(
    lambda n: st.tuples(*[st.text(LETTERS, min_size=n, max_size=n)] * 3))


@settings(max_examples=150, deadline=None)
@given(status_text)
def test_doomed_indices_are_unfinished_and_have_a_dead_partner(texts):
    b, c, d = texts
    s = snapshot(array("B", b), array("C", c, (n2n("B"),)), array("D", d, (n2n("C"),)))
    dead_b = {i for i, x in enumerate(b) if x == "F"}
    doomed_c = set(an.doomed_indices(s, "C"))
    assert doomed_c == {i for i in dead_b if c[i] not in "SF"}
    dead_c = doomed_c | {i for i, x in enumerate(c) if x == "F"}
    doomed_d = set(an.doomed_indices(s, "D"))
    assert doomed_d == {i for i in dead_c if d[i] not in "SF"}
    for i in doomed_d:
        assert d[i] not in "SF" and (b[i] == "F" or c[i] == "F")


@settings(max_examples=150, deadline=None)
@given(status_text)
def test_sequential_doom_is_every_unfinished_index_after_the_first_dead_one(texts):
    b, d, _ = texts
    s = snapshot(array("B", b), array("D", d, (n2n("B"), SEQ)))
    dead = [d[i] == "F" or (b[i] == "F" and d[i] not in "SF") for i in range(len(d))]
    first = dead.index(True) if True in dead else len(d)
    expected = [i for i in range(len(d)) if d[i] not in "SF" and (i > first or (i == first and b[i] == "F"))]
    assert an.doomed_indices(s, "D") == expected
    assert (an.outlook(s)["D"] == "will fail") == (True in dead)


@st.composite
def any_pipeline(draw):
    """Up to 5 jobs, plain or arrays (sizes 2-6, bad bytes included), random edges of every type, random details."""
    n = draw(st.integers(1, 5))
    jobs = []
    for k in range(n):
        ups = draw(st.lists(st.integers(0, n - 1), max_size=3))  # may point forward: cycles are bad data, allowed
        deps = [dep(str(u), draw(st.sampled_from([None, "N_TO_N", "WEIRD"]))) for u in ups]
        if draw(st.booleans()):
            deps.append(SEQ)
        if draw(st.booleans()):
            deps.append(dep("missing"))
        status = Status(draw(st.integers(0, 7)))
        if draw(st.booleans()):
            jobs.append(plain(str(k), status, tuple(deps), created=draw(st.none() | st.floats(0, 300)),
                              started=draw(st.none() | st.floats(0, 100))))
        else:
            size = draw(st.integers(2, 6))
            raw = bytes(draw(st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 9, 255]), min_size=size,
                                      max_size=size)))
            details = [detail(i, started=draw(st.none() | st.floats(0, 60)), stopped=draw(st.none() | st.floats(0, 60)),
                              exit_code=draw(st.none() | st.integers(0, 255)), attempts=draw(st.integers(0, 2)))
                       for i in draw(st.lists(st.integers(-1, size + 1), max_size=4))]
            jobs.append(array(str(k), raw, tuple(deps), status=status, details=details,
                              started=draw(st.none() | st.floats(0, 100))))
    return snapshot(*jobs)


@settings(max_examples=200, deadline=None)
@given(any_pipeline())
def test_any_pipeline_never_crashes_and_doomed_is_unfinished(s):
    fields = an.job_fields(s)
    an.pipeline_eta(s)
    for job in s.jobs:
        assert fields[job.job_id]["outlook"] in an.OUTLOOK_DEFINITIONS
        assert words.explain_job(s, job.job_id).summary
        words.describe_eta(an.job_eta(s, job.job_id), NOW)
        if job.array is not None:
            for i in fields[job.job_id]["doomedIndices"]:
                assert job.array.statuses[i] not in (Status.SUCCEEDED, Status.FAILED)
            for i in range(job.array.size):
                assert words.explain_index(s, job.job_id, i).summary


def test_job_facts_are_what_the_json_says():
    """analysis.job_facts (what the dashboard reads) and job_fields (the JSON) tell the same story, typed."""
    from batchtui.analysis import job_facts, job_fields

    snap = snapshot(array("B", "FSrr", name="JobB"), array("C", "pppp", (n2n("B"),), name="JobC"),
                    plain("E", Status.PENDING, (dep("C"),), name="JobE"))
    facts, fields = job_facts(snap), job_fields(snap)
    assert facts["C"].doomed_indices == (0,) and facts["E"].doomed_indices is None
    assert facts["B"].waiting is not None and facts["B"].waiting.cause == fields["B"]["waiting"]["cause"]
    for job_id in ("B", "C", "E"):
        fact, field = facts[job_id], fields[job_id]
        assert fact.outlook == field["outlook"] and list(fact.waiting_on) == field["waitingOn"]
        assert list(fact.doomed_indices or ()) == field.get("doomedIndices", [])
        assert bool(fact.eta) == (field["eta"] is not None)
