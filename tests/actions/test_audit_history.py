"""audit.HistoryReader: what this machine sent, read back from the audit log as typed records – the jobs its
SubmitJobs made (to follow by id in any queue) and the cancels AWS accepted, in the shape execute.accepted_cancels
gives live – for the --since window only (read backwards from the end), then only what was appended."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from batchtui import audit, execute
from batchtui.model import RETRY_OF_TAG
from batchtui.plan import CANCEL, KIND_CANCEL, KIND_RETRY, SUBMIT, TERMINATE, Call, Plan, Target, os_user

T0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
URL = "http://127.0.0.1:4566"


def retry_plan(of: str = "B", queue: str = "OtherQueue") -> Plan:
    params = {"jobName": "JobB-retry", "jobQueue": queue, "jobDefinition": "jd:1", "tags": {RETRY_OF_TAG: of}}
    return Plan(KIND_RETRY, (Call(SUBMIT, params, "JobB-retry"),), (Target(of, "JobB", (3, 7)),))


def cancel_plan() -> Plan:
    calls = (Call(TERMINATE, {"jobs": ["C", "B:3", "B:7"], "reason": "r"}, "terminate",
                  (Target("C", "JobC"), Target("B", "JobB", (3, 7)))),
             Call(CANCEL, {"jobs": ["D"], "reason": "r"}, "cancel", (Target("D", "JobD"),)))
    return Plan(KIND_CANCEL, calls, (Target("C", "JobC"), Target("B", "JobB", (3, 7)), Target("D", "JobD")),
                reason="r")


def log(path, run_id: str, plan: Plan, results: list[execute.StepResult], at: datetime, *, user: str | None = None,
        endpoint: str | None = URL, region: str = "us-east-1") -> None:
    """The records an action leaves, as audit.Journal writes them, stamped `at`."""
    context = audit.who(user=user, region=region, endpoint=endpoint)
    audit.append(audit.intent_record(run_id, plan, context, now=at), path)
    for r in results:
        audit.append(audit.call_record(run_id, r, now=at + timedelta(seconds=1)), path)
    audit.append(audit.outcome_record(run_id, execute.Outcome(plan, True, tuple(results)), now=at), path)


def submitted(job_id: str = "new-1") -> list[execute.StepResult]:
    return [execute.StepResult(0, SUBMIT, "JobB-retry", True, job_id=job_id, job_name="JobB-retry")]


def accepted() -> list[execute.StepResult]:
    return [execute.StepResult(0, TERMINATE, "terminate", True, successful=("C", "B:3", "B:7")),
            execute.StepResult(1, CANCEL, "cancel", True, successful=("D",))]


def reader(path, now: datetime = T0 + timedelta(hours=1), since_s: float = 6 * 3600, **kw) -> audit.HistoryReader:
    clock = kw.pop("clock", lambda: now.timestamp())
    return audit.HistoryReader(path, since_s=since_s, endpoint=URL, region="us-east-1", clock=clock, **kw)


def test_the_submitted_jobs_and_the_accepted_cancels_come_back_as_execute_gives_them_live(tmp_path):
    path = tmp_path / "actions.jsonl"
    log(path, "p1", retry_plan(), submitted(), T0)
    log(path, "p2", cancel_plan(), accepted(), T0 + timedelta(minutes=5))
    h = reader(path).read()
    assert h.submitted == (audit.Submitted("new-1", "JobB-retry", "OtherQueue", "B", T0 + timedelta(seconds=1)),)
    assert h.job_ids == ("new-1",)
    at = T0 + timedelta(minutes=5, seconds=1)
    live = execute.accepted_cancels(execute.Outcome(cancel_plan(), True, tuple(accepted())), at)
    assert h.cancels == live  # whole jobs and indices, terminate or cancel, by you, when AWS accepted
    assert [(c.job_name, c.indices, c.terminate, c.by) for c in h.cancels] == [
        ("JobC", None, True, "you"), ("JobB", (3, 7), True, "you"), ("JobD", None, False, "you")]


def test_a_cancel_another_user_sent_names_them(tmp_path):
    path = tmp_path / "actions.jsonl"
    other = "alice" if os_user() != "alice" else "bob"
    log(path, "p2", cancel_plan(), accepted(), T0, user=other)
    assert {c.by for c in reader(path).read().cancels} == {other}


def test_what_failed_or_went_to_another_endpoint_or_region_is_left_out(tmp_path):
    path = tmp_path / "actions.jsonl"
    log(path, "p1", retry_plan(), submitted("sim-id"), T0, endpoint="http://127.0.0.1:9999")  # another simulator
    log(path, "p2", retry_plan(), submitted("eu-id"), T0, region="eu-west-1")
    log(path, "p3", retry_plan(), [execute.StepResult(0, SUBMIT, "x", False, error="ClientException")], T0)
    log(path, "p4", cancel_plan(), [execute.StepResult(0, TERMINATE, "t", False, unknown=True)], T0)
    h = reader(path).read()
    assert h.submitted == () and h.cancels == ()


def test_only_the_since_window_is_read_of_a_big_log(tmp_path):
    path = tmp_path / "actions.jsonl"
    old, context = T0 - timedelta(days=3), audit.who(region="us-east-1", endpoint=URL)
    with open(path, "w") as f:  # three days of actions before the window (written at once: no fsync per line)
        for n in range(2000):
            at = old + timedelta(seconds=n)
            f.write(json.dumps(audit.intent_record(f"old{n}", retry_plan(), context, now=at)) + "\n")
            f.write(json.dumps(audit.call_record(f"old{n}", submitted(f"old-{n}")[0], now=at)) + "\n")
    log(path, "p1", retry_plan(), submitted("new-1"), T0)
    h = reader(path).read()
    assert h.job_ids == ("new-1",)
    size = path.stat().st_size
    assert h.read_bytes < 4 * 1024 and size > 1_000_000  # the window's records (and the one before), not the file


def test_appended_records_are_read_on_the_next_read_and_an_unfinished_line_waits(tmp_path):
    path = tmp_path / "actions.jsonl"
    log(path, "p1", retry_plan(), submitted("new-1"), T0)
    r = reader(path)
    first = r.read()
    log(path, "p2", retry_plan(of="new-1"), submitted("new-2"), T0 + timedelta(minutes=1))
    text = json.dumps(audit.intent_record("p3", retry_plan(), audit.who(endpoint=URL, region="us-east-1"), now=T0))
    with open(path, "a") as f:
        f.write(text[:40])  # a write in progress
    second = r.read()
    assert second.job_ids == ("new-1", "new-2") and second.unreadable == 0
    assert second.read_bytes - first.read_bytes < path.stat().st_size - first.read_bytes  # only the new part
    with open(path, "a") as f:
        f.write(text[40:] + "\n")
        f.write(json.dumps(audit.call_record("p3", submitted("new-3")[0], now=T0)) + "\n")
    assert reader_ids(r) == ("new-1", "new-2", "new-3")


def reader_ids(r: audit.HistoryReader) -> tuple[str, ...]:
    return r.read().job_ids


def test_a_replaced_log_is_read_anew_and_torn_lines_are_counted(tmp_path):
    path = tmp_path / "actions.jsonl"
    log(path, "p1", retry_plan(), submitted("new-1"), T0)
    r = reader(path)
    assert r.read().job_ids == ("new-1",)
    fresh = tmp_path / "fresh.jsonl"
    log(fresh, "p2", retry_plan(), submitted("new-2"), T0)
    with open(fresh, "a") as f:
        f.write('{"record": "call", "planId": "p2", "st\n')
    fresh.replace(path)  # rotated: another file under the same name
    h = r.read()
    assert h.job_ids == ("new-2",) and h.unreadable == 1


def test_records_leaving_the_window_are_forgotten_and_a_missing_log_is_empty(tmp_path):
    path = tmp_path / "actions.jsonl"
    log(path, "p1", retry_plan(), submitted("new-1"), T0)
    now = [T0 + timedelta(hours=1)]
    r = reader(path, clock=lambda: now[0].timestamp())
    assert r.read().job_ids == ("new-1",)
    now[0] = T0 + timedelta(hours=7)  # the 6 h window has moved past it
    assert r.read().job_ids == ()
    assert reader(tmp_path / "none.jsonl").read() == audit.History()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 60)), max_size=30), st.integers(0, 9),
       st.integers(1, 40), st.booleans())
def test_the_window_read_backwards_in_any_block_size_is_the_tail_a_forward_read_gives(rows, cut, block, torn):
    """Read a block at a time from the end, the window is exactly the lines after the last one older than the
    cutoff (times as they come, out of order too), whatever the block size; an unfinished last line waits."""
    import io

    lines = [(f'{{"record":"call","time":"2026-12-04T0{t}:00:00.000Z","pad":"{"x" * pad}"}}').encode()
             for t, pad in rows]
    data = b"".join(line + b"\n" for line in lines) + (b'{"record":"call","ti' if torn else b"")
    cutoff = datetime(2026, 12, 4, cut, tzinfo=UTC)
    old = [k for k, (t, _) in enumerate(rows) if datetime(2026, 12, 4, t, tzinfo=UTC) < cutoff]
    expected = lines[old[-1] + 1:] if old else lines
    original, audit.BLOCK = audit.BLOCK, block
    try:
        got, end = audit._window(io.BytesIO(data), len(data), cutoff)
    finally:
        audit.BLOCK = original
    assert got == expected
    assert end == len(data) - (len(b'{"record":"call","ti') if torn else 0)


def test_one_cancel_from_the_live_record_and_from_the_audit_log_is_merged_once_whatever_the_index_order():
    from datetime import UTC, datetime

    from batchtui.history import merge_cancels
    from batchtui.model import Cancel

    at = datetime(2026, 12, 4, 3, 52, tzinfo=UTC)
    live = Cancel("C", "JobC", (7, 3, 5), at, terminate=False)
    logged = Cancel("C", "JobC", (3, 5, 7), at, terminate=False, by="alice")
    assert merge_cancels([live], [logged]) == (live,)
