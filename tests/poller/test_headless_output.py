"""Headless output and the watch loop, without a server: the JSON contract, text lines, stale notices, exit codes."""

from __future__ import annotations

import argparse
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from fakebatch import FakeBatch

from batchtui.errors import EndpointUnreachable, UnknownQueue
from batchtui.headless import Printer, snapshot_json, snapshot_text, watch
from batchtui.poller import Poller


def pipeline() -> FakeBatch:
    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED", startedAt=1_000, stoppedAt=91_000)
    fb.add("b", "JobB", "PENDING", 10, [{"jobId": "a"}], child_status="RUNNABLE")
    fb.add("d", "JobD", "PENDING", 4, [{"jobId": "b"}, {"type": "SEQUENTIAL"}])
    for i in range(6):
        fb.set_child("b", i, "SUCCEEDED")
    fb.set_child("b", 6, "FAILED")
    fb.set_child("b", 7, "RUNNING")
    return fb


async def test_json_follows_the_design_contract():
    snap = await Poller(pipeline(), "ProdQueue").refresh()
    out = snapshot_json(snap, {"b": {"outlook": "will fail"}})
    json.dumps(out)  # serialisable as is
    # The README's fields, with `region` and `profile` at the top level (the endpoint too when one is set)
    assert list(out) == ["queue", "region", "profile", "polledAt", "apiCalls", "jobs", "endpoint"]
    assert out["region"] == snap.region and out["endpoint"] == "http://fake"
    assert out["queue"] == "ProdQueue" and out["polledAt"].endswith("Z") and out["apiCalls"] == snap.api_calls
    a, b, d = out["jobs"]
    assert a == {"jobId": "a", "jobName": "JobA", "status": "SUCCEEDED", "arraySize": None, "dependsOn": []}
    assert b["arraySize"] == 10 and b["dependsOn"] == [{"jobId": "a", "type": None}]
    assert b["childCounts"] == {"SUBMITTED": 0, "PENDING": 0, "RUNNABLE": 2, "STARTING": 0, "RUNNING": 1,
                                "SUCCEEDED": 6, "FAILED": 1}
    assert b["failedIndices"] == [6] and b["outlook"] == "will fail"
    assert d["dependsOn"] == [{"jobId": "b", "type": None}, {"jobId": None, "type": "SEQUENTIAL"}]


async def test_text_and_table_carry_outlook_and_eta_and_where_the_data_came_from(monkeypatch):
    from batchtui.analysis import job_fields, job_reports
    from batchtui.headless import snapshot_table

    monkeypatch.setenv("AWS_PROFILE", "prod")
    snap = await Poller(pipeline(), "ProdQueue", region="us-west-2").refresh()
    extra = job_fields(snap)
    text = snapshot_text(snap, job_reports(snap))  # the typed reports job_fields writes as JSON
    assert "us-west-2 · profile prod" in text[0]
    b_line = next(line for line in text if line.split()[0] == "JobB")
    assert f"outlook {extra['b']['outlook']}" in b_line
    table = snapshot_table(snap, job_reports(snap))
    assert table[1].split() == ["JOB", "STATUS", "DONE", "RUNNING", "RUNNABLE", "FAILED", "OUTLOOK", "ETA", "JOB", "ID"]
    b_row = next(line for line in table if line.startswith("JobB"))
    assert "7/10" in b_row and extra["b"]["outlook"] in b_row


async def test_text_and_json_are_written_from_the_same_typed_reports():
    from batchtui.analysis import job_fields, job_reports

    snap = await Poller(pipeline(), "ProdQueue").refresh()
    reports = job_reports(snap)
    js, text = io.StringIO(), io.StringIO()
    Printer(True, js).snapshot(snap, reports)
    Printer(False, text).snapshot(snap, reports)
    assert json.loads(js.getvalue()) == snapshot_json(snap, job_fields(snap))  # the README's JSON, unchanged
    b = reports["b"].facts
    assert b.outlook == "will fail" and b.doomed_indices is not None
    b_line = next(line for line in text.getvalue().splitlines() if line.split()[0] == "JobB")
    assert f"outlook {b.outlook}" in b_line
    groups = [line for line in text.getvalue().splitlines() if line.lstrip().startswith("✘")]
    assert len(groups) == sum(len(r.failure_groups) for r in reports.values()) > 0  # one line a failure group


async def test_child_counts_come_from_the_per_index_state_not_the_lagging_summary():
    fb = pipeline()
    fb.summary_override["b"] = {"RUNNABLE": 10}  # AWS's summary says nothing has started (and is not sane-ish)
    out = snapshot_json(await Poller(fb, "ProdQueue").refresh())
    assert out["jobs"][1]["childCounts"]["SUCCEEDED"] == 6


async def test_text_has_a_header_and_a_progress_line_per_job_in_dependency_order():
    snap = await Poller(pipeline(), "ProdQueue").refresh()
    lines = snapshot_text(snap)
    assert lines[0].startswith("ProdQueue · ") and "API calls" in lines[0]
    assert [ln.split()[0] for ln in lines[1:]] == ["JobA", "JobB", "JobD"]
    assert "took 1 minute and 30 seconds" in lines[1]
    assert "7/10 done" in lines[2] and "1 RUNNING" in lines[2] and "2 RUNNABLE" in lines[2] and "1 FAILED" in lines[2]


async def test_a_stale_snapshot_says_how_old_and_why():
    fb = pipeline()
    poller = Poller(fb, "ProdQueue")
    await poller.refresh()
    fb.fail_with = EndpointUnreachable("cannot reach http://fake")
    stale = await poller.refresh()
    stale = stale.__class__(**{**{f: getattr(stale, f) for f in stale.__slots__},
                               "stale_since": datetime.now(UTC) - timedelta(minutes=3)})
    out = io.StringIO()
    Printer(False, out).snapshot(stale, full=False)
    assert out.getvalue().count("\n") == 1 and "stale for 3 minutes" in out.getvalue()
    assert "cannot reach" in out.getvalue()
    obj = snapshot_json(stale)
    assert obj["error"].startswith("cannot reach") and obj["staleSince"].endswith("Z") and obj["jobs"]


def args(**kw) -> argparse.Namespace:
    base = dict(queue="ProdQueue", refresh=0.01, until_done=False, json=True, once=False, watch=True)
    return argparse.Namespace(**{**base, **kw})


class Scripted:
    """A poller double that plays back outcomes (a FakeBatch state change or an exception) one per refresh."""

    def __init__(self, fb: FakeBatch, steps) -> None:
        self.fb, self.steps, self.inner = fb, list(steps), Poller(fb, "ProdQueue")

    async def refresh(self):
        step = self.steps.pop(0) if self.steps else None
        self.fb.fail_with = step if isinstance(step, Exception) else None
        if callable(step):
            step(self.fb)
        return await self.inner.refresh()


def finish(fb: FakeBatch, failed: bool = False) -> None:
    for job_id, kids in fb.children.items():
        fb.children[job_id] = ["SUCCEEDED"] * len(kids)
        fb.jobs[job_id]["status"] = "SUCCEEDED"
    if failed:
        fb.children["d"][3] = "FAILED"
        fb.jobs["d"]["status"] = "FAILED"
    fb.summary_time += 1


@pytest.mark.parametrize("failed,code", [(False, 0), (True, 3)])
async def test_until_done_exits_0_on_success_and_3_on_failures(failed, code):
    fb = pipeline()
    out = io.StringIO()
    rc = await watch(Scripted(fb, [None, lambda f: finish(f, failed)]), args(until_done=True), Printer(True, out))
    assert rc == code
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(json.loads(ln)["jobs"] for ln in lines)


async def test_watch_keeps_going_through_an_outage_and_recovers():
    fb = pipeline()
    outage = EndpointUnreachable("cannot reach http://fake")
    out = io.StringIO()
    rc = await watch(Scripted(fb, [outage, None, outage, outage, finish]), args(until_done=True), Printer(True, out))
    assert rc == 3 - 3  # all succeeded in the end
    objs = [json.loads(ln) for ln in out.getvalue().splitlines()]
    assert ["error" in o for o in objs] == [True, False, True, True, False]
    assert objs[0]["jobs"] == [] and objs[2]["jobs"] and objs[2]["staleSince"]


async def test_watch_text_prints_one_line_per_outage_tick():
    fb = pipeline()
    out = io.StringIO()
    outage = EndpointUnreachable("cannot reach http://fake")
    await watch(Scripted(fb, [None, outage, finish]), args(json=False, until_done=True), Printer(False, out))
    stale = [ln for ln in out.getvalue().splitlines() if "stale for" in ln]
    assert len(stale) == 1 and stale[0].startswith("ProdQueue · ")


async def test_watch_stops_on_an_error_waiting_cannot_fix():
    with pytest.raises(UnknownQueue):
        await watch(Poller(FakeBatch(), "Nope"), args(queue="Nope"), Printer(True, io.StringIO()))
