"""`batchtui --once/--watch` end to end in a subprocess: JSON on stdout, one line on stderr, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from fakebatch import FakeBatch
from fakehttp import FakeHttp

BATCHTUI = [sys.executable, "-m", "batchtui.cli"]
ENV = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
       "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_PROFILE": ""}
ENV.pop("AWS_PROFILE")


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*BATCHTUI, *argv], capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def served():
    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "PENDING", 20, [{"jobId": "a"}], child_status="RUNNABLE")
    fb.set_child("b", 3, "FAILED")
    with FakeHttp(fb) as http:
        yield http


def test_once_json_prints_the_snapshot_and_exits_0(served):
    r = run("--endpoint-url", served.url, "--queue", "ProdQueue", "--once", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [j["jobName"] for j in out["jobs"]] == ["JobA", "JobB"]
    assert out["jobs"][1]["failedIndices"] == [3] and out["jobs"][1]["childCounts"]["RUNNABLE"] == 19
    assert "outlook" in out["jobs"][1]  # the analysis fields ride along
    assert r.stderr == ""


def test_once_text_is_for_people(served):
    r = run("--endpoint-url", served.url, "--queue", "ProdQueue", "--once")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("ProdQueue · ") and "1/20 done" in lines[2] and "19 RUNNABLE" in lines[2]


def test_unknown_queue_is_one_line_and_exit_1(served):
    r = run("--endpoint-url", served.url, "--queue", "NoSuchQueue", "--once")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("batchtui: ") and "NoSuchQueue" in r.stderr


def test_unreachable_endpoint_is_one_line_and_exit_1_in_bounded_time():
    t0 = time.monotonic()
    r = run("--endpoint-url", "http://127.0.0.1:9", "--queue", "ProdQueue", "--once", "--json", timeout=45)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "cannot reach http://127.0.0.1:9" in r.stderr
    assert time.monotonic() - t0 < 45  # bounded (the subprocess timeout would have raised otherwise)


def test_watch_streams_flushed_lines_and_ctrl_c_exits_130_quietly(served):
    p = subprocess.Popen([*BATCHTUI, "--endpoint-url", served.url, "--queue", "ProdQueue", "--watch", "--json",
                          "--refresh", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        first = p.stdout.readline()  # arrives while the process is still running: flushed per line
        second = p.stdout.readline()
        assert json.loads(first)["queue"] == "ProdQueue" and json.loads(second)["apiCalls"] <= 2
        p.send_signal(signal.SIGINT)
        assert p.wait(20) == 130
        assert "Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()


@pytest.fixture(scope="module")
def sim_url():
    pytest.importorskip("batchtui.sim.server")
    p = subprocess.Popen([*BATCHTUI, "sim", "--port", "0", "--speed", "0", "--array-size", "50", "--advance", "40m"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        line = p.stdout.readline()  # "batchtui sim: serving AWS Batch on http://127.0.0.1:PORT (...)"
        url = next(w for w in line.split() if w.startswith("http://"))
        yield url
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_once_json_against_a_simulator_subprocess(sim_url):
    r = run("--endpoint-url", sim_url, "--queue", "ProdQueue", "--once", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [j["jobName"] for j in out["jobs"]] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
    b = out["jobs"][1]
    assert b["arraySize"] == 50 and sum(b["childCounts"].values()) == 50
    assert out["jobs"][2]["dependsOn"] == [{"jobId": b["jobId"], "type": "N_TO_N"}]
    assert out["apiCalls"] <= 30


def test_bad_queue_against_the_simulator_is_one_line(sim_url):
    r = run("--endpoint-url", sim_url, "--queue", "NoSuchQueue", "--once", "--json")
    assert r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1 and "NoSuchQueue" in r.stderr


def test_watch_until_done_follows_a_whole_run_and_exits_by_outcome():
    pytest.importorskip("batchtui.sim.server")
    # 100x: the run lasts ~10 s, so a watch that starts seconds late (a busy machine, tests in parallel) still sees
    # it unfold rather than only its end
    sim = subprocess.Popen([*BATCHTUI, "sim", "--port", "0", "--speed", "100", "--array-size", "20", "--seed", "11"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        url = next(w for w in sim.stdout.readline().split() if w.startswith("http://"))
        r = run("--endpoint-url", url, "--queue", "ProdQueue", "--watch", "--json", "--until-done", "--refresh", "0.3",
                timeout=90)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(10)
    snaps = [json.loads(line) for line in r.stdout.splitlines()]
    last = snaps[-1]
    assert len(snaps) > 2 and all(j["status"] in ("SUCCEEDED", "FAILED") for j in last["jobs"])
    failed = any(j["status"] == "FAILED" for j in last["jobs"])
    assert r.returncode == (3 if failed else 0), r.stderr


async def test_a_stale_json_line_keeps_every_documented_job_field():
    # In-process: the watch loop fed one good snapshot, then the same state marked stale (a failed refresh).
    import argparse
    import dataclasses
    import io

    from batchtui import headless
    from batchtui.poller import Poller

    fb = FakeBatch()
    fb.add("a", "JobA", "SUCCEEDED")
    fb.add("b", "JobB", "PENDING", 20, [{"jobId": "a"}], child_status="RUNNABLE")
    fb.set_child("b", 3, "FAILED")
    good = await Poller(fb, "ProdQueue").refresh()
    stale = dataclasses.replace(good, error="cannot reach http://127.0.0.1:9", stale_since=good.polled_at)

    class Stop(Exception):
        pass

    class Replay:
        snaps = [good, stale]

        async def refresh(self):
            if not self.snaps:
                raise Stop
            return self.snaps.pop(0)

    out = io.StringIO()
    args = argparse.Namespace(queue="ProdQueue", refresh=0.0, until_done=False)
    with pytest.raises(Stop):
        await headless.watch(Replay(), args, headless.Printer(True, out), headless._extra_fields())
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert "error" not in first and second["error"] and second["staleSince"]
    # Before: the stale line's jobs lacked outlook, eta, etaLowerBound, waitingOn and doomedIndices.
    assert [sorted(j) for j in second["jobs"]] == [sorted(j) for j in first["jobs"]]
    assert second["jobs"][1]["outlook"] == first["jobs"][1]["outlook"] == "will fail"


@pytest.mark.parametrize("fail_indices, expected", [("", 0), ("3", 3)])
def test_until_done_exit_code_follows_a_hand_built_pipeline(fail_indices, expected):
    # A plain job, an N_TO_N pair, a SEQUENTIAL array and a last job, submitted with boto3 to an empty simulator:
    # short jobs that never fail end in exit 0; one index that always fails ends in exit 3.
    pytest.importorskip("batchtui.sim.server")
    boto3 = pytest.importorskip("boto3")
    sim = subprocess.Popen([*BATCHTUI, "sim", "--port", "0", "--speed", "50", "--pipeline", "none"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        url = next(w for w in sim.stdout.readline().split() if w.startswith("http://"))
        batch = boto3.client("batch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                             aws_secret_access_key="test")
        batch.register_job_definition(jobDefinitionName="short", type="container", containerProperties={
            "image": "x", "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "512"}]})

        def submit(name: str, *, size: int = 0, deps: tuple = (), fail: str = "") -> str:
            env = [{"name": "SIM_DURATION_S", "value": "5"}, {"name": "SIM_FAIL_RATE", "value": "0"}]
            env += [{"name": "SIM_FAIL_INDICES", "value": fail}] if fail else []
            extra = {"arrayProperties": {"size": size}} if size else {}
            return batch.submit_job(jobName=name, jobQueue="ProdQueue", jobDefinition="short", dependsOn=list(deps),
                                    containerOverrides={"environment": env}, **extra)["jobId"]

        a = submit("A")
        b = submit("B", size=6, deps=[{"jobId": a}], fail=fail_indices)
        c = submit("C", size=6, deps=[{"jobId": b, "type": "N_TO_N"}])
        d = submit("D", size=3, deps=[{"jobId": c}, {"type": "SEQUENTIAL"}])
        submit("E", deps=[{"jobId": d}])
        r = run("--endpoint-url", url, "--queue", "ProdQueue", "--watch", "--json", "--until-done", "--refresh", "0.2",
                timeout=90)
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(10)
    assert r.returncode == expected, r.stderr
    last = json.loads(r.stdout.splitlines()[-1])
    assert [j["jobName"] for j in last["jobs"]] == ["A", "B", "C", "D", "E"]
    want = "SUCCEEDED" if expected == 0 else "FAILED"
    assert all(j["status"] == want for j in last["jobs"][1:]) and r.stderr == ""
