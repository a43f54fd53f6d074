"""Instance sizes from EC2 DescribeInstanceTypes: asked once per session for what the queue's environments may
launch (through the real client, against the simulator over HTTP), counted in the call budget; refused (a
127.0.0.1 server answering EC2 with UnauthorizedOperation in front of the simulator), the shipped table sizes them,
said once and not asked again; a type neither sizes is named unknown, never guessed."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiohttp import web
from logproxy import LogProxy

from batchtui import instance_types as it
from batchtui import poller as poller_module
from batchtui.analysis import job_fields, job_reports
from batchtui.aws import open_api
from batchtui.capacity import EC2_SOURCE, TABLE_SOURCE, World, diagnose, ec2_request, parse_instance_types
from batchtui.headless import Printer
from batchtui.model import Job, Snapshot, Status
from batchtui.poller import Poller
from batchtui.shapes import container_overrides

SimServer = pytest.importorskip("batchtui.sim.server").SimServer
SimConfig = pytest.importorskip("batchtui.sim.engine").SimConfig

DENIED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>'
          "<Message>You are not authorized to perform this operation.</Message></Error></Errors>"
          "<RequestID>0f1e2d3c</RequestID></Response>")


class Ec2Refuser(LogProxy):
    """Forwards Batch to the simulator; answers every EC2 query-protocol request (a form POSTed to /) as EC2 does
    for an identity without ec2:DescribeInstanceTypes."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, lambda body: None)  # logs pass through
        self.refused = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/" and request.content_type == "application/x-www-form-urlencoded":
            await request.read()
            self.refused += 1
            return web.Response(status=403, text=DENIED, content_type="text/xml")
        return await super().handle(request)


def sim_config(scenario: str) -> SimConfig:
    return SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=50, advance_s=20 * 60, summary_lag_s=0.0,
                     scenario=scenario)


def next_minute(poller: Poller) -> None:
    poller._world_at -= poller_module.CAPACITY_EVERY_S  # the next refresh reads capacity again


async def test_sizes_come_from_ec2_once_per_session_and_count_in_the_budget():
    async with SimServer(sim_config("stuck-capacity")) as sim, open_api(endpoint_url=sim.url) as api:
        poller = Poller(api, "ProdQueue")
        before = sim.request_count
        first = await poller.refresh()
        assert first.api_calls == sim.request_count - before  # the EC2 call is one of the refresh's calls
        for _ in range(3):
            next_minute(poller)
            snap = await poller.refresh()
    assert sim.requests_by_operation["DescribeInstanceTypes"] == 1
    assert sim.requests_by_operation["DescribeComputeEnvironments"] == 4  # the capacity reads did go on
    assert snap.capacity is not None and snap.capacity.sizes_from == EC2_SOURCE and snap.capacity.sizes_note is None
    w = job_fields(snap)[next(j.job_id for j in snap.jobs if j.job_name == "JobB")]["waiting"]
    assert w["cause"] == "no-instance-fits" and "c6i.4xlarge" in w["text"]


async def test_access_denied_falls_back_to_the_table_said_once_and_not_asked_again():
    async with SimServer(sim_config("stuck-capacity")) as sim, Ec2Refuser(sim.url) as refuser, \
            open_api(endpoint_url=refuser.url) as api:
        poller = Poller(api, "ProdQueue")
        out = io.StringIO()
        output = Printer(False, out)
        snaps = []
        for _ in range(3):
            snap = await poller.refresh()
            output.snapshot(snap, job_reports(snap))
            snaps.append(snap)
            next_minute(poller)
    assert refuser.refused == 1  # botocore does not retry a 403, and batchtui does not ask again
    world = snaps[-1].capacity
    assert world is not None and world.sizes_from == TABLE_SOURCE
    assert world.sizes_note == "no permission for ec2:DescribeInstanceTypes: instance sizes from batchtui's table"
    assert all(s.error is None for s in snaps)
    assert out.getvalue().count("no permission for ec2:DescribeInstanceTypes") == 1
    w = job_fields(snaps[-1])[next(j.job_id for j in snaps[-1].jobs if j.job_name == "JobB")]["waiting"]
    assert w["cause"] == "no-instance-fits" and "c6i.4xlarge" in w["text"]  # the table still sizes it


# --- the pure parts ------------------------------------------------------------------------------------------

def ce(types: list[str], max_vcpus: int = 4096) -> dict:
    return {"computeEnvironmentName": "WideCE", "computeEnvironmentArn": "arn:aws:batch:us-east-1:1:ce/WideCE",
            "state": "ENABLED", "status": "VALID", "type": "MANAGED",
            "computeResources": {"type": "EC2", "minvCpus": 0, "maxvCpus": max_vcpus, "desiredvCpus": 0,
                                 "instanceTypes": types}}


QUEUE = {"jobQueueName": "ProdQueue", "jobQueueArn": "arn:q", "state": "ENABLED", "status": "VALID", "priority": 1,
         "computeEnvironmentOrder": [{"order": 1, "computeEnvironment": "arn:aws:batch:us-east-1:1:ce/WideCE"}]}


def runnable_job(vcpus: int, memory: int) -> Job:
    return Job(job_id="j-1", job_name="Big", status=Status.RUNNABLE,
               container_overrides=container_overrides({
                   "resourceRequirements": [{"type": "VCPU", "value": str(vcpus)},
                                            {"type": "MEMORY", "value": str(memory)}]}))


def snapshot(jobs: list[Job], world: World | None) -> Snapshot:
    return Snapshot(queue="ProdQueue", polled_at=datetime(2026, 12, 4, tzinfo=UTC), api_calls=0, jobs=tuple(jobs),
                    capacity=world)


def ec2_entry(name: str, vcpus: int, mib: int, gpus: int = 0) -> dict:
    entry: dict = {"InstanceType": name, "VCpuInfo": {"DefaultVCpus": vcpus}, "MemoryInfo": {"SizeInMiB": mib}}
    if gpus:
        entry["GpuInfo"] = {"Gpus": [{"Name": "A10G", "Count": gpus}]}
    return entry


def test_what_is_asked_a_known_family_by_its_sizes_an_unknown_one_by_pattern_and_nothing_twice():
    want = ec2_request([ce(["c6i", "x2iedn.32xlarge", "m7g"])])
    assert set(want.names) == {t.name for t in it.expand(["c6i"])} | {"x2iedn.32xlarge"}
    assert want.patterns == ("m7g.*",)
    assert not ec2_request([ce(["c6i", "x2iedn.32xlarge", "m7g"])], set(want.names) | set(want.patterns))


def test_a_type_only_ec2_knows_is_sized_by_ec2_and_used_in_the_diagnosis():
    sizes = parse_instance_types([ec2_entry("x2iedn.32xlarge", 128, 4 * 1024 * 1024), {"InstanceType": "bad"}])
    assert set(sizes) == {"x2iedn.32xlarge"}  # an entry without vCPUs or memory is not guessed
    world = World.parse(QUEUE, [ce(["x2iedn.32xlarge"])], None, sizes=sizes)
    w = diagnose(runnable_job(256, 4096), world)
    assert w is not None and w.cause == "no-instance-fits"
    assert "x2iedn.32xlarge, offers 128 vCPU" in w.text
    assert diagnose(runnable_job(64, 4096), world).cause == "in-line"  # type: ignore[union-attr]


def test_ec2s_answer_wins_over_the_table():
    sizes = parse_instance_types([ec2_entry("c6i.large", 2, 3072)])  # (not AWS's figure: proves where it came from)
    (env,) = World.parse(QUEUE, [ce(["c6i.large"])], None, sizes=sizes).environments
    assert env.types == (it.InstanceType("c6i.large", 2, 3072),)


def test_a_type_nobody_sizes_is_named_unknown_not_guessed():
    world = World.parse(QUEUE, [ce(["x9z.huge"])], None)
    (env,) = world.environments
    assert env.unsized == ("x9z.huge",) and env.types == ()
    w = diagnose(runnable_job(32, 4096), world, snapshot([], None))
    assert w is not None and w.cause == "in-line"
    assert "instance type x9z.huge is unknown" in w.text


def test_the_capacity_view_says_where_sizes_came_from_and_marks_the_unknown():
    from rich.console import Console

    from batchtui.ui.screens.capacity import capacity_view

    world = World.parse(QUEUE, [ce(["x9z.huge", "c6i.large"])], None, sizes_note="no permission for "
                        "ec2:DescribeInstanceTypes: instance sizes from batchtui's table")
    snap = snapshot([runnable_job(1, 1024)], world)
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(capacity_view(snap))
    text = console.export_text()
    assert "x9z.huge (unknown size)" in text and "c6i.large," not in text.replace("c6i.large (", "")
    assert "Instance sizes from batchtui's instance-type table." in text
    assert "no permission for ec2:DescribeInstanceTypes" in text
    assert Counter(text.split()).get("(unknown", 0) == 1
