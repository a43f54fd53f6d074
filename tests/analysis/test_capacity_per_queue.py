"""Each job diagnosed against its own queue's world (pure): Job.queue as an ARN or a name picks the watched queue's
World (`Snapshot.capacity`) or another queue's (`Snapshot.worlds`); an effective original whose RUNNABLE indices
all wait in a retry (lineage: `Snapshot.waits_in`) is diagnosed as that retry, in the retry's queue, and says so;
running work in one queue does not fill another queue's environment; the Capacity view has a section per queue."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from test_capacity import ARN, ce, job, snap

from batchtui import lineage
from batchtui.capacity import World, diagnose_in, waits_where, world_for
from batchtui.model import INDICES_ENV, RETRY_OF_TAG, ArrayState, Job, Status
from batchtui.shapes import container_overrides


def other_queue(*envs: str) -> dict:
    return {"jobQueueName": "OtherQueue", "jobQueueArn": f"{ARN}:job-queue/OtherQueue", "state": "ENABLED",
            "status": "VALID", "priority": 1,
            "computeEnvironmentOrder": [{"order": n, "computeEnvironment": f"{ARN}:compute-environment/{e}"}
                                        for n, e in enumerate(envs, 1)]}


def prod_queue() -> dict:
    return {**other_queue("ProdCE"), "jobQueueName": "ProdQueue", "jobQueueArn": f"{ARN}:job-queue/ProdQueue"}


HOME = World.parse(prod_queue(), [ce("ProdCE", ["c6i"])])
OTHER = World.parse(other_queue("OtherCE"), [ce("OtherCE", ["m6i.large"])])  # 2 vCPU: too small for 32


def in_queue(j: Job, queue: str | None) -> Job:
    return dataclasses.replace(j, queue=queue)


def with_worlds(s, **kw):
    return dataclasses.replace(s, capacity=HOME, worlds=MappingProxyType({"OtherQueue": OTHER}), **kw)


def test_a_job_is_weighed_against_the_world_of_its_own_queue_by_arn_or_name():
    listed = job(job_id="a")  # a listing leaves the queue out: the watched one
    home_arn = in_queue(job(job_id="b"), f"{ARN}:job-queue/ProdQueue")
    other_arn = in_queue(job(job_id="c"), f"{ARN}:job-queue/OtherQueue")
    other_name = in_queue(job(job_id="d"), "OtherQueue")
    unread = in_queue(job(job_id="e"), "ThirdQueue")
    s = with_worlds(snap(listed, home_arn, other_arn, other_name, unread))
    assert world_for(s, listed) is HOME and world_for(s, home_arn) is HOME
    assert world_for(s, other_arn) is OTHER and world_for(s, other_name) is OTHER
    assert world_for(s, unread) is None  # not read (past the bound): no other queue's world stands in for it
    assert diagnose_in(listed, s).cause == "in-line"
    w = diagnose_in(other_arn, s)
    assert w.cause == "no-instance-fits" and w.compute_environment == "OtherCE"
    assert w.text.startswith("in OtherQueue: needs 32 vCPU, 4,096 MiB; the largest instance type OtherCE may launch")
    assert diagnose_in(unread, s).text == ("waiting in ThirdQueue, whose compute environments batchtui did not read "
                                           "(it reads a few other queues only): batchtui --queue ThirdQueue "
                                           "diagnoses it")


def test_in_line_in_another_queue_names_it_once():
    roomy = World.parse(other_queue("OtherCE"), [ce("OtherCE", ["m6i"])])
    j = in_queue(job(), "OtherQueue")
    s = dataclasses.replace(snap(j), worlds=MappingProxyType({"OtherQueue": roomy}))
    assert diagnose_in(j, s).text == "in line in OtherQueue (first in, first out); its environments have room for it"


def test_running_work_in_another_queue_does_not_fill_ours():
    full = World.parse(prod_queue(), [ce("ProdCE", ["c6i"], max_vcpus=256, desired=256)])
    running = Job("r", "Elsewhere", Status.RUNNING, queue="OtherQueue",
                  container_overrides=container_overrides({"vcpus": 64}))
    mine = Job("m", "Mine", Status.RUNNING, container_overrides=container_overrides({"vcpus": 32}))
    s = dataclasses.replace(snap(job(), running, mine), capacity=full)
    w = diagnose_in(job(), s)
    assert w.cause == "capacity-full" and "(32 vCPUs held by running work batchtui sees)" in w.text


def original_and_retry(retry_queue: str, own_runnable: bool = False) -> tuple[Job, Job]:
    """JobB with indices 3 and 7 failed (or 3 failed, 7 still RUNNABLE), retried as a 2-child array in
    `retry_queue` whose children are RUNNABLE."""
    statuses = bytearray([Status.SUCCEEDED]) * 10
    statuses[3] = Status.FAILED
    statuses[7] = Status.RUNNABLE if own_runnable else Status.FAILED
    need = {"resourceRequirements": [{"type": "VCPU", "value": "32"}, {"type": "MEMORY", "value": "4096"}]}
    original = Job("b", "JobB", Status.FAILED if not own_runnable else Status.RUNNING, array_size=10,
                   array=ArrayState.of(statuses), queue=f"{ARN}:job-queue/ProdQueue",
                   container_overrides=container_overrides(need))
    indices = "3" if own_runnable else "3,7"
    size = 1 if own_runnable else 2
    retry = Job("r1", "JobB-retry", Status.RUNNABLE, array_size=size,
                array=ArrayState.of(bytearray([Status.RUNNABLE]) * size), queue=f"{ARN}:job-queue/{retry_queue}",
                tags=MappingProxyType({RETRY_OF_TAG: "b"}),
                container_overrides=container_overrides({**need, "environment": [{"name": INDICES_ENV,
                                                                                  "value": indices}]}))
    return original, retry


def test_an_original_waiting_in_its_retry_is_diagnosed_in_the_retrys_queue():
    original, retry = original_and_retry("OtherQueue")
    eff = lineage.effective(with_worlds(snap(original, retry)))
    assert [j.job_id for j in eff.jobs] == ["b"] and eff.waits_in["b"] is retry
    jobb = eff.job("b")
    assert waits_where(jobb, eff) == "OtherQueue"
    w = diagnose_in(jobb, eff)
    assert w.cause == "no-instance-fits" and w.compute_environment == "OtherCE"
    assert w.text.startswith("retried in OtherQueue as JobB-retry: needs 32 vCPU, 4,096 MiB; the largest instance "
                             "type OtherCE may launch, m6i.large")


def test_an_original_retried_in_its_own_queue_says_the_retry_without_a_queue():
    original, retry = original_and_retry("ProdQueue")
    eff = lineage.effective(with_worlds(snap(original, retry)))
    w = diagnose_in(eff.job("b"), eff)
    assert w.cause == "in-line" and w.text.startswith("retried as JobB-retry: in line in ProdQueue")


def test_an_original_whose_own_indices_wait_too_is_diagnosed_in_its_own_queue():
    original, retry = original_and_retry("OtherQueue", own_runnable=True)
    eff = lineage.effective(with_worlds(snap(original, retry)))
    assert "b" not in eff.waits_in
    w = diagnose_in(eff.job("b"), eff)
    assert w.cause == "in-line" and "ProdQueue" in w.text and "retried" not in w.text


def test_the_capacity_view_has_a_section_for_the_other_queue():
    from rich.console import Console

    from batchtui.ui.screens.capacity import capacity_view

    original, retry = original_and_retry("OtherQueue")
    front = {"frontOfQueue": {"jobs": [{"jobArn": f"{ARN}:job/r1:0"}]}}
    world = World.parse(other_queue("OtherCE"), [ce("OtherCE", ["m6i.large"])], front)
    eff = lineage.effective(dataclasses.replace(snap(original, retry), worlds=MappingProxyType({"OtherQueue": world})))
    console = Console(width=200, record=True, color_system=None)
    console.print(capacity_view(eff))
    text = console.export_text()
    assert text.index("No RUNNABLE work in this queue itself") < text.index("── OtherQueue: another queue")
    section = text[text.index("── OtherQueue"):]
    assert "Queue OtherQueue" in section and "OtherCE" in section
    assert "JobB: no-instance-fits – retried in OtherQueue as JobB-retry: needs 32 vCPU" in section
    assert "1. JobB-retry[0]  r1:0" in section  # the front names the retry folded into JobB
