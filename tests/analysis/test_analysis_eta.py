"""When: throughput per array, ETA per job and along the pipeline's critical path, and how it is said."""

import json
from datetime import timedelta

import pytest
from analysis_factory import NOW, SEQ, ago, array, dep, detail, n2n, plain, snapshot

from batchtui import analysis as an
from batchtui import explain as words
from batchtui.model import Attempt, Status


def finishes(first: int, count: int, every_min: float, run_min: float = 1.0, start_ago: float = 0.0):
    """Details of `count` children from index `first` finishing every `every_min` minutes back from start_ago."""
    out = []
    for k in range(count):
        stopped = start_ago + k * every_min
        out.append(detail(first + k, started=stopped + run_min, stopped=stopped))
    return out


def test_throughput_counts_the_recent_window():
    # 20 finishes in the last 10 minutes of an array that started 30 minutes ago: 2 per minute.
    s = snapshot(array("B", "S" * 20 + "R" * 10, details=finishes(0, 20, 0.5, start_ago=0.2), started=30))
    t = an.throughput(s, "B")
    assert t.basis == "recent" and t.samples == 20 and t.per_minute == pytest.approx(2.0)


def test_throughput_window_shrinks_to_the_arrays_age():
    s = snapshot(array("B", "S" * 8 + "R" * 10, details=finishes(0, 8, 0.4, run_min=0.5), started=4))
    assert an.throughput(s, "B").per_minute == pytest.approx(2.0)


def test_throughput_from_concurrency_when_few_finish_times_are_known():
    # The poller inferred most successes without their stoppedAt: 10 running, a child takes 4 minutes -> 2.5/min.
    s = snapshot(array("B", "S" * 30 + "R" * 10 + "r" * 10, details=finishes(0, 6, 1.0, run_min=4.0), started=60))
    t = an.throughput(s, "B")
    assert t.basis == "concurrency" and t.per_minute == pytest.approx(2.5)


def test_throughput_falls_back_to_the_average_since_start_when_nothing_runs():
    # 30 finished in an hour, only 3 finish times known and nothing running now: 30 / 60 minutes.
    s = snapshot(array("B", "S" * 30 + "r" * 10, details=finishes(0, 3, 1.0), started=60))
    t = an.throughput(s, "B")
    assert t.basis == "average" and t.per_minute == pytest.approx(0.5)


def test_throughput_from_the_spread_of_known_finishes_when_the_start_is_unknown():
    stops = [detail(i, stopped=20 + 2 * i) for i in range(3)]  # 3 finishes 4 minutes apart in total, no startedAt
    t = an.throughput(snapshot(array("B", "SSSR", details=stops)), "B")
    assert t.basis == "observed" and t.per_minute == pytest.approx(0.5)


def test_throughput_is_none_when_nothing_is_known():
    assert an.throughput(snapshot(array("B", "SSRR")), "B") is None
    assert an.throughput(snapshot(plain("A", Status.RUNNING)), "A") is None


def test_eta_is_remaining_over_throughput():
    s = snapshot(array("B", "S" * 20 + "R" * 5 + "r" * 15, details=finishes(0, 20, 0.5, start_ago=0.2), started=30))
    eta = an.job_eta(s, "B")
    assert not eta.lower_bound
    assert eta.at == NOW + timedelta(minutes=10)  # 20 left at 2 per minute
    assert an.job_fields(s)["B"]["eta"] == "2026-11-25T04:10:00Z"


def test_eta_is_none_when_it_cannot_be_known():
    # A runs for an unknown time; B has not started and nothing of its pace is known.
    s = snapshot(plain("A", Status.RUNNING, started=3), array("B", "pppp", (dep("A"),)))
    assert an.job_eta(s, "A") is None and an.job_eta(s, "B") is None
    assert an.pipeline_eta(s) is None
    assert an.job_fields(s)["B"]["eta"] is None
    # A dependency outside the snapshot: nobody knows when it finishes.
    missing = snapshot(array("B", "pppp", (dep("not-listed"),)))
    assert an.job_eta(missing, "B") is None


def test_n_to_n_dependent_eta_is_only_a_bound_while_its_upstreams_pace_is_unknown():
    b = array("B", "S" * 10 + "R" * 30)  # no start, finish or run times known: B's pace is unknown
    c = array("C", "S" * 10 + "p" * 30, (n2n("B"),), details=finishes(0, 10, 0.5, start_ago=0.2), started=30)
    s = snapshot(b, c)
    assert an.job_eta(s, "B") is None
    eta = an.job_eta(s, "C")  # C's own pace: 30 left at 1 per minute, but B may take longer
    assert eta.at == NOW + timedelta(minutes=30) and eta.lower_bound


def test_finished_jobs_have_no_eta():
    s = snapshot(array("B", "SSSS", status=Status.SUCCEEDED, details=finishes(0, 4, 1.0), started=10))
    assert an.job_eta(s, "B") is None and an.pipeline_eta(s) is None


def test_n_to_n_dependent_cannot_finish_before_its_upstream_plus_one_run():
    # B: 20 left at 2/min -> 10 minutes. C runs fast (its own pace says 2 minutes) but each child lasts 3 minutes
    # and follows its B partner, so C finishes 3 minutes after B.
    b = array("B", "S" * 20 + "R" * 20, details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    c = array("C", "S" * 20 + "p" * 20, (n2n("B"),), details=finishes(0, 20, 0.05, run_min=3.0), started=25)
    s = snapshot(b, c)
    assert an.job_eta(s, "B").at == NOW + timedelta(minutes=10)
    assert an.job_eta(s, "C").at == NOW + timedelta(minutes=13)


def test_n_to_n_dependent_slower_than_its_upstream_sets_its_own_pace():
    b = array("B", "S" * 38 + "R" * 2, details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    c = array("C", "S" * 10 + "p" * 30, (n2n("B"),), details=finishes(0, 10, 1.0, run_min=1.0), started=25)
    s = snapshot(b, c)
    assert an.job_eta(s, "C").at == NOW + timedelta(minutes=30)  # 30 left at 1 per minute


def test_sequential_array_eta_is_remaining_times_one_run():
    runs = [detail(i, started=20 - 2 * i, stopped=18 - 2 * i) for i in range(4)]  # 2 minutes each
    s = snapshot(array("D", "SSSSRppppp", (SEQ,), details=runs, started=20))
    assert an.job_eta(s, "D").at == NOW + timedelta(minutes=12)


def test_a_job_not_started_gets_an_estimate_only_from_upstream_as_a_lower_bound():
    b = array("B", "S" * 20 + "R" * 20, details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    s = snapshot(b, plain("E", Status.PENDING, (dep("B"),)))
    eta = an.job_eta(s, "E")
    assert eta.lower_bound and eta.at == NOW + timedelta(minutes=10)
    assert an.job_fields(s)["E"]["etaLowerBound"] is True
    assert words.describe_eta(eta, NOW) == "more than about 10 minutes"


def test_a_plain_job_seen_running_before_is_estimated_from_its_earlier_attempt():
    tried = Attempt(exit_code=1, started_at=ago(60), stopped_at=ago(40))  # 20 minutes last time
    s = snapshot(plain("A", Status.RUNNING, started=5, attempts=(tried,)))
    eta = an.job_eta(s, "A")
    assert eta.at == NOW + timedelta(minutes=15) and not eta.lower_bound


def test_pipeline_eta_follows_the_critical_path_through_a_fan_in():
    a = plain("A", Status.SUCCEEDED, started=60, stopped=50)
    fast = array("B", "S" * 20 + "R" * 20, (dep("A"),), details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    slow = array("C", "S" * 20 + "R" * 60, (dep("A"),), details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    s = snapshot(a, fast, slow, plain("E", Status.PENDING, (dep("B"), dep("C"))))
    eta = an.pipeline_eta(s)
    assert eta.critical_path == ("A", "C", "E")
    assert eta.at == NOW + timedelta(minutes=30) and eta.lower_bound  # E's own run time is unknown


def test_doomed_children_do_not_count_as_work_left():
    failures = finishes(20, 10, 0.5, start_ago=12)  # before the 10-minute window
    b = array("B", "S" * 20 + "F" * 10 + "R" * 10, details=finishes(0, 20, 0.5, start_ago=0.2) + failures, started=30)
    c = array("C", "S" * 20 + "p" * 20, (n2n("B"),), details=finishes(0, 20, 0.5, run_min=0.5, start_ago=0.2),
              started=30)
    s = snapshot(b, c)
    assert an.doomed_indices(s, "C") == list(range(20, 30))
    # 10 C children can still run, at 2/min: 5 minutes; B also needs 5 minutes, and C follows it by one 30 s run.
    assert an.job_eta(s, "C").at == NOW + timedelta(minutes=5.5)


def test_describe_eta_in_words():
    assert words.describe_eta(NOW + timedelta(minutes=40), NOW) == "about 40 minutes"
    assert words.describe_eta(NOW + timedelta(hours=2, minutes=5), NOW) == "about 2 hours"
    assert words.describe_eta(NOW + timedelta(seconds=5), NOW) == "any moment now"
    assert words.describe_eta(None, NOW) == "unknown"
    assert words.describe_eta(an.Eta(NOW + timedelta(minutes=40), lower_bound=True),
                              NOW) == "more than about 40 minutes"


def test_job_fields_are_json_ready():
    b = array("B", "S" * 20 + "F" + "R" * 19, details=finishes(0, 20, 0.5, start_ago=0.2), started=30)
    s = snapshot(plain("A", Status.SUCCEEDED), b, array("C", "p" * 40, (n2n("B"),)),
                 plain("E", Status.PENDING, (dep("C"),)))
    fields = an.job_fields(s)
    json.dumps(fields)
    assert set(fields) == {"A", "B", "C", "E"}
    assert set(fields["C"]) == {"outlook", "doomedIndices", "eta", "etaLowerBound", "waitingOn", "failureGroups"}
    assert fields["C"]["doomedIndices"] == [20] and fields["C"]["waitingOn"] == ["B"]
    assert fields["E"]["outlook"] == "will fail" and "doomedIndices" not in fields["E"]
    assert fields["A"]["eta"] is None and fields["B"]["eta"].endswith("Z")
