"""The poller against an in-memory Batch double: per-index state, call economy, races, faults, odd answers."""

from __future__ import annotations

import random

import pytest
from fakebatch import ORDER, FakeBatch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batchtui import poller as poller_module
from batchtui.errors import ApiError, EndpointUnreachable, Throttled, UnknownQueue
from batchtui.model import AWS_STATUSES, Status
from batchtui.poller import Poller
from batchtui.tracker import ArrayTracker, Observations, SyncPlan, possible_after


def reference(size: int = 50, retry: bool = False) -> FakeBatch:
    fb = FakeBatch()
    extra = {"retryStrategy": {"attempts": 3}} if retry else {}
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "PENDING", size, [{"jobId": "a"}], child_status="RUNNABLE", **extra)
    fb.add("c", "JobC", "PENDING", size, [{"jobId": "b", "type": "N_TO_N"}], **extra)
    fb.add("d", "JobD", "PENDING", 5, [{"jobId": "c"}, {"type": "SEQUENTIAL"}])
    fb.add("e", "JobE", "PENDING", None, [{"jobId": "d"}], parameters={"Recipient": "x@y"})
    return fb


def state(snap, job_id):
    job = snap.job(job_id)
    return [Status(b).name for b in job.array.statuses]


def assert_matches(fb: FakeBatch, snap) -> None:
    for job_id in fb.children:
        assert state(snap, job_id) == fb.truth(job_id), job_id


def advance(fb: FakeBatch, rng: random.Random, moves: int, retry: bool = False) -> None:
    """Move random children forward one step (and, with retries, sometimes RUNNING back to RUNNABLE)."""
    nxt = {"SUBMITTED": "PENDING", "PENDING": "RUNNABLE", "RUNNABLE": "STARTING", "STARTING": "RUNNING"}
    for _ in range(moves):
        parent = rng.choice(["b", "c"])
        i = rng.randrange(len(fb.children[parent]))
        s = fb.children[parent][i]
        if s == "RUNNING":
            new = "RUNNABLE" if retry and rng.random() < 0.2 else rng.choice(["SUCCEEDED"] * 9 + ["FAILED"])
        elif s in nxt:
            new = nxt[s]
        else:
            continue
        fb.set_child(parent, i, new)


async def test_cold_snapshot_holds_every_index_and_the_pipeline_in_order():
    fb = reference()
    for i in range(10):
        fb.set_child("b", i, "SUCCEEDED")
    fb.set_child("b", 10, "FAILED")
    fb.set_child("b", 11, "RUNNING")
    snap = await Poller(fb, "ProdQueue").refresh()
    assert [j.job_name for j in snap.jobs] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
    assert_matches(fb, snap)
    b = snap.by_name("JobB")
    assert b.array.counts()["SUCCEEDED"] == 10 and b.array.indices(Status.FAILED) == [10]
    assert b.array.details[10].exit_code == 1 and b.array.details[11].started_at == 5011
    assert snap.by_name("JobE").parameters["Recipient"] == "x@y"
    assert snap.api_calls == fb.calls and snap.total_api_calls == fb.calls


async def test_nothing_changed_costs_one_call_per_refresh_after_warm_up():
    fb = reference(size=3000)
    for i in range(1500):
        fb.set_child("b", i, "SUCCEEDED")
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    await poller.refresh()  # the warm-up re-checks what the cold sync inferred
    for _ in range(3):
        before = fb.calls
        snap = await poller.refresh()
        assert fb.calls - before == 1 and snap.api_calls == 1
    assert_matches(fb, snap)


async def test_succeeded_indices_are_never_listed_and_a_succeeded_parent_costs_no_listing():
    fb = reference(size=30)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    fb.children["b"] = ["SUCCEEDED"] * 30
    fb.jobs["b"]["status"] = "SUCCEEDED"
    fb.summary_time += 1
    fb.log.clear()
    snap = await poller.refresh()
    assert_matches(fb, snap)
    listed = [kw for op, kw in fb.log if op == "ListJobs" and kw.get("arrayJobId") == "b"]
    assert listed == []


@pytest.mark.parametrize("retry", [False, True])
@pytest.mark.parametrize("seed", [5, 53, 55])
async def test_progress_between_refreshes_is_tracked_exactly_when_the_summary_is_current(retry, seed):
    fb = reference(size=100, retry=retry)
    rng = random.Random(seed)
    poller = Poller(fb, "ProdQueue")
    for _ in range(20):
        advance(fb, rng, rng.choice([5, 30, 80]), retry)
        snap = await poller.refresh()
        assert_matches(fb, snap)


async def test_an_array_whose_summary_did_not_change_is_not_listed():
    fb = reference(size=40)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    await poller.refresh()
    fb.log.clear()
    fb.summary_override["c"] = fb.summary("c")  # C's summary frozen; B moves
    fb.set_child("b", 0, "STARTING")
    await poller.refresh()
    parents = {kw.get("arrayJobId") for op, kw in fb.log if op == "ListJobs"} - {None}
    assert parents == {"b"}


async def test_a_lagging_summary_is_caught_up_when_it_changes():
    fb = reference(size=40)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    await poller.refresh()
    stale = fb.summary("b")
    fb.summary_override["b"] = stale
    t = fb.summary_time
    for i in range(5):
        fb.children["b"][i] = "RUNNING"
    fb.summary_time = t  # AWS has not refreshed the summary yet: the change is invisible for now
    await poller.refresh()
    del fb.summary_override["b"]
    fb.summary_time += 1
    snap = await poller.refresh()
    assert_matches(fb, snap)


async def test_queue_listing_pages_and_child_pages_are_followed():
    fb = FakeBatch()
    for n in range(130):
        fb.add(f"p{n}", f"Plain{n}", "RUNNING")
    fb.add("big", "Big", "PENDING", 2500, child_status="RUNNABLE")
    for i in range(0, 2500, 3):
        fb.set_child("big", i, "RUNNING")
    snap = await Poller(fb, "ProdQueue").refresh()
    assert len(snap.jobs) == 131
    assert_matches(fb, snap)
    pages = [kw for op, kw in fb.log if op == "ListJobs" and "jobQueue" in kw]
    assert len(pages) == 2 and all(kw["maxResults"] == 100 for kw in pages)
    assert all(kw["maxResults"] == 1000 for op, kw in fb.log if op == "ListJobs" and "arrayJobId" in kw)


async def test_index_falls_back_to_the_job_id_suffix_and_unknown_statuses_do_not_crash():
    fb = reference(size=12)
    fb.omit_index = True
    fb.set_child("b", 7, "RUNNING")
    fb.jobs["e"]["status"] = "HIBERNATING"  # a status this version does not know
    snap = await Poller(fb, "ProdQueue").refresh()
    assert state(snap, "b")[7] == "RUNNING"
    assert snap.by_name("JobE").status is Status.UNKNOWN


async def test_unknown_queue_is_a_clear_error():
    with pytest.raises(UnknownQueue):
        await Poller(FakeBatch(), "NoSuchQueue").refresh()


async def test_snapshots_are_stamped_with_the_injected_clock_like_since():
    """A simulator running faster than the wall clock hands its clock in: stamps and --since agree on the time."""
    from datetime import UTC, datetime

    now = [1_800_000_000.0]
    poller = Poller(reference(size=4), "ProdQueue", clock=lambda: now[0])
    first = await poller.refresh()
    now[0] += 90.0
    second = await poller.refresh()
    assert first.polled_at == datetime.fromtimestamp(1_800_000_000.0, UTC)
    assert (second.polled_at - first.polled_at).total_seconds() == 90.0


async def test_a_transient_failure_returns_the_last_good_state_marked_stale_and_recovers():
    fb = reference(size=20)
    poller = Poller(fb, "ProdQueue")
    good = await poller.refresh()
    fb.fail_with = Throttled("AWS is throttling ListJobs")
    stale = await poller.refresh()
    assert stale.error and "throttling" in stale.error
    assert stale.stale_since == good.polled_at and stale.jobs == good.jobs
    fb.fail_with = EndpointUnreachable("cannot reach http://fake")
    again = await poller.refresh()
    assert again.stale_since == good.polled_at  # staleness counts from the last good refresh
    fb.fail_with = None
    fb.set_child("b", 3, "RUNNING")
    fresh = await poller.refresh()
    assert fresh.error is None and fresh.stale_since is None
    assert_matches(fb, fresh)


async def test_credentials_that_expire_mid_run_are_marked_as_such_and_recover_after_login():
    from batchtui.errors import CredentialsError

    fb = reference(size=20)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    assert (await poller.refresh()).error_kind is None
    fb.fail_with = CredentialsError("AWS credentials are expired or not valid (ExpiredToken): run `aws sso login`")
    expired = await poller.refresh()
    assert expired.error_kind == "credentials" and "aws sso login" in expired.error
    fb.fail_with = Throttled("AWS is throttling ListJobs")
    assert (await poller.refresh()).error_kind == "other"
    fb.fail_with = None
    back = await poller.refresh()
    assert back.error is None and back.error_kind is None


async def test_the_first_refresh_raises_rather_than_inventing_a_snapshot():
    fb = reference()
    fb.fail_with = EndpointUnreachable("cannot reach http://fake")
    with pytest.raises(EndpointUnreachable):
        await Poller(fb, "ProdQueue").refresh()


async def test_a_malformed_answer_is_reported_not_a_crash():
    fb = reference(size=10)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    fb.fail_with = TypeError("bad body")
    snap = await poller.refresh()
    assert snap.error and "unexpected answer" in snap.error


async def test_a_job_that_vanished_keeps_its_last_state_marked_gone():
    fb = reference(size=10)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    del fb.jobs["e"]
    snap = await poller.refresh()
    e = snap.by_name("JobE")
    assert e is not None and e.gone and e.status is Status.PENDING


async def test_a_dependency_in_another_queue_is_followed_and_kept_current():
    fb = reference(size=10)
    fb.add("x", "Upstream", "RUNNING", queue="OtherQueue")
    fb.jobs["a"]["dependsOn"] = [{"jobId": "x"}]
    poller = Poller(fb, "ProdQueue")
    snap = await poller.refresh()
    assert snap.jobs[0].job_name == "Upstream" and snap.jobs[0].status is Status.RUNNING
    assert len(snap.pipelines) == 1
    fb.jobs["x"]["status"] = "SUCCEEDED"
    snap = await poller.refresh()
    assert snap.by_name("Upstream").status is Status.SUCCEEDED


async def test_polls_never_overlap():
    fb = reference(size=10)
    poller = Poller(fb, "ProdQueue")
    import asyncio

    with pytest.raises(RuntimeError):
        await asyncio.gather(poller.refresh(), poller.refresh())


# --- races: a child moving while the listings are made ----------------------------------------------------------


def racer(seed: int, per_call: int, retry: bool):
    rng = random.Random(seed)

    def hook(fb: FakeBatch, op: str, kw: dict) -> None:
        if op == "ListJobs" and "arrayJobId" in kw:
            advance(fb, rng, per_call, retry)

    return hook


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), per_call=st.integers(1, 8), retry=st.booleans(), refreshes=st.integers(1, 6))
async def test_racy_listings_converge_to_the_true_state_once_movement_stops(seed, per_call, retry, refreshes):
    fb = reference(size=30, retry=retry)
    fb.before_call = racer(seed, per_call, retry)
    poller = Poller(fb, "ProdQueue")
    for _ in range(refreshes):
        await poller.refresh()
    fb.before_call = None  # the world stops moving; the summary no longer changes
    costs = []
    for _ in range(5):
        snap = await poller.refresh()
        costs.append(snap.api_calls)
    assert_matches(fb, snap)
    # the poller stops re-checking once sure: the queue listing is all that is left
    assert costs[-2:] == [1, 1]


async def test_a_child_seen_twice_takes_the_more_advanced_status():
    obs = Observations(3)
    obs.add({"jobId": "p:1", "status": "RUNNABLE"}, Status.RUNNABLE)
    obs.add({"jobId": "p:1", "status": "RUNNING"}, Status.RUNNING)
    assert obs.status[1] == Status.RUNNING and obs.seen_twice == 1


def test_a_child_inferred_finished_stays_open_until_inferred_twice():
    t = ArrayTracker(5)
    t.statuses[:] = bytes([Status.RUNNING] * 2 + [Status.SUCCEEDED] * 3)
    t.floor[:] = bytes([255] * 5)
    plan = t.plan(None, speculate=False)
    assert plan.complement is Status.SUCCEEDED and plan.listed == [Status.RUNNING, Status.FAILED]
    obs = Observations(5)
    obs.add({"jobId": "p:0", "status": "RUNNING"}, Status.RUNNING)
    res = t.resolve(obs, plan, None)
    assert res.statuses[1] == Status.SUCCEEDED and res.floor[1] == Status.RUNNING  # inferred, still open
    t.commit(res, obs, None, plan)
    assert t.dirty and t.provisional() == 1
    res2 = t.resolve(obs, t.plan(None, False), None)
    assert res2.floor[1] == 255  # inferred the same twice: final


def test_rechecks_list_the_skipped_buckets_cheapest_first_and_keep_the_costly_one_on_a_late_summary():
    t = ArrayTracker(10)
    t.statuses[:] = bytes([Status.RUNNABLE] * 6 + [Status.RUNNING] * 3 + [Status.SUCCEEDED])
    t.floor[:] = bytes([255] * 10)
    t.history.append(tuple(t.statuses.count(s) for s in AWS_STATUSES))  # a state we committed
    plan = SyncPlan([Status.STARTING], Status.SUCCEEDED, [Status.FAILED, Status.RUNNABLE, Status.RUNNING],
                    big=Status.RUNNABLE)
    late = dict(zip(ORDER, (0, 0, 6, 0, 3, 1, 0), strict=True))  # the counts of that state: merely late
    assert t.rechecks(plan, late) == ([Status.FAILED, Status.RUNNING], Status.RUNNABLE)
    fresh = dict(zip(ORDER, (0, 0, 5, 0, 3, 1, 1), strict=True))  # new counts: everything skipped is listed
    assert t.rechecks(plan, fresh) == ([Status.FAILED, Status.RUNNING, Status.RUNNABLE], None)
    t.retries = True  # with retries a late-looking summary proves nothing
    assert t.rechecks(plan, late)[1] is None
    after = plan.relisted([Status.STARTING, Status.FAILED], [Status.RUNNING, Status.RUNNABLE])
    assert (after.listed, after.skipped, after.big) == ([Status.STARTING, Status.FAILED],
                                                        [Status.RUNNING, Status.RUNNABLE], Status.RUNNABLE)
    assert plan.relisted([Status.STARTING, Status.RUNNABLE], [Status.RUNNING]).big is None


def test_possible_statuses_follow_the_lifecycle_and_retries():
    assert possible_after(Status.RUNNING, retries=False) == {Status.RUNNING, Status.SUCCEEDED, Status.FAILED}
    assert Status.RUNNABLE in possible_after(Status.RUNNING, retries=True)
    assert possible_after(Status.UNKNOWN, retries=False) == set(Status) - {Status.UNKNOWN}


def test_order_constant_matches_model():
    assert ORDER[0] == "SUBMITTED" and ORDER[-1] == "FAILED"


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), moves=st.integers(1, 80), refreshes=st.integers(2, 8))
async def test_a_summary_one_refresh_late_still_converges_and_never_hides_a_failure_for_long(seed, moves, refreshes):
    fb = reference(size=40)
    rng = random.Random(seed)
    poller = Poller(fb, "ProdQueue")
    late = {p: fb.summary(p) for p in fb.children}
    for _ in range(refreshes):
        fb.summary_override.update(late)  # AWS shows the state as it was at our previous refresh
        snap = await poller.refresh()
        late = {p: {s: fb.children[p].count(s) for s in ORDER} for p in fb.children}
        advance(fb, rng, moves)
        fb.summary_time += 1
    fb.summary_override.update(late)
    await poller.refresh()
    fb.summary_override.clear()  # AWS catches up; nothing moves any more
    fb.summary_time += 1
    snap = await poller.refresh()
    snap = await poller.refresh()
    assert_matches(fb, snap)


async def test_throttling_stretches_the_refresh_interval_and_it_comes_back():
    fb = reference(size=10)
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    assert poller.next_delay(5.0) == 5.0

    def throttle(fb, op, kw):
        fb.throttled += 1  # an answer our retries rode out, still counted

    fb.before_call = throttle
    await poller.refresh()
    await poller.refresh()
    assert 4 * 5.0 * 0.8 <= poller.next_delay(5.0) <= 4 * 5.0 * 1.2
    fb.before_call = None
    for _ in range(3):
        await poller.refresh()
    assert poller.next_delay(5.0) == 5.0


async def test_a_next_token_that_comes_back_is_an_error_not_an_endless_loop():
    fb = reference(size=10)
    poller = Poller(fb, "ProdQueue")
    good = await poller.refresh()
    real = fb.list_jobs

    async def looping(**kw):
        page = await real(**kw)
        return {**page, "nextToken": "0"} if "arrayJobId" in kw else page  # always the first page again

    fb.list_jobs = looping
    fb.set_child("b", 0, "RUNNING")
    before = fb.calls
    snap = await poller.refresh()
    b = snap.by_name("JobB")
    assert b.stale_error and "nextToken" in b.stale_error  # that array is stale, the refresh published
    assert b.array.counts() == good.by_name("JobB").array.counts()
    assert fb.calls - before < 10


async def test_an_array_that_cannot_be_read_is_kept_stale_while_the_others_move_on():
    fb = reference(size=20)
    poller = Poller(fb, "ProdQueue")
    good = await poller.refresh()
    real = fb.list_jobs

    async def c_fails(**kw):
        if kw.get("arrayJobId") == "c":
            raise Throttled("AWS is throttling ListJobs")
        return await real(**kw)

    fb.list_jobs = c_fails
    fb.set_child("b", 3, "RUNNING")
    fb.set_child("c", 3, "RUNNING")
    fb.summary_time += 1
    snap = await poller.refresh()
    assert snap.error is None
    b, c = snap.by_name("JobB"), snap.by_name("JobC")
    assert b.stale_error is None and b.array.status(3) is Status.RUNNING  # moved on
    assert c.stale_error and "throttling" in c.stale_error and c.stale_since is not None
    assert c.array.counts() == good.by_name("JobC").array.counts()  # as it was
    fb.list_jobs = real
    for _ in range(3):
        snap = await poller.refresh()
    assert snap.by_name("JobC").stale_error is None
    assert_matches(fb, snap)


async def test_an_absurd_array_size_is_reported():
    fb = reference(size=10)
    fb.jobs["b"]["arrayProperties"]["size"] = 10**20
    with pytest.raises(ApiError) as e:
        await Poller(fb, "ProdQueue").refresh()
    assert "array size" in str(e.value)


async def test_a_child_guessed_ahead_of_the_truth_is_found_again(monkeypatch):
    """Found by the reliability suite: a child moving while skipped buckets are re-listed out of order slips past
    every listing and is guessed into a later status; it must be looked for everywhere, and found."""
    monkeypatch.setattr(poller_module, "CHILD_PAGE", 4)
    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "RUNNING", 12, [{"jobId": "a"}], retryStrategy={"attempts": 3})
    fb.add("c", "JobC", "PENDING", 12, [{"jobId": "b", "type": "N_TO_N"}], retryStrategy={"attempts": 3})
    fb.children["b"] = ["SUBMITTED"] * 11 + ["SUCCEEDED"]
    fb.children["c"] = ["SUBMITTED"] * 3 + ["PENDING"] * 3 + ["RUNNABLE"] * 4 + ["STARTING"] * 2
    schedule = {0: ("b", 0), 25: ("c", 0), 33: ("c", 1)}
    nxt = {"SUBMITTED": "PENDING", "PENDING": "RUNNABLE"}

    def hook(fb, op, kw):
        if fb.calls - 1 in schedule:
            parent, i = schedule[fb.calls - 1]
            fb.set_child(parent, i, nxt[fb.children[parent][i]])

    fb.before_call = hook
    poller = Poller(fb, "ProdQueue")
    previous = {p: {s: fb.children[p].count(s) for s in ORDER} for p in fb.children}
    while fb.calls <= 33:
        fb.summary_override = previous  # AWS's summary one refresh late
        previous = {p: {s: fb.children[p].count(s) for s in ORDER} for p in fb.children}
        await poller.refresh()
    fb.before_call, fb.summary_override = None, {}
    fb.summary_time += 1
    for _ in range(3):
        snap = await poller.refresh()
    assert_matches(fb, snap)


async def test_an_array_listed_without_its_summary_is_still_kept_current():
    # moto's shape: queue listings leave out arrayProperties (optional in a JobSummary), only DescribeJobs has the
    # statusSummary. A summary from an old DescribeJobs must not stand for the current one: children move while
    # the parent stays PENDING, and the state froze at the last describe.
    fb = reference(size=10)
    fb.summaries_in_listing = False
    fb.moto_children = True  # and children listed with the top-level jobs
    poller = Poller(fb, "ProdQueue")
    for _ in range(3):
        snap = await poller.refresh()
    assert_matches(fb, snap)
    fb.set_child("b", 2, "RUNNING")
    fb.set_child("c", 4, "FAILED")  # the parents' statuses do not change
    snap = await poller.refresh()
    assert_matches(fb, snap)
    await poller.refresh()  # movement is looked at again once, as with summaries in the listing
    calls = fb.calls
    snap = await poller.refresh()
    assert_matches(fb, snap)
    # Nothing moved: the queue listing and one DescribeJobs for the summaries, no child listings.
    assert fb.calls - calls == 2
    assert [op for op, _ in fb.log[-2:]] == ["ListJobs", "DescribeJobs"]


async def test_the_first_refresh_publishes_what_it_knows_before_the_arrays_are_read():
    fb = reference(size=20)
    poller = Poller(fb, "ProdQueue")
    partials = []
    poller.on_partial = partials.append
    first = await poller.refresh()
    assert partials and all(p.loading for p in partials) and not first.loading
    early = partials[0]
    assert [j.job_id for j in early.jobs] == [j.job_id for j in first.jobs]  # the graph: every job, in order
    b = early.by_name("JobB")
    assert b.array is not None and b.array.count(Status.UNKNOWN) == 20  # not read yet, and it says so
    partials.clear()
    await poller.refresh()
    assert partials == []  # later refreshes keep the last good state on screen until they are done
