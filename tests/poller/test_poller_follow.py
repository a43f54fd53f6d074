"""Retries followed by id (Poller.follow): a retry sent to another queue is in no listing of the watched one, so the
poller is told its id, describes it (100 a call), keeps it only when its retry-of chain ends at a job of ours, and
tracks it like a dependency in another queue – re-described only while unfinished, its array synced by
arrayJobId."""

from __future__ import annotations

from fakebatch import FakeBatch

from batchtui import lineage
from batchtui.model import INDEX_ENV, INDICES_ENV, RETRY_OF_TAG, Status
from batchtui.poller import RECHECK_EVERY, Poller


def world(size: int = 10) -> FakeBatch:
    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "FAILED", size, [{"jobId": "a"}], child_status="SUCCEEDED")
    fb.set_child("b", 3, "FAILED")
    fb.set_child("b", 7, "FAILED")
    return fb


def add_retry(fb: FakeBatch, job_id: str, of: str, indices: list[int], *, status: str = "PENDING",
              child_status: str = "RUNNABLE", queue: str = "OtherQueue", depends_on: list[dict] | None = None) -> None:
    """An array retry of `indices` (child k re-runs the k-th), or a plain one of a single index."""
    env = {"name": INDICES_ENV, "value": ",".join(map(str, indices))} if len(indices) > 1 else \
        {"name": INDEX_ENV, "value": str(indices[0])}
    fb.add(job_id, f"retry-{job_id}", status, len(indices) if len(indices) > 1 else None, depends_on, queue=queue,
           child_status=child_status, tags={RETRY_OF_TAG: of}, container={"environment": [env]})


def describes(fb: FakeBatch, since: int = 0) -> list[list[str]]:
    return [kw["jobs"] for op, kw in fb.log[since:] if op == "DescribeJobs"]


async def test_a_retry_in_another_queue_is_joined_to_its_original_once_followed():
    fb = world()
    add_retry(fb, "r1", "b", [3, 7])
    poller = Poller(fb, "ProdQueue")
    snap = await poller.refresh()
    assert snap.job("r1") is None and lineage.join(snap).of("b") is None  # not told: the queue listing never has it
    poller.follow(["r1"])
    snap = await poller.refresh()
    repair = lineage.join(snap).of("b")
    assert repair is not None and [(r.job_id, r.indices) for r in repair.retries] == [("r1", (3, 7))]
    assert repair.effective.array.count(Status.RUNNABLE) == 2 and repair.effective.array.count(Status.FAILED) == 0
    assert poller.followed == 1
    # its array is read by arrayJobId, as any array's
    assert any(op == "ListJobs" and kw.get("arrayJobId") == "r1" for op, kw in fb.log)
    fb.set_child("r1", 0, "SUCCEEDED")
    fb.set_child("r1", 1, "FAILED")
    fb.jobs["r1"]["status"] = "FAILED"
    snap = await poller.refresh()
    eff = lineage.join(snap).of("b").effective.array
    assert eff.status(3) is Status.SUCCEEDED and eff.status(7) is Status.FAILED


async def test_a_followed_retry_is_described_while_unfinished_and_then_only_on_the_recheck():
    fb = world()
    add_retry(fb, "r1", "b", [3, 7])
    poller = Poller(fb, "ProdQueue")
    poller.follow(["r1"])
    await poller.refresh()
    mark = len(fb.log)
    await poller.refresh()
    assert ["r1"] in describes(fb, mark)  # unfinished: described again
    fb.jobs["r1"]["status"] = "SUCCEEDED"
    fb.children["r1"] = ["SUCCEEDED", "SUCCEEDED"]
    await poller.refresh()
    mark = len(fb.log)
    for _ in range(3):
        await poller.refresh()
    assert not any("r1" in ids for ids in describes(fb, mark))
    while poller.refreshes % RECHECK_EVERY:
        await poller.refresh()
    mark = len(fb.log)
    await poller.refresh()  # the periodic recheck: finished jobs that no listing shows are asked again
    assert any("r1" in ids for ids in describes(fb, mark))


async def test_followed_ids_are_described_a_hundred_a_call_and_counted_in_api_calls():
    fb = world()
    ids = [f"r{n}" for n in range(250)]
    for n, job_id in enumerate(ids):
        add_retry(fb, job_id, "b", [3 if n % 2 else 7])
    poller = Poller(fb, "ProdQueue")
    baseline = (await Poller(fb, "ProdQueue").refresh()).api_calls
    poller.follow(ids)
    snap = await poller.refresh()
    batches = describes(fb)[1:]  # after the baseline poller's
    assert [len(b) for b in batches] == [100, 100, 52]  # JobA and JobB share the first call with 98 of them
    assert sorted(i for b in batches for i in b) == sorted(["a", "b", *ids])
    assert snap.api_calls == baseline + 2
    assert len(lineage.join(snap).of("b").retries) == 250


async def test_a_followed_id_whose_root_is_not_ours_is_dropped_and_not_asked_again():
    fb = world()
    fb.add("x", "Elsewhere", "FAILED", 4, queue="OtherQueue", child_status="FAILED")
    add_retry(fb, "rx", "x", [0, 1], depends_on=[{"jobId": "y"}])  # its dependency is nothing of ours either
    fb.add("y", "ElsewhereUp", "SUCCEEDED", queue="OtherQueue")
    fb.add("plain", "NotARetry", "RUNNING", queue="OtherQueue")
    poller = Poller(fb, "ProdQueue")
    poller.follow(["rx", "plain"])
    snap = await poller.refresh()
    shown = {j.job_id for j in snap.jobs}
    assert shown == {"a", "b"} and not snap.error
    asked = {i for batch in describes(fb) for i in batch}
    assert "y" not in asked  # an undecided job's dependencies are not followed
    mark = len(fb.log)
    poller.follow(["rx", "plain"])  # told again (the audit log is read at every refresh): still nothing
    for _ in range(2):
        snap = await poller.refresh()
    assert {j.job_id for j in snap.jobs} == {"a", "b"}
    assert not any({"rx", "plain", "x"} & set(batch) for batch in describes(fb, mark))


async def test_a_retry_of_a_retry_is_joined_through_a_link_nobody_told_the_poller_of():
    fb = world()
    add_retry(fb, "r1", "b", [3, 7], status="FAILED", child_status="FAILED")  # sent from another machine
    add_retry(fb, "r2", "r1", [3, 7], child_status="RUNNING")
    poller = Poller(fb, "ProdQueue")
    poller.follow(["r2"])
    snap = await poller.refresh()
    repair = lineage.join(snap).of("b")
    assert repair is not None
    assert [(r.job_id, r.generation) for r in repair.retries] == [("r1", 1), ("r2", 2)]
    assert repair.effective.array.count(Status.RUNNING) == 2


async def test_a_followed_id_aws_does_not_return_is_left_out_and_asked_again_only_on_the_recheck():
    fb = world()
    poller = Poller(fb, "ProdQueue")
    poller.follow(["ghost"])
    snap = await poller.refresh()
    assert snap.job("ghost") is None and not snap.error
    mark = len(fb.log)
    for _ in range(3):
        await poller.refresh()
    assert not any("ghost" in batch for batch in describes(fb, mark))
    add_retry(fb, "ghost", "b", [3, 7])  # AWS had not caught up: the recheck finds it
    while poller.refreshes % RECHECK_EVERY:
        await poller.refresh()
    snap = await poller.refresh()
    assert snap.job("ghost") is not None and lineage.join(snap).of("ghost") is not None


async def test_a_followed_retry_that_aws_stops_returning_is_dropped_quietly():
    fb = world()
    add_retry(fb, "r1", "b", [3, 7])
    poller = Poller(fb, "ProdQueue")
    poller.follow(["r1"])
    assert (await poller.refresh()).job("r1") is not None
    del fb.jobs["r1"]
    snap = await poller.refresh()
    assert snap.job("r1") is None and not snap.error and lineage.join(snap).of("b") is None


async def test_a_followed_id_in_the_watched_queue_costs_nothing_more():
    fb = world()
    add_retry(fb, "r1", "b", [3, 7], queue="ProdQueue")
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    poller.follow(["r1"])  # listed already: a job of ours, nothing to describe by id
    mark = len(fb.log)
    snap = await poller.refresh()
    assert lineage.join(snap).of("b") is not None and poller.followed == 0
    assert not any(batch == ["r1"] for batch in describes(fb, mark))


async def test_the_composition_roots_follow_what_the_audit_log_says_for_the_clients_own_endpoint(tmp_path):
    """headless and the dashboard's source read the audit log for the endpoint the client really talks to – botocore
    names AWS's own (https://batch.<region>.amazonaws.com) when no --endpoint-url was given, and so does every
    record – and hand its retries to the poller and its cancels to the snapshot."""
    from datetime import UTC, datetime

    from batchtui import audit, execute, headless
    from batchtui.history import LocalHistory
    from batchtui.plan import KIND_RETRY, SUBMIT, TERMINATE, Call, Plan, Target
    from batchtui.ui.source import PollerSource

    fb = world()
    add_retry(fb, "r1", "b", [3, 7])
    fb.endpoint_url = "https://batch.us-east-1.amazonaws.com"
    log = tmp_path / "state" / "batchtui" / "actions.jsonl"
    context = audit.who(region="us-east-1", endpoint=fb.endpoint_url)
    now = datetime.now(UTC)
    retry = Plan(KIND_RETRY, (Call(SUBMIT, {"jobName": "retry-r1", "jobQueue": "OtherQueue",
                                           "tags": {RETRY_OF_TAG: "b"}}, "retry"),), (Target("b", "JobB", (3, 7)),))
    audit.append(audit.intent_record("p1", retry, context, now=now), log)
    audit.append(audit.call_record("p1", execute.StepResult(0, SUBMIT, "retry", True, job_id="r1",
                                                            job_name="retry-r1"), now=now), log)
    cancel = Plan("cancel", (Call(TERMINATE, {"jobs": ["b"], "reason": "r"}, "t", (Target("b", "JobB"),)),),
                  (Target("b", "JobB"),))
    audit.append(audit.intent_record("p2", cancel, context, now=now), log)
    audit.append(audit.call_record("p2", execute.StepResult(0, TERMINATE, "t", True, successful=("b",)), now=now), log)

    source = PollerSource(fb, "ProdQueue", since_s=3600, where="us-east-1", region="us-east-1", endpoint=None,
                          max_tps=None)
    snap = await source.refresh()
    assert snap.job("r1") is not None and lineage.join(snap).of("b") is not None
    assert [(c.job_id, c.by, c.terminate) for c in snap.cancels] == [("b", "you", True)]

    history = LocalHistory(3600, endpoint=fb.endpoint_url, region="us-east-1")
    snap = await headless.refresh(Poller(fb, "ProdQueue"), history)
    assert snap.job("r1") is not None and [c.job_id for c in snap.cancels] == ["b"]
