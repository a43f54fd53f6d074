"""Injected faults and protocol edges: throttling, server errors, outages, bad bodies, unknown routes, the clock."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from sim_harness import Sim

from batchtui.sim.engine import SimConfig
from batchtui.sim.server import SimServer


def codes(call: Callable[[], object], times: int) -> list[str]:
    out = []
    for _ in range(times):
        try:
            call()
            out.append("ok")
        except ClientError as e:
            out.append(f"{e.response['ResponseMetadata']['HTTPStatusCode']} {e.response['Error']['Code']}")
    return out


def post(url: str, path: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict, dict]:
    req = urllib.request.Request(url + path, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_throttling_answers_429_too_many_requests(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(throttle_tps=2)
    got = codes(lambda: sim.batch.describe_job_queues(), 8)
    assert got[:2] == ["ok", "ok"] and "429 TooManyRequestsException" in got
    assert sim.handle.sim is not None and sim.handle.sim.throttled_count == got.count("429 TooManyRequestsException")
    logs = codes(lambda: sim.logs.describe_log_streams(logGroupName="/aws/batch/job"), 3)
    assert "400 ThrottlingException" in logs
    time.sleep(1.1)  # the bucket refills
    assert codes(lambda: sim.batch.describe_job_queues(), 1) == ["ok"]


def test_error_rate_answers_500_server_exception(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(error_rate=1.0)
    assert codes(lambda: sim.batch.list_jobs(jobQueue="ProdQueue"), 3) == ["500 ServerException"] * 3
    half = make_sim(error_rate=0.5, seed=3)
    got = codes(lambda: half.batch.describe_job_queues(), 40)
    assert 5 < got.count("500 ServerException") < 35 and "ok" in got


def test_outage_window_answers_503_then_recovers(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(outages=[(0.4, 0.4)])
    assert codes(lambda: sim.batch.describe_job_queues(), 1) == ["ok"]
    time.sleep(0.5)
    assert codes(lambda: sim.batch.describe_job_queues(), 1) == ["503 ServerException"]
    assert codes(lambda: sim.logs.describe_log_streams(logGroupName="/aws/batch/job"), 1) == [
        "503 ServiceUnavailableException"]
    time.sleep(0.4)
    assert codes(lambda: sim.batch.describe_job_queues(), 1) == ["ok"]


def test_malformed_json_is_a_client_exception_and_unknown_routes_404(sim: Sim) -> None:
    status, headers, body = post(sim.url, "/v1/listjobs", b"{not json")
    assert status == 400 and headers["x-amzn-ErrorType"] == "ClientException" and body["__type"] == "ClientException"
    status, _, body = post(sim.url, "/v1/listjobs", b"[1, 2]")
    assert status == 400 and "object" in body["message"]
    status, _, body = post(sim.url, "/v1/nosuchthing", b"{}")
    assert status == 404 and "nosuchthing" in body["message"]
    status, _, body = post(sim.url, "/", b"{", {"X-Amz-Target": "Logs_20140328.GetLogEvents"})
    assert status == 400 and body["__type"] == "SerializationException"
    status, _, body = post(sim.url, "/v1/describejobs", json.dumps({"jobs": "not-a-list"}).encode())
    assert status == 400 and body["__type"] == "ClientException"


def test_request_counts_per_operation(sim: Sim) -> None:
    sim.batch.describe_job_queues()
    sim.batch.list_jobs(jobQueue="ProdQueue")
    sim.batch.list_jobs(jobQueue="ProdQueue", jobStatus="FAILED")
    server = sim.handle.sim
    assert server is not None and server.request_count == 3
    assert dict(server.requests_by_operation) == {"DescribeJobQueues": 1, "ListJobs": 2}


def test_speed_moves_the_clock_with_real_time(make_sim: Callable[..., Sim]) -> None:
    sim = make_sim(speed=600.0)
    job_id = sim.submit("quick", env={"SIM_DURATION_S": "30"})
    time.sleep(0.3)  # 180 simulated seconds
    assert sim.status(job_id) == "SUCCEEDED"


def test_frozen_clock_does_not_move(sim: Sim) -> None:
    job_id = sim.submit("still")
    time.sleep(0.2)
    assert sim.status(job_id) == "SUBMITTED"


@pytest.mark.parametrize("latency_ms", [150.0])
def test_latency_is_added_to_each_request(make_sim: Callable[..., Sim], latency_ms: float) -> None:
    sim = make_sim(latency_ms=latency_ms)
    t = time.monotonic()
    sim.batch.describe_job_queues()
    assert time.monotonic() - t >= latency_ms / 1000


async def test_sim_server_in_the_event_loop_with_aiobotocore() -> None:
    config = SimConfig(speed=0.0, seed=11, pipeline="reference", array_size=20, advance_s=40 * 60,
                       start_ms=1_790_000_000_000)
    async with SimServer(config) as sim:
        assert sim.url.startswith("http://127.0.0.1:")
        session = get_session()
        async with session.create_client("batch", endpoint_url=sim.url, region_name="us-east-1",
                                         aws_access_key_id="test", aws_secret_access_key="test") as batch:
            answer = await batch.describe_jobs(jobs=list(sim.engine.reference_ids.values()))
            assert [j["jobName"] for j in answer["jobs"]] == ["JobA", "JobB", "JobC", "JobD", "JobE"]
            with pytest.raises(ClientError) as info:
                await batch.list_jobs(jobQueue="ProdQueue", arrayJobId="x")
            assert info.value.response["Error"]["Code"] == "ClientException"
        assert sim.request_count == 2
