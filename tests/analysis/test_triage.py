"""Failure triage: each failed job or index in exactly one group by how its last attempt failed, app failures
split by a normalised signature, the right repair per group, the JSON fields by their contract names."""

from __future__ import annotations

import json

import pytest

from batchtui.model import ArrayState, Attempt, IndexDetail, Job, Status
from batchtui.triage import REPAIRS, Failure, classify, groups_of, normalise


def fail(exit_code=None, reason=None, status_reason=None, attempted=True, cancelled=False) -> Failure:
    return Failure("j", 0, exit_code, reason, status_reason, 1000, attempted, cancelled)


@pytest.mark.parametrize("failure, cause", [
    (fail(137, "OutOfMemoryError: Container killed due to memory usage", "Essential container in task exited"), "oom"),
    (fail(0, "OutOfMemoryError: Container killed due to memory usage"), "oom"),  # OOM with exit 0 (ecs-agent #2467)
    (fail(None, None, "Host EC2 (instance i-0abc123def4567890) terminated."), "spot"),
    (fail(None, None, "Job attempt duration exceeded timeout"), "timeout"),
    (fail(None, "CannotPullContainerError: pull image manifest has been retried 5 time(s)", None), "start"),
    (fail(None, None, "ResourceInitializationError: unable to pull secrets"), "start"),
    (fail(None, None, "Dependent Job failed", attempted=False), "dependency"),
    (fail(None, None, None, attempted=False), "dependency"),
    (fail(None, None, "stopped by alice: bad input", attempted=False), "cancelled"),
    (fail(143, None, "Essential container in task exited", cancelled=True), "cancelled"),
    (fail(1, None, "Essential container in task exited"), "app"),
])
def test_each_failure_gets_its_cause(failure, cause):
    assert classify(failure) == cause


def test_signatures_mask_numbers_ids_paths_and_times():
    a = normalise("KeyError: 'checksum' in shard 1344 at 2026-11-25T03:10:00Z (s3://bucket/in/part-0001.json)")
    b = normalise("KeyError: 'checksum' in shard 2281 at 2026-11-25T04:55:12Z (s3://bucket/in/part-0917.json)")
    assert a == b == "KeyError: 'checksum' in shard <n> at <time> (<path>)"
    assert normalise("job 5f1c0e2a-0a0a-4a6e-9d1e-aaaaaaaa0001 failed") == "job <id> failed"
    # a reason with escape sequences (anyone who may cancel writes one) signs as its text, not as fragments
    assert normalise("\x1b]2;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\r\nfake line") == "RED fake line"


def _array(details: dict[int, IndexDetail], size: int = 10) -> Job:
    statuses = bytearray([Status.SUCCEEDED]) * size
    for i in details:
        statuses[i] = Status.FAILED
    return Job("b", "JobB", Status.FAILED, array_size=size, array=ArrayState.of(statuses, details))


def test_an_arrays_failures_group_by_cause_and_signature_largest_first_with_their_repair():
    oom = "OutOfMemoryError: Container killed due to memory usage"
    details = {
        1: IndexDetail(1, 1, "KeyError: 'checksum' in shard 1", stopped_at=5_000),
        2: IndexDetail(2, 1, "KeyError: 'checksum' in shard 2", stopped_at=3_000),
        3: IndexDetail(3, 137, oom, stopped_at=4_000),
        4: IndexDetail(4, 137, oom), 5: IndexDetail(5, 137, oom),
        6: IndexDetail(6, None, None, "Host EC2 (instance i-0abc) terminated.",
                       attempts=(Attempt(None, None, "Host EC2 (instance i-0abc) terminated."),)),
        7: IndexDetail(7, 2, "ValueError: bad row 17"),
    }
    groups = groups_of(_array(details))
    assert [(g.cause, g.count) for g in groups] == [("oom", 3), ("app", 2), ("app", 1), ("spot", 1)]
    oom_group, keyerror = groups[0], groups[1]
    assert oom_group.indices == [3, 4, 5] and oom_group.exit_code == 137 and oom_group.repair == "retry-more-memory"
    assert keyerror.signature == "exit 1 · KeyError: 'checksum' in shard <n>"
    assert keyerror.first_ms == 3_000 and keyerror.last_ms == 5_000 and keyerror.example == "b:1"
    assert sum(g.count for g in groups) == len(details)  # every failure in exactly one group
    doc = json.loads(json.dumps(keyerror.to_json()))
    assert list(doc) == ["cause", "signature", "exitCode", "count", "indices", "example", "firstAt", "lastAt",
                         "repair", "sampled"]
    assert doc["firstAt"] == "1970-01-01T00:00:03Z" and doc["sampled"] is False
    assert set(REPAIRS.values()) == {"retry", "retry-more-memory", "retry-longer-timeout", "fix-first",
                                     "retry-upstream", "none"}


def test_a_plain_job_is_one_failure_and_a_healthy_job_has_no_groups():
    job = Job("e", "JobE", Status.FAILED, status_reason="Dependent Job failed")
    (g,) = groups_of(job)
    assert (g.cause, g.count, g.indices, g.example, g.repair) == ("dependency", 1, [], "e", "retry-upstream")
    assert groups_of(Job("a", "JobA", Status.SUCCEEDED)) == []
