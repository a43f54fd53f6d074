"""Triage's log sampling on the simulator through the real poller over HTTP: app failures split by their log's last
error line, the number of GetLogEvents calls bounded however many failures there are, and bad logs (missing, empty,
huge, binary, escape sequences, a missing or unreadable log group) never breaking a refresh or a group."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from batchtui import logsample
from batchtui.analysis import job_fields, job_reports
from batchtui.aws import open_api
from batchtui.headless import snapshot_json, snapshot_text
from batchtui.poller import Poller
from batchtui.triage import MAX_SIGNATURE, SAMPLE_MIXED, SAMPLE_PER_GROUP, groups_of, last_error_line, normalise

sys.path.insert(0, str(Path(__file__).resolve().parent))

from logproxy import LogProxy  # noqa: E402

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig

QUEUE = "ProdQueue"
ERRORS = {  # the simulator's SIM_APP_ERRORS lines, normalised
    "ValueError: corrupt record at offset <n>",
    "KeyError: 'checksum' in shard <n>",
    "FileNotFoundError: [Errno <n>] No such file or directory: '<path>'",
}


def world(size: int, fail: str, app_errors: int = 3, log_group: str | None = None) -> SimServer:
    sim = SimServer(SimConfig(speed=0.0, seed=5, pipeline="none", summary_lag_s=0.0))
    container = {"image": "busybox", "command": ["python", "-m", "pipeline.work"],
                 "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
                 "environment": [{"name": "SIM_DURATION_S", "value": "30"},
                                 {"name": "SIM_APP_ERRORS", "value": str(app_errors)},
                                 {"name": "SIM_FAIL_INDICES", "value": fail}]}
    if log_group:
        container["logConfiguration"] = {"logDriver": "awslogs", "options": {"awslogs-group": log_group}}
    sim.engine.register_job_definition("work", container)
    sim.engine.submit(name="Work", queue=sim.engine.queue(QUEUE), jobdef=sim.engine.jobdefs["work"][-1],
                      array_size=size)
    sim.engine.advance(8 * 3600)
    return sim


def every(step: int, size: int, kind: str = "app") -> str:
    return ",".join(f"{i}:{kind}" for i in range(0, size, step))


async def settle(poller: Poller, rounds: int = 6):
    """Refreshes until the sampler wants nothing more (it reads a bounded few logs a refresh)."""
    snap = await poller.refresh()
    for _ in range(rounds):
        before = poller.sampler.log_calls
        snap = await poller.refresh()
        if poller.sampler.log_calls == before:
            break
    return snap


async def test_app_failures_split_by_the_last_error_line_of_their_logs():
    size = 300
    fail = every(4, size) + "," + ",".join(f"{i}:oom" for i in range(1, size, 25))
    async with world(size, fail) as sim, open_api(endpoint_url=sim.url, max_tps=50) as api:
        poller = Poller(api, QUEUE)
        snap = await settle(poller)
        job = snap.jobs[0]
        groups = groups_of(job)
        apps = [g for g in groups if g.cause == "app"]
        sampled = [g for g in apps if g.sampled]
        assert {g.signature for g in sampled} == ERRORS  # three bugs, told apart by their logs
        read = {s.stream for s in job.log_samples.values()}
        assert sim.requests_by_operation["GetLogEvents"] == len(read) == poller.sampler.log_calls
        # Every failure whose group says it came from a log really ended with that line: check against the logs.
        for g in sampled:
            for i in g.indices:
                sample = job.log_samples[i]
                events = (await api.get_log_events("/aws/batch/job", sample.stream, start_from_head=False,
                                                   limit=5))["events"]
                assert normalise(events[-1]["message"]) == g.signature
        assert sum(g.logs_read for g in sampled) <= SAMPLE_MIXED  # one app group (exit 1): a bounded sample
        rest = [g for g in apps if not g.sampled]
        assert len(rest) == 1 and rest[0].signature == "exit 1" and "logs not read" in rest[0].label
        assert sum(g.count for g in groups) == job.array.counts()["FAILED"]  # every failure once
        oom = [g for g in groups if g.cause == "oom"]
        assert oom and not any(g.sampled for g in oom)  # its reason says it all: no log read for it
        # JSON and text say a signature came from a log, and text never shows the raw line
        fields = job_fields(snap)[job.job_id]["failureGroups"]
        assert {g["signature"] for g in fields if g["sampled"]} == ERRORS
        assert all(g["exitCode"] == 1 for g in fields if g["cause"] == "app")
        text = "\n".join(snapshot_text(snap, job_reports(snap)))
        assert "exit 1 · KeyError: 'checksum' in shard <n> (from the log)" in text
        assert "logNote" not in snapshot_json(snap, job_fields(snap))


async def test_every_log_read_agrees_so_the_whole_group_takes_its_line():
    async with world(200, every(3, 200), app_errors=1) as sim, open_api(endpoint_url=sim.url, max_tps=50) as api:
        poller = Poller(api, QUEUE)
        snap = await settle(poller)
        (group,) = groups_of(snap.jobs[0])
        assert group.sampled and group.count == 67 and group.logs_read == SAMPLE_PER_GROUP
        assert group.signature == "ValueError: corrupt record at offset <n>"
        assert group.example in {f"{snap.jobs[0].job_id}:{i}" for i in snap.jobs[0].log_samples}  # its log was read
        assert sim.requests_by_operation["GetLogEvents"] == SAMPLE_PER_GROUP


@pytest.mark.parametrize("failures", [200, 2000])
async def test_the_log_sample_is_bounded_however_many_failures(failures):
    """2,000 app failures of three kinds cost what 200 do: at most SAMPLE_MIXED GetLogEvents per app group and one
    DescribeJobs per SAMPLES_PER_REFRESH of them – counted at the simulator – and nothing more once read."""
    size = failures * 2
    async with world(size, every(2, size)) as sim, open_api(endpoint_url=sim.url, max_tps=50) as api:
        poller = Poller(api, QUEUE)
        snap = await settle(poller, rounds=10)
        assert snap.jobs[0].array.counts()["FAILED"] == failures
        logs = sim.requests_by_operation["GetLogEvents"]
        assert SAMPLE_PER_GROUP <= logs <= SAMPLE_MIXED
        assert poller.sampler.describe_calls <= math.ceil(SAMPLE_MIXED / logsample.SAMPLES_PER_REFRESH) + 1
        for _ in range(3):
            quiet = await poller.refresh()
            assert quiet.api_calls <= 2  # status reads only: nothing sampled again (cached, bounded)
        assert sim.requests_by_operation["GetLogEvents"] == logs
        assert {g.signature for g in groups_of(quiet.jobs[0]) if g.sampled} <= ERRORS


HUGE = "x" * 250_000


def _events(*messages: str) -> dict:
    return {"events": [{"timestamp": 1_790_000_000_000 + n, "message": m, "ingestionTime": 1_790_000_000_000}
                       for n, m in enumerate(messages)]}


BAD_LOGS = {
    "empty": (lambda body: _events(), None),
    "huge": (lambda body: _events(*[HUGE] * 3, "RuntimeError: " + HUGE),
             ("RuntimeError: " + HUGE)[:MAX_SIGNATURE - 1] + "…"),
    "binary": (lambda body: _events("\x00\x01\x02\x03\x04\x05\x06\x07\x08PK\x0b\x0c\x0e\x0f\x10\x11\x12\x13"), None),
    "escapes": (lambda body: _events("\x1b]0;owned\x07\x1b[2J\x1b[31mKeyError: 'x' at 12\x1b[0m\x1b[?1049h"),
                "KeyError: 'x' at <n>"),
    "stream gone": (lambda body: (400, "ResourceNotFoundException", "The specified log stream does not exist."), None),
}


@pytest.mark.parametrize("kind", sorted(BAD_LOGS))
async def test_bad_logs_leave_the_group_formed_by_exit_code(kind):
    tamper, signature = BAD_LOGS[kind]
    async with world(100, every(5, 100), app_errors=1) as sim, LogProxy(sim.url, tamper) as proxy, \
            open_api(endpoint_url=proxy.url, max_tps=50) as api:
        poller = Poller(api, QUEUE)
        snap = await settle(poller)
        assert snap.error is None
        groups = groups_of(snap.jobs[0])
        assert sum(g.count for g in groups) == 20 and {g.cause for g in groups} == {"app"}
        if signature is None:  # nothing usable in the log: the group stands on its exit code, not sampled
            assert [(g.signature, g.sampled) for g in groups] == [("exit 1", False)]
        else:
            assert [(g.signature, g.sampled) for g in groups] == [(signature, True)]
            assert all("\x1b" not in g.label and "owned" not in g.label for g in groups)
        assert proxy.get_log_events == SAMPLE_PER_GROUP  # tried once each, never again
        assert snap.log_note is None


@pytest.mark.parametrize("answer, why", [
    ((400, "AccessDeniedException", "User is not authorized to perform: logs:GetLogEvents"),
     "no permission for logs:GetLogEvents"),
    ((400, "ResourceNotFoundException", "The specified log group does not exist."), "the log group does not exist"),
])
async def test_an_unreadable_log_group_is_said_once_and_not_asked_again(answer, why):
    async with world(100, every(5, 100), log_group="/custom/work") as sim, \
            LogProxy(sim.url, lambda body: answer) as proxy, open_api(endpoint_url=proxy.url, max_tps=50) as api:
        poller = Poller(api, QUEUE)
        snap = await settle(poller)
        assert snap.error is None and proxy.get_log_events == 1  # the first answer settles it for the group
        assert [(g.signature, g.sampled) for g in groups_of(snap.jobs[0])] == [("exit 1", False)]
        assert snap.log_note == f"{why} (/custom/work): failure signatures there come from the reasons AWS lists"
        assert snapshot_json(snap)["logNote"] == snap.log_note
        again = await poller.refresh()
        assert proxy.get_log_events == 1 and again.log_note == snap.log_note


async def test_a_job_definitions_log_group_is_where_its_logs_are_read():
    async with world(60, every(6, 60), log_group="/custom/work", app_errors=1) as sim, \
            LogProxy(sim.url, lambda body: None if body["logGroupName"] == "/custom/work" else
                     (400, "ResourceNotFoundException", "The specified log group does not exist.")) as proxy, \
            open_api(endpoint_url=proxy.url, max_tps=50) as api:
        snap = await settle(Poller(api, QUEUE))
        assert [(g.signature, g.sampled) for g in groups_of(snap.jobs[0])] == [
            ("ValueError: corrupt record at offset <n>", True)]
        assert snap.log_note is None


async def test_failures_without_a_log_stream_use_their_reason_and_cost_no_log_call():
    async with world(50, every(5, 50, "start")) as sim, open_api(endpoint_url=sim.url, max_tps=50) as api:
        snap = await settle(Poller(api, QUEUE))
        groups = groups_of(snap.jobs[0])
        assert [g.cause for g in groups] == ["start"] and groups[0].signature.startswith("CannotPullContainerError")
        assert sim.requests_by_operation["GetLogEvents"] == 0


def test_the_last_error_line_of_real_looking_logs():
    python = ["INFO job: processed 7,500/10,000 records (75%)", "Traceback (most recent call last):",
              '  File "/app/pipeline/__main__.py", line 88, in <module>', "    main()",
              "KeyError: 'checksum'"]
    assert last_error_line(python) == "KeyError: 'checksum'"
    java = ['Exception in thread "main" java.lang.IllegalStateException: shard 17 has no manifest',
            "\tat com.acme.Job.run(Job.java:42)", "\t... 3 more"]
    assert last_error_line(java).startswith("Exception in thread")
    assert last_error_line(["2026-01-02T03:04:05Z ERROR worker: upload failed", "INFO: exiting with status 1"]) \
        == "2026-01-02T03:04:05Z ERROR worker: upload failed"
    assert last_error_line(["starting", "done reading"]) == "done reading"  # no error word: the last line
    assert last_error_line(["multi\nline\nValueError: bad"]) == "ValueError: bad"
    assert last_error_line([]) is None and last_error_line(["", "   ", "\x1b[2J"]) is None
