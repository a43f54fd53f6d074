"""Malformed or unexpected answers: tolerated (unknown statuses, missing optional fields, odd types) or reported as
an error – never a crash, never a hang, never a silently invented state."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_http import FakeServer, dummy_env, pipeline, run

from batchtui.aws import open_api
from batchtui.errors import ApiError, BatchtuiError
from batchtui.headless import snapshot_json, snapshot_text
from batchtui.model import Snapshot, Status
from batchtui.poller import Poller

pytestmark = pytest.mark.usefixtures("dummy_credentials")


def counts(snap: Snapshot, name: str) -> dict[str, int]:
    job = snap.by_name(name)
    assert job is not None and job.array is not None
    return job.array.counts()


def true_counts(fb: Any, job_id: str) -> dict[str, int]:
    kids = fb.children[job_id]
    return {s.name: kids.count(s.name) for s in Status if s is not Status.UNKNOWN}


def renders(snap: Snapshot) -> None:
    json.dumps(snapshot_json(snap))
    snapshot_text(snap)


# --- end to end: odd but readable answers are tolerated ----------------------------------------------------------


def _odd(op: str, body: dict, answer: dict) -> dict | None:
    """Unknown statuses, fields missing, numbers as strings: what a newer or odder API version might send."""
    answer = copy.deepcopy(answer)
    for item in answer.get("jobSummaryList", []) + answer.get("jobs", []):
        for key in ("jobName", "createdAt", "startedAt", "stoppedAt", "jobDefinition", "container", "statusReason"):
            item.pop(key, None)
        if item["jobId"] == "e":
            item["status"] = "HIBERNATING"
        if item["jobId"] == "b:7":
            item["status"] = "DEFROSTING"  # listed as RUNNING, reported as something unknown: RUNNING it is
        ap = item.get("arrayProperties")
        if ap and "statusSummary" in ap:
            ap["statusSummary"] = {**ap["statusSummary"], "HIBERNATING": 0}
            ap.pop("statusSummaryLastUpdatedAt", None)
    return answer


def test_unknown_statuses_and_missing_optional_fields_are_tolerated(tmp_path: Path):
    fb = pipeline()
    fb.set_child("b", 7, "RUNNING")
    with FakeServer(fb, tamper=_odd) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once", "--json"], dummy_env(tmp_path))
    assert r.returncode == 0, r.stderr
    jobs = {j["jobId"]: j for j in json.loads(r.stdout)["jobs"]}
    assert jobs["e"]["status"] == "UNKNOWN" and jobs["e"]["jobName"] == "e"  # the id stands in for the name
    assert jobs["b"]["childCounts"] == true_counts(fb, "b") and jobs["b"]["failedIndices"] == [6]


# --- malformed bodies ---------------------------------------------------------------------------------------------


class Switch:
    """Tamper with ListJobs answers (children only, or all) while `on`."""

    def __init__(self, body: bytes, children_only: bool = True) -> None:
        self.on, self.body, self.children_only = False, body, children_only

    def __call__(self, op: str, request: dict, answer: dict) -> bytes | None:
        if self.on and op == "listjobs" and (not self.children_only or "arrayJobId" in request):
            return self.body
        return None


@pytest.mark.parametrize("body", [b"{oops", b"<html>502 Bad Gateway</html>", b""])
async def test_an_unreadable_listing_is_not_a_crash(body: bytes):
    fb = pipeline()
    switch = Switch(body)
    with FakeServer(fb, tamper=switch) as server:
        async with open_api(endpoint_url=server.url) as api:
            poller = Poller(api, "ProdQueue")
            await poller.refresh()
            switch.on = True
            fb.set_child("b", 11, "RUNNING")
            snap = await poller.refresh()  # whatever it shows, it returns
            renders(snap)


@pytest.mark.parametrize("body", [b"{oops", b""])
async def test_an_unreadable_child_listing_marks_that_array_stale_and_keeps_its_last_state(body: bytes):
    fb = pipeline()
    switch = Switch(body)
    with FakeServer(fb, tamper=switch) as server:
        async with open_api(endpoint_url=server.url) as api:
            poller = Poller(api, "ProdQueue")
            good = await poller.refresh()
            switch.on = True
            fb.set_child("b", 11, "RUNNING")
            api.deadline = time.monotonic() + 2  # the unreadable answers are tried again, then given up on
            snap = await poller.refresh()
            b = snap.by_name("JobB")
            assert b.stale_error is not None, f"no error, and JobB now reads {counts(snap, 'JobB')}"
            assert "could not be read" in b.stale_error and b.stale_since is not None
            assert counts(snap, "JobB") == counts(good, "JobB")
            assert snap.error is None  # the refresh itself published: the queue listing was read


async def test_after_unreadable_listings_the_state_recovers_to_the_truth():
    fb = pipeline()
    switch = Switch(b"{oops")
    with FakeServer(fb, tamper=switch) as server:
        async with open_api(endpoint_url=server.url) as api:
            poller = Poller(api, "ProdQueue")
            await poller.refresh()
            switch.on = True
            for _ in range(2):
                await poller.refresh()
            switch.on = False
            fb.summary_time += 1
            for _ in range(4):
                snap = await poller.refresh()
            assert counts(snap, "JobB") == true_counts(fb, "b")


def test_once_with_an_unreadable_queue_listing_exits_1_with_one_line(tmp_path: Path):
    switch = Switch(b"<html>captive portal</html>", children_only=False)
    switch.on = True
    with FakeServer(pipeline(), tamper=switch) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once", "--json"], dummy_env(tmp_path))
    assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1, (r.returncode, r.stdout[:200])


def _huge_size(op: str, request: dict, answer: dict) -> dict:
    for item in answer.get("jobSummaryList", []) + answer.get("jobs", []):
        if item.get("jobId") == "b" and "arrayProperties" in item:
            item["arrayProperties"]["size"] = 10**20
    return answer


def test_an_absurd_array_size_is_reported_not_a_traceback(tmp_path: Path):
    with FakeServer(pipeline(), tamper=_huge_size) as server:
        r = run(["--queue", "ProdQueue", "--endpoint-url", server.url, "--once", "--json"], dummy_env(tmp_path))
    assert "Traceback" not in r.stderr and r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr[-300:]


async def test_a_listing_that_repeats_its_next_token_does_not_hang():
    fb = pipeline()
    calls = {"n": 0}

    def loop(op: str, request: dict, answer: dict) -> dict | None:
        if op == "listjobs" and "arrayJobId" in request:
            calls["n"] += 1
            if calls["n"] > 100:
                return {"jobSummaryList": []}  # let the test end: the poller would have gone on
            return {**answer, "nextToken": "same-token-again"}
        return None

    with FakeServer(fb, tamper=loop) as server:
        async with open_api(endpoint_url=server.url, max_tps=1000) as api:
            snap = None
            try:
                snap = await Poller(api, "ProdQueue").refresh()
            except BatchtuiError:
                pass
    assert calls["n"] <= 100, f"{calls['n']} calls for one refresh (snapshot error: {snap and snap.error})"


# --- a fuzz of answers through the poller (no HTTP): never anything but a Snapshot or one of our errors ------------

ODD_VALUES = st.sampled_from([None, "", "x", "HIBERNATING", "RUNNING", "FAILED", -1, 0, 1, 7, 99_999, 3.5, True,
                              [], {}, [1, "a"], {"a": 1}, {"index": "z"}, {"size": "ten"}, "DELETE"])


class Corrupting:
    """FakeBatch answers with one value replaced (or deleted) per corruption, chosen by position in the answer."""

    def __init__(self, fb: Any, corruptions: list[tuple[int, int, Any]]) -> None:
        self.fb, self.corruptions, self.n = fb, {c: (p, v) for c, p, v in corruptions}, 0
        self.calls, self.throttled, self.region, self.endpoint_url = 0, 0, "us-east-1", "http://fake"

    def _spoil(self, answer: Any) -> Any:
        self.n += 1
        self.calls += 1
        if self.n not in self.corruptions:
            return answer
        answer = copy.deepcopy(answer)
        slots: list[tuple[Any, Any]] = []
        _slots(answer, slots)
        if slots:
            where, value = self.corruptions[self.n]
            container, key = slots[where % len(slots)]
            if value == "DELETE" and isinstance(container, dict):
                del container[key]
            else:
                container[key] = copy.deepcopy(value)
        return answer

    async def check_queue(self, queue: str) -> dict:
        return await self.fb.check_queue(queue)

    async def list_jobs(self, **kw: Any) -> dict:
        return self._spoil(await self.fb.list_jobs(**kw))

    async def describe_jobs(self, ids: Any) -> list[dict]:
        return self._spoil(await self.fb.describe_jobs(ids))


def _slots(obj: Any, out: list[tuple[Any, Any]]) -> None:
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        if key != "nextToken":  # a looping token is its own test above
            out.append((obj, key))
        _slots(value, out)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corruptions=st.lists(st.tuples(st.integers(1, 30), st.integers(0, 400), ODD_VALUES), max_size=6),
       moves=st.lists(st.tuples(st.integers(0, 11), st.sampled_from(["RUNNING", "SUCCEEDED", "FAILED"])),
                      max_size=6))
async def test_any_odd_answer_gives_a_snapshot_or_one_of_our_errors(corruptions, moves):
    fb = pipeline()
    api = Corrupting(fb, corruptions)
    poller = Poller(api, "ProdQueue")  # type: ignore[arg-type]
    for step in range(4):
        try:
            snap = await poller.refresh()
        except BatchtuiError:
            continue  # a first refresh may fail on a bad answer: one clear line, exit 1
        assert isinstance(snap, Snapshot)
        renders(snap)
        if step < len(moves):
            fb.set_child("b", *moves[step])



# What moto's server (Flask) answers for a route it does not have, e.g. POST /v1/canceljobs.
NOT_FOUND_PAGE = """<!doctype html>
<html lang=en>
<title>404 Not Found</title>
<h1>Not Found</h1>
<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try
again.</p>
"""


def _no_bulk_cancel(op: str, request: dict, answer: dict) -> web.Response | None:
    if op == "canceljobs":
        return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
    return None


async def test_an_html_404_is_one_line_that_names_the_missing_operation():
    with FakeServer(pipeline(), tamper=_no_bulk_cancel) as server:
        async with open_api(endpoint_url=server.url) as api:
            with pytest.raises(ApiError) as e:
                await api.cancel_jobs(["e"], "no longer needed")
    text = str(e.value)
    assert "\n" not in text and "<" not in text, text
    assert "HTTP 404" in text and "does not offer CancelJobs" in text and "404 Not Found" in text


def test_a_cancel_refused_with_an_html_page_is_one_line_on_stderr(tmp_path: Path):
    with FakeServer(pipeline(), tamper=_no_bulk_cancel) as server:
        r = run(["cancel", "e", "--yes", "--endpoint-url", server.url],
                dummy_env(tmp_path, XDG_STATE_HOME=str(tmp_path / "state")))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "<" not in r.stderr, r.stderr
    assert "does not offer CancelJobs" in r.stderr
